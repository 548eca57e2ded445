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

pub mod process;
pub mod relay;
pub mod ssh;
pub mod threads;

use std::time::Duration;

use crate::facts::ScanStatus;

/// Limits every transport enforces on one run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time for the whole run (connection included where there is one).
    pub command_timeout: Duration,
    /// Most bytes read from the node's stdout; the rest is discarded.
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            command_timeout: Duration::from_secs(60),
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
    #[error("{node}: no answer within {seconds} s; abandoned")]
    Timeout { node: String, seconds: u64 },
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
            TransportError::Other { .. } => ScanStatus::Error,
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
    fn exchange(&mut self, text: &str, marker: &str) -> Result<Exchange, TransportError>;
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
}
