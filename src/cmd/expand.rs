//! `iam-tighten expand`: show which catalog actions patterns or a policy document cover.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use iam_tighten::catalog::{AccessLevel, ActionSet, Catalog};
use iam_tighten::policy::{Expander, expand_notation};
use serde::Serialize;

use crate::cli::{ExpandArgs, ExpandFormat};

/// One output row; the field order is the CSV column order.
#[derive(Debug, Serialize)]
struct Row<'a> {
    action: String,
    service: &'a str,
    access_level: AccessLevel,
    resource_types: u16,
}

pub fn run(args: ExpandArgs) -> anyhow::Result<ExitCode> {
    let choice = super::config::CatalogChoice::load(args.catalog.as_deref())?;
    let catalog = choice.get();
    let mut expander = Expander::new(catalog);

    let set = match &args.policy {
        Some(path) => expand_policy(path, &mut expander)?,
        None => expand_patterns(&args.patterns, &mut expander)?,
    };

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    write_actions(&mut out, catalog, &set, args.format).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The arguments, joined by spaces, as one notation: so `expand 'lambda:* except lambda:Add*'`
/// (an `action` cell of findings.csv, verbatim) and the same words unquoted mean the same.
fn expand_patterns(patterns: &[String], expander: &mut Expander<'_>) -> anyhow::Result<ActionSet> {
    let text = patterns.join(" ");
    let expansion = expand_notation(&text, expander)
        .map_err(|e| anyhow::anyhow!("{e} (in {})", shorten(&text)))?;
    let version = expander.catalog().version();
    for p in &expansion.unmatched {
        eprintln!("warning: pattern {p:?} matches no action in catalog {version}");
    }
    if expansion.actions.is_empty() {
        anyhow::bail!("{} matches no action in catalog {version}", shorten(&text));
    }
    Ok(expansion.actions)
}

/// At most 200 characters of the arguments, for messages.
fn shorten(text: &str) -> String {
    let cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

fn expand_policy(path: &Path, expander: &mut Expander<'_>) -> anyhow::Result<ActionSet> {
    let document = iam_tighten::input::read_policy_file(path)?;
    let expansion = expander.document(&document);
    let version = expander.catalog().version();
    for (s, statement) in expansion.statements.iter().zip(&document.statements) {
        if statement.applies_to_no_resource(None) {
            eprintln!(
                "note: {}: statement {} applies to no resource (a `NotResource` of \"*\", or an \
                 empty `Resource`): it allows or denies nothing",
                super::inert(&path.display().to_string()),
                super::inert(&s.label)
            );
        }
        for p in &s.unmatched {
            // The statement's label is the policy's Sid: text from the input, kept inert.
            eprintln!(
                "warning: {}: statement {}: pattern {p:?} matches no action in catalog {version}",
                super::inert(&path.display().to_string()),
                super::inert(&s.label)
            );
        }
    }
    Ok(expansion.effective)
}

fn write_actions(
    out: &mut impl Write,
    catalog: &Catalog,
    set: &ActionSet,
    format: ExpandFormat,
) -> io::Result<()> {
    // Ids are in (service, action) case-insensitive order: the output is sorted.
    let rows = set.iter().map(|id| {
        let a = catalog.action(id);
        Row {
            action: catalog.full_name(id),
            service: &a.service,
            access_level: a.level,
            resource_types: a.resource_types,
        }
    });
    match format {
        ExpandFormat::Text => {
            for r in rows {
                writeln!(out, "{}\t{}", r.action, r.access_level)?;
            }
        }
        ExpandFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            // An empty set still gets the header.
            w.write_record(["action", "service", "access_level", "resource_types"])?;
            for r in rows {
                w.write_record([
                    r.action.as_str(),
                    r.service,
                    r.access_level.as_str(),
                    &r.resource_types.to_string(),
                ])?;
            }
            w.flush()?;
        }
        ExpandFormat::Json => {
            let rows: Vec<Row<'_>> = rows.collect();
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn render(set: &ActionSet, format: ExpandFormat) -> String {
        let mut buf = Vec::new();
        write_actions(&mut buf, Catalog::embedded(), set, format).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn formats() {
        let c = Catalog::embedded();
        let mut e = Expander::new(c);
        let set = (*e.expand_pattern("iam:PassRole")).clone();
        assert_eq!(render(&set, ExpandFormat::Text), "iam:PassRole\tWrite\n");
        assert_eq!(
            render(&set, ExpandFormat::Csv),
            "action,service,access_level,resource_types\niam:PassRole,iam,Write,1\n"
        );
        let v: serde_json::Value = serde_json::from_str(&render(&set, ExpandFormat::Json)).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"action": "iam:PassRole", "service": "iam",
                "access_level": "Write", "resource_types": 1}])
        );
        assert_eq!(render(&c.empty_set(), ExpandFormat::Json), "[]\n");
    }
}
