//! `kubeharden inventory from-vagrant` / `from-ansible` end to end (the
//! binary), the parsers behind them, and `scan --inventory` reading an
//! Ansible inventory directly. The inputs in tests/fixtures/inventories are
//! kubespray's two inventory layouts and a `vagrant ssh-config` capture.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kubeharden::facts::Role;
use kubeharden::inventory::{self, NodeSpec, SshConfig, ansible, vagrant};

const BIN: &str = env!("CARGO_BIN_EXE_kubeharden");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventories")
        .join(name)
}

fn kh(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("HOME", "/nonexistent-home")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Loads generated TOML through the `--inventory` loader.
fn load_toml(toml: &str) -> Vec<NodeSpec> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lab.toml");
    std::fs::write(&p, toml).unwrap();
    inventory::load(&p, &SshConfig::default()).unwrap_or_else(|e| panic!("{e}\n{toml}"))
}

/// Name, address, roles, user, port.
type Summary = (String, String, Vec<Role>, Option<String>, Option<u16>);

fn summary(n: &NodeSpec) -> Summary {
    (
        n.name.clone(),
        n.address.clone(),
        n.roles.clone(),
        n.user.clone(),
        n.port,
    )
}

const CP: [Role; 2] = [Role::ControlPlane, Role::Etcd];

#[test]
fn from_vagrant_capture_writes_a_loadable_inventory() {
    let cap = fixture("vagrant-ssh-config.txt");
    let out = kh(&[
        "inventory",
        "from-vagrant",
        "--ssh-config",
        cap.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let toml = text(&out.stdout);
    assert!(toml.contains("--host-keys accept-new"), "{toml}");
    assert!(text(&out.stderr).contains("--host-keys accept-new"));
    let nodes = load_toml(&toml);
    let got: Vec<_> = nodes.iter().map(summary).collect();
    let vagrant = Some("vagrant".to_string());
    assert_eq!(
        got,
        vec![
            (
                "cp1".into(),
                "192.168.121.10".into(),
                CP.to_vec(),
                vagrant.clone(),
                Some(22)
            ),
            (
                "worker1".into(),
                "192.168.121.21".into(),
                vec![Role::Worker],
                vagrant.clone(),
                Some(22)
            ),
            (
                "worker2".into(),
                "192.168.121.22".into(),
                vec![Role::Worker],
                vagrant,
                Some(22)
            ),
        ]
    );
    assert_eq!(
        nodes[1].identity_file.as_deref(),
        Some(Path::new(
            "/home/me/kubeharden/vagrant/.vagrant/machines/worker1/libvirt/private_key"
        ))
    );
    assert!(
        nodes
            .iter()
            .all(|n| n.known_hosts.as_deref() == Some(Path::new("/dev/null")))
    );
    // The library gives the same nodes as the TOML it writes.
    let cap_text = std::fs::read_to_string(&cap).unwrap();
    let imported = vagrant::import("cap", &cap_text, &[]).unwrap();
    let direct: Vec<NodeSpec> = imported
        .nodes
        .iter()
        .map(|n| n.to_spec(&SshConfig::default()))
        .collect();
    assert_eq!(direct, nodes);
}

#[test]
fn from_vagrant_reads_stdin_writes_a_file_and_takes_role_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("lab.toml");
    let mut child = Command::new(BIN)
        .args([
            "inventory",
            "from-vagrant",
            "--ssh-config",
            "-",
            "--role",
            "db1=worker",
            "--role",
            "cp1=control-plane",
            "-o",
            out_file.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = "Host cp1\n  HostName 127.0.0.1\n  User vagrant\n  Port 2222\n  IdentityFile \"/my lab/.vagrant/machines/cp1/virtualbox/private_key\"\nHost db1\n  HostName 127.0.0.1\n  User vagrant\n  Port 2200\n";
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let nodes = load_toml(&std::fs::read_to_string(&out_file).unwrap());
    assert_eq!(nodes[0].roles, vec![Role::ControlPlane]);
    assert_eq!(nodes[0].port, Some(2222));
    assert_eq!(
        nodes[0].identity_file.as_deref(),
        Some(Path::new(
            "/my lab/.vagrant/machines/cp1/virtualbox/private_key"
        ))
    );
    assert_eq!((nodes[1].name.as_str(), nodes[1].port), ("db1", Some(2200)));
    assert_eq!(nodes[1].roles, vec![Role::Worker]);
    // No StrictHostKeyChecking in this capture: no host-key advice.
    assert!(!text(&out.stderr).contains("accept-new"));
}

#[test]
fn from_vagrant_names_machines_it_cannot_place_and_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("cap.txt");
    std::fs::write(
        &cap,
        "Host cp1\n  HostName 10.0.0.1\nHost db1\n  HostName 10.0.0.9\n",
    )
    .unwrap();
    let shown = cap.display().to_string();
    let out = kh(&["inventory", "from-vagrant", "--ssh-config", &shown]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{shown}:3: machine \"db1\": its name does not say"
        )),
        "{err}"
    );
    assert!(err.contains("--role db1="), "{err}");
    assert!(out.stdout.is_empty());

    let out = kh(&[
        "inventory",
        "from-vagrant",
        "--ssh-config",
        &shown,
        "--role",
        "db2=worker",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no node named \"db2\""),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(&cap, "Host cp1\n  HostName 10.0.0.1\n  Port http\n").unwrap();
    let out = kh(&["inventory", "from-vagrant", "--ssh-config", &shown]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("{shown}:3: machine cp1: Port \"http\"")),
        "{}",
        text(&out.stderr)
    );

    let out = kh(&["inventory", "from-vagrant", "--ssh-config", "/no/such/file"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/no/such/file: cannot read"));
}

/// A fake `vagrant` on PATH that records its arguments and working
/// directory, then prints the capture (or fails, when told to).
fn fake_vagrant(bin: &Path, log: &Path, fail: bool) {
    let cap = fixture("vagrant-ssh-config.txt");
    let body = if fail {
        "echo 'The VM is not running. To run this command, you need a running VM.' >&2\nexit 1\n"
            .to_string()
    } else {
        format!("cat '{}'\n", cap.display())
    };
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$*\" \"$PWD\" > '{}'\n{body}",
        log.display()
    );
    let path = bin.join("vagrant");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn with_path(bin: &Path, args: &[&str], cwd: &Path) -> Output {
    let path = format!("{}:/usr/bin:/bin", bin.display());
    Command::new(BIN)
        .args(args)
        .env("PATH", path)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn from_vagrant_runs_vagrant_ssh_config_in_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let lab = tmp.path().join("my lab");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&lab).unwrap();
    let log = tmp.path().join("vagrant.log");
    fake_vagrant(&bin, &log, false);

    let out = with_path(
        &bin,
        &["inventory", "from-vagrant", lab.to_str().unwrap()],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = logged.lines().collect();
    assert_eq!(lines[0], "ssh-config");
    assert_eq!(
        Path::new(lines[1]).canonicalize().unwrap(),
        lab.canonicalize().unwrap()
    );
    let nodes = load_toml(&text(&out.stdout));
    assert_eq!(nodes.len(), 3);
    assert!(text(&out.stdout).contains("from `vagrant ssh-config` in"));

    // Without DIR, it runs in the current directory.
    std::fs::remove_file(&log).unwrap();
    let out = with_path(&bin, &["inventory", "from-vagrant"], &lab);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        Path::new(logged.lines().nth(1).unwrap())
            .canonicalize()
            .unwrap(),
        lab.canonicalize().unwrap()
    );

    // Vagrant's refusal is passed on.
    fake_vagrant(&bin, &log, true);
    let out = with_path(
        &bin,
        &["inventory", "from-vagrant", lab.to_str().unwrap()],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("`vagrant ssh-config` in"), "{err}");
    assert!(err.contains("you need a running VM"), "{err}");

    // No vagrant at all: say how to do without.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = with_path(
        &empty,
        &["inventory", "from-vagrant", lab.to_str().unwrap()],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("cannot run `vagrant ssh-config`"), "{err}");
    assert!(err.contains("--ssh-config"), "{err}");

    let out = with_path(
        &bin,
        &["inventory", "from-vagrant", "/no/such/dir"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/no/such/dir: not a directory"));
}

fn ansible_expected_ini() -> Vec<Summary> {
    let s = |x: &str| x.to_string();
    vec![
        (
            s("node1"),
            s("192.168.56.11"),
            CP.to_vec(),
            Some(s("ubuntu")),
            None,
        ),
        (
            s("node2"),
            s("192.168.56.12"),
            CP.to_vec(),
            Some(s("ubuntu")),
            None,
        ),
        // In etcd and kube_node: [kube_node:vars] wins over [all:vars].
        (
            s("node3"),
            s("192.168.56.13"),
            vec![Role::Etcd, Role::Worker],
            Some(s("worker")),
            None,
        ),
        (
            s("node4"),
            s("192.168.56.14"),
            vec![Role::Worker],
            Some(s("worker")),
            Some(2222),
        ),
        // A host variable wins over every group's.
        (
            s("node5"),
            s("192.168.56.15"),
            vec![Role::Worker],
            Some(s("auditor")),
            None,
        ),
    ]
}

#[test]
fn from_ansible_ini_matches_kubespray_semantics_and_round_trips() {
    let ini = fixture("kubespray.ini");
    let out = kh(&["inventory", "from-ansible", ini.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    // kubespray's [bastion] group: every node is reached through it.
    assert!(
        err.contains("node1, node2, node3, node4, node5 reached through the bastion bastion (jump@203.0.113.7)"),
        "{err}"
    );
    let nodes = load_toml(&text(&out.stdout));
    assert!(
        nodes
            .iter()
            .all(|n| n.proxy_jump.as_deref() == Some("jump@203.0.113.7")),
        "{nodes:?}"
    );
    assert_eq!(
        nodes.iter().map(summary).collect::<Vec<_>>(),
        ansible_expected_ini()
    );
    // ~/ is kept in the TOML and expanded when loaded, as HOME says.
    assert!(text(&out.stdout).contains("identity_file = \"~/.ssh/kubespray\""));
    // --inventory reads the INI file itself, to the same nodes.
    let direct = inventory::load(&ini, &SshConfig::default()).unwrap();
    assert_eq!(direct, nodes);
}

#[test]
fn from_ansible_yaml_reads_the_inventory_builder_layout() {
    let yaml = fixture("hosts.yaml");
    let out = kh(&["inventory", "from-ansible", yaml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // calico_rr is empty; no host is skipped.
    assert!(!text(&out.stderr).contains("skipped"));
    let nodes = load_toml(&text(&out.stdout));
    let all = vec![Role::ControlPlane, Role::Etcd, Role::Worker];
    let kube = Some("kube".to_string());
    assert_eq!(
        nodes.iter().map(summary).collect::<Vec<_>>(),
        vec![
            (
                "node1".into(),
                "10.10.1.3".into(),
                all.clone(),
                kube.clone(),
                None
            ),
            ("node2".into(), "10.10.1.4".into(), all, kube.clone(), None),
            (
                "node3".into(),
                "10.10.1.5".into(),
                vec![Role::Etcd, Role::Worker],
                kube,
                Some(2222)
            ),
        ]
    );
    assert!(
        nodes
            .iter()
            .all(|n| n.identity_file.as_deref() == Some(Path::new("/home/ops/.ssh/id_ed25519")))
    );
    assert_eq!(
        inventory::load(&yaml, &SshConfig::default()).unwrap(),
        nodes
    );
    // The same file without its extension is still recognised as YAML.
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::copy(&yaml, &hosts).unwrap();
    assert_eq!(
        inventory::load(&hosts, &SshConfig::default()).unwrap(),
        nodes
    );
}

#[test]
fn ini_without_an_extension_is_recognised_by_its_sections() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::copy(fixture("kubespray.ini"), &hosts).unwrap();
    let nodes = inventory::load(&hosts, &SshConfig::default()).unwrap();
    assert_eq!(
        nodes.iter().map(summary).collect::<Vec<_>>(),
        ansible_expected_ini()
    );
    // A TOML inventory without an extension is still TOML.
    let toml = dir.path().join("lab");
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/inventory.toml"),
    )
    .unwrap();
    std::fs::write(
        &toml,
        example
            .replace("192.0.2.", "10.0.0.")
            .replace("cp2.example", "cp2"),
    )
    .unwrap();
    assert_eq!(
        inventory::load(&toml, &SshConfig::default()).unwrap().len(),
        3
    );
}

#[test]
fn scan_takes_an_ansible_inventory_directly() {
    let ini = fixture("kubespray.ini");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    // The exec transport fails every node on purpose: what matters is
    // which nodes the scan tried, with which roles and addresses.
    let out = kh(&[
        "scan",
        "--inventory",
        ini.to_str().unwrap(),
        "--exec",
        "echo no machine {node} >&2; exit 1",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("reached through the bastion bastion"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let nodes: Vec<(String, String, Vec<String>)> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["address"].as_str().unwrap().to_string(),
                n["roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let want: Vec<(String, String, Vec<String>)> = ansible_expected_ini()
        .into_iter()
        .map(|(n, a, r, _, _)| (n, a, r.iter().map(|r| r.to_string()).collect()))
        .collect();
    assert_eq!(nodes, want);
}

fn import_err(name: &str, text: &str, kind: ansible::Kind) -> String {
    ansible::import(name, text, kind, &[])
        .unwrap_err()
        .to_string()
}

#[test]
fn ansible_errors_name_file_and_line() {
    use ansible::Kind::{Ini, Yaml};
    let e = import_err(
        "inv.ini",
        "[kube_node]\nw1 ansible_host=10.0.0.1 oops\nw2 ansible_host=\"{{ lookup('env','W2') }}\"\nw3 ansible_port=99999\n[kube_node:bogus]\n[k8s_cluster:vars]\nnonsense\n",
        Ini,
    );
    for want in [
        "inv.ini:2: host w1: \"oops\" is not a variable (expected key=value)",
        "inv.ini:3: host w2: ansible_host is a template",
        "inv.ini:4: host w3: ansible_port \"99999\" is not 1-65535",
        "inv.ini:5: [kube_node:bogus]: unknown section kind \"bogus\"",
        "inv.ini:7: [k8s_cluster:vars]: \"nonsense\" is not a variable",
    ] {
        assert!(e.contains(want), "missing {want:?} in\n{e}");
    }

    // A group variable's problem is reported where the variable is.
    let e = import_err(
        "g.ini",
        "[kube_node]\nw1\n\n[kube_node:vars]\nansible_port=ssh\n",
        Ini,
    );
    assert!(
        e.contains("g.ini:5: host w1: ansible_port \"ssh\" is not 1-65535"),
        "{e}"
    );

    let e = import_err(
        "hosts.yaml",
        "all:\n  hosts:\n    n1:\n      ansible_host: 10.0.0.1\n      ansible_port: [22]\n  children:\n    kube_node:\n      hosts:\n        n1:\n      host: n2\n    etcd:\n      hosts: [n1]\n",
        Yaml,
    );
    for want in [
        "hosts.yaml:5: host n1: ansible_port must be a string, found a list",
        "hosts.yaml:10: group kube_node: unknown key \"host\" (hosts, children, vars)",
        "hosts.yaml:12: group etcd: hosts must be a mapping, found a list",
    ] {
        assert!(e.contains(want), "missing {want:?} in\n{e}");
    }

    let e = import_err(
        "bad.yaml",
        "all:\n  hosts:\n    n1: {ansible_host: [\n",
        Yaml,
    );
    assert!(e.contains("bad.yaml:"), "{e}");
    assert!(e.contains("YAML syntax"), "{e}");

    let e = import_err(
        "none.ini",
        "[all]\nlb1 ansible_host=10.0.0.5\n[k8s_cluster:children]\nkube_node\n",
        Ini,
    );
    assert!(
        e.contains("none.ini: no host is in kube_control_plane"),
        "{e}"
    );
    assert!(e.contains("hosts found: lb1"), "{e}");
}

#[test]
fn ansible_cli_errors_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("inventory.ini");
    std::fs::write(
        &p,
        "[kube-master]\ncp1 ansible_host=10.0.0.1\n[kube-node]\nw1 ansible_user\n",
    )
    .unwrap();
    let out = kh(&["inventory", "from-ansible", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:4: host w1: \"ansible_user\" is not a variable",
            p.display()
        )),
        "{err}"
    );
    // The same file through scan --inventory fails before any node is tried.
    let out = kh(&[
        "scan",
        "--inventory",
        p.to_str().unwrap(),
        "--exec",
        "true {node}",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(":4: host w1:"));
    // Legacy group names give the same roles, and --role overrides them.
    std::fs::write(
        &p,
        "[kube-master]\ncp1 ansible_host=10.0.0.1\n[kube-node]\nw1\n",
    )
    .unwrap();
    let out = kh(&[
        "inventory",
        "from-ansible",
        p.to_str().unwrap(),
        "--role",
        "w1=worker,etcd",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let nodes = load_toml(&text(&out.stdout));
    assert_eq!(nodes[0].roles, vec![Role::ControlPlane]);
    assert_eq!(nodes[1].roles, vec![Role::Etcd, Role::Worker]);
    assert_eq!(nodes[1].address, "w1");

    // --kind overrides what the name suggests.
    let misnamed = dir.path().join("hosts.yaml");
    std::fs::copy(fixture("kubespray.ini"), &misnamed).unwrap();
    let out = kh(&["inventory", "from-ansible", misnamed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("hosts.yaml:"),
        "{}",
        text(&out.stderr)
    );
    let out = kh(&[
        "inventory",
        "from-ansible",
        misnamed.to_str().unwrap(),
        "--kind",
        "ini",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(load_toml(&text(&out.stdout)).len(), 5);
}

/// The generated inventory really connects: a `vagrant ssh-config`-style
/// capture for a real sshd (Vagrant's host-key settings included), scanned
/// over SSH. known_hosts = "/dev/null" refuses the host under the default
/// strict policy and works under --host-keys accept-new, every time.
#[test]
fn a_vagrant_inventory_scans_over_ssh_with_accept_new() {
    let sshd = common::sshd::Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let capture = format!(
        "Host cp1\n  HostName 127.0.0.1\n  User root\n  Port {}\n  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  PasswordAuthentication no\n  IdentityFile {}\n  IdentitiesOnly yes\n  LogLevel FATAL\n",
        sshd.port,
        sshd.path("client").display()
    );
    let cap = dir.path().join("ssh-config.txt");
    std::fs::write(&cap, capture).unwrap();
    let lab = dir.path().join("lab.toml");
    let out = kh(&[
        "inventory",
        "from-vagrant",
        "--ssh-config",
        cap.to_str().unwrap(),
        "-o",
        lab.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let scan = |extra: &[&str]| {
        let json = dir.path().join("r.json");
        let mut args = vec![
            "scan",
            "-i",
            lab.to_str().unwrap(),
            "--no-probes",
            "--fail-on",
            "none",
            "--format",
            "json",
            "-o",
            json.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = kh(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let n = &r["nodes"][0];
        (
            n["scan_status"].as_str().unwrap().to_string(),
            n["error"].as_str().unwrap_or("").to_string(),
        )
    };
    let (status, error) = scan(&[]);
    assert_ne!(status, "ok");
    assert!(error.contains("/dev/null"), "{error}");
    assert!(error.contains("--host-keys accept-new"), "{error}");
    for _ in 0..2 {
        let (status, error) = scan(&["--host-keys", "accept-new"]);
        assert_eq!(status, "ok", "{error}");
    }
}
