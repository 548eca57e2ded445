//! `kubeharden diff` and `--baseline`: new failures, fixed checks, changed
//! evidence, other status changes, nodes added, removed or no longer scanned;
//! in text, JSON and Markdown; exit 1 only when something got worse.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use kubeharden::facts::ScanStatus;
use kubeharden::report::diff::{diff, group, render_markdown, render_text};
use kubeharden::report::{Report, Status, json};

use common::{fixture, fixture_report as report};

#[test]
fn new_failures_and_fixed_checks_between_hardened_and_misconfigured() {
    let hardened = report("hardened");
    let misconfigured = report("misconfigured");
    let worse = diff(&hardened, &misconfigured);
    assert!(worse.has_regressions());
    let new: Vec<(&str, &str)> = worse
        .new_failures
        .iter()
        .map(|c| (c.node.as_deref().unwrap(), c.id.as_str()))
        .collect();
    assert!(new.contains(&("cp1", "1.2.15")));
    assert!(new.contains(&("w1", "4.2.1")));
    let c = worse
        .new_failures
        .iter()
        .find(|c| c.id == "1.2.15")
        .unwrap();
    assert_eq!(
        (c.before, c.after),
        (Some(Status::Pass), Some(Status::Fail))
    );
    assert_eq!(c.after_evidence, "kube-apiserver --profiling: true");
    assert!(worse.fixed.is_empty());
    assert!(worse.nodes_added.is_empty() && worse.nodes_removed.is_empty());

    let better = diff(&misconfigured, &hardened);
    assert!(!better.has_regressions());
    // Every new failure is fixed the other way, but for one: misconfigured
    // cp1's keys.kubelet-rotation error (its certificate store's
    // certificates are not in the fixture) is a skip on the hardened node,
    // and only a pass counts as fixed.
    assert_eq!(better.fixed.len() + 1, worse.new_failures.len());
    assert!(
        worse
            .new_failures
            .iter()
            .any(|c| c.id == "keys.kubelet-rotation" && c.after == Some(Status::Error))
    );
    assert!(better.new_failures.is_empty());

    assert!(diff(&hardened, &hardened).is_empty());
}

#[test]
fn changed_evidence_other_status_changes_and_nodes_are_listed() {
    let old = report("misconfigured");
    let mut new = old.clone();
    // Still failing, differently.
    let cp1 = &mut new.nodes[0];
    let f = cp1.results.iter_mut().find(|f| f.id == "1.2.17").unwrap();
    f.actual = "kube-apiserver --audit-log-maxage: 3".into();
    // A fail that is now waived is a status change, not a fix.
    let f = cp1.results.iter_mut().find(|f| f.id == "1.2.15").unwrap();
    f.status = Status::Waived;
    // w1 no longer reachable; w2 is new; the old w1 stays in the list.
    new.nodes[1].scan_status = ScanStatus::Timeout;
    new.nodes[1].error = Some("timed out".into());
    new.nodes[1].results.clear();
    let mut w2 = old.nodes[1].clone();
    w2.name = "w2".into();
    new.nodes.push(w2);
    let mut gone = old.nodes[1].clone();
    gone.name = "w9".into();
    let mut old = old;
    old.nodes.push(gone);

    let d = diff(&old, &new);
    assert_eq!(d.changed_evidence.len(), 1);
    assert_eq!(
        d.changed_evidence[0].before_evidence,
        "kube-apiserver --audit-log-maxage: 7"
    );
    assert_eq!(d.status_changed.len(), 1);
    assert_eq!(d.status_changed[0].after, Some(Status::Waived));
    assert_eq!(d.nodes_added, vec!["w2".to_string()]);
    assert_eq!(d.nodes_removed, vec!["w9".to_string()]);
    assert_eq!(d.nodes_scan_changed.len(), 1);
    assert_eq!(d.nodes_scan_changed[0].after, ScanStatus::Timeout);
    assert!(
        d.new_failures.is_empty(),
        "an unscanned node's checks are not listed one by one"
    );
    assert!(
        d.has_regressions(),
        "a node no longer scanned is a regression"
    );

    let text = render_text(&d);
    assert!(text.contains("CHANGED EVIDENCE (1)"));
    assert!(text.contains("before: kube-apiserver --audit-log-maxage: 7"));
    assert!(text.contains("NODES ADDED (1): w2"));
    assert!(text.contains("NODES REMOVED (1): w9"));
    assert!(text.contains("w1 ok -> timeout (timed out)"));
    let md = render_markdown(&d);
    assert!(md.contains("**Changed evidence** (1)"));
    assert!(md.contains("**Nodes added** (1): w2"));
}

#[test]
fn one_check_changing_on_many_nodes_is_one_group() {
    let base = report("kubeadm-default");
    let mut old = base.clone();
    let mut new = base.clone();
    for i in 0..40 {
        let mut n = base.nodes[1].clone();
        n.name = format!("w{i:02}");
        old.nodes.push(n.clone());
        let f = n.results.iter_mut().find(|f| f.id == "4.2.13").unwrap();
        f.status = Status::Pass;
        new.nodes.push(n);
    }
    let d = diff(&old, &new);
    assert_eq!(d.fixed.len(), 40);
    let groups = group(&d.fixed);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].nodes.len(), 40);
    assert!(render_text(&d).contains("w00, w01, w02"));
    assert!(render_text(&d).contains("and 30 more"));
}

fn write_json(dir: &Path, name: &str, r: &Report) -> PathBuf {
    let p = dir.join(name);
    let mut buf = Vec::new();
    json::write(r, &mut buf).unwrap();
    std::fs::write(&p, buf).unwrap();
    p
}

fn kubeharden(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn diff_command_formats_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_json(dir.path(), "good.json", &report("hardened"));
    let bad = write_json(dir.path(), "bad.json", &report("misconfigured"));

    let out = kubeharden(&["diff".as_ref(), good.as_os_str(), bad.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "new failures");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("NEW FAILURES"));
    assert!(text.contains("1.2.15 API server profiling is disabled pass -> fail on cp1"));

    let out = kubeharden(&[
        "diff".as_ref(),
        bad.as_os_str(),
        good.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(0), "only fixes");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert!(v["fixed"].as_array().unwrap().len() > 10);
    assert_eq!(v["new_failures"].as_array().unwrap().len(), 0);
    assert_eq!(v["old"]["summary"]["fail"], 29);

    let out = kubeharden(&[
        "diff".as_ref(),
        good.as_os_str(),
        bad.as_os_str(),
        "--format".as_ref(),
        "md".as_ref(),
    ]);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("**New failures**")
    );

    // Not a report, or an unknown schema version: exit 2 with the file named.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"schema_version\": 9}").unwrap();
    let out = kubeharden(&["diff".as_ref(), good.as_os_str(), junk.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("junk.json") && err.contains("schema_version 9"),
        "{err}"
    );
}

#[test]
fn baseline_adds_since_last_run_to_html_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_json(dir.path(), "good.json", &report("hardened"));
    let html = dir.path().join("r.html");
    let md = dir.path().join("r.md");
    let out = kubeharden(&[
        "eval".as_ref(),
        fixture("misconfigured").as_os_str(),
        "--baseline".as_ref(),
        good.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
        "--md".as_ref(),
        md.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h2>Since last run</h2>"));
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("### Changes since")
    );

    // A baseline that cannot be read is an input error before evaluating.
    let out = kubeharden(&[
        "eval".as_ref(),
        fixture("misconfigured").as_os_str(),
        "--baseline".as_ref(),
        dir.path().join("missing.json").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn reports_written_before_waivers_existed_still_load() {
    let r = report("hardened");
    let mut v = serde_json::to_value(&r).unwrap();
    v["summary"].as_object_mut().unwrap().remove("waived");
    for n in v["nodes"].as_array_mut().unwrap() {
        n["summary"].as_object_mut().unwrap().remove("waived");
    }
    let back: Report = serde_json::from_value(v).unwrap();
    assert_eq!(back.summary.counts.waived, 0);
    assert!(diff(&back, &r).is_empty());
}
