//! Engine behaviour on small hand-built nodes: precedence rules, defaults,
//! garbage from nodes, and the statuses they lead to.

use super::*;
use crate::bench::load_sources;
use crate::facts::{FileFacts, FileKind, Mode, NodeIdentity, Role};

const PROFILE: &str = "id = \"t\"\ntitle = \"T\"\nversion = \"1\"\n[sections]\n\"1\" = \"s\"\n";

/// A one-rule benchmark testing `fact op value` on `targets`.
fn bench(component: &str, check: &str) -> Benchmark {
    let rules = format!(
        "[[rule]]\nid = \"1.1\"\ntitle = \"t\"\nsection = \"1\"\nscored = true\ntargets = [\"any\"]\ncomponent = \"{component}\"\nremediation = \"r\"\n[rule.check]\n{check}\n"
    );
    load_sources(&[("profile.toml", PROFILE), ("r.toml", &rules)]).unwrap()
}

fn node() -> NodeFacts {
    NodeFacts {
        schema_version: 1,
        node: NodeIdentity {
            name: "n1".into(),
            roles: vec![Role::Worker],
            ..Default::default()
        },
        ..Default::default()
    }
}

fn run(n: &mut NodeFacts, kind: ComponentKind, argv: &[&str]) {
    n.components.insert(
        kind,
        crate::facts::ComponentFacts {
            running: true,
            pid: Some(42),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    );
}

fn config(n: &mut NodeFacts, path: &str, content: &str) {
    n.files.insert(
        path.into(),
        FileFacts {
            exists: true,
            kind: Some(FileKind::File),
            mode: Some(Mode(0o600)),
            content: Some(content.into()),
            ..Default::default()
        },
    );
}

fn one(b: &Benchmark, n: &NodeFacts) -> Finding {
    evaluate_node(b, n).results.remove(0)
}

#[test]
fn etcd_config_file_overrides_flags_and_environment() {
    let b = bench(
        "etcd",
        "fact = \"flag:etcd:--client-cert-auth\"\nop = \"eq\"\nvalue = \"true\"",
    );
    let mut n = node();
    run(
        &mut n,
        ComponentKind::Etcd,
        &[
            "etcd",
            "--config-file=/etc/etcd/etcd.yaml",
            "--client-cert-auth=false",
        ],
    );
    n.components
        .get_mut(&ComponentKind::Etcd)
        .unwrap()
        .env
        .insert("ETCD_CLIENT_CERT_AUTH".into(), "false".into());
    config(
        &mut n,
        "/etc/etcd/etcd.yaml",
        "client-transport-security:\n  client-cert-auth: true\n",
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(
        f.source
            .contains("/etc/etcd/etcd.yaml: client-transport-security.client-cert-auth"),
        "{}",
        f.source
    );
}

#[test]
fn etcd_flag_beats_environment() {
    let b = bench(
        "etcd",
        "fact = \"flag:etcd:--client-cert-auth\"\nop = \"eq\"\nvalue = \"true\"",
    );
    let mut n = node();
    run(
        &mut n,
        ComponentKind::Etcd,
        &["etcd", "--client-cert-auth=false"],
    );
    n.components
        .get_mut(&ComponentKind::Etcd)
        .unwrap()
        .env
        .insert("ETCD_CLIENT_CERT_AUTH".into(), "true".into());
    assert_eq!(one(&b, &n).status, Status::Fail);
}

#[test]
fn kube_proxy_ignores_flags_when_given_a_config_file() {
    let b = bench(
        "kube-proxy",
        "fact = \"kube-proxy:metricsBindAddress\"\nop = \"loopback\"",
    );
    let mut n = node();
    run(
        &mut n,
        ComponentKind::KubeProxy,
        &[
            "kube-proxy",
            "--config=/p/config.conf",
            "--metrics-bind-address=127.0.0.1:10249",
        ],
    );
    config(
        &mut n,
        "/p/config.conf",
        "metricsBindAddress: 0.0.0.0:10249\n",
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.source
            .contains("--metrics-bind-address on the command line is ignored"),
        "{}",
        f.source
    );
}

#[test]
fn kubelet_without_config_uses_flag_defaults() {
    let b = bench(
        "kubelet",
        "fact = \"kubelet:readOnlyPort\"\nop = \"eq\"\nvalue = \"0\"",
    );
    let mut n = node();
    run(
        &mut n,
        ComponentKind::Kubelet,
        &["kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf"],
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.actual, "kubelet readOnlyPort: 10255 (default)");
    assert!(f.source.contains("no --config file"), "{}", f.source);
}

#[test]
fn unreadable_or_garbage_kubelet_config_is_an_error_not_a_default() {
    let b = bench(
        "kubelet",
        "fact = \"kubelet:readOnlyPort\"\nop = \"eq\"\nvalue = \"0\"",
    );
    let mut n = node();
    run(
        &mut n,
        ComponentKind::Kubelet,
        &["kubelet", "--config=/var/lib/kubelet/config.yaml"],
    );
    // Not collected at all.
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Error);
    assert!(
        f.reason
            .unwrap()
            .contains("/var/lib/kubelet/config.yaml was not collected")
    );
    // Garbage.
    config(&mut n, "/var/lib/kubelet/config.yaml", "readOnlyPort: [0\n");
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Error);
    assert!(f.reason.unwrap().contains("is not valid YAML"));
    // A value the kubelet could not parse either.
    config(
        &mut n,
        "/var/lib/kubelet/config.yaml",
        "readOnlyPort: zero\n",
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Error, "{f:?}");
    // Truncated by the collector's cap: not parsed, not guessed.
    config(&mut n, "/var/lib/kubelet/config.yaml", "readOnlyPort: 0\n");
    n.files
        .get_mut("/var/lib/kubelet/config.yaml")
        .unwrap()
        .truncated = true;
    assert_eq!(one(&b, &n).status, Status::Error);
}

#[test]
fn a_process_that_could_not_be_read_is_an_error() {
    let b = bench(
        "kubelet",
        "fact = \"kubelet:readOnlyPort\"\nop = \"eq\"\nvalue = \"0\"",
    );
    let mut n = node();
    run(&mut n, ComponentKind::Kubelet, &["kubelet"]);
    n.components.get_mut(&ComponentKind::Kubelet).unwrap().error =
        Some("/proc/42/cmdline: permission denied".into());
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Error);
    assert!(f.reason.unwrap().contains("permission denied"));
}

#[test]
fn a_component_not_running_is_a_skip_unless_its_manifest_says_it_should() {
    let b = bench(
        "apiserver",
        "fact = \"flag:apiserver:--profiling\"\nop = \"eq\"\nvalue = \"false\"",
    );
    let mut n = node();
    n.node.roles = vec![Role::ControlPlane];
    assert_eq!(one(&b, &n).status, Status::Skip);
    n.components.insert(
        ComponentKind::ApiServer,
        crate::facts::ComponentFacts {
            running: false,
            manifest: Some(crate::facts::ManifestFacts {
                path: "/etc/kubernetes/manifests/kube-apiserver.yaml".into(),
                command: vec!["kube-apiserver".into()],
                error: None,
            }),
            ..Default::default()
        },
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Error);
    assert!(f.reason.unwrap().contains("is not running"));
}

#[test]
fn evidence_from_nodes_is_capped() {
    let b = bench(
        "apiserver",
        "fact = \"flag:apiserver:--token-auth-file\"\nop = \"absent\"",
    );
    let mut n = node();
    let huge = format!("--token-auth-file=/{}", "x".repeat(100_000));
    run(&mut n, ComponentKind::ApiServer, &["kube-apiserver", &huge]);
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail);
    assert!(f.actual.len() < EVIDENCE_CAP + 64, "{}", f.actual.len());
    assert!(f.source.len() < EVIDENCE_CAP + 64);
    assert!(f.actual.ends_with("more bytes]"));
}

#[test]
fn nodes_that_were_not_scanned_have_no_results_and_fail_the_run() {
    let b = bench(
        "kubelet",
        "fact = \"kubelet:readOnlyPort\"\nop = \"eq\"\nvalue = \"0\"",
    );
    let mut n = node();
    n.scan_status = ScanStatus::HostKeyMismatch;
    n.error = Some("host key for 10.0.0.1 does not match known_hosts".into());
    let r = evaluate(&b, &[n], "t");
    assert!(r.nodes[0].results.is_empty());
    assert_eq!(r.summary.nodes.not_scanned, 1);
    assert_eq!(r.summary.counts.pass, 0);
    assert!(r.has_failures());
}

#[test]
fn kubelet_feature_gate_flag_overrides_config_per_gate() {
    let b = bench(
        "kubelet",
        "fact = \"feature-gate:kubelet:RotateKubeletServerCertificate\"\nop = \"eq\"\nvalue = \"true\"",
    );
    let mut n = node();
    run(
        &mut n,
        ComponentKind::Kubelet,
        &["kubelet", "--config=/c.yaml", "--feature-gates=Other=true"],
    );
    config(
        &mut n,
        "/c.yaml",
        "featureGates:\n  RotateKubeletServerCertificate: false\n",
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.source
            .contains("/c.yaml: featureGates.RotateKubeletServerCertificate")
    );
    run(
        &mut n,
        ComponentKind::Kubelet,
        &[
            "kubelet",
            "--config=/c.yaml",
            "--feature-gates=RotateKubeletServerCertificate=true",
        ],
    );
    assert_eq!(one(&b, &n).status, Status::Pass);
}

#[test]
fn a_flag_without_its_value_at_the_end_of_argv_is_empty_not_true() {
    let b = bench(
        "apiserver",
        "fact = \"flag:apiserver:--audit-log-maxage\"\nop = \"gte\"\nvalue = \"30\"",
    );
    let mut n = node();
    run(
        &mut n,
        ComponentKind::ApiServer,
        &["kube-apiserver", "--audit-log-maxage"],
    );
    let f = one(&b, &n);
    // The apiserver itself would refuse to start; we say the value is bad.
    assert_eq!(f.status, Status::Error, "{f:?}");
}

#[test]
fn a_worker_without_a_kubelet_is_an_error_not_a_clean_node() {
    let b = bench(
        "kubelet",
        "fact = \"kubelet:readOnlyPort\"\nop = \"eq\"\nvalue = \"0\"",
    );
    let n = node();
    let r = evaluate(&b, &[n], "t");
    let ids: Vec<(&str, Status)> = r.nodes[0]
        .results
        .iter()
        .map(|f| (f.id.as_str(), f.status))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("1.1", Status::Skip),
            ("cert.expiry", Status::Skip),
            ("presence.kubelet", Status::Error)
        ]
    );
    assert!(r.has_failures());
}
