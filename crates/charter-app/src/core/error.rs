//! The errors use cases report.

use charter_model::{RecordKind, WorkspaceName};
use charter_store::StoreError;

use crate::registry::import::ImportError;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The workspace does not exist, or the caller may not see it.
    #[error("workspace \"{0}\" not found")]
    WorkspaceNotFound(WorkspaceName),
    /// The record does not exist.
    #[error("{kind} \"{id}\" not found")]
    NotFound {
        /// Kind of the record.
        kind: RecordKind,
        /// Its id.
        id: String,
    },
    /// Something with this id already exists.
    #[error("{what} \"{id}\" already exists")]
    AlreadyExists {
        /// What exists.
        what: String,
        /// Its id.
        id: String,
    },
    /// The update was based on a version that is no longer current.
    #[error(
        "{kind} \"{id}\" was changed by someone else: expected version {expected}, current version is {current}"
    )]
    Conflict {
        /// Kind of the record.
        kind: RecordKind,
        /// Its id.
        id: String,
        /// The version the update was based on.
        expected: u64,
        /// The current version.
        current: u64,
    },
    /// The caller's role does not allow this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The input breaks rules; every problem found is listed.
    #[error("invalid {what}:\n  {}", .problems.join("\n  "))]
    Invalid {
        /// What was being read (`agent`, `request body`…).
        what: String,
        /// One line per problem: `path: message`.
        problems: Vec<String>,
    },
    /// An import was refused; nothing was written.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The registry changed while a decision was being made; the decision
    /// was not logged and must be made again (handled inside the decision
    /// point; callers only see it when the registry keeps changing).
    #[error("the registry changed while deciding (now at version {current}); try again")]
    Stale {
        /// The current version of the decision point's inputs.
        current: u64,
    },
    /// Stored data Charter cannot have written: a record, an event or a
    /// setting that does not parse.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Something that cannot happen did: a background task stopped, a
    /// computation on a worker thread failed.
    #[error("internal error: {0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Result type of use cases.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { kind, id } => AppError::NotFound { kind, id },
            StoreError::AlreadyExists { what, id } => AppError::AlreadyExists { what, id },
            StoreError::Conflict { kind, id, expected, current } => {
                AppError::Conflict { kind, id, expected, current }
            }
            other => AppError::Store(other),
        }
    }
}

impl AppError {
    /// Input that breaks the rules: `what` was being read, one line per
    /// problem (`field: message`).
    pub(crate) fn invalid(what: impl Into<String>, problems: Vec<String>) -> Self {
        AppError::Invalid { what: what.into(), problems }
    }

    /// Stored data that does not parse.
    pub(crate) fn corrupt(message: impl Into<String>) -> Self {
        AppError::Corrupt(message.into())
    }

    /// An invariant broken inside the app.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        AppError::Internal(message.into())
    }
}
