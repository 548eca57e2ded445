//! The scan: collect facts from every node in parallel.
//!
//! This is the one place where nodes run in parallel (a rayon pool sized by
//! `--concurrency`). Each node gets its own transport; a node that fails,
//! hangs or refuses us ends with its scan status and reason, and never holds
//! up or stops the others.

use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::collect::{CollectOptions, collect};
use crate::facts::{ComponentKind, NodeFacts, NodeIdentity, Role, ScanStatus};
use crate::inventory::NodeSpec;
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
}

/// One node's result.
pub struct NodeOutcome {
    pub facts: NodeFacts,
    pub elapsed: Duration,
}

/// Roles seen on a node, for nodes the user gave without roles.
pub fn detect_roles(facts: &NodeFacts) -> Vec<Role> {
    let present = |k: ComponentKind| {
        facts
            .component(k)
            .is_some_and(|c| c.running || c.manifest.is_some())
    };
    let mut roles = Vec::new();
    if present(ComponentKind::ApiServer) {
        roles.push(Role::ControlPlane);
    }
    if present(ComponentKind::Etcd) {
        roles.push(Role::Etcd);
    }
    if roles.is_empty() {
        roles.push(Role::Worker);
    }
    roles
}

fn transport(spec: &NodeSpec, via: &Via) -> Box<dyn Transport> {
    let limits = Limits {
        command_timeout: spec.command_timeout,
        ..Limits::default()
    };
    match via {
        Via::Ssh(opts) => Box::new(SshTransport::new(spec.clone(), opts.clone())),
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
    let started = Instant::now();
    let identity = NodeIdentity {
        name: spec.name.clone(),
        address: spec.address.clone(),
        roles: spec.roles.clone(),
        ..Default::default()
    };
    let mut t = transport(spec, via);
    let mut facts = collect(t.as_mut(), identity, opts);
    if spec.roles.is_empty() && facts.scan_status == ScanStatus::Ok {
        facts.node.roles = detect_roles(&facts);
    }
    NodeOutcome {
        facts,
        elapsed: started.elapsed(),
    }
}

/// Scans every node, `plan.concurrency` at a time, calling `done` as each
/// node finishes (from a worker thread). Results keep the plan's order.
pub fn scan(plan: &ScanPlan, done: &(dyn Fn(&NodeOutcome) + Sync)) -> Vec<NodeOutcome> {
    let threads = plan.concurrency.clamp(1, 256);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("kh-scan-{i}"))
        .build();
    let run = || {
        plan.nodes
            .par_iter()
            .map(|spec| {
                let o = scan_node(spec, &plan.via, plan.collect);
                done(&o);
                o
            })
            .collect()
    };
    match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
}
