//! The fixture clusters get exactly the verdicts written in their
//! expected.toml, check by check, through the library and through the CLI.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{expected, fixture};

use kubeharden::bench::{Benchmark, load_builtin};
use kubeharden::engine::evaluate;
use kubeharden::facts::load_facts_path;
use kubeharden::report::{Report, Status};

const SCENARIOS: [&str; 10] = [
    "kubeadm-default",
    "hardened",
    "misconfigured",
    "etcd-config-file",
    "kubespray-default",
    "kubespray-hardened",
    "rke2-default",
    "rke2-hardened",
    "k3s-default",
    "k3s-hardened",
];

fn bench() -> Benchmark {
    load_builtin("cis-1.12").expect("built-in benchmark loads")
}

fn report(scenario: &str) -> Report {
    let nodes = load_facts_path(&fixture(scenario)).expect("fixture facts load");
    evaluate(&bench(), &nodes, "2026-11-24T00:00:00Z")
}

fn assert_scenario(scenario: &str) {
    let bench = bench();
    let report = report(scenario);
    let expected = expected(scenario);
    assert_eq!(report.nodes.len(), expected.len(), "{scenario}: node count");
    for node in &report.nodes {
        let table = expected[&node.name].as_table().unwrap();
        let wrong = common::compare(&bench, node, table, &BTreeMap::new());
        assert!(
            wrong.is_empty(),
            "{scenario}/{}:\n{}",
            node.name,
            wrong.join("\n")
        );
    }
    // Cluster-wide checks (3.1 and section 5) are manual, with guidance.
    let cluster_ids: Vec<&str> = report
        .cluster
        .results
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(cluster_ids.len(), 37);
    assert!(
        report
            .cluster
            .results
            .iter()
            .all(|f| f.status == Status::Manual && !f.expected.is_empty())
    );
}

#[test]
fn kubeadm_default_verdicts() {
    assert_scenario("kubeadm-default");
}

#[test]
fn hardened_verdicts() {
    assert_scenario("hardened");
}

#[test]
fn misconfigured_verdicts() {
    assert_scenario("misconfigured");
}

#[test]
fn etcd_config_file_verdicts() {
    assert_scenario("etcd-config-file");
}

#[test]
fn kubespray_default_verdicts() {
    assert_scenario("kubespray-default");
}

#[test]
fn kubespray_hardened_verdicts() {
    assert_scenario("kubespray-hardened");
}

#[test]
fn rke2_default_verdicts() {
    assert_scenario("rke2-default");
}

#[test]
fn rke2_hardened_verdicts() {
    assert_scenario("rke2-hardened");
}

/// Every node of the distribution fixtures is judged with its own layout,
/// and a check that does not apply there is a skip with the layout's reason,
/// never a fail.
#[test]
fn distribution_nodes_are_judged_with_their_layout() {
    for (scenario, layout) in [
        ("kubespray-default", "kubespray"),
        ("kubespray-hardened", "kubespray"),
        ("rke2-default", "rke2"),
        ("rke2-hardened", "rke2"),
    ] {
        let r = report(scenario);
        for node in &r.nodes {
            let l = node.layout.as_ref().expect("the report names the layout");
            assert_eq!(l.name, layout, "{scenario}/{}", node.name);
            assert!(!l.evidence.is_empty(), "{scenario}/{}", node.name);
        }
    }
    // A saved kubespray node without its layout in the facts is detected as
    // kubespray from its files, the same verdicts.
    let mut nodes = load_facts_path(&fixture("kubespray-default")).unwrap();
    for n in &mut nodes {
        n.layout = None;
    }
    let detected = evaluate(&bench(), &nodes, "2026-11-24T00:00:00Z");
    let saved = report("kubespray-default");
    for (a, b) in detected.nodes.iter().zip(&saved.nodes) {
        assert_eq!(a.layout.as_ref().unwrap().name, "kubespray");
        let sa: Vec<_> = a.results.iter().map(|f| (&f.id, f.status)).collect();
        let sb: Vec<_> = b.results.iter().map(|f| (&f.id, f.status)).collect();
        assert_eq!(sa, sb, "{}", a.name);
    }
}

/// kube-bench#1978: on an RKE2 server that runs no etcd (a control-plane-only
/// server of a split-role cluster), the etcd file checks are not failures:
/// they do not apply, and say why; every other check is judged as on the
/// server that runs etcd.
#[test]
fn an_rke2_server_without_etcd_skips_the_etcd_checks() {
    let nodes = load_facts_path(&fixture("rke2-default")).unwrap();
    let mut cp = nodes.into_iter().find(|n| n.node.name == "cp1").unwrap();
    let full = evaluate(&bench(), std::slice::from_ref(&cp), "2026-11-24T00:00:00Z");
    cp.node.roles.retain(|r| r.as_str() != "etcd");
    cp.components
        .remove(&kubeharden::facts::ComponentKind::Etcd);
    cp.files
        .retain(|p, _| !p.starts_with("/var/lib/rancher/rke2/server/db"));
    let split = evaluate(&bench(), std::slice::from_ref(&cp), "2026-11-24T00:00:00Z");
    let etcd = [
        "1.1.7", "1.1.8", "1.1.11", "1.1.12", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7",
    ];
    for f in &split.nodes[0].results {
        if etcd.contains(&f.id.as_str()) {
            assert_eq!(f.status, Status::Skip, "{}: {f:?}", f.id);
            assert!(
                f.reason.as_deref().is_some_and(|r| !r.is_empty()),
                "{}",
                f.id
            );
        } else if let Some(g) = full.nodes[0].results.iter().find(|g| g.id == f.id) {
            assert_eq!(f.status, g.status, "{}", f.id);
        }
    }
}

#[test]
fn k3s_default_verdicts() {
    assert_scenario("k3s-default");
}

#[test]
fn k3s_hardened_verdicts() {
    assert_scenario("k3s-hardened");
}

#[test]
fn k3s_remediation_says_how_k3s_takes_the_setting() {
    // A failed setting of a component k3s runs inside itself is changed in
    // k3s's configuration; a file check keeps its own remediation.
    let r = report("k3s-default");
    let cp1 = r.nodes.iter().find(|n| n.name == "cp1").unwrap();
    let audit = cp1.results.iter().find(|f| f.id == "1.2.16").unwrap();
    assert!(
        audit.remediation.starts_with(
            "On k3s, kube-apiserver runs inside k3s-server: give the flag as an item of kube-apiserver-arg (name=value) in /etc/rancher/k3s/config.yaml"
        ),
        "{}",
        audit.remediation
    );
    let w1 = r.nodes.iter().find(|n| n.name == "w1").unwrap();
    let ciphers = w1.results.iter().find(|f| f.id == "4.2.12").unwrap();
    assert!(
        ciphers
            .remediation
            .starts_with("On k3s, kubelet runs inside k3s-server or k3s-agent: give the flag as an item of kubelet-arg"),
        "{}",
        ciphers.remediation
    );
    let cni = cp1.results.iter().find(|f| f.id == "1.1.9").unwrap();
    assert!(
        !cni.remediation.starts_with("On k3s"),
        "{}",
        cni.remediation
    );
    // kubeadm's findings are as before.
    let k = report("kubeadm-default");
    let f = k.nodes[0]
        .results
        .iter()
        .find(|f| f.id == "1.2.16")
        .unwrap();
    assert!(!f.remediation.starts_with("On "), "{}", f.remediation);
}

#[test]
fn every_pass_and_fail_carries_evidence() {
    for scenario in SCENARIOS {
        for (node, f) in report(scenario).findings() {
            match f.status {
                Status::Pass | Status::Fail | Status::Warn => {
                    assert!(
                        !f.expected.is_empty() && !f.actual.is_empty() && !f.source.is_empty(),
                        "{scenario} {node:?} {}: {f:?}",
                        f.id
                    );
                }
                Status::Skip | Status::Error => {
                    assert!(
                        f.reason.as_deref().is_some_and(|r| !r.is_empty()),
                        "{scenario} {}",
                        f.id
                    )
                }
                Status::Manual => assert!(!f.remediation.is_empty()),
                Status::Waived => unreachable!("no waivers were given"),
            }
        }
    }
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("binary runs")
}

#[test]
fn cli_json_matches_the_library_and_exit_codes_follow_failures() {
    for (scenario, code) in [
        ("kubeadm-default", 1),
        ("hardened", 0),
        ("misconfigured", 1),
        // k3s's defaults lack audit logging; the hardened k3s fails nothing.
        ("k3s-default", 1),
        ("k3s-hardened", 0),
    ] {
        let dir = fixture(scenario);
        let out = cli(&["eval", dir.to_str().unwrap(), "--format", "json"]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{scenario}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let from_cli: Report = serde_json::from_slice(&out.stdout).expect("valid JSON report");
        let from_lib = report(scenario);
        for (a, b) in from_cli.nodes.iter().zip(&from_lib.nodes) {
            let sa: Vec<(&str, Status)> = a
                .results
                .iter()
                .map(|f| (f.id.as_str(), f.status))
                .collect();
            let sb: Vec<(&str, Status)> = b
                .results
                .iter()
                .map(|f| (f.id.as_str(), f.status))
                .collect();
            assert_eq!(sa, sb, "{scenario}/{}", a.name);
        }
        assert_eq!(from_cli.summary, from_lib.summary);
        assert_eq!(from_cli.benchmark.id, "cis-1.12");
        assert_eq!(from_cli.schema_version, 1);
    }
}

#[test]
fn cli_text_lists_every_failure_and_error() {
    for scenario in SCENARIOS {
        let dir = fixture(scenario);
        let out = cli(&["eval", dir.to_str().unwrap()]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains('\x1b'), "no colour when not a terminal");
        for (node, f) in report(scenario).findings() {
            let line = format!(
                "[{}] {} {} ",
                f.status.as_str().to_uppercase(),
                node.unwrap_or("cluster"),
                f.id
            );
            let listed = text.contains(&line);
            match f.status {
                Status::Fail | Status::Error | Status::Warn => {
                    assert!(listed, "{scenario}: missing {line}")
                }
                _ => assert!(!listed, "{scenario}: {line} should not be listed"),
            }
        }
        let c = report(scenario).summary.counts;
        assert!(
            text.contains(&format!(
                "{} pass, {} fail, {} warn",
                c.pass, c.fail, c.warn
            )),
            "{text}"
        );
    }
}

#[test]
fn cli_output_file_and_single_file_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("report.json");
    let facts = fixture("hardened").join("w1.json");
    let out = cli(&[
        "eval",
        facts.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let r: Report = serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    assert_eq!(r.nodes.len(), 1);
    assert_eq!(r.nodes[0].name, "w1");
}
