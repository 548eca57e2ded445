//! CIS section 5 verdicts against tests/lab/apisets/expected.toml: shared
//! by the lab test (tests/lab_api.rs) and the offline one on the facts it
//! saved (tests/cluster_fixtures.rs).

use std::collections::BTreeMap;
use std::path::Path;

use kubeharden::report::{Finding, Report};

/// The expectations of every object set.
pub fn expected() -> toml::Table {
    toml::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/apisets/expected.toml"),
        )
        .unwrap(),
    )
    .unwrap()
}

pub fn section_5(report: &Report) -> BTreeMap<String, Finding> {
    report
        .cluster
        .results
        .iter()
        .filter(|f| f.id.starts_with("5."))
        .map(|f| (f.id.clone(), f.clone()))
        .collect()
}

fn strings_of(t: &toml::Table, key: &str) -> Vec<String> {
    t.get(key)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// What is wrong with `found` against the set's expectations.
pub fn compare(
    set: &str,
    found: &BTreeMap<String, Finding>,
    expected: &toml::Table,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let table = expected
        .get(set)
        .and_then(|t| t.as_table())
        .cloned()
        .unwrap_or_default();
    for (id, f) in found {
        let want = table.get(id).and_then(|t| t.as_table());
        let status = match (want.and_then(|t| t.get("status")), id.as_str()) {
            (Some(s), _) => s.as_str().unwrap().to_string(),
            (None, "5.4.2" | "5.6.1") => "manual".into(),
            (None, _) => "pass".into(),
        };
        if f.status.as_str() != status {
            wrong.push(format!(
                "{set} {id}: {} (expected {status}): {} {}",
                f.status.as_str(),
                f.reason.as_deref().unwrap_or(""),
                f.actual
            ));
        }
        let Some(want) = want else { continue };
        let named = |system: bool, name: &str| {
            f.objects
                .iter()
                .any(|o| o.system == system && o.object.contains(name))
        };
        for n in strings_of(want, "names") {
            if !named(false, &n) {
                wrong.push(format!("{set} {id}: does not name {n}: {}", f.actual));
            }
        }
        for n in strings_of(want, "system") {
            if !named(true, &n) {
                wrong.push(format!(
                    "{set} {id}: does not list {n} as the platform's own"
                ));
            }
        }
        for n in strings_of(want, "not") {
            if named(false, &n) {
                wrong.push(format!("{set} {id}: names {n}, which does not offend"));
            }
        }
    }
    wrong
}
