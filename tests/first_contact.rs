//! The first hour with kubeharden: what a new user meets before any real
//! scan (shell completions, the manual page, the messages for the usual
//! mistakes). Each test runs the built binary as a user would.

use std::path::Path;
use std::process::Output;

fn kh(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn completions_are_generated_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kubeharden"),
        ("fish", "complete -c kubeharden"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[kubeharden]"),
    ] {
        let o = kh(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let s = stdout(&o);
        assert!(s.contains(marker), "{shell}: no {marker:?}");
        // The subcommands and their options are all there.
        for word in [
            "scan",
            "eval",
            "inventory",
            "fail-on",
            "host-keys",
            "layout",
        ] {
            assert!(s.contains(word), "{shell}: {word} missing");
        }
    }
    let o = kh(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value 'tcsh'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_manual_pages_are_generated() {
    let o = kh(&["man"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH kubeharden 1"),
        "{page:.200}"
    );
    assert!(page.contains(".TH kubeharden 1"), "{page:.300}");
    assert!(
        page.contains("kubeharden\\-scan(1)"),
        "no SUBCOMMANDS section"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let o = kh(&["man", "--dir", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for page in [
        "kubeharden.1",
        "kubeharden-scan.1",
        "kubeharden-eval.1",
        "kubeharden-inventory-from-ansible.1",
    ] {
        let text = std::fs::read_to_string(out.join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page} missing or empty");
    }
    let scan = std::fs::read_to_string(out.join("kubeharden-scan.1")).unwrap();
    assert!(
        scan.contains("\\-\\-host\\-keys"),
        "scan's options are in its page"
    );
}

#[test]
fn a_missing_facts_path_says_the_os_error_once() {
    let o = kh(&["eval", "/nonexistent/facts"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    assert!(e.contains("/nonexistent/facts: cannot read"), "{e}");
}

#[test]
fn json_that_is_not_facts_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.json");
    std::fs::write(&other, r#"{"apiVersion": "v1", "kind": "Pod"}"#).unwrap();
    let e = stderr(&kh(&["eval", other.to_str().unwrap()]));
    assert!(
        e.contains("other.json: not kubeharden facts (no schema_version)"),
        "{e}"
    );
    assert!(!e.contains("version 0"), "{e}");

    let report = dir.path().join("report.json");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubeadm-default");
    let o = kh(&[
        "eval",
        fixtures.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        report.to_str().unwrap(),
        "--fail-on",
        "none",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&kh(&["eval", report.to_str().unwrap()]));
    assert!(
        e.contains("not kubeharden facts (a kubeharden JSON report"),
        "{e}"
    );
}

#[test]
fn a_toml_typo_names_the_line_the_text_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.toml");
    std::fs::write(
        &inv,
        "[defaults]\nport = 22.x\nuser = root\n[[node]]\nname = \"a\"\naddress = \"10.1.1.1\"\nroles = [\"worker\"]\n",
    )
    .unwrap();
    let o = kh(&["scan", "--inventory", inv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("inv.toml:2: TOML syntax at `22.x`"), "{e}");
    assert!(
        e.contains("inv.toml:3: TOML syntax at `root`: string values must be quoted"),
        "{e}"
    );
    assert!(!e.contains("expected nothing"), "{e}");
    // One problem per line, not one per parser complaint.
    assert_eq!(e.matches("inv.toml:2: TOML syntax").count(), 1, "{e}");
}

#[test]
fn the_example_inventory_is_refused_without_connecting() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/inventory.toml");
    let o = kh(&["scan", "--inventory", example.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("address \"192.0.2.11\" is an IPv4 address reserved for documentation"),
        "{e}"
    );
    assert!(!e.contains("unreachable"), "no node may be tried: {e}");
    let o = kh(&["scan", "--node", "cp1=203.0.113.5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("RFC 5737"), "{}", stderr(&o));
}

#[test]
fn a_scan_that_reached_no_node_says_so_plainly() {
    // Port 1 on loopback: refused at once.
    let o = kh(&[
        "scan",
        "--node",
        "a=127.0.0.1:1",
        "--node",
        "b=127.0.0.1:1",
        "--no-probes",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("NOTHING WAS SCANNED: none of the 2 nodes could be scanned (2 unreachable)"),
        "{out}"
    );
    assert!(!out.contains("SECTION"), "no section table: {out}");
    assert!(!out.contains("(cluster)"), "no cluster checks: {out}");
}
