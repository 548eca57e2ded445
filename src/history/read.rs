//! Reading the store: a past run rebuilt as a report, finding ages and
//! what changed since the previous run, the list of runs, trends, one
//! finding's history, and pruning.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::db::{Conn, Value};
use super::record::CLUSTER_NODE;
use super::{HistoryError, is_open};
use crate::verdict::{
    CertificateInfo, Change, EtcdReach, Finding, FindingRef, NodeReport, Report, RunHistory,
    RunRef, Status, TlsPort, TrendPoint,
};

/// Runs a report's trend shows (the HTML chart, the JSON `history.trend`).
pub const REPORT_TREND_RUNS: i64 = 30;

fn text(v: &mut std::vec::IntoIter<Value>) -> String {
    v.next().and_then(Value::into_text).unwrap_or_default()
}

fn int(v: &mut std::vec::IntoIter<Value>) -> Option<i64> {
    v.next().and_then(|x| x.int())
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, HistoryError> {
    serde_json::from_str(s).map_err(|e| HistoryError::Corrupt(format!("{what}: {e}")))
}

fn node_opt(n: &str) -> Option<String> {
    (n != CLUSTER_NODE).then(|| n.to_string())
}

/// One run in `history list`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub cluster: String,
    pub generated_at: String,
    pub tool_version: String,
    pub benchmark: String,
    pub nodes: i64,
    pub score: Option<i64>,
    pub open: i64,
}

pub fn list(
    conn: &mut Conn,
    cluster: Option<&str>,
    limit: i64,
) -> Result<Vec<RunSummary>, HistoryError> {
    let (sql, params): (&str, Vec<Value>) = match cluster {
        Some(c) => (
            "SELECT id, cluster, generated_at, tool_version, benchmark, node_count, score, open_count
             FROM kh_runs WHERE complete = 1 AND cluster = ? ORDER BY id DESC LIMIT ?",
            vec![c.into(), limit.into()],
        ),
        None => (
            "SELECT id, cluster, generated_at, tool_version, benchmark, node_count, score, open_count
             FROM kh_runs WHERE complete = 1 ORDER BY id DESC LIMIT ?",
            vec![limit.into()],
        ),
    };
    Ok(conn
        .query(sql, &params)?
        .into_iter()
        .map(|r| {
            let mut r = r.into_iter();
            RunSummary {
                id: int(&mut r).unwrap_or(0),
                cluster: text(&mut r),
                generated_at: text(&mut r),
                tool_version: text(&mut r),
                benchmark: text(&mut r),
                nodes: int(&mut r).unwrap_or(0),
                score: int(&mut r),
                open: int(&mut r).unwrap_or(0),
            }
        })
        .collect())
}

/// The clusters the store holds runs of.
pub fn clusters(conn: &mut Conn) -> Result<Vec<String>, HistoryError> {
    Ok(conn
        .query("SELECT DISTINCT cluster FROM kh_runs ORDER BY cluster", &[])?
        .into_iter()
        .filter_map(|r| r.into_iter().next().and_then(Value::into_text))
        .collect())
}

struct RunRow {
    cluster: String,
    unix: i64,
    header: String,
}

fn run_row(conn: &mut Conn, id: i64) -> Result<RunRow, HistoryError> {
    let rows = conn.query(
        "SELECT cluster, unix_time, header FROM kh_runs WHERE id = ? AND complete = 1",
        &[id.into()],
    )?;
    let r = rows.into_iter().next().ok_or(HistoryError::NoRun(id))?;
    let mut r = r.into_iter();
    Ok(RunRow {
        cluster: text(&mut r),
        unix: int(&mut r).unwrap_or(0),
        header: text(&mut r),
    })
}

/// Run `id` rebuilt as the report it was, with finding ages and what
/// changed since the run before it, as if it had just run.
pub fn show(conn: &mut Conn, id: i64) -> Result<Report, HistoryError> {
    let run = run_row(conn, id)?;
    let mut report: Report = parse(&format!("run {id} header"), &run.header)?;
    let mut nodes: Vec<NodeReport> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in conn.query(
        "SELECT meta FROM kh_run_nodes WHERE run_id = ? ORDER BY ord",
        &[id.into()],
    )? {
        let meta = r
            .into_iter()
            .next()
            .and_then(Value::into_text)
            .unwrap_or_default();
        let n: NodeReport = parse(&format!("run {id} node"), &meta)?;
        index.insert(n.name.clone(), nodes.len());
        nodes.push(n);
    }
    let mut findings: Vec<(i64, String, Finding)> = Vec::new();
    let mut certs: Vec<(i64, CertificateInfo)> = Vec::new();
    let mut tls: Vec<(i64, TlsPort)> = Vec::new();
    let mut etcd: Vec<(i64, EtcdReach)> = Vec::new();
    let mut keys: Vec<(i64, crate::verdict::KeyInfo)> = Vec::new();
    let unix = |s: &str| {
        humantime::parse_rfc3339_weak(s).ok().map(|t| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
    };
    for r in conn.query(
        "SELECT kind, node, ord, data FROM kh_items
         WHERE cluster = ? AND first_run <= ? AND (last_run IS NULL OR last_run >= ?)",
        &[run.cluster.as_str().into(), id.into(), id.into()],
    )? {
        let mut r = r.into_iter();
        let kind = text(&mut r);
        let node = text(&mut r);
        let ord = int(&mut r).unwrap_or(0);
        let data = text(&mut r);
        match kind.as_str() {
            "f" => findings.push((ord, node, parse("finding", &data)?)),
            "c" => {
                let mut c: CertificateInfo = parse("certificate", &data)?;
                if let Ok(t) = humantime::parse_rfc3339_weak(&c.not_after) {
                    let not_after = t
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or(0);
                    c.days_left = (not_after - run.unix).div_euclid(86_400);
                }
                certs.push((ord, c));
            }
            "t" => tls.push((ord, parse("TLS port", &data)?)),
            "e" => etcd.push((ord, parse("etcd reachability", &data)?)),
            "k" => {
                let mut k: crate::verdict::KeyInfo = parse("key", &data)?;
                k.age_days = k
                    .since
                    .as_deref()
                    .and_then(unix)
                    .map(|t| (run.unix - t).div_euclid(86_400));
                k.days_left = k
                    .not_after
                    .as_deref()
                    .and_then(unix)
                    .map(|t| (t - run.unix).div_euclid(86_400));
                keys.push((ord, k));
            }
            other => return Err(HistoryError::Corrupt(format!("item kind {other:?}"))),
        }
    }
    findings.sort_by_key(|(ord, _, _)| *ord);
    for (_, node, f) in findings {
        if node == CLUSTER_NODE {
            report.cluster.results.push(f);
        } else if let Some(&i) = index.get(&node) {
            nodes[i].results.push(f);
        }
    }
    report.nodes = nodes;
    certs.sort_by_key(|(o, _)| *o);
    tls.sort_by_key(|(o, _)| *o);
    etcd.sort_by_key(|(o, _)| *o);
    if let Some(c) = report.certificates.as_mut() {
        *c = certs.into_iter().map(|(_, c)| c).collect();
    }
    if let Some(t) = report.tls_ports.as_mut() {
        *t = tls.into_iter().map(|(_, t)| t).collect();
    }
    if let Some(e) = report.etcd_reachability.as_mut() {
        *e = etcd.into_iter().map(|(_, e)| e).collect();
    }
    keys.sort_by_key(|(o, _)| *o);
    if let Some(k) = report.keys.as_mut() {
        *k = keys.into_iter().map(|(_, k)| k).collect();
    }
    annotate(conn, &mut report, id)?;
    Ok(report)
}

/// Fills the report's finding ages and `history` from the store, as of run
/// `id` (the run the report was recorded as).
pub fn annotate(conn: &mut Conn, report: &mut Report, id: i64) -> Result<(), HistoryError> {
    let run = run_row(conn, id)?;
    let prev = conn
        .query(
            "SELECT id, generated_at FROM kh_runs WHERE cluster = ? AND complete = 1 AND id < ?
             ORDER BY id DESC LIMIT 1",
            &[run.cluster.as_str().into(), id.into()],
        )?
        .into_iter()
        .next()
        .map(|r| {
            let mut r = r.into_iter();
            RunRef {
                id: int(&mut r).unwrap_or(0),
                generated_at: text(&mut r),
            }
        });
    struct Streak {
        title: String,
        status: String,
        first_run: i64,
        first_time: String,
        first_unix: i64,
        closed_run: Option<i64>,
    }
    let mut open: HashMap<(String, String), Streak> = HashMap::new();
    let mut fixed: BTreeMap<(String, String), Streak> = BTreeMap::new();
    for r in conn.query(
        "SELECT node, check_id, title, status, first_run, first_time, first_unix, closed_run
         FROM kh_streaks WHERE cluster = ? AND first_run <= ? AND (closed_run IS NULL OR closed_run >= ?)",
        &[run.cluster.as_str().into(), id.into(), id.into()],
    )? {
        let mut r = r.into_iter();
        let node = text(&mut r);
        let check = text(&mut r);
        let s = Streak {
            title: text(&mut r),
            status: text(&mut r),
            first_run: int(&mut r).unwrap_or(0),
            first_time: text(&mut r),
            first_unix: int(&mut r).unwrap_or(0),
            closed_run: int(&mut r),
        };
        if s.closed_run == Some(id) {
            fixed.insert((node, check), s);
        } else {
            open.insert((node, check), s);
        }
    }
    let mut new = Vec::new();
    let mut seen_new = std::collections::HashSet::new();
    let apply = |node: Option<&str>,
                 f: &mut Finding,
                 new: &mut Vec<FindingRef>,
                 seen: &mut std::collections::HashSet<(String, String)>| {
        let key = (node.unwrap_or(CLUSTER_NODE).to_string(), f.id.clone());
        f.age = Default::default();
        if is_open(f.status) {
            if let Some(s) = open.get(&key) {
                f.age.first_seen = Some(s.first_time.clone());
                f.age.days_open = Some((run.unix - s.first_unix).div_euclid(86_400).max(0));
                if s.first_run == id && prev.is_some() {
                    f.age.since_last_run = Some(Change::New);
                    if seen.insert(key) {
                        new.push(FindingRef {
                            node: node.map(str::to_string),
                            id: f.id.clone(),
                            title: f.title.clone(),
                            status: f.status,
                            first_seen: Some(s.first_time.clone()),
                        });
                    }
                }
            }
        } else if fixed.contains_key(&key) {
            f.age.since_last_run = Some(Change::Fixed);
        }
    };
    for n in &mut report.nodes {
        for f in &mut n.results {
            apply(Some(&n.name), f, &mut new, &mut seen_new);
        }
    }
    for f in &mut report.cluster.results {
        apply(None, f, &mut new, &mut seen_new);
    }
    let fixed = fixed
        .into_iter()
        .map(|((node, check), s)| FindingRef {
            node: node_opt(&node),
            id: check,
            title: s.title,
            status: Status::parse(&s.status).unwrap_or(Status::Fail),
            first_seen: Some(s.first_time),
        })
        .collect();
    new.sort();
    report.history = Some(RunHistory {
        run_id: id,
        previous: prev,
        new,
        fixed,
        trend: trend_points(conn, &run.cluster, id, REPORT_TREND_RUNS)?,
    });
    Ok(())
}

/// The last `n` runs of `cluster` up to run `upto`, oldest first.
fn trend_points(
    conn: &mut Conn,
    cluster: &str,
    upto: i64,
    n: i64,
) -> Result<Vec<TrendPoint>, HistoryError> {
    let mut points: Vec<TrendPoint> = conn
        .query(
            "SELECT id, generated_at, score, open_count FROM kh_runs
             WHERE cluster = ? AND complete = 1 AND id <= ? ORDER BY id DESC LIMIT ?",
            &[cluster.into(), upto.into(), n.into()],
        )?
        .into_iter()
        .map(|r| {
            let mut r = r.into_iter();
            TrendPoint {
                run_id: int(&mut r).unwrap_or(0),
                generated_at: text(&mut r),
                score: int(&mut r).map(|s| s as u32),
                open: int(&mut r).unwrap_or(0) as usize,
                open_by_section: BTreeMap::new(),
            }
        })
        .collect();
    points.reverse();
    if let Some(first) = points.first().map(|p| p.run_id) {
        let at: HashMap<i64, usize> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (p.run_id, i))
            .collect();
        for r in conn.query(
            "SELECT s.run_id, s.section, s.open_count FROM kh_run_sections s
             JOIN kh_runs r ON r.id = s.run_id
             WHERE r.cluster = ? AND s.run_id >= ? AND s.run_id <= ? AND s.section <> ''",
            &[cluster.into(), first.into(), upto.into()],
        )? {
            let mut r = r.into_iter();
            let run = int(&mut r).unwrap_or(0);
            let section = text(&mut r);
            let open = int(&mut r).unwrap_or(0) as usize;
            if let Some(&i) = at.get(&run) {
                points[i].open_by_section.insert(section, open);
            }
        }
    }
    Ok(points)
}

/// A score with the open findings behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    pub score: Option<i64>,
    pub open: i64,
}

/// One run of `history trend`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrendRun {
    pub id: i64,
    pub generated_at: String,
    pub score: Option<i64>,
    pub open: i64,
    pub sections: BTreeMap<String, Point>,
    pub nodes: BTreeMap<String, Point>,
}

/// `history trend`: every recorded run of a cluster, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trend {
    pub cluster: String,
    /// Section id to title, from the latest run.
    pub section_titles: BTreeMap<String, String>,
    pub runs: Vec<TrendRun>,
}

fn score_of(pass: i64, fail: i64, warn: i64, error: i64) -> Option<i64> {
    let judged = pass + fail + warn + error;
    (judged > 0).then(|| pass * 100 / judged)
}

pub fn trend(conn: &mut Conn, cluster: &str) -> Result<Trend, HistoryError> {
    let mut runs: Vec<TrendRun> = conn
        .query(
            "SELECT id, generated_at, score, open_count FROM kh_runs
             WHERE cluster = ? AND complete = 1 ORDER BY id",
            &[cluster.into()],
        )?
        .into_iter()
        .map(|r| {
            let mut r = r.into_iter();
            TrendRun {
                id: int(&mut r).unwrap_or(0),
                generated_at: text(&mut r),
                score: int(&mut r),
                open: int(&mut r).unwrap_or(0),
                sections: BTreeMap::new(),
                nodes: BTreeMap::new(),
            }
        })
        .collect();
    let at: HashMap<i64, usize> = runs.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    for r in conn.query(
        "SELECT s.run_id, s.section, s.pass, s.fail, s.warn, s.error, s.open_count
         FROM kh_run_sections s JOIN kh_runs r ON r.id = s.run_id
         WHERE r.cluster = ? AND r.complete = 1 AND s.section <> ''",
        &[cluster.into()],
    )? {
        let mut r = r.into_iter();
        let run = int(&mut r).unwrap_or(0);
        let section = text(&mut r);
        let (p, f, w, e) = (
            int(&mut r).unwrap_or(0),
            int(&mut r).unwrap_or(0),
            int(&mut r).unwrap_or(0),
            int(&mut r).unwrap_or(0),
        );
        let open = int(&mut r).unwrap_or(0);
        if let Some(&i) = at.get(&run) {
            runs[i].sections.insert(
                section,
                Point {
                    score: score_of(p, f, w, e),
                    open,
                },
            );
        }
    }
    for r in conn.query(
        "SELECT n.run_id, n.node, n.score, n.open_count
         FROM kh_run_nodes n JOIN kh_runs r ON r.id = n.run_id
         WHERE r.cluster = ? AND r.complete = 1",
        &[cluster.into()],
    )? {
        let mut r = r.into_iter();
        let run = int(&mut r).unwrap_or(0);
        let node = text(&mut r);
        let score = int(&mut r);
        let open = int(&mut r).unwrap_or(0);
        if let Some(&i) = at.get(&run) {
            runs[i].nodes.insert(node, Point { score, open });
        }
    }
    let mut section_titles = BTreeMap::new();
    if let Some(last) = runs.last().map(|r| r.id) {
        let row = run_row(conn, last)?;
        let h: Report = parse("run header", &row.header)?;
        section_titles = h.benchmark.sections;
    }
    Ok(Trend {
        cluster: cluster.to_string(),
        section_titles,
        runs,
    })
}

/// One stretch of runs during which a finding was open on a node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Streak {
    /// `None` for a cluster finding.
    pub node: Option<String>,
    pub title: String,
    /// Its status when last seen open.
    pub status: Status,
    pub first_run: i64,
    pub first_seen: String,
    /// The run that found it fixed, if one has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_run: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_at: Option<String>,
    /// Whole days from first seen to fixed, or to the cluster's latest run
    /// while still open.
    pub days_open: i64,
    /// True when it had been fixed on this node before and came back.
    pub came_back: bool,
}

/// `history finding ID`: every streak of the finding, per node in order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingHistory {
    pub cluster: String,
    pub id: String,
    /// The cluster's latest run, which "still open" is as of.
    pub latest_run: Option<i64>,
    pub streaks: Vec<Streak>,
}

fn unix(s: &str) -> Option<i64> {
    humantime::parse_rfc3339_weak(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

pub fn finding(
    conn: &mut Conn,
    cluster: &str,
    id: &str,
    node: Option<&str>,
) -> Result<FindingHistory, HistoryError> {
    let latest = conn
        .query(
            "SELECT id, unix_time FROM kh_runs WHERE cluster = ? AND complete = 1 ORDER BY id DESC LIMIT 1",
            &[cluster.into()],
        )?
        .into_iter()
        .next()
        .map(|r| (r[0].int().unwrap_or(0), r[1].int().unwrap_or(0)));
    let mut params: Vec<Value> = vec![cluster.into(), id.into()];
    let mut sql =
        "SELECT node, title, status, first_run, first_time, first_unix, closed_run, closed_time
         FROM kh_streaks WHERE cluster = ? AND check_id = ?"
            .to_string();
    if let Some(n) = node {
        sql.push_str(" AND node = ?");
        params.push(n.into());
    }
    sql.push_str(" ORDER BY node, first_run");
    let mut streaks: Vec<Streak> = Vec::new();
    for r in conn.query(&sql, &params)? {
        let mut r = r.into_iter();
        let node = text(&mut r);
        let title = text(&mut r);
        let status = Status::parse(&text(&mut r)).unwrap_or(Status::Fail);
        let first_run = int(&mut r).unwrap_or(0);
        let first_seen = text(&mut r);
        let first_unix = int(&mut r).unwrap_or(0);
        let fixed_run = int(&mut r);
        let fixed_at = r.next().and_then(Value::into_text);
        let end = match &fixed_at {
            Some(t) => unix(t).unwrap_or(first_unix),
            None => latest.map(|l| l.1).unwrap_or(first_unix),
        };
        let node = node_opt(&node);
        let came_back = streaks.last().is_some_and(|s| s.node == node);
        streaks.push(Streak {
            node,
            title,
            status,
            first_run,
            first_seen,
            fixed_run,
            fixed_at,
            days_open: (end - first_unix).div_euclid(86_400).max(0),
            came_back,
        });
    }
    Ok(FindingHistory {
        cluster: cluster.to_string(),
        id: id.to_string(),
        latest_run: latest.map(|l| l.0),
        streaks,
    })
}

/// What `history prune` removes.
#[derive(Clone, Copy, Debug)]
pub enum Prune {
    /// Keep the newest N runs of each cluster.
    Keep(usize),
    /// Remove runs older than this many seconds before `now`.
    OlderThan { seconds: i64, now: i64 },
}

/// Prunes in the open write transaction; returns the runs removed.
pub fn prune_in(conn: &mut Conn, cluster: Option<&str>, how: Prune) -> Result<usize, HistoryError> {
    let clusters = match cluster {
        Some(c) => vec![c.to_string()],
        None => clusters(conn)?,
    };
    let mut removed = 0;
    for c in clusters {
        let runs: Vec<(i64, i64)> = conn
            .query(
                "SELECT id, unix_time FROM kh_runs WHERE cluster = ? ORDER BY id DESC",
                &[c.as_str().into()],
            )?
            .into_iter()
            .map(|r| (r[0].int().unwrap_or(0), r[1].int().unwrap_or(0)))
            .collect();
        let (gone, kept): (Vec<_>, Vec<_>) =
            runs.iter().enumerate().partition(|(i, (_, t))| match how {
                Prune::Keep(n) => *i >= n,
                Prune::OlderThan { seconds, now } => *t < now - seconds,
            });
        let gone: Vec<i64> = gone.into_iter().map(|(_, (id, _))| *id).collect();
        if gone.is_empty() {
            continue;
        }
        removed += gone.len();
        for chunk in gone.chunks(500) {
            let list = vec!["?"; chunk.len()].join(",");
            let ids: Vec<Value> = chunk.iter().map(|i| Value::Int(*i)).collect();
            for t in ["kh_run_nodes", "kh_run_sections"] {
                conn.exec(&format!("DELETE FROM {t} WHERE run_id IN ({list})"), &ids)?;
            }
            conn.exec(&format!("DELETE FROM kh_runs WHERE id IN ({list})"), &ids)?;
        }
        match kept.iter().map(|(_, (id, _))| *id).min() {
            Some(oldest) => {
                conn.exec(
                    "DELETE FROM kh_items WHERE cluster = ? AND last_run IS NOT NULL AND last_run < ?",
                    &[c.as_str().into(), oldest.into()],
                )?;
                conn.exec(
                    "DELETE FROM kh_streaks WHERE cluster = ? AND closed_run IS NOT NULL AND closed_run < ?",
                    &[c.as_str().into(), oldest.into()],
                )?;
            }
            None => {
                conn.exec(
                    "DELETE FROM kh_items WHERE cluster = ?",
                    &[c.as_str().into()],
                )?;
                conn.exec(
                    "DELETE FROM kh_streaks WHERE cluster = ?",
                    &[c.as_str().into()],
                )?;
            }
        }
    }
    Ok(removed)
}
