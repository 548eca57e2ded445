//! `NodeFacts`: everything the collectors learn about one node, and nothing more.
//!
//! Facts are the seam between collection and evaluation. A collector (ssh, local,
//! exec) produces them; the engine reads them and never touches a node. Because
//! they serialise to JSON, a saved scan can be evaluated again offline, on another
//! machine, against another benchmark version.
//!
//! The JSON form is versioned by [`FACTS_SCHEMA_VERSION`] and documented in
//! `docs/facts-schema.md`. Readers reject any other version instead of
//! guessing at its meaning.
//!
//! Facts hold raw observations, not conclusions: the argv exactly as
//! `/proc/<pid>/cmdline` gave it, file modes as numbers, file contents capped and
//! (for the encryption config) already redacted on the node. Working out what a
//! component effectively runs with is the engine's job.

pub mod api;
mod load;
mod mode;
mod probes;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use load::{CLUSTER_FACTS_FILE, FactsError, load_cluster_facts, load_facts_path, parse_facts};
pub use mode::Mode;
pub use probes::{
    GetOutcome, GetResult, HelloOutcome, HelloResult, HttpResult, PortState, TlsProbe,
};

/// Version of the facts JSON schema this build writes and reads.
pub const FACTS_SCHEMA_VERSION: u32 = 1;

/// Everything collected from one node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFacts {
    /// Schema version of this document; see [`FACTS_SCHEMA_VERSION`].
    pub schema_version: u32,
    pub node: NodeIdentity,
    /// When collection finished (RFC 3339), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<String>,
    /// How long the node's scan took, from the start of the connection to
    /// the end of collection (the probes after it are not included), in
    /// milliseconds. Set by a scan; absent in facts written by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_duration_ms: Option<u64>,
    /// Whether the collector reached the node at all.
    #[serde(default)]
    pub scan_status: ScanStatus,
    /// Why the scan of this node failed, when `scan_status` is not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The Kubernetes components looked for on the node, keyed by component.
    #[serde(default)]
    pub components: BTreeMap<ComponentKind, ComponentFacts>,
    /// Every path of interest that was stat'ed, keyed by absolute path.
    #[serde(default)]
    pub files: BTreeMap<String, FileFacts>,
    /// Public certificates found on the node (PEM). Never private keys.
    #[serde(default)]
    pub certificates: Vec<CertificateFacts>,
    /// Listening TCP sockets.
    #[serde(default)]
    pub sockets: Vec<SocketFacts>,
    /// Items the collector could not read, with why.
    #[serde(default)]
    pub errors: Vec<CollectionError>,
    /// TCP connections tried from this node to other nodes' etcd ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reachability: Vec<ReachFacts>,
    /// TCP connections tried from the scanning machine to this node's etcd
    /// ports (`scan --probe-from-here`); `target` is this node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reachability_from_scanner: Vec<ReachFacts>,
    /// What the node's Kubernetes ports speak, probed from the node itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<TlsProbe>,
    /// The distribution layout the node was judged with, and why: detected
    /// from what the node holds, or given with `--layout`. Absent in facts
    /// saved before layouts existed (the engine then detects it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<LayoutFacts>,
    /// Processes that are not components but tell how the node is built:
    /// a distribution's supervisor (`rke2`, `k3s-server`), with its argv.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessFacts>,
    /// What kind of machine the node is, when the scan knew (e.g. a kind
    /// node container). Absent for ordinary hosts. The engine explains the
    /// verdicts a platform decides, so saved facts keep the explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// The layout a node was judged with (see `k8s::layout`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutFacts {
    /// A built-in layout's name, or `unknown`.
    pub name: String,
    /// Given with `--layout` rather than detected.
    #[serde(default, skip_serializing_if = "is_false")]
    pub forced: bool,
    /// What recognised it (a process, a path), or what was looked for.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// A process of interest that is not a component.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessFacts {
    /// The name it was looked for by (its `comm`, or its argv\[0\]'s last
    /// component).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default)]
    pub argv: Vec<String>,
}

/// A platform whose nodes differ from ordinary hosts in ways the engine
/// accounts for, each with a stated reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// A node container of a kind (Kubernetes in Docker) cluster.
    Kind,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Kind => "kind",
        }
    }
}

/// The outcome of a TCP connection attempted from a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReachOutcome {
    /// The connection was established.
    Reachable,
    /// The target answered with a refusal (RST) or the path was rejected.
    Refused,
    /// No answer within the timeout: dropped by a firewall, or no route.
    Filtered,
    /// The attempt itself failed (e.g. the node's sshd forbids forwarding).
    Error,
}

/// One connection attempt from this node to `target`'s `address:port`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachFacts {
    /// The node whose port was tried.
    pub target: String,
    pub address: String,
    pub port: u16,
    pub outcome: ReachOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeIdentity {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// How `roles` were found when the inventory gave none: "detected from
    /// kube-apiserver and etcd on the node", or "guessed: ..." when nothing
    /// of Kubernetes was found. Absent for declared roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles_detected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// Detected Kubernetes version, e.g. `v1.32.4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Where `kubernetes_version` was read (an image tag in a manifest...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_version: Option<String>,
}

/// The part a node plays in the cluster, as the inventory declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    ControlPlane,
    Etcd,
    Worker,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::ControlPlane, Role::Etcd, Role::Worker];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ControlPlane => "control-plane",
            Role::Etcd => "etcd",
            Role::Worker => "worker",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far the scan of a node got. Only `ok` nodes carry facts worth evaluating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanStatus {
    #[default]
    Ok,
    Unreachable,
    AuthFailed,
    HostKeyMismatch,
    Timeout,
    /// The login succeeded but never ran the collector (a `ForceCommand`,
    /// a profile script that waits, a hung home directory, `sudo` waiting
    /// on a directory service): abandoned at the start deadline.
    CollectorNotStarted,
    Error,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Ok => "ok",
            ScanStatus::Unreachable => "unreachable",
            ScanStatus::AuthFailed => "auth-failed",
            ScanStatus::HostKeyMismatch => "host-key-mismatch",
            ScanStatus::Timeout => "timeout",
            ScanStatus::CollectorNotStarted => "collector-not-started",
            ScanStatus::Error => "error",
        }
    }
}

/// The components CIS checks. The serialised names are the keys of
/// `NodeFacts::components` and the component part of rule fact names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ComponentKind {
    #[serde(rename = "apiserver")]
    ApiServer,
    #[serde(rename = "controller-manager")]
    ControllerManager,
    #[serde(rename = "scheduler")]
    Scheduler,
    #[serde(rename = "etcd")]
    Etcd,
    #[serde(rename = "kubelet")]
    Kubelet,
    #[serde(rename = "kube-proxy")]
    KubeProxy,
}

impl ComponentKind {
    pub const ALL: [ComponentKind; 6] = [
        ComponentKind::ApiServer,
        ComponentKind::ControllerManager,
        ComponentKind::Scheduler,
        ComponentKind::Etcd,
        ComponentKind::Kubelet,
        ComponentKind::KubeProxy,
    ];

    /// Name used in facts, rules and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::ApiServer => "apiserver",
            ComponentKind::ControllerManager => "controller-manager",
            ComponentKind::Scheduler => "scheduler",
            ComponentKind::Etcd => "etcd",
            ComponentKind::Kubelet => "kubelet",
            ComponentKind::KubeProxy => "kube-proxy",
        }
    }

    /// The binary's usual name, as people know the process.
    pub fn binary(self) -> &'static str {
        match self {
            ComponentKind::ApiServer => "kube-apiserver",
            ComponentKind::ControllerManager => "kube-controller-manager",
            ComponentKind::Scheduler => "kube-scheduler",
            ComponentKind::Etcd => "etcd",
            ComponentKind::Kubelet => "kubelet",
            ComponentKind::KubeProxy => "kube-proxy",
        }
    }

    pub fn parse(s: &str) -> Option<ComponentKind> {
        ComponentKind::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One component as found on the node: its process and its static-pod manifest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentFacts {
    pub running: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Full argv from `/proc/<pid>/cmdline`, NUL-split, `argv[0]` included.
    #[serde(default)]
    pub argv: Vec<String>,
    /// Environment variables that change behaviour (for etcd, every `ETCD_*`).
    /// Values of variables that could hold secrets are never collected.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Version the binary reported, if collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestFacts>,
    /// Why the process could not be read, when it was seen but not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the process has a root directory of its own: `true` when
    /// `/proc/<pid>/root` is not the host's `/` (it runs in a container, so
    /// the files its command line names are read inside the container),
    /// `false` when it is. Absent when it could not be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_root: Option<bool>,
    /// Where `argv` came from when it is not the process's own command line:
    /// a component embedded in a supervisor (k3s) has no process of its
    /// own, and its flags are the ones the supervisor logged when it
    /// started it. Absent for ordinary processes (`/proc/<pid>/cmdline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged: Option<LoggedArgv>,
}

/// The log line a supervisor wrote when it started an embedded component
/// (`Running kube-apiserver --...`): where it was read, and when it was
/// written. `pid` of the component is then the supervisor's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedArgv {
    /// The supervisor process that logged it (`k3s-server`).
    pub supervisor: String,
    /// Where the line was read: `journal` (the supervisor's own entries of
    /// this boot, by its pid) or a log file's path.
    pub log: String,
    /// What the line says, up to where its flags begin
    /// (`Running kube-apiserver`), or the whole line when the component's
    /// configuration is a file and no flags are logged
    /// (`Managed etcd cluster bootstrap already complete and initialized`).
    pub line: String,
    /// The time the line carries (logrus `time=`), as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The static-pod manifest of a component, as parsed on collection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFacts {
    pub path: String,
    /// `command` followed by `args` of the component's container.
    #[serde(default)]
    pub command: Vec<String>,
    /// Why the manifest could not be read or parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What `stat` (and, for parsed config files, a capped read) said of one path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFacts {
    pub exists: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FileKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Last modification time (`stat`'s `%Y`, symlinks followed), in
    /// seconds since the Unix epoch, by the node's clock. Absent in facts
    /// saved before it was collected; the key-rotation checks then say
    /// the age is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<i64>,
    /// For public-key files (the API server's `--service-account-key-file`):
    /// the labels of the PEM blocks it holds (`PUBLIC KEY`...), in order,
    /// so its keys can be counted. Never a block's content; absent for a
    /// file holding a private key, which the collector refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem_blocks: Option<Vec<String>>,
    /// Content, for the config files the engine parses. Capped by the collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// True when `content` was cut at the collector's size cap.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// True when secret values were removed from `content` on the node.
    #[serde(default, skip_serializing_if = "is_false")]
    pub redacted: bool,
    /// For directories: the entries found inside (recursively, absolute paths),
    /// each of which also has its own entry in `NodeFacts::files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<String>>,
    /// Why the path could not be stat'ed or read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Device and inode number (`DEV:INO`) of the file, symlinks followed:
    /// two paths with the same value are one file (`/lib/...` and
    /// `/usr/lib/...` on a merged-/usr system), counted once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_ino: Option<String>,
    /// Set when the file was read inside a component's container, through
    /// its process's root (`/proc/<pid>/root`), and is not the host's file
    /// at the same path: the path is the one the component sees, and a
    /// reader looking on the host will not find it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inside: Option<ContainerRoot>,
}

/// The container a file was read in: the component, and the process whose
/// root directory was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerRoot {
    pub component: ComponentKind,
    pub pid: u32,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl FileFacts {
    /// The path as a report names it: `path`, or `path inside the
    /// kube-proxy container (pid N)` for a file read in a container, so
    /// that nobody looks for it on the host.
    pub fn located(&self, path: &str) -> String {
        match self.inside {
            Some(c) => format!(
                "{path} inside the {} container (pid {})",
                c.component.binary(),
                c.pid
            ),
            None => path.to_string(),
        }
    }

    /// `user:group` as names, falling back to numeric ids.
    pub fn owner(&self) -> Option<String> {
        let user = self
            .user
            .clone()
            .or_else(|| self.uid.map(|u| u.to_string()))?;
        let group = self
            .group
            .clone()
            .or_else(|| self.gid.map(|g| g.to_string()))?;
        Some(format!("{user}:{group}"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateFacts {
    pub path: String,
    /// PEM text of the certificate(s) in the file. Public material only.
    pub pem: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketFacts {
    /// `tcp` or `tcp6`.
    pub protocol: String,
    pub address: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

/// Something the collector tried to read and could not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionError {
    /// What was being read: a path, `component:<name>`, `sockets`...
    pub item: String,
    pub message: String,
}

impl NodeFacts {
    pub fn component(&self, kind: ComponentKind) -> Option<&ComponentFacts> {
        self.components.get(&kind)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.node.roles.contains(&role)
    }

    /// The collection error recorded for `item`, if any.
    pub fn error_for(&self, item: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.item == item)
            .map(|e| e.message.as_str())
    }
}
