//! The store's error type.

use crate::Revision;

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong talking to the store. Callers map it to their own error enum;
/// nothing here knows about gRPC.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key does not exist.
    #[error("key not found: {key}")]
    NotFound {
        /// The key.
        key: String,
    },
    /// The key exists already (create-if-absent failed).
    #[error("key already exists: {key}")]
    AlreadyExists {
        /// The key.
        key: String,
    },
    /// A compare-and-swap precondition failed: the key changed since it was read.
    #[error("key changed concurrently: {key}")]
    Conflict {
        /// The key whose precondition failed.
        key: String,
    },
    /// The requested watch revision was compacted away.
    #[error("revision compacted; oldest available is {compact_revision}")]
    Compacted {
        /// The compaction revision.
        compact_revision: Revision,
    },
    /// The lease expired or was revoked.
    #[error("lease {lease} not found")]
    LeaseNotFound {
        /// The lease id.
        lease: i64,
    },
    /// A stored value could not be decoded.
    #[error("cannot decode value of {key}: {message}")]
    Decode {
        /// The key.
        key: String,
        /// Why.
        message: String,
    },
    /// The request itself is not acceptable (e.g. a transaction too large).
    #[error("invalid store request: {0}")]
    InvalidArgument(String),
    /// The store cannot be reached (after retries on every endpoint).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else the store answered.
    #[error("store error: {0}")]
    Internal(String),
}

impl StoreError {
    /// True for errors worth retrying unchanged (the store was unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
