//! Certificates: what a PEM certificate says, read with `x509-parser`.
//!
//! Only public material ever reaches this module: the collector extracts
//! `BEGIN CERTIFICATE` blocks on the node and never reads a key. The parsed
//! form carries what the certificate checks need: validity, key type and
//! size, signature algorithm, SANs, and the key identifiers that link a leaf
//! to the CA that issued it.

#[cfg(test)]
pub(crate) mod test_pki;

use serde::{Deserialize, Serialize};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::pem::Pem;
use x509_parser::public_key::PublicKey;

/// The facts of one certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses from the subjectAltName extension.
    pub sans: Vec<String>,
    /// Seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// `RSA`, `EC` or `Ed25519`, and so on.
    pub key_type: String,
    pub key_bits: Option<u32>,
    /// Readable name, e.g. `sha256WithRSAEncryption`, or the OID.
    pub signature_algorithm: String,
    pub is_ca: bool,
    /// Subject and issuer are the same name.
    pub self_issued: bool,
    /// Hex subject key identifier, when present.
    pub subject_key_id: Option<String>,
    /// Hex authority key identifier, when present.
    pub authority_key_id: Option<String>,
    pub serial: String,
}

impl CertInfo {
    /// Whole days from `now` to expiry; negative once expired.
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }

    /// SHA-1 or MD5 signatures, which no longer protect anything.
    pub fn weak_signature(&self) -> bool {
        let s = self.signature_algorithm.to_ascii_lowercase();
        s.contains("sha1") || s.contains("md5")
    }

    /// Whether `issuer` plausibly issued this certificate: by key
    /// identifiers when both have them, else by name.
    pub fn issued_by(&self, issuer: &CertInfo) -> bool {
        match (&self.authority_key_id, &issuer.subject_key_id) {
            (Some(a), Some(s)) => a == s,
            _ => self.issuer == issuer.subject,
        }
    }

    /// Whether a SAN covers `name` (a DNS name or an IP address), with
    /// single-label wildcards.
    pub fn covers(&self, name: &str) -> bool {
        self.sans.iter().any(|san| {
            san.eq_ignore_ascii_case(name)
                || san
                    .strip_prefix("*.")
                    .zip(name.split_once('.'))
                    .is_some_and(|(suffix, (_, rest))| suffix.eq_ignore_ascii_case(rest))
        })
    }
}

/// A serving pair a Kubernetes component made for itself, as client-go's
/// `GenerateSelfSignedCertKeyWithFixtures` (`k8s.io/client-go/util/cert`)
/// makes it: a CA named `CN=<host>-ca@<unix time>` and a leaf named
/// `CN=<host>@<unix time>` that it signed, both RSA, valid from the same
/// moment (an hour before they were made) to the same end, the leaf naming
/// `<host>` in its SANs, the CA written or sent right after the leaf.
///
/// The kubelet makes one for its hostname when it is given no serving
/// certificate (`<cert-dir>/kubelet.crt`); the controller-manager and the
/// scheduler make one for `localhost` in memory when they get no
/// `--tls-cert-file`. Nobody but the component itself trusts that CA, so
/// such a pair is the documented default, not a forgery, and deserves its
/// own verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelfGenerated {
    /// The host it was made for: the kubelet's hostname, or `localhost`.
    pub host: String,
    /// When the leaf was made (the `@<unix time>` of its name).
    pub made_at: i64,
}

/// `CN=<name>@<unix time>`, and nothing else in the name.
fn stamped(dn: &str) -> Option<(&str, i64)> {
    let (name, at) = dn.strip_prefix("CN=")?.rsplit_once('@')?;
    if name.is_empty() || name.contains(['=', ',', '+']) || at.is_empty() {
        return None;
    }
    if !at.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((name, at.parse().ok()?))
}

/// Whether `leaf` and `ca` are a pair client-go generated (see
/// [`SelfGenerated`]); `ca` must be the certificate that follows the leaf
/// in the same file or the same handshake.
pub fn self_generated(leaf: &CertInfo, ca: &CertInfo) -> Option<SelfGenerated> {
    let (host, made_at) = stamped(&leaf.subject)?;
    let (ca_name, ca_at) = stamped(&ca.subject)?;
    let same_host = ca_name.strip_suffix("-ca") == Some(host);
    // The CA is made first, the leaf right after (two RSA keys later);
    // both are valid from an hour before the CA was made.
    let in_order = ca_at <= made_at && made_at - ca_at <= 3600 && leaf.not_before <= ca_at;
    let ca_ok = ca.is_ca && ca.self_issued && ca.issued_by(ca);
    let leaf_ok = !leaf.is_ca && leaf.issuer == ca.subject && leaf.issued_by(ca);
    let shape = leaf.key_type == "RSA"
        && ca.key_type == "RSA"
        && leaf.not_before == ca.not_before
        && leaf.not_after == ca.not_after
        && leaf.covers(host);
    (same_host && in_order && ca_ok && leaf_ok && shape).then(|| SelfGenerated {
        host: host.to_string(),
        made_at,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => return other.to_string(),
    }
    .to_string()
}

fn key_type(oid: &str) -> &'static str {
    match oid {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.10045.2.1" => "EC",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10040.4.1" => "DSA",
        _ => "unknown",
    }
}

/// Most PEM blocks read from one file. A CA bundle holds a few hundred at
/// most; the rest of a larger file gives one error saying it was not read.
pub const MAX_PEM_BLOCKS: usize = 512;

/// Parses every certificate in a PEM text, in order, up to
/// [`MAX_PEM_BLOCKS`]. A block that is not a valid certificate gives an
/// error for that block only.
pub fn parse_pem(text: &str) -> Vec<Result<CertInfo, String>> {
    let mut out = parse_blocks(text);
    if out.len() > MAX_PEM_BLOCKS {
        out.truncate(MAX_PEM_BLOCKS);
        out.push(Err(format!(
            "more than {MAX_PEM_BLOCKS} PEM blocks in one file; the rest were not read"
        )));
    }
    out
}

fn parse_blocks(text: &str) -> Vec<Result<CertInfo, String>> {
    Pem::iter_from_buffer(text.as_bytes())
        .take(MAX_PEM_BLOCKS + 1)
        .map(|pem| {
            let pem = pem.map_err(|e| format!("bad PEM: {e}"))?;
            if pem.label != "CERTIFICATE" {
                return Err(format!("not a certificate ({})", pem.label));
            }
            let cert = pem
                .parse_x509()
                .map_err(|e| format!("bad certificate: {e}"))?;
            let spki = cert.public_key();
            let kt = key_type(&spki.algorithm.algorithm.to_id_string());
            let key_bits = match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => Some(rsa.key_size() as u32),
                Ok(PublicKey::EC(ec)) => Some(ec.key_size() as u32),
                _ if kt == "Ed25519" => Some(256),
                _ => None,
            };
            let mut sans = Vec::new();
            let mut ski = None;
            let mut aki = None;
            for ext in cert.extensions() {
                match ext.parsed_extension() {
                    ParsedExtension::SubjectAlternativeName(san) => {
                        for n in &san.general_names {
                            match n {
                                GeneralName::DNSName(d) => sans.push(d.to_string()),
                                GeneralName::IPAddress(ip) => match ip.len() {
                                    4 => sans.push(
                                        std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])
                                            .to_string(),
                                    ),
                                    16 => {
                                        let mut b = [0u8; 16];
                                        b.copy_from_slice(ip);
                                        sans.push(std::net::Ipv6Addr::from(b).to_string());
                                    }
                                    _ => {}
                                },
                                _ => {}
                            }
                        }
                    }
                    ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(hex(k.0)),
                    ParsedExtension::AuthorityKeyIdentifier(a) => {
                        aki = a.key_identifier.as_ref().map(|k| hex(k.0))
                    }
                    _ => {}
                }
            }
            let subject = cert.subject().to_string();
            let issuer = cert.issuer().to_string();
            Ok(CertInfo {
                self_issued: subject == issuer,
                subject,
                issuer,
                sans,
                not_before: cert.validity().not_before.timestamp(),
                not_after: cert.validity().not_after.timestamp(),
                key_type: kt.to_string(),
                key_bits,
                signature_algorithm: signature_name(
                    &cert.signature_algorithm.algorithm.to_id_string(),
                ),
                is_ca: cert.is_ca(),
                subject_key_id: ski,
                authority_key_id: aki,
                serial: cert.raw_serial_as_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn pem_blocks_are_capped_and_the_cut_is_said() {
        let block = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let many = block.repeat(MAX_PEM_BLOCKS + 100);
        let out = parse_pem(&many);
        assert_eq!(out.len(), MAX_PEM_BLOCKS + 1);
        let last = out.last().unwrap().as_ref().unwrap_err();
        assert!(last.contains("the rest were not read"), "{last}");
        assert_eq!(parse_pem(&block.repeat(3)).len(), 3);
    }

    /// A CA and a leaf it signed, made by openssl in a temporary directory.
    fn openssl_pair(leaf_args: &[&str], days: &str) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let run = |args: &[&str]| {
            let ok = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .expect("openssl is installed");
            assert!(
                ok.status.success(),
                "{}",
                String::from_utf8_lossy(&ok.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=kubernetes",
        ]);
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=kube-apiserver",
        ]);
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=DNS:kubernetes.default.svc,DNS:*.example.com,IP:10.0.0.11\n",
        )
        .unwrap();
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.crt",
            "-days",
            days,
            "-extfile",
            "ext.cnf",
        ];
        args.extend_from_slice(leaf_args);
        run(&args);
        (
            std::fs::read_to_string(d.join("ca.crt")).unwrap(),
            std::fs::read_to_string(d.join("leaf.crt")).unwrap(),
        )
    }

    #[test]
    fn a_leaf_and_its_ca_are_read_and_linked() {
        let (ca_pem, leaf_pem) = openssl_pair(&[], "365");
        let ca = parse_pem(&ca_pem).remove(0).unwrap();
        let both = parse_pem(&format!("{leaf_pem}{ca_pem}"));
        assert_eq!(both.len(), 2);
        let leaf = both[0].clone().unwrap();
        assert_eq!(ca.key_type, "RSA");
        assert_eq!(ca.key_bits, Some(2048));
        assert!(ca.is_ca && ca.self_issued);
        assert_eq!(leaf.key_type, "EC");
        assert_eq!(leaf.key_bits, Some(256));
        assert_eq!(leaf.signature_algorithm, "sha256WithRSAEncryption");
        assert!(!leaf.weak_signature());
        assert!(leaf.issued_by(&ca));
        assert!(!ca.issued_by(&leaf));
        assert!(leaf.covers("kubernetes.default.svc"));
        assert!(leaf.covers("10.0.0.11"));
        assert!(leaf.covers("node.example.com"));
        assert!(!leaf.covers("a.b.example.com"));
        assert!(!leaf.covers("10.0.0.12"));
        let now = leaf.not_before;
        assert!(
            (364..=365).contains(&leaf.days_left(now)),
            "{}",
            leaf.days_left(now)
        );
        assert_eq!(leaf.days_left(leaf.not_after + 1), -1);
    }

    #[test]
    fn sha1_signatures_are_weak() {
        let (_, leaf_pem) = openssl_pair(&["-sha1"], "30");
        let leaf = parse_pem(&leaf_pem).remove(0).unwrap();
        assert_eq!(leaf.signature_algorithm, "sha1WithRSAEncryption");
        assert!(leaf.weak_signature());
    }

    #[test]
    fn client_go_pairs_are_recognised_by_their_shape() {
        let pki = crate::certs::test_pki::Pki::new();
        let t = 1_700_000_000;
        let pair = |name: &str, host: &str, sans: &str| {
            let v: Vec<CertInfo> = parse_pem(&pki.client_go_pair(name, host, sans, t, 365))
                .into_iter()
                .map(|r| r.unwrap())
                .collect();
            (v[0].clone(), v[1].clone())
        };
        let (leaf, ca) = pair("a", "node1", "DNS:node1");
        assert_eq!(leaf.subject, format!("CN=node1@{t}"));
        assert_eq!(ca.subject, format!("CN=node1-ca@{t}"));
        assert_eq!(
            (leaf.not_before, leaf.not_after),
            (t - 3600, t - 3600 + 365 * 86_400)
        );
        assert!(ca.subject_key_id.is_some() && ca.authority_key_id.is_none());
        assert!(leaf.subject_key_id.is_none() && leaf.authority_key_id == ca.subject_key_id);
        assert_eq!(
            self_generated(&leaf, &ca),
            Some(SelfGenerated {
                host: "node1".into(),
                made_at: t
            })
        );
        let (local, local_ca) = pair("b", "localhost", "DNS:localhost,IP:127.0.0.1,IP:127.0.0.1");
        assert_eq!(self_generated(&local, &local_ca).unwrap().host, "localhost");
        // Not a pair: the wrong way round, another pair's CA of the same
        // name (another key), a leaf that does not name its host.
        assert!(self_generated(&ca, &leaf).is_none());
        let (_, twin_ca) = pair("c", "node1", "DNS:node1");
        assert_eq!(twin_ca.subject, ca.subject);
        assert!(self_generated(&leaf, &twin_ca).is_none());
        let (unnamed, unnamed_ca) = pair("d", "node1", "DNS:elsewhere");
        assert!(self_generated(&unnamed, &unnamed_ca).is_none());
        assert!(self_generated(&local, &ca).is_none());
        // A leaf of an ordinary CA is no such pair.
        let (ca_pem, leaf_pem) = openssl_pair(&[], "365");
        let ordinary = parse_pem(&leaf_pem).remove(0).unwrap();
        let cluster = parse_pem(&ca_pem).remove(0).unwrap();
        assert!(self_generated(&ordinary, &cluster).is_none());
        // The names alone: `CN=<name>@<digits>` and nothing more.
        assert_eq!(stamped("CN=node1@17"), Some(("node1", 17)));
        for dn in [
            "CN=node1",
            "CN=@17",
            "CN=node1@",
            "CN=node1@1x",
            "O=x, CN=node1@17",
        ] {
            assert_eq!(stamped(dn), None, "{dn}");
        }
    }

    #[test]
    fn garbage_and_keys_are_errors_not_panics() {
        let r =
            parse_pem("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
        assert!(r[0].is_err());
        let r = parse_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assert!(r[0].as_ref().unwrap_err().contains("not a certificate"));
        assert!(parse_pem("no pem at all").is_empty());
    }
}
