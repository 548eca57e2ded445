//! The scan: collect facts from every node in parallel.
//!
//! This is the one place where nodes run in parallel (a rayon pool sized by
//! `--concurrency`). Each node gets its own transport; a node that fails,
//! hangs or refuses us ends with its scan status and reason, and never holds
//! up or stops the others.

use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::collect::{CollectOptions, collect};
use crate::facts::{
    ComponentKind, NodeFacts, NodeIdentity, Platform, ReachFacts, Role, ScanStatus,
};
use crate::inventory::NodeSpec;
use crate::k8s::effective::NodeCtx;
use crate::transport::process::{ExecTransport, LocalTransport};
use crate::transport::ssh::{SshOptions, SshTransport};
use crate::transport::{Limits, Transport};

/// How nodes are reached.
#[derive(Clone)]
pub enum Via {
    Ssh(SshOptions),
    /// This machine, through `sh` (or `sudo -n sh` when `sudo`).
    Local {
        sudo: bool,
    },
    /// A command template with `{node}`, e.g. `docker exec -i {node} sh`.
    Exec {
        template: String,
    },
}

#[derive(Clone)]
pub struct ScanPlan {
    pub nodes: Vec<NodeSpec>,
    pub via: Via,
    pub concurrency: usize,
    pub collect: CollectOptions,
    /// Probe the network (etcd reachability, TLS on the ports) after
    /// collecting: over SSH channels, or through a relay run by a shell on
    /// the node (exec transports, sshd without forwarding), or directly
    /// (`--local`).
    pub probes: bool,
    /// Extra SSH sessions per node over which the probes' channels are
    /// spread (see `SshTransport::with_probe_sessions`).
    pub probe_sessions: usize,
    /// Also try every etcd member's ports from this machine, to see
    /// whether etcd is reachable from outside the cluster.
    pub probe_from_here: bool,
    /// What the nodes are (kind node containers...), recorded in each
    /// node's facts; `None` for ordinary hosts.
    pub platform: Option<Platform>,
    /// Read the cluster's objects through a control-plane node's kubectl
    /// (`None`: `--no-api`).
    pub api: Option<ApiPlan>,
}

/// Where the cluster's objects are read.
#[derive(Clone, Debug, Default)]
pub struct ApiPlan {
    /// The node whose kubectl runs (`--api-node`); by default the first
    /// control-plane node scanned.
    pub node: Option<String>,
    /// The kubeconfig on that node (`--api-kubeconfig`); by default the
    /// layout's admin kubeconfigs.
    pub kubeconfig: Option<String>,
    /// Read them from this machine instead, with this kubeconfig
    /// (`--kubeconfig`), for managed clusters.
    pub local_kubeconfig: Option<std::path::PathBuf>,
    /// The context of that kubeconfig (`--context`); by default its current
    /// one.
    pub context: Option<String>,
}

/// One node's result.
pub struct NodeOutcome {
    pub facts: NodeFacts,
    pub elapsed: Duration,
}

/// Roles seen on a node, for nodes the user gave without roles, and how
/// they were found: from the components that run there, or guessed
/// (worker) when no Kubernetes component was found at all, which the report
/// must say, since every check of such a node is then beside the point.
pub fn detect_roles(facts: &NodeFacts) -> (Vec<Role>, String) {
    let present = |k: ComponentKind| {
        facts
            .component(k)
            .is_some_and(|c| c.running || c.manifest.is_some())
    };
    let mut roles = Vec::new();
    let mut seen = Vec::new();
    if present(ComponentKind::ApiServer) {
        roles.push(Role::ControlPlane);
        seen.push("kube-apiserver");
    }
    if present(ComponentKind::Etcd) {
        roles.push(Role::Etcd);
        seen.push("etcd");
    }
    if !roles.is_empty() {
        return (
            roles,
            format!("detected from {} on the node", seen.join(" and ")),
        );
    }
    let found: Vec<&str> = facts
        .components
        .iter()
        .filter(|(_, c)| c.running || c.manifest.is_some())
        .map(|(k, _)| k.binary())
        .collect();
    let how = if found.is_empty() {
        "guessed: no Kubernetes component (kube-apiserver, etcd, kubelet, ...) was found on the node".to_string()
    } else {
        format!(
            "detected from {} on the node, with no kube-apiserver or etcd",
            found.join(", ")
        )
    };
    (vec![Role::Worker], how)
}

/// `probe_sessions`: extra SSH sessions for the probes (0 when no probes).
fn transport(spec: &NodeSpec, via: &Via, probe_sessions: usize) -> Box<dyn Transport> {
    // Every transport waits for the collector to start as long as it would
    // for an SSH login: the node's connect timeout.
    let limits = Limits {
        command_timeout: spec.command_timeout,
        start_timeout: spec.connect_timeout,
        ..Limits::default()
    };
    match via {
        Via::Ssh(opts) => Box::new(
            SshTransport::new(spec.clone(), opts.clone()).with_probe_sessions(probe_sessions),
        ),
        Via::Local { sudo } => Box::new(LocalTransport {
            name: spec.name.clone(),
            sudo: *sudo,
            limits,
        }),
        Via::Exec { template } => Box::new(ExecTransport {
            name: spec.name.clone(),
            template: template.clone(),
            limits,
        }),
    }
}

/// Scans one node.
pub fn scan_node(spec: &NodeSpec, via: &Via, opts: CollectOptions) -> NodeOutcome {
    scan_node_keep(spec, via, opts, None, 0).0
}

/// Scans one node and keeps its transport (its SSH session) for the
/// reachability probes.
fn scan_node_keep(
    spec: &NodeSpec,
    via: &Via,
    opts: CollectOptions,
    platform: Option<Platform>,
    probe_sessions: usize,
) -> (NodeOutcome, Box<dyn Transport>) {
    let started = Instant::now();
    let identity = NodeIdentity {
        name: spec.name.clone(),
        address: spec.address.clone(),
        roles: spec.roles.clone(),
        ..Default::default()
    };
    let mut t = transport(spec, via, probe_sessions);
    let mut facts = collect(t.as_mut(), identity, opts);
    facts.platform = platform;
    facts.scan_duration_ms = Some(started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64);
    if spec.roles.is_empty() && facts.scan_status == ScanStatus::Ok {
        let (roles, how) = detect_roles(&facts);
        facts.node.roles = roles;
        facts.node.roles_detected = Some(how);
    }
    (
        NodeOutcome {
            facts,
            elapsed: started.elapsed(),
        },
        t,
    )
}

/// How long a reachability probe waits for the target to answer.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(2);

/// The etcd members among the scanned nodes: name, address and the client
/// and peer ports they listen on, as the engine resolves etcd's listen URLs
/// ([`NodeCtx::etcd_listen`]: the `--config-file` alone when etcd has one,
/// else flags, `ETCD_*` and etcd's defaults). When they cannot be resolved
/// (an unreadable config file), the ports etcd's process is seen listening
/// on outside loopback are tried instead, so the member is not left out.
pub fn etcd_members<'a>(
    nodes: impl IntoIterator<Item = &'a NodeFacts>,
) -> Vec<(String, String, Vec<u16>)> {
    let mut out = Vec::new();
    for n in nodes
        .into_iter()
        .filter(|n| n.scan_status == ScanStatus::Ok)
    {
        let Some(etcd) = n.component(ComponentKind::Etcd).filter(|c| c.running) else {
            continue;
        };
        let ports = match NodeCtx::new(n).etcd_listen() {
            Ok(listen) => listen.member_ports(),
            Err(_) => {
                let mut ports = Vec::new();
                for s in n.sockets.iter().filter(|s| {
                    (s.pid.is_some() && s.pid == etcd.pid || s.process.as_deref() == Some("etcd"))
                        && !crate::k8s::value::is_loopback_address(&s.address)
                }) {
                    if !ports.contains(&s.port) {
                        ports.push(s.port);
                    }
                }
                ports
            }
        };
        out.push((n.node.name.clone(), n.node.address.clone(), ports));
    }
    out
}

/// From every scanned node that is not itself an etcd member, tries every
/// member's etcd ports; the outcomes go into the source node's facts.
fn probe_etcd_reachability(pairs: &mut [(NodeOutcome, Box<dyn Transport>)]) {
    let members = etcd_members(pairs.iter().map(|(o, _)| &o.facts));
    if members.is_empty() {
        return;
    }
    pairs.par_iter_mut().for_each(|(o, t)| {
        if o.facts.scan_status != ScanStatus::Ok {
            return;
        }
        let name = o.facts.node.name.clone();
        for (member, address, ports) in &members {
            if *member == name {
                continue;
            }
            for port in ports {
                let Some((outcome, detail)) = t.reach(address, *port, REACH_TIMEOUT) else {
                    return;
                };
                o.facts.reachability.push(ReachFacts {
                    target: member.clone(),
                    address: address.clone(),
                    port: *port,
                    outcome,
                    detail,
                });
            }
        }
    });
}

/// Tries every etcd member's ports from this machine (plain TCP, nothing
/// sent); the outcomes go into the member's facts.
fn probe_etcd_from_here(pairs: &mut [(NodeOutcome, Box<dyn Transport>)]) {
    let members = etcd_members(pairs.iter().map(|(o, _)| &o.facts));
    let tries: Vec<(String, String, u16)> = members
        .into_iter()
        .flat_map(|(name, address, ports)| {
            ports
                .into_iter()
                .map(move |p| (name.clone(), address.clone(), p))
        })
        .collect();
    let results: Vec<(String, ReachFacts)> = tries
        .par_iter()
        .map(|(name, address, port)| {
            let (outcome, detail) =
                crate::transport::process::tcp_reach(address, *port, REACH_TIMEOUT);
            (
                name.clone(),
                ReachFacts {
                    target: name.clone(),
                    address: address.clone(),
                    port: *port,
                    outcome,
                    detail,
                },
            )
        })
        .collect();
    for (name, r) in results {
        if let Some((o, _)) = pairs.iter_mut().find(|(o, _)| o.facts.node.name == name) {
            o.facts.reachability_from_scanner.push(r);
        }
    }
}

/// How long a port probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The `(address, port)` pairs to probe on a node: every listening socket
/// on a Kubernetes port (or the API server's `--secure-port`), and every
/// other one a component listens on, with wildcard addresses replaced by
/// the node's address.
pub fn probe_targets(facts: &NodeFacts) -> Vec<(String, u16)> {
    let mut ports: Vec<u16> = crate::k8s::ports::COMPONENT_PORTS
        .iter()
        .map(|(p, _)| *p)
        .collect();
    if let Some(api) = facts
        .component(ComponentKind::ApiServer)
        .filter(|c| c.running)
    {
        let args = crate::k8s::argv::parse_argv(ComponentKind::ApiServer, &api.argv);
        if let Some(p) = args.value("--secure-port").and_then(|p| p.parse().ok()) {
            ports.push(p);
        }
    }
    // Any other port a component listens on (its pid, or its name as `ss`
    // shows it, cut to 15 characters): the kubelet's streaming port, a
    // moved metrics port...
    let component_pids: Vec<u32> = facts
        .components
        .values()
        .filter(|c| c.running)
        .filter_map(|c| c.pid)
        .collect();
    let is_component = |s: &crate::facts::SocketFacts| {
        s.pid.is_some_and(|p| component_pids.contains(&p))
            || s.process
                .as_deref()
                .is_some_and(|p| p == "kubelet" || p == "etcd" || p.starts_with("kube-"))
    };
    let mut out: Vec<(String, u16)> = Vec::new();
    for s in facts
        .sockets
        .iter()
        .filter(|s| ports.contains(&s.port) || is_component(s))
    {
        let address = match s.address.as_str() {
            "*" | "0.0.0.0" | "::" | "[::]" => facts.node.address.clone(),
            a => a.to_string(),
        };
        if !address.is_empty() && !out.contains(&(address.clone(), s.port)) {
            out.push((address, s.port));
        }
    }
    out
}

/// Probes every Kubernetes port a node listens on, from the node itself:
/// every conversation of every port at once where the transport can
/// multiplex, scheduled by `probe::plan`.
fn probe_ports(o: &mut NodeOutcome, t: &mut dyn Transport) {
    if o.facts.scan_status != ScanStatus::Ok {
        return;
    }
    let targets = probe_targets(&o.facts);
    // etcd's own ports (client and peer, where it insists on client
    // certificates), from the same resolution as everything else.
    let etcd_ports: Vec<u16> = etcd_members(std::iter::once(&o.facts))
        .into_iter()
        .flat_map(|(_, _, ports)| ports)
        .collect();
    let mut tasks = crate::probe::plan::port_tasks(&targets, &etcd_ports);
    if tasks.is_empty() || !t.run_probes(&mut tasks, PROBE_TIMEOUT) {
        return;
    }
    o.facts
        .tls
        .extend(crate::probe::plan::results(&targets, tasks));
}

/// Scans every node, `plan.concurrency` at a time: collection, then the
/// probes of the node's own ports, calling `done` as each node finishes
/// (from a worker thread); then probes etcd reachability from every node
/// over its own SSH session. Results keep the plan's order.
pub fn scan(plan: &ScanPlan, done: &(dyn Fn(&NodeOutcome) + Sync)) -> Vec<NodeOutcome> {
    scan_cluster(plan, done).0
}

/// Which node's kubectl reads the cluster's objects, and with what.
fn api_read_on(
    plan: &ApiPlan,
    outcomes: &[&NodeOutcome],
) -> Result<(usize, crate::collect::api::ApiRead), String> {
    let pick = match &plan.node {
        Some(name) => outcomes
            .iter()
            .position(|o| &o.facts.node.name == name)
            .ok_or_else(|| format!("--api-node {name}: no such node in the scan"))?,
        None => outcomes
            .iter()
            .position(|o| {
                o.facts.scan_status == ScanStatus::Ok
                    && o.facts.node.roles.contains(&Role::ControlPlane)
            })
            .ok_or("no control-plane node was scanned, so no node's kubectl could read the cluster's objects (give --api-node)")?,
    };
    let facts = &outcomes[pick].facts;
    if facts.scan_status != ScanStatus::Ok {
        return Err(format!(
            "{}: not scanned ({}), so its kubectl could not read the cluster's objects",
            facts.node.name,
            facts.scan_status.as_str()
        ));
    }
    let layout = facts
        .layout
        .as_ref()
        .and_then(|l| crate::k8s::layout::find(&l.name));
    let (kubectl, kubeconfig) = match layout {
        Some(l) => (l.kubectl.clone(), l.admin_kubeconfigs.clone()),
        None => (vec!["kubectl".to_string()], Vec::new()),
    };
    let kubectl = if kubectl.is_empty() {
        vec!["kubectl".to_string()]
    } else {
        kubectl
    };
    Ok((
        pick,
        crate::collect::api::ApiRead {
            kubectl,
            kubeconfig: match &plan.kubeconfig {
                Some(k) => vec![k.clone()],
                None => kubeconfig,
            },
        },
    ))
}

/// [`scan`], and the cluster's objects when the plan reads them: through
/// one control-plane node's kubectl, on that node's transport, after its
/// collection. A failure to read them is recorded in the cluster facts
/// (the API checks then say `error`), never a failed scan.
pub fn scan_cluster(
    plan: &ScanPlan,
    done: &(dyn Fn(&NodeOutcome) + Sync),
) -> (Vec<NodeOutcome>, Option<crate::facts::api::ClusterFacts>) {
    let threads = plan.concurrency.clamp(1, 256);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("kh-scan-{i}"))
        .build();
    let run = || {
        let mut pairs: Vec<(NodeOutcome, Box<dyn Transport>)> = plan
            .nodes
            .par_iter()
            .map(|spec| {
                let started = Instant::now();
                let (mut o, mut t) = scan_node_keep(
                    spec,
                    &plan.via,
                    plan.collect,
                    plan.platform,
                    if plan.probes { plan.probe_sessions } else { 0 },
                );
                if plan.probes {
                    // A node's own ports need nothing from the others:
                    // probe them while other nodes are still collecting.
                    probe_ports(&mut o, t.as_mut());
                    o.elapsed = started.elapsed();
                }
                done(&o);
                (o, t)
            })
            .collect();
        if plan.probes {
            // etcd reachability needs every member's listen URLs first.
            probe_etcd_reachability(&mut pairs);
            if plan.probe_from_here {
                probe_etcd_from_here(&mut pairs);
            }
        }
        let api = plan.api.as_ref().map(|a| {
            if let Some(k) = &a.local_kubeconfig {
                return crate::collect::api_client::read(k, a.context.as_deref());
            }
            let outcomes: Vec<&NodeOutcome> = pairs.iter().map(|(o, _)| o).collect();
            match api_read_on(a, &outcomes) {
                Ok((i, read)) => {
                    let name = pairs[i].0.facts.node.name.clone();
                    crate::collect::api::read(pairs[i].1.as_mut(), &name, &read)
                }
                Err(why) => {
                    let mut f = crate::collect::api::empty(a.node.as_deref().unwrap_or(""));
                    f.source.node = a.node.clone();
                    f.error = Some(why);
                    f
                }
            }
        });
        (pairs.into_iter().map(|(o, _)| o).collect(), api)
    };
    match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ComponentFacts;

    #[test]
    fn roles_are_detected_from_what_runs_or_said_to_be_guessed() {
        let running = ComponentFacts {
            running: true,
            ..Default::default()
        };
        let mut n = NodeFacts::default();
        let (roles, how) = detect_roles(&n);
        assert_eq!(roles, vec![Role::Worker]);
        assert!(how.starts_with("guessed: no Kubernetes component"), "{how}");

        n.components.insert(ComponentKind::Kubelet, running.clone());
        let (roles, how) = detect_roles(&n);
        assert_eq!(roles, vec![Role::Worker]);
        assert_eq!(
            how,
            "detected from kubelet on the node, with no kube-apiserver or etcd"
        );

        n.components
            .insert(ComponentKind::ApiServer, running.clone());
        n.components.insert(ComponentKind::Etcd, running);
        let (roles, how) = detect_roles(&n);
        assert_eq!(roles, vec![Role::ControlPlane, Role::Etcd]);
        assert_eq!(how, "detected from kube-apiserver and etcd on the node");
    }

    #[test]
    fn probe_targets_are_kubernetes_ports_and_any_port_a_component_holds() {
        use crate::facts::SocketFacts;
        let mut n = NodeFacts::default();
        n.node.address = "10.0.0.5".into();
        n.components.insert(
            ComponentKind::Kubelet,
            ComponentFacts {
                running: true,
                pid: Some(700),
                ..Default::default()
            },
        );
        let sock = |address: &str, port: u16, pid: u32, process: &str| SocketFacts {
            protocol: "tcp".into(),
            address: address.into(),
            port,
            pid: Some(pid),
            process: Some(process.into()),
        };
        n.sockets = vec![
            sock("*", 10250, 700, "kubelet"),
            sock("127.0.0.1", 37001, 700, "kubelet"),
            sock("0.0.0.0", 22, 80, "sshd"),
            sock("127.0.0.1", 10249, 81, "kube-proxy"),
            sock("127.0.0.1", 9099, 82, "kube-controller"),
        ];
        assert_eq!(
            probe_targets(&n),
            vec![
                ("10.0.0.5".to_string(), 10250),
                ("127.0.0.1".to_string(), 37001),
                ("127.0.0.1".to_string(), 10249),
                ("127.0.0.1".to_string(), 9099),
            ]
        );
    }

    #[test]
    fn etcd_members_and_their_ports_come_from_the_listen_urls() {
        let mut cp = NodeFacts::default();
        cp.node.name = "cp1".into();
        cp.node.address = "10.0.0.11".into();
        cp.components.insert(
            ComponentKind::Etcd,
            ComponentFacts {
                running: true,
                argv: vec![
                    "etcd".into(),
                    "--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.11:2379".into(),
                    "--listen-peer-urls=https://10.0.0.11:2390".into(),
                ],
                ..Default::default()
            },
        );
        let mut w = NodeFacts::default();
        w.node.name = "w1".into();
        let mut env_only = cp.clone();
        env_only.node.name = "cp2".into();
        let e = env_only.components.get_mut(&ComponentKind::Etcd).unwrap();
        e.argv = vec!["etcd".into()];
        e.env.insert(
            "ETCD_LISTEN_CLIENT_URLS".into(),
            "https://0.0.0.0:12379".into(),
        );
        // etcd with --config-file reads only the file: its flags are ignored.
        let mut file_only = cp.clone();
        file_only.node.name = "cp3".into();
        file_only.node.address = "10.0.0.13".into();
        let e = file_only.components.get_mut(&ComponentKind::Etcd).unwrap();
        e.argv = vec![
            "etcd".into(),
            "--config-file=/var/lib/etcd/config".into(),
            "--listen-client-urls=https://10.0.0.13:2379".into(),
        ];
        file_only.files.insert(
            "/var/lib/etcd/config".into(),
            crate::facts::FileFacts {
                exists: true,
                content: Some(
                    "listen-client-urls: https://127.0.0.1:12379,https://10.0.0.13:12379\nlisten-peer-urls: https://10.0.0.13:12380\n"
                        .into(),
                ),
                ..Default::default()
            },
        );
        // ... and ETCD_CONFIG_FILE is --config-file too; this file sets
        // nothing, so etcd's defaults apply, not the flags.
        let mut env_file = file_only.clone();
        env_file.node.name = "cp4".into();
        let e = env_file.components.get_mut(&ComponentKind::Etcd).unwrap();
        e.argv = vec![
            "etcd".into(),
            "--listen-peer-urls=https://10.0.0.13:2390".into(),
        ];
        e.env
            .insert("ETCD_CONFIG_FILE".into(), "/etc/etcd/empty.yaml".into());
        env_file.files.insert(
            "/etc/etcd/empty.yaml".into(),
            crate::facts::FileFacts {
                exists: true,
                content: Some("name: cp4\n".into()),
                ..Default::default()
            },
        );
        // An unreadable config file: the non-loopback ports etcd listens on.
        let mut unreadable = file_only.clone();
        unreadable.node.name = "cp5".into();
        unreadable.files.clear();
        unreadable
            .components
            .get_mut(&ComponentKind::Etcd)
            .unwrap()
            .pid = Some(77);
        unreadable.sockets = vec![
            crate::facts::SocketFacts {
                protocol: "tcp".into(),
                address: "10.0.0.13".into(),
                port: 22379,
                pid: Some(77),
                process: Some("etcd".into()),
            },
            crate::facts::SocketFacts {
                protocol: "tcp".into(),
                address: "127.0.0.1".into(),
                port: 22381,
                pid: Some(77),
                process: Some("etcd".into()),
            },
        ];
        let m = etcd_members(&[cp, w, env_only, file_only, env_file, unreadable]);
        assert_eq!(
            m,
            vec![
                ("cp1".to_string(), "10.0.0.11".to_string(), vec![2379, 2390]),
                (
                    "cp2".to_string(),
                    "10.0.0.11".to_string(),
                    vec![12379, 2380]
                ),
                (
                    "cp3".to_string(),
                    "10.0.0.13".to_string(),
                    vec![12379, 12380]
                ),
                ("cp4".to_string(), "10.0.0.13".to_string(), vec![2379, 2380]),
                ("cp5".to_string(), "10.0.0.13".to_string(), vec![22379]),
            ]
        );
    }
}
