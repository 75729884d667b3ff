//! The library's one error type. Every variant says which file (and where in it) went wrong.

use std::path::PathBuf;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read.
    #[error("{}: cannot read", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid UTF-8.
    #[error("{}: not UTF-8 text (byte offset {offset}); AWS exports are UTF-8 JSON/CSV", path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
    /// A file is not what it should be; `json_path` locates the problem (`$` for the whole file).
    #[error("{}: {json_path}: {message}", path.display())]
    Parse {
        path: PathBuf,
        json_path: String,
        message: String,
    },
    /// The set of inputs is inconsistent (e.g. two exports of the same account).
    #[error("{}: {message}", path.display())]
    Input { path: PathBuf, message: String },
    /// A bad flag value or flag combination.
    #[error("{0}")]
    Usage(String),
    /// The action catalog could not be loaded.
    #[error("catalog {source_name}: line {line}: {message}")]
    Catalog {
        source_name: String,
        line: usize,
        message: String,
    },
    /// An output could not be written.
    #[error("{}: cannot write", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An output could not be produced for a reason other than I/O (a template or an encoder
    /// failed: a bug, or a value it cannot represent).
    #[error("{output}: cannot render: {message}")]
    Render { output: String, message: String },
    /// The analysis engine failed (a bug, not bad input).
    #[error("analysis failed: {0}")]
    Analysis(String),
}

impl Error {
    pub fn parse(
        path: impl Into<PathBuf>,
        json_path: impl Into<String>,
        message: impl Into<String>,
    ) -> Error {
        Error::Parse {
            path: path.into(),
            json_path: json_path.into(),
            message: message.into(),
        }
    }

    /// An output could not be written because of an I/O error.
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Write {
            path: path.into(),
            source,
        }
    }

    /// An output that could not be produced (see [`Error::Render`]).
    pub fn render(output: impl Into<String>, message: impl std::fmt::Display) -> Error {
        Error::Render {
            output: output.into(),
            message: message.to_string(),
        }
    }

    pub fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Read {
            path: path.into(),
            source,
        }
    }
}
