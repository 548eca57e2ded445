//! What the ports really negotiate, judged against what the components
//! were told (kubeharden's own checks, section `net`):
//!
//! | id | fails when |
//! |---|---|
//! | `tls.min-version` | a port completes a ServerHello for TLS 1.0 or 1.1 |
//! | `tls.weak-ciphers` | a port accepts a broken suite (RC4, 3DES, NULL, export, CBC-SHA256), or one outside the suites its component is configured with; warns for a suite outside the recommended list when none is configured |
//! | `tls.kubelet-anonymous` | the kubelet answers an anonymous `GET /pods` with anything but 401 or 403 |
//! | `tls.etcd-client-cert` | etcd completes a handshake without a client certificate |
//! | `tls.served-cert` | a port serves a certificate other than the one its flags or config name, one its CA did not issue, or an expired one; warns for a pair the kubelet, controller-manager or scheduler generated for itself |
//!
//! Given no serving certificate, the kubelet, controller-manager and
//! scheduler make their own pair with client-go's
//! `GenerateSelfSignedCertKey`: the kubelet writes it to
//! `<cert-dir>/kubelet.crt`, the other two keep it in memory. That is
//! kubeadm's default, and CIS does not ask for `--tls-cert-file` on the
//! control plane, so failing it would fail every cluster for nothing an
//! attacker gains; but no client can verify such a port, so it warns, and
//! says the way out. What decides is where upstream takes the certificate
//! from (`Origin`): the port must serve exactly that file's first
//! certificate, and a pair is recognised by its shape
//! ([`crate::certs::self_generated`]) and by its CA following the leaf in
//! that file, or, in memory, in the handshake. Anything else a component
//! without a named certificate serves is someone else on its port.
//!
//! Every check reads the probes in the node's facts (`tls`), so they are
//! judged again, offline, from saved facts. A port whose probe could not be
//! made makes the check an `error`, never a pass; a node with nothing
//! probed gets no finding at all.

use crate::bench::Fact;
use crate::certs::{CertInfo, parse_pem, self_generated};
use crate::facts::ComponentKind;
use crate::facts::{HelloOutcome, PortState, TlsProbe};
use crate::k8s::effective::NodeCtx;
use crate::k8s::ports::KUBELET_PORT;
use crate::k8s::value::Observed;
use crate::probe::hello::{Tier, suite_tier};
use crate::util::cap;
use crate::verdict::{Finding, Status};

/// Which component serves a port, and whether it is etcd's peer port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Server {
    kind: ComponentKind,
    peer: bool,
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
    if let Ok(listen) = ctx.etcd_listen() {
        if listen.client_ports().contains(&port) {
            return Some(Server {
                kind: Etcd,
                peer: false,
            });
        }
        if listen.peer_ports().contains(&port) {
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
        None => crate::k8s::ports::COMPONENT_PORTS
            .iter()
            .find(|(port, _)| *port == p.port)
            .map(|(_, c)| c.to_string())
            .unwrap_or_else(|| "unknown".into()),
    };
    format!("{}:{} ({who})", p.address, p.port)
}

fn listing(items: &[String]) -> String {
    crate::util::listing(items, 10)
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
    fn finding(self, id: &str, expected: &str) -> Option<Finding> {
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
            reason: (status == Status::Error).then(|| "some ports could not be probed".into()),
            expected: expected.into(),
            actual: cap(&actual, super::EVIDENCE_CAP),
            source: "probes from the node itself over SSH direct-tcpip channels: a rustls handshake and hand-built ClientHellos (nothing sent beyond them, but the kubelet's anonymous GET /pods)".into(),
            ..super::own_finding(format!("tls.{id}"), status)
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
        "every TLS port refuses a ClientHello offering only TLS 1.0 and 1.1",
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
        "every TLS port refuses a TLS 1.2 ClientHello offering only suites outside ECDHE with AES-GCM or ChaCha20-Poly1305",
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
        "an anonymous GET /pods on the kubelet's port answers 401 or 403",
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
        "every etcd client and peer port aborts a handshake made without a client certificate",
    )
}

/// Every certificate of a collected file, in order; `None` when the file
/// was not collected.
fn file_certs(ctx: &NodeCtx<'_>, path: &str) -> Option<Vec<CertInfo>> {
    let c = ctx.facts.certificates.iter().find(|c| c.path == path)?;
    Some(
        parse_pem(&c.pem)
            .into_iter()
            .filter_map(|r| r.ok())
            .collect(),
    )
}

fn first_cert(ctx: &NodeCtx<'_>, path: &str) -> Option<CertInfo> {
    file_certs(ctx, path)?.into_iter().next()
}

/// The first of a layout's candidate CA files that was collected, else the
/// first candidate (so that a missing one is named).
fn layout_ca(ctx: &NodeCtx<'_>, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .find(|p| ctx.facts.certificates.iter().any(|c| &c.path == *p))
        .or(candidates.first())
        .cloned()
}

/// The CA that should have issued what a port serves. etcd: the CA its own
/// flags trust, else the layout's etcd CA. The others: the CA their clients
/// trust for serving certificates, which the layout names (`cluster_ca`),
/// else the component's client CA flag. The two are one CA on kubeadm and
/// kubespray; RKE2 and k3s keep a server CA (`server-ca.crt`) apart from the
/// client CA (`client-ca.crt`) that `--client-ca-file` and the kubelet's
/// `clientCAFile` name, and no flag names the server CA.
fn serving_ca(ctx: &NodeCtx<'_>, s: Server) -> Option<String> {
    let flag = || explicit(ctx, knobs(s)[3]).and_then(|(v, _)| v.first().cloned());
    let layout = ctx.layout().ok();
    if s.kind == ComponentKind::Etcd {
        flag().or_else(|| layout_ca(ctx, &layout?.etcd_ca))
    } else {
        cluster_ca(ctx).or_else(flag)
    }
}

/// The layout's CA for serving certificates (`cluster_ca`), the first of
/// its candidates the node holds.
pub(crate) fn cluster_ca(ctx: &NodeCtx<'_>) -> Option<String> {
    layout_ca(ctx, &ctx.layout().ok()?.cluster_ca)
}

/// The kubelet's `--cert-dir` when none is given: where it writes its
/// self-generated `kubelet.crt` and keeps its rotated certificates.
const KUBELET_CERT_DIR: &str = "/var/lib/kubelet/pki";

/// Where the certificate a port serves must come from, decided the way
/// the component itself decides it from its flags and config.
enum Origin {
    /// A file the flags or config name (`--tls-cert-file`, `tlsCertFile`,
    /// etcd's `--cert-file`), or, with serverTLSBootstrap, the kubelet's
    /// `kubelet-server-current.pem`: `by` says which.
    Named { path: String, by: String },
    /// A file the component writes itself when it is given none: the
    /// kubelet's `<cert-dir>/kubelet.crt` (cmd/kubelet/app/server.go,
    /// `InitializeTLS`), or `<cert-dir>/<binary>.crt` of a controller-manager
    /// or scheduler given `--cert-dir` (k8s.io/apiserver's
    /// `SecureServingOptions.MaybeDefaultWithSelfSignedCerts`).
    SelfWritten { path: String, why: String },
    /// A controller-manager or scheduler with neither `--tls-cert-file` nor
    /// `--cert-dir`: a pair made in memory at start-up, nowhere on disk.
    InMemory,
    /// Nothing names it (an API server or etcd without the flag, a
    /// bootstrapping kubelet whose current certificate was not collected):
    /// judged by its issuer alone.
    Unnamed,
}

fn origin(ctx: &NodeCtx<'_>, s: Server) -> Origin {
    use ComponentKind::*;
    let named = explicit(ctx, knobs(s)[2])
        .and_then(|(v, src)| Some((v.first()?.clone(), src)))
        .filter(|(p, _)| !p.is_empty());
    let cert_dir = || {
        ctx.running(s.kind)
            .ok()
            .and_then(|(_, a)| a.value("--cert-dir"))
            .map(|d| d.trim_end_matches('/').to_string())
            .filter(|d| !d.is_empty())
    };
    match s.kind {
        Kubelet => {
            let dir = cert_dir().unwrap_or_else(|| KUBELET_CERT_DIR.to_string());
            let bootstrap = observe(ctx, "kubelet:serverTLSBootstrap")
                .and_then(|o| o.value)
                .is_some_and(|v| v.items().first().is_some_and(|b| b == "true"));
            if bootstrap {
                // The certificate manager serves what it got from the
                // cluster CA, whatever tlsCertFile says.
                let path = format!("{dir}/kubelet-server-current.pem");
                return if file_certs(ctx, &path).is_some() {
                    Origin::Named {
                        path,
                        by: "serverTLSBootstrap: true".into(),
                    }
                } else {
                    Origin::Unnamed
                };
            }
            match named {
                Some((path, by)) => Origin::Named { path, by },
                None => Origin::SelfWritten {
                    path: format!("{dir}/kubelet.crt"),
                    why: "which the kubelet writes and serves when neither tlsCertFile nor serverTLSBootstrap is set".into(),
                },
            }
        }
        ControllerManager | Scheduler => match (named, cert_dir()) {
            (Some((path, by)), _) => Origin::Named { path, by },
            (None, Some(dir)) => Origin::SelfWritten {
                path: format!("{dir}/{}.crt", s.kind.binary()),
                why: format!(
                    "which {} writes and serves with --cert-dir and no --tls-cert-file",
                    s.kind.binary()
                ),
            },
            (None, None) => Origin::InMemory,
        },
        _ => match named {
            Some((path, by)) => Origin::Named { path, by },
            None => Origin::Unnamed,
        },
    }
}

/// What one port's certificate comes to, before expiry is considered.
enum Verdict {
    Pass(String),
    Warn(String),
    Fail(String),
    Error(String),
}

/// How a self-generated pair is described, and the way out of it.
fn self_generated_text(
    s: Server,
    at: &str,
    leaf: &CertInfo,
    ca: &CertInfo,
    origin: &Origin,
) -> String {
    let pair = format!("\"{}\", issued by \"{}\"", leaf.subject, ca.subject);
    let whose = match (s.kind, origin) {
        (_, Origin::InMemory) => format!(
            "the pair {} generates in memory without --tls-cert-file: {pair} (sent with it)",
            s.kind.binary()
        ),
        (ComponentKind::Kubelet, Origin::SelfWritten { path, .. }) => {
            format!("the kubelet's self-generated certificate {pair}, which follows it in {path}")
        }
        (_, Origin::SelfWritten { path, .. }) => format!(
            "the pair {} generated into {path} without --tls-cert-file: {pair}, which follows it there",
            s.kind.binary()
        ),
        (_, Origin::Named { path, by }) => format!(
            "a self-generated pair from {path} (named by {by}): {pair}, which follows it there"
        ),
        (_, Origin::Unnamed) => format!("a self-generated pair: {pair}"),
    };
    let way_out = if s.kind == ComponentKind::Kubelet {
        "serverTLSBootstrap: true, then approve its kubelet-serving CSRs"
    } else {
        "--tls-cert-file and --tls-private-key-file from the cluster CA"
    };
    format!("{at} serves {whose}: a CA no client trusts; the way out: {way_out}")
}

fn judge_served(ctx: &NodeCtx<'_>, s: Server, at: &str, chain: &[CertInfo]) -> Verdict {
    let leaf = &chain[0];
    let origin = origin(ctx, s);
    // 1. The file it must come from, and the certificate that follows the
    //    leaf there (a self-generated pair keeps its CA there).
    let mut follows: Option<CertInfo> = None;
    let mut from: Option<&str> = None;
    if let Origin::Named { path, .. } | Origin::SelfWritten { path, .. } = &origin {
        let what = match &origin {
            Origin::Named { by, .. } => format!("named by {by}"),
            Origin::SelfWritten { why, .. } => why.clone(),
            _ => unreachable!(),
        };
        let Some(file) = file_certs(ctx, path) else {
            return Verdict::Error(format!("{at}: {path}, {what}, was not collected"));
        };
        let Some(first) = file.first() else {
            return Verdict::Error(format!(
                "{at}: {path}, {what}, holds no certificate that could be parsed"
            ));
        };
        if first != leaf {
            return Verdict::Fail(format!(
                "{at} serves \"{}\" (serial {}), not the certificate in {path} (\"{}\", serial {}), {what}: the component was not restarted since the file changed, or something else answers on the port",
                leaf.subject, leaf.serial, first.subject, first.serial
            ));
        }
        follows = file.get(1).cloned();
        from = Some(path);
    }
    // 2. A pair the component generated for itself: the documented
    //    default of the kubelet, controller-manager and scheduler.
    let may_self_generate = matches!(
        s.kind,
        ComponentKind::Kubelet | ComponentKind::ControllerManager | ComponentKind::Scheduler
    );
    let ca_of_pair = match origin {
        Origin::InMemory => chain.get(1),
        Origin::Named { .. } | Origin::SelfWritten { .. } => follows.as_ref(),
        Origin::Unnamed => None,
    };
    if let Some(ca) =
        ca_of_pair.filter(|ca| may_self_generate && self_generated(leaf, ca).is_some())
    {
        return Verdict::Warn(self_generated_text(s, at, leaf, ca, &origin));
    }
    if let Origin::InMemory = origin {
        return Verdict::Fail(format!(
            "{at} serves \"{}\", issued by \"{}\", but without --tls-cert-file (or --cert-dir) {} serves only the pair it generates in memory (\"CN=localhost@<time>\", issued by \"CN=localhost-ca@<time>\", sent with it): something else answers on the port",
            leaf.subject,
            leaf.issuer,
            s.kind.binary()
        ));
    }
    // 3. Who issued it.
    let ca_path = serving_ca(ctx, s);
    let Some(ca_path) = ca_path else {
        return Verdict::Error(format!(
            "{at}: no flag names the CA that should issue its certificate, and the node's layout ({}) names none",
            ctx.layout.name
        ));
    };
    let from = from.map(|p| format!(" from {p}")).unwrap_or_default();
    if leaf.self_issued && leaf.issued_by(leaf) {
        return Verdict::Fail(format!(
            "{at} serves a self-signed certificate (\"{}\"){from}, not one issued by {ca_path}",
            leaf.subject
        ));
    }
    // An intermediate sent with the leaf may stand between it and the CA.
    let chains_to = |ca: &CertInfo| {
        leaf.issued_by(ca)
            || chain[1..]
                .iter()
                .any(|i| leaf.issued_by(i) && i.issued_by(ca))
    };
    match first_cert(ctx, &ca_path) {
        Some(ca) if chains_to(&ca) => Verdict::Pass(format!(
            "{at} serves \"{}\"{from}, issued by {ca_path}",
            leaf.subject
        )),
        Some(ca) => Verdict::Fail(format!(
            "{at} serves \"{}\"{from}, issued by \"{}\" but not by {ca_path} (\"{}\"){}",
            leaf.subject,
            leaf.issuer,
            ca.subject,
            if leaf.issuer == ca.subject {
                ": same name, another key"
            } else {
                ""
            }
        )),
        None => Verdict::Error(format!(
            "{at}: the CA that should have issued its certificate ({ca_path}) was not collected"
        )),
    }
}

fn served_cert(ctx: &NodeCtx<'_>, now: i64) -> Option<Finding> {
    let mut t = Tally::default();
    for (p, s) in tls_ports(ctx) {
        let Some(pem) = &p.served_pem else { continue };
        let at = label(p, s);
        let chain: Vec<CertInfo> = parse_pem(pem).into_iter().map_while(|r| r.ok()).collect();
        if chain.is_empty() {
            t.error
                .push(format!("{at}: the certificate served could not be parsed"));
            continue;
        }
        let Some(s) = s else {
            continue;
        };
        let verdict = judge_served(ctx, s, &at, &chain);
        let leaf = &chain[0];
        if leaf.not_after < now {
            let text = match verdict {
                Verdict::Pass(x) | Verdict::Warn(x) | Verdict::Fail(x) | Verdict::Error(x) => x,
            };
            let on = crate::util::rfc3339(leaf.not_after);
            t.fail.push(format!(
                "{text}; and it expired {} days ago ({on}): clients refuse it",
                (now - leaf.not_after) / 86_400
            ));
            continue;
        }
        match verdict {
            Verdict::Pass(x) => t.pass.push(x),
            Verdict::Warn(x) => t.warn.push(x),
            Verdict::Fail(x) => t.fail.push(x),
            Verdict::Error(x) => t.error.push(x),
        }
    }
    t.finding(
        "served-cert",
        "each port serves the certificate its flags or config name (--tls-cert-file, tlsCertFile, etcd's --cert-file and --peer-cert-file; a bootstrapping kubelet's kubelet-server-current.pem), unexpired and issued by the CA its clients trust (the cluster CA; for etcd, the etcd CA); a pair the kubelet, controller-manager or scheduler generated for itself because it was given none warns",
    )
}

/// Every `tls.*` finding of one node, beside `tls.plaintext`.
/// `now` (seconds since the Unix epoch) is when served certificates are
/// judged expired.
pub fn tls_findings(ctx: &NodeCtx<'_>, now: i64) -> Vec<Finding> {
    if ctx.facts.tls.is_empty() {
        return Vec::new();
    }
    [
        min_version(ctx),
        weak_ciphers(ctx),
        kubelet_anonymous(ctx),
        etcd_client_cert(ctx),
        served_cert(ctx, now),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Certificates served on the node's ports that are not also one of its
/// collected files, labelled by port, for the certificate checks and the
/// certificate table. A pair generated in memory (a controller-manager or
/// scheduler without --tls-cert-file) is labelled as such.
pub fn served_only(
    facts: &crate::facts::NodeFacts,
    files: &[(String, CertInfo)],
) -> Vec<(String, CertInfo)> {
    let mut out: Vec<(String, CertInfo)> = Vec::new();
    for p in &facts.tls {
        let Some(pem) = &p.served_pem else { continue };
        // The leaf, and any chain sent with it.
        let chain: Vec<CertInfo> = parse_pem(pem).into_iter().map_while(|r| r.ok()).collect();
        let pair = chain
            .get(1)
            .is_some_and(|ca| self_generated(&chain[0], ca).is_some());
        for (i, c) in chain.into_iter().enumerate() {
            if files.iter().any(|(_, f)| *f == c) || out.iter().any(|(_, f)| *f == c) {
                continue;
            }
            let at = format!("served on {}:{}", p.address, p.port);
            let label = match (i, pair) {
                (0, false) => at,
                (0, true) => format!("{at} (self-generated)"),
                (1, true) => format!("{at} (chain #2: its self-generated CA)"),
                _ => format!("{at} (chain #{})", i + 1),
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
    use crate::facts::{HelloResult, HttpResult};

    fn node(argv: &[&str], probes: Vec<TlsProbe>) -> NodeFacts {
        let mut n = NodeFacts {
            layout: Some(crate::k8s::layout::forced("kubeadm").unwrap()),
            ..Default::default()
        };
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
        status_at(f, id, 0)
    }

    fn status_at(f: &NodeFacts, id: &str, now: i64) -> Option<(Status, String)> {
        let ctx = NodeCtx::new(f);
        tls_findings(&ctx, now)
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

    /// A node running `components` (kind, argv), holding `files`, and
    /// serving `pem` on `port`, judged at `now`.
    fn served_at(
        components: &[(ComponentKind, &[&str])],
        files: &[(&str, &str)],
        port: u16,
        pem: &str,
        now: i64,
    ) -> (Status, String) {
        use crate::facts::CertificateFacts;
        let mut p = probe(port);
        p.served_pem = Some(pem.to_string());
        let mut n = NodeFacts {
            layout: Some(crate::k8s::layout::forced("kubeadm").unwrap()),
            ..Default::default()
        };
        n.node.name = "cp1".into();
        for (kind, argv) in components {
            n.components.insert(
                *kind,
                ComponentFacts {
                    running: true,
                    argv: argv.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                },
            );
        }
        n.certificates = files
            .iter()
            .map(|(path, pem)| CertificateFacts {
                path: path.to_string(),
                pem: pem.to_string(),
            })
            .collect();
        n.tls = vec![p];
        status_at(&n, "tls.served-cert", now).unwrap()
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn served(
        components: &[(ComponentKind, &[&str])],
        files: &[(&str, &str)],
        port: u16,
        pem: &str,
    ) -> (Status, String) {
        served_at(components, files, port, pem, now())
    }

    const CA: &str = "/etc/kubernetes/pki/ca.crt";
    const KUBELET_CRT: &str = "/var/lib/kubelet/pki/kubelet.crt";
    const KUBELET: &[&str] = &["kubelet", "--config=/var/lib/kubelet/config.yaml"];
    const CM: &[&str] = &["kube-controller-manager", "--bind-address=127.0.0.1"];
    const SCHEDULER: &[&str] = &["kube-scheduler", "--bind-address=127.0.0.1"];

    #[test]
    fn the_certificate_served_must_be_the_flags_file_and_chain_to_its_ca() {
        use crate::certs::test_pki::Pki;
        let pki = Pki::new();
        let leaf = |name: &str, ca: &str| pki.leaf(name, ca, "rsa:2048", "30", "-sha256", "DNS:x");
        let apiserver = leaf("apiserver", "ca");
        let rogue = leaf("rogue", "other");
        let inter = leaf("inter", "ca");
        let via_inter = leaf("via", "inter");
        let ca = pki.pem("ca");
        let files = [
            (CA, ca.as_str()),
            ("/etc/kubernetes/pki/apiserver.crt", apiserver.as_str()),
        ];
        let api = |argv: &'static [&'static str], pem: &str| {
            served(&[(ComponentKind::ApiServer, argv)], &files, 6443, pem)
        };
        let flags: &[&str] = &[
            "kube-apiserver",
            "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
            "--client-ca-file=/etc/kubernetes/pki/ca.crt",
        ];
        let (s, actual) = api(flags, &apiserver);
        assert_eq!(s, Status::Pass, "{actual}");
        assert!(
            actual.contains(
                "from /etc/kubernetes/pki/apiserver.crt, issued by /etc/kubernetes/pki/ca.crt"
            ),
            "{actual}"
        );
        let (s, actual) = api(flags, &rogue);
        assert_eq!(s, Status::Fail);
        assert!(
            actual.contains("not the certificate in /etc/kubernetes/pki/apiserver.crt"),
            "{actual}"
        );
        // No file named: judged by its issuer, through an intermediate too.
        let bare: &[&str] = &["kube-apiserver"];
        assert_eq!(api(bare, &format!("{via_inter}{inter}")).0, Status::Pass);
        let (s, actual) = api(bare, &rogue);
        assert_eq!(s, Status::Fail);
        assert!(
            actual.contains("but not by /etc/kubernetes/pki/ca.crt"),
            "{actual}"
        );
        // A self-signed API server fails.
        let (s, actual) = api(bare, &pki.pem("other"));
        assert_eq!(s, Status::Fail);
        assert!(actual.contains("self-signed"), "{actual}");
    }

    #[test]
    fn the_kubelets_self_generated_pair_warns_and_says_the_way_out() {
        use crate::certs::test_pki::Pki;
        let pki = Pki::new();
        let t = now() - 86_400;
        // What the kubelet writes to /var/lib/kubelet/pki/kubelet.crt when
        // it has neither tlsCertFile nor serverTLSBootstrap, and serves.
        let pair = pki.client_go_pair("kubelet", "node1", "DNS:node1", t, 365);
        let ca = pki.pem("ca");
        let kubelet = [(ComponentKind::Kubelet, KUBELET)];
        let files = [(CA, ca.as_str()), (KUBELET_CRT, pair.as_str())];
        let (s, actual) = served(&kubelet, &files, KUBELET_PORT, &pair);
        assert_eq!(s, Status::Warn, "{actual}");
        for want in [
            ":10250 (kubelet) serves the kubelet's self-generated certificate",
            &format!("\"CN=node1@{t}\", issued by \"CN=node1-ca@{t}\""),
            "which follows it in /var/lib/kubelet/pki/kubelet.crt",
            "serverTLSBootstrap: true",
        ] {
            assert!(actual.contains(want), "no {want:?} in {actual}");
        }
        // Another pair of the same shape is not the kubelet's file:
        // something else answers on its port.
        let impostor = pki.client_go_pair("impostor", "node1", "DNS:node1", t, 365);
        let (s, actual) = served(&kubelet, &files, KUBELET_PORT, &impostor);
        assert_eq!(s, Status::Fail, "{actual}");
        assert!(
            actual.contains("not the certificate in /var/lib/kubelet/pki/kubelet.crt")
                && actual.contains("neither tlsCertFile nor serverTLSBootstrap"),
            "{actual}"
        );
        // Its file not collected: unknown, never a pass.
        let (s, actual) = served(&kubelet, &files[..1], KUBELET_PORT, &pair);
        assert_eq!(s, Status::Error, "{actual}");
        assert!(actual.contains("kubelet.crt"), "{actual}");
        // --cert-dir moves the file.
        let moved = [(
            ComponentKind::Kubelet,
            &["kubelet", "--cert-dir=/srv/kubelet/pki"][..],
        )];
        assert_eq!(served(&moved, &files, KUBELET_PORT, &pair).0, Status::Error);
        let files_moved = [
            (CA, ca.as_str()),
            ("/srv/kubelet/pki/kubelet.crt", pair.as_str()),
        ];
        assert_eq!(
            served(&moved, &files_moved, KUBELET_PORT, &pair).0,
            Status::Warn
        );
        // kubelet.crt holding a certificate of the cluster CA passes; one of
        // another CA fails, even with that CA after it in the file.
        let good = pki.leaf("good", "ca", "rsa:2048", "30", "-sha256", "DNS:node1");
        let files = [(CA, ca.as_str()), (KUBELET_CRT, good.as_str())];
        assert_eq!(
            served(&kubelet, &files, KUBELET_PORT, &good).0,
            Status::Pass
        );
        let other = format!(
            "{}{}",
            pki.leaf("bad", "other", "rsa:2048", "30", "-sha256", "DNS:node1"),
            pki.pem("other")
        );
        let files = [(CA, ca.as_str()), (KUBELET_CRT, other.as_str())];
        let (s, actual) = served(&kubelet, &files, KUBELET_PORT, &other);
        assert_eq!(s, Status::Fail, "{actual}");
        assert!(
            actual.contains("but not by /etc/kubernetes/pki/ca.crt"),
            "{actual}"
        );
    }

    #[test]
    fn in_memory_pairs_of_the_controller_manager_and_scheduler_warn() {
        use crate::certs::test_pki::Pki;
        let pki = Pki::new();
        let t = now() - 3_600;
        // MaybeDefaultWithSelfSignedCerts("localhost", nil, [127.0.0.1])
        // with --bind-address=127.0.0.1: the bind address is added again.
        let sans = "DNS:localhost,IP:127.0.0.1,IP:127.0.0.1";
        let cm_pair = pki.client_go_pair("cm", "localhost", sans, t, 365);
        let sched_pair = pki.client_go_pair("sched", "localhost", sans, t + 1, 365);
        let ca = pki.pem("ca");
        let files = [(CA, ca.as_str())];
        let (s, actual) = served(
            &[(ComponentKind::ControllerManager, CM)],
            &files,
            10257,
            &cm_pair,
        );
        assert_eq!(s, Status::Warn, "{actual}");
        for want in [
            ":10257 (kube-controller-manager) serves the pair kube-controller-manager generates in memory without --tls-cert-file",
            &format!("\"CN=localhost@{t}\", issued by \"CN=localhost-ca@{t}\" (sent with it)"),
            "--tls-cert-file and --tls-private-key-file",
        ] {
            assert!(actual.contains(want), "no {want:?} in {actual}");
        }
        let (s, actual) = served(
            &[(ComponentKind::Scheduler, SCHEDULER)],
            &files,
            10259,
            &sched_pair,
        );
        assert_eq!(s, Status::Warn, "{actual}");
        assert!(
            actual.contains("(kube-scheduler) serves the pair kube-scheduler generates in memory"),
            "{actual}"
        );
        // Without --tls-cert-file nothing else can be served: the leaf
        // alone, or a certificate of the cluster CA, is someone else.
        let leaf_only = &cm_pair[..cm_pair.find("-----END CERTIFICATE-----").unwrap() + 26];
        let (s, actual) = served(
            &[(ComponentKind::ControllerManager, CM)],
            &files,
            10257,
            leaf_only,
        );
        assert_eq!(s, Status::Fail, "{actual}");
        assert!(
            actual.contains("serves only the pair it generates in memory"),
            "{actual}"
        );
        let cluster = pki.leaf(
            "cm-serving",
            "ca",
            "rsa:2048",
            "30",
            "-sha256",
            "DNS:localhost",
        );
        assert_eq!(
            served(
                &[(ComponentKind::ControllerManager, CM)],
                &files,
                10257,
                &cluster
            )
            .0,
            Status::Fail
        );
        // With --tls-cert-file the port must serve that file, from the cluster CA.
        let named: &[&str] = &[
            "kube-controller-manager",
            "--tls-cert-file=/etc/kubernetes/pki/cm-serving.crt",
            "--tls-private-key-file=/etc/kubernetes/pki/cm-serving.key",
        ];
        let with_file = [
            (CA, ca.as_str()),
            ("/etc/kubernetes/pki/cm-serving.crt", cluster.as_str()),
        ];
        let cm = [(ComponentKind::ControllerManager, named)];
        let (s, actual) = served(&cm, &with_file, 10257, &cm_pair);
        assert_eq!(s, Status::Fail, "{actual}");
        assert!(
            actual.contains("not the certificate in /etc/kubernetes/pki/cm-serving.crt")
                && actual
                    .contains("named by kube-controller-manager command line: --tls-cert-file"),
            "{actual}"
        );
        assert_eq!(served(&cm, &with_file, 10257, &cluster).0, Status::Pass);
        // ... and a file from a rogue CA that bears the cluster CA's name fails.
        pki.ca("rogue-ca", "ca");
        let rogue = pki.leaf(
            "rogue-serving",
            "rogue-ca",
            "rsa:2048",
            "30",
            "-sha256",
            "DNS:localhost",
        );
        let with_rogue = [
            (CA, ca.as_str()),
            ("/etc/kubernetes/pki/cm-serving.crt", rogue.as_str()),
        ];
        let (s, actual) = served(&cm, &with_rogue, 10257, &rogue);
        assert_eq!(s, Status::Fail, "{actual}");
        assert!(
            actual.contains("issued by \"CN=ca\" but not by /etc/kubernetes/pki/ca.crt (\"CN=ca\"): same name, another key"),
            "{actual}"
        );
        // With --cert-dir the pair is written there, and judged from the file.
        let dir: &[&str] = &["kube-scheduler", "--cert-dir=/var/run/kubernetes"];
        let in_dir = [
            (CA, ca.as_str()),
            (
                "/var/run/kubernetes/kube-scheduler.crt",
                sched_pair.as_str(),
            ),
        ];
        let (s, actual) = served(
            &[(ComponentKind::Scheduler, dir)],
            &in_dir,
            10259,
            &sched_pair,
        );
        assert_eq!(s, Status::Warn, "{actual}");
        assert!(
            actual.contains("generated into /var/run/kubernetes/kube-scheduler.crt"),
            "{actual}"
        );
        // An API server has no such default: the same pair fails there.
        assert_eq!(
            served(
                &[(ComponentKind::ApiServer, &["kube-apiserver"][..])],
                &files,
                6443,
                &cm_pair
            )
            .0,
            Status::Fail
        );
    }

    #[test]
    fn an_expired_served_certificate_fails_whatever_else_is_right() {
        use crate::certs::test_pki::Pki;
        let pki = Pki::new();
        let apiserver = pki.leaf("apiserver", "ca", "rsa:2048", "30", "-sha256", "DNS:x");
        let ca = pki.pem("ca");
        let files = [
            (CA, ca.as_str()),
            ("/etc/kubernetes/pki/apiserver.crt", apiserver.as_str()),
        ];
        let flags: &[&str] = &[
            "kube-apiserver",
            "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
        ];
        let api = [(ComponentKind::ApiServer, flags)];
        let end = parse_pem(&apiserver).remove(0).unwrap().not_after;
        assert_eq!(
            served_at(&api, &files, 6443, &apiserver, end - 60).0,
            Status::Pass
        );
        let (s, actual) = served_at(&api, &files, 6443, &apiserver, end + 3 * 86_400 + 60);
        assert_eq!(s, Status::Fail, "{actual}");
        assert!(actual.contains("expired 3 days ago"), "{actual}");
        // The kubelet's own pair, once its year is over, fails too.
        let t = now() - 400 * 86_400;
        let pair = pki.client_go_pair("kubelet", "node1", "DNS:node1", t, 365);
        let files = [(CA, ca.as_str()), (KUBELET_CRT, pair.as_str())];
        let (s, actual) = served(
            &[(ComponentKind::Kubelet, KUBELET)],
            &files,
            KUBELET_PORT,
            &pair,
        );
        assert_eq!(s, Status::Fail, "{actual}");
        assert!(
            actual.contains("self-generated") && actual.contains("expired 35 days ago"),
            "{actual}"
        );
    }

    #[test]
    fn served_pairs_generated_in_memory_are_labelled_in_the_certificate_list() {
        use crate::certs::test_pki::Pki;
        let pki = Pki::new();
        let pair = pki.client_go_pair("cm", "localhost", "DNS:localhost,IP:127.0.0.1", now(), 365);
        let mut p = probe(10257);
        p.served_pem = Some(pair.clone());
        let mut kubelet = probe(KUBELET_PORT);
        kubelet.served_pem = Some(pki.leaf("k", "ca", "rsa:2048", "30", "-sha256", "DNS:x"));
        let n = node(&["kube-apiserver"], vec![p, kubelet]);
        let files = [(
            "/var/lib/kubelet/pki/kubelet.crt".to_string(),
            parse_pem(kubelet_pem(&n)).remove(0).unwrap(),
        )];
        let labels: Vec<String> = served_only(&n, &files)
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        assert_eq!(
            labels,
            [
                "served on 10.0.0.1:10257 (self-generated)",
                "served on 10.0.0.1:10257 (chain #2: its self-generated CA)",
            ]
        );
    }

    fn kubelet_pem(n: &NodeFacts) -> &str {
        n.tls[1].served_pem.as_deref().unwrap()
    }
}
