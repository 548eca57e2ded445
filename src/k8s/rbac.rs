//! Who may do what: RBAC resolved as the API server's authorizer does.
//!
//! Grepping roles is not enough. A permission reaches a subject through a
//! binding (a ClusterRoleBinding grants a ClusterRole everywhere, a
//! RoleBinding grants a Role or a ClusterRole in its namespace), to a user,
//! a group or a service account, and an aggregated ClusterRole holds the
//! rules of every ClusterRole its selectors match (`admin`, `edit` and
//! `view` are built this way, and anyone can extend them with a label). The
//! aggregation controller writes those rules into the aggregated role; the
//! union is taken here too, so a role read before the controller caught up,
//! or saved facts edited by hand, still count.
//!
//! The matching follows `rbac.RuleAllows` (plugin/pkg/auth/authorizer/rbac
//! in kube-apiserver): a rule allows a verb, an API group and a resource
//! (`resource/subresource` for a subresource) when each list holds it or
//! `*`. A rule limited by `resourceNames` still grants on those objects and
//! is reported with the names.

use std::collections::{BTreeMap, BTreeSet};

use crate::facts::api::{Binding, ClusterFacts, PolicyRule, Role, Subject};

/// One way a subject holds a permission.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    /// `User alice`, `Group developers`, `ServiceAccount app/builder`.
    pub subject: String,
    pub subject_kind: String,
    pub subject_name: String,
    /// The binding that grants it: `ClusterRoleBinding/x` or
    /// `RoleBinding ns/x`.
    pub binding: String,
    pub binding_name: String,
    /// `ClusterRole/x` or `Role ns/x`.
    pub role: String,
    pub role_name: String,
    /// `None`: every namespace; else the binding's namespace.
    pub namespace: Option<String>,
    /// The names a `resourceNames` rule limits it to (empty: all).
    pub resource_names: Vec<String>,
}

impl Grant {
    /// Where it applies, in words.
    pub fn scope(&self) -> String {
        match &self.namespace {
            None => "cluster-wide".into(),
            Some(ns) => format!("in namespace {ns}"),
        }
    }
}

/// A permission asked about: any of `verbs` on `group`/`resource`.
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    pub verbs: &'a [&'a str],
    pub group: &'a str,
    /// `pods`, or `nodes/proxy` for a subresource.
    pub resource: &'a str,
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == "*" || x == want)
}

/// Whether `rule` allows any verb of `ask` (see the module docs).
pub fn rule_allows(rule: &PolicyRule, ask: &Ask<'_>) -> bool {
    ask.verbs.iter().any(|v| has(&rule.verbs, v))
        && has(&rule.api_groups, ask.group)
        && (has(&rule.resources, ask.resource)
            || ask
                .resource
                .split_once('/')
                .is_some_and(|(r, _)| rule.resources.iter().any(|x| x == &format!("{r}/*"))))
}

/// The cluster's RBAC, indexed.
pub struct Rbac<'a> {
    cluster_roles: BTreeMap<&'a str, &'a Role>,
    roles: BTreeMap<(&'a str, &'a str), &'a Role>,
    bindings: &'a [Binding],
    /// Effective rules of each ClusterRole (own plus aggregated).
    effective: BTreeMap<&'a str, Vec<&'a PolicyRule>>,
}

fn matches(labels: &BTreeMap<String, String>, selector: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

impl<'a> Rbac<'a> {
    pub fn new(facts: &'a ClusterFacts) -> Rbac<'a> {
        let mut cluster_roles = BTreeMap::new();
        let mut roles = BTreeMap::new();
        for r in &facts.roles {
            match &r.namespace {
                None => {
                    cluster_roles.insert(r.name.as_str(), r);
                }
                Some(ns) => {
                    roles.insert((ns.as_str(), r.name.as_str()), r);
                }
            }
        }
        let mut effective = BTreeMap::new();
        for name in cluster_roles.keys() {
            let mut seen = BTreeSet::new();
            let mut rules = Vec::new();
            collect_rules(&cluster_roles, name, &mut seen, &mut rules);
            effective.insert(*name, rules);
        }
        Rbac {
            cluster_roles,
            roles,
            bindings: &facts.bindings,
            effective,
        }
    }

    /// The ClusterRoles whose (effective) rules allow `ask`, and the Roles.
    pub fn roles_allowing(&self, ask: &Ask<'_>) -> Vec<&'a Role> {
        let mut out: Vec<&Role> = self
            .cluster_roles
            .iter()
            .filter(|(n, _)| {
                self.effective
                    .get(*n)
                    .is_some_and(|rules| rules.iter().any(|r| rule_allows(r, ask)))
            })
            .map(|(_, r)| *r)
            .collect();
        out.extend(
            self.roles
                .values()
                .filter(|r| r.rules.iter().any(|x| rule_allows(x, ask))),
        );
        out
    }

    /// Every grant of `ask`, one per subject and binding.
    pub fn who_can(&self, ask: &Ask<'_>) -> Vec<Grant> {
        let mut out = Vec::new();
        for b in self.bindings {
            let names: Option<Vec<String>> = match (b.role_kind.as_str(), &b.namespace) {
                ("Role", Some(ns)) => self
                    .roles
                    .get(&(ns.as_str(), b.role_name.as_str()))
                    .and_then(|r| allowing_names(r.rules.iter(), ask)),
                // A ClusterRole's effective rules; a role that does not
                // exist (a dangling binding) grants nothing.
                ("ClusterRole", _) => self
                    .effective
                    .get(b.role_name.as_str())
                    .and_then(|rules| allowing_names(rules.iter().copied(), ask)),
                _ => None,
            };
            let Some(resource_names) = names else {
                continue;
            };
            for s in &b.subjects {
                out.push(grant(b, s, resource_names.clone()));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// `Some(names)` when some rule allows `ask` (names empty: all objects).
fn allowing_names<'r>(
    rules: impl Iterator<Item = &'r PolicyRule>,
    ask: &Ask<'_>,
) -> Option<Vec<String>> {
    let mut names: Option<Vec<String>> = None;
    for r in rules.filter(|r| rule_allows(r, ask)) {
        if r.resource_names.is_empty() {
            return Some(Vec::new());
        }
        names
            .get_or_insert_with(Vec::new)
            .extend(r.resource_names.iter().cloned());
    }
    names
}

fn collect_rules<'a>(
    roles: &BTreeMap<&'a str, &'a Role>,
    name: &'a str,
    seen: &mut BTreeSet<&'a str>,
    out: &mut Vec<&'a PolicyRule>,
) {
    if !seen.insert(name) {
        return;
    }
    let Some(role) = roles.get(name) else {
        return;
    };
    out.extend(role.rules.iter());
    for selector in &role.aggregation {
        for (other, r) in roles {
            if matches(&r.labels, selector) {
                collect_rules(roles, other, seen, out);
            }
        }
    }
}

fn grant(b: &Binding, s: &Subject, resource_names: Vec<String>) -> Grant {
    let sa_ns = s
        .namespace
        .clone()
        .or_else(|| b.namespace.clone())
        .unwrap_or_default();
    let subject = match s.kind.as_str() {
        "ServiceAccount" => format!("ServiceAccount {sa_ns}/{}", s.name),
        k => format!("{k} {}", s.name),
    };
    let subject_name = if s.kind == "ServiceAccount" {
        format!("{sa_ns}/{}", s.name)
    } else {
        s.name.clone()
    };
    let (binding, role) = match &b.namespace {
        None => (
            format!("ClusterRoleBinding/{}", b.name),
            format!("ClusterRole/{}", b.role_name),
        ),
        Some(ns) => (
            format!("RoleBinding {ns}/{}", b.name),
            if b.role_kind == "Role" {
                format!("Role {ns}/{}", b.role_name)
            } else {
                format!("ClusterRole/{}", b.role_name)
            },
        ),
    };
    Grant {
        subject,
        subject_kind: s.kind.clone(),
        subject_name,
        binding,
        binding_name: b.name.clone(),
        role,
        role_name: b.role_name.clone(),
        namespace: b.namespace.clone(),
        resource_names,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
        PolicyRule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: groups.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn cluster_role(name: &str, labels: &[(&str, &str)], rules: Vec<PolicyRule>) -> Role {
        Role {
            namespace: None,
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            rules,
            aggregation: Vec::new(),
        }
    }

    fn subject(kind: &str, name: &str, ns: Option<&str>) -> Subject {
        Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.map(Into::into),
        }
    }

    const SECRETS: Ask<'static> = Ask {
        verbs: &["get", "list", "watch"],
        group: "",
        resource: "secrets",
    };

    #[test]
    fn aggregation_and_namespaced_bindings_grant_what_grep_would_miss() {
        let mut agg = cluster_role("team-reader", &[], Vec::new());
        agg.aggregation = vec![
            [(
                "example.com/aggregate-to-team".to_string(),
                "true".to_string(),
            )]
            .into_iter()
            .collect(),
        ];
        let facts = ClusterFacts {
            roles: vec![
                agg,
                cluster_role(
                    "secret-peek",
                    &[("example.com/aggregate-to-team", "true")],
                    vec![rule(&["get"], &[""], &["secrets"])],
                ),
                cluster_role("pods", &[], vec![rule(&["*"], &["*"], &["pods"])]),
                Role {
                    namespace: Some("app".into()),
                    name: "ci".into(),
                    rules: vec![PolicyRule {
                        resource_names: vec!["ci-token".into()],
                        ..rule(&["get"], &[""], &["secrets"])
                    }],
                    ..Default::default()
                },
            ],
            bindings: vec![
                Binding {
                    namespace: None,
                    name: "team".into(),
                    role_kind: "ClusterRole".into(),
                    role_name: "team-reader".into(),
                    subjects: vec![subject("Group", "team", None)],
                },
                Binding {
                    namespace: Some("app".into()),
                    name: "ci".into(),
                    role_kind: "Role".into(),
                    role_name: "ci".into(),
                    subjects: vec![subject("ServiceAccount", "builder", None)],
                },
                Binding {
                    namespace: Some("app".into()),
                    name: "gone".into(),
                    role_kind: "ClusterRole".into(),
                    role_name: "does-not-exist".into(),
                    subjects: vec![subject("User", "eve", None)],
                },
            ],
            ..Default::default()
        };
        let rbac = Rbac::new(&facts);
        let who = rbac.who_can(&SECRETS);
        let subjects: Vec<(&str, &str, Option<&str>)> = who
            .iter()
            .map(|g| (g.subject.as_str(), g.role.as_str(), g.namespace.as_deref()))
            .collect();
        assert_eq!(
            subjects,
            vec![
                ("Group team", "ClusterRole/team-reader", None),
                ("ServiceAccount app/builder", "Role app/ci", Some("app")),
            ]
        );
        assert_eq!(who[1].resource_names, vec!["ci-token"]);
        // The wildcard role allows pods, not secrets; a subresource needs
        // its own name or `*`.
        let pods = Ask {
            verbs: &["create"],
            group: "",
            resource: "pods",
        };
        assert_eq!(rbac.roles_allowing(&pods).len(), 1);
        let proxy = Ask {
            verbs: &["get"],
            group: "",
            resource: "nodes/proxy",
        };
        assert!(!rule_allows(&rule(&["get"], &[""], &["nodes"]), &proxy));
        assert!(rule_allows(
            &rule(&["get"], &[""], &["nodes/proxy"]),
            &proxy
        ));
        assert!(rule_allows(&rule(&["*"], &["*"], &["*"]), &proxy));
    }

    #[test]
    fn aggregation_cycles_end() {
        let mut a = cluster_role(
            "a",
            &[("x", "b")],
            vec![rule(&["get"], &[""], &["secrets"])],
        );
        a.aggregation = vec![[("x".to_string(), "a".to_string())].into_iter().collect()];
        let mut b = cluster_role("b", &[("x", "a")], Vec::new());
        b.aggregation = vec![[("x".to_string(), "b".to_string())].into_iter().collect()];
        let facts = ClusterFacts {
            roles: vec![a, b],
            ..Default::default()
        };
        let rbac = Rbac::new(&facts);
        assert_eq!(rbac.roles_allowing(&SECRETS).len(), 2);
    }
}
