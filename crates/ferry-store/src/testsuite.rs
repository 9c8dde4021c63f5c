//! The shared contract suite every [`Store`] must pass, and real etcd servers for tests.
//!
//! Available to this crate's tests and, with the `testsuite` feature, to other crates'.
//!
//! # Contract suite
//!
//! One `pub async fn` per behaviour, each taking the store under test; each works under
//! its own unique sub-prefix, so they can share a store. [`run_contract_suite`] runs them
//! all; [`store_contract_tests!`](crate::store_contract_tests) expands into one
//! `#[tokio::test]` per behaviour:
//!
//! ```
//! use std::sync::Arc;
//!
//! use ferry_store::MemoryStore;
//! use ferry_store::testsuite::{TestContext, TestStore};
//!
//! async fn make(_ctx: TestContext) -> TestStore {
//!     TestStore::new(Arc::new(MemoryStore::new()))
//! }
//!
//! ferry_store::store_contract_tests!(make);
//! # fn main() {}
//! ```
//!
//! # etcd for tests
//!
//! [`TestEtcd`] is one etcd server: the one named by `FERRY_ETCD_ENDPOINTS`
//! (comma-separated) when set, otherwise an `etcd` process (`FERRY_ETCD_BIN` or `PATH`)
//! started on free loopback ports with its data in a temporary directory (in `/dev/shm`
//! when available), killed on drop. [`TestEtcd::shared`] is one server per test binary,
//! which tests share through a [`PrefixedStore`] each ([`etcd_test_store`]). A missing
//! `etcd` binary is a panic, never a skipped test. [`TestEtcdCluster`] starts a
//! multi-member cluster whose members can be killed.
//!
//! Every spawned etcd is killed when its handle drops, and also, through a small
//! watchdog shell process reading a pipe from the test process, when the test process
//! exits in any way (so the shared server of a test binary, a `static`, dies with it).

use std::any::Any;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::keys::{PrefixedStore, test_prefix};
use crate::watch::{WatchUpdate, Watcher, WatcherOptions};
use crate::{
    EtcdConfig, EtcdStore, KeyValue, LeaseId, ListOptions, ListPage, MAX_TXN_OPS, Precondition,
    Revision, Store, StoreError, StoreResult, Txn, WatchBatch, WatchEvent, WatchStream,
};

// ---------------------------------------------------------------------------------------
// Store handles for tests.

/// What a contract test needs from its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Any store, possibly a prefix of a shared server.
    Shared,
    /// A store nothing else uses: the test may compact it.
    Private,
}

/// Passed to a [`store_contract_tests!`](crate::store_contract_tests) factory.
#[derive(Clone, Copy, Debug)]
pub struct TestContext {
    /// What the test needs.
    pub isolation: Isolation,
    /// The test's name (use it to label a prefix).
    pub name: &'static str,
}

/// A store for one test, plus whatever must live as long as it (an etcd process).
pub struct TestStore {
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// True when nothing else uses the store's server (it may be compacted).
    pub private: bool,
    cleanup: Option<(Arc<dyn Store>, String)>,
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStore")
            .field("private", &self.private)
            .finish_non_exhaustive()
    }
}

impl TestStore {
    /// A private store (e.g. a fresh [`MemoryStore`](crate::MemoryStore)).
    pub fn new(store: Arc<dyn Store>) -> Self {
        TestStore {
            store,
            private: true,
            cleanup: None,
            _guard: None,
        }
    }

    /// A store that keeps `guard` alive (e.g. the [`TestEtcd`] it talks to).
    pub fn with_guard(store: Arc<dyn Store>, private: bool, guard: impl Any + Send + Sync) -> Self {
        TestStore {
            store,
            private,
            cleanup: None,
            _guard: Some(Box::new(guard)),
        }
    }

    /// Deletes everything the test wrote when the store is a prefix of a shared server.
    pub async fn cleanup(&self) {
        if let Some((inner, prefix)) = &self.cleanup {
            let _ = inner.delete_prefix(prefix).await;
        }
    }
}

/// A fresh [`MemoryStore`](crate::MemoryStore) for a contract test.
pub async fn memory_test_store(_ctx: TestContext) -> TestStore {
    TestStore::new(Arc::new(crate::MemoryStore::new()))
}

/// An etcd store for a contract test: under a unique prefix of the binary's shared
/// server for [`Isolation::Shared`], on a newly started server otherwise.
pub async fn etcd_test_store(ctx: TestContext) -> TestStore {
    match ctx.isolation {
        Isolation::Shared => {
            let etcd = TestEtcd::shared();
            let inner: Arc<dyn Store> = Arc::new(etcd.store().await);
            let prefix = test_prefix(ctx.name);
            let store: Arc<dyn Store> = Arc::new(PrefixedStore::new(inner.clone(), prefix.clone()));
            TestStore {
                store,
                private: false,
                cleanup: Some((inner, prefix.into_string())),
                _guard: None,
            }
        }
        Isolation::Private => {
            let etcd = TestEtcd::start_private();
            let store: Arc<dyn Store> = Arc::new(etcd.store().await);
            TestStore::with_guard(store, true, etcd)
        }
    }
}

/// Expands into one `#[tokio::test]` per contract behaviour, each calling
/// `$make(TestContext) -> impl Future<Output = TestStore>` for its store. The calling
/// crate needs `tokio` (with `macros` and `rt-multi-thread`).
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@shared $make;
            get_missing,
            put_get,
            create_if_absent,
            update_cas,
            delete_with_precondition,
            delete_prefix,
            list_paging,
            list_at_revision,
            txn_atomicity,
            txn_too_large,
            watch_from_revision,
            watch_resume,
            watcher_snapshot_then_events,
            watcher_reconnects,
            lease_expiry,
            keep_alive_on_expired_lease,
            revoke_deletes_keys,
            leases_on_writes,
            prefixed_isolation
        );
        $crate::store_contract_tests!(@private $make; compaction_recovery);
    };
    (@shared $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let ctx = $crate::testsuite::TestContext {
                    isolation: $crate::testsuite::Isolation::Shared,
                    name: stringify!($name),
                };
                let handle = ($make)(ctx).await;
                $crate::testsuite::$name(handle.store.clone()).await;
                handle.cleanup().await;
            }
        )*
    };
    (@private $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let ctx = $crate::testsuite::TestContext {
                    isolation: $crate::testsuite::Isolation::Private,
                    name: stringify!($name),
                };
                let handle = ($make)(ctx).await;
                assert!(handle.private, "{} needs a private store", stringify!($name));
                $crate::testsuite::$name(handle.store.clone()).await;
            }
        )*
    };
}

/// Runs every behaviour of the contract against `store`. The compaction behaviour runs
/// only when `private` (compacting a shared server breaks its other users).
pub async fn run_contract_suite(store: Arc<dyn Store>, private: bool) {
    get_missing(store.clone()).await;
    put_get(store.clone()).await;
    create_if_absent(store.clone()).await;
    update_cas(store.clone()).await;
    delete_with_precondition(store.clone()).await;
    delete_prefix(store.clone()).await;
    list_paging(store.clone()).await;
    list_at_revision(store.clone()).await;
    txn_atomicity(store.clone()).await;
    txn_too_large(store.clone()).await;
    watch_from_revision(store.clone()).await;
    watch_resume(store.clone()).await;
    watcher_snapshot_then_events(store.clone()).await;
    watcher_reconnects(store.clone()).await;
    lease_expiry(store.clone()).await;
    keep_alive_on_expired_lease(store.clone()).await;
    revoke_deletes_keys(store.clone()).await;
    leases_on_writes(store.clone()).await;
    prefixed_isolation(store.clone()).await;
    if private {
        compaction_recovery(store).await;
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// A unique prefix for one run of one behaviour.
fn unique(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "/contract/{name}/{nanos:x}-{}/",
        N.fetch_add(1, Ordering::Relaxed)
    )
}

const WAIT: Duration = Duration::from_secs(10);

/// Reads watch batches until `n` events arrived (panics on errors or after 10 s).
pub async fn next_events(stream: &mut WatchStream, n: usize) -> Vec<WatchEvent> {
    let mut events = Vec::new();
    while events.len() < n {
        match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Ok(batch))) => events.extend(batch.events),
            Ok(Some(Err(e))) => panic!("watch failed after {events:?}: {e}"),
            Ok(None) => panic!("watch ended after {events:?}"),
            Err(_) => panic!("timed out waiting for {n} events, got {events:?}"),
        }
    }
    assert_eq!(events.len(), n, "more events than expected: {events:?}");
    events
}

/// Asserts no event arrives within `quiet`.
async fn assert_quiet(stream: &mut WatchStream, quiet: Duration) {
    if let Ok(item) = tokio::time::timeout(quiet, stream.next()).await {
        panic!("unexpected watch item: {item:?}");
    }
}

async fn next_update(watcher: &mut Watcher) -> WatchUpdate {
    match tokio::time::timeout(WAIT, watcher.next()).await {
        Ok(Some(update)) => update,
        Ok(None) => panic!("watcher stopped"),
        Err(_) => panic!("timed out waiting for a watcher update"),
    }
}

fn put_of(event: &WatchEvent) -> &KeyValue {
    match event {
        WatchEvent::Put(kv) => kv,
        other => panic!("expected a put, got {other:?}"),
    }
}

fn keys_of(items: &[KeyValue]) -> Vec<&str> {
    items.iter().map(|kv| kv.key.as_str()).collect()
}

// ---------------------------------------------------------------------------------------
// Behaviours.

/// Reading an absent key is `None`, not an error.
pub async fn get_missing(store: Arc<dyn Store>) {
    let p = unique("get_missing");
    assert_eq!(store.get(&format!("{p}nothing")).await.unwrap(), None);
}

/// Puts are readable with etcd's revisions and versions.
pub async fn put_get(store: Arc<dyn Store>) {
    let p = unique("put_get");
    let key = format!("{p}a");
    let r1 = store.put(&key, b"one".to_vec(), None).await.unwrap();
    let kv = store.get(&key).await.unwrap().expect("key written");
    assert_eq!(kv.key, key);
    assert_eq!(kv.value, b"one");
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version, kv.lease),
        (r1, r1, 1, 0)
    );
    let r2 = store.put(&key, b"two".to_vec(), None).await.unwrap();
    assert!(r2 > r1, "revisions increase: {r1} then {r2}");
    let kv = store.get(&key).await.unwrap().expect("key written");
    assert_eq!(kv.value, b"two");
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (r1, r2, 2)
    );
    assert!(store.current_revision().await.unwrap() >= r2);
    store.ping().await.unwrap();
}

/// `create` writes only absent keys.
pub async fn create_if_absent(store: Arc<dyn Store>) {
    let p = unique("create");
    let key = format!("{p}a");
    let rev = store.create(&key, b"first".to_vec(), None).await.unwrap();
    match store.create(&key, b"second".to_vec(), None).await {
        Err(StoreError::AlreadyExists { key: k }) => assert_eq!(k, key),
        other => panic!("second create: expected AlreadyExists, got {other:?}"),
    }
    let kv = store.get(&key).await.unwrap().unwrap();
    assert_eq!((kv.value.as_slice(), kv.mod_revision), (&b"first"[..], rev));
    // Deleted keys can be created again.
    store.delete(&key, None).await.unwrap();
    let again = store.create(&key, b"third".to_vec(), None).await.unwrap();
    let kv = store.get(&key).await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.version), (again, 1));
}

/// `update` is compare-and-swap on `mod_revision`.
pub async fn update_cas(store: Arc<dyn Store>) {
    let p = unique("update");
    let key = format!("{p}a");
    let r1 = store.create(&key, b"v1".to_vec(), None).await.unwrap();
    let r2 = store.update(&key, b"v2".to_vec(), r1).await.unwrap();
    assert!(r2 > r1);
    match store.update(&key, b"stale".to_vec(), r1).await {
        Err(StoreError::Conflict { key: k }) => assert_eq!(k, key),
        other => panic!("stale update: expected Conflict, got {other:?}"),
    }
    let kv = store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (kv.value.as_slice(), kv.mod_revision, kv.version),
        (&b"v2"[..], r2, 2)
    );
    match store
        .update(&format!("{p}missing"), b"x".to_vec(), r2)
        .await
    {
        Err(StoreError::NotFound { key: k }) => assert_eq!(k, format!("{p}missing")),
        other => panic!("update of a missing key: expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        store.update(&format!("{p}missing"), b"x".to_vec(), 0).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.get(&format!("{p}missing")).await.unwrap().is_none());
}

/// `delete` honours its precondition.
pub async fn delete_with_precondition(store: Arc<dyn Store>) {
    let p = unique("delete");
    let key = format!("{p}a");
    let r1 = store.put(&key, b"v1".to_vec(), None).await.unwrap();
    let r2 = store.put(&key, b"v2".to_vec(), None).await.unwrap();
    match store.delete(&key, Some(r1)).await {
        Err(StoreError::Conflict { key: k }) => assert_eq!(k, key),
        other => panic!("stale delete: expected Conflict, got {other:?}"),
    }
    assert!(
        store.get(&key).await.unwrap().is_some(),
        "a failed delete keeps the key"
    );
    let r3 = store.delete(&key, Some(r2)).await.unwrap();
    assert!(r3 > r2);
    assert!(store.get(&key).await.unwrap().is_none());
    match store.delete(&key, Some(r2)).await {
        Err(StoreError::NotFound { key: k }) => assert_eq!(k, key),
        other => panic!("delete of a missing key: expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        store.delete(&key, None).await,
        Err(StoreError::NotFound { .. })
    ));
    store.put(&key, b"v3".to_vec(), None).await.unwrap();
    let r4 = store.delete(&key, None).await.unwrap();
    assert!(r4 > r3);
}

/// `delete_prefix` deletes exactly the keys under the prefix.
pub async fn delete_prefix(store: Arc<dyn Store>) {
    let p = unique("delete_prefix");
    for k in ["a/1", "a/2", "a/3/x", "ab", "b/1"] {
        store
            .put(&format!("{p}{k}"), b"v".to_vec(), None)
            .await
            .unwrap();
    }
    assert_eq!(store.delete_prefix(&format!("{p}a/")).await.unwrap(), 3);
    let page = store.list(&p, ListOptions::default()).await.unwrap();
    assert_eq!(keys_of(&page.items), [format!("{p}ab"), format!("{p}b/1")]);
    assert_eq!(store.delete_prefix(&format!("{p}a/")).await.unwrap(), 0);
}

/// `list` pages in key order, at one revision.
pub async fn list_paging(store: Arc<dyn Store>) {
    let p = unique("list");
    let names = ["e", "b", "g", "a", "d", "c", "f"];
    for name in names {
        store
            .put(&format!("{p}{name}"), name.as_bytes().to_vec(), None)
            .await
            .unwrap();
    }
    // A sibling sharing the prefix string without the separator is not listed.
    store
        .put(
            &format!("{}x", p.trim_end_matches('/')),
            b"no".to_vec(),
            None,
        )
        .await
        .unwrap();

    let all = store.list(&p, ListOptions::default()).await.unwrap();
    let expected: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .map(|n| format!("{p}{n}"))
        .collect();
    assert_eq!(keys_of(&all.items), expected);
    assert!(!all.more);

    let page1 = store
        .list(
            &p,
            ListOptions {
                limit: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(keys_of(&page1.items), expected[..3]);
    assert!(page1.more);
    let rev = page1.revision;
    assert!(rev >= all.items.iter().map(|kv| kv.mod_revision).max().unwrap());

    // Changes after the first page are invisible to later pages read at its revision.
    store
        .put(&format!("{p}cc"), b"new".to_vec(), None)
        .await
        .unwrap();
    store.delete(&format!("{p}e"), None).await.unwrap();

    let next = |after: &KeyValue| ListOptions {
        start_after: Some(after.key.clone()),
        limit: 3,
        revision: Some(rev),
    };
    let page2 = store
        .list(&p, next(page1.items.last().unwrap()))
        .await
        .unwrap();
    assert_eq!(keys_of(&page2.items), expected[3..6]);
    assert!(page2.more);
    assert_eq!(page2.revision, rev);
    let page3 = store
        .list(&p, next(page2.items.last().unwrap()))
        .await
        .unwrap();
    assert_eq!(keys_of(&page3.items), expected[6..]);
    assert!(!page3.more);

    // The latest state has the changes.
    let now = store.list(&p, ListOptions::default()).await.unwrap();
    assert_eq!(now.items.len(), 7);
    assert!(now.items.iter().any(|kv| kv.key == format!("{p}cc")));
    assert!(now.revision > rev);
    // Exactly `limit` keys left: `more` is false.
    let tail = store
        .list(
            &p,
            ListOptions {
                start_after: Some(format!("{p}d")),
                limit: 2,
                revision: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(keys_of(&tail.items), [format!("{p}f"), format!("{p}g")]);
    assert!(!tail.more);
}

/// `list` at the current or an older revision.
pub async fn list_at_revision(store: Arc<dyn Store>) {
    let p = unique("list_rev");
    let r1 = store
        .put(&format!("{p}a"), b"1".to_vec(), None)
        .await
        .unwrap();
    store
        .put(&format!("{p}a"), b"2".to_vec(), None)
        .await
        .unwrap();
    let r3 = store
        .put(&format!("{p}b"), b"3".to_vec(), None)
        .await
        .unwrap();
    let at = |rev| ListOptions {
        revision: Some(rev),
        ..Default::default()
    };
    let page = store.list(&p, at(r1)).await.unwrap();
    assert_eq!(page.revision, r1);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].value, b"1");
    let current = store.current_revision().await.unwrap();
    let page = store.list(&p, at(current)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[1].mod_revision, r3);
    assert!(matches!(
        store.list(&p, at(current + 1000)).await,
        Err(StoreError::InvalidArgument(_))
    ));
}

/// Transactions apply all or nothing, and name the failed precondition's key.
pub async fn txn_atomicity(store: Arc<dyn Store>) {
    let p = unique("txn");
    let (a, b, c) = (format!("{p}a"), format!("{p}b"), format!("{p}c"));
    let rev = store
        .txn(
            Txn::new()
                .when(Precondition::Absent(a.clone()))
                .put(&a, b"a1".to_vec())
                .put(&b, b"b1".to_vec()),
        )
        .await
        .unwrap();
    let (ka, kb) = (
        store.get(&a).await.unwrap().unwrap(),
        store.get(&b).await.unwrap().unwrap(),
    );
    assert_eq!(
        (ka.mod_revision, kb.mod_revision),
        (rev, rev),
        "one revision for the whole txn"
    );

    let stale = kb.mod_revision - 1;
    let failed = Txn::new()
        .when(Precondition::Exists(a.clone()))
        .when(Precondition::ModRevision(b.clone(), stale))
        .put(&c, b"c1".to_vec())
        .delete(&a);
    match store.txn(failed).await {
        Err(StoreError::Conflict { key }) => assert_eq!(key, b),
        other => panic!("expected Conflict on {b}, got {other:?}"),
    }
    assert!(
        store.get(&c).await.unwrap().is_none(),
        "a failed txn writes nothing"
    );
    assert!(
        store.get(&a).await.unwrap().is_some(),
        "a failed txn deletes nothing"
    );

    match store
        .txn(
            Txn::new()
                .when(Precondition::Absent(a.clone()))
                .put(&c, b"x".to_vec()),
        )
        .await
    {
        Err(StoreError::AlreadyExists { key }) => assert_eq!(key, a),
        other => panic!("expected AlreadyExists on {a}, got {other:?}"),
    }
    match store
        .txn(
            Txn::new()
                .when(Precondition::Exists(c.clone()))
                .put(&c, b"x".to_vec()),
        )
        .await
    {
        Err(StoreError::NotFound { key }) => assert_eq!(key, c),
        other => panic!("expected NotFound on {c}, got {other:?}"),
    }
    match store
        .txn(
            Txn::new()
                .when(Precondition::ModRevision(c.clone(), rev))
                .put(&c, b"x".to_vec()),
        )
        .await
    {
        Err(StoreError::NotFound { key }) => assert_eq!(key, c),
        other => panic!("expected NotFound on {c}, got {other:?}"),
    }
    assert!(store.get(&c).await.unwrap().is_none());

    // Mixed puts and deletes under CAS.
    let rev2 = store
        .txn(
            Txn::new()
                .when(Precondition::ModRevision(a.clone(), rev))
                .when(Precondition::Absent(c.clone()))
                .delete(&a)
                .put(&c, b"c2".to_vec()),
        )
        .await
        .unwrap();
    assert!(rev2 > rev);
    assert!(store.get(&a).await.unwrap().is_none());
    assert_eq!(store.get(&c).await.unwrap().unwrap().mod_revision, rev2);
}

/// Transactions larger than [`MAX_TXN_OPS`] are refused.
pub async fn txn_too_large(store: Arc<dyn Store>) {
    let p = unique("txn_large");
    let big = (0..=MAX_TXN_OPS).fold(Txn::new(), |t, i| {
        t.put(format!("{p}{i:04}"), b"v".to_vec())
    });
    assert!(matches!(
        store.txn(big).await,
        Err(StoreError::InvalidArgument(_))
    ));
    let page = store.list(&p, ListOptions::default()).await.unwrap();
    assert!(page.items.is_empty(), "a refused txn writes nothing");
    let max = (0..MAX_TXN_OPS).fold(Txn::new(), |t, i| {
        t.put(format!("{p}{i:04}"), b"v".to_vec())
    });
    store.txn(max).await.unwrap();
    let page = store.list(&p, ListOptions::default()).await.unwrap();
    assert_eq!(page.items.len(), MAX_TXN_OPS);
    let dup = Txn::new()
        .put(format!("{p}d"), b"1".to_vec())
        .put(format!("{p}d"), b"2".to_vec());
    assert!(matches!(
        store.txn(dup).await,
        Err(StoreError::InvalidArgument(_))
    ));
}

/// A watch sees exactly the changes after its revision, in order, deletes included, then
/// live changes.
pub async fn watch_from_revision(store: Arc<dyn Store>) {
    let p = unique("watch");
    let other = unique("watch_other");
    store
        .put(&format!("{p}before"), b"old".to_vec(), None)
        .await
        .unwrap();
    let start = store.current_revision().await.unwrap();
    let r1 = store
        .put(&format!("{p}a"), b"1".to_vec(), None)
        .await
        .unwrap();
    store
        .put(&format!("{other}x"), b"elsewhere".to_vec(), None)
        .await
        .unwrap();
    let r2 = store
        .put(&format!("{p}b"), b"2".to_vec(), None)
        .await
        .unwrap();
    let r3 = store.delete(&format!("{p}a"), None).await.unwrap();

    let mut stream = store.watch(&p, start).await.unwrap();
    let events = next_events(&mut stream, 3).await;
    assert_eq!(put_of(&events[0]).key, format!("{p}a"));
    assert_eq!(put_of(&events[0]).mod_revision, r1);
    assert_eq!(put_of(&events[0]).value, b"1");
    assert_eq!(put_of(&events[1]).key, format!("{p}b"));
    assert_eq!(put_of(&events[1]).mod_revision, r2);
    assert_eq!(
        events[2],
        WatchEvent::Delete {
            key: format!("{p}a"),
            mod_revision: r3
        }
    );

    // Live changes follow.
    let r4 = store
        .put(&format!("{p}c"), b"3".to_vec(), None)
        .await
        .unwrap();
    store
        .put(&format!("{other}y"), b"elsewhere".to_vec(), None)
        .await
        .unwrap();
    let rev = store
        .txn(
            Txn::new()
                .put(format!("{p}d"), b"4".to_vec())
                .delete(format!("{p}b")),
        )
        .await
        .unwrap();
    let events = next_events(&mut stream, 3).await;
    assert_eq!(put_of(&events[0]).mod_revision, r4);
    assert_eq!(put_of(&events[1]).key, format!("{p}d"));
    assert_eq!(events[1].revision(), rev);
    assert_eq!(
        events[2],
        WatchEvent::Delete {
            key: format!("{p}b"),
            mod_revision: rev
        }
    );
    assert_quiet(&mut stream, Duration::from_millis(200)).await;
}

/// A watch resumed after a revision sees only later changes.
pub async fn watch_resume(store: Arc<dyn Store>) {
    let p = unique("watch_resume");
    let mut revs = Vec::new();
    for i in 0..5 {
        revs.push(store.put(&format!("{p}k{i}"), vec![i], None).await.unwrap());
    }
    let mut stream = store.watch(&p, revs[2]).await.unwrap();
    let events = next_events(&mut stream, 2).await;
    assert_eq!(
        events.iter().map(WatchEvent::revision).collect::<Vec<_>>(),
        revs[3..]
    );
    // From the latest revision: nothing until the next change.
    let mut stream = store.watch(&p, revs[4]).await.unwrap();
    assert_quiet(&mut stream, Duration::from_millis(200)).await;
    let r = store.put(&format!("{p}k9"), vec![9], None).await.unwrap();
    assert_eq!(next_events(&mut stream, 1).await[0].revision(), r);
}

/// A [`Watcher`] starts with a snapshot, then streams events.
pub async fn watcher_snapshot_then_events(store: Arc<dyn Store>) {
    let p = unique("watcher");
    store
        .put(&format!("{p}b"), b"2".to_vec(), None)
        .await
        .unwrap();
    store
        .put(&format!("{p}a"), b"1".to_vec(), None)
        .await
        .unwrap();
    let options = WatcherOptions {
        page_size: 1,
        ..Default::default()
    };
    let mut watcher = Watcher::with_options(store.clone(), p.clone(), options);
    let revision = match next_update(&mut watcher).await {
        WatchUpdate::Snapshot { items, revision } => {
            assert_eq!(keys_of(&items), [format!("{p}a"), format!("{p}b")]);
            revision
        }
        other => panic!("expected a snapshot, got {other:?}"),
    };
    let r = store
        .put(&format!("{p}c"), b"3".to_vec(), None)
        .await
        .unwrap();
    assert!(r > revision);
    match next_update(&mut watcher).await {
        WatchUpdate::Events(events) => {
            assert_eq!(events.len(), 1);
            assert_eq!(put_of(&events[0]).key, format!("{p}c"));
        }
        other => panic!("expected events, got {other:?}"),
    }
    // Cancellation stops it.
    let token = CancellationToken::new();
    let mut child = Watcher::with_options(
        store.clone(),
        p.clone(),
        WatcherOptions {
            cancel: Some(token.clone()),
            ..Default::default()
        },
    );
    assert!(matches!(
        next_update(&mut child).await,
        WatchUpdate::Snapshot { .. }
    ));
    token.cancel();
    let end = tokio::time::timeout(WAIT, async { while child.next().await.is_some() {} });
    end.await.expect("a cancelled watcher ends");
    watcher.cancel();
}

/// A [`Watcher`] whose watch breaks reconnects and delivers the missed changes.
pub async fn watcher_reconnects(store: Arc<dyn Store>) {
    let p = unique("watcher_reconnect");
    let faulty = Arc::new(FaultyStore::new(store.clone()));
    store
        .put(&format!("{p}a"), b"1".to_vec(), None)
        .await
        .unwrap();
    let options = WatcherOptions {
        initial_backoff: Duration::from_millis(20),
        ..Default::default()
    };
    let mut watcher = Watcher::with_options(faulty.clone(), p.clone(), options);
    assert!(matches!(
        next_update(&mut watcher).await,
        WatchUpdate::Snapshot { .. }
    ));
    faulty.break_watches();
    let r1 = store
        .put(&format!("{p}b"), b"2".to_vec(), None)
        .await
        .unwrap();
    let r2 = store.delete(&format!("{p}a"), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    faulty.restore_watches();
    let mut events = Vec::new();
    while events.len() < 2 {
        match next_update(&mut watcher).await {
            WatchUpdate::Events(batch) => events.extend(batch),
            other => panic!("expected events after a reconnect, got {other:?}"),
        }
    }
    assert_eq!(
        events.iter().map(WatchEvent::revision).collect::<Vec<_>>(),
        [r1, r2]
    );
    assert_eq!(
        events[1],
        WatchEvent::Delete {
            key: format!("{p}a"),
            mod_revision: r2
        }
    );
}

/// History compaction: old watches and reads fail with `Compacted`, and a [`Watcher`]
/// that fell behind re-lists. Compacts the store: run it on a private one only.
pub async fn compaction_recovery(store: Arc<dyn Store>) {
    let p = unique("compaction");
    let faulty = Arc::new(FaultyStore::new(store.clone()));
    let old = store
        .put(&format!("{p}a"), b"1".to_vec(), None)
        .await
        .unwrap();
    store
        .put(&format!("{p}b"), b"2".to_vec(), None)
        .await
        .unwrap();
    let options = WatcherOptions {
        initial_backoff: Duration::from_millis(20),
        ..Default::default()
    };
    let mut watcher = Watcher::with_options(faulty.clone(), p.clone(), options);
    assert!(matches!(
        next_update(&mut watcher).await,
        WatchUpdate::Snapshot { .. }
    ));
    store
        .put(&format!("{p}c"), b"3".to_vec(), None)
        .await
        .unwrap();
    assert!(matches!(
        next_update(&mut watcher).await,
        WatchUpdate::Events(_)
    ));

    faulty.break_watches();
    store
        .put(&format!("{p}d"), b"4".to_vec(), None)
        .await
        .unwrap();
    store.delete(&format!("{p}a"), None).await.unwrap();
    let compacted = store
        .put(&format!("{p}e"), b"5".to_vec(), None)
        .await
        .unwrap();
    store.compact(compacted).await.unwrap();
    // Compacting again (or earlier) is a no-op.
    store.compact(old).await.unwrap();

    // A watch from before the compaction fails with Compacted as its first item.
    match store.watch(&p, old).await {
        Ok(mut stream) => match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Err(StoreError::Compacted { compact_revision }))) => {
                assert_eq!(compact_revision, compacted)
            }
            other => panic!("expected Compacted, got {other:?}"),
        },
        Err(StoreError::Compacted { compact_revision }) => assert_eq!(compact_revision, compacted),
        Err(e) => panic!("expected Compacted, got {e}"),
    }
    // So does a read at a compacted revision.
    match store
        .list(
            &p,
            ListOptions {
                revision: Some(old),
                ..Default::default()
            },
        )
        .await
    {
        Err(StoreError::Compacted { compact_revision }) => assert_eq!(compact_revision, compacted),
        other => panic!("expected Compacted, got {other:?}"),
    }
    // Watching from the compaction revision itself still works.
    let mut stream = store.watch(&p, compacted).await.unwrap();
    let r = store
        .put(&format!("{p}f"), b"6".to_vec(), None)
        .await
        .unwrap();
    assert_eq!(next_events(&mut stream, 1).await[0].revision(), r);

    // The watcher resumes from before the compaction: it must re-list.
    faulty.restore_watches();
    match next_update(&mut watcher).await {
        WatchUpdate::Snapshot { items, revision } => {
            let expected: Vec<String> = ["b", "c", "d", "e", "f"]
                .iter()
                .map(|k| format!("{p}{k}"))
                .collect();
            assert_eq!(keys_of(&items), expected);
            assert!(revision >= r);
        }
        other => panic!("expected a new snapshot, got {other:?}"),
    }
    let r = store
        .put(&format!("{p}g"), b"7".to_vec(), None)
        .await
        .unwrap();
    match next_update(&mut watcher).await {
        WatchUpdate::Events(events) => assert_eq!(events[0].revision(), r),
        other => panic!("expected events, got {other:?}"),
    }
}

/// An expiring lease deletes its keys, which watches see as deletes.
pub async fn lease_expiry(store: Arc<dyn Store>) {
    let p = unique("lease_expiry");
    let start = store.current_revision().await.unwrap();
    let lease = store.grant_lease(Duration::from_secs(1)).await.unwrap();
    let key = format!("{p}reg");
    let put = store.put(&key, b"me".to_vec(), Some(lease)).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap().unwrap().lease, lease);
    let mut stream = store.watch(&p, start).await.unwrap();
    let events = next_events(&mut stream, 1).await;
    assert_eq!(events[0].revision(), put);
    // Expiry takes the TTL (which a server may round up) plus its expiry check period.
    let events = next_events(&mut stream, 1).await;
    match &events[0] {
        WatchEvent::Delete {
            key: k,
            mod_revision,
        } => {
            assert_eq!(k, &key);
            assert!(*mod_revision > put);
        }
        other => panic!("expected a delete, got {other:?}"),
    }
    assert!(store.get(&key).await.unwrap().is_none());
}

/// Refreshing an expired lease fails with `LeaseNotFound`.
pub async fn keep_alive_on_expired_lease(store: Arc<dyn Store>) {
    let lease = store.grant_lease(Duration::from_secs(1)).await.unwrap();
    let ttl = store.keep_alive(lease).await.unwrap();
    assert!(
        ttl >= Duration::from_secs(1) && ttl <= Duration::from_secs(10),
        "ttl {ttl:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(ttl + Duration::from_millis(600)).await;
        match store.keep_alive(lease).await {
            Err(StoreError::LeaseNotFound { lease: l }) => {
                assert_eq!(l, lease);
                break;
            }
            Ok(_) => {
                // Refreshed (the check raced the expiry): wait out a full TTL again.
                assert!(Instant::now() < deadline, "lease never expired");
            }
            Err(e) => panic!("expected LeaseNotFound, got {e}"),
        }
    }
    assert!(matches!(
        store.revoke_lease(lease).await,
        Err(StoreError::LeaseNotFound { .. })
    ));
    assert!(matches!(
        store.keep_alive(lease).await,
        Err(StoreError::LeaseNotFound { .. })
    ));
}

/// Revoking a lease deletes its keys at once.
pub async fn revoke_deletes_keys(store: Arc<dyn Store>) {
    let p = unique("revoke");
    let lease = store.grant_lease(Duration::from_secs(30)).await.unwrap();
    let start = store.current_revision().await.unwrap();
    store
        .put(&format!("{p}a"), b"1".to_vec(), Some(lease))
        .await
        .unwrap();
    store
        .create(&format!("{p}b"), b"2".to_vec(), Some(lease))
        .await
        .unwrap();
    store
        .put(&format!("{p}c"), b"3".to_vec(), None)
        .await
        .unwrap();
    store.keep_alive(lease).await.unwrap();
    store.revoke_lease(lease).await.unwrap();
    assert!(store.get(&format!("{p}a")).await.unwrap().is_none());
    assert!(store.get(&format!("{p}b")).await.unwrap().is_none());
    assert!(store.get(&format!("{p}c")).await.unwrap().is_some());
    let mut stream = store.watch(&p, start).await.unwrap();
    let events = next_events(&mut stream, 5).await;
    let deletes: Vec<&str> = events[3..].iter().map(WatchEvent::key).collect();
    assert_eq!(deletes, [format!("{p}a"), format!("{p}b")]);
    assert!(
        events[3..]
            .iter()
            .all(|e| matches!(e, WatchEvent::Delete { .. }))
    );
    assert!(matches!(
        store.keep_alive(lease).await,
        Err(StoreError::LeaseNotFound { .. })
    ));
}

/// Leases on writes: unknown leases are refused, `update` keeps the key's lease, `put`
/// without a lease detaches it.
pub async fn leases_on_writes(store: Arc<dyn Store>) {
    let p = unique("lease_writes");
    let lease = store.grant_lease(Duration::from_secs(30)).await.unwrap();
    let key = format!("{p}a");
    let rev = store
        .create(&key, b"1".to_vec(), Some(lease))
        .await
        .unwrap();
    let rev = store.update(&key, b"2".to_vec(), rev).await.unwrap();
    let kv = store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (kv.lease, kv.mod_revision),
        (lease, rev),
        "update keeps the lease"
    );
    let txn_key = format!("{p}t");
    store
        .txn(Txn::new().put_with_lease(&txn_key, b"t".to_vec(), lease))
        .await
        .unwrap();
    assert_eq!(store.get(&txn_key).await.unwrap().unwrap().lease, lease);
    store.put(&key, b"3".to_vec(), None).await.unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().lease,
        0,
        "put detaches"
    );
    store.revoke_lease(lease).await.unwrap();
    assert!(store.get(&key).await.unwrap().is_some());
    assert!(store.get(&txn_key).await.unwrap().is_none());
    assert!(matches!(
        store
            .put(&format!("{p}b"), b"x".to_vec(), Some(lease))
            .await,
        Err(StoreError::LeaseNotFound { .. })
    ));
    assert!(matches!(
        store
            .create(&format!("{p}b"), b"x".to_vec(), Some(lease))
            .await,
        Err(StoreError::LeaseNotFound { .. })
    ));
    assert!(store.get(&format!("{p}b")).await.unwrap().is_none());
}

/// Two [`PrefixedStore`]s over one store never see each other's keys.
pub async fn prefixed_isolation(store: Arc<dyn Store>) {
    let p = unique("prefixed");
    let one = PrefixedStore::new(store.clone(), format!("{p}one"));
    let two = PrefixedStore::new(store.clone(), format!("{p}two"));
    let start = store.current_revision().await.unwrap();
    let r1 = one.put("k", b"1".to_vec(), None).await.unwrap();
    two.put("k", b"2".to_vec(), None).await.unwrap();
    two.put("only-two", b"x".to_vec(), None).await.unwrap();
    assert_eq!(one.get("k").await.unwrap().unwrap().value, b"1");
    assert_eq!(two.get("k").await.unwrap().unwrap().value, b"2");
    assert_eq!(one.get("k").await.unwrap().unwrap().key, "k");
    assert_eq!(
        store
            .get(&format!("{p}one/k"))
            .await
            .unwrap()
            .unwrap()
            .value,
        b"1"
    );
    let page = one.list("", ListOptions::default()).await.unwrap();
    assert_eq!(keys_of(&page.items), ["k"]);
    let page = two
        .list(
            "",
            ListOptions {
                start_after: Some("k".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(keys_of(&page.items), ["only-two"]);
    match one.create("k", b"x".to_vec(), None).await {
        Err(StoreError::AlreadyExists { key }) => assert_eq!(key, "k"),
        other => panic!("expected AlreadyExists on k, got {other:?}"),
    }
    match one
        .txn(Txn::new().when(Precondition::ModRevision("k".into(), r1 - 1)))
        .await
    {
        Err(StoreError::Conflict { key }) => assert_eq!(key, "k"),
        other => panic!("expected Conflict on k, got {other:?}"),
    }
    let mut stream = one.watch("", start).await.unwrap();
    let events = next_events(&mut stream, 1).await;
    assert_eq!(put_of(&events[0]).key, "k");
    assert_eq!(one.delete_prefix("").await.unwrap(), 1);
    assert_eq!(next_events(&mut stream, 1).await[0].key(), "k");
    assert_eq!(
        two.list("", ListOptions::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert_quiet(&mut stream, Duration::from_millis(100)).await;
}

// ---------------------------------------------------------------------------------------
// Fault injection.

/// A [`Store`] wrapper whose watches can be broken on demand: [`FaultyStore::break_watches`]
/// ends every open watch stream with [`StoreError::Unavailable`] and fails new watches
/// until [`FaultyStore::restore_watches`]. Everything else passes through.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    down: AtomicBool,
    breaker: Mutex<CancellationToken>,
}

impl std::fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyStore")
            .field("down", &self.down)
            .finish_non_exhaustive()
    }
}

impl FaultyStore {
    /// Wraps a store.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        FaultyStore {
            inner,
            down: AtomicBool::new(false),
            breaker: Mutex::new(CancellationToken::new()),
        }
    }

    fn breaker(&self) -> CancellationToken {
        self.breaker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Breaks every open watch and refuses new ones.
    pub fn break_watches(&self) {
        self.down.store(true, Ordering::SeqCst);
        let mut breaker = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        breaker.cancel();
        *breaker = CancellationToken::new();
    }

    /// Accepts watches again.
    pub fn restore_watches(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Store for FaultyStore {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str, options: ListOptions) -> StoreResult<ListPage> {
        self.inner.list(prefix, options).await
    }
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        self.inner.put(key, value, lease).await
    }
    async fn create(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        self.inner.create(key, value, lease).await
    }
    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> StoreResult<Revision> {
        self.inner.update(key, value, expected).await
    }
    async fn delete(&self, key: &str, expected: Option<Revision>) -> StoreResult<Revision> {
        self.inner.delete(key, expected).await
    }
    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        self.inner.delete_prefix(prefix).await
    }
    async fn txn(&self, txn: Txn) -> StoreResult<Revision> {
        self.inner.txn(txn).await
    }
    async fn watch(&self, prefix: &str, after: Revision) -> StoreResult<WatchStream> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("watch broken by test".into()));
        }
        let breaker = self.breaker();
        let stream = self.inner.watch(prefix, after).await?;
        let broken: StoreResult<WatchBatch> =
            Err(StoreError::Unavailable("watch broken by test".into()));
        // `take_until` ends an idle stream at once; `take_while` drops an item that raced
        // with the break (received after the token was checked), so nothing written after
        // `break_watches` is ever delivered by a broken stream.
        let check = breaker.clone();
        Ok(Box::pin(
            stream
                .take_until(breaker.cancelled_owned())
                .take_while(move |_| futures::future::ready(!check.is_cancelled()))
                .chain(futures::stream::iter([broken])),
        ))
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

// ---------------------------------------------------------------------------------------
// Real etcd processes.

/// The environment variable naming an external etcd for tests (comma-separated URLs).
pub const ENDPOINTS_ENV: &str = "FERRY_ETCD_ENDPOINTS";
/// The environment variable naming the etcd binary.
pub const BIN_ENV: &str = "FERRY_ETCD_BIN";

/// The etcd binary: `FERRY_ETCD_BIN`, else `etcd` on `PATH`. Panics when missing.
pub fn etcd_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os(BIN_ENV) {
        let bin = PathBuf::from(bin);
        assert!(bin.is_file(), "{BIN_ENV}={} is not a file", bin.display());
        return bin;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("etcd");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the etcd binary is needed by these tests and was not found on PATH: \
         install etcd-server (apt-get install etcd-server) or set {BIN_ENV}"
    );
}

/// Raft timing of test members: (heartbeat ms, election timeout ms).
#[derive(Clone, Copy)]
struct Timing(u32, u32);

/// One spawned etcd member.
struct EtcdProcess {
    name: String,
    child: Option<Child>,
    watchdog: Option<Child>,
    log: PathBuf,
    client_port: u16,
}

impl EtcdProcess {
    fn spawn(
        bin: &Path,
        dir: &Path,
        name: &str,
        ports: (u16, u16),
        initial_cluster: &str,
        token: &str,
        timing: Timing,
    ) -> std::io::Result<Self> {
        let (client_port, peer_port) = ports;
        let log = dir.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log)?;
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let child = Command::new(bin)
            .arg("--name")
            .arg(name)
            .arg("--data-dir")
            .arg(dir.join(format!("{name}.etcd")))
            .args([
                "--listen-client-urls",
                &client_url,
                "--advertise-client-urls",
                &client_url,
            ])
            .args([
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
            ])
            .args([
                "--initial-cluster",
                initial_cluster,
                "--initial-cluster-token",
                token,
            ])
            .args(["--initial-cluster-state", "new"])
            .args(["--heartbeat-interval", &timing.0.to_string()])
            .args(["--election-timeout", &timing.1.to_string()])
            .args([
                "--logger",
                "zap",
                "--log-level",
                "warn",
                "--log-outputs",
                "stderr",
            ])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()?;
        // Kills etcd when this process exits in any way (its end of the pipe closes), then
        // removes the member's files (the shared server of a test binary is a `static`,
        // never dropped, and the data may be on tmpfs). On a normal drop the watchdog is
        // killed first and the `TempDir` cleans up.
        let script = format!(
            "while read -r _; do :; done; kill -9 {pid} 2>/dev/null; \
             i=0; while kill -0 {pid} 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; \
             rm -rf -- '{data}' '{log}'; rmdir -- '{dir}' 2>/dev/null; true",
            pid = child.id(),
            data = dir.join(format!("{name}.etcd")).display(),
            log = log.display(),
            dir = dir.display(),
        );
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| tracing::warn!(error = %e, "cannot start the etcd watchdog"))
            .ok();
        Ok(EtcdProcess {
            name: name.to_owned(),
            child: Some(child),
            watchdog,
            log,
            client_port,
        })
    }

    fn exited(&mut self) -> bool {
        match &mut self.child {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGKILLs the member and reaps it.
    fn kill(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Free loopback ports (all bound at once, so they differ).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

/// True when the member at `port` reports itself healthy.
fn healthy(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.contains("\"health\":\"true\"")
}

fn temp_dir() -> tempfile::TempDir {
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("ferry-etcd-");
        b
    };
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = builder.tempdir_in(shm)
    {
        return dir;
    }
    builder.tempdir().expect("create a temporary directory")
}

/// Starts `n` members forming one cluster and waits until each is healthy.
fn spawn_cluster(n: usize, timing: Timing) -> (Vec<EtcdProcess>, tempfile::TempDir) {
    let bin = etcd_binary();
    let mut failure = String::new();
    for attempt in 0..3 {
        let dir = temp_dir();
        let ports = free_ports(2 * n);
        let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
        let initial_cluster = names
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{name}=http://127.0.0.1:{}", ports[2 * i + 1]))
            .collect::<Vec<_>>()
            .join(",");
        let token = dir.path().file_name().map_or_else(
            || "ferry-test".to_owned(),
            |f| f.to_string_lossy().into_owned(),
        );
        let mut members = Vec::with_capacity(n);
        for (i, name) in names.iter().enumerate() {
            match EtcdProcess::spawn(
                &bin,
                dir.path(),
                name,
                (ports[2 * i], ports[2 * i + 1]),
                &initial_cluster,
                &token,
                timing,
            ) {
                Ok(member) => members.push(member),
                Err(e) => panic!("cannot start {}: {e}", bin.display()),
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut ready = vec![false; n];
        loop {
            for (i, member) in members.iter_mut().enumerate() {
                if !ready[i] {
                    ready[i] = healthy(member.client_port);
                }
            }
            if ready.iter().all(|r| *r) {
                tracing::debug!(members = n, attempt, "test etcd ready");
                return (members, dir);
            }
            if let Some(dead) = members.iter_mut().position(EtcdProcess::exited) {
                let dead = &members[dead];
                failure = format!("etcd member {} exited:\n{}", dead.name, dead.log_tail());
                break;
            }
            if Instant::now() > deadline {
                failure = format!(
                    "etcd did not become healthy within 30s:\n{}",
                    members
                        .iter()
                        .map(EtcdProcess::log_tail)
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        drop(members);
    }
    panic!("cannot start a test etcd: {failure}");
}

/// A store configuration suited to tests against these endpoints.
pub fn test_config(endpoints: &[String]) -> EtcdConfig {
    EtcdConfig {
        endpoints: endpoints.to_vec(),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(3),
        retry_budget: Duration::from_secs(20),
        ..EtcdConfig::default()
    }
}

/// One etcd server for tests (see the [module docs](self)).
pub struct TestEtcd {
    endpoints: Vec<String>,
    private: bool,
    process: Option<EtcdProcess>,
    _dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for TestEtcd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEtcd")
            .field("endpoints", &self.endpoints)
            .field("private", &self.private)
            .finish_non_exhaustive()
    }
}

impl TestEtcd {
    /// The server of `FERRY_ETCD_ENDPOINTS` when set, else a new private one.
    pub fn start() -> TestEtcd {
        match std::env::var(ENDPOINTS_ENV) {
            Ok(endpoints) if !endpoints.trim().is_empty() => TestEtcd {
                endpoints: endpoints
                    .split(',')
                    .map(|e| e.trim().to_owned())
                    .filter(|e| !e.is_empty())
                    .collect(),
                private: false,
                process: None,
                _dir: None,
            },
            _ => Self::start_private(),
        }
    }

    /// Always starts a new etcd process (for tests that compact or otherwise disturb it).
    pub fn start_private() -> TestEtcd {
        let (mut members, dir) = spawn_cluster(1, Timing(50, 500));
        let process = members.pop();
        let endpoints = process
            .iter()
            .map(|p| format!("http://127.0.0.1:{}", p.client_port))
            .collect();
        TestEtcd {
            endpoints,
            private: true,
            process,
            _dir: Some(dir),
        }
    }

    /// One server per test binary ([`TestEtcd::start`] on first use). Share it through
    /// unique prefixes ([`PrefixedStore`]); never compact it.
    pub fn shared() -> &'static TestEtcd {
        static SHARED: OnceLock<TestEtcd> = OnceLock::new();
        SHARED.get_or_init(TestEtcd::start)
    }

    /// Client URLs.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// True when this process started the server and nothing else uses it.
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// A store configuration for this server.
    pub fn config(&self) -> EtcdConfig {
        test_config(&self.endpoints)
    }

    /// A new store connected to this server (call it inside the test's runtime).
    pub async fn store(&self) -> EtcdStore {
        EtcdStore::connect(self.config())
            .await
            .expect("connect to the test etcd")
    }

    /// A new store scoped under a unique prefix labelled `label`.
    pub async fn prefixed_store(&self, label: &str) -> PrefixedStore<EtcdStore> {
        PrefixedStore::new(self.store().await, test_prefix(label))
    }
}

impl Drop for TestEtcd {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}

/// A multi-member etcd cluster for tests (always private).
pub struct TestEtcdCluster {
    endpoints: Vec<String>,
    members: Vec<Option<EtcdProcess>>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestEtcdCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEtcdCluster")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl TestEtcdCluster {
    /// Starts an `n`-member cluster and waits until every member is healthy.
    pub fn start(n: usize) -> TestEtcdCluster {
        assert!(n > 0, "a cluster needs members");
        let (members, dir) = spawn_cluster(n, Timing(100, 1000));
        let endpoints = members
            .iter()
            .map(|p| format!("http://127.0.0.1:{}", p.client_port))
            .collect();
        TestEtcdCluster {
            endpoints,
            members: members.into_iter().map(Some).collect(),
            _dir: dir,
        }
    }

    /// Client URLs of every member (dead ones included).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// A store configuration for the whole cluster.
    pub fn config(&self) -> EtcdConfig {
        test_config(&self.endpoints)
    }

    /// SIGKILLs member `i` (a no-op when already dead).
    pub fn kill_member(&mut self, i: usize) {
        if let Some(mut member) = self.members.get_mut(i).and_then(Option::take) {
            tracing::info!(member = %member.name, "killing test etcd member");
            member.kill();
        }
    }

    /// True while member `i` runs.
    pub fn is_alive(&self, i: usize) -> bool {
        self.members.get(i).is_some_and(Option::is_some)
    }

    /// The index of the current leader, asking the live members.
    pub async fn leader(&self) -> Option<usize> {
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            if !self.is_alive(i) {
                continue;
            }
            let Ok(mut client) = etcd_client::Client::connect([endpoint.as_str()], None).await
            else {
                continue;
            };
            let Ok(Ok(status)) =
                tokio::time::timeout(Duration::from_secs(2), client.status()).await
            else {
                continue;
            };
            let leader = status.leader();
            if leader == 0 {
                continue;
            }
            if status.header().is_some_and(|h| h.member_id() == leader) {
                return Some(i);
            }
            for (j, other) in self.endpoints.iter().enumerate() {
                if j == i || !self.is_alive(j) {
                    continue;
                }
                let Ok(mut client) = etcd_client::Client::connect([other.as_str()], None).await
                else {
                    continue;
                };
                if let Ok(Ok(status)) =
                    tokio::time::timeout(Duration::from_secs(2), client.status()).await
                    && status.header().is_some_and(|h| h.member_id() == leader)
                {
                    return Some(j);
                }
            }
        }
        None
    }
}
