//! Evaluation speed for a large cluster: 1,000 nodes (a mix of the fixture
//! control planes and workers, renamed) against CIS 1.12.
//!
//! Run with `cargo bench --bench eval`. The target is under 1 s in release
//! mode for the evaluation of 1,000 nodes; the bench prints the median of
//! several runs, and the time to write the JSON and text reports.

use std::path::Path;
use std::time::{Duration, Instant};

use kubeharden::bench::load_builtin;
use kubeharden::engine::evaluate;
use kubeharden::facts::{NodeFacts, load_facts_path};

const NODES: usize = 1000;
const RUNS: usize = 7;

fn cluster() -> Vec<NodeFacts> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut templates = Vec::new();
    for s in ["kubeadm-default", "hardened", "misconfigured"] {
        templates.extend(load_facts_path(&root.join(s)).expect("fixtures load"));
    }
    (0..NODES)
        .map(|i| {
            let mut n = templates[i % templates.len()].clone();
            n.node.name = format!("node-{i:04}");
            n
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; keep it cheap then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let nodes = cluster();
    let bench = load_builtin("cis-1.12").expect("benchmark loads");
    let runs = if quick { 1 } else { RUNS };

    let mut eval_times = Vec::new();
    let mut report = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = evaluate(&bench, &nodes, "2026-01-01T00:00:00Z");
        eval_times.push(t.elapsed());
        report = Some(r);
    }
    let report = report.unwrap();

    let t = Instant::now();
    let mut json = Vec::new();
    kubeharden::report::json::write(&report, &mut json).unwrap();
    let json_time = t.elapsed();

    let t = Instant::now();
    let text = kubeharden::report::text::render(&report, kubeharden::report::text::Color::Never);
    let text_time = t.elapsed();

    let t = Instant::now();
    let loaded = load_builtin("cis-1.12").unwrap();
    let load_time = t.elapsed();

    println!(
        "evaluate {NODES} nodes x {} rules: median {:?} over {runs} runs (min {:?}, max {:?})",
        loaded.rules.len(),
        median(eval_times.clone()),
        eval_times.iter().min().unwrap(),
        eval_times.iter().max().unwrap()
    );
    println!("findings: {}", report.summary.counts.total);
    println!("json report: {:?} ({} bytes)", json_time, json.len());
    println!("text report: {:?} ({} bytes)", text_time, text.len());
    println!("load + validate benchmark: {load_time:?}");
    if !quick && median(eval_times) > Duration::from_secs(1) {
        eprintln!("evaluation is slower than the 1 s target");
        std::process::exit(1);
    }
}
