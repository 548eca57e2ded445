//! Waivers: accepted exceptions, written down with a reason, an owner and an
//! expiry date.
//!
//! ```toml
//! [[waiver]]
//! check = "4.2.13"          # a check id, or a glob over check ids ("4.2.*")
//! nodes = "worker"          # a glob over node names and roles ("cluster" for cluster checks)
//! reason = "pod PID limits are set per namespace by our admission policy"
//! owner = "platform-team"
//! expires = 2026-06-30      # last day in force (UTC); a TOML date or "YYYY-MM-DD"
//! ```
//!
//! A waiver in force turns a matching `fail` or `warn` into `waived`, which is
//! counted apart and never fails a gate. Errors are never waived: a check
//! that could not be read has not been judged, so there is nothing to accept.
//! Once a waiver has expired it stops waiving: the finding keeps its own
//! status, carries the expired waiver, and the report lists the waiver as
//! expired.
//!
//! Any check of the catalog may be named: the
//! benchmark's rules and kubeharden's own checks (`tls.*`, `cert.*`,
//! `net.etcd-firewall`, `drift.*`, `presence.*`). Cluster-scope findings
//! have no node; their waiver's `nodes` must match the name `cluster`
//! (`"*"` does).
//!
//! Applying waivers is a pure function on a [`Report`], run after evaluation.
//! The file is validated like benchmark files and inventories: one pass finds
//! every problem, each with its file and line.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::{Report, Status, WaiverEntry, WaiverNote, WaiverState};
use crate::bench::{Benchmark, Problem};
use crate::facts::Role;

/// A calendar date (UTC), compared as year, month, day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Checks that the day exists (leap years included).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (year > 0 && (1..=days).contains(&day)).then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`, or the date part of an RFC 3339 time.
    pub fn parse(s: &str) -> Option<Date> {
        // A longer text must be a time: 'T' or ' ' follows the date.
        if s.len() > 10 && !matches!(s.as_bytes()[10], b'T' | b't' | b' ') {
            return None;
        }
        let d = s.get(..10)?;
        let b = d.as_bytes();
        if b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: Range<usize>| -> Option<u32> {
            let p = &d[r];
            p.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| p.parse().ok())?
        };
        Date::new(num(0..4)? as u16, num(5..7)? as u8, num(8..10)? as u8)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One entry of a waiver file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    pub check: String,
    pub nodes: String,
    pub reason: String,
    pub owner: String,
    pub expires: Date,
    /// `file:line` of the entry.
    pub origin: String,
}

impl Waiver {
    /// Whether the waiver covers check `id` on a node with this name and roles.
    pub fn covers(&self, id: &str, node: &str, roles: &[Role]) -> bool {
        glob(&self.check, id)
            && (glob(&self.nodes, node) || roles.iter().any(|r| glob(&self.nodes, r.as_str())))
    }

    /// In force on `today`: the expiry day itself is still in force.
    pub fn in_force(&self, today: Date) -> bool {
        today <= self.expires
    }
}

/// Every problem found in a waiver file.
#[derive(Debug, thiserror::Error)]
pub struct WaiverError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for WaiverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid waiver file:")?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// Matches `text` against a glob where `*` is any run of characters and `?`
/// is one character. Everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The ids a waiver may name: every check of the catalog (the benchmark's
/// rules and kubeharden's own checks, node or cluster scope), as
/// `kubeharden rules` lists them.
pub fn waivable_ids(bench: &Benchmark) -> Vec<String> {
    bench.waivable_ids()
}

/// The name a waiver's `nodes` glob is matched against for cluster-scope
/// findings (`net.etcd-firewall`).
pub const CLUSTER_NODE: &str = "cluster";

const KEYS: &[&str] = &["check", "nodes", "reason", "owner", "expires"];

/// Reads and validates a waiver file against the ids it may name.
pub fn load(path: &Path, ids: &[String]) -> Result<Vec<Waiver>, WaiverError> {
    let shown = path.display().to_string();
    let text = crate::util::read_text(path).map_err(|e| WaiverError {
        problems: vec![Problem {
            file: shown.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        }],
    })?;
    parse(&shown, &text, ids)
}

/// Parses a waiver file's text; `file` names it in messages.
pub fn parse(file: &str, text: &str, ids: &[String]) -> Result<Vec<Waiver>, WaiverError> {
    let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let line = |span: &Range<usize>| newlines.partition_point(|&nl| nl < span.start) + 1;
    let mut problems = Vec::new();
    let mut err = |span: Range<usize>, message: String| {
        problems.push(Problem {
            file: file.to_string(),
            line: line(&span),
            message,
        })
    };
    let (doc, errors) = DeTable::parse_recoverable(text);
    for (span, message) in crate::util::toml_syntax::syntax_errors(text, &errors) {
        err(span, message);
    }
    let mut out = Vec::new();
    for (k, v) in doc.get_ref().iter() {
        if k.get_ref() != "waiver" {
            err(
                k.span(),
                format!(
                    "unknown top-level key {:?} (waiver files hold [[waiver]] tables)",
                    k.get_ref()
                ),
            );
            continue;
        }
        let DeValue::Array(items) = v.get_ref() else {
            err(
                v.span(),
                "waiver must be an array of tables: write [[waiver]]".into(),
            );
            continue;
        };
        for item in items.iter() {
            let DeValue::Table(t) = item.get_ref() else {
                err(item.span(), "each waiver must be a table".into());
                continue;
            };
            let span = item.span();
            let what = match t.get("check").map(|v| v.get_ref()) {
                Some(DeValue::String(s)) => format!("waiver {s}"),
                _ => "waiver".to_string(),
            };
            for (k, _) in t.iter() {
                if !KEYS.contains(&k.get_ref().as_ref()) {
                    err(
                        k.span(),
                        format!(
                            "{what}: unknown key {:?} (allowed: {})",
                            k.get_ref(),
                            KEYS.join(", ")
                        ),
                    );
                }
            }
            let mut string = |key: &str| -> Option<String> {
                match t.get(key) {
                    Some(v) => match v.get_ref() {
                        DeValue::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                        _ => {
                            err(
                                v.span(),
                                format!("{what}: {key} must be a non-empty string"),
                            );
                            None
                        }
                    },
                    None => {
                        err(
                            span.clone(),
                            format!("{what}: missing required key {key:?}"),
                        );
                        None
                    }
                }
            };
            let check = string("check");
            let nodes = string("nodes");
            let reason = string("reason");
            let owner = string("owner");
            let expires = match t.get("expires") {
                None => {
                    err(
                        span.clone(),
                        format!("{what}: missing required key \"expires\""),
                    );
                    None
                }
                Some(v) => {
                    let date = match v.get_ref() {
                        DeValue::Datetime(d) if d.time.is_none() && d.offset.is_none() => {
                            d.date.and_then(|d| Date::new(d.year, d.month, d.day))
                        }
                        DeValue::String(s) if s.len() == 10 => Date::parse(s),
                        _ => None,
                    };
                    if date.is_none() {
                        err(
                            v.span(),
                            format!("{what}: expires must be a date, e.g. 2026-06-30"),
                        );
                    }
                    date
                }
            };
            if let (Some(c), Some(v)) = (&check, t.get("check")) {
                if !ids.iter().any(|id| glob(c, id)) {
                    err(
                        v.span(),
                        format!(
                            "{what}: check {c:?} matches no check that can be waived (the checks `kubeharden rules` lists)"
                        ),
                    );
                }
            }
            if let (Some(check), Some(nodes), Some(reason), Some(owner), Some(expires)) =
                (check, nodes, reason, owner, expires)
            {
                let l = line(&span);
                if let Some(first) = out
                    .iter()
                    .find(|w: &&Waiver| w.check == check && w.nodes == nodes)
                {
                    err(
                        span.clone(),
                        format!(
                            "{what}: waives the same check and nodes as the waiver at {}",
                            first.origin
                        ),
                    );
                }
                out.push(Waiver {
                    check,
                    nodes,
                    reason,
                    owner,
                    expires,
                    origin: format!("{file}:{l}"),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(WaiverError { problems })
    }
}

/// Applies the waivers to the report's node and cluster findings as of
/// `today` (a cluster finding's node name is [`CLUSTER_NODE`]), records
/// them in `report.waivers` with what each matched, and recounts. The first
/// waiver in force that covers a `fail` or `warn` waives it; when none is in
/// force but an expired one covers it, the finding keeps its status and
/// carries the expired waiver.
pub fn apply(report: &mut Report, waivers: &[Waiver], today: Date) {
    let mut matched = vec![0usize; waivers.len()];
    let nodes = report
        .nodes
        .iter_mut()
        .map(|n| (n.name.as_str(), n.roles.as_slice(), &mut n.results));
    let cluster = std::iter::once((CLUSTER_NODE, &[][..], &mut report.cluster.results));
    for (name, roles, results) in nodes.chain(cluster) {
        for f in results.iter_mut() {
            if !matches!(f.status, Status::Fail | Status::Warn) {
                continue;
            }
            let mut expired = None;
            let mut active = None;
            for (i, w) in waivers.iter().enumerate() {
                if !w.covers(&f.id, name, roles) {
                    continue;
                }
                if w.in_force(today) {
                    active = Some(i);
                    break;
                }
                expired.get_or_insert(i);
            }
            let Some(i) = active.or(expired) else {
                continue;
            };
            matched[i] += 1;
            let w = &waivers[i];
            f.waiver = Some(WaiverNote {
                status: f.status,
                reason: w.reason.clone(),
                owner: w.owner.clone(),
                expires: w.expires.to_string(),
                expired: active.is_none(),
                origin: w.origin.clone(),
            });
            if active.is_some() {
                f.status = Status::Waived;
            }
        }
    }
    report.waivers = waivers
        .iter()
        .zip(matched)
        .map(|(w, matched)| WaiverEntry {
            check: w.check.clone(),
            nodes: w.nodes.clone(),
            reason: w.reason.clone(),
            owner: w.owner.clone(),
            expires: w.expires.to_string(),
            state: if w.in_force(today) {
                WaiverState::Active
            } else {
                WaiverState::Expired
            },
            matched,
            origin: w.origin.clone(),
        })
        .collect();
    report.recount();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars_and_question_marks() {
        assert!(glob("*", ""));
        assert!(glob("worker-*", "worker-17"));
        assert!(glob("4.2.?", "4.2.1"));
        assert!(!glob("4.2.?", "4.2.13"));
        assert!(glob("*-1?", "w-17"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(!glob("cp", "cp1"));
    }

    #[test]
    fn dates_are_checked_and_ordered() {
        assert_eq!(Date::parse("2024-02-29"), Date::new(2024, 2, 29));
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::parse("2026-1-01"), None);
        assert_eq!(
            Date::parse("2026-11-24T10:15:02Z").map(|d| d.to_string()),
            Some("2026-11-24".into())
        );
        assert!(Date::parse("2026-01-31").unwrap() < Date::parse("2026-02-01").unwrap());
    }
}
