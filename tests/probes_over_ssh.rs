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
use kubeharden::probe::{HelloOutcome, PortState, TlsProbe, assemble, port_jobs};
use kubeharden::transport::ssh::{SshOptions, SshTransport};
use kubeharden::transport::{ProbeTask, Transport};

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

fn probe(t: &mut SshTransport, port: u16) -> TlsProbe {
    let mut tasks: Vec<ProbeTask> = port_jobs("127.0.0.1", port, true)
        .into_iter()
        .map(|job| ProbeTask {
            host: "127.0.0.1".into(),
            port,
            job,
            needs_tls_of: None,
            eager: true,
        })
        .collect();
    assert!(t.run_probes(&mut tasks, Duration::from_secs(5)));
    assemble(
        "127.0.0.1",
        port,
        tasks.into_iter().map(|t| t.job).collect(),
    )
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
        // A second connection would be a hello sent to a plaintext port.
        plain.set_nonblocking(true).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        plain.accept().is_ok()
    });
    let mut t = ExecTransport {
        name: "n1".into(),
        template: "sh".into(),
        limits: Limits::default(),
    };
    // As the scan orders them: every port's TLS job first, then the
    // hellos, each naming its port's TLS job.
    let mut tasks = Vec::new();
    let mut hellos = Vec::new();
    for p in [port, plain_port] {
        let first = tasks.len();
        for job in port_jobs("127.0.0.1", p, true) {
            let is_tls = matches!(job, kubeharden::probe::job::Job::Tls(_));
            let task = ProbeTask {
                host: "127.0.0.1".into(),
                port: p,
                job,
                needs_tls_of: (!is_tls).then_some(first),
                eager: true,
            };
            if is_tls {
                tasks.push(task);
            } else {
                hellos.push(task);
            }
        }
    }
    tasks.append(&mut hellos);
    assert!(t.run_probes(&mut tasks, Duration::from_secs(5)));
    let jobs = |p: u16, tasks: &mut Vec<ProbeTask>| {
        let (mine, rest): (Vec<_>, Vec<_>) = tasks.drain(..).partition(|t| t.port == p);
        *tasks = rest;
        assemble("127.0.0.1", p, mine.into_iter().map(|t| t.job).collect())
    };
    let tls = jobs(port, &mut tasks);
    assert_eq!(tls.state, PortState::Tls, "{tls:?}");
    assert_eq!(tls.client_cert_required, Some(true), "{tls:?}");
    assert_eq!(tls.legacy.unwrap().outcome, HelloOutcome::Refused);
    let clear = jobs(plain_port, &mut tasks);
    assert_eq!(clear.state, PortState::Plaintext, "{clear:?}");
    assert!(
        !server.join().unwrap(),
        "a hello was sent to the plaintext port"
    );
    let (o, _) = t.reach("127.0.0.1", port, Duration::from_secs(2)).unwrap();
    assert_eq!(o, ReachOutcome::Reachable);
}
