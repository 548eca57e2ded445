//! `kubeharden inventory`: write an inventory TOML from another tool's
//! description of the nodes (`vagrant ssh-config`, an Ansible inventory).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use kubeharden::facts::Role;
use kubeharden::inventory::{self, ansible, imported, vagrant};

#[derive(clap::Subcommand, Debug)]
pub enum InventoryCmd {
    /// Inventory TOML from `vagrant ssh-config`: one node per machine, roles
    /// from --role or from machine names (cp, control, master: control-plane
    /// and etcd; worker, node, w1: worker).
    FromVagrant {
        /// Directory holding the Vagrantfile, where `vagrant ssh-config` runs
        /// (default: the current directory).
        #[arg(value_name = "DIR", conflicts_with = "ssh_config")]
        dir: Option<PathBuf>,
        /// Read saved `vagrant ssh-config` output from FILE (`-`: standard
        /// input) instead of running Vagrant.
        #[arg(long, value_name = "FILE")]
        ssh_config: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Inventory TOML from an Ansible inventory (INI or YAML; kubespray's
    /// groups kube_control_plane, etcd and kube_node give the roles).
    FromAnsible {
        /// The Ansible inventory: INI, or YAML when it ends in .yml/.yaml or
        /// starts with a `name:` key.
        file: PathBuf,
        /// Read FILE as this kind instead of guessing.
        #[arg(long, value_enum)]
        kind: Option<AnsibleKind>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum AnsibleKind {
    Ini,
    Yaml,
}

#[derive(clap::Args, Debug)]
pub struct Common {
    /// Roles of a node, overriding what its name or groups say:
    /// NAME=ROLE[,ROLE] (control-plane, etcd, worker). Repeatable.
    #[arg(long = "role", value_name = "NAME=ROLES")]
    roles: Vec<String>,
    /// Write the inventory here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

enum Source {
    VagrantDir(PathBuf),
    VagrantOutput(PathBuf),
    Ansible(PathBuf, Option<ansible::Kind>),
}

/// A checked `inventory` command.
pub struct Plan {
    source: Source,
    overrides: Vec<(String, Vec<Role>)>,
    output: Option<PathBuf>,
}

fn overrides(roles: &[String]) -> Result<Vec<(String, Vec<Role>)>> {
    let mut out: Vec<(String, Vec<Role>)> = Vec::new();
    for r in roles {
        let (name, roles) = inventory::parse_role_arg(r).map_err(anyhow::Error::msg)?;
        if out.iter().any(|(n, _)| *n == name) {
            bail!("--role {r:?}: {name:?} is given twice");
        }
        out.push((name, roles));
    }
    Ok(out)
}

pub fn plan(cmd: InventoryCmd) -> Result<Plan> {
    Ok(match cmd {
        InventoryCmd::FromVagrant {
            dir,
            ssh_config,
            common,
        } => Plan {
            source: match ssh_config {
                Some(f) => Source::VagrantOutput(f),
                None => Source::VagrantDir(dir.unwrap_or_else(|| PathBuf::from("."))),
            },
            overrides: overrides(&common.roles)?,
            output: common.output,
        },
        InventoryCmd::FromAnsible { file, kind, common } => Plan {
            source: Source::Ansible(
                file,
                kind.map(|k| match k {
                    AnsibleKind::Ini => ansible::Kind::Ini,
                    AnsibleKind::Yaml => ansible::Kind::Yaml,
                }),
            ),
            overrides: overrides(&common.roles)?,
            output: common.output,
        },
    })
}

fn read(path: &std::path::Path) -> Result<(String, String)> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        return Ok(("<stdin>".into(), text));
    }
    let text = kubeharden::util::read_text(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok((path.display().to_string(), text))
}

/// Imports the nodes and writes the inventory; notes go to stderr.
pub fn run(plan: Plan) -> Result<()> {
    let imported = match &plan.source {
        Source::VagrantDir(dir) => {
            let text = vagrant::ssh_config_output(dir)?;
            let shown = format!("`vagrant ssh-config` in {}", dir.display());
            vagrant::import(&shown, &text, &plan.overrides)
        }
        Source::VagrantOutput(path) => {
            let (shown, text) = read(path)?;
            vagrant::import(&shown, &text, &plan.overrides)
        }
        Source::Ansible(path, kind) => {
            let (shown, text) = read(path)?;
            let kind = kind
                .or_else(|| ansible::detect(path, &text))
                .unwrap_or(ansible::Kind::Ini);
            ansible::import(&shown, &text, kind, &plan.overrides)
        }
    }
    // InventoryError's Display lists every problem with file:line.
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    for n in &imported.notes {
        eprintln!("kubeharden: note: {n}");
    }
    let text = imported::to_toml(&imported);
    super::write_out(plan.output.as_ref(), text.as_bytes())
}
