//! Hand-built ClientHellos, to learn what a server *accepts*.
//!
//! rustls will not offer TLS 1.0/1.1 or weak cipher suites, by design; so to
//! ask a server "would you speak TLS 1.1 with me?" or "would you agree to
//! 3DES?" we write the ClientHello ourselves and read the first record that
//! comes back: a ServerHello (it accepted, and says what it chose) or an
//! alert (it refused). Nothing follows the ClientHello: the probe hangs up
//! as soon as it has its answer, before any key exchange.

use std::time::{SystemTime, UNIX_EPOCH};

/// What a hand-built ClientHello asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelloKind {
    /// TLS 1.0 and 1.1 only (the highest version offered is 1.1), with
    /// every suite those versions can use.
    Legacy,
    /// TLS 1.2 with only suites outside the recommended AEAD + ECDHE set:
    /// broken ones first (RC4, 3DES, NULL, export), then the CBC and
    /// static-RSA suites that Go still enables by default.
    WeakSuites,
}

/// A cipher suite: IANA code point, name, and whether it is broken.
struct Suite(u16, &'static str, Tier);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The CIS benchmark's list: ECDHE key exchange with AES-GCM or
    /// ChaCha20-Poly1305 (and the TLS 1.3 suites).
    Recommended,
    /// Not broken, but outside that list: CBC modes, or RSA key exchange
    /// without forward secrecy.
    NotRecommended,
    /// Broken: RC4, 3DES, DES, NULL, export, anonymous, and the CBC-SHA256
    /// suites that Go lists as insecure.
    Insecure,
}

const SUITES: &[Suite] = &[
    // Broken.
    Suite(0x0005, "TLS_RSA_WITH_RC4_128_SHA", Tier::Insecure),
    Suite(0x0004, "TLS_RSA_WITH_RC4_128_MD5", Tier::Insecure),
    Suite(0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", Tier::Insecure),
    Suite(0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", Tier::Insecure),
    Suite(0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", Tier::Insecure),
    Suite(
        0xc012,
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        Tier::Insecure,
    ),
    Suite(
        0xc008,
        "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
        Tier::Insecure,
    ),
    Suite(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", Tier::Insecure),
    Suite(0x0009, "TLS_RSA_WITH_DES_CBC_SHA", Tier::Insecure),
    Suite(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", Tier::Insecure),
    Suite(0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", Tier::Insecure),
    Suite(0x0001, "TLS_RSA_WITH_NULL_MD5", Tier::Insecure),
    Suite(0x0002, "TLS_RSA_WITH_NULL_SHA", Tier::Insecure),
    Suite(0x003b, "TLS_RSA_WITH_NULL_SHA256", Tier::Insecure),
    Suite(0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", Tier::Insecure),
    Suite(0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", Tier::Insecure),
    Suite(0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", Tier::Insecure),
    Suite(
        0xc023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        Tier::Insecure,
    ),
    Suite(
        0xc027,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        Tier::Insecure,
    ),
    // Outside the recommended list.
    Suite(
        0xc013,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        Tier::NotRecommended,
    ),
    Suite(
        0xc014,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        Tier::NotRecommended,
    ),
    Suite(
        0xc009,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        Tier::NotRecommended,
    ),
    Suite(
        0xc00a,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        Tier::NotRecommended,
    ),
    Suite(
        0xc028,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        Tier::NotRecommended,
    ),
    Suite(
        0xc024,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        Tier::NotRecommended,
    ),
    Suite(
        0x009c,
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        Tier::NotRecommended,
    ),
    Suite(
        0x009d,
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        Tier::NotRecommended,
    ),
    Suite(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", Tier::NotRecommended),
    Suite(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", Tier::NotRecommended),
    Suite(
        0x003d,
        "TLS_RSA_WITH_AES_256_CBC_SHA256",
        Tier::NotRecommended,
    ),
    Suite(
        0x0033,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        Tier::NotRecommended,
    ),
    Suite(
        0x0039,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        Tier::NotRecommended,
    ),
    Suite(
        0x009e,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        Tier::NotRecommended,
    ),
    Suite(
        0x009f,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        Tier::NotRecommended,
    ),
    // Recommended (offered only in the legacy hello, where they cannot be
    // used anyway; listed here so names resolve).
    Suite(
        0xc02b,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Tier::Recommended,
    ),
    Suite(
        0xc02f,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Tier::Recommended,
    ),
    Suite(
        0xc02c,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Tier::Recommended,
    ),
    Suite(
        0xc030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Tier::Recommended,
    ),
    Suite(
        0xcca9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Tier::Recommended,
    ),
    Suite(
        0xcca8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Tier::Recommended,
    ),
    Suite(0x1301, "TLS_AES_128_GCM_SHA256", Tier::Recommended),
    Suite(0x1302, "TLS_AES_256_GCM_SHA384", Tier::Recommended),
    Suite(0x1303, "TLS_CHACHA20_POLY1305_SHA256", Tier::Recommended),
];

/// The IANA name of a suite, or its code point in hex.
pub fn suite_name(code: u16) -> String {
    SUITES
        .iter()
        .find(|s| s.0 == code)
        .map(|s| s.1.to_string())
        .unwrap_or_else(|| format!("0x{code:04x}"))
}

/// How a suite, named as IANA or Go names it, is judged. Go's names for
/// the ChaCha suites lack the `_SHA256` ending.
pub fn suite_tier(name: &str) -> Option<Tier> {
    let name = name.trim();
    SUITES
        .iter()
        .find(|s| s.1 == name || s.1.strip_suffix("_SHA256") == Some(name))
        .map(|s| s.2)
}

/// Names a protocol version as the Kubernetes flags do.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSLv3".into(),
        0x0301 => "VersionTLS10".into(),
        0x0302 => "VersionTLS11".into(),
        0x0303 => "VersionTLS12".into(),
        0x0304 => "VersionTLS13".into(),
        v => format!("0x{v:04x}"),
    }
}

fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends `body` preceded by its length in `len_bytes` bytes.
fn with_len(out: &mut Vec<u8>, len_bytes: usize, body: &[u8]) {
    let n = body.len() as u32;
    out.extend_from_slice(&n.to_be_bytes()[4 - len_bytes..]);
    out.extend_from_slice(body);
}

fn random32() -> [u8; 32] {
    // Only needs to be unpredictable enough not to look replayed; it
    // protects nothing, since no key exchange follows.
    let mut r = [0u8; 32];
    let _ = rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut r);
    if r == [0u8; 32] {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        r[..16].copy_from_slice(&t.to_be_bytes());
    }
    r
}

/// The ClientHello record for `kind`. `host` goes into SNI when it is a
/// name rather than an address.
pub fn client_hello(kind: HelloKind, host: &str) -> Vec<u8> {
    let (version, suites): (u16, Vec<u16>) = match kind {
        HelloKind::Legacy => (
            0x0302,
            SUITES
                .iter()
                .filter(|s| {
                    // Suites that exist in TLS 1.0/1.1: not GCM, not
                    // ChaCha, not SHA-256/384 MACs, not TLS 1.3.
                    !s.1.contains("GCM")
                        && !s.1.contains("CHACHA")
                        && !s.1.ends_with("SHA256")
                        && !s.1.ends_with("SHA384")
                })
                .map(|s| s.0)
                .collect(),
        ),
        HelloKind::WeakSuites => (
            0x0303,
            SUITES
                .iter()
                .filter(|s| s.2 != Tier::Recommended)
                .map(|s| s.0)
                .collect(),
        ),
    };
    let mut body = Vec::new();
    u16be(&mut body, version);
    body.extend_from_slice(&random32());
    body.push(0); // no session id
    let mut cs = Vec::new();
    for s in &suites {
        u16be(&mut cs, *s);
    }
    u16be(&mut cs, 0x00ff); // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    with_len(&mut body, 2, &cs);
    body.extend_from_slice(&[1, 0]); // compression: null only

    let mut ext = Vec::new();
    if host.parse::<std::net::IpAddr>().is_err() && !host.is_empty() && host.len() < 256 {
        let mut name = vec![0u8]; // host_name
        with_len(&mut name, 2, host.as_bytes());
        let mut list = Vec::new();
        with_len(&mut list, 2, &name);
        u16be(&mut ext, 0x0000);
        with_len(&mut ext, 2, &list);
    }
    // supported_groups: x25519, secp256r1, secp384r1, secp521r1, ffdhe2048
    let groups: [u16; 5] = [0x001d, 0x0017, 0x0018, 0x0019, 0x0100];
    let mut g = Vec::new();
    for x in groups {
        u16be(&mut g, x);
    }
    let mut gl = Vec::new();
    with_len(&mut gl, 2, &g);
    u16be(&mut ext, 0x000a);
    with_len(&mut ext, 2, &gl);
    // ec_point_formats: uncompressed
    u16be(&mut ext, 0x000b);
    with_len(&mut ext, 2, &[1, 0]);
    if kind == HelloKind::WeakSuites {
        // signature_algorithms (TLS 1.2 only)
        let algs: [u16; 11] = [
            0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203,
        ];
        let mut a = Vec::new();
        for x in algs {
            u16be(&mut a, x);
        }
        let mut al = Vec::new();
        with_len(&mut al, 2, &a);
        u16be(&mut ext, 0x000d);
        with_len(&mut ext, 2, &al);
    }
    with_len(&mut body, 2, &ext);

    let mut hs = vec![1u8]; // client_hello
    with_len(&mut hs, 3, &body);
    let mut record = vec![0x16, 0x03, 0x01];
    with_len(&mut record, 2, &hs);
    record
}

/// What the server answered to a hand-built ClientHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelloAnswer {
    /// A ServerHello: the server accepted, with this version and suite.
    Accepted { version: u16, suite: u16 },
    /// An alert (its description code), or the connection closed: refused.
    Refused(String),
    /// Something that is not TLS, or a ServerHello we cannot read.
    NotTls(String),
}

/// Reads the server's first record from `data` (everything received so
/// far). `None`: not enough bytes yet.
pub fn read_answer(data: &[u8]) -> Option<HelloAnswer> {
    if data.len() < 5 {
        return None;
    }
    let content = data[0];
    let len = u16::from_be_bytes([data[3], data[4]]) as usize;
    if !(content == 0x15 || content == 0x16) || data[1] != 3 || len > 16_384 + 2048 {
        let text: String = String::from_utf8_lossy(&data[..data.len().min(16)])
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        return Some(HelloAnswer::NotTls(format!("answered {text:?}")));
    }
    if data.len() < 5 + len {
        return None;
    }
    let rec = &data[5..5 + len];
    if content == 0x15 {
        let desc = rec.get(1).copied().unwrap_or(0);
        let name = match desc {
            40 => "handshake_failure",
            47 => "illegal_parameter",
            50 => "decode_error",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            112 => "unrecognized_name",
            _ => "",
        };
        return Some(HelloAnswer::Refused(if name.is_empty() {
            format!("alert {desc}")
        } else {
            format!("alert {name}")
        }));
    }
    // Handshake record: expect server_hello (2).
    if rec.len() < 4 + 2 + 32 + 1 || rec[0] != 2 {
        return Some(HelloAnswer::NotTls(
            "a handshake message that is not a ServerHello".into(),
        ));
    }
    let body = &rec[4..];
    let version = u16::from_be_bytes([body[0], body[1]]);
    let sid_len = body[34] as usize;
    let at = 35 + sid_len;
    if body.len() < at + 2 {
        return Some(HelloAnswer::NotTls("a ServerHello cut short".into()));
    }
    let suite = u16::from_be_bytes([body[at], body[at + 1]]);
    Some(HelloAnswer::Accepted { version, suite })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legacy_hello_offers_tls_1_1_at_most_and_no_tls_1_2_suites() {
        let r = client_hello(HelloKind::Legacy, "node-1");
        assert_eq!(&r[..3], &[0x16, 0x03, 0x01]);
        assert_eq!(u16::from_be_bytes([r[3], r[4]]) as usize, r.len() - 5);
        assert_eq!(r[5], 1);
        assert_eq!(&r[9..11], &[0x03, 0x02]);
        let suites_at = 9 + 2 + 32 + 1;
        let n = u16::from_be_bytes([r[suites_at], r[suites_at + 1]]) as usize;
        let offered: Vec<u16> = r[suites_at + 2..suites_at + 2 + n]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        assert!(offered.contains(&0xc013) && offered.contains(&0x000a));
        assert!(!offered.contains(&0xc02f) && !offered.contains(&0x1301));
        // SNI carries the name.
        assert!(r.windows(6).any(|w| w == b"node-1"));
    }

    #[test]
    fn the_weak_hello_offers_no_recommended_suite() {
        let r = client_hello(HelloKind::WeakSuites, "10.0.0.1");
        assert_eq!(&r[9..11], &[0x03, 0x03]);
        let suites_at = 9 + 2 + 32 + 1;
        let n = u16::from_be_bytes([r[suites_at], r[suites_at + 1]]) as usize;
        for c in r[suites_at + 2..suites_at + 2 + n].chunks(2) {
            let code = u16::from_be_bytes([c[0], c[1]]);
            assert_ne!(suite_tier(&suite_name(code)), Some(Tier::Recommended));
        }
        // No SNI for an address.
        assert!(!r.windows(8).any(|w| w == b"10.0.0.1"));
    }

    #[test]
    fn answers_are_read_from_server_hellos_and_alerts() {
        assert_eq!(read_answer(&[0x16, 3, 1]), None);
        assert_eq!(
            read_answer(&[0x15, 3, 3, 0, 2, 2, 70]),
            Some(HelloAnswer::Refused("alert protocol_version".into()))
        );
        let mut sh = vec![0x16, 3, 2, 0, 0];
        let mut body = vec![2u8, 0, 0, 0, 3, 2];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0);
        body.extend_from_slice(&[0xc0, 0x13, 0]);
        let len = body.len() - 4;
        body[3] = len as u8;
        sh[4] = body.len() as u8;
        sh.extend_from_slice(&body);
        assert_eq!(
            read_answer(&sh),
            Some(HelloAnswer::Accepted {
                version: 0x0302,
                suite: 0xc013
            })
        );
        assert!(matches!(
            read_answer(b"HTTP/1.1 400 Bad Request\r\n"),
            Some(HelloAnswer::NotTls(_))
        ));
    }

    #[test]
    fn go_and_iana_suite_names_resolve() {
        assert_eq!(
            suite_tier("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"),
            Some(Tier::Recommended)
        );
        assert_eq!(
            suite_tier("TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
            Some(Tier::Insecure)
        );
        assert_eq!(
            suite_tier("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
            Some(Tier::NotRecommended)
        );
        assert_eq!(suite_tier("nonsense"), None);
    }
}
