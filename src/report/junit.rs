//! JUnit XML for CI systems: one `<testsuite>` per node (and one for the
//! cluster checks), one `<testcase>` per check.
//!
//! | status | testcase |
//! |---|---|
//! | `pass` | passes |
//! | `fail` | `<failure>` with the evidence |
//! | `error` | `<error>` with the reason |
//! | `warn` | `<failure>` under `--fail-on warn`; otherwise passes, with the evidence in `<system-out>` |
//! | `waived`, `manual`, `skip` | `<skipped>` with the reason |
//!
//! A node that could not be scanned is a suite with one `<error>` testcase,
//! `scan`. Node text is escaped, and characters XML 1.0 forbids are written
//! as visible `\u{..}` escapes, so the file always parses.

use std::fmt::Write;

use super::{Counts, Finding, Gate, Report, Status};
use crate::facts::ScanStatus;

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            // C0 controls are not allowed in XML 1.0; C1 controls and DEL are
            // "discouraged" and break some JUnit consumers.
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn evidence(f: &Finding) -> String {
    let mut body = String::new();
    for (label, text) in [
        ("expected", f.expected.as_str()),
        ("actual", f.actual.as_str()),
        ("source", f.source.as_str()),
        ("reason", f.reason.as_deref().unwrap_or("")),
        ("remediation", f.remediation.as_str()),
    ] {
        if !text.is_empty() {
            let _ = writeln!(body, "{label}: {text}");
        }
    }
    body
}

fn summary_line(f: &Finding) -> &str {
    if !f.actual.is_empty() {
        &f.actual
    } else {
        f.reason.as_deref().unwrap_or(&f.expected)
    }
}

/// Counts as JUnit sees them: (tests, failures, errors, skipped).
fn tallies(c: &Counts, gate: Gate) -> (usize, usize, usize, usize) {
    let warn_fails = gate == Gate::Warn;
    (
        c.total,
        c.fail + if warn_fails { c.warn } else { 0 },
        c.error,
        c.skip + c.manual + c.waived,
    )
}

fn testcase(out: &mut String, suite: &str, f: &Finding, gate: Gate) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
        escape(suite),
        escape(&format!("{} {}", f.id, f.title))
    );
    let (tag, kind) = match f.status {
        Status::Pass => ("", ""),
        Status::Fail => ("failure", "fail"),
        Status::Warn if gate == Gate::Warn => ("failure", "warn"),
        Status::Warn => ("system-out", "warn"),
        Status::Error => ("error", "error"),
        Status::Waived | Status::Manual | Status::Skip => ("skipped", f.status.as_str()),
    };
    match tag {
        "" => out.push_str("/>\n"),
        "skipped" => {
            let why = match (&f.waiver, f.status) {
                (Some(w), Status::Waived) => format!(
                    "waived: {} (owner {}, until {})",
                    w.reason, w.owner, w.expires
                ),
                _ => format!("{kind}: {}", f.reason.as_deref().unwrap_or("")),
            };
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                escape(&why)
            );
        }
        "system-out" => {
            let _ = writeln!(
                out,
                ">\n      <system-out>warn (not scored)&#10;{}</system-out>\n    </testcase>",
                escape(&evidence(f))
            );
        }
        _ => {
            let _ = writeln!(
                out,
                ">\n      <{tag} type=\"{kind}\" message=\"{}\">{}</{tag}>\n    </testcase>",
                escape(summary_line(f)),
                escape(&evidence(f))
            );
        }
    }
}

/// Renders the report as JUnit XML. `gate` decides whether `warn` findings
/// are failures, so that the XML agrees with the exit code.
pub fn render(report: &Report, gate: Gate) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut all = report.summary.counts;
    let unscanned = report.summary.nodes.not_scanned;
    all.total += unscanned;
    let (tests, failures, errors, skipped) = tallies(&all, gate);
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{}\" skipped=\"{skipped}\">",
        escape(&format!(
            "kubeharden {}: {}",
            report.cluster_label(),
            report.benchmark.title
        )),
        errors + unscanned
    );
    for n in &report.nodes {
        let roles: Vec<&str> = n.roles.iter().map(|r| r.as_str()).collect();
        let props = format!(
            "    <properties>\n      <property name=\"roles\" value=\"{}\"/>\n      <property name=\"scan_status\" value=\"{}\"/>\n      <property name=\"address\" value=\"{}\"/>\n{}    </properties>\n",
            escape(&roles.join(",")),
            n.scan_status.as_str(),
            escape(&n.address),
            n.layout
                .as_ref()
                .map(|l| format!(
                    "      <property name=\"layout\" value=\"{}\"/>\n",
                    escape(&crate::verdict::layout_text(l))
                ))
                .unwrap_or_default()
        );
        if n.scan_status != ScanStatus::Ok {
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" timestamp=\"{}\">\n{props}    <testcase classname=\"{}\" name=\"scan\" time=\"0\">\n      <error type=\"{}\" message=\"{}\">the node could not be scanned: none of its checks were evaluated</error>\n    </testcase>\n  </testsuite>",
                escape(&n.name),
                escape(&report.generated_at),
                escape(&n.name),
                n.scan_status.as_str(),
                escape(n.error.as_deref().unwrap_or(n.scan_status.as_str()))
            );
            continue;
        }
        let (tests, failures, errors, skipped) = tallies(&n.summary, gate);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" timestamp=\"{}\">",
            escape(&n.name),
            escape(&report.generated_at)
        );
        out.push_str(&props);
        for f in &n.results {
            testcase(&mut out, &n.name, f, gate);
        }
        out.push_str("  </testsuite>\n");
    }
    if !report.cluster.results.is_empty() {
        let (tests, failures, errors, skipped) =
            tallies(&Counts::of(&report.cluster.results), gate);
        let _ = writeln!(
            out,
            "  <testsuite name=\"cluster\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" timestamp=\"{}\">",
            escape(&report.generated_at)
        );
        for f in &report.cluster.results {
            testcase(&mut out, "cluster", f, gate);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_special_and_forbidden_characters_are_escaped() {
        assert_eq!(
            escape("<a b='c'>&\"\x1b\n"),
            "&lt;a b=&apos;c&apos;&gt;&amp;&quot;\\u{1b}&#10;"
        );
    }
}
