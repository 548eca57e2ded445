//! Network probes: what a port really speaks, seen from the node.
//!
//! A probe runs over any byte stream; during a scan that stream is an SSH
//! `direct-tcpip` channel opened by the node's own sshd, so the probe needs
//! no network path from the scanner and sees the node's loopback too.
//!
//! The TLS probe completes a handshake with rustls and records the version,
//! the cipher suite, the certificate served and whether the server asked for
//! a client certificate. It trusts nothing and verifies nothing: it observes.
//! That is why its verifier sits behind rustls's `dangerous()` door, and why
//! it never sends application data.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use serde::{Deserialize, Serialize};

/// The ports Kubernetes components serve on, by the component.
pub const COMPONENT_PORTS: [(u16, &str); 12] = [
    (6443, "kube-apiserver"),
    (8080, "kube-apiserver (insecure port)"),
    (10250, "kubelet"),
    (10255, "kubelet read-only port"),
    (10248, "kubelet healthz"),
    (10257, "kube-controller-manager"),
    (10259, "kube-scheduler"),
    (2379, "etcd client"),
    (2380, "etcd peer"),
    (2381, "etcd metrics"),
    (10249, "kube-proxy metrics"),
    (10256, "kube-proxy healthz"),
];

/// What a port answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortState {
    /// A TLS handshake completed (or failed only for want of a client
    /// certificate).
    Tls,
    /// The port answered, but not in TLS (HTTP, say).
    Plaintext,
    /// Nothing could be probed (closed, reset, timed out).
    Error,
}

/// One probe of one port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsProbe {
    pub address: String,
    pub port: u16,
    pub state: PortState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// The server asked for a client certificate.
    #[serde(default)]
    pub client_cert_requested: bool,
    /// Subject of the certificate served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Its end of validity, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Records the chain served; accepts everything (this is a probe).
#[derive(Debug)]
struct Observer {
    chain: Mutex<Vec<Vec<u8>>>,
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for Observer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut c) = self.chain.lock() {
            c.push(end_entity.as_ref().to_vec());
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// Notes that the server asked for a client certificate; offers none.
#[derive(Debug, Default)]
struct AskedForCert(AtomicBool);

impl ResolvesClientCert for AskedForCert {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.0.store(true, Ordering::SeqCst);
        None
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Remembers the first bytes the server sent, to tell HTTP from TLS.
struct Peek<S> {
    inner: S,
    first: Vec<u8>,
}

impl<S: Read> Read for Peek<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.first.len() < 16 {
            let take = n.min(16 - self.first.len());
            self.first.extend_from_slice(&buf[..take]);
        }
        Ok(n)
    }
}

impl<S: Write> Write for Peek<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Completes (or attempts) a TLS handshake over `stream` and says what the
/// port speaks. `host` is the address probed (for SNI when it is a name).
pub fn probe_tls<S: Read + Write>(stream: S, host: &str, port: u16) -> TlsProbe {
    let mut out = TlsProbe {
        address: host.to_string(),
        port,
        state: PortState::Error,
        version: None,
        cipher: None,
        client_cert_requested: false,
        subject: None,
        not_after: None,
        detail: None,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let observer = Arc::new(Observer {
        chain: Mutex::new(Vec::new()),
        schemes: provider
            .signature_verification_algorithms
            .supported_schemes(),
    });
    let asked = Arc::new(AskedForCert::default());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.dangerous()
                .with_custom_certificate_verifier(observer.clone())
                .with_client_cert_resolver(asked.clone())
        });
    let config = match config {
        Ok(c) => Arc::new(c),
        Err(e) => {
            out.detail = Some(format!("TLS client setup: {e}"));
            return out;
        }
    };
    let name = match ServerName::try_from(host.to_string()) {
        Ok(n) => n,
        Err(_) => ServerName::try_from("kubernetes").expect("valid name"),
    };
    let mut conn = match ClientConnection::new(config, name) {
        Ok(c) => c,
        Err(e) => {
            out.detail = Some(format!("TLS client setup: {e}"));
            return out;
        }
    };
    let mut stream = Peek {
        inner: stream,
        first: Vec::new(),
    };
    let mut failure = None;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut stream) {
            failure = Some(e);
            break;
        }
    }
    out.client_cert_requested = asked.0.load(Ordering::SeqCst);
    if let Some(der) = observer.chain.lock().ok().and_then(|c| c.first().cloned()) {
        if let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) {
            out.subject = Some(cert.subject().to_string());
            out.not_after = Some(cert.validity().not_after.timestamp());
        }
    }
    out.version = conn.protocol_version().map(|v| format!("{v:?}"));
    out.cipher = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()));
    match failure {
        None => out.state = PortState::Tls,
        Some(e) => {
            let first = &stream.first;
            let looks_tls = first.first().is_some_and(|b| *b == 0x15 || *b == 0x16);
            if !first.is_empty() && !looks_tls {
                out.state = PortState::Plaintext;
                let text: String = String::from_utf8_lossy(first)
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect();
                out.detail = Some(format!("answered in clear: {text:?}"));
            } else if out.client_cert_requested || out.version.is_some() {
                // The server spoke TLS and stopped us: it wants a client
                // certificate we do not have.
                out.state = PortState::Tls;
                out.detail = Some(format!(
                    "handshake refused without a client certificate: {e}"
                ));
            } else {
                out.detail = Some(e.to_string());
            }
        }
    }
    // The handshake is all we wanted; say goodbye politely.
    conn.send_close_notify();
    let _ = conn.complete_io(&mut stream);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

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

    fn connect(port: u16) -> TcpStream {
        for _ in 0..100 {
            if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nothing listens on {port}");
    }

    fn s_server(dir: &std::path::Path, port: u16, extra: &[&str]) -> Kill {
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
            ])
            .args([
                "-keyout",
                "k.pem",
                "-out",
                "c.pem",
                "-days",
                "30",
                "-subj",
                "/CN=probe-test",
            ])
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(ok.status.success());
        let child = Command::new("openssl")
            .args([
                "s_server", "-quiet", "-cert", "c.pem", "-key", "k.pem", "-accept",
            ])
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

    #[test]
    fn a_tls_port_gives_version_suite_and_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _srv = s_server(dir.path(), port, &[]);
        let p = probe_tls(connect(port), "127.0.0.1", port);
        assert_eq!(p.state, PortState::Tls, "{p:?}");
        assert_eq!(p.version.as_deref(), Some("TLSv1_3"));
        assert!(p.cipher.is_some());
        assert_eq!(p.subject.as_deref(), Some("CN=probe-test"));
        assert!(!p.client_cert_requested);
    }

    #[test]
    fn a_server_that_demands_a_client_certificate_is_seen_to() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _srv = s_server(dir.path(), port, &["-Verify", "1", "-tls1_2"]);
        let p = probe_tls(connect(port), "127.0.0.1", port);
        assert_eq!(p.state, PortState::Tls, "{p:?}");
        assert!(p.client_cert_requested, "{p:?}");
    }

    #[test]
    fn a_plaintext_http_port_is_told_apart() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        });
        let p = probe_tls(connect(port), "127.0.0.1", port);
        assert_eq!(p.state, PortState::Plaintext, "{p:?}");
        assert!(p.detail.unwrap().contains("HTTP/1.1 400"));
        server.join().unwrap();
    }

    #[test]
    fn a_port_that_closes_at_once_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            drop(s);
        });
        let p = probe_tls(connect(port), "127.0.0.1", port);
        assert_eq!(p.state, PortState::Error, "{p:?}");
        server.join().unwrap();
    }
}
