//! One file per subcommand. Each turns clap args into a library config and runs it.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub mod diff;
pub mod expand;
pub mod fetch;
pub mod report;

/// `--version` text: tool version and the embedded catalog's version.
pub fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let cat = iam_tighten::catalog::Catalog::embedded();
        format!(
            "{} (catalog: {}, data updated {})",
            iam_tighten::VERSION,
            cat.source(),
            cat.updated()
        )
    })
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Report(args) => report::run(args),
        Command::Expand(args) => expand::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Fetch(args) => fetch::run(args),
    }
}
