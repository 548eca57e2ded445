//! Distribution nodes of the lab (tests/lab/lab.sh, built only when named
//! with --nodes): k3s servers and agents run as k3s runs them, one
//! `k3s-server` or `k3s-agent` process whose flags are only in the lines
//! it logged, embedded etcd served by that very process
//! (tests/lab/lib/k3s_node.py). One `kubeharden scan` must give every node
//! the verdict its fixture's expected.toml gives, check by check; the JSON
//! and HTML reports must name the layout and where each value came from;
//! no secret of the nodes may leave them, and the scan changes nothing.
//!
//! Needs root (namespaces) and the lab's packages (`tests/lab/lab.sh deps`).

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::lab::Lab;
use kubeharden::bench::load_builtin;
use kubeharden::facts::ScanStatus;
use kubeharden::report::{Report, Status};

const K3S_NODES: [&str; 4] = [
    "k3s-default-cp1",
    "k3s-default-w1",
    "k3s-hardened-cp1",
    "k3s-hardened-w1",
];

/// Where a lab node's verdicts differ from its fixture's, and why: the
/// fixtures carry no certificates and no probes, the lab has both.
fn overrides(node: &str) -> BTreeMap<String, Status> {
    let mut o = BTreeMap::new();
    // A real PKI, fresh, RSA 2048 and SHA-256, every leaf issued by the CA
    // k3s issues it from (server, client, request-header and etcd CAs), the
    // API server's certificate for kubernetes.default.svc and 10.43.0.1.
    // Its CAs are made for ten years at `up`: keys.ca passes (the fixtures
    // carry no certificates, so there it is a skip).
    let mut certs = vec![
        "cert.expiry",
        "cert.key-strength",
        "cert.signature",
        "keys.ca",
    ];
    if node.ends_with("-cp1") {
        certs.extend(["cert.chain", "cert.apiserver-san"]);
    }
    for id in certs {
        o.insert(id.to_string(), Status::Pass);
    }
    // kube-proxy's metrics (and etcd's) in clear on loopback: a warning.
    o.insert("tls.plaintext".into(), Status::Warn);
    for id in [
        "tls.min-version",
        "tls.kubelet-anonymous",
        "tls.served-cert",
    ] {
        o.insert(id.into(), Status::Pass);
    }
    // Only the hardened agent configures every port it serves down to
    // ECDHE + AEAD (its kubelet's tls-cipher-suites); servers run the
    // controller-manager and scheduler with Go's default suites, and the
    // default agent's kubelet too.
    o.insert(
        "tls.weak-ciphers".into(),
        if node == "k3s-hardened-w1" {
            Status::Pass
        } else {
            Status::Warn
        },
    );
    if node == "k3s-hardened-cp1" {
        o.insert("tls.etcd-client-cert".into(), Status::Pass);
    }
    o
}

fn node_file(lab: &Lab, node: &str, path: &str) -> String {
    std::fs::read_to_string(lab.state.join("nodes").join(node).join("root").join(path)).unwrap()
}

#[test]
fn k3s_nodes_get_their_fixtures_verdicts() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "the lab needs root");
    let lab = Lab::up(Some(&K3S_NODES.join(",")));
    let before: Vec<String> = K3S_NODES.iter().map(|n| lab.hash(n)).collect();

    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("r.json");
    let html = out_dir.path().join("r.html");
    let facts_dir = out_dir.path().join("facts");
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .arg("scan")
        .arg("--inventory")
        .arg(lab.state.join("inventory.toml"))
        .args(["--format", "text", "--color", "never", "--json"])
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg("--save-facts")
        .arg(&facts_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // k3s-default fails audit logging (1.2.16...): exit 1.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    let bench = load_builtin("cis-1.12").unwrap();
    let mut wrong = Vec::new();
    for name in K3S_NODES {
        let node = report.nodes.iter().find(|n| n.name == name).unwrap();
        assert_eq!(node.scan_status, ScanStatus::Ok, "{name}: {:?}", node.error);
        let (scenario, fixture_node) = name.rsplit_once('-').unwrap();
        let expected = common::expected(scenario);
        let table = expected[fixture_node].as_table().unwrap();
        for line in common::compare(&bench, node, table, &overrides(name)) {
            wrong.push(format!("{name}: {line}"));
        }
        // The layout, and what recognised it: the k3s process.
        let layout = node.layout.as_ref().expect("the layout is reported");
        assert_eq!(layout.name, "k3s", "{name}");
        let process = if fixture_node == "cp1" {
            "k3s-server"
        } else {
            "k3s-agent"
        };
        assert!(
            layout.evidence[0].starts_with(&format!("process {process} (pid ")),
            "{name}: {:?}",
            layout.evidence
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Where the values came from: the line k3s logged in its log file (of
    // this start, not the earlier one whose kubelet had
    // --read-only-port=10255), and the config.yaml entry that set it.
    let find = |node: &str, id: &str| {
        report
            .nodes
            .iter()
            .find(|n| n.name == node)
            .unwrap()
            .results
            .iter()
            .find(|f| f.id == id)
            .unwrap()
            .clone()
    };
    let audit = find("k3s-hardened-cp1", "1.2.16");
    for text in [
        "kube-apiserver command line that k3s-server (pid",
        "logged in /var/log/k3s.log at 2026-11-24T08:41:09Z",
        "(set in /etc/rancher/k3s/config.yaml kube-apiserver-arg: audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log)",
    ] {
        assert!(audit.source.contains(text), "{text}: {}", audit.source);
    }
    let enc = find("k3s-hardened-cp1", "1.2.27");
    assert!(
        enc.source
            .contains("set by k3s-server from its option secrets-encryption: true in /etc/rancher/k3s/config.yaml"),
        "{}",
        enc.source
    );
    let ro = find("k3s-default-w1", "4.2.4");
    assert_eq!(ro.status, Status::Pass);
    assert!(
        ro.source.contains("logged in /var/log/k3s-agent.log")
            && ro.source.contains("--read-only-port=0"),
        "{}",
        ro.source
    );
    // Embedded etcd: judged from the file k3s wrote, served by k3s itself.
    let etcd = find("k3s-hardened-cp1", "2.2");
    assert!(
        etcd.source.contains(
            "/var/lib/rancher/k3s/server/db/etcd/config: client-transport-security.client-cert-auth"
        ),
        "{}",
        etcd.source
    );
    let page = std::fs::read_to_string(&html).unwrap();
    for text in [
        "k3s",
        "process k3s-server (pid",
        "logged in /var/log/k3s.log at 2026-11-24T08:41:09Z",
        "set in /etc/rancher/k3s/config.yaml kube-apiserver-arg: audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log",
        "/var/lib/rancher/k3s/server/db/etcd/config: client-transport-security.client-cert-auth",
    ] {
        assert!(page.contains(text), "the HTML report lacks {text:?}");
    }

    // Embedded etcd listens from the k3s-server process, with TLS that
    // insists on client certificates; the hardening guide does not
    // firewall it, so the agents reach it, which the cluster check reports.
    let rows = report
        .etcd_reachability
        .as_ref()
        .expect("reachability probed");
    for worker in ["k3s-default-w1", "k3s-hardened-w1"] {
        for port in [2379, 2380] {
            let row = rows
                .iter()
                .find(|r| {
                    r.from == worker
                        && r.to.starts_with("k3s-hardened-cp1 ")
                        && r.to.ends_with(&format!(":{port}"))
                })
                .unwrap_or_else(|| panic!("no probe {worker} -> k3s-hardened-cp1:{port}"));
            assert!(row.reachable, "{row:?}");
        }
    }
    let firewall = report
        .cluster
        .results
        .iter()
        .find(|f| f.id == "net.etcd-firewall")
        .unwrap();
    assert_eq!(firewall.status, Status::Fail, "{firewall:?}");

    // No secret leaves a node: the agents' join tokens and the hardened
    // server's secrets-encryption key are on the nodes, and nowhere in
    // what the scan wrote.
    let token = |node: &str| {
        node_file(&lab, node, "etc/rancher/k3s/config.yaml")
            .lines()
            .find_map(|l| l.strip_prefix("token: ").map(str::to_string))
            .unwrap()
    };
    let enc_json = node_file(
        &lab,
        "k3s-hardened-cp1",
        "var/lib/rancher/k3s/server/cred/encryption-config.json",
    );
    let key = enc_json
        .split("\"secret\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let mut written = std::fs::read_to_string(&json).unwrap();
    written.push_str(&page);
    for e in std::fs::read_dir(&facts_dir).unwrap() {
        written.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    for secret in [token("k3s-default-w1"), token("k3s-hardened-w1"), key] {
        assert!(secret.len() > 20, "{secret}");
        assert!(!written.contains(&secret), "a node secret left the node");
    }

    // The scan changed nothing on the nodes.
    for (name, b) in K3S_NODES.iter().zip(&before) {
        assert_eq!(&lab.hash(name), b, "{name} changed");
    }
}
