//! The "Keys and rotation" summary of the text and Markdown reports: every
//! key and CA found, oldest first, with its age and time left. Metadata
//! only (names, dates); the report model holds nothing else.

use std::fmt::Write;

use super::Report;
use crate::verdict::KeyInfo;

/// Rows shown before "and N more".
const MAX_ROWS: usize = 40;

fn sorted(report: &Report) -> Vec<&KeyInfo> {
    let mut rows: Vec<&KeyInfo> = report.keys.iter().flatten().collect();
    rows.sort_by(|a, b| {
        b.age_days
            .unwrap_or(-1)
            .cmp(&a.age_days.unwrap_or(-1))
            .then_with(|| a.node.cmp(&b.node))
            .then_with(|| a.name.cmp(&b.name))
    });
    rows
}

fn age(k: &KeyInfo) -> String {
    match (&k.since, k.age_days) {
        (Some(s), Some(d)) => format!("{} ({d} days)", &s[..s.len().min(10)]),
        _ => "unknown".into(),
    }
}

fn left(k: &KeyInfo) -> String {
    k.days_left.map(|d| format!("{d} days")).unwrap_or_default()
}

/// Plain-text lines (already cleaned by `clean`), or nothing without keys.
pub fn text(report: &Report, clean: fn(&str) -> String) -> String {
    let rows = sorted(report);
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nKEYS AND ROTATION (oldest first)");
    for k in rows.iter().take(MAX_ROWS) {
        let _ = writeln!(
            out,
            "  {:<16} {:<15} {:<12} {:<40} since {}{}",
            clean(&k.node),
            k.kind,
            k.role,
            clean(&k.name),
            age(k),
            if k.days_left.is_some() {
                format!(", {} left", left(k))
            } else {
                String::new()
            }
        );
    }
    if rows.len() > MAX_ROWS {
        let _ = writeln!(out, "  and {} more (JSON: keys)", rows.len() - MAX_ROWS);
    }
    out
}

/// A Markdown section, or nothing without keys.
pub fn markdown(report: &Report, escape: fn(&str) -> String) -> String {
    let rows = sorted(report);
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    let _ = writeln!(out, "### Keys and rotation\n");
    let _ = writeln!(out, "| Node | Kind | Key | Role | Since | Left |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for k in rows.iter().take(MAX_ROWS) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            escape(&k.node),
            escape(&k.kind),
            escape(&k.name),
            escape(&k.role),
            age(k),
            left(k)
        );
    }
    if rows.len() > MAX_ROWS {
        let _ = writeln!(out, "\nand {} more (JSON: `keys`)", rows.len() - MAX_ROWS);
    }
    out.push('\n');
    out
}
