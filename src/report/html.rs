//! The HTML report: one self-contained file (CSS, JavaScript and charts
//! inline; no fonts, scripts or images fetched), readable offline and on
//! paper, and usable at 1,000 nodes: checks are grouped, nodes with the same
//! evidence are collapsed into one list, and nodes with the same results are
//! one heatmap row.
//!
//! The page is rendered with Tera from `templates/report.html`,
//! `templates/report.css` and `templates/report.js`, which are compiled into
//! the binary; `--template-dir DIR` replaces any of them with DIR's file of the
//! same name. This module only prepares a view of the report (grouping,
//! scores, chart geometry); the template decides how it looks.
//!
//! Node text is untrusted. The template is autoescaped (`.html`), the view
//! holds plain text only, and the page's script reads the DOM, never data
//! embedded as code.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::diff::{self, Diff};
use super::groups::{self, NodeIndex};
use super::{Counts, Gate, Report, Status, WaiverState};
use crate::bench::cmp_ids;
use crate::facts::ScanStatus;

pub const TEMPLATE: &str = include_str!("../../templates/report.html");
pub const STYLE: &str = include_str!("../../templates/report.css");
/// The "Keys and rotation" section, included by `report.html`.
pub const KEYS_TEMPLATE: &str = include_str!("../../templates/keys.html");
pub const OBJECTS_TEMPLATE: &str = include_str!("../../templates/objects.html");

/// The templates report.html includes, with their built-in text.
const PARTS: [(&str, &str); 2] = [
    ("keys.html", KEYS_TEMPLATE),
    ("objects.html", OBJECTS_TEMPLATE),
];
pub const SCRIPT: &str = include_str!("../../templates/report.js");

/// Node names shown before "and N more".
const SHOWN_NODES: usize = 8;
/// The same, in the narrow first column of a matrix.
const SHOWN_IN_ROW: usize = 3;

/// What to render besides the report.
#[derive(Clone, Copy, Debug, Default)]
pub struct HtmlOptions<'a> {
    /// Replaces the built-in `report.html`, `report.css` and `report.js` with
    /// the files of this directory that exist.
    pub template_dir: Option<&'a Path>,
    /// Changes since a baseline run, shown as "Since last run".
    pub since: Option<&'a Diff>,
    /// The `--fail-on` gate, to say whether this run passes it.
    pub gate: Gate,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HtmlError(String);

#[derive(Serialize)]
struct Tile {
    status: &'static str,
    label: &'static str,
    count: usize,
    groups: usize,
}

#[derive(Serialize)]
struct Segment {
    status: &'static str,
    x: f64,
    width: f64,
    count: usize,
}

#[derive(Serialize)]
struct SectionRow {
    id: String,
    title: String,
    score: Option<u32>,
    heat: &'static str,
    bar: u32,
    fail: usize,
    error: usize,
    warn: usize,
    waived: usize,
    pass: usize,
    manual: usize,
}

#[derive(Serialize)]
struct Unjudged {
    id: String,
    title: String,
    why: &'static str,
}

#[derive(Serialize)]
struct NodeList {
    /// "every worker node (40)", or the first names.
    label: String,
    /// Every name, when `label` does not already say which nodes.
    all: Option<String>,
    count: usize,
    /// `all` or `role:<role>` when the set is described by `label`.
    set: String,
}

#[derive(Serialize)]
struct WaiverView {
    reason: String,
    owner: String,
    expires: String,
    expired: bool,
    was: &'static str,
    origin: String,
}

#[derive(Serialize)]
struct VariantView {
    nodes: NodeList,
    actual: String,
    source: String,
    reason: String,
    waiver: Option<WaiverView>,
}

#[derive(Serialize)]
struct GroupView {
    id: String,
    title: String,
    section: String,
    section_title: String,
    status: &'static str,
    scored: bool,
    level: u8,
    /// From the check catalog; empty in reports made before severities.
    severity: &'static str,
    expected: String,
    remediation: String,
    nodes: NodeList,
    /// Space-separated node sets described by label, for the search.
    sets: String,
    variants: Vec<VariantView>,
}

#[derive(Serialize)]
struct Cell {
    class: String,
    text: String,
    title: String,
}

#[derive(Serialize)]
struct MatrixRow {
    nodes: NodeList,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct Matrix {
    columns: Vec<Column>,
    rows: Vec<MatrixRow>,
}

#[derive(Serialize)]
struct Column {
    id: String,
    title: String,
}

#[derive(Serialize)]
struct NodeRow {
    name: String,
    address: String,
    roles: String,
    kubernetes: String,
    layout: String,
    layout_why: String,
    scan_status: &'static str,
    ok: bool,
    error: String,
    score: Option<u32>,
    heat: &'static str,
    fail: usize,
    errors: usize,
    warn: usize,
    waived: usize,
    failing: String,
}

#[derive(Serialize)]
struct CertRow {
    path: String,
    subject: String,
    not_after: String,
    days_left: i64,
    class: &'static str,
    nodes: NodeList,
}

#[derive(Serialize)]
struct Bar {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    class: &'static str,
    title: String,
}

#[derive(Serialize)]
struct Tick {
    x: f64,
    label: String,
}

#[derive(Serialize)]
struct Certificates {
    rows: Vec<CertRow>,
    total: usize,
    expired: usize,
    soon: usize,
    bars: Vec<Bar>,
    ticks: Vec<Tick>,
    now_x: f64,
}

#[derive(Serialize)]
struct WaiverRow {
    check: String,
    nodes: String,
    reason: String,
    owner: String,
    expires: String,
    state: &'static str,
    matched: usize,
    origin: String,
}

#[derive(Serialize)]
struct ChangeView {
    id: String,
    title: String,
    before: &'static str,
    after: &'static str,
    nodes: NodeList,
    before_evidence: String,
    after_evidence: String,
}

#[derive(Serialize)]
struct ChangeSection {
    key: &'static str,
    title: &'static str,
    count: usize,
    changes: Vec<ChangeView>,
}

#[derive(Serialize)]
struct Since {
    generated_at: String,
    before: Vec<Tile>,
    sections: Vec<ChangeSection>,
    nodes_added: NodeList,
    nodes_removed: NodeList,
    scan_changed: Vec<(String, &'static str, &'static str, String)>,
    empty: bool,
}

#[derive(Serialize)]
struct UnscannedRow {
    status: &'static str,
    error: String,
    nodes: NodeList,
}

#[derive(Serialize)]
struct View {
    cluster: String,
    benchmark_title: String,
    benchmark_id: String,
    kubernetes: String,
    /// Why the profile was picked (no `--benchmark`), else empty.
    chosen: String,
    generated_at: String,
    tool: String,
    nodes_total: usize,
    nodes_scanned: usize,
    nodes_not_scanned: usize,
    score: Option<u32>,
    heat: &'static str,
    /// Dash length of the score ring (circumference 100).
    ring: u32,
    tiles: Vec<Tile>,
    segments: Vec<Segment>,
    gate: &'static str,
    gate_fails: bool,
    sections: Vec<SectionRow>,
    /// Sections where nothing was judged: manual checks only, or all skipped.
    unjudged: Vec<Unjudged>,
    heatmap: Matrix,
    groups: Vec<GroupView>,
    nodes: Vec<NodeRow>,
    unscanned: Vec<UnscannedRow>,
    certificates: Option<Certificates>,
    keys: Option<super::html_keys::Keys>,
    objects: Option<super::html_objects::Objects>,
    tls: Option<Matrix>,
    etcd: Option<Matrix>,
    waivers: Vec<WaiverRow>,
    waivers_given: bool,
    waivers_expired: usize,
    since: Option<Since>,
    /// The run history (`--store`): changes, oldest findings, trend chart.
    history: Option<super::history_view::HistoryView>,
    css: String,
    js: String,
}

/// A colour class for a score: `h100` (all held) down to `h0`.
fn heat(score: Option<u32>) -> &'static str {
    match score {
        None => "hna",
        Some(100) => "h100",
        Some(90..) => "h90",
        Some(75..) => "h75",
        Some(50..) => "h50",
        Some(25..) => "h25",
        Some(_) => "h0",
    }
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Fail => "Fail",
        Status::Error => "Error",
        Status::Warn => "Warn",
        Status::Waived => "Waived",
        Status::Manual => "Manual",
        Status::Skip => "Skip",
        Status::Pass => "Pass",
    }
}

fn node_list(names: &[&str], idx: Option<&NodeIndex<'_>>) -> NodeList {
    node_list_of(names, idx, SHOWN_NODES)
}

fn node_list_of(names: &[&str], idx: Option<&NodeIndex<'_>>, shown_max: usize) -> NodeList {
    if let Some(label) = idx.and_then(|i| i.describe(names)) {
        let set = if label.starts_with("every scanned") {
            "all".to_string()
        } else {
            let role = label
                .trim_start_matches("every ")
                .split(' ')
                .next()
                .unwrap_or("");
            format!("role:{role}")
        };
        return NodeList {
            label,
            all: None,
            count: names.len(),
            set,
        };
    }
    let shown = names
        .iter()
        .take(shown_max)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let label = if names.len() > shown_max {
        format!(
            "{} nodes: {shown} and {} more",
            names.len(),
            names.len() - shown_max
        )
    } else {
        shown
    };
    NodeList {
        label,
        all: (names.len() > shown_max).then(|| names.join(", ")),
        count: names.len(),
        set: String::new(),
    }
}

fn tiles(c: &Counts, groups: &HashMap<Status, usize>) -> Vec<Tile> {
    Status::BY_SEVERITY
        .iter()
        .map(|&s| Tile {
            status: s.as_str(),
            label: status_label(s),
            count: c.get(s),
            groups: groups.get(&s).copied().unwrap_or(0),
        })
        .collect()
}

/// Rows of nodes that show the same cells are collapsed into one.
fn collapse(rows: Vec<(&str, Vec<Cell>)>, idx: &NodeIndex<'_>) -> Vec<MatrixRow> {
    let mut order: Vec<String> = Vec::new();
    let mut by_key: HashMap<String, (Vec<&str>, Vec<Cell>)> = HashMap::new();
    for (name, cells) in rows {
        let key: String = cells
            .iter()
            .map(|c| format!("{}\u{1}{}\u{1}{}\u{2}", c.class, c.text, c.title))
            .collect();
        match by_key.get_mut(&key) {
            Some(e) => e.0.push(name),
            None => {
                order.push(key.clone());
                by_key.insert(key, (vec![name], cells));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| by_key.remove(&k))
        .map(|(names, cells)| MatrixRow {
            nodes: node_list_of(&names, Some(idx), SHOWN_IN_ROW),
            cells,
        })
        .collect()
}

fn heatmap(report: &Report, idx: &NodeIndex<'_>) -> Matrix {
    let sections: Vec<(&str, &str, Counts)> = groups::by_section(report)
        .into_iter()
        .filter(|(_, _, c)| c.score().is_some())
        .collect();
    let columns: Vec<Column> = sections
        .iter()
        .map(|(id, title, _)| Column {
            id: id.to_string(),
            title: format!("{id} {title}"),
        })
        .collect();
    let mut rows = Vec::new();
    for n in report
        .nodes
        .iter()
        .filter(|n| n.scan_status == ScanStatus::Ok)
    {
        let mut per: HashMap<&str, Counts> = HashMap::new();
        for f in &n.results {
            per.entry(f.section.as_str()).or_default().add(f.status);
        }
        let cells = sections
            .iter()
            .map(|(id, title, _)| {
                let c = per.get(id).copied().unwrap_or_default();
                let score = c.score();
                Cell {
                    class: heat(score).to_string(),
                    text: score.map(|s| s.to_string()).unwrap_or_else(|| "–".into()),
                    title: format!(
                        "{id} {title}: {} pass, {} fail, {} warn, {} error",
                        c.pass, c.fail, c.warn, c.error
                    ),
                }
            })
            .collect();
        rows.push((n.name.as_str(), cells));
    }
    let mut rows = collapse(rows, idx);
    // Worst first: by the mean of the judged cells.
    let mean = |r: &MatrixRow| {
        let scores: Vec<u32> = r
            .cells
            .iter()
            .filter_map(|c| c.text.parse::<u32>().ok())
            .collect();
        scores.iter().sum::<u32>() * 100 / (scores.len().max(1) as u32)
    };
    rows.sort_by_key(|r| (mean(r), std::cmp::Reverse(r.nodes.count)));
    Matrix { columns, rows }
}

fn group_views(report: &Report, idx: &NodeIndex<'_>) -> Vec<GroupView> {
    groups::by_check(report)
        .into_iter()
        .map(|g| {
            let f = g.finding;
            let variants: Vec<VariantView> = g
                .variants
                .iter()
                .map(|v| VariantView {
                    nodes: node_list(&v.nodes, Some(idx)),
                    actual: v.actual.clone(),
                    source: v.source.clone(),
                    reason: v.reason.unwrap_or("").to_string(),
                    waiver: v.waiver.map(|w| WaiverView {
                        reason: w.reason.clone(),
                        owner: w.owner.clone(),
                        expires: w.expires.clone(),
                        expired: w.expired,
                        was: w.status.as_str(),
                        origin: w.origin.clone(),
                    }),
                })
                .collect();
            let nodes = node_list_of(&g.nodes, Some(idx), SHOWN_IN_ROW);
            let mut sets: Vec<&str> = variants
                .iter()
                .map(|v| v.nodes.set.as_str())
                .chain([nodes.set.as_str()])
                .filter(|s| !s.is_empty())
                .collect();
            sets.sort();
            sets.dedup();
            GroupView {
                id: f.id.clone(),
                title: f.title.clone(),
                section: f.section.clone(),
                section_title: report
                    .benchmark
                    .sections
                    .get(&f.section)
                    .cloned()
                    .unwrap_or_default(),
                status: g.status.as_str(),
                scored: f.scored,
                level: f.level,
                severity: f.severity.map(|s| s.as_str()).unwrap_or(""),
                expected: f.expected.clone(),
                remediation: f.remediation.clone(),
                sets: sets.join(" "),
                nodes,
                variants,
            }
        })
        .collect()
}

fn node_rows(report: &Report) -> Vec<NodeRow> {
    report
        .nodes
        .iter()
        .map(|n| {
            let mut failing: Vec<&str> = n
                .results
                .iter()
                .filter(|f| matches!(f.status, Status::Fail | Status::Error))
                .map(|f| f.id.as_str())
                .collect();
            failing.sort_by(|a, b| cmp_ids(a, b));
            let score = n.summary.score();
            NodeRow {
                name: n.name.clone(),
                address: n.address.clone(),
                roles: n
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                kubernetes: n.kubernetes_version.clone().unwrap_or_default(),
                layout: n
                    .layout
                    .as_ref()
                    .map(|l| l.name.clone())
                    .unwrap_or_default(),
                layout_why: n
                    .layout
                    .as_ref()
                    .map(crate::verdict::layout_text)
                    .unwrap_or_default(),
                scan_status: n.scan_status.as_str(),
                ok: n.scan_status == ScanStatus::Ok,
                error: n.error.clone().unwrap_or_default(),
                score,
                heat: if n.scan_status == ScanStatus::Ok {
                    heat(score)
                } else {
                    "hna"
                },
                fail: n.summary.fail,
                errors: n.summary.error,
                warn: n.summary.warn,
                waived: n.summary.waived,
                failing: failing.join(" "),
            }
        })
        .collect()
}

fn unscanned(report: &Report) -> Vec<UnscannedRow> {
    let mut order: Vec<(ScanStatus, &str)> = Vec::new();
    let mut by: HashMap<(ScanStatus, &str), Vec<&str>> = HashMap::new();
    for n in report
        .nodes
        .iter()
        .filter(|n| n.scan_status != ScanStatus::Ok)
    {
        let key = (n.scan_status, n.error.as_deref().unwrap_or(""));
        by.entry(key)
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(&n.name);
    }
    order
        .into_iter()
        .map(|k| UnscannedRow {
            status: k.0.as_str(),
            error: k.1.to_string(),
            nodes: node_list(&by[&k], None),
        })
        .collect()
}

fn certificates(report: &Report, idx: &NodeIndex<'_>) -> Option<Certificates> {
    let certs = report.certificates.as_ref()?;
    // Identical certificates (same file, subject and end) on many nodes are one row.
    let mut order = Vec::new();
    let mut by: HashMap<(&str, &str, &str), (i64, Vec<&str>)> = HashMap::new();
    for c in certs {
        let key = (c.path.as_str(), c.subject.as_str(), c.not_after.as_str());
        by.entry(key)
            .or_insert_with(|| {
                order.push(key);
                (c.days_left, Vec::new())
            })
            .1
            .push(&c.node);
    }
    let mut rows: Vec<CertRow> = order
        .into_iter()
        .map(|k| {
            let (days, nodes) = &by[&k];
            CertRow {
                path: k.0.to_string(),
                subject: k.1.to_string(),
                not_after: k.2.to_string(),
                days_left: *days,
                class: cert_class(*days),
                nodes: node_list(nodes, Some(idx)),
            }
        })
        .collect();
    rows.sort_by_key(|r| r.days_left);
    // Timeline: certificates per 30-day bucket, from 30 days ago to a year on.
    const FROM: i64 = -30;
    const TO: i64 = 390;
    const STEP: i64 = 30;
    const WIDTH: f64 = 840.0;
    const HEIGHT: f64 = 120.0;
    let x = |d: i64| (d.clamp(FROM, TO) - FROM) as f64 * WIDTH / (TO - FROM) as f64;
    let mut buckets: Vec<usize> = vec![0; ((TO - FROM) / STEP) as usize];
    for c in certs {
        let i = ((c.days_left.clamp(FROM, TO - 1) - FROM) / STEP) as usize;
        buckets[i] += 1;
    }
    let max = buckets.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bars = buckets
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, &n)| {
            let start = FROM + i as i64 * STEP;
            let h = (n as f64 / max * HEIGHT).max(2.0);
            Bar {
                x: x(start) + 2.0,
                y: HEIGHT - h,
                width: x(start + STEP) - x(start) - 4.0,
                height: h,
                class: cert_class(start + STEP - 1),
                title: format!(
                    "{n} certificate{} ending {} to {} days from the scan",
                    if n == 1 { "" } else { "s" },
                    start,
                    start + STEP - 1
                ),
            }
        })
        .collect();
    let ticks = (0..=((TO - FROM) / 60))
        .map(|i| {
            let d = FROM + 30 + i * 60;
            Tick {
                x: x(d),
                label: if d == 0 {
                    "scan".into()
                } else {
                    format!("{d:+} d")
                },
            }
        })
        .filter(|t| t.x <= WIDTH)
        .collect();
    Some(Certificates {
        total: certs.len(),
        expired: certs.iter().filter(|c| c.days_left < 0).count(),
        soon: certs
            .iter()
            .filter(|c| (0..30).contains(&c.days_left))
            .count(),
        rows,
        bars,
        ticks,
        now_x: x(0),
    })
}

fn cert_class(days: i64) -> &'static str {
    match days {
        ..0 => "expired",
        0..30 => "soon",
        30..90 => "near",
        _ => "ok",
    }
}

/// A node × column matrix from (row node, column, cell) triples.
fn matrix(cells: Vec<(&str, String, Cell)>, idx: &NodeIndex<'_>, sort_numeric: bool) -> Matrix {
    let mut cols: Vec<String> = Vec::new();
    let mut rows_order: Vec<&str> = Vec::new();
    let mut at: HashMap<(&str, String), Cell> = HashMap::new();
    for (row, col, cell) in cells {
        if !cols.contains(&col) {
            cols.push(col.clone());
        }
        if !rows_order.contains(&row) {
            rows_order.push(row);
        }
        at.insert((row, col), cell);
    }
    if sort_numeric {
        cols.sort_by_key(|c| c.parse::<u32>().unwrap_or(u32::MAX));
    } else {
        cols.sort();
    }
    let rows = rows_order
        .into_iter()
        .map(|r| {
            let cells = cols
                .iter()
                .map(|c| {
                    at.remove(&(r, c.clone())).unwrap_or(Cell {
                        class: "none".into(),
                        text: "".into(),
                        title: "not checked".into(),
                    })
                })
                .collect();
            (r, cells)
        })
        .collect();
    Matrix {
        columns: cols
            .into_iter()
            .map(|c| Column {
                title: c.clone(),
                id: c,
            })
            .collect(),
        rows: collapse(rows, idx),
    }
}

fn tls(report: &Report, idx: &NodeIndex<'_>) -> Option<Matrix> {
    let ports = report.tls_ports.as_ref()?;
    let cells = ports
        .iter()
        .map(|p| {
            let text = match p.state.as_str() {
                "tls" => "TLS",
                "plaintext" => "plain",
                "closed" => "closed",
                _ => "error",
            };
            // Coloured by what it means: plaintext health checks are fine,
            // a TLS port that accepts TLS 1.1 is not.
            let class = match (p.verdict.as_deref(), p.state.as_str()) {
                (Some(v @ ("pass" | "warn" | "fail")), _) => format!("v-{v}"),
                (_, "tls" | "plaintext" | "closed") => p.state.clone(),
                _ => "error".into(),
            };
            let title = [
                p.component.as_deref().unwrap_or(""),
                p.detail.as_deref().unwrap_or(""),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(": ");
            (
                p.node.as_str(),
                p.port.to_string(),
                Cell {
                    class,
                    text: text.into(),
                    title,
                },
            )
        })
        .collect();
    Some(matrix(cells, idx, true))
}

fn etcd(report: &Report, idx: &NodeIndex<'_>) -> Option<Matrix> {
    let reach = report.etcd_reachability.as_ref()?;
    let cells = reach
        .iter()
        .map(|r| {
            (
                r.from.as_str(),
                r.to.clone(),
                Cell {
                    // Coloured by what it means: a worker reaching etcd is
                    // the failure, a control plane cut off from it a warning.
                    class: match (r.reachable, r.expected) {
                        (_, _) if r.detail.as_deref().is_some_and(|d| d.starts_with("error")) => {
                            "error"
                        }
                        (got, Some(want)) if got == want => "reach-ok",
                        (true, Some(false)) => "reach-bad",
                        (false, Some(true)) => "reach-warn",
                        _ => "none",
                    }
                    .into(),
                    text: if r.reachable { "reaches" } else { "blocked" }.into(),
                    title: r.detail.clone().unwrap_or_default(),
                },
            )
        })
        .collect();
    Some(matrix(cells, idx, false))
}

fn since(d: &Diff, idx: &NodeIndex<'_>) -> Since {
    let name = |s: Option<Status>| s.map(Status::as_str).unwrap_or("absent");
    let sections = [
        ("new", "New failures", &d.new_failures),
        ("fixed", "Fixed", &d.fixed),
        ("evidence", "Changed evidence", &d.changed_evidence),
        ("status", "Other status changes", &d.status_changed),
    ]
    .into_iter()
    .map(|(key, title, changes)| ChangeSection {
        key,
        title,
        count: changes.len(),
        changes: diff::group(changes)
            .iter()
            .map(|g| {
                let names: Vec<&str> = g.nodes.iter().map(String::as_str).collect();
                ChangeView {
                    id: g.id.clone(),
                    title: g.title.clone(),
                    before: name(g.before),
                    after: name(g.after),
                    nodes: node_list(&names, Some(idx)),
                    before_evidence: g.before_evidence.clone(),
                    after_evidence: g.after_evidence.clone(),
                }
            })
            .collect(),
    })
    .collect();
    let names = |v: &[String]| {
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        node_list(&v, None)
    };
    Since {
        generated_at: d.old.generated_at.clone(),
        before: tiles(&d.old.summary.counts, &HashMap::new()),
        sections,
        nodes_added: names(&d.nodes_added),
        nodes_removed: names(&d.nodes_removed),
        scan_changed: d
            .nodes_scan_changed
            .iter()
            .map(|c| {
                (
                    c.node.clone(),
                    c.before.as_str(),
                    c.after.as_str(),
                    c.error.clone().unwrap_or_default(),
                )
            })
            .collect(),
        empty: d.is_empty(),
    }
}

fn view(report: &Report, opts: &HtmlOptions<'_>, css: String, js: String) -> View {
    let idx = NodeIndex::new(report);
    let c = &report.summary.counts;
    let groups = group_views(report, &idx);
    let mut group_counts: HashMap<Status, usize> = HashMap::new();
    for g in &groups {
        if let Some(s) = Status::parse(g.status) {
            *group_counts.entry(s).or_default() += 1;
        }
    }
    let total = c.total.max(1) as f64;
    let mut x = 0.0;
    let segments = Status::BY_SEVERITY
        .iter()
        .filter(|s| c.get(**s) > 0)
        .map(|&s| {
            let width = c.get(s) as f64 * 100.0 / total;
            let seg = Segment {
                status: s.as_str(),
                x,
                width,
                count: c.get(s),
            };
            x += width;
            seg
        })
        .collect();
    let (judged, unjudged): (Vec<_>, Vec<_>) = groups::by_section(report)
        .into_iter()
        .partition(|(_, _, c)| c.score().is_some());
    let unjudged = unjudged
        .into_iter()
        .map(|(id, title, c)| Unjudged {
            id: id.to_string(),
            title: title.to_string(),
            why: if c.manual > 0 { "manual" } else { "skipped" },
        })
        .collect();
    let sections = judged
        .into_iter()
        .map(|(id, title, c)| SectionRow {
            id: id.to_string(),
            title: title.to_string(),
            score: c.score(),
            heat: heat(c.score()),
            bar: c.score().unwrap_or(0),
            fail: c.fail,
            error: c.error,
            warn: c.warn,
            waived: c.waived,
            pass: c.pass,
            manual: c.manual,
        })
        .collect();
    let score = c.score();
    View {
        cluster: report.cluster_label().to_string(),
        benchmark_title: report.benchmark.title.clone(),
        benchmark_id: report.benchmark.id.clone(),
        kubernetes: report.benchmark.kubernetes.clone(),
        chosen: report.benchmark.chosen.clone().unwrap_or_default(),
        generated_at: report.generated_at.clone(),
        tool: format!("{} {}", report.tool.name, report.tool.version),
        nodes_total: report.summary.nodes.total,
        nodes_scanned: report.summary.nodes.scanned,
        nodes_not_scanned: report.summary.nodes.not_scanned,
        score,
        heat: heat(score),
        ring: score.unwrap_or(0),
        tiles: tiles(c, &group_counts),
        segments,
        gate: match opts.gate {
            Gate::Fail => "fail",
            Gate::Warn => "warn",
            Gate::None => "none",
        },
        gate_fails: report.fails(opts.gate),
        sections,
        unjudged,
        heatmap: heatmap(report, &idx),
        groups,
        nodes: node_rows(report),
        unscanned: unscanned(report),
        certificates: certificates(report, &idx),
        keys: super::html_keys::view(report),
        objects: super::html_objects::view(report),
        tls: tls(report, &idx),
        etcd: etcd(report, &idx),
        waivers: report
            .waivers
            .iter()
            .map(|w| WaiverRow {
                check: w.check.clone(),
                nodes: w.nodes.clone(),
                reason: w.reason.clone(),
                owner: w.owner.clone(),
                expires: w.expires.clone(),
                state: match w.state {
                    WaiverState::Expired => "expired",
                    WaiverState::Active if w.matched == 0 => "unused",
                    WaiverState::Active => "active",
                },
                matched: w.matched,
                origin: w.origin.clone(),
            })
            .collect(),
        waivers_given: !report.waivers.is_empty(),
        waivers_expired: report
            .waivers
            .iter()
            .filter(|w| w.state == WaiverState::Expired)
            .count(),
        since: opts.since.map(|d| since(d, &idx)),
        history: report
            .history
            .as_ref()
            .map(|h| super::history_view::view(report, h)),
        css,
        js,
    }
}

fn load(dir: Option<&Path>, name: &str, builtin: &str) -> Result<String, HtmlError> {
    match dir.map(|d| d.join(name)) {
        Some(p) if p.exists() => std::fs::read_to_string(&p)
            .map_err(|e| HtmlError(format!("{}: cannot read: {e}", p.display()))),
        _ => Ok(builtin.to_string()),
    }
}

/// Checks that the templates of `dir` load and parse (before a long scan).
pub fn check_templates(dir: &Path) -> Result<(), HtmlError> {
    let template = load(Some(dir), "report.html", TEMPLATE)?;
    load(Some(dir), "report.css", STYLE)?;
    load(Some(dir), "report.js", SCRIPT)?;
    let mut tera = tera::Tera::default();
    for (name, builtin) in PARTS {
        let text = load(Some(dir), name, builtin)?;
        tera.add_raw_template(name, &text)
            .map_err(|e| HtmlError(format!("{}: {}", dir.join(name).display(), tera_error(&e))))?;
    }
    tera.add_raw_template("report.html", &template)
        .map_err(|e| {
            HtmlError(format!(
                "{}: {}",
                dir.join("report.html").display(),
                tera_error(&e)
            ))
        })
}

/// Tera's message with its causes (the first line alone rarely says where).
fn tera_error(e: &tera::Error) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// Renders the report as one self-contained HTML page.
/// Tera's HTML escaping, with control characters (other than tab, newline
/// and carriage return) replaced by U+FFFD: HTML forbids them in text, a
/// browser may show or drop them silently, and node output can carry any of
/// them (a terminal escape sequence in a process name, say).
fn escape_text(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    if !input
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return tera::escape_html(input, out);
    }
    let clean: String = input
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    tera::escape_html(&clean, out)
}

pub fn render(report: &Report, opts: &HtmlOptions<'_>) -> Result<String, HtmlError> {
    let dir = opts.template_dir;
    let template = load(dir, "report.html", TEMPLATE)?;
    let css = load(dir, "report.css", STYLE)?;
    let js = load(dir, "report.js", SCRIPT)?;
    let mut tera = tera::Tera::default();
    tera.set_escape_fn(escape_text);
    let shown = match dir {
        Some(d) if d.join("report.html").exists() => d.join("report.html").display().to_string(),
        _ => "templates/report.html (built in)".to_string(),
    };
    for (name, builtin) in PARTS {
        let text = load(dir, name, builtin)?;
        let part_shown = match dir {
            Some(d) if d.join(name).exists() => d.join(name).display().to_string(),
            _ => format!("templates/{name} (built in)"),
        };
        tera.add_raw_template(name, &text)
            .map_err(|e| HtmlError(format!("{part_shown}: {}", tera_error(&e))))?;
    }
    tera.add_raw_template("report.html", &template)
        .map_err(|e| HtmlError(format!("{shown}: {}", tera_error(&e))))?;
    let ctx = tera::Context::from_serialize(&view(report, opts, css, js))
        .map_err(|e| HtmlError(format!("preparing the HTML report: {e}")))?;
    tera.render("report.html", &ctx)
        .map_err(|e| HtmlError(format!("{shown}: {}", tera_error(&e))))
}
