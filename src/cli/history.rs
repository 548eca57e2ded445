//! `kubeharden history`: the runs recorded with `--store`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Subcommand, ValueEnum};

use kubeharden::history::{self, Location, Prune, Store, render};
use kubeharden::report::{self, Gate};

use super::{ColorArg, color_for, write_out};

#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// The history store to read: sqlite:PATH (or a path) or
    /// postgres://...; default ~/.local/share/kubeharden/history.db.
    #[arg(long, global = true, value_name = "URL")]
    store: Option<String>,
    /// text, json or md (show also takes html and junit).
    #[arg(long, global = true, value_enum, default_value_t = HistFormat::Text)]
    format: HistFormat,
    /// The cluster (its --cluster-name; '' for runs without one). Needed
    /// when the store holds several.
    #[arg(long, global = true, value_name = "NAME")]
    cluster: Option<String>,
    #[command(subcommand)]
    cmd: HistoryCmd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HistFormat {
    Text,
    Json,
    Md,
    Html,
    Junit,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCmd {
    /// Recorded runs, newest first, with their scores and open findings.
    List {
        /// Show at most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Render a past run as if it had just run (with its finding ages and
    /// what changed since the run before it).
    Show {
        /// The run id (from `history list`).
        run: i64,
        /// Write it here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Score and open findings per run, per section and per node.
    Trend,
    /// When a finding first appeared, how long it was open, when it was
    /// fixed and when it came back.
    Finding {
        /// The check id, e.g. 1.2.1 or cert.expiry.
        id: String,
        /// Only this node ('' for cluster findings).
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
    },
    /// Remove old runs (what they alone held goes with them).
    Prune {
        /// Keep the newest N runs of each cluster (at least 1).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
              required_unless_present = "older_than", conflicts_with = "older_than")]
        keep: Option<u64>,
        /// Remove runs older than this, e.g. 90d or 12weeks.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        older_than: Option<std::time::Duration>,
    },
}

/// The store a `--store` value names; `Some("")` (the flag without a value)
/// and `None` mean the default file.
pub fn location(arg: Option<&str>) -> Result<Location> {
    match arg.filter(|s| !s.is_empty()) {
        Some(s) => Ok(Location::parse(s)?),
        None => match history::default_path() {
            Some(p) => Ok(Location::Sqlite(p)),
            None => bail!(
                "--store: no HOME or XDG_DATA_HOME for the default store; give --store sqlite:PATH"
            ),
        },
    }
}

pub struct Plan {
    store: Location,
    format: HistFormat,
    cluster: Option<String>,
    cmd: HistoryCmd,
}

pub fn plan(a: HistoryArgs) -> Result<Plan> {
    let show = matches!(a.cmd, HistoryCmd::Show { .. });
    if !show && matches!(a.format, HistFormat::Html | HistFormat::Junit) {
        bail!(
            "--format {:?}: history list, trend and finding write text, json or md",
            a.format
        );
    }
    Ok(Plan {
        store: location(a.store.as_deref())?,
        format: a.format,
        cluster: a.cluster,
        cmd: a.cmd,
    })
}

pub fn run(p: Plan) -> Result<()> {
    if let Location::Sqlite(path) = &p.store {
        if !path.exists() {
            bail!(
                "{}: no history store there (record runs with --store)",
                p.store.display()
            );
        }
    }
    let mut store = Store::open(&p.store)?;
    let cluster = p.cluster.as_deref();
    let f = p.format;
    let text = match p.cmd {
        HistoryCmd::List { limit } => {
            let runs = store.list(cluster, limit)?;
            match f {
                HistFormat::Json => render::list_json(&runs),
                HistFormat::Md => render::list_md(&runs),
                _ => render::list_text(&runs),
            }
        }
        HistoryCmd::Trend => {
            let t = store.trend(cluster)?;
            match f {
                HistFormat::Json => render::trend_json(&t),
                HistFormat::Md => render::trend_md(&t),
                _ => render::trend_text(&t),
            }
        }
        HistoryCmd::Finding { id, node } => {
            let h = store.finding(cluster, &id, node.as_deref())?;
            match f {
                HistFormat::Json => render::finding_json(&h),
                HistFormat::Md => render::finding_md(&h),
                _ => render::finding_text(&h),
            }
        }
        HistoryCmd::Prune { keep, older_than } => {
            let how = match (keep, older_than) {
                (Some(n), _) => Prune::Keep(n as usize),
                (None, Some(d)) => Prune::OlderThan {
                    seconds: d.as_secs() as i64,
                    now: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or(0),
                },
                (None, None) => bail!("prune: give --keep N or --older-than DURATION"),
            };
            let n = store.prune(cluster, how)?;
            match f {
                HistFormat::Json => format!("{{\"removed\": {n}}}\n"),
                _ => format!("removed {n} run{}\n", if n == 1 { "" } else { "s" }),
            }
        }
        HistoryCmd::Show { run, output } => {
            let r = store.show(run)?;
            let bytes = match f {
                HistFormat::Text => {
                    report::text::render(&r, color_for(ColorArg::Auto, &output)).into_bytes()
                }
                HistFormat::Json => {
                    let mut buf = Vec::new();
                    report::json::write(&r, &mut buf)?;
                    buf
                }
                HistFormat::Md => report::markdown::render(&r, None).into_bytes(),
                HistFormat::Junit => report::junit::render(&r, Gate::Fail).into_bytes(),
                HistFormat::Html => report::html::render(&r, &Default::default())
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .into_bytes(),
            };
            return write_out(output.as_ref(), &bytes);
        }
    };
    write_out(None, text.as_bytes())
}
