//! The terminal summary: per-node and per-section counts, then every failing
//! or unreadable check with its evidence, then warnings one per line.
//!
//! Text from nodes is untrusted: control characters (terminal escape
//! sequences included) are shown escaped, never sent to the terminal.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Counts, Finding, Report, Status};
use crate::bench::cmp_ids;

/// Whether to colour the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Always,
    Never,
}

fn paint(color: Color, code: &str, text: &str) -> String {
    match color {
        Color::Always => format!("\x1b[{code}m{text}\x1b[0m"),
        Color::Never => text.to_string(),
    }
}

fn status_code(s: Status) -> &'static str {
    match s {
        Status::Pass => "32",
        Status::Fail => "1;31",
        Status::Warn => "33",
        Status::Manual => "36",
        Status::Skip => "2",
        Status::Error => "1;35",
        Status::Waived => "34",
    }
}

/// Replaces control characters with visible escapes.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

const COLUMNS: [Status; 7] = [
    Status::Pass,
    Status::Fail,
    Status::Warn,
    Status::Manual,
    Status::Skip,
    Status::Error,
    Status::Waived,
];

/// The columns shown: `waived` only when waivers were given.
fn columns(report: &Report) -> &'static [Status] {
    if report.waivers.is_empty() && report.summary.counts.waived == 0 {
        &COLUMNS[..6]
    } else {
        &COLUMNS
    }
}

fn counts_row(c: &Counts, cols: &[Status], color: Color) -> String {
    let mut row = String::new();
    for &s in cols {
        let n = c.get(s);
        let cell = format!("{n:>7}");
        if n > 0 && matches!(s, Status::Fail | Status::Error | Status::Warn) {
            row.push_str(&paint(color, status_code(s), &cell));
        } else {
            row.push_str(&cell);
        }
    }
    row
}

fn header(first: &str, width: usize, cols: &[Status]) -> String {
    let mut h = format!("{first:<width$}");
    for s in cols {
        let _ = write!(h, "{:>7}", s.as_str().to_uppercase());
    }
    h
}

/// Renders the whole report for a terminal.
pub fn render(report: &Report, color: Color) -> String {
    let mut out = String::new();
    let cols = columns(report);
    if let Some(name) = &report.cluster.name {
        let _ = write!(out, "{} · ", clean(name));
    }
    let _ = writeln!(
        out,
        "{} {} · {} ({}) · {}",
        report.tool.name,
        report.tool.version,
        report.benchmark.title,
        report.benchmark.id,
        report.generated_at
    );
    if let Some(why) = &report.benchmark.chosen {
        let _ = writeln!(out, "profile {}: {}", report.benchmark.id, clean(why));
    }
    out.push('\n');

    // Nodes.
    let name_w = report
        .nodes
        .iter()
        .map(|n| clean(&n.name).chars().count() + 2 + n.roles.len() * 14)
        .chain([30])
        .max()
        .unwrap_or(30)
        .min(60);
    let _ = writeln!(out, "{}  SCAN", header("NODE (ROLES)", name_w, cols));
    for n in &report.nodes {
        let roles: Vec<&str> = n.roles.iter().map(|r| r.as_str()).collect();
        let label = format!("{} ({})", clean(&n.name), roles.join(","));
        let scan = n.scan_status.as_str();
        let scan = if n.scan_status == crate::facts::ScanStatus::Ok {
            scan.to_string()
        } else {
            paint(color, status_code(Status::Error), scan)
        };
        let _ = writeln!(
            out,
            "{label:<name_w$}{}  {scan}",
            counts_row(&n.summary, cols, color)
        );
        if let Some(e) = &n.error {
            let _ = writeln!(out, "    {}", clean(e));
        }
        if let Some(r) = &n.roles_detected {
            let _ = writeln!(out, "    roles {}", clean(r));
        }
        if let Some(l) = &n.layout {
            let _ = writeln!(out, "    layout {}", clean(&crate::verdict::layout_text(l)));
        }
    }
    if report.summary.nodes.scanned == 0 && report.summary.nodes.total > 0 {
        // Nothing to judge: section tables of zeros and the cluster's manual
        // checks would only hide that.
        let mut why: BTreeMap<&str, usize> = BTreeMap::new();
        for n in &report.nodes {
            *why.entry(n.scan_status.as_str()).or_default() += 1;
        }
        let why: Vec<String> = why.into_iter().map(|(s, k)| format!("{k} {s}")).collect();
        let _ = writeln!(
            out,
            "\n{}: none of the {} node{} could be scanned ({}), so no check was evaluated.\nFix what the line under each node says, then scan again.",
            paint(color, status_code(Status::Error), "NOTHING WAS SCANNED"),
            report.summary.nodes.total,
            if report.summary.nodes.total == 1 {
                ""
            } else {
                "s"
            },
            why.join(", ")
        );
        return out;
    }
    if !report.cluster.results.is_empty() {
        let c = Counts::of(&report.cluster.results);
        let _ = writeln!(
            out,
            "{:<name_w$}{}",
            "(cluster)",
            counts_row(&c, cols, color)
        );
    }
    out.push('\n');

    // Sections.
    let mut by_section: BTreeMap<&str, Counts> = BTreeMap::new();
    for (_, f) in report.findings() {
        by_section
            .entry(f.section.as_str())
            .or_default()
            .add(f.status);
    }
    let mut sections: Vec<(&str, Counts)> = by_section.into_iter().collect();
    sections.sort_by(|a, b| cmp_ids(a.0, b.0));
    let sec_w = 46;
    let _ = writeln!(out, "{}", header("SECTION", sec_w, cols));
    for (id, c) in sections {
        let title = report
            .benchmark
            .sections
            .get(id)
            .map(String::as_str)
            .unwrap_or("");
        let mut label = format!("{id} {title}");
        if label.chars().count() > sec_w - 2 {
            label = label.chars().take(sec_w - 3).collect::<String>() + "…";
        }
        let _ = writeln!(out, "{label:<sec_w$}{}", counts_row(&c, cols, color));
    }

    // Failures and errors in full.
    let serious: Vec<(Option<&str>, &Finding)> = report
        .findings()
        .filter(|(_, f)| matches!(f.status, Status::Fail | Status::Error))
        .collect();
    if !serious.is_empty() {
        let _ = writeln!(out, "\nFAILURES AND ERRORS");
        for (node, f) in serious {
            detail(&mut out, node, f, color);
        }
    }
    let warns: Vec<(Option<&str>, &Finding)> = report
        .findings()
        .filter(|(_, f)| f.status == Status::Warn)
        .collect();
    if !warns.is_empty() {
        let _ = writeln!(out, "\nWARNINGS (not scored)");
        for (node, f) in warns {
            let _ = writeln!(
                out,
                "{} {} {} {} — {}",
                paint(color, status_code(f.status), "[WARN]"),
                clean(node.unwrap_or("cluster")),
                f.id,
                f.title,
                clean(&f.actual)
            );
            // Some warns say why they are not fails (kind's, for one).
            if let Some(r) = &f.reason {
                let _ = writeln!(out, "    reason    {}", clean(r));
            }
        }
    }

    let waived: Vec<(Option<&str>, &Finding)> = report
        .findings()
        .filter(|(_, f)| f.status == Status::Waived)
        .collect();
    if !waived.is_empty() {
        let _ = writeln!(out, "\nWAIVED");
        for (node, f) in waived {
            let (reason, owner, until) = f
                .waiver
                .as_ref()
                .map(|w| (w.reason.as_str(), w.owner.as_str(), w.expires.as_str()))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{} {} {} {} — {} ({}, until {})",
                paint(color, status_code(f.status), "[WAIVED]"),
                clean(node.unwrap_or("cluster")),
                f.id,
                f.title,
                clean(reason),
                clean(owner),
                until
            );
        }
    }
    waiver_lines(&mut out, report, color);
    if let Some(h) = &report.history {
        let since = h
            .previous
            .as_ref()
            .map(|p| format!("since run {} ({})", p.id, p.generated_at))
            .unwrap_or_else(|| "first recorded run of this cluster".into());
        let _ = writeln!(
            out,
            "\nHISTORY run {}: {} new, {} fixed {since}",
            h.run_id,
            h.new.len(),
            h.fixed.len()
        );
        for (tag, list) in [("NEW", &h.new), ("FIXED", &h.fixed)] {
            for r in list {
                let _ = writeln!(
                    out,
                    "  {tag:<5} {} {} {}",
                    clean(r.node.as_deref().unwrap_or("cluster")),
                    r.id,
                    clean(&r.title)
                );
            }
        }
    }

    let c = &report.summary.counts;
    let waived = if cols.len() > 6 {
        format!(", {} waived", c.waived)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\n{} pass, {} fail, {} warn, {} manual, {} skip, {} error{waived} · {} of {} nodes scanned",
        c.pass,
        c.fail,
        c.warn,
        c.manual,
        c.skip,
        c.error,
        report.summary.nodes.scanned,
        report.summary.nodes.total
    );
    out.push_str(&super::keys::text(report, clean));
    out
}

/// Expired waivers (they no longer waive) and waivers that match nothing.
fn waiver_lines(out: &mut String, report: &Report, color: Color) {
    use super::WaiverState;
    let expired: Vec<_> = report
        .waivers
        .iter()
        .filter(|w| w.state == WaiverState::Expired)
        .collect();
    if !expired.is_empty() {
        let _ = writeln!(out, "\nEXPIRED WAIVERS (no longer applied)");
        for w in expired {
            let _ = writeln!(
                out,
                "{} {} on {} expired {} (owner {}, {}): {} finding{} no longer waived",
                paint(color, status_code(Status::Fail), "[EXPIRED]"),
                clean(&w.check),
                clean(&w.nodes),
                w.expires,
                clean(&w.owner),
                clean(&w.origin),
                w.matched,
                if w.matched == 1 { "" } else { "s" }
            );
        }
    }
    let unused: Vec<_> = report
        .waivers
        .iter()
        .filter(|w| w.state == WaiverState::Active && w.matched == 0)
        .collect();
    if !unused.is_empty() {
        let _ = writeln!(out, "\nWAIVERS THAT MATCH NOTHING (remove them?)");
        for w in unused {
            let _ = writeln!(
                out,
                "{} on {} ({})",
                clean(&w.check),
                clean(&w.nodes),
                clean(&w.origin)
            );
        }
    }
}

fn detail(out: &mut String, node: Option<&str>, f: &Finding, color: Color) {
    let tag = format!("[{}]", f.status.as_str().to_uppercase());
    let _ = writeln!(
        out,
        "{} {} {} {}",
        paint(color, status_code(f.status), &tag),
        clean(node.unwrap_or("cluster")),
        f.id,
        f.title
    );
    let mut line = |label: &str, text: &str| {
        if !text.is_empty() {
            let _ = writeln!(out, "    {label:<9} {}", clean(text));
        }
    };
    line("expected", &f.expected);
    line("actual", &f.actual);
    line("source", &f.source);
    if let Some(r) = &f.reason {
        line("reason", r);
    }
    line("fix", &f.remediation);
    line("history", &super::history_view::age_phrase(f));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_from_nodes_are_neutralised() {
        assert_eq!(clean("ok\x1b[2Jgone"), "ok\\u{1b}[2Jgone");
        assert_eq!(clean("a\tb"), "a\\u{9}b");
    }
}
