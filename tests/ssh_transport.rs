//! The SSH transport against a real OpenSSH server on loopback: host keys
//! are checked strictly, authentication failures and hung or absent servers
//! are reported with the right scan status within their timeouts, a login
//! that never runs the collector is abandoned at the connect timeout while
//! a collector that started keeps its command timeout, and a scan through it
//! collects real facts.
//!
//! Needs /usr/sbin/sshd and ssh-keygen (Debian's openssh-server; `.ci/run`
//! installs it) and root (sshd must run as root to switch users).

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::sshd::{Sshd, free_port};

use kubeharden::collect::CollectOptions;
use kubeharden::facts::ScanStatus;
use kubeharden::inventory::NodeSpec;
use kubeharden::scan::{Via, scan_node};
use kubeharden::transport::ssh::{HostKeyPolicy, SshOptions};

fn strict() -> Via {
    Via::Ssh(SshOptions::default())
}

/// Collection as on a kubeadm node (`--layout kubeadm`): this machine is
/// none, so its layout would be unknown and no kubeadm path read.
fn kubeadm() -> CollectOptions {
    CollectOptions {
        layout: Some("kubeadm"),
        ..CollectOptions::default()
    }
}

#[test]
fn a_scan_over_ssh_collects_real_facts() {
    let sshd = Sshd::start();
    // As it is: no layout matches this machine, and no kubeadm path is
    // read on a guess.
    let o = scan_node(&sshd.spec(), &strict(), CollectOptions::default());
    assert_eq!(o.facts.scan_status, ScanStatus::Ok, "{:?}", o.facts.error);
    let layout = o.facts.layout.clone().unwrap();
    if layout.name == "unknown" {
        assert!(!o.facts.files.contains_key("/etc/kubernetes/pki"));
    }
    let o = scan_node(&sshd.spec(), &strict(), kubeadm());
    assert_eq!(o.facts.scan_status, ScanStatus::Ok, "{:?}", o.facts.error);
    assert!(o.facts.layout.as_ref().unwrap().forced);
    assert!(o.facts.node.kernel.is_some());
    // The layout's fixed CIS paths were all answered, present or not.
    for p in [
        "/etc/kubernetes/pki",
        "/etc/kubernetes/admin.conf",
        "/etc/cni/net.d",
    ] {
        assert!(o.facts.files.contains_key(p), "{p} not collected");
    }
    // Every path asked for was answered. (Other collection notes depend on
    // what else runs on this machine, a lab for instance.)
    assert!(
        o.facts
            .errors
            .iter()
            .all(|e| !e.message.contains("no answer")),
        "{:?}",
        o.facts.errors
    );
}

#[test]
fn an_unknown_host_key_is_refused_unless_accept_new_is_asked_for() {
    let sshd = Sshd::start();
    let mut spec = sshd.spec();
    std::fs::write(sshd.path("empty_known_hosts"), "").unwrap();
    spec.known_hosts = Some(sshd.path("empty_known_hosts"));
    let o = scan_node(&spec, &strict(), CollectOptions::default());
    assert_eq!(o.facts.scan_status, ScanStatus::HostKeyMismatch);
    assert!(o.facts.error.unwrap().contains("is not in"));
    assert!(
        o.facts.files.is_empty(),
        "nothing collected from an unverified host"
    );

    let opts = SshOptions {
        host_keys: HostKeyPolicy::AcceptNew,
        ..SshOptions::default()
    };
    let accepted = opts.accepted.clone();
    let o = scan_node(&spec, &Via::Ssh(opts), CollectOptions::default());
    assert_eq!(o.facts.scan_status, ScanStatus::Ok);
    assert_eq!(accepted.lock().unwrap().len(), 1);
    let recorded = std::fs::read_to_string(sshd.path("empty_known_hosts")).unwrap();
    assert!(
        recorded.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port)),
        "{recorded}"
    );
    // Now known: strict accepts it.
    assert_eq!(
        scan_node(&spec, &strict(), CollectOptions::default())
            .facts
            .scan_status,
        ScanStatus::Ok
    );
}

#[test]
fn a_changed_host_key_is_refused_even_with_accept_new() {
    let sshd = Sshd::start();
    let mut spec = sshd.spec();
    let other = std::fs::read_to_string(sshd.path("client.pub")).unwrap();
    let mut parts = other.split_whitespace();
    std::fs::write(
        sshd.path("wrong_known_hosts"),
        format!(
            "[127.0.0.1]:{} {} {}\n",
            sshd.port,
            parts.next().unwrap(),
            parts.next().unwrap()
        ),
    )
    .unwrap();
    spec.known_hosts = Some(sshd.path("wrong_known_hosts"));
    let opts = SshOptions {
        host_keys: HostKeyPolicy::AcceptNew,
        ..SshOptions::default()
    };
    let o = scan_node(&spec, &Via::Ssh(opts), CollectOptions::default());
    assert_eq!(o.facts.scan_status, ScanStatus::HostKeyMismatch);
    assert!(o.facts.error.unwrap().contains("does not match"));
}

#[test]
fn a_wrong_key_is_an_auth_failure() {
    let sshd = Sshd::start();
    let mut spec = sshd.spec();
    spec.identity_file = Some(sshd.path("hostkey"));
    let o = scan_node(&spec, &strict(), CollectOptions::default());
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::AuthFailed,
        "{:?}",
        o.facts.error
    );
}

#[test]
fn a_closed_port_is_unreachable_and_a_silent_server_times_out() {
    let spec = NodeSpec {
        port: Some(free_port()),
        ..Sshd::start().spec()
    };
    let o = scan_node(&spec, &strict(), CollectOptions::default());
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::Unreachable,
        "{:?}",
        o.facts.error
    );

    // Accepts TCP, never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(Duration::from_secs(6));
        drop(conn);
    });
    let spec = NodeSpec {
        port: Some(port),
        connect_timeout: Duration::from_secs(2),
        ..spec
    };
    let started = Instant::now();
    let o = scan_node(&spec, &strict(), CollectOptions::default());
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::Timeout,
        "{:?}",
        o.facts.error
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    holder.join().unwrap();
}

#[test]
fn a_node_behind_a_jump_host_is_reached_and_both_host_keys_are_checked() {
    let bastion = Sshd::start();
    let node = Sshd::start();
    // The node's client key may log in to the bastion; the bastion's host key
    // is known beside the node's.
    std::fs::copy(node.path("client.pub"), bastion.path("authorized_keys")).unwrap();
    let mut known = std::fs::read_to_string(node.path("known_hosts")).unwrap();
    let mut spec = node.spec();
    spec.proxy_jump = Some(format!("root@127.0.0.1:{}", bastion.port));

    // Bastion unknown: refused, before the node is even tried.
    let o = scan_node(&spec, &strict(), CollectOptions::default());
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::HostKeyMismatch,
        "{:?}",
        o.facts.error
    );
    assert!(o.facts.error.unwrap().contains("jump host"));

    known.push_str(&std::fs::read_to_string(bastion.path("known_hosts")).unwrap());
    std::fs::write(node.path("known_hosts"), known).unwrap();
    let o = scan_node(&spec, &strict(), kubeadm());
    assert_eq!(o.facts.scan_status, ScanStatus::Ok, "{:?}", o.facts.error);
    assert!(o.facts.files.contains_key("/etc/kubernetes/pki"));
}

/// A forced command that waits without reading stdin or printing on
/// stdout, as a login gate does (it says so on stderr), until its SSH
/// session is gone: `exec` makes sshd its parent, which exits with the
/// connection, so nothing outlives the test.
const GATE: &str = "ForceCommand exec sh -c 'echo \"approval pending for $USER\" >&2; while kill -0 $PPID 2>/dev/null; do sleep 0.2; done'\n";

#[test]
fn a_login_that_never_runs_the_collector_is_abandoned_at_the_connect_timeout() {
    let sshd = Sshd::start_with(GATE);
    let spec = NodeSpec {
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(20),
        ssh: Default::default(),
        ..sshd.spec()
    };
    let started = Instant::now();
    let o = scan_node(&spec, &strict(), CollectOptions::default());
    let took = started.elapsed();
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::CollectorNotStarted,
        "{:?}",
        o.facts.error
    );
    // The connect timeout and a small margin, far from the command timeout.
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let error = o.facts.error.unwrap();
    for part in [
        "the login did not run the collector",
        "ForceCommand",
        "profile script",
        "home directory",
        "directory service",
        "approval pending for root",
    ] {
        assert!(error.contains(part), "no {part:?} in {error}");
    }
    assert!(o.facts.files.is_empty());
}

#[test]
fn a_login_that_echoes_the_script_back_has_not_started_the_collector() {
    // `cat` sends back everything, our start line's printf and nonce too.
    let sshd = Sshd::start_with("ForceCommand exec cat\n");
    let spec = NodeSpec {
        connect_timeout: Duration::from_secs(1),
        command_timeout: Duration::from_secs(20),
        ssh: Default::default(),
        ..sshd.spec()
    };
    let started = Instant::now();
    let o = scan_node(&spec, &strict(), CollectOptions::default());
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::CollectorNotStarted,
        "{:?}",
        o.facts.error
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_collector_that_started_and_is_slow_keeps_the_command_timeout() {
    // A login banner on stdout, then the collector, whose socket listing
    // (`ss`, asked for in the first round trip) takes 3 s: longer than the
    // connect timeout, shorter than the command timeout.
    let slow = tempfile::tempdir().unwrap();
    let ss = slow.path().join("ss");
    std::fs::write(&ss, "#!/bin/sh\nsleep 3\nPATH=${PATH#*:} exec ss \"$@\"\n").unwrap();
    std::fs::set_permissions(&ss, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let sshd = Sshd::start_with(&format!(
        "ForceCommand printf 'Authorized use only'; PATH={}:$PATH exec sh -s\n",
        slow.path().display()
    ));
    let spec = NodeSpec {
        connect_timeout: Duration::from_secs(1),
        command_timeout: Duration::from_secs(20),
        ssh: Default::default(),
        ..sshd.spec()
    };
    let started = Instant::now();
    let o = scan_node(&spec, &strict(), kubeadm());
    assert_eq!(o.facts.scan_status, ScanStatus::Ok, "{:?}", o.facts.error);
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert!(o.facts.files.contains_key("/etc/kubernetes/pki"));
    assert!(
        o.facts.sockets.iter().any(|s| s.port == sshd.port),
        "{:?}",
        o.facts.sockets
    );
}
