//! `kubeharden merge`: the partial scans of one cluster, from reports or
//! from facts, give the same report as one scan of the whole cluster; a node
//! found twice is kept once, the successful scan first; the etcd firewall is
//! judged over the union of what every scanner tried.

mod common;

use std::path::Path;
use std::process::Command;

use kubeharden::facts::{NodeFacts, ReachFacts, ReachOutcome, ScanStatus, load_facts_path};
use kubeharden::report::{Report, Status};

/// The misconfigured fixture cluster plus a second worker, with the etcd
/// reachability each node's scan would have recorded: the control plane
/// reaches its etcd, w1 is refused, w2 gets through.
fn cluster() -> Vec<NodeFacts> {
    let mut nodes = load_facts_path(&common::fixture("misconfigured")).unwrap();
    let mut w2 = nodes.iter().find(|n| n.node.name == "w1").unwrap().clone();
    w2.node.name = "w2".into();
    w2.node.address = "192.168.56.22".into();
    nodes.push(w2);
    for n in &mut nodes {
        let outcome = match n.node.name.as_str() {
            "cp1" => ReachOutcome::Reachable,
            "w1" => ReachOutcome::Refused,
            _ => ReachOutcome::Reachable,
        };
        n.reachability = vec![ReachFacts {
            target: "cp1".into(),
            address: "192.168.56.11".into(),
            port: 2379,
            outcome,
            detail: None,
        }];
    }
    nodes
}

fn write_facts(dir: &Path, name: &str, nodes: &[NodeFacts]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(nodes).unwrap()).unwrap();
    p
}

fn kubeharden(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(args)
        .output()
        .unwrap()
}

fn eval(dir: &Path, facts: &Path, out: &str) -> std::path::PathBuf {
    let json = dir.join(out);
    let o = kubeharden(&[
        "eval".as_ref(),
        facts.as_os_str(),
        "--benchmark".as_ref(),
        "cis-1.12".as_ref(),
        "--fail-on".as_ref(),
        "none".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    json
}

fn read(p: &Path) -> Report {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// What must agree between a merged report and the full one.
fn essence(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("generated_at");
    o.get_mut("benchmark")
        .and_then(|b| b.as_object_mut())
        .map(|b| b.remove("chosen"));
    if let Some(nodes) = o.get_mut("nodes").and_then(|n| n.as_array_mut()) {
        nodes.sort_by_key(|n| n["name"].as_str().unwrap_or("").to_string());
    }
    for key in ["certificates", "tls_ports", "etcd_reachability"] {
        if let Some(rows) = o.get_mut(key).and_then(|n| n.as_array_mut()) {
            rows.sort_by_key(|r| r.to_string());
        }
    }
    v
}

fn merge(dir: &Path, inputs: &[&Path], out: &str) -> (Report, String) {
    let json = dir.join(out);
    let mut args: Vec<&std::ffi::OsStr> = vec!["merge".as_ref()];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    args.extend([
        "--fail-on".as_ref(),
        "none".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    let o = kubeharden(&args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    (read(&json), err)
}

#[test]
fn partial_reports_and_facts_give_the_full_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nodes = cluster();
    let all = write_facts(d, "all.json", &nodes);
    let full = read(&eval(d, &all, "full.json"));
    let etcd = |r: &Report| {
        r.cluster
            .results
            .iter()
            .find(|f| f.id == "net.etcd-firewall")
            .cloned()
            .unwrap()
    };
    assert_eq!(etcd(&full).status, Status::Fail, "w2 reaches etcd");

    // Region A scanned cp1 and w1, region B scanned w2.
    let a = write_facts(d, "a.json", &nodes[..2]);
    let b = write_facts(d, "b.json", &nodes[2..]);
    assert_eq!(
        etcd(&read(&eval(d, &a, "a-report.json"))).status,
        Status::Pass
    );

    // From facts: one evaluation of the union.
    let (from_facts, _) = merge(d, &[&a, &b], "m1.json");
    assert_eq!(essence(&from_facts), essence(&full));

    // From reports: the same, the etcd firewall judged over both matrices.
    let ra = eval(d, &a, "ra.json");
    let rb = eval(d, &b, "rb.json");
    let (from_reports, _) = merge(d, &[&ra, &rb], "m2.json");
    assert_eq!(essence(&from_reports), essence(&full));
    assert!(etcd(&from_reports).actual.contains("w2 -> cp1"));

    // The keys table comes from cp1 alone: it is kept whichever report
    // comes first.
    assert!(full.keys.as_ref().is_some_and(|k| !k.is_empty()));
    let (b_first, _) = merge(d, &[&rb, &ra], "m2b.json");
    assert_eq!(essence(&b_first), essence(&full));

    // A report and a facts file together.
    let (mixed, _) = merge(d, &[&ra, &b], "m3.json");
    assert_eq!(essence(&mixed), essence(&full));
}

#[test]
fn a_node_found_twice_is_kept_once_the_successful_scan_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nodes = cluster();
    // Region A could not reach w2; region B did.
    let mut lost = nodes[2].clone();
    lost.scan_status = ScanStatus::Unreachable;
    lost.error = Some("w2: cannot reach the node: connect timed out".into());
    lost.components.clear();
    lost.files.clear();
    lost.reachability.clear();
    let a = write_facts(d, "a.json", &[nodes[0].clone(), nodes[1].clone(), lost]);
    let b = write_facts(d, "b.json", &nodes[2..]);
    let ra = eval(d, &a, "ra.json");
    let rb = eval(d, &b, "rb.json");
    for inputs in [[&a, &b], [&ra, &rb], [&rb, &ra]] {
        let inputs = inputs.map(|p| p.as_path());
        let (m, log) = merge(d, &inputs, "m.json");
        assert_eq!(m.nodes.len(), 3);
        let w2 = m.nodes.iter().find(|n| n.name == "w2").unwrap();
        assert_eq!(w2.scan_status, ScanStatus::Ok);
        assert_eq!(m.summary.nodes.not_scanned, 0);
        assert!(
            log.contains("node \"w2\" is in")
                && log.contains("(ok)")
                && log.contains("(unreachable)"),
            "{log}"
        );
    }
}

#[test]
fn reports_of_different_benchmarks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nodes = cluster();
    let a = write_facts(d, "a.json", &nodes[..1]);
    let b = write_facts(d, "b.json", &nodes[1..]);
    let ra = eval(d, &a, "ra.json");
    let rb_path = d.join("rb.json");
    let o = kubeharden(&[
        "eval".as_ref(),
        b.as_os_str(),
        "--benchmark".as_ref(),
        "cis-1.10".as_ref(),
        "--fail-on".as_ref(),
        "none".as_ref(),
        "--json".as_ref(),
        rb_path.as_os_str(),
    ]);
    assert!(o.status.success());
    let o = kubeharden(&["merge".as_ref(), ra.as_os_str(), rb_path.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cis-1.10") && err.contains("cis-1.12"),
        "{err}"
    );
}
