//! Reading the cluster's objects through a control-plane node's kubectl.
//!
//! One exchange on the node: `kubectl.sh` finds the node's kubectl and admin
//! kubeconfig (the layout's candidates), then runs one `kubectl get` per
//! resource with a JSONPath template. The templates are the privacy
//! boundary: they print, per object, only the fields a check reads, one
//! line per object (and one per container and volume of a pod), tab
//! separated. A field that can hold anything is printed by kubectl as JSON
//! (maps and lists are), never as raw text, so no value can break a line;
//! raw fields are names, which the API server validates as DNS names.
//!
//! No template prints an annotation's value, an environment variable's value
//! or anything of a Secret or ConfigMap, which are never listed. What a
//! line does not hold cannot leak.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use serde::Deserialize;

use super::frames::{self, Frame};
use crate::facts::FACTS_SCHEMA_VERSION;
use crate::facts::api::{
    AdmissionPolicy, ApiSource, Binding, CLUSTER_FACTS_KIND, ClusterFacts, Container,
    ContainerKind, Namespace, NetworkPolicy, ObjectRef, Pod, PolicyRule, ResourceRead, Role,
    SecretEnv, SecurityContext, ServiceAccount, Subject, Volume, WebhookConfig, Workload,
};
use crate::transport::{Transport, TransportError};

/// The node-side script.
pub const SCRIPT: &str = include_str!("kubectl.sh");

/// Most objects kept per resource; beyond it the resource is an error
/// rather than a silently partial list.
pub const MAX_OBJECTS: usize = 200_000;

const T: &str = "{\"\\t\"}";
const NL: &str = "{\"\\n\"}";

/// The JSONPath template of each resource (see the module docs).
pub fn template(resource: &str) -> Option<String> {
    let t = T;
    let nl = NL;
    let container = |tag: &str, list: &str| {
        format!(
            "{{range .spec.{list}[*]}}{tag}{t}{{.name}}{t}{{.securityContext}}{t}{{.ports}}{t}{{.envFrom}}{t}{{.env[*].valueFrom}}{nl}{{end}}"
        )
    };
    let s = match resource {
        "namespaces" => {
            format!("{{range .items[*]}}N{t}{{.metadata.name}}{t}{{.metadata.labels}}{nl}{{end}}")
        }
        "pods" => format!(
            "{{range .items[*]}}P{t}{{.metadata.namespace}}{t}{{.metadata.name}}{t}{{.metadata.ownerReferences}}{t}{{.metadata.annotations.kubernetes\\.io/config\\.mirror}}{t}{{.spec.serviceAccountName}}{t}{{.spec.automountServiceAccountToken}}{t}{{.spec.hostNetwork}}{t}{{.spec.hostPID}}{t}{{.spec.hostIPC}}{t}{{.spec.securityContext}}{nl}{}{}{}{{range .spec.volumes[*]}}V{t}{{.name}}{t}{{.hostPath}}{t}{{.projected.sources[*].serviceAccountToken}}{nl}{{end}}{{end}}",
            container("C", "containers"),
            container("I", "initContainers"),
            container("E", "ephemeralContainers"),
        ),
        "serviceaccounts" => format!(
            "{{range .items[*]}}S{t}{{.metadata.namespace}}{t}{{.metadata.name}}{t}{{.automountServiceAccountToken}}{nl}{{end}}"
        ),
        "clusterroles" | "roles" => format!(
            "{{range .items[*]}}R{t}{{.metadata.namespace}}{t}{{.metadata.name}}{t}{{.metadata.labels}}{t}{{.rules}}{t}{{.aggregationRule.clusterRoleSelectors}}{nl}{{end}}"
        ),
        "clusterrolebindings" | "rolebindings" => format!(
            "{{range .items[*]}}B{t}{{.metadata.namespace}}{t}{{.metadata.name}}{t}{{.roleRef}}{t}{{.subjects}}{nl}{{end}}"
        ),
        "networkpolicies" => format!(
            "{{range .items[*]}}Q{t}{{.metadata.namespace}}{t}{{.metadata.name}}{t}{{.spec.podSelector}}{t}{{.spec.policyTypes}}{t}{{.spec.ingress}}{t}{{.spec.egress}}{nl}{{end}}"
        ),
        "daemonsets" | "deployments" => format!(
            "{{range .items[*]}}W{t}{{.metadata.namespace}}{t}{{.metadata.name}}{t}{{.metadata.labels}}{t}{{.spec.template.spec.containers[*].image}}{nl}{{end}}"
        ),
        "validatingwebhookconfigurations" | "mutatingwebhookconfigurations" => {
            format!("{{range .items[*]}}H{t}{{.metadata.name}}{t}{{.webhooks[*].name}}{nl}{{end}}")
        }
        "validatingadmissionpolicies" | "validatingadmissionpolicybindings" => format!(
            "{{range .items[*]}}A{t}{{.metadata.name}}{t}{{.spec.policyName}}{t}{{.spec.validationActions}}{t}{{.spec.validations}}{nl}{{end}}"
        ),
        "customresourcedefinitions" => {
            format!("{{range .items[*]}}D{t}{{.metadata.name}}{nl}{{end}}")
        }
        _ => return None,
    };
    Some(s)
}

/// Where to look for kubectl and the admin kubeconfig on the node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiRead {
    /// Candidate kubectl commands, the first that exists is run (`k3s
    /// kubectl` is two words).
    pub kubectl: Vec<String>,
    /// Candidate kubeconfig paths on the node.
    pub kubeconfig: Vec<String>,
}

fn candidates(list: &[String]) -> String {
    list.iter()
        .filter(|c| !c.is_empty() && !c.contains(['\n', '\r', '\'', '\0']))
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text sent to the node's shell.
pub fn script(nonce: &str, read: &ApiRead) -> String {
    let mut s = String::with_capacity(SCRIPT.len() + 8192);
    let _ = writeln!(
        s,
        "KH_N={nonce}\nKH_KUBECTL='{}'\nKH_KUBECONFIG='{}'",
        candidates(&read.kubectl),
        candidates(&read.kubeconfig)
    );
    s.push_str(SCRIPT);
    let _ = writeln!(s, "kh_api <<'KH_REQ_{nonce}'");
    for r in crate::facts::api::RESOURCES {
        if let Some(t) = template(r) {
            let _ = writeln!(s, "{r} {t}");
        }
    }
    let _ = writeln!(s, "KH_REQ_{nonce}");
    let _ = writeln!(s, "printf '\\n{}\\n'", frames::done_marker(nonce));
    s
}

/// Reads the cluster's objects over `t` (a control-plane node's transport).
/// Transport failures and what kubectl said become the facts' errors; this
/// never fails.
pub fn read(t: &mut dyn Transport, node: &str, read: &ApiRead) -> ClusterFacts {
    let nonce = frames::nonce();
    let text = script(&nonce, read);
    let mut facts = empty(node);
    let answer: Result<_, TransportError> = t.open().and_then(|mut conv| {
        conv.exchange(
            &text,
            Some(&frames::start_marker(&nonce)),
            &frames::done_marker(&nonce),
        )
    });
    match answer {
        Err(e) => facts.error = Some(format!("{node}: {e}")),
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let (frames, incomplete) = frames::parse(&nonce, &stdout);
            apply(&mut facts, &frames);
            if out.truncated || incomplete {
                facts.error = Some(format!(
                    "{node}: the answer of kubectl {}",
                    if out.truncated {
                        "exceeded the output cap and was cut"
                    } else {
                        "ended inside a frame"
                    }
                ));
            }
        }
    }
    facts.collected_at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    facts
}

/// Cluster facts with nothing read yet, from `node`.
pub fn empty(node: &str) -> ClusterFacts {
    ClusterFacts {
        schema_version: FACTS_SCHEMA_VERSION,
        kind: CLUSTER_FACTS_KIND.into(),
        source: ApiSource {
            via: "node".into(),
            node: Some(node.to_string()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    crate::util::cap(line, 500)
}

/// Applies the frames of one answer.
pub fn apply(facts: &mut ClusterFacts, frames: &[Frame]) {
    for f in frames {
        match (f.kind.as_str(), f.key.as_str()) {
            ("apierror", what) => {
                facts.error = Some(match what {
                    "kubectl" | "kubeconfig" | "tmp" => crate::util::cap(&f.payload, 1000),
                    _ => first_line(&f.payload),
                });
            }
            ("api", "source") => {
                let mut lines = f.payload.lines();
                facts.source.kubectl = lines.next().map(|l| crate::util::cap(l, 500));
                facts.source.kubeconfig = lines.next().map(|l| crate::util::cap(l, 500));
            }
            ("api", "version") => {
                #[derive(Deserialize)]
                struct V {
                    #[serde(rename = "serverVersion")]
                    server: Option<Git>,
                }
                #[derive(Deserialize)]
                struct Git {
                    #[serde(rename = "gitVersion")]
                    git: String,
                }
                if let Ok(v) = serde_json::from_str::<V>(f.payload.trim()) {
                    facts.server_version = v.server.map(|g| crate::util::cap(&g.git, 100));
                }
            }
            // kubectl prints the client version and then fails when the
            // server cannot be reached: nothing after it will be read.
            ("apierr", "version") if facts.server_version.is_none() => {
                facts.error = Some(format!(
                    "the API server did not answer: {}",
                    first_line(&f.payload)
                ));
            }
            ("apierr", "version") => {}
            ("api", res) if crate::facts::api::RESOURCES.contains(&res) => {
                let read = parse_resource(facts, res, &f.payload);
                facts.resources.insert(res.to_string(), read);
            }
            ("apierr", res) if crate::facts::api::RESOURCES.contains(&res) => {
                let e = first_line(&f.payload);
                facts.resources.entry(res.to_string()).or_default().error = Some(if e.is_empty() {
                    "kubectl failed without a message".into()
                } else {
                    e
                });
            }
            _ => {}
        }
    }
}

/// A field printed by kubectl: empty when missing.
fn json<'a, T: Deserialize<'a>>(field: &'a str) -> Result<Option<T>, String> {
    if field.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(field)
        .map(Some)
        .map_err(|e| format!("{e} in {:?}", crate::util::cap(field, 80)))
}

/// Several values kubectl printed one after the other (`{.a[*].b}`).
fn json_stream<'a, T: Deserialize<'a>>(field: &'a str) -> Result<Vec<T>, String> {
    serde_json::Deserializer::from_str(field)
        .into_iter::<T>()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| format!("{e} in {:?}", crate::util::cap(field, 80)))
}

fn name(field: &str) -> Option<String> {
    (!field.is_empty()).then(|| crate::util::cap(field, 253))
}

fn boolean(field: &str) -> Result<Option<bool>, String> {
    match field {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        other => Err(format!("not a boolean: {:?}", crate::util::cap(other, 40))),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct K8sSecurityContext {
    privileged: Option<bool>,
    allow_privilege_escalation: Option<bool>,
    run_as_non_root: Option<bool>,
    run_as_user: Option<i64>,
    capabilities: Option<K8sCaps>,
    seccomp_profile: Option<K8sSeccomp>,
    windows_options: Option<K8sWindows>,
}

#[derive(Deserialize, Default)]
struct K8sCaps {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    drop: Vec<String>,
}

#[derive(Deserialize)]
struct K8sSeccomp {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sWindows {
    host_process: Option<bool>,
}

impl From<K8sSecurityContext> for SecurityContext {
    fn from(k: K8sSecurityContext) -> Self {
        let caps = k.capabilities.unwrap_or_default();
        SecurityContext {
            privileged: k.privileged,
            allow_privilege_escalation: k.allow_privilege_escalation,
            run_as_non_root: k.run_as_non_root,
            run_as_user: k.run_as_user,
            capabilities_add: caps.add,
            capabilities_drop: caps.drop,
            seccomp: k.seccomp_profile.map(|s| s.kind),
            host_process: k.windows_options.and_then(|w| w.host_process),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sOwner {
    kind: String,
    name: String,
    #[serde(default)]
    controller: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sPort {
    host_port: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sEnvFrom {
    secret_ref: Option<K8sRef>,
}

#[derive(Deserialize)]
struct K8sRef {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sValueFrom {
    secret_key_ref: Option<K8sKeyRef>,
}

#[derive(Deserialize)]
struct K8sKeyRef {
    name: Option<String>,
    key: Option<String>,
}

#[derive(Deserialize)]
struct K8sHostPath {
    path: String,
}

/// A binding's subject as the API has it (`apiGroup` and whatever a newer
/// server adds are not kept).
#[derive(Deserialize)]
struct K8sSubject {
    kind: String,
    name: String,
    namespace: Option<String>,
}

/// A role's rule as the API has it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sRule {
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default)]
    api_groups: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    resource_names: Vec<String>,
    #[serde(default, rename = "nonResourceURLs")]
    non_resource_urls: Vec<String>,
}

fn capped_list(v: Vec<String>) -> Vec<String> {
    v.into_iter()
        .take(1000)
        .map(|x| crate::util::cap(&x, 253))
        .collect()
}

impl From<K8sRule> for PolicyRule {
    fn from(r: K8sRule) -> Self {
        PolicyRule {
            verbs: capped_list(r.verbs),
            api_groups: capped_list(r.api_groups),
            resources: capped_list(r.resources),
            resource_names: capped_list(r.resource_names),
            non_resource_urls: capped_list(r.non_resource_urls),
        }
    }
}

impl From<K8sSubject> for Subject {
    fn from(s: K8sSubject) -> Self {
        Subject {
            kind: crate::util::cap(&s.kind, 100),
            name: crate::util::cap(&s.name, 253),
            namespace: s.namespace.map(|n| crate::util::cap(&n, 253)),
        }
    }
}

#[derive(Deserialize)]
struct K8sRoleRef {
    kind: String,
    name: String,
}

#[derive(Deserialize)]
struct K8sSelector {
    #[serde(rename = "matchLabels", default)]
    match_labels: BTreeMap<String, String>,
    #[serde(rename = "matchExpressions", default)]
    match_expressions: Vec<serde_json::Value>,
}

/// Parses one resource's lines into `facts`.
fn parse_resource(facts: &mut ClusterFacts, resource: &str, text: &str) -> ResourceRead {
    let mut read = ResourceRead::default();
    let mut problems: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        if read.objects >= MAX_OBJECTS {
            read.error = Some(format!("more than {MAX_OBJECTS} objects; not judged"));
            break;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        match parse_line(facts, resource, &fields) {
            Ok(true) => read.objects += 1,
            Ok(false) => {}
            Err(e) => {
                if problems.len() < 3 {
                    problems.push(format!("line {}: {e}", i + 1));
                }
            }
        }
    }
    if !problems.is_empty() && read.error.is_none() {
        read.error = Some(format!(
            "kubectl's output could not be read: {}",
            problems.join("; ")
        ));
    }
    read
}

fn want(fields: &[&str], n: usize) -> Result<(), String> {
    if fields.len() == n {
        Ok(())
    } else {
        Err(format!("{} fields where {n} were expected", fields.len()))
    }
}

/// One line; `Ok(true)` when it is an object (not a pod's container or
/// volume).
fn parse_line(facts: &mut ClusterFacts, resource: &str, f: &[&str]) -> Result<bool, String> {
    let tag = f.first().copied().unwrap_or("");
    match (resource, tag) {
        ("namespaces", "N") => {
            want(f, 3)?;
            facts.namespaces.push(Namespace {
                name: name(f[1]).ok_or("no name")?,
                labels: json(f[2])?.unwrap_or_default(),
            });
            Ok(true)
        }
        ("pods", "P") => {
            want(f, 11)?;
            let owners: Vec<K8sOwner> = json(f[3])?.unwrap_or_default();
            let owner = owners
                .iter()
                .find(|o| o.controller)
                .or(owners.first())
                .map(|o| ObjectRef {
                    kind: crate::util::cap(&o.kind, 100),
                    name: crate::util::cap(&o.name, 253),
                });
            facts.pods.push(Pod {
                namespace: name(f[1]).ok_or("no namespace")?,
                name: name(f[2]).ok_or("no name")?,
                owner,
                mirror: !f[4].is_empty(),
                service_account: name(f[5]),
                automount_token: boolean(f[6])?,
                host_network: boolean(f[7])?.unwrap_or(false),
                host_pid: boolean(f[8])?.unwrap_or(false),
                host_ipc: boolean(f[9])?.unwrap_or(false),
                security_context: json::<K8sSecurityContext>(f[10])?.map(Into::into),
                containers: Vec::new(),
                volumes: Vec::new(),
            });
            Ok(true)
        }
        ("pods", "C" | "I" | "E") => {
            want(f, 6)?;
            let pod = facts.pods.last_mut().ok_or("a container before any pod")?;
            let ports: Vec<K8sPort> = json(f[3])?.unwrap_or_default();
            let env_from: Vec<K8sEnvFrom> = json(f[4])?.unwrap_or_default();
            let value_from: Vec<K8sValueFrom> = json_stream(f[5])?;
            let mut secret_env: Vec<SecretEnv> = env_from
                .into_iter()
                .filter_map(|e| e.secret_ref.and_then(|r| r.name))
                .map(|s| SecretEnv {
                    secret: crate::util::cap(&s, 253),
                    key: None,
                })
                .collect();
            secret_env.extend(value_from.into_iter().filter_map(|v| {
                v.secret_key_ref.map(|r| SecretEnv {
                    secret: crate::util::cap(r.name.as_deref().unwrap_or(""), 253),
                    key: r.key.map(|k| crate::util::cap(&k, 253)),
                })
            }));
            pod.containers.push(Container {
                name: name(f[1]).ok_or("a container without a name")?,
                kind: match tag {
                    "I" => ContainerKind::Init,
                    "E" => ContainerKind::Ephemeral,
                    _ => ContainerKind::Container,
                },
                security_context: json::<K8sSecurityContext>(f[2])?.map(Into::into),
                host_ports: ports
                    .iter()
                    .filter_map(|p| p.host_port)
                    .filter(|p| *p != 0)
                    .collect(),
                secret_env,
            });
            Ok(false)
        }
        ("pods", "V") => {
            want(f, 4)?;
            let pod = facts.pods.last_mut().ok_or("a volume before any pod")?;
            let host: Option<K8sHostPath> = json(f[2])?;
            pod.volumes.push(Volume {
                name: name(f[1]).ok_or("a volume without a name")?,
                host_path: host.map(|h| crate::util::cap(&h.path, 4096)),
                token: !f[3].trim().is_empty(),
            });
            Ok(false)
        }
        ("serviceaccounts", "S") => {
            want(f, 4)?;
            facts.service_accounts.push(ServiceAccount {
                namespace: name(f[1]).ok_or("no namespace")?,
                name: name(f[2]).ok_or("no name")?,
                automount_token: boolean(f[3])?,
            });
            Ok(true)
        }
        ("clusterroles" | "roles", "R") => {
            want(f, 6)?;
            let selectors: Vec<K8sSelector> = json(f[5])?.unwrap_or_default();
            facts.roles.push(Role {
                namespace: name(f[1]),
                name: name(f[2]).ok_or("no name")?,
                labels: json(f[3])?.unwrap_or_default(),
                rules: json::<Vec<K8sRule>>(f[4])?
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into)
                    .collect(),
                aggregation: selectors
                    .into_iter()
                    // matchExpressions are rare in aggregation selectors;
                    // such a selector is kept as matching nothing it
                    // cannot prove, so it never adds rules by guess.
                    .filter(|s| s.match_expressions.is_empty())
                    .map(|s| s.match_labels)
                    .collect(),
            });
            Ok(true)
        }
        ("clusterrolebindings" | "rolebindings", "B") => {
            want(f, 5)?;
            let role: K8sRoleRef = json(f[3])?.ok_or("no roleRef")?;
            facts.bindings.push(Binding {
                namespace: name(f[1]),
                name: name(f[2]).ok_or("no name")?,
                role_kind: crate::util::cap(&role.kind, 100),
                role_name: crate::util::cap(&role.name, 253),
                subjects: json::<Vec<K8sSubject>>(f[4])?
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            });
            Ok(true)
        }
        ("networkpolicies", "Q") => {
            want(f, 7)?;
            let selector: Option<K8sSelector> = json(f[3])?;
            let rules = |s: &str| -> Result<usize, String> {
                Ok(json::<Vec<serde_json::Value>>(s)?.map_or(0, |v| v.len()))
            };
            facts.network_policies.push(NetworkPolicy {
                namespace: name(f[1]).ok_or("no namespace")?,
                name: name(f[2]).ok_or("no name")?,
                selects_all: selector
                    .is_none_or(|s| s.match_labels.is_empty() && s.match_expressions.is_empty()),
                policy_types: json(f[4])?.unwrap_or_default(),
                ingress_rules: rules(f[5])?,
                egress_rules: rules(f[6])?,
            });
            Ok(true)
        }
        ("daemonsets" | "deployments", "W") => {
            want(f, 5)?;
            facts.workloads.push(Workload {
                kind: if resource == "daemonsets" {
                    "DaemonSet"
                } else {
                    "Deployment"
                }
                .into(),
                namespace: name(f[1]).ok_or("no namespace")?,
                name: name(f[2]).ok_or("no name")?,
                labels: json(f[3])?.unwrap_or_default(),
                images: f[4]
                    .split_whitespace()
                    .map(|i| crate::util::cap(i, 500))
                    .collect(),
            });
            Ok(true)
        }
        ("validatingwebhookconfigurations" | "mutatingwebhookconfigurations", "H") => {
            want(f, 3)?;
            facts.webhooks.push(WebhookConfig {
                kind: if resource.starts_with("validating") {
                    "ValidatingWebhookConfiguration"
                } else {
                    "MutatingWebhookConfiguration"
                }
                .into(),
                name: name(f[1]).ok_or("no name")?,
                webhooks: f[2]
                    .split_whitespace()
                    .map(|w| crate::util::cap(w, 253))
                    .collect(),
            });
            Ok(true)
        }
        ("validatingadmissionpolicies" | "validatingadmissionpolicybindings", "A") => {
            want(f, 5)?;
            let binding = resource.ends_with("bindings");
            #[derive(Deserialize)]
            struct Validation {
                #[serde(default)]
                expression: String,
            }
            let validations: Vec<Validation> = json(f[4])?.unwrap_or_default();
            facts.admission_policies.push(AdmissionPolicy {
                kind: if binding {
                    "ValidatingAdmissionPolicyBinding"
                } else {
                    "ValidatingAdmissionPolicy"
                }
                .into(),
                name: name(f[1]).ok_or("no name")?,
                policy: if binding { name(f[2]) } else { None },
                actions: json(f[3])?.unwrap_or_default(),
                expressions: validations
                    .into_iter()
                    .take(50)
                    .map(|v| crate::util::cap(&v.expression, 2000))
                    .collect(),
            });
            Ok(true)
        }
        ("customresourcedefinitions", "D") => {
            want(f, 2)?;
            facts.crds.push(name(f[1]).ok_or("no name")?);
            Ok(true)
        }
        _ => Err(format!(
            "unexpected line tag {:?}",
            crate::util::cap(tag, 10)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: &str, key: &str, payload: &str) -> Frame {
        Frame {
            kind: kind.into(),
            key: key.into(),
            payload: payload.into(),
        }
    }

    #[test]
    fn every_resource_has_a_template_that_prints_no_annotation_or_value() {
        for r in crate::facts::api::RESOURCES {
            let t = template(r).unwrap_or_else(|| panic!("{r}: no template"));
            assert!(t.starts_with("{range .items[*]}"), "{r}");
            // The one annotation read is the mirror marker, kept as a bool.
            let annotations = t.matches(".metadata.annotations").count();
            assert_eq!(annotations, usize::from(r == "pods"), "{r}");
            assert!(!t.contains(".value}"), "{r}: prints a value");
            assert!(!t.contains(".data"), "{r}");
        }
        assert!(template("secrets").is_none());
        assert!(template("configmaps").is_none());
    }

    #[test]
    fn pods_parse_with_their_containers_volumes_and_secret_references() {
        let mut facts = empty("cp1");
        let pods = concat!(
            "P\tapp\tweb-1\t[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-5d\",\"controller\":true}]\t\tweb\t\ttrue\t\t\t{\"runAsNonRoot\":true,\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}\n",
            "C\tnginx\t{\"privileged\":true,\"capabilities\":{\"add\":[\"NET_RAW\"]}}\t[{\"containerPort\":80,\"hostPort\":8080}]\t[{\"secretRef\":{\"name\":\"db\"}},{\"configMapRef\":{\"name\":\"cm\"}}]\t{\"secretKeyRef\":{\"key\":\"pw\",\"name\":\"api\"}} {\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}\n",
            "I\tinit\t\t\t\t\n",
            "V\tkube-api-access-x\t\t{\"expirationSeconds\":3607,\"path\":\"token\"}\n",
            "V\tlogs\t{\"path\":\"/var/log\",\"type\":\"\"}\t\n",
            "P\tkube-system\tetcd-cp1\t[{\"kind\":\"Node\",\"name\":\"cp1\",\"controller\":true}]\t5f1c\t\t\ttrue\t\t\t\n",
        );
        apply(&mut facts, &[frame("api", "pods", pods)]);
        assert_eq!(
            facts.resources["pods"],
            ResourceRead {
                objects: 2,
                error: None
            }
        );
        let web = &facts.pods[0];
        assert_eq!(web.owner.as_ref().unwrap().kind, "ReplicaSet");
        assert!(web.host_network && !web.host_pid && !web.mirror);
        assert_eq!(
            web.security_context.as_ref().unwrap().seccomp.as_deref(),
            Some("RuntimeDefault")
        );
        let c = &web.containers[0];
        assert_eq!(c.security_context.as_ref().unwrap().privileged, Some(true));
        assert_eq!(
            c.security_context.as_ref().unwrap().capabilities_add,
            vec!["NET_RAW"]
        );
        assert_eq!(c.host_ports, vec![8080]);
        assert_eq!(
            c.secret_env,
            vec![
                SecretEnv {
                    secret: "db".into(),
                    key: None
                },
                SecretEnv {
                    secret: "api".into(),
                    key: Some("pw".into())
                },
            ]
        );
        assert_eq!(web.containers[1].kind, ContainerKind::Init);
        assert!(web.containers[1].security_context.is_none());
        assert!(web.volumes[0].token && web.volumes[1].host_path.as_deref() == Some("/var/log"));
        assert!(facts.pods[1].mirror);
    }

    #[test]
    fn errors_name_the_resource_and_line_and_never_pass_as_empty() {
        let mut facts = empty("cp1");
        apply(
            &mut facts,
            &[
                frame(
                    "api",
                    "version",
                    "{\"serverVersion\":{\"gitVersion\":\"v1.32.4\"}}",
                ),
                frame("api", "clusterroles", ""),
                frame(
                    "apierr",
                    "clusterroles",
                    "Error from server (Forbidden): clusterroles.rbac.authorization.k8s.io is forbidden: User \"x\" cannot list resource\n",
                ),
                frame("api", "namespaces", "N\tdefault\t{\"a\":\n"),
                frame("api", "serviceaccounts", "S\tdefault\tdefault\tmaybe\n"),
            ],
        );
        assert_eq!(facts.server_version.as_deref(), Some("v1.32.4"));
        assert!(
            facts
                .unreadable("clusterroles")
                .unwrap()
                .contains("Forbidden")
        );
        assert!(facts.unreadable("namespaces").unwrap().contains("line 1"));
        assert!(
            facts
                .unreadable("serviceaccounts")
                .unwrap()
                .contains("not a boolean")
        );
        assert!(facts.unreadable("pods").unwrap().contains("not read"));

        let mut down = empty("cp1");
        apply(
            &mut down,
            &[
                frame("api", "version", "{\"clientVersion\":{}}"),
                frame(
                    "apierr",
                    "version",
                    "The connection to the server 10.0.0.1:6443 was refused\n",
                ),
            ],
        );
        assert!(
            down.unreadable("pods")
                .unwrap()
                .contains("did not answer: The connection")
        );
    }

    /// The fuzz corpus's realistic answer parses whole: every resource
    /// read, none in error.
    #[test]
    fn the_fuzz_seed_answer_parses_whole() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/corpus/api_answer/kubeadm-flannel-problems"
        ))
        .unwrap();
        let (frames, incomplete) = frames::parse("fz", &text);
        assert!(!incomplete);
        let mut facts = empty("cp1");
        apply(&mut facts, &frames);
        assert_eq!(facts.error, None);
        for r in crate::facts::api::RESOURCES {
            assert_eq!(facts.resources[r].error, None, "{r}");
        }
        assert_eq!(facts.server_version.as_deref(), Some("v1.32.4"));
        assert_eq!(
            facts.source.kubeconfig.as_deref(),
            Some("/etc/kubernetes/admin.conf")
        );
        assert_eq!(
            (
                facts.pods.len(),
                facts.roles.len(),
                facts.bindings.len(),
                facts.crds.len()
            ),
            (2, 4, 3, 2)
        );
        assert_eq!(facts.pods[1].containers.len(), 2);
        assert_eq!(facts.roles[1].aggregation.len(), 1);
        assert_eq!(
            facts.bindings[2].subjects[1].namespace.as_deref(),
            Some("build")
        );
        assert!(facts.network_policies[0].selects_all);
    }

    #[test]
    fn the_script_quotes_candidates_and_lists_every_resource() {
        let s = script(
            "n0",
            &ApiRead {
                kubectl: vec![
                    "kubectl".into(),
                    "/usr/local/bin/k3s kubectl".into(),
                    "x'; rm -rf /".into(),
                ],
                kubeconfig: vec!["/etc/kubernetes/admin.conf".into()],
            },
        );
        assert!(s.contains("KH_KUBECTL='kubectl\n/usr/local/bin/k3s kubectl'\n"));
        assert!(!s.contains("rm -rf /'"));
        for r in crate::facts::api::RESOURCES {
            assert!(s.contains(&format!("\n{r} {{range")), "{r}");
        }
        assert!(s.ends_with("printf '\\n@@n0 DONE\\n'\n"));
    }
}
