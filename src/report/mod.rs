//! The report: what the engine concluded, for every node and for the cluster,
//! and the reporters that write it (JSON for machines, text for terminals).
//!
//! The JSON field names are a contract other tools read (documented in
//! `docs/report-schema.md`): extend them, never rename them.

pub mod json;
pub mod text;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::facts::{Role, ScanStatus};

/// Version of the JSON report schema.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The verdict on one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Fail,
    Error,
    Warn,
    Manual,
    Skip,
    Pass,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Manual,
        Status::Skip,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Manual => "manual",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
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
        }
    }

    fn slot(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Pass => &mut self.pass,
            Status::Fail => &mut self.fail,
            Status::Warn => &mut self.warn,
            Status::Manual => &mut self.manual,
            Status::Skip => &mut self.skip,
            Status::Error => &mut self.error,
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
    /// Section id to title, for grouping findings.
    #[serde(default)]
    pub sections: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    pub name: String,
    pub address: String,
    pub roles: Vec<Role>,
    pub scan_status: ScanStatus,
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    pub summary: Counts,
    pub results: Vec<Finding>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
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
        self.summary.counts.fail > 0
            || self.summary.counts.error > 0
            || self.summary.nodes.not_scanned > 0
    }
}

/// Cuts untrusted text to at most `max` bytes on a character boundary,
/// saying how much was cut.
pub fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes]", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_keeps_short_text_and_cuts_long_text_on_char_boundaries() {
        assert_eq!(cap("abc", 10), "abc");
        assert_eq!(cap("ééé", 3), "é… [4 more bytes]");
    }

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
