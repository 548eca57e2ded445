//! The SSH setups of `~/.ssh/config` in the lab, the way a company reaches
//! its nodes: an `Include` tree whose host block reaches a worker only
//! through a `ProxyCommand` (`ssh -W` through the control plane, a bastion
//! in effect), with its own known_hosts file, and `StrictHostKeyChecking`
//! per host. The scan collects everything and probes the worker's ports
//! over the session the command carries. (Certificates, agents and failing
//! commands are tested against a loopback sshd in tests/ssh_config_setups.rs.)
//!
//! Needs root (namespaces) and the lab's packages (`tests/lab/lab.sh deps`).

mod common;

use std::process::Command;

use common::lab::Lab;
use kubeharden::facts::ScanStatus;
use kubeharden::report::Report;

#[test]
fn a_worker_behind_a_proxy_command_is_scanned_and_probed() {
    let lab = Lab::up(Some("kubeadm-default-cp1,kubeadm-default-w1"));
    let (cp1, w1) = (
        lab.address("kubeadm-default-cp1"),
        lab.address("kubeadm-default-w1"),
    );
    let key = lab.state.join("id_ed25519");
    let known = lab.state.join("known_hosts");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let marker = d.join("proxy-used");
    std::fs::create_dir(d.join("conf.d")).unwrap();
    std::fs::write(d.join("config"), "Include conf.d/*.conf\n").unwrap();
    std::fs::write(
        d.join("conf.d/lab.conf"),
        format!(
            "Host lab-worker\n  HostName {w1}\n  User root\n  IdentityFile {key}\n  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n  ProxyCommand sh -c 'echo %h:%p > {marker}; exec ssh -F none -i {key} -o BatchMode=yes -o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes -W %h:%p root@{cp1}'\n",
            key = key.display(),
            known = known.display(),
            marker = marker.display(),
        ),
    )
    .unwrap();
    let json = d.join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_kubeharden"))
        .args(["scan", "--node", "w1=lab-worker", "--role", "w1=worker"])
        .arg("--ssh-config")
        .arg(d.join("config"))
        .args(["--benchmark", "cis-1.12", "--fail-on", "none", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        format!("{w1}:22"),
        "the ProxyCommand carried the session"
    );
    let r: Report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let node = &r.nodes[0];
    assert_eq!(node.scan_status, ScanStatus::Ok, "{:?}", node.error);
    let kubelet = node
        .results
        .iter()
        .find(|f| f.id == "presence.kubelet")
        .unwrap();
    assert_eq!(
        kubelet.status,
        kubeharden::report::Status::Pass,
        "{kubelet:?}"
    );
    // The probes went over the same session: the worker's kubelet port.
    let ports = r.tls_ports.unwrap_or_default();
    assert!(
        ports.iter().any(|p| p.node == "w1" && p.port == 10250),
        "no probe of 10250 through the ProxyCommand: {ports:?}"
    );
}
