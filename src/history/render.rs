//! `history list`, `trend` and `finding` as text, JSON and Markdown. Node
//! names and titles come from reports, so from nodes: text output goes
//! through the terminal cleaner, Markdown through its escaper.

use std::fmt::Write;

use super::{FindingHistory, RunSummary, Trend};
use crate::report::escape::markdown as md;
use crate::report::text::clean;

fn score(s: Option<i64>) -> String {
    s.map(|s| format!("{s}%")).unwrap_or_else(|| "–".into())
}

fn cluster_name(c: &str) -> &str {
    if c.is_empty() { "(unnamed)" } else { c }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

pub fn list_text(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs recorded\n".into();
    }
    let mut out = format!(
        "{:>6}  {:<20}  {:<20}  {:<9}  {:>5}  {:>5}  {:>5}\n",
        "RUN", "TIME", "CLUSTER", "BENCHMARK", "NODES", "SCORE", "OPEN"
    );
    for r in runs {
        let _ = writeln!(
            out,
            "{:>6}  {:<20}  {:<20}  {:<9}  {:>5}  {:>5}  {:>5}",
            r.id,
            r.generated_at,
            clean(cluster_name(&r.cluster)),
            clean(&r.benchmark),
            r.nodes,
            score(r.score),
            r.open
        );
    }
    out
}

pub fn list_json(runs: &[RunSummary]) -> String {
    json(&runs)
}

pub fn list_md(runs: &[RunSummary]) -> String {
    let mut out = String::from(
        "| Run | Time | Cluster | Benchmark | Nodes | Score | Open |\n|---:|---|---|---|---:|---:|---:|\n",
    );
    for r in runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.id,
            r.generated_at,
            md(cluster_name(&r.cluster)),
            md(&r.benchmark),
            r.nodes,
            score(r.score),
            r.open
        );
    }
    out
}

pub fn trend_text(t: &Trend) -> String {
    let mut out = format!(
        "Trend of {}: {} runs\n\n",
        clean(cluster_name(&t.cluster)),
        t.runs.len()
    );
    if t.runs.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{:>6}  {:<20}  {:>5}  {:>5}",
        "RUN", "TIME", "SCORE", "OPEN"
    );
    for r in &t.runs {
        let _ = writeln!(
            out,
            "{:>6}  {:<20}  {:>5}  {:>5}",
            r.id,
            r.generated_at,
            score(r.score),
            r.open
        );
    }
    let first = &t.runs[0];
    let last = &t.runs[t.runs.len() - 1];
    let _ = writeln!(
        out,
        "\nBy section (first run → latest run: score, open findings)"
    );
    let mut sections: Vec<&String> = last.sections.keys().chain(first.sections.keys()).collect();
    sections.sort_by(|a, b| crate::bench::cmp_ids(a, b));
    sections.dedup();
    for s in sections {
        let a = first.sections.get(s);
        let b = last.sections.get(s);
        let _ = writeln!(
            out,
            "  {:<8} {:<40}  {:>5} → {:>5}   open {:>4} → {:>4}",
            clean(s),
            clean(t.section_titles.get(s).map(String::as_str).unwrap_or("")),
            score(a.and_then(|p| p.score)),
            score(b.and_then(|p| p.score)),
            a.map(|p| p.open).unwrap_or(0),
            b.map(|p| p.open).unwrap_or(0)
        );
    }
    let _ = writeln!(
        out,
        "\nBy node (first run → latest run: score, open findings)"
    );
    let mut nodes: Vec<&String> = last.nodes.keys().chain(first.nodes.keys()).collect();
    nodes.sort();
    nodes.dedup();
    for n in nodes {
        let a = first.nodes.get(n);
        let b = last.nodes.get(n);
        let _ = writeln!(
            out,
            "  {:<24}  {:>5} → {:>5}   open {:>4} → {:>4}",
            clean(n),
            score(a.and_then(|p| p.score)),
            score(b.and_then(|p| p.score)),
            a.map(|p| p.open).unwrap_or(0),
            b.map(|p| p.open).unwrap_or(0)
        );
    }
    out
}

pub fn trend_json(t: &Trend) -> String {
    json(t)
}

pub fn trend_md(t: &Trend) -> String {
    let mut out = format!("## Trend of {}\n\n", md(cluster_name(&t.cluster)));
    let mut sections: Vec<&String> = t.runs.iter().flat_map(|r| r.sections.keys()).collect();
    sections.sort_by(|a, b| crate::bench::cmp_ids(a, b));
    sections.dedup();
    out.push_str("| Run | Time | Score | Open |");
    for s in &sections {
        let _ = write!(out, " {} |", md(s));
    }
    out.push_str("\n|---:|---|---:|---:|");
    for _ in &sections {
        out.push_str("---:|");
    }
    out.push('\n');
    for r in &t.runs {
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            r.id,
            r.generated_at,
            score(r.score),
            r.open
        );
        for s in &sections {
            let p = r.sections.get(*s);
            let _ = write!(
                out,
                " {} ({} open) |",
                score(p.and_then(|p| p.score)),
                p.map(|p| p.open).unwrap_or(0)
            );
        }
        out.push('\n');
    }
    if let Some(last) = t.runs.last() {
        let _ = writeln!(
            out,
            "\n### Nodes in run {}\n\n| Node | Score | Open |\n|---|---:|---:|",
            last.id
        );
        for (n, p) in &last.nodes {
            let _ = writeln!(out, "| {} | {} | {} |", md(n), score(p.score), p.open);
        }
    }
    out
}

fn node_name(n: &Option<String>) -> &str {
    n.as_deref().unwrap_or("cluster")
}

pub fn finding_text(h: &FindingHistory) -> String {
    let mut out = format!("{} in {}\n", clean(&h.id), clean(cluster_name(&h.cluster)));
    if h.streaks.is_empty() {
        out.push_str("never open in the recorded runs\n");
        return out;
    }
    for s in &h.streaks {
        let how = match (&s.fixed_at, s.fixed_run) {
            (Some(t), Some(r)) => format!("fixed {t} (run {r}) after {} days", s.days_open),
            _ => format!("open for {} days, still open", s.days_open),
        };
        let _ = writeln!(
            out,
            "  {:<24} {} {} since {} (run {}); {}",
            clean(node_name(&s.node)),
            if s.came_back {
                "came back,"
            } else {
                "first seen"
            },
            s.status,
            s.first_seen,
            s.first_run,
            how
        );
    }
    out
}

pub fn finding_json(h: &FindingHistory) -> String {
    json(h)
}

pub fn finding_md(h: &FindingHistory) -> String {
    let mut out = format!(
        "## {} in {}\n\n| Node | Opened | Run | Status | Fixed | Days open | Came back |\n|---|---|---:|---|---|---:|---|\n",
        md(&h.id),
        md(cluster_name(&h.cluster))
    );
    for s in &h.streaks {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md(node_name(&s.node)),
            s.first_seen,
            s.first_run,
            s.status,
            s.fixed_at.as_deref().unwrap_or("still open"),
            s.days_open,
            if s.came_back { "yes" } else { "" }
        );
    }
    out
}
