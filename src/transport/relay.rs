//! Probes through a shell on the node, when no TCP channel can be had.
//!
//! An SSH server with `AllowTcpForwarding no` refuses `direct-tcpip`
//! channels, and exec transports (`docker exec`, kind) have none at all.
//! The probes must still start on the node, so we ask the node's shell to
//! do the connecting: a small POSIX script picks a relay the node already
//! has (bash's `/dev/tcp`, `nc`, `socat` or `python3`), says it is ready,
//! and then copies bytes between its stdin/stdout and the TCP connection.
//! The probe jobs run over that pipe unchanged. Nothing is installed and
//! nothing on the node changes; a node with none of these tools makes the
//! probe an `error` that says so, never a pass.

use std::io::{ErrorKind, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::Duration;

use super::child::sh_quote;
use crate::facts::ReachOutcome;

/// What the relay prints before it starts copying bytes.
pub const READY: &str = "KHRELAY-READY";
/// What it prints when the node has no tool to relay with.
pub const NO_RELAY: &str = "KHRELAY-NONE";

/// The script that relays stdin/stdout to `host:port` from the node.
pub fn relay_script(host: &str, port: u16, timeout: Duration) -> String {
    let t = timeout.as_secs().max(1);
    let (h, p) = (sh_quote(host), port);
    format!(
        r#"h={h}; p={p}
if command -v bash >/dev/null 2>&1; then
  exec bash -c 'exec 3<>"/dev/tcp/$0/$1" || {{ echo "KHRELAY-FAIL cannot connect to $0:$1"; exit 7; }}
exec 4<&0; echo {READY}; cat <&3 & r=$!; cat <&4 >&3 & w=$!; wait -n; kill $r $w 2>/dev/null' "$h" "$p" 2>/dev/null
elif command -v nc >/dev/null 2>&1; then
  echo {READY}; exec nc -w {t} "$h" "$p"
elif command -v socat >/dev/null 2>&1; then
  echo {READY}; exec socat - "TCP:$h:$p,connect-timeout={t}"
elif command -v python3 >/dev/null 2>&1; then
  echo {READY}
  exec python3 -c 'import socket,sys,threading
s=socket.create_connection((sys.argv[1],int(sys.argv[2])),{t})
s.settimeout(None)
def up():
    while True:
        d=sys.stdin.buffer.read1(65536)
        if not d: break
        s.sendall(d)
threading.Thread(target=up,daemon=True).start()
while True:
    d=s.recv(65536)
    if not d: break
    sys.stdout.buffer.write(d); sys.stdout.buffer.flush()' "$h" "$p"
else
  echo {NO_RELAY}; exit 127
fi
"#
    )
}

/// The script that tries a TCP connection to `host:port` from the node and
/// prints `reachable`, `refused MESSAGE`, `filtered` or `error MESSAGE`.
pub fn reach_script(host: &str, port: u16, timeout: Duration) -> String {
    let t = timeout.as_secs().max(1);
    let (h, p) = (sh_quote(host), port);
    format!(
        r#"h={h}; p={p}
if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  out=$(timeout {t} bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$h" "$p" 2>&1); rc=$?
elif command -v nc >/dev/null 2>&1; then
  out=$(nc -z -w {t} "$h" "$p" 2>&1); rc=$?
else
  echo "error {NO_RELAY}: neither bash with timeout nor nc on the node"; exit 0
fi
out=$(printf '%s' "$out" | tr '\n' ' ' | cut -c1-200)
if [ "$rc" = 0 ]; then echo reachable
elif [ "$rc" = 124 ]; then echo filtered
else case "$out" in
  *[Rr]efused*) echo "refused $out" ;;
  *[Tt]imed\ out*|*[Nn]o\ route*|*unreachable*) echo "filtered $out" ;;
  *) if [ -z "$out" ]; then echo filtered; else echo "error $out"; fi ;;
esac
fi
"#
    )
}

/// Reads [`reach_script`]'s answer.
pub fn parse_reach(text: &str) -> (ReachOutcome, Option<String>) {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let detail = |d: &str| {
        let d = d.trim();
        (!d.is_empty()).then(|| crate::util::cap(d, 300))
    };
    let via = "tried by a shell on the node";
    match word {
        "reachable" => (ReachOutcome::Reachable, Some(via.into())),
        "refused" => (
            ReachOutcome::Refused,
            Some(format!("{via}: {}", detail(rest).unwrap_or_default())),
        ),
        "filtered" => (
            ReachOutcome::Filtered,
            Some(match detail(rest) {
                Some(d) => format!("{via}: {d}"),
                None => format!("{via}: no answer"),
            }),
        ),
        "error" => (ReachOutcome::Error, detail(rest)),
        _ => (
            ReachOutcome::Error,
            Some(format!(
                "unexpected answer from the node: {}",
                crate::util::cap(line, 200)
            )),
        ),
    }
}

/// Strips the relay's ready line from the start of its output. `None`:
/// not all of it has arrived yet. `Err`: the node cannot relay.
pub fn take_ready(buf: &mut Vec<u8>) -> Option<Result<(), String>> {
    let nl = buf.iter().position(|b| *b == b'\n')?;
    let line = String::from_utf8_lossy(&buf[..nl]).trim().to_string();
    buf.drain(..=nl);
    Some(if line == READY {
        Ok(())
    } else if line == NO_RELAY {
        Err("no relay on the node (it has none of bash, nc, socat, python3)".into())
    } else if let Some(why) = line.strip_prefix("KHRELAY-FAIL ") {
        Err(format!("could not connect from the node: {why}"))
    } else {
        Err(format!(
            "the node's shell said {:?} instead of starting the relay",
            crate::util::cap(&line, 120)
        ))
    })
}

/// A relay run by a local child process (`sh -c` here, or an exec
/// transport's command), as a byte stream with a read timeout.
pub struct RelayStream {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<Vec<u8>>,
    pending: Vec<u8>,
    read_timeout: Duration,
}

impl RelayStream {
    /// Starts `cmd` (a shell that reads a script on stdin), sends it the
    /// relay script, and waits for the relay to be ready.
    pub fn start(
        cmd: &mut Command,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<RelayStream, String> {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the relay command: {e}"))?;
        let mut stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let out = super::child::read_in_background(stdout);
        let (etx, erx) = channel();
        thread::spawn(move || {
            let mut e = Vec::new();
            let _ = (&mut stderr).take(4096).read_to_end(&mut e);
            let _ = etx.send(e);
        });
        let mut s = RelayStream {
            child,
            stdin: stdin.take(),
            out,
            pending: Vec::new(),
            read_timeout: Duration::from_millis(20),
        };
        let script = format!(
            "exec sh -c {}\n",
            sh_quote(&relay_script(host, port, timeout))
        );
        if let Some(i) = s.stdin.as_mut() {
            i.write_all(script.as_bytes())
                .and_then(|_| i.flush())
                .map_err(|e| format!("cannot talk to the node's shell: {e}"))?;
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(r) = take_ready(&mut s.pending) {
                return r.map(|_| s);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err("the node's shell did not start the relay in time".into());
            }
            match s.out.recv_timeout(left) {
                Ok(d) => s.pending.extend_from_slice(&d),
                Err(_) => {
                    let e = erx
                        .recv_timeout(Duration::from_millis(200))
                        .unwrap_or_default();
                    return Err(format!(
                        "the node's shell ended before the relay started: {}",
                        crate::util::cap(String::from_utf8_lossy(&e).trim(), 300)
                    ));
                }
            }
        }
    }
}

impl Read for RelayStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            match self.out.recv_timeout(self.read_timeout) {
                Ok(d) => self.pending = d,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(std::io::Error::new(ErrorKind::TimedOut, "no data yet"));
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

impl Write for RelayStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.stdin.as_mut() {
            Some(i) => i.write(buf),
            None => Err(std::io::Error::new(ErrorKind::BrokenPipe, "closed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.stdin.as_mut() {
            Some(i) => i.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for RelayStream {
    fn drop(&mut self) {
        self.stdin.take();
        super::child::kill_group(&self.child);
        let _ = self.child.wait();
    }
}

/// Runs the reach script through `cmd` (a shell reading stdin) and reads
/// its answer.
pub fn reach_via(
    cmd: &mut Command,
    host: &str,
    port: u16,
    timeout: Duration,
) -> (ReachOutcome, Option<String>) {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return (
                ReachOutcome::Error,
                Some(format!("cannot start the transport command: {e}")),
            );
        }
    };
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(reach_script(host, port, timeout).as_bytes());
    }
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = channel();
    thread::spawn(move || {
        let mut s = Vec::new();
        let _ = (&mut stdout).take(4096).read_to_end(&mut s);
        let _ = tx.send(s);
    });
    let answer = rx.recv_timeout(timeout + Duration::from_secs(10));
    super::child::kill_group(&child);
    let _ = child.wait();
    match answer {
        Ok(out) => parse_reach(&String::from_utf8_lossy(&out)),
        Err(_) => (
            ReachOutcome::Error,
            Some("the node's shell did not answer in time".into()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn local_shell() -> Command {
        let mut c = Command::new("sh");
        c.arg("-s");
        c
    }

    #[test]
    fn the_relay_carries_a_probe_to_a_local_port() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 512];
            let n = s.read(&mut buf).unwrap();
            s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
            n
        });
        let stream = RelayStream::start(
            &mut local_shell(),
            "127.0.0.1",
            port,
            Duration::from_secs(5),
        )
        .unwrap();
        let targets = vec![("127.0.0.1".to_string(), port)];
        let mut tasks = crate::probe::plan::port_tasks(&targets, &[]);
        let stream = std::sync::Mutex::new(Some(stream));
        let connect = |_: &str, _: u16| -> Result<Box<dyn super::super::threads::Stream>, String> {
            stream
                .lock()
                .unwrap()
                .take()
                .map(|s| Box::new(s) as Box<dyn super::super::threads::Stream>)
                .ok_or_else(|| "one connection only".to_string())
        };
        super::super::threads::drive(&mut tasks, Duration::from_secs(5), 1, &connect);
        let p = crate::probe::plan::results(&targets, tasks).remove(0);
        assert_eq!(p.state, crate::facts::PortState::Plaintext, "{p:?}");
        // The server got our ClientHello through the relay.
        assert!(server.join().unwrap() > 5);
    }

    #[test]
    fn reachability_through_a_shell_tells_open_from_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port();
        let (o, _) = reach_via(
            &mut local_shell(),
            "127.0.0.1",
            open,
            Duration::from_secs(2),
        );
        assert_eq!(o, ReachOutcome::Reachable);
        drop(listener);
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (o, d) = reach_via(
            &mut local_shell(),
            "127.0.0.1",
            closed,
            Duration::from_secs(2),
        );
        assert_eq!(o, ReachOutcome::Refused, "{d:?}");
    }

    #[test]
    fn reach_answers_are_parsed() {
        assert_eq!(parse_reach("filtered\n").0, ReachOutcome::Filtered);
        assert_eq!(
            parse_reach("refused bash: connect: Connection refused").0,
            ReachOutcome::Refused
        );
        assert_eq!(parse_reach("garbage").0, ReachOutcome::Error);
        assert_eq!(parse_reach("").0, ReachOutcome::Error);
    }

    #[test]
    fn a_node_without_a_relay_says_so() {
        let mut buf = format!("{NO_RELAY}\n").into_bytes();
        assert!(take_ready(&mut buf).unwrap().is_err());
        let mut buf = format!("{READY}\n\x16\x03").into_bytes();
        assert_eq!(take_ready(&mut buf), Some(Ok(())));
        assert_eq!(buf, b"\x16\x03");
    }
}
