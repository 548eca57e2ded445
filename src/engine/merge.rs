//! One report from the partial scans of one cluster (`kubeharden merge`).
//!
//! Large fleets are scanned from several bastions or regions, each reaching
//! some of the nodes. Merging is not concatenation:
//! - a node scanned by two scanners is kept once, the successful scan over
//!   a failed one (a node unreachable from one region but reached from
//!   another is not "not scanned"), and every duplicate is reported;
//! - the cluster-level checks are judged again over the union: a worker in
//!   region A that reaches etcd in region B is a leak only the union shows.
//!   From facts (`--save-facts` files or directories) the whole evaluation
//!   runs again; from JSON reports, `net.etcd-firewall` is judged again over
//!   the union of the reachability matrices, and the certificate, port,
//!   key and reachability tables are united.
//! - the counts are made again from the kept results.
//!
//! Reports made against different benchmarks cannot be merged: their checks
//! are not the same.

use crate::facts::{NodeFacts, ScanStatus};
use crate::verdict::{Counts, NodeCounts, Report, Summary};

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge")]
    Empty,
    #[error(
        "{file} was judged against {found}, {first_file} against {first}: merge reports of one benchmark (or merge their facts)"
    )]
    Benchmark {
        file: String,
        found: String,
        first_file: String,
        first: String,
    },
}

/// What the merge kept and dropped, for the scan log.
#[derive(Debug, Default)]
pub struct MergeNotes {
    pub notes: Vec<String>,
}

fn ok(s: ScanStatus) -> bool {
    s == ScanStatus::Ok
}

/// The union of the nodes of several facts inputs (`(name, nodes)` each):
/// one copy of each node, a successful scan preferred, the first otherwise.
pub fn merge_facts(inputs: Vec<(String, Vec<NodeFacts>)>) -> (Vec<NodeFacts>, MergeNotes) {
    let mut out: Vec<(String, NodeFacts)> = Vec::new();
    let mut notes = MergeNotes::default();
    for (file, nodes) in inputs {
        for n in nodes {
            match out.iter_mut().find(|(_, k)| k.node.name == n.node.name) {
                None => out.push((file.clone(), n)),
                Some((kept_file, kept)) => {
                    let replace = !ok(kept.scan_status) && ok(n.scan_status);
                    notes.notes.push(duplicate(
                        &n.node.name,
                        kept_file,
                        kept.scan_status,
                        &file,
                        n.scan_status,
                        replace,
                    ));
                    if replace {
                        *kept_file = file.clone();
                        *kept = n;
                    }
                }
            }
        }
    }
    (out.into_iter().map(|(_, n)| n).collect(), notes)
}

fn duplicate(
    name: &str,
    a: &str,
    sa: ScanStatus,
    b: &str,
    sb: ScanStatus,
    replaced: bool,
) -> String {
    let (kept, kept_s, dropped, dropped_s) = if replaced {
        (b, sb, a, sa)
    } else {
        (a, sa, b, sb)
    };
    format!(
        "node {name:?} is in {a} and {b}: kept {kept}'s ({}), dropped {dropped}'s ({})",
        kept_s.as_str(),
        dropped_s.as_str()
    )
}

/// One report from several (`(name, report)` each), made at `generated_at`.
pub fn merge_reports(
    inputs: Vec<(String, Report)>,
    generated_at: &str,
) -> Result<(Report, MergeNotes), MergeError> {
    let mut inputs = inputs.into_iter();
    let (first_file, mut merged) = inputs.next().ok_or(MergeError::Empty)?;
    let mut notes = MergeNotes::default();
    let mut origin: Vec<String> = merged.nodes.iter().map(|_| first_file.clone()).collect();
    let mut names: Vec<Option<String>> = vec![merged.cluster.name.clone()];
    for (file, r) in inputs {
        if r.benchmark.id != merged.benchmark.id || r.benchmark.version != merged.benchmark.version
        {
            return Err(MergeError::Benchmark {
                file,
                found: format!("{} {}", r.benchmark.id, r.benchmark.version),
                first_file,
                first: format!("{} {}", merged.benchmark.id, merged.benchmark.version),
            });
        }
        names.push(r.cluster.name.clone());
        for n in r.nodes {
            match merged.nodes.iter().position(|k| k.name == n.name) {
                None => {
                    merged.nodes.push(n);
                    origin.push(file.clone());
                }
                Some(i) => {
                    let replace = !ok(merged.nodes[i].scan_status) && ok(n.scan_status);
                    notes.notes.push(duplicate(
                        &n.name,
                        &origin[i],
                        merged.nodes[i].scan_status,
                        &file,
                        n.scan_status,
                        replace,
                    ));
                    if replace {
                        // The kept node's certificate rows are the ones to keep.
                        let name = n.name.clone();
                        if let Some(c) = merged.certificates.as_mut() {
                            c.retain(|row| row.node != name);
                        }
                        if let Some(p) = merged.tls_ports.as_mut() {
                            p.retain(|row| row.node != name);
                        }
                        if let Some(k) = merged.keys.as_mut() {
                            k.retain(|row| row.node != name);
                        }
                        merged.nodes[i] = n;
                        origin[i] = file.clone();
                    }
                }
            }
        }
        let kept_from = |node: &str| {
            merged
                .nodes
                .iter()
                .position(|k| k.name == node)
                .map(|i| origin[i] == file)
                .unwrap_or(false)
        };
        if let Some(rows) = r.certificates {
            let rows: Vec<_> = rows.into_iter().filter(|c| kept_from(&c.node)).collect();
            merged
                .certificates
                .get_or_insert_with(Vec::new)
                .extend(rows);
        }
        if let Some(rows) = r.tls_ports {
            let rows: Vec<_> = rows.into_iter().filter(|p| kept_from(&p.node)).collect();
            merged.tls_ports.get_or_insert_with(Vec::new).extend(rows);
        }
        if let Some(rows) = r.keys {
            let rows: Vec<_> = rows.into_iter().filter(|k| kept_from(&k.node)).collect();
            merged.keys.get_or_insert_with(Vec::new).extend(rows);
        }
        if let Some(rows) = r.etcd_reachability {
            let all = merged.etcd_reachability.get_or_insert_with(Vec::new);
            for row in rows {
                if !all.contains(&row) {
                    all.push(row);
                }
            }
        }
        // A check of the cluster's objects judged by one scanner and left
        // manual by another (it read no objects): the judged one.
        for f in r.cluster.results {
            if let Some(k) = merged.cluster.results.iter_mut().find(|k| k.id == f.id) {
                // (Judged: another status, or a manual one with evidence
                // from the objects, which names where they came from.)
                let unjudged = k.status == crate::verdict::Status::Manual && k.source.is_empty();
                if unjudged && (f.status != k.status || !f.source.is_empty()) {
                    *k = f;
                }
            }
        }
        for w in r.waivers {
            if !merged.waivers.iter().any(|k| k.origin == w.origin) {
                merged.waivers.push(w);
            }
        }
    }
    if let Some(c) = merged.certificates.as_mut() {
        c.sort_by(|a, b| {
            a.days_left
                .cmp(&b.days_left)
                .then_with(|| a.node.cmp(&b.node))
                .then_with(|| a.path.cmp(&b.path))
        });
    }
    if let Some(k) = merged.keys.as_mut() {
        super::keys::order_rows(k);
    }
    // The etcd firewall over the union of what every scanner tried.
    let etcd = merged
        .etcd_reachability
        .as_deref()
        .and_then(super::network::etcd_firewall_from_rows);
    let cluster = &mut merged.cluster.results;
    if let Some(mut f) = etcd {
        if let Some(old) = cluster.iter().find(|x| x.id == f.id) {
            // Keep what the catalog made of it (title, severity, waiver).
            f.title = old.title.clone();
            f.section = old.section.clone();
            f.scored = old.scored;
            f.level = old.level;
            f.severity = old.severity;
            f.remediation = old.remediation.clone();
            // As the catalog does: a check that is not scored warns.
            if !f.scored && f.status == crate::verdict::Status::Fail {
                f.status = crate::verdict::Status::Warn;
            }
        }
        // In its place, so the merged report keeps the engine's order.
        match cluster.iter_mut().find(|x| x.id == f.id) {
            Some(x) => *x = f,
            None => cluster.push(f),
        }
    }
    let named: Vec<&String> = names.iter().flatten().collect();
    merged.cluster.name = match named.first() {
        Some(n) if named.iter().all(|m| m == n) => Some((*n).clone()),
        Some(_) => {
            notes.notes.push(format!(
                "the reports name different clusters ({}); give the merged one a name with --cluster-name",
                named
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            None
        }
        None => None,
    };
    let mut counts = Counts::default();
    for n in &merged.nodes {
        counts.merge(&n.summary);
    }
    counts.merge(&Counts::of(&merged.cluster.results));
    let scanned = merged.nodes.iter().filter(|n| ok(n.scan_status)).count();
    merged.summary = Summary {
        counts,
        nodes: NodeCounts {
            total: merged.nodes.len(),
            scanned,
            not_scanned: merged.nodes.len() - scanned,
        },
    };
    merged.generated_at = generated_at.to_string();
    Ok((merged, notes))
}
