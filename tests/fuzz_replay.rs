//! Replays what fuzzing found, on stable and without libFuzzer: every file
//! of the committed corpus (`fuzz/corpus/<target>/`) and every input that
//! once crashed or hung a target (`fuzz/regressions/<target>/`) goes
//! through the same target body as under `cargo fuzz` (`fuzz/src/lib.rs`).
//!
//! Each input runs on its own thread with a time limit: a panic fails the
//! test naming the file, and so does an input that runs too long (a hang is
//! a bug, as under the fuzzer's `-timeout`).

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Per input. Generous: the suite runs unoptimised, on a busy machine.
const LIMIT: Duration = Duration::from_secs(20);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().is_file() {
                files.push(e.path());
            }
        }
    }
    files.sort();
    files
}

/// Runs `run` on `data` on a thread; the error says what went wrong.
fn run_one(run: fn(&[u8]), data: Vec<u8>, limit: Duration) -> Result<Duration, String> {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let r = std::panic::catch_unwind(|| run(&data));
            let _ = tx.send(r.map_err(|e| {
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into())
            }));
        })
        .expect("thread starts");
    match rx.recv_timeout(limit) {
        Ok(Ok(())) => Ok(start.elapsed()),
        Ok(Err(msg)) => Err(format!("panicked: {msg}")),
        Err(_) => Err(format!("still running after {limit:?}")),
    }
}

#[test]
fn every_corpus_and_regression_input_runs_clean() {
    let mut failures = Vec::new();
    let mut count = 0;
    for t in targets::TARGETS {
        let files = inputs(t.name);
        assert!(
            !files.is_empty(),
            "fuzz target {} has no corpus in fuzz/corpus/{}",
            t.name,
            t.name
        );
        for f in files {
            let data = std::fs::read(&f).unwrap();
            count += 1;
            if let Err(e) = run_one(t.run, data, LIMIT) {
                failures.push(format!("{}: {}", f.display(), e));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_target_has_a_fuzz_binary_and_the_list_is_complete() {
    let dir = fuzz_dir().join("fuzz_targets");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".rs"))
                .map(str::to_string)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = targets::TARGETS
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed, "fuzz/fuzz_targets/*.rs and TARGETS differ");
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for t in &listed {
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{t}.rs\"")),
            "fuzz/Cargo.toml has no [[bin]] for {t}"
        );
    }
}

/// The replay would be worthless if the harness could not see a failure.
#[test]
fn the_harness_reports_a_panic_and_a_hang() {
    fn boom(_: &[u8]) {
        panic!("boom")
    }
    assert!(run_one(boom, vec![], LIMIT).unwrap_err().contains("boom"));
    fn hang(_: &[u8]) {
        std::thread::sleep(Duration::from_secs(3600))
    }
    let e = run_one(hang, vec![], Duration::from_millis(100)).unwrap_err();
    assert!(e.contains("still running"), "{e}");
    fn ok(_: &[u8]) {}
    assert!(run_one(ok, vec![], LIMIT).is_ok());
}

/// The collector seeds reach the facts: the replayed node is the lab's
/// kubeadm control plane, not an empty node that errored at the first frame.
#[test]
fn the_collector_seeds_replay_a_whole_node() {
    let data = std::fs::read(fuzz_dir().join("corpus/collect/lab-kubeadm-default-cp1")).unwrap();
    let facts = targets::collected(&data);
    assert!(facts.errors.is_empty(), "{:?}", facts.errors);
    let api = &facts.components[&kubeharden::facts::ComponentKind::ApiServer];
    assert!(api.running && api.argv.iter().any(|a| a.starts_with("--etcd-servers=")));
    assert!(facts.files.len() > 40, "{} files", facts.files.len());
    assert_eq!(
        facts.layout.as_ref().map(|l| l.name.as_str()),
        Some("kubeadm")
    );
}
