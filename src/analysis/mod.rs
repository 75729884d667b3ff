//! The analysis: for every principal × granted action, a verdict (used / unused / unknown) with
//! its reason, a sensitivity and a rank. A short pipeline, one file per stage:
//!
//! ```text
//! collect.rs     exports → grant rows (grouped actions), evidence rows, principals' facts
//! decide.rs      rows → findings (the verdict rules: verdict.rs, the only polars here)
//! exclusions.rs  findings → findings covered by --config rules (split where a rule covers part)
//! rank.rs        findings → ordered, numbered, counted per principal / service / policy
//! ```
//!
//! Beside them: `window.rs` (the as-of time and each principal's window), `observability.rs`
//! (what AWS never reports), `groups.rs` (grouping actions that share a verdict), `sensitivity.rs`,
//! `reason.rs` (the verdict vocabulary), `model.rs` (the plain structs everything after this
//! module reads), `identities.rs` (unused identities and credentials) and `parquet.rs`.
//! Polars is private to this module.

mod collect;
pub mod config;
mod decide;
mod exclusions;
pub mod explain;
pub mod groups;
pub mod identities;
pub mod intentional;
pub mod lists;
pub mod model;
pub mod named;
mod observability;
mod organization;
mod parquet;
mod rank;
mod reason;
pub mod schema;
pub mod sensitivity;
mod verdict;
mod window;

use std::time::{Duration, Instant};

use serde::Serialize;

pub(crate) use collect::{
    BOUNDARY_MISSING, GROUP_MISSING, MANAGED_BY_IDENTITY_CENTER, POLICY_MISSING,
};
pub use config::{Config, ExclusionId, ExclusionRule};
pub use groups::{ActionList, ActionLists, GrantedAction, ListId};
pub use model::{
    AccountWarning, Analysis, AsOfSource, BySensitivity, Counts, ExportInfo, Finding, GrantedById,
    LabelId, ManifestFacts, PolicyInfo, PolicyLabel, PrincipalInfo, PrincipalNames, ServiceSummary,
};
pub use observability::is_not_observable;
pub use organization::permission_set_references;
pub use parquet::{
    Dataset, DatasetPart, PARTITION_COLUMN, findings_dataset, write_dataset_part,
    write_findings_parquet,
};
pub use reason::{Reason, Status};
pub use sensitivity::Sensitivity;

use crate::catalog::{ActionId, Catalog};
use crate::error::{Error, Result};
use crate::model::{Export, Organization, Timestamp};

/// AWS keeps last-accessed data for (at least) 400 days; a longer window cannot be evidenced.
pub const MAX_WINDOW_DAYS: u32 = 400;

/// Analysis settings (built from the flags by `cmd`).
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub unused_after_days: u32,
    /// `--as-of`, overriding every export's own time.
    pub as_of: Option<Timestamp>,
}

impl Settings {
    /// Settings with a window AWS's data can evidence (1–400 days).
    pub fn new(unused_after_days: u32, as_of: Option<Timestamp>) -> Result<Settings> {
        if unused_after_days == 0 || unused_after_days > MAX_WINDOW_DAYS {
            return Err(Error::Usage(format!(
                "--unused-after must be between 1 and {MAX_WINDOW_DAYS} days (AWS keeps last-accessed data for {MAX_WINDOW_DAYS} days), got {unused_after_days}"
            )));
        }
        Ok(Settings {
            unused_after_days,
            as_of,
        })
    }
}

/// `--strict`: the error for the first warning of a finished analysis (its own, such as
/// `permission_set_windows_differ`, `exclusion_expired` or `credential_report_older_than_as_of`;
/// an export's loader warnings already failed a strict load), naming its account, file and JSON
/// path, and counting the rest. `credential_report_missing` never fails a strict run (the report
/// is optional; the identity checks say they were not possible). `None` without such a warning.
pub fn strict_error(warnings: &[AccountWarning]) -> Option<Error> {
    let failures: Vec<&AccountWarning> = warnings
        .iter()
        .filter(|w| w.warning.code != crate::input::STRICT_EXEMPT)
        .collect();
    let first = failures.first()?;
    let w = &first.warning;
    let location = [w.file.as_deref(), w.json_path.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Some(Error::Analysis(format!(
        "account {}{}: {}",
        first.account_id,
        if location.is_empty() {
            String::new()
        } else {
            format!(", {location}")
        },
        crate::input::strict_message(w, failures.len())
    )))
}

/// Runs the whole analysis over already-loaded exports.
pub fn analyze<'c>(
    exports: &[Export],
    catalog: &'c Catalog,
    settings: &Settings,
    config: &Config,
) -> Result<Analysis<'c>> {
    analyze_organization(exports, None, catalog, settings, config)
}

/// [`analyze`] with the organisation part the exports came with (`input::organization`): SCPs
/// and RCPs mark the grants they block or restrict, and IAM Identity Center roles roll up to
/// their permission sets. With `None` it is exactly [`analyze`].
pub fn analyze_organization<'c>(
    exports: &[Export],
    organization: Option<&Organization>,
    catalog: &'c Catalog,
    settings: &Settings,
    config: &Config,
) -> Result<Analysis<'c>> {
    run(
        Exports::Shared(exports),
        organization,
        catalog,
        settings,
        config,
        None,
    )
}

/// [`analyze_organization`], freeing each export's last-accessed data as soon as that export is
/// collected: nothing after collecting reads it, and it is the largest part of a loaded export
/// (at 100,000 roles 1.5 GB of a 4.1 GB heap peak, held through the verdict join until this
/// freed it). Everything else in `exports` is left as it was.
pub fn analyze_organization_freeing<'c>(
    exports: &mut [Export],
    organization: Option<&Organization>,
    catalog: &'c Catalog,
    settings: &Settings,
    config: &Config,
) -> Result<Analysis<'c>> {
    run(
        Exports::Freeing(exports),
        organization,
        catalog,
        settings,
        config,
        None,
    )
}

/// The exports an analysis reads: borrowed, or borrowed mutably to free their last-accessed data
/// once collected.
enum Exports<'e> {
    Shared(&'e [Export]),
    Freeing(&'e mut [Export]),
}

/// A verdict chosen by the caller for a principal's action (`None`: keep the data's).
pub type GivenVerdict<'a> = &'a dyn Fn(&PrincipalInfo, ActionId) -> Option<Reason>;

/// [`analyze`], with the verdicts `given` chooses in place of the data's: every other stage (grants,
/// groups, exclusions, ranking, every count) is the real one. For tests and what-if questions
/// ("what would be recommended if these were unused?") on exports without last-accessed data.
pub fn analyze_with_verdicts<'c>(
    exports: &[Export],
    catalog: &'c Catalog,
    settings: &Settings,
    config: &Config,
    given: GivenVerdict<'_>,
) -> Result<Analysis<'c>> {
    run(
        Exports::Shared(exports),
        None,
        catalog,
        settings,
        config,
        Some(given),
    )
}

fn run<'c>(
    exports: Exports<'_>,
    org: Option<&Organization>,
    catalog: &'c Catalog,
    settings: &Settings,
    config: &Config,
    verdicts: Option<GivenVerdict<'_>>,
) -> Result<Analysis<'c>> {
    // A library caller may build `Settings` by hand: the window is checked here too.
    let settings = Settings::new(settings.unused_after_days, settings.as_of)?;
    let mut config = config.clone();
    let mut timings = Vec::new();

    let clock = Instant::now();
    let mut c = collect::collect(exports, catalog, &settings, &mut config)?;
    lap(&mut timings, "expand", clock);
    // The last-accessed data and the collector's scratch are freed: give the memory back before
    // the join allocates (see `crate::memory`).
    let clock = Instant::now();
    crate::memory::release("after_collect");
    lap(&mut timings, "release_after_collect", clock);

    let clock = Instant::now();
    let mut regions = model::Regions::default();
    // Only the join reads the grant and evidence rows (the organisation part still reads the
    // principal and service rows, the ranking the service rows): it consumes them, freeing them
    // as it goes (at 100,000 roles they were ~0.1 GB held until the analysis was done).
    let dates = org.map(|_| organization::grant_dates(&c.inputs.grants));
    let mut findings = decide::decide(&mut c, &mut regions)?;
    if let Some(given) = verdicts {
        findings = decide::override_verdicts(findings, &mut c, given);
    }
    lap(&mut timings, "join_verdicts", clock);
    let clock = Instant::now();
    crate::memory::release("after_join");
    lap(&mut timings, "release_after_join", clock);

    let mut control_notes = Vec::new();
    let mut findings = model::WithControls {
        findings,
        controls: Vec::new(),
    };
    if let Some(org) = org {
        for w in &org.warnings {
            c.warnings.push(model::AccountWarning {
                account_id: org.management_account.clone(),
                warning: w.clone(),
            });
        }
        let clock = Instant::now();
        let (split, mut notes) = organization::apply_controls(findings.findings, &mut c, org);
        findings = organization::roll_up_permission_sets(
            split,
            &mut c,
            (org, &dates.unwrap_or_default()),
            settings.unused_after_days,
            &mut notes,
        )?;
        control_notes = notes;
        lap(&mut timings, "organization", clock);
    }

    let clock = Instant::now();
    let rule_sets = exclusions::rule_sets(&config.exclusions, &mut c.expander);
    let findings = exclusions::apply(
        findings,
        &c.principals,
        &c.exports,
        &mut config.exclusions,
        &rule_sets,
        &c.granted_by,
        &c.labels,
        &mut c.lists,
    );
    within_index(findings.findings.len())?;
    let ranked = rank::rank(
        findings,
        &mut c.principals,
        &control_notes,
        catalog,
        &c.lists,
        &c.granted_by,
    );
    let service_facts = rank::service_facts(
        &ranked.by_principal_service,
        std::mem::take(&mut c.inputs.services),
        &c.inputs.regions,
        &mut regions,
    )?;
    let passrole_partners =
        named::passrole_partners(&ranked.findings, c.principals.len(), &c.lists, &c.risks);
    c.lists.mark_shared(ranked.findings.iter().map(|f| f.list));
    lap(&mut timings, "rank", clock);

    let organization = org.map(|o| organization::info(o, &c.principals));
    Ok(Analysis {
        catalog,
        settings,
        config,
        exports: c.exports,
        warnings: c.warnings,
        principals: c.principals,
        findings: ranked.findings,
        controls: ranked.controls,
        granted_by: c.granted_by,
        labels: c.labels,
        totals: ranked.totals,
        unused_by_sensitivity: ranked.unused_by_sensitivity,
        timings,
        by_principal_service: ranked.by_principal_service,
        action_lists: c.lists,
        risks: c.risks,
        passrole_partners,
        organization,
        control_notes,
        service_facts,
        regions,
        uncatalogued: std::mem::take(&mut c.inputs.uncatalogued),
    })
}

/// Refuses more findings than 32-bit indices name: from the rank on, a finding is named by its
/// index as a `u32` (each principal's list of its findings, the SCP/RCP notes beside them, the
/// dataset's parts, whose writer checks with this too). Refused, not truncated; unreachable on
/// a laptop (the findings alone would take ~100 GB).
pub(crate) fn within_index(findings: usize) -> Result<()> {
    if findings >= u32::MAX as usize {
        return Err(Error::Analysis(format!(
            "{findings} findings: more than the {} one run indexes; analyse the organisation's \
             accounts in several runs",
            u32::MAX - 1
        )));
    }
    Ok(())
}

fn lap(timings: &mut Vec<(&'static str, Duration)>, stage: &'static str, since: Instant) {
    timings.push((stage, since.elapsed()));
}

#[cfg(test)]
mod tests {
    #[test]
    fn more_findings_than_32_bits_index_are_refused() {
        let limit = u32::MAX as usize - 1;
        assert!(super::within_index(0).is_ok());
        assert!(super::within_index(limit).is_ok());
        let err = super::within_index(limit + 1).unwrap_err().to_string();
        assert!(err.contains("4294967295 findings"), "{err}");
        assert!(super::within_index(usize::MAX).is_err());
    }
}
