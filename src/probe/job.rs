//! Probes as byte conversations, without I/O of their own ("sans-IO").
//!
//! A [`Job`] is told what arrived and asked what to send; it never touches
//! a socket. That is what lets one SSH session drive every probe of a node
//! at once (see `SshTransport::run_probes`), while tests and the other
//! transports drive the same jobs over an ordinary blocking stream
//! ([`run_blocking`]).

use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{AlertDescription, ClientConfig, ClientConnection};

use super::hello::{HelloAnswer, HelloKind, client_hello, read_answer, suite_name, version_name};
use super::{AskedForCert, GetOutcome, GetResult, HelloOutcome, HelloResult, HttpResult, Observer};

/// How long a TLS 1.3 server gets, after the handshake, to reject the
/// empty client certificate it asked for, at least.
const ALERT_WAIT_MIN: Duration = Duration::from_millis(400);
/// And at most.
const ALERT_WAIT_MAX: Duration = Duration::from_millis(1500);
/// Cap on the bytes a job keeps from a server.
const KEEP: usize = 32 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsState {
    Handshake,
    /// Handshake done under TLS 1.3 after a CertificateRequest: the server
    /// only now learns we sent no certificate; wait for its alert.
    AwaitAlert(Instant),
    /// `GET path` sent; reading the status line.
    AwaitHttp,
    Done,
}

/// A rustls handshake, optionally followed by one `GET` (the kubelet's
/// anonymous-access check, and nothing else).
pub struct TlsJob {
    conn: Option<ClientConnection>,
    observer: Arc<Observer>,
    asked: Arc<AskedForCert>,
    http_get: Option<String>,
    host: String,
    state: TlsState,
    started: Option<Instant>,
    /// First bytes received, to tell plain HTTP from TLS.
    pub(crate) first: Vec<u8>,
    plain: Vec<u8>,
    pub(crate) failure: Option<String>,
    pub(crate) handshake_done: bool,
    pub(crate) cert_required: Option<bool>,
    pub(crate) cert_detail: Option<String>,
    pub(crate) http: Option<HttpResult>,
    version: Option<String>,
    cipher: Option<String>,
    cert_verdict: bool,
    /// Ended by another conversation of its port: the plain `GET /` that
    /// followed its silence was answered in clear, so the port is not TLS.
    settled_plain: bool,
}

impl TlsJob {
    /// `http_get`: the one request to make after the handshake (the
    /// kubelet's anonymous check). `cert_verdict`: under TLS 1.3, when the
    /// server asks for a client certificate, wait for its verdict on the
    /// empty one we send (needed for etcd; elsewhere it is not waited for,
    /// and `cert_required` stays unknown).
    pub fn new(host: &str, http_get: Option<&str>, cert_verdict: bool) -> TlsJob {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let observer = Arc::new(Observer {
            chain: Mutex::new(Vec::new()),
            schemes: provider
                .signature_verification_algorithms
                .supported_schemes(),
        });
        let asked = Arc::new(AskedForCert(AtomicBool::new(false)));
        let mut job = TlsJob {
            conn: None,
            observer: observer.clone(),
            asked: asked.clone(),
            http_get: http_get.map(String::from),
            host: host.to_string(),
            state: TlsState::Handshake,
            started: None,
            first: Vec::new(),
            plain: Vec::new(),
            failure: None,
            handshake_done: false,
            cert_required: None,
            cert_detail: None,
            http: None,
            version: None,
            cipher: None,
            cert_verdict,
            settled_plain: false,
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(observer)
                    .with_client_cert_resolver(asked)
            });
        let name = ServerName::try_from(host.to_string())
            .unwrap_or_else(|_| ServerName::try_from("kubernetes").expect("valid name"));
        match config.and_then(|c| ClientConnection::new(Arc::new(c), name)) {
            Ok(c) => job.conn = Some(c),
            Err(e) => {
                job.failure = Some(format!("TLS client setup: {e}"));
                job.state = TlsState::Done;
            }
        }
        job
    }

    fn output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(conn) = self.conn.as_mut() {
            while conn.wants_write() {
                if conn.write_tls(&mut out).is_err() {
                    break;
                }
            }
        }
        if self.started.is_none() && !out.is_empty() {
            self.started = Some(Instant::now());
        }
        out
    }

    fn finish(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            conn.send_close_notify();
        }
        self.state = TlsState::Done;
    }

    fn on_error(&mut self, e: rustls::Error) {
        let alert = match &e {
            rustls::Error::AlertReceived(a) => Some(*a),
            _ => None,
        };
        match self.state {
            TlsState::Handshake => self.failure = Some(e.to_string()),
            TlsState::AwaitAlert(_) => {
                self.cert_required = Some(true);
                self.cert_detail = Some(format!(
                    "the server ended the connection after the handshake ({e}): it requires a client certificate"
                ));
            }
            TlsState::AwaitHttp => {
                if matches!(
                    alert,
                    Some(AlertDescription::CertificateRequired | AlertDescription::BadCertificate)
                ) {
                    self.cert_required = Some(true);
                }
                self.http = Some(HttpResult {
                    path: self.http_get.clone().unwrap_or_default(),
                    status: None,
                    detail: Some(format!("no HTTP answer: {e}")),
                });
            }
            TlsState::Done => {}
        }
        self.conn = None;
        self.state = TlsState::Done;
    }

    fn advance(&mut self, now: Instant) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if self.state == TlsState::Handshake && !conn.is_handshaking() {
            self.handshake_done = true;
            let asked = self.asked.0.load(Ordering::SeqCst);
            let tls13 = conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
            if let Some(path) = self.http_get.clone() {
                let req = format!(
                    "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: kubeharden-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                    self.host
                );
                if conn.writer().write_all(req.as_bytes()).is_err() {
                    self.failure = Some("could not send the request".into());
                    self.finish();
                    return;
                }
                if asked && !tls13 {
                    self.cert_required = Some(false);
                }
                self.state = TlsState::AwaitHttp;
            } else if asked && tls13 && self.cert_verdict {
                let rtt = self.started.map(|s| now - s).unwrap_or_default();
                let wait = (rtt * 4).clamp(ALERT_WAIT_MIN, ALERT_WAIT_MAX);
                self.state = TlsState::AwaitAlert(now + wait);
            } else {
                if asked && !tls13 {
                    // TLS 1.2: the server saw our empty certificate before
                    // its Finished, and went on anyway.
                    self.cert_required = Some(false);
                    self.cert_detail =
                        Some("the handshake completed without a client certificate".into());
                }
                self.finish();
                return;
            }
        }
        if self.state == TlsState::AwaitHttp {
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            let mut buf = [0u8; 4096];
            loop {
                match conn.reader().read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if self.plain.len() < KEEP {
                            self.plain.extend_from_slice(&buf[..n]);
                        }
                    }
                    Err(_) => break,
                }
            }
            if let Some((status, line)) = read_status_line(&self.plain) {
                if self.cert_required.is_none() && self.asked.0.load(Ordering::SeqCst) {
                    self.cert_required = Some(false);
                    self.cert_detail = Some(
                        "the server answered a request made without a client certificate".into(),
                    );
                }
                self.http = Some(HttpResult {
                    path: self.http_get.clone().unwrap_or_default(),
                    status,
                    detail: Some(line),
                });
                self.finish();
            }
        }
    }

    fn input(&mut self, mut data: &[u8], now: Instant) {
        if self.first.len() < 16 {
            let take = data.len().min(16 - self.first.len());
            self.first.extend_from_slice(&data[..take]);
        }
        while !data.is_empty() {
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            match conn.read_tls(&mut data) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    self.failure = Some(e.to_string());
                    self.conn = None;
                    self.state = TlsState::Done;
                    return;
                }
            }
            let result = conn.process_new_packets();
            if self.version.is_none() {
                self.version = conn.protocol_version().map(|v| format!("{v:?}"));
            }
            if self.cipher.is_none() {
                self.cipher = conn
                    .negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite()));
            }
            if let Err(e) = result {
                self.on_error(e);
                return;
            }
            self.advance(now);
        }
    }

    fn eof(&mut self, now: Instant) {
        match self.state {
            TlsState::Handshake => {
                self.failure
                    .get_or_insert_with(|| "the connection closed during the handshake".into());
            }
            TlsState::AwaitAlert(_) => {
                self.cert_required = Some(true);
                self.cert_detail = Some(
                    "the server hung up after a handshake without a client certificate".into(),
                );
            }
            TlsState::AwaitHttp => {
                self.advance(now);
                if self.http.is_none() {
                    self.http = Some(HttpResult {
                        path: self.http_get.clone().unwrap_or_default(),
                        status: None,
                        detail: Some("the connection closed before an answer".into()),
                    });
                }
            }
            TlsState::Done => {}
        }
        self.state = TlsState::Done;
    }

    fn idle(&mut self, now: Instant) {
        if let TlsState::AwaitAlert(until) = self.state {
            if now >= until {
                self.cert_required = Some(false);
                self.cert_detail = Some(
                    "the handshake completed without a client certificate and the server kept the connection open".into(),
                );
                self.finish();
            }
        }
    }

    /// The leaf certificate served, DER.
    /// The certificates served, DER, the leaf first.
    pub(crate) fn served(&self) -> Vec<Vec<u8>> {
        self.observer
            .chain
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    pub(crate) fn asked(&self) -> bool {
        self.asked.0.load(Ordering::SeqCst)
    }

    /// Whether the server has said anything at all (a byte of TLS, or of
    /// anything else).
    pub(crate) fn heard(&self) -> bool {
        !self.first.is_empty() || self.handshake_done
    }

    /// When the ClientHello went out (the connection was made), if it did.
    pub(crate) fn sent_at(&self) -> Option<Instant> {
        self.started
    }

    /// Whether the port was found to speak plain HTTP by the `GET /` that
    /// followed this job's silence.
    pub(crate) fn settled_plain(&self) -> bool {
        self.settled_plain
    }

    pub(crate) fn negotiated(&self) -> (Option<String>, Option<String>) {
        (self.version.clone(), self.cipher.clone())
    }
}

/// A hand-built ClientHello and the server's first answer.
pub struct HelloJob {
    kind: HelloKind,
    hello: Option<Vec<u8>>,
    buf: Vec<u8>,
    pub(crate) result: Option<HelloResult>,
}

impl HelloJob {
    pub fn new(kind: HelloKind, host: &str) -> HelloJob {
        HelloJob {
            kind,
            hello: Some(client_hello(kind, host)),
            buf: Vec::new(),
            result: None,
        }
    }

    pub fn kind(&self) -> HelloKind {
        self.kind
    }

    fn input(&mut self, data: &[u8]) {
        if self.buf.len() < KEEP {
            self.buf.extend_from_slice(data);
        }
        if let Some(a) = read_answer(&self.buf) {
            self.result = Some(match a {
                HelloAnswer::Accepted { version, suite } => HelloResult {
                    outcome: HelloOutcome::Accepted,
                    version: Some(version_name(version)),
                    suite: Some(suite_name(suite)),
                    detail: None,
                },
                HelloAnswer::Refused(why) => HelloResult {
                    outcome: HelloOutcome::Refused,
                    version: None,
                    suite: None,
                    detail: Some(why),
                },
                HelloAnswer::NotTls(why) => HelloResult::error(why),
            });
        } else if self.buf.len() >= KEEP {
            self.result = Some(HelloResult::error("an oversized first record".into()));
        }
    }

    fn eof(&mut self) {
        if self.result.is_none() {
            self.result = Some(HelloResult {
                outcome: HelloOutcome::Refused,
                version: None,
                suite: None,
                detail: Some("the server closed the connection without answering".into()),
            });
        }
    }
}

/// What a Go TLS server writes, in clear, to a client that sends it an
/// HTTP request instead of a ClientHello (`net/http`'s `conn.serve`, on a
/// `tls.RecordHeaderError` whose header looks like HTTP).
pub const GO_TLS_SERVER_ANSWER: &str = "Client sent an HTTP request to an HTTPS server";

/// Cap on what the plain `GET /` keeps of the answer.
const GET_KEEP: usize = 4096;

/// The plaintext fallback: one minimal `GET / HTTP/1.0` on a fresh
/// connection, for a port that said nothing to a ClientHello (Go's
/// `net/http` reads a request line up to a newline, and a ClientHello
/// usually holds none, so a plaintext Go server waits in silence).
/// It reads the status line, and for a 400 the body too, since a Go TLS
/// server answers a plain request with `400 Bad Request` and
/// [`GO_TLS_SERVER_ANSWER`].
pub struct GetJob {
    request: Option<Vec<u8>>,
    buf: Vec<u8>,
    pub(crate) result: Option<GetResult>,
}

/// The request line of [`GetJob`], as reports name it.
pub const GET_REQUEST_LINE: &str = "GET / HTTP/1.0";

impl GetJob {
    pub fn new(host: &str, port: u16) -> GetJob {
        let host = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        GetJob {
            request: Some(
                format!(
                    "{GET_REQUEST_LINE}\r\nHost: {host}\r\nUser-Agent: kubeharden-probe\r\nConnection: close\r\n\r\n"
                )
                .into_bytes(),
            ),
            buf: Vec::new(),
            result: None,
        }
    }

    fn status_line(&self) -> Option<String> {
        let end = self.buf.iter().position(|b| *b == b'\n')?;
        let line: String = String::from_utf8_lossy(&self.buf[..end])
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        Some(crate::util::cap(line.trim(), 120))
    }

    fn decide(&mut self, ended: bool) {
        if self.result.is_some() || self.buf.is_empty() {
            return;
        }
        let first = self.buf[0];
        if first == 0x15 || first == 0x16 {
            // A TLS record (an alert, most likely): a TLS server.
            self.result = Some(GetResult {
                outcome: GetOutcome::TlsServer,
                status: None,
                status_line: None,
                detail: Some("answered with a TLS record".into()),
            });
            return;
        }
        if self.buf.len() >= 5 && !self.buf.starts_with(b"HTTP/") {
            let text: String = String::from_utf8_lossy(&self.buf[..self.buf.len().min(24)])
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            self.result = Some(GetResult {
                outcome: GetOutcome::NoAnswer,
                status: None,
                status_line: None,
                detail: Some(format!("answered something that is not HTTP: {text:?}")),
            });
            return;
        }
        let Some(line) = self.status_line() else {
            if ended || self.buf.len() >= GET_KEEP {
                self.result = Some(GetResult {
                    outcome: GetOutcome::NoAnswer,
                    status: None,
                    status_line: None,
                    detail: Some("the answer ended before a whole status line".into()),
                });
            }
            return;
        };
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok());
        if status == Some(400) && !ended && self.buf.len() < GET_KEEP {
            // Wait for the body: a Go TLS server says why it refused.
            return;
        }
        let tls = String::from_utf8_lossy(&self.buf).contains(GO_TLS_SERVER_ANSWER);
        self.result = Some(GetResult {
            outcome: if tls {
                GetOutcome::TlsServer
            } else {
                GetOutcome::Plaintext
            },
            status,
            status_line: Some(line),
            detail: tls.then(|| format!("the body says {GO_TLS_SERVER_ANSWER:?}")),
        });
    }

    fn input(&mut self, data: &[u8]) {
        let room = GET_KEEP.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
        self.decide(false);
    }

    fn eof(&mut self) {
        self.decide(true);
        if self.result.is_none() {
            self.result = Some(GetResult {
                outcome: GetOutcome::NoAnswer,
                status: None,
                status_line: None,
                detail: Some("the server closed the connection without answering".into()),
            });
        }
    }

    /// A plaintext answer has come back.
    pub(crate) fn plaintext(&self) -> bool {
        self.result
            .as_ref()
            .is_some_and(|r| r.outcome == GetOutcome::Plaintext)
    }
}

/// The status line of an HTTP answer read after the TLS handshake (the
/// kubelet's anonymous check): `None` until a whole line (`\r\n`) has
/// arrived; then the status code, if the second word is one, and the line
/// itself, control characters removed and capped, for the evidence. The
/// bytes come from the server: anything may arrive.
pub fn read_status_line(plain: &[u8]) -> Option<(Option<u16>, String)> {
    let end = plain.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&plain[..end]);
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    let shown: String = line.chars().filter(|c| !c.is_control()).collect();
    Some((status, crate::util::cap(&shown, 120)))
}

/// One probe conversation.
pub enum Job {
    Tls(Box<TlsJob>),
    Hello(HelloJob),
    Get(GetJob),
}

impl Job {
    /// Bytes to send now.
    pub fn output(&mut self) -> Vec<u8> {
        match self {
            Job::Tls(j) => j.output(),
            Job::Hello(j) => j.hello.take().unwrap_or_default(),
            Job::Get(j) => j.request.take().unwrap_or_default(),
        }
    }

    /// Bytes that arrived.
    pub fn input(&mut self, data: &[u8], now: Instant) {
        match self {
            Job::Tls(j) => j.input(data, now),
            Job::Hello(j) => j.input(data),
            Job::Get(j) => j.input(data),
        }
    }

    /// The server closed its side.
    pub fn eof(&mut self, now: Instant) {
        match self {
            Job::Tls(j) => j.eof(now),
            Job::Hello(j) => j.eof(),
            Job::Get(j) => j.eof(),
        }
    }

    /// Nothing arrived for a moment.
    pub fn idle(&mut self, now: Instant) {
        if let Job::Tls(j) = self {
            j.idle(now)
        }
    }

    /// The connection could not be made or broke, or the job is no longer
    /// wanted; `reason` says why. A job that failed sends nothing more.
    pub fn fail(&mut self, reason: String) {
        match self {
            Job::Tls(j) => {
                if j.state == TlsState::AwaitHttp {
                    j.http = Some(HttpResult {
                        path: j.http_get.clone().unwrap_or_default(),
                        status: None,
                        detail: Some(reason.clone()),
                    });
                } else if !j.handshake_done {
                    j.failure.get_or_insert(reason);
                    // Nothing more goes out: not even a ClientHello that
                    // never left.
                    j.conn = None;
                }
                j.state = TlsState::Done;
            }
            Job::Hello(j) => {
                // A hello not sent yet never will be.
                j.hello = None;
                if j.result.is_none() {
                    j.result = Some(HelloResult::error(reason));
                }
            }
            Job::Get(j) => {
                j.request = None;
                if j.result.is_none() {
                    j.result = Some(GetResult {
                        outcome: GetOutcome::NoAnswer,
                        status: None,
                        status_line: None,
                        detail: Some(reason),
                    });
                }
            }
        }
    }

    /// Ends a TLS job whose port another conversation has found to speak
    /// plain HTTP (its own ClientHello met silence); `reason` says so.
    /// Nothing more is sent on its connection.
    pub fn settle_plaintext(&mut self, reason: String) {
        if let Job::Tls(j) = self {
            if !j.handshake_done && j.first.is_empty() {
                j.settled_plain = true;
                j.failure.get_or_insert(reason);
                j.conn = None;
                j.state = TlsState::Done;
            }
        }
    }

    /// For a TLS job: `Some(true)` once the port is known to speak TLS,
    /// `Some(false)` once it is known not to (plaintext, or no connection);
    /// `None` while undecided, and for other jobs.
    pub fn speaks_tls(&self) -> Option<bool> {
        let Job::Tls(j) = self else { return None };
        if j.handshake_done || j.asked() || j.version.is_some() {
            return Some(true);
        }
        if j.settled_plain {
            return Some(false);
        }
        if j.state != TlsState::Done {
            return None;
        }
        let looks_tls = j.first.first().is_some_and(|b| *b == 0x15 || *b == 0x16);
        Some(looks_tls)
    }

    /// For a TLS job: when its ClientHello went out.
    pub fn sent_at(&self) -> Option<Instant> {
        match self {
            Job::Tls(j) => j.sent_at(),
            _ => None,
        }
    }

    /// Wants no more input.
    pub fn done(&self) -> bool {
        match self {
            Job::Tls(j) => j.state == TlsState::Done,
            Job::Hello(j) => j.result.is_some(),
            Job::Get(j) => j.result.is_some(),
        }
    }
}

/// Drives one job over a blocking stream until it is done or `timeout`
/// passes. The stream should have a short read timeout (the job's waits are
/// checked whenever a read times out).
pub fn run_blocking<S: Read + Write>(job: &mut Job, mut stream: S, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let out = job.output();
        if !out.is_empty() && stream.write_all(&out).and_then(|_| stream.flush()).is_err() {
            job.fail("the connection broke while sending".into());
        }
        if job.done() {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            job.fail(format!("no answer within {} ms", timeout.as_millis()));
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => job.eof(Instant::now()),
            Ok(n) => job.input(&buf[..n], Instant::now()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                job.idle(Instant::now())
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => job.fail(e.to_string()),
        }
    }
    let out = job.output();
    if !out.is_empty() {
        let _ = stream.write_all(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::read_status_line;

    #[test]
    fn status_lines_are_read_whatever_the_server_sends() {
        assert_eq!(
            read_status_line(b"HTTP/1.1 401 Unauth"),
            None,
            "no line yet"
        );
        assert_eq!(
            read_status_line(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"),
            Some((Some(401), "HTTP/1.1 401 Unauthorized".into()))
        );
        assert_eq!(
            read_status_line(b"HTTP/1.1 9999999 x\r\n"),
            Some((None, "HTTP/1.1 9999999 x".into())),
            "a status that is no u16"
        );
        let (s, line) = read_status_line(b"\x1b[31mHTTP/1.1 200 O\xffK\x00\r\n").unwrap();
        assert_eq!(s, Some(200));
        assert!(!line.chars().any(char::is_control), "{line:?}");
        let long = [b"HTTP/1.1 200 ".as_slice(), &[b'a'; 5000], b"\r\n"].concat();
        assert!(read_status_line(&long).unwrap().1.len() < 200);
    }
}
