//! Transports that spawn a local process: a shell on this machine, or a
//! command that opens a shell on the node (`docker exec -i {node} sh`).
//!
//! The child runs in its own process group; at the deadline the whole group
//! is killed, so a hung node (or a hung `docker exec`) never holds up the scan.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{Limits, Output, Transport, TransportError};

/// Quotes a word for POSIX sh.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs the collector with `sh -s` on this machine (optionally through
/// `sudo -n`), for running directly on a node.
pub struct LocalTransport {
    pub name: String,
    pub sudo: bool,
    pub limits: Limits,
}

impl Transport for LocalTransport {
    fn run(&mut self, script: &str) -> Result<Output, TransportError> {
        let mut cmd = if self.sudo {
            let mut c = Command::new("sudo");
            c.args(["-n", "sh", "-s"]);
            c
        } else {
            let mut c = Command::new("sh");
            c.arg("-s");
            c
        };
        run_child(&self.name, &mut cmd, script, self.limits)
    }
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

impl Transport for ExecTransport {
    fn run(&mut self, script: &str) -> Result<Output, TransportError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(self.command_line());
        let out = run_child(&self.name, &mut cmd, script, self.limits)?;
        // A command that could not reach the node prints nothing and fails.
        if out.stdout.is_empty() && out.status.is_some_and(|s| s != 0) {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(TransportError::Unreachable {
                node: self.name.clone(),
                reason: format!(
                    "`{}` exited with status {}: {}",
                    self.command_line(),
                    out.status.unwrap_or(-1),
                    crate::report::cap(err.trim(), 500)
                ),
            });
        }
        Ok(out)
    }
}

fn read_capped(mut r: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let mut truncated = false;
    loop {
        match r.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(buf.len());
                if n > room {
                    truncated = true;
                }
                buf.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    (buf, truncated)
}

fn kill_group(child: &Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals the process group we
    // created for this child; no memory is shared with the callee.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Spawns `cmd` in its own process group, feeds `script` on stdin, and reads
/// stdout and stderr until exit or the deadline.
pub fn run_child(
    name: &str,
    cmd: &mut Command,
    script: &str,
    limits: Limits,
) -> Result<Output, TransportError> {
    let deadline = Instant::now() + limits.command_timeout;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| TransportError::Unreachable {
        node: name.to_string(),
        reason: format!("cannot start the transport command: {e}"),
    })?;
    let mut stdin = child.stdin.take().expect("piped");
    let script = script.to_string();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(script.as_bytes());
    });
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let max = limits.max_output;
    let out_reader = thread::spawn(move || read_capped(stdout, max));
    let err_reader = thread::spawn(move || read_capped(stderr, 64 * 1024));

    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&child);
                let _ = child.wait();
                return Err(TransportError::Timeout {
                    node: name.to_string(),
                    seconds: limits.command_timeout.as_secs(),
                });
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                kill_group(&child);
                return Err(TransportError::Other {
                    node: name.to_string(),
                    reason: format!("waiting for the transport command: {e}"),
                });
            }
        }
    };
    // The shell has exited; anything it left behind in its group goes too, so
    // a stray background process cannot keep the pipes open.
    kill_group(&child);
    let _ = writer.join();
    let (stdout, truncated) = out_reader.join().unwrap_or_default();
    let (stderr, _) = err_reader.join().unwrap_or_default();
    Ok(Output {
        stdout,
        stderr,
        status: status.code(),
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(secs: u64) -> Limits {
        Limits {
            command_timeout: Duration::from_secs(secs),
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
    fn local_runs_the_script_on_stdin() {
        let mut t = LocalTransport {
            name: "local".into(),
            sudo: false,
            limits: limits(10),
        };
        let out = t.run("echo hello; echo oops >&2; exit 3\n").unwrap();
        assert_eq!(out.stdout, b"hello\n");
        assert_eq!(out.stderr, b"oops\n");
        assert_eq!(out.status, Some(3));
    }

    #[test]
    fn a_hung_command_is_abandoned_at_its_deadline() {
        let mut t = ExecTransport {
            name: "hang".into(),
            template: "sleep 30".into(),
            limits: limits(1),
        };
        let start = Instant::now();
        let err = t.run("true\n").unwrap_err();
        assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn output_is_capped() {
        let mut t = LocalTransport {
            name: "big".into(),
            sudo: false,
            limits: limits(10),
        };
        let out = t
            .run("i=0; while [ $i -lt 500 ]; do echo 0123456789; i=$((i+1)); done\n")
            .unwrap();
        assert_eq!(out.stdout.len(), 1000);
        assert!(out.truncated);
    }

    #[test]
    fn an_exec_command_that_fails_is_unreachable() {
        let mut t = ExecTransport {
            name: "gone".into(),
            template: "echo no such container >&2; exit 1".into(),
            limits: limits(5),
        };
        let err = t.run("true\n").unwrap_err();
        assert!(matches!(err, TransportError::Unreachable { .. }));
        assert!(err.to_string().contains("no such container"), "{err}");
    }
}
