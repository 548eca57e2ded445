//! The scheduling examples in `examples/` work as shipped: systemd accepts
//! the service and timer (`systemd-analyze verify`), the CI pipeline is
//! valid YAML, and every kubeharden option they use exists on the command
//! they give it to.

use std::path::Path;
use std::process::Command;

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_kubeharden")
}

/// The options (`--name`) of `kubeharden WORDS... --help`.
fn options_of(words: &[&str]) -> Vec<String> {
    let out = Command::new(bin())
        .args(words)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "kubeharden {words:?} --help failed");
    String::from_utf8_lossy(&out.stdout)
        .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == '<')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_string)
        .collect()
}

/// Every `kubeharden SUBCOMMAND ... --opt` in `text` (lines joined at `\`
/// and YAML's folded `>`), checked against that subcommand's help.
fn check_commands(text: &str, origin: &str) -> usize {
    let joined = text.replace("\\\n", " ").replace("\n      ", " ");
    let mut seen = 0;
    for line in joined.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some(at) = line.find("kubeharden ") else {
            continue;
        };
        let words: Vec<&str> = line[at..].split_whitespace().collect();
        if words.len() < 2 || words[0].ends_with(".service") {
            continue;
        }
        // The subcommand path: words up to the first option.
        let path: Vec<&str> = words[1..]
            .iter()
            .take_while(|w| {
                !w.starts_with('-') && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            })
            .copied()
            .collect();
        if path.is_empty() || !["scan", "history", "merge", "eval", "diff"].contains(&path[0]) {
            continue;
        }
        let known = options_of(&path);
        for w in &words {
            if let Some(opt) = w.strip_prefix("--").map(|o| o.split('=').next().unwrap()) {
                assert!(
                    known.contains(&format!("--{opt}")),
                    "{origin}: `kubeharden {}` has no option --{opt}",
                    path.join(" ")
                );
            }
        }
        seen += 1;
    }
    seen
}

#[test]
fn the_systemd_units_verify_and_their_command_is_valid() {
    assert!(
        Path::new("/usr/bin/systemd-analyze").exists(),
        "install systemd (scripts/test does) for systemd-analyze"
    );
    let dir = tempfile::tempdir().unwrap();
    let src = examples().join("systemd");
    for unit in ["kubeharden-scan.service", "kubeharden-scan.timer"] {
        let text = std::fs::read_to_string(src.join(unit)).unwrap();
        // The binary as built here stands in for /usr/local/bin/kubeharden:
        // systemd checks that ExecStart is executable.
        std::fs::write(
            dir.path().join(unit),
            text.replace("/usr/local/bin/kubeharden", bin()),
        )
        .unwrap();
    }
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(dir.path().join("kubeharden-scan.service"))
        .arg(dir.path().join("kubeharden-scan.timer"))
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let service = std::fs::read_to_string(src.join("kubeharden-scan.service")).unwrap();
    assert_eq!(check_commands(&service, "kubeharden-scan.service"), 1);
}

#[test]
fn the_ci_pipeline_is_yaml_and_its_commands_are_valid() {
    let text = std::fs::read_to_string(examples().join("ci/gitlab-ci.yml")).unwrap();
    let doc = kubeharden::yaml::parse(&text).expect("valid YAML");
    let job = &doc["kubeharden-nightly"];
    assert!(job["script"].is_array(), "{job}");
    assert!(check_commands(&text, "ci/gitlab-ci.yml") >= 2);
}
