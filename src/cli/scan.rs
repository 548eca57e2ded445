//! `kubeharden scan`: arguments to a checked scan plan, progress on stderr,
//! and a status line per node at the end.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use kubeharden::collect::CollectOptions;
use kubeharden::facts::api::ClusterFacts;
use kubeharden::facts::{NodeFacts, ScanStatus};
use kubeharden::inventory::{self, Defaults, NodeSpec};
use kubeharden::kind;
use kubeharden::scan::{NodeOutcome, ScanPlan, Via, scan_cluster};
use kubeharden::transport::ssh::{HostKeyPolicy, SshOptions};

use super::{HostKeys, ScanArgs};

/// Most nodes scanned at once by default.
const DEFAULT_CONCURRENCY: usize = 64;

pub fn build(a: &ScanArgs) -> Result<ScanPlan> {
    let mut plan = build_nodes(a)?;
    if let Some(k) = &a.kubeconfig {
        if !k.is_file() {
            bail!("--kubeconfig {}: no such file", k.display());
        }
    }
    plan.api = (!a.no_api).then(|| kubeharden::scan::ApiPlan {
        node: a.api_node.clone(),
        kubeconfig: a.api_kubeconfig.clone(),
        local_kubeconfig: a.kubeconfig.clone(),
        context: a.context.clone(),
    });
    if let Some(n) = &a.api_node {
        if !plan.nodes.iter().any(|s| &s.name == n) {
            bail!("--api-node {n:?}: no node of that name in the scan");
        }
    }
    Ok(plan)
}

fn build_nodes(a: &ScanArgs) -> Result<ScanPlan> {
    let base = Defaults::default();
    let defaults = Defaults {
        user: a.user.clone(),
        port: a.port,
        identity_file: a.identity_file.clone(),
        known_hosts: a.known_hosts.clone(),
        connect_timeout: a.connect_timeout.unwrap_or(base.connect_timeout),
        command_timeout: a.command_timeout.unwrap_or(base.command_timeout),
        ..base
    };
    if let Some(cluster) = &a.kind {
        let found = kind::discover(cluster, &kind::KindEnv::from_env()?)?;
        eprintln!(
            "kind cluster {:?}: {} through `{}`{}",
            found.name,
            found
                .nodes
                .iter()
                .map(|n| format!("{} ({})", n.name, n.role.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            found.exec_template(),
            if found.skipped.is_empty() {
                String::new()
            } else {
                format!("; not a node: {}", found.skipped.join(", "))
            }
        );
        let concurrency = a
            .concurrency
            .unwrap_or_else(|| found.nodes.len().min(DEFAULT_CONCURRENCY));
        let mut plan = found.scan_plan(&defaults, concurrency, !a.no_probes);
        set_roles(&a.roles, &mut plan.nodes, false)?;
        return Ok(plan);
    }
    let ssh_config = match &a.ssh_config {
        Some(p) if !p.is_file() => bail!("--ssh-config {}: no such file", p.display()),
        Some(p) => inventory::SshConfig::load(p),
        None => inventory::SshConfig::load_default(),
    };
    if a.exec.is_none() && !a.local {
        for note in &ssh_config.notes {
            eprintln!("ssh config: {note}");
        }
    }
    let mut nodes: Vec<NodeSpec> = match &a.inventory {
        Some(p) => inventory::load(p, &ssh_config).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => Vec::new(),
    };
    for n in &a.nodes {
        let spec =
            inventory::parse_node_arg(n, &defaults, &ssh_config).map_err(anyhow::Error::msg)?;
        if nodes.iter().any(|x| x.name == spec.name) {
            bail!("node {:?} is given twice", spec.name);
        }
        nodes.push(spec);
    }
    if a.local {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        nodes = vec![NodeSpec {
            name,
            address: "localhost".into(),
            roles: Vec::new(),
            user: None,
            port: None,
            identity_file: None,
            known_hosts: None,
            proxy_jump: None,
            connect_timeout: defaults.connect_timeout,
            command_timeout: defaults.command_timeout,
            ssh: Default::default(),
        }];
    }
    set_roles(&a.roles, &mut nodes, a.local)?;
    if nodes.is_empty() && a.kubeconfig.is_none() {
        bail!(
            "nothing to scan: give --inventory FILE, --node NAME=[USER@]ADDRESS, --kind [CLUSTER] or --local"
        );
    }
    let via = if a.local {
        Via::Local { sudo: a.sudo }
    } else if let Some(t) = &a.exec {
        if !t.contains("{node}") {
            bail!("--exec {t:?}: the template must contain {{node}}");
        }
        Via::Exec {
            template: t.clone(),
        }
    } else {
        let passphrase = match std::env::var("KUBEHARDEN_SSH_PASSPHRASE") {
            Ok(p) => Some(p),
            Err(_) if a.ask_passphrase => Some(
                rpassword::prompt_password("Passphrase for the SSH identity file: ")
                    .context("reading the passphrase")?,
            ),
            Err(_) => None,
        };
        Via::Ssh(SshOptions {
            host_keys: match a.host_keys {
                HostKeys::Strict => HostKeyPolicy::Strict,
                HostKeys::AcceptNew => HostKeyPolicy::AcceptNew,
            },
            passphrase,
            ..SshOptions::default()
        })
    };
    let concurrency = a
        .concurrency
        .unwrap_or_else(|| nodes.len().min(DEFAULT_CONCURRENCY))
        .max(1);
    Ok(ScanPlan {
        probes: !a.no_probes,
        probe_sessions: a.probe_sessions as usize,
        probe_from_here: a.probe_from_here,
        nodes,
        via,
        concurrency,
        collect: CollectOptions::default(),
        platform: None,
        api: None,
    })
}

/// Applies `--role NAME=ROLES` to the nodes (`local` names the one node of
/// `--local`).
fn set_roles(args: &[String], nodes: &mut [NodeSpec], local: bool) -> Result<()> {
    for r in args {
        let (name, roles) = inventory::parse_role_arg(r).map_err(anyhow::Error::msg)?;
        match nodes
            .iter_mut()
            .find(|n| n.name == name || (local && name == "local"))
        {
            Some(n) => n.roles = roles,
            None => bail!("--role {r:?}: no node named {name:?}"),
        }
    }
    Ok(())
}

/// Runs the scan with a progress bar when stderr is a terminal, then prints
/// one status line per node on stderr.
pub fn run(plan: &ScanPlan) -> (Vec<NodeFacts>, Option<ClusterFacts>) {
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(plan.nodes.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} scanning [{bar:30}] {pos}/{len} nodes {elapsed} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.enable_steady_tick(Duration::from_millis(120));
        Some(b)
    } else {
        None
    };
    let done = |o: &NodeOutcome| {
        if let Some(b) = &bar {
            b.set_message(o.facts.node.name.clone());
            b.inc(1);
        }
    };
    let (outcomes, api) = scan_cluster(plan, &done);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for o in &outcomes {
        let f = &o.facts;
        let mut roles = f
            .node
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",");
        if let Some(how) = &f.node.roles_detected {
            // "worker (guessed: no Kubernetes component ...)"
            if how.starts_with("guessed") {
                roles.push_str(&format!(" ({how})"));
            } else {
                roles.push_str(" (detected)");
            }
        }
        let detail = match f.scan_status {
            ScanStatus::Ok if f.errors.is_empty() => String::new(),
            ScanStatus::Ok => format!(" ({} items could not be read)", f.errors.len()),
            _ => format!(" - {}", f.error.as_deref().unwrap_or("")),
        };
        eprintln!(
            "{:<24} {:<21} {:>6.1}s  {}{}",
            kubeharden::report::text::clean(&f.node.name),
            f.scan_status.as_str(),
            o.elapsed.as_secs_f64(),
            roles,
            kubeharden::report::text::clean(&detail)
        );
    }
    if let Some(a) = &api {
        let what = match (&a.error, &a.source.node) {
            (Some(e), _) => format!("not read: {e}"),
            (None, node) => {
                let objects: usize = a.resources.values().map(|r| r.objects).sum();
                let failed: Vec<&str> = a
                    .resources
                    .iter()
                    .filter(|(_, r)| r.error.is_some())
                    .map(|(k, _)| k.as_str())
                    .collect();
                let how = match node {
                    Some(n) => format!(
                        "through {} on {n}",
                        a.source.kubectl.as_deref().unwrap_or("kubectl")
                    ),
                    None => format!(
                        "from here with {}",
                        a.source.kubeconfig.as_deref().unwrap_or("the kubeconfig")
                    ),
                };
                format!(
                    "{objects} objects read {how}{}",
                    if failed.is_empty() {
                        String::new()
                    } else {
                        format!("; could not read {}", failed.join(", "))
                    }
                )
            }
        };
        eprintln!(
            "cluster objects: {}",
            kubeharden::report::text::clean(&kubeharden::util::cap(&what, 600))
        );
    }
    (outcomes.into_iter().map(|o| o.facts).collect(), api)
}

/// Writes each node's facts to DIR/<name>.json.
pub fn save(dir: &Path, nodes: &[NodeFacts], api: Option<&ClusterFacts>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    if let Some(api) = api {
        let path = dir.join(kubeharden::facts::CLUSTER_FACTS_FILE);
        let text = serde_json::to_string_pretty(api)? + "\n";
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    for n in nodes {
        let safe: String = n
            .node
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{safe}.json"));
        let text = serde_json::to_string_pretty(n)? + "\n";
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}
