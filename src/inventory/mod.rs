//! The inventory: which nodes to scan, how to reach them, and what they are.
//!
//! ```toml
//! [defaults]
//! user = "root"
//! port = 22
//! identity_file = "~/.ssh/id_ed25519"
//! known_hosts = "~/.ssh/known_hosts"
//! connect_timeout = "10s"
//! command_timeout = "60s"
//! [[node]]
//! name = "cp1"
//! address = "10.0.0.11"
//! roles = ["control-plane", "etcd"]
//! ```
//!
//! Like benchmark files, an inventory is validated in one pass and every
//! problem is reported with its file and line. Ad hoc nodes from the command
//! line (`--node cp1=root@10.0.0.11`) produce the same [`NodeSpec`]s.
//!
//! [`load`] also reads Ansible inventories (INI or YAML, kubespray's groups
//! give the roles) when [`ansible::detect`] recognises one; TOML is the
//! default. [`vagrant`] turns `vagrant ssh-config` output into nodes.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use crate::facts::Role;
use crate::util::Problem;

pub mod ansible;
pub mod imported;
pub mod ssh_config;
pub mod vagrant;

pub use ssh_config::{SshConfig, SshHostOptions};

/// How to reach one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    /// Host name or address; may be an alias from `~/.ssh/config`.
    pub address: String,
    pub roles: Vec<Role>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub proxy_jump: Option<String>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// What `~/.ssh/config` says beyond the above (ProxyCommand, agent,
    /// host key checking, certificates).
    pub ssh: SshHostOptions,
}

/// Settings every node inherits unless it sets its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defaults {
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub proxy_jump: Option<String>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            user: None,
            port: None,
            identity_file: None,
            known_hosts: None,
            proxy_jump: None,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub struct InventoryError {
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for InventoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "invalid inventory:")?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

const DEFAULT_KEYS: &[&str] = &[
    "user",
    "port",
    "identity_file",
    "known_hosts",
    "proxy_jump",
    "connect_timeout",
    "command_timeout",
];
const NODE_KEYS: &[&str] = &[
    "name",
    "address",
    "roles",
    "user",
    "port",
    "identity_file",
    "known_hosts",
    "proxy_jump",
    "connect_timeout",
    "command_timeout",
];

/// Expands a leading `~/` to `$HOME`.
pub fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// Parses `10s`, `2m`, `1500ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d =
        humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?} is not a duration: {e}"))?;
    if d.is_zero() {
        return Err(format!("{s:?}: a timeout must be positive"));
    }
    Ok(d)
}

struct Cx<'a> {
    file: &'a str,
    newlines: Vec<usize>,
    problems: Vec<Problem>,
}

impl Cx<'_> {
    fn err(&mut self, span: Range<usize>, message: String) {
        let line = self.newlines.partition_point(|&nl| nl < span.start) + 1;
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            message,
        });
    }

    fn str_of(&mut self, t: &DeTable<'_>, key: &str, what: &str) -> Option<String> {
        let v = t.get(key)?;
        match v.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
            _ => {
                self.err(
                    v.span(),
                    format!("{what}: {key} must be a non-empty string"),
                );
                None
            }
        }
    }

    fn port(&mut self, t: &DeTable<'_>, what: &str) -> Option<u16> {
        let v = t.get("port")?;
        match v.get_ref() {
            DeValue::Integer(i) => match i.as_str().parse::<u16>() {
                Ok(p) if p > 0 => Some(p),
                _ => {
                    self.err(v.span(), format!("{what}: port must be 1-65535"));
                    None
                }
            },
            _ => {
                self.err(v.span(), format!("{what}: port must be a number"));
                None
            }
        }
    }

    fn duration(&mut self, t: &DeTable<'_>, key: &str, what: &str) -> Option<Duration> {
        let s = self.str_of(t, key, what)?;
        match parse_duration(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(t.get(key).unwrap().span(), format!("{what}: {key}: {e}"));
                None
            }
        }
    }

    fn unknown_keys(&mut self, t: &DeTable<'_>, allowed: &[&str], what: &str) {
        for (k, _) in t.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                self.err(
                    k.span(),
                    format!(
                        "{what}: unknown key {:?} (allowed: {})",
                        k.get_ref(),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }
}

/// Parses an inventory file's text. `file` is used in messages. A node's own
/// settings win over `~/.ssh/config` for its address, which wins over the
/// inventory's `[defaults]`, as command-line options and config do in OpenSSH.
pub fn parse(file: &str, text: &str, ssh: &SshConfig) -> Result<Vec<NodeSpec>, InventoryError> {
    let mut cx = Cx {
        file,
        newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        problems: Vec::new(),
    };
    let (doc, errors) = DeTable::parse_recoverable(text);
    for (span, message) in crate::util::toml_syntax::syntax_errors(text, &errors) {
        cx.err(span, message);
    }
    let doc = doc.get_ref();
    for (k, _) in doc.iter() {
        if !["defaults", "node"].contains(&k.get_ref().as_ref()) {
            cx.err(
                k.span(),
                format!("unknown top-level key {:?} (defaults, node)", k.get_ref()),
            );
        }
    }
    let mut defaults = Defaults::default();
    if let Some(v) = doc.get("defaults") {
        match v.get_ref() {
            DeValue::Table(t) => {
                cx.unknown_keys(t, DEFAULT_KEYS, "[defaults]");
                defaults.user = cx.str_of(t, "user", "[defaults]");
                defaults.port = cx.port(t, "[defaults]");
                defaults.identity_file = cx
                    .str_of(t, "identity_file", "[defaults]")
                    .map(|p| expand_home(&p));
                defaults.known_hosts = cx
                    .str_of(t, "known_hosts", "[defaults]")
                    .map(|p| expand_home(&p));
                defaults.proxy_jump = cx.str_of(t, "proxy_jump", "[defaults]");
                if let Some(d) = cx.duration(t, "connect_timeout", "[defaults]") {
                    defaults.connect_timeout = d;
                }
                if let Some(d) = cx.duration(t, "command_timeout", "[defaults]") {
                    defaults.command_timeout = d;
                }
            }
            _ => cx.err(v.span(), "defaults must be a table: [defaults]".into()),
        }
    }
    let mut nodes = Vec::new();
    let mut names = HashSet::new();
    match doc.get("node").map(|v| (v.span(), v.get_ref())) {
        Some((_, DeValue::Array(items))) => {
            for item in items.iter() {
                let DeValue::Table(t) = item.get_ref() else {
                    cx.err(item.span(), "each node must be a table: [[node]]".into());
                    continue;
                };
                let before = cx.problems.len();
                let name = cx.str_of(t, "name", "node");
                let what = format!("node {}", name.as_deref().unwrap_or("<unnamed>"));
                cx.unknown_keys(t, NODE_KEYS, &what);
                if name.is_none() {
                    cx.err(item.span(), "node: missing required key \"name\"".into());
                }
                let address = cx.str_of(t, "address", &what);
                if address.is_none() && t.get("address").is_none() {
                    cx.err(
                        item.span(),
                        format!("{what}: missing required key \"address\""),
                    );
                }
                if let Some(why) = address.as_deref().and_then(placeholder_address) {
                    cx.err(t.get("address").unwrap().span(), format!("{what}: {why}"));
                }
                let roles = match t.get("roles").map(|v| (v.span(), v.get_ref())) {
                    Some((_, DeValue::Array(rs))) => {
                        let mut roles = Vec::new();
                        for r in rs.iter() {
                            match r.get_ref() {
                                DeValue::String(s) => match Role::parse(s) {
                                    Some(role) => roles.push(role),
                                    None => cx.err(
                                        r.span(),
                                        format!("{what}: unknown role {:?} (control-plane, etcd, worker)", s.as_ref()),
                                    ),
                                },
                                _ => cx.err(r.span(), format!("{what}: roles must be strings")),
                            }
                        }
                        if roles.is_empty() && rs.is_empty() {
                            cx.err(
                                t.get("roles").unwrap().span(),
                                format!("{what}: roles is empty"),
                            );
                        }
                        roles
                    }
                    Some((s, _)) => {
                        cx.err(s, format!("{what}: roles must be an array"));
                        Vec::new()
                    }
                    None => {
                        cx.err(
                            item.span(),
                            format!("{what}: missing required key \"roles\""),
                        );
                        Vec::new()
                    }
                };
                let alias = address.unwrap_or_default();
                let hc = ssh.resolve(&alias);
                let spec = NodeSpec {
                    name: name.clone().unwrap_or_default(),
                    address: hc.host_name.clone().unwrap_or(alias),
                    roles,
                    user: cx
                        .str_of(t, "user", &what)
                        .or(hc.user)
                        .or(defaults.user.clone()),
                    port: cx.port(t, &what).or(hc.port).or(defaults.port),
                    identity_file: cx
                        .str_of(t, "identity_file", &what)
                        .map(|p| expand_home(&p))
                        .or(hc.identity_file)
                        .or(defaults.identity_file.clone()),
                    known_hosts: cx
                        .str_of(t, "known_hosts", &what)
                        .map(|p| expand_home(&p))
                        .or(hc.known_hosts)
                        .or(defaults.known_hosts.clone()),
                    proxy_jump: cx
                        .str_of(t, "proxy_jump", &what)
                        .or(hc.proxy_jump)
                        .or(defaults.proxy_jump.clone()),
                    connect_timeout: cx
                        .duration(t, "connect_timeout", &what)
                        .unwrap_or(defaults.connect_timeout),
                    command_timeout: cx
                        .duration(t, "command_timeout", &what)
                        .unwrap_or(defaults.command_timeout),
                    ssh: hc.ssh.clone(),
                };
                if let Some(n) = &name {
                    if !names.insert(n.clone()) {
                        let span = t.get("name").unwrap().span();
                        cx.err(span, format!("node name {n:?} is used twice"));
                    }
                }
                if cx.problems.len() == before {
                    nodes.push(spec);
                }
            }
        }
        Some((s, _)) => cx.err(s, "node must be an array of tables: [[node]]".into()),
        None => cx.err(0..0, "no [[node]] entries".into()),
    }
    if cx.problems.is_empty() {
        Ok(nodes)
    } else {
        Err(InventoryError {
            problems: cx.problems,
        })
    }
}

/// Why an address is a placeholder no scan should try, if it is one: the
/// ranges and names reserved for documentation (RFC 5737, RFC 3849,
/// RFC 2606), which the example inventories use. A copied example left
/// unedited then fails at once, instead of connecting to whatever answers at
/// an address that was only meant to be read.
pub fn placeholder_address(address: &str) -> Option<String> {
    let host = address.rsplit_once('@').map_or(address, |(_, h)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let reserved = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            let o = ip.octets();
            matches!(
                (o[0], o[1], o[2]),
                (192, 0, 2) | (198, 51, 100) | (203, 0, 113)
            )
            .then_some("an IPv4 address reserved for documentation (RFC 5737)")
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            let s = ip.segments();
            (s[0] == 0x2001 && s[1] == 0x0db8)
                .then_some("an IPv6 address reserved for documentation (RFC 3849)")
        }
        Err(_) => {
            let h = host.trim_end_matches('.').to_ascii_lowercase();
            let reserved_name = ["example", "test", "invalid"]
                .iter()
                .any(|tld| h == *tld || h.ends_with(&format!(".{tld}")))
                || ["example.com", "example.net", "example.org"]
                    .iter()
                    .any(|d| h == *d || h.ends_with(&format!(".{d}")));
            reserved_name.then_some("a name reserved for documentation (RFC 2606)")
        }
    }?;
    Some(format!(
        "address {address:?} is {reserved}: a placeholder from an example; put the node's real address or ~/.ssh/config alias there"
    ))
}

/// Reads and parses an inventory file: TOML, or an Ansible inventory when
/// [`ansible::detect`] says so (hosts it skips are noted on stderr).
pub fn load(path: &Path, ssh: &SshConfig) -> Result<Vec<NodeSpec>, InventoryError> {
    let shown = path.display().to_string();
    let text = crate::util::read_text(path).map_err(|e| InventoryError {
        problems: vec![Problem {
            file: shown.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        }],
    })?;
    match ansible::detect(path, &text) {
        None => parse(&shown, &text, ssh),
        Some(kind) => {
            let (nodes, notes) = ansible::parse(&shown, &text, kind, ssh)?;
            for n in notes {
                eprintln!("kubeharden: note: {n}");
            }
            let problems: Vec<Problem> = nodes
                .iter()
                .filter_map(|n| {
                    placeholder_address(&n.address).map(|why| Problem {
                        file: shown.clone(),
                        line: 0,
                        message: format!("node {}: {why}", n.name),
                    })
                })
                .collect();
            if problems.is_empty() {
                Ok(nodes)
            } else {
                Err(InventoryError { problems })
            }
        }
    }
}

/// Parses `--node NAME=[USER@]ADDRESS[:PORT]`; the address may be an alias
/// from `~/.ssh/config`.
pub fn parse_node_arg(s: &str, defaults: &Defaults, ssh: &SshConfig) -> Result<NodeSpec, String> {
    let (name, target) = s
        .split_once('=')
        .ok_or_else(|| format!("--node {s:?}: expected NAME=[USER@]ADDRESS[:PORT]"))?;
    if name.is_empty() || target.is_empty() {
        return Err(format!("--node {s:?}: expected NAME=[USER@]ADDRESS[:PORT]"));
    }
    let (user, hostport) = match target.split_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, target),
    };
    let (alias, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| format!("--node {s:?}: {p:?} is not a port"))?;
            (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                Some(port),
            )
        }
        _ => (hostport.to_string(), None),
    };
    if let Some(why) = placeholder_address(&alias) {
        return Err(format!("--node {s:?}: {why}"));
    }
    let hc = ssh.resolve(&alias);
    Ok(NodeSpec {
        name: name.to_string(),
        address: hc.host_name.unwrap_or(alias),
        roles: Vec::new(),
        user: user.or(hc.user).or(defaults.user.clone()),
        port: port.or(hc.port).or(defaults.port),
        identity_file: hc.identity_file.or(defaults.identity_file.clone()),
        known_hosts: hc.known_hosts.or(defaults.known_hosts.clone()),
        proxy_jump: hc.proxy_jump.or(defaults.proxy_jump.clone()),
        connect_timeout: defaults.connect_timeout,
        command_timeout: defaults.command_timeout,
        ssh: hc.ssh.clone(),
    })
}

/// Parses `--role NAME=ROLE[,ROLE]`.
pub fn parse_role_arg(s: &str) -> Result<(String, Vec<Role>), String> {
    let (name, roles) = s
        .split_once('=')
        .ok_or_else(|| format!("--role {s:?}: expected NAME=ROLE[,ROLE]"))?;
    let roles = roles
        .split(',')
        .map(|r| Role::parse(r.trim()).ok_or_else(|| format!("--role {s:?}: unknown role {r:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_string(), roles))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[defaults]
user = "root"
port = 22
identity_file = "/keys/id"
known_hosts = "/keys/known_hosts"
connect_timeout = "5s"
command_timeout = "1m"
[[node]]
name = "cp1"
address = "10.0.0.11"
roles = ["control-plane", "etcd"]
[[node]]
name = "w1"
address = "10.0.0.21"
roles = ["worker"]
user = "auditor"
port = 2222
"#;

    #[test]
    fn the_example_inventory_is_refused_until_its_placeholders_are_replaced() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/inventory.toml");
        let err = load(&path, &SshConfig::default()).unwrap_err();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("address ="))
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(
            err.problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            lines
        );
        assert!(
            err.problems[0].message.contains(
                "\"192.0.2.11\" is an IPv4 address reserved for documentation (RFC 5737)"
            ),
            "{err}"
        );
        assert!(err.problems[1].message.contains("RFC 2606"), "{err}");
        let edited = text
            .replace("192.0.2.", "10.0.0.")
            .replace("cp2.example", "cp2");
        let nodes = parse("edited.toml", &edited, &SshConfig::default()).unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[2].user.as_deref(), Some("auditor"));
        assert_eq!(nodes[0].command_timeout, Duration::from_secs(60));
    }

    #[test]
    fn placeholders_are_the_documentation_ranges_only() {
        for a in [
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.255",
            "2001:db8::1",
            "[2001:db8::1]",
            "cp1.example",
            "node.example.com",
            "EXAMPLE.ORG.",
            "x.test",
            "root@192.0.2.3",
        ] {
            assert!(placeholder_address(a).is_some(), "{a}");
        }
        for a in [
            "192.0.3.1",
            "10.0.0.1",
            "198.51.101.7",
            "2001:db9::1",
            "cp1",
            "example.internal",
            "myexample.com",
            "testing",
            "localhost",
        ] {
            assert_eq!(placeholder_address(a), None, "{a}");
        }
        let err = parse_node_arg(
            "cp1=root@192.0.2.11",
            &Defaults::default(),
            &SshConfig::default(),
        )
        .unwrap_err();
        assert!(
            err.starts_with("--node \"cp1=root@192.0.2.11\": address \"192.0.2.11\""),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_inherited_and_overridden() {
        let nodes = parse("inv.toml", GOOD, &SshConfig::default()).unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].user.as_deref(), Some("root"));
        assert_eq!(nodes[0].roles, vec![Role::ControlPlane, Role::Etcd]);
        assert_eq!(nodes[0].connect_timeout, Duration::from_secs(5));
        assert_eq!(nodes[1].user.as_deref(), Some("auditor"));
        assert_eq!(nodes[1].port, Some(2222));
        assert_eq!(nodes[1].command_timeout, Duration::from_secs(60));
        assert_eq!(nodes[1].identity_file, Some(PathBuf::from("/keys/id")));
    }

    #[test]
    fn ssh_config_aliases_fill_what_the_node_does_not_set() {
        let ssh = SshConfig::parse("Host cp1\n  HostName 10.9.9.9\n  User admin\n  Port 2200\n");
        let text = "[defaults]\nuser = \"root\"\n[[node]]\nname = \"cp1\"\naddress = \"cp1\"\nroles = [\"worker\"]\n[[node]]\nname = \"cp1b\"\naddress = \"cp1\"\nroles = [\"worker\"]\nuser = \"me\"\n";
        let n = parse("i.toml", text, &ssh).unwrap();
        assert_eq!(
            (n[0].address.as_str(), n[0].user.as_deref(), n[0].port),
            ("10.9.9.9", Some("admin"), Some(2200))
        );
        assert_eq!(n[1].user.as_deref(), Some("me"));
        let a = parse_node_arg("x=cp1", &Defaults::default(), &ssh).unwrap();
        assert_eq!(
            (a.address.as_str(), a.user.as_deref()),
            ("10.9.9.9", Some("admin"))
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "[defaults]\ncolour = 1\nconnect_timeout = \"soon\"\n[[node]]\nname = \"a\"\naddress = \"x\"\nroles = [\"master\"]\n[[node]]\nname = \"a\"\naddress = \"y\"\nroles = [\"worker\"]\nport = 70000\n[[node]]\naddress = \"z\"\nroles = [\"worker\"]\n";
        let err = parse("inv.toml", text, &SshConfig::default()).unwrap_err();
        let lines: Vec<usize> = err.problems.iter().map(|p| p.line).collect();
        let msgs = err.to_string();
        assert!(
            msgs.contains("inv.toml:2: [defaults]: unknown key \"colour\""),
            "{msgs}"
        );
        assert!(msgs.contains("inv.toml:3:"), "{msgs}");
        assert!(
            msgs.contains("inv.toml:7: node a: unknown role \"master\""),
            "{msgs}"
        );
        assert!(
            msgs.contains("inv.toml:9: node name \"a\" is used twice"),
            "{msgs}"
        );
        assert!(
            msgs.contains("inv.toml:12: node a: port must be 1-65535"),
            "{msgs}"
        );
        assert!(msgs.contains("missing required key \"name\""), "{msgs}");
        assert_eq!(lines.len(), 6, "{msgs}");
    }

    #[test]
    fn ad_hoc_node_arguments_parse() {
        let d = Defaults {
            user: Some("root".into()),
            ..Defaults::default()
        };
        let none = SshConfig::default();
        let n = parse_node_arg("cp1=admin@10.0.0.11:2222", &d, &none).unwrap();
        assert_eq!(
            (
                n.name.as_str(),
                n.user.as_deref(),
                n.address.as_str(),
                n.port
            ),
            ("cp1", Some("admin"), "10.0.0.11", Some(2222))
        );
        let n = parse_node_arg("w1=10.0.0.21", &d, &none).unwrap();
        assert_eq!((n.user.as_deref(), n.port), (Some("root"), None));
        let n = parse_node_arg("v6=[fd00::1]:22", &d, &none).unwrap();
        assert_eq!(n.address, "fd00::1");
        assert!(parse_node_arg("nonsense", &d, &none).is_err());
        assert!(parse_node_arg("a=b:port", &d, &none).is_err());
        assert_eq!(
            parse_role_arg("cp1=control-plane,etcd").unwrap().1,
            vec![Role::ControlPlane, Role::Etcd]
        );
        assert!(parse_role_arg("cp1=master").is_err());
    }
}
