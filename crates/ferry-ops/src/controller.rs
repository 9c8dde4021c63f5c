//! The controller runtime: leader-elected, watch-driven reconcile loops.
//!
//! A [`Reconciler`] names a key prefix and knows how to move one key's world toward what
//! that key asks for. A [`Controller`] runs it on exactly one replica at a time:
//!
//! 1. campaign for leadership ([`crate::leader`]);
//! 2. once leader, list the prefix and queue every key the reconciler wants: this is how
//!    work a dead leader left half done is resumed;
//! 3. watch the prefix and queue every changed key (a compaction re-lists);
//! 4. reconcile due keys, up to [`MAX_IN_FLIGHT`] different keys at once but never one
//!    key twice at once (a key that changes while reconciling is reconciled again right
//!    after), so one slow key (a runtime call waiting on a dead host) does not hold up
//!    the others; [`Action::RequeueAfter`] and errors schedule the key again (errors with
//!    exponential backoff, capped);
//! 5. on losing leadership, stop at once and campaign again; on stop, resign.
//!
//! Reconcile must be idempotent: it may run again for a key after a crash at any point.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ferry_kit::error::ApiError;
use ferry_store::watch::{WatchUpdate, Watcher};
use ferry_store::{KeyValue, Precondition, Store, WatchEvent};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::leader;

/// What to do with a key after reconciling it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing more until the key changes.
    Done,
    /// Reconcile again after the delay (polling the world).
    RequeueAfter(Duration),
}

/// What a reconcile call gets besides the key.
#[derive(Clone)]
pub struct ReconcileContext {
    /// The store.
    pub store: Arc<dyn Store>,
    /// A precondition that fails once this replica no longer leads: add it to writes.
    pub fence: Precondition,
    /// Cancelled when leadership is lost or the service stops: long reconciles end early.
    pub stop: CancellationToken,
}

/// Moves one key's world toward what the key asks for.
#[async_trait::async_trait]
pub trait Reconciler: Send + Sync + 'static {
    /// Controller name (leader election and logs), e.g. `deploy-namespaces`.
    fn name(&self) -> &'static str;

    /// The key prefix watched.
    fn prefix(&self) -> String;

    /// Whether a stored key needs reconciling (e.g. only unfinished operations of one
    /// verb). Deleted keys are always offered to [`Reconciler::reconcile`] with `None`.
    fn wants(&self, _kv: &KeyValue) -> bool {
        true
    }

    /// Reconciles one key; `kv` is its current value, `None` once deleted.
    async fn reconcile(
        &self,
        context: &ReconcileContext,
        key: &str,
        kv: Option<KeyValue>,
    ) -> Result<Action, ApiError>;
}

/// Runs a [`Reconciler`] on the leading replica.
pub struct Controller<R> {
    reconciler: Arc<R>,
    store: Arc<dyn Store>,
    identity: String,
    lease_ttl: Duration,
    triggers: Option<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<String>>>,
}

/// Most keys reconciled at the same time by one controller.
pub const MAX_IN_FLIGHT: usize = 16;

/// How one reconcile task ended.
enum Outcome {
    /// The key could not be read; try again soon.
    ReadFailed(String),
    /// The key is not wanted (anymore).
    NotWanted,
    /// The reconciler's verdict.
    Reconciled(Result<Action, ApiError>),
}

/// Largest delay between retries of a failing key.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl<R: Reconciler> Controller<R> {
    /// A controller for `reconciler`, campaigning as `identity` with leases of `lease_ttl`.
    pub fn new(
        reconciler: Arc<R>,
        store: Arc<dyn Store>,
        identity: impl Into<String>,
        lease_ttl: Duration,
    ) -> Self {
        Self {
            reconciler,
            store,
            identity: identity.into(),
            lease_ttl,
            triggers: None,
        }
    }

    /// Also reconciles the keys received on `triggers` (e.g. mapped from a runtime's
    /// change hints), while leading; keys received while not leading are dropped (the
    /// list at the start of leadership covers them).
    pub fn with_triggers(mut self, triggers: tokio::sync::mpsc::Receiver<String>) -> Self {
        self.triggers = Some(tokio::sync::Mutex::new(triggers));
        self
    }

    /// Runs until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let name = self.reconciler.name();
        loop {
            let Some(leadership) = leader::campaign(
                self.store.clone(),
                name,
                &self.identity,
                self.lease_ttl,
                &stop,
            )
            .await
            else {
                return;
            };
            let session = stop.child_token();
            let lost = leadership.lost();
            let session_for_loss = session.clone();
            let loss_watch = tokio::spawn(async move {
                lost.cancelled().await;
                session_for_loss.cancel();
            });
            let context = ReconcileContext {
                store: self.store.clone(),
                fence: leadership.fence(),
                stop: session.clone(),
            };
            self.lead(&context).await;
            loss_watch.abort();
            if stop.is_cancelled() {
                if let Err(error) = leadership.resign().await {
                    tracing::warn!(controller = name, %error, "cannot resign leadership; the lease expires by itself");
                }
                return;
            }
            tracing::warn!(controller = name, "lost leadership; campaigning again");
        }
    }

    async fn lead(&self, context: &ReconcileContext) {
        let name = self.reconciler.name();
        let mut watcher = Watcher::new(self.store.clone(), self.reconciler.prefix());
        let mut due: BTreeMap<(Instant, u64), String> = BTreeMap::new();
        let mut scheduled: HashMap<String, (Instant, u64)> = HashMap::new();
        let mut failures: HashMap<String, u32> = HashMap::new();
        let mut sequence = 0u64;
        // Reconciles running now (aborted with the set when leadership ends), their keys,
        // and keys that became due again meanwhile.
        let mut in_flight: tokio::task::JoinSet<(String, Outcome)> = tokio::task::JoinSet::new();
        let mut running: HashSet<String> = HashSet::new();
        let mut dirty: HashSet<String> = HashSet::new();
        let mut triggers = match &self.triggers {
            Some(triggers) => Some(triggers.lock().await),
            None => None,
        };
        if let Some(triggers) = triggers.as_mut() {
            // Hints from before this leadership are covered by the initial list.
            while triggers.try_recv().is_ok() {}
        }
        let mut schedule = |due: &mut BTreeMap<(Instant, u64), String>,
                            scheduled: &mut HashMap<String, (Instant, u64)>,
                            key: String,
                            at: Instant| {
            // An earlier schedule wins; a later one for an already-queued key is dropped.
            if let Some(existing) = scheduled.get(&key) {
                if existing.0 <= at {
                    return;
                }
                due.remove(existing);
            }
            sequence += 1;
            due.insert((at, sequence), key.clone());
            scheduled.insert(key, (at, sequence));
        };

        loop {
            let next_due = due.keys().next().map(|(at, _)| *at);
            tokio::select! {
                biased;
                _ = context.stop.cancelled() => return,
                update = watcher.next() => {
                    let Some(update) = update else { return };
                    let now = Instant::now();
                    match update {
                        WatchUpdate::Snapshot { items, .. } => {
                            for kv in items {
                                if self.reconciler.wants(&kv) {
                                    schedule(&mut due, &mut scheduled, kv.key.clone(), now);
                                }
                            }
                        }
                        WatchUpdate::Events(events) => {
                            for event in events {
                                let wanted = match &event {
                                    WatchEvent::Put(kv) => self.reconciler.wants(kv),
                                    WatchEvent::Delete { .. } => true,
                                };
                                if wanted {
                                    failures.remove(event.key());
                                    schedule(&mut due, &mut scheduled, event.key().to_string(), now);
                                }
                            }
                        }
                    }
                }
                Some(key) = next_trigger(&mut triggers) => {
                    schedule(&mut due, &mut scheduled, key, Instant::now());
                }
                Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                    let Ok((key, outcome)) = joined else { continue };
                    running.remove(&key);
                    let now = Instant::now();
                    match outcome {
                        Outcome::ReadFailed(error) => {
                            tracing::warn!(controller = name, key, %error, "cannot read key; retrying");
                            schedule(&mut due, &mut scheduled, key.clone(), now + Duration::from_millis(500));
                        }
                        Outcome::NotWanted | Outcome::Reconciled(Ok(Action::Done)) => {
                            failures.remove(&key);
                        }
                        Outcome::Reconciled(Ok(Action::RequeueAfter(delay))) => {
                            failures.remove(&key);
                            schedule(&mut due, &mut scheduled, key.clone(), now + delay);
                        }
                        Outcome::Reconciled(Err(error)) => {
                            let attempts = failures.entry(key.clone()).or_insert(0);
                            *attempts += 1;
                            let delay = backoff(*attempts);
                            tracing::warn!(controller = name, key, error = %error, retry_in = ?delay, "reconcile failed");
                            schedule(&mut due, &mut scheduled, key.clone(), now + delay);
                        }
                    }
                    if dirty.remove(&key) {
                        // It changed (or was due) while being reconciled: look again now.
                        schedule(&mut due, &mut scheduled, key, now);
                    }
                }
                _ = sleep_until_opt(next_due), if in_flight.len() < MAX_IN_FLIGHT => {
                    let Some((_, key)) = due.pop_first() else { continue };
                    scheduled.remove(&key);
                    if running.contains(&key) {
                        dirty.insert(key);
                        continue;
                    }
                    running.insert(key.clone());
                    let (reconciler, store, context) =
                        (self.reconciler.clone(), self.store.clone(), context.clone());
                    in_flight.spawn(async move {
                        let kv = match store.get(&key).await {
                            Ok(kv) => kv,
                            Err(error) => return (key, Outcome::ReadFailed(error.to_string())),
                        };
                        if kv.as_ref().is_some_and(|kv| !reconciler.wants(kv)) {
                            return (key, Outcome::NotWanted);
                        }
                        let span = tracing::info_span!("reconcile", controller = reconciler.name(), key = %key);
                        let result = tracing::Instrument::instrument(
                            reconciler.reconcile(&context, &key, kv),
                            span,
                        )
                        .await;
                        (key, Outcome::Reconciled(result))
                    });
                }
            }
        }
    }
}

/// Exponential backoff for the `attempt`-th consecutive failure: 100 ms, 200 ms, … 30 s.
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u64 << attempt.saturating_sub(1).min(16);
    Duration::from_millis(100)
        .saturating_mul(factor as u32)
        .min(MAX_BACKOFF)
}

async fn next_trigger(
    triggers: &mut Option<tokio::sync::MutexGuard<'_, tokio::sync::mpsc::Receiver<String>>>,
) -> Option<String> {
    match triggers {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
