//! Reading saved facts: one JSON file per node, a JSON array of nodes, or a
//! directory of such files. Every error names the file and, for bad JSON, the
//! line and column.

use std::fs;
use std::path::{Path, PathBuf};

use super::{FACTS_SCHEMA_VERSION, NodeFacts};

/// Largest facts file we agree to read. The collector caps each file it reads,
/// so even a large node stays far below this.
pub const MAX_FACTS_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    // The OS error is part of the message, not a `source`: a source would be
    // printed a second time by error chains (`{:#}`).
    #[error("{path}: cannot read: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}:{line}:{column}: invalid facts: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: facts schema version {found} is not supported (this build reads version {FACTS_SCHEMA_VERSION})"
    )]
    Version { path: PathBuf, found: u64 },
    #[error(
        "{path}: not kubeharden facts ({why}); eval reads the facts `scan --save-facts DIR` writes"
    )]
    NotFacts { path: PathBuf, why: String },
    #[error("{path}: file is {size} bytes, larger than the {MAX_FACTS_FILE_BYTES}-byte limit")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path}: no facts files (*.json) found")]
    Empty { path: PathBuf },
    #[error("{path}: node name {name:?} appears twice (also in {first})")]
    DuplicateNode {
        path: PathBuf,
        name: String,
        first: PathBuf,
    },
}

/// Parses the text of one facts file. `path` is only used in errors.
pub fn parse_facts(path: &Path, text: &str) -> Result<Vec<NodeFacts>, FactsError> {
    let json_err = |e: serde_json::Error| FactsError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(json_err)?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    let mut nodes = Vec::with_capacity(items.len());
    for item in items {
        // Check what the file is and its version before the shape, so a
        // report, some other JSON or a future schema gets a clear message
        // instead of a confusing field error.
        let not_facts = |why: &str| FactsError::NotFacts {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        let Some(obj) = item.as_object() else {
            return Err(not_facts("not a JSON object or an array of objects"));
        };
        if obj.get("kind").and_then(|k| k.as_str()) == Some(super::api::CLUSTER_FACTS_KIND) {
            // The cluster's objects, read by `load_cluster_facts`.
            continue;
        }
        if obj.contains_key("tool") && obj.contains_key("summary") {
            return Err(not_facts("a kubeharden JSON report, which `diff` compares"));
        }
        let Some(version) = obj.get("schema_version") else {
            return Err(not_facts("no schema_version"));
        };
        let Some(found) = version.as_u64() else {
            return Err(not_facts("schema_version is not a whole number"));
        };
        if found != u64::from(FACTS_SCHEMA_VERSION) {
            return Err(FactsError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
        // Re-parse from text positions is not possible for a sub-value, so
        // locate shape errors by deserialising the original text when the
        // file holds a single node; for arrays, report the node index.
        let node: NodeFacts = match serde_json::from_value(item) {
            Ok(n) => n,
            Err(e) => {
                let located = if text.trim_start().starts_with('[') {
                    serde_json::from_str::<Vec<NodeFacts>>(text).err()
                } else {
                    serde_json::from_str::<NodeFacts>(text).err()
                };
                return Err(match located {
                    Some(le) => json_err(le),
                    None => FactsError::Json {
                        path: path.to_path_buf(),
                        line: 0,
                        column: 0,
                        message: e.to_string(),
                    },
                });
            }
        };
        nodes.push(node);
    }
    Ok(nodes)
}

/// serde_json appends " at line L column C"; we print the position up front.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn read_file(path: &Path) -> Result<Vec<NodeFacts>, FactsError> {
    let io = |error| FactsError::Io {
        path: path.to_path_buf(),
        error,
    };
    let size = fs::metadata(path).map_err(io)?.len();
    if size > MAX_FACTS_FILE_BYTES {
        return Err(FactsError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let text = fs::read_to_string(path).map_err(io)?;
    parse_facts(path, &text)
}

/// The file `scan --save-facts` writes the cluster's objects to. No node's
/// file can have this name: node file names keep only `[A-Za-z0-9._-]`.
pub const CLUSTER_FACTS_FILE: &str = "api@cluster.json";

/// The cluster's objects saved with the node facts at `path` (a directory
/// holding [`CLUSTER_FACTS_FILE`], or that file), if any.
pub fn load_cluster_facts(path: &Path) -> Result<Option<super::api::ClusterFacts>, FactsError> {
    let file = if path.is_dir() {
        path.join(CLUSTER_FACTS_FILE)
    } else {
        path.to_path_buf()
    };
    if !file.is_file() {
        return Ok(None);
    }
    let io = |error| FactsError::Io {
        path: file.clone(),
        error,
    };
    let size = fs::metadata(&file).map_err(io)?.len();
    if size > MAX_FACTS_FILE_BYTES {
        return Err(FactsError::TooLarge { path: file, size });
    }
    let text = fs::read_to_string(&file).map_err(io)?;
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        // Node facts or garbage: load_facts_path says what is wrong.
        Err(_) if path.is_file() => return Ok(None),
        Err(e) => {
            return Err(FactsError::Json {
                path: file,
                line: e.line(),
                column: e.column(),
                message: strip_position(&e.to_string()),
            });
        }
    };
    if value.get("kind").and_then(|k| k.as_str()) != Some(super::api::CLUSTER_FACTS_KIND) {
        return Ok(None);
    }
    let found = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if found != u64::from(FACTS_SCHEMA_VERSION) {
        return Err(FactsError::Version { path: file, found });
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| FactsError::Json {
            path: file,
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })
}

/// Loads facts from a file, or from every `*.json` file in a directory (sorted
/// by name, not recursive). Node names must be unique across the set. The
/// cluster's objects ([`load_cluster_facts`]) are not node facts and are
/// passed over.
pub fn load_facts_path(path: &Path) -> Result<Vec<NodeFacts>, FactsError> {
    let meta = fs::metadata(path).map_err(|error| FactsError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let files: Vec<PathBuf> = if meta.is_dir() {
        let mut files = Vec::new();
        let entries = fs::read_dir(path).map_err(|error| FactsError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        for entry in entries {
            let entry = entry.map_err(|error| FactsError::Io {
                path: path.to_path_buf(),
                error,
            })?;
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "json") && p.is_file() {
                files.push(p);
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(FactsError::Empty {
                path: path.to_path_buf(),
            });
        }
        files
    } else {
        vec![path.to_path_buf()]
    };

    let mut out: Vec<NodeFacts> = Vec::new();
    let mut origin: Vec<PathBuf> = Vec::new();
    for file in files {
        for node in read_file(&file)? {
            if let Some(i) = out.iter().position(|n| n.node.name == node.node.name) {
                return Err(FactsError::DuplicateNode {
                    path: file,
                    name: node.node.name,
                    first: origin[i].clone(),
                });
            }
            origin.push(file.clone());
            out.push(node);
        }
    }
    Ok(out)
}
