//! Certificates made by openssl for the engine's tests.

use std::process::Command;

/// PEMs made by openssl: `ca`, `other-ca`, and leaves signed as asked.
pub(crate) struct Pki(pub(crate) tempfile::TempDir);

impl Pki {
    pub(crate) fn new() -> Pki {
        let p = Pki(tempfile::tempdir().unwrap());
        p.run(&[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "3650", "-subj", "/CN=ca",
        ]);
        p.run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=other-ca",
        ]);
        p
    }

    /// Another CA, `name.crt` and `name.key`, with the subject `CN=<cn>`
    /// (the cluster CA's own name makes a rogue CA).
    pub(crate) fn ca(&self, name: &str, cn: &str) {
        self.run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-days",
            "3650",
            "-subj",
            &format!("/CN={cn}"),
        ]);
    }

    pub(crate) fn run(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.0.path())
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A leaf named `name`, signed by `ca` (`ca` or `other`).
    pub(crate) fn leaf(
        &self,
        name: &str,
        ca: &str,
        key: &str,
        days: &str,
        digest: &str,
        sans: &str,
    ) -> String {
        self.run(&[
            "req",
            "-newkey",
            key,
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ]);
        std::fs::write(
            self.0.path().join(format!("{name}.ext")),
            format!("subjectAltName={sans}\n"),
        )
        .unwrap();
        self.run(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.crt"),
            "-days",
            days,
            digest,
            "-extfile",
            &format!("{name}.ext"),
        ]);
        self.pem(name)
    }

    /// A pair of the shape client-go's `GenerateSelfSignedCertKeyWithFixtures`
    /// makes, as one PEM text, leaf first: a CA `CN=<host>-ca@<made_at>`
    /// and the leaf `CN=<host>@<made_at>` it signed, both RSA 2048 with
    /// random serials, valid from an hour before `made_at` for `days`; the
    /// CA with a subject key id and no authority key id, the leaf with the
    /// CA's key id, serverAuth, CA:FALSE and `sans`, and no key id of its
    /// own. `openssl ca`, because only it takes a start date in the past.
    pub(crate) fn client_go_pair(
        &self,
        name: &str,
        host: &str,
        sans: &str,
        made_at: i64,
        days: i64,
    ) -> String {
        let d = self.0.path();
        let stamp = |t: i64| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(t as u64),
            )
            .to_string()
            .replace(['-', ':', 'T'], "")
        };
        let from = made_at - 3600;
        let (start, end) = (stamp(from), stamp(from + days * 86_400));
        std::fs::write(
            d.join(format!("{name}.cnf")),
            format!(
                "[ca]\ndefault_ca = cg\n[cg]\ndatabase = {name}.db\nserial = {name}.serial\n\
                 new_certs_dir = .\ndefault_md = sha256\npolicy = pol\nunique_subject = no\n\
                 [pol]\ncommonName = supplied\n\
                 [ca_ext]\nkeyUsage = critical,digitalSignature,keyEncipherment,keyCertSign\n\
                 basicConstraints = critical,CA:TRUE\nsubjectKeyIdentifier = hash\n\
                 [leaf_ext]\nkeyUsage = critical,digitalSignature,keyEncipherment\n\
                 extendedKeyUsage = serverAuth\nbasicConstraints = critical,CA:FALSE\n\
                 authorityKeyIdentifier = keyid\nsubjectKeyIdentifier = none\n\
                 subjectAltName = {sans}\n"
            ),
        )
        .unwrap();
        std::fs::write(d.join(format!("{name}.db")), "").unwrap();
        let serial = || {
            let n: u64 = rand_serial();
            std::fs::write(d.join(format!("{name}.serial")), format!("{n:016x}\n")).unwrap();
        };
        let cnf = format!("{name}.cnf");
        for (who, cn, ext) in [
            ("ca", format!("/CN={host}-ca@{made_at}"), "ca_ext"),
            ("leaf", format!("/CN={host}@{made_at}"), "leaf_ext"),
        ] {
            let key = format!("{name}-{who}.key");
            let csr = format!("{name}-{who}.csr");
            let crt = format!("{name}-{who}.crt");
            self.run(&["genrsa", "-traditional", "-out", &key, "2048"]);
            self.run(&["req", "-new", "-key", &key, "-subj", &cn, "-out", &csr]);
            serial();
            let ca_key = format!("{name}-ca.key");
            let ca_crt = format!("{name}-ca.crt");
            let mut args = vec![
                "ca",
                "-batch",
                "-notext",
                "-config",
                &cnf,
                "-in",
                &csr,
                "-out",
                &crt,
                "-startdate",
                &start,
                "-enddate",
                &end,
                "-extensions",
                ext,
                "-preserveDN",
                "-keyfile",
                &ca_key,
            ];
            if who == "ca" {
                args.push("-selfsign");
            } else {
                args.extend(["-cert", ca_crt.as_str()]);
            }
            self.run(&args);
        }
        format!(
            "{}{}",
            self.pem(&format!("{name}-leaf")),
            self.pem(&format!("{name}-ca"))
        )
    }

    pub(crate) fn pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.path().join(format!("{name}.crt"))).unwrap()
    }
}

/// A certificate serial in [1, 2^63 - 1], as client-go draws them.
fn rand_serial() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    (h.finish() >> 1).max(1)
}
