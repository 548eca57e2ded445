//! Benchmarks compiled into the binary, so `kubeharden` needs no data files
//! at run time. `benchmarks/<id>/` in the source tree is the one copy.

use super::load::load_at_depth;
use super::{BenchError, Benchmark, Problem};

/// A built-in profile: its id and its files as `(name, text)`.
pub struct Builtin {
    pub id: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

macro_rules! files {
    ($dir:literal: $($name:literal),+ $(,)?) => {
        &[$((
            concat!("benchmarks/", $dir, "/", $name),
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/benchmarks/", $dir, "/", $name)),
        )),+]
    };
}

/// Oldest first. A profile may extend one listed before it.
pub static BUILTIN: &[Builtin] = &[
    Builtin {
        id: "cis-1.10",
        files: files!("cis-1.10":
            "profile.toml",
            "1-control-plane.toml",
            "4-worker.toml",
            "5-policies.toml",
        ),
    },
    Builtin {
        id: "cis-1.12",
        files: files!("cis-1.12":
            "profile.toml",
            "1-control-plane.toml",
            "2-etcd.toml",
            "3-control-plane-config.toml",
            "4-worker.toml",
            "5-policies.toml",
        ),
    },
    Builtin {
        id: "cis-2.0",
        files: files!("cis-2.0": "profile.toml"),
    },
];

/// kubeharden's own checks, which join every profile (see
/// `docs/benchmark-format.md`).
pub static OWN_CHECKS: (&str, &str) = (
    "benchmarks/kubeharden/checks.toml",
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benchmarks/kubeharden/checks.toml"
    )),
);

pub fn builtin_ids() -> Vec<&'static str> {
    BUILTIN.iter().map(|b| b.id).collect()
}

/// Loads a built-in benchmark by id.
pub fn load_builtin(id: &str) -> Result<Benchmark, BenchError> {
    load_builtin_at(id, 0)
}

/// [`load_builtin`] as the parent of a profile `depth` levels down.
pub(super) fn load_builtin_at(id: &str, depth: usize) -> Result<Benchmark, BenchError> {
    let Some(b) = BUILTIN.iter().find(|b| b.id == id) else {
        return Err(BenchError {
            problems: vec![Problem {
                file: id.to_string(),
                line: 0,
                message: format!(
                    "no built-in benchmark {id:?} (known: {})",
                    builtin_ids().join(", ")
                ),
            }],
        });
    };
    load_at_depth(b.files, depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_a_benchmark_directory_is_compiled_in() {
        for b in BUILTIN {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("benchmarks")
                .join(b.id);
            let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect();
            on_disk.sort();
            let mut built: Vec<String> = b
                .files
                .iter()
                .map(|(n, _)| n.rsplit('/').next().unwrap().to_string())
                .collect();
            built.sort();
            assert_eq!(
                on_disk, built,
                "benchmarks/{} and builtin.rs disagree",
                b.id
            );
        }
        let own = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benchmarks/kubeharden");
        let on_disk: Vec<String> = std::fs::read_dir(own)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            on_disk,
            vec!["checks.toml".to_string()],
            "OWN_CHECKS is one file"
        );
    }
}
