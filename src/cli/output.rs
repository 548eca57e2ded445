//! After evaluation, for `eval` and `scan`: name the cluster, apply the
//! waivers, compare with the baseline, write every report asked for, and
//! judge the gate. Inputs (waivers, baseline, templates) are all read and
//! checked when the plan is made, before any node is scanned.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use kubeharden::report::html::{self, HtmlOptions};
use kubeharden::report::text::Color;
use kubeharden::report::waivers::{self, Date, Waiver};
use kubeharden::report::{self, Gate, Report, diff};

use kubeharden::history::{Location, Store};

use super::{Format, ReportArgs, color_for, write_out};

pub struct Plan {
    format: Format,
    output: Option<PathBuf>,
    color: Color,
    /// Extra reports: `--html`, `--json`, `--junit`, `--md`.
    files: Vec<(Format, PathBuf)>,
    /// `--metrics FILE`: Prometheus text, written atomically.
    metrics: Option<PathBuf>,
    template_dir: Option<PathBuf>,
    cluster_name: Option<String>,
    baseline: Option<Report>,
    waivers: Option<Vec<Waiver>>,
    gate: Gate,
    cert_fail_days: i64,
    cert_warn_days: i64,
    key_max_age_days: i64,
    old_key_grace_days: i64,
    ca_warn_days: i64,
    /// `--store`: where the run is recorded.
    store: Option<Location>,
}

/// What a delivered report means for the exit code.
pub struct Outcome {
    /// The run fails its `--fail-on` gate.
    pub fails: bool,
    /// `--store` could not be opened or written (the reports were written).
    pub store_failed: bool,
}

impl Plan {
    /// The engine's options for a report made at `now` (RFC 3339).
    pub fn eval_options(&self, now: &str) -> kubeharden::engine::EvalOptions {
        kubeharden::engine::EvalOptions {
            cert_fail_days: self.cert_fail_days,
            cert_warn_days: self.cert_warn_days,
            key_max_age_days: self.key_max_age_days,
            old_key_grace_days: self.old_key_grace_days,
            ca_warn_days: self.ca_warn_days,
            ..kubeharden::engine::EvalOptions::at(now)
        }
    }
}

/// Reads a JSON report written by kubeharden (for `diff` and `--baseline`).
pub fn read_report(path: &Path) -> Result<Report> {
    Ok(report::json::read(path)?)
}

/// `ids`: the check ids a waiver may name.
pub fn plan(a: ReportArgs, ids: &[String]) -> Result<Plan> {
    let mut files = Vec::new();
    for (format, path) in [
        (Format::Html, a.html),
        (Format::Json, a.json),
        (Format::Junit, a.junit),
        (Format::Md, a.md),
    ] {
        if let Some(p) = path {
            files.push((format, p));
        }
    }
    if let Some(dir) = &a.template_dir {
        if !dir.is_dir() {
            bail!("--template-dir {}: not a directory", dir.display());
        }
        // A template that does not parse is found now, not after a scan.
        html::check_templates(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let waivers = match &a.waivers {
        Some(p) => Some(waivers::load(p, ids).map_err(|e| anyhow::anyhow!("{e}"))?),
        None => None,
    };
    let baseline = a.baseline.as_deref().map(read_report).transpose()?;
    if a.cert_fail_days < 0 || a.cert_warn_days < a.cert_fail_days {
        bail!(
            "--cert-fail-days {} and --cert-warn-days {}: need 0 <= fail days <= warn days",
            a.cert_fail_days,
            a.cert_warn_days
        );
    }
    for (flag, v) in [
        ("--key-max-age", a.key_max_age),
        ("--old-key-grace-days", a.old_key_grace_days),
        ("--ca-warn-days", a.ca_warn_days),
    ] {
        if v < 0 {
            bail!("{flag} {v}: need a number of days, 0 or more");
        }
    }
    let store = match &a.store {
        Some(s) => Some(super::history::location(Some(s))?),
        None => None,
    };
    Ok(Plan {
        store,
        color: color_for(a.color, &a.output),
        format: a.format,
        output: a.output,
        files,
        metrics: a.metrics,
        template_dir: a.template_dir,
        cluster_name: a.cluster_name,
        baseline,
        waivers,
        gate: a.fail_on.gate(),
        cert_fail_days: a.cert_fail_days,
        cert_warn_days: a.cert_warn_days,
        key_max_age_days: a.key_max_age,
        old_key_grace_days: a.old_key_grace_days,
        ca_warn_days: a.ca_warn_days,
    })
}

fn render(
    report: &Report,
    format: Format,
    plan: &Plan,
    since: Option<&diff::Diff>,
) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Text => report::text::render(report, plan.color).into_bytes(),
        Format::Json => {
            let mut buf = Vec::new();
            report::json::write(report, &mut buf)?;
            buf
        }
        Format::Junit => report::junit::render(report, plan.gate).into_bytes(),
        Format::Md => report::markdown::render(report, since).into_bytes(),
        Format::Html => html::render(
            report,
            &HtmlOptions {
                template_dir: plan.template_dir.as_deref(),
                since,
                gate: plan.gate,
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_bytes(),
    })
}

/// Finishes the report (with `--store`: records it and adds its history)
/// and writes it. A store that fails is said on stderr; the reports are
/// written all the same.
pub fn deliver(mut report: Report, plan: &Plan) -> Result<Outcome> {
    // A merged report keeps the name its inputs agree on, unless one is given.
    if plan.cluster_name.is_some() {
        report.cluster.name = plan.cluster_name.clone();
    }
    if let Some(w) = &plan.waivers {
        let today = Date::parse(&report.generated_at)
            .with_context(|| format!("report time {:?} has no date", report.generated_at))?;
        waivers::apply(&mut report, w, today);
    }
    let mut store_failed = false;
    if let Some(loc) = &plan.store {
        match Store::open(loc).and_then(|mut s| s.record(&mut report)) {
            Ok(id) => eprintln!("kubeharden: recorded as run {id} in {}", loc.display()),
            Err(e) => {
                store_failed = true;
                // Finding ages are only shown when the run was recorded.
                report.history = None;
                for n in &mut report.nodes {
                    for f in &mut n.results {
                        f.age = Default::default();
                    }
                }
                for f in &mut report.cluster.results {
                    f.age = Default::default();
                }
                eprintln!("kubeharden: {e}");
                let recorded = matches!(e, kubeharden::history::HistoryError::Annotate { .. });
                eprintln!(
                    "kubeharden: {}; the reports are written without its history (exit code 3)",
                    if recorded {
                        "the run is in the store"
                    } else {
                        "the run was not recorded"
                    }
                );
            }
        }
    }
    let since = plan.baseline.as_ref().map(|old| diff::diff(old, &report));
    for (format, path) in &plan.files {
        let bytes = render(&report, *format, plan, since.as_ref())?;
        write_out(Some(path), &bytes)?;
    }
    if let Some(path) = &plan.metrics {
        report::metrics::write_atomic(path, report::metrics::render(&report).as_bytes())
            .with_context(|| format!("{}: cannot write the metrics", path.display()))?;
    }
    let bytes = render(&report, plan.format, plan, since.as_ref())?;
    write_out(plan.output.as_ref(), &bytes)?;
    let fails = report.fails(plan.gate);
    if store_failed {
        eprintln!(
            "kubeharden: the run {} its --fail-on gate",
            if fails { "fails" } else { "passes" }
        );
    }
    Ok(Outcome {
        fails,
        store_failed,
    })
}
