//! Recording a run: one write transaction that stores the run's header,
//! its nodes and section totals, the report items that changed since the
//! cluster's previous run (an item unchanged since then costs nothing), and
//! the open streak of every finding that is open.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::db::{Conn, Value};
use super::{HistoryError, cluster_key, is_open, unix_of};
use crate::facts::ScanStatus;
use crate::verdict::{Counts, Finding, Report};

/// The node name that stands for the cluster (cluster findings).
pub const CLUSTER_NODE: &str = "";

/// One report item as stored: a finding (`f`), a certificate (`c`), a TLS
/// port (`t`) or an etcd reachability row (`e`).
pub struct Item {
    pub kind: &'static str,
    pub node: String,
    pub key: String,
    pub ord: i64,
    pub data: String,
    pub hash: String,
}

/// FNV-1a, 64 bits: tells whether an item changed since the previous run
/// (the data is compared through it, never trusted to be unique: a
/// collision would only keep an item's older copy, and FNV's output over
/// JSON text of the same key makes that a 1 in 2^64 event per item).
fn fnv(ord: i64, data: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in ord.to_le_bytes().iter().chain(data.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, HistoryError> {
    serde_json::to_string(v).map_err(|e| HistoryError::Corrupt(format!("cannot encode: {e}")))
}

/// Keys unique within a node and kind: `id#n` for the n-th of that id.
struct Keys(HashMap<(String, String), usize>);

impl Keys {
    fn next(&mut self, node: &str, id: &str) -> String {
        let n = self
            .0
            .entry((node.to_string(), id.to_string()))
            .or_insert(0);
        *n += 1;
        format!("{id}#{n}")
    }
}

fn finding_data(f: &Finding) -> Result<String, HistoryError> {
    if f.age == Default::default() {
        json(f)
    } else {
        let mut g = f.clone();
        g.age = Default::default();
        json(&g)
    }
}

/// The report's items, in the order the report holds them.
pub fn items(report: &Report) -> Result<Vec<Item>, HistoryError> {
    let mut out = Vec::new();
    let mut keys = Keys(HashMap::new());
    let mut push = |kind: &'static str, node: &str, id: &str, ord: usize, data: String| {
        let key = keys.next(&format!("{kind}\u{0}{node}"), id);
        out.push(Item {
            kind,
            node: node.to_string(),
            key,
            ord: ord as i64,
            hash: fnv(ord as i64, &data),
            data,
        });
    };
    for n in &report.nodes {
        for (i, f) in n.results.iter().enumerate() {
            push("f", &n.name, &f.id, i, finding_data(f)?);
        }
    }
    for (i, f) in report.cluster.results.iter().enumerate() {
        push("f", CLUSTER_NODE, &f.id, i, finding_data(f)?);
    }
    for (i, c) in report.certificates.iter().flatten().enumerate() {
        // days_left changes every day; it is worked out again from
        // not_after and the run's time when the run is read back.
        let mut c = c.clone();
        c.days_left = 0;
        push("c", &c.node.clone(), &c.path.clone(), i, json(&c)?);
    }
    for (i, t) in report.tls_ports.iter().flatten().enumerate() {
        push("t", &t.node, &t.port.to_string(), i, json(t)?);
    }
    for (i, e) in report.etcd_reachability.iter().flatten().enumerate() {
        push("e", &e.from, &e.to, i, json(e)?);
    }
    for (i, k) in report.keys.iter().flatten().enumerate() {
        // Ages and days left change every day; they are worked out again
        // from `since`, `not_after` and the run's time when read back.
        let mut k = k.clone();
        k.age_days = None;
        k.days_left = None;
        // (PostgreSQL text holds no NUL.)
        let id = format!("{} {} {}", k.kind, k.path, k.name);
        push("k", &k.node.clone(), &id, i, json(&k)?);
    }
    Ok(out)
}

/// The report without what is stored apart (node results, items).
pub fn header(report: &Report) -> Result<String, HistoryError> {
    json(&report.clone_header())
}

trait CloneHeader {
    fn clone_header(&self) -> Report;
}

impl CloneHeader for Report {
    /// A copy without the bulky parts (nodes and items are stored apart).
    fn clone_header(&self) -> Report {
        Report {
            schema_version: self.schema_version,
            tool: self.tool.clone(),
            benchmark: self.benchmark.clone(),
            generated_at: self.generated_at.clone(),
            nodes: Vec::new(),
            cluster: crate::verdict::ClusterReport {
                name: self.cluster.name.clone(),
                results: Vec::new(),
            },
            summary: self.summary.clone(),
            waivers: self.waivers.clone(),
            certificates: self.certificates.as_ref().map(|_| Vec::new()),
            tls_ports: self.tls_ports.as_ref().map(|_| Vec::new()),
            etcd_reachability: self.etcd_reachability.as_ref().map(|_| Vec::new()),
            keys: self.keys.as_ref().map(|_| Vec::new()),
            history: None,
        }
    }
}

/// Per node and check id: the worst open status (a check may have several
/// findings on a node, one per certificate for instance) and its title.
pub fn open_findings(
    report: &Report,
) -> BTreeMap<(String, String), (String, crate::verdict::Status)> {
    let mut out: BTreeMap<(String, String), (String, crate::verdict::Status)> = BTreeMap::new();
    for (node, f) in report.findings() {
        if !is_open(f.status) {
            continue;
        }
        let key = (node.unwrap_or(CLUSTER_NODE).to_string(), f.id.clone());
        match out.get_mut(&key) {
            Some((_, s)) if f.status < *s => *s = f.status,
            Some(_) => {}
            None => {
                out.insert(key, (f.title.clone(), f.status));
            }
        }
    }
    out
}

fn section_rows(report: &Report) -> BTreeMap<String, (Counts, i64)> {
    let mut out: BTreeMap<String, (Counts, i64)> = BTreeMap::new();
    for (_, f) in report.findings() {
        for s in [String::new(), f.section.clone()] {
            let e = out.entry(s).or_default();
            e.0.add(f.status);
            if is_open(f.status) {
                e.1 += 1;
            }
        }
    }
    out.entry(String::new()).or_default();
    out
}

/// Deletes or closes rows by id, in chunks.
fn by_ids(conn: &mut Conn, sql_head: &str, first: Value, ids: &[i64]) -> Result<(), HistoryError> {
    for chunk in ids.chunks(500) {
        let sql = format!("{sql_head} ({})", vec!["?"; chunk.len()].join(","));
        let mut params = vec![first.clone()];
        params.extend(chunk.iter().map(|i| Value::Int(*i)));
        conn.exec(&sql, &params)?;
    }
    Ok(())
}

/// Records `report` in the open write transaction; returns the run id.
pub fn record_in(conn: &mut Conn, report: &Report) -> Result<i64, HistoryError> {
    let cluster = cluster_key(report);
    let unix = unix_of(&report.generated_at)?;
    let prev = conn
        .query(
            "SELECT id FROM kh_runs WHERE cluster = ? AND complete = 1 ORDER BY id DESC LIMIT 1",
            &[cluster.as_str().into()],
        )?
        .first()
        .and_then(|r| r[0].int());
    let total = section_rows(report);
    let (all, open_total) = total.get("").cloned().unwrap_or_default();
    let run = conn.query(
        "INSERT INTO kh_runs (cluster, generated_at, unix_time, tool_version, benchmark, node_count, complete, header, score, open_count)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?) RETURNING id",
        &[
            cluster.as_str().into(),
            report.generated_at.as_str().into(),
            unix.into(),
            report.tool.version.as_str().into(),
            report.benchmark.id.as_str().into(),
            (report.nodes.len() as i64).into(),
            header(report)?.into(),
            all.score().map(i64::from).into(),
            open_total.into(),
        ],
    )?;
    let run_id = run
        .first()
        .and_then(|r| r[0].int())
        .ok_or_else(|| HistoryError::Corrupt("INSERT gave no run id".into()))?;

    // Nodes.
    let mut rows = Vec::with_capacity(report.nodes.len());
    for (i, n) in report.nodes.iter().enumerate() {
        let mut meta = n.clone();
        meta.results = Vec::new();
        let open = n.results.iter().filter(|f| is_open(f.status)).count() as i64;
        rows.push(vec![
            run_id.into(),
            n.name.as_str().into(),
            (i as i64).into(),
            n.scan_status.as_str().into(),
            n.summary.score().map(i64::from).into(),
            open.into(),
            json(&meta)?.into(),
        ]);
    }
    conn.insert_rows(
        "kh_run_nodes",
        &[
            "run_id",
            "node",
            "ord",
            "scan_status",
            "score",
            "open_count",
            "meta",
        ],
        &rows,
    )?;

    // Sections ('' is the whole run).
    let rows: Vec<Vec<Value>> = total
        .iter()
        .map(|(s, (c, open))| {
            vec![
                run_id.into(),
                s.as_str().into(),
                (c.pass as i64).into(),
                (c.fail as i64).into(),
                (c.warn as i64).into(),
                (c.error as i64).into(),
                (c.waived as i64).into(),
                (*open).into(),
            ]
        })
        .collect();
    conn.insert_rows(
        "kh_run_sections",
        &[
            "run_id",
            "section",
            "pass",
            "fail",
            "warn",
            "error",
            "waived",
            "open_count",
        ],
        &rows,
    )?;

    // Items: only what changed since the previous run.
    let mut current: HashMap<(String, String, String), (i64, String)> = HashMap::new();
    if prev.is_some() {
        for r in conn.query(
            "SELECT id, kind, node, item_key, hash FROM kh_items WHERE cluster = ? AND last_run IS NULL",
            &[cluster.as_str().into()],
        )? {
            let mut r = r.into_iter();
            let id = r.next().and_then(|v| v.int()).unwrap_or(0);
            let kind = r.next().and_then(Value::into_text).unwrap_or_default();
            let node = r.next().and_then(Value::into_text).unwrap_or_default();
            let key = r.next().and_then(Value::into_text).unwrap_or_default();
            let hash = r.next().and_then(Value::into_text).unwrap_or_default();
            current.insert((kind, node, key), (id, hash));
        }
    }
    let mut inserts = Vec::new();
    let mut close = Vec::new();
    for it in items(report)? {
        let k = (it.kind.to_string(), it.node.clone(), it.key.clone());
        match current.remove(&k) {
            Some((_, h)) if h == it.hash => continue,
            Some((id, _)) => close.push(id),
            None => {}
        }
        inserts.push(vec![
            cluster.as_str().into(),
            it.kind.into(),
            it.node.into(),
            it.key.into(),
            it.ord.into(),
            it.hash.into(),
            it.data.into(),
            run_id.into(),
        ]);
    }
    close.extend(current.into_values().map(|(id, _)| id));
    if let Some(p) = prev {
        close.sort_unstable();
        by_ids(
            conn,
            "UPDATE kh_items SET last_run = ? WHERE id IN",
            p.into(),
            &close,
        )?;
    }
    conn.insert_rows(
        "kh_items",
        &[
            "cluster",
            "kind",
            "node",
            "item_key",
            "ord",
            "hash",
            "data",
            "first_run",
        ],
        &inserts,
    )?;

    // Open streaks.
    let open = open_findings(report);
    let scanned: HashSet<&str> = report
        .nodes
        .iter()
        .filter(|n| n.scan_status == ScanStatus::Ok)
        .map(|n| n.name.as_str())
        .chain(std::iter::once(CLUSTER_NODE))
        .collect();
    let mut still: HashMap<(String, String), (i64, String)> = HashMap::new();
    for r in conn.query(
        "SELECT id, node, check_id, status FROM kh_streaks WHERE cluster = ? AND closed_run IS NULL",
        &[cluster.as_str().into()],
    )? {
        let mut r = r.into_iter();
        let id = r.next().and_then(|v| v.int()).unwrap_or(0);
        let node = r.next().and_then(Value::into_text).unwrap_or_default();
        let check = r.next().and_then(Value::into_text).unwrap_or_default();
        let status = r.next().and_then(Value::into_text).unwrap_or_default();
        still.insert((node, check), (id, status));
    }
    let mut new_streaks = Vec::new();
    for ((node, check), (title, status)) in &open {
        match still.remove(&(node.clone(), check.clone())) {
            Some((id, s)) if s != status.as_str() => {
                conn.exec(
                    "UPDATE kh_streaks SET status = ? WHERE id = ?",
                    &[status.as_str().into(), id.into()],
                )?;
            }
            Some(_) => {}
            None => new_streaks.push(vec![
                cluster.as_str().into(),
                node.as_str().into(),
                check.as_str().into(),
                title.as_str().into(),
                status.as_str().into(),
                run_id.into(),
                report.generated_at.as_str().into(),
                unix.into(),
            ]),
        }
    }
    conn.insert_rows(
        "kh_streaks",
        &[
            "cluster",
            "node",
            "check_id",
            "title",
            "status",
            "first_run",
            "first_time",
            "first_unix",
        ],
        &new_streaks,
    )?;
    // A streak ends when its node was scanned and the finding is not open:
    // a node that could not be scanned has fixed nothing.
    let mut ended: Vec<i64> = still
        .into_iter()
        .filter(|((node, _), _)| scanned.contains(node.as_str()))
        .map(|(_, (id, _))| id)
        .collect();
    ended.sort_unstable();
    for chunk in ended.chunks(500) {
        let sql = format!(
            "UPDATE kh_streaks SET closed_run = ?, closed_time = ? WHERE id IN ({})",
            vec!["?"; chunk.len()].join(",")
        );
        let mut params: Vec<Value> = vec![run_id.into(), report.generated_at.as_str().into()];
        params.extend(chunk.iter().map(|i| Value::Int(*i)));
        conn.exec(&sql, &params)?;
    }

    conn.exec(
        "UPDATE kh_runs SET complete = 1 WHERE id = ?",
        &[run_id.into()],
    )?;
    Ok(run_id)
}
