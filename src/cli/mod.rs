//! Command-line interface. Exit codes (also in the README):
//!
//! * 0: every check that must hold did (no `fail`, no `error`, every node scanned);
//! * 1: at least one `fail` or `error`, or a node that could not be scanned;
//! * 2: usage or input error (bad arguments, unreadable or invalid facts or
//!   benchmark files); nothing was evaluated.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use kubeharden::bench::{self, Benchmark};
use kubeharden::facts::load_facts_path;
use kubeharden::report::{self, text::Color};

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
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the report here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
        color: ColorArg,
    },
    /// List the rules of a benchmark.
    Rules {
        #[command(flatten)]
        bench: BenchArg,
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// List the built-in benchmark profiles.
    Benchmarks,
}

#[derive(clap::Args, Debug)]
struct BenchArg {
    /// Built-in benchmark id, or a directory holding profile.toml and rule files.
    #[arg(long, default_value = "cis-1.12")]
    benchmark: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
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
        bench: Benchmark,
        facts: PathBuf,
        format: Format,
        output: Option<PathBuf>,
        color: Color,
    },
    Rules {
        bench: Benchmark,
        format: RulesFormat,
    },
    Benchmarks,
}

fn load_benchmark(arg: &BenchArg) -> Result<Benchmark> {
    let as_path = std::path::Path::new(&arg.benchmark);
    let loaded = if as_path.is_dir() {
        bench::load_dir(as_path)
    } else {
        bench::load_builtin(&arg.benchmark)
    };
    // BenchError's Display lists every problem with file:line.
    loaded.map_err(|e| anyhow::anyhow!("{e}"))
}

fn plan(cli: Cli) -> Result<Plan> {
    Ok(match cli.command {
        Command::Eval {
            facts,
            bench,
            format,
            output,
            color,
        } => {
            let to_tty = output.is_none() && std::io::stdout().is_terminal();
            let color = match color {
                ColorArg::Always => Color::Always,
                ColorArg::Never => Color::Never,
                ColorArg::Auto if to_tty && std::env::var_os("NO_COLOR").is_none() => Color::Always,
                ColorArg::Auto => Color::Never,
            };
            Plan::Eval {
                bench: load_benchmark(&bench)?,
                facts,
                format,
                output,
                color,
            }
        }
        Command::Rules { bench, format } => Plan::Rules {
            bench: load_benchmark(&bench)?,
            format,
        },
        Command::Benchmarks => Plan::Benchmarks,
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

/// Runs the plan; `Ok(true)` when the evaluation found failures.
fn run(plan: Plan) -> Result<bool> {
    match plan {
        Plan::Eval {
            bench,
            facts,
            format,
            output,
            color,
        } => {
            let nodes = load_facts_path(&facts)?;
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
            let report = kubeharden::engine::evaluate(&bench, &nodes, &now);
            let bytes = match format {
                Format::Json => {
                    let mut buf = Vec::new();
                    report::json::write(&report, &mut buf)?;
                    buf
                }
                Format::Text => report::text::render(&report, color).into_bytes(),
            };
            write_out(output.as_ref(), &bytes)?;
            Ok(report.has_failures())
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
        Plan::Benchmarks => {
            let mut text = String::new();
            for b in bench::BUILTIN {
                let loaded = bench::load_builtin(b.id).map_err(|e| anyhow::anyhow!("{e}"))?;
                text.push_str(&format!(
                    "{}\t{} (Kubernetes {}, {} rules)\n",
                    loaded.id,
                    loaded.title,
                    loaded.kubernetes,
                    loaded.rules.len()
                ));
            }
            write_out(None, text.as_bytes())?;
            Ok(false)
        }
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
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kubeharden: {e:#}");
            ExitCode::from(2)
        }
    }
}
