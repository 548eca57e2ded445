//! The network probes over a real OpenSSH server on loopback: every job of
//! a port runs at once over `direct-tcpip` channels, and when sshd forbids
//! forwarding (`AllowTcpForwarding no`) the same probes go through a relay
//! run by a shell on the node, with the same results.
//!
//! Needs /usr/sbin/sshd, openssl and bash, and root (as ssh_transport.rs).

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::sshd::{Sshd, free_port};

use kubeharden::facts::ReachOutcome;
use kubeharden::facts::{GetOutcome, HelloOutcome, PortState, TlsProbe};
use kubeharden::probe::plan::{port_tasks, results};
use kubeharden::transport::Transport;
use kubeharden::transport::ssh::{SshOptions, SshTransport};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `openssl s_server` demanding a client certificate, TLS 1.2 and 1.3.
fn tls_server(dir: &std::path::Path) -> (Kill, u16) {
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem"])
        .args(["-out", "c.pem", "-days", "30", "-subj", "/CN=relay-test"])
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(ok.status.success());
    let port = free_port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-cert", "c.pem", "-key", "k.pem"])
        .args(["-Verify", "1", "-accept"])
        .arg(port.to_string())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Kill(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, port);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("s_server did not start");
}

/// Probes `ports` from the node as a scan does (every port's TLS job,
/// plaintext fallback and hellos, scheduled by `probe::plan`); every port
/// is treated as etcd's, whose insistence on client certificates is
/// judged.
fn probe_all(t: &mut dyn Transport, ports: &[u16]) -> Vec<TlsProbe> {
    let targets: Vec<(String, u16)> = ports.iter().map(|p| ("127.0.0.1".into(), *p)).collect();
    let mut tasks = port_tasks(&targets, ports);
    assert!(t.run_probes(&mut tasks, Duration::from_secs(5)));
    results(&targets, tasks)
}

fn probe(t: &mut SshTransport, port: u16) -> TlsProbe {
    probe_all(t, &[port]).remove(0)
}

/// A plaintext HTTP server that reads like Go's `net/http`: it answers
/// only a whole request head, so a ClientHello (binary, no empty line)
/// meets silence. Counts the connections whose first bytes were a TLS
/// record, and those that were HTTP.
fn silent_plaintext() -> (u16, std::sync::Arc<std::sync::Mutex<(usize, usize)>>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new((0, 0)));
    let counts = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            let counts = counts.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if got.is_empty() {
                                let mut c = counts.lock().unwrap();
                                if buf[0] == 0x16 {
                                    c.0 += 1;
                                } else {
                                    c.1 += 1;
                                }
                            }
                            got.extend_from_slice(&buf[..n]);
                        }
                    }
                }
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nok");
                }
            });
        }
    });
    (port, seen)
}

fn check(extra: &str, via_shell: bool) {
    let sshd = Sshd::start_with(extra);
    let dir = tempfile::tempdir().unwrap();
    let (_srv, port) = tls_server(dir.path());
    // Two more sessions for the probes, opened once the main one is up
    // (as a scan does: its collection opens the main session).
    let mut t = SshTransport::new(sshd.spec(), SshOptions::default()).with_probe_sessions(2);
    drop(t.open().expect("a shell on the node"));
    let p = probe(&mut t, port);
    let log = std::fs::read_to_string(sshd.path("sshd.log")).unwrap();
    assert_eq!(
        log.matches("Accepted publickey").count(),
        3,
        "one main and two probe sessions: {log}"
    );
    assert_eq!(p.state, PortState::Tls, "{p:?}");
    assert_eq!(p.version.as_deref(), Some("TLSv1_3"), "{p:?}");
    assert_eq!(p.client_cert_required, Some(true), "{p:?}");
    assert_eq!(p.subject.as_deref(), Some("CN=relay-test"));
    assert_eq!(p.legacy.as_ref().unwrap().outcome, HelloOutcome::Refused);
    assert!(p.weak.is_some(), "{p:?}");

    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    let (o, d) = t
        .reach("127.0.0.1", open_port, Duration::from_secs(2))
        .unwrap();
    assert_eq!(o, ReachOutcome::Reachable, "{d:?}");
    let closed = free_port();
    let (o, d) = t
        .reach("127.0.0.1", closed, Duration::from_secs(2))
        .unwrap();
    assert_eq!(o, ReachOutcome::Refused, "{d:?}");
    assert_eq!(
        d.unwrap_or_default().contains("sshd forbids forwarding"),
        via_shell
    );

    // A port where nothing listens is an error, never a pass.
    let p = probe(&mut t, closed);
    assert_eq!(p.state, PortState::Error, "{p:?}");

    // A plaintext port that says nothing to a ClientHello is found by the
    // one plain GET, long before the probe's 5 s timeout, and gets no
    // hello.
    let (silent, seen) = silent_plaintext();
    let started = std::time::Instant::now();
    let p = probe(&mut t, silent);
    // Below the 5 s timeout it would otherwise wait for, with room for a
    // loaded machine (the cut itself comes after a few round trips).
    assert!(
        started.elapsed() < Duration::from_millis(4500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(p.state, PortState::Plaintext, "{p:?}");
    assert_eq!(
        p.get.as_ref().unwrap().outcome,
        GetOutcome::Plaintext,
        "{p:?}"
    );
    assert_eq!(p.get.as_ref().unwrap().status, Some(200), "{p:?}");
    assert_eq!(*seen.lock().unwrap(), (1, 1), "one ClientHello, one GET");
}

#[test]
fn probes_run_over_direct_tcpip_channels() {
    check("", false);
}

#[test]
fn without_forwarding_the_probes_go_through_a_shell_on_the_node() {
    check("AllowTcpForwarding no\n", true);
}

/// An exec transport (`docker exec -i NODE sh`, here plain `sh`) has no
/// channels: each probe gets a relay process, the hellos only once the
/// port is known to speak TLS, and reachability is tried by the shell.
#[test]
fn exec_transports_probe_through_relays() {
    use kubeharden::transport::Limits;
    use kubeharden::transport::process::ExecTransport;
    let dir = tempfile::tempdir().unwrap();
    let (_srv, port) = tls_server(dir.path());
    let plain = TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = plain.accept().unwrap();
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        // Anything sent on another connection would be a hello (or a GET)
        // sent to a port known to speak plain HTTP. (A hello's relay may
        // connect before that is known; it must then send nothing.)
        plain.set_nonblocking(true).unwrap();
        let until = std::time::Instant::now() + Duration::from_secs(2);
        let mut sent = false;
        while std::time::Instant::now() < until {
            if let Ok((mut c, _)) = plain.accept() {
                c.set_nonblocking(false).unwrap();
                c.set_read_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                sent |= matches!(c.read(&mut buf), Ok(n) if n > 0);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        sent
    });
    let mut t = ExecTransport {
        name: "n1".into(),
        template: "sh".into(),
        limits: Limits::default(),
    };
    let (silent, seen) = silent_plaintext();
    let probes = probe_all(&mut t, &[port, plain_port, silent]);
    let tls = &probes[0];
    assert_eq!(tls.state, PortState::Tls, "{tls:?}");
    assert_eq!(tls.client_cert_required, Some(true), "{tls:?}");
    assert_eq!(tls.legacy.as_ref().unwrap().outcome, HelloOutcome::Refused);
    let clear = &probes[1];
    assert_eq!(clear.state, PortState::Plaintext, "{clear:?}");
    assert!(
        clear.get.is_none(),
        "it answered the ClientHello: {clear:?}"
    );
    assert!(
        !server.join().unwrap(),
        "a hello or a GET was sent to the plaintext port that answered"
    );
    let quiet = &probes[2];
    assert_eq!(quiet.state, PortState::Plaintext, "{quiet:?}");
    assert_eq!(*seen.lock().unwrap(), (1, 1), "one ClientHello, one GET");
    let (o, _) = t.reach("127.0.0.1", port, Duration::from_secs(2)).unwrap();
    assert_eq!(o, ReachOutcome::Reachable);
}
