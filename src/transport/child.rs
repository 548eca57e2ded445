//! Plumbing for the transports that spawn a local process (`--local`,
//! `--exec`, and the relays of both): quoting for `sh`, reading a child's
//! output on a thread of its own, killing its whole process group.

use std::io::Read;
use std::process::Child;
use std::sync::mpsc::{Receiver, channel};
use std::thread;

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

/// Reads `r` on a thread of its own until it ends, chunk by chunk, so
/// that the reader can wait on it with a timeout.
pub fn read_in_background(mut r: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(chunk[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Kills the process group `child` leads (it was spawned with
/// `process_group(0)`), so nothing it started outlives it.
pub fn kill_group(child: &Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals the process group we
    // created for this child; no memory is shared with the callee.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}
