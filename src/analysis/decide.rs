//! Stage 2, decide: the verdict of every grant row (the joins and rules in `verdict.rs`, the only
//! polars in the analysis), turned into findings.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::GivenVerdict;
use super::collect::Collected;
use super::groups::GrantedAction;
use super::model::{Finding, LastAccess, RegionId, Regions, Scope};
use super::reason::Reason;
use super::verdict;
use crate::error::{Error, Result};

/// One finding per grant row, in no particular order (`rank` orders them); their regions
/// interned in `regions`.
/// The grant and action rows are consumed (`verdict::compute_map`).
pub(super) fn decide(c: &mut Collected<'_>, regions: &mut Regions) -> Result<Vec<Finding>> {
    // Rows of one chunk share each region's text: the last one met is looked up once.
    let mut last_region: Option<(Arc<str>, RegionId)> = None;
    let mut overflow = false;
    let mut out_of_range = None;
    let catalog = c.expander.catalog();
    c.inputs.tracking_since_ms = catalog
        .services()
        .map(verdict::action_tracking_since_ms)
        .collect();
    let findings = verdict::compute_map(&mut c.inputs, |v| {
        let region = v.region.and_then(|r| match &last_region {
            Some((text, id)) if Arc::ptr_eq(text, &r) => Some(*id),
            _ => {
                let id = regions.intern(&r);
                overflow |= id.is_none();
                last_region = id.map(|id| (r, id));
                id
            }
        });
        Finding {
            principal: v.p,
            list: v.list,
            reason: v.reason,
            last: LastAccess::from_ms(v.last_ms).unwrap_or_else(|| {
                out_of_range = out_of_range.or(v.last_ms);
                LastAccess::NEVER
            }),
            last_accessed_region: region,
            granted_by: v.gb,
            scope: Scope::new(v.scoped, v.conditional),
            exclusion: None,
        }
    })
    .map_err(|e| Error::Analysis(e.to_string()))?;
    if overflow {
        return Err(super::rank::too_many_regions());
    }
    // The inputs refuse such a time where they read it, naming the file: never reached.
    if let Some(ms) = out_of_range {
        return Err(Error::Analysis(format!(
            "a last-access time of {ms} ms since 1970 is before 1970 or past what a finding holds"
        )));
    }
    Ok(findings)
}

/// Replaces verdicts with the ones `given` chooses, splitting a group where its actions get
/// different ones (see `analyze_with_verdicts`).
pub(super) fn override_verdicts(
    findings: Vec<Finding>,
    c: &mut Collected<'_>,
    given: GivenVerdict<'_>,
) -> Vec<Finding> {
    let mut out = Vec::with_capacity(findings.len());
    for f in findings {
        let p = &c.principals[f.principal as usize];
        let mut parts: BTreeMap<Reason, Vec<GrantedAction>> = BTreeMap::new();
        for a in &c.lists.get(f.list).actions {
            let reason = given(p, a.id()).unwrap_or(f.reason);
            parts.entry(reason).or_default().push(*a);
        }
        for (reason, actions) in parts {
            let mut part = f.clone();
            part.set_actions(&mut c.lists, actions);
            part.reason = reason;
            out.push(part);
        }
    }
    out
}
