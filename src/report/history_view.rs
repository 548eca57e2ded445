//! The run history in the reports (`--store`): a finding's age as one
//! phrase, the "since the last run" lists, and the HTML trend chart (score
//! over time, open findings by section) drawn as inline SVG. The chart is
//! built here from numbers and escaped labels only; the page embeds it as
//! is.

use std::fmt::Write;

use serde::Serialize;

use super::{Finding, FindingRef, RunHistory};

/// `first seen 2026-12-01, 4 days open, new since last run`; empty when
/// the finding has no age.
pub fn age_phrase(f: &Finding) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &f.age.first_seen {
        parts.push(format!("first seen {}", t.get(..10).unwrap_or(t)));
    }
    if let Some(d) = f.age.days_open {
        parts.push(format!("{d} day{} open", if d == 1 { "" } else { "s" }));
    }
    if let Some(c) = f.age.since_last_run {
        parts.push(format!("{} since last run", c.as_str()));
    }
    if let Some(w) = &f.waiver {
        parts.push(format!(
            "waiver {} {}",
            if w.expired { "expired" } else { "expires" },
            w.expires
        ));
    }
    parts.join(", ")
}

#[derive(Serialize)]
pub struct RefRow {
    pub node: String,
    pub id: String,
    pub title: String,
    pub status: &'static str,
    pub first_seen: String,
    pub days_open: Option<i64>,
    pub new: bool,
    /// The waiver's last day, when one matched.
    pub waiver_expires: String,
}

/// Open findings listed with their age in the HTML (the JSON has all).
pub const AGED: usize = 500;

#[derive(Serialize)]
pub struct HistoryView {
    pub run_id: i64,
    pub previous: String,
    pub new: Vec<RefRow>,
    pub fixed: Vec<RefRow>,
    /// Open findings, oldest first (at most [`AGED`]).
    pub oldest: Vec<RefRow>,
    /// Open findings beyond those shown.
    pub more_open: usize,
    /// The trend chart, inline SVG built from numbers and escaped text.
    pub chart: String,
    pub runs: usize,
}

fn row(r: &FindingRef) -> RefRow {
    RefRow {
        node: r.node.clone().unwrap_or_else(|| "cluster".into()),
        id: r.id.clone(),
        title: r.title.clone(),
        status: r.status.as_str(),
        first_seen: r.first_seen.clone().unwrap_or_default(),
        days_open: None,
        new: false,
        waiver_expires: String::new(),
    }
}

/// Rows shown in each list before "and N more" (the JSON has them all).
const SHOWN: usize = 50;

pub fn view(report: &super::Report, h: &RunHistory) -> HistoryView {
    let mut oldest: Vec<(i64, RefRow)> = report
        .findings()
        .filter_map(|(node, f)| {
            f.age.days_open.map(|d| {
                (
                    d,
                    RefRow {
                        node: node.unwrap_or("cluster").to_string(),
                        id: f.id.clone(),
                        title: f.title.clone(),
                        status: f.status.as_str(),
                        first_seen: f.age.first_seen.clone().unwrap_or_default(),
                        days_open: Some(d),
                        new: f.age.since_last_run == Some(super::Change::New),
                        waiver_expires: f
                            .waiver
                            .as_ref()
                            .map(|w| w.expires.clone())
                            .unwrap_or_default(),
                    },
                )
            })
        })
        .collect();
    oldest.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.first_seen.cmp(&b.1.first_seen))
    });
    HistoryView {
        run_id: h.run_id,
        previous: h
            .previous
            .as_ref()
            .map(|p| format!("run {} of {}", p.id, p.generated_at))
            .unwrap_or_default(),
        new: h.new.iter().take(SHOWN).map(row).collect(),
        fixed: h.fixed.iter().take(SHOWN).map(row).collect(),
        more_open: oldest.len().saturating_sub(AGED),
        oldest: oldest.into_iter().take(AGED).map(|(_, r)| r).collect(),
        chart: chart(h),
        runs: h.trend.len(),
    }
}

/// Section colours, cycled (no meaning beyond telling them apart).
const PALETTE: [&str; 8] = [
    "#b91c1c", "#c2410c", "#a16207", "#15803d", "#0e7490", "#1d4ed8", "#7e22ce", "#be185d",
];

/// Score over time (a line, 0-100 %) above open findings by section
/// (stacked bars), one column per run.
pub fn chart(h: &RunHistory) -> String {
    let pts = &h.trend;
    let (w, top_h, bar_h, left, gap) = (640.0_f64, 120.0_f64, 120.0_f64, 40.0_f64, 24.0_f64);
    let n = pts.len().max(1) as f64;
    let step = (w - left - 10.0) / n;
    let x = |i: usize| left + step * (i as f64 + 0.5);
    let height = top_h + gap + bar_h + 20.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"trend\" style=\"width:100%;max-width:640px;height:auto\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {height}\" role=\"img\" aria-label=\"Score and open findings over the last {} runs\">",
        pts.len()
    );
    // Score axis and line.
    let _ = write!(
        s,
        "<text x=\"0\" y=\"12\" font-size=\"10\">100%</text><text x=\"0\" y=\"{top_h}\" font-size=\"10\">0%</text><line x1=\"{left}\" y1=\"{top_h}\" x2=\"{w}\" y2=\"{top_h}\" stroke=\"#999\"/>"
    );
    let mut line = String::new();
    for (i, p) in pts.iter().enumerate() {
        if let Some(sc) = p.score {
            let y = top_h - (f64::from(sc.min(100)) / 100.0) * (top_h - 10.0);
            let _ = write!(line, "{:.1},{:.1} ", x(i), y);
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#1d4ed8\"><title>run {}, {}: {}%</title></circle>",
                x(i),
                p.run_id,
                html(&p.generated_at),
                sc
            );
        }
    }
    if !line.is_empty() {
        let _ = write!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#1d4ed8\" stroke-width=\"2\"/>",
            line.trim_end()
        );
    }
    // Open findings by section, stacked.
    let base = top_h + gap + bar_h;
    let max_open = pts.iter().map(|p| p.open).max().unwrap_or(0).max(1) as f64;
    let mut sections: Vec<&String> = pts.iter().flat_map(|p| p.open_by_section.keys()).collect();
    sections.sort_by(|a, b| crate::bench::cmp_ids(a, b));
    sections.dedup();
    let _ = write!(
        s,
        "<text x=\"0\" y=\"{:.0}\" font-size=\"10\">{}</text><text x=\"0\" y=\"{base}\" font-size=\"10\">0</text><line x1=\"{left}\" y1=\"{base}\" x2=\"{w}\" y2=\"{base}\" stroke=\"#999\"/>",
        top_h + gap + 10.0,
        max_open as usize
    );
    let bw = (step * 0.7).max(1.0);
    for (i, p) in pts.iter().enumerate() {
        let mut y = base;
        for (k, sec) in sections.iter().enumerate() {
            let v = p.open_by_section.get(*sec).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let hgt = v as f64 / max_open * bar_h;
            y -= hgt;
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{hgt:.1}\" fill=\"{}\"><title>run {}: section {}: {} open</title></rect>",
                x(i) - bw / 2.0,
                PALETTE[k % PALETTE.len()],
                p.run_id,
                html(sec),
                v
            );
        }
    }
    // Legend, wrapped into rows that fit the width.
    let mut lx = left;
    let mut ly = base + 8.0;
    for (k, sec) in sections.iter().enumerate() {
        let wide = 14.0 + 7.0 * sec.chars().count().min(12) as f64;
        if lx + wide > w && lx > left {
            lx = left;
            ly += 14.0;
        }
        let _ = write!(
            s,
            "<rect x=\"{lx:.0}\" y=\"{ly:.0}\" width=\"8\" height=\"8\" fill=\"{}\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\">{}</text>",
            PALETTE[k % PALETTE.len()],
            lx + 10.0,
            ly + 8.0,
            html(sec)
        );
        lx += wide;
    }
    // The legend's last row sets the height.
    let full = (ly + 14.0).max(height);
    s = s.replacen(
        &format!("viewBox=\"0 0 {w} {height}\""),
        &format!("viewBox=\"0 0 {w} {full}\""),
        1,
    );
    s.push_str("</svg>");
    s
}

/// Text for SVG markup: the five XML specials as entities, control
/// characters dropped.
fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::TrendPoint;

    #[test]
    fn the_chart_draws_every_run_and_escapes_labels() {
        let mut h = RunHistory::default();
        for (i, (score, open)) in [(Some(50), 4), (Some(75), 2), (None, 0)]
            .into_iter()
            .enumerate()
        {
            let mut by = std::collections::BTreeMap::new();
            by.insert("1.<2>".to_string(), open);
            h.trend.push(TrendPoint {
                run_id: i as i64 + 1,
                generated_at: format!("2026-01-0{}T00:00:00Z", i + 1),
                score,
                open,
                open_by_section: by,
            });
        }
        let svg = chart(&h);
        assert_eq!(
            svg.matches("<circle").count(),
            2,
            "one point per scored run"
        );
        assert_eq!(
            svg.matches("<rect x").count(),
            2 + 1,
            "two bars and one legend key"
        );
        assert!(svg.contains("1.&lt;2&gt;") && !svg.contains("1.<2>"));
        assert!(svg.contains("run 2, 2026-01-02T00:00:00Z: 75%"));
        assert!(!svg.contains("<script"));
    }
}
