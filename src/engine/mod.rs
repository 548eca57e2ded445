//! The engine: a pure function from node facts and a benchmark to a report.
//!
//! Nothing here touches a node, the network or the clock (the report time is
//! passed in), so a saved scan evaluates the same way every time. Nodes are
//! evaluated in parallel with rayon; this is the one place that does so for
//! evaluation.
//!
//! Verdicts follow one rule: never pass without evidence. A fact that could not
//! be read is an `error`; a check that does not apply to the node is a `skip`
//! with the reason; a default counts as evidence only because it is a
//! documented fact of the component, and the report says it was a default.

pub mod certs;
pub mod drift;
pub mod files;
pub mod keys;
pub mod merge;
pub mod network;
pub mod ops;
pub mod platform;
pub mod policy;
pub mod tls;

#[cfg(test)]
mod tests;

use rayon::prelude::*;

use crate::bench::{Benchmark, Check, Fact, Rule, Scope, Targets, Test};
use crate::facts::{ComponentKind, LayoutFacts, NodeFacts, ScanStatus};
use crate::k8s::effective::{NodeCtx, Unresolved};
use crate::util::cap;
use crate::verdict::{
    BenchmarkInfo, CertificateInfo, ClusterReport, Counts, Finding, KeyInfo, NodeCounts,
    NodeReport, REPORT_SCHEMA_VERSION, Report, Status, Summary, ToolInfo,
};

/// Cap on any text taken from a node into a finding.
pub const EVIDENCE_CAP: usize = 2048;

/// Settings of an evaluation that are not in the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalOptions {
    /// When certificates are judged, in seconds since the Unix epoch.
    pub now: i64,
    /// A certificate expiring in fewer days fails.
    pub cert_fail_days: i64,
    /// A certificate expiring in fewer days warns.
    pub cert_warn_days: i64,
    /// An encryption or service-account signing key unchanged for longer
    /// warns (`--key-max-age`).
    pub key_max_age_days: i64,
    /// Old encryption keys still listed longer than this after the last
    /// change of the configuration warn (`--old-key-grace-days`).
    pub old_key_grace_days: i64,
    /// A CA with fewer days left warns (`--ca-warn-days`).
    pub ca_warn_days: i64,
}

impl EvalOptions {
    pub const DEFAULT_CERT_FAIL_DAYS: i64 = 7;
    pub const DEFAULT_CERT_WARN_DAYS: i64 = 30;
    pub const DEFAULT_KEY_MAX_AGE_DAYS: i64 = 90;
    pub const DEFAULT_OLD_KEY_GRACE_DAYS: i64 = 30;
    pub const DEFAULT_CA_WARN_DAYS: i64 = 365;

    /// Default thresholds, judged at `generated_at` (RFC 3339) when it
    /// parses, else at the current time.
    pub fn at(generated_at: &str) -> EvalOptions {
        let when = humantime::parse_rfc3339_weak(generated_at)
            .unwrap_or_else(|_| std::time::SystemTime::now());
        let now = when
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        EvalOptions {
            now,
            cert_fail_days: Self::DEFAULT_CERT_FAIL_DAYS,
            cert_warn_days: Self::DEFAULT_CERT_WARN_DAYS,
            key_max_age_days: Self::DEFAULT_KEY_MAX_AGE_DAYS,
            old_key_grace_days: Self::DEFAULT_OLD_KEY_GRACE_DAYS,
            ca_warn_days: Self::DEFAULT_CA_WARN_DAYS,
        }
    }

    fn keys(&self) -> keys::KeyOptions {
        keys::KeyOptions {
            now: self.now,
            key_max_age_days: self.key_max_age_days,
            old_key_grace_days: self.old_key_grace_days,
            ca_warn_days: self.ca_warn_days,
        }
    }

    fn cert(&self) -> certs::CertOptions {
        certs::CertOptions {
            now: self.now,
            fail_days: self.cert_fail_days,
            warn_days: self.cert_warn_days,
        }
    }
}

/// Evaluates every node against the benchmark. `generated_at` is written into
/// the report as is, and certificates are judged at that time.
pub fn evaluate(bench: &Benchmark, nodes: &[NodeFacts], generated_at: &str) -> Report {
    evaluate_with(bench, nodes, generated_at, &EvalOptions::at(generated_at))
}

/// [`evaluate`] with explicit options.
pub fn evaluate_with(
    bench: &Benchmark,
    nodes: &[NodeFacts],
    generated_at: &str,
    opts: &EvalOptions,
) -> Report {
    evaluate_cluster(bench, nodes, None, generated_at, opts)
}

/// [`evaluate_with`], with the cluster's objects when they were read: the
/// API checks (CIS section 5) are judged from them, and stay manual
/// without.
pub fn evaluate_cluster(
    bench: &Benchmark,
    nodes: &[NodeFacts],
    api: Option<&crate::facts::api::ClusterFacts>,
    generated_at: &str,
    opts: &EvalOptions,
) -> Report {
    let evaluated: Vec<(NodeReport, Vec<CertificateInfo>, Vec<KeyInfo>)> = nodes
        .par_iter()
        .map(|n| evaluate_node_full(bench, n, opts))
        .collect();
    let mut cert_rows: Vec<CertificateInfo> = Vec::new();
    let mut key_rows: Vec<KeyInfo> = Vec::new();
    let mut node_reports = Vec::with_capacity(evaluated.len());
    for (r, rows, keys) in evaluated {
        node_reports.push(r);
        cert_rows.extend(rows);
        key_rows.extend(keys);
    }
    cert_rows.sort_by(|a, b| {
        a.days_left
            .cmp(&b.days_left)
            .then_with(|| a.node.cmp(&b.node))
            .then_with(|| a.path.cmp(&b.path))
    });
    keys::order_rows(&mut key_rows);
    let scanned_any = nodes.iter().any(|n| n.scan_status == ScanStatus::Ok);
    let etcd = network::etcd_firewall(nodes);
    let tls_rows: Vec<crate::verdict::TlsPort> = nodes
        .iter()
        .filter(|n| n.scan_status == ScanStatus::Ok)
        .flat_map(network::tls_rows)
        .collect();
    let probed_any = nodes.iter().any(|n| !n.tls.is_empty());
    let mut cluster_results: Vec<Finding> = bench
        .rules
        .iter()
        .filter(|r| r.scope == Scope::Cluster && r.builtin.is_none())
        .map(|r| match &r.disabled {
            Some(why) => disabled_finding(r, why),
            None => manual_finding(r),
        })
        .collect();
    // No attempts (kind's explanation without probes): not collected.
    let etcd_rows = etcd.and_then(|(rows, finding)| {
        cluster_results.push(finding);
        (!rows.is_empty()).then_some(rows)
    });
    cluster_results.extend(policy::api_findings(bench, nodes, api));
    let cluster_results = own_results(bench, cluster_results, Scope::Cluster);
    let cluster = ClusterReport {
        name: None,
        results: cluster_results,
    };
    let mut counts = Counts::default();
    for n in &node_reports {
        counts.merge(&n.summary);
    }
    counts.merge(&Counts::of(&cluster.results));
    let scanned = node_reports
        .iter()
        .filter(|n| n.scan_status == ScanStatus::Ok)
        .count();
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: ToolInfo {
            name: "kubeharden".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        benchmark: BenchmarkInfo {
            id: bench.id.clone(),
            title: bench.title.clone(),
            version: bench.version.clone(),
            kubernetes: bench.kubernetes.clone(),
            chosen: None,
            // The catalog's sections: the benchmark's and those of
            // kubeharden's own checks.
            sections: bench.sections.clone(),
        },
        generated_at: generated_at.to_string(),
        summary: Summary {
            counts,
            nodes: NodeCounts {
                total: node_reports.len(),
                scanned,
                not_scanned: node_reports.len() - scanned,
            },
        },
        nodes: node_reports,
        cluster,
        waivers: Vec::new(),
        certificates: scanned_any.then_some(cert_rows),
        tls_ports: probed_any.then_some(tls_rows),
        etcd_reachability: etcd_rows,
        keys: scanned_any.then_some(key_rows),
        history: None,
    }
}

/// Evaluates the node-scope rules of the benchmark on one node, judging
/// certificates now.
pub fn evaluate_node(bench: &Benchmark, facts: &NodeFacts) -> NodeReport {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    evaluate_node_full(bench, facts, &EvalOptions::at(&now)).0
}

/// One node's report, and its rows of the cluster-wide certificate and
/// key tables.
fn evaluate_node_full(
    bench: &Benchmark,
    facts: &NodeFacts,
    opts: &EvalOptions,
) -> (NodeReport, Vec<CertificateInfo>, Vec<KeyInfo>) {
    let mut results = Vec::new();
    let mut cert_rows = Vec::new();
    let mut key_rows = Vec::new();
    if facts.scan_status == ScanStatus::Ok {
        let ctx = NodeCtx::new(facts);
        results.extend(
            bench
                .rules
                .iter()
                .filter(|r| r.scope == Scope::Node && r.builtin.is_none())
                .map(|r| match &r.disabled {
                    Some(why) => disabled_finding(r, why),
                    None => platform::adjust_node(&ctx, r, evaluate_rule(&ctx, r)),
                }),
        );
        let mut own = drift_findings(facts);
        let (findings, certs) = certs::cert_findings(&ctx, opts.cert());
        own.extend(findings);
        own.extend(network::plaintext_finding(facts));
        own.extend(tls::tls_findings(&ctx, opts.now));
        cert_rows = certs
            .into_iter()
            .map(|(path, c)| CertificateInfo {
                node: facts.node.name.clone(),
                days_left: c.days_left(opts.now),
                not_after: crate::util::rfc3339(c.not_after),
                subject: cap(&c.subject, 512),
                path: cap(&path, 512),
            })
            .collect();
        own.extend(presence_findings(&ctx));
        let (findings, rows) = keys::key_findings(&ctx, opts.keys());
        own.extend(findings);
        key_rows = rows;
        results.extend(own_results(bench, own, Scope::Node));
    }
    let report = NodeReport {
        name: facts.node.name.clone(),
        address: facts.node.address.clone(),
        roles: facts.node.roles.clone(),
        roles_detected: facts.node.roles_detected.as_deref().map(|r| cap(r, 512)),
        scan_status: facts.scan_status,
        // Both come from the node (a scan error may quote its output), so
        // they are capped like evidence; name and address come from the
        // inventory.
        error: facts.error.as_deref().map(|e| cap(e, EVIDENCE_CAP)),
        scan_duration_ms: facts.scan_duration_ms,
        kubernetes_version: facts
            .node
            .kubernetes_version
            .as_deref()
            .map(|v| cap(v, 256)),
        layout: (facts.scan_status == ScanStatus::Ok).then(|| {
            let l = NodeCtx::new(facts).layout;
            LayoutFacts {
                name: cap(&l.name, 64),
                forced: l.forced,
                evidence: l.evidence.iter().take(8).map(|e| cap(e, 512)).collect(),
            }
        }),
        summary: Counts::of(&results),
        results,
    };
    (report, cert_rows, key_rows)
}

fn base(rule: &Rule, status: Status) -> Finding {
    Finding {
        id: rule.id.clone(),
        title: rule.title.clone(),
        section: rule.section.clone(),
        scored: rule.scored,
        level: rule.level,
        severity: Some(rule.severity),
        status,
        reason: None,
        expected: rule.check.as_ref().map(Check::describe).unwrap_or_default(),
        actual: String::new(),
        source: String::new(),
        remediation: rule.remediation.clone(),
        waiver: None,
        age: Default::default(),
        objects: Vec::new(),
    }
}

/// A check the profile disabled: a `skip` with the profile's reason, so it
/// never vanishes from a report unexplained.
fn disabled_finding(rule: &Rule, why: &str) -> Finding {
    let mut f = skip(rule, format!("disabled by the benchmark profile: {why}"));
    f.expected = rule.describe().unwrap_or_default();
    f
}

/// A finding of one of kubeharden's own checks as its decider makes it:
/// the id, the status and (set by the caller) the evidence. Title, section,
/// scoring, severity and remediation are the catalog's ([`catalogued`]); a
/// remediation the decider sets is a note for this case, put before the
/// catalog's text.
pub(crate) fn own_finding(id: impl Into<String>, status: Status) -> Finding {
    Finding {
        id: id.into(),
        title: String::new(),
        section: String::new(),
        scored: true,
        level: 1,
        severity: None,
        status,
        reason: None,
        expected: String::new(),
        actual: String::new(),
        source: String::new(),
        remediation: String::new(),
        waiver: None,
        age: Default::default(),
        objects: Vec::new(),
    }
}

/// A decider's finding with its catalog entry's title, section, scoring,
/// severity and remediation. Not scored turns a `fail` into a `warn`, as
/// for the benchmark's rules.
fn catalogued(rule: &Rule, mut f: Finding) -> Finding {
    f.title = rule.title.clone();
    f.section = rule.section.clone();
    f.level = rule.level;
    f.severity = Some(rule.severity);
    f.scored = rule.scored;
    if !rule.scored && f.status == Status::Fail {
        f.status = Status::Warn;
    }
    f.remediation = if f.remediation.is_empty() {
        rule.remediation.clone()
    } else {
        format!("{} {}", f.remediation, rule.remediation)
    };
    f
}

/// The own checks' findings of one node (or of the cluster), catalogued;
/// those the profile disabled are replaced by one `skip` each, given
/// whether or not the decider had anything to say. A finding whose id is
/// not in the catalog keeps its id as title (tests keep this from
/// happening: every id the engine emits is catalogued).
fn own_results(bench: &Benchmark, found: Vec<Finding>, scope: Scope) -> Vec<Finding> {
    let mut out: Vec<Finding> = found
        .into_iter()
        .filter_map(|f| match bench.rule(&f.id) {
            // The benchmark's own rules (manual cluster checks, disabled
            // ones) pass through as they are: they are complete already.
            Some(r) if r.builtin.is_none() => Some(f),
            Some(r) if r.disabled.is_some() => None,
            Some(r) => Some(catalogued(r, f)),
            None => Some(Finding {
                title: f.id.clone(),
                ..f
            }),
        })
        .collect();
    for r in bench
        .rules
        .iter()
        .filter(|r| r.builtin.is_some() && r.scope == scope)
    {
        if let Some(why) = &r.disabled {
            out.push(disabled_finding(r, why));
        }
    }
    out
}

fn manual_finding(rule: &Rule) -> Finding {
    let mut f = base(rule, Status::Manual);
    f.reason = Some("needs a person to judge: nothing kubeharden reads answers it".into());
    f.expected = rule.guidance.clone().unwrap_or_default();
    f
}

fn skip(rule: &Rule, reason: String) -> Finding {
    let mut f = base(rule, Status::Skip);
    f.reason = Some(cap(&reason, EVIDENCE_CAP));
    f
}

/// The outcome of a check before scoring turns a failure into fail or warn.
#[derive(Debug)]
enum Outcome {
    Pass,
    Fail,
    Skip(String),
    Error(String),
}

struct Evaluated {
    outcome: Outcome,
    actual: Vec<String>,
    source: Vec<String>,
}

fn evaluate_rule(ctx: &NodeCtx<'_>, rule: &Rule) -> Finding {
    if let Targets::Roles(roles) = &rule.targets {
        if !roles.iter().any(|r| ctx.facts.has_role(*r)) {
            let have: Vec<&str> = ctx.facts.node.roles.iter().map(|r| r.as_str()).collect();
            return skip(
                rule,
                format!(
                    "not applicable: the check is for {} nodes; this node is {}",
                    rule.targets.describe(),
                    if have.is_empty() {
                        "without a role".into()
                    } else {
                        have.join(", ")
                    }
                ),
            );
        }
    }
    let Some(check) = &rule.check else {
        return manual_finding(rule);
    };
    // The distribution's own audit, where the benchmark's does not carry
    // over (`[checks]` of its layout).
    let note = ctx
        .layout()
        .ok()
        .and_then(|l| l.checks.get(&rule.id).map(|c| (l, c)));
    if let Some((l, c)) = note {
        if let Some(why) = &c.skip {
            return skip(rule, format!("not applicable on {}: {why}", l.title));
        }
    }
    // Settings need the component running; file checks resolve their own paths.
    if let Some(kind) = rule.component {
        if check
            .tests()
            .iter()
            .any(|t| !matches!(t.fact, Fact::File { .. }))
        {
            if let Err(u) = ctx.running(kind) {
                return unresolved(rule, u);
            }
        }
    }
    let ev = eval_check(ctx, check);
    let mut f = base(rule, Status::Pass);
    f.actual = cap(&ev.actual.join("; "), EVIDENCE_CAP);
    let mut source = ev.source;
    if let Some(n) = note.and_then(|(_, c)| c.note.as_ref()) {
        source.push(n.clone());
    }
    f.source = cap(&source.join("; "), EVIDENCE_CAP);
    match ev.outcome {
        Outcome::Pass => {}
        Outcome::Fail => {
            f.status = if rule.scored {
                Status::Fail
            } else {
                Status::Warn
            }
        }
        Outcome::Skip(reason) => {
            f.status = Status::Skip;
            f.reason = Some(cap(&reason, EVIDENCE_CAP));
        }
        Outcome::Error(reason) => {
            f.status = Status::Error;
            f.reason = Some(cap(&reason, EVIDENCE_CAP));
        }
    }
    if matches!(f.status, Status::Fail | Status::Warn) {
        if let Some(how) = supervisor_fix(ctx, rule, check) {
            f.remediation = format!("{how} {}", f.remediation);
        }
    }
    f
}

/// How to change a setting of a component a supervisor runs inside itself
/// (k3s): through the supervisor's configuration, not a manifest or unit
/// the node does not have. None for any other component, and for checks of
/// files.
fn supervisor_fix(ctx: &NodeCtx<'_>, rule: &Rule, check: &Check) -> Option<String> {
    let kind = rule.component?;
    if check
        .tests()
        .iter()
        .all(|t| matches!(t.fact, Fact::File { .. }))
    {
        return None;
    }
    let layout = ctx.layout().ok()?;
    let c = layout
        .component(kind)
        .filter(|c| c.launch == crate::k8s::layout::Launch::Embedded)?;
    let key = c.arg_key.as_ref()?;
    let config = layout.supervisor.as_ref()?.config_files.first()?;
    Some(format!(
        "On {title}, {binary} runs inside {by}: give the flag as an item of {key} (name=value) in {config} (or in a file of {config}.d/; {key}+: appends) and restart {title}; a kubelet configuration setting is given the same way, as its flag. The general steps, for nodes where {binary} runs on its own:",
        title = layout.title,
        binary = kind.binary(),
        by = c.by_text(),
    ))
}

fn unresolved(rule: &Rule, u: Unresolved) -> Finding {
    match u {
        Unresolved::NotApplicable(r) => skip(rule, format!("not applicable: {r}")),
        Unresolved::Unreadable(r) => {
            let mut f = base(rule, Status::Error);
            f.reason = Some(cap(&r, EVIDENCE_CAP));
            f
        }
    }
}

fn eval_check(ctx: &NodeCtx<'_>, check: &Check) -> Evaluated {
    match check {
        Check::Test(t) => eval_test(ctx, t),
        Check::All(members) | Check::Any(members) => {
            let all = matches!(check, Check::All(_));
            let parts: Vec<Evaluated> = members.iter().map(|m| eval_check(ctx, m)).collect();
            let count = |p: fn(&Outcome) -> bool| parts.iter().filter(|e| p(&e.outcome)).count();
            let fails = count(|o| matches!(o, Outcome::Fail));
            let passes = count(|o| matches!(o, Outcome::Pass));
            let first_error = parts.iter().find_map(|e| match &e.outcome {
                Outcome::Error(r) => Some(r.clone()),
                _ => None,
            });
            let outcome = if all && fails > 0 {
                Outcome::Fail
            } else if !all && passes > 0 {
                Outcome::Pass
            } else if let Some(r) = first_error {
                Outcome::Error(r)
            } else if passes + fails == 0 {
                let reasons: Vec<String> = parts
                    .iter()
                    .filter_map(|e| match &e.outcome {
                        Outcome::Skip(r) => Some(r.clone()),
                        _ => None,
                    })
                    .collect();
                Outcome::Skip(reasons.join("; "))
            } else if all {
                Outcome::Pass
            } else {
                Outcome::Fail
            };
            // When the combination fails, say which of its members did not
            // hold and what each required (the others are listed as found);
            // members reading the same fact share one source.
            let failed = matches!(outcome, Outcome::Fail);
            let mut actual = Vec::new();
            let mut source: Vec<String> = Vec::new();
            for (e, m) in parts.iter().zip(members) {
                let mark = failed && matches!(e.outcome, Outcome::Fail);
                for a in &e.actual {
                    actual.push(if mark {
                        format!("NOT MET ({}): {a}", m.describe())
                    } else {
                        a.clone()
                    });
                }
                for s in &e.source {
                    if !source.contains(s) {
                        source.push(s.clone());
                    }
                }
            }
            Evaluated {
                outcome,
                actual,
                source,
            }
        }
    }
}

fn eval_test(ctx: &NodeCtx<'_>, t: &Test) -> Evaluated {
    let fail = |u: Unresolved| Evaluated {
        outcome: match u {
            Unresolved::NotApplicable(r) => Outcome::Skip(r),
            Unresolved::Unreadable(r) => Outcome::Error(r),
        },
        actual: Vec::new(),
        source: Vec::new(),
    };
    let observed = match &t.fact {
        Fact::File { file, attr } => {
            let sel = match ctx.select_files(*file) {
                Ok(s) => s,
                Err(u) => return fail(u),
            };
            let expected = t.value.as_str().unwrap_or("");
            return match files::test_files(&sel, *attr, expected) {
                Ok((ok, actual, source)) => Evaluated {
                    outcome: if ok { Outcome::Pass } else { Outcome::Fail },
                    actual: vec![actual],
                    source: vec![source],
                },
                Err(e) => fail(Unresolved::Unreadable(e)),
            };
        }
        Fact::Flag(spec) => ctx.flag(spec),
        Fact::Setting { component, spec } => ctx.setting(*component, spec),
        Fact::FeatureGate { component, gate } => ctx.feature_gate(*component, gate),
        Fact::EncryptionSecretsProvider => ctx.secrets_provider(),
        Fact::AdmissionPlugin(plugin) => ctx.admission_plugin(plugin),
        Fact::AnonymousAuth => ctx.anonymous_auth(),
        Fact::AuditPolicy => ctx.audit_policy_state(),
        Fact::AuditConcern(c) => ctx.audit_concern(c),
        Fact::AuditCatchAllNone => ctx.audit_catch_all_none(),
    };
    let obs = match observed {
        Ok(o) => o,
        Err(u) => return fail(u),
    };
    let subject = t.fact.subject();
    let actual = format!("{subject}: {}", obs.describe());
    match ops::apply(t.op, &obs, &t.value) {
        Ok(ok) => Evaluated {
            outcome: if ok { Outcome::Pass } else { Outcome::Fail },
            actual: vec![actual],
            source: vec![obs.source],
        },
        Err(e) => Evaluated {
            outcome: Outcome::Error(format!("{subject}: {e} ({})", obs.source)),
            actual: vec![actual],
            source: vec![obs.source],
        },
    }
}

fn drift_findings(facts: &NodeFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    for kind in crate::bench::DRIFT_COMPONENTS {
        let Some(comp) = facts.component(kind) else {
            continue;
        };
        let Some(diffs) = drift::compare(kind, comp) else {
            continue;
        };
        let manifest = comp
            .manifest
            .as_ref()
            .map(|m| m.path.as_str())
            .unwrap_or("");
        let descriptions: Vec<String> = diffs.iter().map(|d| d.describe()).collect();
        out.push(Finding {
            expected: format!(
                "the command line of the running process equals the command in {manifest}"
            ),
            actual: if diffs.is_empty() {
                "no differences".into()
            } else {
                cap(&descriptions.join("; "), EVIDENCE_CAP)
            },
            source: format!(
                "{} command line{} and {manifest}",
                kind.binary(),
                comp.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            ),
            ..own_finding(
                format!("drift.{kind}"),
                if diffs.is_empty() {
                    Status::Pass
                } else {
                    Status::Warn
                },
            )
        });
    }
    out
}

/// Every Kubernetes node runs a kubelet, a control plane runs an API server,
/// and an etcd node runs etcd. When one is missing, every check of that
/// component would be a skip, and a scan that found nothing would look clean;
/// so a missing component for a declared role is an error of its own.
fn presence_findings(ctx: &NodeCtx<'_>) -> Vec<Finding> {
    use crate::facts::Role;
    let facts = ctx.facts;
    let mut wanted: Vec<ComponentKind> = Vec::new();
    // What the node's layout says its roles run; for an unknown layout,
    // what every Kubernetes node of the role runs.
    if let Ok(l) = ctx.layout() {
        wanted = l.expected_components(&facts.node.roles);
    }
    for role in facts.node.roles.iter().filter(|_| ctx.layout().is_err()) {
        let kinds: &[ComponentKind] = match role {
            Role::ControlPlane => &[ComponentKind::ApiServer, ComponentKind::Kubelet],
            Role::Worker => &[ComponentKind::Kubelet],
            Role::Etcd => &[ComponentKind::Etcd],
        };
        for k in kinds {
            if !wanted.contains(k) {
                wanted.push(*k);
            }
        }
    }
    let roles: Vec<&str> = facts.node.roles.iter().map(|r| r.as_str()).collect();
    wanted
        .into_iter()
        .map(|kind| {
            let comp = facts.component(kind);
            let running = comp.is_some_and(|c| c.running && c.error.is_none());
            let (status, reason, actual) = match comp {
                Some(c) if running => (
                    Status::Pass,
                    None,
                    format!(
                        "{} running{}{}",
                        kind.binary(),
                        c.logged
                            .as_ref()
                            .map(|l| format!(" inside {}", l.supervisor))
                            .unwrap_or_default(),
                        c.pid.map(|p| format!(" as pid {p}")).unwrap_or_default()
                    ),
                ),
                Some(c) if c.error.is_some() => (
                    Status::Error,
                    Some(match ctx.running(kind) {
                        Err(crate::k8s::effective::Unresolved::Unreadable(r)) => r,
                        _ => format!(
                            "the {} process could not be read: {}",
                            kind.binary(),
                            c.error.as_deref().unwrap_or("")
                        ),
                    }),
                    String::new(),
                ),
                _ => (
                    Status::Error,
                    Some(match &facts.node.roles_detected {
                        Some(how) if how.starts_with("guessed") => format!(
                            "no running {} was found, and no role was given for the node: its role {} was {how}. It does not look like a Kubernetes node; if it is one, give its roles (--role NAME=ROLES, or roles in the inventory)",
                            kind.binary(),
                            roles.join(","),
                        ),
                        _ => format!(
                            "no running {} was found on a node {} {}: its checks could not be evaluated; check the node's roles, or whether the collector can see the node's processes",
                            kind.binary(),
                            if facts.node.roles_detected.is_some() { "taken for" } else { "declared" },
                            roles.join(",")
                        ),
                    }),
                    "not running".to_string(),
                ),
            };
            Finding {
                reason,
                expected: format!("a running {} process", kind.binary()),
                actual,
                source: match comp.and_then(|c| c.logged.as_ref()) {
                    // Embedded in a supervisor: what it logged says so.
                    Some(l) => format!(
                        "{} logged {:?} in {}",
                        l.supervisor,
                        l.line,
                        if l.log == "journal" {
                            "the journal"
                        } else {
                            l.log.as_str()
                        }
                    ),
                    None => "process list (/proc)".into(),
                },
                ..own_finding(format!("presence.{kind}"), status)
            }
        })
        .collect()
}
