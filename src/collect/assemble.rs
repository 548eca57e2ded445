//! Turning collector frames into `NodeFacts`.
//!
//! Everything here parses untrusted text: malformed frames become collection
//! errors on the node, never panics.

use serde_json::Value as Json;

use super::frames::Frame;
use crate::facts::{
    CertificateFacts, CollectionError, ComponentFacts, ComponentKind, ContainerRoot, FileFacts,
    FileKind, ManifestFacts, Mode, NodeFacts, SocketFacts,
};
use crate::yaml;

/// Maps a path the collector read back to the path the process uses:
/// `/proc/123/root/etc/x` is recorded as `/etc/x`.
pub fn record_path(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/proc/") {
        if let Some((pid, tail)) = rest.split_once("/root") {
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                if tail.is_empty() {
                    return "/".into();
                }
                if tail.starts_with('/') {
                    return tail.to_string();
                }
            }
        }
    }
    path.to_string()
}

fn component_of_binary(name: &str) -> Option<ComponentKind> {
    ComponentKind::ALL.into_iter().find(|c| c.binary() == name)
}

/// Decodes the collector's hex dump of /proc/<pid>/cmdline into argv.
pub fn decode_cmdline(hex: &str) -> Option<Vec<String>> {
    // `od -An -tx1` spaces its bytes and breaks its lines.
    let hex: String = hex.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let bytes = bytes?;
    let mut args: Vec<String> = bytes
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if bytes.last() == Some(&0) {
        args.pop();
    }
    Some(args)
}

/// Standard base64, ignoring whitespace; `None` on anything else.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let body = clean
        .strip_suffix(b"==")
        .or_else(|| clean.strip_suffix(b"="))
        .unwrap_or(&clean);
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Most certificate files (or kubeconfig entries) kept per node. A real
/// node has a few dozen; beyond this the node is hostile or broken, and the
/// rest are left out with one collection error that says so.
pub const MAX_CERTIFICATE_FILES: usize = 2000;

/// Whether another certificate may be kept; records the cut once.
fn room_for_certificate(facts: &mut NodeFacts) -> bool {
    if facts.certificates.len() < MAX_CERTIFICATE_FILES {
        return true;
    }
    let item = "certificates".to_string();
    if !facts.errors.iter().any(|e| e.item == item) {
        facts.errors.push(CollectionError {
            item,
            message: format!(
                "more than {MAX_CERTIFICATE_FILES} certificate files on the node; the rest were not read"
            ),
        });
    }
    false
}

fn keep_certificate(facts: &mut NodeFacts, path: String, pem: &str) {
    if room_for_certificate(facts) {
        facts.certificates.push(CertificateFacts {
            path,
            pem: pem.to_string(),
        });
    }
}

/// Certificates embedded in a kubeconfig (`client-certificate-data`,
/// `certificate-authority-data`), recorded as `<file>#<key>`.
fn embedded_certificates(facts: &mut NodeFacts, path: &str, content: &str) {
    for line in content.lines() {
        let line = line.trim();
        for key in ["client-certificate-data", "certificate-authority-data"] {
            let Some(rest) = line
                .strip_prefix(key)
                .and_then(|r| r.trim_start().strip_prefix(':'))
            else {
                continue;
            };
            let pem = base64_decode(rest.trim().trim_matches('"'))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .filter(|t| {
                    t.contains("-----BEGIN CERTIFICATE-----") && !t.contains("PRIVATE KEY")
                });
            let label = format!("{path}#{key}");
            if let Some(pem) = pem.filter(|_| !facts.certificates.iter().any(|c| c.path == label)) {
                if !room_for_certificate(facts) {
                    return;
                }
                facts
                    .certificates
                    .push(CertificateFacts { path: label, pem });
            }
        }
    }
}

/// Records a stat answer, keeping what an earlier frame learnt (a
/// directory's entries).
///
/// A file read inside a container (`inside` set) and the host's file at the
/// same path may both be answered, in any order. When they are one file (a
/// hostPath mount: same device and inode) it is the host's, and nothing
/// says "inside". When they differ, the container's is kept, since the
/// component reads that one, and the clash is a collection error.
fn insert_stat(facts: &mut NodeFacts, path: String, mut new: FileFacts) {
    if let Some(old) = facts.files.get(&path) {
        let same_file = old.dev_ino.is_some() && old.dev_ino == new.dev_ino;
        match (old.inside, new.inside) {
            (None, Some(_)) | (Some(_), None) if same_file => new.inside = None,
            (None, Some(c)) | (Some(c), None) if old.exists && new.exists => {
                facts.errors.push(CollectionError {
                    item: path.clone(),
                    message: format!(
                        "the host and the {} container (pid {}) hold different files at this path; the container's is recorded",
                        c.component.binary(),
                        c.pid
                    ),
                });
                if new.inside.is_none() {
                    return;
                }
            }
            // The host has nothing there: the container's file, as read.
            (Some(_), None) if !new.exists => return,
            _ => {}
        }
        new.entries = old.entries.clone();
        new.content = old.content.clone();
        new.redacted = old.redacted;
        new.truncated = old.truncated;
    }
    facts.files.insert(path, new);
}

/// The container a path was read in: `/proc/<pid>/root/...` of a component
/// whose root is its own. `None` for host paths and for processes that
/// share the host's root (their files are the host's).
fn container_of(facts: &NodeFacts, raw: &str) -> Option<ContainerRoot> {
    let rest = raw.strip_prefix("/proc/")?;
    let (pid, tail) = rest.split_once("/root")?;
    if !(tail.is_empty() || tail.starts_with('/')) {
        return None;
    }
    let pid: u32 = pid.parse().ok()?;
    facts
        .components
        .iter()
        .find(|(_, c)| c.running && c.pid == Some(pid) && c.own_root == Some(true))
        .map(|(kind, _)| ContainerRoot {
            component: *kind,
            pid,
        })
}

/// `root <dir>` lines name the directories listed; the other lines are
/// everything found under them, which each directory gets by prefix.
fn apply_lists(facts: &mut NodeFacts, payload: &str) {
    let mut roots = Vec::new();
    let mut found = Vec::new();
    for line in payload.lines().filter(|l| !l.is_empty()) {
        match line.strip_prefix("root ") {
            Some(r) if found.is_empty() => roots.push(r),
            _ => found.push(line),
        }
    }
    // One `find` lists every root: a root inside another (k3s's
    // server/tls/etcd within server/tls) has its files printed twice.
    let mut seen = std::collections::HashSet::new();
    found.retain(|p| seen.insert(*p));
    for root in roots {
        let prefix = format!("{}/", root.trim_end_matches('/'));
        let entries: Vec<String> = found
            .iter()
            .filter(|p| p.starts_with(&prefix))
            .map(|p| record_path(p))
            .collect();
        facts.files.entry(record_path(root)).or_default().entries = Some(entries);
    }
}

/// One line of a batch stat:
/// `mode|uid|gid|user|group|size|type|dev:ino|mtime|path`.
fn parse_stat_line(line: &str) -> Option<(&str, FileFacts)> {
    let parts: Vec<&str> = line.splitn(10, '|').collect();
    if parts.len() != 10 || parts[9].is_empty() {
        return None;
    }
    let mut f = parse_stat(&format!("ok {}", parts[..8].join("|")));
    f.mtime = parts[8].parse().ok();
    Some((parts[9], f))
}

/// `ok 600|0|0|root|root|5|regular file|2049:131` and friends (the
/// device:inode field is optional).
fn parse_stat(payload: &str) -> FileFacts {
    let mut lines = payload.lines();
    let first = lines.next().unwrap_or("");
    let mut f = FileFacts::default();
    if first == "missing" {
        return f;
    }
    if let Some(err) = first.strip_prefix("error ") {
        f.exists = true;
        f.error = Some(err.trim().to_string());
        return f;
    }
    let Some(body) = first.strip_prefix("ok ") else {
        f.error = Some(format!("unexpected stat answer {first:?}"));
        return f;
    };
    let parts: Vec<&str> = body.splitn(8, '|').collect();
    if parts.len() < 7 {
        f.exists = true;
        f.error = Some(format!("unexpected stat answer {first:?}"));
        return f;
    }
    f.exists = true;
    f.mode = Mode::parse_octal(parts[0]);
    f.uid = parts[1].parse().ok();
    f.gid = parts[2].parse().ok();
    let name = |s: &str| (!s.is_empty() && s != "UNKNOWN").then(|| s.to_string());
    f.user = name(parts[3]);
    f.group = name(parts[4]);
    f.size = parts[5].parse().ok();
    f.kind = Some(match parts[6] {
        "directory" => FileKind::Dir,
        "regular file" | "regular empty file" => FileKind::File,
        "symbolic link" => FileKind::Symlink,
        _ => FileKind::Other,
    });
    f.dev_ino = parts.get(7).and_then(|d| {
        let (dev, ino) = d.split_once(':')?;
        (dev.parse::<u64>().is_ok() && ino.parse::<u64>().is_ok()).then(|| d.to_string())
    });
    if f.mode.is_none() {
        f.error = Some(format!("unexpected mode {:?}", parts[0]));
    }
    f
}

/// What a static-pod manifest says about its component.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParsedManifest {
    pub component: Option<ComponentKind>,
    /// The container's `command` followed by its `args`.
    pub command: Vec<String>,
    /// The image tag, e.g. `v1.32.4`.
    pub tag: Option<String>,
}

/// The container command of a static-pod manifest, and the image tag.
pub fn parse_manifest(text: &str) -> Result<ParsedManifest, String> {
    let doc = yaml::parse(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let containers = doc
        .pointer("/spec/containers")
        .and_then(Json::as_array)
        .ok_or("no spec.containers")?;
    let strings = |v: Option<&Json>| -> Vec<String> {
        v.and_then(Json::as_array)
            .map(|a| a.iter().filter_map(yaml::scalar_text).collect())
            .unwrap_or_default()
    };
    for c in containers {
        let mut command = strings(c.get("command"));
        command.extend(strings(c.get("args")));
        let by_command = command
            .first()
            .and_then(|a0| component_of_binary(a0.rsplit('/').next().unwrap_or(a0)));
        let by_name = c
            .get("name")
            .and_then(Json::as_str)
            .and_then(component_of_binary);
        if let Some(kind) = by_command.or(by_name) {
            let tag = c
                .get("image")
                .and_then(Json::as_str)
                .and_then(|i| i.rsplit_once(':'))
                .map(|(_, t)| t.to_string())
                .filter(|t| !t.contains('/'));
            return Ok(ParsedManifest {
                component: Some(kind),
                command,
                tag,
            });
        }
    }
    Ok(ParsedManifest::default())
}

/// `ss -H -ltnp` lines: `LISTEN 0 4096 127.0.0.1:2379 0.0.0.0:* users:(("etcd",pid=1,fd=7))`.
fn parse_ss(payload: &str) -> Vec<SocketFacts> {
    let mut out = Vec::new();
    for line in payload.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 4 || cols[0] != "LISTEN" {
            continue;
        }
        let local = cols[3];
        let Some((addr, port)) = local.rsplit_once(':') else {
            continue;
        };
        let Ok(port) = port.parse() else { continue };
        let rest = cols[4..].join(" ");
        let process = rest
            .split_once("((\"")
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(p, _)| p.to_string());
        let pid = rest
            .split_once("pid=")
            .and_then(|(_, r)| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok());
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr = addr.split('%').next().unwrap_or(addr);
        out.push(SocketFacts {
            protocol: if addr.contains(':') {
                "tcp6".into()
            } else {
                "tcp".into()
            },
            address: addr.to_string(),
            port,
            pid,
            process,
        });
    }
    out
}

/// /proc/net/tcp{,6} listening sockets, for nodes without `ss`.
fn parse_proc_net(payload: &str) -> Vec<SocketFacts> {
    let mut out = Vec::new();
    for line in payload.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 4 || cols[3] != "0A" {
            continue;
        }
        let Some((addr_hex, port_hex)) = cols[1].split_once(':') else {
            continue;
        };
        let Ok(port) = u16::from_str_radix(port_hex, 16) else {
            continue;
        };
        let address = match addr_hex.len() {
            8 => u32::from_str_radix(addr_hex, 16)
                .map(|v| std::net::Ipv4Addr::from(v.swap_bytes()).to_string())
                .ok(),
            32 => {
                let mut bytes = [0u8; 16];
                let ok = (0..4).all(|w| {
                    u32::from_str_radix(&addr_hex[w * 8..w * 8 + 8], 16)
                        .map(|v| {
                            bytes[w * 4..w * 4 + 4].copy_from_slice(&v.swap_bytes().to_be_bytes())
                        })
                        .is_ok()
                });
                ok.then(|| std::net::Ipv6Addr::from(bytes).to_string())
            }
            _ => None,
        };
        if let Some(address) = address {
            out.push(SocketFacts {
                protocol: if addr_hex.len() == 8 {
                    "tcp".into()
                } else {
                    "tcp6".into()
                },
                address,
                port,
                pid: None,
                process: None,
            });
        }
    }
    out
}

/// Reads frames into the facts of one node.
pub fn apply(facts: &mut NodeFacts, frames: &[Frame], cap: usize) {
    let mut proc_sockets: Option<Vec<SocketFacts>> = None;
    let mut logs = Vec::new();
    for fr in frames {
        let path = record_path(&fr.key);
        match fr.kind.as_str() {
            "meta" => {
                let v = fr.payload.trim();
                match fr.key.as_str() {
                    "os" if !v.is_empty() => facts.node.os = Some(v.to_string()),
                    "kernel" if !v.is_empty() => facts.node.kernel = Some(v.to_string()),
                    _ => {}
                }
            }
            "proc" => apply_proc(facts, &fr.key, &fr.payload),
            "stat" => {
                let mut f = parse_stat(&fr.payload);
                f.inside = container_of(facts, &fr.key);
                insert_stat(facts, path, f)
            }
            "stats" => {
                for line in fr.payload.lines() {
                    if let Some((p, mut f)) = parse_stat_line(line) {
                        f.inside = container_of(facts, p);
                        insert_stat(facts, record_path(p), f);
                    }
                }
            }
            "lists" => apply_lists(facts, &fr.payload),
            "read" => {
                embedded_certificates(facts, &path, &fr.payload);
                let f = facts.files.entry(path).or_default();
                f.truncated = f.size.is_some_and(|s| s > cap as u64);
                f.redacted = fr.payload.contains("<redacted>");
                f.content = Some(fr.payload.clone());
            }
            "manifest" => apply_manifest(facts, &path, &fr.payload),
            "pemkeys" => {
                let labels: Vec<String> = fr
                    .payload
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .take(512)
                    .map(|l| crate::util::cap(l, 64))
                    .collect();
                // A private key in the file: refused on the node, nothing
                // counted.
                if labels != ["refused"] {
                    facts.files.entry(path).or_default().pem_blocks = Some(labels);
                }
            }
            // The same file may be asked for twice: from a PKI directory and
            // through a process's root (`/proc/<pid>/root/...`).
            "cert"
                if fr.payload.contains("-----BEGIN CERTIFICATE-----")
                    && !facts.certificates.iter().any(|c| c.path == path) =>
            {
                keep_certificate(facts, path, &fr.payload)
            }
            "sockets" => match fr.key.as_str() {
                "ss" => facts.sockets.extend(parse_ss(&fr.payload)),
                _ => proc_sockets = Some(parse_proc_net(&fr.payload)),
            },
            "err" => facts.errors.push(CollectionError {
                item: path,
                message: fr.payload.trim().to_string(),
            }),
            "log" => logs.push(super::logs::LogAnswer::parse(&fr.key, &fr.payload)),
            _ => {}
        }
    }
    if !logs.is_empty() {
        super::logs::apply(facts, &logs);
    }
    if facts.sockets.is_empty() {
        if let Some(s) = proc_sockets {
            facts.sockets = s;
        }
    }
}

fn apply_manifest(facts: &mut NodeFacts, path: &str, text: &str) {
    match parse_manifest(text) {
        Ok(ParsedManifest {
            component: Some(kind),
            command,
            tag,
        }) => {
            if kind != ComponentKind::Etcd {
                if let Some(t) = tag.as_ref().filter(|t| t.starts_with('v')) {
                    // Distributions suffix their builds: v1.32.4-rke2r1.
                    let version = t.split(['-', '+']).next().unwrap_or(t).to_string();
                    if facts.node.kubernetes_version.is_none() {
                        facts.node.kubernetes_version = Some(version);
                        facts.node.kubernetes_version_source =
                            Some(format!("image tag {t} in {path}"));
                    }
                }
            } else if let Some(t) = &tag {
                facts.node.etcd_version.get_or_insert_with(|| t.clone());
            }
            let c = facts.components.entry(kind).or_default();
            c.manifest = Some(ManifestFacts {
                path: path.to_string(),
                command,
                error: None,
            });
        }
        Ok(_) => {}
        Err(e) => facts.errors.push(CollectionError {
            item: path.to_string(),
            message: format!("static-pod manifest: {e}"),
        }),
    }
}

fn apply_proc(facts: &mut NodeFacts, comm: &str, payload: &str) {
    let mut pid = None;
    let mut argv = None;
    let mut env = Vec::new();
    let mut own_root = None;
    // `cmd` is followed by `od`'s lines of hex, each starting with a space.
    let mut hex: Option<String> = None;
    for line in payload.lines() {
        if line.starts_with(' ') {
            if let Some(h) = hex.as_mut() {
                h.push_str(line);
            }
            continue;
        }
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        match k {
            "pid" => pid = v.trim().parse::<u32>().ok(),
            "cmd" => hex = Some(v.to_string()),
            "root" => {
                own_root = match v.trim() {
                    "own" => Some(true),
                    "host" => Some(false),
                    _ => None,
                }
            }
            "env" => {
                if let Some((name, value)) = v.split_once('=') {
                    if name.starts_with("ETCD_") {
                        env.push((name.to_string(), value.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(h) = hex {
        argv = decode_cmdline(&h);
    }
    // The component is decided by the full argv[0]; comm is cut at 15
    // characters and only selected the candidate.
    let argv0 = argv
        .as_ref()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_default();
    let base = argv0.rsplit('/').next().unwrap_or(&argv0);
    let Some(kind) = component_of_binary(base) else {
        const COMPONENT_COMMS: [&str; 6] = [
            "kube-apiserver",
            "kube-controller",
            "kube-scheduler",
            "etcd",
            "kubelet",
            "kube-proxy",
        ];
        if !COMPONENT_COMMS.contains(&comm) {
            // A process asked for by name (a distribution's supervisor).
            if facts.processes.len() < 64 {
                facts.processes.push(crate::facts::ProcessFacts {
                    name: crate::util::cap(comm, 64),
                    pid,
                    argv: argv.unwrap_or_default(),
                });
            }
            return;
        }
        if argv.as_ref().is_none_or(|a| a.is_empty()) {
            facts.errors.push(CollectionError {
                item: format!("process {}", pid.unwrap_or(0)),
                message: format!("the command line of a {comm} process could not be read"),
            });
        }
        return;
    };
    let c = facts.components.entry(kind).or_default();
    if c.running {
        facts.errors.push(CollectionError {
            item: format!("component:{kind}"),
            message: format!(
                "more than one {} process; using pid {}",
                kind.binary(),
                c.pid.unwrap_or(0)
            ),
        });
        return;
    }
    c.running = true;
    c.pid = pid;
    c.argv = argv.unwrap_or_default();
    c.env = env.into_iter().collect();
    c.own_root = own_root;
}

/// The component facts for a component, if running.
pub fn running(facts: &NodeFacts, kind: ComponentKind) -> Option<&ComponentFacts> {
    facts.component(kind).filter(|c| c.running)
}

#[cfg(test)]
mod tests {

    #[test]
    fn nested_listed_directories_list_each_file_once() {
        // `find -H /t /t/etcd` prints /t/etcd's files under both roots.
        let mut f = NodeFacts::default();
        apply_lists(
            &mut f,
            "root /t\nroot /t/etcd\n/t/a.crt\n/t/etcd\n/t/etcd/ca.crt\n/t/etcd/ca.crt\n",
        );
        assert_eq!(
            f.files["/t"].entries.as_deref().unwrap(),
            ["/t/a.crt", "/t/etcd", "/t/etcd/ca.crt"]
        );
        assert_eq!(
            f.files["/t/etcd"].entries.as_deref().unwrap(),
            ["/t/etcd/ca.crt"]
        );
    }

    use super::*;

    #[test]
    fn base64_decodes_and_kubeconfig_certificates_are_found() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
        assert_eq!(base64_decode("aGk=\n").unwrap(), b"hi");
        assert_eq!(base64_decode("a$b"), None);
        // "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
        let pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
        let b64: String = {
            const T: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut o = String::new();
            for c in pem.as_bytes().chunks(3) {
                let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
                let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
                for i in 0..4 {
                    o.push(if i <= c.len() {
                        T[(n >> (18 - 6 * i) & 63) as usize] as char
                    } else {
                        '='
                    });
                }
            }
            o
        };
        let mut facts = NodeFacts::default();
        let kc = format!(
            "users:\n- name: x\n  user:\n    client-certificate-data: {b64}\n    client-key-data: <redacted>\n"
        );
        embedded_certificates(&mut facts, "/etc/kubernetes/admin.conf", &kc);
        assert_eq!(facts.certificates.len(), 1);
        // Read twice (host path and through a process root): recorded once.
        let frame = |key: &str| Frame {
            kind: "cert".into(),
            key: key.into(),
            payload: pem.to_string(),
        };
        apply(
            &mut facts,
            &[
                frame("/etc/kubernetes/pki/ca.crt"),
                frame("/proc/7/root/etc/kubernetes/pki/ca.crt"),
            ],
            100,
        );
        assert_eq!(facts.certificates.len(), 2);
        assert_eq!(
            facts.certificates[0].path,
            "/etc/kubernetes/admin.conf#client-certificate-data"
        );
        assert_eq!(facts.certificates[0].pem, pem);
    }

    #[test]
    fn cmdline_hex_decodes_to_argv() {
        let hex: String = b"etcd\0--name=a b\0\0x\0"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            decode_cmdline(&hex).unwrap(),
            vec!["etcd", "--name=a b", "", "x"]
        );
        assert_eq!(decode_cmdline("zz"), None);
        assert_eq!(decode_cmdline("abc"), None);
        // As `od -An -v -tx1` prints it: spaced, on several lines.
        let mut facts = NodeFacts::default();
        apply_proc(
            &mut facts,
            "kubelet",
            "pid 5\ncmd\n 6b 75 62 65 6c 65 74 00 2d 2d 76 3d\n 0a 31 00\n",
        );
        let k = facts.component(ComponentKind::Kubelet).unwrap();
        assert_eq!(k.argv, vec!["kubelet", "--v=\n1"]);
        assert_eq!(k.pid, Some(5));
    }

    #[test]
    fn certificates_are_capped_and_the_cut_is_said_once() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let frames: Vec<Frame> = (0..MAX_CERTIFICATE_FILES + 5)
            .map(|i| Frame {
                kind: "cert".into(),
                key: format!("/etc/kubernetes/pki/c{i}.crt"),
                payload: pem.into(),
            })
            .collect();
        let mut facts = NodeFacts::default();
        apply(&mut facts, &frames, 1024);
        assert_eq!(facts.certificates.len(), MAX_CERTIFICATE_FILES);
        let cut: Vec<_> = facts
            .errors
            .iter()
            .filter(|e| e.item == "certificates")
            .collect();
        assert_eq!(cut.len(), 1);
        assert!(cut[0].message.contains("the rest were not read"));
    }

    #[test]
    fn container_paths_are_recorded_as_the_process_sees_them() {
        assert_eq!(
            record_path("/proc/42/root/var/lib/kube-proxy/config.conf"),
            "/var/lib/kube-proxy/config.conf"
        );
        assert_eq!(record_path("/proc/self/root/x"), "/proc/self/root/x");
        assert_eq!(record_path("/etc/x"), "/etc/x");
    }

    #[test]
    fn files_read_in_a_container_say_so_unless_they_are_the_hosts() {
        let frame = |kind: &str, key: &str, payload: &str| Frame {
            kind: kind.into(),
            key: key.into(),
            payload: payload.into(),
        };
        let hex = |argv: &str| -> String {
            argv.bytes()
                .map(|b| if b == b' ' { 0 } else { b })
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let mut facts = NodeFacts::default();
        apply(
            &mut facts,
            &[
                frame(
                    "proc",
                    "kube-proxy",
                    &format!(
                        "pid 77\ncmd {}\nroot own\n",
                        hex("/usr/local/bin/kube-proxy --config=/var/lib/kube-proxy/config.conf")
                    ),
                ),
                frame(
                    "proc",
                    "kube-apiserver",
                    &format!("pid 9\ncmd {}\nroot own\n", hex("kube-apiserver")),
                ),
                frame(
                    "proc",
                    "kubelet",
                    &format!("pid 5\ncmd {}\nroot host\n", hex("/usr/bin/kubelet")),
                ),
                // The host's PKI, then the same file through the API
                // server's root (a hostPath mount: same device and inode).
                frame(
                    "stats",
                    "batch",
                    "644|0|0|root|root|9|regular file|2049:10|1700000000|/etc/kubernetes/pki/ca.crt\n\
                     644|0|0|root|root|9|regular file|2049:10|1700000000|/proc/9/root/etc/kubernetes/pki/ca.crt\n\
                     644|0|0|root|root|9|regular file|52:7|1700000000|/proc/77/root/var/lib/kube-proxy/config.conf\n\
                     600|0|0|root|root|9|regular file|2049:11|1700000000|/proc/5/root/var/lib/kubelet/config.yaml\n\
                     600|0|0|root|root|9|regular file|60:1|1700000000|/proc/9/root/etc/kubernetes/authn.yaml\n\
                     600|0|0|root|root|9|regular file|2049:12|1700000000|/etc/kubernetes/authn.yaml",
                ),
                frame(
                    "stat",
                    "/proc/77/root/var/lib/kube-proxy/kubeconfig.conf",
                    "missing",
                ),
            ],
            100,
        );
        let kp = facts.component(ComponentKind::KubeProxy).unwrap();
        assert_eq!(kp.own_root, Some(true));
        assert_eq!(
            facts.component(ComponentKind::Kubelet).unwrap().own_root,
            Some(false)
        );
        let inside = |p: &str| facts.files[p].inside.map(|c| (c.component, c.pid));
        assert_eq!(
            inside("/var/lib/kube-proxy/config.conf"),
            Some((ComponentKind::KubeProxy, 77))
        );
        assert_eq!(
            facts.files["/var/lib/kube-proxy/config.conf"]
                .located("/var/lib/kube-proxy/config.conf"),
            "/var/lib/kube-proxy/config.conf inside the kube-proxy container (pid 77)"
        );
        assert!(!facts.files["/var/lib/kube-proxy/kubeconfig.conf"].exists);
        assert_eq!(
            inside("/var/lib/kube-proxy/kubeconfig.conf"),
            Some((ComponentKind::KubeProxy, 77))
        );
        // The host's file by another path, and a process in the host's root.
        assert_eq!(inside("/etc/kubernetes/pki/ca.crt"), None);
        assert_eq!(
            facts.files["/etc/kubernetes/pki/ca.crt"].dev_ino.as_deref(),
            Some("2049:10")
        );
        assert_eq!(inside("/var/lib/kubelet/config.yaml"), None);
        // Two different files at one path: the container's, and an error.
        assert_eq!(
            inside("/etc/kubernetes/authn.yaml"),
            Some((ComponentKind::ApiServer, 9))
        );
        assert!(
            facts
                .error_for("/etc/kubernetes/authn.yaml")
                .is_some_and(|e| e.contains("hold different files")),
            "{:?}",
            facts.errors
        );
    }

    #[test]
    fn stat_answers_parse() {
        let f = parse_stat("ok 600|0|0|root|root|5|regular file\nlink ..data/x");
        assert_eq!(
            (f.exists, f.mode, f.user.as_deref(), f.kind),
            (true, Some(Mode(0o600)), Some("root"), Some(FileKind::File))
        );
        assert!(!parse_stat("missing").exists);
        let e = parse_stat("error stat: Permission denied");
        assert!(e.exists && e.error.is_some());
        assert!(parse_stat("ok garbage").error.is_some());
        let u = parse_stat("ok 700|1001|1001|UNKNOWN|UNKNOWN|4096|directory");
        assert_eq!(
            (u.user, u.uid, u.kind),
            (None, Some(1001), Some(FileKind::Dir))
        );
        let (p, l) =
            parse_stat_line("644|0|0|root|root|5|regular file|64768:2621503|1733389200|/lib/a|b")
                .unwrap();
        assert_eq!(
            (p, l.dev_ino.as_deref(), l.mtime),
            ("/lib/a|b", Some("64768:2621503"), Some(1_733_389_200))
        );
        assert_eq!(
            parse_stat("ok 644|0|0|root|root|5|regular file|x:y").dev_ino,
            None
        );
    }

    #[test]
    fn pem_key_labels_are_kept_and_a_refused_file_counts_nothing() {
        let frame = |key: &str, payload: &str| Frame {
            kind: "pemkeys".into(),
            key: key.into(),
            payload: payload.into(),
        };
        let mut facts = NodeFacts::default();
        apply(
            &mut facts,
            &[
                frame("/pki/sa.pub", "PUBLIC KEY\nPUBLIC KEY\n"),
                frame("/pki/sa.key", "refused\n"),
            ],
            100,
        );
        assert_eq!(
            facts.files["/pki/sa.pub"].pem_blocks.as_deref(),
            Some(&["PUBLIC KEY".to_string(), "PUBLIC KEY".to_string()][..])
        );
        assert!(!facts.files.contains_key("/pki/sa.key"));
    }

    #[test]
    fn manifests_give_command_args_and_version() {
        let ParsedManifest { component: kind, command: cmd, tag } = parse_manifest(
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.32.4\n    command:\n    - kube-apiserver\n    - --profiling=false\n    args: [\"--v=2\"]\n",
        )
        .unwrap();
        assert_eq!(kind, Some(ComponentKind::ApiServer));
        assert_eq!(cmd, vec!["kube-apiserver", "--profiling=false", "--v=2"]);
        assert_eq!(tag.as_deref(), Some("v1.32.4"));
        assert!(parse_manifest("kind: [").is_err());
    }

    #[test]
    fn listening_sockets_parse_from_ss_and_proc() {
        let ss = parse_ss(
            "LISTEN 0 4096 127.0.0.1:2379 0.0.0.0:* users:((\"etcd\",pid=2104,fd=7))\nLISTEN 0 4096 [::]:6443 [::]:* users:((\"kube-apiserver\",pid=9,fd=3))\nESTAB x y z",
        );
        assert_eq!(ss.len(), 2);
        assert_eq!(
            (
                ss[0].address.as_str(),
                ss[0].port,
                ss[0].pid,
                ss[0].process.as_deref()
            ),
            ("127.0.0.1", 2379, Some(2104), Some("etcd"))
        );
        assert_eq!(
            (ss[1].address.as_str(), ss[1].protocol.as_str()),
            ("::", "tcp6")
        );
        let p = parse_proc_net(
            "  sl  local_address rem_address   st\n   0: 0100007F:094B 00000000:0000 0A 0\n   1: 0100007F:094B 0100007F:1234 01 0\n",
        );
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].address.as_str(), p[0].port), ("127.0.0.1", 2379));
    }
}
