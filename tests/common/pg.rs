//! A throwaway PostgreSQL server for the history tests (Debian's
//! postgresql package, which scripts/test installs): its own cluster in a
//! temporary directory, on a Unix socket only, stopped by its PID.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A throwaway PostgreSQL cluster in a temporary directory, listening only
/// on a Unix socket there, run as `nobody` (postgres refuses root), and
/// stopped by its PID when dropped.
pub struct Pg {
    dir: tempfile::TempDir,
    pid: i32,
}

pub fn pg_bin(name: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("{name} not found under /usr/lib/postgresql: install the postgresql package (scripts/test does)")
    })
}

impl Pg {
    pub fn start() -> Pg {
        let dir = tempfile::Builder::new()
            .prefix("kh-pg")
            .tempdir_in("/tmp")
            .unwrap();
        let data = dir.path().join("data");
        let as_nobody = |args: &[&str]| {
            let o = Command::new("runuser")
                .args(["-u", "nobody", "--"])
                .args(args)
                .current_dir("/")
                .output()
                .expect("runuser");
            assert!(o.status.success(), "{args:?}: {}{}", stdout(&o), stderr(&o));
        };
        let chown = Command::new("chown")
            .args(["nobody", dir.path().to_str().unwrap()])
            .status()
            .unwrap();
        assert!(chown.success());
        as_nobody(&[
            pg_bin("initdb").to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-U",
            "kh",
            "--auth=trust",
            "--no-sync",
        ]);
        let opts = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c fsync=off",
            dir.path().display()
        );
        as_nobody(&[
            pg_bin("pg_ctl").to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            dir.path().join("log").to_str().unwrap(),
            "-w",
            "start",
        ]);
        let pid: i32 = std::fs::read_to_string(data.join("postmaster.pid"))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Pg { dir, pid }
    }

    pub fn create_db(&self, name: &str) -> String {
        let o = Command::new(pg_bin("createdb"))
            .args(["-h", self.dir.path().to_str().unwrap(), "-U", "kh", name])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        format!(
            "postgres://kh@%2F{}/{name}",
            self.dir
                .path()
                .display()
                .to_string()
                .trim_start_matches('/')
                .replace('/', "%2F")
        )
    }

    pub fn psql(&self, db: &str, sql: &str) -> String {
        let o = Command::new(pg_bin("psql"))
            .args([
                "-h",
                self.dir.path().to_str().unwrap(),
                "-U",
                "kh",
                "-d",
                db,
                "-tAc",
                sql,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).trim().to_string()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown; then wait for the PID to go.
        unsafe { libc::kill(self.pid, libc::SIGINT) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) && unsafe { libc::kill(self.pid, 0) } == 0 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
