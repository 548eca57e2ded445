//! The rule set as users see it (`kubeharden rules`), and bad input: every
//! malformed facts or benchmark file is an error naming file and line, with
//! exit code 2, never a panic.

use std::path::Path;
use std::process::Command;

use kubeharden::bench::{Fact, FileRef, Scope, load_builtin};
use kubeharden::engine::evaluate_node;
use kubeharden::facts::{ComponentKind, load_facts_path};
use kubeharden::report::Status;

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// kubeharden's own checks in the catalog: tls.* (6), cert.* (5),
/// net.etcd-firewall, drift.* (4), presence.* (3), keys.* (4).
const OWN_CHECKS: usize = 23;

#[test]
fn rules_json_lists_all_131_cis_checks_and_the_own_checks_with_their_fields() {
    let out = cli(&["rules", "--benchmark", "cis-1.12", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = v["rules"].as_array().unwrap();
    assert_eq!(all.len(), 131 + OWN_CHECKS);
    assert_eq!(v["count"], 131 + OWN_CHECKS);
    // CIS section 5 is decided by API built-ins (`api.*`): benchmark
    // rules, not kubeharden's own checks.
    let (own, rules): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
        all.iter().partition(|r| {
            r["builtin"]
                .as_str()
                .is_some_and(|b| !b.starts_with("api."))
        });
    assert_eq!(own.len(), OWN_CHECKS);
    let api: Vec<&str> = rules
        .iter()
        .filter(|r| r["builtin"].is_string())
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(api.len(), 33, "{api:?}");
    assert!(api.iter().all(|id| id.starts_with("5.")), "{api:?}");
    for id in [
        "tls.min-version",
        "tls.plaintext",
        "cert.expiry",
        "net.etcd-firewall",
        "drift.etcd",
        "presence.kubelet",
    ] {
        let r = own
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id}"));
        for key in ["title", "section", "severity", "remediation", "expected"] {
            assert!(
                r[key].as_str().is_some_and(|s| !s.is_empty()),
                "{id} lacks {key}"
            );
        }
        assert_eq!(r["manual"], false, "{id}");
    }

    // The ids are exactly those of the reference list, in order.
    let reference = std::fs::read_to_string(root().join("../shared/reference/cis-1.12-checks.md"))
        .or_else(|_| std::fs::read_to_string("/work/shared/reference/cis-1.12-checks.md"));
    if let Ok(reference) = reference {
        let want: Vec<String> = reference
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells.len() > 3
                    && cells[1].chars().next().is_some_and(|c| c.is_ascii_digit())
                    && matches!(cells[2], "A" | "M"))
                .then(|| cells[1].to_string())
            })
            .collect();
        let got: Vec<String> = rules
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want);
    }

    let mut automated = 0;
    for r in rules {
        for key in [
            "id",
            "title",
            "section",
            "scored",
            "level",
            "scope",
            "targets",
            "severity",
            "remediation",
        ] {
            assert!(!r[key].is_null(), "{} lacks {key}", r["id"]);
        }
        if r["scored"] == true {
            automated += 1;
        }
        if r["manual"] == true {
            assert!(
                r["guidance"].as_str().is_some_and(|g| !g.is_empty()),
                "{}",
                r["id"]
            );
        } else if r["builtin"].is_string() {
            // Judged from the API; its guidance is for when the objects
            // were not read.
            assert!(r["guidance"].is_string(), "{}", r["id"]);
            assert!(r["expected"].is_string(), "{}", r["id"]);
        } else {
            assert!(r["check"].is_object(), "{}", r["id"]);
            assert!(r["expected"].is_string(), "{}", r["id"]);
        }
    }
    assert_eq!(automated, 65, "CIS marks 65 checks Automated");
}

#[test]
fn rules_text_and_markdown_render_every_rule() {
    let text = String::from_utf8(cli(&["rules"]).stdout).unwrap();
    assert!(
        text.starts_with(
            "CIS Kubernetes Benchmark v1.12 (cis-1.12), 154 checks: 131 benchmark rules, 23 kubeharden checks"
        ),
        "{text}"
    );
    assert_eq!(text.lines().count(), 132 + OWN_CHECKS);
    for line in ["tls.min-version", "net.etcd-firewall", "presence.etcd"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(line) && l.contains("scored")),
            "{line} not listed"
        );
    }
    let md = String::from_utf8(cli(&["rules", "--format", "md"]).stdout).unwrap();
    assert_eq!(
        md.lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| id"))
            .count(),
        131 + OWN_CHECKS
    );
    assert!(md.contains("| tls.min-version | No port accepts TLS below 1.2 | yes | high | built in | built-in `tls.min-version`"), "{md}");
    let committed = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    assert_eq!(
        md, committed,
        "docs/rules.md is stale: regenerate with `kubeharden rules --format md`"
    );
}

#[test]
fn benchmarks_lists_the_builtin_profiles() {
    let out = cli(&["benchmarks"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let ids: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(ids, ["cis-1.10", "cis-1.12", "cis-2.0"], "{text}");
    assert!(
        text.contains(
            "cis-1.12\tCIS Kubernetes Benchmark v1.12 (Kubernetes 1.32-1.34, 154 checks)"
        ),
        "{text}"
    );
}

/// Every fact a rule names maps onto a part of NodeFacts, and on a node that
/// carries them all (the hardened control plane) none is unreadable.
#[test]
fn every_fact_a_rule_names_is_carried_by_the_facts_model() {
    let bench = load_builtin("cis-1.12").unwrap();
    let nodes = load_facts_path(&root().join("tests/fixtures/hardened")).unwrap();
    let cp = nodes.iter().find(|n| n.node.name == "cp1").unwrap();
    let mut seen_refs = Vec::new();
    for rule in bench.rules.iter().filter(|r| r.scope == Scope::Node) {
        for test in rule.check.iter().flat_map(|c| c.tests()) {
            // Round trip: the name in the TOML is the name of a typed fact.
            assert_eq!(
                Fact::parse(&test.fact.to_string()).unwrap().to_string(),
                test.fact.to_string()
            );
            match test.fact {
                Fact::File { file, .. } => seen_refs.push(file),
                other => {
                    let c = other.component().expect("settings belong to a component");
                    assert!(ComponentKind::ALL.contains(&c));
                    assert!(
                        cp.components.contains_key(&c),
                        "{}: {c} not in facts",
                        rule.id
                    );
                }
            }
        }
    }
    let report = evaluate_node(&bench, cp);
    // Certificates are not facts a rule names; the fixture has none. Key
    // ages (keys.*) are judged, not read: the hardened fixture's encryption
    // key is old on purpose.
    for f in report
        .results
        .iter()
        .filter(|f| !f.id.starts_with("cert.") && !f.id.starts_with("keys."))
    {
        assert!(
            matches!(f.status, Status::Pass | Status::Manual),
            "{} on a node with every fact: {:?} {:?}",
            f.id,
            f.status,
            f.reason
        );
    }
    for r in FileRef::ALL {
        assert!(
            seen_refs.contains(&r),
            "file ref {} is used by no rule",
            r.as_str()
        );
    }
}

#[test]
fn malformed_facts_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("node.json");
    std::fs::write(&bad, "{\n  \"schema_version\": 1,\n  \"node\": {\"name\": \"x\"},\n  \"files\": {\"/a\": {\"exists\": true, \"mode\": \"rwx\"}}\n}\n").unwrap();
    let out = cli(&["eval", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&format!("{}:4:", bad.display())), "{err}");
    assert!(err.contains("invalid file mode"), "{err}");

    std::fs::write(
        &bad,
        "{\"schema_version\": 1, \"node\": {\"name\": \"x\"}, \"colour\": 1}",
    )
    .unwrap();
    let err = String::from_utf8(cli(&["eval", bad.to_str().unwrap()]).stderr).unwrap();
    assert!(
        err.contains("unknown field `colour`") && err.contains(":1:"),
        "{err}"
    );

    std::fs::write(&bad, "{\"schema_version\": 1, \"node\": ").unwrap();
    let out = cli(&["eval", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("node.json:1:")
    );

    std::fs::write(&bad, "{\"schema_version\": 7, \"node\": {\"name\": \"x\"}}").unwrap();
    let err = String::from_utf8(cli(&["eval", bad.to_str().unwrap()]).stderr).unwrap();
    assert!(err.contains("schema version 7 is not supported"), "{err}");

    let missing = tmp.path().join("nope.json");
    let out = cli(&["eval", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("nope.json: cannot read")
    );
}

#[test]
fn duplicate_node_names_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let node = "{\"schema_version\": 1, \"node\": {\"name\": \"same\"}}";
    std::fs::write(tmp.path().join("a.json"), node).unwrap();
    std::fs::write(tmp.path().join("b.json"), node).unwrap();
    let err = String::from_utf8(cli(&["eval", tmp.path().to_str().unwrap()]).stderr).unwrap();
    assert!(err.contains("\"same\" appears twice"), "{err}");
}

#[test]
fn malformed_benchmark_directory_reports_every_problem() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("profile.toml"),
        "id = \"custom\"\ntitle = \"Custom\"\nversion = \"1\"\n[sections]\n\"1.2\" = \"API\"\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("rules.toml"),
        "[[rule]]\nid = \"1.2.1\"\ntitle = \"t\"\nsection = \"1.2\"\nscored = true\ntargets = [\"control-plane\"]\nremediation = \"r\"\n[rule.check]\nfact = \"shell:cat /etc/shadow\"\nop = \"eq\"\nvalue = \"x\"\n\n[[rule]]\nid = \"1.2.2\"\ntitle = \"t\"\nsection = \"1.2\"\nscored = true\ntargets = [\"control-plane\"]\nremediation = \"r\"\n[rule.check]\nfact = \"flag:apiserver:--profiling\"\nop = \"roughly\"\nvalue = \"false\"\n",
    )
    .unwrap();
    let facts = root().join("tests/fixtures/hardened");
    let out = cli(&[
        "eval",
        facts.to_str().unwrap(),
        "--benchmark",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("rules.toml:9: rule 1.2.1: unknown fact \"shell:cat /etc/shadow\""),
        "{err}"
    );
    assert!(
        err.contains("rules.toml:22: rule 1.2.2: unknown operator \"roughly\""),
        "{err}"
    );
}

#[test]
fn a_custom_benchmark_directory_is_evaluated() {
    let out = cli(&[
        "eval",
        root().join("tests/fixtures/hardened").to_str().unwrap(),
        "--benchmark",
        root().join("benchmarks/cis-1.12").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unknown_benchmark_and_bad_usage_exit_2() {
    let out = cli(&["rules", "--benchmark", "cis-9.9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no built-in benchmark \"cis-9.9\"")
    );
    assert_eq!(cli(&["eval"]).status.code(), Some(2));
    assert_eq!(cli(&["frobnicate"]).status.code(), Some(2));
}
