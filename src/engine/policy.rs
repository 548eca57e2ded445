//! The policy half of CIS (section 5), judged from the cluster's objects.
//!
//! Each check names the objects that offend (`namespace/Kind/name`, and the
//! rule, container or subject that causes it). What every cluster holds by
//! design (the control plane's static pods, kube-proxy and the CNI, the
//! bootstrap policy's and kubeadm's bindings, the controllers' service
//! accounts; see `k8s::system`) is listed apart: it never hides a user's
//! finding, never floods the report, and alone it does not make a check
//! warn.
//!
//! The benchmark marks these checks Manual (not scored): something offending
//! is `warn` with the list; a check the profile scores would `fail`. When
//! the objects a check needs could not be read, it is `error` with why,
//! never `pass`; when no objects were read at all (`--no-api`, facts saved
//! without them), it stays `manual` with the benchmark's guidance.

use std::collections::{BTreeMap, BTreeSet};

use crate::bench::{ApiCheck, Benchmark, BuiltinCheck, Rule};
use crate::facts::NodeFacts;
use crate::facts::api::{ClusterFacts, Container, Pod, SecurityContext};
use crate::k8s::rbac::{Ask, Grant, Rbac};
use crate::k8s::system::{self, is_system_namespace, is_system_rbac_name, is_system_subject};
use crate::util::cap;
use crate::verdict::{Finding, MAX_OBJECTS, ObjectFinding, Status};

use super::{EVIDENCE_CAP, own_finding};

/// Offending objects listed in full in `actual`, before "and N more".
const LISTED: usize = 25;
/// System defaults listed, before "and N more".
const LISTED_SYSTEM: usize = 8;

/// One offending object: the report's own type.
pub type Offender = ObjectFinding;

/// The findings of every API check of the benchmark. `api` is `None` when
/// the cluster's objects were not read.
pub fn api_findings(
    bench: &Benchmark,
    nodes: &[NodeFacts],
    api: Option<&ClusterFacts>,
) -> Vec<Finding> {
    let image_webhook = image_policy_webhook(nodes);
    bench
        .rules
        .iter()
        .filter(|r| r.disabled.is_none())
        .filter_map(|r| match r.builtin {
            Some(BuiltinCheck::Api(c)) => Some(judge_rule(r, c, api, image_webhook.as_deref())),
            _ => None,
        })
        .collect()
}

/// The control planes whose kube-apiserver runs the ImagePolicyWebhook
/// admission plugin, as `node (source)`; `None` when none does.
fn image_policy_webhook(nodes: &[NodeFacts]) -> Option<String> {
    let spec = crate::k8s::known::find_admission_plugin("ImagePolicyWebhook")?;
    let on: Vec<String> = nodes
        .iter()
        .filter(|n| n.scan_status == crate::facts::ScanStatus::Ok)
        .filter_map(|n| {
            let ctx = crate::k8s::effective::NodeCtx::new(n);
            let o = ctx.admission_plugin(spec).ok()?;
            (o.value.as_ref().map(|v| v.text()).as_deref() == Some("true"))
                .then(|| format!("{} ({})", n.node.name, o.source))
        })
        .collect();
    (!on.is_empty()).then(|| on.join(", "))
}

fn judge_rule(
    rule: &Rule,
    check: ApiCheck,
    api: Option<&ClusterFacts>,
    image_webhook: Option<&str>,
) -> Finding {
    let Some(api) = api else {
        let mut f = own_finding(&rule.id, Status::Manual);
        f.reason = Some(
            "needs a person to judge: the cluster's objects were not read (scan reads them through a control-plane node's kubectl unless --no-api)".into(),
        );
        f.expected = rule.guidance.clone().unwrap_or_default();
        return f;
    };
    if check == ApiCheck::ExternalSecrets {
        return external_secrets(rule, api);
    }
    let (needs, mut found) = decide(check, api);
    if let (ApiCheck::ImagePolicy, Some(on)) = (check, image_webhook) {
        // The admission plugin CIS names is in force: that decides it,
        // whatever the objects say.
        found.offenders.retain(|o| o.system);
        let note = format!("ImagePolicyWebhook admission plugin enabled on {on}");
        found.note = Some(match found.note.take() {
            Some(n) => format!("{note}; {n}"),
            None => note,
        });
    }
    let source = source(api, needs);
    let expected = check.describe().to_string();
    if let Some(why) = needs.iter().find_map(|r| api.unreadable(r)) {
        let mut f = own_finding(&rule.id, Status::Error);
        f.reason = Some(cap(&why, EVIDENCE_CAP));
        f.expected = expected;
        f.source = source;
        return f;
    }
    let (mut user, mut sys): (Vec<Offender>, Vec<Offender>) =
        found.offenders.into_iter().partition(|o| !o.system);
    user.sort();
    user.dedup();
    sys.sort();
    sys.dedup();
    let status = if user.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    let mut actual = if user.is_empty() {
        format!("none of {}", found.examined)
    } else {
        format!(
            "{} offending ({}): {}",
            user.len(),
            found.examined,
            list(&user, LISTED)
        )
    };
    if !sys.is_empty() {
        actual.push_str(&format!(
            "; the platform's own, listed apart ({}): {}",
            sys.len(),
            list(&sys, LISTED_SYSTEM)
        ));
    }
    if let Some(note) = found.note {
        actual.push_str(&format!("; {note}"));
    }
    let mut f = own_finding(&rule.id, status);
    f.expected = expected;
    f.actual = cap(&actual, EVIDENCE_CAP * 4);
    f.source = source;
    f.objects = user.into_iter().chain(sys).take(MAX_OBJECTS).collect();
    f
}

fn list(items: &[Offender], max: usize) -> String {
    let mut s: Vec<String> = items
        .iter()
        .take(max)
        .map(|o| format!("{} ({})", o.object, o.why))
        .collect();
    if items.len() > max {
        s.push(format!("and {} more", items.len() - max));
    }
    s.join("; ")
}

fn source(api: &ClusterFacts, needs: &[&str]) -> String {
    let how = match (api.source.via.as_str(), &api.source.node) {
        ("node", Some(n)) => format!(
            "the API, through {} on {n}",
            api.source.kubectl.as_deref().unwrap_or("kubectl")
        ),
        _ => format!(
            "the API, with the kubeconfig {}",
            api.source.kubeconfig.as_deref().unwrap_or("given")
        ),
    };
    format!("{how}: {}", needs.join(", "))
}

/// Secret stores outside Kubernetes, recognised from the types their
/// operators install (each project's CRDs).
const SECRET_OPERATORS: &[(&str, &str)] = &[
    (
        "externalsecrets.external-secrets.io",
        "External Secrets Operator",
    ),
    (
        "secretproviderclasses.secrets-store.csi.x-k8s.io",
        "Secrets Store CSI driver",
    ),
    (
        "sealedsecrets.bitnami.com",
        "Sealed Secrets (encrypted in Git, decrypted in the cluster)",
    ),
    (
        "vaultstaticsecrets.secrets.hashicorp.com",
        "Vault Secrets Operator",
    ),
    ("onepassworditems.onepassword.com", "1Password operator"),
];

/// CIS 5.4.2 stays for a person to judge (where the values really live is
/// not an object), with the evidence: the secret operators found.
fn external_secrets(rule: &Rule, api: &ClusterFacts) -> Finding {
    let mut f = own_finding(&rule.id, Status::Manual);
    f.reason = Some("needs a person to judge where the secret values live".into());
    f.expected = rule.guidance.clone().unwrap_or_default();
    f.source = source(api, &["customresourcedefinitions"]);
    f.actual = match api.unreadable("customresourcedefinitions") {
        Some(why) => format!("the operators in use could not be looked for: {why}"),
        None => {
            let found: Vec<String> = SECRET_OPERATORS
                .iter()
                .filter(|(crd, _)| api.crds.iter().any(|c| c == crd))
                .map(|(crd, name)| format!("{name} ({crd})"))
                .collect();
            if found.is_empty() {
                "no external secret operator's types among the cluster's CustomResourceDefinitions"
                    .into()
            } else {
                format!("found: {}", found.join("; "))
            }
        }
    };
    f
}

/// What a check found.
struct Found {
    offenders: Vec<Offender>,
    /// What was looked at, in words ("42 pods").
    examined: String,
    note: Option<String>,
}

fn found(offenders: Vec<Offender>, examined: String) -> Found {
    Found {
        offenders,
        examined,
        note: None,
    }
}

/// The resources a check needs, and what it found.
fn decide(check: ApiCheck, api: &ClusterFacts) -> (&'static [&'static str], Found) {
    const RBAC: &[&str] = &[
        "clusterroles",
        "roles",
        "clusterrolebindings",
        "rolebindings",
    ];
    const PODS: &[&str] = &["pods"];
    let ask = |verbs: &'static [&'static str], group: &'static str, resource: &'static str| Ask {
        verbs,
        group,
        resource,
    };
    match check {
        ApiCheck::ClusterAdmin => (RBAC, cluster_admin(api)),
        ApiCheck::SecretsAccess => (
            RBAC,
            grants(api, &[ask(&["get", "list", "watch"], "", "secrets")]),
        ),
        ApiCheck::Wildcards => (RBAC, wildcards(api)),
        ApiCheck::PodCreate => (RBAC, grants(api, &[ask(&["create"], "", "pods")])),
        ApiCheck::DefaultServiceAccount => (&["serviceaccounts"], default_sa(api)),
        ApiCheck::TokenMounts => (&["pods", "serviceaccounts"], token_mounts(api)),
        ApiCheck::SystemMasters => (RBAC, system_masters(api)),
        ApiCheck::Escalation => (
            RBAC,
            grants(
                api,
                &[
                    ask(&["bind", "escalate"], "rbac.authorization.k8s.io", "roles"),
                    ask(
                        &["bind", "escalate"],
                        "rbac.authorization.k8s.io",
                        "clusterroles",
                    ),
                    ask(&["impersonate"], "", "users"),
                    ask(&["impersonate"], "", "groups"),
                    ask(&["impersonate"], "", "serviceaccounts"),
                ],
            ),
        ),
        ApiCheck::PvCreate => (
            RBAC,
            grants(api, &[ask(&["create"], "", "persistentvolumes")]),
        ),
        ApiCheck::NodesProxy => (
            RBAC,
            grants(api, &[ask(&["get", "create", "*"], "", "nodes/proxy")]),
        ),
        ApiCheck::CsrApproval => (
            RBAC,
            grants(
                api,
                &[ask(
                    &["update", "patch"],
                    "certificates.k8s.io",
                    "certificatesigningrequests/approval",
                )],
            ),
        ),
        ApiCheck::WebhookConfig => (
            RBAC,
            grants(
                api,
                &[
                    ask(
                        &["create", "update", "patch", "delete"],
                        "admissionregistration.k8s.io",
                        "validatingwebhookconfigurations",
                    ),
                    ask(
                        &["create", "update", "patch", "delete"],
                        "admissionregistration.k8s.io",
                        "mutatingwebhookconfigurations",
                    ),
                ],
            ),
        ),
        ApiCheck::TokenCreate => (
            RBAC,
            grants(api, &[ask(&["create"], "", "serviceaccounts/token")]),
        ),
        ApiCheck::PolicyControl => (
            &[
                "namespaces",
                "customresourcedefinitions",
                "validatingadmissionpolicybindings",
            ],
            policy_control(api),
        ),
        ApiCheck::Privileged => (
            PODS,
            containers(api, |_, c, sc| {
                (sc.privileged == Some(true)).then(|| format!("container {} privileged", c.name))
            }),
        ),
        ApiCheck::HostPid => (PODS, pods(api, |p| p.host_pid.then(|| "hostPID".into()))),
        ApiCheck::HostIpc => (PODS, pods(api, |p| p.host_ipc.then(|| "hostIPC".into()))),
        ApiCheck::HostNetwork => (
            PODS,
            pods(api, |p| p.host_network.then(|| "hostNetwork".into())),
        ),
        ApiCheck::PrivilegeEscalation => (
            PODS,
            containers(api, |_, c, sc| {
                // Unset allows it (the kernel's no_new_privs is off), unless the
                // container is privileged or has CAP_SYS_ADMIN, where it is
                // always on: CIS asks for it set to false.
                (sc.allow_privilege_escalation != Some(false)).then(|| {
                    format!(
                        "container {} allowPrivilegeEscalation {}",
                        c.name,
                        match sc.allow_privilege_escalation {
                            Some(true) => "true",
                            _ => "not set (allowed)",
                        }
                    )
                })
            }),
        ),
        ApiCheck::Root => (
            PODS,
            containers(api, |_, c, sc| {
                let non_root =
                    sc.run_as_non_root == Some(true) || sc.run_as_user.is_some_and(|u| u != 0);
                (!non_root).then(|| match sc.run_as_user {
                    Some(0) => format!("container {} runAsUser 0", c.name),
                    _ => format!("container {} may run as root (no runAsNonRoot)", c.name),
                })
            }),
        ),
        ApiCheck::NetRaw => (
            PODS,
            containers(api, |_, c, sc| {
                let dropped = sc
                    .capabilities_drop
                    .iter()
                    .any(|d| d == "ALL" || d == "NET_RAW");
                let added = sc
                    .capabilities_add
                    .iter()
                    .any(|a| a == "NET_RAW" || a == "ALL");
                (added || !dropped).then(|| {
                    if added {
                        format!("container {} adds NET_RAW", c.name)
                    } else {
                        format!("container {} keeps NET_RAW (not dropped)", c.name)
                    }
                })
            }),
        ),
        ApiCheck::Capabilities => (
            PODS,
            containers(api, |_, c, sc| {
                (!sc.capabilities_add.is_empty()).then(|| {
                    format!(
                        "container {} adds {}",
                        c.name,
                        sc.capabilities_add.join(", ")
                    )
                })
            }),
        ),
        ApiCheck::HostProcess => (
            PODS,
            containers(api, |_, c, sc| {
                (sc.host_process == Some(true))
                    .then(|| format!("container {} is a Windows HostProcess", c.name))
            }),
        ),
        ApiCheck::HostPath => (
            PODS,
            pods(api, |p| {
                let paths: Vec<String> = p
                    .volumes
                    .iter()
                    .filter_map(|v| v.host_path.as_ref().map(|h| format!("{} -> {h}", v.name)))
                    .collect();
                (!paths.is_empty()).then(|| format!("hostPath {}", paths.join(", ")))
            }),
        ),
        ApiCheck::HostPorts => (
            PODS,
            containers(api, |_, c, _| {
                (!c.host_ports.is_empty()).then(|| {
                    format!(
                        "container {} hostPort {}",
                        c.name,
                        c.host_ports
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            }),
        ),
        ApiCheck::CniPolicies => (&["daemonsets"], cni(api)),
        ApiCheck::NamespacePolicies => {
            (&["namespaces", "networkpolicies"], namespace_policies(api))
        }
        ApiCheck::SecretEnv => (
            PODS,
            containers(api, |_, c, _| {
                (!c.secret_env.is_empty()).then(|| {
                    format!(
                        "container {} reads {} into its environment",
                        c.name,
                        c.secret_env
                            .iter()
                            .map(|s| match &s.key {
                                Some(k) => format!("secret {} key {k}", s.secret),
                                None => format!("every key of secret {}", s.secret),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            }),
        ),
        ApiCheck::ExternalSecrets => (
            &["customresourcedefinitions"],
            found(Vec::new(), String::new()),
        ),
        ApiCheck::ImagePolicy => (
            &[
                "customresourcedefinitions",
                "validatingadmissionpolicybindings",
                "validatingwebhookconfigurations",
            ],
            image_policy(api),
        ),
        ApiCheck::Seccomp => (
            PODS,
            pods(api, |p| {
                let pod = p
                    .security_context
                    .as_ref()
                    .and_then(|s| s.seccomp.as_deref());
                let confined = |s: Option<&str>| matches!(s, Some("RuntimeDefault" | "Localhost"));
                let open: Vec<&str> = p
                    .containers
                    .iter()
                    .filter(|c| {
                        let own = c
                            .security_context
                            .as_ref()
                            .and_then(|s| s.seccomp.as_deref());
                        !confined(own.or(pod))
                    })
                    .map(|c| c.name.as_str())
                    .collect();
                (!open.is_empty()).then(|| {
                    format!(
                        "no seccomp RuntimeDefault for container(s) {} (pod: {})",
                        open.join(", "),
                        pod.unwrap_or("not set")
                    )
                })
            }),
        ),
        ApiCheck::SecurityContext => (
            PODS,
            pods(api, |p| {
                let unset =
                    |s: &Option<SecurityContext>| s.as_ref().is_none_or(SecurityContext::is_empty);
                let bare: Vec<&str> = p
                    .containers
                    .iter()
                    .filter(|c| unset(&c.security_context))
                    .map(|c| c.name.as_str())
                    .collect();
                (unset(&p.security_context) && !bare.is_empty()).then(|| {
                    format!(
                        "no securityContext on the pod nor on container(s) {}",
                        bare.join(", ")
                    )
                })
            }),
        ),
        ApiCheck::DefaultNamespace => (PODS, default_namespace(api)),
    }
}

fn pod_object(p: &Pod) -> String {
    match &p.owner {
        Some(o) => format!("{}/Pod/{} (of {} {})", p.namespace, p.name, o.kind, o.name),
        None => format!("{}/Pod/{}", p.namespace, p.name),
    }
}

fn pod_is_system(p: &Pod) -> bool {
    is_system_namespace(&p.namespace)
}

fn pods(api: &ClusterFacts, offends: impl Fn(&Pod) -> Option<String>) -> Found {
    let offenders = api
        .pods
        .iter()
        .filter_map(|p| {
            offends(p).map(|why| Offender {
                object: pod_object(p),
                why,
                system: pod_is_system(p),
            })
        })
        .collect();
    found(offenders, format!("{} pods", api.pods.len()))
}

/// The security context that applies to a container: its own fields over
/// the pod's (for the fields both have).
pub fn effective_context(p: &Pod, c: &Container) -> SecurityContext {
    let pod = p.security_context.clone().unwrap_or_default();
    let own = c.security_context.clone().unwrap_or_default();
    SecurityContext {
        privileged: own.privileged,
        allow_privilege_escalation: own.allow_privilege_escalation,
        run_as_non_root: own.run_as_non_root.or(pod.run_as_non_root),
        run_as_user: own.run_as_user.or(pod.run_as_user),
        capabilities_add: own.capabilities_add,
        capabilities_drop: own.capabilities_drop,
        seccomp: own.seccomp.or(pod.seccomp),
        host_process: own.host_process.or(pod.host_process),
    }
}

fn containers(
    api: &ClusterFacts,
    offends: impl Fn(&Pod, &Container, &SecurityContext) -> Option<String>,
) -> Found {
    let mut n = 0usize;
    let offenders = api
        .pods
        .iter()
        .flat_map(|p| {
            n += p.containers.len();
            let offends = &offends;
            p.containers.iter().filter_map(move |c| {
                let sc = effective_context(p, c);
                offends(p, c, &sc).map(|why| Offender {
                    object: pod_object(p),
                    why,
                    system: pod_is_system(p),
                })
            })
        })
        .collect();
    found(
        offenders,
        format!("{n} containers in {} pods", api.pods.len()),
    )
}

fn grant_offender(g: &Grant, what: &str) -> Offender {
    let names = if g.resource_names.is_empty() {
        String::new()
    } else {
        format!(" (only {})", g.resource_names.join(", "))
    };
    Offender {
        object: g.subject.clone(),
        why: format!(
            "{what}{names} {} through {} -> {}",
            g.scope(),
            g.binding,
            g.role
        ),
        system: is_system_subject(&g.subject_kind, &g.subject_name)
            || (is_system_rbac_name(&g.binding_name)
                && is_system_rbac_name(&g.role_name)
                && !matches!(
                    g.subject_name.as_str(),
                    "system:authenticated" | "system:unauthenticated" | "system:serviceaccounts"
                )),
    }
}

fn grants(api: &ClusterFacts, asks: &[Ask<'_>]) -> Found {
    let rbac = Rbac::new(api);
    let mut offenders = Vec::new();
    for ask in asks {
        let what = format!("may {} {}", ask.verbs.join("/"), ask.resource);
        for g in rbac.who_can(ask) {
            offenders.push(grant_offender(&g, &what));
        }
    }
    found(offenders, format!("{} bindings", api.bindings.len()))
}

fn cluster_admin(api: &ClusterFacts) -> Found {
    let ask = Ask {
        verbs: &["*"],
        group: "*",
        resource: "*",
    };
    let rbac = Rbac::new(api);
    // Bindings of cluster-admin itself, and of any role as broad.
    let broad: BTreeSet<String> = rbac
        .roles_allowing(&ask)
        .iter()
        .filter(|r| r.namespace.is_none())
        .map(|r| r.name.clone())
        .chain(std::iter::once("cluster-admin".to_string()))
        .collect();
    let offenders = rbac
        .who_can(&ask)
        .into_iter()
        .filter(|g| g.role.starts_with("ClusterRole/") && broad.contains(&g.role_name))
        .map(|g| grant_offender(&g, "holds every permission"))
        .collect();
    found(offenders, format!("{} bindings", api.bindings.len()))
}

fn wildcards(api: &ClusterFacts) -> Found {
    let offenders = api
        .roles
        .iter()
        .filter_map(|r| {
            let bad: Vec<String> = r
                .rules
                .iter()
                .enumerate()
                .filter(|(_, rule)| {
                    rule.verbs.iter().any(|v| v == "*") || rule.resources.iter().any(|v| v == "*")
                })
                .map(|(i, rule)| {
                    format!(
                        "rules[{i}] verbs [{}] resources [{}]",
                        rule.verbs.join(","),
                        rule.resources.join(",")
                    )
                })
                .collect();
            (!bad.is_empty()).then(|| Offender {
                object: match &r.namespace {
                    Some(ns) => format!("{ns}/Role/{}", r.name),
                    None => format!("ClusterRole/{}", r.name),
                },
                why: bad.join("; "),
                system: r.namespace.is_none() && is_system_rbac_name(&r.name)
                    || r.namespace.as_deref().is_some_and(is_system_namespace)
                        && is_system_rbac_name(&r.name),
            })
        })
        .collect();
    found(offenders, format!("{} roles", api.roles.len()))
}

fn default_sa(api: &ClusterFacts) -> Found {
    let offenders = api
        .service_accounts
        .iter()
        .filter(|s| s.name == "default" && s.automount_token != Some(false))
        .map(|s| Offender {
            object: format!("{}/ServiceAccount/default", s.namespace),
            why: match s.automount_token {
                Some(true) => "automountServiceAccountToken: true".into(),
                _ => "automountServiceAccountToken not set (mounted)".into(),
            },
            system: is_system_namespace(&s.namespace),
        })
        .collect();
    let n = api
        .service_accounts
        .iter()
        .filter(|s| s.name == "default")
        .count();
    found(offenders, format!("{n} default service accounts"))
}

fn token_mounts(api: &ClusterFacts) -> Found {
    let sa: BTreeMap<(&str, &str), Option<bool>> = api
        .service_accounts
        .iter()
        .map(|s| ((s.namespace.as_str(), s.name.as_str()), s.automount_token))
        .collect();
    pods(api, |p| {
        let mounted = p.volumes.iter().any(|v| v.token);
        let account = p.service_account.as_deref().unwrap_or("default");
        let sa_says = sa.get(&(p.namespace.as_str(), account)).copied().flatten();
        // Mounted without anyone having asked for it: neither the pod nor
        // its service account says true.
        (mounted && p.automount_token != Some(true) && sa_says != Some(true)).then(|| {
            format!("mounts the token of service account {account}, which neither the pod nor the account asks for")
        })
    })
}

fn system_masters(api: &ClusterFacts) -> Found {
    let offenders = api
        .bindings
        .iter()
        .flat_map(|b| {
            b.subjects
                .iter()
                .filter(|s| s.kind == "Group" && s.name == "system:masters")
                .map(move |_| Offender {
                    object: match &b.namespace {
                        None => format!("ClusterRoleBinding/{}", b.name),
                        Some(ns) => format!("{ns}/RoleBinding/{}", b.name),
                    },
                    why: format!(
                        "binds group system:masters to {} {}",
                        b.role_kind, b.role_name
                    ),
                    // The bootstrap policy's own binding.
                    system: b.namespace.is_none()
                        && b.name == "cluster-admin"
                        && b.role_name == "cluster-admin",
                })
        })
        .collect();
    let mut f = found(offenders, format!("{} bindings", api.bindings.len()));
    f.note = Some(
        "certificates issued with O=system:masters are not API objects: check who holds them (kubeadm's super-admin.conf)".into(),
    );
    f
}

const ENGINES: &[(&str, &str)] = &[
    ("clusterpolicies.kyverno.io", "Kyverno"),
    ("constrainttemplates.templates.gatekeeper.sh", "Gatekeeper"),
];

fn engines(api: &ClusterFacts) -> Vec<&'static str> {
    ENGINES
        .iter()
        .filter(|(crd, _)| api.crds.iter().any(|c| c == crd))
        .map(|(_, n)| *n)
        .collect()
}

fn policy_control(api: &ClusterFacts) -> Found {
    let engines = engines(api);
    let vap: Vec<&str> = api
        .admission_policies
        .iter()
        .filter(|a| {
            a.kind == "ValidatingAdmissionPolicyBinding" && a.actions.iter().any(|x| x == "Deny")
        })
        .map(|a| a.name.as_str())
        .collect();
    let offenders = api
        .namespaces
        .iter()
        .filter(|n| !n.labels.contains_key("pod-security.kubernetes.io/enforce"))
        .map(|n| Offender {
            object: format!("Namespace/{}", n.name),
            why: "no pod-security.kubernetes.io/enforce label".into(),
            system: is_system_namespace(&n.name),
        })
        .collect::<Vec<_>>();
    let privileged = api
        .namespaces
        .iter()
        .filter(|n| {
            n.labels
                .get("pod-security.kubernetes.io/enforce")
                .map(String::as_str)
                == Some("privileged")
        })
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>();
    let mut f = if engines.is_empty() {
        found(offenders, format!("{} namespaces", api.namespaces.len()))
    } else {
        // A policy engine is a control in force for every namespace; which
        // of its policies apply where is the engine's to say.
        found(Vec::new(), format!("{} namespaces", api.namespaces.len()))
    };
    let mut notes = Vec::new();
    if !engines.is_empty() {
        notes.push(format!("policy engine in use: {}", engines.join(", ")));
    }
    if !vap.is_empty() {
        notes.push(format!(
            "ValidatingAdmissionPolicy bindings that deny: {}",
            vap.join(", ")
        ));
    }
    if !privileged.is_empty() {
        notes.push(format!(
            "enforce: privileged (no restriction) in {}",
            privileged.join(", ")
        ));
    }
    f.note = (!notes.is_empty()).then(|| notes.join("; "));
    f
}

fn cni(api: &ClusterFacts) -> Found {
    let found_cnis: Vec<(&system::Cni, String)> = api
        .workloads
        .iter()
        .filter(|w| w.kind == "DaemonSet")
        .filter_map(|w| {
            system::cni_of(&w.name, &w.images)
                .map(|c| (c, format!("{}/DaemonSet/{}", w.namespace, w.name)))
        })
        .collect();
    let examined = format!(
        "{} DaemonSets",
        api.workloads
            .iter()
            .filter(|w| w.kind == "DaemonSet")
            .count()
    );
    if found_cnis.is_empty() {
        return Found {
            offenders: vec![Offender {
                object: "the CNI plugin".into(),
                why: "no DaemonSet of a known CNI plugin: judge whether the one in use enforces NetworkPolicy".into(),
                system: false,
            }],
            examined,
            note: None,
        };
    }
    let offenders = found_cnis
        .iter()
        .filter(|(c, _)| !c.enforces_policy)
        .map(|(c, obj)| Offender {
            object: obj.clone(),
            why: c.note.into(),
            system: false,
        })
        .collect();
    let mut f = found(offenders, examined);
    f.note = Some(format!(
        "CNI in use: {}",
        found_cnis
            .iter()
            .map(|(c, obj)| format!("{} ({obj})", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    f
}

fn namespace_policies(api: &ClusterFacts) -> Found {
    let mut by_ns: BTreeMap<&str, Vec<&crate::facts::api::NetworkPolicy>> = BTreeMap::new();
    for p in &api.network_policies {
        by_ns.entry(p.namespace.as_str()).or_default().push(p);
    }
    let mut deny_all = Vec::new();
    let offenders = api
        .namespaces
        .iter()
        .filter_map(|n| {
            let policies = by_ns.get(n.name.as_str());
            if policies.is_some_and(|ps| {
                ps.iter().any(|p| {
                    p.selects_all
                        && p.policy_types.iter().any(|t| t == "Ingress")
                        && p.ingress_rules == 0
                })
            }) {
                deny_all.push(n.name.as_str());
            }
            policies.is_none().then(|| Offender {
                object: format!("Namespace/{}", n.name),
                why: "no NetworkPolicy".into(),
                system: is_system_namespace(&n.name),
            })
        })
        .collect();
    let mut f = found(
        offenders,
        format!(
            "{} namespaces, {} NetworkPolicies",
            api.namespaces.len(),
            api.network_policies.len()
        ),
    );
    f.note = Some(if deny_all.is_empty() {
        "no namespace has a default-deny ingress policy".into()
    } else {
        format!("default-deny ingress in {}", deny_all.join(", "))
    });
    f
}

fn image_policy(api: &ClusterFacts) -> Found {
    const IMAGE_ENGINES: &[(&str, &str)] = &[
        (
            "clusterimagepolicies.policy.sigstore.dev",
            "Sigstore policy-controller",
        ),
        (
            "imagepolicies.policy.sigstore.dev",
            "Sigstore policy-controller",
        ),
        ("clusterpolicies.kyverno.io", "Kyverno (verifyImages)"),
        ("constrainttemplates.templates.gatekeeper.sh", "Gatekeeper"),
        (
            "validators.connaisseur.securesystemsengineering.com",
            "Connaisseur",
        ),
    ];
    let mut engines: Vec<&str> = IMAGE_ENGINES
        .iter()
        .filter(|(crd, _)| api.crds.iter().any(|c| c == crd))
        .map(|(_, n)| *n)
        .collect();
    engines.dedup();
    // A ValidatingAdmissionPolicy that tests images, bound to deny.
    let image_policies: Vec<&str> = api
        .admission_policies
        .iter()
        .filter(|p| p.kind == "ValidatingAdmissionPolicy")
        .filter(|p| p.expressions.iter().any(|e| e.contains(".image")))
        .filter(|p| {
            api.admission_policies.iter().any(|b| {
                b.kind == "ValidatingAdmissionPolicyBinding"
                    && b.policy.as_deref() == Some(p.name.as_str())
                    && b.actions.iter().any(|a| a == "Deny")
            })
        })
        .map(|p| p.name.as_str())
        .collect();
    let webhooks: Vec<&str> = api
        .webhooks
        .iter()
        .filter(|w| w.kind == "ValidatingWebhookConfiguration")
        .map(|w| w.name.as_str())
        .collect();
    let offenders = if engines.is_empty() && image_policies.is_empty() {
        vec![Offender {
            object: "the cluster".into(),
            why: "no ImagePolicyWebhook admission plugin, no image verification engine and no ValidatingAdmissionPolicy that tests images with Deny".into(),
            system: false,
        }]
    } else {
        Vec::new()
    };
    let mut f = found(
        offenders,
        format!(
            "{} CRDs, {} admission policies and bindings, {} webhook configurations",
            api.crds.len(),
            api.admission_policies.len(),
            api.webhooks.len()
        ),
    );
    let mut notes = Vec::new();
    if !engines.is_empty() {
        notes.push(format!("image admission by {}", engines.join(", ")));
    }
    if !image_policies.is_empty() {
        notes.push(format!(
            "ValidatingAdmissionPolicy testing images with Deny: {}",
            image_policies.join(", ")
        ));
    }
    if !webhooks.is_empty() && engines.is_empty() && image_policies.is_empty() {
        notes.push(format!(
            "validating webhooks whose checks are not visible here (judge whether one verifies images): {}",
            webhooks.join(", ")
        ));
    }
    f.note = (!notes.is_empty()).then(|| notes.join("; "));
    f
}

fn default_namespace(api: &ClusterFacts) -> Found {
    let offenders = api
        .pods
        .iter()
        .filter(|p| p.namespace == "default")
        .map(|p| Offender {
            object: pod_object(p),
            why: "runs in the default namespace".into(),
            system: false,
        })
        .collect();
    found(offenders, format!("{} pods", api.pods.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::api::{
        Binding, Namespace, PolicyRule, ResourceRead, Role, ServiceAccount, Subject, Volume,
    };

    fn all_read() -> BTreeMap<String, ResourceRead> {
        crate::facts::api::RESOURCES
            .iter()
            .map(|r| (r.to_string(), ResourceRead::default()))
            .collect()
    }

    fn crb(name: &str, role: &str, kind: &str, subject: &str) -> Binding {
        Binding {
            namespace: None,
            name: name.into(),
            role_kind: "ClusterRole".into(),
            role_name: role.into(),
            subjects: vec![Subject {
                kind: kind.into(),
                name: subject.into(),
                namespace: None,
            }],
        }
    }

    fn pod(ns: &str, name: &str, privileged: bool) -> Pod {
        Pod {
            namespace: ns.into(),
            name: name.into(),
            containers: vec![Container {
                name: "c".into(),
                security_context: privileged.then(|| SecurityContext {
                    privileged: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            volumes: vec![Volume {
                name: "kube-api-access-x".into(),
                host_path: None,
                token: true,
            }],
            ..Default::default()
        }
    }

    /// A kubeadm cluster's own objects, and a user's cluster-admin binding
    /// and privileged pod.
    fn cluster() -> ClusterFacts {
        ClusterFacts {
            schema_version: 1,
            kind: "ClusterFacts".into(),
            resources: all_read(),
            source: crate::facts::api::ApiSource {
                via: "node".into(),
                node: Some("cp1".into()),
                kubectl: Some("kubectl".into()),
                kubeconfig: Some("/etc/kubernetes/admin.conf".into()),
            },
            namespaces: ["default", "kube-system", "app"]
                .iter()
                .map(|n| Namespace {
                    name: n.to_string(),
                    labels: Default::default(),
                })
                .collect(),
            roles: vec![Role {
                name: "cluster-admin".into(),
                rules: vec![
                    PolicyRule {
                        verbs: vec!["*".into()],
                        api_groups: vec!["*".into()],
                        resources: vec!["*".into()],
                        ..Default::default()
                    },
                    PolicyRule {
                        verbs: vec!["*".into()],
                        non_resource_urls: vec!["*".into()],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            bindings: vec![
                crb("cluster-admin", "cluster-admin", "Group", "system:masters"),
                crb(
                    "kubeadm:cluster-admins",
                    "cluster-admin",
                    "Group",
                    "kubeadm:cluster-admins",
                ),
                crb("dev-admin", "cluster-admin", "User", "alice"),
            ],
            service_accounts: vec![
                ServiceAccount {
                    namespace: "app".into(),
                    name: "default".into(),
                    automount_token: None,
                },
                ServiceAccount {
                    namespace: "kube-system".into(),
                    name: "default".into(),
                    automount_token: None,
                },
            ],
            pods: vec![
                pod("kube-system", "kube-proxy-x", true),
                pod("app", "web", false),
            ],
            ..Default::default()
        }
    }

    fn judge(api: Option<&ClusterFacts>) -> BTreeMap<String, Finding> {
        let bench = crate::bench::load_builtin("cis-1.12").unwrap();
        let report = crate::engine::evaluate_cluster(
            &bench,
            &[],
            api,
            "2026-12-05T00:00:00Z",
            &crate::engine::EvalOptions::at("2026-12-05T00:00:00Z"),
        );
        report
            .cluster
            .results
            .into_iter()
            .map(|f| (f.id.clone(), f))
            .collect()
    }

    #[test]
    fn user_offenders_warn_by_name_and_the_platform_is_listed_apart() {
        let api = cluster();
        let r = judge(Some(&api));
        let admin = &r["5.1.1"];
        assert_eq!(admin.status, Status::Warn, "{admin:?}");
        assert!(admin.actual.starts_with("1 offending"), "{}", admin.actual);
        assert!(
            admin
                .actual
                .contains("User alice (holds every permission cluster-wide through ClusterRoleBinding/dev-admin -> ClusterRole/cluster-admin)"),
            "{}",
            admin.actual
        );
        assert!(
            admin.actual.contains("listed apart (2)"),
            "{}",
            admin.actual
        );
        assert!(
            admin.source.contains("through kubectl on cp1"),
            "{}",
            admin.source
        );
        // Only kube-proxy is privileged: the platform's own, so it passes.
        let privileged = &r["5.2.2"];
        assert_eq!(privileged.status, Status::Pass, "{privileged:?}");
        assert!(privileged.actual.contains("kube-system/Pod/kube-proxy-x"));
        // Title and remediation come from the benchmark data.
        assert!(!privileged.title.is_empty() && !privileged.remediation.is_empty());
        let sa = &r["5.1.5"];
        assert_eq!(sa.status, Status::Warn);
        assert!(
            sa.actual.contains("app/ServiceAccount/default"),
            "{}",
            sa.actual
        );
        let tokens = &r["5.1.6"];
        assert!(tokens.actual.contains("app/Pod/web"), "{}", tokens.actual);
        // Manual checks with no object to judge stay manual.
        assert_eq!(r["5.4.2"].status, Status::Manual);

        // Fixed: alice's binding goes, the verdict follows.
        let mut fixed = cluster();
        fixed.bindings.retain(|b| b.name != "dev-admin");
        assert_eq!(judge(Some(&fixed))["5.1.1"].status, Status::Pass);
    }

    #[test]
    fn unreadable_objects_are_errors_and_unread_ones_manual() {
        let mut api = cluster();
        api.resources.get_mut("clusterrolebindings").unwrap().error =
            Some("Error from server (Forbidden): clusterrolebindings is forbidden".into());
        let r = judge(Some(&api));
        for id in ["5.1.1", "5.1.2", "5.1.8"] {
            assert_eq!(r[id].status, Status::Error, "{id}");
            assert!(
                r[id].reason.as_deref().unwrap().contains("Forbidden"),
                "{id}"
            );
        }
        // Pods were read: their checks still judge.
        assert_eq!(r["5.2.2"].status, Status::Pass);

        let mut down = cluster();
        down.error = Some("the API server did not answer".into());
        assert!(
            judge(Some(&down))
                .values()
                .filter(|f| f.id.starts_with("5.") && f.id != "5.4.2" && f.id != "5.6.1")
                .all(|f| f.status == Status::Error)
        );

        let none = judge(None);
        assert_eq!(none["5.1.1"].status, Status::Manual);
        assert!(!none["5.1.1"].expected.is_empty(), "the guidance");
    }
}
