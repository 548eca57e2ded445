//! The HTML report's "Keys and rotation" section: the view of
//! `report.keys` that `templates/keys.html` draws, a table and a timeline of
//! each key's age (from its last change to the scan) and, for CAs and
//! certificates, the time it has left, drawn on one axis.

use serde::Serialize;

use super::Report;
use crate::verdict::KeyInfo;

/// Rows drawn in the timeline (the table lists them all).
const MAX_BARS: usize = 40;
const WIDTH: f64 = 840.0;
const ROW: f64 = 16.0;

#[derive(Serialize)]
pub(super) struct KeyRow {
    node: String,
    kind: String,
    name: String,
    role: String,
    path: String,
    since: String,
    age_days: String,
    not_after: String,
    days_left: String,
    class: &'static str,
}

#[derive(Serialize)]
pub(super) struct KeyBar {
    label: String,
    y: f64,
    text_y: f64,
    age_x: f64,
    age_width: f64,
    left_x: f64,
    left_width: f64,
    class: &'static str,
    title: String,
}

#[derive(Serialize)]
pub(super) struct KeyTick {
    x: f64,
    label: String,
}

#[derive(Serialize)]
pub(super) struct Keys {
    rows: Vec<KeyRow>,
    total: usize,
    bars: Vec<KeyBar>,
    ticks: Vec<KeyTick>,
    now_x: f64,
    height: f64,
    axis_y: f64,
}

/// Older keys look worse: more than a year, more than 90 days (the
/// default --key-max-age), younger; a CA or certificate near its end too.
fn class(k: &KeyInfo) -> &'static str {
    match (k.age_days, k.days_left) {
        (_, Some(d)) if d < 0 => "expired",
        (_, Some(d)) if d < 365 && k.kind == "ca" => "soon",
        (Some(a), _) if a > 365 => "soon",
        (Some(a), _) if a > 90 => "near",
        (Some(_), _) => "ok",
        _ => "unknown",
    }
}

pub(super) fn view(report: &Report) -> Option<Keys> {
    let keys = report.keys.as_ref()?;
    let mut sorted: Vec<&KeyInfo> = keys.iter().collect();
    sorted.sort_by(|a, b| {
        b.age_days
            .unwrap_or(-1)
            .cmp(&a.age_days.unwrap_or(-1))
            .then_with(|| a.node.cmp(&b.node))
            .then_with(|| a.name.cmp(&b.name))
    });
    let rows: Vec<KeyRow> = sorted
        .iter()
        .map(|k| KeyRow {
            node: k.node.clone(),
            kind: k.kind.clone(),
            name: k.name.clone(),
            role: k.role.clone(),
            path: k.path.clone(),
            since: k
                .since
                .as_deref()
                .map(|s| s[..s.len().min(10)].to_string())
                .unwrap_or_else(|| "unknown".into()),
            age_days: k.age_days.map(|d| d.to_string()).unwrap_or_default(),
            not_after: k
                .not_after
                .as_deref()
                .map(|s| s[..s.len().min(10)].to_string())
                .unwrap_or_default(),
            days_left: k.days_left.map(|d| d.to_string()).unwrap_or_default(),
            class: class(k),
        })
        .collect();
    // One axis in days from the scan: ages to the left, time left to the
    // right, each side as long as its longest bar (at least 90 days; the
    // right side at most ten years).
    let dated: Vec<&&KeyInfo> = sorted.iter().filter(|k| k.age_days.is_some()).collect();
    let past = dated
        .iter()
        .filter_map(|k| k.age_days)
        .max()
        .unwrap_or(0)
        .max(90);
    let future = dated
        .iter()
        .filter_map(|k| k.days_left)
        .max()
        .unwrap_or(0)
        .clamp(0, 3650);
    let span = (past + future).max(1) as f64;
    let x = |d: i64| (d.clamp(-past, future) + past) as f64 * WIDTH / span;
    let bars: Vec<KeyBar> = dated
        .iter()
        .take(MAX_BARS)
        .enumerate()
        .map(|(i, k)| {
            let age = k.age_days.unwrap_or(0);
            let left = k.days_left.unwrap_or(0).max(0);
            let y = i as f64 * ROW;
            KeyBar {
                label: format!("{} {}", k.node, k.name),
                y,
                text_y: y + ROW - 5.0,
                age_x: x(-age),
                age_width: (x(0) - x(-age)).max(1.0),
                left_x: x(0),
                left_width: if k.days_left.is_some() {
                    (x(left) - x(0)).max(1.0)
                } else {
                    0.0
                },
                class: class(k),
                title: format!(
                    "{} on {}: {} {}, {} days old{}",
                    k.name,
                    k.node,
                    k.kind,
                    k.role,
                    age,
                    k.days_left
                        .map(|d| format!(", {d} days left"))
                        .unwrap_or_default()
                ),
            }
        })
        .collect();
    let axis_y = bars.len() as f64 * ROW + 4.0;
    let mut ticks = vec![KeyTick {
        x: x(0),
        label: "scan".into(),
    }];
    for d in [-past, -past / 2, future / 2, future] {
        if d != 0 && !ticks.iter().any(|t| (t.x - x(d)).abs() < 40.0) {
            ticks.push(KeyTick {
                x: x(d),
                label: format!("{d:+} d"),
            });
        }
    }
    Some(Keys {
        total: rows.len(),
        rows,
        now_x: x(0),
        height: axis_y + 24.0,
        axis_y,
        bars,
        ticks,
    })
}
