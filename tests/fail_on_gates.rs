//! `--fail-on fail|warn|none` and the exit code, for every kind of result:
//! fails, warns only, errors, unscanned nodes, waived findings, and usage
//! errors (always 2).

use std::path::{Path, PathBuf};
use std::process::Command;

use kubeharden::bench::load_builtin;
use kubeharden::engine::evaluate;
use kubeharden::facts::{ScanStatus, load_facts_path};
use kubeharden::report::{Gate, Status};

fn fixture(scenario: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(scenario)
}

fn code(facts: &Path, extra: &[&str]) -> i32 {
    Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .arg("eval")
        .arg(facts)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

fn codes(facts: &Path, extra: &[&str]) -> [i32; 4] {
    let with = |gate: &str| {
        let mut args = extra.to_vec();
        args.extend(["--fail-on", gate]);
        code(facts, &args)
    };
    [code(facts, extra), with("fail"), with("warn"), with("none")]
}

#[test]
fn failures_fail_fail_and_warn_gates() {
    // [default, fail, warn, none]
    assert_eq!(codes(&fixture("misconfigured"), &[]), [1, 1, 1, 0]);
}

#[test]
fn a_clean_run_passes_every_gate() {
    assert_eq!(codes(&fixture("hardened"), &[]), [0, 0, 0, 0]);
}

/// kubeadm-default with every `fail` waived: only warns are left.
#[test]
fn warns_fail_only_the_warn_gate() {
    let bench = load_builtin("cis-1.12").unwrap();
    let r = evaluate(
        &bench,
        &load_facts_path(&fixture("kubeadm-default")).unwrap(),
        "2026-11-24T00:00:00Z",
    );
    let mut fails: Vec<&str> = r
        .findings()
        .filter(|(_, f)| f.status == Status::Fail)
        .map(|(_, f)| f.id.as_str())
        .collect();
    fails.sort();
    fails.dedup();
    assert!(!fails.is_empty() && r.summary.counts.warn > 0);
    let mut toml = String::new();
    for id in fails {
        toml.push_str(&format!(
            "[[waiver]]\ncheck = \"{id}\"\nnodes = \"*\"\nreason = \"accepted\"\nowner = \"test\"\nexpires = 2999-01-01\n\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.toml");
    std::fs::write(&w, toml).unwrap();
    let w = w.to_str().unwrap();
    assert_eq!(
        codes(&fixture("kubeadm-default"), &["--waivers", w]),
        [0, 0, 1, 0],
        "waived findings never fail a gate; warns fail --fail-on warn"
    );
}

#[test]
fn errors_and_unscanned_nodes_fail_fail_and_warn_gates() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = load_facts_path(&fixture("hardened")).unwrap();
    let mut down = nodes[1].clone();
    down.node.name = "w2".into();
    down.scan_status = ScanStatus::Unreachable;
    down.error = Some("ssh: connection refused".into());
    nodes.push(down);
    let path = dir.path().join("facts.json");
    std::fs::write(&path, serde_json::to_string(&nodes).unwrap()).unwrap();
    assert_eq!(codes(&path, &[]), [1, 1, 1, 0]);

    // An error finding alone (misconfigured has two; waive everything else).
    let w = dir.path().join("w.toml");
    std::fs::write(
        &w,
        "[[waiver]]\ncheck = \"*\"\nnodes = \"*\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2999-01-01\n",
    )
    .unwrap();
    assert_eq!(
        codes(
            &fixture("misconfigured"),
            &["--waivers", w.to_str().unwrap()]
        ),
        [1, 1, 1, 0],
        "errors are never waived and fail unless --fail-on none"
    );
}

#[test]
fn usage_and_input_errors_exit_2_whatever_the_gate() {
    let missing = fixture("no-such-scenario");
    assert_eq!(codes(&missing, &[]), [2, 2, 2, 2]);
    assert_eq!(code(&fixture("hardened"), &["--fail-on", "sometimes"]), 2);
}

#[test]
fn gates_as_a_library() {
    let bench = load_builtin("cis-1.12").unwrap();
    let r = evaluate(
        &bench,
        &load_facts_path(&fixture("kubeadm-default")).unwrap(),
        "2026-11-24T00:00:00Z",
    );
    assert!(r.fails(Gate::Fail) && r.fails(Gate::Warn) && !r.fails(Gate::None));
    assert_eq!(r.has_failures(), r.fails(Gate::Fail));
}
