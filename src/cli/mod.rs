//! Command-line interface. Exit codes (also in the README):
//!
//! * 0: the run passes its gate (`--fail-on`, default `fail`: no `fail`, no
//!   `error`, every node scanned);
//! * 1: the run fails its gate (for `diff`: something got worse);
//! * 2: usage or input error (bad arguments, unreadable or invalid facts,
//!   benchmark, waiver or baseline files); nothing was evaluated;
//! * 3: `--store` could not be opened or written; the reports were still
//!   written (stderr says whether the run passed its gate).

mod demo;
mod history;
mod inventory;
mod merge;
mod output;
mod scan;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use kubeharden::bench::{self, Benchmark};
use kubeharden::facts::{NodeFacts, load_facts_path};
use kubeharden::report::{self, Gate, text::Color};

#[derive(Parser, Debug)]
#[command(
    name = "kubeharden",
    version,
    about = "Agentless CIS Kubernetes Benchmark auditor"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate saved node facts (a facts JSON file or a directory of them).
    Eval {
        /// Facts file (one node or an array of nodes) or directory of *.json files.
        facts: PathBuf,
        #[command(flatten)]
        bench: BenchArg,
        #[command(flatten)]
        layout: LayoutArg,
        #[command(flatten)]
        report: Box<ReportArgs>,
    },
    /// Scan nodes (over SSH, locally, or through an exec command) and evaluate them.
    Scan(Box<ScanArgs>),
    /// Build the built-in lab of simulated nodes (root), scan it over SSH,
    /// print the report and tear the lab down.
    Demo {
        /// Install the lab's Debian packages first (apt-get).
        #[arg(long)]
        install: bool,
        /// Where to write the JSON report.
        #[arg(long, default_value = "kubeharden-demo-report.json")]
        json: PathBuf,
    },
    /// Compare two JSON reports: new failures, fixed checks, changed
    /// evidence, nodes added or removed. Exits 1 when something got worse.
    Diff {
        /// The earlier JSON report.
        old: PathBuf,
        /// The later JSON report.
        new: PathBuf,
        /// text for people, json for machines, md for a pull request comment.
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
        /// Write the diff here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Merge the results of partial scans of one cluster (from several
    /// bastions or regions) into one report: JSON reports, or facts files
    /// and --save-facts directories. A node found twice is kept once (a
    /// successful scan over a failed one) and reported; the cluster checks
    /// are judged again over the union.
    Merge {
        /// JSON reports, facts files or facts directories, at least two.
        #[arg(required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        bench: BenchArg,
        #[command(flatten)]
        report: Box<ReportArgs>,
    },
    /// List the rules of a benchmark.
    Rules {
        #[command(flatten)]
        bench: BenchArg,
        /// text, json, or md (docs/rules.md is `rules --format md`).
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// List the built-in benchmark profiles; `--format md` also lists how
    /// each differs from the profile it extends (docs/benchmark-versions.md).
    Benchmarks {
        /// text, or md (docs/benchmark-versions.md is `benchmarks --format md`).
        #[arg(long, value_enum, default_value_t = BenchmarksFormat::Text)]
        format: BenchmarksFormat,
    },
    /// Write an inventory TOML from `vagrant ssh-config` or an Ansible inventory.
    #[command(subcommand)]
    Inventory(inventory::InventoryCmd),
    /// The runs recorded with --store: list, show, trend, finding, prune.
    History(history::HistoryArgs),
    /// Print the shell completion script for SHELL. For bash:
    /// `kubeharden completions bash > ~/.local/share/bash-completion/completions/kubeharden`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page kubeharden(1) in roff, or with --dir write it and
    /// one page per subcommand (kubeharden-scan.1 ...) there.
    Man {
        /// Write every page into this directory (for example
        /// /usr/local/share/man/man1).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
struct ScanArgs {
    /// Inventory file listing the nodes: TOML, or an Ansible inventory (INI or
    /// YAML, kubespray's groups), recognised as the README describes.
    #[arg(long, short)]
    inventory: Option<PathBuf>,
    /// Ad hoc node: NAME=[USER@]ADDRESS[:PORT]. Repeatable.
    #[arg(long = "node", value_name = "NAME=[USER@]ADDRESS[:PORT]")]
    nodes: Vec<String>,
    /// Roles of an ad hoc node: NAME=ROLE[,ROLE] (control-plane, etcd, worker).
    /// Without it, roles are detected from what runs on the node.
    #[arg(long = "role", value_name = "NAME=ROLES")]
    roles: Vec<String>,
    /// Scan this machine instead of remote nodes.
    #[arg(long, conflicts_with_all = ["inventory", "exec"])]
    local: bool,
    /// With --local: collect through `sudo -n`.
    #[arg(long, requires = "local")]
    sudo: bool,
    /// Reach each node through this command, which must read a shell script
    /// on stdin; {node} is replaced by the node name. Example:
    /// 'docker exec -i {node} sh'.
    #[arg(long, value_name = "TEMPLATE")]
    exec: Option<String>,
    /// Scan the node containers of a kind cluster (default: $KIND_CLUSTER_NAME,
    /// else kind) through `docker exec`, or podman's with
    /// KIND_EXPERIMENTAL_PROVIDER=podman.
    #[arg(
        long,
        value_name = "CLUSTER",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with_all = ["inventory", "nodes", "local", "exec"]
    )]
    kind: Option<String>,
    /// Default SSH user for ad hoc nodes.
    #[arg(long)]
    user: Option<String>,
    /// Default SSH port for ad hoc nodes.
    #[arg(long)]
    port: Option<u16>,
    /// SSH private key for ad hoc nodes (ssh-agent is tried too).
    #[arg(long)]
    identity_file: Option<PathBuf>,
    /// known_hosts file for ad hoc nodes (default ~/.ssh/known_hosts).
    #[arg(long)]
    known_hosts: Option<PathBuf>,
    /// OpenSSH client configuration to read instead of ~/.ssh/config, like
    /// `ssh -F` (relative Includes are taken from its directory).
    #[arg(long, value_name = "FILE")]
    ssh_config: Option<PathBuf>,
    /// strict: unknown or changed host keys are node errors; accept-new:
    /// record unknown keys (changed keys are still refused).
    #[arg(long, value_enum, default_value_t = HostKeys::Strict)]
    host_keys: HostKeys,
    /// Ask for the identity file's passphrase (or set KUBEHARDEN_SSH_PASSPHRASE).
    #[arg(long)]
    ask_passphrase: bool,
    /// Connect timeout for ad hoc nodes, e.g. 10s. It also bounds the time
    /// from the login (or the exec/local command) to the collector's start.
    #[arg(long, value_parser = kubeharden::inventory::parse_duration)]
    connect_timeout: Option<std::time::Duration>,
    /// Timeout of each collector round trip for ad hoc nodes, once the
    /// collector has started, e.g. 60s.
    #[arg(long, value_parser = kubeharden::inventory::parse_duration)]
    command_timeout: Option<std::time::Duration>,
    /// Nodes scanned at once (default: all, up to 64).
    #[arg(long, short = 'j')]
    concurrency: Option<usize>,
    /// Skip the network probes (etcd reachability from every node, TLS on
    /// every Kubernetes port); collection and the checks on it still run.
    #[arg(long)]
    no_probes: bool,
    /// Extra SSH sessions per node for the probes (0-4). libssh2 opens one
    /// channel at a time per session, a round trip each; on high-latency
    /// links more sessions open the probes' connections side by side, at
    /// the cost of that many more SSH handshakes per node.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=4))]
    probe_sessions: u8,
    /// Also try every etcd member's client and peer ports from this machine:
    /// etcd reachable from outside the cluster warns (`net.etcd-firewall`).
    #[arg(long)]
    probe_from_here: bool,
    /// Do not read the cluster's objects: the API checks (CIS section 5)
    /// stay manual.
    #[arg(long)]
    no_api: bool,
    /// The node whose own kubectl reads the cluster's objects (read-only,
    /// with the node's admin kubeconfig, which never leaves it); by default
    /// the first control-plane node scanned.
    #[arg(long, value_name = "NAME", conflicts_with = "no_api")]
    api_node: Option<String>,
    /// The kubeconfig on that node; by default the layout's admin
    /// kubeconfigs (kubeadm: /etc/kubernetes/admin.conf).
    #[arg(long, value_name = "PATH", conflicts_with = "no_api")]
    api_kubeconfig: Option<String>,
    /// Read the cluster's objects from this machine with this kubeconfig
    /// instead of through a node (managed clusters, where no node holds an
    /// admin kubeconfig). Read-only: get and list only. With no node to
    /// scan, only the cluster's objects are judged.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["no_api", "api_node", "api_kubeconfig"])]
    kubeconfig: Option<PathBuf>,
    /// The context of --kubeconfig to use; by default its current context.
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    context: Option<String>,
    /// Also write each node's facts (redacted) to DIR, for `kubeharden eval
    /// DIR`, and the cluster's objects as DIR/api@cluster.json.
    #[arg(long, value_name = "DIR")]
    save_facts: Option<PathBuf>,
    #[command(flatten)]
    bench: BenchArg,
    #[command(flatten)]
    layout: LayoutArg,
    #[command(flatten)]
    report: ReportArgs,
}

/// Where and how `eval` and `scan` write the report, and what fails the run.
#[derive(clap::Args, Debug)]
struct ReportArgs {
    /// Format written to standard output, or to --output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the --format report here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Colour in the text report: auto (when standard output is a terminal
    /// and NO_COLOR is not set), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Also write the HTML report to FILE (one self-contained page).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write JUnit XML to FILE (one testsuite per node).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also write a short Markdown summary to FILE.
    #[arg(long, value_name = "FILE")]
    md: Option<PathBuf>,
    /// Also write Prometheus metrics to FILE (text format, replaced
    /// atomically), for node_exporter's textfile collector: see docs/metrics.md.
    #[arg(long, value_name = "FILE")]
    metrics: Option<PathBuf>,
    /// Directory whose report.html, report.css or report.js replace the
    /// built-in HTML templates.
    #[arg(long, value_name = "DIR")]
    template_dir: Option<PathBuf>,
    /// Name of the cluster, shown in the reports and stored in the JSON.
    #[arg(long, visible_alias = "cluster", value_name = "NAME")]
    cluster_name: Option<String>,
    /// An earlier JSON report: the HTML and Markdown reports show what
    /// changed since.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Waiver file (TOML): accepted failures, each with a reason, an owner
    /// and an expiry date.
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// Record the run in a history store: sqlite:PATH (or a path),
    /// postgres://..., or without a value
    /// ~/.local/share/kubeharden/history.db. Reports then show each
    /// finding's age and what changed since the last run (docs/history.md).
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    store: Option<String>,
    /// A certificate that expires in fewer days fails.
    #[arg(long, value_name = "DAYS", default_value_t = kubeharden::engine::EvalOptions::DEFAULT_CERT_FAIL_DAYS)]
    cert_fail_days: i64,
    /// A certificate that expires in fewer days warns.
    #[arg(long, value_name = "DAYS", default_value_t = kubeharden::engine::EvalOptions::DEFAULT_CERT_WARN_DAYS)]
    cert_warn_days: i64,
    /// An encryption-at-rest key or service-account signing key unchanged
    /// for more days warns (keys.encryption, keys.service-account).
    #[arg(long, value_name = "DAYS", default_value_t = kubeharden::engine::EvalOptions::DEFAULT_KEY_MAX_AGE_DAYS)]
    key_max_age: i64,
    /// Old encryption keys still listed more days after the configuration
    /// last changed warn (keys.encryption).
    #[arg(long, value_name = "DAYS", default_value_t = kubeharden::engine::EvalOptions::DEFAULT_OLD_KEY_GRACE_DAYS)]
    old_key_grace_days: i64,
    /// A CA with fewer days left warns (keys.ca).
    #[arg(long, value_name = "DAYS", default_value_t = kubeharden::engine::EvalOptions::DEFAULT_CA_WARN_DAYS)]
    ca_warn_days: i64,
    /// What makes the exit code 1: fail (any fail or error, or a node not
    /// scanned), warn (the same, and any warn), none (never).
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    fail_on: FailOn,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum HostKeys {
    Strict,
    AcceptNew,
}

/// `--layout`: which distribution the nodes are, instead of detecting it.
#[derive(clap::Args, Debug)]
struct LayoutArg {
    /// Judge every node as this distribution layout (kubeadm, kubespray,
    /// rke2, k3s) instead of detecting each node's; see docs/layouts.md.
    #[arg(long, value_name = "NAME")]
    layout: Option<String>,
}

impl LayoutArg {
    /// The built-in layout named, checked.
    fn resolve(&self) -> Result<Option<&'static str>> {
        match &self.layout {
            None => Ok(None),
            Some(name) => match kubeharden::k8s::layout::find(name) {
                Some(l) => Ok(Some(l.name.as_str())),
                None => anyhow::bail!(
                    "--layout {name:?}: no such layout (known: {})",
                    kubeharden::k8s::layout::names().join(", ")
                ),
            },
        }
    }
}

#[derive(clap::Args, Debug)]
struct BenchArg {
    /// Built-in benchmark id, or a directory holding profile.toml and rule
    /// files. Without it, eval and scan pick the built-in profile written for
    /// the control plane's Kubernetes version and say why; rules lists
    /// cis-1.12.
    #[arg(long)]
    benchmark: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BenchmarksFormat {
    Text,
    Md,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Junit,
    Md,
    Html,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DiffFormat {
    Text,
    Json,
    Md,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FailOn {
    Fail,
    Warn,
    None,
}

impl FailOn {
    fn gate(self) -> Gate {
        match self {
            FailOn::Fail => Gate::Fail,
            FailOn::Warn => Gate::Warn,
            FailOn::None => Gate::None,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RulesFormat {
    Text,
    Json,
    Md,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

/// What the user asked for, checked and ready for the library.
enum Plan {
    Eval {
        /// `None`: picked from the facts' Kubernetes version.
        bench: Option<Benchmark>,
        facts: PathBuf,
        /// `--layout`: replaces what the facts say.
        layout: Option<&'static str>,
        out: output::Plan,
    },
    Diff {
        old: report::Report,
        new: report::Report,
        format: DiffFormat,
        output: Option<PathBuf>,
    },
    Rules {
        bench: Benchmark,
        format: RulesFormat,
    },
    Merge {
        /// `None`: the reports' benchmark, or picked from the facts.
        bench: Option<Benchmark>,
        inputs: Vec<PathBuf>,
        out: output::Plan,
    },
    Scan {
        /// `None`: picked from the scanned nodes' Kubernetes version.
        bench: Option<Benchmark>,
        scan: kubeharden::scan::ScanPlan,
        save_facts: Option<PathBuf>,
        out: output::Plan,
    },
    Demo {
        install: bool,
        json: PathBuf,
    },
    Benchmarks(BenchmarksFormat),
    Inventory(inventory::Plan),
    History(history::Plan),
    Completions(clap_complete::Shell),
    Man(Option<PathBuf>),
}

/// The benchmark `--benchmark` names; `None` when it was not given.
fn load_benchmark(arg: &BenchArg) -> Result<Option<Benchmark>> {
    let Some(name) = &arg.benchmark else {
        return Ok(None);
    };
    let as_path = std::path::Path::new(name);
    let loaded = if as_path.is_dir() {
        bench::load_dir(as_path)
    } else {
        bench::load_builtin(name)
    };
    // BenchError's Display lists every problem with file:line.
    loaded.map(Some).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The check ids a waiver file may name: the given benchmark's, or, when
/// the profile is picked after the scan, those of any built-in profile.
fn waiver_ids(bench: Option<&Benchmark>) -> Result<Vec<String>> {
    match bench {
        Some(b) => Ok(b.waivable_ids()),
        None => {
            let mut ids = Vec::new();
            for b in bench::BUILTIN {
                let loaded = bench::load_builtin(b.id).map_err(|e| anyhow::anyhow!("{e}"))?;
                for id in loaded.waivable_ids() {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            Ok(ids)
        }
    }
}

/// The benchmark to evaluate `nodes` with: the one given, or the built-in
/// profile for their Kubernetes version, said on stderr and in the report.
/// `eval` and `scan` alike: the profile for the cluster, the evaluation of
/// the nodes and the cluster's objects now, and the report delivered.
fn judge(
    bench: Option<Benchmark>,
    nodes: &[NodeFacts],
    api: Option<&kubeharden::facts::api::ClusterFacts>,
    out: &output::Plan,
) -> Result<output::Outcome> {
    let (bench, chosen) = resolve_benchmark_for(bench, nodes, api);
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut report =
        kubeharden::engine::evaluate_cluster(&bench, nodes, api, &now, &out.eval_options(&now));
    report.benchmark.chosen = chosen;
    output::deliver(report, out)
}

fn resolve_benchmark(given: Option<Benchmark>, nodes: &[NodeFacts]) -> (Benchmark, Option<String>) {
    resolve_benchmark_for(given, nodes, None)
}

/// [`resolve_benchmark`], the API server's version standing in when no
/// control-plane node reported one.
fn resolve_benchmark_for(
    given: Option<Benchmark>,
    nodes: &[NodeFacts],
    api: Option<&kubeharden::facts::api::ClusterFacts>,
) -> (Benchmark, Option<String>) {
    match given {
        Some(b) => (b, None),
        None => {
            let (b, choice) = bench::select::load_for_cluster(
                nodes,
                api.and_then(|a| a.server_version.as_deref()),
            );
            eprintln!("kubeharden: benchmark {}: {}", choice.id, choice.why);
            (b, Some(choice.why))
        }
    }
}

fn color_for(arg: ColorArg, output: &Option<PathBuf>) -> Color {
    let to_tty = output.is_none() && std::io::stdout().is_terminal();
    match arg {
        ColorArg::Always => Color::Always,
        ColorArg::Never => Color::Never,
        ColorArg::Auto if to_tty && std::env::var_os("NO_COLOR").is_none() => Color::Always,
        ColorArg::Auto => Color::Never,
    }
}

fn plan(cli: Cli) -> Result<Plan> {
    Ok(match cli.command {
        Command::Scan(a) => scan_plan(*a)?,
        Command::Eval {
            facts,
            bench,
            layout,
            report,
        } => {
            let layout = layout.resolve()?;
            let bench = load_benchmark(&bench)?;
            Plan::Eval {
                out: output::plan(*report, &waiver_ids(bench.as_ref())?)?,
                bench,
                facts,
                layout,
            }
        }
        Command::Diff {
            old,
            new,
            format,
            output,
        } => Plan::Diff {
            old: output::read_report(&old)?,
            new: output::read_report(&new)?,
            format,
            output,
        },
        Command::Merge {
            inputs,
            bench,
            report,
        } => {
            if inputs.len() < 2 {
                bail!("merge needs at least two inputs (reports, facts files or directories)");
            }
            let bench = load_benchmark(&bench)?;
            Plan::Merge {
                out: output::plan(*report, &waiver_ids(bench.as_ref())?)?,
                bench,
                inputs,
            }
        }
        Command::Rules { bench, format } => Plan::Rules {
            bench: match load_benchmark(&bench)? {
                Some(b) => b,
                None => bench::load_builtin(bench::select::DEFAULT_PROFILE)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            },
            format,
        },
        Command::Benchmarks { format } => Plan::Benchmarks(format),
        Command::Completions { shell } => Plan::Completions(shell),
        Command::Man { dir } => Plan::Man(dir),
        Command::Demo { install, json } => Plan::Demo { install, json },
        Command::Inventory(cmd) => Plan::Inventory(inventory::plan(cmd)?),
        Command::History(a) => Plan::History(history::plan(a)?),
    })
}

fn write_out(output: Option<&PathBuf>, text: &[u8]) -> Result<()> {
    match output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("{}: cannot write", p.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text)?;
            out.flush()?;
            Ok(())
        }
    }
}

fn scan_plan(mut a: ScanArgs) -> Result<Plan> {
    if let Some(cluster) = a.kind.as_mut().filter(|c| c.is_empty()) {
        *cluster = kubeharden::kind::default_cluster();
    }
    let mut scan = scan::build(&a)?;
    scan.collect.layout = a.layout.resolve()?;
    if let (Some(cluster), None) = (&a.kind, &a.report.cluster_name) {
        // The name kind gives the cluster in the kubeconfig.
        a.report.cluster_name = Some(format!("kind-{cluster}"));
    }
    let bench = load_benchmark(&a.bench)?;
    Ok(Plan::Scan {
        out: output::plan(a.report, &waiver_ids(bench.as_ref())?)?,
        bench,
        scan,
        save_facts: a.save_facts,
    })
}

/// Runs the plan; returns the exit code (see the top of this file).
fn run(plan: Plan) -> Result<u8> {
    Ok(match plan {
        Plan::Eval { .. } | Plan::Scan { .. } | Plan::Merge { .. } => match run_report(plan)? {
            output::Outcome {
                store_failed: true, ..
            } => 3,
            output::Outcome { fails, .. } => u8::from(fails),
        },
        Plan::History(p) => {
            history::run(p)?;
            0
        }
        other => u8::from(run_other(other)?),
    })
}

/// `eval`, `scan` and `merge`: what the report found, and whether the store
/// failed.
fn run_report(plan: Plan) -> Result<output::Outcome> {
    match plan {
        Plan::Eval {
            bench,
            facts,
            layout,
            out,
        } => {
            let mut nodes = load_facts_path(&facts)?;
            let api = kubeharden::facts::load_cluster_facts(&facts)?;
            if let Some(name) = layout {
                for n in &mut nodes {
                    n.layout = kubeharden::k8s::layout::forced(name).ok();
                }
            }
            judge(bench, &nodes, api.as_ref(), &out)
        }
        Plan::Scan {
            bench,
            scan: plan,
            save_facts,
            out,
        } => {
            let (nodes, api) = scan::run(&plan);
            if let kubeharden::scan::Via::Ssh(opts) = &plan.via {
                for k in opts
                    .accepted
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                {
                    eprintln!(
                        "accepted new host key for {} ({}): {}",
                        k.node, k.host, k.fingerprint
                    );
                }
            }
            if let Some(dir) = &save_facts {
                scan::save(dir, &nodes, api.as_ref())?;
            }
            judge(bench, &nodes, api.as_ref(), &out)
        }
        Plan::Merge { bench, inputs, out } => merge::run(bench, &inputs, &out),
        _ => unreachable!("run_report is for eval, scan and merge"),
    }
}

/// The other commands; `Ok(true)` when the exit code is 1.
fn run_other(plan: Plan) -> Result<bool> {
    match plan {
        Plan::Diff {
            old,
            new,
            format,
            output,
        } => {
            let d = report::diff::diff(&old, &new);
            let text = match format {
                DiffFormat::Text => report::diff::render_text(&d),
                DiffFormat::Json => report::diff::render_json(&d),
                DiffFormat::Md => report::diff::render_markdown(&d),
            };
            write_out(output.as_ref(), text.as_bytes())?;
            Ok(d.has_regressions())
        }
        Plan::Rules { bench, format } => {
            let text = match format {
                RulesFormat::Text => bench::render::text(&bench),
                RulesFormat::Json => bench::render::json(&bench)?,
                RulesFormat::Md => bench::render::markdown(&bench),
            };
            write_out(None, text.as_bytes())?;
            Ok(false)
        }
        Plan::Demo { install, json } => {
            let (inventory, _lab) = demo::up(install)?;
            let cli = Cli::try_parse_from([
                "kubeharden".as_ref(),
                "scan".as_ref(),
                "--inventory".as_ref(),
                inventory.as_os_str(),
            ])?;
            let Command::Scan(args) = cli.command else {
                unreachable!("parsed a scan command")
            };
            let plan = scan::build(&args)?;
            let bench = load_benchmark(&args.bench)?;
            let (nodes, api) = scan::run(&plan);
            let (bench, chosen) = resolve_benchmark(bench, &nodes);
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
            let opts = kubeharden::engine::EvalOptions::at(&now);
            let mut report =
                kubeharden::engine::evaluate_cluster(&bench, &nodes, api.as_ref(), &now, &opts);
            report.benchmark.chosen = chosen;
            let text = report::text::render(&report, color_for(ColorArg::Auto, &None));
            write_out(None, text.as_bytes())?;
            let mut buf = Vec::new();
            report::json::write(&report, &mut buf)?;
            write_out(Some(&json), &buf)?;
            eprintln!(
                "demo: JSON report written to {}. The lab's fault nodes and misconfigured nodes fail on purpose.",
                json.display()
            );
            Ok(false)
        }
        Plan::Inventory(plan) => {
            inventory::run(plan)?;
            Ok(false)
        }
        Plan::Completions(shell) => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "kubeharden", &mut buf);
            write_out(None, &buf)?;
            Ok(false)
        }
        Plan::Man(None) => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
            write_out(None, &buf)?;
            Ok(false)
        }
        Plan::Man(Some(dir)) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("writing the manual pages into {}", dir.display()))?;
            eprintln!("kubeharden: manual pages written to {}", dir.display());
            Ok(false)
        }
        Plan::Benchmarks(format) => {
            let mut loaded = Vec::new();
            for b in bench::BUILTIN {
                loaded.push(bench::load_builtin(b.id).map_err(|e| anyhow::anyhow!("{e}"))?);
            }
            let text = match format {
                BenchmarksFormat::Text => bench::render::profiles_text(&loaded),
                BenchmarksFormat::Md => bench::render::profiles_markdown(&loaded),
            };
            write_out(None, text.as_bytes())?;
            Ok(false)
        }
        _ => unreachable!("handled in run"),
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match plan(cli).and_then(run) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("kubeharden: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option and argument of every command, with its command's path.
    fn all_args(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for a in cmd.get_arguments() {
            if !["help", "version"].contains(&a.get_id().as_str()) {
                out.push((path.to_string(), a.clone()));
            }
        }
        for sub in cmd.get_subcommands() {
            all_args(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_option_has_its_own_help_text() {
        let mut cmd = Cli::command();
        cmd.build();
        let mut args = Vec::new();
        all_args(&cmd, "kubeharden", &mut args);
        assert!(args.len() > 40, "found only {} arguments", args.len());
        let mut missing = Vec::new();
        let mut seen: std::collections::HashMap<(String, String), String> = Default::default();
        let mut shared = Vec::new();
        for (path, a) in &args {
            let help = a
                .get_long_help()
                .or(a.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            if help.trim().is_empty() {
                missing.push(format!("{path} {}", a.get_id()));
                continue;
            }
            if let Some(other) = seen.insert((path.clone(), help.clone()), a.get_id().to_string()) {
                shared.push(format!("{path}: {} and {other}", a.get_id()));
            }
        }
        assert!(missing.is_empty(), "no help text: {missing:#?}");
        assert!(shared.is_empty(), "the same help text: {shared:#?}");
    }

    #[test]
    fn every_subcommand_has_an_about() {
        for sub in Cli::command().get_subcommands() {
            assert!(sub.get_about().is_some(), "{}", sub.get_name());
        }
    }
}
