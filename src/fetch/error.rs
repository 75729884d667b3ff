//! What can stop a fetch. A principal whose last-accessed job fails is *not* an error: it is
//! recorded in the manifest's `missing` and the fetch goes on. Every message is one line (a
//! second, indented line only for a hint) that names what to check; none carries an SDK `Debug`
//! dump.

use std::path::PathBuf;

/// Result alias for the fetch module.
pub type Result<T, E = FetchError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A file or folder of the export could not be written or read back. The cause is part of
    /// the message (and deliberately not a `source`, so chained printing does not repeat it).
    #[error("{}: {what}: {cause}", path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        cause: String,
    },
    /// `--out` is not a folder `fetch` may write into (not empty and not ours, an organisation
    /// folder, someone else's file in the way, another account's export).
    #[error("{}: {message}", path.display())]
    Out { path: PathBuf, message: String },
    /// A file we wrote earlier (resume) is not what we expect.
    #[error("{}: {message} (delete it, or rerun with --refresh)", path.display())]
    Resume { path: PathBuf, message: String },
    /// An AWS call failed for good (after our retries).
    #[error("{0}")]
    Aws(String),
    /// The credentials lack a permission the fetch needs.
    #[error("{0}\n  the policy the fetch needs is in docs/fetch-permissions.md")]
    AccessDenied(String),
    /// No credentials, or AWS refused them (unknown key, expired session).
    #[error("{0}")]
    Credentials(String),
    /// AWS could not be reached (or stopped answering) for longer than the retry budget. The
    /// export is left unfinished and resumable.
    #[error("{0}")]
    Network(String),
    /// A line of the `--accounts` file is not an account id.
    #[error("{}:{line}: {message}", path.display())]
    AccountsFile {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A bad flag value, region or endpoint, or an internal setup failure.
    #[error("{0}")]
    Setup(String),
}

impl FetchError {
    pub(crate) fn io(path: impl Into<PathBuf>, what: &'static str, source: std::io::Error) -> Self {
        FetchError::Io {
            path: path.into(),
            what,
            cause: io_cause(&source),
        }
    }

    pub(crate) fn out(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        FetchError::Out {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Stops a whole multi-account run, not just the account it happened in: the network is
    /// gone, or the base credentials are.
    pub fn stops_everything(&self) -> bool {
        matches!(self, FetchError::Network(_) | FetchError::Io { .. })
    }
}

/// An I/O error's text without Rust's ` (os error N)` suffix: `Permission denied`.
fn io_cause(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_error_names_its_cause_once() {
        let e = FetchError::io(
            "/x/out",
            "cannot create folder",
            std::io::Error::from_raw_os_error(13),
        );
        let text = e.to_string();
        assert_eq!(text, "/x/out: cannot create folder: Permission denied");
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn a_lost_network_stops_every_account_a_refused_role_only_its_own() {
        assert!(FetchError::Network("cannot reach AWS".into()).stops_everything());
        assert!(!FetchError::AccessDenied("sts:AssumeRole refused".into()).stops_everything());
        assert!(!FetchError::out("/org/111111111111", "not ours").stops_everything());
    }
}
