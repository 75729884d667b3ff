//! `diff`: Findings × Findings → Changes. Two analyses (an older and a newer export, analysed
//! with the same catalog, window and config) are reduced to compact per-side tables ([`Side`]:
//! principals and their groups of actions), compared account by account — principals by ARN,
//! permissions by principal × action, in groups ([`compare`]) — and written as `diff.csv`,
//! `diff.json` and `diff.html` ([`DiffRun`]).
//!
//! ```text
//! kinds.rs     the change vocabulary (ChangeKind), documented in docs/usage.md
//! side.rs      one side's view of an analysis (Side: principals, groups of actions, identities)
//! pairing.rs   one principal's groups of two sides → cells (whole groups where both agree)
//! compare.rs   two sides → sorted Changes (accounts, principals, permission rows, identities)
//! expand.rs    a row's actions, one row per action (per-action diff.csv) or as a notation
//! counts.rs    pairs and rows per kind, new risk (for --exit-code, --fail-on-new, the headline)
//! policies.rs  rows grouped per principal × granting policies × kind (diff.html's tables)
//! collect.rs   what the organisation-wide outputs keep of each account, bounded
//! organization.rs  the organisation parts compared: permission sets, SCPs/RCPs, accounts
//! permission_sets.rs  the Identity Center roles rolled up per permission set, both sides
//! model.rs     the diff model diff.json and diff.html render; csv.rs, html.rs the formats
//! ```
//!
//! The comparison knows nothing of polars or exports: it takes two [`Side`]s (and the catalog
//! their action ids come from), so it can be tested with hand-built or generated tables.

mod collect;
mod compare;
mod counts;
pub mod csv;
pub mod expand;
pub mod html;
mod kinds;
pub mod model;
pub mod organization;
mod pairing;
pub mod permission_sets;
pub mod policies;
mod side;

use std::path::{Path, PathBuf};

pub use collect::Collector;
pub use compare::{Bucket, Change, ChangedAction, IdentityDelta, State, compare};
pub use counts::{KindCounts, NewRisk};
pub use csv::CsvOptions;
pub use expand::{ActionChange, NameOrder, Notations, per_action};
pub use kinds::ChangeKind;
pub use model::{DiffLimits, DiffModel, DiffRow, SideMeta};
pub use organization::compare_organizations;
pub use side::{Gaps, GroupState, Side, SideGroup, SidePrincipal, Tally, Verdict};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::model::organization::Organization;

/// The files `diff` writes (and whose temporary files of a killed run it may clean up).
pub const OUTPUT_NAMES: [&str; 4] = [
    "diff-permission-sets.csv",
    "diff.csv",
    "diff.html",
    "diff.json",
];

/// The names a killed run may have left temporary files or folders of in `--out`: the outputs
/// and the parts of `diff.csv`.
pub const TEMP_NAMES: [&str; 5] = [
    "diff-permission-sets.csv",
    "diff.csv",
    "diff.html",
    "diff.json",
    csv::PARTS_NAME,
];

/// A diff in progress: accounts are compared one at a time, in any order; their rows go to
/// `diff.csv`'s parts and to the [`Collector`], neither of which depends on that order;
/// [`DiffRun::finish_csv`] writes `diff.csv`.
pub struct DiffRun<'c> {
    out_dir: PathBuf,
    catalog: &'c Catalog,
    notations: Notations<'c>,
    parts: csv::Parts,
    collected: Collector,
    /// Time spent comparing, writing diff.csv's parts and collecting (for `IAM_TIGHTEN_TIMINGS`).
    pub timings: [(&'static str, std::time::Duration); 3],
}

impl<'c> DiffRun<'c> {
    /// A run writing into `out_dir` (which must exist).
    pub fn new(
        out_dir: &Path,
        catalog: &'c Catalog,
        csv: CsvOptions,
        limits: DiffLimits,
    ) -> DiffRun<'c> {
        DiffRun {
            out_dir: out_dir.to_path_buf(),
            catalog,
            notations: Notations::new(catalog),
            parts: csv::Parts::new(out_dir, csv),
            collected: Collector::new(limits),
            timings: [
                ("compare", Default::default()),
                ("csv", Default::default()),
                ("collect", Default::default()),
            ],
        }
    }

    /// Compares one account's sides (either may be empty: an account on one side only). Each
    /// account once, in any order.
    pub fn account(&mut self, account: &str, old: &Side, new: &Side) -> Result<()> {
        let clock = std::time::Instant::now();
        let changes = compare(old, new, self.catalog);
        self.timings[0].1 += clock.elapsed();
        let clock = std::time::Instant::now();
        self.parts.account(account, &changes, &mut self.notations)?;
        self.timings[1].1 += clock.elapsed();
        let clock = std::time::Instant::now();
        self.collected.add(old, new, &changes, &mut self.notations);
        self.timings[2].1 += clock.elapsed();
        Ok(())
    }

    /// Adds the rows of the organisation parts' comparison ([`compare_organizations`] of `old`
    /// and `new`, the sides' organisation parts), once.
    pub fn organization(
        &mut self,
        old: Option<&Organization>,
        new: Option<&Organization>,
        changes: &[Change],
    ) -> Result<()> {
        self.collected
            .permission_sets
            .add_organizations(old, new, changes);
        if changes.is_empty() {
            return Ok(());
        }
        self.parts.account("", changes, &mut self.notations)?;
        self.collected
            .add_organization(changes, &mut self.notations);
        Ok(())
    }

    /// What was kept of the accounts compared so far, for [`DiffModel::build`] (each permission
    /// set's changed actions named); writes `diff.csv`.
    pub fn finish_csv(mut self) -> Result<(Collector, PathBuf)> {
        self.collected
            .permission_sets
            .name_actions(&mut self.notations);
        let path = self.out_dir.join("diff.csv");
        self.parts.finish(&path)?;
        Ok((self.collected, path))
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::write(path, e)
}

/// Writes `diff.html`, `diff.json` (the model) and `diff-permission-sets.csv` into `out_dir`,
/// each atomically; returns the files written, sorted.
pub fn write_model(model: &DiffModel, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let p = out_dir.join("diff-permission-sets.csv");
    write_atomic(&p, |w| {
        permission_sets::write_csv(&model.permission_sets, w).map_err(io(&p))
    })?;
    written.push(p);
    let p = out_dir.join("diff.html");
    write_atomic(&p, |w| html::render(model, w))?;
    written.push(p);

    let p = out_dir.join("diff.json");
    write_atomic(&p, |w| {
        serde_json::to_writer_pretty(&mut *w, model).map_err(|e| io(&p)(e.into()))?;
        w.write_all(b"\n").map_err(io(&p))
    })?;
    written.push(p);
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests;
