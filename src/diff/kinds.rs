//! The change vocabulary.

use serde::Serialize;

use crate::analysis::{Reason, Status};

/// What happened between the old and the new side. Declaration order is output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// An account exported only on the new side.
    AccountAdded,
    /// An account exported only on the old side.
    AccountRemoved,
    /// An IAM Identity Center permission set only in the new organisation part.
    PermissionSetAdded,
    /// A permission set only in the old organisation part.
    PermissionSetRemoved,
    /// A permission set in both whose policies, boundary, session duration or accounts changed.
    PermissionSetChanged,
    /// An SCP or RCP only in the new organisation part.
    ControlPolicyAdded,
    /// An SCP or RCP only in the old organisation part.
    ControlPolicyRemoved,
    /// An SCP or RCP in both whose document, name or targets changed.
    ControlPolicyChanged,
    /// An account of the organisation that joined, left, moved between OUs, was renamed or
    /// changed status.
    OrganizationAccountChanged,
    /// A principal ARN only on the new side (one row; its grants are counted, not listed).
    PrincipalAdded,
    /// A principal ARN only on the old side (one row; its grants are counted, not listed).
    PrincipalRemoved,
    /// Same ARN, different principal id (deleted and re-created); its actions are compared too.
    PrincipalRecreated,
    /// A user or group renamed (same id, another name and ARN); its actions are compared too.
    PrincipalRenamed,
    /// Granted now, not before.
    NewlyGranted,
    /// Unused now; used before, or unknown with evidence of use (its service used without
    /// action-level data, or a use after the as-of time).
    NewlyUnused,
    /// Unused now; unknown before without evidence of use (no last-accessed data, too new, not
    /// observable): the grant was there, only the evidence is new. A change, not new risk.
    UnusedWasUnknown,
    /// Granted before, not now.
    Revoked,
    /// Used now; unused or unknown before.
    NewlyUsed,
    /// Unknown now; used or unused before.
    NewlyUnknown,
    /// Granted on one side only, where the export of one side lacks a policy, group or
    /// permissions boundary of the principal: whether it was (or is) granted is unknown. Not a
    /// change.
    GrantUnknown,
    /// Unused on both sides.
    StillUnused,
    /// Unknown on both sides.
    StillUnknown,
    /// Used on both sides.
    UnchangedUsed,
    /// An identity or credential finding only on the new side (a key that became unused, a new
    /// password without MFA, ...).
    IdentityNew,
    /// An identity finding only on the old side: the new side ran the check and found nothing
    /// (the key was deleted or used again, the role was removed, ...).
    IdentityResolved,
    /// An identity finding of the old side that the new side could not check (no credential
    /// report, no as-of time, the account not exported): never reported as resolved.
    IdentityUnknown,
    /// An identity finding on both sides.
    IdentityUnchanged,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 27] = [
        ChangeKind::AccountAdded,
        ChangeKind::AccountRemoved,
        ChangeKind::PermissionSetAdded,
        ChangeKind::PermissionSetRemoved,
        ChangeKind::PermissionSetChanged,
        ChangeKind::ControlPolicyAdded,
        ChangeKind::ControlPolicyRemoved,
        ChangeKind::ControlPolicyChanged,
        ChangeKind::OrganizationAccountChanged,
        ChangeKind::PrincipalAdded,
        ChangeKind::PrincipalRemoved,
        ChangeKind::PrincipalRecreated,
        ChangeKind::PrincipalRenamed,
        ChangeKind::NewlyGranted,
        ChangeKind::NewlyUnused,
        ChangeKind::UnusedWasUnknown,
        ChangeKind::Revoked,
        ChangeKind::NewlyUsed,
        ChangeKind::NewlyUnknown,
        ChangeKind::GrantUnknown,
        ChangeKind::StillUnused,
        ChangeKind::StillUnknown,
        ChangeKind::UnchangedUsed,
        ChangeKind::IdentityNew,
        ChangeKind::IdentityResolved,
        ChangeKind::IdentityUnknown,
        ChangeKind::IdentityUnchanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::AccountAdded => "account_added",
            ChangeKind::AccountRemoved => "account_removed",
            ChangeKind::PermissionSetAdded => "permission_set_added",
            ChangeKind::PermissionSetRemoved => "permission_set_removed",
            ChangeKind::PermissionSetChanged => "permission_set_changed",
            ChangeKind::ControlPolicyAdded => "control_policy_added",
            ChangeKind::ControlPolicyRemoved => "control_policy_removed",
            ChangeKind::ControlPolicyChanged => "control_policy_changed",
            ChangeKind::OrganizationAccountChanged => "organization_account_changed",
            ChangeKind::PrincipalAdded => "principal_added",
            ChangeKind::PrincipalRemoved => "principal_removed",
            ChangeKind::PrincipalRecreated => "principal_recreated",
            ChangeKind::PrincipalRenamed => "principal_renamed",
            ChangeKind::NewlyGranted => "newly_granted",
            ChangeKind::NewlyUnused => "newly_unused",
            ChangeKind::UnusedWasUnknown => "unused_was_unknown",
            ChangeKind::Revoked => "revoked",
            ChangeKind::NewlyUsed => "newly_used",
            ChangeKind::NewlyUnknown => "newly_unknown",
            ChangeKind::GrantUnknown => "grant_unknown",
            ChangeKind::StillUnused => "still_unused",
            ChangeKind::StillUnknown => "still_unknown",
            ChangeKind::UnchangedUsed => "unchanged_used",
            ChangeKind::IdentityNew => "identity_new",
            ChangeKind::IdentityResolved => "identity_resolved",
            ChangeKind::IdentityUnknown => "identity_unknown",
            ChangeKind::IdentityUnchanged => "identity_unchanged",
        }
    }

    /// The four "same on both sides" kinds (`still_unused`, `still_unknown`, `unchanged_used`,
    /// `identity_unchanged`): the kinds `diff.csv` has only with `--include-unchanged`.
    pub fn is_unchanged(self) -> bool {
        matches!(
            self,
            ChangeKind::StillUnused
                | ChangeKind::StillUnknown
                | ChangeKind::UnchangedUsed
                | ChangeKind::IdentityUnchanged
        )
    }

    /// False for the unchanged kinds and for the two "could not tell" kinds, `grant_unknown`
    /// and `identity_unknown` (the data of a side is missing, so they are not changes, though
    /// `diff.csv` always has their rows); `--exit-code` fails on any other, and the headline
    /// counts them as changes.
    pub fn is_change(self) -> bool {
        !self.is_unchanged()
            && !matches!(self, ChangeKind::IdentityUnknown | ChangeKind::GrantUnknown)
    }

    /// The kinds of the organisation part's comparison (permission sets, SCPs and RCPs, the
    /// organisation's accounts).
    pub fn is_organization(self) -> bool {
        matches!(
            self,
            ChangeKind::PermissionSetAdded
                | ChangeKind::PermissionSetRemoved
                | ChangeKind::PermissionSetChanged
                | ChangeKind::ControlPolicyAdded
                | ChangeKind::ControlPolicyRemoved
                | ChangeKind::ControlPolicyChanged
                | ChangeKind::OrganizationAccountChanged
        )
    }

    /// The four identity and credential kinds.
    pub fn is_identity(self) -> bool {
        matches!(
            self,
            ChangeKind::IdentityNew
                | ChangeKind::IdentityResolved
                | ChangeKind::IdentityUnknown
                | ChangeKind::IdentityUnchanged
        )
    }

    /// The kind of a principal × action granted on both sides, from its status on each side and
    /// its reason on the old side: unknown before and unused now is `unused_was_unknown` when
    /// the old side had no evidence of use ([`shows_use`]), else `newly_unused`.
    pub fn of_verdicts(old: Status, old_reason: Reason, new: Status) -> ChangeKind {
        match (old, new) {
            (Status::Used, Status::Used) => ChangeKind::UnchangedUsed,
            (Status::Unused, Status::Unused) => ChangeKind::StillUnused,
            (Status::Unknown, Status::Unknown) => ChangeKind::StillUnknown,
            (_, Status::Used) => ChangeKind::NewlyUsed,
            (Status::Unknown, Status::Unused) if !shows_use(old_reason) => {
                ChangeKind::UnusedWasUnknown
            }
            (_, Status::Unused) => ChangeKind::NewlyUnused,
            (_, Status::Unknown) => ChangeKind::NewlyUnknown,
        }
    }
}

/// Whether an `unknown` verdict still records a use: `action_not_tracked` (its service was used
/// in the window, which action AWS does not say) and `accessed_after_as_of` (used, after the
/// window). Unused next, the principal stopped a use (`newly_unused`); the other unknowns (no
/// last-accessed data, too new, not observable) had no evidence either way.
fn shows_use(reason: Reason) -> bool {
    matches!(reason, Reason::ActionNotTracked | Reason::AccessedAfterAsOf)
}
