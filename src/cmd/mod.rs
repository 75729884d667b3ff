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

/// Text for the terminal (an error, a warning) with its control characters (but line feeds and
/// tabs) and format characters written as `\u{1b}`: it quotes names and policy text from the
/// input, which an attacker controls, and a terminal would run an escape sequence among them or
/// show the rest of the line reversed after a bidi override (`\u{202e}`).
pub(crate) fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if (c.is_control() || iam_tighten::model::is_hidden(c)) && c != '\n' && c != '\t' {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}
