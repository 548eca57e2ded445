//! The `kubeharden` binary: parse arguments into a checked plan, hand it to
//! the library, map the outcome to an exit code. Nothing else lives here.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
