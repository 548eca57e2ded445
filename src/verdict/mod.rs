//! The verdict model: what the engine concludes, for every node and for the
//! cluster: statuses, findings with their evidence, counts, and the report
//! that holds them. The engine fills it; the renderers in `report` read it.
//! It depends on nothing but the facts' identities (roles, scan statuses),
//! so neither side reaches into the other.
//!
//! The JSON field names are a contract other tools read (documented in
//! `docs/report-schema.md`): extend them, never rename them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::facts::{LayoutFacts, Role, ScanStatus};

/// Version of the JSON report schema.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The verdict on one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Fail,
    Error,
    Warn,
    /// A `fail` or `warn` that a waiver in force accepts (see `waivers`).
    Waived,
    Manual,
    Skip,
    Pass,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Manual,
        Status::Skip,
        Status::Error,
        Status::Waived,
    ];

    /// Most serious first: the order reports list findings in.
    pub const BY_SEVERITY: [Status; 7] = [
        Status::Fail,
        Status::Error,
        Status::Warn,
        Status::Waived,
        Status::Manual,
        Status::Skip,
        Status::Pass,
    ];

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Manual => "manual",
            Status::Skip => "skip",
            Status::Error => "error",
            Status::Waived => "waived",
        }
    }

    /// Statuses that say a check did not hold, or could not be shown to.
    pub fn is_problem(self) -> bool {
        matches!(self, Status::Fail | Status::Error | Status::Warn)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a failed check matters, from the check catalog (rules and
/// kubeharden's own checks carry one each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check's verdict with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub title: String,
    pub section: String,
    pub scored: bool,
    pub level: u8,
    /// From the check catalog; absent in reports written before severities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    pub status: Status,
    /// Why a check was skipped or errored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the rule requires.
    pub expected: String,
    /// What was found (capped; node output is untrusted).
    pub actual: String,
    /// Where it was found: command line, config file and key, default...
    pub source: String,
    pub remediation: String,
    /// The waiver that matched this finding: in force when `status` is
    /// `waived`, or `expired` (the finding keeps its own status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverNote>,
    /// How long the finding has been open, from the run history
    /// (`--store`): `first_seen`, `days_open`, `since_last_run`.
    #[serde(flatten, default)]
    pub age: FindingAge,
    /// For checks of the cluster's objects (CIS section 5): the objects
    /// that offend, the user's first and the platform's own after, at most
    /// [`MAX_OBJECTS`] (the count in `actual` is the whole).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectFinding>,
}

/// Most offending objects a finding lists in the report.
pub const MAX_OBJECTS: usize = 5000;

/// An object that offends a check of the cluster's objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectFinding {
    /// `namespace/Kind/name` (cluster-scoped: `Kind/name`), or a subject
    /// (`User alice`, `ServiceAccount app/builder`).
    pub object: String,
    /// What about it offends.
    pub why: String,
    /// One of the platform's own objects (kube-proxy, the CNI, the bootstrap
    /// policy's bindings), listed apart: alone, they do not fail a check.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub system: bool,
}

/// A finding's age, filled only for reports made with `--store`
/// (`crate::history`): on open findings (`fail`, `warn`, `error`,
/// `waived`) the first run of the current open streak and the whole days
/// since, and on any finding whether it changed since the previous run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingAge {
    /// When the finding was first seen open in its current streak (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// Whole days from `first_seen` to this report's `generated_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_open: Option<i64>,
    /// `new` (open now, not in the previous run) or `fixed` (open in the
    /// previous run, not now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_last_run: Option<Change>,
}

/// How a finding changed since the previous recorded run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    New,
    Fixed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Fixed => "fixed",
        }
    }
}

/// The report's place in the run history (`--store`): the run it was
/// recorded as, the previous run of the cluster, what is new and fixed
/// since, and the recent trend.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunHistory {
    /// This run's id in the store.
    pub run_id: i64,
    /// The previous complete run of the same cluster, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<RunRef>,
    /// Findings open now that were not open in the previous run.
    pub new: Vec<FindingRef>,
    /// Findings open in the previous run that are not open now (nodes
    /// scanned in both runs only).
    pub fixed: Vec<FindingRef>,
    /// Recent runs of the cluster, oldest first, this one last.
    #[serde(default)]
    pub trend: Vec<TrendPoint>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRef {
    pub id: i64,
    /// RFC 3339.
    pub generated_at: String,
}

/// One finding named across runs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingRef {
    /// `None` for cluster findings.
    pub node: Option<String>,
    pub id: String,
    pub title: String,
    /// Its status in the run that names it (now for `new`, before for `fixed`).
    pub status: Status,
    /// First seen open (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

/// One run's score and open findings, for trend charts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub run_id: i64,
    pub generated_at: String,
    pub score: Option<u32>,
    pub open: usize,
    /// Open findings per section id.
    #[serde(default)]
    pub open_by_section: std::collections::BTreeMap<String, usize>,
}

/// A waiver as it applies to one finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverNote {
    /// The finding's own status: `fail` or `warn`.
    pub status: Status,
    pub reason: String,
    pub owner: String,
    /// Last day the waiver is in force (`YYYY-MM-DD`, UTC).
    pub expires: String,
    /// True when the waiver has expired and so no longer waives.
    pub expired: bool,
    /// Where the waiver is written: `file:line`.
    pub origin: String,
}

/// Counts of findings by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub manual: usize,
    pub skip: usize,
    pub error: usize,
    /// Absent from reports written before waivers existed.
    #[serde(default)]
    pub waived: usize,
    pub total: usize,
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        *self.slot(status) += 1;
        self.total += 1;
    }

    pub fn get(&self, status: Status) -> usize {
        match status {
            Status::Pass => self.pass,
            Status::Fail => self.fail,
            Status::Warn => self.warn,
            Status::Manual => self.manual,
            Status::Skip => self.skip,
            Status::Error => self.error,
            Status::Waived => self.waived,
        }
    }

    /// The share of judged checks that held, in whole percent rounded down
    /// (so anything short of all is below 100): `pass` over `pass`, `fail`,
    /// `warn` and `error`. `skip`, `manual` and `waived` are left out. `None`
    /// when nothing was judged.
    pub fn score(&self) -> Option<u32> {
        let judged = self.pass + self.fail + self.warn + self.error;
        (judged > 0).then(|| (self.pass * 100 / judged) as u32)
    }

    fn slot(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Pass => &mut self.pass,
            Status::Fail => &mut self.fail,
            Status::Warn => &mut self.warn,
            Status::Manual => &mut self.manual,
            Status::Skip => &mut self.skip,
            Status::Error => &mut self.error,
            Status::Waived => &mut self.waived,
        }
    }

    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Counts {
        let mut c = Counts::default();
        for f in findings {
            c.add(f.status);
        }
        c
    }

    pub fn merge(&mut self, other: &Counts) {
        for s in Status::ALL {
            *self.slot(s) += other.get(s);
        }
        self.total += other.total;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkInfo {
    pub id: String,
    pub title: String,
    pub version: String,
    pub kubernetes: String,
    /// Why this profile was used, when kubeharden picked it from the
    /// nodes' Kubernetes version (no `--benchmark`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
    /// Section id to title, for grouping findings.
    #[serde(default)]
    pub sections: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    pub name: String,
    pub address: String,
    pub roles: Vec<Role>,
    /// How the roles were found when none were declared (the facts'
    /// `node.roles_detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles_detected: Option<String>,
    pub scan_status: ScanStatus,
    pub error: Option<String>,
    /// The facts' `scan_duration_ms`: connection and collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// The distribution layout the node was judged with, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<LayoutFacts>,
    pub summary: Counts,
    pub results: Vec<Finding>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
    /// The name given with `--cluster-name`; left out when none was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub results: Vec<Finding>,
}

/// How many nodes were scanned, and how many could not be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCounts {
    pub total: usize,
    pub scanned: usize,
    pub not_scanned: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    #[serde(flatten)]
    pub counts: Counts,
    pub nodes: NodeCounts,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub benchmark: BenchmarkInfo,
    pub generated_at: String,
    pub nodes: Vec<NodeReport>,
    pub cluster: ClusterReport,
    pub summary: Summary,
    /// The waivers given with `--waivers`, each with what it matched. Left
    /// out when no waiver file was given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverEntry>,
    /// Certificate expiry, per node and file. Reserved: this version does not
    /// fill it, and reporters show that it was not collected (`None`), which
    /// differs from collected and empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<CertificateInfo>>,
    /// What each node's listening ports speak. Reserved, like `certificates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ports: Option<Vec<TlsPort>>,
    /// Whether each node reaches each etcd member. Reserved, like `certificates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_reachability: Option<Vec<EtcdReach>>,
    /// Keys and rotation: every encryption-at-rest key, service-account
    /// key, CA and kubelet certificate store found, with its age (the
    /// `keys.*` checks judge them). Metadata only: names, file times,
    /// certificate dates; never a key's value. Absent when no node was
    /// scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<KeyInfo>>,
    /// The run history (`--store`): this run's id, the previous run, what
    /// is new and fixed since, the trend. Left out without a store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<RunHistory>,
}

/// One key or CA of a node, and how old it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub node: String,
    /// `encryption`, `service-account`, `ca`, `kubelet-client` or
    /// `kubelet-serving`.
    pub kind: String,
    /// The key's name (encryption), the file's name, or the CA's subject.
    pub name: String,
    /// What the key does: `active`, `old`, `kms`, `signing`,
    /// `verification`, `root`, `current`, `earlier`.
    pub role: String,
    /// The file it is in or named by (the resource entry for encryption
    /// keys: `FILE resources[0]`).
    pub path: String,
    /// When it last changed: the file's modification time, or the
    /// certificate's notBefore (RFC 3339). Absent when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Whole days from `since` to the report's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// End of validity, for certificates (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Whole days left until `not_after`; negative once expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
}

/// One waiver of the waiver file, and what it did in this report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverEntry {
    /// Check id, or a glob over check ids.
    pub check: String,
    /// Glob over node names and roles.
    pub nodes: String,
    pub reason: String,
    pub owner: String,
    /// Last day in force (`YYYY-MM-DD`, UTC).
    pub expires: String,
    /// `active` or `expired` on the report's date.
    pub state: WaiverState,
    /// Findings it waived (active) or would have waived (expired).
    pub matched: usize,
    /// `file:line`.
    pub origin: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaiverState {
    Active,
    Expired,
}

/// A certificate found on a node (reserved for a later release).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    pub node: String,
    pub path: String,
    #[serde(default)]
    pub subject: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days from `generated_at` to `not_after`; negative once expired.
    pub days_left: i64,
}

/// What one listening port of a node speaks (reserved for a later release).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsPort {
    pub node: String,
    pub port: u16,
    /// The process listening, e.g. `kube-apiserver`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// `tls`, `plaintext`, `closed` or `error`.
    pub state: String,
    /// How the port fares on its own: `pass`, `warn` or `fail` (absent
    /// when it could not be probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// Protocol version or error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Whether node `from` reaches etcd member `to` (reserved for a later release).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdReach {
    pub from: String,
    pub to: String,
    pub reachable: bool,
    /// Whether `from` should reach it: true for control-plane and etcd
    /// nodes, false for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `reachable`, `refused`, `filtered` or `error`: what the attempt
    /// met (left out by reports older than `merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// What makes a run fail (`--fail-on`), and so exit with 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gate {
    /// Any `fail` or `error`, or a node not scanned (the default).
    #[default]
    Fail,
    /// As `Fail`, and any `warn` too.
    Warn,
    /// Nothing: the run exits 0 whatever it found.
    None,
}

impl Report {
    /// Every finding, node ones first, with the node name (`None` for cluster).
    pub fn findings(&self) -> impl Iterator<Item = (Option<&str>, &Finding)> {
        self.nodes
            .iter()
            .flat_map(|n| n.results.iter().map(move |f| (Some(n.name.as_str()), f)))
            .chain(self.cluster.results.iter().map(|f| (None, f)))
    }

    /// True when something that must hold did not, or could not be shown to:
    /// a `fail`, an `error`, or a node that could not be scanned.
    pub fn has_failures(&self) -> bool {
        self.fails(Gate::Fail)
    }

    /// Whether the report fails `gate`. Errors and unscanned nodes fail
    /// both `fail` and `warn`: a check that could not be proven is not
    /// passed. `waived` findings never fail a gate.
    pub fn fails(&self, gate: Gate) -> bool {
        let c = &self.summary.counts;
        match gate {
            Gate::None => false,
            Gate::Fail => c.fail > 0 || c.error > 0 || self.summary.nodes.not_scanned > 0,
            Gate::Warn => self.fails(Gate::Fail) || c.warn > 0,
        }
    }

    /// Recomputes every node summary and the report summary from the
    /// findings (after waivers changed statuses).
    pub fn recount(&mut self) {
        let mut total = Counts::default();
        for n in &mut self.nodes {
            n.summary = Counts::of(&n.results);
            total.merge(&n.summary);
        }
        total.merge(&Counts::of(&self.cluster.results));
        self.summary.counts = total;
    }

    /// The cluster's name for titles: `--cluster-name`, or a neutral label.
    pub fn cluster_label(&self) -> &str {
        self.cluster.name.as_deref().unwrap_or("Kubernetes cluster")
    }
}

/// How a report names a node's layout: `kubespray (detected: /etc/etcd.env
/// exists)`.
pub fn layout_text(l: &LayoutFacts) -> String {
    format!(
        "{} ({}: {})",
        l.name,
        if l.forced { "given" } else { "detected" },
        l.evidence.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let mut c = Counts::default();
        c.add(Status::Pass);
        c.add(Status::Fail);
        c.add(Status::Fail);
        let mut d = Counts::default();
        d.add(Status::Error);
        c.merge(&d);
        assert_eq!((c.pass, c.fail, c.error, c.total), (1, 2, 1, 4));
    }
}
