//! Ferry's versioned key layout, and [`PrefixedStore`], which scopes a whole [`Store`]
//! under a prefix.
//!
//! # Layout
//!
//! Every key lives under [`ROOT`] (`/ferry/v1/`). The version segment lets a future
//! layout coexist with this one during a migration.
//!
//! * **Resources**: `/ferry/v1/{kind}/{resource name}`, where `kind` is the collection path
//!   `{service}/{collection}` (e.g. `deploy/deployments`) and the resource name is the
//!   API's full name (e.g. `namespaces/dev/deployments/web`):
//!
//!   ```
//!   use ferry_store::keys;
//!   assert_eq!(
//!       keys::resource("deploy/deployments", "namespaces/dev/deployments/web"),
//!       "/ferry/v1/deploy/deployments/namespaces/dev/deployments/web",
//!   );
//!   ```
//!
//!   Putting the kind first keeps each kind in its own key range, so listing a collection
//!   (`keys::collection("deploy/deployments", "namespaces/dev/deployments")`) returns only
//!   resources of that kind, never sub-resources of another kind that happen to share a
//!   name prefix (`namespaces/dev/deployments/web/revisions/3` is of kind
//!   `deploy/revisions` and lives under `/ferry/v1/deploy/revisions/...`).
//!
//! * **Internal records**: `/ferry/v1/_sys/{area}/...` ([`SYS`]): service registrations,
//!   leader election, idempotency records, long-running operations. Kinds never start
//!   with `_`, so the two spaces cannot collide.
//!
//! # Test isolation
//!
//! [`test_prefix`] makes a unique prefix and [`PrefixedStore`] prepends it to every key a
//! store sees (and strips it from everything the store returns), so tests sharing one etcd
//! server never see each other's keys.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;

use crate::{
    KeyValue, LeaseId, ListOptions, ListPage, Precondition, Revision, Store, StoreError,
    StoreResult, Txn, TxnOp, WatchBatch, WatchEvent, WatchStream,
};

/// Root of every Ferry key (the `v1` layout).
pub const ROOT: &str = "/ferry/v1/";

/// Root of Ferry's internal records (registrations, elections, idempotency, operations).
pub const SYS: &str = "/ferry/v1/_sys/";

/// A key prefix; always ends with `/`, so `/a/b/` never matches `/a/bc`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix(String);

impl Prefix {
    /// Makes a prefix, appending `/` when missing. The empty string stays empty (the
    /// whole key space).
    pub fn new(prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Prefix(prefix)
    }

    /// The prefix string (ends with `/` unless empty).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of `name` under this prefix (`name`'s leading `/` is ignored).
    pub fn key(&self, name: &str) -> String {
        let mut key = String::with_capacity(self.0.len() + name.len());
        key.push_str(&self.0);
        key.push_str(name.trim_start_matches('/'));
        key
    }

    /// The sub-prefix `segment/` under this prefix.
    pub fn child(&self, segment: &str) -> Prefix {
        Prefix::new(self.key(segment))
    }

    /// True when `key` is under this prefix.
    pub fn contains(&self, key: &str) -> bool {
        key.starts_with(&self.0)
    }

    /// `key` relative to this prefix, or `None` when it is not under it.
    pub fn strip<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix(self.0.as_str())
    }

    /// Consumes the prefix into its string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Prefix {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Prefix> for String {
    fn from(prefix: Prefix) -> String {
        prefix.0
    }
}

/// The key of a resource: `/ferry/v1/{kind}/{name}`.
///
/// `kind` is the collection path `{service}/{collection}` (e.g. `deploy/deployments`),
/// `name` the resource's full name (e.g. `namespaces/dev/deployments/web`).
pub fn resource(kind: &str, name: &str) -> String {
    kind_prefix(kind).key(name)
}

/// Every resource of a kind: `/ferry/v1/{kind}/`.
pub fn kind_prefix(kind: &str) -> Prefix {
    Prefix::new(format!("{ROOT}{}", kind.trim_matches('/')))
}

/// One collection of a kind: `/ferry/v1/{kind}/{collection}/`, where `collection` is the
/// resource-name prefix, e.g. `collection("deploy/deployments", "namespaces/dev/deployments")`
/// lists the deployments of namespace `dev`.
pub fn collection(kind: &str, collection: &str) -> Prefix {
    kind_prefix(kind).child(collection.trim_matches('/'))
}

/// The resource name of a key made by [`resource`], or `None` when the key is not of
/// that kind.
pub fn resource_name<'a>(kind: &str, key: &'a str) -> Option<&'a str> {
    let rest = key.strip_prefix(ROOT)?;
    let rest = rest.strip_prefix(kind.trim_matches('/'))?;
    rest.strip_prefix('/').filter(|name| !name.is_empty())
}

/// Ferry's internal key space (`/ferry/v1/_sys/...`).
pub mod sys {
    use super::{Prefix, SYS};

    /// An area of the internal space: `/ferry/v1/_sys/{area}/`.
    pub fn area(area: &str) -> Prefix {
        Prefix::new(format!("{SYS}{}", area.trim_matches('/')))
    }

    /// Every registered instance of a service: `/ferry/v1/_sys/registrations/{service}/`.
    pub fn registrations(service: &str) -> Prefix {
        area("registrations").child(service)
    }

    /// One service instance's registration (a leased key).
    pub fn registration(service: &str, instance: &str) -> String {
        registrations(service).key(instance)
    }

    /// The leader key of an election: `/ferry/v1/_sys/leaders/{election}`.
    pub fn leader(election: &str) -> String {
        area("leaders").key(election)
    }

    /// Idempotency records of one scope (e.g. a service method):
    /// `/ferry/v1/_sys/idempotency/{scope}/`.
    pub fn idempotency_scope(scope: &str) -> Prefix {
        area("idempotency").child(scope)
    }

    /// One idempotency record (request id `request_id` within `scope`).
    pub fn idempotency(scope: &str, request_id: &str) -> String {
        idempotency_scope(scope).key(request_id)
    }

    /// Every long-running operation: `/ferry/v1/_sys/operations/`.
    pub fn operations() -> Prefix {
        area("operations")
    }

    /// One long-running operation by name.
    pub fn operation(name: &str) -> String {
        operations().key(name)
    }
}

/// A process-unique prefix for tests: `/ferry-test/{label}-{pid}-{time}-{counter}/`.
///
/// Wrap a shared store in a [`PrefixedStore`] with it, so concurrent tests (and test runs)
/// sharing one etcd server never collide.
pub fn test_prefix(label: &str) -> Prefix {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let label: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Prefix::new(format!(
        "/ferry-test/{label}-{}-{nanos:x}-{n}",
        std::process::id()
    ))
}

/// A [`Store`] that lives under a prefix of another store: every key is prefixed on the
/// way in and stripped on the way out (results, watch events, error keys).
///
/// Revisions, leases and compaction are the inner store's (they are global in etcd).
/// Tests isolate themselves with it: `PrefixedStore::new(store, keys::test_prefix("x"))`.
#[derive(Clone, Debug)]
pub struct PrefixedStore<S> {
    inner: S,
    prefix: Prefix,
}

impl<S: Store> PrefixedStore<S> {
    /// Scopes `inner` under `prefix` (a trailing `/` is added when missing).
    pub fn new(inner: S, prefix: impl Into<Prefix>) -> Self {
        PrefixedStore {
            inner,
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn wrap(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.0.len() + key.len());
        full.push_str(&self.prefix.0);
        full.push_str(key);
        full
    }

    fn unwrap_key(&self, key: String) -> String {
        match key.strip_prefix(self.prefix.0.as_str()) {
            Some(rest) => rest.to_owned(),
            None => key,
        }
    }

    fn unwrap_kv(&self, mut kv: KeyValue) -> KeyValue {
        kv.key = self.unwrap_key(kv.key);
        kv
    }

    fn unwrap_err(&self, err: StoreError) -> StoreError {
        unwrap_error(&self.prefix, err)
    }
}

fn unwrap_error(prefix: &Prefix, err: StoreError) -> StoreError {
    let strip = |key: String| match key.strip_prefix(prefix.0.as_str()) {
        Some(rest) => rest.to_owned(),
        None => key,
    };
    match err {
        StoreError::NotFound { key } => StoreError::NotFound { key: strip(key) },
        StoreError::AlreadyExists { key } => StoreError::AlreadyExists { key: strip(key) },
        StoreError::Conflict { key } => StoreError::Conflict { key: strip(key) },
        StoreError::Decode { key, message } => StoreError::Decode {
            key: strip(key),
            message,
        },
        other => other,
    }
}

impl From<&str> for Prefix {
    fn from(prefix: &str) -> Self {
        Prefix::new(prefix)
    }
}

impl From<String> for Prefix {
    fn from(prefix: String) -> Self {
        Prefix::new(prefix)
    }
}

#[async_trait::async_trait]
impl<S: Store> Store for PrefixedStore<S> {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        let kv = self
            .inner
            .get(&self.wrap(key))
            .await
            .map_err(|e| self.unwrap_err(e))?;
        Ok(kv.map(|kv| self.unwrap_kv(kv)))
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> StoreResult<ListPage> {
        let options = ListOptions {
            start_after: options.start_after.map(|s| self.wrap(&s)),
            ..options
        };
        let page = self
            .inner
            .list(&self.wrap(prefix), options)
            .await
            .map_err(|e| self.unwrap_err(e))?;
        Ok(ListPage {
            items: page
                .items
                .into_iter()
                .map(|kv| self.unwrap_kv(kv))
                .collect(),
            ..page
        })
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        self.inner
            .put(&self.wrap(key), value, lease)
            .await
            .map_err(|e| self.unwrap_err(e))
    }

    async fn create(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        self.inner
            .create(&self.wrap(key), value, lease)
            .await
            .map_err(|e| self.unwrap_err(e))
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> StoreResult<Revision> {
        self.inner
            .update(&self.wrap(key), value, expected)
            .await
            .map_err(|e| self.unwrap_err(e))
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> StoreResult<Revision> {
        self.inner
            .delete(&self.wrap(key), expected)
            .await
            .map_err(|e| self.unwrap_err(e))
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        self.inner
            .delete_prefix(&self.wrap(prefix))
            .await
            .map_err(|e| self.unwrap_err(e))
    }

    async fn txn(&self, txn: Txn) -> StoreResult<Revision> {
        let txn = Txn {
            preconditions: txn
                .preconditions
                .into_iter()
                .map(|p| match p {
                    Precondition::Absent(k) => Precondition::Absent(self.wrap(&k)),
                    Precondition::Exists(k) => Precondition::Exists(self.wrap(&k)),
                    Precondition::ModRevision(k, r) => Precondition::ModRevision(self.wrap(&k), r),
                })
                .collect(),
            ops: txn
                .ops
                .into_iter()
                .map(|op| match op {
                    TxnOp::Put { key, value, lease } => TxnOp::Put {
                        key: self.wrap(&key),
                        value,
                        lease,
                    },
                    TxnOp::Delete { key } => TxnOp::Delete {
                        key: self.wrap(&key),
                    },
                })
                .collect(),
        };
        self.inner.txn(txn).await.map_err(|e| self.unwrap_err(e))
    }

    async fn watch(&self, prefix: &str, after: Revision) -> StoreResult<WatchStream> {
        let stream = self
            .inner
            .watch(&self.wrap(prefix), after)
            .await
            .map_err(|e| self.unwrap_err(e))?;
        let strip = self.prefix.clone();
        let unwrap = move |key: String| match key.strip_prefix(strip.0.as_str()) {
            Some(rest) => rest.to_owned(),
            None => key,
        };
        let errors = self.prefix.clone();
        Ok(Box::pin(stream.map(move |item| {
            match item {
                Ok(batch) => Ok(WatchBatch {
                    events: batch
                        .events
                        .into_iter()
                        .map(|event| match event {
                            WatchEvent::Put(mut kv) => {
                                kv.key = unwrap(kv.key);
                                WatchEvent::Put(kv)
                            }
                            WatchEvent::Delete { key, mod_revision } => WatchEvent::Delete {
                                key: unwrap(key),
                                mod_revision,
                            },
                        })
                        .collect(),
                }),
                Err(e) => Err(unwrap_error(&errors, e)),
            }
        })))
    }

    async fn grant_lease(&self, ttl: Duration) -> StoreResult<LeaseId> {
        self.inner.grant_lease(ttl).await
    }

    async fn keep_alive(&self, lease: LeaseId) -> StoreResult<Duration> {
        self.inner.keep_alive(lease).await
    }

    async fn revoke_lease(&self, lease: LeaseId) -> StoreResult<()> {
        self.inner.revoke_lease(lease).await
    }

    async fn current_revision(&self) -> StoreResult<Revision> {
        self.inner.current_revision().await
    }

    async fn compact(&self, revision: Revision) -> StoreResult<()> {
        self.inner.compact(revision).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_keys() {
        assert_eq!(
            resource("deploy/deployments", "namespaces/dev/deployments/web"),
            "/ferry/v1/deploy/deployments/namespaces/dev/deployments/web"
        );
        assert_eq!(
            collection("deploy/deployments", "namespaces/dev/deployments").as_str(),
            "/ferry/v1/deploy/deployments/namespaces/dev/deployments/"
        );
        assert_eq!(
            kind_prefix("/catalog/items/").as_str(),
            "/ferry/v1/catalog/items/"
        );
        let key = resource("deploy/deployments", "namespaces/dev/deployments/web");
        assert_eq!(
            resource_name("deploy/deployments", &key),
            Some("namespaces/dev/deployments/web")
        );
        assert_eq!(resource_name("deploy/deploy", &key), None);
        assert_eq!(resource_name("catalog/items", &key), None);
    }

    #[test]
    fn sys_keys() {
        assert_eq!(
            sys::registration("deploy", "i-1"),
            "/ferry/v1/_sys/registrations/deploy/i-1"
        );
        assert_eq!(
            sys::registrations("deploy").as_str(),
            "/ferry/v1/_sys/registrations/deploy/"
        );
        assert_eq!(sys::leader("gc"), "/ferry/v1/_sys/leaders/gc");
        assert_eq!(
            sys::idempotency("deploy.Create", "r1"),
            "/ferry/v1/_sys/idempotency/deploy.Create/r1"
        );
        assert_eq!(sys::operation("op-1"), "/ferry/v1/_sys/operations/op-1");
        assert!(sys::operations().contains(&sys::operation("x")));
    }

    #[test]
    fn prefixes() {
        let p = Prefix::new("/a/b");
        assert_eq!(p.as_str(), "/a/b/");
        assert!(p.contains("/a/b/c"));
        assert!(!p.contains("/a/bc"));
        assert_eq!(p.strip("/a/b/c"), Some("c"));
        assert_eq!(p.child("c").as_str(), "/a/b/c/");
        assert_eq!(Prefix::new("").as_str(), "");
        assert_ne!(test_prefix("t"), test_prefix("t"));
        assert!(test_prefix("a b").as_str().starts_with("/ferry-test/a_b-"));
    }
}
