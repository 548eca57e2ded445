//! What to ask a node for, round trip by round trip.
//!
//! 1. Discovery: processes (the components, and the supervisors
//!    distributions are recognised by), listening sockets, and the paths
//!    that recognise each layout (`k8s::layout`). The node's layout is
//!    decided from these (or given with `--layout`).
//! 2. The layout's paths (static-pod manifests, PKI and certificate
//!    directories, CNI, admin kubeconfigs, each systemd-run component's
//!    unit, drop-ins and environment files), and the files named on the
//!    running command lines (`--config`, `--kubeconfig`,
//!    `--encryption-provider-config`, certificates...), read through
//!    `/proc/<pid>/root` so a containerised component's own view is used.
//!    For a component in a container, the host's path is stat'ed beside it,
//!    so that a hostPath-mounted file is recognised as the host's and only
//!    the container's own files are reported as inside it.
//! 3. Files named inside those config files (the kubelet's `clientCAFile`,
//!    kube-proxy's `clientConnection.kubeconfig`, etcd's `--config-file`
//!    settings), resolved with the engine's own effective-configuration code
//!    so collection and evaluation can never disagree about a path; and the
//!    certificates found in the layout's certificate directories.
//!
//! Three round trips at most, whatever the number of checks. A node whose
//! layout is unknown gets only what its command lines name: no
//! distribution's paths are assumed.

use std::collections::BTreeSet;

use super::frames::Request;
use crate::facts::{ComponentFacts, ComponentKind, NodeFacts};
use crate::k8s::argv::{Args, parse_argv};
use crate::k8s::effective::NodeCtx;
use crate::k8s::files::{PemRole, SYSTEMD_UNIT_DIRS, dropin_dir, pki_role, unit_file};
use crate::k8s::known::{etcd_env_name, find_flag, find_setting};
use crate::k8s::layout::{self, Launch};

/// Round trip 1.
pub fn discovery() -> Vec<Request> {
    let mut r = vec![
        Request::Meta,
        Request::Procs(layout::supervisor_names()),
        Request::Sockets,
    ];
    r.extend(layout::detection_paths().into_iter().map(Request::Stat));
    r
}

/// The layout's own paths (round trip 2): nothing for an unknown layout.
pub fn from_layout(facts: &NodeFacts) -> Vec<Request> {
    let Some(l) = facts.layout.as_ref().and_then(|f| layout::find(&f.name)) else {
        return Vec::new();
    };
    let mut r = Vec::new();
    r.extend(l.manifests.iter().cloned().map(Request::Manifests));
    for dir in l.pki.iter().chain(&l.certificates).chain(&l.cni) {
        r.push(Request::Tree(dir.clone()));
    }
    r.extend(l.admin_kubeconfigs.iter().cloned().map(Request::Stat));
    for c in l.components.values() {
        // The manifest paths checks fall back to, so an absent one is
        // known to be absent rather than uncollected.
        r.extend(c.manifest.iter().cloned().map(Request::Stat));
        if c.launch == Launch::Systemd {
            if let Some(unit) = &c.unit {
                // The unit and its drop-in directory, wherever systemd looks.
                for dir in SYSTEMD_UNIT_DIRS {
                    r.push(Request::Stat(unit_file(dir, unit)));
                    r.push(Request::Tree(dropin_dir(dir, unit)));
                }
            }
        }
        r.extend(c.env_files.iter().cloned().map(Request::Stat));
        // Read, and redacted as a supervisor's configuration would be: the
        // layout names them because nothing on a command line does.
        r.extend(c.config_files.iter().cloned().map(Request::ReadConfig));
        r.extend(c.pki.iter().cloned().map(Request::Tree));
        r.extend(c.config_dirs.iter().cloned().map(Request::DropIns));
    }
    r.extend(supervisor_requests(facts, l));
    r.sort();
    r.dedup();
    r
}

/// What a layout's supervisor logged and what configures it: the journal
/// entries of each of its running processes (by pid, this boot), its log
/// files, the texts that select the lines wanted (each embedded
/// component's, and its start line), and its configuration files with
/// their `.d` drop-in directories.
fn supervisor_requests(facts: &NodeFacts, l: &layout::Layout) -> Vec<Request> {
    let Some(s) = &l.supervisor else {
        return Vec::new();
    };
    let mut r = Vec::new();
    for f in &s.config_files {
        r.push(Request::ReadConfig(f.clone()));
        r.push(Request::ConfigDir(format!("{f}.d")));
    }
    let running: Vec<u32> = facts
        .processes
        .iter()
        .filter(|p| s.processes.contains(&p.name))
        .filter_map(|p| p.pid)
        .collect();
    let texts: Vec<&String> = l
        .components
        .values()
        .filter(|c| c.launch == Launch::Embedded)
        .filter_map(|c| c.logged.as_ref())
        .chain(s.started.as_ref())
        .collect();
    if running.is_empty() || texts.is_empty() {
        return r;
    }
    r.extend(running.into_iter().map(Request::Journal));
    r.extend(s.log_files.iter().cloned().map(Request::LogFile));
    r.extend(texts.into_iter().cloned().map(Request::LogMatch));
    r.extend(s.started.iter().cloned().map(Request::LogStart));
    r
}

/// Whether the layout's certificate directories already hold `dir`.
fn read_by_layout(facts: &NodeFacts, dir: &str) -> bool {
    facts
        .layout
        .as_ref()
        .and_then(|f| layout::find(&f.name))
        .is_some_and(|l| {
            l.certificates
                .iter()
                .chain(l.components.values().filter_map(|c| c.pki.as_ref()))
                .any(|d| d == dir)
        })
}

/// The certificates in the layout's certificate directories, once they
/// are listed (round trip 3).
pub fn certificates(facts: &NodeFacts) -> Vec<Request> {
    let Some(l) = facts.layout.as_ref().and_then(|f| layout::find(&f.name)) else {
        return Vec::new();
    };
    let dirs = l
        .certificates
        .iter()
        .chain(l.components.values().filter_map(|c| c.pki.as_ref()));
    let is_file = |p: &str| {
        facts
            .files
            .get(p)
            .is_some_and(|f| f.kind == Some(crate::facts::FileKind::File))
    };
    // Certificates by name: never a file whose name says it holds a key
    // (kubespray's `*-key.pem`), which the collector would have to open.
    let certificate = |p: &str| p.ends_with(".crt") || pki_role(p) == Some(PemRole::Certificate);
    let mut out = BTreeSet::new();
    for path in dirs {
        // A file of its own (RKE2's agent/server-ca.crt), or a directory.
        if is_file(path) && certificate(path) {
            out.insert(Request::Certs(path.clone()));
        }
        let entries = facts.files.get(path).and_then(|d| d.entries.as_ref());
        for p in entries.into_iter().flatten() {
            if is_file(p) && certificate(p) {
                out.insert(Request::Certs(p.clone()));
            }
        }
    }
    out.into_iter().collect()
}

#[derive(Clone, Copy)]
enum Act {
    Stat,
    Read,
    ReadEnc,
    ReadKubeconfig,
    Certs,
    PemKeys,
    DropIns,
    Manifests,
}

use Act::*;

/// Flags whose value names a file, and what to do with that file.
const FILE_FLAGS: &[(ComponentKind, &str, Act)] = &[
    (ComponentKind::ApiServer, "--authorization-config", Read),
    (ComponentKind::ApiServer, "--authentication-config", Read),
    (ComponentKind::ApiServer, "--audit-policy-file", Read),
    (
        ComponentKind::ApiServer,
        "--admission-control-config-file",
        Read,
    ),
    (
        ComponentKind::ApiServer,
        "--encryption-provider-config",
        ReadEnc,
    ),
    (ComponentKind::ApiServer, "--tls-cert-file", Certs),
    (ComponentKind::ApiServer, "--client-ca-file", Certs),
    (
        ComponentKind::ApiServer,
        "--kubelet-certificate-authority",
        Certs,
    ),
    (
        ComponentKind::ApiServer,
        "--kubelet-client-certificate",
        Certs,
    ),
    (ComponentKind::ApiServer, "--etcd-cafile", Certs),
    (ComponentKind::ApiServer, "--etcd-certfile", Certs),
    (
        ComponentKind::ApiServer,
        "--requestheader-client-ca-file",
        Certs,
    ),
    (ComponentKind::ApiServer, "--proxy-client-cert-file", Certs),
    (ComponentKind::ApiServer, "--tls-private-key-file", Stat),
    (ComponentKind::ApiServer, "--kubelet-client-key", Stat),
    (ComponentKind::ApiServer, "--etcd-keyfile", Stat),
    (ComponentKind::ApiServer, "--proxy-client-key-file", Stat),
    (ComponentKind::ApiServer, "--token-auth-file", Stat),
    (
        ComponentKind::ApiServer,
        "--service-account-key-file",
        PemKeys,
    ),
    (
        ComponentKind::ApiServer,
        "--service-account-signing-key-file",
        Stat,
    ),
    (
        ComponentKind::ControllerManager,
        "--kubeconfig",
        ReadKubeconfig,
    ),
    (
        ComponentKind::ControllerManager,
        "--authentication-kubeconfig",
        ReadKubeconfig,
    ),
    (
        ComponentKind::ControllerManager,
        "--authorization-kubeconfig",
        ReadKubeconfig,
    ),
    (ComponentKind::ControllerManager, "--root-ca-file", Certs),
    (
        ComponentKind::ControllerManager,
        "--cluster-signing-cert-file",
        Certs,
    ),
    (
        ComponentKind::ControllerManager,
        "--service-account-private-key-file",
        Stat,
    ),
    (
        ComponentKind::ControllerManager,
        "--cluster-signing-key-file",
        Stat,
    ),
    (ComponentKind::ControllerManager, "--tls-cert-file", Certs),
    (
        ComponentKind::ControllerManager,
        "--tls-private-key-file",
        Stat,
    ),
    (ComponentKind::Scheduler, "--kubeconfig", ReadKubeconfig),
    (
        ComponentKind::Scheduler,
        "--authentication-kubeconfig",
        ReadKubeconfig,
    ),
    (
        ComponentKind::Scheduler,
        "--authorization-kubeconfig",
        ReadKubeconfig,
    ),
    (ComponentKind::Scheduler, "--config", Read),
    (ComponentKind::Scheduler, "--tls-cert-file", Certs),
    (ComponentKind::Scheduler, "--tls-private-key-file", Stat),
    (ComponentKind::Etcd, "--config-file", Read),
    (ComponentKind::Etcd, "--data-dir", Stat),
    (ComponentKind::Etcd, "--cert-file", Certs),
    (ComponentKind::Etcd, "--peer-cert-file", Certs),
    (ComponentKind::Etcd, "--trusted-ca-file", Certs),
    (ComponentKind::Etcd, "--peer-trusted-ca-file", Certs),
    (ComponentKind::Etcd, "--key-file", Stat),
    (ComponentKind::Etcd, "--peer-key-file", Stat),
    (ComponentKind::Kubelet, "--config", Read),
    (ComponentKind::Kubelet, "--config-dir", DropIns),
    (ComponentKind::Kubelet, "--kubeconfig", ReadKubeconfig),
    (
        ComponentKind::Kubelet,
        "--bootstrap-kubeconfig",
        ReadKubeconfig,
    ),
    (ComponentKind::Kubelet, "--client-ca-file", Certs),
    (ComponentKind::Kubelet, "--tls-cert-file", Certs),
    (ComponentKind::Kubelet, "--tls-private-key-file", Stat),
    (ComponentKind::Kubelet, "--pod-manifest-path", Manifests),
    (ComponentKind::KubeProxy, "--config", Read),
    (ComponentKind::KubeProxy, "--kubeconfig", ReadKubeconfig),
];

fn request(act: Act, path: String) -> Vec<Request> {
    match act {
        Stat => vec![Request::Stat(path)],
        Read => vec![Request::Read(path)],
        ReadEnc => vec![Request::ReadEncryption(path)],
        ReadKubeconfig => vec![Request::ReadKubeconfig(path)],
        Certs => vec![Request::Certs(path)],
        PemKeys => vec![Request::PemKeys(path)],
        DropIns => vec![Request::DropIns(path)],
        Manifests => vec![Request::Manifests(path)],
    }
}

/// The path a process sees at `path`, read from the host.
fn through_root(pid: Option<u32>, path: &str) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}/root{path}"),
        None => path.to_string(),
    }
}

/// `act` on the file a component sees at `path`. For a component in a
/// container, the host's path is stat'ed too: a file the container sees
/// through a hostPath mount is the host's (same device and inode), and
/// only one that is not gets recorded as inside the container.
fn in_root(act: Act, comp: Option<&ComponentFacts>, path: &str) -> Vec<Request> {
    let pid = comp.and_then(|c| c.pid);
    let mut out = request(act, through_root(pid, path));
    if pid.is_some() && comp.is_some_and(|c| c.own_root == Some(true)) {
        out.push(Request::Stat(path.to_string()));
    }
    out
}

/// Round trip 2: files named on the command lines of running components.
pub fn from_command_lines(facts: &NodeFacts) -> Vec<Request> {
    let mut out = BTreeSet::new();
    for (kind, comp) in &facts.components {
        if !comp.running {
            continue;
        }
        let args: Args = parse_argv(*kind, &comp.argv);
        for (k, flag, act) in FILE_FLAGS {
            if k != kind {
                continue;
            }
            let value = args.value(flag).map(String::from).or_else(|| {
                (*kind == ComponentKind::Etcd)
                    .then(|| comp.env.get(&etcd_env_name(flag)).cloned())
                    .flatten()
            });
            // Some flags take a comma-separated list of files.
            for path in value.iter().flat_map(|v| v.split(',')).map(str::trim) {
                if path.starts_with('/') {
                    out.extend(in_root(*act, Some(comp), path));
                }
            }
        }
    }
    // Serving certificates a component writes into its --cert-dir when no
    // file is named (kubelet: kubelet.crt, or the bootstrapped
    // kubelet-server-current.pem; controller-manager and scheduler:
    // <binary>.crt). The kubelet's default directory is the layout's.
    for (kind, names) in [
        (
            ComponentKind::Kubelet,
            &["kubelet.crt", "kubelet-server-current.pem"][..],
        ),
        (
            ComponentKind::ControllerManager,
            &["kube-controller-manager.crt"][..],
        ),
        (ComponentKind::Scheduler, &["kube-scheduler.crt"][..]),
    ] {
        let Some(comp) = facts.component(kind).filter(|c| c.running) else {
            continue;
        };
        let args = parse_argv(kind, &comp.argv);
        let Some(dir) = args
            .value("--cert-dir")
            .map(|d| d.trim_end_matches('/'))
            .filter(|d| d.starts_with('/') && !read_by_layout(facts, d))
        else {
            continue;
        };
        for name in names {
            out.extend(in_root(Certs, Some(comp), &format!("{dir}/{name}")));
        }
    }
    out.into_iter().collect()
}

/// Round trip 3: files named inside config files, resolved by the engine.
pub fn from_config_files(facts: &NodeFacts) -> Vec<Request> {
    let ctx = NodeCtx::new(facts);
    let mut out = BTreeSet::new();
    let comp = |k: ComponentKind| facts.component(k);
    let setting = |k: ComponentKind, path: &str| {
        find_setting(k, path)
            .and_then(|spec| ctx.setting(k, spec).ok())
            .filter(|o| o.explicit)
            .and_then(|o| o.value.map(|v| v.text()))
    };
    for (key, act) in [
        ("authentication.x509.clientCAFile", Certs),
        ("tlsCertFile", Certs),
        ("tlsPrivateKeyFile", Stat),
        ("staticPodPath", Manifests),
    ] {
        if let Some(p) = setting(ComponentKind::Kubelet, key).filter(|p| p.starts_with('/')) {
            out.extend(in_root(act, comp(ComponentKind::Kubelet), &p));
        }
    }
    if let Some(p) = setting(ComponentKind::KubeProxy, "clientConnection.kubeconfig")
        .filter(|p| p.starts_with('/'))
    {
        out.extend(in_root(ReadKubeconfig, comp(ComponentKind::KubeProxy), &p));
    }
    // etcd with --config-file (or ETCD_CONFIG_FILE): its files come from
    // the config file.
    if matches!(ctx.etcd_config_file(), Ok(Some(_))) {
        for (flag, act) in [
            ("--data-dir", Stat),
            ("--cert-file", Certs),
            ("--peer-cert-file", Certs),
            ("--trusted-ca-file", Certs),
            ("--key-file", Stat),
            ("--peer-key-file", Stat),
        ] {
            let Some(spec) = find_flag(ComponentKind::Etcd, flag) else {
                continue;
            };
            if let Some(p) = ctx
                .flag(spec)
                .ok()
                .and_then(|o| o.value)
                .map(|v| v.text())
                .filter(|p| p.starts_with('/'))
            {
                out.extend(in_root(act, comp(ComponentKind::Etcd), &p));
            }
        }
    }
    not_yet_answered(facts, out.into_iter().collect())
}

/// The requests whose path no earlier trip answered: anything already
/// answered needs no second look.
pub fn not_yet_answered(facts: &NodeFacts, requests: Vec<Request>) -> Vec<Request> {
    requests
        .into_iter()
        .filter(|r| {
            r.path()
                .is_none_or(|p| !facts.files.contains_key(&super::assemble::record_path(p)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ComponentFacts;

    #[test]
    fn command_line_files_are_read_through_the_process_root() {
        let mut facts = NodeFacts::default();
        facts.components.insert(
            ComponentKind::KubeProxy,
            ComponentFacts {
                running: true,
                pid: Some(77),
                argv: vec![
                    "kube-proxy".into(),
                    "--config=/var/lib/kube-proxy/config.conf".into(),
                ],
                ..Default::default()
            },
        );
        facts.components.insert(
            ComponentKind::Etcd,
            ComponentFacts {
                running: true,
                pid: Some(5),
                argv: vec!["etcd".into()],
                env: [("ETCD_CERT_FILE".to_string(), "/pki/server.crt".to_string())].into(),
                ..Default::default()
            },
        );
        let r = from_command_lines(&facts);
        assert!(r.contains(&Request::Read(
            "/proc/77/root/var/lib/kube-proxy/config.conf".into()
        )));
        assert!(r.contains(&Request::Certs("/proc/5/root/pki/server.crt".into())));
        // Whether the process's root is the host's is not known here: only
        // its view is read.
        assert!(!r.contains(&Request::Stat("/var/lib/kube-proxy/config.conf".into())));
        // In a root of its own: the host's path is stat'ed too, so that a
        // hostPath-mounted file is told from one only the container has.
        facts
            .components
            .get_mut(&ComponentKind::KubeProxy)
            .unwrap()
            .own_root = Some(true);
        let r = from_command_lines(&facts);
        assert!(r.contains(&Request::Stat("/var/lib/kube-proxy/config.conf".into())));
        assert!(r.contains(&Request::Read(
            "/proc/77/root/var/lib/kube-proxy/config.conf".into()
        )));
    }

    #[test]
    fn discovery_asks_for_what_recognises_each_layout_and_nothing_of_kubeadms() {
        let r = discovery();
        assert!(r.contains(&Request::Stat("/etc/etcd.env".into())));
        assert!(
            r.iter()
                .any(|q| matches!(q, Request::Procs(n) if n.iter().any(|n| n == "rke2")))
        );
        assert!(!r.contains(&Request::Tree("/etc/kubernetes/pki".into())));
    }

    #[test]
    fn the_layout_says_where_the_kubelets_unit_and_drop_ins_are_looked_for() {
        let mut facts = NodeFacts {
            layout: Some(crate::k8s::layout::forced("kubeadm").unwrap()),
            ..Default::default()
        };
        let r = from_layout(&facts);
        for dir in SYSTEMD_UNIT_DIRS {
            assert!(
                r.contains(&Request::Stat(unit_file(dir, "kubelet.service"))),
                "{dir}"
            );
            assert!(
                r.contains(&Request::Tree(dropin_dir(dir, "kubelet.service"))),
                "{dir}"
            );
        }
        assert!(r.contains(&Request::Tree("/etc/kubernetes/pki".into())));
        // kubespray: etcd is a service too, with its environment file.
        facts.layout = Some(crate::k8s::layout::forced("kubespray").unwrap());
        let r = from_layout(&facts);
        assert!(r.contains(&Request::Stat("/etc/systemd/system/etcd.service".into())));
        assert!(r.contains(&Request::Stat("/etc/etcd.env".into())));
        assert!(r.contains(&Request::Tree("/etc/kubernetes/ssl".into())));
        // Unknown: nothing assumed.
        facts.layout = Some(crate::facts::LayoutFacts {
            name: "unknown".into(),
            ..Default::default()
        });
        assert!(from_layout(&facts).is_empty());
    }

    #[test]
    fn etcd_files_come_from_its_config_file_even_when_named_by_the_environment() {
        let mut facts = NodeFacts::default();
        facts.components.insert(
            ComponentKind::Etcd,
            ComponentFacts {
                running: true,
                pid: Some(5),
                argv: vec!["etcd".into(), "--cert-file=/ignored.crt".into()],
                env: [(
                    "ETCD_CONFIG_FILE".to_string(),
                    "/var/lib/etcd/config".to_string(),
                )]
                .into(),
                ..Default::default()
            },
        );
        assert!(
            from_command_lines(&facts)
                .contains(&Request::Read("/proc/5/root/var/lib/etcd/config".into()))
        );
        facts.files.insert(
            "/var/lib/etcd/config".into(),
            crate::facts::FileFacts {
                exists: true,
                content: Some("client-transport-security:\n  cert-file: /pki/server.crt\n".into()),
                ..Default::default()
            },
        );
        let r = from_config_files(&facts);
        assert!(
            r.contains(&Request::Certs("/proc/5/root/pki/server.crt".into())),
            "{r:?}"
        );
    }

    #[test]
    fn serving_certificates_are_read_where_the_components_keep_them() {
        let mut facts = NodeFacts {
            layout: Some(crate::k8s::layout::forced("kubeadm").unwrap()),
            ..Default::default()
        };
        for (kind, pid, argv) in [
            (
                ComponentKind::ControllerManager,
                9,
                &[
                    "kube-controller-manager",
                    "--tls-cert-file=/etc/kubernetes/pki/cm.crt",
                    "--tls-private-key-file=/etc/kubernetes/pki/cm.key",
                ][..],
            ),
            (
                ComponentKind::Scheduler,
                10,
                &["kube-scheduler", "--cert-dir", "/var/run/kubernetes/"][..],
            ),
            (
                ComponentKind::Kubelet,
                11,
                &["kubelet", "--cert-dir=/srv/kubelet"][..],
            ),
        ] {
            facts.components.insert(
                kind,
                ComponentFacts {
                    running: true,
                    pid: Some(pid),
                    argv: argv.iter().map(|a| a.to_string()).collect(),
                    ..Default::default()
                },
            );
        }
        let r = from_command_lines(&facts);
        for want in [
            Request::Certs("/proc/9/root/etc/kubernetes/pki/cm.crt".into()),
            Request::Stat("/proc/9/root/etc/kubernetes/pki/cm.key".into()),
            Request::Certs("/proc/10/root/var/run/kubernetes/kube-scheduler.crt".into()),
            Request::Certs("/proc/11/root/srv/kubelet/kubelet.crt".into()),
            Request::Certs("/proc/11/root/srv/kubelet/kubelet-server-current.pem".into()),
        ] {
            assert!(r.contains(&want), "no {want:?} in {r:?}");
        }
        // The kubelet's default directory is already read in discovery.
        facts
            .components
            .get_mut(&ComponentKind::Kubelet)
            .unwrap()
            .argv = vec!["kubelet".into(), "--cert-dir=/var/lib/kubelet/pki".into()];
        assert!(
            !from_command_lines(&facts)
                .iter()
                .any(|r| r.path().is_some_and(|p| p.contains("kubelet.crt")))
        );
    }

    #[test]
    fn private_keys_are_only_ever_stat_ed() {
        for (_, flag, act) in FILE_FLAGS {
            // The service-account verification keys are public keys: only
            // the labels of their PEM blocks are sent, to count them, and
            // the collector refuses a file holding a private key.
            if *flag == "--service-account-key-file" {
                assert!(matches!(act, PemKeys), "{flag}");
            } else if flag.contains("key") && !flag.contains("kubeconfig") {
                assert!(matches!(act, Stat), "{flag} must be stat only");
            }
        }
    }
}
