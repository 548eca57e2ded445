//! SSH authentication besides a plain key file: an encrypted key with its
//! passphrase, and ssh-agent. A test binary of its own, because it sets
//! SSH_AUTH_SOCK for the whole process.

mod common;

use std::process::Command;

use common::sshd::Sshd;
use kubeharden::collect::CollectOptions;
use kubeharden::facts::ScanStatus;
use kubeharden::scan::{Via, scan_node};
use kubeharden::transport::ssh::SshOptions;

#[test]
fn encrypted_keys_and_the_agent_authenticate() {
    let sshd = Sshd::start();
    // An encrypted copy of the client key.
    let enc = sshd.path("client_enc");
    std::fs::copy(sshd.path("client"), &enc).unwrap();
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-p", "-N", "s3cret pass", "-P", "", "-f"])
        .arg(&enc)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut spec = sshd.spec();
    spec.identity_file = Some(enc.clone());

    let wrong = SshOptions {
        passphrase: Some("nope".into()),
        ..SshOptions::default()
    };
    let o = scan_node(&spec, &Via::Ssh(wrong), CollectOptions::default());
    assert_eq!(
        o.facts.scan_status,
        ScanStatus::AuthFailed,
        "{:?}",
        o.facts.error
    );

    let right = SshOptions {
        passphrase: Some("s3cret pass".into()),
        ..SshOptions::default()
    };
    let o = scan_node(&spec, &Via::Ssh(right), CollectOptions::default());
    assert_eq!(o.facts.scan_status, ScanStatus::Ok, "{:?}", o.facts.error);

    // ssh-agent holding the key; no identity file at all.
    let sock = sshd.path("agent.sock");
    let agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .spawn()
        .expect("ssh-agent is installed (openssh-client)");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = Kill(agent);
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(sshd.path("client"))
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    // SAFETY: this test binary has this one test, so no other thread reads
    // the environment while it changes.
    unsafe { std::env::set_var("SSH_AUTH_SOCK", &sock) };
    spec.identity_file = None;
    let o = scan_node(
        &spec,
        &Via::Ssh(SshOptions::default()),
        CollectOptions::default(),
    );
    assert_eq!(o.facts.scan_status, ScanStatus::Ok, "{:?}", o.facts.error);
}
