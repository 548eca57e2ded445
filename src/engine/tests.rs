//! Engine behaviour on small hand-built nodes: precedence rules, defaults,
//! garbage from nodes, and the statuses they lead to.

use super::*;
use crate::bench::load_sources;
use crate::facts::{FileFacts, FileKind, Mode, NodeIdentity, Role};

const PROFILE: &str = "id = \"t\"\ntitle = \"T\"\nversion = \"1\"\n[sections]\n\"1\" = \"s\"\n[severity]\n\"1\" = \"medium\"\n";

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

/// kube-scheduler ignores its deprecated --profiling when it runs with
/// --config (kubespray starts it so): the file's enableProfiling decides,
/// true when the file leaves it out.
#[test]
fn scheduler_profiling_comes_from_its_config_file_when_it_has_one() {
    let b = bench(
        "scheduler",
        "fact = \"flag:scheduler:--profiling\"\nop = \"eq\"\nvalue = \"false\"",
    );
    let argv = [
        "kube-scheduler",
        "--config=/etc/kubernetes/kubescheduler-config.yaml",
        "--profiling=False",
    ];
    let mut n = node();
    run(&mut n, ComponentKind::Scheduler, &argv);
    config(
        &mut n,
        "/etc/kubernetes/kubescheduler-config.yaml",
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n",
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(f.source.contains("enableProfiling not set"), "{}", f.source);
    assert!(
        f.source
            .contains("--profiling on the command line is ignored because --config is set"),
        "{}",
        f.source
    );
    // The file's own setting passes, whatever the flag says.
    let mut n = node();
    run(
        &mut n,
        ComponentKind::Scheduler,
        &["kube-scheduler", "--config=/s.yaml", "--profiling=true"],
    );
    config(&mut n, "/s.yaml", "enableProfiling: false\n");
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(
        f.source.contains("/s.yaml: enableProfiling: false"),
        "{}",
        f.source
    );
    // A config file that was not collected is an error, not the flag.
    let mut n = node();
    run(&mut n, ComponentKind::Scheduler, &argv);
    assert_eq!(one(&b, &n).status, Status::Error);
    // Without --config, the flag as before.
    let mut n = node();
    run(
        &mut n,
        ComponentKind::Scheduler,
        &["kube-scheduler", "--profiling=False"],
    );
    assert_eq!(one(&b, &n).status, Status::Pass);
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
            ("presence.kubelet", Status::Error),
            ("keys.encryption", Status::Skip),
            ("keys.service-account", Status::Skip),
            ("keys.ca", Status::Skip),
            ("keys.kubelet-rotation", Status::Skip),
        ]
    );
    assert!(r.has_failures());
}

// --- admission plugins: what kube-apiserver enables, from all three flags

fn admission(plugin: &str, want: bool) -> Benchmark {
    bench(
        "apiserver",
        &format!("fact = \"admission:{plugin}\"\nop = \"eq\"\nvalue = \"{want}\""),
    )
}

fn apiserver(argv: &[&str]) -> NodeFacts {
    let mut n = node();
    n.node.roles = vec![Role::ControlPlane];
    let mut full = vec!["kube-apiserver"];
    full.extend_from_slice(argv);
    run(&mut n, ComponentKind::ApiServer, &full);
    n
}

#[test]
fn legacy_admission_control_enables_exactly_what_it_lists() {
    // The listed plugins are on: AlwaysAdmit really runs (CIS 1.2.10).
    let n = apiserver(&["--admission-control=NamespaceLifecycle,NodeRestriction,AlwaysAdmit"]);
    let f = one(&admission("AlwaysAdmit", false), &n);
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.source
            .contains("--admission-control=NamespaceLifecycle,NodeRestriction,AlwaysAdmit")
            && f.source.contains("every other plugin is disabled"),
        "{}",
        f.source
    );
    assert_eq!(
        one(&admission("NodeRestriction", true), &n).status,
        Status::Pass
    );
    // Every other plugin is off, even one that is on by default (1.2.12).
    let f = one(&admission("ServiceAccount", true), &n);
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(
        f.actual,
        "kube-apiserver admission plugin ServiceAccount enabled: false"
    );
    assert!(f.source.contains("so this one is off"), "{}", f.source);
    // An empty list turns them all off.
    let n = apiserver(&["--admission-control="]);
    assert_eq!(
        one(&admission("NamespaceLifecycle", true), &n).status,
        Status::Fail
    );
}

#[test]
fn admission_flags_then_kube_apiserver_defaults() {
    let n = apiserver(&[
        "--enable-admission-plugins=NodeRestriction",
        "--disable-admission-plugins=ServiceAccount",
    ]);
    assert_eq!(
        one(&admission("NodeRestriction", true), &n).status,
        Status::Pass
    );
    let f = one(&admission("ServiceAccount", true), &n);
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.source
            .contains("--disable-admission-plugins=ServiceAccount")
    );
    // Not named: the default, said to be one.
    let f = one(&admission("NamespaceLifecycle", true), &n);
    assert_eq!(f.status, Status::Pass);
    assert!(f.actual.ends_with("true (default)"), "{}", f.actual);
    let f = one(&admission("AlwaysPullImages", true), &n);
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.source.contains("leaves it off by default"),
        "{}",
        f.source
    );
    // No flag at all: NodeRestriction is off by default.
    let f = one(&admission("NodeRestriction", true), &apiserver(&[]));
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.source.contains("no admission plugin flags"),
        "{}",
        f.source
    );
}

#[test]
fn admission_command_lines_kube_apiserver_refuses_are_errors() {
    // --admission-control beside the new flags: the server would not start.
    let n = apiserver(&[
        "--admission-control=AlwaysAdmit",
        "--enable-admission-plugins=NodeRestriction",
    ]);
    for (plugin, want) in [("AlwaysAdmit", false), ("NodeRestriction", true)] {
        let f = one(&admission(plugin, want), &n);
        assert_eq!(f.status, Status::Error, "{f:?}");
        assert!(
            f.reason.as_deref().unwrap().contains("mutually exclusive"),
            "{f:?}"
        );
    }
    // A plugin both enabled and disabled.
    let n = apiserver(&[
        "--enable-admission-plugins=AlwaysAdmit",
        "--disable-admission-plugins=AlwaysAdmit",
    ]);
    let f = one(&admission("AlwaysAdmit", false), &n);
    assert_eq!(f.status, Status::Error, "{f:?}");
    assert!(f.reason.unwrap().contains("in both"));
}

// --- 1.2.1: anonymous access, from the flag or AuthenticationConfiguration

fn anonymous_bench() -> Benchmark {
    bench(
        "apiserver",
        "fact = \"authentication:anonymous\"\nop = \"in-set\"\nvalue = [\"disabled\", \"health endpoints only\"]",
    )
}

const AUTHN: &str = "/etc/kubernetes/authn.yaml";

fn authn(anonymous: &str) -> String {
    format!(
        "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthenticationConfiguration\n{anonymous}"
    )
}

#[test]
fn anonymous_access_limited_to_health_endpoints_in_the_file_passes() {
    let b = anonymous_bench();
    let mut n = apiserver(&["--authentication-config=/etc/kubernetes/authn.yaml"]);
    config(
        &mut n,
        AUTHN,
        &authn(
            "anonymous:\n  enabled: true\n  conditions:\n  - path: /livez\n  - path: /readyz\n  - path: /healthz\n",
        ),
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(
        f.actual,
        "kube-apiserver anonymous access: health endpoints only"
    );
    assert_eq!(
        f.source,
        "enabled only for /livez, /readyz, /healthz (anonymous.conditions in AuthenticationConfiguration /etc/kubernetes/authn.yaml, --authentication-config)"
    );
    // One more path than the health checks: anonymous requests get in there.
    config(
        &mut n,
        AUTHN,
        &authn("anonymous:\n  enabled: true\n  conditions:\n  - path: /livez\n  - path: /api\n"),
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.source.contains("not only health endpoints"),
        "{}",
        f.source
    );
    // Enabled without conditions: every path.
    config(&mut n, AUTHN, &authn("anonymous:\n  enabled: true\n"));
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.actual, "kube-apiserver anonymous access: enabled");
    // Switched off in the file.
    config(&mut n, AUTHN, &authn("anonymous:\n  enabled: false\n"));
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Pass);
    assert!(f.source.starts_with("disabled by anonymous.enabled: false"));
}

#[test]
fn anonymous_access_from_the_flag_or_its_default() {
    let b = anonymous_bench();
    let f = one(&b, &apiserver(&["--anonymous-auth=false"]));
    assert_eq!(f.status, Status::Pass);
    assert!(
        f.source.starts_with("disabled by --anonymous-auth=false"),
        "{}",
        f.source
    );
    // A file without an anonymous section leaves the flag, default true.
    let mut n = apiserver(&["--authentication-config=/etc/kubernetes/authn.yaml"]);
    config(&mut n, AUTHN, &authn("jwt: []\n"));
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(
        f.actual,
        "kube-apiserver anonymous access: enabled (default)"
    );
    assert!(
        f.source.contains("has no anonymous section"),
        "{}",
        f.source
    );
    run(
        &mut n,
        ComponentKind::ApiServer,
        &[
            "kube-apiserver",
            "--authentication-config=/etc/kubernetes/authn.yaml",
            "--anonymous-auth=false",
        ],
    );
    assert_eq!(one(&b, &n).status, Status::Pass);
}

#[test]
fn anonymous_settings_kube_apiserver_refuses_are_errors() {
    let b = anonymous_bench();
    // The flag and the file's anonymous section are mutually exclusive.
    let mut n = apiserver(&[
        "--anonymous-auth=false",
        "--authentication-config=/etc/kubernetes/authn.yaml",
    ]);
    config(&mut n, AUTHN, &authn("anonymous:\n  enabled: false\n"));
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Error, "{f:?}");
    assert!(f.reason.unwrap().contains("refuses to start with both"));
    // Conditions need enabled: true.
    let mut n = apiserver(&["--authentication-config=/etc/kubernetes/authn.yaml"]);
    config(
        &mut n,
        AUTHN,
        &authn("anonymous:\n  enabled: false\n  conditions:\n  - path: /livez\n"),
    );
    assert_eq!(one(&b, &n).status, Status::Error);
    // The file could not be read: not a default, an error.
    n.files.clear();
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Error);
    assert!(f.reason.unwrap().contains("was not collected"));
}

// --- 4.1.1: the kubelet's drop-ins, wherever systemd loads them from

fn stat(n: &mut NodeFacts, path: &str, mode: u32, dev_ino: &str) {
    n.files.insert(
        path.into(),
        FileFacts {
            exists: true,
            kind: Some(FileKind::File),
            mode: Some(Mode(mode)),
            uid: Some(0),
            gid: Some(0),
            user: Some("root".into()),
            group: Some("root".into()),
            dev_ino: Some(dev_ino.into()),
            ..Default::default()
        },
    );
}

/// Every unit directory collected as systemd has them: absent unless given.
fn units(n: &mut NodeFacts, dropin_dirs: &[(&str, &[&str])]) {
    for dir in crate::k8s::files::SYSTEMD_UNIT_DIRS {
        let d = crate::k8s::files::dropin_dir(dir, "kubelet.service");
        n.files
            .entry(crate::k8s::files::unit_file(dir, "kubelet.service"))
            .or_default();
        let entries = dropin_dirs
            .iter()
            .find(|(x, _)| *x == dir)
            .map(|(_, e)| e.iter().map(|f| format!("{d}/{f}")).collect());
        n.files.insert(
            d,
            FileFacts {
                exists: entries.is_some(),
                kind: entries.as_ref().map(|_| FileKind::Dir),
                entries,
                ..Default::default()
            },
        );
    }
}

fn unit_bench() -> Benchmark {
    bench(
        "kubelet",
        "fact = \"file:kubelet.service:mode\"\nop = \"mode-at-most\"\nvalue = \"600\"",
    )
}

#[test]
fn a_0600_kubelet_dropin_passes_beside_a_0644_package_unit() {
    let b = unit_bench();
    let mut n = node();
    units(&mut n, &[("/usr/lib/systemd/system", &["10-kubeadm.conf"])]);
    stat(
        &mut n,
        "/usr/lib/systemd/system/kubelet.service",
        0o644,
        "8:1",
    );
    stat(
        &mut n,
        "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
        0o600,
        "8:2",
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(
        f.actual,
        "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf 0600; /usr/lib/systemd/system/kubelet.service 0644 (the unit file, not judged: CIS audits the drop-in that configures the kubelet)"
    );
    // Only the unit: it is judged (a kubeadm node without its drop-in).
    let mut bare = node();
    units(&mut bare, &[]);
    bare.layout = Some(crate::k8s::layout::forced("kubeadm").unwrap());
    stat(
        &mut bare,
        "/usr/lib/systemd/system/kubelet.service",
        0o644,
        "8:1",
    );
    let f = one(&b, &bare);
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.actual, "/usr/lib/systemd/system/kubelet.service 0644");
    assert!(
        f.source.contains("no kubelet.service.d drop-in"),
        "{}",
        f.source
    );
}

#[test]
fn kubelet_dropins_are_counted_once_and_overridden_by_name() {
    let b = unit_bench();
    let mut n = node();
    // Merged /usr: /lib/systemd/system is /usr/lib/systemd/system.
    units(
        &mut n,
        &[
            ("/etc/systemd/system", &["10-kubeadm.conf"]),
            (
                "/usr/lib/systemd/system",
                &["10-kubeadm.conf", "20-extra.conf"],
            ),
            ("/lib/systemd/system", &["10-kubeadm.conf", "20-extra.conf"]),
        ],
    );
    stat(
        &mut n,
        "/usr/lib/systemd/system/kubelet.service",
        0o644,
        "8:1",
    );
    stat(&mut n, "/lib/systemd/system/kubelet.service", 0o644, "8:1");
    // The packaged 0644 drop-in is overridden by the 0600 copy in /etc.
    stat(
        &mut n,
        "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        0o600,
        "9:5",
    );
    for dir in ["/usr/lib", "/lib"] {
        stat(
            &mut n,
            &format!("{dir}/systemd/system/kubelet.service.d/10-kubeadm.conf"),
            0o644,
            "8:2",
        );
        stat(
            &mut n,
            &format!("{dir}/systemd/system/kubelet.service.d/20-extra.conf"),
            0o640,
            "8:3",
        );
    }
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail, "{f:?}");
    // Two files judged, each once; the 0640 one fails.
    assert!(
        f.actual.starts_with(
            "1 of 2 files do not comply: /usr/lib/systemd/system/kubelet.service.d/20-extra.conf 0640; "
        ),
        "{}",
        f.actual
    );
    for remark in [
        "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf is overridden by /etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        "/lib/systemd/system/kubelet.service.d/20-extra.conf is /usr/lib/systemd/system/kubelet.service.d/20-extra.conf by another path, counted once",
        "/lib/systemd/system/kubelet.service is /usr/lib/systemd/system/kubelet.service by another path",
    ] {
        assert!(f.source.contains(remark), "{remark}: {}", f.source);
    }
    // Nothing anywhere, on a node known to be kubeadm's: a skip that says
    // where it looked.
    let mut none = node();
    units(&mut none, &[]);
    none.layout = Some(crate::k8s::layout::forced("kubeadm").unwrap());
    let f = one(&b, &none);
    assert_eq!(f.status, Status::Skip);
    assert!(f.reason.unwrap().contains("/usr/local/lib/systemd/system"));
}

#[test]
fn a_drop_in_directory_that_was_not_listed_is_an_error() {
    let b = unit_bench();
    let mut n = node();
    units(&mut n, &[]);
    n.files.remove("/run/systemd/system/kubelet.service.d");
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Error, "{f:?}");
}

// --- files inside a container are said to be there

#[test]
fn kube_proxy_files_are_named_inside_its_container() {
    let b = bench(
        "kube-proxy",
        "fact = \"file:kube-proxy.kubeconfig:mode\"\nop = \"mode-at-most\"\nvalue = \"600\"",
    );
    let mut n = node();
    run(
        &mut n,
        ComponentKind::KubeProxy,
        &["kube-proxy", "--config=/var/lib/kube-proxy/config.conf"],
    );
    n.components
        .get_mut(&ComponentKind::KubeProxy)
        .unwrap()
        .own_root = Some(true);
    let inside = Some(crate::facts::ContainerRoot {
        component: ComponentKind::KubeProxy,
        pid: 42,
    });
    config(
        &mut n,
        "/var/lib/kube-proxy/config.conf",
        "clientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\nmetricsBindAddress: 0.0.0.0:10249\n",
    );
    stat(&mut n, "/var/lib/kube-proxy/kubeconfig.conf", 0o644, "1:2");
    for f in n.files.values_mut() {
        f.inside = inside;
    }
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.actual,
        "/var/lib/kube-proxy/kubeconfig.conf inside the kube-proxy container (pid 42) 0644"
    );
    let metrics = bench(
        "kube-proxy",
        "fact = \"kube-proxy:metricsBindAddress\"\nop = \"loopback\"",
    );
    let f = one(&metrics, &n);
    assert_eq!(
        f.source,
        "/var/lib/kube-proxy/config.conf inside the kube-proxy container (pid 42): metricsBindAddress"
    );
    // Not there: the skip says where it was looked for.
    n.files
        .get_mut("/var/lib/kube-proxy/kubeconfig.conf")
        .unwrap()
        .exists = false;
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Skip);
    assert!(
        f.reason
            .unwrap()
            .contains("does not exist inside the kube-proxy container (pid 42)")
    );
}

// --- etcd's listen URLs: one resolver for checks, probes and reachability

#[test]
fn etcd_listen_urls_come_from_the_config_file_alone() {
    let mut n = node();
    run(
        &mut n,
        ComponentKind::Etcd,
        &[
            "etcd",
            "--config-file=/var/lib/etcd/config",
            "--listen-client-urls=https://10.0.0.1:2379",
        ],
    );
    n.components
        .get_mut(&ComponentKind::Etcd)
        .unwrap()
        .env
        .insert(
            "ETCD_LISTEN_PEER_URLS".into(),
            "https://10.0.0.1:2380".into(),
        );
    config(
        &mut n,
        "/var/lib/etcd/config",
        "listen-client-urls: https://127.0.0.1:12379,https://10.0.0.1:12379\nlisten-metrics-urls: http://127.0.0.1:12381\n",
    );
    let ctx = NodeCtx::new(&n);
    let l = ctx.etcd_listen().unwrap();
    assert_eq!(l.client_ports(), vec![12379]);
    // Not in the file: etcd's default, not the ignored environment.
    assert_eq!(l.peer_ports(), vec![2380]);
    assert!(!l.peer.explicit);
    assert_eq!(
        crate::k8s::effective::EtcdListen::describe(&l.peer),
        "http://localhost:2380 (etcd's default)"
    );
    assert_eq!(l.metrics_ports(), vec![12381]);
    assert!(
        l.client
            .source
            .starts_with("/var/lib/etcd/config: listen-client-urls"),
        "{}",
        l.client.source
    );
    // The probes' view of the node agrees: 12379 is etcd's client port.
    let probe = crate::facts::TlsProbe::new("10.0.0.1", 12379, crate::facts::PortState::Tls);
    n.tls = vec![probe];
    let f = tls::tls_findings(&NodeCtx::new(&n), 0)
        .into_iter()
        .find(|f| f.id == "tls.etcd-client-cert")
        .expect("12379 is judged as etcd's port");
    assert!(f.actual.contains(":12379 (etcd)"), "{}", f.actual);
}

#[test]
fn a_node_of_no_known_layout_gets_no_kubeadm_path_assumed() {
    use crate::facts::ComponentFacts;
    let b = crate::bench::load_builtin("cis-1.12").unwrap();
    // A control plane whose processes are plain, and whose files match no
    // layout: its settings are judged, its files are not guessed at.
    let mut n = NodeFacts::default();
    n.node.name = "odd".into();
    n.node.roles = vec![Role::ControlPlane];
    n.components.insert(
        ComponentKind::ApiServer,
        ComponentFacts {
            running: true,
            pid: Some(7),
            argv: vec!["kube-apiserver".into(), "--profiling=false".into()],
            ..Default::default()
        },
    );
    let r = crate::engine::evaluate_node(&b, &n);
    let find = |id: &str| r.results.iter().find(|f| f.id == id).unwrap().clone();
    for id in ["1.1.1", "1.1.13", "1.1.19", "1.1.9"] {
        let f = find(id);
        assert_eq!(f.status, Status::Error, "{id}: {f:?}");
        let why = f.reason.unwrap_or_default();
        assert!(why.contains("layout is \"unknown\""), "{id}: {why}");
        assert!(why.contains("--layout"), "{id}: {why}");
    }
    assert_eq!(find("1.2.15").status, Status::Pass);
    assert_eq!(r.layout.as_ref().unwrap().name, "unknown");
}

/// Every node of every fixture, and a cluster whose facts exercise each of
/// kubeharden's own checks: certificates the flags name, probes of a TLS
/// port, the kubelet, etcd and a plaintext port, and a worker's attempts
/// on etcd.
fn catalog_clusters() -> (Vec<Vec<NodeFacts>>, crate::certs::test_pki::Pki) {
    use crate::facts::{
        CertificateFacts, HelloOutcome, HelloResult, HttpResult, PortState, ReachFacts,
        ReachOutcome, TlsProbe,
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut clusters = Vec::new();
    for e in std::fs::read_dir(&root).unwrap() {
        let dir = e.unwrap().path();
        if dir.join("expected.toml").exists() {
            clusters.push(crate::facts::load_facts_path(&dir).unwrap());
        }
    }
    assert!(
        clusters.len() >= 4,
        "fixtures not found in {}",
        root.display()
    );

    let pki = crate::certs::test_pki::Pki::new();
    let leaf = pki.leaf(
        "apiserver",
        "ca",
        "rsa:2048",
        "365",
        "-sha256",
        "DNS:kubernetes.default.svc,IP:192.168.56.11",
    );
    let mut nodes = crate::facts::load_facts_path(&root.join("kubeadm-default")).unwrap();
    let cp = nodes.iter_mut().find(|n| n.node.name == "cp1").unwrap();
    for (path, pem) in [
        ("/etc/kubernetes/pki/apiserver.crt", leaf.clone()),
        ("/etc/kubernetes/pki/ca.crt", pki.pem("ca")),
    ] {
        cp.certificates.push(CertificateFacts {
            path: path.into(),
            pem,
        });
    }
    let probe = |port: u16, state: PortState| TlsProbe {
        address: "192.168.56.11".into(),
        port,
        state,
        version: Some("TLSv1_3".into()),
        cipher: None,
        client_cert_requested: false,
        client_cert_required: None,
        subject: None,
        not_after: None,
        served_pem: None,
        legacy: None,
        weak: None,
        http: None,
        get: None,
        detail: None,
    };
    let refused = || {
        Some(HelloResult {
            outcome: HelloOutcome::Refused,
            version: None,
            suite: None,
            detail: Some("handshake_failure".into()),
        })
    };
    let mut api = probe(6443, PortState::Tls);
    api.legacy = refused();
    api.weak = refused();
    api.served_pem = Some(leaf);
    let mut kubelet = probe(10250, PortState::Tls);
    kubelet.http = Some(HttpResult {
        path: "/pods".into(),
        status: Some(401),
        detail: Some("401 Unauthorized".into()),
    });
    let mut etcd = probe(2379, PortState::Tls);
    etcd.client_cert_requested = true;
    etcd.client_cert_required = Some(true);
    let read_only = probe(10255, PortState::Plaintext);
    cp.tls = vec![api, kubelet, etcd, read_only];
    let w = nodes.iter_mut().find(|n| n.node.name == "w1").unwrap();
    w.reachability = vec![ReachFacts {
        target: "cp1".into(),
        address: "192.168.56.11".into(),
        port: 2379,
        outcome: ReachOutcome::Filtered,
        detail: None,
    }];
    clusters.push(nodes);
    (clusters, pki)
}

fn emitted_ids(report: &Report) -> std::collections::BTreeSet<String> {
    report
        .nodes
        .iter()
        .flat_map(|n| &n.results)
        .chain(&report.cluster.results)
        .map(|f| f.id.clone())
        .collect()
}

#[test]
fn every_finding_the_engine_emits_is_in_the_catalog_and_every_builtin_decides() {
    let (clusters, _pki) = catalog_clusters();
    for id in crate::bench::builtin_ids() {
        let bench = crate::bench::load_builtin(id).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for nodes in &clusters {
            let report = evaluate(&bench, nodes, "2026-12-05T00:00:00Z");
            for f in report
                .nodes
                .iter()
                .flat_map(|n| &n.results)
                .chain(&report.cluster.results)
            {
                let rule = bench.rule(&f.id).unwrap_or_else(|| {
                    panic!(
                        "{id}: the engine emitted {}, which no catalog entry declares",
                        f.id
                    )
                });
                // Title, remediation and severity are the catalog's.
                assert_eq!(f.title, rule.title, "{}", f.id);
                assert_eq!(f.severity, Some(rule.severity), "{}", f.id);
                assert!(f.remediation.ends_with(&rule.remediation), "{}", f.id);
                assert!(
                    !f.section.is_empty() && report.benchmark.sections.contains_key(&f.section),
                    "{}: section {}",
                    f.id,
                    f.section
                );
            }
            seen.extend(emitted_ids(&report));
        }
        let silent: Vec<&str> = bench
            .rules
            .iter()
            .filter(|r| r.builtin.is_some() && !seen.contains(&r.id))
            .map(|r| r.id.as_str())
            .collect();
        assert!(
            silent.is_empty(),
            "{id}: built-in checks that decided nothing: {silent:?}"
        );
        // Each decider of the closed set backs an entry of the catalog.
        for b in crate::bench::BuiltinCheck::ALL {
            assert!(
                bench.rules.iter().any(|r| r.builtin == Some(b)),
                "{id}: builtin {} is in no catalog entry",
                b.as_str()
            );
        }
    }
}

#[test]
fn every_component_a_layout_expects_has_a_presence_check() {
    let bench = crate::bench::load_builtin("cis-1.12").unwrap();
    for l in crate::k8s::layout::builtin() {
        for kind in l.expected_components(&Role::ALL) {
            assert!(
                bench.rule(&format!("presence.{kind}")).is_some(),
                "layout {} expects {kind}, but the catalog has no presence.{kind}",
                l.name
            );
        }
    }
}

#[test]
fn a_disabled_check_is_a_skip_with_the_profiles_reason_never_gone() {
    let (clusters, _pki) = catalog_clusters();
    let nodes = clusters.last().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in crate::bench::BUILTIN[0].files {
        let base = name.rsplit('/').next().unwrap();
        let text = if base == "profile.toml" {
            format!(
                "{text}\n[checks.\"tls.plaintext\"]\ndisabled = \"TLS ends at our load balancer\"\n[checks.\"net.etcd-firewall\"]\ndisabled = \"security groups are audited elsewhere\"\n[checks.\"1.2.15\"]\ndisabled = \"profiling is needed on this cluster\"\n[checks.\"tls.min-version\"]\nscored = false\nseverity = \"low\"\ntitle = \"Old TLS refused\"\n"
            )
        } else {
            text.to_string()
        };
        std::fs::write(dir.path().join(base), text).unwrap();
    }
    let bench = crate::bench::load_dir(dir.path()).unwrap();
    let report = evaluate(&bench, nodes, "2026-12-05T00:00:00Z");
    for n in &report.nodes {
        for (id, why) in [
            ("tls.plaintext", "TLS ends at our load balancer"),
            ("1.2.15", "profiling is needed on this cluster"),
        ] {
            let f: Vec<&Finding> = n.results.iter().filter(|f| f.id == id).collect();
            assert_eq!(f.len(), 1, "{}: {id}", n.name);
            assert_eq!(f[0].status, Status::Skip);
            assert!(
                f[0].reason.as_deref().unwrap().contains(why),
                "{:?}",
                f[0].reason
            );
        }
    }
    let f = report
        .cluster
        .results
        .iter()
        .find(|f| f.id == "net.etcd-firewall")
        .unwrap();
    assert_eq!(f.status, Status::Skip);
    assert!(f.reason.as_deref().unwrap().contains("security groups"));
    let cp = report.nodes.iter().find(|n| n.name == "cp1").unwrap();
    let f = cp
        .results
        .iter()
        .find(|f| f.id == "tls.min-version")
        .unwrap();
    assert_eq!(
        (f.title.as_str(), f.severity, f.scored),
        (
            "Old TLS refused",
            Some(crate::verdict::Severity::Low),
            false
        )
    );
    // Without the profile's changes, the same facts fail tls.plaintext.
    let plain = evaluate(
        &crate::bench::load_builtin("cis-1.12").unwrap(),
        nodes,
        "2026-12-05T00:00:00Z",
    );
    let cp = plain.nodes.iter().find(|n| n.name == "cp1").unwrap();
    assert_eq!(
        cp.results
            .iter()
            .find(|f| f.id == "tls.plaintext")
            .unwrap()
            .status,
        Status::Fail
    );
}

#[test]
fn cni_files_are_judged_and_their_directories_are_not() {
    // host-local keeps its leases in /var/lib/cni/networks/<network>/, a
    // 0755 directory: CIS 1.1.9 audits the files under it (find -type f).
    let b = bench(
        "kubelet",
        "fact = \"file:cni:mode\"\nop = \"mode-at-most\"\nvalue = \"600\"",
    );
    let mut n = node();
    n.layout = Some(crate::facts::LayoutFacts {
        name: "k3s".into(),
        ..Default::default()
    });
    let entry = |kind: FileKind, mode: u32, entries: Option<Vec<&str>>| FileFacts {
        exists: true,
        kind: Some(kind),
        mode: Some(Mode(mode)),
        entries: entries.map(|e| e.into_iter().map(String::from).collect()),
        ..Default::default()
    };
    let net = "/var/lib/cni/networks";
    n.files.insert(
        "/var/lib/rancher/k3s/agent/etc/cni/net.d".into(),
        entry(FileKind::Dir, 0o700, Some(vec![])),
    );
    n.files.insert(
        net.into(),
        entry(
            FileKind::Dir,
            0o755,
            Some(vec![
                "/var/lib/cni/networks/cbr0",
                "/var/lib/cni/networks/cbr0/10.42.0.2",
            ]),
        ),
    );
    n.files.insert(
        format!("{net}/cbr0"),
        entry(
            FileKind::Dir,
            0o755,
            Some(vec!["/var/lib/cni/networks/cbr0/10.42.0.2"]),
        ),
    );
    n.files.insert(
        format!("{net}/cbr0/10.42.0.2"),
        entry(FileKind::File, 0o600, None),
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(f.actual.contains("10.42.0.2"), "{f:?}");
    assert!(!f.actual.contains("cbr0/ "), "{f:?}");
    // The same lease file readable by all fails.
    n.files.insert(
        format!("{net}/cbr0/10.42.0.2"),
        entry(FileKind::File, 0o644, None),
    );
    assert_eq!(one(&b, &n).status, Status::Fail);
}

/// The benchmark's cluster checks keep their own texts: a manual check's
/// remediation is the rule's, once (it was once catalogued a second time,
/// like an own check, and came out doubled).
#[test]
fn cluster_checks_of_the_benchmark_keep_their_texts() {
    let b = crate::bench::load_builtin("cis-1.12").unwrap();
    let r = evaluate(&b, &[node()], "2026-11-24T00:00:00Z");
    let manual: Vec<_> = r
        .cluster
        .results
        .iter()
        .filter(|f| f.status == Status::Manual)
        .collect();
    assert!(!manual.is_empty());
    for f in manual {
        let rule = b.rule(&f.id).unwrap();
        assert_eq!(f.remediation, rule.remediation, "{}", f.id);
    }
}
// Keys and rotation (keys.*): judged at a fixed time, from file times and
// key names only.

const NOW: i64 = 1_780_000_000;

fn key_opts() -> EvalOptions {
    EvalOptions {
        now: NOW,
        ..EvalOptions::at("2026-01-01T00:00:00Z")
    }
}

fn apiserver_node(enc: Option<(&str, i64)>, sa: &[(&str, i64)]) -> NodeFacts {
    let mut n = node();
    n.node.roles = vec![Role::ControlPlane];
    let mut argv = vec!["kube-apiserver".to_string()];
    if let Some((content, mtime)) = enc {
        argv.push("--encryption-provider-config=/etc/kubernetes/enc.yaml".into());
        config(&mut n, "/etc/kubernetes/enc.yaml", content);
        n.files.get_mut("/etc/kubernetes/enc.yaml").unwrap().mtime = Some(mtime);
    }
    for (i, (path, mtime)) in sa.iter().enumerate() {
        argv.push(if i == 0 {
            format!("--service-account-signing-key-file={path}")
        } else {
            format!("--service-account-key-file={path}")
        });
        n.files.insert(
            path.to_string(),
            FileFacts {
                exists: true,
                kind: Some(FileKind::File),
                mode: Some(Mode(0o600)),
                mtime: Some(*mtime),
                ..Default::default()
            },
        );
    }
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    run(&mut n, ComponentKind::ApiServer, &argv);
    n
}

fn key_finding(n: &NodeFacts, id: &str) -> (Finding, Report) {
    let b = bench(
        "apiserver",
        "fact = \"flag:apiserver:--profiling\"\nop = \"eq\"\nvalue = \"false\"",
    );
    let r = evaluate_with(&b, std::slice::from_ref(n), "t", &key_opts());
    let f = r.nodes[0]
        .results
        .iter()
        .find(|f| f.id == id)
        .unwrap()
        .clone();
    (f, r)
}

const DAYS: i64 = 86_400;

fn enc(keys: &[&str]) -> String {
    let mut s = String::from(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources:\n  - secrets\n  providers:\n  - aescbc:\n      keys:\n",
    );
    for k in keys {
        s.push_str(&format!("      - name: {k}\n        secret: <redacted>\n"));
    }
    s.push_str("  - identity: {}\n");
    s
}

#[test]
fn encryption_keys_fresh_rotation_passes_and_names_both_keys() {
    let n = apiserver_node(Some((&enc(&["key2", "key1"]), NOW - 5 * DAYS)), &[]);
    let (f, r) = key_finding(&n, "keys.encryption");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(
        f.actual.contains("writes with aescbc key key2"),
        "{}",
        f.actual
    );
    assert!(
        f.actual.contains("also lists key1 (aescbc)"),
        "{}",
        f.actual
    );
    assert!(f.actual.contains("5 days ago"), "{}", f.actual);
    let rows = r.keys.unwrap();
    let roles: Vec<(&str, &str, Option<i64>)> = rows
        .iter()
        .filter(|k| k.kind == "encryption")
        .map(|k| (k.name.as_str(), k.role.as_str(), k.age_days))
        .collect();
    assert_eq!(
        roles,
        [("key2", "active", Some(5)), ("key1 (aescbc)", "old", None)]
    );
}

#[test]
fn encryption_old_key_still_listed_long_after_a_rotation_warns() {
    let n = apiserver_node(Some((&enc(&["key2", "key1"]), NOW - 45 * DAYS)), &[]);
    let (f, _) = key_finding(&n, "keys.encryption");
    assert_eq!(f.status, Status::Warn, "{f:?}");
    assert!(
        f.actual.contains(
            "old keys still listed 45 days after the last change (more than 30): key1 (aescbc)"
        ),
        "{}",
        f.actual
    );
    assert!(!f.actual.contains("not rotated"), "{}", f.actual);
}

#[test]
fn encryption_key_unchanged_past_the_maximum_age_warns_and_the_age_is_configurable() {
    let n = apiserver_node(Some((&enc(&["key1"]), NOW - 200 * DAYS)), &[]);
    let (f, _) = key_finding(&n, "keys.encryption");
    assert_eq!(f.status, Status::Warn, "{f:?}");
    assert!(
        f.actual
            .contains("active key not rotated for 200 days, more than 90: key1"),
        "{}",
        f.actual
    );
    let b = bench(
        "apiserver",
        "fact = \"flag:apiserver:--profiling\"\nop = \"eq\"\nvalue = \"false\"",
    );
    let opts = EvalOptions {
        key_max_age_days: 365,
        ..key_opts()
    };
    let r = evaluate_with(&b, &[n], "t", &opts);
    let f = r.nodes[0]
        .results
        .iter()
        .find(|f| f.id == "keys.encryption")
        .unwrap();
    assert_eq!(f.status, Status::Pass, "{f:?}");
}

#[test]
fn encryption_with_kms_identity_or_no_time() {
    let kms = "resources:\n- resources: [secrets]\n  providers:\n  - kms:\n      apiVersion: v2\n      name: vault\n      endpoint: unix:///kms.sock\n  - identity: {}\n";
    let n = apiserver_node(Some((kms, NOW - 400 * DAYS)), &[]);
    let (f, _) = key_finding(&n, "keys.encryption");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(
        f.actual
            .contains("kms v2 plugin vault keeps its key outside the file"),
        "{}",
        f.actual
    );
    let id = "resources:\n- resources: [secrets]\n  providers:\n  - identity: {}\n";
    let (f, _) = key_finding(&apiserver_node(Some((id, NOW)), &[]), "keys.encryption");
    assert_eq!(f.status, Status::Skip, "{f:?}");
    let mut n = apiserver_node(Some((&enc(&["k"]), NOW)), &[]);
    n.files.get_mut("/etc/kubernetes/enc.yaml").unwrap().mtime = None;
    let (f, _) = key_finding(&n, "keys.encryption");
    assert_eq!(f.status, Status::Error, "{f:?}");
    assert!(f.reason.unwrap().contains("modification time"));
}

#[test]
fn service_account_keys_old_single_key_warns_rotation_in_progress_passes() {
    let old = apiserver_node(
        None,
        &[
            ("/pki/sa.key", NOW - 400 * DAYS),
            ("/pki/sa.pub", NOW - 400 * DAYS),
        ],
    );
    let (f, _) = key_finding(&old, "keys.service-account");
    assert_eq!(f.status, Status::Warn, "{f:?}");
    assert!(
        f.actual
            .contains("signing key older than 90 days: /pki/sa.key: 400 days"),
        "{}",
        f.actual
    );
    let rotating = apiserver_node(
        None,
        &[
            ("/pki/sa-new.key", NOW - 3 * DAYS),
            ("/pki/sa.pub", NOW - 400 * DAYS),
            ("/pki/sa-new.pub", NOW - 3 * DAYS),
        ],
    );
    let (f, r) = key_finding(&rotating, "keys.service-account");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    // One file holding two public keys counts as two.
    let mut two_in_one = apiserver_node(
        None,
        &[
            ("/pki/sa.key", NOW - 3 * DAYS),
            ("/pki/sa.pub", NOW - 3 * DAYS),
        ],
    );
    two_in_one.files.get_mut("/pki/sa.pub").unwrap().pem_blocks =
        Some(vec!["PUBLIC KEY".into(), "RSA PUBLIC KEY".into()]);
    let (g, _) = key_finding(&two_in_one, "keys.service-account");
    assert_eq!(g.status, Status::Pass, "{g:?}");
    assert!(
        g.actual.contains("/pki/sa.pub last changed") && g.actual.contains(", 2 keys"),
        "{}",
        g.actual
    );
    assert!(g.actual.contains("2 verification keys"), "{}", g.actual);
    assert!(
        f.actual
            .contains("2 verification keys: a rotation is in progress or done"),
        "{}",
        f.actual
    );
    let rows = r.keys.unwrap();
    assert_eq!(rows.iter().filter(|k| k.role == "verification").count(), 2);
}

#[test]
fn no_key_value_reaches_any_report_format() {
    // Even facts that carry values (a collector that failed to redact)
    // give only names and dates to the reports.
    const CANARY: &str = "Q0FOQVJZLWtleS12YWx1ZS0xMjM0NTY=";
    let content = enc(&["key2", "key1"]).replace("<redacted>", CANARY);
    let n = apiserver_node(Some((&content, NOW - 45 * DAYS)), &[("/pki/sa.key", NOW)]);
    let (_, r) = key_finding(&n, "keys.encryption");
    let mut json = Vec::new();
    crate::report::json::write(&r, &mut json).unwrap();
    let outputs = [
        String::from_utf8(json).unwrap(),
        crate::report::text::render(&r, crate::report::text::Color::Never),
        crate::report::markdown::render(&r, None),
        crate::report::html::render(&r, &crate::report::html::HtmlOptions::default()).unwrap(),
    ];
    for o in &outputs {
        assert!(!o.contains(CANARY), "key value in a report");
        assert!(o.contains("key2"), "key name missing from a report format");
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn kubelet_rotation_configured_but_not_happening_warns() {
    let pki = crate::certs::test_pki::Pki::new();
    let pem = pki.leaf(
        "system:node:w1",
        "ca",
        "rsa:2048",
        "365",
        "-sha256",
        "DNS:w1",
    );
    let mut n = node();
    run(
        &mut n,
        ComponentKind::Kubelet,
        &["kubelet", "--rotate-certificates=true", "--cert-dir=/pki"],
    );
    n.certificates.push(crate::facts::CertificateFacts {
        path: "/pki/kubelet-client-current.pem".into(),
        pem,
    });
    n.files.insert(
        "/pki".into(),
        FileFacts {
            exists: true,
            kind: Some(FileKind::Dir),
            entries: Some(vec![
                "/pki/kubelet-client-2024-01-02-03-04-05.pem".into(),
                "/pki/kubelet-client-2025-01-02-03-04-05.pem".into(),
                "/pki/kubelet-client-current.pem".into(),
            ]),
            ..Default::default()
        },
    );
    let b = bench(
        "kubelet",
        "fact = \"kubelet:readOnlyPort\"\nop = \"eq\"\nvalue = \"0\"",
    );
    let at = |days: i64| {
        let opts = EvalOptions {
            now: now_secs() + days * DAYS,
            ..key_opts()
        };
        let r = evaluate_with(&b, std::slice::from_ref(&n), "t", &opts);
        let f = r.nodes[0]
            .results
            .iter()
            .find(|f| f.id == "keys.kubelet-rotation")
            .unwrap()
            .clone();
        (f, r.keys.unwrap())
    };
    let (fresh, rows) = at(100);
    assert_eq!(fresh.status, Status::Pass, "{fresh:?}");
    assert!(fresh.actual.contains("valid 365 days, 27% used; 2 dated certificate files, the newest kubelet-client-2025-01-02-03-04-05.pem"), "{}", fresh.actual);
    assert_eq!(
        rows.iter().filter(|k| k.kind == "kubelet-client").count(),
        3
    );
    let (stale, _) = at(340);
    assert_eq!(stale.status, Status::Warn, "{stale:?}");
    assert!(
        stale.actual.contains("93% used")
            && stale
                .actual
                .contains("rotation is configured but not happening (it happened before"),
        "{}",
        stale.actual
    );
    // Rotation off: 4.2.11's business, not this check's.
    let mut off = n.clone();
    run(
        &mut off,
        ComponentKind::Kubelet,
        &["kubelet", "--rotate-certificates=false", "--cert-dir=/pki"],
    );
    let r = evaluate_with(&b, &[off], "t", &key_opts());
    let f = r.nodes[0]
        .results
        .iter()
        .find(|f| f.id == "keys.kubelet-rotation")
        .unwrap();
    assert_eq!(f.status, Status::Skip, "{f:?}");
}

#[test]
fn cas_in_use_are_dated_and_warn_within_the_lead_time() {
    let pki = crate::certs::test_pki::Pki::new();
    let mut n = node();
    for path in [
        "/etc/kubernetes/pki/ca.crt",
        "/etc/kubernetes/kubelet.conf#certificate-authority-data",
    ] {
        n.certificates.push(crate::facts::CertificateFacts {
            path: path.into(),
            pem: pki.pem("ca"),
        });
    }
    pki.ca("fp", "front-proxy-ca");
    n.certificates.push(crate::facts::CertificateFacts {
        path: "/etc/kubernetes/pki/front-proxy-ca.crt".into(),
        pem: pki.pem("fp"),
    });
    let b = bench(
        "kubelet",
        "fact = \"kubelet:readOnlyPort\"\nop = \"eq\"\nvalue = \"0\"",
    );
    let judge = |ca_warn_days: i64| {
        let opts = EvalOptions {
            now: now_secs(),
            ca_warn_days,
            ..key_opts()
        };
        let r = evaluate_with(&b, std::slice::from_ref(&n), "t", &opts);
        let f = r.nodes[0]
            .results
            .iter()
            .find(|f| f.id == "keys.ca")
            .unwrap()
            .clone();
        (f, r.keys.unwrap())
    };
    let (f, rows) = judge(365);
    assert_eq!(f.status, Status::Pass, "{f:?}");
    // One CA, found in two places, named by its PKI file; the front-proxy
    // CA by kubeadm's name for it.
    assert!(
        f.actual.contains(
            "CN=front-proxy-ca, the front-proxy CA (/etc/kubernetes/pki/front-proxy-ca.crt)"
        ),
        "{}",
        f.actual
    );
    assert!(
        f.actual
            .starts_with("CN=ca (/etc/kubernetes/pki/ca.crt and 1 more): issued "),
        "{}",
        f.actual
    );
    let cas: Vec<_> = rows.iter().filter(|k| k.kind == "ca").collect();
    assert_eq!(cas.len(), 2);
    assert_eq!(cas[1].role, "front-proxy CA");
    assert!(
        cas[0].days_left.unwrap() >= 3648 && cas[0].role == "root",
        "{:?}",
        cas[0]
    );
    let (f, _) = judge(4000);
    assert_eq!(f.status, Status::Warn, "{f:?}");
    assert!(
        f.actual.starts_with("fewer than 4000 days left: 2"),
        "{}",
        f.actual
    );
}

fn audit_bench(check: &str, scored: bool) -> Benchmark {
    let rules = format!(
        "[[rule]]\nid = \"1.1\"\ntitle = \"t\"\nsection = \"1\"\nscored = {scored}\ntargets = [\"control-plane\"]\ncomponent = \"apiserver\"\nremediation = \"r\"\n[rule.check]\n{check}\n"
    );
    load_sources(&[("profile.toml", PROFILE), ("r.toml", &rules)]).unwrap()
}

const POLICY_FLAG: &str = "--audit-policy-file=/etc/kubernetes/audit.yaml";

#[test]
fn an_audit_policy_flag_naming_a_missing_or_broken_file_is_not_a_pass() {
    let b = audit_bench(
        "fact = \"audit:policy\"\nop = \"eq\"\nvalue = \"loaded\"",
        false,
    );
    // Without the flag: warn (not scored), saying so.
    let f = one(&b, &apiserver(&[]));
    assert_eq!(f.status, Status::Warn);
    assert!(f.source.contains("--audit-policy-file not set"), "{f:?}");
    // The flag names a file that is not there.
    let mut n = apiserver(&[POLICY_FLAG]);
    n.files.insert(
        "/etc/kubernetes/audit.yaml".into(),
        FileFacts {
            exists: false,
            ..Default::default()
        },
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Warn);
    assert!(
        f.actual.contains("missing") && f.source.contains("does not exist"),
        "{f:?}"
    );
    // A file the API server would refuse: wrong kind, unknown level, not YAML.
    for (content, why) in [
        ("apiVersion: v1\nkind: ConfigMap\n", "not \"Policy\""),
        (
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: All\n",
            "rules[0].level",
        ),
        ("rules: [\n", "not valid YAML"),
    ] {
        let mut n = apiserver(&[POLICY_FLAG]);
        config(&mut n, "/etc/kubernetes/audit.yaml", content);
        let f = one(&b, &n);
        assert_eq!(f.status, Status::Warn, "{content}");
        assert!(
            f.actual.contains("invalid") && f.source.contains(why),
            "{f:?}"
        );
    }
    // A file that could not be read is an error, never a verdict.
    let mut n = apiserver(&[POLICY_FLAG]);
    n.files.insert(
        "/etc/kubernetes/audit.yaml".into(),
        FileFacts {
            exists: true,
            error: Some("Permission denied".into()),
            ..Default::default()
        },
    );
    assert_eq!(one(&b, &n).status, Status::Error);
    // A valid one passes, with what was loaded.
    let mut n = apiserver(&[POLICY_FLAG]);
    config(
        &mut n,
        "/etc/kubernetes/audit.yaml",
        "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: Metadata\n",
    );
    let f = one(&b, &n);
    assert_eq!(f.status, Status::Pass);
    assert!(
        f.source.contains("audit.k8s.io/v1beta1 Policy with 1 rule"),
        "{f:?}"
    );
}

#[test]
fn audit_concerns_name_the_deciding_rule_and_what_failed() {
    let b = audit_bench(
        "all = [\n  { fact = \"audit:secrets\", op = \"level-at-most\", value = \"Metadata\" },\n  { fact = \"audit:pod-access\", op = \"level-at-least\", value = \"Metadata\" },\n  { fact = \"audit:catch-all-none\", op = \"absent\" },\n]",
        false,
    );
    let policy = |rules: &str| {
        let mut n = apiserver(&[POLICY_FLAG]);
        config(
            &mut n,
            "/etc/kubernetes/audit.yaml",
            &format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}"),
        );
        one(&b, &n)
    };
    let f = policy("- level: Metadata\n");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(!f.actual.contains("NOT MET"), "{f:?}");
    // Secrets in kube-system only at RequestResponse: the at-most fails and
    // says which rule; pods/exec still passes.
    let f = policy(
        "- level: RequestResponse\n  namespaces: [kube-system]\n  resources: [{group: \"\", resources: [secrets]}]\n- level: Metadata\n",
    );
    assert_eq!(f.status, Status::Warn, "{f:?}");
    assert!(
        f.actual.contains("NOT MET (audit level of secrets at most Metadata): audit level of secrets: Metadata by rules[1],RequestResponse by rules[0]"),
        "{f:?}"
    );
    assert!(
        f.source
            .contains("RequestResponse by rules[0]: get secrets in kube-system"),
        "{f:?}"
    );
    assert!(!f.actual.contains("NOT MET (audit level of pods"), "{f:?}");
    // A catch-all None first silences pods/exec, and is reported as such.
    let f = policy("- level: None\n- level: Metadata\n");
    assert_eq!(f.status, Status::Warn);
    assert!(
        f.actual.contains(
            "NOT MET (audit level of pods/exec, pods/attach and pods/portforward at least Metadata)"
        ),
        "{f:?}"
    );
    assert!(
        f.actual
            .contains("rules[0] (level None, no restriction); the 1 rule(s) after it never apply"),
        "{f:?}"
    );
    // Secrets at None pass "at most Metadata" on their own.
    assert!(
        !f.actual.contains("NOT MET (audit level of secrets"),
        "{f:?}"
    );
    // The same check, scored, fails.
    let scored = audit_bench(
        "fact = \"audit:pod-access\"\nop = \"level-at-least\"\nvalue = \"Metadata\"",
        true,
    );
    assert_eq!(one(&scored, &apiserver(&[])).status, Status::Fail);
}
