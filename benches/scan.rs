//! Scan speed against the lab, beside the fair floor: OpenSSH running our
//! own collector conversation on every node at once.
//!
//! The lab's nodes share this machine's cores with the scanner, so a bare
//! `ssh node true` is no fair floor: the nodes' side of a scan (the
//! collector's `sh`, `find`, `stat`, `awk`) costs CPU that `true` does not.
//! The floor here is the same node-side work with OpenSSH's transport: the
//! collector conversation of one node is captured once through `--exec`
//! with `tee`, then replayed with `ssh node sh -s < captured` on every node
//! in parallel.
//!
//! For each lab size (`KHBENCH_NODES`, default `50,100,150`) it runs the
//! release binary's whole scan (collection over SSH and evaluation, the
//! report written to /dev/null) with `--no-probes` and with the probes, as
//! a child process, `KHBENCH_RUNS` times (default 3), and prints the median
//! wall time, the ratio to the floor and the child's peak RSS. With
//! `KHBENCH_JOBS=J`, the scans run with `-j J` instead of the default.
//! `KHBENCH_LATENCY=1` adds the 20 ms round-trip runs of the smallest size
//! (a delaying TCP proxy in front of each node's sshd, since this kernel
//! has no `tc netem`), in process.
//!
//! Run as root: `cargo bench --bench scan`. It builds a lab of the largest
//! size with `tests/lab/lab.sh up --bench N` (the smaller sizes scan its
//! first nodes), and tears it down at the end. Without `--bench` (as
//! `cargo test --all-targets` runs it) it does nothing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kubeharden::collect::CollectOptions;
use kubeharden::facts::ScanStatus;
use kubeharden::inventory::{NodeSpec, SshConfig};
use kubeharden::scan::{ScanPlan, Via, scan};
use kubeharden::transport::ssh::SshOptions;

const DELAY: Duration = Duration::from_millis(10);

/// Copies `from` to `to`, delivering each chunk `delay` after it arrived.
fn delayed_copy(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = thread::spawn(move || {
        for (at, chunk) in rx {
            let due = at + delay;
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.join();
}

/// A loopback proxy to `target` adding `delay` each way; returns its address.
fn delaying_proxy(target: SocketAddr, delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            thread::spawn(move || delayed_copy(client, server, delay));
            thread::spawn(move || delayed_copy(s2, c2, delay));
        }
    });
    addr
}

fn lab_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh")
}

struct Lab(PathBuf);

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(lab_sh())
            .arg("down")
            .arg(&self.0)
            .status();
    }
}

/// OpenSSH's options for the lab, as kubeharden uses them (curve25519 key
/// exchange first: key exchange dominates on 2 cores).
fn ssh_cmd(state: &Path, known_hosts: &Path, host: &str, port: u16) -> Command {
    let mut c = Command::new("ssh");
    c.args([
        "-o",
        "BatchMode=yes",
        "-o",
        "KexAlgorithms=curve25519-sha256",
    ])
    .arg("-o")
    .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
    .args(["-o", "StrictHostKeyChecking=yes"])
    .arg("-i")
    .arg(state.join("id_ed25519"))
    .arg("-p")
    .arg(port.to_string())
    .arg(format!("root@{host}"));
    c
}

/// `ssh node sh -s < captured` on every target at once; the wall time until
/// all are done.
fn replay_floor(
    targets: &[(String, u16)],
    state: &Path,
    known_hosts: &Path,
    captured: &Path,
) -> Duration {
    let started = Instant::now();
    let children: Vec<_> = targets
        .iter()
        .map(|(host, port)| {
            ssh_cmd(state, known_hosts, host, *port)
                .args(["sh", "-s"])
                .stdin(std::fs::File::open(captured).unwrap())
                .stdout(Stdio::null())
                .spawn()
                .expect("ssh runs")
        })
        .collect();
    for mut c in children {
        let s = c.wait().unwrap();
        assert!(s.success(), "the replayed conversation failed");
    }
    started.elapsed()
}

/// Runs `cmd` to its end; its wall time and peak RSS (KiB, from wait4).
// The child is reaped by wait4 (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run_measured(mut cmd: Command) -> (Duration, u64, i32) {
    let started = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.unwrap();
    let reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it and the status
    // for our own child, which no one else waits for.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    let wall = started.elapsed();
    let err = reader.join().unwrap_or_default();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    assert!(
        code == 0 || code == 1,
        "kubeharden exited {code}: {}",
        err.chars().take(2000).collect::<String>()
    );
    (wall, ru.ru_maxrss as u64, code)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rusage() -> (Duration, u64) {
    // SAFETY: getrusage fills the struct we pass; no other preconditions.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    (t(u.ru_utime) + t(u.ru_stime), u.ru_maxrss as u64)
}

/// The lab's inventory cut to its first `n` nodes.
fn inventory_of(state: &Path, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(state.join("inventory.toml")).unwrap();
    let mut out = String::new();
    let mut nodes = 0;
    let mut keep = true;
    for line in text.lines() {
        if line.trim() == "[[node]]" {
            nodes += 1;
            keep = nodes <= n;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert_eq!(nodes.min(n), n, "the lab has only {nodes} nodes");
    let path = state.join(format!("inventory-{n}.toml"));
    std::fs::write(&path, out).unwrap();
    path
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("the scan bench builds a lab in network namespaces: run it as root");
        std::process::exit(2);
    }
    let sizes: Vec<usize> = std::env::var("KHBENCH_NODES")
        .unwrap_or_else(|_| "50,100,150".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let runs: usize = std::env::var("KHBENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let jobs = std::env::var("KHBENCH_JOBS").ok();
    let n = *sizes.iter().max().expect("KHBENCH_NODES lists sizes");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lab");
    let t = Instant::now();
    let ok = Command::new("bash")
        .arg(lab_sh())
        .args(["up"])
        .arg(&state)
        .args(["--bench", &n.to_string()])
        .status()
        .unwrap();
    let _lab = Lab(state.clone());
    assert!(ok.success(), "lab.sh up --bench failed");
    println!("lab of {n} nodes up in {:.1?}", t.elapsed());

    let inventory =
        kubeharden::inventory::load(&state.join("inventory.toml"), &SshConfig::default()).unwrap();
    let known = state.join("known_hosts");
    let targets: Vec<(String, u16)> = inventory
        .iter()
        .map(|s| (s.address.clone(), s.port.unwrap_or(22)))
        .collect();

    // The conversation of one node, captured as kubeharden sends it.
    let captured = state.join("conversation.sh");
    let first = &targets[0];
    // The node is named by its address, so the template can reach it.
    let ssh_line = format!(
        "ssh -o BatchMode=yes -o KexAlgorithms=curve25519-sha256 -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -i {} -p {} root@{{node}} sh -s",
        known.display(),
        state.join("id_ed25519").display(),
        first.1,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(["scan", "--no-probes", "--format", "json", "--node"])
        .arg(format!("{}={}", first.0, first.0))
        .arg("--exec")
        .arg(format!("tee -a {} | {ssh_line}", captured.display()))
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "capture failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = std::fs::metadata(&captured).unwrap().len();
    println!("captured one node's collector conversation: {size} bytes");

    println!(
        "| nodes | same-work OpenSSH floor | kubeharden --no-probes | ratio | kubeharden with probes | ratio | peak RSS (probes) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &size in &sizes {
        let inv = inventory_of(&state, size);
        let floor = median(
            (0..runs)
                .map(|_| replay_floor(&targets[..size], &state, &known, &captured))
                .collect(),
        );
        let measure = |probes: bool| {
            let mut walls = Vec::new();
            let mut rss = 0;
            for _ in 0..runs {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeharden"));
                cmd.arg("scan").arg("--inventory").arg(&inv).args([
                    "--format",
                    "json",
                    "--output",
                    "/dev/null",
                ]);
                if !probes {
                    cmd.arg("--no-probes");
                }
                if let Some(j) = &jobs {
                    cmd.args(["-j", j]);
                }
                let (wall, maxrss, _) = run_measured(cmd);
                walls.push(wall);
                rss = rss.max(maxrss);
            }
            (median(walls), rss)
        };
        let (collect_only, _) = measure(false);
        let (full, rss) = measure(true);
        println!(
            "| {size} | {floor:.2?} | {collect_only:.2?} | {:.2} | {full:.2?} | {:.2} | {} MiB |",
            collect_only.as_secs_f64() / floor.as_secs_f64(),
            full.as_secs_f64() / floor.as_secs_f64(),
            rss / 1024
        );
    }

    if std::env::var_os("KHBENCH_LATENCY").is_some() {
        latency_runs(&state, &inventory[..sizes[0]]);
    }
}

/// The smallest size again, in process, with and without 20 ms more
/// round-trip time, beside OpenSSH running `true`.
fn latency_runs(state: &Path, inventory: &[NodeSpec]) {
    let bench = kubeharden::bench::load_builtin("cis-1.12").unwrap();
    let n = inventory.len();
    // Host keys by node address, to list them again under proxy addresses.
    let keys: Vec<(String, String)> = std::fs::read_to_string(state.join("known_hosts"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (host, key) = l.split_once(' ')?;
            Some((
                host.trim_matches(|c| c == '[' || c == ']')
                    .split("]:")
                    .next()?
                    .to_string(),
                key.to_string(),
            ))
        })
        .collect();
    for (label, delay, probes, probe_sessions) in [
        ("+20 ms RTT, no probes", Some(DELAY), false, 0),
        ("+20 ms RTT, with probes", Some(DELAY), true, 0),
        (
            "+20 ms RTT, with probes over 2 extra sessions",
            Some(DELAY),
            true,
            2,
        ),
    ] {
        let mut specs: Vec<NodeSpec> = Vec::new();
        let mut targets = Vec::new();
        let known = state.join("known_hosts_delayed");
        let mut known_text = String::new();
        for spec in inventory {
            let real: SocketAddr = format!("{}:{}", spec.address, spec.port.unwrap_or(22))
                .parse()
                .unwrap();
            let addr = match delay {
                Some(d) => delaying_proxy(real, d),
                None => real,
            };
            targets.push((addr.ip().to_string(), addr.port()));
            let key = &keys
                .iter()
                .find(|(h, _)| *h == spec.address)
                .expect("host key of the node")
                .1;
            let host = match addr.port() {
                22 => addr.ip().to_string(),
                p => format!("[{}]:{p}", addr.ip()),
            };
            known_text.push_str(&format!("{host} {key}\n"));
            specs.push(NodeSpec {
                address: addr.ip().to_string(),
                port: Some(addr.port()),
                known_hosts: Some(known.clone()),
                ..spec.clone()
            });
        }
        std::fs::write(&known, known_text).unwrap();
        let started = Instant::now();
        for (host, port) in &targets {
            let s = ssh_cmd(state, &known, host, *port)
                .arg("true")
                .status()
                .unwrap();
            assert!(s.success());
        }
        let serial_true = started.elapsed() / targets.len() as u32;
        let plan = ScanPlan {
            nodes: specs,
            via: Via::Ssh(SshOptions::default()),
            concurrency: n,
            collect: CollectOptions::default(),
            probes,
            probe_sessions,
            probe_from_here: false,
            platform: None,
            // The bench measures the node scan; the API read is one more
            // exchange on one node.
            api: None,
        };
        let (cpu0, _) = rusage();
        let started = Instant::now();
        let outcomes = scan(&plan, &|_| {});
        let mut node_times: Vec<Duration> = outcomes.iter().map(|o| o.elapsed).collect();
        node_times.sort();
        let median_node = node_times[node_times.len() / 2];
        let facts: Vec<_> = outcomes.into_iter().map(|o| o.facts).collect();
        let report = kubeharden::engine::evaluate(&bench, &facts, "bench");
        let wall = started.elapsed();
        let (cpu1, _) = rusage();
        assert!(
            facts.iter().all(|f| f.scan_status == ScanStatus::Ok),
            "nodes failed"
        );
        println!(
            "{label}, {n} nodes: scan+eval {wall:.2?}; median node {median_node:.2?}; one `ssh true` {serial_true:.2?}; {} findings; CPU {:.1} ms/node",
            report.summary.counts.total,
            (cpu1 - cpu0).as_secs_f64() * 1000.0 / n as f64,
        );
    }
}
