//! `--evolve N`: the organisation of `--seed` one quarter later, for the quarter-over-quarter
//! benchmark and tests of `diff`. Evolution seed `N` decides, deterministically, per account:
//!
//! - the as-of time moves [`QUARTER`] on (91 days); usage stays relative to it, so a principal
//!   that used a service 10 days before the old as-of used it 10 days before the new one;
//! - 3 % of customer policies get a new default version (another random document);
//! - of the roles and users (never `OrganizationAccountAccessRole`): 2 % are removed, 0.5 %
//!   re-created (same name, new id, created this quarter), 2 % lose one managed policy, 1.5 %
//!   get one more from the account's pool, and 5 % have their usage drawn anew;
//! - 2 % more roles are added (created this quarter).
//!
//! Everything else (names, documents, the rest of the usage) is the base organisation's.

use super::{Account, DAY, Kind, Pools, Rng, ts};

/// How far the as-of time moves: one quarter.
pub const QUARTER: i64 = 91 * DAY;

const EDITED: f64 = 0.03;
const REMOVED: f64 = 0.02;
const RECREATED: f64 = 0.005;
const DETACHED: f64 = 0.02;
const ATTACHED: f64 = 0.015;
const REROLLED: f64 = 0.05;
const ADDED: f64 = 0.02;

/// Customer policy references are encoded as 10,000 + index (see `build`).
const C: usize = 10_000;

impl Account<'_, '_> {
    /// Applies one quarter of change with evolution seed `seed` (`roles`: the account's base
    /// number of roles).
    pub(super) fn evolve(&mut self, seed: u64, roles: usize) -> anyhow::Result<()> {
        let as_of = self.ctx.as_of;
        let acct = self.id.clone();
        let mut r = Rng::new(seed, &[self.index, 100]);
        for j in 0..self.customer.len() {
            if !r.chance(EDITED) {
                continue;
            }
            let json = self.ctx.random_doc(&mut r, &acct, 1, 5);
            let doc = self.ctx.doc(json.clone())?;
            let policy = &mut self.customer[j];
            let version = format!("v{}", policy.versions.len() + 1);
            let at = as_of - DAY * r.range(1, 80) as i64;
            policy.versions.insert(0, (version, ts(at, 0), json));
            policy.doc = doc;
        }
        let pool = match &self.pools {
            Some(Pools { pool, .. }) => pool.clone(),
            None => Vec::new(),
        };
        for p in &mut self.principals {
            if p.kind == Kind::Group || p.name == "OrganizationAccountAccessRole" {
                continue;
            }
            if r.chance(REMOVED) {
                p.removed = true;
                continue;
            }
            if r.chance(RECREATED) {
                p.generation += 1;
                p.created = as_of - DAY * r.range(5, 80) as i64 - r.below(DAY as usize) as i64;
            }
            if r.chance(DETACHED) && !p.managed.is_empty() {
                let k = r.below(p.managed.len());
                p.managed.remove(k);
            }
            if r.chance(ATTACHED) && !pool.is_empty() {
                p.managed.push(C + pool[r.below(pool.len())]);
                p.managed.sort_unstable();
                p.managed.dedup();
            }
            if r.chance(REROLLED) {
                p.reroll = true;
            }
        }
        let Some(pools) = self.pools.take() else {
            return Ok(());
        };
        let added = ((roles as f64) * ADDED).round() as usize;
        for k in 0..added {
            let mut role = self.role(roles + k, &pools)?;
            role.created = as_of - DAY * r.range(1, 90) as i64 - r.below(DAY as usize) as i64;
            self.principals.push(role);
        }
        self.pools = Some(pools);
        Ok(())
    }
}
