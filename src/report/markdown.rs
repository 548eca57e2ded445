//! A short Markdown summary for a pull-request comment or a ticket: the
//! score, the counts, the failing checks grouped by check (at most
//! [`MAX_ROWS`] of them), the nodes not scanned, expired waivers and, with a
//! baseline, what changed since.
//!
//! Text from nodes is untrusted: [`escape`] neutralises Markdown and HTML
//! (GitHub renders inline HTML) and keeps each value on one line.

use std::fmt::Write;

use super::diff::{self, Diff};
use super::groups::{NodeIndex, by_check, by_section};
use super::{Report, Status, WaiverState};
use crate::facts::ScanStatus;

/// Failing check groups listed before "and N more".
pub const MAX_ROWS: usize = 25;
/// Evidence shown per row, in characters.
const MAX_EVIDENCE: usize = 160;

pub use super::escape::markdown as escape;

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max).collect::<String>() + "…"
    }
}

fn score(c: &super::Counts) -> String {
    c.score()
        .map(|s| format!("{s}%"))
        .unwrap_or_else(|| "–".into())
}

/// Renders the summary. `since` adds the changes since a baseline run.
pub fn render(report: &Report, since: Option<&Diff>) -> String {
    let mut out = String::new();
    let c = &report.summary.counts;
    let n = &report.summary.nodes;
    let _ = writeln!(
        out,
        "## {}: {}\n",
        escape(report.cluster_label()),
        escape(&report.benchmark.title)
    );
    if let Some(why) = &report.benchmark.chosen {
        let _ = writeln!(
            out,
            "Profile {} picked: {}\n",
            escape(&report.benchmark.id),
            escape(why)
        );
    }
    let _ = writeln!(
        out,
        "**Score {}** · {} fail · {} error · {} warn · {} waived · {} of {} nodes scanned · {} · kubeharden {}\n",
        score(c),
        c.fail,
        c.error,
        c.warn,
        c.waived,
        n.scanned,
        n.total,
        escape(&report.generated_at),
        escape(&report.tool.version)
    );

    let sections: Vec<_> = by_section(report)
        .into_iter()
        .filter(|(_, _, c)| c.score().is_some())
        .collect();
    if !sections.is_empty() {
        let _ = writeln!(out, "| Section | Score | Fail | Error | Warn |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for (id, title, c) in sections {
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | {} | {} |",
                escape(id),
                escape(title),
                score(&c),
                c.fail,
                c.error,
                c.warn
            );
        }
        out.push('\n');
    }

    let idx = NodeIndex::new(report);
    let failing: Vec<_> = by_check(report)
        .into_iter()
        .filter(|g| matches!(g.status, Status::Fail | Status::Error | Status::Warn))
        .collect();
    if failing.is_empty() {
        let _ = writeln!(out, "No check failed.\n");
    } else {
        let _ = writeln!(out, "### Failing checks\n");
        let _ = writeln!(out, "| Check | Status | Nodes | Found |");
        let _ = writeln!(out, "|---|---|---|---|");
        for g in failing.iter().take(MAX_ROWS) {
            let nodes = idx
                .describe(&g.nodes)
                .unwrap_or_else(|| shorten(&g.nodes.join(", "), 80));
            let v = &g.variants[0];
            let found = if v.actual.is_empty() {
                v.reason.unwrap_or("")
            } else {
                v.actual.as_str()
            };
            let more = if g.variants.len() > 1 {
                format!(" (and {} other findings)", g.variants.len() - 1)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| **{}** {} | {} | {} | {}{} |",
                escape(&g.finding.id),
                escape(&g.finding.title),
                g.status,
                escape(&nodes),
                escape(&shorten(found, MAX_EVIDENCE)),
                more
            );
        }
        if failing.len() > MAX_ROWS {
            let _ = writeln!(
                out,
                "\nand {} more; the HTML or JSON report has them all.",
                failing.len() - MAX_ROWS
            );
        }
        out.push('\n');
    }

    // Which layout each scanned node was judged with.
    let mut layouts: Vec<(String, usize)> = Vec::new();
    for n in report.nodes.iter().filter_map(|n| n.layout.as_ref()) {
        match layouts.iter_mut().find(|(l, _)| *l == n.name) {
            Some((_, c)) => *c += 1,
            None => layouts.push((n.name.clone(), 1)),
        }
    }
    if !layouts.is_empty() {
        let list: Vec<String> = layouts
            .iter()
            .map(|(l, c)| format!("{} ({c} node{})", escape(l), if *c == 1 { "" } else { "s" }))
            .collect();
        let _ = writeln!(out, "Layouts: {}.\n", list.join(", "));
    }

    out.push_str(&super::keys::markdown(report, escape));

    let unscanned: Vec<_> = report
        .nodes
        .iter()
        .filter(|n| n.scan_status != ScanStatus::Ok)
        .collect();
    if !unscanned.is_empty() {
        let _ = writeln!(out, "### Nodes not scanned\n");
        for n in unscanned.iter().take(MAX_ROWS) {
            let _ = writeln!(
                out,
                "- {}: {} {}",
                escape(&n.name),
                n.scan_status.as_str(),
                escape(&shorten(n.error.as_deref().unwrap_or(""), MAX_EVIDENCE))
            );
        }
        if unscanned.len() > MAX_ROWS {
            let _ = writeln!(out, "- and {} more", unscanned.len() - MAX_ROWS);
        }
        out.push('\n');
    }

    let expired: Vec<_> = report
        .waivers
        .iter()
        .filter(|w| w.state == WaiverState::Expired)
        .collect();
    if !expired.is_empty() {
        let _ = writeln!(out, "### Expired waivers\n");
        for w in expired {
            let _ = writeln!(
                out,
                "- {} on {}: expired {} (owner {}); {} findings no longer waived",
                escape(&w.check),
                escape(&w.nodes),
                escape(&w.expires),
                escape(&w.owner),
                w.matched
            );
        }
        out.push('\n');
    }

    if let Some(h) = &report.history {
        let _ = writeln!(out, "### History (run {})\n", h.run_id);
        match &h.previous {
            Some(p) => {
                let _ = writeln!(
                    out,
                    "Since run {} ({}): {} new, {} fixed.\n",
                    p.id,
                    p.generated_at,
                    h.new.len(),
                    h.fixed.len()
                );
            }
            None => {
                let _ = writeln!(out, "The first recorded run of this cluster.\n");
            }
        }
        for (tag, list) in [("new", &h.new), ("fixed", &h.fixed)] {
            for r in list.iter().take(MAX_ROWS) {
                let _ = writeln!(
                    out,
                    "- {tag}: {} **{}** {} (first seen {})",
                    escape(r.node.as_deref().unwrap_or("cluster")),
                    escape(&r.id),
                    escape(&r.title),
                    r.first_seen.as_deref().unwrap_or("")
                );
            }
        }
        let mut aged: Vec<_> = report
            .findings()
            .filter(|(_, f)| f.age.days_open.is_some())
            .collect();
        aged.sort_by_key(|(_, f)| std::cmp::Reverse(f.age.days_open));
        if !aged.is_empty() {
            let _ = writeln!(
                out,
                "\n| Open finding | Node | First seen | Days open | Waiver until |\n|---|---|---|---:|---|"
            );
            for (node, f) in aged.iter().take(MAX_ROWS) {
                let _ = writeln!(
                    out,
                    "| **{}** {} | {} | {} | {} | {} |",
                    escape(&f.id),
                    escape(&f.title),
                    escape(node.unwrap_or("cluster")),
                    f.age.first_seen.as_deref().unwrap_or(""),
                    f.age.days_open.unwrap_or(0),
                    f.waiver
                        .as_ref()
                        .map(|w| escape(&w.expires))
                        .unwrap_or_default()
                );
            }
        }
        out.push('\n');
    }
    if let Some(d) = since {
        out.push_str(&diff::render_markdown(d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_html_in_node_text_are_inert() {
        assert_eq!(
            escape("<img src=x onerror=alert(1)> | *b* [l](u)\nnext"),
            "&lt;img src=x onerror=alert(1)&gt; \\| \\*b\\* \\[l\\](u) next"
        );
    }
}
