//! What the network probes saw, port by port: the probe jobs (`crate::probe`)
//! fill these from the node's own vantage point, and the engine judges them.
//! They are facts like any other, saved with the node and evaluated again
//! offline.

use serde::{Deserialize, Serialize};

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
    /// Whether it refused to go on without one: `None` when it did not ask,
    /// or when that could not be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_required: Option<bool>,
    /// Subject of the certificate served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Its end of validity, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    /// The certificates served, PEM, the leaf first, then any chain the
    /// server sent with it: public material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_pem: Option<String>,
    /// What a ClientHello offering only TLS 1.0 and 1.1 got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<HelloResult>,
    /// What a TLS 1.2 ClientHello offering only weak suites got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weak: Option<HelloResult>,
    /// The anonymous request made after the handshake (kubelet only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpResult>,
    /// The plain `GET / HTTP/1.0` made on a second connection when the
    /// port said nothing to the ClientHello.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<GetResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How a server answered a hand-built ClientHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HelloOutcome {
    /// It answered with a ServerHello.
    Accepted,
    /// It answered with an alert, or hung up.
    Refused,
    /// The question could not be asked (no connection, not TLS).
    Error,
}

/// One hand-built ClientHello's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelloResult {
    pub outcome: HelloOutcome,
    /// The version the server chose, as the Kubernetes flags name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The suite the server chose (IANA name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl HelloResult {
    pub fn error(detail: String) -> HelloResult {
        HelloResult {
            outcome: HelloOutcome::Error,
            version: None,
            suite: None,
            detail: Some(detail),
        }
    }
}

/// What the plaintext fallback's `GET / HTTP/1.0` learnt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GetOutcome {
    /// An HTTP status line came back in clear: the port speaks plain HTTP.
    Plaintext,
    /// The answer was a TLS server's: a TLS record, or Go's
    /// `400 Bad Request` saying a plain request reached an HTTPS server.
    TlsServer,
    /// No usable answer (closed, silent, not HTTP).
    NoAnswer,
}

/// The plaintext fallback's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetResult {
    pub outcome: GetOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The status line as received (control characters removed, capped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An anonymous HTTP request's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpResult {
    pub path: String,
    /// The status code, when a status line came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The status line, or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl TlsProbe {
    /// A probe of `address:port` that found `state` and nothing more yet.
    pub fn new(address: &str, port: u16, state: PortState) -> TlsProbe {
        TlsProbe {
            address: address.to_string(),
            port,
            state,
            version: None,
            cipher: None,
            client_cert_requested: false,
            client_cert_required: None,
            subject: None,
            not_after: None,
            served_pem: None,
            legacy: None,
            weak: None,
            http: None,
            get: None,
            detail: None,
        }
    }
}
