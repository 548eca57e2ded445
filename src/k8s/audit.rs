//! Audit policies: the file kube-apiserver's `--audit-policy-file` names,
//! parsed as the API server parses it, and the level it gives a request,
//! worked out as the API server works it out.
//!
//! Upstream: k8s.io/apiserver `pkg/audit/policy/checker.go`. The evaluator
//! (`EvaluatePolicyRule`, formerly `LevelAndStages`) walks the rules in
//! order; the first rule that matches (`ruleMatches`) decides the level and
//! the stages left out (the rule's `omitStages` united with the policy's, as
//! `NewPolicyRuleEvaluator` does with `unionStages`). No rule matching means
//! `DefaultAuditLevel`, which is `None`. Matching, as `ruleMatches`,
//! `ruleMatchesResource`, `ruleMatchesNonResource` and `pathMatches` do it:
//! * `users`: the user's name is listed; `userGroups`: one of its groups is;
//!   `verbs`: the verb is listed (each only when the list is not empty);
//! * `namespaces` or `resources` set: only resource requests match;
//!   `namespaces` lists the request's namespace (`""` for cluster-scoped
//!   resources); `resources` entries match when their `group` is the
//!   request's group (`""` the core group) and either list no resources, or
//!   one of them is `resource` (no subresource), `resource/subresource`,
//!   `*`, `*/subresource` (any resource's subresource) or `resource/*` (the
//!   resource and any subresource of it), with `resourceNames`, when given,
//!   listing the object's name;
//! * else `nonResourceURLs`: only non-resource requests, by exact path, `*`,
//!   or a trailing `*` prefix;
//! * a rule with none of these matches every request.
//!
//! Loading follows `pkg/apis/audit/validation`: the kind must be `Policy` in
//! `audit.k8s.io/v1` (or the older `v1beta1`), every level and stage must be
//! one the API server knows, and a rule may not name both resources (or
//! namespaces) and non-resource URLs. The API server refuses such a file at
//! startup.
//!
//! The concerns CIS 3.2.2 asks about are data ([`CONCERNS`]): the requests
//! each one is about, evaluated for an ordinary authenticated user.

use serde_json::Value as Json;

use super::effective::{NodeCtx, Resolution, Unresolved};
use super::known::ValueKind;
use super::value::{Observed, Value};
use crate::facts::ComponentKind;

/// An audit level, in order of how much it records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    None,
    Metadata,
    Request,
    RequestResponse,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::None,
        Level::Metadata,
        Level::Request,
        Level::RequestResponse,
    ];

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::Metadata => "Metadata",
            Level::Request => "Request",
            Level::RequestResponse => "RequestResponse",
        }
    }
}

/// The stages of a request an audit event can be written at.
pub const STAGES: [&str; 4] = [
    "RequestReceived",
    "ResponseStarted",
    "ResponseComplete",
    "Panic",
];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupResources {
    pub group: String,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PolicyRule {
    pub level: Level,
    pub users: Vec<String>,
    pub user_groups: Vec<String>,
    pub verbs: Vec<String>,
    pub resources: Vec<GroupResources>,
    pub namespaces: Vec<String>,
    pub non_resource_urls: Vec<String>,
    /// The rule's own stages united with the policy's.
    pub omit_stages: Vec<String>,
}

impl PolicyRule {
    /// Matches every request: no user, group, verb, resource, namespace or
    /// URL restriction.
    pub fn is_catch_all(&self) -> bool {
        self.users.is_empty()
            && self.user_groups.is_empty()
            && self.verbs.is_empty()
            && self.resources.is_empty()
            && self.namespaces.is_empty()
            && self.non_resource_urls.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub api_version: String,
    pub omit_stages: Vec<String>,
    pub rules: Vec<PolicyRule>,
}

/// One request, as the authorizer's attributes describe it.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub user: String,
    pub groups: Vec<String>,
    pub verb: String,
    /// `Some` for a resource request.
    pub resource: Option<ResourceAttrs>,
    /// The path of a non-resource request.
    pub path: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResourceAttrs {
    pub group: String,
    pub resource: String,
    pub subresource: String,
    /// `""` for cluster-scoped resources.
    pub namespace: String,
    pub name: String,
}

/// What the policy decides for a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The index of the deciding rule; `None` when no rule matches.
    pub rule: Option<usize>,
    pub level: Level,
    pub omit_stages: Vec<String>,
}

impl Decision {
    /// Whether an event is written at all: a level above None, and not
    /// every stage left out.
    pub fn records(&self) -> bool {
        self.level > Level::None
            && !STAGES
                .iter()
                .all(|s| self.omit_stages.iter().any(|o| o == s))
    }

    /// The level the log really gets: None when every stage is left out.
    pub fn effective_level(&self) -> Level {
        if self.records() {
            self.level
        } else {
            Level::None
        }
    }

    /// `Metadata by rules[3]`, `None by default (no rule matches)`.
    pub fn describe(&self, policy: &Policy) -> String {
        match self.rule {
            None => format!(
                "{} by default (no rule matches)",
                self.effective_level().as_str()
            ),
            Some(i) => {
                let r = &policy.rules[i];
                let mut s = format!("{} by rules[{i}]", self.effective_level().as_str());
                if self.level > Level::None && !self.records() {
                    s.push_str(&format!(
                        " (level {} with every stage omitted)",
                        self.level.as_str()
                    ));
                }
                if r.is_catch_all() && r.level == Level::None {
                    s.push_str(
                        " (a catch-all None rule: it silences every request that reaches it)",
                    );
                }
                s
            }
        }
    }
}

fn strings(v: Option<&Json>, what: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(String::from)
                    .ok_or_else(|| format!("{what} must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("{what} must be a list")),
    }
}

fn stages(v: Option<&Json>, what: &str) -> Result<Vec<String>, String> {
    let s = strings(v, what)?;
    if let Some(bad) = s.iter().find(|s| !STAGES.contains(&s.as_str())) {
        return Err(format!(
            "{what}: unknown stage {bad:?} (known: {})",
            STAGES.join(", ")
        ));
    }
    Ok(s)
}

impl Policy {
    /// Parses an audit Policy document as kube-apiserver loads it; the
    /// error says what the API server would refuse.
    pub fn from_json(doc: &Json) -> Result<Policy, String> {
        let obj = doc
            .as_object()
            .ok_or("the document is not a mapping".to_string())?;
        let kind = obj.get("kind").and_then(Json::as_str).unwrap_or("");
        let api_version = obj.get("apiVersion").and_then(Json::as_str).unwrap_or("");
        if kind != "Policy" {
            return Err(format!("kind is {kind:?}, not \"Policy\""));
        }
        if !matches!(api_version, "audit.k8s.io/v1" | "audit.k8s.io/v1beta1") {
            return Err(format!(
                "apiVersion is {api_version:?}, not audit.k8s.io/v1 (or v1beta1)"
            ));
        }
        let omit = stages(obj.get("omitStages"), "omitStages")?;
        let raw = match obj.get("rules") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(r)) => r.clone(),
            Some(_) => return Err("rules must be a list".into()),
        };
        let mut rules = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            let what = |f: &str| format!("rules[{i}].{f}");
            let r = r
                .as_object()
                .ok_or_else(|| format!("rules[{i}] is not a mapping"))?;
            let level_text = r.get("level").and_then(Json::as_str).unwrap_or("");
            let level = Level::parse(level_text).ok_or_else(|| {
                format!(
                    "{}: {level_text:?} is not an audit level (None, Metadata, Request, RequestResponse)",
                    what("level")
                )
            })?;
            let mut resources = Vec::new();
            match r.get("resources") {
                None | Some(Json::Null) => {}
                Some(Json::Array(items)) => {
                    for (j, g) in items.iter().enumerate() {
                        let w = format!("rules[{i}].resources[{j}]");
                        let g = g
                            .as_object()
                            .ok_or_else(|| format!("{w} is not a mapping"))?;
                        resources.push(GroupResources {
                            group: g
                                .get("group")
                                .and_then(Json::as_str)
                                .unwrap_or("")
                                .to_string(),
                            resources: strings(g.get("resources"), &format!("{w}.resources"))?,
                            resource_names: strings(
                                g.get("resourceNames"),
                                &format!("{w}.resourceNames"),
                            )?,
                        });
                    }
                }
                Some(_) => return Err(format!("{} must be a list", what("resources"))),
            }
            let mut omit_stages = omit.clone();
            for s in stages(r.get("omitStages"), &what("omitStages"))? {
                if !omit_stages.contains(&s) {
                    omit_stages.push(s);
                }
            }
            let rule = PolicyRule {
                level,
                users: strings(r.get("users"), &what("users"))?,
                user_groups: strings(r.get("userGroups"), &what("userGroups"))?,
                verbs: strings(r.get("verbs"), &what("verbs"))?,
                resources,
                namespaces: strings(r.get("namespaces"), &what("namespaces"))?,
                non_resource_urls: strings(r.get("nonResourceURLs"), &what("nonResourceURLs"))?,
                omit_stages,
            };
            if !rule.non_resource_urls.is_empty()
                && (!rule.resources.is_empty() || !rule.namespaces.is_empty())
            {
                return Err(format!(
                    "rules[{i}] names both resources (or namespaces) and nonResourceURLs"
                ));
            }
            rules.push(rule);
        }
        Ok(Policy {
            api_version: api_version.to_string(),
            omit_stages: omit,
            rules,
        })
    }

    /// The level and stages for a request: the first matching rule, else
    /// None (`EvaluatePolicyRule` in checker.go).
    pub fn evaluate(&self, req: &Request) -> Decision {
        for (i, r) in self.rules.iter().enumerate() {
            if rule_matches(r, req) {
                return Decision {
                    rule: Some(i),
                    level: r.level,
                    omit_stages: r.omit_stages.clone(),
                };
            }
        }
        Decision {
            rule: None,
            level: Level::None,
            omit_stages: self.omit_stages.clone(),
        }
    }

    /// The first rule matching every request, if it is at level None: the
    /// rule that silences whatever reaches it.
    pub fn catch_all_none(&self) -> Option<usize> {
        let first = self.rules.iter().position(PolicyRule::is_catch_all)?;
        (self.rules[first].level == Level::None).then_some(first)
    }
}

fn has(list: &[String], v: &str) -> bool {
    list.iter().any(|s| s == v)
}

/// `ruleMatches` in checker.go.
fn rule_matches(r: &PolicyRule, req: &Request) -> bool {
    if !r.users.is_empty() && !has(&r.users, &req.user) {
        return false;
    }
    if !r.user_groups.is_empty() && !req.groups.iter().any(|g| has(&r.user_groups, g)) {
        return false;
    }
    if !r.verbs.is_empty() && !has(&r.verbs, &req.verb) {
        return false;
    }
    if !r.namespaces.is_empty() || !r.resources.is_empty() {
        return rule_matches_resource(r, req);
    }
    if !r.non_resource_urls.is_empty() {
        return req.resource.is_none()
            && r.non_resource_urls
                .iter()
                .any(|spec| path_matches(&req.path, spec));
    }
    true
}

/// `pathMatches` in checker.go.
fn path_matches(path: &str, spec: &str) -> bool {
    spec == "*"
        || spec == path
        || (spec.ends_with('*') && path.starts_with(spec.trim_end_matches('*')))
}

/// `ruleMatchesResource` in checker.go.
fn rule_matches_resource(r: &PolicyRule, req: &Request) -> bool {
    let Some(a) = &req.resource else {
        return false;
    };
    if !r.namespaces.is_empty() && !has(&r.namespaces, &a.namespace) {
        return false;
    }
    if r.resources.is_empty() {
        return true;
    }
    let combined = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    for gr in r.resources.iter().filter(|gr| gr.group == a.group) {
        if gr.resources.is_empty() {
            return true;
        }
        if !gr.resource_names.is_empty() && !has(&gr.resource_names, &a.name) {
            continue;
        }
        for res in &gr.resources {
            if *res == combined || res == "*" {
                return true;
            }
            if !a.subresource.is_empty() && res.strip_prefix("*/") == Some(a.subresource.as_str()) {
                return true;
            }
            if res.strip_suffix("/*") == Some(a.resource.as_str()) {
                return true;
            }
        }
    }
    false
}

/// A concern of CIS 3.2.2: a set of requests the policy must record at a
/// level the rule asks for.
#[derive(Debug)]
pub struct Concern {
    /// The fact name's last part: `audit:<name>`.
    pub name: &'static str,
    /// What it is about, for reports.
    pub title: &'static str,
    /// The API group (`""` the core group).
    pub group: &'static str,
    /// `resource` or `resource/subresource`, and whether it is namespaced.
    pub resources: &'static [(&'static str, bool)],
    pub verbs: &'static [&'static str],
}

const ALL_VERBS: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const CHANGES: &[&str] = &["create", "update", "patch", "delete"];

/// The requests the checks of CIS 3.2.2 are about.
pub const CONCERNS: &[Concern] = &[
    Concern {
        name: "secrets",
        title: "secrets",
        group: "",
        resources: &[("secrets", true)],
        verbs: ALL_VERBS,
    },
    Concern {
        name: "configmaps",
        title: "configmaps",
        group: "",
        resources: &[("configmaps", true)],
        verbs: ALL_VERBS,
    },
    Concern {
        name: "tokenreviews",
        title: "tokenreviews",
        group: "authentication.k8s.io",
        resources: &[("tokenreviews", false)],
        verbs: &["create"],
    },
    Concern {
        name: "pod-access",
        title: "pods/exec, pods/attach and pods/portforward",
        group: "",
        resources: &[
            ("pods/exec", true),
            ("pods/attach", true),
            ("pods/portforward", true),
        ],
        verbs: &["create", "get"],
    },
    Concern {
        name: "rbac-changes",
        title: "changes to roles, clusterroles, rolebindings and clusterrolebindings",
        group: "rbac.authorization.k8s.io",
        resources: &[
            ("roles", true),
            ("rolebindings", true),
            ("clusterroles", false),
            ("clusterrolebindings", false),
        ],
        verbs: CHANGES,
    },
];

/// The user the concerns' requests are made as, besides the users and
/// groups the policy names: an ordinary authenticated user, whom no rule for
/// a system component exempts.
pub const PROBE_USER: &str = "kubeharden:ordinary-user";
/// The group every authenticated user is in.
const AUTHENTICATED: &str = "system:authenticated";
/// The namespaces a namespaced concern is evaluated in, besides those the
/// policy names.
pub const NAMESPACES: [&str; 2] = ["default", "kube-system"];
/// An object name no policy names.
const ANY_NAME: &str = "example";

pub fn find_concern(name: &str) -> Option<&'static Concern> {
    CONCERNS.iter().find(|c| c.name == name)
}

fn push_new(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

impl Concern {
    /// Every request of the concern that the policy can tell apart: each
    /// verb and resource, by the ordinary user, by each user the policy
    /// names and by a member of each group it names; in the namespaces
    /// `default`, `kube-system` and each one the policy names; on an object
    /// of any name and of each name in its `resourceNames`. Rules match on
    /// nothing else, so no request of the concern is decided otherwise than
    /// one of these (short of a user who is both named and in a named group).
    pub fn requests(&self, policy: &Policy) -> Vec<Request> {
        let mut users: Vec<(String, Vec<String>)> =
            vec![(PROBE_USER.into(), vec![AUTHENTICATED.into()])];
        let mut namespaces: Vec<String> = NAMESPACES.iter().map(|s| s.to_string()).collect();
        let mut names = vec![ANY_NAME.to_string()];
        for r in &policy.rules {
            for u in &r.users {
                if !users.iter().any(|(n, _)| n == u) {
                    users.push((u.clone(), vec![AUTHENTICATED.into()]));
                }
            }
            for g in &r.user_groups {
                if g != AUTHENTICATED && !users.iter().any(|(_, gs)| gs.len() == 1 && gs[0] == *g) {
                    users.push((format!("a member of {g}"), vec![g.clone()]));
                }
            }
            for ns in r.namespaces.iter().filter(|n| !n.is_empty()) {
                push_new(&mut namespaces, ns);
            }
            for gr in &r.resources {
                for n in &gr.resource_names {
                    push_new(&mut names, n);
                }
            }
        }
        let mut out = Vec::new();
        for (res, namespaced) in self.resources {
            let (resource, subresource) = res.split_once('/').unwrap_or((res, ""));
            let scopes: Vec<String> = if *namespaced {
                namespaces.clone()
            } else {
                vec![String::new()]
            };
            for (user, groups) in &users {
                for ns in &scopes {
                    for name in &names {
                        for verb in self.verbs {
                            out.push(Request {
                                user: user.clone(),
                                groups: groups.clone(),
                                verb: verb.to_string(),
                                resource: Some(ResourceAttrs {
                                    group: self.group.into(),
                                    resource: resource.into(),
                                    subresource: subresource.into(),
                                    namespace: ns.clone(),
                                    name: name.clone(),
                                }),
                                path: String::new(),
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

impl Request {
    /// `create pods/exec in default`, `patch clusterroles.rbac.authorization.k8s.io`,
    /// with `named N` and `by USER` when they are not any name and the
    /// ordinary user.
    pub fn describe(&self) -> String {
        let mut s = match &self.resource {
            None => format!("{} {}", self.verb, self.path),
            Some(a) => {
                let res = if a.subresource.is_empty() {
                    a.resource.clone()
                } else {
                    format!("{}/{}", a.resource, a.subresource)
                };
                let res = if a.group.is_empty() {
                    res
                } else {
                    format!("{res}.{}", a.group)
                };
                let mut s = format!("{} {res}", self.verb);
                if a.name != ANY_NAME {
                    s.push_str(&format!(" named {}", a.name));
                }
                if !a.namespace.is_empty() {
                    s.push_str(&format!(" in {}", a.namespace));
                }
                s
            }
        };
        if self.user != PROBE_USER {
            s.push_str(&format!(" by {}", self.user));
        }
        s
    }
}

/// The decisions for a concern's requests, grouped by what decides them:
/// each distinct decision once, with the requests it decides.
pub fn decide(policy: &Policy, concern: &Concern) -> Vec<(Decision, Vec<String>)> {
    let mut out: Vec<(Decision, Vec<String>)> = Vec::new();
    for req in concern.requests(policy) {
        let d = policy.evaluate(&req);
        match out.iter_mut().find(|(o, _)| *o == d) {
            Some((_, reqs)) => reqs.push(req.describe()),
            None => out.push((d, vec![req.describe()])),
        }
    }
    out
}

/// The level at the start of an item of an `audit:<concern>` value
/// (`Metadata by rules[3]`).
pub fn item_level(item: &str) -> Option<Level> {
    Level::parse(item.split_whitespace().next()?)
}

/// Why the file `--audit-policy-file` names is not a policy.
enum PolicyFault {
    Missing(String),
    Invalid(String),
}

/// A loaded policy and where it came from.
pub struct LoadedPolicy {
    pub path: String,
    pub shown: String,
    pub policy: Policy,
}

impl NodeCtx<'_> {
    /// The API server's audit policy: `Ok(None)` when `--audit-policy-file`
    /// is not set, an error when the file is missing, unreadable or not a
    /// Policy the API server accepts.
    pub fn audit_policy(&self) -> Resolution<Option<LoadedPolicy>> {
        match self.read_policy()? {
            None => Ok(None),
            Some(Ok(p)) => Ok(Some(p)),
            Some(Err(PolicyFault::Missing(why) | PolicyFault::Invalid(why))) => {
                Err(Unresolved::Unreadable(why))
            }
        }
    }

    fn read_policy(&self) -> Resolution<Option<Result<LoadedPolicy, PolicyFault>>> {
        let (_, args) = self.running(ComponentKind::ApiServer)?;
        let Some(path) = args.value("--audit-policy-file") else {
            return Ok(None);
        };
        let shown = format!("{} (--audit-policy-file)", self.shown_path(path));
        if !self.file(path)?.exists {
            return Ok(Some(Err(PolicyFault::Missing(format!(
                "audit policy {shown} does not exist"
            )))));
        }
        let doc = match self.config_doc(path, "audit policy (--audit-policy-file)") {
            Ok(d) => d,
            Err(Unresolved::Unreadable(why)) if why.contains("is not valid YAML") => {
                return Ok(Some(Err(PolicyFault::Invalid(why))));
            }
            Err(u) => return Err(u),
        };
        Ok(Some(match Policy::from_json(&doc) {
            Ok(policy) => Ok(LoadedPolicy {
                path: path.to_string(),
                shown,
                policy,
            }),
            Err(e) => Err(PolicyFault::Invalid(format!(
                "audit policy {shown} is not one kube-apiserver accepts: {e}"
            ))),
        }))
    }

    /// `audit:policy`: `loaded` when the file named by `--audit-policy-file`
    /// exists and parses as an audit Policy; `missing` or `invalid` (the
    /// API server would refuse to start with it: the one running was started
    /// with another file) with the reason; `not set` without the flag. A
    /// file that could not be read is an error, never a value.
    pub fn audit_policy_state(&self) -> Resolution<Observed> {
        let obs = |v: &str, explicit: bool, source: String| Observed {
            value: Some(Value::Scalar(v.to_string())),
            explicit,
            source,
            kind: ValueKind::Str,
        };
        Ok(match self.read_policy()? {
            None => obs(
                "not set",
                false,
                "--audit-policy-file not set on the kube-apiserver command line".into(),
            ),
            Some(Ok(p)) => obs(
                "loaded",
                true,
                format!(
                    "{}: {} Policy with {} rule{}",
                    p.shown,
                    p.policy.api_version,
                    p.policy.rules.len(),
                    if p.policy.rules.len() == 1 { "" } else { "s" }
                ),
            ),
            Some(Err(PolicyFault::Missing(why))) => obs("missing", true, why),
            Some(Err(PolicyFault::Invalid(why))) => obs("invalid", true, why),
        })
    }

    /// The policy the concerns are judged on. Without `--audit-policy-file`
    /// the API server audits nothing: every request is at None, as with a
    /// policy without rules (3.2.1 reports the missing flag itself).
    fn loaded_policy(&self) -> Resolution<LoadedPolicy> {
        Ok(self.audit_policy()?.unwrap_or_else(|| LoadedPolicy {
            path: String::new(),
            shown: "--audit-policy-file not set on kube-apiserver, which then audits no request"
                .into(),
            policy: Policy {
                api_version: String::new(),
                omit_stages: Vec::new(),
                rules: Vec::new(),
            },
        }))
    }

    /// `audit:<concern>`: the levels the policy gives the concern's
    /// requests, each with the rule deciding it.
    pub fn audit_concern(&self, concern: &Concern) -> Resolution<Observed> {
        let p = self.loaded_policy()?;
        let decisions = decide(&p.policy, concern);
        let mut items: Vec<String> = Vec::new();
        let mut source = Vec::new();
        // The decision most requests get is summed up; the exceptions are
        // named (the first few of each).
        let most = decisions
            .iter()
            .enumerate()
            .max_by_key(|(i, (_, reqs))| (reqs.len(), std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        for (i, (d, reqs)) in decisions.iter().enumerate() {
            let text = d.describe(&p.policy);
            if !items.contains(&text) {
                items.push(text.clone());
            }
            const SHOWN: usize = 6;
            if decisions.len() == 1 {
                source.push(format!("{text}: all {} of its requests", reqs.len()));
            } else if Some(i) == most {
                source.push(format!("{text}: the other {} requests", reqs.len()));
            } else if reqs.len() > SHOWN {
                source.push(format!(
                    "{text}: {} and {} more",
                    reqs[..SHOWN].join(", "),
                    reqs.len() - SHOWN
                ));
            } else {
                source.push(format!("{text}: {}", reqs.join(", ")));
            }
        }
        Ok(Observed {
            value: Some(Value::List(items)),
            explicit: true,
            source: format!(
                "{}, {} (every user, group, namespace and name the policy tells apart): {}",
                p.shown,
                concern.title,
                source.join("; ")
            ),
            kind: ValueKind::List,
        })
    }

    /// `audit:catch-all-none`: the first rule that matches every request,
    /// when its level is None (it silences everything that reaches it);
    /// unset when there is none.
    pub fn audit_catch_all_none(&self) -> Resolution<Observed> {
        let p = self.loaded_policy()?;
        Ok(match p.policy.catch_all_none() {
            Some(i) => {
                let after = p.policy.rules.len() - i - 1;
                Observed {
                    value: Some(Value::Scalar(format!(
                        "rules[{i}] (level None, no restriction){}",
                        if after > 0 {
                            format!("; the {after} rule(s) after it never apply")
                        } else {
                            String::new()
                        }
                    ))),
                    explicit: true,
                    source: p.shown.clone(),
                    kind: ValueKind::Str,
                }
            }
            None => Observed {
                value: None,
                explicit: false,
                source: format!("{}: no catch-all rule at level None", p.shown),
                kind: ValueKind::Str,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml: &str) -> Policy {
        Policy::from_json(&crate::yaml::parse(yaml).unwrap()).unwrap()
    }

    fn res(verb: &str, group: &str, resource: &str, ns: &str) -> Request {
        let (r, sub) = resource.split_once('/').unwrap_or((resource, ""));
        Request {
            user: "jane".into(),
            groups: vec!["system:authenticated".into()],
            verb: verb.into(),
            resource: Some(ResourceAttrs {
                group: group.into(),
                resource: r.into(),
                subresource: sub.into(),
                namespace: ns.into(),
                name: "x".into(),
            }),
            path: String::new(),
        }
    }

    fn url(path: &str) -> Request {
        Request {
            user: "jane".into(),
            groups: vec!["system:authenticated".into()],
            verb: "get".into(),
            resource: None,
            path: path.into(),
        }
    }

    /// The example policy of the Kubernetes documentation ("Auditing",
    /// audit-policy.yaml), rule for rule.
    const DOCS_EXAMPLE: &str = r#"
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
  - "RequestReceived"
rules:
  - level: RequestResponse
    resources:
    - group: ""
      resources: ["pods"]
  - level: Metadata
    resources:
    - group: ""
      resources: ["pods/log", "pods/status"]
  - level: None
    resources:
    - group: ""
      resources: ["configmaps"]
      resourceNames: ["controller-leader"]
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources:
    - group: ""
      resources: ["endpoints", "services"]
  - level: None
    userGroups: ["system:authenticated"]
    nonResourceURLs:
    - "/api*"
    - "/version"
  - level: Request
    resources:
    - group: ""
      resources: ["configmaps"]
    namespaces: ["kube-system"]
  - level: Metadata
    resources:
    - group: ""
      resources: ["secrets", "configmaps"]
  - level: Request
    resources:
    - group: ""
    - group: "extensions"
  - level: Metadata
    omitStages:
      - "RequestReceived"
"#;

    fn at(p: &Policy, r: &Request) -> (Option<usize>, Level) {
        let d = p.evaluate(r);
        (d.rule, d.level)
    }

    #[test]
    fn the_documentation_example_decides_as_the_api_server_does() {
        let p = policy(DOCS_EXAMPLE);
        assert_eq!(p.rules.len(), 9);
        // "pods" does not match a subresource of pods.
        assert_eq!(
            at(&p, &res("get", "", "pods", "default")),
            (Some(0), Level::RequestResponse)
        );
        assert_eq!(
            at(&p, &res("get", "", "pods/log", "default")),
            (Some(1), Level::Metadata)
        );
        assert_eq!(
            at(&p, &res("create", "", "pods/exec", "default")),
            (Some(7), Level::Request)
        );
        // resourceNames: only the named configmap is dropped.
        let mut leader = res("update", "", "configmaps", "kube-system");
        leader.resource.as_mut().unwrap().name = "controller-leader".into();
        assert_eq!(at(&p, &leader), (Some(2), Level::None));
        assert_eq!(
            at(&p, &res("update", "", "configmaps", "kube-system")),
            (Some(5), Level::Request)
        );
        assert_eq!(
            at(&p, &res("update", "", "configmaps", "default")),
            (Some(6), Level::Metadata)
        );
        // users + verbs: kube-proxy's watches only.
        let mut watch = res("watch", "", "endpoints", "default");
        assert_eq!(at(&p, &watch), (Some(7), Level::Request));
        watch.user = "system:kube-proxy".into();
        assert_eq!(at(&p, &watch), (Some(3), Level::None));
        // Non-resource URLs, with the trailing wildcard; userGroups.
        assert_eq!(at(&p, &url("/apis/apps/v1")), (Some(4), Level::None));
        assert_eq!(at(&p, &url("/version")), (Some(4), Level::None));
        assert_eq!(at(&p, &url("/healthz")), (Some(8), Level::Metadata));
        let mut anon = url("/api");
        anon.groups = vec!["system:unauthenticated".into()];
        assert_eq!(at(&p, &anon), (Some(8), Level::Metadata));
        // Another group: the catch-all.
        assert_eq!(
            at(
                &p,
                &res("create", "rbac.authorization.k8s.io", "roles", "default")
            ),
            (Some(8), Level::Metadata)
        );
        // The policy's omitStages reach every rule.
        assert!(p.rules.iter().all(|r| r.omit_stages == ["RequestReceived"]));
        // Concerns: configmaps in kube-system have their bodies logged.
        let cm = decide(&p, find_concern("configmaps").unwrap());
        assert!(cm.iter().any(|(d, reqs)| d.level == Level::Request
            && reqs.iter().all(|r| r.contains(" in kube-system"))
            && reqs.contains(&"update configmaps in kube-system".to_string())));
        // ... and the controller-leader configmap is not logged at all,
        // which "at most Metadata" allows.
        assert!(cm.iter().any(|(d, reqs)| d.rule == Some(2)
            && reqs.contains(&"update configmaps named controller-leader in default".to_string())));
        assert_eq!(p.catch_all_none(), None);
    }

    #[test]
    fn first_match_wins_and_no_match_is_none() {
        let p = policy(
            "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: Metadata\n  resources: [{group: \"\", resources: [secrets]}]\n- level: RequestResponse\n  resources: [{group: \"\", resources: [secrets]}]\n",
        );
        assert_eq!(
            at(&p, &res("get", "", "secrets", "a")),
            (Some(0), Level::Metadata)
        );
        assert_eq!(
            at(&p, &res("get", "apps", "deployments", "a")),
            (None, Level::None)
        );
        assert_eq!(at(&p, &url("/metrics")), (None, Level::None));
        let d = p.evaluate(&res("get", "apps", "deployments", "a"));
        assert_eq!(d.describe(&p), "None by default (no rule matches)");
    }

    #[test]
    fn wildcards_subresources_and_groups() {
        let p = policy(
            r#"apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Request
  resources: [{group: "", resources: ["*/exec"]}]
- level: RequestResponse
  resources: [{group: "", resources: ["pods/*"]}]
- level: Metadata
  resources: [{group: "apps", resources: ["*"]}]
- level: None
  namespaces: [""]
"#,
        );
        assert_eq!(
            at(&p, &res("create", "", "pods/exec", "d")),
            (Some(0), Level::Request)
        );
        // "pods/*" matches pods itself and its other subresources.
        assert_eq!(
            at(&p, &res("create", "", "pods/attach", "d")),
            (Some(1), Level::RequestResponse)
        );
        assert_eq!(
            at(&p, &res("get", "", "pods", "d")),
            (Some(1), Level::RequestResponse)
        );
        // "*/exec" does not match a resource without a subresource.
        assert_eq!(at(&p, &res("get", "", "secrets", "d")), (None, Level::None));
        // "*" in one group: not the core group, not other groups.
        assert_eq!(
            at(&p, &res("get", "apps", "deployments/scale", "d")),
            (Some(2), Level::Metadata)
        );
        // namespaces [""] selects cluster-scoped resources only, and never
        // non-resource requests.
        assert_eq!(at(&p, &res("get", "", "nodes", "")), (Some(3), Level::None));
        assert_eq!(
            at(&p, &res("get", "", "configmaps", "d")),
            (None, Level::None)
        );
        assert_eq!(at(&p, &url("/healthz")), (None, Level::None));
        // A group's entry without resources matches the whole group; the
        // core group is "", not "core".
        let q = policy(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Request\n  resources: [{group: core}]\n- level: Metadata\n  resources: [{group: \"\"}]\n",
        );
        assert_eq!(
            at(&q, &res("get", "", "secrets", "d")),
            (Some(1), Level::Metadata)
        );
    }

    #[test]
    fn omit_stages_unite_and_every_stage_omitted_records_nothing() {
        let p = policy(
            r#"apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, Panic]
rules:
- level: Metadata
  resources: [{group: "", resources: [secrets]}]
  omitStages: [ResponseStarted, ResponseComplete]
- level: Metadata
  omitStages: [ResponseStarted]
"#,
        );
        let d = p.evaluate(&res("get", "", "secrets", "d"));
        assert_eq!(d.omit_stages.len(), 4);
        assert!(!d.records());
        assert_eq!(d.effective_level(), Level::None);
        assert!(
            d.describe(&p)
                .starts_with("None by rules[0] (level Metadata with every stage omitted)")
        );
        let d = p.evaluate(&res("get", "", "configmaps", "d"));
        assert_eq!(
            d.omit_stages,
            ["RequestReceived", "Panic", "ResponseStarted"]
        );
        assert!(d.records());
    }

    #[test]
    fn a_catch_all_none_first_silences_every_concern() {
        let p = policy(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n- level: Metadata\n",
        );
        assert_eq!(p.catch_all_none(), Some(0));
        for c in CONCERNS {
            let d = decide(&p, c);
            assert_eq!(d.len(), 1, "{}", c.name);
            assert!(d[0].0.describe(&p).contains("catch-all None"), "{}", c.name);
        }
        // A catch-all at another level ends the search: a None after it is dead.
        let q = policy(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n- level: None\n",
        );
        assert_eq!(q.catch_all_none(), None);
        // A None rule restricted to one user is not a catch-all.
        let r = policy(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  users: [a]\n",
        );
        assert_eq!(r.catch_all_none(), None);
    }

    #[test]
    fn what_the_api_server_refuses_is_an_error() {
        let bad = |y: &str| Policy::from_json(&crate::yaml::parse(y).unwrap()).unwrap_err();
        assert!(bad("apiVersion: v1\nkind: ConfigMap\n").contains("not \"Policy\""));
        assert!(bad("apiVersion: audit.k8s.io/v2\nkind: Policy\n").contains("apiVersion"));
        assert!(
            bad("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n")
                .contains("rules[0].level")
        );
        assert!(bad("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  omitStages: [Never]\n").contains("unknown stage"));
        assert!(bad("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  namespaces: [a]\n  nonResourceURLs: [/x]\n").contains("both"));
        // An empty policy is valid: everything at None.
        let p = policy("apiVersion: audit.k8s.io/v1\nkind: Policy\n");
        assert_eq!(at(&p, &res("get", "", "secrets", "d")), (None, Level::None));
    }

    #[test]
    fn concern_requests_cover_every_resource_verb_and_scope() {
        let empty = policy("apiVersion: audit.k8s.io/v1\nkind: Policy\n");
        let rbac = find_concern("rbac-changes").unwrap().requests(&empty);
        // roles and rolebindings in two namespaces, the cluster ones once.
        assert_eq!(rbac.len(), (2 * 2 + 2) * 4);
        assert!(
            rbac.iter()
                .any(|r| r.describe() == "patch clusterroles.rbac.authorization.k8s.io")
        );
        let pods = find_concern("pod-access").unwrap().requests(&empty);
        assert!(
            pods.iter()
                .any(|r| r.describe() == "get pods/portforward in kube-system")
        );
        // The users, groups, namespaces and names a policy tells apart are
        // each tried.
        let p = policy(
            r#"apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  users: [system:serviceaccount:ci:deployer]
  resources: [{group: "", resources: [pods/exec]}]
- level: None
  userGroups: [system:masters]
  namespaces: [payments]
  resources: [{group: "", resources: [pods/attach], resourceNames: [db-0]}]
- level: Metadata
"#,
        );
        let d = decide(&p, find_concern("pod-access").unwrap());
        let silenced: Vec<&String> = d
            .iter()
            .filter(|(d, _)| d.level == Level::None)
            .flat_map(|(_, r)| r)
            .collect();
        assert!(
            silenced
                .iter()
                .any(|r| *r == "create pods/exec in default by system:serviceaccount:ci:deployer"),
            "{silenced:?}"
        );
        assert!(
            silenced
                .iter()
                .any(|r| *r
                    == "get pods/attach named db-0 in payments by a member of system:masters"),
            "{silenced:?}"
        );
        // Nothing else is silenced: the ordinary user is at Metadata.
        assert!(silenced.iter().all(|r| r.contains(" by ")), "{silenced:?}");
        assert_eq!(item_level("Metadata by rules[3]"), Some(Level::Metadata));
        assert_eq!(item_level("bogus"), None);
    }
}
