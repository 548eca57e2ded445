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
    assert_eq!(c.error, 2, "errors stay");
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
