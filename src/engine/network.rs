//! Checks on what the network does, across nodes.
//!
//! `net.etcd-firewall`: etcd holds every secret of the cluster, so only the
//! control plane may reach its client and peer ports. Each scanned node
//! tried a TCP connection to every etcd member's ports from the node itself
//! (an SSH `direct-tcpip` channel, so the connection really originates
//! there). A worker that gets through fails the check; a control-plane node
//! that cannot warns; a worker whose attempt could not be made is an error.

use crate::facts::{NodeFacts, ReachOutcome, Role, ScanStatus};
use crate::util::cap;
use crate::verdict::{EtcdReach, Finding, Status};

fn outcome_name(o: ReachOutcome) -> &'static str {
    match o {
        ReachOutcome::Reachable => "reachable",
        ReachOutcome::Refused => "refused",
        ReachOutcome::Filtered => "filtered",
        ReachOutcome::Error => "error",
    }
}

/// The reachability matrix and its cluster finding; `None` when no node
/// recorded an attempt (facts from `--local`/`--exec`, or no etcd member),
/// except on kind, whose finding [`super::platform`] explains.
pub fn etcd_firewall(nodes: &[NodeFacts]) -> Option<(Vec<EtcdReach>, Finding)> {
    let mut rows = Vec::new();
    for n in nodes.iter().filter(|n| n.scan_status == ScanStatus::Ok) {
        let control = n.has_role(Role::ControlPlane) || n.has_role(Role::Etcd);
        for r in &n.reachability {
            rows.push(row(&n.node.name, r, control));
        }
    }
    for n in nodes.iter().filter(|n| n.scan_status == ScanStatus::Ok) {
        for r in &n.reachability_from_scanner {
            rows.push(row(SCANNER, r, false));
        }
    }
    if rows.is_empty() && !super::platform::is_kind(nodes) {
        return None;
    }
    let (finding, leaks) = judge(&rows);
    let finding = super::platform::etcd_firewall(nodes, finding, rows.len(), &leaks);
    Some((rows, finding))
}

/// The finding `net.etcd-firewall` from the reachability matrix alone, as
/// a merged report holds it (the union of partial scans' matrices); `None`
/// when nobody tried. Rows of reports made before rows carried their
/// outcome are read from their detail text.
pub fn etcd_firewall_from_rows(rows: &[EtcdReach]) -> Option<Finding> {
    (!rows.is_empty()).then(|| judge(rows).0)
}

fn row(from: &str, r: &crate::facts::ReachFacts, control: bool) -> EtcdReach {
    let detail = match &r.detail {
        Some(d) => format!("{} ({d})", outcome_name(r.outcome)),
        None => outcome_name(r.outcome).to_string(),
    };
    EtcdReach {
        from: from.to_string(),
        to: format!("{} {}:{}", r.target, r.address, r.port),
        reachable: r.outcome == ReachOutcome::Reachable,
        expected: Some(control),
        detail: Some(cap(&detail, 300)),
        outcome: Some(outcome_name(r.outcome).to_string()),
    }
}

/// A row's outcome: its own field, else the first word of its detail.
fn row_outcome(r: &EtcdReach) -> ReachOutcome {
    if r.reachable {
        return ReachOutcome::Reachable;
    }
    let word = r
        .outcome
        .as_deref()
        .or_else(|| {
            r.detail
                .as_deref()
                .and_then(|d| d.split_whitespace().next())
        })
        .unwrap_or("error");
    match word {
        "reachable" => ReachOutcome::Reachable,
        "refused" => ReachOutcome::Refused,
        "filtered" => ReachOutcome::Filtered,
        _ => ReachOutcome::Error,
    }
}

/// The verdict over the matrix, and the leaks (for the platform's say).
fn judge(rows: &[EtcdReach]) -> (Finding, Vec<String>) {
    let mut leaks = Vec::new();
    let mut unproven = Vec::new();
    let mut cut_off = Vec::new();
    let mut outside = Vec::new();
    let mut outside_notes = Vec::new();
    let tried = rows.len();
    for r in rows {
        let outcome = row_outcome(r);
        let detail = r
            .detail
            .clone()
            .unwrap_or_else(|| outcome_name(outcome).to_string());
        if r.from == SCANNER {
            match outcome {
                ReachOutcome::Reachable => outside.push(r.to.clone()),
                ReachOutcome::Error => outside_notes.push(format!("{}: {detail}", r.to)),
                _ => {}
            }
            continue;
        }
        let pair = format!("{} -> {}", r.from, r.to);
        match (r.expected.unwrap_or(false), outcome) {
            (false, ReachOutcome::Reachable) => leaks.push(pair),
            (false, ReachOutcome::Error) => unproven.push(format!("{pair}: {detail}")),
            (true, ReachOutcome::Reachable) => {}
            (true, _) => cut_off.push(format!("{pair}: {detail}")),
            _ => {}
        }
    }
    let list = |v: &[String]| crate::util::listing(v, 10);
    let (status, actual) = if !leaks.is_empty() {
        (
            Status::Fail,
            format!("reachable from outside the control plane: {}", list(&leaks)),
        )
    } else if !unproven.is_empty() {
        (
            Status::Error,
            format!("could not be tested: {}", list(&unproven)),
        )
    } else if !cut_off.is_empty() || !outside.is_empty() {
        let mut text = Vec::new();
        if !outside.is_empty() {
            text.push(format!(
                "no worker gets through, but the scanning machine, outside the cluster, does: {}",
                list(&outside)
            ));
        }
        if !cut_off.is_empty() {
            text.push(format!(
                "no worker gets through, but some control-plane nodes cannot reach etcd either: {}",
                list(&cut_off)
            ));
        }
        (Status::Warn, text.join("; "))
    } else {
        (
            Status::Pass,
            format!(
                "{tried} attempts: every worker refused or filtered, every control-plane node reached etcd"
            ),
        )
    };
    let finding = Finding {
        reason: (status == Status::Error).then(|| "some connection attempts could not be made".to_string()),
        expected: "etcd client and peer ports refused or filtered from every worker, reachable from the control plane".into(),
        actual: cap(&actual, super::EVIDENCE_CAP),
        source: "TCP connections opened from each node through its own SSH session (direct-tcpip); nothing sent".into(),
        ..super::own_finding("net.etcd-firewall", status)
    };
    let mut finding = finding;
    if !outside_notes.is_empty() {
        finding.actual = cap(
            &format!(
                "{}; not tried from the scanning machine: {}",
                finding.actual,
                list(&outside_notes)
            ),
            super::EVIDENCE_CAP,
        );
    }
    (finding, leaks)
}

/// How the report names the scanning machine in the reachability matrix.
pub const SCANNER: &str = "(scanning machine)";

/// Ports that speak plain HTTP by design: kubelet and kube-proxy health checks.
pub const PLAINTEXT_BY_DESIGN: [u16; 2] = [10248, 10256];

/// Plaintext ports that fail wherever they listen, loopback included, and
/// why: what they serve, they serve to any local process without
/// authentication.
pub const PLAINTEXT_NEVER: [(u16, &str); 2] = [
    (
        8080,
        "an insecure API port serves the whole API with no authentication or authorization",
    ),
    (
        10255,
        "the kubelet's read-only port serves its pods and node details without authentication",
    ),
];

fn never_plaintext(port: u16) -> Option<&'static str> {
    PLAINTEXT_NEVER
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, why)| *why)
}

/// Who holds a probed port, as the node's socket list says, e.g.
/// `kubelet, pid 700`.
fn holder(facts: &NodeFacts, p: &crate::facts::TlsProbe) -> Option<String> {
    let wild = ["*", "0.0.0.0", "::", "[::]"];
    let s = facts.sockets.iter().find(|s| {
        s.port == p.port
            && (s.address == p.address
                || (wild.contains(&s.address.as_str()) && p.address == facts.node.address))
    })?;
    match (&s.process, s.pid) {
        (Some(name), Some(pid)) => Some(format!("{name}, pid {pid}")),
        (Some(name), None) => Some(name.clone()),
        (None, Some(pid)) => Some(format!("pid {pid}")),
        (None, None) => None,
    }
}

fn is_loopback(address: &str) -> bool {
    crate::k8s::value::is_loopback_address(address)
}

/// "issued by ..., expires ...", or "self-signed", for a served certificate.
fn chain_summary(pem: &str) -> Option<String> {
    let certs = crate::certs::parse_pem(pem);
    let c = certs.first()?.as_ref().ok()?;
    let expires = crate::util::rfc3339(c.not_after);
    let more = match certs.len() {
        1 => String::new(),
        n => format!(", with {} more in the chain", n - 1),
    };
    Some(if c.self_issued {
        format!("self-signed, expires {expires}{more}")
    } else {
        format!("issued by {}, expires {expires}{more}", c.issuer)
    })
}

fn hello_text(what: &str, h: &crate::facts::HelloResult) -> String {
    use crate::facts::HelloOutcome;
    match h.outcome {
        HelloOutcome::Accepted => format!(
            "{what} accepted ({} {})",
            h.version.as_deref().unwrap_or(""),
            h.suite.as_deref().unwrap_or("")
        ),
        HelloOutcome::Refused => format!("{what} refused"),
        HelloOutcome::Error => format!(
            "{what} not tested ({})",
            h.detail.as_deref().unwrap_or("error")
        ),
    }
}

/// How one port fares on its own, for the matrix's colours (the findings
/// judge the node as a whole): plaintext on the network, TLS below 1.2, a
/// broken suite or an anonymous `/pods` fail; plaintext on loopback or a
/// suite outside the recommended ones warns; plaintext health checks pass.
fn port_verdict(p: &crate::facts::TlsProbe) -> Option<Status> {
    use crate::facts::{HelloOutcome, PortState};
    use crate::probe::hello::{Tier, suite_tier};
    let accepted = |h: &Option<crate::facts::HelloResult>| {
        h.as_ref()
            .filter(|h| h.outcome == HelloOutcome::Accepted)
            .map(|h| h.suite.clone().unwrap_or_default())
    };
    Some(match p.state {
        PortState::Error => return None,
        PortState::Plaintext if PLAINTEXT_BY_DESIGN.contains(&p.port) => Status::Pass,
        PortState::Plaintext if never_plaintext(p.port).is_some() => Status::Fail,
        PortState::Plaintext if is_loopback(&p.address) => Status::Warn,
        PortState::Plaintext => Status::Fail,
        PortState::Tls => {
            let weak = accepted(&p.weak);
            if accepted(&p.legacy).is_some()
                || weak.as_deref().and_then(suite_tier) == Some(Tier::Insecure)
                || p.http
                    .as_ref()
                    .and_then(|h| h.status)
                    .is_some_and(|c| c != 401 && c != 403)
            {
                Status::Fail
            } else if weak.is_some() {
                Status::Warn
            } else {
                Status::Pass
            }
        }
    })
}

/// What each probed port of a node speaks, as report rows.
pub fn tls_rows(facts: &NodeFacts) -> Vec<crate::verdict::TlsPort> {
    use crate::facts::PortState;
    // etcd's ports are where its listen URLs say (its --config-file may
    // move them), before the well-known ones.
    let etcd = crate::k8s::effective::NodeCtx::new(facts)
        .etcd_listen()
        .ok();
    let etcd_port = |port: u16| {
        let l = etcd.as_ref()?;
        [
            (l.client_ports(), "etcd client"),
            (l.peer_ports(), "etcd peer"),
            (l.metrics_ports(), "etcd metrics"),
        ]
        .into_iter()
        .find(|(ports, _)| ports.contains(&port))
        .map(|(_, name)| name.to_string())
    };
    facts
        .tls
        .iter()
        .map(|p| crate::verdict::TlsPort {
            node: facts.node.name.clone(),
            port: p.port,
            component: etcd_port(p.port).or_else(|| {
                crate::k8s::ports::COMPONENT_PORTS
                    .iter()
                    .find(|(port, _)| *port == p.port)
                    .map(|(_, c)| c.to_string())
            }),
            state: match p.state {
                PortState::Tls => "tls",
                PortState::Plaintext => "plaintext",
                PortState::Error => "error",
            }
            .into(),
            verdict: port_verdict(p).map(|s| s.as_str().to_string()),
            detail: Some(cap(
                &[
                    Some(p.address.clone()),
                    p.version.clone(),
                    p.cipher.clone(),
                    match (p.client_cert_requested, p.client_cert_required) {
                        (_, Some(true)) => Some("client certificate required".to_string()),
                        (true, _) => Some("client certificate requested".to_string()),
                        _ => None,
                    },
                    p.subject.clone(),
                    p.served_pem.as_deref().and_then(chain_summary),
                    p.legacy.as_ref().map(|h| hello_text("TLS 1.0/1.1", h)),
                    p.weak.as_ref().map(|h| hello_text("weak suites", h)),
                    p.http.as_ref().map(|h| {
                        format!(
                            "anonymous GET {}: {}",
                            h.path,
                            h.status
                                .map(|c| c.to_string())
                                .or_else(|| h.detail.clone())
                                .unwrap_or_else(|| "no answer".into())
                        )
                    }),
                    p.detail.clone(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
                600,
            )),
        })
        .collect()
}

/// `tls.plaintext`: no Kubernetes port answers in clear on a network
/// address (fail), nor on loopback (warn), except the health checks that
/// are plaintext by design; an insecure API port or the kubelet's
/// read-only port fails wherever it listens. `None` when nothing was
/// probed.
pub fn plaintext_finding(facts: &NodeFacts) -> Option<Finding> {
    use crate::facts::PortState;
    if facts.tls.is_empty() {
        return None;
    }
    let mut exposed = Vec::new();
    let mut never = Vec::new();
    let mut local = Vec::new();
    let mut unproven = Vec::new();
    for p in &facts.tls {
        let at = format!("{}:{}", p.address, p.port);
        let held = holder(facts, p)
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        match p.state {
            PortState::Plaintext if PLAINTEXT_BY_DESIGN.contains(&p.port) => {}
            PortState::Plaintext => match never_plaintext(p.port) {
                Some(why) => never.push(format!("{at}{held}: {why}")),
                None if is_loopback(&p.address) => local.push(format!("{at}{held}")),
                None => exposed.push(format!("{at}{held}")),
            },
            PortState::Error => unproven.push(format!(
                "{at} ({})",
                p.detail.as_deref().unwrap_or("no answer")
            )),
            PortState::Tls => {}
        }
    }
    let tls: Vec<String> = facts
        .tls
        .iter()
        .filter(|p| p.state == PortState::Tls)
        .map(|p| {
            format!(
                "{}:{} {}",
                p.address,
                p.port,
                p.version.as_deref().unwrap_or("TLS")
            )
        })
        .collect();
    let (status, actual) = if !exposed.is_empty() || !never.is_empty() {
        let mut parts = Vec::new();
        if !never.is_empty() {
            parts.push(format!(
                "plaintext where it must never be: {}",
                never.join("; ")
            ));
        }
        if !exposed.is_empty() {
            parts.push(format!(
                "plaintext on a network address: {}",
                exposed.join(", ")
            ));
        }
        (Status::Fail, parts.join("; "))
    } else if !unproven.is_empty() {
        (
            Status::Error,
            format!("could not be probed: {}", unproven.join("; ")),
        )
    } else if !local.is_empty() {
        (
            Status::Warn,
            format!("plaintext on loopback only: {}", local.join(", ")),
        )
    } else {
        (Status::Pass, format!("TLS on {}", tls.join(", ")))
    };
    Some(Finding {
        reason: (status == Status::Error).then(|| "some ports could not be probed".to_string()),
        expected: format!(
            "TLS on every Kubernetes port; plaintext allowed only for the health checks on {}, and never on {} (not even on loopback)",
            PLAINTEXT_BY_DESIGN.map(|p| p.to_string()).join(" and "),
            PLAINTEXT_NEVER.map(|(p, _)| p.to_string()).join(" or ")
        ),
        actual: cap(&actual, super::EVIDENCE_CAP),
        source: format!(
            "probes from the node itself: a TLS ClientHello to every port, and, to a port that stays silent, one plain `{}` on a second connection",
            crate::probe::job::GET_REQUEST_LINE
        ),
        ..super::own_finding("tls.plaintext", status)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ReachFacts;

    fn node(name: &str, role: Role, tries: &[(&str, ReachOutcome)]) -> NodeFacts {
        let mut n = NodeFacts::default();
        n.node.name = name.into();
        n.node.roles = vec![role];
        n.reachability = tries
            .iter()
            .map(|(t, o)| ReachFacts {
                target: t.to_string(),
                address: "10.0.0.11".into(),
                port: 2379,
                outcome: *o,
                detail: None,
            })
            .collect();
        n
    }

    #[test]
    fn a_worker_that_reaches_etcd_fails_the_cluster() {
        let nodes = [
            node("w1", Role::Worker, &[("cp1", ReachOutcome::Filtered)]),
            node("w2", Role::Worker, &[("cp1", ReachOutcome::Reachable)]),
            node(
                "cp2",
                Role::ControlPlane,
                &[("cp1", ReachOutcome::Reachable)],
            ),
        ];
        let (rows, f) = etcd_firewall(&nodes).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.actual.contains("w2 -> cp1 10.0.0.11:2379"),
            "{}",
            f.actual
        );
        assert!(!f.actual.contains("w1 ->"));
    }

    fn probed(ports: &[(&str, u16, crate::facts::PortState)]) -> NodeFacts {
        let mut n = NodeFacts::default();
        n.node.name = "n1".into();
        n.tls = ports
            .iter()
            .map(|(a, p, s)| crate::facts::TlsProbe::new(a, *p, *s))
            .collect();
        n
    }

    #[test]
    fn plaintext_fails_on_the_network_warns_on_loopback_and_health_checks_are_exempt() {
        use crate::facts::PortState::{Error, Plaintext, Tls};
        let f = |ports| plaintext_finding(&probed(ports)).unwrap();
        assert_eq!(
            f(&[
                ("10.0.0.5", 10250, Tls),
                ("10.0.0.5", 10256, Plaintext),
                ("127.0.0.1", 10248, Plaintext)
            ])
            .status,
            Status::Pass
        );
        assert_eq!(f(&[("127.0.0.1", 10249, Plaintext)]).status, Status::Warn);
        let fail = f(&[
            ("127.0.0.1", 10249, Plaintext),
            ("10.0.0.5", 10255, Plaintext),
        ]);
        assert_eq!(fail.status, Status::Fail);
        assert!(
            fail.actual.contains("10.0.0.5:10255") && !fail.actual.contains("10249"),
            "{}",
            fail.actual
        );
        assert_eq!(f(&[("10.0.0.5", 10250, Error)]).status, Status::Error);
        assert!(plaintext_finding(&probed(&[])).is_none());
        // An insecure API port and the kubelet's read-only port fail even
        // on loopback, and say why, and who holds them.
        for port in [8080, 10255] {
            let mut n = probed(&[("127.0.0.1", port, Plaintext)]);
            n.sockets.push(crate::facts::SocketFacts {
                protocol: "tcp".into(),
                address: "127.0.0.1".into(),
                port,
                pid: Some(42),
                process: Some("kubectl".into()),
            });
            let never = plaintext_finding(&n).unwrap();
            assert_eq!(never.status, Status::Fail, "{port}: {}", never.actual);
            assert!(
                never
                    .actual
                    .contains(&format!("127.0.0.1:{port} (kubectl, pid 42): ")),
                "{}",
                never.actual
            );
            assert!(
                never.actual.contains("without authentication")
                    || never.actual.contains("no authentication")
            );
        }
        let rows = tls_rows(&probed(&[
            ("10.0.0.5", 10255, Plaintext),
            ("127.0.0.1", 10249, Plaintext),
            ("10.0.0.5", 10256, Plaintext),
            ("10.0.0.5", 10250, Tls),
        ]));
        assert_eq!(
            (rows[0].state.as_str(), rows[0].component.as_deref()),
            ("plaintext", Some("kubelet read-only port"))
        );
        // Each port coloured by what it means on its own.
        let verdicts: Vec<_> = rows.iter().map(|r| r.verdict.as_deref()).collect();
        assert_eq!(
            verdicts,
            [Some("fail"), Some("warn"), Some("pass"), Some("pass")]
        );
    }

    #[test]
    fn etcd_reachable_from_the_scanning_machine_warns() {
        let mut cp = node("cp1", Role::ControlPlane, &[]);
        cp.reachability_from_scanner = vec![ReachFacts {
            target: "cp1".into(),
            address: "10.0.0.11".into(),
            port: 2379,
            outcome: ReachOutcome::Reachable,
            detail: None,
        }];
        let w = node("w1", Role::Worker, &[("cp1", ReachOutcome::Filtered)]);
        let (rows, f) = etcd_firewall(&[cp.clone(), w.clone()]).unwrap();
        assert_eq!(f.status, Status::Warn, "{}", f.actual);
        assert!(
            f.actual
                .contains("the scanning machine, outside the cluster, does: cp1 10.0.0.11:2379"),
            "{}",
            f.actual
        );
        assert!(rows.iter().any(|r| r.from == SCANNER && r.reachable));
        cp.reachability_from_scanner[0].outcome = ReachOutcome::Filtered;
        assert_eq!(etcd_firewall(&[cp, w]).unwrap().1.status, Status::Pass);
    }

    #[test]
    fn blocked_workers_pass_and_cut_off_control_planes_warn() {
        let ok = [
            node("w1", Role::Worker, &[("cp1", ReachOutcome::Refused)]),
            node(
                "cp2",
                Role::ControlPlane,
                &[("cp1", ReachOutcome::Reachable)],
            ),
        ];
        assert_eq!(etcd_firewall(&ok).unwrap().1.status, Status::Pass);
        let cut = [node(
            "cp2",
            Role::ControlPlane,
            &[("cp1", ReachOutcome::Filtered)],
        )];
        assert_eq!(etcd_firewall(&cut).unwrap().1.status, Status::Warn);
        let unproven = [node("w1", Role::Worker, &[("cp1", ReachOutcome::Error)])];
        assert_eq!(etcd_firewall(&unproven).unwrap().1.status, Status::Error);
        assert!(etcd_firewall(&[node("w1", Role::Worker, &[])]).is_none());
    }
}
