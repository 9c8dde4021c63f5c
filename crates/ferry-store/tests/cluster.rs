//! `EtcdStore` on a 3-member cluster survives the death of one member: after a SIGKILL,
//! 100 more operations (put, get, CAS update, list) all succeed, and a `Watcher` keeps
//! delivering changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_store::testsuite::TestEtcdCluster;
use ferry_store::watch::{WatchUpdate, Watcher};
use ferry_store::{EtcdStore, ListOptions, PrefixedStore, Store, keys};

#[derive(Clone, Copy, Debug)]
enum Victim {
    Leader,
    Follower,
}

/// Logs to the test output when `RUST_LOG` is set (e.g. `RUST_LOG=ferry_store=debug`).
fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

async fn survives_member_death(victim: Victim) {
    init_logging();
    let mut cluster = TestEtcdCluster::start(3);
    let etcd = EtcdStore::connect(cluster.config()).await.expect("connect");
    let store: Arc<dyn Store> = Arc::new(PrefixedStore::new(
        etcd.clone(),
        keys::test_prefix("cluster"),
    ));

    for i in 0..50 {
        let key = format!("k{i:02}");
        store
            .put(&key, format!("v{i}").into_bytes(), None)
            .await
            .expect("put before the kill");
        let kv = store
            .get(&key)
            .await
            .expect("get before the kill")
            .expect("key present");
        assert_eq!(kv.value, format!("v{i}").into_bytes());
    }

    let mut watcher = Watcher::new(store.clone(), "");
    assert!(matches!(
        watcher.next().await,
        Some(WatchUpdate::Snapshot { .. })
    ));

    // The store sends everything to its first endpoint until that fails.
    let leader = cluster.leader().await.expect("the cluster has a leader");
    let target = match victim {
        Victim::Leader => leader,
        // Preferably the member the store talks to.
        Victim::Follower => (0..3).find(|&i| i != leader).expect("a follower"),
    };
    println!(
        "{victim:?}: killing member {target} (leader {leader}; the store talks to member 0 first)"
    );
    cluster.kill_member(target);

    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut last_put = 0;
    for i in 0..100 {
        let key = format!("k{:02}", i % 50);
        let op_start = Instant::now();
        match i % 4 {
            0 => {
                last_put = store
                    .put(&key, format!("after{i}").into_bytes(), None)
                    .await
                    .unwrap_or_else(|e| panic!("op {i}: put failed after the kill: {e}"));
            }
            1 => {
                let kv = store
                    .get(&key)
                    .await
                    .unwrap_or_else(|e| panic!("op {i}: get failed after the kill: {e}"));
                assert!(kv.is_some(), "op {i}: {key} lost");
            }
            2 => {
                let kv = store
                    .get(&key)
                    .await
                    .unwrap_or_else(|e| panic!("op {i}: get for CAS failed: {e}"))
                    .expect("key present");
                last_put = store
                    .update(&key, format!("cas{i}").into_bytes(), kv.mod_revision)
                    .await
                    .unwrap_or_else(|e| panic!("op {i}: CAS update failed after the kill: {e}"));
            }
            _ => {
                let page = store
                    .list(
                        "",
                        ListOptions {
                            limit: 10,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("op {i}: list failed after the kill: {e}"));
                assert_eq!(page.items.len(), 10);
                assert!(page.more);
            }
        }
        slowest = slowest.max(op_start.elapsed());
    }
    println!(
        "{victim:?}: 100 operations after the kill took {:?} (slowest {slowest:?})",
        start.elapsed()
    );

    // The watcher resumed too: it delivers the last write.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let update = tokio::time::timeout_at(deadline.into(), watcher.next())
            .await
            .expect("the watcher delivers changes after the kill")
            .expect("watcher running");
        let reached = match update {
            WatchUpdate::Events(events) => events.iter().any(|e| e.revision() >= last_put),
            WatchUpdate::Snapshot { revision, .. } => revision >= last_put,
        };
        if reached {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_leader_death() {
    survives_member_death(Victim::Leader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_follower_death() {
    survives_member_death(Victim::Follower).await;
}
