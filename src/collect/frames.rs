//! The collector's wire format: requests in, framed answers out.
//!
//! A request list is appended to the collector script as a here-document
//! whose delimiter carries the run's nonce and is quoted, so the shell never
//! expands anything in a path. Answers are framed `@@<nonce> B <type> <key>`
//! ... `@@<nonce> E`; with a fresh random nonce per run, file contents on a
//! hostile node cannot forge or close a frame.

use std::fmt::Write;

/// The collector script, without its request list.
pub const SCRIPT: &str = include_str!("collector.sh");

/// What to ask the collector for. Paths are absolute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Request {
    Meta,
    /// The components' processes, and those of these other names (a
    /// distribution's supervisor: `rke2`, `k3s-server`).
    Procs(Vec<String>),
    Sockets,
    Stat(String),
    /// Stat a directory and everything under it, listing the entries.
    Tree(String),
    /// Stat and read (capped); refuses files holding a private key.
    Read(String),
    /// Read an EncryptionConfiguration, secrets redacted on the node.
    ReadEncryption(String),
    /// Read a kubeconfig, credentials redacted on the node.
    ReadKubeconfig(String),
    /// Tree of a static-pod manifest directory, reading each manifest.
    Manifests(String),
    /// Tree of the kubelet's `--config-dir`, reading each `*.conf` in it.
    DropIns(String),
    /// Certificate blocks of a PEM file (never its keys).
    Certs(String),
    /// Stat a public-key file and list the labels of its PEM blocks
    /// (`PUBLIC KEY`, `RSA PUBLIC KEY`...), to count the keys it holds:
    /// no block's content is sent, and a file holding a private key is
    /// refused.
    PemKeys(String),
    /// Read a supervisor's own configuration (YAML), secrets redacted on
    /// the node.
    ReadConfig(String),
    /// Tree of a configuration drop-in directory, reading each `*.yaml`
    /// and `*.yml` in it as [`Request::ReadConfig`].
    ConfigDir(String),
    /// The lines a process logged to the journal in this boot, by its pid,
    /// that hold one of the [`Request::LogMatch`] texts.
    Journal(u32),
    /// The same lines from a log file, from the last
    /// [`Request::LogStart`] line on.
    LogFile(String),
    /// A text that selects the log lines kept.
    LogMatch(String),
    /// The text of the line a supervisor logs when it starts.
    LogStart(String),
}

impl Request {
    fn line(&self) -> String {
        let (op, arg) = match self {
            Request::Meta => ("meta", ""),
            Request::Procs(names) => return format!("procs {}", names.join(" ")),
            Request::Sockets => ("sockets", ""),
            Request::Stat(p) => ("stat", p.as_str()),
            Request::Tree(p) => ("tree", p.as_str()),
            Request::Read(p) => ("read", p.as_str()),
            Request::ReadEncryption(p) => ("readenc", p.as_str()),
            Request::ReadKubeconfig(p) => ("readkc", p.as_str()),
            Request::Manifests(p) => ("manifests", p.as_str()),
            Request::DropIns(p) => ("dropins", p.as_str()),
            Request::Certs(p) => ("certs", p.as_str()),
            Request::PemKeys(p) => ("pemkeys", p.as_str()),
            Request::ReadConfig(p) => ("readcfg", p.as_str()),
            Request::ConfigDir(p) => ("cfgdir", p.as_str()),
            Request::Journal(pid) => return format!("journal {pid}"),
            Request::LogFile(p) => ("logfile", p.as_str()),
            Request::LogMatch(t) => ("logmatch", t.as_str()),
            Request::LogStart(t) => ("logstart", t.as_str()),
        };
        format!("{op} {arg}")
    }

    pub fn path(&self) -> Option<&str> {
        match self {
            Request::Meta
            | Request::Procs(_)
            | Request::Sockets
            | Request::Journal(_)
            | Request::LogMatch(_)
            | Request::LogStart(_) => None,
            Request::Stat(p)
            | Request::Tree(p)
            | Request::Read(p)
            | Request::ReadEncryption(p)
            | Request::ReadKubeconfig(p)
            | Request::Manifests(p)
            | Request::DropIns(p)
            | Request::Certs(p)
            | Request::PemKeys(p)
            | Request::ReadConfig(p)
            | Request::ConfigDir(p)
            | Request::LogFile(p) => Some(p),
        }
    }
}

/// Whether a path from a node may be put in a request: absolute, and free of
/// the characters that would end a request line.
pub fn acceptable_path(p: &str) -> bool {
    p.starts_with('/') && !p.contains(['\n', '\r', '\0']) && p.len() <= 4096
}

/// The full script for one round trip. Requests with unacceptable paths are
/// dropped (the caller records them as errors).
pub fn script(nonce: &str, cap: usize, requests: &[Request]) -> String {
    trip(nonce, cap, requests, true)
}

/// The line the collector prints before anything else (see collector.sh),
/// which tells that it has started.
pub fn start_marker(nonce: &str) -> String {
    format!("@@{nonce} START")
}

/// The line a round trip ends with in a conversation.
pub fn done_marker(nonce: &str) -> String {
    format!("@@{nonce} DONE")
}

/// One round trip of a conversation: the collector's functions (first trip
/// only), its requests, and a closing [`done_marker`] line.
pub fn trip(nonce: &str, cap: usize, requests: &[Request], with_functions: bool) -> String {
    let mut s = String::with_capacity(SCRIPT.len() + 64 * requests.len());
    let _ = writeln!(s, "KH_N={nonce}\nKH_CAP={cap}");
    if with_functions {
        s.push_str(SCRIPT);
    }
    let _ = writeln!(s, "kh_main <<'KH_REQ_{nonce}'");
    for r in requests {
        // A log text is a request line too: it must not end one.
        let text_ok = match r {
            Request::LogMatch(t) | Request::LogStart(t) => {
                !t.is_empty() && !t.contains(['\n', '\r', '\0']) && t.len() <= 200
            }
            _ => true,
        };
        if text_ok && r.path().is_none_or(acceptable_path) {
            s.push_str(&r.line());
            s.push('\n');
        }
    }
    let _ = writeln!(s, "KH_REQ_{nonce}");
    let _ = writeln!(s, "printf '\\n{}\\n'", done_marker(nonce));
    s
}

/// One answer from the collector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: String,
    pub key: String,
    pub payload: String,
}

/// Splits collector output into frames. Text outside frames (there should be
/// none) is ignored; an unterminated last frame is dropped, and reported by
/// the returned flag.
pub fn parse(nonce: &str, output: &str) -> (Vec<Frame>, bool) {
    let begin = format!("@@{nonce} B ");
    let end = format!("@@{nonce} E");
    let mut frames = Vec::new();
    let mut current: Option<(String, String, Vec<&str>)> = None;
    for line in output.split('\n') {
        if let Some(rest) = line.strip_prefix(&begin) {
            let (kind, key) = rest.split_once(' ').unwrap_or((rest, ""));
            current = Some((kind.to_string(), key.to_string(), Vec::new()));
        } else if line == end {
            if let Some((kind, key, lines)) = current.take() {
                // The collector adds one newline before the end marker.
                let mut payload = lines.join("\n");
                if payload.ends_with('\n') {
                    payload.pop();
                }
                frames.push(Frame { kind, key, payload });
            }
        } else if let Some((_, _, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    let incomplete = current.is_some();
    (frames, incomplete)
}

/// A fresh random nonce (128 bits from the OS, hex).
pub fn nonce() -> String {
    let mut buf = [0u8; 16];
    if getrandom(&mut buf).is_err() {
        // Fall back to time and address entropy; still unguessable by a node
        // that never sees it before it runs.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let a = &buf as *const _ as usize as u128;
        buf.copy_from_slice(&(t ^ a.rotate_left(64)).to_le_bytes());
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_forged_markers_are_inert() {
        let n = "abc123";
        let out = format!(
            "@@{n} B read /etc/x\nline1\n@@other B read /evil\n@@{n}X E\nline2\n\n@@{n} E\n@@{n} B stat /etc/y\nok 600|0|0|root|root|5|regular file\n@@{n} E\n@@{n} B read /z\ncut"
        );
        let (frames, incomplete) = parse(n, &out);
        assert!(incomplete);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].key, "/etc/x");
        assert_eq!(
            frames[0].payload,
            "line1\n@@other B read /evil\n@@abc123X E\nline2"
        );
        assert_eq!(frames[1].kind, "stat");
    }

    #[test]
    fn requests_are_quoted_here_document_lines() {
        let s = script(
            "n1",
            100,
            &[
                Request::Stat("/etc/$(touch /tmp/pwned)".into()),
                Request::Read("/a\nprocs".into()),
                Request::Stat("relative".into()),
            ],
        );
        assert!(s.starts_with("KH_N=n1\nKH_CAP=100\n"));
        assert!(s.contains("kh_main <<'KH_REQ_n1'\nstat /etc/$(touch /tmp/pwned)\nKH_REQ_n1\nprintf '\\n@@n1 DONE\\n'\n"));
        assert!(!s.contains("/a\nprocs"));
        assert!(!s.contains("relative"));
    }

    #[test]
    fn the_start_line_is_printed_first_and_never_appears_in_what_we_send() {
        let s = trip("n7", 100, &[Request::Meta], true);
        let first_command = s
            .lines()
            .skip(2)
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .unwrap();
        assert_eq!(first_command, r#"printf '\n@@%s START\n' "$KH_N""#);
        // A login that echoes our input back cannot forge it.
        assert!(crate::transport::marker_end(s.as_bytes(), &start_marker("n7")).is_none());
        assert!(!s.contains("@@n7 START"));
        // Later round trips do not print it again.
        assert!(!trip("n8", 100, &[Request::Meta], false).contains("START"));
    }

    #[test]
    fn nonces_are_fresh() {
        let a = nonce();
        assert_eq!(a.len(), 32);
        assert_ne!(a, nonce());
    }
}
