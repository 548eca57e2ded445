//! Transports: how the collector script reaches a node and its answer comes
//! back. Each one runs a script on stdin of a POSIX shell on the node and
//! returns what the shell printed, within a deadline and a size cap.
//!
//! * [`ssh::SshTransport`]: `sh -s` over SSH (the default).
//! * [`process::LocalTransport`]: `sh -s` on this machine (`--local`).
//! * [`process::ExecTransport`]: any command that gives a shell on the node,
//!   such as `docker exec -i {node} sh` (`--exec`).
//!
//! A transport failure carries the scan status it means for the node, so the
//! report can say "timeout" or "unreachable" instead of a generic error.
//!
//! # Two deadlines: "not started" and "slow"
//!
//! Getting a shell is not getting the collector. A login can succeed and
//! still never run our script: a `ForceCommand` that runs something else and
//! waits, a profile script that waits, a home directory on a hung automount,
//! `sudo` waiting on a dead directory service, a `docker exec` stuck in the
//! container runtime. Such a node would otherwise hold its slot until the
//! command deadline (60 s by default) while about ten seconds would do. So
//! the first exchange of a conversation waits for two things, each with its
//! own deadline (see [`Waiting`]):
//!
//! * the collector's start line, printed as the very first thing the script
//!   does, carrying the round trip's random nonce: it must arrive within
//!   [`Limits::start_timeout`] (the node's connect timeout) of asking for
//!   the shell. It cannot be forged by what a login prints (a banner, a
//!   profile's chatter), which never knows the nonce, nor by a login that
//!   echoes our script back, since the script only ever holds the nonce and
//!   the `START` word apart. A node without it is abandoned as
//!   [`TransportError::NotStarted`];
//! * once started, the done marker within [`Limits::command_timeout`], so a
//!   collector that is working and slow keeps its full deadline.

pub mod child;
pub mod process;
pub mod relay;
pub mod ssh;
pub mod threads;

use std::time::Duration;

use crate::facts::ScanStatus;

/// Limits every transport enforces on one run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time for each round trip of a collector that has started.
    pub command_timeout: Duration,
    /// Time from asking for the shell (an SSH session channel, a spawned
    /// command) until the collector says it has started. Every transport
    /// uses the node's connect timeout.
    pub start_timeout: Duration,
    /// Most bytes read from the node's stdout; the rest is discarded.
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            command_timeout: Duration::from_secs(60),
            start_timeout: Duration::from_secs(10),
            max_output: 64 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{node}: cannot reach the node: {reason}")]
    Unreachable { node: String, reason: String },
    #[error("{node}: authentication failed: {reason}")]
    AuthFailed { node: String, reason: String },
    #[error("{node}: host key check failed: {reason}")]
    HostKey { node: String, reason: String },
    /// `what` says what was waited for, e.g. "no answer to a TCP connect
    /// to 10.0.0.5:22".
    #[error("{node}: {what} within {seconds} s; abandoned")]
    Timeout {
        node: String,
        seconds: u64,
        what: String,
    },
    /// The shell was had (the login succeeded, the command was spawned),
    /// but the collector never started: `reason` says so, with the usual
    /// causes for this transport (see [`TransportError::not_started`]).
    #[error("{node}: {reason}")]
    NotStarted { node: String, reason: String },
    #[error("{node}: {reason}")]
    Other { node: String, reason: String },
}

impl TransportError {
    /// The node's scan status after this failure.
    pub fn scan_status(&self) -> ScanStatus {
        match self {
            TransportError::Unreachable { .. } => ScanStatus::Unreachable,
            TransportError::AuthFailed { .. } => ScanStatus::AuthFailed,
            TransportError::HostKey { .. } => ScanStatus::HostKeyMismatch,
            TransportError::Timeout { .. } => ScanStatus::Timeout,
            TransportError::NotStarted { .. } => ScanStatus::CollectorNotStarted,
            TransportError::Other { .. } => ScanStatus::Error,
        }
    }
}

impl TransportError {
    /// The collector had not started `after` asking for the shell with
    /// `how` (e.g. "the SSH login as root (`sh -s`)"). `causes` lists what
    /// usually keeps this transport's shell from running it; `printed` is
    /// what the login printed meanwhile (untrusted: flattened and capped).
    pub fn not_started(
        node: &str,
        how: &str,
        after: Duration,
        causes: &str,
        printed: &[u8],
    ) -> TransportError {
        let text = String::from_utf8_lossy(printed);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let printed = if flat.is_empty() {
            "It printed nothing.".to_string()
        } else {
            format!("It printed: {}", crate::util::cap(&flat, 300))
        };
        TransportError::NotStarted {
            node: node.to_string(),
            reason: format!(
                "the login did not run the collector: {how} succeeded, but the collector had not started {} s later (the connect timeout); abandoned. Usual causes: {causes}. {printed}",
                after.as_secs().max(1)
            ),
        }
    }
}

/// What a shell printed in one exchange of a conversation.
#[derive(Debug, Default)]
pub struct Exchange {
    /// Everything up to and including the marker line.
    pub stdout: Vec<u8>,
    /// True when the answer was cut at the size cap (the conversation then
    /// cannot go on).
    pub truncated: bool,
}

/// A shell kept open on the node across the collector's round trips: one
/// connection, one session, one `sh` (and one `sudo`) per node, however many
/// round trips.
pub trait Conversation {
    /// Sends `text` to the shell and returns what it printed up to the line
    /// `marker`, within the transport's command timeout.
    ///
    /// With `start` (the first exchange), the shell must first print the
    /// line `start` within the start timeout of the shell being asked for;
    /// what it printed before (a banner, a profile's output) is dropped,
    /// and a shell that has not printed it by then is abandoned with
    /// [`TransportError::NotStarted`].
    fn exchange(
        &mut self,
        text: &str,
        start: Option<&str>,
        marker: &str,
    ) -> Result<Exchange, TransportError>;
}

/// What one exchange waits for, and by when: the start line (when asked
/// for and not seen yet) by its deadline, then the marker by the command
/// deadline. Transports feed it their buffer and wait as long as it says.
#[derive(Debug)]
pub struct Waiting<'a> {
    start: Option<(&'a str, std::time::Instant)>,
    marker: &'a str,
    deadline: std::time::Instant,
    max: usize,
}

/// What a transport does next in an exchange.
#[derive(Debug)]
pub enum Next {
    /// The exchange is over.
    Answer(Exchange),
    /// Wait for more output, at most this long.
    Wait(Duration),
    /// The start deadline passed without the start line.
    NotStarted,
    /// The collector started, and the command deadline passed.
    TimedOut,
}

impl<'a> Waiting<'a> {
    /// `opened`: when the shell was asked for. The command deadline runs
    /// from now.
    pub fn new(
        start: Option<&'a str>,
        opened: std::time::Instant,
        limits: Limits,
        marker: &'a str,
    ) -> Waiting<'a> {
        Waiting {
            start: start.map(|s| (s, opened + limits.start_timeout)),
            marker,
            deadline: std::time::Instant::now() + limits.command_timeout,
            max: limits.max_output,
        }
    }

    /// Whether the collector has started (or was not asked to say so).
    pub fn started(&self) -> bool {
        self.start.is_none()
    }

    /// Looks at what the shell printed so far (`buf`), as of `now`.
    pub fn next(&mut self, buf: &mut Vec<u8>, now: std::time::Instant) -> Next {
        if let Some((line, by)) = self.start {
            match marker_end(buf, line) {
                Some(end) => {
                    // What the login printed before the collector is not
                    // the collector's.
                    buf.drain(..end);
                    self.start = None;
                }
                None if buf.len() > self.max => {
                    return Next::Answer(Exchange {
                        stdout: std::mem::take(buf),
                        truncated: true,
                    });
                }
                None => {
                    let by = by.min(self.deadline);
                    if now >= by {
                        return Next::NotStarted;
                    }
                    return Next::Wait(by.saturating_duration_since(now));
                }
            }
        }
        if let Some(answer) = take_answer(buf, self.marker, self.max) {
            return Next::Answer(answer);
        }
        if now >= self.deadline {
            return Next::TimedOut;
        }
        Next::Wait(self.deadline.saturating_duration_since(now))
    }
}

/// The answer to one exchange, once `buf` holds it: everything up to the
/// marker line (the rest stays in `buf`), or, past `max` bytes, all of it
/// marked as truncated. `None` while more output is needed.
pub fn take_answer(buf: &mut Vec<u8>, marker: &str, max: usize) -> Option<Exchange> {
    if buf.len() > max {
        return Some(Exchange {
            stdout: std::mem::take(buf),
            truncated: true,
        });
    }
    let end = marker_end(buf, marker)?;
    let rest = buf.split_off(end);
    Some(Exchange {
        stdout: std::mem::replace(buf, rest),
        truncated: false,
    })
}

/// Finds `\n<marker>\n` (or the marker at the very start) in `buf`; returns
/// the length up to and including that line.
pub fn marker_end(buf: &[u8], marker: &str) -> Option<usize> {
    let m = marker.as_bytes();
    if buf.starts_with(m) && buf.get(m.len()) == Some(&b'\n') {
        return Some(m.len() + 1);
    }
    let needle: Vec<u8> = [&b"\n"[..], m, &b"\n"[..]].concat();
    buf.windows(needle.len())
        .position(|w| w == needle.as_slice())
        .map(|i| i + needle.len())
}

/// A way to run the collector on one node. One value per node.
pub trait Transport: Send {
    /// Opens a shell for a conversation of several exchanges.
    fn open(&mut self) -> Result<Box<dyn Conversation + '_>, TransportError>;

    /// Tries a TCP connection from the node itself to `host:port`, sending
    /// nothing over it. `None` when this transport cannot originate
    /// connections on the node.
    fn reach(
        &mut self,
        _host: &str,
        _port: u16,
        _timeout: Duration,
    ) -> Option<(crate::facts::ReachOutcome, Option<String>)> {
        None
    }

    /// Runs every probe task from the node, each over its own connection,
    /// each given `timeout` once connected, as `probe::plan` schedules them.
    /// Returns false when this transport cannot originate connections on
    /// the node (the tasks are left untouched).
    fn run_probes(
        &mut self,
        _tasks: &mut [crate::probe::plan::ProbeTask],
        _timeout: Duration,
    ) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_only_as_whole_lines() {
        assert_eq!(marker_end(b"@@n DONE\nrest", "@@n DONE"), Some(9));
        assert_eq!(marker_end(b"x\n@@n DONE\n", "@@n DONE"), Some(11));
        assert_eq!(marker_end(b"x @@n DONE\n", "@@n DONE"), None);
        assert_eq!(marker_end(b"x\n@@n DONEX\n", "@@n DONE"), None);
        assert_eq!(marker_end(b"x\n@@n DONE", "@@n DONE"), None);
    }

    fn limits(start: u64, command: u64) -> Limits {
        Limits {
            command_timeout: Duration::from_secs(command),
            start_timeout: Duration::from_secs(start),
            max_output: 1000,
        }
    }

    #[test]
    fn login_output_before_the_start_line_is_dropped_and_never_counts_as_started() {
        let opened = std::time::Instant::now();
        let mut w = Waiting::new(Some("@@n START"), opened, limits(5, 60), "@@n DONE");
        // A banner, an echo of our own script, the start line of another
        // run, the line glued to other output: none of them is the start.
        let mut buf =
            b"Welcome to node1\nprintf '\\n@@%s START\\n' \"$KH_N\"\n@@m START\nx@@n START\n"
                .to_vec();
        assert!(matches!(w.next(&mut buf, opened), Next::Wait(_)));
        assert!(!w.started());
        let late = opened + Duration::from_secs(5);
        assert!(matches!(w.next(&mut buf, late), Next::NotStarted));

        let mut w = Waiting::new(Some("@@n START"), opened, limits(5, 60), "@@n DONE");
        let mut buf = b"Welcome\n@@n START\n@@n B meta os\nx\n@@n E\n@@n DONE\nrest".to_vec();
        match w.next(&mut buf, opened) {
            Next::Answer(a) => assert_eq!(a.stdout, b"@@n B meta os\nx\n@@n E\n@@n DONE\n"),
            other => panic!("{other:?}"),
        }
        assert!(w.started());
        assert_eq!(buf, b"rest");
    }

    #[test]
    fn a_started_collector_has_the_command_deadline_not_the_start_deadline() {
        let opened = std::time::Instant::now();
        let mut w = Waiting::new(Some("@@n START"), opened, limits(2, 60), "@@n DONE");
        let mut buf = b"\n@@n START\n@@n B procs x\n".to_vec();
        assert!(matches!(w.next(&mut buf, opened), Next::Wait(_)));
        // Long past the start deadline, well before the command deadline.
        match w.next(&mut buf, opened + Duration::from_secs(30)) {
            Next::Wait(left) => assert!(left > Duration::from_secs(20), "{left:?}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            w.next(&mut buf, opened + Duration::from_secs(61)),
            Next::TimedOut
        ));
        // Later exchanges are not asked for a start line.
        let mut w = Waiting::new(None, opened, limits(2, 60), "@@n DONE");
        assert!(matches!(
            w.next(&mut Vec::new(), opened + Duration::from_secs(30)),
            Next::Wait(_)
        ));
    }

    #[test]
    fn the_reason_says_the_login_did_not_run_the_collector() {
        let e = TransportError::not_started(
            "n1",
            "the SSH login",
            Duration::from_secs(5),
            "a ForceCommand",
            b"Waiting for\napproval\x1b[31m",
        );
        assert_eq!(e.scan_status(), ScanStatus::CollectorNotStarted);
        let text = e.to_string();
        assert!(
            text.starts_with("n1: the login did not run the collector: the SSH login succeeded")
                && text.contains("5 s later")
                && text.contains("Usual causes: a ForceCommand.")
                && text.contains("It printed: Waiting for approval"),
            "{text}"
        );
    }
}
