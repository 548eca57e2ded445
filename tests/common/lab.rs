//! The lab of tests/lab/lab.sh for a test: brought up with `up`, torn down
//! (exactly what it started, by its state directory) when dropped, also
//! when an assertion fails.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn lab_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh")
}

pub struct Lab {
    pub state: PathBuf,
    _dir: tempfile::TempDir,
}

impl Lab {
    /// Every node of the lab, or only `nodes` (comma-separated).
    pub fn up(nodes: Option<&str>) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("lab");
        let mut cmd = Command::new("bash");
        cmd.arg(lab_sh()).arg("up").arg(&state);
        if let Some(n) = nodes {
            cmd.args(["--nodes", n]);
        }
        let out = cmd.output().expect("bash runs");
        let lab = Lab { state, _dir: dir };
        assert!(
            out.status.success(),
            "lab.sh up failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        lab
    }

    /// The nodes as `nodes.json` describes them.
    pub fn nodes(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.state.join("nodes.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v.as_array().cloned().unwrap_or_default()
    }

    pub fn address(&self, node: &str) -> String {
        self.nodes()
            .iter()
            .find(|n| n["name"] == node)
            .and_then(|n| n["address"].as_str())
            .unwrap_or_else(|| panic!("{node} not in nodes.json"))
            .to_string()
    }

    /// sha256 and stat of the node's files, to show a scan changed nothing.
    pub fn hash(&self, node: &str) -> String {
        let out = Command::new("bash")
            .arg(lab_sh())
            .arg("hash")
            .arg(&self.state)
            .arg(node)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(lab_sh())
            .arg("down")
            .arg(&self.state)
            .status();
    }
}
