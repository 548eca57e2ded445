//! Transports: how the collector script reaches a node and its answer comes
//! back. Each one runs a script on stdin of a POSIX shell on the node and
//! returns what the shell printed, within a deadline and a size cap.
//!
//! * [`process::LocalTransport`]: `sh -s` on this machine (`--local`).
//! * [`process::ExecTransport`]: any command that gives a shell on the node,
//!   such as `docker exec -i {node} sh` (`--exec`).
//!
//! A transport failure carries the scan status it means for the node, so the
//! report can say "timeout" or "unreachable" instead of a generic error.

pub mod process;
pub mod ssh;

use std::time::Duration;

use crate::facts::ScanStatus;

/// What the node's shell printed.
#[derive(Debug, Default)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit status, when the shell exited normally.
    pub status: Option<i32>,
    /// True when stdout was cut at the size cap.
    pub truncated: bool,
}

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

/// A way to run the collector on one node. One value per node; `run` may be
/// called up to three times (the collector's round trips).
pub trait Transport: Send {
    fn run(&mut self, script: &str) -> Result<Output, TransportError>;
}
