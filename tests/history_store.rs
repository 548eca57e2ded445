//! The run history (`--store`), end to end through the binary, against
//! SQLite files and a real PostgreSQL server started here (Debian's
//! postgresql package, which scripts/test installs): recording, finding
//! ages, new and fixed findings, every `history` command, an old schema
//! migrated and a newer one refused, pruning, concurrent writers, and a
//! writer killed half-way.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::history_refs as refs;
use common::pg::Pg;
use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubeharden"));
    c.env_remove("NO_COLOR");
    c
}

fn fixture(s: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(s)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run kubeharden")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `eval FIXTURE --store STORE --cluster-name CLUSTER --format json`.
fn eval(store: &str, cluster: &str, facts: &Path, extra: &[&str]) -> (Value, Output) {
    let mut args = vec![
        "eval",
        facts.to_str().unwrap(),
        "--store",
        store,
        "--cluster-name",
        cluster,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1), "eval: {}", stderr(&o));
    (serde_json::from_slice(&o.stdout).expect("JSON report"), o)
}

fn history(store: &str, cluster: &str, args: &[&str]) -> Output {
    let mut all = vec!["history", "--store", store, "--cluster", cluster];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(o.status.success(), "history {args:?}: {}", stderr(&o));
    o
}

fn history_json(store: &str, cluster: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend_from_slice(&["--format", "json"]);
    serde_json::from_slice(&history(store, cluster, &a).stdout).unwrap()
}

/// (node, id) of every result of a report with `since_last_run` = what.
fn marked(r: &Value, what: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in r["nodes"].as_array().unwrap() {
        for f in n["results"].as_array().unwrap() {
            if f["since_last_run"] == what {
                out.push((
                    n["name"].as_str().unwrap().into(),
                    f["id"].as_str().unwrap().into(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Recording, ages, new and fixed, show, list, trend, finding, prune: the
/// suite both databases pass. `cluster` keeps runs of the suites apart.
fn suite(store: &str, cluster: &str) {
    let tmp = tempfile::tempdir().unwrap();
    // Run 1: kubeadm defaults. Everything open is first seen now.
    let (r1, o1) = eval(store, cluster, &fixture("kubeadm-default"), &[]);
    assert!(stderr(&o1).contains("recorded as run"), "{}", stderr(&o1));
    let h1 = &r1["history"];
    let run1 = h1["run_id"].as_i64().unwrap();
    assert!(h1["previous"].is_null(), "first run has no previous: {h1}");
    assert_eq!(h1["new"].as_array().unwrap().len(), 0);
    let open1: Vec<&Value> = r1["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["results"].as_array().unwrap())
        .filter(|f| ["fail", "warn", "error", "waived"].contains(&f["status"].as_str().unwrap()))
        .collect();
    assert!(!open1.is_empty());
    for f in &open1 {
        assert_eq!(f["first_seen"], r1["generated_at"], "{f}");
        assert_eq!(f["days_open"], 0, "{f}");
    }

    // Run 2: hardened. What was open is fixed; the JSON, the history
    // commands and the HTML say so.
    let html = tmp.path().join("r2.html");
    let o = run(&[
        "eval",
        fixture("hardened").to_str().unwrap(),
        "--store",
        store,
        "--cluster-name",
        cluster,
        "--format",
        "json",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r2: Value = serde_json::from_slice(&o.stdout).unwrap();
    let h2 = &r2["history"];
    let run2 = h2["run_id"].as_i64().unwrap();
    assert!(run2 > run1);
    assert_eq!(h2["previous"]["id"], run1);
    assert_eq!(h2["previous"]["generated_at"], r1["generated_at"]);
    let fixed = refs(&h2["fixed"]);
    let mut expected_fixed: Vec<(String, String)> = Vec::new();
    for n in r1["nodes"].as_array().unwrap() {
        for f in n["results"].as_array().unwrap() {
            if f["first_seen"].is_string() {
                expected_fixed.push((
                    n["name"].as_str().unwrap().into(),
                    f["id"].as_str().unwrap().into(),
                ));
            }
        }
    }
    expected_fixed.sort();
    expected_fixed.dedup();
    // The hardened fixture fixes every finding the default one has open.
    assert_eq!(fixed, expected_fixed);
    assert_eq!(marked(&r2, "fixed"), expected_fixed);
    assert_eq!(h2["trend"].as_array().unwrap().len(), 2);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("id=\"history\""));
    assert!(page.contains(&format!("Fixed since last run: {}", fixed.len())));
    assert!(page.contains("<svg class=\"trend\""));
    let chart = &page[page.find("<svg class=\"trend\"").unwrap()..];
    let chart = &chart[..chart.find("</svg>").unwrap()];
    assert_eq!(
        chart.matches("<circle").count(),
        2,
        "one score point per run"
    );
    assert!(!page.contains("<script src"), "self-contained page");

    // Run 3: defaults again: the same findings come back, new since run 2.
    let html3 = tmp.path().join("r3.html");
    let (r3, _) = eval(
        store,
        cluster,
        &fixture("kubeadm-default"),
        &["--html", html3.to_str().unwrap()],
    );
    let h3 = &r3["history"];
    let run3 = h3["run_id"].as_i64().unwrap();
    assert_eq!(refs(&h3["new"]), expected_fixed);
    assert_eq!(marked(&r3, "new"), expected_fixed);
    assert!(h3["fixed"].as_array().unwrap().is_empty());
    let page = std::fs::read_to_string(&html3).unwrap();
    assert!(page.contains(&format!("New since last run: {}", expected_fixed.len())));
    let first_seen = r3["generated_at"].as_str().unwrap();
    assert_eq!(
        page.matches("new since last run</strong>").count(),
        open1.len(),
        "each open finding with its age"
    );
    assert!(page.contains(&format!("<td>{first_seen}</td>")));

    // history list: newest first, with scores and open counts.
    let list = history_json(store, cluster, &["list"]);
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![run3, run2, run1]);
    assert_eq!(list[1]["score"], 100);
    assert_eq!(list[1]["open"], 0);
    assert_eq!(list[0]["open"].as_i64().unwrap() as usize, open1.len());
    let text = stdout(&history(store, cluster, &["list"]));
    assert!(text.contains("SCORE") && text.contains("100%"), "{text}");

    // history show: the same report the run wrote.
    let shown = history_json(store, cluster, &["show", &run1.to_string()]);
    assert_eq!(shown, r1, "show {run1} gives back run 1's report");
    let shown3 = history_json(store, cluster, &["show", &run3.to_string()]);
    assert_eq!(shown3, r3);
    let md = stdout(&history(
        store,
        cluster,
        &["show", &run2.to_string(), "--format", "md"],
    ));
    assert!(md.contains(&format!("### History (run {run2})")), "{md}");

    // history trend: per run, per section, per node.
    let t = history_json(store, cluster, &["trend"]);
    let runs = t["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[1]["score"], 100);
    assert_eq!(runs[0]["open"], runs[2]["open"]);
    assert_eq!(runs[1]["sections"]["1.2"]["open"], 0);
    assert!(runs[0]["sections"]["1.2"]["open"].as_i64().unwrap() > 0);
    assert!(runs[0]["nodes"]["cp1"]["score"].as_i64().unwrap() < 100);
    assert_eq!(runs[1]["nodes"]["cp1"]["score"], 100);
    let tt = stdout(&history(store, cluster, &["trend"]));
    assert!(
        tt.contains("By section") && tt.contains("By node") && tt.contains("cp1"),
        "{tt}"
    );
    let tm = stdout(&history(store, cluster, &["trend", "--format", "md"]));
    assert!(tm.starts_with("## Trend of"), "{tm}");

    // history finding: opened in run 1, fixed in run 2, back in run 3.
    let (node, id) = expected_fixed[0].clone();
    let f = history_json(store, cluster, &["finding", &id, "--node", &node]);
    let streaks = f["streaks"].as_array().unwrap();
    assert_eq!(streaks.len(), 2, "{f}");
    assert_eq!(streaks[0]["first_run"], run1);
    assert_eq!(streaks[0]["fixed_run"], run2);
    assert_eq!(streaks[0]["came_back"], false);
    assert_eq!(streaks[1]["first_run"], run3);
    assert!(streaks[1]["fixed_run"].is_null());
    assert_eq!(streaks[1]["came_back"], true);
    let ft = stdout(&history(store, cluster, &["finding", &id, "--node", &node]));
    assert!(
        ft.contains("came back") && ft.contains("still open"),
        "{ft}"
    );

    // prune --keep 2: run 1 goes; run 2 and 3 still read back whole.
    let p = history_json(store, cluster, &["prune", "--keep", "2"]);
    assert_eq!(p["removed"], 1);
    let ids: Vec<i64> = history_json(store, cluster, &["list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![run3, run2]);
    // Run 3 reads back the same, but for the trend, which lost run 1.
    let mut after = history_json(store, cluster, &["show", &run3.to_string()]);
    let trend = after["history"]["trend"].take();
    assert_eq!(trend.as_array().unwrap().len(), 2);
    let mut before = r3.clone();
    before["history"]["trend"].take();
    assert_eq!(after, before);
    let shown2 = history_json(store, cluster, &["show", &run2.to_string()]);
    assert_eq!(shown2["nodes"].as_array().unwrap().len(), 2);
    for (a, b) in shown2["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(r2["nodes"].as_array().unwrap())
    {
        assert_eq!(
            a["results"].as_array().unwrap().len(),
            b["results"].as_array().unwrap().len()
        );
    }
    let o = run(&[
        "history",
        "--store",
        store,
        "--cluster",
        cluster,
        "show",
        &run1.to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("no run {run1}")),
        "{}",
        stderr(&o)
    );
}

/// A facts directory of `n` nodes: copies of the default fixture's cp1
/// and w1 under new names.
fn many_nodes(dir: &Path, n: usize) {
    let cp: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("kubeadm-default/cp1.json")).unwrap(),
    )
    .unwrap();
    let w: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("kubeadm-default/w1.json")).unwrap())
            .unwrap();
    let mut all = Vec::new();
    for i in 0..n {
        let mut f = if i % 3 == 0 { cp.clone() } else { w.clone() };
        f["node"]["name"] = Value::String(format!("node-{i:04}"));
        all.push(f);
    }
    std::fs::write(dir.join("nodes.json"), serde_json::to_vec(&all).unwrap()).unwrap();
}

/// Two writers at once: both runs recorded whole, one after the other.
fn concurrent(store: &str, cluster: &str) {
    let spawn = |facts: &Path| {
        bin()
            .args([
                "eval",
                facts.to_str().unwrap(),
                "--store",
                store,
                "--cluster-name",
                cluster,
                "--format",
                "json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let tmp = tempfile::tempdir().unwrap();
    many_nodes(tmp.path(), 60);
    let a = spawn(tmp.path());
    let b = spawn(&fixture("kubeadm-default"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
        assert!(stderr(o).contains("recorded as run"), "{}", stderr(o));
    }
    let list = history_json(store, cluster, &["list"]);
    let runs = list.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        let id = r["id"].as_i64().unwrap();
        let shown = history_json(store, cluster, &["show", &id.to_string()]);
        assert_eq!(
            shown["nodes"].as_array().unwrap().len() as i64,
            r["nodes"].as_i64().unwrap()
        );
    }
    let mut nodes: Vec<i64> = runs.iter().map(|r| r["nodes"].as_i64().unwrap()).collect();
    nodes.sort();
    assert_eq!(nodes, vec![2, 60]);
}

/// A writer killed while its transaction is open leaves the store as it
/// was: the earlier run reads back whole, the next run follows it.
fn killed(store: &str, cluster: &str, writing: &dyn Fn() -> bool) {
    let (r1, _) = eval(store, cluster, &fixture("kubeadm-default"), &[]);
    let tmp = tempfile::tempdir().unwrap();
    many_nodes(tmp.path(), 600);
    let mut child = bin()
        .args([
            "eval",
            tmp.path().to_str().unwrap(),
            "--store",
            store,
            "--cluster-name",
            cluster,
            "--format",
            "json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut caught = false;
    while start.elapsed() < Duration::from_secs(120) {
        if writing() {
            caught = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(caught, "the writer was never seen writing");
    assert_eq!(status.code(), None, "killed by the signal, not finished");
    let list = history_json(store, cluster, &["list"]);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "nothing of the killed run: {list}"
    );
    let id = list[0]["id"].as_i64().unwrap();
    assert_eq!(history_json(store, cluster, &["show", &id.to_string()]), r1);
    let (r2, _) = eval(store, cluster, &fixture("kubeadm-default"), &[]);
    assert_eq!(r2["history"]["previous"]["id"], id);
    assert!(r2["history"]["new"].as_array().unwrap().is_empty());
}

#[test]
fn sqlite_records_runs_and_answers_history() {
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", tmp.path().join("h.db").display());
    suite(&store, "lab");
    // A second cluster in the same store: history commands then need
    // --cluster.
    eval(&store, "other", &fixture("kubeadm-default"), &[]);
    let o = run(&["history", "--store", &store, "trend"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("several clusters (lab, other)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sqlite_default_location_is_under_xdg_data_home() {
    let tmp = tempfile::tempdir().unwrap();
    let o = bin()
        .env("XDG_DATA_HOME", tmp.path())
        .args([
            "eval",
            fixture("kubeadm-default").to_str().unwrap(),
            "--store",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(tmp.path().join("kubeharden/history.db").exists());
    let o = bin()
        .env("XDG_DATA_HOME", tmp.path())
        .args(["history", "list"])
        .output()
        .unwrap();
    assert!(
        o.status.success() && stdout(&o).contains("(unnamed)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn sqlite_concurrent_writers() {
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", tmp.path().join("h.db").display());
    concurrent(&store, "c");
    let db = rusqlite::Connection::open(tmp.path().join("h.db")).unwrap();
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn sqlite_writer_killed_mid_write() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("h.db");
    let store = format!("sqlite:{}", path.display());
    // The last connection to close checkpoints and removes the WAL, so
    // between runs there is none; a write in progress shows as the WAL
    // growing (a 600-node run spills pages to it long before it commits).
    eval(&store, "k", &fixture("kubeadm-default"), &[]);
    let wal = tmp.path().join("h.db-wal");
    let writing = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 1024 * 1024;
    // The suite's first eval above is "run 1" for `killed`: use a fresh
    // cluster so its own first eval is the one compared.
    killed(&store, "k2", &writing);
    let db = rusqlite::Connection::open(&path).unwrap();
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn sqlite_store_from_an_older_schema_is_migrated() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("v1.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(&std::fs::read_to_string(fixture("history/v1.sql")).unwrap())
        .unwrap();
    drop(db);
    let store = format!("sqlite:{}", path.display());
    let list = history_json(&store, "old", &["list"]);
    assert_eq!(list[0]["id"], 1);
    assert_eq!(
        list[0]["score"], 50,
        "v2 fills the score from the section totals"
    );
    assert_eq!(list[0]["open"], 1);
    let db = rusqlite::Connection::open(&path).unwrap();
    let v: String = db
        .query_row(
            "SELECT value FROM kh_meta WHERE name = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, "2");
    drop(db);
    let shown = history_json(&store, "old", &["show", "1"]);
    let results = shown["nodes"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["first_seen"], "2026-06-01T10:00:00Z");
    // A new run of that cluster follows the migrated one.
    let facts = tempfile::tempdir().unwrap();
    let mut cp: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("kubeadm-default/cp1.json")).unwrap(),
    )
    .unwrap();
    cp["node"]["name"] = "cp1".into();
    std::fs::write(facts.path().join("cp1.json"), cp.to_string()).unwrap();
    let (r, _) = eval(&store, "old", facts.path(), &[]);
    assert_eq!(r["history"]["previous"]["id"], 1);
    let f = r["nodes"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "1.2.1")
        .unwrap()
        .clone();
    if f["status"] == "fail" || f["status"] == "warn" {
        assert_eq!(f["first_seen"], "2026-06-01T10:00:00Z", "{f}");
        assert!(f["days_open"].as_i64().unwrap() > 100);
    }
}

#[test]
fn sqlite_newer_schema_is_refused_and_reports_still_written() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("h.db");
    let store = format!("sqlite:{}", path.display());
    eval(&store, "x", &fixture("kubeadm-default"), &[]);
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "UPDATE kh_meta SET value = '99' WHERE name = 'schema_version'",
        [],
    )
    .unwrap();
    drop(db);
    let o = run(&["history", "--store", &store, "list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("schema is version 99, newer than this kubeharden knows (version 2)"),
        "{}",
        stderr(&o)
    );
    let json = tmp.path().join("r.json");
    let o = run(&[
        "eval",
        fixture("kubeadm-default").to_str().unwrap(),
        "--store",
        &store,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("not recorded"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("fails its --fail-on gate"),
        "{}",
        stderr(&o)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(r.get("history").is_none());
    assert!(stdout(&o).contains("FAIL"));
}

#[test]
fn unwritable_store_is_exit_3_with_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("r.json");
    let o = run(&[
        "eval",
        fixture("hardened").to_str().unwrap(),
        "--store",
        "sqlite:/proc/self/no/such/h.db",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot open the history store"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("passes its --fail-on gate"),
        "{}",
        stderr(&o)
    );
    assert!(json.exists());
    let o = run(&[
        "eval",
        fixture("hardened").to_str().unwrap(),
        "--store",
        "mysql://x/y",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a store URL that means nothing is a usage error"
    );
}

// ---- PostgreSQL ----

#[test]
fn postgres_records_runs_and_answers_history() {
    let pg = Pg::start();
    let url = pg.create_db("suite");
    suite(&url, "lab");
    concurrent(&pg.create_db("conc"), "c");

    let kill_url = pg.create_db("kill");
    let writing = || {
        pg.psql(
            "kill",
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'kill' AND query LIKE 'INSERT INTO kh_items%' AND state = 'active' AND pid <> pg_backend_pid()",
        ) != "0"
    };
    killed(&kill_url, "k", &writing);

    // A newer schema is refused here too, and the report still written.
    let newer = pg.create_db("newer");
    eval(&newer, "x", &fixture("kubeadm-default"), &[]);
    pg.psql(
        "newer",
        "UPDATE kh_meta SET value = '7' WHERE name = 'schema_version'",
    );
    let o = run(&[
        "eval",
        fixture("kubeadm-default").to_str().unwrap(),
        "--store",
        &newer,
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("schema is version 7"), "{}", stderr(&o));
    // No password is ever echoed.
    let o = run(&[
        "eval",
        fixture("hardened").to_str().unwrap(),
        "--store",
        "postgres://kh:s3cret@127.0.0.1:1/none",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!stderr(&o).contains("s3cret"), "{}", stderr(&o));
}
