//! Sensitivity of an action: the project's own rules, from the access level and curated,
//! sourced action lists (`data/sensitive-actions.tsv`). See `docs/methodology.md`.

use std::collections::HashMap;

use serde::Serialize;

use crate::catalog::{AccessLevel, ActionId, Catalog};

/// How dangerous holding an unused permission is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    Low,
    Medium,
    High,
    Critical,
}

impl Sensitivity {
    pub const ALL_DESC: [Sensitivity; 4] = [
        Sensitivity::Critical,
        Sensitivity::High,
        Sensitivity::Medium,
        Sensitivity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Low => "low",
            Sensitivity::Medium => "medium",
            Sensitivity::High => "high",
            Sensitivity::Critical => "critical",
        }
    }

    /// Weight of one unused finding in a principal's score.
    /// What the level holds, in a few words: the summary cards, the methodology section and
    /// docs/methodology.md all say this (a test checks the docs), so they cannot disagree.
    pub fn meaning(self) -> &'static str {
        match self {
            Sensitivity::Critical => {
                "privilege escalation: actions that let the principal give itself more access, alone or with iam:PassRole"
            }
            Sensitivity::High => {
                "permissions management, credential exposure, data exfiltration, and iam:PassRole on its own"
            }
            Sensitivity::Medium => "other writes: creating, changing or deleting resources",
            Sensitivity::Low => "reads, lists and tagging",
        }
    }

    pub fn weight(self) -> u64 {
        match self {
            Sensitivity::Low => 1,
            Sensitivity::Medium => 5,
            Sensitivity::High => 25,
            Sensitivity::Critical => 100,
        }
    }

    pub fn from_u8(v: u8) -> Sensitivity {
        match v {
            3 => Sensitivity::Critical,
            2 => Sensitivity::High,
            1 => Sensitivity::Medium,
            _ => Sensitivity::Low,
        }
    }
}

/// Risk categories, as bit flags (stable order = output order).
pub mod category {
    pub const PRIVILEGE_ESCALATION: u8 = 1;
    pub const CREDENTIALS_EXPOSURE: u8 = 2;
    pub const DATA_EXFILTRATION: u8 = 4;
    pub const RESOURCE_EXPOSURE: u8 = 8;
    pub const INFRASTRUCTURE_MODIFICATION: u8 = 16;

    pub const NAMES: [(u8, &str); 5] = [
        (PRIVILEGE_ESCALATION, "privilege_escalation"),
        (CREDENTIALS_EXPOSURE, "credentials_exposure"),
        (DATA_EXFILTRATION, "data_exfiltration"),
        (RESOURCE_EXPOSURE, "resource_exposure"),
        (INFRASTRUCTURE_MODIFICATION, "infrastructure_modification"),
    ];

    /// Every category's bit.
    pub const ALL: u8 = PRIVILEGE_ESCALATION
        | CREDENTIALS_EXPOSURE
        | DATA_EXFILTRATION
        | RESOURCE_EXPOSURE
        | INFRASTRUCTURE_MODIFICATION;

    /// `privilege_escalation;data_exfiltration` style list.
    pub fn names(bits: u8) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(b, _)| bits & b != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    /// [`names`] joined with `;`, made once per set of categories (the findings files write it
    /// on every row).
    pub fn joined(bits: u8) -> &'static str {
        static JOINED: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| (0..=ALL).map(|bits| names(bits).join(";")).collect());
        JOINED
            .get(usize::from(bits & ALL))
            .map_or("", String::as_str)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn joined_is_the_names_of_every_set_of_categories() {
            assert_eq!(NAMES.iter().fold(0, |all, (b, _)| all | b), ALL);
            for bits in 0..=u8::MAX {
                assert_eq!(joined(bits), names(bits).join(";"), "{bits:#b}");
            }
            assert_eq!(
                joined(PRIVILEGE_ESCALATION | DATA_EXFILTRATION),
                "privilege_escalation;data_exfiltration"
            );
        }
    }
}

/// Role of an action in the `iam:PassRole` combination rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combo {
    None,
    /// `iam:PassRole` itself.
    PassRole,
    /// A service action that runs code or infrastructure under a passed role.
    Consumer,
}

/// Per-action base classification, before combinations.
#[derive(Debug, Clone, Copy)]
pub struct ActionRisk {
    pub sensitivity: Sensitivity,
    pub categories: u8,
    pub combo: Combo,
}

const SENSITIVE: &str = include_str!("../../data/sensitive-actions.tsv");

/// Classifies every catalog action once. Indexed by `ActionId`.
pub fn classify(catalog: &Catalog) -> Vec<ActionRisk> {
    let mut listed: HashMap<ActionId, (u8, Combo, bool)> = HashMap::new();
    for line in SENSITIVE.lines() {
        if line.starts_with('#') || line.starts_with("action\t") || line.is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(action), Some(cat), Some(rule)) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        // An action missing from a (user-supplied, older) catalog is simply not classified.
        let Some(id) = catalog.lookup_full(action) else {
            continue;
        };
        let entry = listed.entry(id).or_insert((0, Combo::None, false));
        match (cat, rule) {
            ("privilege_escalation", "direct") => {
                entry.0 |= category::PRIVILEGE_ESCALATION;
                entry.2 = true;
            }
            ("privilege_escalation", _) => {
                entry.1 = if action.eq_ignore_ascii_case("iam:PassRole") {
                    Combo::PassRole
                } else {
                    Combo::Consumer
                };
            }
            ("credentials_exposure", _) => entry.0 |= category::CREDENTIALS_EXPOSURE,
            ("data_exfiltration", _) => entry.0 |= category::DATA_EXFILTRATION,
            _ => {}
        }
    }
    (0..catalog.len())
        .map(|i| {
            let id = ActionId(i as u32);
            let level = catalog.action(id).level;
            let mut cats = match level {
                AccessLevel::PermissionsManagement => category::RESOURCE_EXPOSURE,
                AccessLevel::Write => category::INFRASTRUCTURE_MODIFICATION,
                _ => 0,
            };
            let (extra, combo, direct) =
                listed.get(&id).copied().unwrap_or((0, Combo::None, false));
            cats |= extra;
            let mut sensitivity = match level {
                AccessLevel::PermissionsManagement => Sensitivity::High,
                AccessLevel::Write => Sensitivity::Medium,
                AccessLevel::Tagging | AccessLevel::Read | AccessLevel::List => Sensitivity::Low,
            };
            if extra & (category::CREDENTIALS_EXPOSURE | category::DATA_EXFILTRATION) != 0 {
                sensitivity = sensitivity.max(Sensitivity::High);
            }
            if combo == Combo::PassRole {
                // Alone, PassRole lets the holder hand a role to a service; with a consumer
                // action it becomes privilege escalation (raised per principal).
                sensitivity = sensitivity.max(Sensitivity::High);
            }
            if direct {
                sensitivity = Sensitivity::Critical;
            }
            ActionRisk {
                sensitivity,
                categories: cats,
                combo,
            }
        })
        .collect()
}
