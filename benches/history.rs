//! The run history's speed and size (`--store`, SQLite): recording a
//! 1,000-node run (target under 2 s), `history trend` over 365 daily runs
//! of 100 nodes (target under 1 s), and how much each run adds to the file.
//!
//! Run with `cargo bench --bench history` (release). `cargo test --benches`
//! runs a small version of it to keep it compiling and working.

use std::path::Path;
use std::time::{Duration, Instant};

use kubeharden::bench::load_builtin;
use kubeharden::engine::evaluate;
use kubeharden::facts::{NodeFacts, load_facts_path};
use kubeharden::history::{Location, Store};
use kubeharden::report::{Report, Status};

fn cluster(n: usize) -> Vec<NodeFacts> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut templates = Vec::new();
    for s in ["kubeadm-default", "hardened", "misconfigured"] {
        templates.extend(load_facts_path(&root.join(s)).expect("fixtures load"));
    }
    (0..n)
        .map(|i| {
            let mut f = templates[i % templates.len()].clone();
            f.node.name = format!("node-{i:04}");
            f
        })
        .collect()
}

/// Day `day` of a year of daily runs: a few findings change each day (one
/// node's pass becomes a fail, the one before heals), as in a cluster
/// where someone fixes and someone breaks something.
fn day(base: &Report, day: usize) -> Report {
    let mut r = base.clone();
    r.generated_at = format!(
        "{}",
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + day as u64 * 86_400)
        )
    );
    let n = r.nodes.len();
    let node = &mut r.nodes[day % n];
    if let Some(f) = node.results.iter_mut().find(|f| f.status == Status::Pass) {
        f.status = Status::Fail;
        f.actual = format!("changed on day {day}");
    }
    r.recount();
    r
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let (big, small, days) = if quick {
        (100, 20, 10)
    } else {
        (1000, 100, 365)
    };
    let bench = load_builtin("cis-1.12").expect("benchmark loads");
    let dir = tempfile::tempdir().unwrap();

    // Recording one large run (the first: every item is new).
    let path = dir.path().join("big.db");
    let mut store = Store::open(&Location::Sqlite(path.clone())).unwrap();
    let mut report = evaluate(&bench, &cluster(big), "2026-01-01T00:00:00Z");
    let findings = report.summary.counts.total;
    let t = Instant::now();
    store.record(&mut report).unwrap();
    let first = t.elapsed();
    let size1 = std::fs::metadata(&path).unwrap().len() + wal(&path);
    let mut next = day(&report, 1);
    let t = Instant::now();
    store.record(&mut next).unwrap();
    let second = t.elapsed();
    drop(store);
    let size2 = std::fs::metadata(&path).unwrap().len();
    println!(
        "record a {big}-node run ({findings} findings): first {first:?}, next (few changes) {second:?}"
    );
    println!("store after 2 runs: {} KiB", size2 / 1024);
    let _ = size1;

    // A year of daily runs of a smaller cluster, then the trend.
    let path = dir.path().join("year.db");
    let mut store = Store::open(&Location::Sqlite(path.clone())).unwrap();
    let base = evaluate(&bench, &cluster(small), "2026-01-01T00:00:00Z");
    let t = Instant::now();
    let mut size_after_first = 0;
    for d in 0..days {
        let mut r = day(&base, d);
        store.record(&mut r).unwrap();
        if d == 0 {
            size_after_first = std::fs::metadata(&path).unwrap().len() + wal(&path);
        }
    }
    let all = t.elapsed();
    drop(store);
    let size = std::fs::metadata(&path).unwrap().len();
    let mut store = Store::open(&Location::Sqlite(path.clone())).unwrap();
    let t = Instant::now();
    let trend = store.trend(None).unwrap();
    let trend_time = t.elapsed();
    assert_eq!(trend.runs.len(), days);
    println!(
        "record {days} daily runs of {small} nodes: {all:?} ({:?} each)",
        all / days as u32
    );
    println!("history trend over {days} runs of {small} nodes: {trend_time:?}");
    println!(
        "store: {} KiB after the first run, {} KiB after {days}: {} bytes per later run",
        size_after_first / 1024,
        size / 1024,
        (size.saturating_sub(size_after_first)) / (days as u64 - 1).max(1)
    );
    if !quick {
        if first > Duration::from_secs(2) {
            eprintln!("recording {big} nodes is slower than the 2 s target");
            std::process::exit(1);
        }
        if trend_time > Duration::from_secs(1) {
            eprintln!("history trend is slower than the 1 s target");
            std::process::exit(1);
        }
    }
}

fn wal(db: &Path) -> u64 {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}
