//! One file per subcommand. Each turns clap args into a library config and runs it.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub mod expand;
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
        Command::Diff(_) => not_implemented("diff"),
        Command::Fetch(_) => not_implemented("fetch"),
    }
}

fn not_implemented(what: &str) -> anyhow::Result<ExitCode> {
    eprintln!("error: `iam-tighten {what}` is not implemented yet");
    Ok(ExitCode::from(2))
}
