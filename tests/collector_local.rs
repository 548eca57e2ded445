//! The collector script run for real on this machine (local transport):
//! secrets never leave the "node", certificates come without their keys, a
//! containerised path is recorded as the process sees it, and the same
//! script gives the same facts under busybox as under dash.
//!
//! A stub process named kube-apiserver (a tiny C program, built with gcc)
//! plays the component; its files live in a temporary directory. The stub
//! and the collector run in a pid namespace of their own (`unshare`, as
//! root), so other Kubernetes-looking processes on this machine (a lab,
//! say) cannot be mistaken for it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kubeharden::collect::{CollectOptions, collect};
use kubeharden::facts::{ComponentKind, NodeFacts, NodeIdentity};
use kubeharden::transport::Limits;
use kubeharden::transport::process::{ExecTransport, sh_quote};

const CANARY_KEY: &str = "CANARYKEYMATERIAL7f3a9c";
const CANARY_SECRET: &str = "Q0FOQVJZU0VDUkVUOWQ4ZTdm";
const CANARY_PUB: &str = "Q0FOQVJZUFVCTElDS0VZNWE0YjNj";

struct Stub {
    dir: tempfile::TempDir,
    /// The stub's command line, quoted for sh.
    command: String,
}

impl Stub {
    /// A transport whose shell runs in a new pid namespace beside the stub;
    /// `shell` is the command that reads the collector on stdin.
    fn transport(&self, shell: &str) -> ExecTransport {
        let inner = format!("{} & sleep 0.3; exec {shell}", self.command);
        ExecTransport {
            name: "local".into(),
            template: format!(
                "unshare --pid --fork --mount-proc sh -c {}",
                sh_quote(&inner)
            ),
            limits: limits(),
        }
    }
}

fn build_stub(dir: &Path) -> PathBuf {
    let src = dir.join("stub.c");
    std::fs::write(
        &src,
        "#include <unistd.h>\nint main(void){for(;;)pause();}\n",
    )
    .unwrap();
    let bin = dir.join("kube-apiserver");
    let ok = Command::new("gcc")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("gcc is installed");
    assert!(ok.success());
    bin
}

fn start() -> Stub {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = build_stub(d);
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\nMIIBfakecertdata\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n{CANARY_KEY}\n-----END PRIVATE KEY-----\n"
    );
    std::fs::write(d.join("combined.pem"), pem).unwrap();
    std::fs::write(
        d.join("apiserver.key"),
        format!("-----BEGIN EC PRIVATE KEY-----\n{CANARY_KEY}\n-----END EC PRIVATE KEY-----\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("enc.yaml"),
        format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n      - name: key1\n        secret: {CANARY_SECRET}\n      - {{name: key2, secret: {CANARY_SECRET}}}\n  - identity: {{}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("key-in-config.yaml"),
        format!("-----BEGIN RSA PRIVATE KEY-----\n{CANARY_KEY}\n-----END RSA PRIVATE KEY-----\n"),
    )
    .unwrap();
    // Service-account keys: the private signing key (stat'ed only) and a
    // public-key file with two keys, as after adding a new key (a rotation
    // in progress). Public key blocks carry a canary too: only their
    // labels may leave the node.
    std::fs::write(
        d.join("sa.key"),
        format!("-----BEGIN RSA PRIVATE KEY-----\n{CANARY_KEY}\n-----END RSA PRIVATE KEY-----\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("sa.pub"),
        format!("-----BEGIN PUBLIC KEY-----\n{CANARY_PUB}\n-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\n{CANARY_PUB}\n-----END PUBLIC KEY-----\n"),
    )
    .unwrap();
    // File times as a node keeps them: the encryption config last changed
    // 45 days ago (its old key2 still listed), sa.key 400 days ago.
    let ago = |name: &str, days: u64| {
        let t = std::time::SystemTime::now() - Duration::from_secs(days * 86_400);
        std::fs::File::options()
            .write(true)
            .open(d.join(name))
            .unwrap()
            .set_modified(t)
            .unwrap();
    };
    ago("enc.yaml", 45);
    ago("sa.key", 400);
    ago("sa.pub", 400);
    let arg = |f: &str, p: &str| sh_quote(&format!("--{f}={}", d.join(p).display()));
    let command = [
        sh_quote(&bin.display().to_string()),
        arg("encryption-provider-config", "enc.yaml"),
        arg("tls-cert-file", "combined.pem"),
        arg("tls-private-key-file", "apiserver.key"),
        arg("admission-control-config-file", "key-in-config.yaml"),
        arg("service-account-signing-key-file", "sa.key"),
        arg("service-account-key-file", "sa.pub"),
        "--profiling=false".to_string(),
    ]
    .join(" ");
    Stub { dir, command }
}

fn identity() -> NodeIdentity {
    NodeIdentity {
        name: "local".into(),
        ..Default::default()
    }
}

fn limits() -> Limits {
    Limits {
        command_timeout: Duration::from_secs(60),
        ..Limits::default()
    }
}

fn facts_via(mut t: ExecTransport) -> NodeFacts {
    collect(&mut t, identity(), CollectOptions::default())
}

fn ours<'a>(
    facts: &'a NodeFacts,
    stub: &Stub,
) -> Vec<(&'a String, &'a kubeharden::facts::FileFacts)> {
    let dir = stub.dir.path().to_str().unwrap().to_string();
    facts
        .files
        .iter()
        .filter(|(p, _)| p.starts_with(&dir))
        .collect()
}

/// One test, so the stub process is the only kube-apiserver while it runs.
#[test]
fn collector_on_this_machine() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "unshare --pid needs root");
    let stub = start();
    let facts = facts_via(stub.transport("sh -s"));
    assert_eq!(
        facts.scan_status,
        kubeharden::facts::ScanStatus::Ok,
        "{:?}",
        facts.error
    );
    let d = stub.dir.path();

    // The stub is found, with its full argv.
    let api = facts
        .component(ComponentKind::ApiServer)
        .expect("stub kube-apiserver found");
    assert!(api.running);
    assert!(
        api.argv.contains(&"--profiling=false".to_string()),
        "{:?}",
        api.argv
    );

    // It shares this machine's root, so what it names is the host's file.
    assert_eq!(api.own_root, Some(false));

    // Files named by flags are recorded at the path the process uses, not
    // through /proc/<pid>/root.
    let enc_path = d.join("enc.yaml").display().to_string();
    let enc = facts
        .files
        .get(&enc_path)
        .expect("encryption config collected");
    assert!(enc.redacted);
    assert!(enc.inside.is_none(), "{enc:?}");
    // Device and inode, as this machine's stat gives them.
    let meta = std::fs::metadata(d.join("enc.yaml")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        enc.dev_ino.as_deref(),
        Some(format!("{}:{}", meta.dev(), meta.ino()).as_str())
    );
    let content = enc.content.as_deref().unwrap();
    assert!(content.contains("secret: <redacted>"), "{content}");
    assert!(facts.files.keys().all(|p| !p.starts_with("/proc/")));

    // The key file is stat'ed, never read; a config holding a PEM key is refused.
    let key = facts
        .files
        .get(&d.join("apiserver.key").display().to_string())
        .unwrap();
    assert!(key.exists && key.content.is_none());
    assert!(
        facts
            .errors
            .iter()
            .any(|e| e.message.contains("holds a private key")),
        "{:?}",
        facts.errors
    );

    // Certificates come without the key that shares their file.
    let cert = facts
        .certificates
        .iter()
        .find(|c| c.path.ends_with("combined.pem"))
        .expect("certificate collected");
    assert!(cert.pem.contains("BEGIN CERTIFICATE") && !cert.pem.contains("PRIVATE"));

    // File times come from the node's stat; the public-key file gives the
    // labels of its blocks, the private key nothing but its stat.
    let mtime = |name: &str| {
        std::fs::metadata(d.join(name))
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    assert_eq!(enc.mtime, Some(mtime("enc.yaml")));
    assert_eq!(key.mtime, Some(mtime("apiserver.key")));
    let file = |name: &str| &facts.files[&d.join(name).display().to_string()];
    assert_eq!(file("sa.key").mtime, Some(mtime("sa.key")));
    assert!(file("sa.key").content.is_none() && file("sa.key").pem_blocks.is_none());
    assert_eq!(
        file("sa.pub").pem_blocks.as_deref(),
        Some(&["PUBLIC KEY".to_string(), "PUBLIC KEY".to_string()][..])
    );

    // The keys.* checks judge from names and dates: the old key still
    // listed 45 days after the change, two verification keys, sa.key old.
    let bench = kubeharden::bench::load_builtin("cis-1.12").unwrap();
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let report = kubeharden::engine::evaluate(&bench, std::slice::from_ref(&facts), &now);
    let finding = |id: &str| {
        report.nodes[0]
            .results
            .iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    let e = finding("keys.encryption");
    assert_eq!(e.status, kubeharden::report::Status::Warn, "{e:?}");
    assert!(
        e.actual.contains("writes with aescbc key key1")
            && e.actual
                .contains("old keys still listed 45 days after the last change")
            && e.actual.contains("key2 (aescbc)"),
        "{e:?}"
    );
    let sa = finding("keys.service-account");
    assert_eq!(sa.status, kubeharden::report::Status::Warn, "{sa:?}");
    assert!(
        sa.actual.contains("2 verification keys") && sa.actual.contains("400 days"),
        "{sa:?}"
    );

    // The canaries appear nowhere in the facts or in any report format.
    let json = serde_json::to_string(&facts).unwrap();
    let mut outputs = vec![serde_json::to_string(&report).unwrap()];
    outputs.push(kubeharden::report::text::render(
        &report,
        kubeharden::report::text::Color::Never,
    ));
    outputs.push(kubeharden::report::markdown::render(&report, None));
    outputs.push(
        kubeharden::report::html::render(
            &report,
            &kubeharden::report::html::HtmlOptions::default(),
        )
        .unwrap(),
    );
    outputs.push(kubeharden::report::junit::render(
        &report,
        kubeharden::report::Gate::Fail,
    ));
    for canary in [CANARY_KEY, CANARY_SECRET, CANARY_PUB] {
        assert!(!json.contains(canary), "{canary} leaked into facts");
        for o in &outputs {
            assert!(!o.contains(canary), "{canary} leaked into a report");
        }
    }
    assert!(
        outputs.iter().all(|o| o.contains("key2")),
        "key names are reported"
    );
    // The same script under busybox's applets gives the same file facts.
    let bb_dir = tempfile::tempdir().unwrap();
    let ok = Command::new("busybox")
        .arg("--install")
        .arg("-s")
        .arg(bb_dir.path())
        .status()
        .expect("busybox is installed (scripts/test installs it)");
    assert!(ok.success());
    let bb = facts_via(stub.transport(&format!(
        "env PATH={}:/usr/bin:/bin busybox sh -s",
        bb_dir.path().display()
    )));
    assert_eq!(
        bb.scan_status,
        kubeharden::facts::ScanStatus::Ok,
        "{:?}",
        bb.error
    );
    let bb_api = bb
        .component(ComponentKind::ApiServer)
        .expect("found under busybox");
    assert_eq!(bb_api.argv, api.argv);
    assert_eq!(ours(&bb, &stub), ours(&facts, &stub));
    assert_eq!(
        bb.files.get("/etc/kubernetes/pki").map(|f| f.exists),
        facts.files.get("/etc/kubernetes/pki").map(|f| f.exists)
    );
}
