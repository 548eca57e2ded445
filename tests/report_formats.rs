//! The other report formats: JUnit (a testsuite per node, a testcase per
//! check, failures with their evidence), Markdown (a short summary), and
//! several formats written by one run of `eval` or `scan`.

mod common;

use std::process::Command;

use kubeharden::facts::ScanStatus;
use kubeharden::report::{Gate, junit, markdown};

use common::{fixture, fixture_report as report};

/// The attribute `name` of the first element `tag` in `xml`.
fn attr(xml: &str, tag: &str, name: &str) -> String {
    let start = xml.find(&format!("<{tag} ")).unwrap();
    let el = &xml[start..start + xml[start..].find('>').unwrap()];
    el.split(&format!(" {name}=\""))
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn junit_has_a_suite_per_node_and_a_case_per_check() {
    let r = report("misconfigured");
    let xml = junit::render(&r, Gate::Fail);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    assert_eq!(
        xml.matches("<testsuite ").count(),
        3,
        "cp1, w1 and the cluster"
    );
    assert_eq!(xml.matches("<testcase ").count(), r.summary.counts.total);
    assert_eq!(xml.matches("<failure ").count(), r.summary.counts.fail);
    assert_eq!(xml.matches("<error ").count(), r.summary.counts.error);
    assert_eq!(
        attr(&xml, "testsuites", "failures"),
        r.summary.counts.fail.to_string()
    );
    assert_eq!(attr(&xml, "testsuite", "name"), "cp1");
    // A failure carries the evidence.
    let case = &xml[xml
        .find("name=\"1.2.15 API server profiling is disabled\"")
        .unwrap()..];
    let case = &case[..case.find("</testcase>").unwrap()];
    assert!(case.contains("<failure type=\"fail\" message=\"kube-apiserver --profiling: true\">"));
    assert!(case.contains("expected: kube-apiserver --profiling = false"));
    assert!(case.contains("source: kube-apiserver command line (pid 2101)"));
    assert!(case.contains("remediation: Set --profiling=false"));
    // Warns are failures only under --fail-on warn.
    let warn_xml = junit::render(&r, Gate::Warn);
    assert_eq!(
        warn_xml.matches("<failure ").count(),
        r.summary.counts.fail + r.summary.counts.warn
    );
    assert_eq!(
        xml.matches("<system-out>warn").count(),
        r.summary.counts.warn
    );
    // Balanced elements.
    for tag in [
        "testsuites",
        "testsuite",
        "testcase",
        "failure",
        "error",
        "system-out",
    ] {
        let open =
            xml.matches(&format!("<{tag} ")).count() + xml.matches(&format!("<{tag}>")).count();
        let selfclosed = xml
            .split(&format!("<{tag} "))
            .skip(1)
            .filter(|rest| rest[..rest.find('>').unwrap()].ends_with('/'))
            .count();
        assert_eq!(
            open - selfclosed,
            xml.matches(&format!("</{tag}>")).count(),
            "{tag}"
        );
    }
}

#[test]
fn junit_reports_an_unscanned_node_as_an_error() {
    let mut r = report("hardened");
    r.nodes[1].scan_status = ScanStatus::Timeout;
    r.nodes[1].error = Some("timed out after 60s".into());
    r.nodes[1].results.clear();
    r.recount();
    r.summary.nodes.not_scanned = 1;
    let xml = junit::render(&r, Gate::Fail);
    assert!(xml.contains("<error type=\"timeout\" message=\"timed out after 60s\">"));
    assert_eq!(attr(&xml, "testsuites", "errors"), "1");
}

#[test]
fn markdown_is_a_short_summary() {
    let mut r = report("misconfigured");
    r.cluster.name = Some("prod".into());
    let md = markdown::render(&r, None);
    assert!(md.starts_with("## prod: CIS Kubernetes Benchmark v1.12\n"));
    // 25 warn: 24 CIS and kubeharden checks, and keys.service-account on cp1
    // (sa.key unchanged since kubeadm init); 3 errors: 1.1.17, 1.1.18 and
    // keys.kubelet-rotation (the fixture lists the kubelet's certificate
    // store but carries no certificates).
    assert!(md.contains("29 fail · 3 error · 25 warn"));
    assert!(md.contains("### Keys and rotation"));
    assert!(md.contains("| cp1 | service-account | sa.key | signing | 2025-11-20 (369 days) |  |"));
    assert!(md.contains("| 1.2 kube-apiserver settings |"));
    assert!(md.contains("| **1.2.15** API server profiling is disabled | fail | cp1 | kube-apiserver --profiling: true |"));
    assert!(md.contains("more; the HTML or JSON report has them all"));
    assert!(
        md.lines().count() < 80,
        "short: {} lines",
        md.lines().count()
    );
    let clean = markdown::render(&report("hardened"), None);
    assert!(clean.contains("No check failed."));
}

#[test]
fn one_eval_writes_every_format_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .arg("eval")
        .arg(fixture("misconfigured"))
        .args(["--cluster-name", "lab", "--color", "never", "--html"])
        .arg(p("r.html"))
        .arg("--json")
        .arg(p("r.json"))
        .arg("--junit")
        .arg(p("r.xml"))
        .arg("--md")
        .arg(p("r.md"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("lab · kubeharden"),
        "the text summary still goes to stdout"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("r.json")).unwrap()).unwrap();
    assert_eq!(json["cluster"]["name"], "lab");
    assert!(
        std::fs::read_to_string(p("r.html"))
            .unwrap()
            .contains("<h1>lab</h1>")
    );
    assert!(
        std::fs::read_to_string(p("r.xml"))
            .unwrap()
            .contains("<testsuites name=\"kubeharden lab:")
    );
    assert!(
        std::fs::read_to_string(p("r.md"))
            .unwrap()
            .starts_with("## lab:")
    );

    for format in ["html", "junit", "md"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
            .arg("eval")
            .arg(fixture("hardened"))
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        assert!(!out.stdout.is_empty(), "{format}");
    }
}

#[test]
fn scan_takes_the_same_report_options() {
    // A node reached through a command that fails: the scan reports it as
    // not scanned, and every report is still written.
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let xml = dir.path().join("r.xml");
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args([
            "scan",
            "--node",
            "n1=127.0.0.1",
            "--exec",
            "false {node}",
            "--html",
        ])
        .arg(&html)
        .arg("--junit")
        .arg(&xml)
        .args(["--fail-on", "none", "--format", "md"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("### Nodes not scanned")
    );
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("0 of 1 node scanned")
    );
    assert!(
        std::fs::read_to_string(&xml)
            .unwrap()
            .contains("name=\"scan\"")
    );
}

#[test]
fn a_broken_template_dir_is_an_input_error_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.html"), "{% for %}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .arg("eval")
        .arg(fixture("hardened"))
        .arg("--template-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("report.html"), "{err}");
    assert!(out.stdout.is_empty());
}
