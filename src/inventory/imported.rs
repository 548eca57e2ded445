//! Nodes imported from another tool's inventory (`vagrant ssh-config`, an
//! Ansible inventory): turned into [`NodeSpec`]s the way a TOML inventory's
//! nodes are, or written out as an inventory TOML that `--inventory` reads.

use crate::facts::Role;
use crate::util::Problem;

use super::{Defaults, InventoryError, NodeSpec, SshConfig, expand_home};

/// One node as another tool describes it. Paths are kept as written
/// (`~/` is expanded when the node becomes a [`NodeSpec`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedNode {
    pub name: String,
    pub address: String,
    pub roles: Vec<Role>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<String>,
    pub known_hosts: Option<String>,
    pub proxy_jump: Option<String>,
    /// Where the node is defined (1-based; 0 when unknown).
    pub line: usize,
}

/// What an import found: the nodes, and notes for the user (hosts skipped,
/// host-key advice) that are not errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub nodes: Vec<ImportedNode>,
    pub notes: Vec<String>,
    /// Comment lines for the top of a generated inventory TOML.
    pub header: Vec<String>,
}

/// Roles in their canonical order, without repeats.
pub fn canonical_roles(roles: &[Role]) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| roles.contains(r))
        .collect()
}

/// Applies `--role NAME=ROLES` overrides; a name that is not a node is an
/// error naming `file` (the input the nodes came from).
pub fn apply_role_overrides(
    file: &str,
    nodes: &mut [ImportedNode],
    overrides: &[(String, Vec<Role>)],
) -> Result<(), InventoryError> {
    let mut problems = Vec::new();
    for (name, roles) in overrides {
        match nodes.iter_mut().find(|n| &n.name == name) {
            Some(n) => n.roles = canonical_roles(roles),
            None => problems.push(Problem {
                file: file.to_string(),
                line: 0,
                message: format!(
                    "--role {name}=...: no node named {name:?} here (nodes: {})",
                    nodes
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InventoryError { problems })
    }
}

impl ImportedNode {
    /// The node as the scanner takes it: exactly what the generated TOML
    /// would load to. The address may be a `~/.ssh/config` alias, and the
    /// node's own settings win over that config, as in a TOML inventory.
    pub fn to_spec(&self, ssh: &SshConfig) -> NodeSpec {
        let d = Defaults::default();
        let hc = ssh.resolve(&self.address);
        NodeSpec {
            name: self.name.clone(),
            address: hc.host_name.unwrap_or_else(|| self.address.clone()),
            roles: self.roles.clone(),
            user: self.user.clone().or(hc.user),
            port: self.port.or(hc.port),
            identity_file: self
                .identity_file
                .as_deref()
                .map(expand_home)
                .or(hc.identity_file),
            known_hosts: self
                .known_hosts
                .as_deref()
                .map(expand_home)
                .or(hc.known_hosts),
            proxy_jump: self.proxy_jump.clone().or(hc.proxy_jump),
            connect_timeout: d.connect_timeout,
            command_timeout: d.command_timeout,
            ssh: hc.ssh.clone(),
        }
    }
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Writes the nodes as an inventory TOML (the format of
/// `examples/inventory.toml`), each node with every setting it has.
pub fn to_toml(imported: &Imported) -> String {
    let mut out = String::new();
    for h in &imported.header {
        if h.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str(&format!("# {h}\n"));
        }
    }
    for n in &imported.nodes {
        out.push_str("\n[[node]]\n");
        out.push_str(&format!("name = {}\n", quoted(&n.name)));
        out.push_str(&format!("address = {}\n", quoted(&n.address)));
        let roles: Vec<String> = n.roles.iter().map(|r| quoted(r.as_str())).collect();
        out.push_str(&format!("roles = [{}]\n", roles.join(", ")));
        if let Some(u) = &n.user {
            out.push_str(&format!("user = {}\n", quoted(u)));
        }
        if let Some(p) = n.port {
            out.push_str(&format!("port = {p}\n"));
        }
        if let Some(i) = &n.identity_file {
            out.push_str(&format!("identity_file = {}\n", quoted(i)));
        }
        if let Some(k) = &n.known_hosts {
            out.push_str(&format!("known_hosts = {}\n", quoted(k)));
        }
        if let Some(j) = &n.proxy_jump {
            out.push_str(&format!("proxy_jump = {}\n", quoted(j)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> ImportedNode {
        ImportedNode {
            name: name.into(),
            address: "10.0.0.1".into(),
            roles: vec![Role::Worker],
            user: Some("vagrant".into()),
            port: Some(2222),
            identity_file: Some("/keys/a \"b\".key".into()),
            known_hosts: Some("/dev/null".into()),
            proxy_jump: None,
            line: 3,
        }
    }

    #[test]
    fn the_toml_round_trips_through_the_loader() {
        let imported = Imported {
            nodes: vec![node("cp1"), node("w1")],
            notes: vec![],
            header: vec!["generated".into(), "".into(), "second".into()],
        };
        let text = to_toml(&imported);
        assert!(text.starts_with("# generated\n#\n# second\n"), "{text}");
        let ssh = SshConfig::default();
        let specs = super::super::parse("gen.toml", &text, &ssh).unwrap();
        let direct: Vec<NodeSpec> = imported.nodes.iter().map(|n| n.to_spec(&ssh)).collect();
        assert_eq!(specs, direct);
        assert_eq!(
            specs[0].identity_file.as_deref(),
            Some(std::path::Path::new("/keys/a \"b\".key"))
        );
    }

    #[test]
    fn role_overrides_replace_roles_and_name_unknown_nodes() {
        let mut nodes = vec![node("cp1")];
        apply_role_overrides(
            "in",
            &mut nodes,
            &[("cp1".into(), vec![Role::Etcd, Role::ControlPlane])],
        )
        .unwrap();
        assert_eq!(nodes[0].roles, vec![Role::ControlPlane, Role::Etcd]);
        let err = apply_role_overrides("in", &mut nodes, &[("db".into(), vec![Role::Worker])])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("in: --role db=...: no node named \"db\""),
            "{err}"
        );
    }
}
