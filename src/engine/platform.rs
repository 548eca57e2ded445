//! Verdicts that a node's platform decides (facts `platform`), each with its
//! stated reason. Nodes without a platform are never changed here.
//!
//! kind (Kubernetes in Docker) builds its nodes as containers, and two CIS
//! expectations cannot be met inside a kind cluster whatever its settings:
//!
//! * 1.1.12 wants etcd's data directory owned by `etcd:etcd`. kind's node
//!   image has no etcd user and kind runs etcd as root, so the directory is
//!   root's by design. A root-owned directory is a `warn` with that reason;
//!   any other owner is a real finding and keeps its `fail`.
//! * `net.etcd-firewall` wants etcd reachable from the control plane only.
//!   Every node container of a kind cluster is on the same bridge network,
//!   with no firewall between containers, so kind cannot isolate etcd. The
//!   finding is a `warn` that says so, with etcd's listen URLs and whatever
//!   attempts were made, instead of no finding (or "could not be tested").
//!   Attempts that prove every worker is kept out keep the ordinary verdict.

use crate::bench::{Check, Fact, FileAttr, FileRef, Rule};
use crate::facts::{ComponentKind, NodeFacts, Platform, ScanStatus};
use crate::k8s::effective::{EtcdListen, NodeCtx, Unresolved};
use crate::util::cap;
use crate::verdict::{Finding, Status};

/// Why a root-owned etcd data directory is a warn on kind.
pub const KIND_ETCD_DATA_DIR: &str = "kind: the kind node image has no etcd user, and kind runs etcd as root inside the node container (its etcd static pod sets no runAsUser), so a root-owned data directory is how kind is built and cannot be changed from inside the cluster; a warn, not a fail. Who else may read it is check 1.1.11 (mode 700). On a production cluster root ownership is a fail: see the remediation.";

/// Why `net.etcd-firewall` is a warn on kind.
pub const KIND_ETCD_FIREWALL: &str = "kind cannot isolate etcd: every node container of a kind cluster is attached to the same container-engine bridge network (the `kind` network), with no firewall between containers, so any worker container can open a connection to etcd on a control-plane container's address. This is how kind is built, not a setting of this cluster; a warn, not a fail. Inside kind, etcd is protected only by its client-certificate authentication (check 2.2); a production cluster must also firewall it.";

fn scanned_kind(nodes: &[NodeFacts]) -> impl Iterator<Item = &NodeFacts> {
    nodes
        .iter()
        .filter(|n| n.scan_status == ScanStatus::Ok && n.platform == Some(Platform::Kind))
}

/// True when any scanned node is a kind node container.
pub fn is_kind(nodes: &[NodeFacts]) -> bool {
    scanned_kind(nodes).next().is_some()
}

/// A node-scope finding, adjusted for the node's platform.
pub fn adjust_node(ctx: &NodeCtx<'_>, rule: &Rule, mut f: Finding) -> Finding {
    if ctx.facts.platform != Some(Platform::Kind)
        || !matches!(f.status, Status::Fail | Status::Warn)
    {
        return f;
    }
    let Some(Check::Test(t)) = &rule.check else {
        return f;
    };
    if !matches!(
        t.fact,
        Fact::File {
            file: FileRef::EtcdDataDir,
            attr: FileAttr::Owner
        }
    ) {
        return f;
    }
    let Ok(set) = ctx.file_set(FileRef::EtcdDataDir) else {
        return f;
    };
    if set.is_empty() || !set.iter().all(|(_, file)| file.uid == Some(0)) {
        return f;
    }
    f.status = Status::Warn;
    f.reason = Some(KIND_ETCD_DATA_DIR.into());
    f
}

/// etcd's client and peer listen URLs on each scanned node that runs it, as
/// the engine resolves them (its `--config-file`, else command line,
/// `ETCD_*` environment and defaults).
fn etcd_listen_urls(nodes: &[NodeFacts]) -> Vec<String> {
    let mut out = Vec::new();
    for n in nodes.iter().filter(|n| n.scan_status == ScanStatus::Ok) {
        if !n.component(ComponentKind::Etcd).is_some_and(|c| c.running) {
            continue;
        }
        out.push(match NodeCtx::new(n).etcd_listen() {
            Ok(l) => format!(
                "etcd on {} listens on {} (clients) and {} (peers)",
                n.node.name,
                EtcdListen::describe(&l.client),
                EtcdListen::describe(&l.peer),
            ),
            Err(Unresolved::NotApplicable(r) | Unresolved::Unreadable(r)) => {
                format!("etcd on {}: listen URLs unknown ({r})", n.node.name)
            }
        });
    }
    out
}

/// The cluster's `net.etcd-firewall` finding, adjusted when the nodes are
/// kind node containers. `computed` is the ordinary finding from `tried`
/// connection attempts, of which `leaks` got through from outside the
/// control plane.
pub fn etcd_firewall(
    nodes: &[NodeFacts],
    computed: Finding,
    tried: usize,
    leaks: &[String],
) -> Finding {
    if !is_kind(nodes) || (tried > 0 && computed.status == Status::Pass) {
        return computed;
    }
    let members = etcd_listen_urls(nodes);
    if members.is_empty() && tried == 0 {
        return Finding {
            status: Status::Skip,
            reason: Some(
                "not applicable: no running etcd was found on the scanned kind nodes".into(),
            ),
            actual: String::new(),
            source: "process list (/proc) of every scanned node".into(),
            ..computed
        };
    }
    let mut actual = members;
    if tried == 0 {
        actual.push("no connection attempts were recorded from the node containers".into());
    } else if !leaks.is_empty() {
        actual.push(computed.actual.clone());
    } else {
        actual.push(format!("{tried} attempts: {}", computed.actual));
    }
    Finding {
        status: Status::Warn,
        reason: Some(KIND_ETCD_FIREWALL.into()),
        actual: cap(&actual.join("; "), super::EVIDENCE_CAP),
        source: "the nodes are kind node containers (facts platform: kind); etcd's --config-file, command line or ETCD_* environment; any TCP attempts made from the nodes".into(),
        // The catalog's remediation follows this note (see `catalogued`).
        remediation: "kind: nothing inside the cluster can firewall etcd; accept this with a waiver for kind clusters and test etcd firewalling on real nodes. Elsewhere:".into(),
        ..computed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ComponentFacts, FileFacts, ReachFacts, ReachOutcome, Role};
    use crate::verdict::NodeReport;

    fn cp(platform: Option<Platform>, uid: u32) -> NodeFacts {
        let mut n = NodeFacts {
            schema_version: 1,
            platform,
            ..Default::default()
        };
        n.node.name = "kind-control-plane".into();
        n.node.roles = vec![Role::ControlPlane, Role::Etcd];
        n.components.insert(
            ComponentKind::Etcd,
            ComponentFacts {
                running: true,
                argv: vec![
                    "etcd".into(),
                    "--data-dir=/var/lib/etcd".into(),
                    "--listen-client-urls=https://127.0.0.1:2379,https://172.18.0.3:2379".into(),
                    "--listen-peer-urls=https://172.18.0.3:2380".into(),
                ],
                ..Default::default()
            },
        );
        n.files.insert(
            "/var/lib/etcd".into(),
            FileFacts {
                exists: true,
                kind: Some(crate::facts::FileKind::Dir),
                mode: Some(crate::facts::Mode(0o700)),
                uid: Some(uid),
                gid: Some(uid),
                user: Some(if uid == 0 { "root" } else { "kindest" }.into()),
                group: Some(if uid == 0 { "root" } else { "kindest" }.into()),
                entries: Some(Vec::new()),
                ..Default::default()
            },
        );
        n
    }

    fn rule_1_1_12(report: &NodeReport) -> &Finding {
        report.results.iter().find(|f| f.id == "1.1.12").unwrap()
    }

    #[test]
    fn a_root_owned_etcd_data_dir_warns_on_kind_and_fails_elsewhere() {
        let bench = crate::bench::load_builtin("cis-1.12").unwrap();
        let host = super::super::evaluate_node(&bench, &cp(None, 0));
        let f = rule_1_1_12(&host);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.reason.is_none(), "{f:?}");

        let kind = super::super::evaluate_node(&bench, &cp(Some(Platform::Kind), 0));
        let f = rule_1_1_12(&kind);
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(f.actual.contains("root:root"), "{}", f.actual);
        assert!(
            f.reason.as_deref().unwrap().contains("no etcd user"),
            "{f:?}"
        );

        // Another owner is not kind's doing: it still fails.
        let odd = super::super::evaluate_node(&bench, &cp(Some(Platform::Kind), 1000));
        let f = rule_1_1_12(&odd);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.reason.is_none(), "{f:?}");
    }

    fn worker(platform: Option<Platform>, tries: &[ReachOutcome]) -> NodeFacts {
        let mut n = NodeFacts {
            platform,
            ..Default::default()
        };
        n.node.name = "kind-worker".into();
        n.node.roles = vec![Role::Worker];
        n.reachability = tries
            .iter()
            .map(|o| ReachFacts {
                target: "kind-control-plane".into(),
                address: "172.18.0.3".into(),
                port: 2379,
                outcome: *o,
                detail: None,
            })
            .collect();
        n
    }

    fn firewall(nodes: &[NodeFacts]) -> Option<Finding> {
        super::super::network::etcd_firewall(nodes).map(|(_, f)| f)
    }

    #[test]
    fn kind_explains_the_etcd_firewall_instead_of_saying_nothing() {
        let kind = Some(Platform::Kind);
        // Reached through docker exec: no attempts at all.
        let f = firewall(&[cp(kind, 0), worker(kind, &[])]).expect("a kind finding");
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.reason
                .as_deref()
                .unwrap()
                .contains("same container-engine bridge")
        );
        assert!(
            f.actual
                .contains("kind-control-plane listens on https://127.0.0.1:2379,https://172.18.0.3:2379 (clients)"),
            "{}",
            f.actual
        );
        assert!(f.actual.contains("no connection attempts"), "{}", f.actual);
        // The same facts without the platform: no attempts, no finding.
        assert!(firewall(&[cp(None, 0), worker(None, &[])]).is_none());

        // Attempts that got through, or could not be made: kind's
        // explanation wins over fail and error, and names who got in.
        let f = firewall(&[cp(kind, 0), worker(kind, &[ReachOutcome::Reachable])]).unwrap();
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.actual.contains("kind-worker -> kind-control-plane"),
            "{}",
            f.actual
        );
        let f = firewall(&[cp(kind, 0), worker(kind, &[ReachOutcome::Error])]).unwrap();
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert_eq!(
            firewall(&[cp(None, 0), worker(None, &[ReachOutcome::Reachable])])
                .unwrap()
                .status,
            Status::Fail
        );

        // Proof that workers are kept out keeps its pass.
        let f = firewall(&[cp(kind, 0), worker(kind, &[ReachOutcome::Filtered])]).unwrap();
        assert_eq!(f.status, Status::Pass, "{f:?}");

        // No etcd anywhere: nothing to isolate.
        let f = firewall(&[worker(kind, &[])]).unwrap();
        assert_eq!(f.status, Status::Skip, "{f:?}");
    }
}
