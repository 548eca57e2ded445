//! Waivers: a waiver in force turns matching fails and warns into `waived`
//! (counted apart), an expired one stops waiving and is reported, errors are
//! never waived, and a waiver file is validated with every problem at its
//! file and line.

mod common;

use std::path::Path;
use std::process::Command;

use kubeharden::bench::load_builtin;
use kubeharden::report::waivers::{Date, Waiver, apply, parse, waivable_ids};
use kubeharden::report::{Gate, Report, Status, WaiverState};

use common::{fixture, fixture_report as report};

fn ids() -> Vec<String> {
    waivable_ids(&load_builtin("cis-1.12").unwrap())
}

fn waivers(text: &str) -> Vec<Waiver> {
    parse("waivers.toml", text, &ids()).unwrap_or_else(|e| panic!("{e}"))
}

fn today() -> Date {
    Date::parse("2026-11-24").unwrap()
}

fn finding<'a>(r: &'a Report, node: &str, id: &str) -> &'a kubeharden::report::Finding {
    r.nodes
        .iter()
        .find(|n| n.name == node)
        .unwrap()
        .results
        .iter()
        .find(|f| f.id == id)
        .unwrap()
}

#[test]
fn a_waiver_in_force_waives_matching_findings_and_counts_them_apart() {
    let mut r = report("misconfigured");
    let before = r.summary.counts;
    assert_eq!(finding(&r, "w1", "4.2.13").status, Status::Warn);
    assert_eq!(finding(&r, "w1", "4.2.1").status, Status::Fail);
    let w = waivers(
        r#"
[[waiver]]
check = "4.2.13"
nodes = "worker"              # a role
reason = "PID limits are set per namespace"
owner = "platform-team"
expires = 2026-11-24          # the last day in force is today

[[waiver]]
check = "4.2.1"
nodes = "w?"                  # a name glob
reason = "anonymous auth is needed by the legacy probe"
owner = "alice"
expires = "2027-01-31"
"#,
    );
    apply(&mut r, &w, today());

    let f = finding(&r, "w1", "4.2.13");
    assert_eq!(f.status, Status::Waived);
    let note = f.waiver.as_ref().unwrap();
    assert_eq!(note.status, Status::Warn);
    assert_eq!(note.owner, "platform-team");
    assert!(!note.expired);
    assert_eq!(note.origin, "waivers.toml:2");
    assert_eq!(finding(&r, "w1", "4.2.1").status, Status::Waived);
    // cp1 is no worker and not named w?: its 4.2.13 warn stays.
    assert_eq!(finding(&r, "cp1", "4.2.13").status, Status::Warn);

    let c = r.summary.counts;
    assert_eq!(c.waived, 2);
    assert_eq!(c.warn, before.warn - 1);
    assert_eq!(c.fail, before.fail - 1);
    assert_eq!(c.total, before.total);
    let w1 = r.nodes.iter().find(|n| n.name == "w1").unwrap();
    assert_eq!(w1.summary.waived, 2);
    assert_eq!(r.waivers.len(), 2);
    assert!(
        r.waivers
            .iter()
            .all(|w| w.state == WaiverState::Active && w.matched == 1)
    );

    // The JSON carries the status and the waiver.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["summary"]["waived"], 2);
    assert_eq!(json["waivers"][0]["state"], "active");
    let waived = json["nodes"][1]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "4.2.13")
        .unwrap();
    assert_eq!(waived["status"], "waived");
    assert_eq!(waived["waiver"]["status"], "warn");
}

#[test]
fn an_expired_waiver_stops_waiving_and_is_reported() {
    let mut r = report("misconfigured");
    let before = r.summary.counts;
    let w = waivers(
        r#"
[[waiver]]
check = "1.2.*"
nodes = "*"
reason = "legacy API server"
owner = "alice"
expires = 2026-11-23
"#,
    );
    apply(&mut r, &w, today());
    assert_eq!(r.summary.counts, before, "nothing waived");
    let f = finding(&r, "cp1", "1.2.15");
    assert_eq!(f.status, Status::Fail);
    assert!(f.waiver.as_ref().unwrap().expired);
    assert_eq!(r.waivers[0].state, WaiverState::Expired);
    assert!(r.waivers[0].matched > 10);
    assert!(r.fails(Gate::Fail));
    let text = kubeharden::report::text::render(&r, kubeharden::report::text::Color::Never);
    assert!(text.contains("EXPIRED WAIVERS"));
    assert!(text.contains("1.2.* on * expired 2026-11-23"));
}

#[test]
fn errors_passes_and_skips_are_never_waived() {
    let mut r = report("misconfigured");
    assert_eq!(finding(&r, "cp1", "1.1.17").status, Status::Error);
    let w = waivers(
        r#"
[[waiver]]
check = "*"
nodes = "*"
reason = "everything"
owner = "nobody"
expires = 2099-12-31
"#,
    );
    apply(&mut r, &w, today());
    let c = r.summary.counts;
    assert_eq!((c.fail, c.warn), (0, 0));
    // 1.1.17, 1.1.18 and keys.kubelet-rotation on cp1.
    assert_eq!(c.error, 3, "errors stay");
    assert!(c.pass > 0 && c.skip > 0 && c.manual > 0);
    assert!(r.fails(Gate::Fail), "an error still fails the gate");
    assert!(r.cluster.results.iter().all(|f| f.status == Status::Manual));
}

#[test]
fn the_first_waiver_in_force_wins_over_an_expired_one() {
    let mut r = report("misconfigured");
    let w = waivers(
        r#"
[[waiver]]
check = "4.2.1"
nodes = "w1"
reason = "old"
owner = "a"
expires = 2020-01-01

[[waiver]]
check = "4.2.*"
nodes = "worker"
reason = "new"
owner = "b"
expires = 2030-01-01
"#,
    );
    apply(&mut r, &w, today());
    let f = finding(&r, "w1", "4.2.1");
    assert_eq!(f.status, Status::Waived);
    assert_eq!(f.waiver.as_ref().unwrap().reason, "new");
    assert_eq!(r.waivers[0].matched, 0);
}

#[test]
fn invalid_waiver_files_report_every_problem_with_file_and_line() {
    let text = r#"[[waiver]]
check = "9.9.9"
nodes = ""
reason = "x"
expires = "2026-02-30"
colour = "red"

[[waiver]]
check = "4.2.1"
nodes = "w1"
reason = "r"
owner = "o"
expires = 2026-12-01T10:00:00Z

[[waiver]]
check = "4.2.13"
nodes = "*"
reason = "r"
owner = "o"
expires = 2026-12-01

[[waiver]]
check = "4.2.13"
nodes = "*"
reason = "r2"
owner = "o2"
expires = 2027-12-01

[defaults]
"#;
    let err = parse("w.toml", text, &ids()).unwrap_err();
    let lines: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
    let has = |needle: &str| {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "no {needle:?} in {lines:#?}"
        )
    };
    has("w.toml:2: waiver 9.9.9: check \"9.9.9\" matches no check");
    has("w.toml:3: waiver 9.9.9: nodes must be a non-empty string");
    has("w.toml:1: waiver 9.9.9: missing required key \"owner\"");
    has("w.toml:5: waiver 9.9.9: expires must be a date");
    has("w.toml:6: waiver 9.9.9: unknown key \"colour\"");
    has("w.toml:13: waiver 4.2.1: expires must be a date");
    has("w.toml:22: waiver 4.2.13: waives the same check and nodes as the waiver at w.toml:15");
    has("w.toml:29: unknown top-level key \"defaults\"");
    let sorted: Vec<usize> = err.problems.iter().map(|p| p.line).collect();
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "in file order");

    let err = parse("w.toml", "[[waiver]\n", &ids()).unwrap_err();
    assert!(err.to_string().contains("w.toml:1: TOML syntax"), "{err}");
}

#[test]
fn the_cli_applies_waivers_and_refuses_an_invalid_file_before_evaluating() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[[waiver]]\ncheck = \"4.2.13\"\nnodes = \"worker\"\nreason = \"per namespace\"\nowner = \"team\"\nexpires = 2099-01-01\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(["eval", "--format", "json", "--waivers"])
        .arg(&good)
        .arg(fixture("misconfigured"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["waived"], 1);
    assert_eq!(json["waivers"][0]["matched"], 1);

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[waiver]]\ncheck = \"4.2.13\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(["eval", "--waivers"])
        .arg(&bad)
        .arg(fixture("misconfigured"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:1: waiver 4.2.13: missing required key \"owner\"",
            bad.display()
        )),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing evaluated");
}

#[test]
fn the_example_waiver_file_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/waivers.toml");
    let w = kubeharden::report::waivers::load(&path, &ids()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.len(), 2);
    assert_eq!(w[0].expires.to_string(), "2026-12-31");
}

/// The kubeadm-default fixture with probes: cp1's API server port accepts
/// TLS 1.1, and worker w1 reaches etcd. Written where the CLI can read it.
fn probed_facts(dir: &Path) {
    use kubeharden::facts::{
        HelloOutcome, HelloResult, PortState, ReachFacts, ReachOutcome, TlsProbe,
    };
    let mut nodes = kubeharden::facts::load_facts_path(&fixture("kubeadm-default")).unwrap();
    for n in &mut nodes {
        if n.node.name == "cp1" {
            n.tls = vec![TlsProbe {
                address: "192.168.56.11".into(),
                port: 6443,
                state: PortState::Tls,
                version: Some("TLSv1_3".into()),
                cipher: None,
                client_cert_requested: false,
                client_cert_required: None,
                subject: None,
                not_after: None,
                served_pem: None,
                legacy: Some(HelloResult {
                    outcome: HelloOutcome::Accepted,
                    version: Some("TLSv1_1".into()),
                    suite: Some("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA".into()),
                    detail: None,
                }),
                weak: None,
                http: None,
                get: None,
                detail: None,
            }];
        } else {
            n.reachability = vec![ReachFacts {
                target: "cp1".into(),
                address: "192.168.56.11".into(),
                port: 2379,
                outcome: ReachOutcome::Reachable,
                detail: None,
            }];
        }
        std::fs::write(
            dir.join(format!("{}.json", n.node.name)),
            serde_json::to_string(n).unwrap(),
        )
        .unwrap();
    }
}

fn eval_json(facts: &Path, waivers: &Path) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(["eval", "--format", "json", "--waivers"])
        .arg(waivers)
        .arg(facts)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), json, err)
}

#[test]
fn own_checks_are_waived_end_to_end_node_and_cluster_scope() {
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts");
    std::fs::create_dir(&facts).unwrap();
    probed_facts(&facts);
    let status = |json: &serde_json::Value, node: Option<&str>, id: &str| -> String {
        let results = match node {
            Some(n) => json["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == n)
                .unwrap()["results"]
                .clone(),
            None => json["cluster"]["results"].clone(),
        };
        results
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"))["status"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // Without waivers, both fail.
    let empty = dir.path().join("none.toml");
    std::fs::write(&empty, "").unwrap();
    let (_, json, err) = eval_json(&facts, &empty);
    assert_eq!(
        status(&json, Some("cp1"), "tls.min-version"),
        "fail",
        "{err}"
    );
    assert_eq!(status(&json, None, "net.etcd-firewall"), "fail");
    assert_eq!(
        json["nodes"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "tls.min-version")
            .map(|f| f["severity"].clone()),
        Some(serde_json::json!("high")),
        "severity in the JSON report"
    );

    let w = dir.path().join("w.toml");
    std::fs::write(
        &w,
        "[[waiver]]\ncheck = \"tls.min-version\"\nnodes = \"control-plane\"\nreason = \"legacy clients until the migration\"\nowner = \"platform\"\nexpires = 2099-01-01\n\n[[waiver]]\ncheck = \"net.*\"\nnodes = \"cluster\"\nreason = \"flat lab network\"\nowner = \"platform\"\nexpires = 2099-01-01\n",
    )
    .unwrap();
    let (_, json, err) = eval_json(&facts, &w);
    assert_eq!(
        status(&json, Some("cp1"), "tls.min-version"),
        "waived",
        "{err}"
    );
    assert_eq!(status(&json, None, "net.etcd-firewall"), "waived");
    assert_eq!(json["waivers"][0]["matched"], 1);
    assert_eq!(json["waivers"][1]["matched"], 1);

    // An id that is in no catalog is still refused, with its line.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[waiver]]\ncheck = \"tls.min_version\"\nnodes = \"*\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2099-01-01\n",
    )
    .unwrap();
    let (code, _, err) = eval_json(&facts, &bad);
    assert_eq!(code, Some(2));
    assert!(
        err.contains(":2: waiver tls.min_version: check \"tls.min_version\" matches no check"),
        "{err}"
    );
}

#[test]
fn every_catalog_check_can_be_named_by_a_waiver() {
    let bench = load_builtin("cis-1.12").unwrap();
    let ids = ids();
    assert_eq!(ids.len(), bench.rules.len());
    for r in &bench.rules {
        assert!(ids.contains(&r.id), "{}", r.id);
    }
    for id in [
        "tls.min-version",
        "net.etcd-firewall",
        "cert.expiry",
        "drift.etcd",
        "presence.kubelet",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id}");
    }
}

/// The key-rotation checks are catalogued like the rest: a waiver names
/// them, and a warning they give is waived with its reason.
#[test]
fn key_rotation_checks_can_be_waived() {
    assert!(ids().iter().any(|i| i == "keys.service-account"));
    assert!(ids().iter().any(|i| i == "keys.encryption"));
    let mut r = report("kubeadm-default");
    assert_eq!(
        finding(&r, "cp1", "keys.service-account").status,
        Status::Warn
    );
    let w = waivers(
        r#"
[[waiver]]
check = "keys.*"
nodes = "control-plane"
reason = "sa.key rotation is scheduled with the cluster upgrade"
owner = "platform-team"
expires = "2027-03-31"
"#,
    );
    apply(&mut r, &w, today());
    let f = finding(&r, "cp1", "keys.service-account");
    assert_eq!(f.status, Status::Waived, "{f:?}");
    assert_eq!(
        f.waiver.as_ref().map(|w| w.reason.as_str()),
        Some("sa.key rotation is scheduled with the cluster upgrade")
    );
}
