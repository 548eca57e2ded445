//! CIS section 5 from the cluster's objects, against the lab's API server
//! (tests/lab/lib/apiserver.py, a read-only kube-apiserver stand-in that
//! real kubectl accepts) on the four kubeadm control planes, each serving
//! one object set (tests/lab/apisets): a fresh kubeadm cluster with
//! flannel, the same hardened, one with a user's realistic problems, and
//! the problems read by a user who may not list RBAC objects.
//!
//! A `kubeharden scan` reads the objects through the node's own kubectl and
//! admin kubeconfig. Every automated 5.x check must get the verdict
//! tests/lab/apisets/expected.toml gives, naming the offending objects in
//! JSON, text and HTML, the platform's own listed apart; the saved facts
//! must give the same verdicts offline; no secret value (the sets plant a
//! canary in Secrets' data, in a `last-applied-configuration` annotation,
//! in a ConfigMap and in an environment value) may reach any output; the
//! API server must see only GETs, none of Secrets or ConfigMaps, and a
//! bounded number of them; a missing permission is an `error` naming it;
//! and the nodes must be left as they were (kubectl's cache included).
//!
//! Needs root (namespaces) and the lab's packages (`tests/lab/lab.sh deps`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use common::api::{compare, section_5};
use common::lab::Lab;
use kubeharden::report::{Finding, Report, Status};

const CANARY: &str = "KHSECRETCANARY7f3e91";

/// The kubeadm control planes and the object set each serves.
const NODES: [(&str, &str); 4] = [
    ("kubeadm-default-cp1", "kubeadm-flannel"),
    ("hardened-cp1", "kubeadm-flannel-hardened"),
    ("misconfigured-cp1", "problems"),
    ("etcd-config-file-cp1", "forbidden"),
];

fn kubeharden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(args)
        .output()
        .unwrap()
}

/// The request log lines of `node`'s API server after the first `skip`.
fn requests(lab: &Lab, node: &str, skip: usize) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(lab.state.join("nodes").join(node).join("apiserver.log"))
        .unwrap_or_default();
    text.lines()
        .skip(skip)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn log_len(lab: &Lab, node: &str) -> usize {
    requests(lab, node, 0).len()
}

/// A scan of the lab's control planes whose API is read on `node`.
fn scan(lab: &Lab, out: &Path, node: &str, extra: &[&str]) -> (Report, String, String) {
    let json = out.join(format!("{node}.json"));
    let html = out.join(format!("{node}.html"));
    let facts = out.join(format!("{node}-facts"));
    let inventory = lab.state.join("inventory.toml");
    let mut args = vec![
        "scan",
        "--inventory",
        inventory.to_str().unwrap(),
        "--no-probes",
        "--api-node",
        node,
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--save-facts",
        facts.to_str().unwrap(),
        "--fail-on",
        "none",
        "--format",
        "text",
        "--color",
        "never",
    ];
    args.extend_from_slice(extra);
    let o = kubeharden(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "{node}: {stderr}");
    let report: Report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let page = std::fs::read_to_string(&html).unwrap();
    // No secret value anywhere we wrote.
    for (what, s) in [
        ("the JSON report", std::fs::read_to_string(&json).unwrap()),
        ("the HTML report", page.clone()),
        ("the text report", text.clone()),
        ("the scan log", stderr.clone()),
    ] {
        assert!(!s.contains(CANARY), "{node}: a secret value in {what}");
    }
    for e in std::fs::read_dir(&facts).unwrap() {
        let s = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(
            !s.contains(CANARY),
            "{node}: a secret value in the saved facts"
        );
    }
    (report, text, page)
}

#[test]
fn section_5_from_the_lab_api_servers() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "the lab needs root");
    let names: Vec<&str> = NODES.iter().map(|(n, _)| *n).collect();
    let lab = Lab::up(Some(&names.join(",")));
    let before: Vec<String> = names.iter().map(|n| lab.hash(n)).collect();
    let expected = common::api::expected();
    let out = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();

    for (node, set) in &NODES[..3] {
        let seen = log_len(&lab, node);
        let (report, text, page) = scan(&lab, out.path(), node, &[]);
        let found = section_5(&report);
        assert_eq!(found.len(), 34, "{node}: every section-5 check");
        wrong.extend(compare(set, &found, &expected));
        for f in found.values().filter(|f| f.status != Status::Manual) {
            assert!(
                f.source
                    .starts_with(&format!("the API, through kubectl on {node}:")),
                "{node} {}: {}",
                f.id,
                f.source
            );
        }

        // The committed cluster facts of the set (tests/cluster_fixtures.rs
        // judges them offline) are what the lab gives.
        let saved = out.path().join(format!("{node}-facts/api@cluster.json"));
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cluster")
            .join(set)
            .join("api@cluster.json");
        if std::env::var_os("KH_WRITE_CLUSTER_FIXTURES").is_some() {
            std::fs::create_dir_all(fixture.parent().unwrap()).unwrap();
            std::fs::copy(&saved, &fixture).unwrap();
        }
        let stable = |p: &Path| -> serde_json::Value {
            let mut v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            v.as_object_mut().unwrap().remove("collected_at");
            v
        };
        assert!(
            stable(&saved) == stable(&fixture),
            "{}: stale; run this test with KH_WRITE_CLUSTER_FIXTURES=1",
            fixture.display()
        );

        // 5.4.2 stays for a person, with what was looked for.
        assert!(
            found["5.4.2"]
                .actual
                .contains("no external secret operator's types"),
            "{node}: {:?}",
            found["5.4.2"]
        );

        // The same verdicts offline, from the saved facts.
        let facts = out.path().join(format!("{node}-facts"));
        assert!(facts.join("api@cluster.json").is_file());
        let o = kubeharden(&[
            "eval",
            facts.to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "none",
        ]);
        let again: Report = serde_json::from_slice(&o.stdout).unwrap();
        let strip = |m: BTreeMap<String, Finding>| -> Vec<(String, Status, String)> {
            m.into_values()
                .map(|f| (f.id, f.status, f.actual))
                .collect()
        };
        assert_eq!(
            strip(section_5(&again)),
            strip(found.clone()),
            "{node}: eval"
        );

        // merge: two partial scans, the objects read by the second only,
        // give the verdicts of the whole, whichever comes first.
        if *set == "problems" {
            let (a, b) = (out.path().join("half-a"), out.path().join("half-b"));
            std::fs::create_dir_all(&a).unwrap();
            std::fs::create_dir_all(&b).unwrap();
            for e in std::fs::read_dir(&facts).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                let to = if name.starts_with("kubeadm-default") || name.starts_with("hardened") {
                    &a
                } else {
                    &b
                };
                std::fs::copy(&p, to.join(&name)).unwrap();
            }
            let report_of = |dir: &Path, name: &str| {
                let json = out.path().join(name);
                let o = kubeharden(&[
                    "eval",
                    dir.to_str().unwrap(),
                    "--json",
                    json.to_str().unwrap(),
                    "--fail-on",
                    "none",
                ]);
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                json
            };
            let (ra, rb) = (report_of(&a, "ra.json"), report_of(&b, "rb.json"));
            for inputs in [[&ra, &rb], [&rb, &ra]] {
                let o = kubeharden(&[
                    "merge",
                    inputs[0].to_str().unwrap(),
                    inputs[1].to_str().unwrap(),
                    "--format",
                    "json",
                    "--fail-on",
                    "none",
                ]);
                let merged: Report = serde_json::from_slice(&o.stdout).unwrap();
                assert_eq!(
                    strip(section_5(&merged)),
                    strip(found.clone()),
                    "{node}: merge"
                );
            }
        }

        // The offenders in the text and the HTML too.
        if *set == "problems" {
            for name in [
                "alice@example.com",
                "app/Role/app-wildcard",
                "legacy/Pod/node-agent-",
            ] {
                assert!(text.contains(name), "{node}: text lacks {name}");
            }
            assert!(
                page.contains("id=\"objects\""),
                "{node}: no objects section"
            );
            assert!(
                page.contains("<td class=\"mono\">Pod/node-agent-"),
                "{node}"
            );
            assert!(page.contains("User alice@example.com"), "{node}");
            assert!(page.contains("class=\"obj-search\""), "{node}");
        }

        // The API server saw GETs only, no Secret or ConfigMap, and a
        // bounded number of requests (gcloud's kubectl dispatcher adds a
        // /version before each command).
        let reqs = requests(&lab, node, seen);
        let kubeharden_reqs: Vec<&serde_json::Value> =
            reqs.iter().filter(|r| r["path"] != "/version").collect();
        assert!(!kubeharden_reqs.is_empty(), "{node}: no request logged");
        for r in &reqs {
            assert_eq!(r["method"], "GET", "{node}: {r}");
            let path = r["path"].as_str().unwrap();
            assert!(
                !path.contains("/secrets") && !path.contains("/configmaps"),
                "{node}: read {path}"
            );
        }
        assert!(
            kubeharden_reqs.len() <= 60,
            "{node}: {} requests",
            kubeharden_reqs.len()
        );
    }

    // From this machine with --kubeconfig (a managed cluster: no node to
    // scan): the same objects through kube-rs as through the node's
    // kubectl, so the same verdicts, and GETs only here too.
    let node = "misconfigured-cp1";
    let seen = log_len(&lab, node);
    let kubeconfig = lab
        .state
        .join("nodes")
        .join(node)
        .join("root/etc/kubernetes/admin.conf");
    let here = out.path().join("here-facts");
    let json = out.path().join("here.json");
    let o = kubeharden(&[
        "scan",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--save-facts",
        here.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--fail-on",
        "none",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("objects read from here with"), "{stderr}");
    assert!(
        stderr.contains("the API server's Kubernetes version is 1.32"),
        "the profile from the API server's version: {stderr}"
    );
    let facts_of = |dir: &Path| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("api@cluster.json")).unwrap())
                .unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("source");
        o.remove("collected_at");
        v
    };
    assert_eq!(
        facts_of(&here),
        facts_of(&out.path().join(format!("{node}-facts"))),
        "kube-rs and the node's kubectl read the same objects"
    );
    let from_here: Report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let found = section_5(&from_here);
    wrong.extend(compare("problems", &found, &expected));
    assert!(
        found["5.1.1"]
            .source
            .starts_with("the API, with the kubeconfig ")
    );
    for s in [std::fs::read_to_string(&json).unwrap(), stderr] {
        assert!(!s.contains(CANARY), "a secret value read from here");
    }
    for r in requests(&lab, node, seen) {
        assert_eq!(r["method"], "GET", "{r}");
        let path = r["path"].as_str().unwrap();
        assert!(
            !path.contains("/secrets") && !path.contains("/configmaps"),
            "read {path}"
        );
    }
    let o = kubeharden(&[
        "scan",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--context",
        "no-such-context",
        "--format",
        "json",
        "--fail-on",
        "none",
    ]);
    let r: Report = serde_json::from_slice(&o.stdout).unwrap();
    let f = &section_5(&r)["5.1.1"];
    assert_eq!(f.status, Status::Error);
    assert!(
        f.reason
            .as_deref()
            .unwrap_or("")
            .contains("no-such-context"),
        "{f:?}"
    );

    // A user who may not list RBAC objects: the RBAC checks are errors
    // naming the refusal; the checks of pods are still judged.
    let (node, _) = NODES[3];
    let (report, _, _) = scan(
        &lab,
        out.path(),
        node,
        &["--api-kubeconfig", "/etc/khlab/kh-auditor.conf"],
    );
    let found = section_5(&report);
    for id in ["5.1.1", "5.1.2", "5.1.3", "5.1.8"] {
        let f = &found[id];
        assert_eq!(f.status, Status::Error, "{id}: {f:?}");
        let reason = f.reason.as_deref().unwrap_or("");
        assert!(
            reason.contains("forbidden") && reason.contains("kh-auditor"),
            "{id}: {reason}"
        );
    }
    assert_eq!(found["5.2.2"].status, Status::Warn);

    // No kubeconfig where it is looked for: every API check is an error.
    let (report, _, _) = scan(
        &lab,
        out.path(),
        node,
        &["--api-kubeconfig", "/etc/kubernetes/nowhere.conf"],
    );
    for f in section_5(&report).values() {
        if f.status != Status::Manual {
            assert_eq!(f.status, Status::Error, "{}", f.id);
            assert!(
                f.reason
                    .as_deref()
                    .unwrap_or("")
                    .contains("no readable admin kubeconfig"),
                "{}: {:?}",
                f.id,
                f.reason
            );
        }
    }

    // Read-only: nothing changed on the nodes, kubectl's cache included.
    for (n, b) in names.iter().zip(before) {
        assert_eq!(lab.hash(n), b, "{n} changed during the scans");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
