//! The built-in profiles (cis-1.10, cis-1.12, cis-2.0): every one loads,
//! they differ from each other exactly as intended (ids and required
//! values from kube-bench's cfg/cis-1.10, cfg/cis-1.12 and cfg/cis-2.0),
//! docs/benchmark-versions.md is what `benchmarks --format md` prints, and
//! eval picks the profile from the control plane's Kubernetes version
//! unless --benchmark says otherwise.

use std::path::Path;
use std::process::Command;

use kubeharden::bench::render::{Differences, differences};
use kubeharden::bench::{BUILTIN, BuiltinCheck, Expected, load_builtin};

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_builtin_profile_loads_with_the_own_checks_and_a_kubernetes_range() {
    let ids: Vec<&str> = BUILTIN.iter().map(|b| b.id).collect();
    assert_eq!(ids, ["cis-1.10", "cis-1.12", "cis-2.0"]);
    let mut last_hi = None;
    for id in ids {
        let b = load_builtin(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        let ((_, lo), (_, hi)) = b.kubernetes_range().expect("a range");
        assert!(lo <= hi, "{id}");
        // Ranges go up with the profiles, and leave no minor uncovered.
        if let Some(prev) = last_hi {
            assert!(lo <= prev + 1 && hi > prev, "{id}: {lo}-{hi} after {prev}");
        }
        last_hi = Some(hi);
        assert_eq!(
            b.rules
                .iter()
                .filter(|r| r
                    .builtin
                    .is_some_and(|b| !matches!(b, BuiltinCheck::Api(_))))
                .count(),
            23,
            "{id}: kubeharden's own checks"
        );
        // Every section-5 check is judged from the API but namespaces as
        // boundaries, which no object answers.
        let manual: Vec<&str> = b
            .rules
            .iter()
            .filter(|r| r.id.starts_with("5.") && r.builtin.is_none())
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(
            manual,
            if id == "cis-1.10" {
                // v1.10's 5.2.10 asks for capabilities dropped, which no
                // decider judges yet
                vec!["5.2.10", "5.7.1"]
            } else {
                vec!["5.6.1"]
            },
            "{id}"
        );
    }
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn cis_1_10_differs_from_cis_1_12_exactly_as_kube_bench_says() {
    let old = load_builtin("cis-1.10").unwrap();
    let new = load_builtin("cis-1.12").unwrap();
    let d = differences(&new, &old);
    // v1.12 added 1.2.30 and 4.2.14; v1.10 numbers general policies 5.7.
    assert_eq!(
        d.removed,
        ids(&["1.2.30", "4.2.14", "5.6.1", "5.6.2", "5.6.3", "5.6.4"])
    );
    assert_eq!(
        d.added,
        ids(&["5.2.13", "5.7.1", "5.7.2", "5.7.3", "5.7.4"])
    );
    let changed: Vec<(&str, Vec<&str>)> = d
        .changed
        .iter()
        .map(|(id, what)| (id.as_str(), what.iter().map(|(k, _, _)| *k).collect()))
        .collect();
    assert_eq!(
        changed,
        vec![
            ("1.1.20", vec!["title", "check", "remediation"]),
            ("1.2.29", vec!["check", "remediation"]),
            ("4.1.7", vec!["title", "check", "remediation"]),
            ("4.2.12", vec!["check", "remediation"]),
            ("5.1.1", vec!["scored"]),
            ("5.1.2", vec!["scored"]),
            ("5.1.3", vec!["scored"]),
            ("5.1.4", vec!["scored"]),
            ("5.1.5", vec!["scored"]),
            ("5.1.6", vec!["scored"]),
            (
                "5.2.10",
                vec!["title", "level", "check", "remediation", "guidance"]
            ),
            ("5.2.11", vec!["title", "check", "remediation", "guidance"]),
            ("5.2.12", vec!["title", "check", "remediation", "guidance"]),
        ]
    );
    // The required values themselves.
    let value = |id: &str| {
        old.rule(id).unwrap().check.as_ref().unwrap().tests()[0]
            .value
            .clone()
    };
    assert_eq!(value("1.1.20"), Expected::Str("600".into()));
    assert_eq!(value("4.1.7"), Expected::Str("600".into()));
    let suites = value("1.2.29");
    assert_eq!(suites.as_list().len(), 15);
    assert!(
        suites
            .as_list()
            .iter()
            .any(|s| s == "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
    );
    let kubelet = value("4.2.12");
    assert_eq!(kubelet.as_list().len(), 8);
    assert!(
        kubelet
            .as_list()
            .iter()
            .any(|s| s == "TLS_RSA_WITH_AES_128_GCM_SHA256")
    );
    assert_eq!(old.section_title("5.7"), "General workload policies");
    // 130 CIS checks: 131 - 6 + 5.
    assert_eq!(
        old.rules
            .iter()
            .filter(|r| r.builtin.is_none_or(|b| matches!(b, BuiltinCheck::Api(_))))
            .count(),
        130
    );
}

#[test]
fn cis_2_0_has_the_checks_of_cis_1_12() {
    let d = differences(
        &load_builtin("cis-1.12").unwrap(),
        &load_builtin("cis-2.0").unwrap(),
    );
    assert_eq!(d, Differences::default());
}

#[test]
fn the_committed_profile_differences_are_current() {
    let out = cli(&["benchmarks", "--format", "md"]);
    assert_eq!(out.status.code(), Some(0));
    let md = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(root().join("docs/benchmark-versions.md")).unwrap();
    assert_eq!(
        md, committed,
        "docs/benchmark-versions.md is stale: regenerate with `kubeharden benchmarks --format md > docs/benchmark-versions.md`"
    );
    assert!(md.contains("## cis-1.10 compared with cis-1.12"));
    assert!(md.contains("| 1.1.20 | check | Kubernetes PKI certificate files mode 644 or stricter | Kubernetes PKI certificate files mode 600 or stricter |"));
    assert!(md.contains("## cis-2.0 compared with cis-1.12\n\nThe same checks"));
}

/// The kubeadm-default fixture with every node's version set to `cp` on
/// the control plane and `worker` elsewhere, written to a temporary dir.
fn facts_with_versions(cp: &str, worker: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for n in
        kubeharden::facts::load_facts_path(&root().join("tests/fixtures/kubeadm-default")).unwrap()
    {
        let mut n = n;
        n.node.kubernetes_version = Some(if n.node.name == "cp1" { cp } else { worker }.into());
        std::fs::write(
            dir.path().join(format!("{}.json", n.node.name)),
            serde_json::to_string(&n).unwrap(),
        )
        .unwrap();
    }
    dir
}

fn eval(dir: &Path, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["eval", "--format", "json", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = cli(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (json, stderr)
}

#[test]
fn eval_picks_the_profile_from_the_control_planes_version_and_says_why() {
    // A 1.29 control plane with 1.28 workers: cis-1.10, by the control plane.
    let dir = facts_with_versions("v1.29.10", "v1.28.15");
    let (json, stderr) = eval(dir.path(), &[]);
    assert_eq!(json["benchmark"]["id"], "cis-1.10");
    assert!(
        stderr.contains("kubeharden: benchmark cis-1.10: the control plane's Kubernetes version is 1.29 (on cp1); other nodes run 1.28"),
        "{stderr}"
    );
    let chosen = json["benchmark"]["chosen"].as_str().unwrap();
    assert!(
        chosen.contains("cis-1.10 is written for 1.28-1.31"),
        "{chosen}"
    );
    // The checks are cis-1.10's: 5.7.1 is there, 1.2.30 is not.
    let cluster: Vec<&str> = json["cluster"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(cluster.contains(&"5.7.1") && !cluster.contains(&"5.6.1"));
    let cp_ids: Vec<&str> = json["nodes"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(!cp_ids.contains(&"1.2.30"));

    // 1.34: the newest profile written for it.
    let dir = facts_with_versions("v1.34.2", "v1.34.2");
    let (json, stderr) = eval(dir.path(), &[]);
    assert_eq!(json["benchmark"]["id"], "cis-2.0", "{stderr}");

    // --benchmark overrides, and then nothing is said about picking.
    let (json, stderr) = eval(dir.path(), &["--benchmark", "cis-1.12"]);
    assert_eq!(json["benchmark"]["id"], "cis-1.12");
    assert!(json["benchmark"].get("chosen").is_none());
    assert!(!stderr.contains("kubeharden: benchmark"), "{stderr}");

    // The text, Markdown and HTML reports say it too.
    let out = cli(&["eval", dir.path().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("profile cis-2.0: the control plane's Kubernetes version is 1.34"),
        "{text}"
    );
    let out = cli(&["eval", "--format", "md", dir.path().to_str().unwrap()]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("Profile cis-2.0 picked: the control plane's Kubernetes version is 1.34"),
        "{md}"
    );
    let out = cli(&["eval", "--format", "html", dir.path().to_str().unwrap()]);
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(
        html.contains("picked: the control plane&#39;s Kubernetes version is 1.34"),
        "the HTML header says it"
    );
}

#[test]
fn a_waiver_for_a_check_of_any_profile_is_accepted_when_the_profile_is_picked() {
    // 1.2.30 is not in cis-1.10; without --benchmark the file is checked
    // before the profile is known, against every built-in profile.
    let facts = facts_with_versions("v1.32.4", "v1.32.4");
    let other = tempfile::tempdir().unwrap();
    let w = other.path().join("w.toml");
    std::fs::write(
        &w,
        "[[waiver]]\ncheck = \"1.2.30\"\nnodes = \"*\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2099-01-01\n",
    )
    .unwrap();
    let (w, facts) = (w.to_str().unwrap(), facts.path().to_str().unwrap());
    let out = cli(&["eval", "--waivers", w, facts]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With --benchmark cis-1.10, 1.2.30 is no check of the profile.
    let out = cli(&["eval", "--benchmark", "cis-1.10", "--waivers", w, facts]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches no check that can be waived"));
}
