//! `findings.csv`, `services.csv`, `principals.csv`. Headers are stable snake_case, documented
//! in `docs/report-fields.md`. Cells a spreadsheet would run as a formula are neutralised.

use std::io::Write;

use chrono::SecondsFormat;

use crate::analysis::identities::{IdentityKind, IdentityReport};
use crate::analysis::{Analysis, PrincipalInfo, Sensitivity};
use crate::decisions::Decision;
use crate::model::Timestamp;

/// The `findings.csv` header: the columns of [`crate::analysis::schema::FINDINGS`].
pub fn findings_header() -> [&'static str; 28] {
    crate::analysis::schema::findings_header()
}

pub const DECISIONS_HEADER: [&str; 18] = [
    "rank",
    "id",
    "decision",
    "sensitivity",
    "title",
    "account_id",
    "principal_type",
    "principal_name",
    "subject",
    "critical_removed",
    "high_removed",
    "medium_removed",
    "low_removed",
    "risky_actions",
    "evidence",
    "files",
    "intentional_rule",
    "principal_arn",
];

/// A decision's `risky_actions` cell: `action: why` for each, `; ` between them, and how many
/// more critical or high actions it removes.
pub(crate) fn risky_actions(d: &Decision) -> String {
    let mut risky: Vec<String> = d
        .risky_actions
        .iter()
        .map(|n| format!("{}: {}", n.action, n.why))
        .collect();
    if d.risky_more > 0 {
        risky.push(format!("… and {} more critical or high", d.risky_more));
    }
    risky.join("; ")
}

/// Every decision, ranked (intentional access last).
pub fn write_decisions<W: Write>(decisions: &[Decision], w: W) -> std::io::Result<()> {
    let mut out = writer(w);
    out.row(DECISIONS_HEADER)?;
    for d in decisions {
        out.row([
            d.rank.to_string(),
            d.id.to_string(),
            d.kind.as_str().to_string(),
            d.sensitivity.as_str().to_string(),
            d.title().into_owned(),
            d.account_id.to_string(),
            d.principal_type.as_str().to_string(),
            d.principal_name.to_string(),
            d.subject.to_string(),
            d.removes.critical.to_string(),
            d.removes.high.to_string(),
            d.removes.medium.to_string(),
            d.removes.low.to_string(),
            risky_actions(d),
            d.evidence.to_string(),
            d.files.as_deref().unwrap_or_default().to_string(),
            d.intentional
                .as_ref()
                .map(|m| m.rule.clone())
                .unwrap_or_default(),
            d.principal_arn.to_string(),
        ])?;
    }
    out.0.flush()
}

pub const SERVICES_HEADER: [&str; 13] = [
    "account_id",
    "principal_type",
    "principal_name",
    "principal_arn",
    "service",
    "granted",
    "used",
    "unused",
    "unknown",
    "excluded",
    "service_last_accessed",
    "service_last_accessed_region",
    "highest_unused_sensitivity",
];

pub const PRINCIPALS_HEADER: [&str; 24] = [
    "account_id",
    "principal_type",
    "principal_name",
    "principal_arn",
    "principal_id",
    "created",
    "last_used",
    "last_used_region",
    "service_linked",
    "actionable",
    "has_last_accessed",
    "granted",
    "used",
    "unused",
    "unknown",
    "excluded",
    "unused_critical",
    "unused_high",
    "unused_medium",
    "unused_low",
    "score",
    "flags",
    "policies",
    "unmatched_patterns",
];

pub use crate::model::neutralise;

pub fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn b(v: bool) -> &'static str {
    if v { "true" } else { "false" }
}

struct Out<W: Write>(csv::Writer<W>);

impl<W: Write> Out<W> {
    fn row<I, S>(&mut self, cells: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        // Field by field, each neutralised in place (a copy only for a cell that needs it); an
        // empty record then ends the row. Every file's rows have several fields, so none is
        // the one-empty-field record the csv crate would quote.
        for c in cells {
            self.0
                .write_field(neutralise(c.as_ref()).as_bytes())
                .map_err(std::io::Error::other)?;
        }
        self.0
            .write_record(std::iter::empty::<&[u8]>())
            .map_err(std::io::Error::other)
    }
}

impl Out<Vec<u8>> {
    /// The bytes written.
    fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        self.0.into_inner().map_err(|e| e.into_error())
    }
}

fn writer<W: Write>(w: W) -> Out<W> {
    Out(csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w))
}

/// Every finding, in rank order, one row per principal × group of actions (hundreds of thousands
/// for a large organisation): the columns of the one findings schema, written straight from the
/// analysis into a reused record.
pub fn write_findings<W: Write>(an: &Analysis<'_>, w: W) -> std::io::Result<()> {
    use crate::analysis::schema::{Value, columns, for_each_row};
    let mut out = writer(w);
    let columns = columns(an);
    out.row(columns.iter().map(|c| c.name))?;
    let granted_by = an.granted_by_texts();
    let mut rec = csv::ByteRecord::new();
    // Numbers as `{n}` prints them, without the formatting machinery (seven a row).
    let mut number = itoa::Buffer::new();
    for_each_row(an, an.findings.iter().enumerate(), &granted_by, |row| {
        rec.clear();
        for c in &columns {
            match (c.get)(row) {
                Value::Str(s) => rec.push_field(neutralise(s).as_bytes()),
                Value::Owned(s) => rec.push_field(neutralise(&s).as_bytes()),
                Value::OptStr(s) => rec.push_field(neutralise(s.unwrap_or_default()).as_bytes()),
                Value::U32(n) => rec.push_field(number.format(n).as_bytes()),
                Value::U64(n) => rec.push_field(number.format(n).as_bytes()),
                Value::OptI64(n) => {
                    rec.push_field(n.map_or("", |n| number.format(n)).as_bytes());
                }
                Value::Bool(v) => rec.push_field(b(v).as_bytes()),
                Value::Time(t) => rec.push_field(ts(t).as_bytes()),
            }
        }
        out.0.write_byte_record(&rec).map_err(std::io::Error::other)
    })?;
    out.0.flush()
}

fn principal_key(p: &PrincipalInfo) -> [&str; 4] {
    [&p.account_id, p.kind.as_str(), p.name(), p.arn()]
}

/// Principals whose services.csv rows one item of [`write_services`] makes.
const SERVICES_CHUNK: usize = 256;

/// One row per principal × service, sorted by principal then service. The rows of a few
/// hundred principals at a time are made on every core and written in order (`report` writes
/// this file alone, right after the analysis: 27 s of 1,000,000 roles on one core).
pub fn write_services<W: Write>(an: &Analysis<'_>, mut w: W) -> std::io::Result<()> {
    let mut head = writer(Vec::new());
    head.row(SERVICES_HEADER)?;
    w.write_all(&head.into_bytes()?)?;
    let n = an.principals.len();
    let mut result = Ok(());
    crate::parallel::stream_ordered(
        n.div_ceil(SERVICES_CHUNK),
        4,
        || (),
        |(), k| {
            let mut out = writer(Vec::new());
            let end = n.min((k + 1) * SERVICES_CHUNK);
            (k * SERVICES_CHUNK..end).try_for_each(|i| service_rows(an, i, &mut out))?;
            out.into_bytes()
        },
        |_, rows: std::io::Result<Vec<u8>>| match rows.and_then(|b| w.write_all(&b)) {
            Ok(()) => true,
            Err(e) => {
                result = Err(e);
                false
            }
        },
    );
    result?;
    w.flush()
}

/// Principal `i`'s rows of services.csv.
fn service_rows<W: Write>(an: &Analysis<'_>, i: usize, out: &mut Out<W>) -> std::io::Result<()> {
    let key = principal_key(&an.principals[i]);
    for s in &an.services_of(i) {
        let c = &s.counts;
        let counts = [c.granted, c.used, c.unused, c.unknown, c.excluded].map(|n| n.to_string());
        let last = ts(s.last_accessed);
        let tail = [
            last.as_str(),
            s.last_accessed_region.unwrap_or_default(),
            s.highest_unused_sensitivity
                .map(Sensitivity::as_str)
                .unwrap_or_default(),
        ];
        out.row(
            key.into_iter()
                .chain([s.service])
                .chain(counts.iter().map(String::as_str))
                .chain(tail),
        )?;
    }
    Ok(())
}

/// The kinds of each principal's identity findings, by (account, ARN): what principals.csv and
/// the workbook's Principals sheet add to a principal's flags. A sorted list with a bit per kind:
/// at 1,000,000 roles (427,580 identity findings) the map of sets both writers built, at the
/// same time, was ~0.1 GB each, held through their rows.
pub(crate) struct IdentityFlags<'a> {
    /// (account, ARN) → the bits of its kinds ([`IdentityFlags::bit`]), sorted, one entry each.
    by_principal: Vec<((&'a str, &'a str), u16)>,
    /// Every kind, in name order: the order its flags are listed in.
    by_name: [IdentityKind; IdentityKind::ALL.len()],
}

impl<'a> IdentityFlags<'a> {
    pub(crate) fn new(identities: &'a IdentityReport) -> IdentityFlags<'a> {
        let mut by_principal: Vec<_> = identities
            .findings
            .iter()
            .map(|f| {
                let key = (f.account_id.as_str(), f.principal_arn.as_str());
                (key, Self::bit(f.kind))
            })
            .collect();
        by_principal.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        by_principal.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 |= later.1;
            }
            same
        });
        by_principal.shrink_to_fit();
        let mut by_name = IdentityKind::ALL;
        by_name.sort_unstable_by_key(|k| k.as_str());
        IdentityFlags {
            by_principal,
            by_name,
        }
    }

    fn bit(kind: IdentityKind) -> u16 {
        const _: () = assert!(IdentityKind::ALL.len() <= 16);
        1 << (kind as u16)
    }

    /// `p`'s flags, then the kinds of its identity findings that are not among them, in name
    /// order.
    pub(crate) fn flags(&self, p: &PrincipalInfo) -> Vec<&'static str> {
        let mut flags = p.flags.to_vec();
        let key = (&*p.account_id, p.arn());
        if let Ok(i) = self.by_principal.binary_search_by(|e| e.0.cmp(&key)) {
            let bits = self.by_principal[i].1;
            let kinds = self.by_name.iter().filter(|k| bits & Self::bit(**k) != 0);
            flags.extend(kinds.map(|k| k.as_str()).filter(|k| !p.flags.contains(k)));
        }
        flags
    }
}

/// One row per principal, sorted by (account, type, name). `flags` also lists the principal's
/// identity findings (`unused_user`, `password_without_mfa`, `access_key_unused`, …).
pub fn write_principals<W: Write>(
    an: &Analysis<'_>,
    identities: &IdentityReport,
    w: W,
) -> std::io::Result<()> {
    let identity_flags = IdentityFlags::new(identities);
    let mut out = writer(w);
    out.row(PRINCIPALS_HEADER)?;
    for p in &an.principals {
        let flags = identity_flags.flags(p);
        let mut cells = principal_key(p).map(String::from).to_vec();
        let s = &p.unused_by_sensitivity;
        cells.extend([
            p.id().to_owned(),
            ts(p.created),
            ts(p.last_used),
            p.last_used_region
                .as_deref()
                .unwrap_or_default()
                .to_string(),
            b(p.service_linked).to_string(),
            b(p.actionable).to_string(),
            b(p.has_last_accessed).to_string(),
            p.counts.granted.to_string(),
            p.counts.used.to_string(),
            p.counts.unused.to_string(),
            p.counts.unknown.to_string(),
            p.counts.excluded.to_string(),
            s.critical.to_string(),
            s.high.to_string(),
            s.medium.to_string(),
            s.low.to_string(),
            p.score.to_string(),
            flags.join(";"),
            p.policies
                .iter()
                .map(|pi| an.label(pi).to_string())
                .collect::<Vec<_>>()
                .join("; "),
            p.unmatched_patterns.join("; "),
        ]);
        out.row(cells)?;
    }
    out.0.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::identities::IdentityFinding;
    use std::borrow::Cow;

    /// The flags of every principal of the sample, with identity findings added for the same
    /// principals under other kinds (and kinds it already flags), are those of a map of sets
    /// (what the writers built before).
    #[test]
    fn identity_flags_are_a_map_of_sets() {
        use crate::analysis::identities::{IdentitySettings, identity_findings};
        use std::collections::{BTreeMap, BTreeSet};
        let (exports, _, an) = crate::sample_organization();
        let settings = IdentitySettings {
            unused_after_days: 90,
            key_max_age_days: 90,
        };
        let mut report = identity_findings(&exports, &an, &settings);
        assert!(!report.findings.is_empty());
        let base = report.findings.clone();
        for (k, f) in base.iter().enumerate() {
            for kind in [
                IdentityKind::ALL[k % 11],
                IdentityKind::ALL[(k * 7 + 3) % 11],
            ] {
                report.findings.push(IdentityFinding { kind, ..f.clone() });
            }
        }
        let flagged = an.principals.iter().find(|p| !p.flags.is_empty()).unwrap();
        let mut f = base[0].clone();
        f.account_id = flagged.account_id.to_string();
        f.principal_arn = flagged.arn().to_string();
        report.findings.push(f.clone());
        for kind in IdentityKind::ALL {
            if flagged.flags.contains(&kind.as_str()) {
                report.findings.push(IdentityFinding { kind, ..f.clone() });
            }
        }
        let mut kinds: BTreeMap<(&str, &str), BTreeSet<&'static str>> = BTreeMap::new();
        for f in &report.findings {
            kinds
                .entry((f.account_id.as_str(), f.principal_arn.as_str()))
                .or_default()
                .insert(f.kind.as_str());
        }
        let flags = IdentityFlags::new(&report);
        let mut with_identities = 0;
        for p in &an.principals {
            let mut want = p.flags.to_vec();
            if let Some(k) = kinds.get(&(&*p.account_id, p.arn())) {
                with_identities += 1;
                want.extend(k.iter().filter(|k| !p.flags.contains(k)));
            }
            assert_eq!(flags.flags(p), want, "{}", p.arn());
        }
        assert!(with_identities >= 2, "{with_identities}");
    }

    #[test]
    fn neutralises_formula_starts() {
        for bad in [
            "=1+1",
            "+SUM(A1)",
            "-2+3",
            "@cmd",
            "\tx",
            "\rx",
            "\nx",
            "\n=1+1",
            "\0=1",
            // Blank before a trigger: spreadsheets drop it and read the formula.
            " =1+1",
            "   @cmd",
            "\u{a0}-2",
            "\u{3000}=1",
            "\u{feff}=1",
            "\u{200b}+1",
            // Full-width triggers, which some spreadsheet locales read as the ASCII ones.
            "\u{ff1d}1+1",
            "\u{ff0b}1",
            "\u{ff0d}1",
            "\u{ff20}cmd",
            " \u{ff1d}1",
        ] {
            assert_eq!(neutralise(bad), format!("'{bad}"), "{bad:?}");
        }
        for fine in [
            "role/app",
            "",
            " ",
            " plain",
            "a=b",
            "1-2",
            "\u{3000}x",
            "\u{ff41}",
            "é=1",
            "'=1",
            // Kept as the export has it, to join with AWS's names (docs/report-fields.md).
            "abc\u{202e}gnp.exe",
        ] {
            assert!(
                matches!(neutralise(fine), Cow::Borrowed(s) if s == fine),
                "{fine:?}"
            );
        }
    }
}
