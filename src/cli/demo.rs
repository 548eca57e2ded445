//! `kubeharden demo`: bring up the built-in lab (tests/lab), scan it over
//! SSH, write the report, and tear the lab down. A convenience of the source
//! tree: it needs root (network namespaces) and the lab's script.

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

fn lab(script: &Path, args: &[&std::ffi::OsStr]) -> Result<()> {
    let status = Command::new("bash")
        .arg(script)
        .args(args)
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
    state: PathBuf,
}

impl Drop for Down {
    fn drop(&mut self) {
        eprintln!("demo: tearing the lab down");
        let _ = lab(&self.script, &["down".as_ref(), self.state.as_os_str()]);
    }
}

/// Returns the arguments for the scan of the lab once it is up, and a guard
/// that tears it down. `install` runs `lab.sh deps` first.
pub fn up(install: bool) -> Result<(PathBuf, Down)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "the demo builds simulated nodes in network namespaces, which needs root.\n\
             Run it as root (for example `sudo -E env PATH=$PATH cargo run --release -- demo`),\n\
             or scan real nodes: `kubeharden scan --inventory examples/inventory.toml`"
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
        "demo: building the lab in {} (about a minute)",
        state.display()
    );
    let guard = Down {
        script,
        state: state.clone(),
    };
    lab(&guard.script, &["up".as_ref(), state.as_os_str()]).context(
        "the lab did not come up; if packages are missing, run `tests/lab/lab.sh deps` or pass --install",
    )?;
    Ok((state.join("inventory.toml"), guard))
}
