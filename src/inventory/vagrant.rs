//! `vagrant ssh-config` output as inventory nodes.
//!
//! Vagrant prints one OpenSSH `Host` block per running machine:
//!
//! ```text
//! Host cp1
//!   HostName 192.168.121.10
//!   User vagrant
//!   Port 22
//!   UserKnownHostsFile /dev/null
//!   StrictHostKeyChecking no
//!   PasswordAuthentication no
//!   IdentityFile /home/me/lab/.vagrant/machines/cp1/libvirt/private_key
//!   IdentitiesOnly yes
//!   LogLevel FATAL
//! ```
//!
//! Each block becomes a node named after the machine, with its HostName,
//! User, Port, first IdentityFile and UserKnownHostsFile. Roles come from
//! `--role NAME=ROLES`, or else from the machine's name (see
//! [`roles_from_name`]); a machine with neither is an error naming it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::facts::Role;
use crate::util::Problem;

use super::InventoryError;
use super::imported::{Imported, ImportedNode, apply_role_overrides};

/// Running `vagrant ssh-config` went wrong.
#[derive(Debug, thiserror::Error)]
pub enum VagrantError {
    #[error("{dir}: not a directory")]
    NoDir { dir: PathBuf },
    #[error(
        "cannot run `vagrant ssh-config` in {dir}: {error}; where Vagrant is installed, run `vagrant ssh-config > ssh-config.txt` and pass --ssh-config ssh-config.txt"
    )]
    Spawn {
        dir: PathBuf,
        // Not a `source`: error chains would print it twice.
        error: std::io::Error,
    },
    #[error("`vagrant ssh-config` in {dir} failed ({status}): {stderr}")]
    Failed {
        dir: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("`vagrant ssh-config` in {dir} printed output that is not UTF-8")]
    NotUtf8 { dir: PathBuf },
}

/// Runs `vagrant ssh-config` in `dir` (where the Vagrantfile is) and returns
/// what it printed. Every machine must be running: Vagrant itself refuses
/// otherwise, and its message is passed on.
pub fn ssh_config_output(dir: &Path) -> Result<String, VagrantError> {
    if !dir.is_dir() {
        return Err(VagrantError::NoDir { dir: dir.into() });
    }
    let out = Command::new("vagrant")
        .arg("ssh-config")
        .current_dir(dir)
        // Vagrant's own colour codes would end up in the error message.
        .env("VAGRANT_NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| VagrantError::Spawn {
            dir: dir.into(),
            error,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stderr = stderr.trim();
        return Err(VagrantError::Failed {
            dir: dir.into(),
            status: out.status,
            stderr: if stderr.is_empty() {
                "no message".into()
            } else {
                stderr.to_string()
            },
        });
    }
    String::from_utf8(out.stdout).map_err(|_| VagrantError::NotUtf8 { dir: dir.into() })
}

/// One `Host` block of `vagrant ssh-config` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VagrantHost {
    pub name: String,
    pub line: usize,
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<String>,
    pub known_hosts: Option<String>,
    pub proxy_jump: Option<String>,
    /// `StrictHostKeyChecking no` (or `accept-new`, `off`): Vagrant does not
    /// keep the box's host key.
    pub lax_host_keys: bool,
}

/// Strips the double quotes OpenSSH allows around a value.
fn unquote(v: &str) -> String {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
        .to_string()
}

/// Parses `vagrant ssh-config` output; `file` names it in messages.
pub fn parse_ssh_config(file: &str, text: &str) -> Result<Vec<VagrantHost>, InventoryError> {
    let mut problems = Vec::new();
    let mut err = |line: usize, message: String| {
        problems.push(Problem {
            file: file.to_string(),
            line,
            message,
        })
    };
    let mut hosts: Vec<VagrantHost> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let Some((key, value)) = t
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.trim_start_matches(|c: char| c.is_whitespace() || c == '='),
                )
            })
            .filter(|(_, v)| !v.trim().is_empty())
        else {
            err(
                line,
                format!("{t:?} is not an ssh_config option (expected `Keyword value`)"),
            );
            continue;
        };
        if key == "host" {
            let names: Vec<&str> = value.split_whitespace().collect();
            if names.len() != 1 || names[0].contains(['*', '?', '!']) {
                err(
                    line,
                    format!(
                        "Host {value:?}: expected one machine name, as vagrant ssh-config prints"
                    ),
                );
            }
            let name = names.first().copied().unwrap_or_default().to_string();
            if hosts.iter().any(|h| h.name == name) {
                err(line, format!("machine {name:?} is listed twice"));
            }
            hosts.push(VagrantHost {
                name,
                line,
                ..VagrantHost::default()
            });
            continue;
        }
        let Some(h) = hosts.last_mut() else {
            err(
                line,
                format!("{t:?} comes before any `Host` line; is this vagrant ssh-config output?"),
            );
            continue;
        };
        let value = unquote(value);
        match key.as_str() {
            // The first value of an option wins, as in OpenSSH.
            "hostname" if h.host_name.is_none() => h.host_name = Some(value),
            "user" if h.user.is_none() => h.user = Some(value),
            "port" if h.port.is_none() => match value.parse::<u16>() {
                Ok(p) if p > 0 => h.port = Some(p),
                _ => err(
                    line,
                    format!("machine {}: Port {value:?} is not 1-65535", h.name),
                ),
            },
            "identityfile" if h.identity_file.is_none() => h.identity_file = Some(value),
            "userknownhostsfile" if h.known_hosts.is_none() => {
                h.known_hosts = value.split_whitespace().next().map(String::from)
            }
            "stricthostkeychecking" => {
                h.lax_host_keys = matches!(
                    value.to_ascii_lowercase().as_str(),
                    "no" | "off" | "accept-new"
                )
            }
            "proxyjump" if h.proxy_jump.is_none() && value != "none" => h.proxy_jump = Some(value),
            "proxycommand" if value != "none" => err(
                line,
                format!(
                    "machine {}: ProxyCommand is not supported (kubeharden connects itself; it follows ProxyJump)",
                    h.name
                ),
            ),
            _ => {}
        }
    }
    for h in &hosts {
        if h.host_name.is_none() {
            problems.push(Problem {
                file: file.to_string(),
                line: h.line,
                message: format!("machine {}: no HostName", h.name),
            });
        }
    }
    if hosts.is_empty() && problems.is_empty() {
        problems.push(Problem {
            file: file.to_string(),
            line: 0,
            message: "no Host blocks: no running machine?".into(),
        });
    }
    if problems.is_empty() {
        Ok(hosts)
    } else {
        Err(InventoryError { problems })
    }
}

/// Roles told by a machine name, split into words at anything that is not a
/// letter or a digit: a word with `control` or `master` in it, or `cp`,
/// `cp1`, `cp01`..., is a control plane with stacked etcd (kubeadm's
/// default); a word with `worker` in it, or `node`, `node1`..., `w1`... is a
/// worker. `None` when the name says neither, or both.
pub fn roles_from_name(name: &str) -> Option<Vec<Role>> {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let numbered = |w: &str, prefix: &str| {
        w.strip_prefix(prefix)
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
    };
    let cp = words
        .iter()
        .any(|w| w.contains("control") || w.contains("master") || numbered(w, "cp"));
    let worker = words
        .iter()
        .any(|w| w.contains("worker") || numbered(w, "node") || (w.len() > 1 && numbered(w, "w")));
    match (cp, worker) {
        (true, false) => Some(vec![Role::ControlPlane, Role::Etcd]),
        (false, true) => Some(vec![Role::Worker]),
        _ => None,
    }
}

/// `vagrant ssh-config` output (`file` names it in messages) as inventory
/// nodes. `overrides` (`--role NAME=ROLES`) win over names.
pub fn import(
    file: &str,
    text: &str,
    overrides: &[(String, Vec<Role>)],
) -> Result<Imported, InventoryError> {
    let hosts = parse_ssh_config(file, text)?;
    let mut nodes: Vec<ImportedNode> = hosts
        .iter()
        .map(|h| ImportedNode {
            name: h.name.clone(),
            address: h.host_name.clone().unwrap_or_default(),
            roles: roles_from_name(&h.name).unwrap_or_default(),
            user: h.user.clone(),
            port: h.port,
            identity_file: h.identity_file.clone(),
            known_hosts: h.known_hosts.clone(),
            proxy_jump: h.proxy_jump.clone(),
            line: h.line,
        })
        .collect();
    apply_role_overrides(file, &mut nodes, overrides)?;
    let problems: Vec<Problem> = nodes
        .iter()
        .filter(|n| n.roles.is_empty())
        .map(|n| Problem {
            file: file.to_string(),
            line: n.line,
            message: format!(
                "machine {:?}: its name does not say whether it is a control plane or a worker; pass --role {}=control-plane,etcd (or =worker)",
                n.name, n.name
            ),
        })
        .collect();
    if !problems.is_empty() {
        return Err(InventoryError { problems });
    }
    let mut header = vec![format!(
        "kubeharden inventory, generated by `kubeharden inventory from-vagrant` from {file}."
    )];
    let mut notes = Vec::new();
    if hosts.iter().any(|h| h.lax_host_keys) {
        let dev_null = hosts
            .iter()
            .all(|h| h.known_hosts.as_deref() == Some("/dev/null"));
        header.push(String::new());
        if dev_null {
            header.extend([
                "Vagrant does not keep its machines' host keys (StrictHostKeyChecking no,".into(),
                "UserKnownHostsFile /dev/null), and neither does this inventory".into(),
                "(known_hosts = \"/dev/null\"): a rebuilt machine's new key is never refused,"
                    .into(),
                "and every scan must accept the keys it is shown:".into(),
            ]);
        } else {
            header.extend([
                "Vagrant does not check its machines' host keys (StrictHostKeyChecking no);".into(),
                "scan with --host-keys accept-new to record them on first use:".into(),
            ]);
        }
        header.push("  kubeharden scan --inventory THIS_FILE --host-keys accept-new".into());
        notes.push(
            "Vagrant does not check its machines' host keys: scan this inventory with --host-keys accept-new".into(),
        );
    }
    Ok(Imported {
        nodes,
        notes,
        header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tell_roles() {
        let cp = Some(vec![Role::ControlPlane, Role::Etcd]);
        let w = Some(vec![Role::Worker]);
        for n in [
            "cp1",
            "cp",
            "k8s-cp-01",
            "control-plane",
            "controlplane1",
            "master",
            "kube-master-2",
        ] {
            assert_eq!(roles_from_name(n), cp, "{n}");
        }
        for n in [
            "worker1",
            "k8s-worker-2",
            "node1",
            "kube-node-3",
            "w1",
            "W12",
        ] {
            assert_eq!(roles_from_name(n), w, "{n}");
        }
        // Neither, or both: the user must say.
        for n in ["db1", "cpu-box", "w", "nodejs", "cp-worker", "bastion"] {
            assert_eq!(roles_from_name(n), None, "{n}");
        }
    }

    #[test]
    fn problems_carry_lines() {
        let text = "  User vagrant\nHost cp1\n  Port 99999\nHost w1\n  HostName 10.0.0.2\n  ProxyCommand ssh -W %h:%p jump\nHost w1\n  HostName x\n";
        let err = parse_ssh_config("cfg", text).unwrap_err().to_string();
        for want in [
            "cfg:1: \"User vagrant\" comes before any `Host` line",
            "cfg:3: machine cp1: Port \"99999\" is not 1-65535",
            "cfg:6: machine w1: ProxyCommand is not supported",
            "cfg:7: machine \"w1\" is listed twice",
            "cfg:2: machine cp1: no HostName",
        ] {
            assert!(err.contains(want), "{want}\n{err}");
        }
        let err = parse_ssh_config("empty", "\n").unwrap_err().to_string();
        assert!(err.contains("empty: no Host blocks"), "{err}");
    }

    #[test]
    fn quoted_identity_files_and_first_values_win() {
        let text = "Host cp1\n  HostName 10.0.0.1\n  HostName 10.9.9.9\n  IdentityFile \"/a b/key\"\n  IdentityFile /second\n";
        let h = parse_ssh_config("c", text).unwrap();
        assert_eq!(h[0].host_name.as_deref(), Some("10.0.0.1"));
        assert_eq!(h[0].identity_file.as_deref(), Some("/a b/key"));
        assert!(!h[0].lax_host_keys);
    }
}
