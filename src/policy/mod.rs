//! Policy documents and the engine that expands them into concrete granted actions.

pub mod control;
pub mod expand;
pub mod grants;
pub mod notation;
pub mod patterns;
pub mod versions;

// Policy documents are a model type (`model::document`); re-exported here, where they are
// expanded, for convenience.
pub use crate::model::document::{
    ActionClause, DocumentError, Effect, PolicyDocument, ResourceClause, Statement,
};
pub use expand::{
    ClauseExpansion, DocumentExpansion, Expander, StatementExpansion, expand_pattern,
};
pub use grants::{
    GrantCache, MissingPolicy, PolicyChanges, PolicyKind, PolicyRef, PrincipalGrants,
    StatementGrant, UnmatchedPattern, principal_grants, principal_grants_cached,
    principal_grants_changed,
};
pub use notation::{NotationError, NotationExpansion, expand_notation, parse_notation};
pub use versions::{AddedActions, VersionGrants, added_actions};
