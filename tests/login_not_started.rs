//! `kubeharden scan --exec` when the command that should give a shell on
//! the node never runs the collector (a `docker exec` stuck in the
//! container runtime), next to a node whose collector starts and is slow.
//! The first is abandoned at the connect timeout with a status and a reason
//! that say the collector never started; the second keeps its command
//! timeout and is scanned. The SSH side (ForceCommand) is in
//! tests/ssh_transport.rs and, against real sshd nodes, tests/lab_scan.rs.
//!
//! Needs `sh`, `sleep` and `ss` (iproute2); no root.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use kubeharden::facts::ScanStatus;
use kubeharden::report::Report;

#[test]
fn an_exec_that_never_starts_the_collector_is_abandoned_at_the_connect_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // On the "slow" node, listing sockets takes 3 s: longer than the
    // connect timeout, far shorter than the command timeout.
    let slow = dir.path().join("slowbin");
    std::fs::create_dir(&slow).unwrap();
    let ss = slow.join("ss");
    std::fs::write(&ss, "#!/bin/sh\nsleep 3\nPATH=${PATH#*:} exec ss \"$@\"\n").unwrap();
    std::fs::set_permissions(&ss, std::fs::Permissions::from_mode(0o755)).unwrap();
    let template = format!(
        "case {{node}} in stuck) echo 'waiting for the container runtime' >&2; exec sleep 30 ;; \
         *) PATH={}:$PATH exec sh -s ;; esac",
        slow.display()
    );
    let report_path = dir.path().join("r.json");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(["scan", "--no-probes", "--color", "never"])
        .args(["--node", "stuck=stuck", "--node", "slow=slow"])
        .args(["--role", "stuck=worker", "--role", "slow=worker"])
        .args(["--connect-timeout", "1s", "--command-timeout", "30s"])
        .arg("--exec")
        .arg(&template)
        .arg("--json")
        .arg(&report_path)
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let node = |name: &str| report.nodes.iter().find(|n| n.name == name).unwrap();

    let stuck = node("stuck");
    assert_eq!(
        stuck.scan_status,
        ScanStatus::CollectorNotStarted,
        "{stderr}"
    );
    assert!(stuck.results.is_empty());
    let error = stuck.error.as_deref().unwrap_or("");
    for part in [
        "the login did not run the collector",
        "exec sleep 30",
        "1 s later (the connect timeout)",
        "container runtime that does not answer",
        "It printed: waiting for the container runtime",
    ] {
        assert!(error.contains(part), "no {part:?} in {error}");
    }
    // The status line on stderr says the same, and how long it took: the
    // connect timeout, not the command timeout.
    let line = stderr
        .lines()
        .find(|l| l.starts_with("stuck "))
        .unwrap_or_else(|| panic!("no status line for stuck: {stderr}"));
    assert!(line.contains("collector-not-started"), "{line}");
    let secs: f64 = line
        .split_whitespace()
        .find_map(|w| w.strip_suffix('s').and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no duration in {line}"));
    assert!((1.0..2.5).contains(&secs), "{line}");

    // The collector that started and took its time was scanned.
    let slow = node("slow");
    assert_eq!(slow.scan_status, ScanStatus::Ok, "{:?}", slow.error);
    assert!(!slow.results.is_empty());
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(20),
        "{took:?}"
    );
}
