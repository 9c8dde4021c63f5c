//! The controller runtime on the in-memory store: reconcile on changes, resume on leading,
//! retry with backoff, requeue, and hand over leadership.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_kit::error::ApiError;
use ferry_ops::{Action, Controller, ReconcileContext, Reconciler};
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_store::{KeyValue, MemoryStore, Store};
use tokio_util::sync::CancellationToken;

/// Records who reconciled which key when; fails a key's first `failures[key]` attempts.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(String, String, Instant)>>,
    failures: Mutex<HashMap<String, u32>>,
    requeue: Mutex<HashMap<String, u32>>,
    identity: String,
}

#[async_trait::async_trait]
impl Reconciler for Recorder {
    fn name(&self) -> &'static str {
        "test-recorder"
    }

    fn prefix(&self) -> String {
        "/t/".to_string()
    }

    fn wants(&self, kv: &KeyValue) -> bool {
        kv.value != b"ignored"
    }

    async fn reconcile(
        &self,
        _context: &ReconcileContext,
        key: &str,
        _kv: Option<KeyValue>,
    ) -> Result<Action, ApiError> {
        self.calls
            .lock()
            .unwrap()
            .push((self.identity.clone(), key.to_string(), Instant::now()));
        if let Some(left) = self
            .failures
            .lock()
            .unwrap()
            .get_mut(key)
            .filter(|left| **left > 0)
        {
            *left -= 1;
            return Err(ApiError::new(
                tonic::Code::Unavailable,
                ErrorReason::RuntimeUnavailable,
                "flaky",
            ));
        }
        if let Some(left) = self
            .requeue
            .lock()
            .unwrap()
            .get_mut(key)
            .filter(|left| **left > 0)
        {
            *left -= 1;
            return Ok(Action::RequeueAfter(Duration::from_millis(30)));
        }
        Ok(Action::Done)
    }
}

impl Recorder {
    fn named(identity: &str) -> Arc<Self> {
        Arc::new(Recorder {
            identity: identity.to_string(),
            ..Default::default()
        })
    }

    fn calls_for(&self, key: &str) -> Vec<(String, Instant)> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, k, _)| k == key)
            .map(|(who, _, at)| (who.clone(), *at))
            .collect()
    }
}

async fn until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn existing_keys_are_resumed_changes_reconciled_failures_retried() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    // Work left before any leader exists: resumed when one starts.
    store
        .put("/t/left-over", b"x".to_vec(), None)
        .await
        .unwrap();
    store
        .put("/t/skip", b"ignored".to_vec(), None)
        .await
        .unwrap();
    let recorder = Recorder::named("a");
    recorder
        .failures
        .lock()
        .unwrap()
        .insert("/t/flaky".into(), 2);
    recorder.requeue.lock().unwrap().insert("/t/poll".into(), 3);
    let stop = CancellationToken::new();
    let controller = Controller::new(recorder.clone(), store.clone(), "a", Duration::from_secs(2));
    let task = tokio::spawn(controller.run(stop.clone()));

    assert!(
        until(Duration::from_secs(3), || recorder
            .calls_for("/t/left-over")
            .len()
            == 1)
        .await
    );
    store.put("/t/flaky", b"x".to_vec(), None).await.unwrap();
    store.put("/t/poll", b"x".to_vec(), None).await.unwrap();
    assert!(
        until(Duration::from_secs(3), || recorder
            .calls_for("/t/flaky")
            .len()
            == 3)
        .await,
        "2 failures then success"
    );
    let flaky = recorder.calls_for("/t/flaky");
    assert!(
        flaky[2].1 - flaky[1].1 >= Duration::from_millis(180),
        "backoff grows: 100 ms then 200 ms"
    );
    assert!(
        until(Duration::from_secs(3), || recorder
            .calls_for("/t/poll")
            .len()
            == 4)
        .await,
        "3 requeues then done"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        recorder.calls_for("/t/flaky").len(),
        3,
        "no more calls once it succeeded"
    );
    assert_eq!(recorder.calls_for("/t/poll").len(), 4);
    assert!(
        recorder.calls_for("/t/skip").is_empty(),
        "keys the reconciler does not want are left alone"
    );

    // Deletions are offered too.
    store.delete("/t/left-over", None).await.unwrap();
    assert!(
        until(Duration::from_secs(3), || recorder
            .calls_for("/t/left-over")
            .len()
            == 2)
        .await
    );

    stop.cancel();
    task.await.unwrap();
    assert!(
        store
            .get(&ferry_store::keys::sys::leader("test-recorder"))
            .await
            .unwrap()
            .is_none(),
        "resigned on stop"
    );
}

#[tokio::test]
async fn a_second_replica_takes_over_when_the_leader_stops_or_dies() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (a, b) = (Recorder::named("a"), Recorder::named("b"));
    let (stop_a, stop_b) = (CancellationToken::new(), CancellationToken::new());
    let task_a = tokio::spawn(
        Controller::new(a.clone(), store.clone(), "a", Duration::from_secs(2)).run(stop_a.clone()),
    );
    store.put("/t/one", b"1".to_vec(), None).await.unwrap();
    assert!(until(Duration::from_secs(3), || a.calls_for("/t/one").len() == 1).await);
    let task_b = tokio::spawn(
        Controller::new(b.clone(), store.clone(), "b", Duration::from_secs(2)).run(stop_b.clone()),
    );
    store.put("/t/two", b"2".to_vec(), None).await.unwrap();
    assert!(until(Duration::from_secs(3), || a.calls_for("/t/two").len() == 1).await);
    assert!(
        b.calls.lock().unwrap().is_empty(),
        "only the leader reconciles"
    );

    // The leader dies without resigning: the other takes over once the lease expires.
    task_a.abort();
    let _ = task_a.await;
    let died = Instant::now();
    assert!(
        until(Duration::from_secs(4), || !b.calls_for("/t/one").is_empty()).await,
        "b resumes every key"
    );
    assert!(
        died.elapsed() < Duration::from_secs(3) + Duration::from_millis(500),
        "within TTL + 1 s"
    );
    assert_eq!(b.calls_for("/t/two").len(), 1);
    stop_b.cancel();
    task_b.await.unwrap();
    stop_a.cancel();
}
