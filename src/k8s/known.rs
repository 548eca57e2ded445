//! What kubeharden knows about the components it audits: which flags and config
//! fields exist, their types, how kubelet flags map onto `KubeletConfiguration`
//! fields, and their documented defaults for Kubernetes 1.32-1.34.
//!
//! This table is why a rule may name `flag:apiserver:--profiling` but not
//! `flag:apiserver:--profilling`: fact names are validated against it when a
//! benchmark loads, and the defaults here are what an unset setting evaluates to.
//! A default is a fact about Kubernetes, so it is reported as the source.

use crate::facts::ComponentKind;

/// How a setting's text is to be understood when compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Bool,
    Int,
    /// A Go `time.Duration` such as `4h0m0s`.
    Duration,
    Str,
    /// Comma-separated on the command line, a sequence in YAML.
    List,
}

/// A command-line flag of a control-plane component (or etcd).
#[derive(Debug)]
pub struct FlagSpec {
    pub component: ComponentKind,
    /// With the leading `--`.
    pub name: &'static str,
    pub kind: ValueKind,
    pub default: Option<&'static str>,
}

const fn flag(
    component: ComponentKind,
    name: &'static str,
    kind: ValueKind,
    default: Option<&'static str>,
) -> FlagSpec {
    FlagSpec {
        component,
        name,
        kind,
        default,
    }
}

use ComponentKind::{
    ApiServer as A, ControllerManager as CM, Etcd as E, KubeProxy as KP, Kubelet as K,
    Scheduler as S,
};
use ValueKind::{Bool, Duration, Int, List, Str};

/// Flags rules may name, with their documented defaults.
pub static FLAGS: &[FlagSpec] = &[
    // kube-apiserver
    flag(A, "--anonymous-auth", Bool, Some("true")),
    flag(A, "--token-auth-file", Str, None),
    flag(A, "--enable-admission-plugins", List, Some("")),
    flag(A, "--disable-admission-plugins", List, Some("")),
    // Deprecated, still honoured: exactly these plugins, every other off.
    flag(A, "--admission-control", List, None),
    flag(A, "--admission-control-config-file", Str, None),
    flag(A, "--kubelet-client-certificate", Str, None),
    flag(A, "--kubelet-client-key", Str, None),
    flag(A, "--kubelet-certificate-authority", Str, None),
    // AlwaysAllow is the default only without --authorization-config; the
    // resolver reads the authorization config file when that flag is set.
    flag(A, "--authorization-mode", List, Some("AlwaysAllow")),
    flag(A, "--authorization-config", Str, None),
    flag(A, "--authentication-config", Str, None),
    flag(A, "--profiling", Bool, Some("true")),
    flag(A, "--audit-log-path", Str, None),
    flag(A, "--audit-log-maxage", Int, Some("0")),
    flag(A, "--audit-log-maxbackup", Int, Some("0")),
    flag(A, "--audit-log-maxsize", Int, Some("0")),
    flag(A, "--audit-policy-file", Str, None),
    flag(A, "--request-timeout", Duration, Some("1m0s")),
    flag(A, "--service-account-lookup", Bool, Some("true")),
    flag(A, "--service-account-key-file", List, None),
    flag(
        A,
        "--service-account-extend-token-expiration",
        Bool,
        Some("true"),
    ),
    flag(A, "--etcd-certfile", Str, None),
    flag(A, "--etcd-keyfile", Str, None),
    flag(A, "--etcd-cafile", Str, None),
    flag(A, "--tls-cert-file", Str, None),
    flag(A, "--tls-private-key-file", Str, None),
    flag(A, "--tls-cipher-suites", List, None),
    flag(A, "--tls-min-version", Str, None),
    flag(A, "--client-ca-file", Str, None),
    flag(A, "--encryption-provider-config", Str, None),
    flag(A, "--secure-port", Int, Some("6443")),
    flag(A, "--bind-address", Str, Some("0.0.0.0")),
    flag(A, "--feature-gates", List, Some("")),
    // kube-controller-manager
    flag(CM, "--terminated-pod-gc-threshold", Int, Some("12500")),
    flag(CM, "--profiling", Bool, Some("true")),
    flag(CM, "--use-service-account-credentials", Bool, Some("false")),
    flag(CM, "--service-account-private-key-file", Str, None),
    flag(CM, "--root-ca-file", Str, None),
    flag(CM, "--feature-gates", List, Some("")),
    flag(CM, "--bind-address", Str, Some("0.0.0.0")),
    flag(CM, "--kubeconfig", Str, None),
    flag(CM, "--secure-port", Int, Some("10257")),
    flag(CM, "--tls-cert-file", Str, None),
    flag(CM, "--tls-cipher-suites", List, None),
    flag(CM, "--tls-min-version", Str, None),
    // kube-scheduler
    flag(S, "--profiling", Bool, Some("true")),
    flag(S, "--bind-address", Str, Some("0.0.0.0")),
    flag(S, "--kubeconfig", Str, None),
    flag(S, "--config", Str, None),
    flag(S, "--secure-port", Int, Some("10259")),
    flag(S, "--tls-cert-file", Str, None),
    flag(S, "--tls-cipher-suites", List, None),
    flag(S, "--tls-min-version", Str, None),
    // etcd (also read from ETCD_* environment variables)
    flag(E, "--cert-file", Str, None),
    flag(E, "--key-file", Str, None),
    flag(E, "--client-cert-auth", Bool, Some("false")),
    flag(E, "--auto-tls", Bool, Some("false")),
    flag(E, "--peer-cert-file", Str, None),
    flag(E, "--peer-key-file", Str, None),
    flag(E, "--peer-client-cert-auth", Bool, Some("false")),
    flag(E, "--peer-auto-tls", Bool, Some("false")),
    flag(E, "--trusted-ca-file", Str, None),
    flag(E, "--peer-trusted-ca-file", Str, None),
    flag(E, "--cipher-suites", List, None),
    flag(E, "--tls-min-version", Str, None),
    flag(E, "--data-dir", Str, None),
    flag(
        E,
        "--listen-client-urls",
        List,
        Some("http://localhost:2379"),
    ),
    flag(E, "--listen-peer-urls", List, Some("http://localhost:2380")),
    // No separate metrics listener unless set (metrics are on the client URLs).
    flag(E, "--listen-metrics-urls", List, None),
    flag(E, "--name", Str, Some("default")),
    // kubelet flags that have no KubeletConfiguration field
    flag(K, "--hostname-override", Str, None),
    flag(K, "--config", Str, None),
    flag(K, "--config-dir", Str, None),
    flag(K, "--kubeconfig", Str, None),
    flag(K, "--bootstrap-kubeconfig", Str, None),
    // kube-proxy flags without a config-file twin that rules may read
    flag(KP, "--config", Str, None),
    flag(KP, "--kubeconfig", Str, None),
    flag(KP, "--hostname-override", Str, None),
];

/// Finds a known flag of `component`; `name` includes the leading `--`.
pub fn find_flag(component: ComponentKind, name: &str) -> Option<&'static FlagSpec> {
    FLAGS
        .iter()
        .find(|f| f.component == component && f.name == name)
}

/// The kind of any flag of `component`, when known; used while splitting argv
/// to tell a bare boolean (`--profiling`) from `--flag value`.
pub fn flag_kind(component: ComponentKind, name: &str) -> Option<ValueKind> {
    if let Some(f) = find_flag(component, name) {
        return Some(f.kind);
    }
    let settings = match component {
        ComponentKind::Kubelet => KUBELET,
        ComponentKind::KubeProxy => KUBE_PROXY,
        _ => &[],
    };
    settings
        .iter()
        .find(|s| s.flag == Some(name))
        .map(|s| s.kind)
}

/// A field of a component config file (`KubeletConfiguration`,
/// `KubeProxyConfiguration`) with the flag that also sets it.
#[derive(Debug)]
pub struct SettingSpec {
    /// Dotted path in the config file, e.g. `authentication.anonymous.enabled`.
    pub path: &'static str,
    pub flag: Option<&'static str>,
    pub kind: ValueKind,
    /// Default when the component runs without a config file (the flag default).
    pub flag_default: Option<&'static str>,
    /// Default applied to a config file that leaves the field out.
    pub config_default: Option<&'static str>,
    /// The config file's zero value also means "use the default": Go's
    /// defaulting cannot tell an omitted non-pointer field from an explicit
    /// zero, so kubeadm's `streamingConnectionIdleTimeout: 0s` runs as 4h.
    pub zero_is_default: bool,
}

const fn setting(
    path: &'static str,
    flag: Option<&'static str>,
    kind: ValueKind,
    flag_default: Option<&'static str>,
    config_default: Option<&'static str>,
) -> SettingSpec {
    SettingSpec {
        path,
        flag,
        kind,
        flag_default,
        config_default,
        zero_is_default: false,
    }
}

/// KubeletConfiguration (kubelet.config.k8s.io/v1beta1) fields that rules read.
/// Flag and config-file defaults differ for several of them: a kubelet started
/// without `--config` listens on the read-only port 10255 and allows anonymous
/// requests; one with a config file that omits those fields does neither.
pub static KUBELET: &[SettingSpec] = &[
    setting(
        "authentication.anonymous.enabled",
        Some("--anonymous-auth"),
        Bool,
        Some("true"),
        Some("false"),
    ),
    setting(
        "authentication.webhook.enabled",
        Some("--authentication-token-webhook"),
        Bool,
        Some("false"),
        Some("true"),
    ),
    setting(
        "authentication.x509.clientCAFile",
        Some("--client-ca-file"),
        Str,
        None,
        None,
    ),
    setting(
        "authorization.mode",
        Some("--authorization-mode"),
        Str,
        Some("AlwaysAllow"),
        Some("Webhook"),
    ),
    setting(
        "readOnlyPort",
        Some("--read-only-port"),
        Int,
        Some("10255"),
        Some("0"),
    ),
    SettingSpec {
        zero_is_default: true,
        ..setting(
            "streamingConnectionIdleTimeout",
            Some("--streaming-connection-idle-timeout"),
            Duration,
            Some("4h0m0s"),
            Some("4h0m0s"),
        )
    },
    setting(
        "makeIPTablesUtilChains",
        Some("--make-iptables-util-chains"),
        Bool,
        Some("true"),
        Some("true"),
    ),
    setting(
        "eventRecordQPS",
        Some("--event-qps"),
        Int,
        Some("50"),
        Some("50"),
    ),
    setting("tlsCertFile", Some("--tls-cert-file"), Str, None, None),
    setting(
        "tlsPrivateKeyFile",
        Some("--tls-private-key-file"),
        Str,
        None,
        None,
    ),
    setting(
        "rotateCertificates",
        Some("--rotate-certificates"),
        Bool,
        Some("false"),
        Some("false"),
    ),
    setting(
        "serverTLSBootstrap",
        None,
        Bool,
        Some("false"),
        Some("false"),
    ),
    setting(
        "tlsCipherSuites",
        Some("--tls-cipher-suites"),
        List,
        None,
        None,
    ),
    setting("tlsMinVersion", Some("--tls-min-version"), Str, None, None),
    setting(
        "podPidsLimit",
        Some("--pod-max-pids"),
        Int,
        Some("-1"),
        Some("-1"),
    ),
    setting(
        "seccompDefault",
        Some("--seccomp-default"),
        Bool,
        Some("false"),
        Some("false"),
    ),
    setting(
        "protectKernelDefaults",
        Some("--protect-kernel-defaults"),
        Bool,
        Some("false"),
        Some("false"),
    ),
    setting(
        "staticPodPath",
        Some("--pod-manifest-path"),
        Str,
        None,
        None,
    ),
];

/// KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) fields rules read.
/// Unlike the kubelet, kube-proxy ignores these flags when `--config` is given.
pub static KUBE_PROXY: &[SettingSpec] = &[
    setting(
        "metricsBindAddress",
        Some("--metrics-bind-address"),
        Str,
        Some("127.0.0.1:10249"),
        Some("127.0.0.1:10249"),
    ),
    setting(
        "clientConnection.kubeconfig",
        Some("--kubeconfig"),
        Str,
        None,
        None,
    ),
];

pub fn find_setting(component: ComponentKind, path: &str) -> Option<&'static SettingSpec> {
    let table = match component {
        ComponentKind::Kubelet => KUBELET,
        ComponentKind::KubeProxy => KUBE_PROXY,
        _ => return None,
    };
    table.iter().find(|s| s.path == path)
}

/// A kube-apiserver admission plugin, and whether Kubernetes 1.32-1.34
/// enable it when no flag names it.
#[derive(Debug)]
pub struct AdmissionSpec {
    pub name: &'static str,
    pub default_on: bool,
}

const fn plugin(name: &'static str, default_on: bool) -> AdmissionSpec {
    AdmissionSpec { name, default_on }
}

/// kube-apiserver's admission plugins in Kubernetes 1.32-1.34, in its
/// recommended order (`AllOrderedPlugins` in
/// `pkg/kubeapiserver/options/plugins.go`), with `DefaultOffAdmissionPlugins`
/// applied. Plugins added after 1.34 are left out, so a rule cannot name them.
pub static ADMISSION_PLUGINS: &[AdmissionSpec] = &[
    plugin("AlwaysAdmit", false),
    plugin("NamespaceAutoProvision", false),
    plugin("NamespaceLifecycle", true),
    plugin("NamespaceExists", false),
    plugin("LimitPodHardAntiAffinityTopology", false),
    plugin("LimitRanger", true),
    plugin("ServiceAccount", true),
    plugin("NodeRestriction", false),
    plugin("TaintNodesByCondition", true),
    plugin("AlwaysPullImages", false),
    plugin("ImagePolicyWebhook", false),
    plugin("PodSecurity", true),
    plugin("PodNodeSelector", false),
    plugin("Priority", true),
    plugin("DefaultTolerationSeconds", true),
    plugin("PodTolerationRestriction", false),
    plugin("EventRateLimit", false),
    plugin("ExtendedResourceToleration", false),
    plugin("DefaultStorageClass", true),
    plugin("StorageObjectInUseProtection", true),
    plugin("OwnerReferencesPermissionEnforcement", false),
    plugin("PersistentVolumeClaimResize", true),
    plugin("RuntimeClass", true),
    plugin("CertificateApproval", true),
    plugin("CertificateSigning", true),
    plugin("ClusterTrustBundleAttest", true),
    plugin("CertificateSubjectRestriction", true),
    plugin("DefaultIngressClass", true),
    plugin("DenyServiceExternalIPs", false),
    plugin("MutatingAdmissionPolicy", true),
    plugin("MutatingAdmissionWebhook", true),
    plugin("ValidatingAdmissionPolicy", true),
    plugin("ValidatingAdmissionWebhook", true),
    plugin("ResourceQuota", true),
    plugin("AlwaysDeny", false),
];

pub fn find_admission_plugin(name: &str) -> Option<&'static AdmissionSpec> {
    ADMISSION_PLUGINS.iter().find(|p| p.name == name)
}

/// A feature gate and its default in Kubernetes 1.32-1.34.
#[derive(Debug)]
pub struct GateSpec {
    pub name: &'static str,
    pub default: bool,
}

pub static FEATURE_GATES: &[GateSpec] = &[GateSpec {
    name: "RotateKubeletServerCertificate",
    default: true,
}];

pub fn find_gate(name: &str) -> Option<&'static GateSpec> {
    FEATURE_GATES.iter().find(|g| g.name == name)
}

/// Components whose `--feature-gates` a rule may query.
pub fn gate_component(name: &str) -> Option<ComponentKind> {
    match name {
        "apiserver" => Some(A),
        "controller-manager" => Some(CM),
        "scheduler" => Some(S),
        "kubelet" => Some(K),
        _ => None,
    }
}

/// The environment variable etcd reads for a flag: `--peer-auto-tls` is
/// `ETCD_PEER_AUTO_TLS`.
pub fn etcd_env_name(flag: &str) -> String {
    let bare = flag.trim_start_matches('-');
    format!("ETCD_{}", bare.replace('-', "_").to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_env_names_follow_etcds_own_rule() {
        assert_eq!(etcd_env_name("--peer-auto-tls"), "ETCD_PEER_AUTO_TLS");
        assert_eq!(etcd_env_name("--cert-file"), "ETCD_CERT_FILE");
    }

    #[test]
    fn no_flag_or_setting_is_listed_twice() {
        for (i, a) in FLAGS.iter().enumerate() {
            for b in &FLAGS[i + 1..] {
                assert!(
                    !(a.component == b.component && a.name == b.name),
                    "{} {} listed twice",
                    a.component,
                    a.name
                );
            }
        }
        for table in [KUBELET, KUBE_PROXY] {
            for (i, a) in table.iter().enumerate() {
                assert!(
                    table[i + 1..].iter().all(|b| b.path != a.path),
                    "{}",
                    a.path
                );
            }
        }
    }

    #[test]
    fn admission_defaults_are_kube_apiservers() {
        // On by default: what CIS 1.2.12 and 1.2.13 want left alone.
        for on in ["ServiceAccount", "NamespaceLifecycle", "PodSecurity"] {
            assert!(find_admission_plugin(on).unwrap().default_on, "{on}");
        }
        // Off unless enabled: NodeRestriction too (kubeadm enables it).
        for off in [
            "AlwaysAdmit",
            "NodeRestriction",
            "AlwaysPullImages",
            "EventRateLimit",
            "DenyServiceExternalIPs",
        ] {
            assert!(!find_admission_plugin(off).unwrap().default_on, "{off}");
        }
        for (i, a) in ADMISSION_PLUGINS.iter().enumerate() {
            assert!(ADMISSION_PLUGINS[i + 1..].iter().all(|b| b.name != a.name));
        }
    }

    #[test]
    fn kubelet_flag_and_config_defaults_differ_where_kubernetes_says_so() {
        let ro = find_setting(K, "readOnlyPort").unwrap();
        assert_eq!(
            (ro.flag_default, ro.config_default),
            (Some("10255"), Some("0"))
        );
        let anon = find_setting(K, "authentication.anonymous.enabled").unwrap();
        assert_eq!(
            (anon.flag_default, anon.config_default),
            (Some("true"), Some("false"))
        );
        let authz = find_setting(K, "authorization.mode").unwrap();
        assert_eq!(
            (authz.flag_default, authz.config_default),
            (Some("AlwaysAllow"), Some("Webhook"))
        );
    }
}
