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

    pub(crate) fn pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.path().join(format!("{name}.crt"))).unwrap()
    }
}
