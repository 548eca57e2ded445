//! The Vagrant lab in vagrant/: the Vagrantfile is valid Ruby and validates
//! its settings, the provisioning scripts pass shellcheck, and what they
//! render (kubeadm configuration, kubelet drop-in, etcd firewall) says what
//! the hardening promises. Needs `ruby` and `shellcheck` (scripts/test
//! installs them); bringing the lab up needs Vagrant and is not done here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn lab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vagrant")
}

fn run(cmd: &mut Command) -> Output {
    let name = format!("{:?}", cmd.get_program());
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {name}: {e}; scripts/test installs ruby and shellcheck")
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scripts() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![lab()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".vagrant") {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "sh") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_vagrantfile_is_valid_ruby() {
    let out = run(Command::new("ruby")
        .arg("-c")
        .arg(lab().join("Vagrantfile")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "Syntax OK");
}

#[test]
fn every_lab_script_passes_shellcheck() {
    let scripts = scripts();
    let names: Vec<String> = scripts
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in ["lib.sh", "common.sh", "control-plane.sh", "worker.sh"] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let out = run(Command::new("shellcheck")
        .arg("--external-sources")
        .args(&scripts)
        .current_dir(lab()));
    assert!(
        out.status.success(),
        "shellcheck:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    for p in &scripts {
        let body = std::fs::read_to_string(p).unwrap();
        if p.ends_with("lib.sh") {
            assert!(body.starts_with("# shellcheck shell=bash"));
        } else {
            assert!(body.starts_with("#!/usr/bin/env bash\n"), "{}", p.display());
            assert!(body.contains("\nset -euo pipefail\n"), "{}", p.display());
        }
    }
}

/// Loads the Vagrantfile (copied to a temporary directory, where it keeps
/// its token) against a stand-in for Vagrant's configuration object that
/// prints every setting as a JSON line (`{"path", "args", "kw"}`, the same
/// whatever Ruby's inspect format); returns (success, settings as
/// `path args kw` lines, stderr, the directory).
fn eval_vagrantfile(env: &[(&str, &str)]) -> (bool, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(lab().join("Vagrantfile"), dir.path().join("Vagrantfile")).unwrap();
    let stub = r##"
require "json"
module Vagrant
  class Cfg
    def initialize(path) = (@path = path)
    def method_missing(name, *args, **kw, &blk)
      puts JSON.generate({ path: (@path + [name]).join("."), args: args, kw: kw })
      blk&.call(Cfg.new(@path + [name, args.first]), Cfg.new(@path + [:override]))
      Cfg.new(@path + [name])
    end
    def respond_to_missing?(*) = true
  end
  def self.configure(_version) = yield(Cfg.new([]))
end
load ARGV[0]
"##;
    let mut cmd = Command::new("ruby");
    cmd.arg("-e")
        .arg(stub)
        .arg(dir.path().join("Vagrantfile"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    let settings: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            format!("{} {} {}", v["path"].as_str().unwrap(), v["args"], v["kw"])
        })
        .collect();
    (
        out.status.success(),
        settings.join("\n"),
        text(&out.stderr),
        dir,
    )
}

#[test]
fn the_vagrantfile_takes_its_settings_from_the_environment() {
    let (ok, out, err, dir) = eval_vagrantfile(&[
        ("KH_WORKERS", "3"),
        ("KH_MEMORY", "4096"),
        ("KH_CPUS", "4"),
        ("KH_K8S_VERSION", "1.33.1"),
        ("KH_SUBNET", "10.20.30"),
        ("KH_HARDENED", "1"),
    ]);
    assert!(ok, "{err}");
    for want in [
        "vm.provider.libvirt.memory= [4096] {}",
        "vm.provider.virtualbox.cpus= [4] {}",
        "vm.override.vm.box= [\"generic/ubuntu2204\"] {}",
        "vm.override.vm.box= [\"bento/ubuntu-22.04\"] {}",
        "vm.define.cp1.vm.network [\"private_network\"] {\"ip\":\"10.20.30.10\"}",
        "vm.define.worker3.vm.network [\"private_network\"] {\"ip\":\"10.20.30.23\"}",
        "\"KH_K8S_VERSION\":\"1.33.1\"",
        "\"KH_HARDENED\":\"1\"",
        "\"KH_NET_GATEWAY\":\"10.20.30.1\"",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert!(!out.contains("worker4"), "{out}");
    // One bootstrap token per lab, private, reused by later runs.
    let token_file = dir.path().join(".vagrant/kh-bootstrap-token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    let token = token.trim();
    assert!(out.contains(&format!("\"KH_TOKEN\":\"{token}\"")), "{out}");
    // Every machine gets the shared scripts, then its own.
    for want in [
        "vm.provision [\"common\"] {\"env\":",
        "vm.define.cp1.vm.provision [\"control-plane\"]",
        "vm.define.worker1.vm.provision [\"worker\"]",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (a, b) = token.split_once('.').unwrap();
    assert_eq!((a.len(), b.len()), (6, 16));
    assert!(
        token
            .chars()
            .all(|c| c == '.' || c.is_ascii_lowercase() || c.is_ascii_digit())
    );

    let (ok, out, err, _) = eval_vagrantfile(&[("KH_BOX", "my/box")]);
    assert!(ok, "{err}");
    assert!(out.contains("vm.override.vm.box= [\"my/box\"] {}"), "{out}");
    assert!(!out.contains("generic/ubuntu2204"), "{out}");
    assert!(out.contains("worker2") && !out.contains("worker3"), "{out}");
}

#[test]
fn the_vagrantfile_refuses_bad_settings() {
    for (k, v, want) in [
        (
            "KH_WORKERS",
            "two",
            "KH_WORKERS=\"two\": expected a whole number",
        ),
        ("KH_WORKERS", "12", "KH_WORKERS=12: expected 0-9"),
        ("KH_CPUS", "1", "KH_CPUS=1: expected 2-64"),
        ("KH_MEMORY", "512", "KH_MEMORY=512: expected 1800-262144"),
        (
            "KH_K8S_VERSION",
            "v1.32",
            "KH_K8S_VERSION=\"v1.32\": expected X.Y.Z",
        ),
        ("KH_HARDENED", "yes", "KH_HARDENED=\"yes\": expected 0 or 1"),
        (
            "KH_SUBNET",
            "192.168.56.0/24",
            "KH_SUBNET=\"192.168.56.0/24\"",
        ),
    ] {
        let (ok, _, err, _) = eval_vagrantfile(&[(k, v)]);
        assert!(!ok, "{k}={v} was accepted");
        assert!(err.contains(want), "{k}={v}: {err}");
    }
}

/// Sources a lab script in bash and runs `snippet`; returns stdout.
fn bash(source: &str, snippet: &str) -> String {
    let script = format!(
        "set -euo pipefail\nsource {}\n{snippet}",
        lab().join("scripts").join(source).display()
    );
    let out = run(Command::new("bash").arg("-c").arg(&script));
    assert!(
        out.status.success(),
        "{snippet}\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn docs(yaml: &str) -> Vec<Value> {
    yaml.split("\n---\n")
        .map(|d| kubeharden::yaml::parse(d).unwrap_or_else(|e| panic!("{e}\n{d}")))
        .collect()
}

fn extra_args(doc: &Value, component: &str) -> Vec<(String, String)> {
    doc[component]["extraArgs"]
        .as_array()
        .unwrap_or_else(|| panic!("{component} has no extraArgs: {doc}"))
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const ENV: &str = "KH_K8S_VERSION=1.32.4 KH_CP_IP=192.168.56.10 KH_TOKEN=abcdef.0123456789abcdef KH_POD_CIDR=10.244.0.0/16";

#[test]
fn the_hardened_kubeadm_configuration_carries_the_cis_flags() {
    let plain = docs(&bash(
        "control-plane.sh",
        &format!("{ENV} HARDEN=0 kubeadm_config"),
    ));
    assert_eq!(plain.len(), 2);
    assert_eq!(plain[0]["kind"], "InitConfiguration");
    assert_eq!(
        plain[0]["bootstrapTokens"][0]["token"],
        "abcdef.0123456789abcdef"
    );
    assert_eq!(
        plain[0]["nodeRegistration"]["kubeletExtraArgs"][0],
        json!({"name": "node-ip", "value": "192.168.56.10"})
    );
    assert_eq!(plain[1]["kubernetesVersion"], "v1.32.4");
    assert_eq!(plain[1]["networking"]["podSubnet"], "10.244.0.0/16");
    assert!(plain[1].get("apiServer").is_none(), "{}", plain[1]);

    let hard = docs(&bash(
        "control-plane.sh",
        &format!("{ENV} HARDEN=1 kubeadm_config"),
    ));
    let cc = &hard[1];
    let api = extra_args(cc, "apiServer");
    for (k, v) in [
        ("profiling", "false"),
        ("audit-log-path", "/var/log/kubernetes/audit/audit.log"),
        ("audit-log-maxage", "30"),
        ("audit-log-maxbackup", "10"),
        ("audit-log-maxsize", "100"),
        ("audit-policy-file", "/etc/kubernetes/audit-policy.yaml"),
        (
            "encryption-provider-config",
            "/etc/kubernetes/enc/encryption.yaml",
        ),
    ] {
        assert!(
            api.contains(&(k.to_string(), v.to_string())),
            "{k}={v} not in {api:?}"
        );
    }
    let suites = api.iter().find(|(k, _)| k == "tls-cipher-suites").unwrap();
    assert_eq!(suites.1.split(',').count(), 6);
    assert!(!suites.1.contains("CBC") && !suites.1.contains("RSA_WITH_AES_128_CBC"));
    // Every file a flag names is mounted into the API server's pod.
    let mounts: Vec<&str> = cc["apiServer"]["extraVolumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["mountPath"].as_str().unwrap())
        .collect();
    for m in [
        "/etc/kubernetes/audit-policy.yaml",
        "/var/log/kubernetes/audit",
        "/etc/kubernetes/enc",
    ] {
        assert!(mounts.contains(&m), "{m} not mounted: {mounts:?}");
    }
    for c in ["controllerManager", "scheduler"] {
        assert!(extra_args(cc, c).contains(&("profiling".into(), "false".into())));
    }
    assert!(
        extra_args(cc, "controllerManager")
            .contains(&("terminated-pod-gc-threshold".into(), "10".into()))
    );
}

#[test]
fn the_kubelet_drop_in_and_etcd_firewall_say_what_cis_asks() {
    let k = kubeharden::yaml::parse(&bash("lib.sh", "kubelet_dropin")).unwrap();
    assert_eq!(k["kind"], "KubeletConfiguration");
    assert_eq!(k["authentication"]["anonymous"]["enabled"], false);
    assert_eq!(k["authentication"]["webhook"]["enabled"], true);
    assert_eq!(k["authorization"]["mode"], "Webhook");
    assert_eq!(k["readOnlyPort"], 0);
    assert_eq!(k["protectKernelDefaults"], true);
    assert_eq!(k["rotateCertificates"], true);
    assert_eq!(k["eventRecordQPS"], 5);
    assert_eq!(k["tlsCipherSuites"].as_array().unwrap().len(), 6);

    let rules = bash(
        "control-plane.sh",
        "KH_CP_IP=192.168.56.10 etcd_firewall_rules",
    );
    assert!(rules.contains("elements = { 192.168.56.10 }"), "{rules}");
    let accept_lo = rules.find("iifname \"lo\" accept").unwrap();
    let accept_cp = rules.find("ip saddr @control_planes accept").unwrap();
    let drop = rules.find("tcp dport { 2379, 2380 } counter drop").unwrap();
    assert!(accept_lo < drop && accept_cp < drop, "{rules}");
    // Reloading replaces the table instead of failing or doubling it.
    assert!(rules.contains("table inet kh_etcd\ndelete table inet kh_etcd\n"));
}

#[test]
fn lib_writes_files_idempotently_and_checks_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sub/conf");
    let out = bash(
        "lib.sh",
        &format!(
            "f={f}\n\
             echo a | write_file \"$f\" 0600; echo \"first $CHANGED\"\n\
             write_file \"$f\" 0600 <<<a; echo \"same $CHANGED\"\n\
             write_file \"$f\" 0640 <<<b; echo \"new $CHANGED\"\n\
             stat -c %a \"$f\"; cat \"$f\"; ls \"$(dirname \"$f\")\" | wc -l",
            f = f.display()
        ),
    );
    // The first write is in a pipeline (a subshell): its CHANGED is lost,
    // which is why the scripts never pipe into write_file.
    assert_eq!(out, "first 0\nsame 0\nnew 1\n640\nb\n1\n");

    let out = run(Command::new("bash").arg("-c").arg(format!(
        "set -euo pipefail; source {}; KH_TOKEN=Bad must_match KH_TOKEN '^[a-z]{{3}}$'; echo unreachable",
        lab().join("scripts/lib.sh").display()
    )));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("error: KH_TOKEN='Bad' is not valid"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stdout).contains("unreachable"));
}
