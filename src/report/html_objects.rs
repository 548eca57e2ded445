//! The HTML report's "Cluster objects" section: the objects that offend the
//! checks of CIS section 5, grouped by area (RBAC, Pod Security, network
//! policies, secrets, general policies) and by check, the user's first and
//! the platform's own folded apart, each list capped and searchable. The
//! JSON report keeps every object (up to `verdict::MAX_OBJECTS` per check).

use serde::Serialize;

use super::Report;
use crate::verdict::{Finding, ObjectFinding};

/// Rows drawn per check and kind (user's, platform's); the JSON has all.
const MAX_ROWS: usize = 200;

#[derive(Serialize)]
pub(super) struct ObjectRow {
    namespace: String,
    object: String,
    why: String,
}

#[derive(Serialize)]
pub(super) struct ObjectCheck {
    id: String,
    title: String,
    status: &'static str,
    rows: Vec<ObjectRow>,
    more: usize,
    total: usize,
    system_rows: Vec<ObjectRow>,
    system_more: usize,
    system_total: usize,
}

#[derive(Serialize)]
pub(super) struct ObjectArea {
    section: String,
    title: String,
    checks: Vec<ObjectCheck>,
    offending: usize,
}

#[derive(Serialize)]
pub(super) struct Objects {
    areas: Vec<ObjectArea>,
    /// Where the objects were read, from the checks' source.
    source: String,
}

/// `namespace/Kind/name` gives its namespace; a cluster-scoped object or a
/// subject gives none.
fn row(o: &ObjectFinding) -> ObjectRow {
    let parts: Vec<&str> = o.object.splitn(3, '/').collect();
    let (namespace, object) = match parts.as_slice() {
        [ns, kind, rest] => (ns.to_string(), format!("{kind}/{rest}")),
        _ => (String::new(), o.object.clone()),
    };
    ObjectRow {
        namespace,
        object,
        why: o.why.clone(),
    }
}

fn capped(objects: &[&ObjectFinding]) -> (Vec<ObjectRow>, usize) {
    (
        objects.iter().take(MAX_ROWS).map(|o| row(o)).collect(),
        objects.len().saturating_sub(MAX_ROWS),
    )
}

fn check(f: &Finding) -> ObjectCheck {
    let (user, system): (Vec<&ObjectFinding>, Vec<&ObjectFinding>) =
        f.objects.iter().partition(|o| !o.system);
    let (rows, more) = capped(&user);
    let (system_rows, system_more) = capped(&system);
    ObjectCheck {
        id: f.id.clone(),
        title: f.title.clone(),
        status: f.status.as_str(),
        rows,
        more,
        total: user.len(),
        system_rows,
        system_more,
        system_total: system.len(),
    }
}

/// `None` when no check of the report judged the cluster's objects.
pub(super) fn view(report: &Report) -> Option<Objects> {
    let judged: Vec<&Finding> = report
        .cluster
        .results
        .iter()
        .filter(|f| f.source.starts_with("the API"))
        .collect();
    let source = judged
        .first()
        .map(|f| f.source.split(": ").next().unwrap_or("").to_string())?;
    let mut areas: Vec<ObjectArea> = Vec::new();
    for f in judged {
        let c = check(f);
        match areas.iter_mut().find(|a| a.section == f.section) {
            Some(a) => {
                a.offending += c.total;
                a.checks.push(c);
            }
            None => areas.push(ObjectArea {
                section: f.section.clone(),
                title: report
                    .benchmark
                    .sections
                    .get(&f.section)
                    .cloned()
                    .unwrap_or_default(),
                offending: c.total,
                checks: vec![c],
            }),
        }
    }
    areas.sort_by(|a, b| a.section.cmp(&b.section));
    Some(Objects { areas, source })
}
