//! Findings grouped by check, for the reporters that people read (HTML,
//! Markdown): a check failing on 40 workers is one group listing 40 nodes,
//! and within it the nodes that show the same evidence are one variant.
//!
//! Process ids differ from node to node, so evidence that differs only in
//! `pid N` is one variant; its evidence then reads `pid …`.

use std::collections::HashMap;

use super::{Counts, Finding, Report, Status, WaiverNote};
use crate::bench::cmp_ids;
use crate::facts::{Role, ScanStatus};

/// Nodes that share one piece of evidence for a check.
#[derive(Debug)]
pub struct Variant<'a> {
    pub actual: String,
    pub source: String,
    pub reason: Option<&'a str>,
    pub waiver: Option<&'a WaiverNote>,
    pub nodes: Vec<&'a str>,
}

/// Every node with the same status for one check.
#[derive(Debug)]
pub struct CheckGroup<'a> {
    pub finding: &'a Finding,
    pub status: Status,
    /// Node names; `cluster` for cluster checks.
    pub nodes: Vec<&'a str>,
    pub variants: Vec<Variant<'a>>,
}

/// Replaces `pid <digits>` with `pid …`.
pub fn without_pids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("pid ") {
        out.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push('…');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Evidence that makes nodes one variant: actual and source without pids,
/// the reason, and the waiver's origin.
type VariantKey<'a> = (String, Option<&'a str>, String, Option<&'a str>);

/// Groups every finding of the report by check and status, most serious
/// status first, then in check order.
pub fn by_check(report: &Report) -> Vec<CheckGroup<'_>> {
    let mut index: HashMap<(&str, Status), usize> = HashMap::new();
    let mut groups: Vec<CheckGroup<'_>> = Vec::new();
    // Per group: variant key -> variant index, and the first raw source.
    let mut variant_index: Vec<HashMap<VariantKey<'_>, usize>> = Vec::new();
    // Per variant: the first raw actual and source, and whether others differ.
    let mut first_seen: Vec<Vec<(&str, &str)>> = Vec::new();
    let mut mixed: Vec<Vec<bool>> = Vec::new();
    for (node, f) in report.findings() {
        let node = node.unwrap_or("cluster");
        let gi = *index.entry((f.id.as_str(), f.status)).or_insert_with(|| {
            groups.push(CheckGroup {
                finding: f,
                status: f.status,
                nodes: Vec::new(),
                variants: Vec::new(),
            });
            variant_index.push(HashMap::new());
            first_seen.push(Vec::new());
            mixed.push(Vec::new());
            groups.len() - 1
        });
        let g = &mut groups[gi];
        g.nodes.push(node);
        let key = (
            without_pids(&f.actual),
            f.reason.as_deref(),
            without_pids(&f.source),
            f.waiver.as_ref().map(|w| w.origin.as_str()),
        );
        match variant_index[gi].get(&key) {
            Some(&vi) => {
                g.variants[vi].nodes.push(node);
                if first_seen[gi][vi] != (f.actual.as_str(), f.source.as_str()) {
                    mixed[gi][vi] = true;
                }
            }
            None => {
                variant_index[gi].insert(key, g.variants.len());
                first_seen[gi].push((&f.actual, &f.source));
                mixed[gi].push(false);
                g.variants.push(Variant {
                    actual: f.actual.clone(),
                    source: f.source.clone(),
                    reason: f.reason.as_deref(),
                    waiver: f.waiver.as_ref(),
                    nodes: vec![node],
                });
            }
        }
    }
    for (g, mixed) in groups.iter_mut().zip(mixed) {
        for (v, m) in g.variants.iter_mut().zip(mixed) {
            if m {
                v.actual = without_pids(&v.actual);
                v.source = without_pids(&v.source);
            }
        }
        g.variants.sort_by_key(|v| std::cmp::Reverse(v.nodes.len()));
    }
    groups.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then_with(|| cmp_ids(&a.finding.id, &b.finding.id))
    });
    groups
}

/// Counts per section over the whole report, in section order, with the
/// section titles.
pub fn by_section(report: &Report) -> Vec<(&str, &str, Counts)> {
    let mut counts: HashMap<&str, Counts> = HashMap::new();
    for (_, f) in report.findings() {
        counts.entry(f.section.as_str()).or_default().add(f.status);
    }
    let mut out: Vec<(&str, &str, Counts)> = counts
        .into_iter()
        .map(|(id, c)| {
            let title = report
                .benchmark
                .sections
                .get(id)
                .map(String::as_str)
                .unwrap_or("");
            (id, title, c)
        })
        .collect();
    out.sort_by(|a, b| cmp_ids(a.0, b.0));
    out
}

/// Knows which nodes were scanned and their roles, to describe a set of
/// nodes briefly ("every worker node") when it is one of those.
pub struct NodeIndex<'a> {
    roles: HashMap<&'a str, &'a [Role]>,
    scanned: usize,
    by_role: Vec<(Role, usize)>,
}

impl<'a> NodeIndex<'a> {
    pub fn new(report: &'a Report) -> NodeIndex<'a> {
        let ok: Vec<_> = report
            .nodes
            .iter()
            .filter(|n| n.scan_status == ScanStatus::Ok)
            .collect();
        NodeIndex {
            roles: ok
                .iter()
                .map(|n| (n.name.as_str(), n.roles.as_slice()))
                .collect(),
            scanned: ok.len(),
            by_role: Role::ALL
                .iter()
                .map(|&r| (r, ok.iter().filter(|n| n.roles.contains(&r)).count()))
                .collect(),
        }
    }

    /// "every scanned node" or "every worker node" when `nodes` (distinct
    /// names) is exactly that set and has more than one node.
    pub fn describe(&self, nodes: &[&str]) -> Option<String> {
        if nodes.len() < 2 {
            return None;
        }
        if nodes.len() == self.scanned && nodes.iter().all(|n| self.roles.contains_key(n)) {
            return Some(format!("every scanned node ({})", nodes.len()));
        }
        for &(role, count) in &self.by_role {
            if count == nodes.len()
                && nodes
                    .iter()
                    .all(|n| self.roles.get(n).is_some_and(|r| r.contains(&role)))
            {
                return Some(format!("every {role} node ({count})"));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_hidden_for_grouping() {
        assert_eq!(
            without_pids("kubelet command line (pid 1301): --x; etcd (pid 7)"),
            "kubelet command line (pid …): --x; etcd (pid …)"
        );
        assert_eq!(without_pids("rapid growth"), "rapid growth");
        assert_eq!(without_pids("pid x"), "pid x");
    }
}
