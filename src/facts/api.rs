//! `ClusterFacts`: the cluster's objects as the API server gave them, for the
//! policy half of CIS (section 5: RBAC, service accounts, Pod Security,
//! network policies, secrets, admission).
//!
//! They are read once per scan, through one control-plane node's own
//! `kubectl` and admin kubeconfig (so no credential leaves the node), or from
//! the scanning machine with `--kubeconfig`. Like node facts they are raw
//! observations, saved with `--save-facts` (as `cluster.json`) and judged
//! again offline by `eval`.
//!
//! Only what a check needs is kept, field by field: no object is brought back
//! whole. In particular no Secret or ConfigMap is ever listed, no annotation
//! is read (`kubectl.kubernetes.io/last-applied-configuration` holds a whole
//! object, values included), and of a container's environment only the
//! references to Secrets are kept, never a value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `kind` of a cluster facts document, which tells it from node facts.
pub const CLUSTER_FACTS_KIND: &str = "ClusterFacts";

/// The resources read, in the order they are listed. Each is one `kubectl
/// get` (or one list call); a resource that could not be read is recorded
/// with why, and the checks that need it say `error`.
pub const RESOURCES: [&str; 15] = [
    "namespaces",
    "pods",
    "serviceaccounts",
    "clusterroles",
    "roles",
    "clusterrolebindings",
    "rolebindings",
    "networkpolicies",
    "daemonsets",
    "deployments",
    "validatingwebhookconfigurations",
    "mutatingwebhookconfigurations",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "customresourcedefinitions",
];

/// The cluster's objects, as far as the checks need them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFacts {
    /// The facts schema version (the same as node facts').
    pub schema_version: u32,
    /// Always [`CLUSTER_FACTS_KIND`].
    pub kind: String,
    /// How the objects were read.
    pub source: ApiSource,
    /// When the read finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<String>,
    /// The API server's version (`gitVersion`), when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Why nothing could be read at all (no kubectl, no kubeconfig, the API
    /// unreachable, the node not scanned). Every API check is then `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Per resource: how many objects were read, or why it could not be.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceRead>,
    #[serde(default)]
    pub namespaces: Vec<Namespace>,
    #[serde(default)]
    pub pods: Vec<Pod>,
    #[serde(default)]
    pub service_accounts: Vec<ServiceAccount>,
    /// Roles and ClusterRoles (`namespace` is `None` for a ClusterRole).
    #[serde(default)]
    pub roles: Vec<Role>,
    /// RoleBindings and ClusterRoleBindings (`namespace` `None` for the latter).
    #[serde(default)]
    pub bindings: Vec<Binding>,
    #[serde(default)]
    pub network_policies: Vec<NetworkPolicy>,
    /// DaemonSets and Deployments: which CNI, which policy engine, which
    /// secrets operator runs.
    #[serde(default)]
    pub workloads: Vec<Workload>,
    /// Validating and mutating webhook configurations.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// ValidatingAdmissionPolicies and their bindings.
    #[serde(default)]
    pub admission_policies: Vec<AdmissionPolicy>,
    /// The names of the CustomResourceDefinitions (`<plural>.<group>`):
    /// a policy engine's or a secrets operator's types.
    #[serde(default)]
    pub crds: Vec<String>,
}

impl ClusterFacts {
    /// Why `resource` cannot be judged: the whole read failed, or this
    /// resource's list did; `None` when it was read.
    pub fn unreadable(&self, resource: &str) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(e.clone());
        }
        match self.resources.get(resource) {
            Some(r) => r.error.as_ref().map(|e| format!("{resource}: {e}")),
            None => Some(format!("{resource} were not read")),
        }
    }
}

/// How the objects were read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSource {
    /// `node` (a control-plane node's kubectl) or `kubeconfig` (this
    /// machine, `--kubeconfig`).
    pub via: String,
    /// The node whose kubectl was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The kubectl command run on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubectl: Option<String>,
    /// The kubeconfig used: a path on the node, or on this machine. Its
    /// contents never leave the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<String>,
}

/// One resource's list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRead {
    /// Objects read.
    pub objects: usize,
    /// Why it could not be read (a missing permission, a resource the
    /// server does not serve, a timeout), as kubectl said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Namespace {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A reference to the object that owns a pod, or to any object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    pub kind: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    /// The controller that owns it (a ReplicaSet, a DaemonSet, a Node for a
    /// static pod's mirror).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<ObjectRef>,
    /// A static pod's mirror (the `kubernetes.io/config.mirror` annotation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mirror: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// `spec.automountServiceAccountToken`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_token: Option<bool>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_network: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_pid: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_ipc: bool,
    /// The pod-level security context (`None`: not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

/// The fields of a pod's or a container's securityContext the checks read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_privilege_escalation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_non_root: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities_drop: Vec<String>,
    /// `seccompProfile.type` (`RuntimeDefault`, `Localhost`, `Unconfined`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<String>,
    /// `windowsOptions.hostProcess`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_process: Option<bool>,
}

impl SecurityContext {
    /// Sets nothing a check reads. The API server defaults a pod's
    /// `securityContext` to `{}`, so an empty one is as good as none.
    pub fn is_empty(&self) -> bool {
        *self == SecurityContext::default()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerKind {
    #[default]
    Container,
    Init,
    Ephemeral,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    pub name: String,
    #[serde(default)]
    pub kind: ContainerKind,
    /// `None`: the container sets no securityContext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_ports: Vec<u32>,
    /// Secrets it reads into its environment (names only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_env: Vec<SecretEnv>,
}

/// A Secret consumed as environment variables.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretEnv {
    /// The Secret's name.
    pub secret: String,
    /// The key, for `env[].valueFrom.secretKeyRef`; `None` for `envFrom`
    /// (every key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    /// A projected service account token (what token automount adds).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub token: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_token: Option<bool>,
}

/// One rule of a Role or ClusterRole, as the API has it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        rename = "nonResourceURLs"
    )]
    pub non_resource_urls: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// `None` for a ClusterRole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
    /// An aggregated ClusterRole's `clusterRoleSelectors[].matchLabels`:
    /// its rules are those of every ClusterRole some selector matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregation: Vec<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// `None` for a ClusterRoleBinding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// `ClusterRole` or `Role`.
    pub role_kind: String,
    pub role_name: String,
    #[serde(default)]
    pub subjects: Vec<Subject>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkPolicy {
    pub namespace: String,
    pub name: String,
    /// The policy selects every pod of its namespace (`podSelector: {}`).
    pub selects_all: bool,
    #[serde(default)]
    pub policy_types: Vec<String>,
    pub ingress_rules: usize,
    pub egress_rules: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// `DaemonSet` or `Deployment`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The images of its pod template's containers.
    #[serde(default)]
    pub images: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `ValidatingWebhookConfiguration` or `MutatingWebhookConfiguration`.
    pub kind: String,
    pub name: String,
    /// The webhooks' names.
    #[serde(default)]
    pub webhooks: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionPolicy {
    /// `ValidatingAdmissionPolicy` or `ValidatingAdmissionPolicyBinding`.
    pub kind: String,
    pub name: String,
    /// For a binding: the policy it binds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// For a binding: `Deny`, `Warn`, `Audit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// For a policy: its validations' CEL expressions (capped), which say
    /// what it checks (an image policy tests `.image`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expressions: Vec<String>,
}
