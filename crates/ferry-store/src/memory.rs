//! [`MemoryStore`]: an in-process [`Store`] with etcd's semantics, for unit tests and the
//! embedded single-process mode.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::{
    KeyValue, LeaseId, ListOptions, ListPage, MAX_TXN_OPS, Precondition, Revision, Store,
    StoreError, StoreResult, Txn, TxnOp, WatchBatch, WatchEvent, WatchStream,
};

/// Default number of history events kept before the oldest are compacted automatically.
pub const DEFAULT_HISTORY_LIMIT: usize = 100_000;

/// Most events in one replayed [`WatchBatch`] (a single revision is never split).
const REPLAY_BATCH: usize = 1000;

/// An in-memory [`Store`] with etcd's semantics:
///
/// * a global revision counter (starting at 1, like a fresh etcd), bumped once per write
///   (a transaction's writes share one revision; writes that change nothing, such as
///   deleting an absent key, do not bump it); per-key create/mod revisions and versions;
/// * an MVCC history of events: [`Store::watch`] replays the changes after a revision,
///   then streams live ones; [`Store::list`] can read at any revision since the last
///   compaction (the state is rebuilt by undoing later events, linear in the range and the
///   history since that revision);
/// * [`Store::compact`] drops history older than a revision: watches and reads from before
///   it fail with [`StoreError::Compacted`]. The history is also compacted automatically
///   beyond [`DEFAULT_HISTORY_LIMIT`] events (see [`MemoryStore::with_history_limit`]);
/// * leases expire on tokio's clock (so `tokio::time::pause` works), deleting their keys
///   in one revision, which watches see as [`WatchEvent::Delete`]s.
///
/// Watchers get an unbounded channel each: a watcher that never reads buffers every
/// change. Cloning is cheap and clones share the data. Lease expiry needs a tokio runtime
/// (a task is spawned per lease by [`Store::grant_lease`]).
#[derive(Clone, Debug)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    revision: Revision,
    compacted: Revision,
    kvs: BTreeMap<String, KeyValue>,
    history: VecDeque<HistoryEntry>,
    history_limit: usize,
    leases: HashMap<LeaseId, Lease>,
    next_lease: LeaseId,
    watchers: Vec<WatcherTx>,
}

#[derive(Debug)]
struct HistoryEntry {
    event: WatchEvent,
    /// The key before the event (to rebuild older revisions).
    prev: Option<KeyValue>,
}

#[derive(Debug)]
struct Lease {
    ttl: Duration,
    deadline: Instant,
    keys: BTreeSet<String>,
}

#[derive(Debug)]
struct WatcherTx {
    prefix: String,
    tx: mpsc::UnboundedSender<StoreResult<WatchBatch>>,
}

/// One write of an atomic change set.
enum Change {
    Put {
        key: String,
        value: Vec<u8>,
        lease: LeaseMode,
    },
    Delete {
        key: String,
    },
}

/// What a put does with the key's lease.
enum LeaseMode {
    /// Attach to this lease (`None` detaches), like etcd's put.
    Set(Option<LeaseId>),
    /// Keep the key's current lease (etcd's `ignore_lease`), used by updates.
    Keep,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store at revision 1.
    pub fn new() -> Self {
        Self::with_history_limit(DEFAULT_HISTORY_LIMIT)
    }

    /// An empty store that keeps at most `limit` history events (older ones are compacted
    /// automatically, like etcd's auto-compaction).
    pub fn with_history_limit(limit: usize) -> Self {
        MemoryStore {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    revision: 1,
                    compacted: 0,
                    kvs: BTreeMap::new(),
                    history: VecDeque::new(),
                    history_limit: limit.max(1),
                    leases: HashMap::new(),
                    next_lease: 0x1_0000,
                    watchers: Vec::new(),
                }),
            }),
        }
    }

    /// The revision history was compacted at (0 when never).
    pub fn compacted_revision(&self) -> Revision {
        self.lock().compacted
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.shared)
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A panic while holding the lock leaves the state consistent (every mutation is
    // validated before it starts), so poisoning is ignored.
    shared
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn check_key(key: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidArgument("empty key".into()));
    }
    Ok(())
}

impl State {
    fn live_lease(&mut self, id: LeaseId, now: Instant) -> StoreResult<()> {
        match self.leases.get(&id) {
            Some(lease) if lease.deadline > now => Ok(()),
            Some(_) => {
                self.expire(id);
                Err(StoreError::LeaseNotFound { lease: id })
            }
            None => Err(StoreError::LeaseNotFound { lease: id }),
        }
    }

    fn check_lease_mode(&mut self, mode: &LeaseMode) -> StoreResult<()> {
        match mode {
            LeaseMode::Set(Some(id)) => self.live_lease(*id, Instant::now()),
            _ => Ok(()),
        }
    }

    /// Applies `changes` atomically at one new revision (when any changes something);
    /// returns the store revision after them.
    fn apply(&mut self, changes: Vec<Change>) -> Revision {
        let rev = self.revision + 1;
        let mut events = Vec::with_capacity(changes.len());
        for change in changes {
            match change {
                Change::Put { key, value, lease } => {
                    let prev = self.kvs.get(&key).cloned();
                    let old_lease = prev.as_ref().map_or(0, |kv| kv.lease);
                    let new_lease = match lease {
                        LeaseMode::Set(l) => l.unwrap_or(0),
                        LeaseMode::Keep => old_lease,
                    };
                    if old_lease != new_lease {
                        if let Some(l) = self.leases.get_mut(&old_lease) {
                            l.keys.remove(&key);
                        }
                        if let Some(l) = self.leases.get_mut(&new_lease) {
                            l.keys.insert(key.clone());
                        }
                    }
                    let kv = KeyValue {
                        key: key.clone(),
                        value,
                        create_revision: prev.as_ref().map_or(rev, |p| p.create_revision),
                        mod_revision: rev,
                        version: prev.as_ref().map_or(1, |p| p.version + 1),
                        lease: new_lease,
                    };
                    self.kvs.insert(key, kv.clone());
                    events.push(HistoryEntry {
                        event: WatchEvent::Put(kv),
                        prev,
                    });
                }
                Change::Delete { key } => {
                    if let Some(prev) = self.kvs.remove(&key) {
                        if let Some(l) = self.leases.get_mut(&prev.lease) {
                            l.keys.remove(&key);
                        }
                        events.push(HistoryEntry {
                            event: WatchEvent::Delete {
                                key,
                                mod_revision: rev,
                            },
                            prev: Some(prev),
                        });
                    }
                }
            }
        }
        if events.is_empty() {
            return self.revision;
        }
        self.revision = rev;
        self.notify(&events);
        self.history.extend(events);
        self.trim_history();
        rev
    }

    fn notify(&mut self, entries: &[HistoryEntry]) {
        self.watchers.retain(|w| {
            let events: Vec<WatchEvent> = entries
                .iter()
                .filter(|e| e.event.key().starts_with(&w.prefix))
                .map(|e| e.event.clone())
                .collect();
            if events.is_empty() {
                return !w.tx.is_closed();
            }
            w.tx.send(Ok(WatchBatch { events })).is_ok()
        });
    }

    fn trim_history(&mut self) {
        if self.history.len() <= self.history_limit {
            return;
        }
        // Drop down to 90% of the limit, never splitting a revision.
        let target = self.history_limit - self.history_limit / 10;
        let excess = self.history.len() - target;
        let Some(cut) = self.history.get(excess).map(|e| e.event.revision()) else {
            return;
        };
        self.compact_history(cut);
    }

    /// Drops history older than `revision`.
    fn compact_history(&mut self, revision: Revision) {
        while self
            .history
            .front()
            .is_some_and(|e| e.event.revision() < revision)
        {
            self.history.pop_front();
        }
        self.compacted = self.compacted.max(revision);
    }

    /// Deletes a lease and its keys (one revision).
    fn expire(&mut self, id: LeaseId) {
        if let Some(lease) = self.leases.remove(&id) {
            tracing::debug!(
                lease = id,
                keys = lease.keys.len(),
                "memory store lease ended"
            );
            let changes = lease
                .keys
                .into_iter()
                .map(|key| Change::Delete { key })
                .collect();
            self.apply(changes);
        }
    }

    /// The keys under `prefix` as of `revision` (which must be in the retained history).
    fn view_at(&self, prefix: &str, revision: Revision) -> BTreeMap<String, KeyValue> {
        let mut view: BTreeMap<String, KeyValue> = self
            .kvs
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for entry in self.history.iter().rev() {
            if entry.event.revision() <= revision {
                break;
            }
            let key = entry.event.key();
            if !key.starts_with(prefix) {
                continue;
            }
            match &entry.prev {
                Some(prev) => view.insert(key.to_owned(), prev.clone()),
                None => view.remove(key),
            };
        }
        view
    }
}

fn page_of<'a>(
    iter: impl Iterator<Item = (&'a String, &'a KeyValue)>,
    prefix: &str,
    options: &ListOptions,
    revision: Revision,
) -> ListPage {
    let mut items = Vec::new();
    let mut more = false;
    for (key, kv) in iter {
        if !key.starts_with(prefix) {
            break;
        }
        if options.limit > 0 && items.len() == options.limit {
            more = true;
            break;
        }
        items.push(kv.clone());
    }
    ListPage {
        items,
        more,
        revision,
    }
}

fn lower_bound<'a>(prefix: &'a str, start_after: Option<&'a str>) -> Bound<&'a str> {
    match start_after {
        Some(after) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    }
}

async fn reap_lease(shared: Weak<Shared>, id: LeaseId) {
    loop {
        let deadline = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let state = lock(&shared);
            match state.leases.get(&id) {
                Some(lease) => lease.deadline,
                None => return,
            }
        };
        tokio::time::sleep_until(deadline).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut state = lock(&shared);
        match state.leases.get(&id) {
            Some(lease) if lease.deadline <= Instant::now() => {
                state.expire(id);
                return;
            }
            Some(_) => continue,
            None => return,
        }
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        Ok(self.lock().kvs.get(key).cloned())
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> StoreResult<ListPage> {
        let state = self.lock();
        let lower = lower_bound(prefix, options.start_after.as_deref());
        // Like etcd, a revision <= 0 means the latest.
        match options.revision.filter(|r| *r > 0) {
            None => {
                let iter = state.kvs.range::<str, _>((lower, Bound::Unbounded));
                Ok(page_of(iter, prefix, &options, state.revision))
            }
            Some(rev) if rev == state.revision => {
                let iter = state.kvs.range::<str, _>((lower, Bound::Unbounded));
                Ok(page_of(iter, prefix, &options, rev))
            }
            Some(rev) if rev > state.revision => Err(StoreError::InvalidArgument(format!(
                "revision {rev} is in the future (current {})",
                state.revision
            ))),
            Some(rev) if rev < state.compacted || rev <= 0 => Err(StoreError::Compacted {
                compact_revision: state.compacted,
            }),
            Some(rev) => {
                let view = state.view_at(prefix, rev);
                let iter = view.range::<str, _>((lower, Bound::Unbounded));
                Ok(page_of(iter, prefix, &options, rev))
            }
        }
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        check_key(key)?;
        let mut state = self.lock();
        let mode = LeaseMode::Set(lease);
        state.check_lease_mode(&mode)?;
        Ok(state.apply(vec![Change::Put {
            key: key.to_owned(),
            value,
            lease: mode,
        }]))
    }

    async fn create(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        check_key(key)?;
        let mut state = self.lock();
        if state.kvs.contains_key(key) {
            return Err(StoreError::AlreadyExists {
                key: key.to_owned(),
            });
        }
        let mode = LeaseMode::Set(lease);
        state.check_lease_mode(&mode)?;
        Ok(state.apply(vec![Change::Put {
            key: key.to_owned(),
            value,
            lease: mode,
        }]))
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> StoreResult<Revision> {
        check_key(key)?;
        let mut state = self.lock();
        match state.kvs.get(key) {
            None => Err(StoreError::NotFound {
                key: key.to_owned(),
            }),
            Some(kv) if kv.mod_revision != expected => Err(StoreError::Conflict {
                key: key.to_owned(),
            }),
            Some(_) => Ok(state.apply(vec![Change::Put {
                key: key.to_owned(),
                value,
                lease: LeaseMode::Keep,
            }])),
        }
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> StoreResult<Revision> {
        check_key(key)?;
        let mut state = self.lock();
        match state.kvs.get(key) {
            None => Err(StoreError::NotFound {
                key: key.to_owned(),
            }),
            Some(kv) if expected.is_some_and(|e| e != kv.mod_revision) => {
                Err(StoreError::Conflict {
                    key: key.to_owned(),
                })
            }
            Some(_) => Ok(state.apply(vec![Change::Delete {
                key: key.to_owned(),
            }])),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        if prefix.is_empty() {
            return Err(StoreError::InvalidArgument(
                "refusing to delete every key".into(),
            ));
        }
        let mut state = self.lock();
        let keys: Vec<String> = state
            .kvs
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        let n = keys.len() as u64;
        state.apply(keys.into_iter().map(|key| Change::Delete { key }).collect());
        Ok(n)
    }

    async fn txn(&self, txn: Txn) -> StoreResult<Revision> {
        validate_txn(&txn)?;
        let mut state = self.lock();
        for precondition in &txn.preconditions {
            match precondition {
                Precondition::Absent(key) => {
                    if state.kvs.contains_key(key) {
                        return Err(StoreError::AlreadyExists { key: key.clone() });
                    }
                }
                Precondition::Exists(key) => {
                    if !state.kvs.contains_key(key) {
                        return Err(StoreError::NotFound { key: key.clone() });
                    }
                }
                Precondition::ModRevision(key, rev) => match state.kvs.get(key) {
                    None => return Err(StoreError::NotFound { key: key.clone() }),
                    Some(kv) if kv.mod_revision != *rev => {
                        return Err(StoreError::Conflict { key: key.clone() });
                    }
                    Some(_) => {}
                },
            }
        }
        let mut changes = Vec::with_capacity(txn.ops.len());
        for op in txn.ops {
            match op {
                TxnOp::Put { key, value, lease } => {
                    let mode = LeaseMode::Set(lease);
                    state.check_lease_mode(&mode)?;
                    changes.push(Change::Put {
                        key,
                        value,
                        lease: mode,
                    });
                }
                TxnOp::Delete { key } => changes.push(Change::Delete { key }),
            }
        }
        Ok(state.apply(changes))
    }

    async fn watch(&self, prefix: &str, after: Revision) -> StoreResult<WatchStream> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        if after + 1 < state.compacted {
            let _ = tx.send(Err(StoreError::Compacted {
                compact_revision: state.compacted,
            }));
            return Ok(Box::pin(UnboundedReceiverStream::new(rx)));
        }
        // Replay the retained history after `after`, in batches ending on revision
        // boundaries, then register for live changes (under the same lock: no gap).
        let mut batch: Vec<WatchEvent> = Vec::new();
        for entry in &state.history {
            let rev = entry.event.revision();
            if rev <= after || !entry.event.key().starts_with(prefix) {
                continue;
            }
            if batch.len() >= REPLAY_BATCH && batch.last().is_some_and(|e| e.revision() != rev) {
                let _ = tx.send(Ok(WatchBatch {
                    events: std::mem::take(&mut batch),
                }));
            }
            batch.push(entry.event.clone());
        }
        if !batch.is_empty() {
            let _ = tx.send(Ok(WatchBatch { events: batch }));
        }
        state.watchers.push(WatcherTx {
            prefix: prefix.to_owned(),
            tx,
        });
        Ok(Box::pin(UnboundedReceiverStream::new(rx)))
    }

    async fn grant_lease(&self, ttl: Duration) -> StoreResult<LeaseId> {
        let ttl = ttl.max(Duration::from_millis(1));
        let id = {
            let mut state = self.lock();
            state.next_lease += 1;
            let id = state.next_lease;
            state.leases.insert(
                id,
                Lease {
                    ttl,
                    deadline: Instant::now() + ttl,
                    keys: BTreeSet::new(),
                },
            );
            id
        };
        tokio::spawn(reap_lease(Arc::downgrade(&self.shared), id));
        Ok(id)
    }

    async fn keep_alive(&self, lease: LeaseId) -> StoreResult<Duration> {
        let now = Instant::now();
        let mut state = self.lock();
        state.live_lease(lease, now)?;
        match state.leases.get_mut(&lease) {
            Some(l) => {
                l.deadline = now + l.ttl;
                Ok(l.ttl)
            }
            None => Err(StoreError::LeaseNotFound { lease }),
        }
    }

    async fn revoke_lease(&self, lease: LeaseId) -> StoreResult<()> {
        let mut state = self.lock();
        if !state.leases.contains_key(&lease) {
            return Err(StoreError::LeaseNotFound { lease });
        }
        state.expire(lease);
        Ok(())
    }

    async fn current_revision(&self) -> StoreResult<Revision> {
        Ok(self.lock().revision)
    }

    async fn compact(&self, revision: Revision) -> StoreResult<()> {
        let mut state = self.lock();
        if revision > state.revision {
            return Err(StoreError::InvalidArgument(format!(
                "cannot compact at future revision {revision} (current {})",
                state.revision
            )));
        }
        state.compact_history(revision);
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// Checks a transaction's size and that no key is written twice (etcd refuses both).
pub(crate) fn validate_txn(txn: &Txn) -> StoreResult<()> {
    if txn.ops.len() > MAX_TXN_OPS || txn.preconditions.len() > MAX_TXN_OPS {
        return Err(StoreError::InvalidArgument(format!(
            "transaction too large: {} preconditions and {} operations (at most {MAX_TXN_OPS} each)",
            txn.preconditions.len(),
            txn.ops.len()
        )));
    }
    let mut seen = HashSet::with_capacity(txn.ops.len());
    for op in &txn.ops {
        let key = match op {
            TxnOp::Put { key, .. } | TxnOp::Delete { key } => key,
        };
        check_key(key)?;
        if !seen.insert(key.as_str()) {
            return Err(StoreError::InvalidArgument(format!(
                "key {key} written twice in one transaction"
            )));
        }
    }
    for precondition in &txn.preconditions {
        let (Precondition::Absent(key)
        | Precondition::Exists(key)
        | Precondition::ModRevision(key, _)) = precondition;
        check_key(key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn list_at_older_revisions() {
        let store = MemoryStore::new();
        let r1 = store.put("/p/a", b"1".to_vec(), None).await.unwrap();
        let r2 = store.put("/p/b", b"2".to_vec(), None).await.unwrap();
        store.put("/p/a", b"3".to_vec(), None).await.unwrap();
        store.delete("/p/b", None).await.unwrap();
        let at = |rev| ListOptions {
            revision: Some(rev),
            ..Default::default()
        };
        let page = store.list("/p/", at(r1)).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].value, b"1");
        let page = store.list("/p/", at(r2)).await.unwrap();
        assert_eq!(
            page.items
                .iter()
                .map(|kv| kv.key.as_str())
                .collect::<Vec<_>>(),
            ["/p/a", "/p/b"]
        );
        assert_eq!(page.revision, r2);
        let page = store.list("/p/", ListOptions::default()).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].value, b"3");
        assert_eq!(page.items[0].version, 2);

        store.compact(r2).await.unwrap();
        assert!(matches!(
            store.list("/p/", at(r1)).await,
            Err(StoreError::Compacted { compact_revision }) if compact_revision == r2
        ));
        assert!(store.list("/p/", at(r2)).await.is_ok());
        assert!(matches!(
            store.list("/p/", at(100)).await,
            Err(StoreError::InvalidArgument(_))
        ));
    }

    #[tokio::test]
    async fn history_limit_auto_compacts() {
        let store = MemoryStore::with_history_limit(10);
        for i in 0..30 {
            store.put("/k", vec![i], None).await.unwrap();
        }
        assert!(store.compacted_revision() > 1);
        let mut w = store.watch("/", 0).await.unwrap();
        assert!(matches!(
            w.next().await,
            Some(Err(StoreError::Compacted { .. }))
        ));
        let rev = store.current_revision().await.unwrap();
        let mut w = store.watch("/", rev - 2).await.unwrap();
        assert_eq!(w.next().await.unwrap().unwrap().events.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn leases_follow_tokio_time() {
        let store = MemoryStore::new();
        let lease = store.grant_lease(Duration::from_secs(10)).await.unwrap();
        store.put("/l", b"x".to_vec(), Some(lease)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(6)).await;
        store.keep_alive(lease).await.unwrap();
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(store.get("/l").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(store.get("/l").await.unwrap().is_none());
        assert!(matches!(
            store.keep_alive(lease).await,
            Err(StoreError::LeaseNotFound { .. })
        ));
    }
}
