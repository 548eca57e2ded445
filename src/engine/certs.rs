//! Certificate checks: kubeharden's own, beside the CIS ones, with stable ids.
//!
//! | id | fails when |
//! |---|---|
//! | `cert.expiry` | a certificate has expired or expires within `fail_days`; warns within `warn_days` |
//! | `cert.key-strength` | an RSA key is shorter than 2048 bits |
//! | `cert.signature` | a certificate is signed with SHA-1 or MD5 |
//! | `cert.chain` | a leaf was not issued by the CA its consumers trust (from the flags) |
//! | `cert.apiserver-san` | the API server certificate does not name the node's address and `kubernetes.default.svc` |
//!
//! Each is one finding per node covering every certificate collected there;
//! the evidence names each certificate that fails, by file. A node where no
//! certificate was collected gets a skip, never a pass.

use crate::certs::{CertInfo, parse_pem, self_generated};
use crate::facts::ComponentKind;
use crate::k8s::effective::NodeCtx;
use crate::util::cap;
use crate::verdict::{Finding, Status};

/// Thresholds for the certificate checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertOptions {
    /// Seconds since the Unix epoch at which expiry is judged.
    pub now: i64,
    pub fail_days: i64,
    pub warn_days: i64,
}

/// Every certificate of a node, by the file it came from.
pub(crate) fn node_certs(ctx: &NodeCtx<'_>) -> (Vec<(String, CertInfo)>, Vec<String>) {
    let mut certs = Vec::new();
    let mut bad = Vec::new();
    for c in &ctx.facts.certificates {
        let mut first: Option<CertInfo> = None;
        for (i, parsed) in parse_pem(&c.pem).into_iter().enumerate() {
            let mut label = if i == 0 {
                c.path.clone()
            } else {
                format!("{} #{}", c.path, i + 1)
            };
            match parsed {
                Ok(info) => {
                    // The CA a component generated for itself follows its
                    // leaf in the same file (the kubelet's kubelet.crt).
                    if i == 1
                        && first
                            .as_ref()
                            .is_some_and(|l| self_generated(l, &info).is_some())
                    {
                        label.push_str(" (its self-generated CA)");
                    }
                    if i == 0 {
                        first = Some(info.clone());
                    }
                    certs.push((label, info))
                }
                Err(e) => bad.push(format!("{label}: {e}")),
            }
        }
    }
    // Certificates only seen on the wire (served by a port, from a file
    // that was not collected) are judged like the others.
    let served = super::tls::served_only(ctx.facts, &certs);
    certs.extend(served);
    (certs, bad)
}

/// A `cert.*` finding: its decision and evidence (the rest is catalog data).
fn finding(id: &str, status: Status, expected: String, actual: String, source: String) -> Finding {
    Finding {
        expected,
        actual: cap(&actual, super::EVIDENCE_CAP),
        source: cap(&source, super::EVIDENCE_CAP),
        ..super::own_finding(format!("cert.{id}"), status)
    }
}

fn listing(items: &[String]) -> String {
    crate::util::listing(items, 8)
}

/// The certificate findings of one node, and the certificates they judged.
pub fn cert_findings(
    ctx: &NodeCtx<'_>,
    opts: CertOptions,
) -> (Vec<Finding>, Vec<(String, CertInfo)>) {
    let (certs, unparsable) = node_certs(ctx);
    let source = if unparsable.is_empty() {
        format!("{} certificates collected on the node", certs.len())
    } else {
        format!(
            "{} certificates collected on the node; {} could not be parsed: {}",
            certs.len(),
            unparsable.len(),
            listing(&unparsable)
        )
    };
    let mut out = Vec::new();
    if certs.is_empty() {
        let mut f = finding(
            "expiry",
            Status::Skip,
            String::new(),
            String::new(),
            String::new(),
        );
        f.reason = Some(if unparsable.is_empty() {
            "not applicable: no certificate was collected on this node".into()
        } else {
            format!("no certificate could be parsed: {}", listing(&unparsable))
        });
        if !unparsable.is_empty() {
            f.status = Status::Error;
        }
        return (vec![f], certs);
    }

    // Expiry.
    let mut failing = Vec::new();
    let mut warning = Vec::new();
    let mut soonest: Option<(i64, &str)> = None;
    for (path, c) in &certs {
        let days = c.days_left(opts.now);
        if soonest.is_none_or(|(d, _)| days < d) {
            soonest = Some((days, path));
        }
        let text = if days < 0 {
            // whole days since it ended, as tls.served-cert says it
            format!(
                "{path} ({}) expired {} days ago",
                c.subject,
                (opts.now - c.not_after) / 86_400
            )
        } else {
            format!("{path} ({}) expires in {days} days", c.subject)
        };
        if days < opts.fail_days {
            failing.push(text);
        } else if days < opts.warn_days {
            warning.push(text);
        }
    }
    let (status, actual) = if !failing.is_empty() {
        (
            Status::Fail,
            listing(&[failing.clone(), warning.clone()].concat()),
        )
    } else if !warning.is_empty() {
        (Status::Warn, listing(&warning))
    } else {
        let (d, p) = soonest.expect("non-empty");
        (
            Status::Pass,
            format!(
                "all {} certificates valid for {} days or more; soonest: {p} in {d} days",
                certs.len(),
                opts.warn_days
            ),
        )
    };
    out.push(finding(
        "expiry",
        status,
        format!(
            "every certificate valid for at least {} days (warning below {})",
            opts.fail_days, opts.warn_days
        ),
        actual,
        source.clone(),
    ));

    // Key strength.
    let weak: Vec<String> = certs
        .iter()
        .filter(|(_, c)| c.key_type == "RSA" && c.key_bits.is_some_and(|b| b < 2048))
        .map(|(p, c)| format!("{p}: RSA {} bits", c.key_bits.unwrap_or(0)))
        .collect();
    out.push(finding(
        "key-strength",
        if weak.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        "RSA keys of 2048 bits or more (or EC/Ed25519)".into(),
        if weak.is_empty() {
            format!("{} keys checked, none weak", certs.len())
        } else {
            listing(&weak)
        },
        source.clone(),
    ));

    // Signature algorithm.
    let sha1: Vec<String> = certs
        .iter()
        .filter(|(_, c)| c.weak_signature())
        .map(|(p, c)| format!("{p}: {}", c.signature_algorithm))
        .collect();
    out.push(finding(
        "signature",
        if sha1.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        "signatures with SHA-256 or stronger".into(),
        if sha1.is_empty() {
            format!("{} signatures checked", certs.len())
        } else {
            listing(&sha1)
        },
        source.clone(),
    ));

    out.extend(chain_finding(ctx, &certs));
    out.extend(san_finding(ctx, &certs));
    (out, certs)
}

/// Leaf and CA files that must belong together, as the flags name them.
fn chain_pairs(ctx: &NodeCtx<'_>) -> Vec<(String, String, String)> {
    let mut pairs = Vec::new();
    let flag = |kind: ComponentKind, name: &str| -> Option<String> {
        let (_, args) = ctx.running(kind).ok()?;
        // etcd's files come from its --config-file alone when it has one,
        // else its flags and ETCD_* variables: the effective setting.
        if kind == ComponentKind::Etcd {
            let spec = crate::k8s::known::find_flag(kind, name)?;
            return ctx
                .flag(spec)
                .ok()
                .filter(|o| o.explicit)
                .and_then(|o| o.value)
                .map(|v| v.text())
                .filter(|p| p.starts_with('/'));
        }
        args.value(name)
            .map(String::from)
            .filter(|p| p.starts_with('/'))
    };
    let mut pair = |leaf: Option<String>, ca: Option<String>, why: &str| {
        if let (Some(l), Some(c)) = (leaf, ca) {
            pairs.push((l, c, why.to_string()));
        }
    };
    use ComponentKind::{ApiServer as A, Etcd as E, Kubelet as K};
    pair(
        flag(E, "--cert-file"),
        flag(E, "--trusted-ca-file"),
        "etcd serving certificate, by etcd's --trusted-ca-file",
    );
    pair(
        flag(E, "--peer-cert-file"),
        flag(E, "--peer-trusted-ca-file"),
        "etcd peer certificate, by --peer-trusted-ca-file",
    );
    pair(
        flag(A, "--etcd-certfile"),
        flag(E, "--trusted-ca-file"),
        "API server's etcd client certificate, by etcd's --trusted-ca-file",
    );
    pair(
        flag(E, "--cert-file"),
        flag(A, "--etcd-cafile"),
        "etcd serving certificate, by the API server's --etcd-cafile",
    );
    pair(
        flag(A, "--proxy-client-cert-file"),
        flag(A, "--requestheader-client-ca-file"),
        "front-proxy client certificate, by --requestheader-client-ca-file",
    );
    pair(
        flag(A, "--kubelet-client-certificate"),
        flag(K, "--client-ca-file"),
        "API server's kubelet client certificate, by the kubelet's client CA",
    );
    // The CA clients trust for serving certificates: the layout's (RKE2
    // keeps it apart from the client CA), else the client CA (kubeadm's
    // one CA).
    pair(
        flag(A, "--tls-cert-file"),
        super::tls::cluster_ca(ctx).or_else(|| flag(A, "--client-ca-file")),
        "API server serving certificate, by the cluster CA",
    );
    pairs
}

fn chain_finding(ctx: &NodeCtx<'_>, certs: &[(String, CertInfo)]) -> Option<Finding> {
    let find = |path: &str| certs.iter().find(|(p, _)| p == path).map(|(_, c)| c);
    let mut checked = Vec::new();
    let mut broken = Vec::new();
    for (leaf, ca, why) in chain_pairs(ctx) {
        let (Some(l), Some(c)) = (find(&leaf), find(&ca)) else {
            continue;
        };
        if l.issued_by(c) {
            checked.push(format!("{leaf} by {ca}"));
        } else {
            broken.push(format!(
                "{leaf} ({why}) is issued by \"{}\", not by {ca} (\"{}\")",
                l.issuer, c.subject
            ));
        }
    }
    if checked.is_empty() && broken.is_empty() {
        return None;
    }
    Some(finding(
        "chain",
        if broken.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        "each leaf issued by the CA that the component verifying it is configured with".into(),
        if broken.is_empty() {
            format!("{} chains checked: {}", checked.len(), listing(&checked))
        } else {
            listing(&broken)
        },
        "issuer and key identifiers of the certificates the flags name".into(),
    ))
}

fn san_finding(ctx: &NodeCtx<'_>, certs: &[(String, CertInfo)]) -> Option<Finding> {
    let (_, args) = ctx.running(ComponentKind::ApiServer).ok()?;
    let path = args.value("--tls-cert-file")?;
    let cert = certs.iter().find(|(p, _)| p == path).map(|(_, c)| c)?;
    let mut wanted = vec!["kubernetes.default.svc".to_string()];
    let address = args
        .value("--advertise-address")
        .map(String::from)
        .unwrap_or_else(|| ctx.facts.node.address.clone());
    if !address.is_empty() {
        wanted.push(address);
    }
    let missing: Vec<&String> = wanted.iter().filter(|w| !cert.covers(w)).collect();
    Some(finding(
        "apiserver-san",
        if missing.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        format!("subjectAltName covers {}", wanted.join(" and ")),
        format!("{path}: SANs {}", cert.sans.join(", ")),
        format!("{path} (--tls-cert-file)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{CertificateFacts, ComponentFacts, NodeFacts};

    use crate::certs::test_pki::Pki;

    fn node(certs: &[(&str, String)], components: &[(ComponentKind, &[&str])]) -> NodeFacts {
        let mut n = NodeFacts::default();
        n.node.address = "10.0.0.11".into();
        for (path, pem) in certs {
            n.certificates.push(CertificateFacts {
                path: path.to_string(),
                pem: pem.clone(),
            });
        }
        for (kind, argv) in components {
            n.components.insert(
                *kind,
                ComponentFacts {
                    running: true,
                    pid: Some(1),
                    argv: argv.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                },
            );
        }
        n
    }

    fn run(n: &NodeFacts, now: i64) -> Vec<Finding> {
        let ctx = NodeCtx::new(n);
        cert_findings(
            &ctx,
            CertOptions {
                now,
                fail_days: 7,
                warn_days: 30,
            },
        )
        .0
    }

    fn status(fs: &[Finding], id: &str) -> Option<Status> {
        fs.iter().find(|f| f.id == id).map(|f| f.status)
    }

    #[test]
    fn expiry_warns_then_fails_then_says_expired() {
        let pki = Pki::new();
        let leaf = pki.leaf("kubelet", "ca", "rsa:2048", "20", "-sha256", "DNS:node");
        let n = node(&[("/var/lib/kubelet/pki/kubelet.crt", leaf.clone())], &[]);
        let info = parse_pem(&leaf).remove(0).unwrap();
        let start = info.not_before + 60;
        assert_eq!(status(&run(&n, start), "cert.expiry"), Some(Status::Warn));
        let f = run(&n, start + 15 * 86_400);
        assert_eq!(status(&f, "cert.expiry"), Some(Status::Fail));
        assert!(
            f[0].actual
                .contains("/var/lib/kubelet/pki/kubelet.crt (CN=kubelet) expires in 4 days"),
            "{}",
            f[0].actual
        );
        let f = run(&n, info.not_after + 3 * 86_400);
        assert!(
            f[0].actual.contains("expired 3 days ago"),
            "{}",
            f[0].actual
        );
        let fresh = node(&[("/a.crt", pki.pem("ca"))], &[]);
        assert_eq!(
            status(&run(&fresh, start), "cert.expiry"),
            Some(Status::Pass)
        );
    }

    #[test]
    fn short_rsa_keys_and_sha1_signatures_fail() {
        let pki = Pki::new();
        let weak = pki.leaf("weak", "ca", "rsa:1024", "365", "-sha256", "DNS:x");
        let sha1 = pki.leaf("old", "ca", "rsa:2048", "365", "-sha1", "DNS:x");
        let n = node(&[("/weak.crt", weak), ("/old.crt", sha1)], &[]);
        let now = parse_pem(&pki.pem("ca")).remove(0).unwrap().not_before + 60;
        let f = run(&n, now);
        assert_eq!(status(&f, "cert.key-strength"), Some(Status::Fail));
        assert!(
            f.iter()
                .any(|x| x.id == "cert.key-strength" && x.actual == "/weak.crt: RSA 1024 bits")
        );
        assert_eq!(status(&f, "cert.signature"), Some(Status::Fail));
        assert!(
            f.iter().any(|x| x.id == "cert.signature"
                && x.actual.contains("/old.crt: sha1WithRSAEncryption"))
        );
    }

    #[test]
    fn a_leaf_from_the_wrong_ca_breaks_the_chain() {
        let pki = Pki::new();
        let good = pki.leaf(
            "etcd-server",
            "ca",
            "rsa:2048",
            "365",
            "-sha256",
            "IP:10.0.0.11",
        );
        let bad = pki.leaf(
            "etcd-peer",
            "other",
            "rsa:2048",
            "365",
            "-sha256",
            "IP:10.0.0.11",
        );
        let etcd: &[&str] = &[
            "etcd",
            "--cert-file=/pki/etcd/server.crt",
            "--trusted-ca-file=/pki/etcd/ca.crt",
            "--peer-cert-file=/pki/etcd/peer.crt",
            "--peer-trusted-ca-file=/pki/etcd/ca.crt",
        ];
        let n = node(
            &[
                ("/pki/etcd/server.crt", good.clone()),
                ("/pki/etcd/peer.crt", bad),
                ("/pki/etcd/ca.crt", pki.pem("ca")),
            ],
            &[(ComponentKind::Etcd, etcd)],
        );
        let now = parse_pem(&good).remove(0).unwrap().not_before + 60;
        let f = run(&n, now);
        let chain = f.iter().find(|x| x.id == "cert.chain").unwrap();
        assert_eq!(chain.status, Status::Fail);
        assert!(
            chain
                .actual
                .contains("/pki/etcd/peer.crt (etcd peer certificate"),
            "{}",
            chain.actual
        );
        assert!(
            !chain.actual.contains("/pki/etcd/server.crt ("),
            "{}",
            chain.actual
        );
        // Without the peer pair, the rest chains.
        let n = node(
            &[
                ("/pki/etcd/server.crt", good),
                ("/pki/etcd/ca.crt", pki.pem("ca")),
            ],
            &[(ComponentKind::Etcd, etcd)],
        );
        assert_eq!(status(&run(&n, now), "cert.chain"), Some(Status::Pass));
        // etcd with --config-file: the pairs are the file's, its flags are
        // not read by etcd and not here either.
        let mut n = node(
            &[
                ("/pki/etcd/server.crt", pki.pem("ca")),
                ("/pki/etcd/peer.crt", pki.pem("ca")),
                ("/pki/etcd/ca.crt", pki.pem("ca")),
                (
                    "/cfg/peer.crt",
                    pki.leaf("cfg-peer", "other", "rsa:2048", "365", "-sha256", "DNS:x"),
                ),
            ],
            &[(
                ComponentKind::Etcd,
                &[
                    "etcd",
                    "--config-file=/cfg/etcd.yaml",
                    "--peer-cert-file=/pki/etcd/peer.crt",
                ],
            )],
        );
        n.files.insert(
            "/cfg/etcd.yaml".into(),
            crate::facts::FileFacts {
                exists: true,
                content: Some(
                    "peer-transport-security:\n  cert-file: /cfg/peer.crt\n  trusted-ca-file: /pki/etcd/ca.crt\n"
                        .into(),
                ),
                ..Default::default()
            },
        );
        let chain = run(&n, now)
            .into_iter()
            .find(|x| x.id == "cert.chain")
            .unwrap();
        assert_eq!(chain.status, Status::Fail, "{chain:?}");
        assert!(chain.actual.contains("/cfg/peer.crt ("), "{}", chain.actual);
    }

    #[test]
    fn the_api_server_certificate_must_name_the_node_and_the_service() {
        let pki = Pki::new();
        let partial = pki.leaf(
            "apiserver",
            "ca",
            "rsa:2048",
            "365",
            "-sha256",
            "DNS:kubernetes.default.svc,IP:10.0.0.99",
        );
        let api: &[&str] = &[
            "kube-apiserver",
            "--tls-cert-file=/pki/apiserver.crt",
            "--advertise-address=10.0.0.11",
        ];
        let n = node(
            &[("/pki/apiserver.crt", partial.clone())],
            &[(ComponentKind::ApiServer, api)],
        );
        let now = parse_pem(&partial).remove(0).unwrap().not_before + 60;
        let f = run(&n, now);
        let san = f.iter().find(|x| x.id == "cert.apiserver-san").unwrap();
        assert_eq!(san.status, Status::Fail);
        assert_eq!(
            san.expected,
            "subjectAltName covers kubernetes.default.svc and 10.0.0.11"
        );
        let full = pki.leaf(
            "apiserver",
            "ca",
            "rsa:2048",
            "365",
            "-sha256",
            "DNS:kubernetes.default.svc,IP:10.0.0.11",
        );
        let n = node(
            &[("/pki/apiserver.crt", full)],
            &[(ComponentKind::ApiServer, api)],
        );
        assert_eq!(
            status(&run(&n, now), "cert.apiserver-san"),
            Some(Status::Pass)
        );
    }

    #[test]
    fn self_generated_pairs_pass_the_certificate_checks_and_are_labelled() {
        // A kubeadm node's defaults: the kubelet's kubelet.crt (leaf, then
        // its CA), and the controller-manager's pair, only on the wire.
        let pki = Pki::new();
        let t = parse_pem(&pki.pem("ca")).remove(0).unwrap().not_before;
        let kubelet = pki.client_go_pair("kubelet", "node1", "DNS:node1", t, 365);
        let cm = pki.client_go_pair("cm", "localhost", "DNS:localhost,IP:127.0.0.1", t, 365);
        let mut n = node(
            &[("/var/lib/kubelet/pki/kubelet.crt", kubelet.clone())],
            &[
                (ComponentKind::Kubelet, &["kubelet"]),
                (
                    ComponentKind::ControllerManager,
                    &["kube-controller-manager"],
                ),
            ],
        );
        for (port, pem) in [(10250, kubelet), (10257, cm)] {
            n.tls.push(crate::facts::TlsProbe {
                served_pem: Some(pem),
                ..crate::facts::TlsProbe::new("10.0.0.11", port, crate::facts::PortState::Tls)
            });
        }
        let ctx = NodeCtx::new(&n);
        let opts = CertOptions {
            now: t + 86_400,
            fail_days: 7,
            warn_days: 30,
        };
        let (findings, certs) = cert_findings(&ctx, opts);
        for f in &findings {
            assert_eq!(f.status, Status::Pass, "{}: {}", f.id, f.actual);
        }
        let labels: Vec<&str> = certs.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "/var/lib/kubelet/pki/kubelet.crt",
                "/var/lib/kubelet/pki/kubelet.crt #2 (its self-generated CA)",
                "served on 10.0.0.11:10257 (self-generated)",
                "served on 10.0.0.11:10257 (chain #2: its self-generated CA)",
            ]
        );
        assert_eq!(certs[2].1.subject, format!("CN=localhost@{t}"));
    }

    #[test]
    fn no_certificate_is_a_skip_and_garbage_is_an_error() {
        let n = node(&[], &[]);
        let f = run(&n, 0);
        assert_eq!((f.len(), f[0].status), (1, Status::Skip));
        let n = node(
            &[(
                "/x.crt",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            )],
            &[],
        );
        let f = run(&n, 0);
        assert_eq!(f[0].status, Status::Error);
        assert!(f[0].reason.as_deref().unwrap().contains("/x.crt"));
    }
}
