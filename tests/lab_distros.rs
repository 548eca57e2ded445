//! kubespray and RKE2 nodes in the lab (tests/lab/lab.sh, nodes at
//! 10.231.N.200-207, built from tests/fixtures/{kubespray,rke2}-*): a real
//! `kubeharden scan` over SSH must give every CIS check the verdict of the
//! fixture's expected.toml on every node, the JSON and HTML reports must
//! name each node's layout with what recognised it and say where each
//! value came from, and the scan must change nothing on the nodes.
//!
//! On these nodes etcd is Debian's real etcd, started as each distribution
//! starts it: kubespray's from `ETCD_*` variables only (the node's
//! /etc/etcd.env, as its systemd unit passes them), RKE2's with
//! `--config-file` only; the kubelet is started by a stub `rke2` process's
//! side on RKE2, with the `--config-dir` drop-in rke2 1.32 writes.
//!
//! Needs root (namespaces) and the lab's packages (`tests/lab/lab.sh deps`).

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::lab::Lab;
use kubeharden::bench::load_builtin;
use kubeharden::facts::ScanStatus;
use kubeharden::report::{Report, Status};

const NODES: [&str; 8] = [
    "kubespray-default-cp1",
    "kubespray-default-w1",
    "kubespray-hardened-cp1",
    "kubespray-hardened-w1",
    "rke2-default-cp1",
    "rke2-default-w1",
    "rke2-hardened-cp1",
    "rke2-hardened-w1",
];

/// What the lab adds beyond the fixtures, which carry no certificates and
/// no probe results: the scan's certificate and TLS findings. They are not
/// CIS checks and not what this test is about, but none may be an error.
fn overrides(node: &kubeharden::report::NodeReport) -> BTreeMap<String, Status> {
    let mut o = BTreeMap::new();
    for f in &node.results {
        let cis = f.id.starts_with(|c: char| c.is_ascii_digit());
        // Key ages come from file times, which the lab reproduces
        // (materialize.py build_mtimes): judged as in expected.toml.
        let ours = f.id.starts_with("drift.")
            || f.id.starts_with("presence.")
            || f.id == "keys.encryption"
            || f.id == "keys.service-account";
        if !cis && !ours {
            assert_ne!(
                f.status,
                Status::Error,
                "{} {}: {:?} {}",
                node.name,
                f.id,
                f.reason,
                f.actual
            );
            o.insert(f.id.clone(), f.status);
        }
    }
    o
}

/// A node's files, as lab.sh hash lists them, without what the real etcd
/// writes to its member directory while it runs.
fn hashed(lab: &Lab, node: &str) -> Vec<String> {
    lab.hash(node)
        .lines()
        .filter(|l| !l.contains("/server/db/etcd/member/"))
        .map(String::from)
        .collect()
}

#[test]
fn kubespray_and_rke2_nodes_get_their_fixtures_verdicts() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "the lab needs root");
    let lab = Lab::up(Some(&NODES.join(",")));
    let before: Vec<Vec<String>> = NODES.iter().map(|n| hashed(&lab, n)).collect();

    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("r.json");
    let html = out_dir.path().join("r.html");
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .arg("scan")
        .arg("--inventory")
        .arg(lab.state.join("inventory.toml"))
        .args(["--format", "text", "--color", "never", "--json"])
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg("--save-facts")
        .arg(out_dir.path().join("facts"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Both default installs fail checks.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    let bench = load_builtin("cis-1.12").unwrap();
    let nodes = lab.nodes();
    let mut wrong = Vec::new();
    for name in NODES {
        let meta = nodes.iter().find(|n| n["name"] == name).unwrap();
        let scenario = meta["scenario"].as_str().unwrap();
        let fixture_node = meta["fixture_node"].as_str().unwrap();
        let node = report.nodes.iter().find(|n| n.name == name).unwrap();
        assert_eq!(node.scan_status, ScanStatus::Ok, "{name}: {:?}", node.error);
        let expected = common::expected(scenario);
        let table = expected[fixture_node].as_table().unwrap();
        for line in common::compare(&bench, node, table, &overrides(node)) {
            wrong.push(format!("{name}: {line}"));
        }
        // The layout, detected from the node, with what recognised it.
        let layout = node.layout.as_ref().expect("the report names the layout");
        let (want, why) = if scenario.starts_with("rke2") {
            ("rke2", "process rke2 (pid ")
        } else {
            ("kubespray", "/etc/kubernetes/kubelet.env exists")
        };
        assert_eq!(layout.name, want, "{name}");
        assert!(!layout.forced, "{name}");
        assert!(
            layout.evidence.iter().any(|e| e.starts_with(why)),
            "{name}: {:?}",
            layout.evidence
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Where values came from, in the JSON: etcd's settings from its
    // environment on kubespray and from its --config-file on RKE2, the
    // kubelet's from RKE2's drop-in.
    let finding = |node: &str, id: &str| {
        report
            .nodes
            .iter()
            .find(|n| n.name == node)
            .and_then(|n| n.results.iter().find(|f| f.id == id))
            .unwrap_or_else(|| panic!("{node} {id}"))
            .clone()
    };
    let f = finding("kubespray-default-cp1", "2.2");
    assert!(
        f.source.contains("etcd environment (pid ")
            && f.source.contains("ETCD_CLIENT_CERT_AUTH=true"),
        "{}",
        f.source
    );
    let f = finding("rke2-default-cp1", "2.2");
    assert!(
        f.source.contains(
            "/var/lib/rancher/rke2/server/db/etcd/config: client-transport-security.client-cert-auth"
        ),
        "{}",
        f.source
    );
    let f = finding("rke2-default-w1", "4.2.1");
    assert!(
        f.source
            .contains("/var/lib/rancher/rke2/agent/etc/kubelet.conf.d/00-rke2-defaults.conf"),
        "{}",
        f.source
    );

    // The HTML report names each node's layout and why, and the sources.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(">kubespray</td>"), "no kubespray layout cell");
    assert!(page.contains(">rke2</td>"), "no rke2 layout cell");
    assert!(
        page.contains("kubespray (detected: /etc/kubernetes/kubelet.env exists)"),
        "no kubespray layout evidence"
    );
    assert!(
        page.contains("rke2 (detected: process rke2 (pid "),
        "no rke2 layout evidence"
    );
    assert!(
        page.contains("/etc/systemd/system/etcd.service; /etc/etcd.env"),
        "the etcd unit and environment file are not named as 1.1.7's source"
    );
    assert!(
        page.contains(
            "/var/lib/rancher/rke2/server/db/etcd/config: client-transport-security.cert-file"
        ),
        "etcd's config file is not named as 2.1's source"
    );

    // Keys and rotation, in every format: RKE2's encryption config never
    // rotated (rke2-default), the hardened server's rotation whose old key
    // is still listed (rke2-hardened), by key name and date, never a value.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stale = finding("rke2-hardened-cp1", "keys.encryption");
    assert_eq!(stale.status, Status::Warn, "{stale:?}");
    assert!(
        stale.actual.contains(
            "writes with aescbc key aescbckey-2026-09-25T10:00:00Z, also lists aescbckey (aescbc)"
        ) && stale.actual.contains("old keys still listed"),
        "{}",
        stale.actual
    );
    let old = finding("rke2-default-cp1", "keys.encryption");
    assert!(
        old.actual.contains("active key not rotated for"),
        "{}",
        old.actual
    );
    for (what, text) in [("text", stdout.as_ref()), ("HTML", page.as_str())] {
        assert!(
            text.contains("aescbckey-2026-09-25T10:00:00Z"),
            "{what}: the new key's name"
        );
        assert!(
            text.contains("old keys still listed"),
            "{what}: the stale old key"
        );
    }
    assert!(page.contains("<section id=\"keys\""), "no keys section");
    let keys = report.keys.as_ref().expect("keys in the JSON");
    let row = |node: &str, name: &str| {
        keys.iter()
            .find(|k| k.node == node && k.name == name)
            .unwrap_or_else(|| panic!("{node} {name} in keys"))
    };
    assert_eq!(
        row("rke2-hardened-cp1", "aescbckey-2026-09-25T10:00:00Z").role,
        "active"
    );
    assert_eq!(row("rke2-hardened-cp1", "aescbckey (aescbc)").role, "old");
    assert!(row("rke2-default-cp1", "aescbckey").age_days.unwrap() > 365);
    // The secrets the lab wrote into the encryption configs appear nowhere.
    for node in ["rke2-default-cp1", "rke2-hardened-cp1"] {
        let state = lab.state.join("nodes").join(node).join("root");
        let cfg = std::fs::read_to_string(
            state.join("var/lib/rancher/rke2/server/cred/encryption-config.json"),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&cfg).unwrap();
        for k in v["resources"][0]["providers"][0]["aescbc"]["keys"]
            .as_array()
            .unwrap()
        {
            let secret = k["secret"].as_str().unwrap();
            assert!(secret.len() > 20, "{secret}");
            let facts =
                std::fs::read_to_string(out_dir.path().join("facts").join(format!("{node}.json")))
                    .unwrap();
            assert!(
                facts.contains("aescbckey"),
                "{node}: saved facts keep key names"
            );
            for (what, text) in [
                ("text", stdout.as_ref()),
                ("HTML", page.as_str()),
                ("JSON", &std::fs::read_to_string(&json).unwrap()),
                ("saved facts", &facts),
            ] {
                assert!(!text.contains(secret), "{node}: a key value in the {what}");
            }
        }
    }

    // Read-only: nothing changed on any node.
    for (name, b) in NODES.iter().zip(&before) {
        assert_eq!(&hashed(&lab, name), b, "{name} changed during the scan");
    }
}
