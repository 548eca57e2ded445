//! Transports that spawn a local process: a shell on this machine, or a
//! command that opens a shell on the node (`docker exec -i {node} sh`).
//!
//! The child runs in its own process group; at the deadline the whole group
//! is killed, so a hung node (or a hung `docker exec`) never holds up the scan.
//!
//! Both have the start deadline of every transport (see the module docs of
//! `transport`), counted from the spawn and set to the node's connect
//! timeout (10 s unless `--connect-timeout` or the inventory says
//! otherwise): a `docker exec` stuck in the container runtime, or a
//! `sudo -n` waiting on a directory service, is abandoned then, not at the
//! command deadline.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub use super::child::sh_quote;
use super::child::{kill_group, read_in_background};
use super::{Conversation, Exchange, Limits, Next, Transport, TransportError, Waiting};

/// Runs the collector with `sh -s` on this machine (optionally through
/// `sudo -n`), for running directly on a node.
pub struct LocalTransport {
    pub name: String,
    pub sudo: bool,
    pub limits: Limits,
}

impl LocalTransport {
    fn command(&self) -> Command {
        if self.sudo {
            let mut c = Command::new("sudo");
            c.args(["-n", "sh", "-s"]);
            c
        } else {
            let mut c = Command::new("sh");
            c.arg("-s");
            c
        }
    }
}

impl Transport for LocalTransport {
    fn open(&mut self) -> Result<Box<dyn Conversation + '_>, TransportError> {
        Ok(Box::new(ChildConversation::start(
            &self.name,
            &mut self.command(),
            self.limits,
            None,
        )?))
    }

    /// This machine is the node: a plain TCP connection starts on it.
    fn reach(
        &mut self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Option<(crate::facts::ReachOutcome, Option<String>)> {
        Some(tcp_reach(host, port, timeout))
    }

    /// Plain TCP from this machine, which is the node.
    fn run_probes(
        &mut self,
        tasks: &mut [crate::probe::plan::ProbeTask],
        timeout: Duration,
    ) -> bool {
        let connect = |host: &str, port: u16| -> Result<Box<dyn super::threads::Stream>, String> {
            let s = tcp(host, port, timeout).map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(Duration::from_millis(20)))
                .map_err(|e| e.to_string())?;
            Ok(Box::new(s))
        };
        super::threads::drive(tasks, timeout, PROBE_CONNECTIONS, &connect);
        true
    }
}

/// Conversations a threaded probe driver holds open at once: enough for
/// every port of a node to be in its handshake while fallbacks and hellos
/// run beside them.
const PROBE_CONNECTIONS: usize = 12;

/// A TCP connection from this machine to `host:port`, closed at once.
pub fn tcp_reach(
    host: &str,
    port: u16,
    timeout: Duration,
) -> (crate::facts::ReachOutcome, Option<String>) {
    use crate::facts::ReachOutcome;
    use std::io::ErrorKind;
    match tcp(host, port, timeout) {
        Ok(_) => (ReachOutcome::Reachable, None),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            (ReachOutcome::Refused, Some(e.to_string()))
        }
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => (
            ReachOutcome::Filtered,
            Some(format!("no answer within {} ms", timeout.as_millis())),
        ),
        // No route there: as good as filtered, for a firewall check.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable
            ) =>
        {
            (ReachOutcome::Filtered, Some(e.to_string()))
        }
        Err(e) => (ReachOutcome::Error, Some(e.to_string())),
    }
}

fn tcp(host: &str, port: u16, timeout: Duration) -> std::io::Result<std::net::TcpStream> {
    use std::net::ToSocketAddrs;
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in (host, port).to_socket_addrs()? {
        match std::net::TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Runs the collector through a user-given command template in which
/// `{node}` is replaced by the node's name (shell-quoted), e.g.
/// `docker exec -i {node} sh`. The command must read the script on stdin.
pub struct ExecTransport {
    pub name: String,
    pub template: String,
    pub limits: Limits,
}

impl ExecTransport {
    pub fn command_line(&self) -> String {
        self.template.replace("{node}", &sh_quote(&self.name))
    }
}

impl ExecTransport {
    fn command(&self) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(self.command_line());
        cmd
    }
}

impl Transport for ExecTransport {
    fn open(&mut self) -> Result<Box<dyn Conversation + '_>, TransportError> {
        Ok(Box::new(ChildConversation::start(
            &self.name,
            &mut self.command(),
            self.limits,
            Some(self.command_line()),
        )?))
    }

    /// Through a shell on the node (`relay::reach_script`).
    fn reach(
        &mut self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Option<(crate::facts::ReachOutcome, Option<String>)> {
        Some(super::relay::reach_via(
            &mut self.command(),
            host,
            port,
            timeout,
        ))
    }

    /// Each conversation through a relay process of its own, run by a
    /// shell on the node (`relay::RelayStream`).
    fn run_probes(
        &mut self,
        tasks: &mut [crate::probe::plan::ProbeTask],
        timeout: Duration,
    ) -> bool {
        let this = &*self;
        let connect = |host: &str, port: u16| -> Result<Box<dyn super::threads::Stream>, String> {
            super::relay::RelayStream::start(&mut this.command(), host, port, timeout)
                .map(|s| Box::new(s) as Box<dyn super::threads::Stream>)
        };
        super::threads::drive(tasks, timeout, PROBE_CONNECTIONS, &connect);
        true
    }
}

/// Reads `r` until it ends into `into`, chunk by chunk (so that what a
/// hung child printed so far can be told), keeping at most `cap` bytes.
fn read_capped_into(mut r: impl Read, cap: usize, into: &Mutex<Vec<u8>>) {
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match r.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut buf = into.lock().unwrap_or_else(|p| p.into_inner());
                let room = cap.saturating_sub(buf.len());
                buf.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
}

/// A child process holding a shell on the node, for several exchanges.
/// Dropping it closes the shell's stdin and kills its process group.
pub struct ChildConversation {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<Vec<u8>>,
    err: Arc<Mutex<Vec<u8>>>,
    buf: Vec<u8>,
    limits: Limits,
    /// The transport command, for messages (exec transports).
    command_line: Option<String>,
    /// The command as run (`sh -s`, `sudo -n sh -s`, or `sh -c TEMPLATE`),
    /// for messages.
    shown: String,
    /// When the child was spawned: the start deadline runs from here.
    opened: Instant,
    /// Whether the child printed anything at all on stdout.
    heard: bool,
}

impl ChildConversation {
    pub fn start(
        name: &str,
        cmd: &mut Command,
        limits: Limits,
        command_line: Option<String>,
    ) -> Result<ChildConversation, TransportError> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let shown = command_line.clone().unwrap_or_else(|| {
            std::iter::once(cmd.get_program())
                .chain(cmd.get_args())
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        });
        let opened = Instant::now();
        let mut child = cmd.spawn().map_err(|e| TransportError::Unreachable {
            node: name.to_string(),
            reason: format!("cannot start the transport command: {e}"),
        })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let out = read_in_background(stdout);
        let err = Arc::new(Mutex::new(Vec::new()));
        let err2 = err.clone();
        thread::spawn(move || read_capped_into(&mut stderr, 64 * 1024, &err2));
        Ok(ChildConversation {
            name: name.to_string(),
            child,
            stdin,
            out,
            err,
            buf: Vec::new(),
            limits,
            command_line,
            shown,
            opened,
            heard: false,
        })
    }

    /// The collector has not started: the child is killed, and the error
    /// says what usually keeps this kind of command from running it.
    fn not_started(&mut self) -> TransportError {
        kill_group(&self.child);
        let _ = self.child.wait();
        let mut printed = std::mem::take(&mut self.buf);
        printed.extend_from_slice(self.stderr_text().as_bytes());
        let (how, causes) = match &self.command_line {
            Some(c) => (
                format!("starting `{c}`"),
                "the command hangs before it runs a shell on the node (a container runtime that does not answer, a paused or stopping container), a profile script that waits, sudo waiting on a directory service (LDAP, SSSD)",
            ),
            None => (
                format!("starting `{}` on this machine", self.shown),
                "sudo waiting on a directory service (LDAP, SSSD) or on a hung home directory (automount, NFS), a shell startup file that waits",
            ),
        };
        TransportError::not_started(
            &self.name,
            &how,
            self.limits.start_timeout,
            causes,
            &printed,
        )
    }

    fn stderr_text(&self) -> String {
        // Give the stderr reader a moment to finish after the child exited.
        thread::sleep(Duration::from_millis(20));
        let e = self.err.lock().unwrap_or_else(|p| p.into_inner());
        crate::util::cap(String::from_utf8_lossy(&e).trim(), 500)
    }
}

impl Conversation for ChildConversation {
    fn exchange(
        &mut self,
        text: &str,
        start: Option<&str>,
        marker: &str,
    ) -> Result<Exchange, TransportError> {
        let mut wait = Waiting::new(start, self.opened, self.limits, marker);
        if let Some(stdin) = self.stdin.as_mut() {
            // A shell that went away shows up below as end of output. The
            // pipe holds 64 KiB, more than the collector: a child that never
            // reads does not block us here.
            let _ = stdin.write_all(text.as_bytes()).and_then(|_| stdin.flush());
        }
        loop {
            let left = match wait.next(&mut self.buf, Instant::now()) {
                Next::Answer(answer) => {
                    if answer.truncated {
                        // The shell cannot be trusted to stay in step: end it.
                        self.stdin = None;
                    }
                    return Ok(answer);
                }
                Next::NotStarted => return Err(self.not_started()),
                Next::TimedOut => {
                    kill_group(&self.child);
                    return Err(TransportError::Timeout {
                        node: self.name.clone(),
                        seconds: self.limits.command_timeout.as_secs().max(1),
                        what: format!(
                            "the collector started through `{}` but did not finish its round trip",
                            self.shown
                        ),
                    });
                }
                Next::Wait(left) => left,
            };
            match self.out.recv_timeout(left) {
                Ok(chunk) => {
                    self.heard = true;
                    self.buf.extend_from_slice(&chunk);
                }
                // The deadlines are looked at again above.
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok().and_then(|s| s.code());
                    let err = self.stderr_text();
                    let reason = format!(
                        "`{}` ended (status {}) before {}: {err}",
                        self.shown,
                        status
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "killed".into()),
                        if wait.started() {
                            "answering"
                        } else {
                            "the collector started"
                        }
                    );
                    return Err(if !self.heard && self.command_line.is_some() {
                        TransportError::Unreachable {
                            node: self.name.clone(),
                            reason,
                        }
                    } else if err.contains("password is required") {
                        TransportError::AuthFailed {
                            node: self.name.clone(),
                            reason,
                        }
                    } else {
                        TransportError::Other {
                            node: self.name.clone(),
                            reason,
                        }
                    });
                }
            }
        }
    }
}

impl Drop for ChildConversation {
    fn drop(&mut self) {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        kill_group(&self.child);
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(secs: u64) -> Limits {
        Limits {
            command_timeout: Duration::from_secs(secs),
            start_timeout: Duration::from_secs(secs),
            max_output: 1000,
        }
    }

    #[test]
    fn quoting_survives_hostile_names() {
        assert_eq!(sh_quote("node-1"), "node-1");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("x'; rm -rf /; '"), r"'x'\''; rm -rf /; '\'''");
        let t = ExecTransport {
            name: "$(touch /tmp/kh-pwned)".into(),
            template: "echo {node}".into(),
            limits: limits(5),
        };
        assert_eq!(t.command_line(), "echo '$(touch /tmp/kh-pwned)'");
    }

    #[test]
    fn a_conversation_keeps_one_shell_across_exchanges() {
        let mut t = LocalTransport {
            name: "local".into(),
            sudo: false,
            limits: limits(10),
        };
        let mut c = t.open().unwrap();
        let a = c
            .exchange("X=41; echo first; printf '@@m DONE\\n'\n", None, "@@m DONE")
            .unwrap();
        assert_eq!(a.stdout, b"first\n@@m DONE\n");
        let b = c
            .exchange("echo $((X+1)); echo '@@m DONE'\n", None, "@@m DONE")
            .unwrap();
        assert_eq!(b.stdout, b"42\n@@m DONE\n");
    }

    #[test]
    fn a_conversation_that_hangs_times_out_and_one_that_dies_says_why() {
        let mut t = LocalTransport {
            name: "local".into(),
            sudo: false,
            limits: limits(1),
        };
        let mut c = t.open().unwrap();
        let started = Instant::now();
        let e = c.exchange("sleep 30\n", None, "@@m DONE").unwrap_err();
        assert!(matches!(e, TransportError::Timeout { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(c);
        let mut c = t.open().unwrap();
        let e = c
            .exchange("echo bye >&2; exit 3\n", None, "@@m DONE")
            .unwrap_err();
        assert!(
            e.to_string().contains("status 3") && e.to_string().contains("bye"),
            "{e}"
        );
    }

    #[test]
    fn output_is_capped() {
        let mut t = LocalTransport {
            name: "big".into(),
            sudo: false,
            limits: limits(10),
        };
        let mut c = t.open().unwrap();
        let x = c
            .exchange("i=0; while [ $i -lt 500 ]; do echo 0123456789; i=$((i+1)); done; echo '@@m DONE'\n", None, "@@m DONE")
            .unwrap();
        assert!(x.truncated);
        assert!(
            x.stdout.len() > 1000 && x.stdout.len() < 6000,
            "{}",
            x.stdout.len()
        );
    }

    #[test]
    fn an_exec_command_that_fails_is_unreachable() {
        let mut t = ExecTransport {
            name: "gone".into(),
            template: "echo no such container >&2; exit 1".into(),
            limits: limits(5),
        };
        let mut c = t.open().unwrap();
        let err = c
            .exchange("true\n", Some("@@m START"), "@@m DONE")
            .unwrap_err();
        assert!(matches!(err, TransportError::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains("no such container"), "{err}");
    }

    #[test]
    fn an_exec_command_that_never_starts_the_shell_is_abandoned_at_the_start_deadline() {
        // `sleep` stands for a `docker exec` stuck in the container runtime:
        // it prints a word, never reads stdin and never runs a shell.
        let mut t = ExecTransport {
            name: "stuck".into(),
            template: "echo 'waiting for the runtime' >&2; exec sleep 30".into(),
            limits: Limits {
                start_timeout: Duration::from_secs(1),
                ..limits(30)
            },
        };
        let started = Instant::now();
        let mut c = t.open().unwrap();
        let err = c
            .exchange("printf '\\n@@m START\\n'\n", Some("@@m START"), "@@m DONE")
            .unwrap_err();
        let took = started.elapsed();
        drop(c);
        assert!(matches!(err, TransportError::NotStarted { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("the login did not run the collector")
                && text.contains("exec sleep 30")
                && text.contains("container runtime")
                && text.contains("waiting for the runtime"),
            "{text}"
        );
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn a_login_that_echoes_the_script_has_not_started_it() {
        // `cat` prints back all we send, our start line's printf included.
        let mut t = ExecTransport {
            name: "echo".into(),
            template: "cat".into(),
            limits: Limits {
                start_timeout: Duration::from_secs(1),
                ..limits(30)
            },
        };
        let mut c = t.open().unwrap();
        let nonce = "4f3c";
        let text = format!(
            "KH_N={nonce}\nprintf '\\n@@%s START\\n' \"$KH_N\"\nprintf '\\n@@{nonce} DONE\\n'\n"
        );
        let err = c
            .exchange(&text, Some("@@4f3c START"), "@@4f3c DONE")
            .unwrap_err();
        assert!(matches!(err, TransportError::NotStarted { .. }), "{err}");
        // Its own output is quoted in the reason, flattened.
        assert!(err.to_string().contains("It printed: KH_N=4f3c"), "{err}");
    }

    #[test]
    fn a_started_collector_keeps_the_command_deadline() {
        // Starts at once, then works for longer than the start deadline.
        let mut t = LocalTransport {
            name: "slow".into(),
            sudo: false,
            limits: Limits {
                start_timeout: Duration::from_secs(1),
                ..limits(20)
            },
        };
        let mut c = t.open().unwrap();
        let a = c
            .exchange(
                "echo 'motd without a newline' | tr -d '\\n'; printf '\\n@@m START\\n'; sleep 2; echo done; printf '@@m DONE\\n'\n",
                Some("@@m START"),
                "@@m DONE",
            )
            .unwrap();
        assert_eq!(a.stdout, b"done\n@@m DONE\n");
        // The next round trip is not asked to start again, long after the
        // start deadline.
        std::thread::sleep(Duration::from_millis(200));
        let b = c
            .exchange("sleep 1; echo '@@m DONE'\n", None, "@@m DONE")
            .unwrap();
        assert_eq!(b.stdout, b"@@m DONE\n");
    }

    #[test]
    fn a_hung_exec_command_is_abandoned_at_its_deadline() {
        let mut t = ExecTransport {
            name: "hang".into(),
            template: "sleep 30".into(),
            limits: limits(1),
        };
        let started = Instant::now();
        let mut c = t.open().unwrap();
        let err = c.exchange("true\n", None, "@@m DONE").unwrap_err();
        assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
        drop(c);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
