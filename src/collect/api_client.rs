//! Reading the cluster's objects from this machine (`scan --kubeconfig
//! FILE`), for managed clusters where no node holds an admin kubeconfig.
//!
//! The same objects as through a node's kubectl (`collect::api`), read with
//! kube-rs and k8s-openapi's typed objects and turned into the same
//! [`ClusterFacts`], so the same evaluation judges them: only `get` and
//! `list` calls, paged (500 objects a page, as kubectl does), Secrets and
//! ConfigMaps never listed, CustomResourceDefinitions as metadata only
//! (their schemas are large and say nothing a check needs). Of each object
//! only the fields the checks read are kept; no annotation but the mirror
//! marker of static pods, no environment value.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use k8s_openapi::api::admissionregistration::v1 as adm;
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::networking::v1 as net;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, ObjectList};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::de::DeserializeOwned;

use crate::facts::FACTS_SCHEMA_VERSION;
use crate::facts::api::{
    AdmissionPolicy, ApiSource, Binding, CLUSTER_FACTS_KIND, ClusterFacts, Container,
    ContainerKind, Namespace, NetworkPolicy, ObjectRef, Pod, PolicyRule, ResourceRead, Role,
    SecretEnv, SecurityContext, ServiceAccount, Subject, Volume, WebhookConfig, Workload,
};
use crate::util::cap;

/// Objects per page.
const PAGE: u32 = 500;

fn empty(kubeconfig: &Path) -> ClusterFacts {
    ClusterFacts {
        schema_version: FACTS_SCHEMA_VERSION,
        kind: CLUSTER_FACTS_KIND.into(),
        source: ApiSource {
            via: "kubeconfig".into(),
            node: None,
            kubectl: None,
            kubeconfig: Some(kubeconfig.display().to_string()),
        },
        ..Default::default()
    }
}

/// Reads the cluster's objects with the kubeconfig at `path` (its current
/// context, or `context`). Never fails: what could not be read is recorded
/// in the facts, and the checks that need it say `error`.
pub fn read(path: &Path, context: Option<&str>) -> ClusterFacts {
    let mut facts = empty(path);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            facts.error = Some(format!("cannot start the API client: {e}"));
            return facts;
        }
    };
    rt.block_on(async {
        match client(path, context).await {
            Ok(c) => read_all(&c, &mut facts).await,
            Err(e) => facts.error = Some(e),
        }
    });
    facts.collected_at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    facts
}

async fn client(path: &Path, context: Option<&str>) -> Result<Client, String> {
    let kc = Kubeconfig::read_from(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let opts = KubeConfigOptions {
        context: context.map(String::from),
        ..Default::default()
    };
    let mut cfg = Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    cfg.read_timeout = Some(std::time::Duration::from_secs(30));
    cfg.connect_timeout = Some(std::time::Duration::from_secs(10));
    Client::try_from(cfg).map_err(|e| format!("{}: {e}", path.display()))
}

/// kube's error as kubectl would say it: the API server's message.
fn say(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => cap(&s.message, 500),
        other => cap(&other.to_string(), 500),
    }
}

/// Every object of a resource, page by page.
async fn list_all<K>(api: Api<K>) -> Result<Vec<K>, String>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(PAGE);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page: ObjectList<K> = api.list(&lp).await.map_err(say)?;
        out.extend(page.items);
        if out.len() > super::api::MAX_OBJECTS {
            return Err(format!(
                "more than {} objects; not judged",
                super::api::MAX_OBJECTS
            ));
        }
        match page.metadata.continue_.filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Records one resource's list into `facts` with `add`, or its error.
fn record<K>(
    facts: &mut ClusterFacts,
    resource: &str,
    listed: Result<Vec<K>, String>,
    mut add: impl FnMut(&mut ClusterFacts, K),
) {
    let read = match listed {
        Ok(items) => {
            let n = items.len();
            for k in items {
                add(facts, k);
            }
            ResourceRead {
                objects: n,
                error: None,
            }
        }
        Err(e) => ResourceRead {
            objects: 0,
            error: Some(e),
        },
    };
    facts.resources.insert(resource.to_string(), read);
}

async fn read_all(c: &Client, facts: &mut ClusterFacts) {
    match c.apiserver_version().await {
        Ok(v) => facts.server_version = Some(cap(&v.git_version, 100)),
        Err(e) => {
            facts.error = Some(format!("the API server did not answer: {}", say(e)));
            return;
        }
    }
    record(
        facts,
        "namespaces",
        list_all(Api::<core::Namespace>::all(c.clone())).await,
        |f, n| {
            f.namespaces.push(Namespace {
                name: name(&n.metadata.name),
                labels: n.metadata.labels.unwrap_or_default(),
            })
        },
    );
    record(
        facts,
        "pods",
        list_all(Api::<core::Pod>::all(c.clone())).await,
        |f, p| f.pods.push(pod(p)),
    );
    record(
        facts,
        "serviceaccounts",
        list_all(Api::<core::ServiceAccount>::all(c.clone())).await,
        |f, s| {
            f.service_accounts.push(ServiceAccount {
                namespace: name(&s.metadata.namespace),
                name: name(&s.metadata.name),
                automount_token: s.automount_service_account_token,
            })
        },
    );
    record(
        facts,
        "clusterroles",
        list_all(Api::<rbac::ClusterRole>::all(c.clone())).await,
        |f, r| {
            f.roles.push(Role {
                namespace: None,
                name: name(&r.metadata.name),
                labels: r.metadata.labels.unwrap_or_default(),
                rules: rules(r.rules),
                aggregation: r
                    .aggregation_rule
                    .and_then(|a| a.cluster_role_selectors)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|s| s.match_expressions.as_ref().is_none_or(|e| e.is_empty()))
                    .map(|s| s.match_labels.unwrap_or_default())
                    .collect(),
            })
        },
    );
    record(
        facts,
        "roles",
        list_all(Api::<rbac::Role>::all(c.clone())).await,
        |f, r| {
            f.roles.push(Role {
                namespace: r.metadata.namespace.clone(),
                name: name(&r.metadata.name),
                labels: r.metadata.labels.unwrap_or_default(),
                rules: rules(r.rules),
                aggregation: Vec::new(),
            })
        },
    );
    record(
        facts,
        "clusterrolebindings",
        list_all(Api::<rbac::ClusterRoleBinding>::all(c.clone())).await,
        |f, b| {
            f.bindings.push(Binding {
                namespace: None,
                name: name(&b.metadata.name),
                role_kind: b.role_ref.kind,
                role_name: b.role_ref.name,
                subjects: subjects(b.subjects),
            })
        },
    );
    record(
        facts,
        "rolebindings",
        list_all(Api::<rbac::RoleBinding>::all(c.clone())).await,
        |f, b| {
            f.bindings.push(Binding {
                namespace: b.metadata.namespace.clone(),
                name: name(&b.metadata.name),
                role_kind: b.role_ref.kind,
                role_name: b.role_ref.name,
                subjects: subjects(b.subjects),
            })
        },
    );
    record(
        facts,
        "networkpolicies",
        list_all(Api::<net::NetworkPolicy>::all(c.clone())).await,
        |f, p| {
            let spec = p.spec.unwrap_or_default();
            let sel = spec.pod_selector.unwrap_or_default();
            f.network_policies.push(NetworkPolicy {
                namespace: name(&p.metadata.namespace),
                name: name(&p.metadata.name),
                selects_all: sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
                    && sel.match_expressions.as_ref().is_none_or(|e| e.is_empty()),
                policy_types: spec.policy_types.unwrap_or_default(),
                ingress_rules: spec.ingress.map_or(0, |v| v.len()),
                egress_rules: spec.egress.map_or(0, |v| v.len()),
            })
        },
    );
    record(
        facts,
        "daemonsets",
        list_all(Api::<apps::DaemonSet>::all(c.clone())).await,
        |f, d| {
            let images = d.spec.map(|s| images(s.template.spec)).unwrap_or_default();
            f.workloads.push(workload("DaemonSet", d.metadata, images))
        },
    );
    record(
        facts,
        "deployments",
        list_all(Api::<apps::Deployment>::all(c.clone())).await,
        |f, d| {
            let images = d.spec.map(|s| images(s.template.spec)).unwrap_or_default();
            f.workloads.push(workload("Deployment", d.metadata, images))
        },
    );
    record(
        facts,
        "validatingwebhookconfigurations",
        list_all(Api::<adm::ValidatingWebhookConfiguration>::all(c.clone())).await,
        |f, w| {
            let hooks = w.webhooks.unwrap_or_default().into_iter().map(|h| h.name);
            f.webhooks.push(webhook_config(
                "ValidatingWebhookConfiguration",
                &w.metadata,
                hooks,
            ))
        },
    );
    record(
        facts,
        "mutatingwebhookconfigurations",
        list_all(Api::<adm::MutatingWebhookConfiguration>::all(c.clone())).await,
        |f, w| {
            let hooks = w.webhooks.unwrap_or_default().into_iter().map(|h| h.name);
            f.webhooks.push(webhook_config(
                "MutatingWebhookConfiguration",
                &w.metadata,
                hooks,
            ))
        },
    );
    record(
        facts,
        "validatingadmissionpolicies",
        list_all(Api::<adm::ValidatingAdmissionPolicy>::all(c.clone())).await,
        |f, p| {
            f.admission_policies.push(AdmissionPolicy {
                kind: "ValidatingAdmissionPolicy".into(),
                name: name(&p.metadata.name),
                policy: None,
                actions: Vec::new(),
                expressions: p
                    .spec
                    .and_then(|s| s.validations)
                    .unwrap_or_default()
                    .into_iter()
                    .take(50)
                    .map(|v| cap(&v.expression, 2000))
                    .collect(),
            })
        },
    );
    record(
        facts,
        "validatingadmissionpolicybindings",
        list_all(Api::<adm::ValidatingAdmissionPolicyBinding>::all(c.clone())).await,
        |f, b| {
            let spec = b.spec.unwrap_or_default();
            f.admission_policies.push(AdmissionPolicy {
                kind: "ValidatingAdmissionPolicyBinding".into(),
                name: name(&b.metadata.name),
                policy: spec.policy_name,
                actions: spec.validation_actions.unwrap_or_default(),
                expressions: Vec::new(),
            })
        },
    );
    // Names only: a CRD's schema can be megabytes.
    let crds = Api::<CustomResourceDefinition>::all(c.clone());
    let listed = match crds.list_metadata(&ListParams::default()).await {
        Ok(l) => Ok(l.items),
        Err(e) => Err(say(e)),
    };
    record(facts, "customresourcedefinitions", listed, |f, m| {
        f.crds.push(name(&m.metadata.name))
    });
}

fn name(n: &Option<String>) -> String {
    cap(n.as_deref().unwrap_or(""), 253)
}

fn rules(r: Option<Vec<rbac::PolicyRule>>) -> Vec<PolicyRule> {
    let list = |v: Option<Vec<String>>| -> Vec<String> {
        v.unwrap_or_default()
            .into_iter()
            .take(1000)
            .map(|x| cap(&x, 253))
            .collect()
    };
    r.unwrap_or_default()
        .into_iter()
        .map(|r| PolicyRule {
            verbs: list(Some(r.verbs)),
            api_groups: list(r.api_groups),
            resources: list(r.resources),
            resource_names: list(r.resource_names),
            non_resource_urls: list(r.non_resource_urls),
        })
        .collect()
}

fn subjects(s: Option<Vec<rbac::Subject>>) -> Vec<Subject> {
    s.unwrap_or_default()
        .into_iter()
        .map(|s| Subject {
            kind: cap(&s.kind, 100),
            name: cap(&s.name, 253),
            namespace: s.namespace.map(|n| cap(&n, 253)),
        })
        .collect()
}

fn images(spec: Option<core::PodSpec>) -> Vec<String> {
    spec.map(|s| {
        s.containers
            .into_iter()
            .filter_map(|c| c.image)
            .map(|i| cap(&i, 500))
            .collect()
    })
    .unwrap_or_default()
}

fn workload(
    kind: &str,
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    images: Vec<String>,
) -> Workload {
    Workload {
        kind: kind.into(),
        namespace: name(&meta.namespace),
        name: name(&meta.name),
        labels: meta.labels.unwrap_or_default(),
        images,
    }
}

/// A webhook configuration: validating and mutating ones differ only in
/// their type, not in what is kept.
fn webhook_config(
    kind: &str,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    hooks: impl Iterator<Item = String>,
) -> WebhookConfig {
    WebhookConfig {
        kind: kind.into(),
        name: name(&meta.name),
        webhooks: hooks.map(|h| cap(&h, 253)).collect(),
    }
}

fn context(sc: Option<core::SecurityContext>) -> Option<SecurityContext> {
    sc.map(|s| {
        let caps = s.capabilities.unwrap_or_default();
        SecurityContext {
            privileged: s.privileged,
            allow_privilege_escalation: s.allow_privilege_escalation,
            run_as_non_root: s.run_as_non_root,
            run_as_user: s.run_as_user,
            capabilities_add: caps.add.unwrap_or_default(),
            capabilities_drop: caps.drop.unwrap_or_default(),
            seccomp: s.seccomp_profile.map(|p| p.type_),
            host_process: s.windows_options.and_then(|w| w.host_process),
        }
    })
}

fn pod_context(sc: Option<core::PodSecurityContext>) -> Option<SecurityContext> {
    sc.map(|s| SecurityContext {
        run_as_non_root: s.run_as_non_root,
        run_as_user: s.run_as_user,
        seccomp: s.seccomp_profile.map(|p| p.type_),
        host_process: s.windows_options.and_then(|w| w.host_process),
        ..Default::default()
    })
}

struct AnyContainer {
    name: String,
    kind: ContainerKind,
    sc: Option<core::SecurityContext>,
    ports: Option<Vec<core::ContainerPort>>,
    env: Option<Vec<core::EnvVar>>,
    env_from: Option<Vec<core::EnvFromSource>>,
}

fn container(c: AnyContainer) -> Container {
    let mut secret_env: Vec<SecretEnv> = c
        .env_from
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.secret_ref)
        .map(|r| SecretEnv {
            secret: cap(&r.name, 253),
            key: None,
        })
        .collect();
    // Only the references: a variable's value is never kept.
    secret_env.extend(c.env.unwrap_or_default().into_iter().filter_map(|e| {
        e.value_from
            .and_then(|v| v.secret_key_ref)
            .map(|r| SecretEnv {
                secret: cap(&r.name, 253),
                key: Some(cap(&r.key, 253)),
            })
    }));
    Container {
        name: cap(&c.name, 253),
        kind: c.kind,
        security_context: context(c.sc),
        host_ports: c
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.host_port)
            .filter(|p| *p > 0)
            .map(|p| p as u32)
            .collect(),
        secret_env,
    }
}

fn pod(p: core::Pod) -> Pod {
    let meta = p.metadata;
    let owners = meta.owner_references.unwrap_or_default();
    let owner = owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or(owners.first())
        .map(|o| ObjectRef {
            kind: cap(&o.kind, 100),
            name: cap(&o.name, 253),
        });
    let mirror = meta
        .annotations
        .as_ref()
        .is_some_and(|a: &BTreeMap<String, String>| a.contains_key("kubernetes.io/config.mirror"));
    let spec = p.spec.unwrap_or_default();
    let mut containers: Vec<Container> = Vec::new();
    for c in spec.containers {
        containers.push(container(AnyContainer {
            name: c.name,
            kind: ContainerKind::Container,
            sc: c.security_context,
            ports: c.ports,
            env: c.env,
            env_from: c.env_from,
        }));
    }
    for c in spec.init_containers.unwrap_or_default() {
        containers.push(container(AnyContainer {
            name: c.name,
            kind: ContainerKind::Init,
            sc: c.security_context,
            ports: c.ports,
            env: c.env,
            env_from: c.env_from,
        }));
    }
    for c in spec.ephemeral_containers.unwrap_or_default() {
        containers.push(container(AnyContainer {
            name: c.name,
            kind: ContainerKind::Ephemeral,
            sc: c.security_context,
            ports: c.ports,
            env: c.env,
            env_from: c.env_from,
        }));
    }
    Pod {
        namespace: name(&meta.namespace),
        name: name(&meta.name),
        owner,
        mirror,
        service_account: spec.service_account_name.map(|s| cap(&s, 253)),
        automount_token: spec.automount_service_account_token,
        host_network: spec.host_network.unwrap_or(false),
        host_pid: spec.host_pid.unwrap_or(false),
        host_ipc: spec.host_ipc.unwrap_or(false),
        security_context: pod_context(spec.security_context),
        containers,
        volumes: spec
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| Volume {
                name: cap(&v.name, 253),
                host_path: v.host_path.map(|h| cap(&h.path, 4096)),
                token: v.projected.is_some_and(|p| {
                    p.sources
                        .unwrap_or_default()
                        .iter()
                        .any(|s| s.service_account_token.is_some())
                }),
            })
            .collect(),
    }
}
