//! What changed between two runs: new failures, fixed checks, changed
//! evidence, other status changes, and nodes added, removed or no longer
//! scanned. A pure function of two reports; `kubeharden diff` prints it, and
//! the HTML report shows it as "Since last run" when given `--baseline`.
//!
//! Findings are compared only on nodes scanned in both runs (and for the
//! cluster). A node that was scanned once and not the other time is listed
//! under `nodes_scan_changed` instead of having each of its checks listed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::text::clean;
use super::{Finding, Report, Status, Summary};
use crate::bench::cmp_ids;
use crate::facts::ScanStatus;

/// Version of the JSON diff document.
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// One run, as the diff names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub generated_at: String,
    pub tool_version: String,
    pub benchmark: String,
    pub summary: Summary,
}

/// One check on one node (`node` is `None` for cluster checks) whose
/// verdict or evidence changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub node: Option<String>,
    pub id: String,
    pub title: String,
    pub section: String,
    /// Status in the earlier run; `None` when the check was not there.
    pub before: Option<Status>,
    /// Status now; `None` when the check is gone.
    pub after: Option<Status>,
    /// Evidence in the earlier run (`actual`, or the reason when empty).
    pub before_evidence: String,
    /// Evidence now.
    pub after_evidence: String,
}

/// A node whose scan status changed between the runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeScanChange {
    pub node: String,
    pub before: ScanStatus,
    pub after: ScanStatus,
    /// Why the scan failed now (or before, when it now succeeded).
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub schema_version: u32,
    pub old: RunInfo,
    pub new: RunInfo,
    /// Now `fail`, `error` or `warn`; before none of these (or not there).
    pub new_failures: Vec<Change>,
    /// Before `fail`, `error` or `warn`; now `pass`.
    pub fixed: Vec<Change>,
    /// Still `fail`, `error` or `warn`, with different evidence.
    pub changed_evidence: Vec<Change>,
    /// Every other change of status, e.g. `fail` to `waived` or `pass` to `skip`.
    pub status_changed: Vec<Change>,
    pub nodes_added: Vec<String>,
    pub nodes_removed: Vec<String>,
    pub nodes_scan_changed: Vec<NodeScanChange>,
}

/// Changes of one check that share a before and after status, with the
/// nodes they happened on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeGroup {
    pub id: String,
    pub title: String,
    pub before: Option<Status>,
    pub after: Option<Status>,
    /// Node names; `cluster` for cluster checks.
    pub nodes: Vec<String>,
    /// Evidence of the first change in the group.
    pub before_evidence: String,
    pub after_evidence: String,
}

fn evidence(f: &Finding) -> String {
    if f.actual.is_empty() {
        f.reason.clone().unwrap_or_default()
    } else {
        f.actual.clone()
    }
}

fn run_info(r: &Report) -> RunInfo {
    RunInfo {
        generated_at: r.generated_at.clone(),
        tool_version: r.tool.version.clone(),
        benchmark: r.benchmark.id.clone(),
        summary: r.summary.clone(),
    }
}

fn change(node: Option<&str>, old: Option<&Finding>, new: Option<&Finding>) -> Change {
    let any = new.or(old).expect("a change has a finding");
    Change {
        node: node.map(str::to_string),
        id: any.id.clone(),
        title: any.title.clone(),
        section: any.section.clone(),
        before: old.map(|f| f.status),
        after: new.map(|f| f.status),
        before_evidence: old.map(evidence).unwrap_or_default(),
        after_evidence: new.map(evidence).unwrap_or_default(),
    }
}

/// Compares two reports.
pub fn diff(old: &Report, new: &Report) -> Diff {
    let mut d = Diff {
        schema_version: DIFF_SCHEMA_VERSION,
        old: run_info(old),
        new: run_info(new),
        new_failures: Vec::new(),
        fixed: Vec::new(),
        changed_evidence: Vec::new(),
        status_changed: Vec::new(),
        nodes_added: Vec::new(),
        nodes_removed: Vec::new(),
        nodes_scan_changed: Vec::new(),
    };
    let old_nodes: HashMap<&str, _> = old.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let new_names: HashMap<&str, ()> = new.nodes.iter().map(|n| (n.name.as_str(), ())).collect();
    d.nodes_removed = old
        .nodes
        .iter()
        .filter(|n| !new_names.contains_key(n.name.as_str()))
        .map(|n| n.name.clone())
        .collect();

    let mut compare = |node: Option<&str>, before: &[Finding], after: &[Finding]| {
        let by_id: HashMap<&str, &Finding> = before.iter().map(|f| (f.id.as_str(), f)).collect();
        let mut seen = HashMap::new();
        for f in after {
            seen.insert(f.id.as_str(), ());
            let o = by_id.get(f.id.as_str()).copied();
            let c = || change(node, o, Some(f));
            match o {
                _ if f.status.is_problem() && !o.is_some_and(|o| o.status.is_problem()) => {
                    d.new_failures.push(c())
                }
                Some(o) if o.status.is_problem() && f.status == Status::Pass => d.fixed.push(c()),
                Some(o) if o.status != f.status => d.status_changed.push(c()),
                Some(o)
                    if f.status.is_problem() && (o.actual != f.actual || o.reason != f.reason) =>
                {
                    d.changed_evidence.push(c())
                }
                _ => {}
            }
        }
        for o in before {
            if !seen.contains_key(o.id.as_str()) && o.status.is_problem() {
                d.status_changed.push(change(node, Some(o), None));
            }
        }
    };
    for n in &new.nodes {
        let Some(o) = old_nodes.get(n.name.as_str()) else {
            d.nodes_added.push(n.name.clone());
            continue;
        };
        if o.scan_status != n.scan_status {
            d.nodes_scan_changed.push(NodeScanChange {
                node: n.name.clone(),
                before: o.scan_status,
                after: n.scan_status,
                error: n.error.clone().or_else(|| o.error.clone()),
            });
        }
        if o.scan_status == ScanStatus::Ok && n.scan_status == ScanStatus::Ok {
            compare(Some(&n.name), &o.results, &n.results);
        }
    }
    compare(None, &old.cluster.results, &new.cluster.results);
    d
}

impl Diff {
    /// True when something got worse: a new failure, or a node that was
    /// scanned before and is not now.
    pub fn has_regressions(&self) -> bool {
        !self.new_failures.is_empty()
            || self
                .nodes_scan_changed
                .iter()
                .any(|c| c.after != ScanStatus::Ok)
    }

    pub fn is_empty(&self) -> bool {
        self.new_failures.is_empty()
            && self.fixed.is_empty()
            && self.changed_evidence.is_empty()
            && self.status_changed.is_empty()
            && self.nodes_added.is_empty()
            && self.nodes_removed.is_empty()
            && self.nodes_scan_changed.is_empty()
    }
}

/// Groups changes by check and by before and after status, in check order,
/// so a check that changed on 40 nodes is one entry.
pub fn group(changes: &[Change]) -> Vec<ChangeGroup> {
    let mut groups: BTreeMap<(String, Option<Status>, Option<Status>), ChangeGroup> =
        BTreeMap::new();
    for c in changes {
        let g = groups
            .entry((c.id.clone(), c.before, c.after))
            .or_insert_with(|| ChangeGroup {
                id: c.id.clone(),
                title: c.title.clone(),
                before: c.before,
                after: c.after,
                nodes: Vec::new(),
                before_evidence: c.before_evidence.clone(),
                after_evidence: c.after_evidence.clone(),
            });
        g.nodes
            .push(c.node.clone().unwrap_or_else(|| "cluster".to_string()));
    }
    let mut out: Vec<ChangeGroup> = groups.into_values().collect();
    out.sort_by(|a, b| {
        let rank = |s: Option<Status>| s.map(|s| s as u8).unwrap_or(u8::MAX);
        rank(a.after)
            .cmp(&rank(b.after))
            .then_with(|| cmp_ids(&a.id, &b.id))
    });
    out
}

fn status_name(s: Option<Status>) -> &'static str {
    s.map(Status::as_str).unwrap_or("absent")
}

/// Node names, at most `max` of them, then how many more.
pub fn node_list(nodes: &[String], max: usize) -> String {
    let mut s = nodes
        .iter()
        .take(max)
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if nodes.len() > max {
        let _ = write!(s, " and {} more", nodes.len() - max);
    }
    s
}

fn counts_line(s: &Summary) -> String {
    let c = &s.counts;
    format!(
        "{} fail, {} error, {} warn, {} waived, {} pass; {} of {} nodes scanned",
        c.fail, c.error, c.warn, c.waived, c.pass, s.nodes.scanned, s.nodes.total
    )
}

/// The diff for a terminal. Node text is cleaned of control characters.
pub fn render_text(d: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Since {} ({}):\n  before: {}\n  now:    {}",
        d.old.generated_at,
        d.old.benchmark,
        counts_line(&d.old.summary),
        counts_line(&d.new.summary)
    );
    if d.is_empty() {
        let _ = writeln!(out, "\nNo changes.");
        return out;
    }
    let sections: [(&str, &[Change]); 4] = [
        ("NEW FAILURES", &d.new_failures),
        ("FIXED", &d.fixed),
        ("CHANGED EVIDENCE", &d.changed_evidence),
        ("OTHER STATUS CHANGES", &d.status_changed),
    ];
    for (title, changes) in sections {
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title} ({})", changes.len());
        for g in group(changes) {
            let _ = writeln!(
                out,
                "  {} {} {} -> {} on {}",
                g.id,
                g.title,
                status_name(g.before),
                status_name(g.after),
                clean(&node_list(&g.nodes, 10))
            );
            if title == "CHANGED EVIDENCE" {
                let _ = writeln!(out, "      before: {}", clean(&g.before_evidence));
                let _ = writeln!(out, "      now:    {}", clean(&g.after_evidence));
            } else if !g.after_evidence.is_empty() && g.after.is_some_and(Status::is_problem) {
                let _ = writeln!(out, "      {}", clean(&g.after_evidence));
            }
        }
    }
    for (title, nodes) in [
        ("NODES ADDED", &d.nodes_added),
        ("NODES REMOVED", &d.nodes_removed),
    ] {
        if !nodes.is_empty() {
            let _ = writeln!(
                out,
                "\n{title} ({}): {}",
                nodes.len(),
                clean(&node_list(nodes, 50))
            );
        }
    }
    if !d.nodes_scan_changed.is_empty() {
        let _ = writeln!(out, "\nNODE SCAN STATUS CHANGED");
        for c in &d.nodes_scan_changed {
            let _ = writeln!(
                out,
                "  {} {} -> {}{}",
                clean(&c.node),
                c.before.as_str(),
                c.after.as_str(),
                c.error
                    .as_deref()
                    .map(|e| format!(" ({})", clean(e)))
                    .unwrap_or_default()
            );
        }
    }
    out
}

/// The diff as Markdown, for a pull request or a ticket.
pub fn render_markdown(d: &Diff) -> String {
    use super::escape::markdown as escape;
    let mut out = String::new();
    let _ = writeln!(out, "### Changes since {}\n", escape(&d.old.generated_at));
    let _ = writeln!(
        out,
        "| | fail | error | warn | waived | pass | nodes scanned |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for (label, s) in [("before", &d.old.summary), ("now", &d.new.summary)] {
        let c = &s.counts;
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {} | {} of {} |",
            c.fail, c.error, c.warn, c.waived, c.pass, s.nodes.scanned, s.nodes.total
        );
    }
    if d.is_empty() {
        let _ = writeln!(out, "\nNo changes.");
        return out;
    }
    let sections: [(&str, &[Change]); 4] = [
        ("New failures", &d.new_failures),
        ("Fixed", &d.fixed),
        ("Changed evidence", &d.changed_evidence),
        ("Other status changes", &d.status_changed),
    ];
    for (title, changes) in sections {
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n**{title}** ({})\n", changes.len());
        for g in group(changes) {
            let _ = writeln!(
                out,
                "- **{}** {} ({} → {}) on {}",
                escape(&g.id),
                escape(&g.title),
                status_name(g.before),
                status_name(g.after),
                escape(&node_list(&g.nodes, 10))
            );
        }
    }
    for (title, nodes) in [
        ("Nodes added", &d.nodes_added),
        ("Nodes removed", &d.nodes_removed),
    ] {
        if !nodes.is_empty() {
            let _ = writeln!(
                out,
                "\n**{title}** ({}): {}",
                nodes.len(),
                escape(&node_list(nodes, 20))
            );
        }
    }
    for c in &d.nodes_scan_changed {
        let _ = writeln!(
            out,
            "\n- node {}: scan {} → {}",
            escape(&c.node),
            c.before.as_str(),
            c.after.as_str()
        );
    }
    out
}

/// The diff as pretty-printed JSON followed by a newline.
pub fn render_json(d: &Diff) -> String {
    serde_json::to_string_pretty(d).unwrap_or_default() + "\n"
}
