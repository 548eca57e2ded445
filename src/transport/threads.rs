//! The probe driver for transports whose connections are blocking streams:
//! plain TCP from this machine (`--local`), and relays run by a shell on
//! the node (`--exec`, kind). A few worker threads take tasks as
//! `probe::plan` allows, each conversation on its own stream; the jobs and
//! every scheduling decision stay in one place, behind a lock, so a silent
//! handshake is cut short as soon as its port's plain `GET` is answered,
//! and a hello waits for its port's TLS, exactly as over SSH.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::probe::plan::{self, ProbeTask, Ready};

/// A blocking connection with a short read timeout (a read that times out
/// returns `WouldBlock` or `TimedOut`; the driver then checks its clocks).
pub trait Stream: std::io::Read + std::io::Write + Send {}

impl<T: std::io::Read + std::io::Write + Send> Stream for T {}

/// Opens a connection to `host:port` from the node.
pub type Connect<'a> = dyn Fn(&str, u16) -> Result<Box<dyn Stream>, String> + Sync + 'a;

/// The state of one task in the driver.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Queued,
    Taken,
}

struct Shared<'a> {
    tasks: &'a mut [ProbeTask],
    slots: Vec<Slot>,
    /// The quickest connection seen: the link's round trip, for the
    /// silence bound.
    rtt: Option<Duration>,
}

impl Shared<'_> {
    fn silence(&self) -> Duration {
        plan::silence(self.rtt)
    }

    /// The next task that may open now, taken; `Err(())` when none is left.
    fn next(&mut self, now: Instant) -> Result<Option<usize>, ()> {
        let silence = self.silence();
        let mut left = false;
        for i in 0..self.tasks.len() {
            if self.slots[i] != Slot::Queued {
                continue;
            }
            match plan::may_open(self.tasks, i, now, silence) {
                Ready::Go => {
                    self.slots[i] = Slot::Taken;
                    return Ok(Some(i));
                }
                Ready::Drop(why) => {
                    self.tasks[i].job.fail(why);
                    self.slots[i] = Slot::Taken;
                }
                Ready::Wait => left = true,
            }
        }
        if left { Ok(None) } else { Err(()) }
    }
}

/// Runs every task, at most `parallel` conversations at once, each over a
/// stream from `connect(host, port)`, each given `timeout` once connected.
pub fn drive(tasks: &mut [ProbeTask], timeout: Duration, parallel: usize, connect: &Connect<'_>) {
    let slots = vec![Slot::Queued; tasks.len()];
    let shared = Mutex::new(Shared {
        tasks,
        slots,
        rtt: None,
    });
    let hard_stop = Instant::now() + timeout * 3;
    std::thread::scope(|s| {
        for _ in 0..parallel.max(1) {
            s.spawn(|| worker(&shared, timeout, hard_stop, connect));
        }
    });
}

fn lock<'a, 'b>(m: &'a Mutex<Shared<'b>>) -> std::sync::MutexGuard<'a, Shared<'b>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn worker(
    shared: &Mutex<Shared<'_>>,
    timeout: Duration,
    hard_stop: Instant,
    connect: &Connect<'_>,
) {
    loop {
        let now = Instant::now();
        let next = lock(shared).next(now);
        let i = match next {
            Err(()) => return,
            Ok(None) if now >= hard_stop => {
                let mut g = lock(shared);
                for i in 0..g.tasks.len() {
                    if g.slots[i] == Slot::Queued {
                        g.slots[i] = Slot::Taken;
                        g.tasks[i].job.fail("the probes ran out of time".into());
                    }
                }
                return;
            }
            Ok(None) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Ok(Some(i)) => i,
        };
        let (host, port) = {
            let g = lock(shared);
            (g.tasks[i].host.clone(), g.tasks[i].port)
        };
        let started = Instant::now();
        match connect(&host, port) {
            Ok(stream) => {
                {
                    let mut g = lock(shared);
                    let took = started.elapsed();
                    g.rtt = Some(g.rtt.map_or(took, |r| r.min(took)));
                }
                converse(shared, i, stream, timeout);
            }
            Err(e) => lock(shared).tasks[i]
                .job
                .fail(format!("could not connect from the node: {e}")),
        }
    }
}

/// Drives task `i` over `stream` until its job is done or `timeout` passes.
fn converse(shared: &Mutex<Shared<'_>>, i: usize, mut stream: Box<dyn Stream>, timeout: Duration) {
    use std::io::ErrorKind;
    let since = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let now = Instant::now();
        let out = {
            let mut g = lock(shared);
            let silence = g.silence();
            if plan::settle(g.tasks, i) {
                return;
            }
            match plan::may_send(g.tasks, i, now, silence) {
                Ready::Go => {}
                Ready::Drop(why) => {
                    g.tasks[i].job.fail(why);
                    return;
                }
                Ready::Wait => {
                    if now.duration_since(since) >= timeout {
                        g.tasks[i]
                            .job
                            .fail("its port's TLS probe never finished".into());
                        return;
                    }
                    drop(g);
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
            }
            let out = g.tasks[i].job.output();
            if g.tasks[i].job.done() && out.is_empty() {
                return;
            }
            out
        };
        if !out.is_empty() && stream.write_all(&out).and_then(|_| stream.flush()).is_err() {
            lock(shared).tasks[i]
                .job
                .fail("the connection broke while sending".into());
            return;
        }
        {
            let mut g = lock(shared);
            if g.tasks[i].job.done() {
                return;
            }
            if now.duration_since(since) >= timeout {
                g.tasks[i]
                    .job
                    .fail(format!("no answer within {} ms", timeout.as_millis()));
                return;
            }
        }
        let read = stream.read(&mut buf);
        let mut g = lock(shared);
        let job = &mut g.tasks[i].job;
        let now = Instant::now();
        match read {
            Ok(0) => job.eof(now),
            Ok(n) => job.input(&buf[..n], now),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                job.idle(now)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => job.fail(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{GetOutcome, HelloOutcome, PortState, TlsProbe};
    use crate::probe::plan::port_tasks;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};

    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn tcp(host: &str, port: u16) -> Result<Box<dyn Stream>, String> {
        for _ in 0..100 {
            if let Ok(s) = TcpStream::connect((host, port)) {
                s.set_read_timeout(Some(Duration::from_millis(20)))
                    .map_err(|e| e.to_string())?;
                return Ok(Box::new(s));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("nothing listens on {port}"))
    }

    fn probe(port: u16, etcd: bool) -> (TlsProbe, Duration) {
        let targets = vec![("127.0.0.1".to_string(), port)];
        let etcd_ports: Vec<u16> = if etcd { vec![port] } else { Vec::new() };
        let mut tasks = port_tasks(&targets, &etcd_ports);
        let started = Instant::now();
        drive(&mut tasks, Duration::from_secs(5), 4, &tcp);
        let took = started.elapsed();
        (plan::results(&targets, tasks).remove(0), took)
    }

    fn s_server(dir: &std::path::Path, port: u16, extra: &[&str]) -> Kill {
        let ok = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem"])
            .args(["-out", "c.pem", "-days", "30", "-subj", "/CN=probe-test"])
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(ok.status.success());
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-cert", "c.pem", "-key", "k.pem"])
            .arg("-accept")
            .arg(port.to_string())
            .args(extra)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Kill(child)
    }

    /// A plaintext server that reads like Go's `net/http`: nothing is
    /// answered before a whole request head (up to an empty line) has
    /// arrived, so a ClientHello meets silence. Returns what each
    /// connection sent it.
    fn go_like_plaintext() -> (u16, std::sync::mpsc::Receiver<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut s) = conn else { return };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 1024];
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => {
                                let _ = tx.send(got);
                                return;
                            }
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = s.write_all(
                        b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n404 page not found\n",
                    );
                    let _ = tx.send(got);
                });
            }
        });
        (port, rx)
    }

    #[test]
    fn a_plaintext_port_silent_on_a_client_hello_is_found_by_the_plain_get_at_once() {
        let (port, seen) = go_like_plaintext();
        let (p, took) = probe(port, false);
        assert_eq!(p.state, PortState::Plaintext, "{p:?}");
        let get = p.get.clone().unwrap();
        assert_eq!(get.outcome, GetOutcome::Plaintext);
        assert_eq!(get.status, Some(404));
        // Well before the 5 s probe timeout: the silent handshake was cut.
        assert!(took < Duration::from_secs(3), "{took:?}");
        // No hello was sent; only the ClientHello and the one GET.
        drop(p);
        let mut sent: Vec<Vec<u8>> = Vec::new();
        // Longer than the server's own 10 s read timeout, which ends a
        // connection the probe left open.
        while let Ok(s) = seen.recv_timeout(Duration::from_secs(30)) {
            sent.push(s);
            if sent.len() == 2 {
                break;
            }
        }
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(sent.iter().any(|s| s.starts_with(b"GET / HTTP/1.0\r\n")));
        // The other connection carried the ClientHello, or nothing when the
        // GET's answer came first and the ClientHello was never sent (on a
        // loaded machine): never a second request, never a hello probe.
        assert!(
            sent.iter()
                .any(|s| s.is_empty() || s.starts_with(&[0x16, 0x03])),
            "{sent:?}"
        );
    }

    #[test]
    fn a_tls_port_gives_version_suite_certificate_and_hellos() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _srv = s_server(dir.path(), port, &[]);
        let (p, _) = probe(port, false);
        assert_eq!(p.state, PortState::Tls, "{p:?}");
        assert_eq!(p.subject.as_deref(), Some("CN=probe-test"));
        assert_eq!(p.legacy.unwrap().outcome, HelloOutcome::Refused);
        assert_eq!(p.weak.unwrap().outcome, HelloOutcome::Accepted);
        assert!(p.get.is_none());
    }

    #[test]
    fn a_port_that_closes_at_once_answers_neither_and_says_so() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                drop(s);
            }
        });
        let (p, _) = probe(port, false);
        assert_eq!(p.state, PortState::Error, "{p:?}");
        assert!(
            p.detail.as_deref().unwrap().starts_with("answered neither"),
            "{p:?}"
        );
    }
}
