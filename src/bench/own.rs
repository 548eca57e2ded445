//! kubeharden's own checks: the closed set of built-in deciders.
//!
//! CIS rules are decided by a fact and an operator. kubeharden's own checks
//! (TLS on the ports, certificates, etcd firewalling, drift, presence) need
//! more than one fact and are decided by code in the engine. Their titles,
//! sections, severities and remediation are data like every other rule
//! (`benchmarks/kubeharden/checks.toml`); the data names the decider with
//! `builtin = "<name>"`, parsed into [`BuiltinCheck`] by serde, so a name the
//! engine does not know is a load error with its file and line.

use serde::Deserialize;

use super::Scope;
use crate::facts::ComponentKind;

/// The deciders the engine implements. The serde names are what
/// `builtin = "..."` may say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum BuiltinCheck {
    #[serde(rename = "tls.min-version")]
    TlsMinVersion,
    #[serde(rename = "tls.weak-ciphers")]
    TlsWeakCiphers,
    #[serde(rename = "tls.kubelet-anonymous")]
    TlsKubeletAnonymous,
    #[serde(rename = "tls.etcd-client-cert")]
    TlsEtcdClientCert,
    #[serde(rename = "tls.served-cert")]
    TlsServedCert,
    #[serde(rename = "tls.plaintext")]
    TlsPlaintext,
    #[serde(rename = "cert.expiry")]
    CertExpiry,
    #[serde(rename = "cert.key-strength")]
    CertKeyStrength,
    #[serde(rename = "cert.signature")]
    CertSignature,
    #[serde(rename = "cert.chain")]
    CertChain,
    #[serde(rename = "cert.apiserver-san")]
    CertApiserverSan,
    #[serde(rename = "net.etcd-firewall")]
    NetEtcdFirewall,
    #[serde(rename = "keys.encryption")]
    KeysEncryption,
    #[serde(rename = "keys.service-account")]
    KeysServiceAccount,
    #[serde(rename = "keys.ca")]
    KeysCa,
    #[serde(rename = "keys.kubelet-rotation")]
    KeysKubeletRotation,
    /// Per component (the rule's `component`): the running process against
    /// its static-pod manifest.
    #[serde(rename = "drift")]
    Drift,
    /// Per component (the rule's `component`): the component the node's
    /// roles need is running.
    #[serde(rename = "presence")]
    Presence,
    /// A check of the cluster's objects (CIS section 5), read from the API.
    /// It reports under its rule's own id (a CIS id), which it shares
    /// with nothing else.
    #[serde(skip)]
    Api(ApiCheck),
}

/// The deciders that judge the cluster's objects (`engine::policy`). Their
/// names in the data are `api.<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiCheck {
    ClusterAdmin,
    SecretsAccess,
    Wildcards,
    PodCreate,
    DefaultServiceAccount,
    TokenMounts,
    SystemMasters,
    Escalation,
    PvCreate,
    NodesProxy,
    CsrApproval,
    WebhookConfig,
    TokenCreate,
    PolicyControl,
    Privileged,
    HostPid,
    HostIpc,
    HostNetwork,
    PrivilegeEscalation,
    Root,
    NetRaw,
    Capabilities,
    HostProcess,
    HostPath,
    HostPorts,
    CniPolicies,
    NamespacePolicies,
    SecretEnv,
    ExternalSecrets,
    ImagePolicy,
    Seccomp,
    SecurityContext,
    DefaultNamespace,
}

impl ApiCheck {
    pub const ALL: [ApiCheck; 33] = [
        ApiCheck::ClusterAdmin,
        ApiCheck::SecretsAccess,
        ApiCheck::Wildcards,
        ApiCheck::PodCreate,
        ApiCheck::DefaultServiceAccount,
        ApiCheck::TokenMounts,
        ApiCheck::SystemMasters,
        ApiCheck::Escalation,
        ApiCheck::PvCreate,
        ApiCheck::NodesProxy,
        ApiCheck::CsrApproval,
        ApiCheck::WebhookConfig,
        ApiCheck::TokenCreate,
        ApiCheck::PolicyControl,
        ApiCheck::Privileged,
        ApiCheck::HostPid,
        ApiCheck::HostIpc,
        ApiCheck::HostNetwork,
        ApiCheck::PrivilegeEscalation,
        ApiCheck::Root,
        ApiCheck::NetRaw,
        ApiCheck::Capabilities,
        ApiCheck::HostProcess,
        ApiCheck::HostPath,
        ApiCheck::HostPorts,
        ApiCheck::CniPolicies,
        ApiCheck::NamespacePolicies,
        ApiCheck::SecretEnv,
        ApiCheck::ExternalSecrets,
        ApiCheck::ImagePolicy,
        ApiCheck::Seccomp,
        ApiCheck::SecurityContext,
        ApiCheck::DefaultNamespace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiCheck::ClusterAdmin => "api.cluster-admin",
            ApiCheck::SecretsAccess => "api.secrets-access",
            ApiCheck::Wildcards => "api.wildcards",
            ApiCheck::PodCreate => "api.pod-create",
            ApiCheck::DefaultServiceAccount => "api.default-service-account",
            ApiCheck::TokenMounts => "api.token-mounts",
            ApiCheck::SystemMasters => "api.system-masters",
            ApiCheck::Escalation => "api.escalation",
            ApiCheck::PvCreate => "api.pv-create",
            ApiCheck::NodesProxy => "api.nodes-proxy",
            ApiCheck::CsrApproval => "api.csr-approval",
            ApiCheck::WebhookConfig => "api.webhook-config",
            ApiCheck::TokenCreate => "api.token-create",
            ApiCheck::PolicyControl => "api.policy-control",
            ApiCheck::Privileged => "api.privileged",
            ApiCheck::HostPid => "api.host-pid",
            ApiCheck::HostIpc => "api.host-ipc",
            ApiCheck::HostNetwork => "api.host-network",
            ApiCheck::PrivilegeEscalation => "api.privilege-escalation",
            ApiCheck::Root => "api.root",
            ApiCheck::NetRaw => "api.net-raw",
            ApiCheck::Capabilities => "api.capabilities",
            ApiCheck::HostProcess => "api.host-process",
            ApiCheck::HostPath => "api.host-path",
            ApiCheck::HostPorts => "api.host-ports",
            ApiCheck::CniPolicies => "api.cni-policies",
            ApiCheck::NamespacePolicies => "api.namespace-policies",
            ApiCheck::SecretEnv => "api.secret-env",
            ApiCheck::ExternalSecrets => "api.external-secrets",
            ApiCheck::ImagePolicy => "api.image-policy",
            ApiCheck::Seccomp => "api.seccomp",
            ApiCheck::SecurityContext => "api.security-context",
            ApiCheck::DefaultNamespace => "api.default-namespace",
        }
    }

    pub fn parse(name: &str) -> Option<ApiCheck> {
        ApiCheck::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// What the check requires, in words.
    pub fn describe(self) -> &'static str {
        match self {
            ApiCheck::ClusterAdmin => "cluster-admin bound to the platform's own identities only",
            ApiCheck::SecretsAccess => "no one but the platform may get, list or watch secrets",
            ApiCheck::Wildcards => "no Role or ClusterRole grants \"*\" verbs or resources",
            ApiCheck::PodCreate => "no one but the platform may create pods",
            ApiCheck::DefaultServiceAccount => {
                "every namespace's default service account sets automountServiceAccountToken: false"
            }
            ApiCheck::TokenMounts => "pods mount a service account token only where they set it",
            ApiCheck::SystemMasters => "system:masters bound only by the bootstrap policy",
            ApiCheck::Escalation => "no one but the platform may bind, escalate or impersonate",
            ApiCheck::PvCreate => "no one but the platform may create persistent volumes",
            ApiCheck::NodesProxy => "no one but the platform may use nodes/proxy",
            ApiCheck::CsrApproval => "no one but the platform may approve certificate requests",
            ApiCheck::WebhookConfig => "no one but the platform may change webhook configurations",
            ApiCheck::TokenCreate => "no one but the platform may create service account tokens",
            ApiCheck::PolicyControl => {
                "every namespace under Pod Security admission enforce, or a policy engine"
            }
            ApiCheck::Privileged => "no privileged container",
            ApiCheck::HostPid => "no pod shares the host's PID namespace",
            ApiCheck::HostIpc => "no pod shares the host's IPC namespace",
            ApiCheck::HostNetwork => "no pod uses the host's network",
            ApiCheck::PrivilegeEscalation => "every container sets allowPrivilegeEscalation: false",
            ApiCheck::Root => "every container runs as non-root",
            ApiCheck::NetRaw => "every container drops NET_RAW (or ALL)",
            ApiCheck::Capabilities => "no container adds capabilities",
            ApiCheck::HostProcess => "no Windows HostProcess container",
            ApiCheck::HostPath => "no hostPath volume",
            ApiCheck::HostPorts => "no container uses a hostPort",
            ApiCheck::CniPolicies => "the CNI plugin in use enforces NetworkPolicy",
            ApiCheck::NamespacePolicies => "every namespace has a NetworkPolicy",
            ApiCheck::SecretEnv => "no container reads a Secret into its environment",
            ApiCheck::ExternalSecrets => {
                "secrets kept in an external store (a person judges; the operators found are named)"
            }
            ApiCheck::ImagePolicy => "an image admission control is in force",
            ApiCheck::Seccomp => "every pod runs with seccomp RuntimeDefault (or Localhost)",
            ApiCheck::SecurityContext => "every pod and container sets a securityContext",
            ApiCheck::DefaultNamespace => "no workload in the default namespace",
        }
    }
}

/// Components whose static-pod manifest the drift check compares.
pub const DRIFT_COMPONENTS: [ComponentKind; 4] = [
    ComponentKind::ApiServer,
    ComponentKind::ControllerManager,
    ComponentKind::Scheduler,
    ComponentKind::Etcd,
];

impl BuiltinCheck {
    pub const ALL: [BuiltinCheck; 18] = [
        BuiltinCheck::TlsMinVersion,
        BuiltinCheck::TlsWeakCiphers,
        BuiltinCheck::TlsKubeletAnonymous,
        BuiltinCheck::TlsEtcdClientCert,
        BuiltinCheck::TlsServedCert,
        BuiltinCheck::TlsPlaintext,
        BuiltinCheck::CertExpiry,
        BuiltinCheck::CertKeyStrength,
        BuiltinCheck::CertSignature,
        BuiltinCheck::CertChain,
        BuiltinCheck::CertApiserverSan,
        BuiltinCheck::NetEtcdFirewall,
        BuiltinCheck::KeysEncryption,
        BuiltinCheck::KeysServiceAccount,
        BuiltinCheck::KeysCa,
        BuiltinCheck::KeysKubeletRotation,
        BuiltinCheck::Drift,
        BuiltinCheck::Presence,
    ];

    /// Parses a `builtin` name through serde; the error lists the names.
    pub fn parse(name: &str) -> Result<BuiltinCheck, String> {
        use serde::de::IntoDeserializer;
        if let Some(c) = ApiCheck::parse(name) {
            return Ok(BuiltinCheck::Api(c));
        }
        let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            name.into_deserializer();
        BuiltinCheck::deserialize(de).map_err(|_| {
            format!(
                "unknown builtin {name:?} (known: {})",
                BuiltinCheck::ALL
                    .map(|b| b.as_str())
                    .into_iter()
                    .chain(ApiCheck::ALL.map(|a| a.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BuiltinCheck::TlsMinVersion => "tls.min-version",
            BuiltinCheck::TlsWeakCiphers => "tls.weak-ciphers",
            BuiltinCheck::TlsKubeletAnonymous => "tls.kubelet-anonymous",
            BuiltinCheck::TlsEtcdClientCert => "tls.etcd-client-cert",
            BuiltinCheck::TlsServedCert => "tls.served-cert",
            BuiltinCheck::TlsPlaintext => "tls.plaintext",
            BuiltinCheck::CertExpiry => "cert.expiry",
            BuiltinCheck::CertKeyStrength => "cert.key-strength",
            BuiltinCheck::CertSignature => "cert.signature",
            BuiltinCheck::CertChain => "cert.chain",
            BuiltinCheck::CertApiserverSan => "cert.apiserver-san",
            BuiltinCheck::NetEtcdFirewall => "net.etcd-firewall",
            BuiltinCheck::KeysEncryption => "keys.encryption",
            BuiltinCheck::KeysServiceAccount => "keys.service-account",
            BuiltinCheck::KeysCa => "keys.ca",
            BuiltinCheck::KeysKubeletRotation => "keys.kubelet-rotation",
            BuiltinCheck::Drift => "drift",
            BuiltinCheck::Presence => "presence",
            BuiltinCheck::Api(c) => c.as_str(),
        }
    }

    /// Whether the decider judges the cluster as a whole.
    pub fn scope(self) -> Scope {
        match self {
            BuiltinCheck::NetEtcdFirewall | BuiltinCheck::Api(_) => Scope::Cluster,
            _ => Scope::Node,
        }
    }

    /// Whether the decider works per component (the rule must name one).
    pub fn per_component(self) -> bool {
        matches!(self, BuiltinCheck::Drift | BuiltinCheck::Presence)
    }

    /// The check id the engine reports this decider's findings under; for
    /// per-component deciders, `<name>.<component>`.
    pub fn id(self, component: Option<ComponentKind>) -> String {
        match (self.per_component(), component) {
            (true, Some(c)) => format!("{}.{c}", self.as_str()),
            _ => self.as_str().to_string(),
        }
    }

    /// What the check looks at, in words, for rule listings.
    pub fn describe(self, component: Option<ComponentKind>) -> String {
        let c = component.map(|c| c.binary()).unwrap_or("the component");
        match self {
            BuiltinCheck::TlsMinVersion => {
                "every TLS port refuses a ClientHello offering only TLS 1.0 and 1.1".into()
            }
            BuiltinCheck::TlsWeakCiphers => {
                "every TLS port refuses suites outside ECDHE with AES-GCM or ChaCha20-Poly1305"
                    .into()
            }
            BuiltinCheck::TlsKubeletAnonymous => {
                "an anonymous GET /pods on the kubelet's port answers 401 or 403".into()
            }
            BuiltinCheck::TlsEtcdClientCert => {
                "every etcd port aborts a handshake made without a client certificate".into()
            }
            BuiltinCheck::TlsServedCert => {
                "each port serves the certificate its flags name, unexpired, from the right CA"
                    .into()
            }
            BuiltinCheck::TlsPlaintext => {
                "TLS on every Kubernetes port but the health checks".into()
            }
            BuiltinCheck::CertExpiry => "every certificate valid for long enough".into(),
            BuiltinCheck::CertKeyStrength => "RSA keys of 2048 bits or more (or EC/Ed25519)".into(),
            BuiltinCheck::CertSignature => "signatures with SHA-256 or stronger".into(),
            BuiltinCheck::CertChain => {
                "each leaf issued by the CA its verifier is configured with".into()
            }
            BuiltinCheck::CertApiserverSan => {
                "the API server certificate names the node and kubernetes.default.svc".into()
            }
            BuiltinCheck::NetEtcdFirewall => {
                "etcd's ports reachable from the control plane only".into()
            }
            BuiltinCheck::KeysEncryption => {
                "the encryption-at-rest key rotated within --key-max-age, old keys dropped after"
                    .into()
            }
            BuiltinCheck::KeysServiceAccount => {
                "the service-account signing key younger than --key-max-age".into()
            }
            BuiltinCheck::KeysCa => "every CA in use valid for longer than --ca-warn-days".into(),
            BuiltinCheck::KeysKubeletRotation => {
                "the kubelet's rotating certificates really rotate".into()
            }
            BuiltinCheck::Drift => format!("running {c} equals its static-pod manifest"),
            BuiltinCheck::Presence => format!("{c} runs where the node's roles need it"),
            BuiltinCheck::Api(a) => a.describe().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_name_round_trips_through_serde() {
        for b in BuiltinCheck::ALL {
            assert_eq!(BuiltinCheck::parse(b.as_str()), Ok(b));
        }
        for a in ApiCheck::ALL {
            assert_eq!(BuiltinCheck::parse(a.as_str()), Ok(BuiltinCheck::Api(a)));
        }
        let e = BuiltinCheck::parse("tls.min_version").unwrap_err();
        assert!(
            e.contains("unknown builtin") && e.contains("tls.min-version"),
            "{e}"
        );
    }
}
