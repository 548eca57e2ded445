//! The module graph runs one way. Each top-level module of the library may
//! use only the modules listed for it here; a `use crate::X` (or any
//! `crate::X::` path) outside that list fails this test, naming the file
//! and line. docs/architecture.md explains the layers; change both
//! together, and only on purpose.
//!
//! Test-only code (`#[cfg(test)] mod tests` at the end of a file, and the
//! test-only modules listed in `TEST_ONLY`) is not held to it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Module -> the modules it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    // Leaves: helpers, YAML, the data model.
    ("util", &[]),
    ("yaml", &["util"]),
    ("facts", &["util"]),
    ("certs", &["util"]),
    ("verdict", &["facts", "util"]),
    // Kubernetes knowledge: flag tables, defaults, layouts, effective
    // configuration over a node's facts.
    ("k8s", &["facts", "util", "yaml"]),
    ("inventory", &["facts", "util", "yaml"]),
    // Probe conversations (no I/O), the transports that carry them and
    // the collector's round trips.
    ("probe", &["facts", "k8s", "util"]),
    ("transport", &["inventory", "probe", "facts", "util"]),
    ("collect", &["transport", "facts", "k8s", "util", "yaml"]),
    (
        "scan",
        &[
            "collect",
            "transport",
            "probe",
            "inventory",
            "facts",
            "k8s",
            "util",
        ],
    ),
    (
        "kind",
        &["scan", "collect", "transport", "inventory", "facts", "util"],
    ),
    // Rules as data, the pure engine, the renderers.
    ("bench", &["k8s", "facts", "verdict", "util"]),
    (
        "engine",
        &[
            "bench", "k8s", "facts", "verdict", "certs", "probe", "util", "yaml",
        ],
    ),
    ("report", &["verdict", "bench", "facts", "util"]),
    // The run history: records reports, reads them back, renders its own
    // listings with the report's escapers.
    ("history", &["report", "verdict", "bench", "facts", "util"]),
];

/// Files compiled only for tests.
const TEST_ONLY: &[&str] = &["src/engine/tests.rs", "src/certs/test_pki.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments, string literals and its trailing
/// test module.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            if let Some((_, next)) = lines.peek() {
                if next.trim_start().starts_with("mod tests") {
                    break;
                }
            }
        }
        if t.starts_with("//") {
            continue;
        }
        // Drop string literals (paths in messages) and trailing comments.
        let mut code = String::new();
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                code.push(c);
            }
            prev = c;
        }
        if let Some(at) = code.find("//") {
            code.truncate(at);
        }
        out.push((i + 1, code));
    }
    out
}

#[test]
fn no_module_uses_one_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut seen_modules = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if TEST_ONLY.contains(&rel.as_str()) {
            continue;
        }
        let parts: Vec<&str> = rel.trim_start_matches("src/").split('/').collect();
        let module = parts[0].trim_end_matches(".rs");
        if ["lib", "main", "cli"].contains(&module) {
            continue;
        }
        let Some(ok) = allowed.get(module) else {
            wrong.push(format!(
                "{rel}: module {module} is not in tests/architecture.rs"
            ));
            continue;
        };
        seen_modules.push(module.to_string());
        let text = std::fs::read_to_string(f).unwrap();
        for (line, code) in code_lines(&text) {
            let mut rest = code.as_str();
            while let Some(at) = rest.find("crate::") {
                let tail = &rest[at + "crate::".len()..];
                let used: String = tail
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !used.is_empty() && used != module && !ok.contains(&used.as_str()) {
                    wrong.push(format!(
                        "{rel}:{line}: {module} uses crate::{used}, which is not below it"
                    ));
                }
                rest = tail;
            }
        }
    }
    assert!(wrong.is_empty(), "forbidden edges:\n{}", wrong.join("\n"));
    // Every listed module exists, so the list cannot rot.
    for (m, _) in ALLOWED {
        assert!(
            seen_modules.iter().any(|s| s == m),
            "{m} is listed but has no file"
        );
    }
}

#[test]
fn the_allowed_graph_has_no_cycle() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    fn visit<'a>(
        m: &'a str,
        g: &BTreeMap<&'a str, &'a [&'a str]>,
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) {
        if done.contains(&m) {
            return;
        }
        assert!(!path.contains(&m), "cycle: {} -> {m}", path.join(" -> "));
        path.push(m);
        for d in g.get(m).copied().unwrap_or(&[]) {
            assert!(g.contains_key(d), "{m} may use {d}, which is not listed");
            visit(d, g, path, done);
        }
        path.pop();
        done.push(m);
    }
    let mut done = Vec::new();
    for m in allowed.keys() {
        visit(m, &allowed, &mut Vec::new(), &mut done);
    }
}
