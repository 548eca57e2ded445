//! CIS section 5 offline: the cluster facts a scan of the lab saved for
//! each object set (tests/fixtures/cluster/<set>/api@cluster.json, written
//! by `scan --save-facts` against tests/lab/apisets; tests/lab_api.rs fails
//! when they no longer match what the lab gives) judged by `eval`, check by
//! check, against tests/lab/apisets/expected.toml. Needs no lab and no
//! root.

mod common;

use std::path::Path;
use std::process::Command;

use common::api::{compare, expected, section_5};
use kubeharden::report::Report;

pub const SETS: [&str; 3] = ["kubeadm-flannel", "kubeadm-flannel-hardened", "problems"];

#[test]
fn saved_cluster_facts_get_the_expected_verdicts() {
    let expected = expected();
    let mut wrong = Vec::new();
    for set in SETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cluster")
            .join(set);
        let text = std::fs::read_to_string(dir.join("api@cluster.json")).unwrap();
        assert!(
            !text.contains("KHSECRETCANARY"),
            "{set}: a secret value in the facts"
        );
        let o = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
            .args(["eval", dir.to_str().unwrap(), "--benchmark", "cis-1.12"])
            .args(["--format", "json", "--fail-on", "none"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{set}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let report: Report = serde_json::from_slice(&o.stdout).unwrap();
        let found = section_5(&report);
        assert_eq!(found.len(), 34, "{set}");
        wrong.extend(compare(set, &found, &expected));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
