//! Size and speed of the human-facing reports for a large cluster: 1,000
//! nodes (the fixture control planes and workers, renamed, with node-specific
//! process ids, addresses and a few node-specific values) against CIS 1.12.
//!
//! Run with `cargo bench --bench html`. It prints the median render time of
//! the HTML, JUnit and Markdown reports and their sizes. Targets, checked in
//! full runs: the HTML under 8 MB and rendered in under 2 s. Set
//! KUBEHARDEN_BENCH_HTML=FILE to keep the page for a look.

use std::path::Path;
use std::time::{Duration, Instant};

use kubeharden::bench::load_builtin;
use kubeharden::engine::evaluate;
use kubeharden::facts::{NodeFacts, load_facts_path};
use kubeharden::report::html::{self, HtmlOptions};
use kubeharden::report::{Gate, junit, markdown};

const NODES: usize = 1000;
const RUNS: usize = 5;
const MAX_HTML_BYTES: usize = 8 * 1024 * 1024;
const MAX_HTML_TIME: Duration = Duration::from_secs(2);

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
            n.node.address = format!("10.1.{}.{}", i / 250, i % 250 + 1);
            // Real nodes differ in process ids, which evidence quotes.
            for c in n.components.values_mut() {
                if let Some(pid) = c.pid.as_mut() {
                    *pid += i as u32 * 7;
                }
            }
            n
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        out = Some(f());
        times.push(t.elapsed());
    }
    (median(times), out.unwrap())
}

fn main() {
    // `cargo test --benches` runs this without --bench; keep it cheap then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = if quick { 1 } else { RUNS };
    let nodes = cluster();
    let bench = load_builtin("cis-1.12").expect("benchmark loads");
    let report = evaluate(&bench, &nodes, "2026-01-01T00:00:00Z");

    let (html_time, html) = time(runs, || {
        html::render(&report, &HtmlOptions::default()).expect("renders")
    });
    let (junit_time, junit) = time(runs, || junit::render(&report, Gate::Fail));
    let (md_time, md) = time(runs, || markdown::render(&report, None));

    println!(
        "{NODES} nodes x {} rules, {} findings",
        bench.rules.len(),
        report.summary.counts.total
    );
    println!(
        "html report:     median {html_time:?} over {runs} runs, {} bytes ({:.2} MB)",
        html.len(),
        html.len() as f64 / 1_048_576.0
    );
    if let Some(path) = std::env::var_os("KUBEHARDEN_BENCH_HTML") {
        std::fs::write(path, &html).expect("writes the page");
    }
    println!(
        "junit report:    median {junit_time:?}, {} bytes",
        junit.len()
    );
    println!("markdown report: median {md_time:?}, {} bytes", md.len());
    if html.len() > MAX_HTML_BYTES {
        eprintln!("the HTML report is larger than {MAX_HTML_BYTES} bytes");
        std::process::exit(1);
    }
    if !quick && html_time > MAX_HTML_TIME {
        eprintln!("the HTML report renders slower than {MAX_HTML_TIME:?}");
        std::process::exit(1);
    }
}
