//! `--config <file>`: exclusions, each with a required reason and an optional expiry date.
//!
//! ```toml
//! [[exclude]]
//! principal = "BreakGlass*"          # glob on the principal name or ARN (case-insensitive)
//! action = "iam:*"                   # optional action pattern
//! policy = "AdministratorAccess"     # optional glob on the granting policy's name
//! reason = "break-glass role, reviewed by the CISO every quarter"
//! expires = 2027-03-31               # optional; after it the rule is ignored (with a warning)
//! ```

use std::num::NonZeroU16;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

use super::intentional::{BUILTIN, IntentionalConfig, IntentionalRule};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    exclude: Vec<RawRule>,
    #[serde(default)]
    intentional: RawIntentional,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntentional {
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    rule: Vec<RawIntentionalRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntentionalRule {
    id: Option<String>,
    principal: Option<String>,
    path: Option<String>,
    policy: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    principal: Option<String>,
    action: Option<String>,
    policy: Option<String>,
    account: Option<String>,
    reason: Option<String>,
    /// Who answers for the exclusion (a person or team), for the audit trail.
    owner: Option<String>,
    expires: Option<toml::value::Datetime>,
}

/// How many exclusion rules a config file may hold: a rule's id is 16 bits in every finding.
pub const MAX_EXCLUSIONS: usize = u16::MAX as usize;

/// An exclusion rule's id: its position in the config file, from 1 (how auditors cite it; never
/// 0, so that a finding's `Option<ExclusionId>` takes 2 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ExclusionId(pub NonZeroU16);

impl std::fmt::Display for ExclusionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One exclusion rule, as written, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct ExclusionRule {
    /// Position in the file, from 1.
    pub id: ExclusionId,
    pub principal: Option<String>,
    pub action: Option<String>,
    pub policy: Option<String>,
    pub account: Option<String>,
    pub reason: String,
    /// Who answers for it (optional).
    pub owner: Option<String>,
    pub expires: Option<NaiveDate>,
    /// Set by the analysis: the rule expired before the as-of date of some export, and was not
    /// applied to its principals (it still applies where the as-of date is not later).
    pub expired: bool,
    /// Set by the analysis: how many findings it excluded.
    pub matched: u64,
    #[serde(skip)]
    pub(crate) principal_glob: Option<GlobMatcher>,
    #[serde(skip)]
    pub(crate) policy_glob: Option<GlobMatcher>,
}

/// The parsed `--config` file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    /// Where it came from (for the report header).
    pub path: Option<PathBuf>,
    /// SHA-256 of the config file, for the audit trail.
    pub sha256: Option<String>,
    pub exclusions: Vec<ExclusionRule>,
    /// Intentional-access rules (built-in ones switched off, the organisation's own).
    pub intentional: IntentionalConfig,
}

fn glob(path: &Path, at: &str, pattern: &str) -> Result<GlobMatcher> {
    GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::parse(path, at, format!("bad glob {pattern:?}: {e}")))
}

/// A TOML error at the key it is about (`exclude[1].principal`; `$` when it is about no key, as
/// a syntax error), as `line L, column C: message`: toml's own text quotes the offending line,
/// which may be hundreds of kilobytes long.
fn toml_error(path: &Path, text: &str, e: serde_path_to_error::Error<toml::de::Error>) -> Error {
    let key = e.path().to_string();
    let at = if key.is_empty() || key == "." {
        "$".to_string()
    } else {
        key
    };
    let e = e.into_inner();
    let mut message: String = e.message().trim_end().chars().take(300).collect();
    if let Some(span) = e.span() {
        let (line, column) = line_column(text.get(..span.start).unwrap_or(text));
        message = format!("line {line}, column {column}: {message}");
    }
    Error::parse(path, at, message)
}

/// The line and column (from 1, in characters) just after `before`.
fn line_column(before: &str) -> (usize, usize) {
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The text of a config file: UTF-8, as TOML requires. Bytes that are not are an error at their
/// line and column that says so (the message for export files spoke of AWS's JSON and CSV).
fn config_text(path: &Path) -> Result<String> {
    let bytes = crate::files::read_regular(path)?;
    if let Err(e) = std::str::from_utf8(&bytes) {
        let offset = e.valid_up_to();
        let (line, column) = line_column(&String::from_utf8_lossy(&bytes[..offset]));
        return Err(Error::parse(
            path,
            "$",
            format!(
                "line {line}, column {column}: not UTF-8 (byte offset {offset}): a TOML file is \
                 UTF-8 text; save it as UTF-8"
            ),
        ));
    }
    crate::files::text(path, bytes)
}

/// The `[intentional]` table: every disabled id must be a built-in rule, every rule needs an id,
/// a reason and at least one of principal, path, policy.
fn intentional(path: &Path, raw: RawIntentional) -> Result<IntentionalConfig> {
    let builtin: Vec<&str> = BUILTIN.iter().map(|(id, _)| *id).collect();
    for (i, d) in raw.disable.iter().enumerate() {
        if !builtin.contains(&d.as_str()) {
            return Err(Error::parse(
                path,
                format!("intentional.disable[{i}]"),
                format!(
                    "{d:?} is not a built-in rule (they are {})",
                    builtin.join(", ")
                ),
            ));
        }
    }
    let mut rules = Vec::new();
    for (i, r) in raw.rule.into_iter().enumerate() {
        let at = format!("intentional.rule[{i}]");
        let id = r.id.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            Error::parse(
                path,
                format!("{at}.id"),
                "every rule needs an id (the report names it)",
            )
        })?;
        // The report and decisions.csv name a rule by its id: two rules, or a rule and a
        // built-in, of one id could not be told apart.
        let taken =
            builtin.contains(&id.as_str()) || rules.iter().any(|x: &IntentionalRule| x.id == id);
        if taken {
            return Err(Error::parse(
                path,
                format!("{at}.id"),
                format!("id {id:?} is taken (by a built-in rule or an earlier rule); give another"),
            ));
        }
        let reason = r.reason.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            Error::parse(
                path,
                format!("{at}.reason"),
                "every rule needs a reason (auditors read it)",
            )
        })?;
        if r.principal.is_none() && r.path.is_none() && r.policy.is_none() {
            return Err(Error::parse(
                path,
                &at,
                "a rule needs at least one of principal, path, policy",
            ));
        }
        rules.push(IntentionalRule {
            principal_glob: r
                .principal
                .as_deref()
                .map(|p| glob(path, &format!("{at}.principal"), p))
                .transpose()?,
            policy_glob: r
                .policy
                .as_deref()
                .map(|p| glob(path, &format!("{at}.policy"), p))
                .transpose()?,
            id,
            principal: r.principal,
            path: r.path,
            policy: r.policy,
            reason,
        });
    }
    Ok(IntentionalConfig {
        disabled: raw.disable,
        rules,
    })
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = config_text(path)?;
        Config::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let raw: RawConfig = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| toml_error(path, text, e))?;
        let mut exclusions = Vec::new();
        if raw.exclude.len() > MAX_EXCLUSIONS {
            return Err(Error::parse(
                path,
                format!("exclude[{MAX_EXCLUSIONS}]"),
                format!(
                    "{} exclusion rules: at most {} are read",
                    crate::model::grouped(raw.exclude.len() as u64),
                    crate::model::grouped(MAX_EXCLUSIONS as u64)
                ),
            ));
        }
        for (i, r) in raw.exclude.into_iter().enumerate() {
            let at = format!("exclude[{i}]");
            check_parts(path, &at, &r)?;
            let reason = match r.reason {
                Some(s) if !s.trim().is_empty() => s,
                _ => {
                    return Err(Error::parse(
                        path,
                        format!("{at}.reason"),
                        "every exclusion needs a reason (auditors read it)",
                    ));
                }
            };
            if r.principal.is_none()
                && r.action.is_none()
                && r.policy.is_none()
                && r.account.is_none()
            {
                return Err(Error::parse(
                    path,
                    &at,
                    "an exclusion needs at least one of principal, action, policy, account",
                ));
            }
            let expires = match r.expires {
                None => None,
                Some(dt) => {
                    let d = dt.date.ok_or_else(|| {
                        Error::parse(
                            path,
                            format!("{at}.expires"),
                            "expected a date like 2027-03-31",
                        )
                    })?;
                    Some(
                        NaiveDate::from_ymd_opt(
                            i32::from(d.year),
                            u32::from(d.month),
                            u32::from(d.day),
                        )
                        .ok_or_else(|| {
                            Error::parse(path, format!("{at}.expires"), "not a valid date")
                        })?,
                    )
                }
            };
            let principal_glob = r
                .principal
                .as_deref()
                .map(|p| glob(path, &format!("{at}.principal"), p))
                .transpose()?;
            let policy_glob = r
                .policy
                .as_deref()
                .map(|p| glob(path, &format!("{at}.policy"), p))
                .transpose()?;
            exclusions.push(ExclusionRule {
                // At most `MAX_EXCLUSIONS` rules (checked above).
                id: ExclusionId(
                    u16::try_from(i + 1)
                        .ok()
                        .and_then(NonZeroU16::new)
                        .unwrap_or(NonZeroU16::MAX),
                ),
                principal: r.principal,
                action: r.action,
                policy: r.policy,
                account: r.account,
                reason,
                owner: r.owner.filter(|o| !o.trim().is_empty()),
                expires,
                expired: false,
                matched: 0,
                principal_glob,
                policy_glob,
            });
        }
        use sha2::{Digest, Sha256};
        Ok(Config {
            path: Some(path.to_path_buf()),
            sha256: Some(format!("{:x}", Sha256::digest(text.as_bytes()))),
            exclusions,
            intentional: intentional(path, raw.intentional)?,
        })
    }

    /// The rule of that id.
    pub fn rule(&self, id: ExclusionId) -> Option<&ExclusionRule> {
        let index = usize::from(id.0.get()).checked_sub(1)?;
        self.exclusions.get(index)
    }
}

/// Refuses a rule part that can match nothing, which would exclude nothing without a word: an
/// empty principal or policy pattern, an action pattern without both a service and an action
/// part (`ec2:`), an account that is not a 12-digit account id (accounts match exactly).
fn check_parts(path: &Path, at: &str, r: &RawRule) -> Result<()> {
    let bad = |key: &str, message: String| Err(Error::parse(path, format!("{at}.{key}"), message));
    for (key, value) in [("principal", &r.principal), ("policy", &r.policy)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return bad(
                key,
                format!("an empty {key} pattern matches nothing; leave it out"),
            );
        }
    }
    if let Some(a) = &r.action {
        let parts = a.split_once(':');
        if a != "*" && !parts.is_some_and(|(s, n)| !s.trim().is_empty() && !n.trim().is_empty()) {
            return bad(
                "action",
                format!("expected an action pattern like \"iam:*\", found {a:?}"),
            );
        }
    }
    if let Some(account) = &r.account
        && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
    {
        return bad(
            "account",
            format!("expected a 12-digit account id (accounts match exactly), found {account:?}"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TOML error names the key it is about (its line and column gave only the place), and a
    /// syntax error, about no key, stays at `$`.
    #[test]
    fn toml_errors_name_their_key() {
        let p = Path::new("c.toml");
        let rule = "[[exclude]]\nprincipal = \"a\"\nreason = \"r\"\n";
        for (text, want) in [
            (
                format!("{rule}{}", rule.replace("\"a\"", "5")),
                "c.toml: exclude[1].principal: line 5, column 13: invalid type: integer `5`",
            ),
            (
                format!("{rule}expires = \"2027-01-01\"\n"),
                "c.toml: exclude[0].expires: line 4, column 11: invalid type: string",
            ),
            (
                "[intentional]\ndisable = [1]\n".to_string(),
                "c.toml: intentional.disable[0]: line 2, column 12: invalid type: integer `1`",
            ),
            (
                format!("{rule}owner = \"o\"\nbogus = 1\n"),
                "c.toml: exclude[0].bogus: line 5, column 1: unknown field `bogus`",
            ),
            (
                "[[exclude]]\nreason = \"x\n".to_string(),
                "c.toml: $: line 2, column 12: invalid basic string",
            ),
        ] {
            let e = Config::parse(p, &text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}\n{e}");
        }
    }

    /// A config file that is not UTF-8 says where and that TOML is UTF-8 (the message for export
    /// files spoke of "AWS exports", UTF-8 JSON and CSV).
    #[test]
    fn a_config_that_is_not_utf8_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            b"[[exclude]]\nprincipal = \"caf\xe9\"\nreason = \"r\"\n",
        )
        .unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        let want = "$: line 2, column 17: not UTF-8 (byte offset 28): a TOML file is UTF-8 text";
        assert!(e.contains(want) && !e.contains("AWS"), "{e}");
    }

    /// A rule's id is 16 bits: 65,535 rules are read (the last numbered 65535), one more is an
    /// error naming the file and the first rule past the limit.
    #[test]
    fn at_most_65535_exclusion_rules() {
        let p = Path::new("many.toml");
        let rules =
            |n: usize| "[[exclude]]\naccount = \"111111111111\"\nreason = \"r\"\n".repeat(n);
        let c = Config::parse(p, &rules(MAX_EXCLUSIONS)).unwrap();
        assert_eq!(c.exclusions.len(), 65_535);
        assert_eq!(c.exclusions.last().unwrap().id.to_string(), "65535");
        let e = Config::parse(p, &rules(MAX_EXCLUSIONS + 1))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("many.toml") && e.contains("exclude[65535]"),
            "{e}"
        );
        assert!(e.contains("65,536 exclusion rules: at most 65,535"), "{e}");
    }

    #[test]
    fn parses_rules_and_requires_reason() {
        let p = Path::new("c.toml");
        let c = Config::parse(
            p,
            "[[exclude]]\nprincipal = \"Break*\"\nreason = \"r\"\nexpires = 2027-01-31\n",
        )
        .unwrap();
        assert_eq!(c.exclusions.len(), 1);
        assert!(
            c.exclusions[0]
                .principal_glob
                .as_ref()
                .unwrap()
                .is_match("breakglass")
        );
        let e = Config::parse(p, "[[exclude]]\nprincipal = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("exclude[0].reason"), "{e}");
        let e = Config::parse(p, "[[exclude]]\nreason = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("at least one"), "{e}");
        let e = Config::parse(p, "[[exclude]]\nprincipl = \"x\"\nreason=\"r\"\n").unwrap_err();
        assert!(e.to_string().contains("c.toml"), "{e}");
        // Parts that could match nothing are refused, naming the key.
        for (rule, key, needle) in [
            ("account = \"12\"", "account", "12-digit account id"),
            (
                "account = \"1111-2222-3333\"",
                "account",
                "12-digit account id",
            ),
            ("action = \"ec2:\"", "action", "expected an action pattern"),
            (
                "action = \":Describe*\"",
                "action",
                "expected an action pattern",
            ),
            ("action = \"ec2\"", "action", "expected an action pattern"),
            ("principal = \"\"", "principal", "matches nothing"),
            ("policy = \" \"", "policy", "matches nothing"),
        ] {
            let e = Config::parse(p, &format!("[[exclude]]\n{rule}\nreason = \"r\"\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("exclude[0].{key}")) && e.contains(needle),
                "{rule}: {e}"
            );
        }
        // An intentional rule's id names it once.
        let rule = |id: &str| {
            format!("[[intentional.rule]]\nid = \"{id}\"\nprincipal = \"x\"\nreason = \"r\"\n")
        };
        for (text, needle) in [
            (rule("break_glass"), "intentional.rule[0].id"),
            (
                format!("{}{}", rule("mine"), rule("mine")),
                "intentional.rule[1].id",
            ),
        ] {
            let e = Config::parse(p, &text).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains("is taken"), "{e}");
        }
        Config::parse(p, &format!("{}{}", rule("mine"), rule("yours"))).unwrap();
        for rule in [
            "account = \"222222222222\"",
            "action = \"*\"",
            "action = \"ec2:Describe*\"",
        ] {
            Config::parse(p, &format!("[[exclude]]\n{rule}\nreason = \"r\"\n")).unwrap();
        }
    }
}
