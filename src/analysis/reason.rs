//! The verdict vocabulary: a status and the reason for it. The reasons and their precedence are
//! documented in `docs/methodology.md`.

use serde::Serialize;

/// `used`, `unused` or `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Unused,
    Unknown,
    Used,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Used => "used",
            Status::Unused => "unused",
            Status::Unknown => "unknown",
        }
    }
}

/// Why a verdict was reached. The vocabulary is fixed and documented in `docs/methodology.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    AccessedInWindow,
    ActionNotAccessed,
    ActionLastAccessedBeforeWindow,
    ServiceNotAccessed,
    ActionNotTracked,
    AccessedAfterAsOf,
    NotObservable,
    PrincipalTooNew,
    NoLastAccessedData,
    /// Every policy granting the action (or the group it comes through) was created after the
    /// window started: the principal has held it for less than the window.
    GrantTooNew,
    /// A permission set's action that no provisioned account's role used, while some provisioned
    /// account's role is missing from the exports or has no last-accessed data.
    PermissionSetIncomplete,
    /// No use in the window, of a role whose last-accessed report is older than the export's
    /// as-of time and whose `RoleLastUsed` shows it used more than a day after that report: what
    /// it has used since is not in the data.
    UsedAfterData,
}

impl Reason {
    pub const ALL: [Reason; 12] = [
        Reason::AccessedInWindow,
        Reason::ActionNotAccessed,
        Reason::ActionLastAccessedBeforeWindow,
        Reason::ServiceNotAccessed,
        Reason::ActionNotTracked,
        Reason::AccessedAfterAsOf,
        Reason::NotObservable,
        Reason::PrincipalTooNew,
        Reason::NoLastAccessedData,
        Reason::PermissionSetIncomplete,
        Reason::GrantTooNew,
        Reason::UsedAfterData,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AccessedInWindow => "accessed_in_window",
            Reason::ActionNotAccessed => "action_not_accessed",
            Reason::ActionLastAccessedBeforeWindow => "action_last_accessed_before_window",
            Reason::ServiceNotAccessed => "service_not_accessed",
            Reason::ActionNotTracked => "action_not_tracked",
            Reason::AccessedAfterAsOf => "accessed_after_as_of",
            Reason::NotObservable => "not_observable",
            Reason::PrincipalTooNew => "principal_too_new",
            Reason::NoLastAccessedData => "no_last_accessed_data",
            Reason::PermissionSetIncomplete => "permission_set_incomplete",
            Reason::GrantTooNew => "grant_too_new",
            Reason::UsedAfterData => "used_after_data",
        }
    }

    pub fn status(self) -> Status {
        match self {
            Reason::AccessedInWindow => Status::Used,
            Reason::ActionNotAccessed
            | Reason::ActionLastAccessedBeforeWindow
            | Reason::ServiceNotAccessed => Status::Unused,
            Reason::ActionNotTracked
            | Reason::AccessedAfterAsOf
            | Reason::NotObservable
            | Reason::PrincipalTooNew
            | Reason::GrantTooNew
            | Reason::NoLastAccessedData
            | Reason::PermissionSetIncomplete
            | Reason::UsedAfterData => Status::Unknown,
        }
    }

    /// One sentence for reviewers; the HTML report and docs use it.
    pub fn explain(self) -> &'static str {
        match self {
            Reason::AccessedInWindow => "AWS recorded use of this action within the window.",
            Reason::ActionNotAccessed => {
                "AWS tracks this action for this principal and recorded no use in its tracking period."
            }
            Reason::ActionLastAccessedBeforeWindow => {
                "AWS tracks this action; its last recorded use is older than the window."
            }
            Reason::ServiceNotAccessed => {
                "The whole service shows no use within the window, so none of its actions was used."
            }
            Reason::ActionNotTracked => {
                "The service was used within the window, but AWS reports no action-level data for this action covering the whole window."
            }
            Reason::AccessedAfterAsOf => {
                "AWS recorded use after the as-of time; last-accessed data keeps only the latest use, so whether it was also used inside the window cannot be known."
            }
            Reason::NotObservable => {
                "AWS never reports this action (or service) in last-accessed data, so its use cannot be known."
            }
            Reason::PrincipalTooNew => {
                "The principal (for a group: each of its members) is younger than the window and shows no use yet; too early to call it unused."
            }
            Reason::NoLastAccessedData => {
                "The export has no usable last-accessed file for this principal."
            }
            Reason::GrantTooNew => {
                "Every policy that grants it (or the group it comes through) was created after the window started, or gained it in a version made after then (another version the export lists lacks it): the principal has held it for less than the window and shows no use yet; too early to call it unused."
            }
            Reason::PermissionSetIncomplete => {
                "No role of this permission set used it, but the role of some account it is provisioned to is not in the exports, has no last-accessed data, is attached a policy its export lacks (which may grant it), or has data that does not reach back to the start of the set's window, so use there cannot be ruled out."
            }
            Reason::UsedAfterData => {
                "No use in the window, but the role's last-accessed report is older than the export, and its RoleLastUsed shows it used more than a day after that report: what it has used since is not in the data, so it cannot be called unused now."
            }
        }
    }

    /// The reason of a code the verdict expressions compute (`verdict.rs`).
    pub(super) fn from_code(c: u32) -> Reason {
        Reason::ALL
            .get(c as usize)
            .copied()
            .unwrap_or(Reason::NoLastAccessedData)
    }

    pub(super) fn code(self) -> u32 {
        Reason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(Reason::ALL.len() - 1) as u32
    }
}
