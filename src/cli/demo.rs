//! `kubeharden demo`: bring up the built-in lab (tests/lab), scan it over
//! SSH, write the report, and tear the lab down. A convenience of the source
//! tree: it needs root (network namespaces) and the lab's script.
//!
//! The lab lives in a temporary directory that is removed once the lab is
//! down (its nodes' files and etcd data come to a few hundred MB); when the
//! teardown fails, the directory is left and named, since something of the
//! lab may still hold it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The lab script, found in the source tree this binary was built from.
fn lab_script() -> Result<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh");
    if !p.exists() {
        bail!(
            "the demo needs the kubeharden source tree ({} is missing); run it from a clone with `cargo run --release -- demo`",
            p.display()
        );
    }
    Ok(p)
}

/// Runs the lab script with its log on stderr; its stdout (the inventory's
/// path, for scripts) is not the demo's output.
fn lab(script: &Path, args: &[&std::ffi::OsStr]) -> Result<()> {
    let status = Command::new("bash")
        .arg(script)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!("{} {:?} failed ({status})", script.display(), args);
    }
    Ok(())
}

/// Tears the lab down when dropped, whatever happened in between.
pub struct Down {
    script: PathBuf,
    /// The demo's temporary directory; the lab's state is `dir/lab`.
    dir: PathBuf,
}

impl Drop for Down {
    fn drop(&mut self) {
        eprintln!("demo: tearing the lab down");
        let state = self.dir.join("lab");
        match lab(&self.script, &["down".as_ref(), state.as_os_str()]) {
            // --one-file-system: never follow into a mount a node left.
            Ok(()) => match Command::new("rm")
                .args(["-rf", "--one-file-system"])
                .arg(&self.dir)
                .status()
            {
                Ok(s) if s.success() => {}
                _ => eprintln!("demo: could not remove {}", self.dir.display()),
            },
            Err(e) => eprintln!(
                "demo: the teardown failed ({e:#}); the lab's files are left in {}",
                self.dir.display()
            ),
        }
    }
}

/// Returns the arguments for the scan of the lab once it is up, and a guard
/// that tears it down. `install` runs `lab.sh deps` first.
pub fn up(install: bool) -> Result<(PathBuf, Down)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "the demo builds simulated nodes in network namespaces, which needs root.\n\
             Run it as root: `sudo scripts/demo` (it builds as you and runs the lab as root),\n\
             or scan a node of yours: `kubeharden scan --node HOST --sudo` (see the README's Quick start)"
        );
    }
    let script = lab_script()?;
    if install {
        lab(&script, &["deps".as_ref()])?;
    }
    let dir = std::env::temp_dir().join(format!("kubeharden-demo-{}", std::process::id()));
    let state = dir.join("lab");
    std::fs::create_dir_all(&dir)?;
    eprintln!(
        "demo: building the lab in {} (about 10 s; removed at the end)",
        state.display()
    );
    let guard = Down { script, dir };
    lab(&guard.script, &["up".as_ref(), state.as_os_str()]).context(
        "the lab did not come up; if packages are missing, run `tests/lab/lab.sh deps` or pass --install",
    )?;
    Ok((state.join("inventory.toml"), guard))
}
