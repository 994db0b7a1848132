//! The library's error type: every variant names the file or value it is about,
//! so `main.rs` can print one clear line and exit 2 (bad usage or unusable input).

use std::path::PathBuf;

/// Everything that can make a darlings command fail as a whole.
///
/// Per-path problems met during a scan (a vanished file, permission denied) are
/// not errors of this kind: they are recorded in the scan and reported.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation on a named file failed.
    #[error("{op} '{path}': {source}", path = crate::text::quote_path(path))]
    Io {
        /// What darlings was doing ("cannot read", "cannot create", ...).
        op: &'static str,
        /// The file it was doing it to.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file exists but its content is not what darlings expected.
    #[error("'{path}': {problem}", path = crate::text::quote_path(path))]
    BadInput {
        /// The file whose content is wrong.
        path: PathBuf,
        /// What is wrong with it, and where.
        problem: String,
    },
    /// A file a person wrote has no safe place for a new whitelist entry
    /// (docs/whitelist-editing.md): nothing was changed; the message says
    /// why and gives the lines to add by hand.
    #[error("'{path}': {problem}\n{paste}", path = crate::text::quote_path(path))]
    NoSafeEdit {
        /// The whitelist file.
        path: PathBuf,
        /// Why there is no safe place: the construct and its line.
        problem: String,
        /// The lines to paste, and where.
        paste: String,
    },
    /// A command-line value that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// The work was cancelled before it finished (the user quit the TUI
    /// while the scan ran).
    #[error("cancelled")]
    Cancelled,
    /// The terminal cannot be used (not a terminal, cannot draw).
    #[error("{0}")]
    Terminal(String),
    /// darlings itself failed (a worker thread could not start or died):
    /// not the user's input; worth a bug report.
    #[error("internal error: {0} (please report this as a bug)")]
    Internal(String),
}

/// The result type of the darlings library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path` while doing `op`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A content error in `path`.
    pub fn bad_input(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::BadInput {
            path: path.into(),
            problem: problem.into(),
        }
    }
}
