//! `LeaseKeeper` against real etcd: a registration disappears within TTL + 1 s when its
//! keeper dies without revoking, and at once on revoke.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_store::lease::LeaseKeeper;
use ferry_store::testsuite::TestEtcd;
use ferry_store::{MemoryStore, Store, keys};

const TTL: Duration = Duration::from_secs(2);

async fn gone_within(store: &dyn Store, key: &str, within: Duration) -> Duration {
    let start = Instant::now();
    while store.get(key).await.unwrap().is_some() {
        assert!(
            start.elapsed() < within,
            "{key} still present after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

async fn registration_outlives_refreshes_then_expires(store: Arc<dyn Store>) {
    let key = keys::sys::registration("test", "instance-1");
    let keeper = LeaseKeeper::grant(store.clone(), TTL).await.unwrap();
    store
        .create(&key, b"addr".to_vec(), Some(keeper.id()))
        .await
        .unwrap();
    // Survives several TTLs thanks to the refreshes.
    tokio::time::sleep(TTL * 2 + Duration::from_millis(500)).await;
    assert!(
        store.get(&key).await.unwrap().is_some(),
        "refreshed lease keeps the key"
    );
    assert!(!keeper.is_lost());
    // The process "dies": no revoke.
    drop(keeper);
    let took = gone_within(&*store, &key, TTL + Duration::from_secs(1)).await;
    println!("registration expired {took:?} after the keeper was dropped");
}

async fn revoke_removes_at_once(store: Arc<dyn Store>) {
    let key = keys::sys::registration("test", "instance-2");
    let keeper = LeaseKeeper::grant(store.clone(), Duration::from_secs(30))
        .await
        .unwrap();
    let lost = keeper.lost();
    store
        .create(&key, b"addr".to_vec(), Some(keeper.id()))
        .await
        .unwrap();
    keeper.revoke().await.unwrap();
    assert!(
        store.get(&key).await.unwrap().is_none(),
        "revoke deletes at once"
    );
    assert!(!lost.is_cancelled(), "a revoke is not a loss");
}

async fn loss_is_reported(store: Arc<dyn Store>) {
    let keeper = LeaseKeeper::grant(store.clone(), TTL).await.unwrap();
    store.revoke_lease(keeper.id()).await.unwrap();
    tokio::time::timeout(TTL * 2, keeper.lost().cancelled())
        .await
        .expect("the keeper notices its lease is gone");
}

fn etcd() -> &'static TestEtcd {
    TestEtcd::shared()
}

async fn etcd_store(label: &str) -> Arc<dyn Store> {
    Arc::new(etcd().prefixed_store(label).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_registration_expires_after_keeper_dies() {
    registration_outlives_refreshes_then_expires(etcd_store("lease-expire").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_revoke_removes_registration() {
    revoke_removes_at_once(etcd_store("lease-revoke").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_keeper_reports_loss() {
    loss_is_reported(etcd_store("lease-loss").await).await;
}

#[tokio::test]
async fn memory_registration_expires_after_keeper_dies() {
    registration_outlives_refreshes_then_expires(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn memory_revoke_removes_registration() {
    revoke_removes_at_once(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn memory_keeper_reports_loss() {
    loss_is_reported(Arc::new(MemoryStore::new())).await;
}
