//! Ferry's state store.
//!
//! etcd is Ferry's only source of truth. Everything that reads or writes it goes through
//! the [`Store`] trait, which has two implementations that pass one shared contract suite
//! ([`testsuite`]): [`EtcdStore`] (production, etcd-client) and [`MemoryStore`] (unit tests
//! and the embedded single-process mode).
//!
//! Values are protobuf messages ([`typed`]); keys follow a versioned layout under
//! `/ferry/v1/` ([`keys`]). Every stored value carries etcd's `mod_revision`, which the
//! API layers expose as the resource's etag: updates are compare-and-swap on it.

mod error;
mod types;

pub mod etcd;
pub mod keys;
pub mod lease;
pub mod memory;
#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;
pub mod typed;
pub mod watch;

pub use error::{StoreError, StoreResult};
pub use etcd::{EtcdConfig, EtcdStore};
pub use keys::{Prefix, PrefixedStore};
pub use memory::MemoryStore;
pub use types::*;

use std::sync::Arc;
use std::time::Duration;

/// A key-value store with etcd's semantics: a global revision counter, per-key
/// create/mod revisions, multi-key transactions, prefix watches from a revision, leases.
///
/// Keys are UTF-8 strings; values are opaque bytes (protobuf, see [`typed`]).
/// Implementations are cheap to clone behind an `Arc<dyn Store>` and safe to share.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads one key (linearizable).
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>>;

    /// Reads keys under `prefix` in key order, one page at a time (see [`ListOptions`]).
    async fn list(&self, prefix: &str, options: ListOptions) -> StoreResult<ListPage>;

    /// Writes a key unconditionally; returns the new revision.
    async fn put(&self, key: &str, value: Vec<u8>, lease: Option<LeaseId>)
    -> StoreResult<Revision>;

    /// Writes a key only if it does not exist (`create_revision == 0`).
    /// Fails with [`StoreError::AlreadyExists`].
    async fn create(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision>;

    /// Replaces a key only if its `mod_revision` is still `expected` (compare-and-swap).
    /// Fails with [`StoreError::NotFound`] when the key is absent and
    /// [`StoreError::Conflict`] when it changed since. The key keeps its lease, if any
    /// (unlike [`Store::put`], which attaches the given lease or none).
    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> StoreResult<Revision>;

    /// Deletes a key, only if its `mod_revision` is still `expected` when given.
    /// Fails with [`StoreError::NotFound`] when absent and [`StoreError::Conflict`] when
    /// the precondition fails. Returns the revision of the delete.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> StoreResult<Revision>;

    /// Deletes every key under `prefix`; returns how many were deleted.
    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64>;

    /// Runs a multi-key transaction: all preconditions hold and every operation is
    /// applied atomically, or nothing is written and [`StoreError::Conflict`] (or
    /// [`StoreError::AlreadyExists`] / [`StoreError::NotFound`]) names the first key whose
    /// precondition failed. Large transactions are refused with
    /// [`StoreError::InvalidArgument`] (etcd's default limit is 128 operations).
    async fn txn(&self, txn: Txn) -> StoreResult<Revision>;

    /// Streams every change under `prefix` after revision `after` (exclusive), in
    /// revision order. When `after` has been compacted the stream's first item is
    /// [`StoreError::Compacted`]; callers re-list (see [`watch::Watcher`], which does).
    async fn watch(&self, prefix: &str, after: Revision) -> StoreResult<WatchStream>;

    /// Grants a lease of at least `ttl`.
    async fn grant_lease(&self, ttl: Duration) -> StoreResult<LeaseId>;

    /// Refreshes a lease; returns its renewed time to live.
    /// Fails with [`StoreError::LeaseNotFound`] once it expired or was revoked.
    async fn keep_alive(&self, lease: LeaseId) -> StoreResult<Duration>;

    /// Revokes a lease, deleting every key attached to it.
    async fn revoke_lease(&self, lease: LeaseId) -> StoreResult<()>;

    /// The store's current revision.
    async fn current_revision(&self) -> StoreResult<Revision>;

    /// Compacts history up to `revision` (watches from before it fail with
    /// [`StoreError::Compacted`]).
    async fn compact(&self, revision: Revision) -> StoreResult<()>;

    /// Checks that the store answers (used by health reporting).
    async fn ping(&self) -> StoreResult<()>;
}

/// A shared store is a store: `Arc<dyn Store>` (or `Arc<EtcdStore>`) can be passed wherever
/// a `S: Store` is expected, e.g. [`PrefixedStore::new`].
#[async_trait::async_trait]
impl<T: Store + ?Sized> Store for Arc<T> {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        (**self).get(key).await
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> StoreResult<ListPage> {
        (**self).list(prefix, options).await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        (**self).put(key, value, lease).await
    }

    async fn create(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        (**self).create(key, value, lease).await
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> StoreResult<Revision> {
        (**self).update(key, value, expected).await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> StoreResult<Revision> {
        (**self).delete(key, expected).await
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        (**self).delete_prefix(prefix).await
    }

    async fn txn(&self, txn: Txn) -> StoreResult<Revision> {
        (**self).txn(txn).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> StoreResult<WatchStream> {
        (**self).watch(prefix, after).await
    }

    async fn grant_lease(&self, ttl: Duration) -> StoreResult<LeaseId> {
        (**self).grant_lease(ttl).await
    }

    async fn keep_alive(&self, lease: LeaseId) -> StoreResult<Duration> {
        (**self).keep_alive(lease).await
    }

    async fn revoke_lease(&self, lease: LeaseId) -> StoreResult<()> {
        (**self).revoke_lease(lease).await
    }

    async fn current_revision(&self) -> StoreResult<Revision> {
        (**self).current_revision().await
    }

    async fn compact(&self, revision: Revision) -> StoreResult<()> {
        (**self).compact(revision).await
    }

    async fn ping(&self) -> StoreResult<()> {
        (**self).ping().await
    }
}
