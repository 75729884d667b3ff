//! The action notation of a finding's `action` cell, and of `iam-tighten expand`'s arguments:
//! action patterns separated by spaces, optionally followed by `except` and the patterns taken
//! out — `ec2:RunInstances`, `ec2:*`, `ec2:Describe* ec2:Get*`, `lambda:* except lambda:Add*
//! lambda:Get*`. `analysis::groups::describe` writes it; [`expand_notation`] reads it back, so
//! every cell of `findings.csv` expands to exactly its actions.

use crate::catalog::ActionSet;
use crate::policy::Expander;

/// The keyword between the included and the excluded patterns.
pub const EXCEPT: &str = "except";

/// A parsed notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notation<'a> {
    pub include: Vec<&'a str>,
    pub exclude: Vec<&'a str>,
}

/// Why a text is not a notation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotationError(pub String);

/// Parses a notation: whitespace-separated tokens, each `*` or `service:pattern`, with at most
/// one `except` (any case) that has patterns on both sides.
pub fn parse_notation(text: &str) -> Result<Notation<'_>, NotationError> {
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    let mut seen_except = false;
    for token in text.split_whitespace() {
        if token.eq_ignore_ascii_case(EXCEPT) {
            if seen_except {
                return Err(NotationError(format!(
                    "{EXCEPT:?} appears twice; the notation is `patterns {EXCEPT} patterns`"
                )));
            }
            if include.is_empty() {
                return Err(NotationError(format!(
                    "nothing before {EXCEPT:?}: give the patterns to take actions out of"
                )));
            }
            seen_except = true;
            continue;
        }
        if !is_pattern(token) {
            return Err(NotationError(format!(
                "{} is not an action pattern (service:Action, with * and ? as wildcards, or *)",
                shorten(token)
            )));
        }
        if seen_except {
            exclude.push(token);
        } else {
            include.push(token);
        }
    }
    if include.is_empty() {
        return Err(NotationError("no action pattern given".into()));
    }
    if seen_except && exclude.is_empty() {
        return Err(NotationError(format!(
            "nothing after {EXCEPT:?}: give the patterns to take out"
        )));
    }
    Ok(Notation { include, exclude })
}

/// `*`, or `service:action` with a non-empty service and action.
fn is_pattern(token: &str) -> bool {
    if token.bytes().all(|b| b == b'*') {
        return true;
    }
    match token.split_once(':') {
        Some((service, action)) => !service.is_empty() && !action.is_empty(),
        None => false,
    }
}

/// A token for an error message: at most 80 characters, quoted.
fn shorten(token: &str) -> String {
    let cut: String = token.chars().take(80).collect();
    if cut.len() < token.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// The expansion of a notation, with the patterns that matched nothing.
#[derive(Debug, Clone)]
pub struct NotationExpansion {
    pub actions: ActionSet,
    /// Included or excluded patterns that match no action of the catalog, as written.
    pub unmatched: Vec<String>,
}

/// Expands a notation: the union of the included patterns minus the union of the excluded ones.
pub fn expand_notation(
    text: &str,
    expander: &mut Expander<'_>,
) -> Result<NotationExpansion, NotationError> {
    let n = parse_notation(text)?;
    let mut actions = expander.catalog().empty_set();
    let mut unmatched = Vec::new();
    for p in &n.include {
        let s = expander.expand_pattern(p);
        if s.is_empty() {
            unmatched.push((*p).to_string());
        }
        actions.union_with(&s);
    }
    for p in &n.exclude {
        let s = expander.expand_pattern(p);
        if s.is_empty() {
            unmatched.push((*p).to_string());
        }
        actions.difference_with(&s);
    }
    unmatched.dedup();
    Ok(NotationExpansion { actions, unmatched })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn parses_every_form() {
        let n = parse_notation("lambda:* except lambda:Add* lambda:Get*").unwrap();
        assert_eq!(n.include, ["lambda:*"]);
        assert_eq!(n.exclude, ["lambda:Add*", "lambda:Get*"]);
        let n = parse_notation("  ec2:Describe*\tec2:Get*  ").unwrap();
        assert_eq!(n.include, ["ec2:Describe*", "ec2:Get*"]);
        assert!(n.exclude.is_empty());
        assert_eq!(parse_notation("*").unwrap().include, ["*"]);
        assert_eq!(
            parse_notation("s3:* EXCEPT s3:Get*").unwrap().exclude,
            ["s3:Get*"]
        );
    }

    #[test]
    fn refuses_what_is_not_a_notation() {
        for (text, says) in [
            ("", "no action pattern"),
            ("except s3:*", "nothing before"),
            ("s3:* except", "nothing after"),
            ("s3:* except s3:Get* except s3:List*", "twice"),
            ("lambda", "not an action pattern"),
            ("s3:", "not an action pattern"),
            (":Get*", "not an action pattern"),
        ] {
            let e = parse_notation(text).unwrap_err().0;
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn expands_to_exactly_the_difference() {
        let c = Catalog::embedded();
        let mut e = Expander::new(c);
        let all = expand_notation("lambda:*", &mut e).unwrap().actions;
        let add = expand_notation("lambda:Add*", &mut e).unwrap().actions;
        let rest = expand_notation("lambda:* except lambda:Add*", &mut e).unwrap();
        assert_eq!(rest.actions.len(), all.len() - add.len());
        assert!(rest.unmatched.is_empty());
        let none = expand_notation("lambda:* except nosuch:*", &mut e).unwrap();
        assert_eq!(none.actions, all);
        assert_eq!(none.unmatched, ["nosuch:*"]);
    }
}
