//! kind clusters: find a cluster's node containers, their roles and
//! addresses, and the scan plan that audits each one through `docker exec`.
//!
//! Discovery asks `kind get nodes --name CLUSTER` when `kind` is on `PATH`,
//! else the container engine (`docker ps -a --filter
//! label=io.x-k8s.kind.cluster=CLUSTER`), then one `docker inspect` for every
//! node's role label and address. `KIND_EXPERIMENTAL_PROVIDER=podman` (or
//! `nerdctl`) swaps the engine, as it does for kind itself. The external load
//! balancer of a multi-control-plane cluster is not a node and is left out.
//!
//! Every node is then reached with `<engine> exec -i <container> sh`, and its
//! facts record `platform: kind`, so the engine can explain what kind cannot
//! do (see `engine::platform`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::collect::CollectOptions;
use crate::facts::{Platform, Role};
use crate::inventory::{Defaults, NodeSpec};
use crate::scan::{ScanPlan, Via};

/// The label kind puts on every container of a cluster, valued with the
/// cluster's name.
pub const CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
/// The label kind puts on every container: `control-plane`, `worker` or
/// `external-load-balancer`.
pub const ROLE_LABEL: &str = "io.x-k8s.kind.role";
/// kind's default cluster name, when `KIND_CLUSTER_NAME` is not set.
pub const DEFAULT_CLUSTER: &str = "kind";
/// How long one discovery command may take.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The `--format` of the `inspect` that gives each node's role and address.
pub const INSPECT_FORMAT: &str = "{{.Name}}\t{{index .Config.Labels \"io.x-k8s.kind.role\"}}\t{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}";

/// Most bytes read from a discovery command's output.
const OUTPUT_CAP: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KindError {
    #[error(
        "{0:?} is not a kind cluster name (letters, digits, '.', '_' and '-', starting with a letter or digit)"
    )]
    BadName(String),
    #[error(
        "KIND_EXPERIMENTAL_PROVIDER={0:?} is not a container engine kubeharden can use (docker, podman or nerdctl)"
    )]
    UnknownProvider(String),
    #[error("{program} not found on PATH{hint}")]
    NotFound { program: String, hint: String },
    #[error("{what}: `{command}` could not be started: {reason}")]
    Spawn {
        what: String,
        command: String,
        reason: String,
    },
    #[error("{what}: `{command}` failed ({status}): {stderr}")]
    Failed {
        what: String,
        command: String,
        status: String,
        stderr: String,
    },
    #[error(
        "{what}: `{command}` did not finish within {seconds} s (is the container engine responding?)"
    )]
    Timeout {
        what: String,
        command: String,
        seconds: u64,
    },
    #[error("no kind cluster named {cluster:?}{}", found_clusters(.found))]
    NoSuchCluster { cluster: String, found: Vec<String> },
    #[error(
        "kind cluster {cluster:?} has no node containers{}",
        if .skipped.is_empty() { String::new() } else { format!(" (only {})", .skipped.join(", ")) }
    )]
    NoNodes {
        cluster: String,
        skipped: Vec<String>,
    },
    #[error("kind cluster {cluster:?}: container {container:?}: {problem}")]
    BadContainer {
        cluster: String,
        container: String,
        problem: String,
    },
}

fn found_clusters(found: &[String]) -> String {
    if found.is_empty() {
        " (no kind cluster found; create one with `kind create cluster`)".into()
    } else {
        format!(" (kind clusters found: {})", found.join(", "))
    }
}

/// The container engine kind runs its nodes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Docker,
    Podman,
    Nerdctl,
}

impl Provider {
    /// The engine's command.
    pub fn binary(self) -> &'static str {
        match self {
            Provider::Docker => "docker",
            Provider::Podman => "podman",
            Provider::Nerdctl => "nerdctl",
        }
    }

    /// The provider kind uses for a value of `KIND_EXPERIMENTAL_PROVIDER`
    /// (unset or empty: docker).
    pub fn from_setting(value: Option<&str>) -> Result<Provider, KindError> {
        match value.map(str::trim) {
            None | Some("") | Some("docker") => Ok(Provider::Docker),
            Some("podman") => Ok(Provider::Podman),
            Some("nerdctl") => Ok(Provider::Nerdctl),
            Some(other) => Err(KindError::UnknownProvider(other.to_string())),
        }
    }
}

/// What discovery runs: `kind` when it is installed, and the engine.
#[derive(Clone, Debug)]
pub struct KindEnv {
    /// The `kind` executable, when one is on `PATH`.
    pub kind: Option<PathBuf>,
    pub provider: Provider,
    pub timeout: Duration,
}

impl KindEnv {
    /// From `PATH` and `KIND_EXPERIMENTAL_PROVIDER`.
    pub fn from_env() -> Result<KindEnv, KindError> {
        let provider =
            Provider::from_setting(std::env::var("KIND_EXPERIMENTAL_PROVIDER").ok().as_deref())?;
        Ok(KindEnv {
            kind: find_on_path("kind"),
            provider,
            timeout: DISCOVERY_TIMEOUT,
        })
    }
}

/// The cluster kind itself uses when given no `--name`: `KIND_CLUSTER_NAME`,
/// else `kind`.
pub fn default_cluster() -> String {
    std::env::var("KIND_CLUSTER_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_CLUSTER.to_string())
}

/// The first executable file named `name` in `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// A node's role in a kind cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KindRole {
    ControlPlane,
    Worker,
}

impl KindRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KindRole::ControlPlane => "control-plane",
            KindRole::Worker => "worker",
        }
    }

    /// The inventory roles: kind's control planes all run a stacked etcd.
    pub fn roles(self) -> Vec<Role> {
        match self {
            KindRole::ControlPlane => vec![Role::ControlPlane, Role::Etcd],
            KindRole::Worker => vec![Role::Worker],
        }
    }
}

/// One node container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindNode {
    /// The container's name, e.g. `kind-control-plane`.
    pub name: String,
    pub role: KindRole,
    /// The container's address on the kind network; empty when it has none
    /// (a stopped container).
    pub address: String,
}

/// A kind cluster's nodes, found by [`discover`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindCluster {
    pub name: String,
    pub provider: Provider,
    /// Control planes first, then workers, each in name order.
    pub nodes: Vec<KindNode>,
    /// Containers of the cluster that are not nodes (the external load
    /// balancer).
    pub skipped: Vec<String>,
}

impl KindCluster {
    /// The exec transport's template: `docker exec -i {node} sh`.
    pub fn exec_template(&self) -> String {
        format!("{} exec -i {{node}} sh", self.provider.binary())
    }

    /// One node spec per node container, with its kind role.
    pub fn node_specs(&self, defaults: &Defaults) -> Vec<NodeSpec> {
        self.nodes
            .iter()
            .map(|n| NodeSpec {
                name: n.name.clone(),
                address: n.address.clone(),
                roles: n.role.roles(),
                user: None,
                port: None,
                identity_file: None,
                known_hosts: None,
                proxy_jump: None,
                connect_timeout: defaults.connect_timeout,
                command_timeout: defaults.command_timeout,
                ssh: Default::default(),
            })
            .collect()
    }

    /// The plan that scans every node through the container engine, its
    /// facts marked `platform: kind`.
    pub fn scan_plan(&self, defaults: &Defaults, concurrency: usize, probes: bool) -> ScanPlan {
        ScanPlan {
            nodes: self.node_specs(defaults),
            via: Via::Exec {
                template: self.exec_template(),
            },
            concurrency: concurrency.max(1),
            collect: CollectOptions::default(),
            probes,
            // Exec transports have no SSH sessions to add.
            probe_sessions: 0,
            probe_from_here: false,
            platform: Some(Platform::Kind),
            // kind's control-plane container holds kubectl and kubeadm's
            // admin.conf, like any kubeadm control plane; the CLI turns it
            // off with --no-api.
            api: Some(crate::scan::ApiPlan::default()),
        }
    }
}

/// True for a name kind accepts for a cluster (and Docker for a container).
fn valid_name(s: &str) -> bool {
    s.len() <= 253
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Runs one discovery command and returns its standard output.
fn run(
    program: &Path,
    args: &[&str],
    timeout: Duration,
    what: &str,
    provider: Provider,
) -> Result<String, KindError> {
    let command = std::iter::once(program.display().to_string())
        .chain(args.iter().map(|a| crate::transport::process::sh_quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => KindError::NotFound {
                program: program.display().to_string(),
                hint: match provider {
                    _ if program != Path::new(provider.binary()) => String::new(),
                    Provider::Docker => ": kind's node containers are reached with `docker exec`; install Docker, or set KIND_EXPERIMENTAL_PROVIDER=podman for a podman cluster".to_string(),
                    p => format!(
                        ": KIND_EXPERIMENTAL_PROVIDER={0} asks for {0}, which reaches kind's node containers with `{0} exec`",
                        p.binary()
                    ),
                },
            },
            _ => KindError::Spawn {
                what: what.to_string(),
                command: command.clone(),
                reason: e.to_string(),
            },
        })?;
    let reader = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.by_ref().take(OUTPUT_CAP as u64).read_to_end(&mut buf);
                // Drain the rest, so the command is never blocked on a full pipe.
                let _ = std::io::copy(&mut r, &mut std::io::sink());
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(KindError::Timeout {
                    what: what.to_string(),
                    command,
                    seconds: timeout.as_secs(),
                });
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        let text = String::from_utf8_lossy(&stderr).trim().to_string();
        return Err(KindError::Failed {
            what: what.to_string(),
            command,
            status: status.to_string(),
            stderr: if text.is_empty() {
                "(no error output)".into()
            } else {
                crate::util::cap(&text, 2000)
            },
        });
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

/// The role of a container from kind's role label, else from its name
/// (`<cluster>-control-plane[N]`, `<cluster>-worker[N]`,
/// `<cluster>-external-load-balancer`). `Ok(None)`: not a node.
pub fn role_of(cluster: &str, container: &str, label: &str) -> Result<Option<KindRole>, String> {
    let from = |s: &str| match s {
        "control-plane" => Some(Some(KindRole::ControlPlane)),
        "worker" => Some(Some(KindRole::Worker)),
        "external-load-balancer" => Some(None),
        _ => None,
    };
    let label = label.trim();
    if !label.is_empty() {
        return from(label).ok_or_else(|| {
            format!(
                "unknown {ROLE_LABEL} label {:?}",
                crate::util::cap(label, 100)
            )
        });
    }
    let base = container
        .strip_prefix(cluster)
        .and_then(|s| s.strip_prefix('-'))
        .map(|s| s.trim_end_matches(|c: char| c.is_ascii_digit()))
        .unwrap_or("");
    from(base).ok_or_else(|| {
        format!(
            "no {ROLE_LABEL} label, and the name is not <cluster>-control-plane[N], <cluster>-worker[N] or <cluster>-external-load-balancer"
        )
    })
}

/// Parses `inspect --format INSPECT_FORMAT` output: `(name, role label,
/// first address)` per container.
pub fn parse_inspect(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.splitn(3, '\t');
            let name = f.next().unwrap_or("").trim().trim_start_matches('/');
            let role = f.next().unwrap_or("").trim();
            let address = f
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next()
                .unwrap_or("");
            (name.to_string(), role.to_string(), address.to_string())
        })
        .collect()
}

/// Builds the cluster from its container names and the inspect answer.
pub fn assemble(
    cluster: &str,
    provider: Provider,
    names: &[String],
    inspected: &[(String, String, String)],
) -> Result<KindCluster, KindError> {
    let bad = |container: &str, problem: String| KindError::BadContainer {
        cluster: cluster.to_string(),
        container: container.to_string(),
        problem,
    };
    let mut nodes = Vec::new();
    let mut skipped = Vec::new();
    for name in names {
        let Some((_, label, address)) = inspected.iter().find(|(n, _, _)| n == name) else {
            return Err(bad(
                name,
                format!("missing from `{} inspect`", provider.binary()),
            ));
        };
        match role_of(cluster, name, label).map_err(|p| bad(name, p))? {
            Some(role) => nodes.push(KindNode {
                name: name.clone(),
                role,
                address: if address.parse::<std::net::IpAddr>().is_ok() {
                    address.clone()
                } else {
                    String::new()
                },
            }),
            None => skipped.push(name.clone()),
        }
    }
    if nodes.is_empty() {
        return Err(KindError::NoNodes {
            cluster: cluster.to_string(),
            skipped,
        });
    }
    // kind-worker, kind-worker2, ..., kind-worker10: shorter names first.
    nodes.sort_by(|a, b| (a.role, a.name.len(), &a.name).cmp(&(b.role, b.name.len(), &b.name)));
    Ok(KindCluster {
        name: cluster.to_string(),
        provider,
        nodes,
        skipped,
    })
}

/// Finds the node containers of kind cluster `cluster`.
pub fn discover(cluster: &str, env: &KindEnv) -> Result<KindCluster, KindError> {
    if !valid_name(cluster) {
        return Err(KindError::BadName(cluster.to_string()));
    }
    let engine = Path::new(env.provider.binary());
    let listing = format!("listing the node containers of kind cluster {cluster:?}");
    let filter = format!("label={CLUSTER_LABEL}={cluster}");
    let text = match &env.kind {
        Some(kind) => run(
            kind,
            &["get", "nodes", "--name", cluster],
            env.timeout,
            &listing,
            env.provider,
        )?,
        None => run(
            engine,
            &["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"],
            env.timeout,
            &listing,
            env.provider,
        )?,
    };
    let mut names: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !valid_name(line) {
            return Err(KindError::BadContainer {
                cluster: cluster.to_string(),
                container: crate::util::cap(line, 200),
                problem: "not a container name".into(),
            });
        }
        if !names.iter().any(|n| n == line) {
            names.push(line.to_string());
        }
    }
    if names.is_empty() {
        // Name the clusters there are, to catch a typo.
        let found = run(
            engine,
            &[
                "ps",
                "-a",
                "--filter",
                &format!("label={CLUSTER_LABEL}"),
                "--format",
                &format!("{{{{.Label \"{CLUSTER_LABEL}\"}}}}"),
            ],
            env.timeout,
            "listing kind clusters",
            env.provider,
        )
        .map(|t| {
            let mut v: Vec<String> = t
                .lines()
                .map(str::trim)
                .filter(|l| valid_name(l))
                .map(String::from)
                .collect();
            v.sort();
            v.dedup();
            v
        })
        .unwrap_or_default();
        return Err(KindError::NoSuchCluster {
            cluster: cluster.to_string(),
            found,
        });
    }
    let mut args = vec!["inspect", "--type", "container", "--format", INSPECT_FORMAT];
    args.extend(names.iter().map(String::as_str));
    let text = run(
        engine,
        &args,
        env.timeout,
        &format!("reading the node containers of kind cluster {cluster:?}"),
        env.provider,
    )?;
    assemble(cluster, env.provider, &names, &parse_inspect(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_label_then_the_name() {
        let r = |c, l| role_of("dev", c, l);
        assert_eq!(
            r("dev-control-plane", "control-plane"),
            Ok(Some(KindRole::ControlPlane))
        );
        assert_eq!(r("dev-anything", "worker"), Ok(Some(KindRole::Worker)));
        assert_eq!(
            r("dev-external-load-balancer", "external-load-balancer"),
            Ok(None)
        );
        // No label (older kind): the name decides.
        assert_eq!(
            r("dev-control-plane2", ""),
            Ok(Some(KindRole::ControlPlane))
        );
        assert_eq!(r("dev-worker12", ""), Ok(Some(KindRole::Worker)));
        assert_eq!(r("dev-external-load-balancer", ""), Ok(None));
        assert!(
            r("dev-thing", "")
                .unwrap_err()
                .contains("no io.x-k8s.kind.role label")
        );
        assert!(r("dev-worker", "boss").unwrap_err().contains("\"boss\""));
        assert!(r("other-worker", "").is_err());
    }

    #[test]
    fn an_ha_cluster_is_sorted_and_its_load_balancer_left_out() {
        let text = "/ha-worker10\tworker\t172.18.0.9 \n/ha-external-load-balancer\texternal-load-balancer\t172.18.0.2 \n/ha-worker2\tworker\t172.18.0.6 fc00:f853::6 \n/ha-control-plane2\tcontrol-plane\t172.18.0.4 \n/ha-worker\tworker\t172.18.0.5 \n/ha-control-plane\tcontrol-plane\t172.18.0.3 \n/ha-worker3\tworker\t\n";
        let inspected = parse_inspect(text);
        let names: Vec<String> = inspected.iter().map(|(n, _, _)| n.clone()).collect();
        let c = assemble("ha", Provider::Docker, &names, &inspected).unwrap();
        let got: Vec<(&str, &str, &str)> = c
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.role.as_str(), n.address.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ha-control-plane", "control-plane", "172.18.0.3"),
                ("ha-control-plane2", "control-plane", "172.18.0.4"),
                ("ha-worker", "worker", "172.18.0.5"),
                ("ha-worker2", "worker", "172.18.0.6"),
                ("ha-worker3", "worker", ""),
                ("ha-worker10", "worker", "172.18.0.9"),
            ]
        );
        assert_eq!(c.skipped, vec!["ha-external-load-balancer".to_string()]);
        let specs = c.node_specs(&Defaults::default());
        assert_eq!(specs[0].roles, vec![Role::ControlPlane, Role::Etcd]);
        assert_eq!(specs[2].roles, vec![Role::Worker]);
        let plan = c.scan_plan(&Defaults::default(), 4, true);
        assert_eq!(plan.platform, Some(Platform::Kind));
        match plan.via {
            Via::Exec { template } => assert_eq!(template, "docker exec -i {node} sh"),
            _ => panic!("kind nodes are reached through exec"),
        }
    }

    #[test]
    fn only_a_load_balancer_is_no_nodes_and_a_missing_container_is_named() {
        let inspected = parse_inspect("/x-external-load-balancer\texternal-load-balancer\t\n");
        let e = assemble(
            "x",
            Provider::Podman,
            &["x-external-load-balancer".into()],
            &inspected,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "kind cluster \"x\" has no node containers (only x-external-load-balancer)"
        );
        let e = assemble("x", Provider::Podman, &["x-worker".into()], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kind cluster \"x\": container \"x-worker\": missing from `podman inspect`"
        );
    }

    #[test]
    fn providers_and_names_are_checked() {
        assert_eq!(Provider::from_setting(None).unwrap(), Provider::Docker);
        assert_eq!(
            Provider::from_setting(Some("podman")).unwrap(),
            Provider::Podman
        );
        assert!(
            Provider::from_setting(Some("lxd"))
                .unwrap_err()
                .to_string()
                .contains("\"lxd\"")
        );
        let env = KindEnv {
            kind: None,
            provider: Provider::Docker,
            timeout: DISCOVERY_TIMEOUT,
        };
        for bad in ["", "-x", "a b", "a;rm", "x/y"] {
            assert!(
                matches!(discover(bad, &env), Err(KindError::BadName(_))),
                "{bad}"
            );
        }
    }
}
