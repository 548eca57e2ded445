//! The SSH setups people really have, each against a real OpenSSH server on
//! loopback: an `Include` tree, a `ProxyCommand` (`ssh -W`, and one that
//! fails), per-host known_hosts and `StrictHostKeyChecking`, a user
//! certificate signed by a CA that sshd trusts through `TrustedUserCAKeys`,
//! and `IdentityAgent` with `IdentitiesOnly`.
//!
//! The node specs are built the way a scan builds them: an address that is
//! an alias of the SSH config, resolved through `--node` parsing.

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use common::sshd::{Sshd, keygen};
use kubeharden::collect::CollectOptions;
use kubeharden::facts::ScanStatus;
use kubeharden::inventory::{Defaults, NodeSpec, SshConfig, parse_node_arg};
use kubeharden::scan::{NodeOutcome, Via, scan_node};
use kubeharden::transport::ssh::{HostKeyPolicy, SshOptions};

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// `--node NAME=ALIAS` with the SSH config at `cfg`.
fn spec(cfg: &Path, alias: &str) -> NodeSpec {
    let ssh = SshConfig::load(cfg);
    let defaults = Defaults {
        connect_timeout: Duration::from_secs(5),
        command_timeout: Duration::from_secs(30),
        ..Defaults::default()
    };
    parse_node_arg(&format!("n1={alias}"), &defaults, &ssh).unwrap()
}

fn scan(spec: &NodeSpec, policy: HostKeyPolicy) -> NodeOutcome {
    let opts = SshOptions {
        host_keys: policy,
        ..SshOptions::default()
    };
    scan_node(spec, &Via::Ssh(opts), CollectOptions::default())
}

fn ok(o: &NodeOutcome) {
    assert_eq!(o.facts.scan_status, ScanStatus::Ok, "{:?}", o.facts.error);
}

/// The usual block for the test sshd, under the alias `labnode`.
fn host_block(sshd: &Sshd) -> String {
    format!(
        "Host labnode\n  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
        sshd.port,
        sshd.path("client").display(),
        sshd.path("known_hosts").display()
    )
}

#[test]
fn an_include_tree_with_globs_reaches_the_node() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("config"),
        "Include conf.d/*.conf\nHost *\n  User nobody\n",
    );
    write(&d.join("conf.d/50-lab.conf"), &host_block(&sshd));
    write(&d.join("conf.d/10-other.conf"), "Host other\n  Port 1\n");
    let s = spec(&d.join("config"), "labnode");
    assert_eq!(s.address, "127.0.0.1");
    assert_eq!(s.user.as_deref(), Some("root"));
    ok(&scan(&s, HostKeyPolicy::Strict));
}

#[test]
fn a_proxy_command_carries_the_session() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `ssh -W` through the same server as a bastion: the node's session
    // goes over the bastion's stdin and stdout, as with AWS SSM, Teleport
    // or cloudflared.
    let marker = d.join("proxy-used");
    let proxy = format!(
        "sh -c 'echo %r@%h:%p > {}; exec ssh -F none -i {} -o BatchMode=yes -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -p %p -W %h:%p %r@%h'",
        marker.display(),
        sshd.path("client").display(),
        sshd.path("known_hosts").display()
    );
    write(
        &d.join("config"),
        &format!("{}  ProxyCommand {proxy}\n", host_block(&sshd)),
    );
    let s = spec(&d.join("config"), "labnode");
    assert!(s.ssh.proxy_command.is_some());
    let o = scan(&s, HostKeyPolicy::Strict);
    ok(&o);
    // The session went through the command, its tokens expanded.
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        format!("root@127.0.0.1:{}", sshd.port)
    );
}

#[test]
fn a_failing_proxy_command_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("config"),
        "Host gated\n  ProxyCommand sh -c 'echo \"session manager plugin not found\" >&2; exit 3'\n",
    );
    let s = spec(&d.join("config"), "gated");
    let o = scan(&s, HostKeyPolicy::Strict);
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::Unreachable,
        "{:?}",
        o.facts.error
    );
    let e = o.facts.error.unwrap_or_default();
    assert!(e.contains("ProxyCommand"), "{e}");
    assert!(e.contains("session manager plugin not found"), "{e}");
    assert!(e.contains("exit status: 3"), "{e}");
}

#[test]
fn per_host_known_hosts_and_strict_host_key_checking() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kh = d.join("known_hosts.d/lab");
    write(
        &d.join("config"),
        &format!(
            "Host trusting\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {id}\n  UserKnownHostsFile {kh}\n  StrictHostKeyChecking accept-new\nHost careful\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {id}\n  UserKnownHostsFile {empty}\n  StrictHostKeyChecking yes\n",
            port = sshd.port,
            id = sshd.path("client").display(),
            kh = kh.display(),
            empty = d.join("empty_known_hosts").display()
        ),
    );
    // accept-new for this host, although the scan is strict: the key is
    // recorded in the host's own known_hosts file.
    let s = spec(&d.join("config"), "trusting");
    assert_eq!(s.known_hosts.as_deref(), Some(kh.as_path()));
    ok(&scan(&s, HostKeyPolicy::Strict));
    let recorded = std::fs::read_to_string(&kh).unwrap();
    assert!(
        recorded.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port)),
        "{recorded}"
    );
    // ... and a changed key is still refused.
    write(
        &kh,
        &format!(
            "[127.0.0.1]:{} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEwP1cKJ2qfXyGqgNSmE3mKh0zDbbdJ8Y0eWXYjv0G4b\n",
            sshd.port
        ),
    );
    let o = scan(&s, HostKeyPolicy::AcceptNew);
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::HostKeyMismatch,
        "{:?}",
        o.facts.error
    );
    // yes for that host, although the scan would accept new keys.
    let s = spec(&d.join("config"), "careful");
    let o = scan(&s, HostKeyPolicy::AcceptNew);
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::HostKeyMismatch,
        "{:?}",
        o.facts.error
    );
    assert!(o.facts.error.unwrap().contains("StrictHostKeyChecking"));
}

#[test]
fn a_user_certificate_signed_by_a_trusted_ca_authenticates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(&d.join("user_ca"));
    let sshd = Sshd::start_with(&format!(
        "TrustedUserCAKeys {}\n",
        d.join("user_ca.pub").display()
    ));
    // Only certificates: no authorized key at all.
    std::fs::write(sshd.path("authorized_keys"), "").unwrap();
    let signed = Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(d.join("user_ca"))
        .args(["-I", "auditor@kubeharden", "-n", "root", "-V", "+1h"])
        .arg(sshd.path("client.pub"))
        .status()
        .unwrap();
    assert!(signed.success());
    assert!(sshd.path("client-cert.pub").is_file());
    write(&d.join("config"), &host_block(&sshd));
    let s = spec(&d.join("config"), "labnode");
    // Found next to the key, as ssh finds it.
    ok(&scan(&s, HostKeyPolicy::Strict));
    // Named with CertificateFile, elsewhere.
    let moved = d.join("certs/auditor-cert.pub");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(sshd.path("client-cert.pub"), &moved).unwrap();
    let plain = scan(&s, HostKeyPolicy::Strict);
    assert_eq!(
        plain.facts.scan_status,
        ScanStatus::AuthFailed,
        "the key alone is not authorized"
    );
    write(
        &d.join("config"),
        &format!(
            "{}  CertificateFile {}\n",
            host_block(&sshd),
            moved.display()
        ),
    );
    ok(&scan(
        &spec(&d.join("config"), "labnode"),
        HostKeyPolicy::Strict,
    ));
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent(sock: &Path, keys: &[&Path]) -> Agent {
    let a = Agent(
        Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(sock)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent is installed"),
    );
    for _ in 0..200 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for k in keys {
        let added = Command::new("ssh-add")
            .arg(k)
            .env("SSH_AUTH_SOCK", sock)
            .output()
            .unwrap();
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
    }
    a
}

#[test]
fn identity_agent_and_identities_only() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(&d.join("other"));
    let sock = d.join("agent.sock");
    let _agent = agent(&sock, &[&sshd.path("client")]);
    let base = format!(
        "Host labnode\n  HostName 127.0.0.1\n  Port {}\n  User root\n  UserKnownHostsFile {}\n  IdentityAgent {}\n",
        sshd.port,
        sshd.path("known_hosts").display(),
        sock.display()
    );
    // The agent named by IdentityAgent, not SSH_AUTH_SOCK, holds the key.
    write(&d.join("config"), &base);
    ok(&scan(
        &spec(&d.join("config"), "labnode"),
        HostKeyPolicy::Strict,
    ));
    // IdentitiesOnly with another identity file: the agent's key is not
    // offered, so the login fails, and says why.
    write(
        &d.join("config"),
        &format!(
            "{base}  IdentityFile {}\n  IdentitiesOnly yes\n",
            d.join("other").display()
        ),
    );
    let o = scan(&spec(&d.join("config"), "labnode"), HostKeyPolicy::Strict);
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::AuthFailed,
        "{:?}",
        o.facts.error
    );
    assert!(o.facts.error.unwrap().contains("IdentitiesOnly"));
    // Without IdentitiesOnly the agent's key is offered after the file's.
    write(
        &d.join("config"),
        &format!("{base}  IdentityFile {}\n", d.join("other").display()),
    );
    ok(&scan(
        &spec(&d.join("config"), "labnode"),
        HostKeyPolicy::Strict,
    ));
    // IdentityAgent none: no agent at all.
    write(
        &d.join("config"),
        &base.replace(
            &format!("IdentityAgent {}", sock.display()),
            "IdentityAgent none",
        ),
    );
    let o = scan(&spec(&d.join("config"), "labnode"), HostKeyPolicy::Strict);
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::AuthFailed,
        "{:?}",
        o.facts.error
    );
}

#[test]
fn ignored_match_blocks_are_said_in_the_scan_log() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    write(
        &cfg,
        "Match exec \"corp-vpn-up\"\n  ProxyJump corp-bastion\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args([
            "scan",
            "--node",
            "n1=root@127.0.0.1:1",
            "--no-probes",
            "--ssh-config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ssh config: ") && err.contains("Match exec") && err.contains("config:1"),
        "{err}"
    );
}
