//! Metrics for monitoring: the report as Prometheus text exposition format
//! (version 0.0.4), for node_exporter's textfile collector.
//!
//! A nightly scan that writes `--metrics /var/lib/node_exporter/textfile/kubeharden.prom`
//! turns every verdict into a series that Prometheus scrapes and alerting
//! rules watch: a check that starts to fail, a node that stops being
//! scanned, a certificate close to its expiry. The textfile collector reads
//! the file while kubeharden may be writing it, so the file is replaced
//! atomically (see [`write_atomic`]).
//!
//! Series, and their cardinality (also in docs/metrics.md):
//! - `kubeharden_check_status{node,check,section,status}` = 1: one series per
//!   check and node (cluster-scope checks have `node=""`). This is the only
//!   family that grows with nodes × checks, so it is capped at
//!   [`MAX_CHECK_SERIES`]; beyond the cap, passing and skipped checks are left
//!   out first (the alertable statuses are kept), and
//!   `kubeharden_metrics_dropped_series` says how many were left out.
//! - `kubeharden_check_nodes{check,status}`: how many nodes have each status
//!   for each check: checks × statuses at most, never capped, so a fleet too
//!   large for per-node series still has every check's picture.
//! - `kubeharden_section_score_ratio{section}` and `kubeharden_score_ratio`:
//!   the report's scores (pass over judged), 0 to 1; a section with nothing
//!   judged has no series.
//! - `kubeharden_certificate_expiry_timestamp_seconds{node,path,subject}`:
//!   capped at [`MAX_CERT_SERIES`], soonest expiry first.
//! - `kubeharden_node_scan_status{node,status}` = 1,
//!   `kubeharden_node_scan_duration_seconds{node}`.
//! - `kubeharden_run_timestamp_seconds`, `kubeharden_info{version,benchmark,cluster}`.
//!
//! Label values come from nodes (certificate subjects, paths) and from
//! inventories (node names): they are escaped as the format requires,
//! control characters replaced, and cut to [`MAX_LABEL_BYTES`].

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::verdict::{Finding, Report, Status};

/// Most `kubeharden_check_status` series in one file: 150 nodes of every
/// CIS check. Prometheus handles far more, but one file from one run should
/// not be what blows a server's series budget.
pub const MAX_CHECK_SERIES: usize = 20_000;
/// Most certificate series in one file.
pub const MAX_CERT_SERIES: usize = 5_000;
/// Longest label value, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;

/// A label value as the text format needs it: `\`, `"` and newlines escaped,
/// other control characters replaced, cut on a character boundary.
pub fn label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_LABEL_BYTES));
    for c in s.chars() {
        let piece: &str = match c {
            '\\' => "\\\\",
            '"' => "\\\"",
            '\n' => "\\n",
            c if c.is_control() => "\u{fffd}",
            _ => {
                if out.len() + c.len_utf8() > MAX_LABEL_BYTES {
                    break;
                }
                out.push(c);
                continue;
            }
        };
        if out.len() + piece.len() > MAX_LABEL_BYTES {
            break;
        }
        out.push_str(piece);
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", label_value(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// Seconds since the Unix epoch of an RFC 3339 time.
fn unix_seconds(rfc3339: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(rfc3339.trim_end_matches('Z')).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_secs()).ok()
}

/// How much a status says that something needs attention; kept first when
/// the check series are capped.
fn urgency(s: Status) -> u8 {
    match s {
        Status::Fail | Status::Error => 0,
        Status::Warn => 1,
        Status::Manual | Status::Waived => 2,
        Status::Pass | Status::Skip => 3,
    }
}

/// The whole metrics file for a report.
pub fn render(report: &Report) -> String {
    render_capped(report, MAX_CHECK_SERIES, MAX_CERT_SERIES)
}

/// [`render`] with explicit caps (tests use small ones).
pub fn render_capped(report: &Report, max_checks: usize, max_certs: usize) -> String {
    let mut out = String::new();
    let cluster = report.cluster.name.as_deref().unwrap_or("");

    family(
        &mut out,
        "kubeharden_info",
        "The kubeharden version, benchmark and cluster of this run (always 1).",
    );
    let _ = writeln!(
        out,
        "kubeharden_info{} 1",
        labels(&[
            ("version", &report.tool.version),
            ("benchmark", &report.benchmark.id),
            ("cluster", cluster),
        ])
    );
    if let Some(t) = unix_seconds(&report.generated_at) {
        family(
            &mut out,
            "kubeharden_run_timestamp_seconds",
            "When the report was made, in seconds since the Unix epoch.",
        );
        let _ = writeln!(out, "kubeharden_run_timestamp_seconds {t}");
    }

    // Every finding, with its node ("" for the cluster's).
    let mut findings: Vec<(&str, &Finding)> = report
        .nodes
        .iter()
        .flat_map(|n| n.results.iter().map(move |f| (n.name.as_str(), f)))
        .chain(report.cluster.results.iter().map(|f| ("", f)))
        .collect();

    family(
        &mut out,
        "kubeharden_check_nodes",
        "How many nodes have each status for each check (cluster-scope checks count once).",
    );
    let mut per_check: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
    for (_, f) in &findings {
        *per_check
            .entry((f.id.as_str(), f.status.as_str()))
            .or_default() += 1;
    }
    for ((check, status), n) in &per_check {
        let _ = writeln!(
            out,
            "kubeharden_check_nodes{} {n}",
            labels(&[("check", check), ("status", status)])
        );
    }

    family(
        &mut out,
        "kubeharden_check_status",
        "1 for the status a check has on a node (node=\"\" for cluster-scope checks).",
    );
    let dropped = findings.len().saturating_sub(max_checks);
    if dropped > 0 {
        // Keep the statuses someone must act on.
        findings.sort_by_key(|(_, f)| urgency(f.status));
        findings.truncate(max_checks);
    }
    for (node, f) in &findings {
        let _ = writeln!(
            out,
            "kubeharden_check_status{} 1",
            labels(&[
                ("node", node),
                ("check", &f.id),
                ("section", &f.section),
                ("status", f.status.as_str()),
            ])
        );
    }
    family(
        &mut out,
        "kubeharden_metrics_dropped_series",
        "Series left out of this file by its caps (checks by node, certificates).",
    );
    let certs = report.certificates.as_deref().unwrap_or(&[]);
    let cert_dropped = certs.len().saturating_sub(max_certs);
    let _ = writeln!(
        out,
        "kubeharden_metrics_dropped_series{} {dropped}",
        labels(&[("family", "kubeharden_check_status")])
    );
    let _ = writeln!(
        out,
        "kubeharden_metrics_dropped_series{} {cert_dropped}",
        labels(&[("family", "kubeharden_certificate_expiry_timestamp_seconds")])
    );

    // Scores.
    let mut sections: std::collections::BTreeMap<&str, crate::verdict::Counts> = Default::default();
    let mut all = crate::verdict::Counts::default();
    for (_, f) in report
        .nodes
        .iter()
        .flat_map(|n| n.results.iter().map(move |f| (n.name.as_str(), f)))
        .chain(report.cluster.results.iter().map(|f| ("", f)))
    {
        sections
            .entry(f.section.as_str())
            .or_default()
            .add(f.status);
        all.add(f.status);
    }
    family(
        &mut out,
        "kubeharden_section_score_ratio",
        "Share of the judged checks of a section that held (pass over pass, fail, warn and error), 0 to 1.",
    );
    for (section, c) in &sections {
        if let Some(score) = c.score() {
            let _ = writeln!(
                out,
                "kubeharden_section_score_ratio{} {}",
                labels(&[("section", section)]),
                f64::from(score) / 100.0
            );
        }
    }
    if let Some(score) = all.score() {
        family(
            &mut out,
            "kubeharden_score_ratio",
            "Share of all judged checks that held, 0 to 1.",
        );
        let _ = writeln!(out, "kubeharden_score_ratio {}", f64::from(score) / 100.0);
    }

    // Certificates, soonest expiry first.
    family(
        &mut out,
        "kubeharden_certificate_expiry_timestamp_seconds",
        "When a certificate found on a node expires, in seconds since the Unix epoch.",
    );
    let mut sorted: Vec<_> = certs.iter().collect();
    sorted.sort_by_key(|c| c.days_left);
    for c in sorted.into_iter().take(max_certs) {
        if let Some(t) = unix_seconds(&c.not_after) {
            let _ = writeln!(
                out,
                "kubeharden_certificate_expiry_timestamp_seconds{} {t}",
                labels(&[
                    ("node", &c.node),
                    ("path", &c.path),
                    ("subject", &c.subject)
                ])
            );
        }
    }

    // Nodes.
    family(
        &mut out,
        "kubeharden_node_scan_status",
        "1 for how far a node's scan got (ok, unreachable, auth-failed, ...).",
    );
    for n in &report.nodes {
        let _ = writeln!(
            out,
            "kubeharden_node_scan_status{} 1",
            labels(&[("node", &n.name), ("status", n.scan_status.as_str())])
        );
    }
    family(
        &mut out,
        "kubeharden_node_scan_duration_seconds",
        "How long a node's connection and collection took.",
    );
    for n in &report.nodes {
        if let Some(ms) = n.scan_duration_ms {
            let _ = writeln!(
                out,
                "kubeharden_node_scan_duration_seconds{} {}",
                labels(&[("node", &n.name)]),
                ms as f64 / 1000.0
            );
        }
    }
    out
}

/// Replaces `path` with `bytes` so that a reader sees the old file or the
/// new one, never a part: a temporary file beside it (its name does not end
/// in `.prom`, so the textfile collector skips it), synced, then renamed over
/// `path`. The temporary file is removed when anything fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "metrics".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_cannot_break_out() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(label_value("x\u{1b}[31my\r"), "x\u{fffd}[31my\u{fffd}");
        let long = "é".repeat(400);
        let v = label_value(&long);
        assert!(v.len() <= MAX_LABEL_BYTES && v.chars().all(|c| c == 'é'));
        // An escape is never cut in half.
        let quotes = "\"".repeat(300);
        let v = label_value(&quotes);
        assert!(v.len() <= MAX_LABEL_BYTES);
        assert_eq!(v.len() % 2, 0, "{v}");
    }

    #[test]
    fn rfc3339_times_become_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(unix_seconds("2026-12-04T00:00:00Z"), Some(1_796_342_400));
        assert_eq!(unix_seconds("soon"), None);
    }
}
