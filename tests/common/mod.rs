//! Shared by the fixture and lab tests: the expected verdicts of a scenario
//! node (tests/fixtures/<scenario>/expected.toml) and the comparison of a
//! node report against them, check by check.

#![allow(dead_code)]

pub mod api;
#[allow(dead_code)]
pub mod lab;
pub mod pg;
pub mod sshd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kubeharden::bench::{Benchmark, Scope};
use kubeharden::report::{Finding, NodeReport, Status};

pub fn fixture(scenario: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(scenario)
}

/// The report of a fixture cluster against CIS 1.12, made at a fixed time.
pub fn fixture_report(scenario: &str) -> kubeharden::report::Report {
    let bench = kubeharden::bench::load_builtin("cis-1.12").unwrap();
    let nodes = kubeharden::facts::load_facts_path(&fixture(scenario)).unwrap();
    kubeharden::engine::evaluate(&bench, &nodes, "2026-11-24T10:15:02Z")
}

pub fn strings(t: &toml::Table, key: &str) -> Vec<String> {
    t.get(key)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The full expected status of every result id on one node.
pub fn expected_statuses(bench: &Benchmark, node: &toml::Table) -> BTreeMap<String, Status> {
    let node_rules: Vec<&str> = bench
        .rules
        .iter()
        // kubeharden's own checks are listed by id (drift, presence, other).
        .filter(|r| r.scope == Scope::Node && r.builtin.is_none())
        .map(|r| r.id.as_str())
        .collect();
    let mut out: BTreeMap<String, Status> = node_rules
        .iter()
        .map(|id| (id.to_string(), Status::Pass))
        .collect();
    for (key, status) in [
        ("fail", Status::Fail),
        ("warn", Status::Warn),
        ("manual", Status::Manual),
        ("skip", Status::Skip),
        ("error", Status::Error),
    ] {
        for pat in strings(node, key) {
            let ids: Vec<&str> = match pat.strip_suffix('*') {
                Some(prefix) => node_rules
                    .iter()
                    .copied()
                    .filter(|id| id.starts_with(prefix))
                    .collect(),
                None => {
                    assert!(
                        node_rules.contains(&pat.as_str()),
                        "unknown id {pat} in expected.toml"
                    );
                    vec![pat.as_str()]
                }
            };
            assert!(!ids.is_empty(), "pattern {pat} matches nothing");
            for id in ids {
                let prev = out.insert(id.to_string(), status);
                assert_eq!(prev, Some(Status::Pass), "{id} listed under two statuses");
            }
        }
    }
    for c in strings(node, "drift") {
        out.insert(format!("drift.{c}"), Status::Pass);
    }
    for c in strings(node, "presence") {
        out.insert(format!("presence.{c}"), Status::Pass);
    }
    // Findings outside the benchmark (certificates...), by id.
    if let Some(other) = node.get("other").and_then(|o| o.as_table()) {
        for (id, status) in other {
            let status: Status = serde_json::from_value(serde_json::Value::String(
                status.as_str().expect("status name").to_string(),
            ))
            .expect("a status name");
            out.insert(id.clone(), status);
        }
    }
    for c in strings(node, "drift_warn") {
        out.insert(format!("drift.{c}"), Status::Warn);
    }
    out
}

pub fn expected(scenario: &str) -> toml::Table {
    let text = std::fs::read_to_string(fixture(scenario).join("expected.toml")).unwrap();
    text.parse().unwrap()
}

pub fn evidence_text(f: &Finding) -> String {
    format!(
        "{} | {} | {}",
        f.actual,
        f.source,
        f.reason.as_deref().unwrap_or("")
    )
}

/// Differences between a node's results and its expected table, as lines;
/// empty when every check has its expected status and evidence.
/// `overrides` replaces the expected status of some ids (with a reason).
pub fn compare(
    bench: &Benchmark,
    node: &NodeReport,
    table: &toml::Table,
    overrides: &BTreeMap<String, Status>,
) -> Vec<String> {
    let mut want = expected_statuses(bench, table);
    for (id, s) in overrides {
        want.insert(id.clone(), *s);
    }
    let got: BTreeMap<String, Status> = node
        .results
        .iter()
        .map(|f| (f.id.clone(), f.status))
        .collect();
    let mut wrong = Vec::new();
    for (id, status) in &want {
        match got.get(id) {
            Some(s) if s == status => {}
            Some(s) => {
                let f = node.results.iter().find(|f| &f.id == id).unwrap();
                wrong.push(format!(
                    "{id}: expected {status}, got {s} ({})",
                    evidence_text(f)
                ))
            }
            None => wrong.push(format!("{id}: expected {status}, no result")),
        }
    }
    for id in got.keys().filter(|id| !want.contains_key(*id)) {
        wrong.push(format!("{id}: unexpected result"));
    }
    if let Some(evidence) = table.get("evidence").and_then(|e| e.as_table()) {
        for (id, text) in evidence {
            if overrides.contains_key(id) {
                continue;
            }
            let text = text.as_str().unwrap();
            match node.results.iter().find(|f| &f.id == id) {
                Some(f) if evidence_text(f).contains(text) => {}
                Some(f) => wrong.push(format!(
                    "{id}: evidence lacks {text:?}: {}",
                    evidence_text(f)
                )),
                None => wrong.push(format!("{id}: no result to check evidence {text:?}")),
            }
        }
    }
    wrong
}

/// `(node, id)` of a history's `new` or `fixed` list (a report's
/// `history.new`), sorted; cluster findings under "cluster".
pub fn history_refs(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["node"].as_str().unwrap_or("cluster").to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}
