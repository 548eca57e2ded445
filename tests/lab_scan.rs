//! The whole scan against the lab (tests/lab/lab.sh): simulated nodes in
//! network, mount and pid namespaces, each with its own OpenSSH server, real
//! etcd with TLS on the control planes, and the files and processes of the
//! fixture scenarios. One `kubeharden scan --inventory` over SSH must give
//! the fixtures' expected verdicts for every scenario node, report every
//! fault node with the right status within its timeouts, leak no canary
//! secret, and leave every node's files unchanged. A scan of the fault
//! nodes alone must end within the connect timeout and a small margin:
//! none of them may hold the scan to the command timeout, not even one
//! whose login succeeds and never runs the collector.
//!
//! Needs root (namespaces) and the lab's packages (`tests/lab/lab.sh deps`,
//! which `.ci/run` runs).

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::lab::Lab;
use kubeharden::bench::load_builtin;
use kubeharden::facts::{NodeFacts, ScanStatus};
use kubeharden::report::{Report, Status};

const CANARY: &str = "KHCANARY0b5e7d2c9a";

/// One lab at a time: the fault scan is timed, and two labs coming up on a
/// small machine would only slow each other down.
static ONE_LAB: Mutex<()> = Mutex::new(());

/// Puts the canary where a careless collector would pick it up: inside
/// a private key, and as an encryption-config secret.
fn plant_canaries(lab: &Lab) {
    let root = lab.state.join("nodes/hardened-cp1/root");
    let key = root.join("etc/kubernetes/pki/apiserver.key");
    let mut text = std::fs::read_to_string(&key).unwrap();
    text.push_str(&format!("# {CANARY}\n"));
    std::fs::write(&key, text).unwrap();
    let enc = root.join("etc/kubernetes/enc/encryption.yaml");
    let text = std::fs::read_to_string(&enc).unwrap();
    std::fs::write(&enc, text.replace("secret: ", &format!("secret: {CANARY}"))).unwrap();
}

/// Lab nodes whose verdicts differ from their fixture, and why.
fn overrides(node: &str) -> BTreeMap<String, Status> {
    let mut o = BTreeMap::new();
    // The fixtures carry no certificates; the lab has a real PKI, fresh,
    // RSA 2048 with SHA-256, every leaf issued by the CA the flags name, and
    // the API server certificate names the node and kubernetes.default.svc.
    let mut certs = vec!["cert.expiry", "cert.key-strength", "cert.signature"];
    if node.ends_with("-cp1") {
        certs.extend(["cert.chain", "cert.apiserver-san"]);
    }
    // Its CAs are made for ten years at `up`: keys.ca passes (the fixtures
    // have no CA to date: skip). The key files' ages are the fixtures'
    // (materialize.py build_mtimes), so keys.encryption and
    // keys.service-account are the fixtures' verdicts.
    certs.push("keys.ca");
    for id in certs {
        o.insert(id.to_string(), Status::Pass);
    }
    // Ports probed from each node (tests/lab/README.md has the map): kube-proxy
    // metrics (and etcd metrics) in clear on loopback warn everywhere;
    // misconfigured-w1 also serves the read-only port 10255 and metrics in
    // clear on its network address, and misconfigured-cp1 an unauthenticated
    // API (a `kubectl proxy`) on 127.0.0.1:8080, which fail. Never an error:
    // the plaintext ports that stay silent on a ClientHello are found by
    // the plain GET.
    o.insert(
        "tls.plaintext".into(),
        if node == "misconfigured-w1" || node == "misconfigured-cp1" {
            Status::Fail
        } else {
            Status::Warn
        },
    );
    // What the ports negotiate (tests/lab/README.md, "Network listeners"):
    // the listeners behave like Go servers, so Go's default CBC suites are
    // accepted (warn) wherever no cipher list is configured; only the
    // hardened worker's kubelet is configured down to ECDHE + AEAD.
    // fault-sudo is a kubeadm-default worker; etcd-config-file-cp1 is the
    // kubeadm-default control plane with its etcd started from a config file.
    let scenario_or_copy = match node {
        "fault-sudo" => "kubeadm-default-w1",
        "etcd-config-file-cp1" => "kubeadm-default-cp1",
        n => n,
    };
    let bad_kubelet = scenario_or_copy == "misconfigured-w1";
    let pass_or = |bad: bool, s: Status| if bad { s } else { Status::Pass };
    o.insert("tls.min-version".into(), pass_or(bad_kubelet, Status::Fail));
    o.insert(
        "tls.kubelet-anonymous".into(),
        pass_or(bad_kubelet, Status::Fail),
    );
    o.insert(
        "tls.weak-ciphers".into(),
        pass_or(scenario_or_copy != "hardened-w1", Status::Warn),
    );
    o.insert(
        "tls.served-cert".into(),
        match scenario_or_copy {
            // the pairs client-go generates: the kubelets' kubelet.crt, and
            // the controller-manager's and scheduler's in memory (hardened
            // too: CIS asks for no --tls-cert-file there)
            "kubeadm-default-cp1" | "kubeadm-default-w1" | "hardened-cp1" => Status::Warn,
            // 10257 serves its --tls-cert-file, from a rogue CA named like
            // the real one; 10250 serves an expired kubelet.crt
            "misconfigured-cp1" => Status::Fail,
            _ => Status::Pass,
        },
    );
    if node.ends_with("-cp1") {
        // etcd insists on client certificates on every control plane
        // (misconfigured too: --trusted-ca-file turns it on).
        o.insert("tls.etcd-client-cert".into(), Status::Pass);
    }
    if scenario_or_copy.starts_with("misconfigured-") {
        // The kubelet's serving certificate, seen only on the wire: expired
        // on cp1, 5 days left on w1.
        o.insert("cert.expiry".into(), Status::Fail);
    }
    // The fixture's controller-manager.conf cannot be stat'ed; as root in the
    // lab it can, and it is 0600 root:root.
    if node == "misconfigured-cp1" {
        o.insert("1.1.17".into(), Status::Pass);
        o.insert("1.1.18".into(), Status::Pass);
        // Its kubelet's client-certificate store holds real certificates
        // in the lab (the fixture lists the files only): the current one
        // has used most of its year, so rotation is configured but not
        // happening.
        o.insert("keys.kubelet-rotation".into(), Status::Warn);
    }
    o
}

#[test]
fn scan_of_the_lab() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "the lab needs root");
    let _one = ONE_LAB.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::up(None);
    plant_canaries(&lab);
    let nodes = lab.nodes();
    let scenario_nodes: Vec<(String, String, String)> = nodes
        .iter()
        .filter_map(|n| {
            Some((
                n["name"].as_str()?.to_string(),
                n["scenario"].as_str()?.to_string(),
                n["fixture_node"].as_str()?.to_string(),
            ))
        })
        .collect();
    assert_eq!(scenario_nodes.len(), 7, "{nodes:?}");
    let before: Vec<String> = scenario_nodes.iter().map(|(n, _, _)| lab.hash(n)).collect();

    let out_dir = tempfile::tempdir().unwrap();
    let report_path = out_dir.path().join("r.json");
    let facts_dir = out_dir.path().join("facts");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .arg("scan")
        .arg("--inventory")
        .arg(lab.state.join("inventory.toml"))
        .arg("--probe-from-here")
        .args(["--format", "text", "--color", "never", "--json"])
        .arg(&report_path)
        .arg("--save-facts")
        .arg(&facts_dir)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();

    // Fault nodes: the right status, and the whole scan bounded by the
    // timeouts (connect 5 s, commands 20 s) rather than by the hung node.
    let status = |name: &str| {
        report
            .nodes
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.scan_status)
    };
    assert_eq!(
        status("fault-sshd-down"),
        Some(ScanStatus::Unreachable),
        "{stderr}"
    );
    assert_eq!(status("fault-hang"), Some(ScanStatus::Timeout), "{stderr}");
    assert_eq!(
        status("fault-dropped"),
        Some(ScanStatus::Timeout),
        "{stderr}"
    );
    assert_eq!(
        status("fault-forcecommand"),
        Some(ScanStatus::CollectorNotStarted),
        "{stderr}"
    );
    assert_eq!(
        status("fault-hostkey"),
        Some(ScanStatus::HostKeyMismatch),
        "{stderr}"
    );
    assert_eq!(status("fault-sudo"), Some(ScanStatus::Ok), "{stderr}");
    assert_eq!(
        status("fault-sudo-nopass"),
        Some(ScanStatus::AuthFailed),
        "{stderr}"
    );
    let nopass = report
        .nodes
        .iter()
        .find(|n| n.name == "fault-sudo-nopass")
        .unwrap();
    assert!(
        nopass.error.as_deref().unwrap_or("").contains("sudo -n"),
        "{:?}",
        nopass.error
    );
    for n in &report.nodes {
        if n.scan_status != ScanStatus::Ok {
            assert!(
                n.results.is_empty(),
                "{} was not scanned but has results",
                n.name
            );
        }
    }
    assert!(elapsed < Duration::from_secs(30), "scan took {elapsed:?}");

    // Scenario nodes: the fixtures' verdicts, check by check.
    let bench = load_builtin("cis-1.12").unwrap();
    let mut wrong = Vec::new();
    for (name, scenario, fixture_node) in &scenario_nodes {
        let node = report.nodes.iter().find(|n| &n.name == name).unwrap();
        assert_eq!(node.scan_status, ScanStatus::Ok, "{name}: {:?}", node.error);
        let expected = common::expected(scenario);
        let table = expected[fixture_node].as_table().unwrap();
        for line in common::compare(&bench, node, table, &overrides(name)) {
            wrong.push(format!("{name}: {line}"));
        }
    }
    // The sudo node is a kubeadm-default worker reached as a non-root user.
    let sudo = report
        .nodes
        .iter()
        .find(|n| n.name == "fault-sudo")
        .unwrap();
    let expected = common::expected("kubeadm-default");
    for line in common::compare(
        &bench,
        sudo,
        expected["w1"].as_table().unwrap(),
        &overrides("fault-sudo"),
    ) {
        wrong.push(format!("fault-sudo: {line}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // CIS 3.2.2 on the control planes: judged from the policy file each
    // one's kube-apiserver names, as the lab wrote it (tests/lab/README.md,
    // "Audit policies"), read over SSH.
    let finding = |node: &str, id: &str| {
        report
            .nodes
            .iter()
            .find(|n| n.name == node)
            .and_then(|n| n.results.iter().find(|f| f.id == id))
            .unwrap_or_else(|| panic!("{node}: no {id}"))
            .clone()
    };
    let hardened = finding("hardened-cp1", "3.2.2");
    assert_eq!(hardened.status, Status::Pass, "{hardened:?}");
    assert!(
        hardened
            .source
            .contains("/etc/kubernetes/audit-policy.yaml (--audit-policy-file)"),
        "{hardened:?}"
    );
    let broken = finding("misconfigured-cp1", "3.2.2");
    assert_eq!(broken.status, Status::Warn, "{broken:?}");
    for part in [
        "NOT MET (audit level of secrets at most Metadata): audit level of secrets: RequestResponse by rules[0]",
        "NOT MET (audit policy catch-all rule at level None is not set): audit policy catch-all rule at level None: rules[1]",
    ] {
        assert!(broken.actual.contains(part), "{part}: {broken:?}");
    }
    let none = finding("kubeadm-default-cp1", "3.2.2");
    assert_eq!(none.status, Status::Warn, "{none:?}");
    assert!(
        none.source.contains("--audit-policy-file not set"),
        "{none:?}"
    );

    // etcd firewalling, tried from each node through its own SSH session:
    // hardened-cp1 drops every other lab address on 2379/2380; the other
    // two control planes let anyone in, so the cluster check fails.
    let rows = report
        .etcd_reachability
        .as_ref()
        .expect("reachability probed");
    for worker in [
        "kubeadm-default-w1",
        "hardened-w1",
        "misconfigured-w1",
        "fault-sudo",
    ] {
        for (member, reachable) in [
            ("hardened-cp1", false),
            ("kubeadm-default-cp1", true),
            ("misconfigured-cp1", true),
        ] {
            for port in [2379, 2380] {
                let row = rows
                    .iter()
                    .find(|r| {
                        r.from == worker
                            && r.to.starts_with(member)
                            && r.to.ends_with(&format!(":{port}"))
                    })
                    .unwrap_or_else(|| panic!("no probe {worker} -> {member}:{port}: {rows:?}"));
                assert_eq!(row.reachable, reachable, "{row:?}");
            }
        }
    }
    // etcd-config-file-cp1's etcd reads only its --config-file, which moves
    // its ports to 12379 (clients) and 12380 (peers): the workers try those,
    // and nothing tries etcd's defaults there.
    for worker in ["kubeadm-default-w1", "hardened-w1", "misconfigured-w1"] {
        let tried: Vec<&str> = rows
            .iter()
            .filter(|r| r.from == worker && r.to.starts_with("etcd-config-file-cp1 "))
            .map(|r| r.to.rsplit(':').next().unwrap())
            .collect();
        assert_eq!(tried, ["12379", "12380"], "{worker}: {rows:?}");
        assert!(
            rows.iter()
                .filter(|r| r.from == worker && r.to.starts_with("etcd-config-file-cp1 "))
                .all(|r| r.reachable),
            "{rows:?}"
        );
    }
    // From the scanning machine (the lab host, which every firewall lets
    // in, as an admin host would be), etcd is reachable on every member.
    for member in [
        "hardened-cp1",
        "kubeadm-default-cp1",
        "misconfigured-cp1",
        "etcd-config-file-cp1",
    ] {
        let row = rows
            .iter()
            .find(|r| r.from == "(scanning machine)" && r.to.starts_with(member))
            .unwrap_or_else(|| panic!("no probe from the scanner to {member}: {rows:?}"));
        assert!(row.reachable, "{row:?}");
    }
    let firewall = report
        .cluster
        .results
        .iter()
        .find(|f| f.id == "net.etcd-firewall")
        .expect("etcd firewall finding");
    assert_eq!(firewall.status, Status::Fail);
    assert!(
        firewall
            .actual
            .contains("hardened-w1 -> kubeadm-default-cp1"),
        "{}",
        firewall.actual
    );
    assert!(
        !firewall.actual.contains("-> hardened-cp1"),
        "{}",
        firewall.actual
    );

    // What the ports speak, probed from each node over its SSH session.
    let ports = report.tls_ports.as_ref().expect("ports probed");
    let port = |node: &str, port: u16| {
        ports
            .iter()
            .find(|p| p.node == node && p.port == port)
            .unwrap_or_else(|| panic!("{node}:{port} not probed: {ports:?}"))
    };
    assert_eq!(port("hardened-cp1", 6443).state, "tls");
    let etcd = port("hardened-cp1", 2379);
    assert_eq!(etcd.state, "tls");
    assert!(
        etcd.detail
            .as_deref()
            .unwrap_or("")
            .contains("client certificate required"),
        "{etcd:?}"
    );
    assert_eq!(port("misconfigured-w1", 10255).state, "plaintext");
    // etcd on the ports of its config file, probed as etcd's.
    for (p, component) in [(12379, "etcd client"), (12380, "etcd peer")] {
        let row = port("etcd-config-file-cp1", p);
        assert_eq!(
            (row.state.as_str(), row.component.as_deref()),
            ("tls", Some(component)),
            "{row:?}"
        );
        assert!(
            row.detail
                .as_deref()
                .unwrap_or("")
                .contains("client certificate required"),
            "{row:?}"
        );
    }
    assert!(
        !ports
            .iter()
            .any(|p| p.node == "etcd-config-file-cp1" && [2379, 2380].contains(&p.port)),
        "{ports:?}"
    );
    // Plaintext ports are silent on a ClientHello, as Go's net/http is; the
    // plain GET finds them, and the silent handshake is cut short, not
    // left to its 5 s timeout.
    for (node, p) in [
        ("kubeadm-default-w1", 10248),
        ("kubeadm-default-cp1", 10249),
        ("hardened-cp1", 10256),
        ("misconfigured-w1", 10255),
        ("misconfigured-cp1", 8080),
    ] {
        let row = port(node, p);
        assert_eq!(row.state, "plaintext", "{row:?}");
        let detail = row.detail.as_deref().unwrap_or("");
        assert!(
            detail.contains("no answer to a TLS ClientHello; `GET / HTTP/1.0` on a second connection was answered in clear"),
            "{row:?}"
        );
    }
    // The one listener that answers a ClientHello with Go's 400 at once
    // needs no second connection.
    let at_once = port("misconfigured-w1", 10249);
    assert_eq!(at_once.state, "plaintext");
    assert!(
        at_once
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("answered a ClientHello in clear: \"HTTP/1.1 400 Bad\""),
        "{at_once:?}"
    );
    // An unauthenticated API on 8080 and the read-only port fail wherever
    // they listen, loopback included.
    assert_eq!(
        port("misconfigured-cp1", 8080).verdict.as_deref(),
        Some("fail")
    );
    assert!(ports.iter().all(|p| p.state != "error"), "{ports:?}");
    // Each port's own verdict: TLS 1.1 and anonymous /pods on the
    // misconfigured kubelet, only strong suites on the hardened one, the
    // health check plaintext by design.
    assert_eq!(
        port("misconfigured-w1", 10250).verdict.as_deref(),
        Some("fail")
    );
    assert_eq!(port("hardened-w1", 10250).verdict.as_deref(), Some("pass"));
    assert_eq!(port("hardened-w1", 10248).verdict.as_deref(), Some("pass"));
    assert_eq!(port("hardened-w1", 10250).state, "tls");
    let w1 = report
        .nodes
        .iter()
        .find(|n| n.name == "misconfigured-w1")
        .unwrap();
    let plain = w1.results.iter().find(|f| f.id == "tls.plaintext").unwrap();
    assert!(plain.actual.contains(":10255"), "{}", plain.actual);
    let cp1 = report
        .nodes
        .iter()
        .find(|n| n.name == "misconfigured-cp1")
        .unwrap();
    let plain = cp1
        .results
        .iter()
        .find(|f| f.id == "tls.plaintext")
        .unwrap();
    assert!(
        plain.actual.contains("127.0.0.1:8080") && plain.actual.contains("no authentication"),
        "{}",
        plain.actual
    );

    // The network checks' evidence says what was seen, port by port.
    let finding = |node: &str, id: &str| {
        let n = report.nodes.iter().find(|n| n.name == node).unwrap();
        n.results
            .iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("{node}: no {id}"))
            .clone()
    };
    let legacy = finding("misconfigured-w1", "tls.min-version");
    assert!(
        legacy
            .actual
            .contains(":10250 (kubelet) accepts VersionTLS1"),
        "{}",
        legacy.actual
    );
    let anon = finding("misconfigured-w1", "tls.kubelet-anonymous");
    assert!(
        anon.actual.contains("GET /pods answered 200"),
        "{}",
        anon.actual
    );
    let anon = finding("hardened-w1", "tls.kubelet-anonymous");
    assert!(anon.actual.contains("401"), "{}", anon.actual);
    let rogue = finding("misconfigured-cp1", "tls.served-cert");
    assert!(
        rogue.actual.contains(
            ":10257 (kube-controller-manager) serves \"CN=kube-controller-manager\" from /etc/kubernetes/pki/controller-manager-serving.crt, issued by \"CN=kubernetes\" but not by /etc/kubernetes/pki/ca.crt (\"CN=kubernetes\"): same name, another key"
        ) && rogue.actual.contains(":10250 (kubelet) serves \"O=system:nodes, CN=system:node:cp1\" from /var/lib/kubelet/pki/kubelet.crt")
            && rogue.actual.contains("expired 35 days ago"),
        "{}",
        rogue.actual
    );
    // The pairs the components generated for themselves warn, each named,
    // with the way out; nothing else is wrong on those nodes.
    for (node, ports) in [
        ("kubeadm-default-cp1", &[10250, 10257, 10259][..]),
        ("kubeadm-default-w1", &[10250][..]),
        ("fault-sudo", &[10250][..]),
        ("hardened-cp1", &[10257, 10259][..]),
    ] {
        let f = finding(node, "tls.served-cert");
        for port in ports {
            let want = match port {
                10250 => format!(
                    ":10250 (kubelet) serves the kubelet's self-generated certificate \"CN={node}@"
                ),
                10257 => ":10257 (kube-controller-manager) serves the pair kube-controller-manager generates in memory without --tls-cert-file: \"CN=localhost@".to_string(),
                _ => ":10259 (kube-scheduler) serves the pair kube-scheduler generates in memory without --tls-cert-file: \"CN=localhost@".to_string(),
            };
            assert!(
                f.actual.contains(&want),
                "{node}: no {want:?} in {}",
                f.actual
            );
        }
        let way_out = if node == "hardened-cp1" {
            "--tls-cert-file and --tls-private-key-file"
        } else {
            "serverTLSBootstrap: true"
        };
        assert!(f.actual.contains(way_out), "{node}: {}", f.actual);
    }
    let kubelet = finding("kubeadm-default-w1", "tls.served-cert");
    assert!(
        kubelet.actual.contains("-ca@")
            && kubelet
                .actual
                .contains("which follows it in /var/lib/kubelet/pki/kubelet.crt"),
        "{}",
        kubelet.actual
    );
    let expired = finding("misconfigured-cp1", "cert.expiry");
    assert!(
        expired
            .actual
            .contains("/var/lib/kubelet/pki/kubelet.crt (O=system:nodes, CN=system:node:cp1) expired 35 days ago"),
        "{}",
        expired.actual
    );
    // Kubelet certificate rotation configured but not happening: the
    // current client certificate near its end, earlier ones beside it.
    let stalled = finding("misconfigured-cp1", "keys.kubelet-rotation");
    assert!(
        stalled.actual.contains("/var/lib/kubelet/pki/kubelet-client-current.pem: issued 2025-")
            && stalled.actual.contains("% used; 2 dated certificate files, the newest kubelet-client-2025-12-14-09-00-00.pem")
            && stalled.actual.contains("rotation is configured but not happening (it happened before"),
        "{}",
        stalled.actual
    );
    let etcd_cert = finding("hardened-cp1", "tls.etcd-client-cert");
    assert!(
        etcd_cert
            .actual
            .contains(":2379 (etcd) requires a client certificate")
            && etcd_cert
                .actual
                .contains(":2380 (etcd peer) requires a client certificate"),
        "{}",
        etcd_cert.actual
    );
    let etcd_cert = finding("etcd-config-file-cp1", "tls.etcd-client-cert");
    assert!(
        etcd_cert
            .actual
            .contains(":12379 (etcd) requires a client certificate")
            && etcd_cert
                .actual
                .contains(":12380 (etcd peer) requires a client certificate"),
        "{}",
        etcd_cert.actual
    );
    let strong = finding("hardened-w1", "tls.weak-ciphers");
    assert!(
        strong
            .actual
            .contains(":10250 (kubelet) refuses weak suites"),
        "{}",
        strong.actual
    );
    let weak = finding("kubeadm-default-w1", "tls.weak-ciphers");
    assert!(weak.actual.contains("_CBC_SHA"), "{}", weak.actual);
    // The text report says the same, with the evidence.
    for line in [
        "[FAIL] misconfigured-w1 tls.min-version",
        "[FAIL] misconfigured-w1 tls.kubelet-anonymous",
        "[FAIL] misconfigured-cp1 tls.served-cert",
        "[FAIL] misconfigured-cp1 cert.expiry",
        "[FAIL] misconfigured-w1 cert.expiry",
        "[FAIL] cluster net.etcd-firewall",
        "[WARN] kubeadm-default-w1 tls.weak-ciphers",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    assert!(
        text.contains("accepts VersionTLS11") && text.contains("GET /pods answered 200"),
        "{text}"
    );
    // The certificates served went into the cluster table too, the
    // in-memory pairs labelled as such, and the kubelet's own CA too.
    let certs = report.certificates.as_ref().expect("certificate table");
    for (node, path, subject) in [
        (
            "kubeadm-default-cp1",
            ":10257 (self-generated)",
            "CN=localhost@",
        ),
        (
            "kubeadm-default-cp1",
            ":10259 (chain #2: its self-generated CA)",
            "CN=localhost-ca@",
        ),
        (
            "kubeadm-default-w1",
            "/var/lib/kubelet/pki/kubelet.crt #2 (its self-generated CA)",
            "CN=kubeadm-default-w1-ca@",
        ),
    ] {
        assert!(
            certs.iter().any(|c| c.node == node
                && c.path.ends_with(path)
                && c.subject.starts_with(subject)),
            "no {node} {path} in {certs:?}"
        );
    }

    // Real etcd really ran with TLS, and the collector saw its certificates.
    let facts: NodeFacts = serde_json::from_str(
        &std::fs::read_to_string(facts_dir.join("hardened-cp1.json")).unwrap(),
    )
    .unwrap();
    assert!(
        facts
            .certificates
            .iter()
            .any(|c| c.path.ends_with("etcd/server.crt"))
    );
    assert!(facts.sockets.iter().any(|s| s.port == 2379));

    // kube-proxy runs in a root of its own: its files are recorded as read
    // inside its container (with its pid), and 4.1.3 and 4.3.1 say so; on
    // the node's host there is nothing at /var/lib/kube-proxy. The package's
    // kubelet.service is one file by two paths (/lib is /usr/lib).
    for node in ["hardened-w1", "kubeadm-default-cp1", "misconfigured-w1"] {
        let facts: NodeFacts = serde_json::from_str(
            &std::fs::read_to_string(facts_dir.join(format!("{node}.json"))).unwrap(),
        )
        .unwrap();
        let proxy = facts
            .component(kubeharden::facts::ComponentKind::KubeProxy)
            .unwrap();
        assert_eq!(proxy.own_root, Some(true), "{node}");
        let kc = &facts.files["/var/lib/kube-proxy/kubeconfig.conf"];
        assert!(kc.exists, "{node}");
        assert_eq!(
            kc.inside.map(|c| c.pid),
            proxy.pid,
            "{node}: {:?}",
            kc.inside
        );
        let inside = format!(
            "/var/lib/kube-proxy/kubeconfig.conf inside the kube-proxy container (pid {})",
            proxy.pid.unwrap()
        );
        assert!(finding(node, "4.1.3").actual.contains(&inside), "{node}");
        assert_eq!(
            facts
                .component(kubeharden::facts::ComponentKind::Kubelet)
                .unwrap()
                .own_root,
            Some(false)
        );
        let host = Command::new(common::lab::lab_sh())
            .args(["exec"])
            .arg(&lab.state)
            .args([node, "sh", "-c", "test -e /var/lib/kube-proxy"])
            .status()
            .unwrap();
        assert!(
            !host.success(),
            "{node}: /var/lib/kube-proxy is on the host"
        );
        if node != "misconfigured-w1" {
            let unit = |p: &str| facts.files[p].dev_ino.clone();
            assert!(unit("/usr/lib/systemd/system/kubelet.service").is_some());
            assert_eq!(
                unit("/lib/systemd/system/kubelet.service"),
                unit("/usr/lib/systemd/system/kubelet.service")
            );
        }
    }
    let metrics = finding("hardened-w1", "4.3.1");
    assert!(
        metrics
            .source
            .contains("/var/lib/kube-proxy/config.conf inside the kube-proxy container (pid "),
        "{}",
        metrics.source
    );

    // No canary anywhere we wrote.
    let report_text = std::fs::read_to_string(&report_path).unwrap();
    assert!(!report_text.contains(CANARY), "canary in the report");
    for entry in std::fs::read_dir(&facts_dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(CANARY), "canary in saved facts");
    }

    // Read-only: every node's files are as they were.
    for ((name, _, _), before) in scenario_nodes.iter().zip(before) {
        assert_eq!(lab.hash(name), before, "{name} changed during the scan");
    }

    merged_halves_give_the_whole(&facts_dir, out_dir.path());
    history_of_the_lab(&lab, out_dir.path());
}

/// The periodic report over real scans: the hardened pair scanned three
/// times, the kubelet config of hardened-w1 opened to 0644 (CIS 4.1.9)
/// before the second scan and closed again before the third. Each scan is
/// recorded in SQLite by `scan --store`, and its saved facts in PostgreSQL
/// by `eval --store`: both stores must name 4.1.9 new in the second run and
/// fixed in the third, nothing else, with its first-seen date, in the JSON,
/// in the HTML and in `history finding`, and give a trend of three runs.
fn history_of_the_lab(lab: &Lab, out: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let pg = common::pg::Pg::start();
    let stores = [
        format!("sqlite:{}", out.join("history.db").display()),
        pg.create_db("lab"),
    ];
    // The two hardened nodes of the lab inventory.
    let mut inv: toml::Table =
        toml::from_str(&std::fs::read_to_string(lab.state.join("inventory.toml")).unwrap())
            .unwrap();
    let nodes = inv["node"].as_array().unwrap().clone();
    inv.insert(
        "node".into(),
        toml::Value::Array(
            nodes
                .into_iter()
                .filter(|n| n["name"].as_str().unwrap().starts_with("hardened-"))
                .collect(),
        ),
    );
    let inventory = out.join("hardened.toml");
    std::fs::write(&inventory, toml::to_string(&inv).unwrap()).unwrap();
    let config = lab
        .state
        .join("nodes/hardened-w1/root/var/lib/kubelet/config.yaml");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "hardened-w1's kubelet config to begin with");
    let set_mode =
        |m: u32| std::fs::set_permissions(&config, std::fs::Permissions::from_mode(m)).unwrap();
    let kubeharden = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    };
    let json = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    // One round: the scan into SQLite, its facts into PostgreSQL; the
    // reports and pages of both.
    let round = |i: usize| -> Vec<(serde_json::Value, String)> {
        let dir = out.join(format!("history-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (facts, sj, sh, pj, ph) = (
            dir.join("facts"),
            dir.join("sqlite.json"),
            dir.join("sqlite.html"),
            dir.join("pg.json"),
            dir.join("pg.html"),
        );
        kubeharden(&[
            "scan".as_ref(),
            "--inventory".as_ref(),
            inventory.as_os_str(),
            "--store".as_ref(),
            stores[0].as_ref(),
            "--cluster-name".as_ref(),
            "lab".as_ref(),
            "--save-facts".as_ref(),
            facts.as_os_str(),
            "--json".as_ref(),
            sj.as_os_str(),
            "--html".as_ref(),
            sh.as_os_str(),
            "--fail-on".as_ref(),
            "none".as_ref(),
        ]);
        kubeharden(&[
            "eval".as_ref(),
            facts.as_os_str(),
            "--store".as_ref(),
            stores[1].as_ref(),
            "--cluster-name".as_ref(),
            "lab".as_ref(),
            "--json".as_ref(),
            pj.as_os_str(),
            "--html".as_ref(),
            ph.as_os_str(),
            "--fail-on".as_ref(),
            "none".as_ref(),
        ]);
        [(sj, sh), (pj, ph)]
            .iter()
            .map(|(j, h)| (json(j), std::fs::read_to_string(h).unwrap()))
            .collect()
    };
    let refs = |h: &serde_json::Value, what: &str| common::history_refs(&h[what]);
    let result = |r: &serde_json::Value, node: &str, id: &str| -> serde_json::Value {
        r["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == node)
            .and_then(|n| {
                n["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["id"] == id)
            })
            .cloned()
            .unwrap_or_else(|| panic!("{node}: no {id}"))
    };
    let one = vec![("hardened-w1".to_string(), "4.1.9".to_string())];

    let first = round(1);
    set_mode(0o644);
    let second = round(2);
    set_mode(0o600);
    let third = round(3);
    for (k, store) in stores.iter().enumerate() {
        let (r1, r2, r3) = (&first[k].0, &second[k].0, &third[k].0);
        let h2 = &r2["history"];
        assert_eq!(h2["previous"]["id"], r1["history"]["run_id"], "{store}");
        assert_eq!(refs(h2, "new"), one, "{store}: new in run 2");
        assert!(refs(h2, "fixed").is_empty(), "{store}: fixed in run 2");
        let opened = result(r2, "hardened-w1", "4.1.9");
        assert_eq!(opened["status"], "fail", "{store}: {opened}");
        assert!(
            opened["actual"].as_str().unwrap().contains("644"),
            "{opened}"
        );
        assert_eq!(opened["first_seen"], r2["generated_at"], "{store}");
        assert_eq!(opened["since_last_run"], "new", "{store}");
        assert!(
            second[k].1.contains("New since last run: 1"),
            "{store}: run 2's page"
        );

        let h3 = &r3["history"];
        assert_eq!(refs(h3, "fixed"), one, "{store}: fixed in run 3");
        assert!(refs(h3, "new").is_empty(), "{store}: new in run 3");
        assert_eq!(result(r3, "hardened-w1", "4.1.9")["status"], "pass");
        assert_eq!(h3["trend"].as_array().unwrap().len(), 3, "{store}");
        let page = &third[k].1;
        assert!(page.contains("Fixed since last run: 1"), "{store}");
        let chart = &page[page.find("<svg class=\"trend\"").expect("trend chart")..];
        let chart = &chart[..chart.find("</svg>").unwrap()];
        assert_eq!(
            chart.matches("<circle").count(),
            3,
            "{store}: a point per run"
        );

        // A finding open since run 1 keeps its first-seen date.
        let plain = |r: &serde_json::Value| result(r, "hardened-w1", "tls.plaintext");
        assert_eq!(plain(r3)["first_seen"], r1["generated_at"], "{store}");

        let o = kubeharden(&[
            "history".as_ref(),
            "finding".as_ref(),
            "4.1.9".as_ref(),
            "--node".as_ref(),
            "hardened-w1".as_ref(),
            "--store".as_ref(),
            store.as_ref(),
            "--cluster".as_ref(),
            "lab".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        let f: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let streaks = f["streaks"].as_array().unwrap();
        assert_eq!(streaks.len(), 1, "{store}: {f}");
        assert_eq!(streaks[0]["first_run"], h2["run_id"], "{store}");
        assert_eq!(streaks[0]["fixed_run"], h3["run_id"], "{store}");
        assert_eq!(streaks[0]["fixed_at"], r3["generated_at"], "{store}");
    }
}

/// `merge`: the lab's saved facts split in two partial scans (control
/// planes and faults in one, workers in the other, as two bastions would
/// see them), each judged alone, then merged, give the report of the whole
/// lab: every node's results, and the etcd firewall judged over both
/// reachability matrices.
fn merged_halves_give_the_whole(facts_dir: &std::path::Path, out: &std::path::Path) {
    let (a, b) = (out.join("half-a"), out.join("half-b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    for e in std::fs::read_dir(facts_dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let to = if name.contains("-w1") || name.contains("fault-sudo") {
            &b
        } else {
            &a
        };
        std::fs::copy(&p, to.join(&name)).unwrap();
    }
    let run = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let eval = |facts: &std::path::Path, json: &std::path::Path| {
        run(&[
            "eval".as_ref(),
            facts.as_os_str(),
            "--benchmark".as_ref(),
            "cis-1.12".as_ref(),
            "--fail-on".as_ref(),
            "none".as_ref(),
            "--json".as_ref(),
            json.as_os_str(),
        ])
    };
    let (whole, ra, rb, merged) = (
        out.join("whole.json"),
        out.join("ra.json"),
        out.join("rb.json"),
        out.join("merged.json"),
    );
    eval(facts_dir, &whole);
    eval(&a, &ra);
    eval(&b, &rb);
    run(&[
        "merge".as_ref(),
        ra.as_os_str(),
        rb.as_os_str(),
        "--fail-on".as_ref(),
        "none".as_ref(),
        "--json".as_ref(),
        merged.as_os_str(),
    ]);
    let essence = |p: &std::path::Path| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("generated_at");
        o.get_mut("benchmark")
            .and_then(|b| b.as_object_mut())
            .map(|b| b.remove("chosen"));
        if let Some(n) = o.get_mut("nodes").and_then(|n| n.as_array_mut()) {
            n.sort_by_key(|n| n["name"].as_str().unwrap_or("").to_string());
        }
        for key in ["certificates", "tls_ports", "etcd_reachability"] {
            if let Some(rows) = o.get_mut(key).and_then(|n| n.as_array_mut()) {
                rows.sort_by_key(|r| r.to_string());
            }
        }
        v
    };
    let (w, m) = (essence(&whole), essence(&merged));
    assert!(
        w["etcd_reachability"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    let keys: std::collections::BTreeSet<&String> = w
        .as_object()
        .unwrap()
        .keys()
        .chain(m.as_object().unwrap().keys())
        .collect();
    for key in keys {
        let (wk, mk) = (&w[key.as_str()], &m[key.as_str()]);
        if wk == mk {
            continue;
        }
        // Name the first element that differs, not two whole reports.
        let (wa, ma) = (wk.as_array(), mk.as_array());
        if let (Some(wa), Some(ma)) = (wa, ma) {
            let i = (0..wa.len().max(ma.len()))
                .find(|&i| wa.get(i) != ma.get(i))
                .unwrap();
            panic!(
                "merged halves differ from the whole lab in {key}[{i}] (whole {} rows, merged {}):\nwhole:  {}\nmerged: {}",
                wa.len(),
                ma.len(),
                wa.get(i).map(|v| v.to_string()).unwrap_or_default(),
                ma.get(i).map(|v| v.to_string()).unwrap_or_default()
            );
        }
        panic!("merged halves differ from the whole lab in {key}:\nwhole:  {wk}\nmerged: {mk}");
    }
}

/// The fault nodes alone, scanned with the lab inventory's timeouts
/// (connect 5 s, commands 20 s): refused, dropped, silent after the TCP
/// connect, a wrong host key, and a login whose ForceCommand never returns.
/// Every one is done with at the connect timeout, so the scan is too.
#[test]
fn fault_nodes_are_abandoned_within_the_connect_timeout() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "the lab needs root");
    let _one = ONE_LAB.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::up(Some(
        "fault-sshd-down,fault-dropped,fault-hang,fault-hostkey,fault-forcecommand",
    ));
    let inventory = std::fs::read_to_string(lab.state.join("inventory.toml")).unwrap();
    assert!(
        inventory.contains("connect_timeout = \"5s\"")
            && inventory.contains("command_timeout = \"20s\""),
        "{inventory}"
    );
    let connect_timeout = Duration::from_secs(5);

    let out_dir = tempfile::tempdir().unwrap();
    let report_path = out_dir.path().join("r.json");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .arg("scan")
        .arg("--inventory")
        .arg(lab.state.join("inventory.toml"))
        .args(["--format", "json", "--output"])
        .arg(&report_path)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let node = |name: &str| {
        report
            .nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("{name} not in the report: {stderr}"))
    };
    let address = |name: &str| lab.address(name);
    for (name, status, says) in [
        (
            "fault-sshd-down",
            ScanStatus::Unreachable,
            vec![
                format!("{}:22", address("fault-sshd-down")),
                "refused".into(),
            ],
        ),
        (
            "fault-dropped",
            ScanStatus::Timeout,
            vec![
                format!(
                    "no answer to a TCP connect to {}:22",
                    address("fault-dropped")
                ),
                "within 5 s".into(),
            ],
        ),
        (
            "fault-hang",
            ScanStatus::Timeout,
            vec![
                "did not complete the SSH handshake".into(),
                "within 5 s".into(),
            ],
        ),
        (
            "fault-hostkey",
            ScanStatus::HostKeyMismatch,
            vec!["does not match".into()],
        ),
        (
            "fault-forcecommand",
            ScanStatus::CollectorNotStarted,
            vec![
                "the login did not run the collector".into(),
                "the SSH login as root (`sh -s`) succeeded".into(),
                "5 s later (the connect timeout)".into(),
                "ForceCommand".into(),
                "profile script".into(),
                "home directory".into(),
                "sudo waiting on a directory service".into(),
                // What the gate said on stderr, quoted as the login's.
                "It printed: khlab-login-gate: the login of root".into(),
            ],
        ),
    ] {
        let n = node(name);
        assert_eq!(n.scan_status, status, "{name}: {:?}", n.error);
        assert!(
            n.results.is_empty(),
            "{name} was not scanned but has results"
        );
        let error = n.error.as_deref().unwrap_or("");
        for part in says {
            assert!(error.contains(&part), "{name}: no {part:?} in {error}");
        }
    }
    assert!(
        elapsed < connect_timeout + Duration::from_secs(3),
        "the scan took {elapsed:?}:\n{stderr}"
    );

    // The node's sshd did let us in: the login was accepted and the
    // forced command ran; nothing of the gate is left once we are gone.
    let log =
        std::fs::read_to_string(lab.state.join("nodes/fault-forcecommand/logs/sshd.log")).unwrap();
    assert!(log.contains("Accepted publickey for root"), "{log}");
    assert!(log.contains("forced-command (config)"), "{log}");
    let gates = || {
        let out = Command::new("bash")
            .arg(common::lab::lab_sh())
            .arg("exec")
            .arg(&lab.state)
            .args(["fault-forcecommand", "ps", "-eo", "args"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("khlab-login-gate"))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while gates() > 0 {
        assert!(
            Instant::now() < deadline,
            "the login gate outlived the scan"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
