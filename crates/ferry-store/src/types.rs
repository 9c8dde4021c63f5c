//! Plain data exchanged with a [`Store`](crate::Store).

use std::pin::Pin;

use futures::Stream;

use crate::StoreResult;

/// A store revision (etcd's global, monotonically increasing counter).
pub type Revision = i64;

/// A lease id.
pub type LeaseId = i64;

/// Most preconditions, and most operations, one [`Txn`] may have (etcd's default
/// `--max-txn-ops`); larger transactions fail with
/// [`StoreError::InvalidArgument`](crate::StoreError::InvalidArgument).
pub const MAX_TXN_OPS: usize = 128;

/// One stored key with its value and revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value bytes.
    pub value: Vec<u8>,
    /// Revision at which the key was created.
    pub create_revision: Revision,
    /// Revision of the last write to the key (the etag source).
    pub mod_revision: Revision,
    /// Number of writes since creation (1 after create).
    pub version: i64,
    /// Lease the key is attached to, 0 for none.
    pub lease: LeaseId,
}

/// Paging of [`Store::list`](crate::Store::list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only keys strictly greater than this one (the previous page's last key).
    pub start_after: Option<String>,
    /// At most this many keys; 0 means no limit.
    pub limit: usize,
    /// Read at this revision (a consistent snapshot across pages); `None` reads the latest.
    pub revision: Option<Revision>,
}

/// One page of [`Store::list`](crate::Store::list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListPage {
    /// The keys, in key order.
    pub items: Vec<KeyValue>,
    /// True when more keys follow the last one.
    pub more: bool,
    /// The revision the page was read at.
    pub revision: Revision,
}

/// A condition of a [`Txn`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// The key does not exist.
    Absent(String),
    /// The key exists.
    Exists(String),
    /// The key's `mod_revision` equals the revision.
    ModRevision(String, Revision),
}

/// A write of a [`Txn`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnOp {
    /// Writes a key.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
        /// Lease to attach.
        lease: Option<LeaseId>,
    },
    /// Deletes a key (no error when absent).
    Delete {
        /// The key.
        key: String,
    },
}

/// An atomic multi-key write guarded by preconditions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Txn {
    /// Every one must hold.
    pub preconditions: Vec<Precondition>,
    /// Applied atomically when they do.
    pub ops: Vec<TxnOp>,
}

impl Txn {
    /// Starts an empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a precondition.
    pub fn when(mut self, precondition: Precondition) -> Self {
        self.preconditions.push(precondition);
        self
    }

    /// Adds a put.
    pub fn put(mut self, key: impl Into<String>, value: Vec<u8>) -> Self {
        self.ops.push(TxnOp::Put {
            key: key.into(),
            value,
            lease: None,
        });
        self
    }

    /// Adds a put attached to a lease.
    pub fn put_with_lease(
        mut self,
        key: impl Into<String>,
        value: Vec<u8>,
        lease: LeaseId,
    ) -> Self {
        self.ops.push(TxnOp::Put {
            key: key.into(),
            value,
            lease: Some(lease),
        });
        self
    }

    /// Adds a delete.
    pub fn delete(mut self, key: impl Into<String>) -> Self {
        self.ops.push(TxnOp::Delete { key: key.into() });
        self
    }
}

/// One change seen by a watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// The key was created or replaced.
    Put(KeyValue),
    /// The key was deleted (explicitly or by lease expiry) at `mod_revision`.
    Delete {
        /// The key.
        key: String,
        /// Revision of the delete.
        mod_revision: Revision,
    },
}

impl WatchEvent {
    /// The key the event is about.
    pub fn key(&self) -> &str {
        match self {
            WatchEvent::Put(kv) => &kv.key,
            WatchEvent::Delete { key, .. } => key,
        }
    }

    /// The revision of the change.
    pub fn revision(&self) -> Revision {
        match self {
            WatchEvent::Put(kv) => kv.mod_revision,
            WatchEvent::Delete { mod_revision, .. } => *mod_revision,
        }
    }
}

/// The changes of one store revision (or several, batched), in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchBatch {
    /// The events.
    pub events: Vec<WatchEvent>,
}

/// The stream returned by [`Store::watch`](crate::Store::watch).
pub type WatchStream = Pin<Box<dyn Stream<Item = StoreResult<WatchBatch>> + Send>>;
