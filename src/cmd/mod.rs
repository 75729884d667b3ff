//! One file per subcommand. Each turns clap args into a library config and runs it.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub mod config;
pub mod diff;
pub mod expand;
pub mod fetch;
pub mod progress;
pub mod report;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Report(args) => report::run(config::ReportConfig::from_args(args)?),
        Command::Expand(args) => expand::run(args),
        Command::Diff(args) => diff::run(config::DiffConfig::from_args(args)?),
        Command::Fetch(args) => fetch::run(args),
    }
}
