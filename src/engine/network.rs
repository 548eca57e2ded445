//! Checks on what the network does, across nodes.
//!
//! `net.etcd-firewall`: etcd holds every secret of the cluster, so only the
//! control plane may reach its client and peer ports. Each scanned node
//! tried a TCP connection to every etcd member's ports from the node itself
//! (an SSH `direct-tcpip` channel, so the connection really originates
//! there). A worker that gets through fails the check; a control-plane node
//! that cannot warns; a worker whose attempt could not be made is an error.

use crate::facts::{NodeFacts, ReachOutcome, Role, ScanStatus};
use crate::report::{EtcdReach, Finding, Status, cap};

/// Section id of the network checks.
pub const NET_SECTION: &str = "net";

fn outcome_name(o: ReachOutcome) -> &'static str {
    match o {
        ReachOutcome::Reachable => "reachable",
        ReachOutcome::Refused => "refused",
        ReachOutcome::Filtered => "filtered",
        ReachOutcome::Error => "error",
    }
}

/// The reachability matrix and its cluster finding; `None` when no node
/// recorded an attempt (facts from `--local`/`--exec`, or no etcd member).
pub fn etcd_firewall(nodes: &[NodeFacts]) -> Option<(Vec<EtcdReach>, Finding)> {
    let mut rows = Vec::new();
    let mut leaks = Vec::new();
    let mut unproven = Vec::new();
    let mut cut_off = Vec::new();
    let mut tried = 0;
    for n in nodes.iter().filter(|n| n.scan_status == ScanStatus::Ok) {
        let control = n.has_role(Role::ControlPlane) || n.has_role(Role::Etcd);
        for r in &n.reachability {
            tried += 1;
            let pair = format!("{} -> {} {}:{}", n.node.name, r.target, r.address, r.port);
            let detail = match &r.detail {
                Some(d) => format!("{} ({d})", outcome_name(r.outcome)),
                None => outcome_name(r.outcome).to_string(),
            };
            rows.push(EtcdReach {
                from: n.node.name.clone(),
                to: format!("{} {}:{}", r.target, r.address, r.port),
                reachable: r.outcome == ReachOutcome::Reachable,
                expected: Some(control),
                detail: Some(cap(&detail, 300)),
            });
            match (control, r.outcome) {
                (false, ReachOutcome::Reachable) => leaks.push(pair),
                (false, ReachOutcome::Error) => unproven.push(format!("{pair}: {detail}")),
                (true, ReachOutcome::Reachable) => {}
                (true, _) => cut_off.push(format!("{pair}: {detail}")),
                _ => {}
            }
        }
    }
    if tried == 0 {
        return None;
    }
    let list = |v: &[String]| {
        let mut s = v.iter().take(10).cloned().collect::<Vec<_>>().join("; ");
        if v.len() > 10 {
            s.push_str(&format!("; and {} more", v.len() - 10));
        }
        s
    };
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
    } else if !cut_off.is_empty() {
        (
            Status::Warn,
            format!(
                "no worker gets through, but some control-plane nodes cannot reach etcd either: {}",
                list(&cut_off)
            ),
        )
    } else {
        (
            Status::Pass,
            format!(
                "{tried} attempts: every worker refused or filtered, every control-plane node reached etcd"
            ),
        )
    };
    let finding = Finding {
        id: "net.etcd-firewall".into(),
        title: "Only the control plane can reach etcd".into(),
        section: NET_SECTION.into(),
        scored: true,
        level: 1,
        status,
        reason: (status == Status::Error).then(|| "some connection attempts could not be made".to_string()),
        expected: "etcd client and peer ports refused or filtered from every worker, reachable from the control plane".into(),
        actual: cap(&actual, super::EVIDENCE_CAP),
        source: "TCP connections opened from each node through its own SSH session (direct-tcpip); nothing sent".into(),
        remediation: "Firewall etcd's client and peer ports (2379, 2380 by default) on every etcd member so that only control-plane addresses may connect (host firewall or security groups), and keep --client-cert-auth and --peer-client-cert-auth on as a second line.".into(),
        waiver: None,
    };
    Some((rows, finding))
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
