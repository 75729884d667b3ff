//! What can stop a fetch. A principal whose last-accessed job fails is *not* an error: it is
//! recorded in the manifest's `missing` and the fetch goes on.

use std::path::PathBuf;

/// Result alias for the fetch module.
pub type Result<T, E = FetchError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A file or folder of the export could not be written or read back.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A file we wrote earlier (resume) is not what we expect.
    #[error("{}: {message} (delete it, or rerun with --refresh)", path.display())]
    Resume { path: PathBuf, message: String },
    /// An AWS call failed for good (after the SDK's retries and ours).
    #[error("{0}")]
    Aws(String),
    /// The credentials lack a permission the fetch needs.
    #[error("{0}\n  the policy the fetch needs is in docs/fetch-permissions.md")]
    AccessDenied(String),
    /// A line of the `--accounts` file is not an account id.
    #[error("{}:{line}: {message}", path.display())]
    AccountsFile {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// No usable credentials, region or endpoint.
    #[error("{0}")]
    Setup(String),
}

impl FetchError {
    pub(crate) fn io(path: impl Into<PathBuf>, what: &'static str, source: std::io::Error) -> Self {
        FetchError::Io {
            path: path.into(),
            what,
            source,
        }
    }
}
