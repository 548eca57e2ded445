//! `kubeharden merge`: the inputs read and sorted into reports and facts,
//! then `engine::merge` (see there for what merging means).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use kubeharden::bench::{self, Benchmark};
use kubeharden::engine::merge::{merge_facts, merge_reports};
use kubeharden::facts::api::ClusterFacts;
use kubeharden::facts::{NodeFacts, load_cluster_facts, load_facts_path, parse_facts};
use kubeharden::report::Report;

use super::output;

enum Input {
    Report(Box<Report>),
    /// Node facts, and the cluster's objects when saved with them.
    Facts(Vec<NodeFacts>, Option<Box<ClusterFacts>>),
}

/// A JSON report (it has a summary and nodes with results), or facts.
fn read(path: &Path) -> Result<Input> {
    if path.is_dir() {
        return Ok(Input::Facts(
            load_facts_path(path)?,
            load_cluster_facts(path)?.map(Box::new),
        ));
    }
    let text = kubeharden::util::read_text(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not JSON (a report or facts)", path.display()))?;
    let is_report = value.get("summary").is_some() && value.get("benchmark").is_some();
    if is_report {
        let shown = path.display().to_string();
        return Ok(Input::Report(Box::new(kubeharden::report::json::parse(
            &shown, &text,
        )?)));
    }
    Ok(Input::Facts(
        parse_facts(path, &text)?,
        load_cluster_facts(path)?.map(Box::new),
    ))
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

pub fn run(
    given: Option<Benchmark>,
    inputs: &[PathBuf],
    out: &output::Plan,
) -> Result<output::Outcome> {
    let mut reports = Vec::new();
    let mut facts = Vec::new();
    // The cluster's objects are the same whoever read them: the first
    // input that has them (a partial scan reads them on one of its control
    // planes).
    let mut api: Option<ClusterFacts> = None;
    for p in inputs {
        match read(p)? {
            Input::Report(r) => reports.push((p.display().to_string(), *r)),
            Input::Facts(f, a) => {
                if api.is_none() || api.as_ref().is_some_and(|x| x.error.is_some()) {
                    api = a.map(|b| *b).or(api);
                }
                facts.push((p.display().to_string(), f));
            }
        }
    }
    let now = now();
    let report = if reports.is_empty() {
        // Facts only: one evaluation of the union, exactly as one scan.
        let (nodes, notes) = merge_facts(facts);
        for n in &notes.notes {
            eprintln!("merge: {n}");
        }
        let (bench, chosen) = super::resolve_benchmark(given, &nodes);
        let mut r = kubeharden::engine::evaluate_cluster(
            &bench,
            &nodes,
            api.as_ref(),
            &now,
            &out.eval_options(&now),
        );
        r.benchmark.chosen = chosen;
        r
    } else {
        // Facts among reports are judged against the reports' benchmark.
        let bench = match given {
            Some(b) => b,
            None => {
                let id = &reports[0].1.benchmark.id;
                bench::load_builtin(id).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: its benchmark {id} is not built in: {e}; give it with --benchmark",
                        reports[0].0
                    )
                })?
            }
        };
        if let Some((file, r)) = reports.iter().find(|(_, r)| r.benchmark.id != bench.id) {
            bail!(
                "{file} was judged against {}, not {}: merge reports of one benchmark (or merge their facts)",
                r.benchmark.id,
                bench.id
            );
        }
        for (file, nodes) in facts {
            let r = kubeharden::engine::evaluate_cluster(
                &bench,
                &nodes,
                api.as_ref(),
                &now,
                &out.eval_options(&now),
            );
            reports.push((file, r));
        }
        let (r, notes) = merge_reports(reports, &now)?;
        for n in &notes.notes {
            eprintln!("merge: {n}");
        }
        r
    };
    output::deliver(report, out)
}
