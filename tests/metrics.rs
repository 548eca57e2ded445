//! `--metrics`: the Prometheus text file, checked by promtool, with hostile
//! label values, its caps and its atomic replacement.

use std::path::Path;
use std::process::Command;

use kubeharden::report::metrics::{MAX_CHECK_SERIES, render, render_capped, write_atomic};
use kubeharden::report::{CertificateInfo, Report, Status};

fn report() -> Report {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/misconfigured");
    let nodes = kubeharden::facts::load_facts_path(&dir).unwrap();
    let bench = kubeharden::bench::load_builtin("cis-1.12").unwrap();
    kubeharden::engine::evaluate(&bench, &nodes, "2026-12-04T00:00:00Z")
}

fn samples<'a>(text: &'a str, family: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} ")))
        .collect()
}

#[test]
fn one_status_series_per_check_and_node_and_counts_per_check() {
    let r = report();
    let text = render(&r);
    let findings: usize =
        r.nodes.iter().map(|n| n.results.len()).sum::<usize>() + r.cluster.results.len();
    assert_eq!(samples(&text, "kubeharden_check_status").len(), findings);
    // The per-check counts add up to the same findings.
    let counted: usize = samples(&text, "kubeharden_check_nodes")
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(counted, findings);
    let fail = r.nodes[0]
        .results
        .iter()
        .find(|f| f.status == Status::Fail)
        .unwrap();
    let line = format!(
        "kubeharden_check_status{{node=\"{}\",check=\"{}\",section=\"{}\",status=\"fail\"}} 1",
        r.nodes[0].name, fail.id, fail.section
    );
    assert!(text.lines().any(|l| l == line), "{line}");
    assert!(text.contains("kubeharden_run_timestamp_seconds 1796342400\n"));
    assert!(
        text.contains("kubeharden_metrics_dropped_series{family=\"kubeharden_check_status\"} 0\n")
    );
}

#[test]
fn over_the_cap_the_alertable_statuses_are_kept() {
    let r = report();
    let fails: usize = r
        .nodes
        .iter()
        .flat_map(|n| &n.results)
        .chain(&r.cluster.results)
        .filter(|f| matches!(f.status, Status::Fail | Status::Error))
        .count();
    let total: usize =
        r.nodes.iter().map(|n| n.results.len()).sum::<usize>() + r.cluster.results.len();
    assert!(fails > 0 && fails < total);
    let text = render_capped(&r, fails, 10);
    let kept = samples(&text, "kubeharden_check_status");
    assert_eq!(kept.len(), fails);
    assert!(
        kept.iter()
            .all(|l| l.contains("status=\"fail\"") || l.contains("status=\"error\""))
    );
    assert!(text.contains(&format!(
        "kubeharden_metrics_dropped_series{{family=\"kubeharden_check_status\"}} {}\n",
        total - fails
    )));
}

#[test]
fn certificates_soonest_first_and_capped() {
    let mut r = report();
    r.certificates = Some(
        [
            ("late", "2030-01-01T00:00:00Z", 1000),
            ("soon", "2027-01-01T00:00:00Z", 28),
        ]
        .iter()
        .map(|(p, t, d)| CertificateInfo {
            node: "cp\"1".into(),
            path: format!("/etc/{p}.crt"),
            subject: "CN=a\nb".into(),
            not_after: t.to_string(),
            days_left: *d,
        })
        .collect(),
    );
    let text = render_capped(&r, MAX_CHECK_SERIES, 1);
    let certs = samples(&text, "kubeharden_certificate_expiry_timestamp_seconds");
    assert_eq!(
        certs,
        vec![
            "kubeharden_certificate_expiry_timestamp_seconds{node=\"cp\\\"1\",path=\"/etc/soon.crt\",subject=\"CN=a\\nb\"} 1798761600"
        ]
    );
    assert!(text.contains(
        "kubeharden_metrics_dropped_series{family=\"kubeharden_certificate_expiry_timestamp_seconds\"} 1\n"
    ));
}

#[test]
fn the_file_is_replaced_whole_and_no_temporary_file_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeharden.prom");
    std::fs::write(&path, "old\n").unwrap();
    use std::os::unix::fs::MetadataExt;
    let before = std::fs::metadata(&path).unwrap().ino();
    write_atomic(&path, b"new\n").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    // A rename, not a rewrite in place: a reader holding the old file
    // kept reading the old file.
    assert_ne!(std::fs::metadata(&path).unwrap().ino(), before);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("kubeharden.prom")]);
    // A directory that does not exist fails, and leaves nothing.
    assert!(write_atomic(&dir.path().join("no/such.prom"), b"x").is_err());
}

/// promtool (Debian's prometheus package, which scripts/test installs)
/// lints the exposition format the way Prometheus parses it.
fn promtool_check(text: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (package prometheus) is needed: run scripts/test, which installs it");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_accepts_the_metrics_of_a_scan_with_hostile_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/misconfigured");
    let mut nodes = kubeharden::facts::load_facts_path(&dir).unwrap();
    // Names and subjects come from inventories and nodes: quotes, newlines,
    // backslashes, braces and terminal escapes must stay inside their label.
    nodes[0].node.name = "cp1\"} 1\nkubeharden_fake 2 #\\".into();
    nodes[1].node.name = "w1\u{1b}[2J{le=\"x\"}\r".into();
    let bench = kubeharden::bench::load_builtin("cis-1.12").unwrap();
    let mut r = kubeharden::engine::evaluate(&bench, &nodes, "2026-12-04T00:00:00Z");
    r.cluster.name = Some("prod \"eu\"".into());
    r.certificates = Some(vec![CertificateInfo {
        node: nodes[0].node.name.clone(),
        path: "/etc/kubernetes/pki/\"x\n.crt".into(),
        subject: "CN=a\\b,O=\"c\"\n".into(),
        not_after: "2027-01-01T00:00:00Z".into(),
        days_left: 28,
    }]);
    let text = render(&r);
    promtool_check(&text);
    // No line was injected: every sample line is one of our families.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(l.starts_with("kubeharden_"), "{l}");
        assert!(!l.starts_with("kubeharden_fake"), "{l}");
    }
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("kubeharden_node_scan_status{"))
            .count(),
        2
    );
}

#[test]
fn eval_writes_the_metrics_file() {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("kubeharden.prom");
    std::fs::write(&prom, "stale\n").unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hardened");
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args([
            "eval",
            fixtures.to_str().unwrap(),
            "--metrics",
            prom.to_str().unwrap(),
        ])
        .args(["--cluster-name", "lab", "--fail-on", "none"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.contains("kubeharden_info{version=\""), "{text:.300}");
    assert!(text.contains(",cluster=\"lab\"} 1\n"));
    assert!(text.contains("kubeharden_score_ratio "));
    promtool_check(&text);
}
