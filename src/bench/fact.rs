//! Fact names: the closed vocabulary rules use to say what they read.
//!
//! Every name parses into a typed [`Fact`] that points into the knowledge
//! tables of [`crate::k8s::known`], so a rule can only name a fact the
//! facts model can carry and the engine can resolve.

use std::fmt;

use crate::facts::ComponentKind;
use crate::k8s::audit::{Concern, find_concern};
use crate::k8s::files::{FileAttr, FileRef};
use crate::k8s::known::{
    self, AdmissionSpec, FlagSpec, GateSpec, SettingSpec, ValueKind, find_admission_plugin,
    find_flag, find_gate, find_setting,
};

#[derive(Clone, Copy, Debug)]
pub enum Fact {
    /// `flag:<component>:--<flag>`: an effective command-line setting.
    Flag(&'static FlagSpec),
    /// `kubelet:<path>` / `kube-proxy:<path>`: an effective component-config setting.
    Setting {
        component: ComponentKind,
        spec: &'static SettingSpec,
    },
    /// `feature-gate:<component>:<Gate>`.
    FeatureGate {
        component: ComponentKind,
        gate: &'static GateSpec,
    },
    /// `encryption:secrets-provider`.
    EncryptionSecretsProvider,
    /// `admission:<Plugin>`: whether a kube-apiserver admission plugin is
    /// enabled, from `--enable-admission-plugins`, `--disable-admission-plugins`
    /// or the deprecated `--admission-control`, else its default.
    AdmissionPlugin(&'static AdmissionSpec),
    /// `authentication:anonymous`: where the API server lets anonymous
    /// requests in (`disabled`, `health endpoints only`, `enabled`), from
    /// `--anonymous-auth` or the AuthenticationConfiguration file.
    AnonymousAuth,
    /// `audit:policy`: whether the file `--audit-policy-file` names exists
    /// and parses as an audit Policy (`loaded`, `missing`, `invalid`, `not set`).
    AuditPolicy,
    /// `audit:<concern>`: the audit levels the policy gives a concern's
    /// requests (see `k8s::audit::CONCERNS`), each with its deciding rule.
    AuditConcern(&'static Concern),
    /// `audit:catch-all-none`: the first rule matching every request, when
    /// its level is None.
    AuditCatchAllNone,
    /// `file:<ref>:<attr>`.
    File { file: FileRef, attr: FileAttr },
}

impl Fact {
    /// Parses a fact name; the error says what is wrong with it.
    pub fn parse(name: &str) -> Result<Fact, String> {
        let (kind, rest) = name
            .split_once(':')
            .ok_or_else(|| format!("unknown fact {name:?}: expected <kind>:<...>"))?;
        match kind {
            "flag" => {
                let (comp, flag) = rest
                    .split_once(':')
                    .ok_or_else(|| format!("fact {name:?}: expected flag:<component>:--<flag>"))?;
                let component = ComponentKind::parse(comp)
                    .ok_or_else(|| format!("fact {name:?}: unknown component {comp:?}"))?;
                if !flag.starts_with("--") {
                    return Err(format!("fact {name:?}: flag must start with --"));
                }
                if let Some(spec) = find_flag(component, flag) {
                    return Ok(Fact::Flag(spec));
                }
                let twin = [ComponentKind::Kubelet, ComponentKind::KubeProxy]
                    .contains(&component)
                    .then(|| {
                        let table = if component == ComponentKind::Kubelet {
                            known::KUBELET
                        } else {
                            known::KUBE_PROXY
                        };
                        table.iter().find(|s| s.flag == Some(flag))
                    })
                    .flatten();
                match twin {
                    Some(s) => Err(format!(
                        "fact {name:?}: {flag} is also a config-file field; use {component}:{} so the config file and defaults are read",
                        s.path
                    )),
                    None => Err(format!(
                        "unknown fact {name:?}: {flag} is not a known {component} flag"
                    )),
                }
            }
            "kubelet" | "kube-proxy" => {
                let component = ComponentKind::parse(kind).expect("listed above");
                find_setting(component, rest)
                    .map(|spec| Fact::Setting { component, spec })
                    .ok_or_else(|| {
                        format!(
                            "unknown fact {name:?}: {rest:?} is not a known {kind} config field"
                        )
                    })
            }
            "feature-gate" => {
                let (comp, gate) = rest.split_once(':').ok_or_else(|| {
                    format!("fact {name:?}: expected feature-gate:<component>:<Gate>")
                })?;
                let component = known::gate_component(comp).ok_or_else(|| {
                    format!("fact {name:?}: feature gates of {comp:?} are not read")
                })?;
                let gate = find_gate(gate).ok_or_else(|| {
                    format!("unknown fact {name:?}: unknown feature gate {gate:?}")
                })?;
                Ok(Fact::FeatureGate { component, gate })
            }
            "encryption" if rest == "secrets-provider" => Ok(Fact::EncryptionSecretsProvider),
            "authentication" if rest == "anonymous" => Ok(Fact::AnonymousAuth),
            "audit" if rest == "policy" => Ok(Fact::AuditPolicy),
            "audit" if rest == "catch-all-none" => Ok(Fact::AuditCatchAllNone),
            "audit" => find_concern(rest).map(Fact::AuditConcern).ok_or_else(|| {
                let known: Vec<&str> = crate::k8s::audit::CONCERNS.iter().map(|c| c.name).collect();
                format!(
                    "unknown fact {name:?}: {rest:?} is not an audit concern (policy, catch-all-none, {})",
                    known.join(", ")
                )
            }),
            "admission" => find_admission_plugin(rest)
                .map(Fact::AdmissionPlugin)
                .ok_or_else(|| {
                    format!(
                        "unknown fact {name:?}: {rest:?} is not a kube-apiserver 1.32-1.34 admission plugin"
                    )
                }),
            "file" => {
                let (r, attr) = rest
                    .rsplit_once(':')
                    .ok_or_else(|| format!("fact {name:?}: expected file:<ref>:mode|owner"))?;
                let file = FileRef::parse(r)
                    .ok_or_else(|| format!("unknown fact {name:?}: unknown file ref {r:?}"))?;
                let attr = match attr {
                    "mode" => FileAttr::Mode,
                    "owner" => FileAttr::Owner,
                    other => {
                        return Err(format!(
                            "fact {name:?}: unknown file attribute {other:?} (mode or owner)"
                        ));
                    }
                };
                Ok(Fact::File { file, attr })
            }
            _ => Err(format!("unknown fact {name:?}")),
        }
    }

    /// How the value of this fact is compared.
    pub fn kind(&self) -> ValueKind {
        match self {
            Fact::Flag(spec) => spec.kind,
            Fact::Setting { spec, .. } => spec.kind,
            Fact::FeatureGate { .. } => ValueKind::Bool,
            Fact::EncryptionSecretsProvider => ValueKind::Str,
            Fact::AdmissionPlugin(_) => ValueKind::Bool,
            Fact::AnonymousAuth => ValueKind::Str,
            Fact::AuditPolicy | Fact::AuditCatchAllNone => ValueKind::Str,
            Fact::AuditConcern(_) => ValueKind::List,
            Fact::File { .. } => ValueKind::Str,
        }
    }

    /// The component the fact belongs to, if any.
    pub fn component(&self) -> Option<ComponentKind> {
        match self {
            Fact::Flag(spec) => Some(spec.component),
            Fact::Setting { component, .. } | Fact::FeatureGate { component, .. } => {
                Some(*component)
            }
            Fact::EncryptionSecretsProvider
            | Fact::AdmissionPlugin(_)
            | Fact::AnonymousAuth
            | Fact::AuditPolicy
            | Fact::AuditConcern(_)
            | Fact::AuditCatchAllNone => Some(ComponentKind::ApiServer),
            Fact::File { .. } => None,
        }
    }

    /// Short human name of what is read, used in `expected` texts.
    pub fn subject(&self) -> String {
        match self {
            Fact::Flag(spec) => format!("{} {}", spec.component.binary(), spec.name),
            Fact::Setting { component, spec } => format!("{} {}", component.binary(), spec.path),
            Fact::FeatureGate { component, gate } => {
                format!("{} feature gate {}", component.binary(), gate.name)
            }
            Fact::EncryptionSecretsProvider => "first encryption provider for secrets".to_string(),
            Fact::AdmissionPlugin(p) => {
                format!("kube-apiserver admission plugin {} enabled", p.name)
            }
            Fact::AnonymousAuth => "kube-apiserver anonymous access".to_string(),
            Fact::AuditPolicy => "kube-apiserver audit policy file".to_string(),
            Fact::AuditConcern(c) => format!("audit level of {}", c.title),
            Fact::AuditCatchAllNone => "audit policy catch-all rule at level None".to_string(),
            Fact::File { file, .. } => file.describe().to_string(),
        }
    }
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fact::Flag(spec) => write!(f, "flag:{}:{}", spec.component, spec.name),
            Fact::Setting { component, spec } => write!(f, "{component}:{}", spec.path),
            Fact::FeatureGate { component, gate } => {
                write!(f, "feature-gate:{component}:{}", gate.name)
            }
            Fact::EncryptionSecretsProvider => f.write_str("encryption:secrets-provider"),
            Fact::AdmissionPlugin(p) => write!(f, "admission:{}", p.name),
            Fact::AnonymousAuth => f.write_str("authentication:anonymous"),
            Fact::AuditPolicy => f.write_str("audit:policy"),
            Fact::AuditConcern(c) => write!(f, "audit:{}", c.name),
            Fact::AuditCatchAllNone => f.write_str("audit:catch-all-none"),
            Fact::File { file, attr } => write!(
                f,
                "file:{}:{}",
                file.as_str(),
                match attr {
                    FileAttr::Mode => "mode",
                    FileAttr::Owner => "owner",
                }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fact_names_round_trip() {
        for name in [
            "flag:apiserver:--profiling",
            "flag:etcd:--client-cert-auth",
            "kubelet:authentication.anonymous.enabled",
            "kube-proxy:metricsBindAddress",
            "feature-gate:kubelet:RotateKubeletServerCertificate",
            "encryption:secrets-provider",
            "admission:NodeRestriction",
            "authentication:anonymous",
            "audit:policy",
            "audit:secrets",
            "audit:pod-access",
            "audit:catch-all-none",
            "file:pki.key:mode",
            "file:etcd.data-dir:owner",
        ] {
            assert_eq!(Fact::parse(name).unwrap().to_string(), name);
        }
        for r in FileRef::ALL {
            assert_eq!(FileRef::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn unknown_or_misspelt_facts_are_rejected_with_a_reason() {
        let e = Fact::parse("flag:apiserver:--profilling").unwrap_err();
        assert!(e.contains("not a known apiserver flag"), "{e}");
        let e = Fact::parse("flag:kubelet:--read-only-port").unwrap_err();
        assert!(e.contains("kubelet:readOnlyPort"), "{e}");
        assert!(Fact::parse("kubelet:readOnlyPorts").is_err());
        assert!(Fact::parse("file:pki:size").is_err());
        assert!(Fact::parse("shell:cat /etc/passwd").is_err());
        let e = Fact::parse("admission:NodeRestrictions").unwrap_err();
        assert!(e.contains("not a kube-apiserver"), "{e}");
        assert!(Fact::parse("profiling").is_err());
        let e = Fact::parse("audit:secret").unwrap_err();
        assert!(e.contains("not an audit concern"), "{e}");
    }
}
