//! What the ports really negotiate, judged against what the components
//! were told (kubeharden's own checks, section `net`):
//!
//! | id | fails when |
//! |---|---|
//! | `tls.min-version` | a port completes a ServerHello for TLS 1.0 or 1.1 |
//! | `tls.weak-ciphers` | a port accepts a broken suite (RC4, 3DES, NULL, export, CBC-SHA256), or one outside the suites its component is configured with; warns for a suite outside the recommended list when none is configured |
//! | `tls.kubelet-anonymous` | the kubelet answers an anonymous `GET /pods` with anything but 401 or 403 |
//! | `tls.etcd-client-cert` | etcd completes a handshake without a client certificate |
//! | `tls.served-cert` | a port serves a certificate other than the file its flags name, or one its CA did not issue; warns for a self-signed kubelet, controller-manager or scheduler certificate |
//!
//! Every check reads the probes in the node's facts (`tls`), so they are
//! judged again, offline, from saved facts. A port whose probe could not be
//! made makes the check an `error`, never a pass; a node with nothing
//! probed gets no finding at all.

use super::effective::NodeCtx;
use super::value::Observed;
use crate::bench::Fact;
use crate::certs::{CertInfo, parse_pem};
use crate::facts::ComponentKind;
use crate::probe::hello::{Tier, suite_tier};
use crate::probe::{HelloOutcome, KUBELET_PORT, PortState, TlsProbe};
use crate::report::{Finding, Status, cap};

/// Which component serves a port, and whether it is etcd's peer port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Server {
    kind: ComponentKind,
    peer: bool,
}

fn ports_of(obs: Option<Observed>, default: u16) -> Vec<u16> {
    let items = obs
        .and_then(|o| o.value)
        .map(|v| v.items())
        .unwrap_or_default();
    let ports: Vec<u16> = items
        .iter()
        .filter_map(|u| {
            u.trim()
                .rsplit(':')
                .next()?
                .trim_end_matches('/')
                .parse()
                .ok()
        })
        .collect();
    if ports.is_empty() {
        vec![default]
    } else {
        ports
    }
}

fn observe(ctx: &NodeCtx<'_>, fact: &str) -> Option<Observed> {
    match Fact::parse(fact).ok()? {
        Fact::Flag(spec) => ctx.flag(spec).ok(),
        Fact::Setting { component, spec } => ctx.setting(component, spec).ok(),
        _ => None,
    }
}

fn server_of(ctx: &NodeCtx<'_>, port: u16) -> Option<Server> {
    use ComponentKind::*;
    let running = |k| ctx.running(k).is_ok();
    if running(Etcd) {
        if ports_of(observe(ctx, "flag:etcd:--listen-client-urls"), 2379).contains(&port) {
            return Some(Server {
                kind: Etcd,
                peer: false,
            });
        }
        if ports_of(observe(ctx, "flag:etcd:--listen-peer-urls"), 2380).contains(&port) {
            return Some(Server {
                kind: Etcd,
                peer: true,
            });
        }
    }
    let secure = |k: ComponentKind, flag: &str, default: u16| {
        running(k)
            && observe(ctx, flag)
                .and_then(|o| o.value)
                .and_then(|v| v.items().first().and_then(|p| p.parse().ok()))
                .unwrap_or(default)
                == port
    };
    let kind = if secure(ApiServer, "flag:apiserver:--secure-port", 6443) {
        ApiServer
    } else if port == KUBELET_PORT && running(Kubelet) {
        Kubelet
    } else if secure(
        ControllerManager,
        "flag:controller-manager:--secure-port",
        10257,
    ) {
        ControllerManager
    } else if secure(Scheduler, "flag:scheduler:--secure-port", 10259) {
        Scheduler
    } else {
        return None;
    };
    Some(Server { kind, peer: false })
}

/// The facts naming a server's minimum version, cipher suites, serving
/// certificate and the CA that should have issued it.
fn knobs(s: Server) -> [&'static str; 4] {
    use ComponentKind::*;
    match (s.kind, s.peer) {
        (ApiServer, _) => [
            "flag:apiserver:--tls-min-version",
            "flag:apiserver:--tls-cipher-suites",
            "flag:apiserver:--tls-cert-file",
            "flag:apiserver:--client-ca-file",
        ],
        (Kubelet, _) => [
            "kubelet:tlsMinVersion",
            "kubelet:tlsCipherSuites",
            "kubelet:tlsCertFile",
            "kubelet:authentication.x509.clientCAFile",
        ],
        (ControllerManager, _) => [
            "flag:controller-manager:--tls-min-version",
            "flag:controller-manager:--tls-cipher-suites",
            "flag:controller-manager:--tls-cert-file",
            "flag:apiserver:--client-ca-file",
        ],
        (Scheduler, _) => [
            "flag:scheduler:--tls-min-version",
            "flag:scheduler:--tls-cipher-suites",
            "flag:scheduler:--tls-cert-file",
            "flag:apiserver:--client-ca-file",
        ],
        (Etcd, false) => [
            "flag:etcd:--tls-min-version",
            "flag:etcd:--cipher-suites",
            "flag:etcd:--cert-file",
            "flag:etcd:--trusted-ca-file",
        ],
        (Etcd, true) => [
            "flag:etcd:--tls-min-version",
            "flag:etcd:--cipher-suites",
            "flag:etcd:--peer-cert-file",
            "flag:etcd:--peer-trusted-ca-file",
        ],
        (KubeProxy, _) => ["", "", "", ""],
    }
}

/// A setting that was set on purpose: its text and where it came from.
fn explicit(ctx: &NodeCtx<'_>, fact: &str) -> Option<(Vec<String>, String)> {
    if fact.is_empty() {
        return None;
    }
    let o = observe(ctx, fact)?;
    if !o.explicit {
        return None;
    }
    Some((o.value?.items(), o.source))
}

fn label(p: &TlsProbe, s: Option<Server>) -> String {
    let who = match s {
        Some(Server {
            kind: ComponentKind::Etcd,
            peer: true,
        }) => "etcd peer".to_string(),
        Some(s) => s.kind.binary().to_string(),
        None => crate::probe::COMPONENT_PORTS
            .iter()
            .find(|(port, _)| *port == p.port)
            .map(|(_, c)| c.to_string())
            .unwrap_or_else(|| "unknown".into()),
    };
    format!("{}:{} ({who})", p.address, p.port)
}

fn listing(items: &[String]) -> String {
    super::listing(items, 10)
}

/// What a check found, port by port, before it becomes a finding.
#[derive(Default)]
struct Tally {
    fail: Vec<String>,
    warn: Vec<String>,
    error: Vec<String>,
    pass: Vec<String>,
}

impl Tally {
    fn finding(self, id: &str, title: &str, expected: &str, remediation: &str) -> Option<Finding> {
        let (status, actual) = if !self.fail.is_empty() {
            (Status::Fail, listing(&self.fail))
        } else if !self.error.is_empty() {
            (
                Status::Error,
                format!("could not be probed: {}", listing(&self.error)),
            )
        } else if !self.warn.is_empty() {
            (Status::Warn, listing(&self.warn))
        } else if !self.pass.is_empty() {
            (Status::Pass, listing(&self.pass))
        } else {
            return None;
        };
        let mut actual = actual;
        if status != Status::Pass && !self.pass.is_empty() {
            actual.push_str(&format!("; fine: {}", listing(&self.pass)));
        }
        Some(Finding {
            id: format!("tls.{id}"),
            title: title.into(),
            section: super::network::NET_SECTION.into(),
            scored: true,
            level: 1,
            status,
            reason: (status == Status::Error).then(|| "some ports could not be probed".into()),
            expected: expected.into(),
            actual: cap(&actual, super::EVIDENCE_CAP),
            source: "probes from the node itself over SSH direct-tcpip channels: a rustls handshake and hand-built ClientHellos (nothing sent beyond them, but the kubelet's anonymous GET /pods)".into(),
            remediation: remediation.into(),
            waiver: None,
        })
    }
}

fn tls_ports<'a>(ctx: &'a NodeCtx<'_>) -> impl Iterator<Item = (&'a TlsProbe, Option<Server>)> {
    ctx.facts
        .tls
        .iter()
        .filter(|p| p.state == PortState::Tls)
        .map(move |p| (p, server_of(ctx, p.port)))
}

fn min_version(ctx: &NodeCtx<'_>) -> Option<Finding> {
    let mut t = Tally::default();
    for (p, s) in tls_ports(ctx) {
        let Some(h) = &p.legacy else { continue };
        let at = label(p, s);
        let configured = s.and_then(|s| explicit(ctx, knobs(s)[0]));
        match h.outcome {
            HelloOutcome::Accepted => {
                let mut text = format!(
                    "{at} accepts {} with {}",
                    h.version.as_deref().unwrap_or("TLS below 1.2"),
                    h.suite.as_deref().unwrap_or("a suite")
                );
                if let Some((v, src)) = configured {
                    text.push_str(&format!(
                        ", although it is configured with {} ({src})",
                        v.join(",")
                    ));
                }
                t.fail.push(text);
            }
            HelloOutcome::Refused => t.pass.push(format!(
                "{at} refuses TLS 1.0/1.1 ({})",
                h.detail.as_deref().unwrap_or("refused")
            )),
            HelloOutcome::Error => t.error.push(format!(
                "{at}: {}",
                h.detail.as_deref().unwrap_or("no answer")
            )),
        }
    }
    t.finding(
        "min-version",
        "No port accepts TLS below 1.2",
        "every TLS port refuses a ClientHello offering only TLS 1.0 and 1.1",
        "Set --tls-min-version=VersionTLS12 (or VersionTLS13) on the API server, controller-manager, scheduler and etcd, and tlsMinVersion in the kubelet config, then restart them; a port that still accepts TLS 1.1 is served by something else (a proxy, a sidecar) that needs the same setting.",
    )
}

fn weak_ciphers(ctx: &NodeCtx<'_>) -> Option<Finding> {
    let mut t = Tally::default();
    for (p, s) in tls_ports(ctx) {
        let Some(h) = &p.weak else { continue };
        let at = label(p, s);
        match h.outcome {
            HelloOutcome::Accepted => {
                let suite = h.suite.clone().unwrap_or_else(|| "a suite".into());
                let configured = s.and_then(|s| explicit(ctx, knobs(s)[1]));
                match (suite_tier(&suite), configured) {
                    (Some(Tier::Insecure), _) => t
                        .fail
                        .push(format!("{at} accepts {suite}, a broken suite")),
                    (_, Some((list, src)))
                        if !list.iter().any(|c| {
                            c == &suite || suite.strip_suffix("_SHA256") == Some(c.as_str())
                        }) =>
                    {
                        t.fail.push(format!(
                            "{at} accepts {suite}, which is not among the suites it is configured with ({src})"
                        ))
                    }
                    _ => t.warn.push(format!(
                        "{at} accepts {suite}, outside the recommended ECDHE + AEAD suites"
                    )),
                }
            }
            HelloOutcome::Refused => t.pass.push(format!("{at} refuses weak suites")),
            HelloOutcome::Error => t.error.push(format!(
                "{at}: {}",
                h.detail.as_deref().unwrap_or("no answer")
            )),
        }
    }
    t.finding(
        "weak-ciphers",
        "No port accepts weak cipher suites",
        "every TLS port refuses a TLS 1.2 ClientHello offering only suites outside ECDHE with AES-GCM or ChaCha20-Poly1305",
        "Set --tls-cipher-suites (etcd: --cipher-suites; kubelet: tlsCipherSuites) to TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305 and TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, then restart the component.",
    )
}

fn kubelet_anonymous(ctx: &NodeCtx<'_>) -> Option<Finding> {
    let mut t = Tally::default();
    for p in ctx.facts.tls.iter().filter(|p| p.port == KUBELET_PORT) {
        let at = format!("{}:{}", p.address, p.port);
        match (&p.http, p.state) {
            (Some(h), _) => match h.status {
                Some(401 | 403) => t.pass.push(format!(
                    "{at}: anonymous GET {} answered {}",
                    h.path,
                    h.detail.as_deref().unwrap_or("")
                )),
                Some(code) => t.fail.push(format!(
                    "{at}: anonymous GET {} answered {code} ({})",
                    h.path,
                    h.detail.as_deref().unwrap_or("")
                )),
                None => t.error.push(format!(
                    "{at}: anonymous GET {}: {}",
                    h.path,
                    h.detail.as_deref().unwrap_or("no answer")
                )),
            },
            (None, PortState::Tls) => {
                // The handshake itself refused us (a client certificate
                // is required): no anonymous request gets in.
                if p.client_cert_required == Some(true) {
                    t.pass.push(format!(
                        "{at}: no request possible without a client certificate"
                    ));
                } else {
                    t.error.push(format!("{at}: the request could not be made"));
                }
            }
            (None, PortState::Plaintext) => t.fail.push(format!(
                "{at} speaks plain HTTP ({})",
                p.detail.as_deref().unwrap_or("")
            )),
            (None, PortState::Error) => t.error.push(format!(
                "{at}: {}",
                p.detail.as_deref().unwrap_or("no answer")
            )),
        }
    }
    t.finding(
        "kubelet-anonymous",
        "The kubelet refuses anonymous requests",
        "an anonymous GET /pods on the kubelet's port answers 401 or 403",
        "Set authentication.anonymous.enabled: false and authorization.mode: Webhook in the kubelet config (or --anonymous-auth=false --authorization-mode=Webhook), and remove drop-ins that turn them back, then restart the kubelet.",
    )
}

fn etcd_client_cert(ctx: &NodeCtx<'_>) -> Option<Finding> {
    let mut t = Tally::default();
    for p in &ctx.facts.tls {
        let Some(s) = server_of(ctx, p.port).filter(|s| s.kind == ComponentKind::Etcd) else {
            continue;
        };
        let at = label(p, Some(s));
        match (p.state, p.client_cert_required) {
            (PortState::Tls, Some(true)) => t.pass.push(format!(
                "{at} requires a client certificate{}",
                p.detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )),
            (PortState::Tls, _) => t.fail.push(format!(
                "{at} completes a handshake without a client certificate{}",
                if p.client_cert_requested {
                    " (it asks for one, but does not insist)"
                } else {
                    " (it does not even ask)"
                }
            )),
            (PortState::Plaintext, _) => t.fail.push(format!("{at} speaks plain HTTP")),
            (PortState::Error, _) => t.error.push(format!(
                "{at}: {}",
                p.detail.as_deref().unwrap_or("no answer")
            )),
        }
    }
    t.finding(
        "etcd-client-cert",
        "etcd insists on client certificates",
        "every etcd client and peer port aborts a handshake made without a client certificate",
        "Run etcd with --client-cert-auth=true and --trusted-ca-file, and --peer-client-cert-auth=true with --peer-trusted-ca-file (CIS 2.2, 2.5), then restart it.",
    )
}

fn first_cert(ctx: &NodeCtx<'_>, path: &str) -> Option<CertInfo> {
    let c = ctx.facts.certificates.iter().find(|c| c.path == path)?;
    parse_pem(&c.pem).into_iter().next()?.ok()
}

/// Where a bootstrapped kubelet keeps its serving certificate.
const KUBELET_SERVER_CURRENT: &str = "/var/lib/kubelet/pki/kubelet-server-current.pem";

/// The cluster CA when no flag names it: kubeadm's path.
const CLUSTER_CA: &str = "/etc/kubernetes/pki/ca.crt";

fn served_cert(ctx: &NodeCtx<'_>) -> Option<Finding> {
    let mut t = Tally::default();
    for (p, s) in tls_ports(ctx) {
        let Some(pem) = &p.served_pem else { continue };
        let at = label(p, s);
        let Some(served) = parse_pem(pem).into_iter().next().and_then(|r| r.ok()) else {
            t.error
                .push(format!("{at}: the certificate served could not be parsed"));
            continue;
        };
        let Some(s) = s else {
            continue;
        };
        let [_, _, cert_fact, ca_fact] = knobs(s);
        // 1. The file the flags name.
        let mut named = explicit(ctx, cert_fact).and_then(|(v, _)| v.first().cloned());
        if s.kind == ComponentKind::Kubelet
            && observe(ctx, "kubelet:serverTLSBootstrap")
                .and_then(|o| o.value)
                .is_some_and(|v| v.items().first().is_some_and(|b| b == "true"))
        {
            // With serverTLSBootstrap the kubelet serves what its
            // certificate manager got from the cluster CA, whatever
            // tlsCertFile says.
            named = Some(KUBELET_SERVER_CURRENT.to_string())
                .filter(|p| ctx.facts.certificates.iter().any(|c| &c.path == p));
        }
        if let Some(path) = &named {
            match first_cert(ctx, path) {
                Some(file) if file.serial == served.serial && file.issuer == served.issuer => {}
                Some(file) => {
                    t.fail.push(format!(
                        "{at} serves \"{}\" (serial {}), not the certificate in {path} (\"{}\", serial {})",
                        served.subject, served.serial, file.subject, file.serial
                    ));
                    continue;
                }
                None => {
                    t.error.push(format!(
                        "{at}: {path}, named by the flags, was not collected"
                    ));
                    continue;
                }
            }
        }
        // 2. Who issued it.
        let ca_path = explicit(ctx, ca_fact)
            .and_then(|(v, _)| v.first().cloned())
            .or_else(|| {
                let default = if s.kind == ComponentKind::Etcd {
                    "/etc/kubernetes/pki/etcd/ca.crt"
                } else {
                    CLUSTER_CA
                };
                Some(default.to_string())
            })
            .unwrap_or_default();
        let self_signed = served.self_issued && served.issued_by(&served);
        let may_self_sign = matches!(
            s.kind,
            ComponentKind::Kubelet | ComponentKind::ControllerManager | ComponentKind::Scheduler
        );
        if self_signed {
            let text = format!(
                "{at} serves a self-signed certificate (\"{}\"){}",
                served.subject,
                if s.kind == ComponentKind::Kubelet {
                    ": clients cannot verify the kubelet (serverTLSBootstrap: true gets it one from the cluster CA)"
                } else {
                    ""
                }
            );
            if may_self_sign {
                t.warn.push(text);
            } else {
                t.fail.push(text);
            }
            continue;
        }
        // An intermediate sent with the leaf may stand between it and the CA.
        let intermediates: Vec<CertInfo> = parse_pem(pem)
            .into_iter()
            .skip(1)
            .filter_map(|r| r.ok())
            .collect();
        let chains_to = |ca: &CertInfo| {
            served.issued_by(ca)
                || intermediates
                    .iter()
                    .any(|i| served.issued_by(i) && i.issued_by(ca))
        };
        match first_cert(ctx, &ca_path) {
            Some(ca) if chains_to(&ca) => t.pass.push(format!(
                "{at} serves \"{}\"{}, issued by {ca_path}",
                served.subject,
                if named.is_some() {
                    " (the file its flags name)"
                } else {
                    ""
                }
            )),
            Some(ca) => t.fail.push(format!(
                "{at} serves \"{}\", issued by \"{}\" but not by {ca_path} (\"{}\"){}",
                served.subject,
                served.issuer,
                ca.subject,
                if served.issuer == ca.subject {
                    ": same name, another key"
                } else {
                    ""
                }
            )),
            None => t.error.push(format!(
                "{at}: the CA that should have issued its certificate ({ca_path}) was not collected"
            )),
        }
    }
    t.finding(
        "served-cert",
        "Each port serves the certificate its flags name, from the right CA",
        "the certificate served is the file named by --tls-cert-file (etcd: --cert-file, --peer-cert-file), issued by the cluster CA (etcd: the etcd CA); kubelet, controller-manager and scheduler may self-sign, which warns",
        "Point the component at the right certificate and key, issued by the CA its clients trust (kubeadm: `kubeadm certs renew`; kubelets: serverTLSBootstrap: true and approve the CSRs), and restart it; a certificate other than the flag's means something else answers on the port.",
    )
}

/// Every `tls.*` finding of one node, beside `tls.plaintext`.
pub fn tls_findings(ctx: &NodeCtx<'_>) -> Vec<Finding> {
    if ctx.facts.tls.is_empty() {
        return Vec::new();
    }
    [
        min_version(ctx),
        weak_ciphers(ctx),
        kubelet_anonymous(ctx),
        etcd_client_cert(ctx),
        served_cert(ctx),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Certificates served on the node's ports that are not also one of its
/// collected files, labelled by port, for the certificate checks and the
/// certificate table.
pub fn served_only(
    facts: &crate::facts::NodeFacts,
    files: &[(String, CertInfo)],
) -> Vec<(String, CertInfo)> {
    let mut out: Vec<(String, CertInfo)> = Vec::new();
    for p in &facts.tls {
        let Some(pem) = &p.served_pem else { continue };
        // The leaf, and any chain sent with it.
        for (i, c) in parse_pem(pem).into_iter().enumerate() {
            let Ok(c) = c else { continue };
            let same = |o: &CertInfo| o.serial == c.serial && o.issuer == c.issuer;
            if files.iter().any(|(_, f)| same(f)) || out.iter().any(|(_, f)| same(f)) {
                continue;
            }
            let label = if i == 0 {
                format!("served on {}:{}", p.address, p.port)
            } else {
                format!("served on {}:{} (chain #{})", p.address, p.port, i + 1)
            };
            out.push((label, c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ComponentFacts, NodeFacts};
    use crate::probe::{HelloResult, HttpResult};

    fn node(argv: &[&str], probes: Vec<TlsProbe>) -> NodeFacts {
        let mut n = NodeFacts::default();
        n.node.name = "cp1".into();
        n.components.insert(
            ComponentKind::ApiServer,
            ComponentFacts {
                running: true,
                argv: argv.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        );
        n.components.insert(
            ComponentKind::Etcd,
            ComponentFacts {
                running: true,
                argv: vec![
                    "etcd".into(),
                    "--listen-client-urls=https://10.0.0.1:2379".into(),
                ],
                ..Default::default()
            },
        );
        n.tls = probes;
        n
    }

    fn probe(port: u16) -> TlsProbe {
        TlsProbe {
            address: "10.0.0.1".into(),
            port,
            state: PortState::Tls,
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
        }
    }

    fn hello(outcome: HelloOutcome, version: &str, suite: &str) -> Option<HelloResult> {
        Some(HelloResult {
            outcome,
            version: Some(version.into()),
            suite: Some(suite.into()),
            detail: None,
        })
    }

    fn status(f: &NodeFacts, id: &str) -> Option<(Status, String)> {
        let ctx = NodeCtx::new(f);
        tls_findings(&ctx)
            .into_iter()
            .find(|x| x.id == id)
            .map(|x| (x.status, x.actual))
    }

    #[test]
    fn tls_1_1_accepted_fails_and_names_the_setting_it_defeats() {
        let mut p = probe(6443);
        p.legacy = hello(
            HelloOutcome::Accepted,
            "VersionTLS11",
            "TLS_RSA_WITH_AES_128_CBC_SHA",
        );
        let f = node(
            &["kube-apiserver", "--tls-min-version=VersionTLS12"],
            vec![p],
        );
        let (s, actual) = status(&f, "tls.min-version").unwrap();
        assert_eq!(s, Status::Fail);
        assert!(
            actual.contains("(kube-apiserver) accepts VersionTLS11"),
            "{actual}"
        );
        assert!(actual.contains("configured with VersionTLS12"), "{actual}");

        let mut p = probe(6443);
        p.legacy = Some(HelloResult {
            outcome: HelloOutcome::Refused,
            version: None,
            suite: None,
            detail: Some("alert protocol_version".into()),
        });
        let f = node(&["kube-apiserver"], vec![p]);
        assert_eq!(status(&f, "tls.min-version").unwrap().0, Status::Pass);
    }

    #[test]
    fn weak_suites_fail_when_broken_or_outside_the_configured_list_and_warn_otherwise() {
        let with = |suite: &str, argv: &[&str]| {
            let mut p = probe(6443);
            p.weak = hello(HelloOutcome::Accepted, "VersionTLS12", suite);
            status(&node(argv, vec![p]), "tls.weak-ciphers").unwrap()
        };
        assert_eq!(
            with("TLS_RSA_WITH_3DES_EDE_CBC_SHA", &["kube-apiserver"]).0,
            Status::Fail
        );
        assert_eq!(
            with("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", &["kube-apiserver"]).0,
            Status::Warn
        );
        let (s, actual) = with(
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            &[
                "kube-apiserver",
                "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            ],
        );
        assert_eq!(s, Status::Fail);
        assert!(
            actual.contains("not among the suites it is configured with"),
            "{actual}"
        );
        let mut p = probe(6443);
        p.weak = Some(HelloResult::error("no answer".into()));
        assert_eq!(
            status(&node(&["kube-apiserver"], vec![p]), "tls.weak-ciphers")
                .unwrap()
                .0,
            Status::Error
        );
    }

    #[test]
    fn the_kubelet_must_turn_anonymous_requests_away() {
        let with = |status_code: Option<u16>| {
            let mut p = probe(KUBELET_PORT);
            p.http = Some(HttpResult {
                path: "/pods".into(),
                status: status_code,
                detail: None,
            });
            status(&node(&["kube-apiserver"], vec![p]), "tls.kubelet-anonymous")
                .unwrap()
                .0
        };
        assert_eq!(with(Some(200)), Status::Fail);
        assert_eq!(with(Some(401)), Status::Pass);
        assert_eq!(with(Some(403)), Status::Pass);
        assert_eq!(with(None), Status::Error);
        // No kubelet port probed: no finding.
        assert!(
            status(
                &node(&["kube-apiserver"], vec![probe(6443)]),
                "tls.kubelet-anonymous"
            )
            .is_none()
        );
    }

    #[test]
    fn etcd_that_only_asks_for_a_client_certificate_fails() {
        let mut p = probe(2379);
        p.client_cert_requested = true;
        p.client_cert_required = Some(false);
        let (s, actual) = status(
            &node(&["kube-apiserver"], vec![p.clone()]),
            "tls.etcd-client-cert",
        )
        .unwrap();
        assert_eq!(s, Status::Fail);
        assert!(actual.contains("does not insist"), "{actual}");
        p.client_cert_required = Some(true);
        assert_eq!(
            status(&node(&["kube-apiserver"], vec![p]), "tls.etcd-client-cert")
                .unwrap()
                .0,
            Status::Pass
        );
        // Not etcd's port: no finding.
        assert!(
            status(
                &node(&["kube-apiserver"], vec![probe(6443)]),
                "tls.etcd-client-cert"
            )
            .is_none()
        );
    }

    #[test]
    fn the_certificate_served_must_be_the_flags_file_and_chain_to_its_ca() {
        use crate::engine::test_pki::Pki;
        use crate::facts::CertificateFacts;
        let pki = Pki::new();
        let leaf = |name: &str, ca: &str| pki.leaf(name, ca, "rsa:2048", "30", "-sha256", "DNS:x");
        let apiserver = leaf("apiserver", "ca");
        let rogue = leaf("rogue", "other");
        let inter = leaf("inter", "ca");
        let via_inter = leaf("via", "inter");
        let ca = pki.pem("ca");
        let served = |argv: &[&str], port: u16, pem: String| {
            let mut p = probe(port);
            p.served_pem = Some(pem);
            let mut n = node(argv, vec![p]);
            n.certificates = vec![
                CertificateFacts {
                    path: "/etc/kubernetes/pki/ca.crt".into(),
                    pem: ca.clone(),
                },
                CertificateFacts {
                    path: "/etc/kubernetes/pki/apiserver.crt".into(),
                    pem: apiserver.clone(),
                },
            ];
            n.components.insert(
                ComponentKind::Kubelet,
                ComponentFacts {
                    running: true,
                    argv: vec!["kubelet".into()],
                    ..Default::default()
                },
            );
            status(&n, "tls.served-cert").unwrap()
        };
        let flags = [
            "kube-apiserver",
            "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
            "--client-ca-file=/etc/kubernetes/pki/ca.crt",
        ];
        assert_eq!(served(&flags, 6443, apiserver.clone()).0, Status::Pass);
        let (s, actual) = served(&flags, 6443, rogue.clone());
        assert_eq!(s, Status::Fail);
        assert!(
            actual.contains("not the certificate in /etc/kubernetes/pki/apiserver.crt"),
            "{actual}"
        );
        // No file named: judged by its issuer, through an intermediate too.
        let bare = ["kube-apiserver"];
        assert_eq!(
            served(&bare, 6443, format!("{via_inter}{inter}")).0,
            Status::Pass
        );
        let (s, actual) = served(&bare, 6443, rogue);
        assert_eq!(s, Status::Fail);
        assert!(
            actual.contains("but not by /etc/kubernetes/pki/ca.crt"),
            "{actual}"
        );
        // A self-signed kubelet warns; a self-signed API server fails.
        let self_signed = pki.pem("other");
        assert_eq!(
            served(&bare, KUBELET_PORT, self_signed.clone()).0,
            Status::Warn
        );
        assert_eq!(served(&bare, 6443, self_signed).0, Status::Fail);
    }
}
