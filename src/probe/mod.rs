//! Network probes: what a port really speaks, seen from the node.
//!
//! A probe runs over any byte stream; during a scan that stream is an SSH
//! `direct-tcpip` channel opened by the node's own sshd (or a relay a shell
//! on the node runs), so the probe needs no network path from the scanner
//! and sees the node's loopback too.
//!
//! What a port is sent, and nothing else (`plan` schedules it):
//! * a rustls handshake, recording the version, the cipher suite, the
//!   chain served and whether a client certificate is asked for. It trusts
//!   nothing and verifies nothing: it observes. That is why its verifier
//!   sits behind rustls's `dangerous()` door;
//! * when the port stays silent on that ClientHello, one plain
//!   `GET / HTTP/1.0` on a second connection ([`job::GetJob`]): plaintext
//!   Go servers wait for a newline a ClientHello does not hold;
//! * on a port that speaks TLS, two hand-built ClientHellos ([`hello`]):
//!   TLS 1.0/1.1 only, and TLS 1.2 with weak suites only;
//! * on the kubelet's port, one anonymous `GET /pods` after the handshake.
//!
//! The jobs ([`job`]) are conversations without I/O of their own; the
//! transports drive them.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub mod hello;
pub mod job;
pub mod plan;

use hello::HelloKind;
use job::{Job, TlsJob};

use crate::facts::{
    GetOutcome, GetResult, HelloOutcome, HelloResult, HttpResult, PortState, TlsProbe,
};
use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Records the chain served; accepts everything (this is a probe).
#[derive(Debug)]
pub(crate) struct Observer {
    pub(crate) chain: Mutex<Vec<Vec<u8>>>,
    pub(crate) schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for Observer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut c) = self.chain.lock() {
            // Leaf first, then what the server sent with it (at most a
            // few: a hostile server could send hundreds).
            c.clear();
            c.push(end_entity.as_ref().to_vec());
            c.extend(intermediates.iter().take(8).map(|i| i.as_ref().to_vec()));
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
pub(crate) struct AskedForCert(pub(crate) AtomicBool);

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

fn der_to_pem(der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// What the jobs of a port found, as one probe result: the TLS job decides
/// when the server answered the ClientHello at all; when it met only
/// silence (or a hang-up), the plain `GET /` decides, and a port that
/// answered neither is an error that says what was tried.
pub fn assemble(host: &str, port: u16, jobs: Vec<Job>) -> TlsProbe {
    let mut out = TlsProbe::new(host, port, PortState::Error);
    // The TLS job's own account of a silence, for the fallback's verdict.
    let mut silence: Option<String> = None;
    for job in jobs {
        match job {
            Job::Tls(t) => {
                out.client_cert_requested = t.asked();
                let chain = t.served();
                if let Some(der) = chain.first() {
                    if let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) {
                        out.subject = Some(cert.subject().to_string());
                        out.not_after = Some(cert.validity().not_after.timestamp());
                    }
                    out.served_pem = Some(chain.iter().map(|d| der_to_pem(d)).collect());
                }
                let (version, cipher) = t.negotiated();
                out.version = version;
                out.cipher = cipher;
                out.client_cert_required = t.cert_required;
                out.http = t.http.clone();
                match &t.failure {
                    None if t.handshake_done => {
                        out.state = PortState::Tls;
                        out.detail = t.cert_detail.clone();
                    }
                    None => out.detail = Some("the handshake did not finish".into()),
                    Some(e) => {
                        let first = &t.first;
                        let looks_tls = first.first().is_some_and(|b| *b == 0x15 || *b == 0x16);
                        if !first.is_empty() && !looks_tls {
                            out.state = PortState::Plaintext;
                            let text: String = String::from_utf8_lossy(first)
                                .chars()
                                .filter(|c| !c.is_control())
                                .collect();
                            out.detail = Some(format!("answered a ClientHello in clear: {text:?}"));
                        } else if out.client_cert_requested || out.version.is_some() {
                            // The server spoke TLS and stopped us: it wants
                            // a client certificate we do not have.
                            out.state = PortState::Tls;
                            out.client_cert_required = Some(true);
                            out.detail = Some(format!(
                                "handshake refused without a client certificate: {e}"
                            ));
                        } else {
                            out.detail = Some(e.clone());
                            if first.is_empty() {
                                silence = Some(if t.settled_plain() {
                                    "no answer to a TLS ClientHello".to_string()
                                } else {
                                    format!("no answer to a TLS ClientHello ({e})")
                                });
                            }
                        }
                    }
                }
            }
            Job::Hello(h) => {
                let slot = match h.kind() {
                    HelloKind::Legacy => &mut out.legacy,
                    HelloKind::WeakSuites => &mut out.weak,
                };
                *slot = h.result.clone();
            }
            Job::Get(g) => out.get = g.result.clone(),
        }
    }
    if out.state == PortState::Error {
        if let (Some(silent), Some(get)) = (&silence, &out.get) {
            let answer = get
                .status_line
                .as_deref()
                .map(|l| format!("{l:?}"))
                .or_else(|| get.detail.clone())
                .unwrap_or_else(|| "nothing".into());
            match get.outcome {
                GetOutcome::Plaintext => {
                    out.state = PortState::Plaintext;
                    out.detail = Some(format!(
                        "{silent}; `{}` on a second connection was answered in clear: {answer}",
                        job::GET_REQUEST_LINE
                    ));
                }
                GetOutcome::TlsServer => {
                    out.detail = Some(format!(
                        "{silent}, yet `{}` got a TLS server's answer ({answer}): the port speaks TLS but did not complete a handshake",
                        job::GET_REQUEST_LINE
                    ));
                }
                GetOutcome::NoAnswer => {
                    out.detail = Some(format!(
                        "answered neither: {silent}; `{}` on a second connection: {answer}",
                        job::GET_REQUEST_LINE
                    ));
                }
            }
        }
    }
    if silence.is_none() {
        // The ClientHello was answered (or never sent): the fallback was
        // not needed, or ran while a handshake was slow, and says nothing.
        out.get = None;
    }
    if out.state != PortState::Tls {
        // What a hand-built hello saw on a port that is not TLS says
        // nothing about TLS.
        out.legacy = None;
        out.weak = None;
    }
    out
}

/// Completes (or attempts) a TLS handshake over a blocking `stream` and
/// says what the port speaks (no hand-built hellos, no request).
pub fn probe_tls<S: Read + Write>(stream: S, host: &str, port: u16) -> TlsProbe {
    let mut job = Job::Tls(Box::new(TlsJob::new(host, None, true)));
    job::run_blocking(&mut job, stream, std::time::Duration::from_secs(10));
    assemble(host, port, vec![job])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::ports::{KUBELET_ANONYMOUS_PATH, KUBELET_PORT};
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

    /// Every job of the port but the plaintext fallback, one after
    /// another (the transports' drivers run them at once).
    fn all_jobs(port: u16) -> TlsProbe {
        let targets = vec![("127.0.0.1".to_string(), port)];
        let mut tasks = plan::port_tasks(&targets, &[port]);
        for t in tasks.iter_mut() {
            if !matches!(t.job, Job::Get(_)) {
                job::run_blocking(&mut t.job, connect(port), Duration::from_secs(5));
            }
        }
        plan::results(&targets, tasks).remove(0)
    }

    #[test]
    fn a_modern_server_refuses_tls_1_1_and_its_cbc_suites_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _srv = s_server(dir.path(), port, &[]);
        let p = all_jobs(port);
        assert_eq!(p.state, PortState::Tls, "{p:?}");
        let legacy = p.legacy.clone().unwrap();
        assert_eq!(legacy.outcome, HelloOutcome::Refused, "{p:?}");
        // OpenSSL's default list still has CBC suites.
        let weak = p.weak.clone().unwrap();
        assert_eq!(weak.outcome, HelloOutcome::Accepted, "{p:?}");
        assert_eq!(weak.version.as_deref(), Some("VersionTLS12"));
        assert!(weak.suite.as_deref().unwrap().contains("_CBC_"), "{p:?}");
        assert!(
            p.served_pem
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----\n")
        );
    }

    #[test]
    fn a_server_that_still_speaks_tls_1_0_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _srv = s_server(
            dir.path(),
            port,
            &["-min_protocol", "TLSv1", "-cipher", "DEFAULT@SECLEVEL=0"],
        );
        let p = all_jobs(port);
        let legacy = p.legacy.clone().unwrap();
        assert_eq!(legacy.outcome, HelloOutcome::Accepted, "{p:?}");
        assert_eq!(legacy.version.as_deref(), Some("VersionTLS11"), "{p:?}");
    }

    #[test]
    fn a_server_with_only_aead_suites_refuses_the_weak_hello() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _srv = s_server(
            dir.path(),
            port,
            &[
                "-cipher",
                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305",
            ],
        );
        let p = all_jobs(port);
        assert_eq!(p.state, PortState::Tls, "{p:?}");
        assert_eq!(p.weak.unwrap().outcome, HelloOutcome::Refused);
    }

    #[test]
    fn tls_1_3_client_certificates_required_or_only_requested_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _srv = s_server(dir.path(), port, &["-Verify", "1"]);
        let p = all_jobs(port);
        assert_eq!(p.version.as_deref(), Some("TLSv1_3"), "{p:?}");
        assert!(p.client_cert_requested);
        assert_eq!(p.client_cert_required, Some(true), "{p:?}");

        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _srv = s_server(dir.path(), port, &["-verify", "1"]);
        let p = all_jobs(port);
        assert!(p.client_cert_requested);
        assert_eq!(p.client_cert_required, Some(false), "{p:?}");
    }

    #[test]
    fn the_kubelet_port_gets_one_anonymous_get_and_its_status_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _srv = s_server(dir.path(), port, &["-www"]);
        // The job decides on GET by the port number; drive it directly.
        let mut job = job::Job::Tls(Box::new(job::TlsJob::new(
            "127.0.0.1",
            Some(KUBELET_ANONYMOUS_PATH),
            false,
        )));
        job::run_blocking(&mut job, connect(port), Duration::from_secs(5));
        let p = assemble("127.0.0.1", KUBELET_PORT, vec![job]);
        let http = p.http.unwrap();
        assert_eq!(http.path, "/pods");
        assert_eq!(http.status, Some(200), "{http:?}");
    }

    #[test]
    fn the_chain_served_is_kept_leaf_first() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let run = |args: &[&str]| {
            let ok = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .unwrap();
            assert!(
                ok.status.success(),
                "{}",
                String::from_utf8_lossy(&ok.stderr)
            );
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        run(&[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem"],
            &["-days", "30", "-subj", "/CN=chain-ca"],
        ]
        .concat());
        run(&[
            &["req"][..],
            &ec,
            &["-keyout", "k.pem", "-out", "leaf.csr"],
            &["-subj", "/CN=chain-leaf"],
        ]
        .concat());
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "20",
            "-out",
            "c.pem",
        ]);
        let port = free_port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-cert", "c.pem", "-key", "k.pem"])
            .args(["-cert_chain", "ca.pem", "-accept"])
            .arg(port.to_string())
            .current_dir(d)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _srv = Kill(child);
        let p = probe_tls(connect(port), "127.0.0.1", port);
        let pem = p.served_pem.unwrap();
        let certs = crate::certs::parse_pem(&pem);
        assert_eq!(certs.len(), 2, "{pem}");
        assert_eq!(certs[0].as_ref().unwrap().subject, "CN=chain-leaf");
        assert_eq!(certs[1].as_ref().unwrap().subject, "CN=chain-ca");
    }
}
