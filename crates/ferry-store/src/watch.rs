//! [`Watcher`]: a resilient prefix watch (list, then watch, re-list when compacted).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::{KeyValue, ListOptions, Revision, Store, StoreError, StoreResult, WatchEvent};

/// What a [`Watcher`] yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchUpdate {
    /// The full state under the prefix at `revision`: replace everything known so far.
    /// The first update is always a snapshot; another follows whenever the watch fell
    /// behind a compaction.
    Snapshot {
        /// Every key under the prefix, in key order.
        items: Vec<KeyValue>,
        /// The revision the snapshot was read at.
        revision: Revision,
    },
    /// Changes after the previous update, in revision order.
    Events(Vec<WatchEvent>),
}

impl WatchUpdate {
    /// The revision the receiver is up to after applying this update.
    pub fn revision(&self) -> Option<Revision> {
        match self {
            WatchUpdate::Snapshot { revision, .. } => Some(*revision),
            WatchUpdate::Events(events) => events.last().map(WatchEvent::revision),
        }
    }
}

/// Tuning of a [`Watcher`].
#[derive(Clone, Debug)]
pub struct WatcherOptions {
    /// Keys per page when listing a snapshot.
    pub page_size: usize,
    /// First delay before reconnecting after an error; doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Cap of the reconnect delay.
    pub max_backoff: Duration,
    /// Updates buffered ahead of the consumer.
    pub buffer: usize,
    /// Stops the watcher when cancelled (a child token is used, so cancelling the watcher
    /// does not cancel this one).
    pub cancel: Option<CancellationToken>,
}

impl Default for WatcherOptions {
    fn default() -> Self {
        WatcherOptions {
            page_size: 500,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            buffer: 64,
            cancel: None,
        }
    }
}

/// A resilient watch of every key under a prefix.
///
/// It starts with a [`WatchUpdate::Snapshot`] (a paged list at one revision), then yields
/// [`WatchUpdate::Events`] from that revision on. When the store reports
/// [`StoreError::Compacted`] it re-lists and yields a new snapshot; on any other error
/// (etcd unreachable, stream broken) it reconnects with capped, jittered exponential
/// back-off, resuming after the last revision it delivered, so no change is lost or
/// repeated.
///
/// The work runs in a background task (create it inside a tokio runtime); it stops when
/// the watcher is dropped, [`Watcher::cancel`]led, or the token of
/// [`WatcherOptions::cancel`] is cancelled, after which [`Watcher::next`] returns `None`.
#[derive(Debug)]
pub struct Watcher {
    rx: mpsc::Receiver<WatchUpdate>,
    cancel: CancellationToken,
    prefix: String,
    _guard: DropGuard,
}

impl Watcher {
    /// Watches every key under `prefix` with default options.
    pub fn new(store: Arc<dyn Store>, prefix: impl Into<String>) -> Self {
        Self::with_options(store, prefix, WatcherOptions::default())
    }

    /// Watches every key under `prefix`.
    pub fn with_options(
        store: Arc<dyn Store>,
        prefix: impl Into<String>,
        options: WatcherOptions,
    ) -> Self {
        let prefix = prefix.into();
        let cancel = options
            .cancel
            .as_ref()
            .map_or_else(CancellationToken::new, |t| t.child_token());
        let (tx, rx) = mpsc::channel(options.buffer.max(1));
        let task = Task {
            store,
            prefix: prefix.clone(),
            options,
            tx,
            cancel: cancel.clone(),
        };
        tokio::spawn(task.run());
        Watcher {
            rx,
            cancel: cancel.clone(),
            prefix,
            _guard: cancel.drop_guard(),
        }
    }

    /// The next update; `None` once the watcher is stopped.
    pub async fn next(&mut self) -> Option<WatchUpdate> {
        self.rx.recv().await
    }

    /// The watched prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Stops the watcher.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The token that stops this watcher.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

impl Stream for Watcher {
    type Item = WatchUpdate;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchUpdate>> {
        self.rx.poll_recv(cx)
    }
}

/// Capped exponential back-off with jitter.
struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            next: initial,
        }
    }

    fn reset(&mut self) {
        self.next = self.initial;
    }

    fn next_delay(&mut self) -> Duration {
        let delay = crate::etcd::jitter(self.next);
        self.next = (self.next * 2).min(self.max);
        delay
    }
}

struct Task {
    store: Arc<dyn Store>,
    prefix: String,
    options: WatcherOptions,
    tx: mpsc::Sender<WatchUpdate>,
    cancel: CancellationToken,
}

/// Why the watch phase ended.
enum Resume {
    Relist,
    Stop,
}

impl Task {
    async fn run(self) {
        let mut backoff = Backoff::new(self.options.initial_backoff, self.options.max_backoff);
        loop {
            let snapshot = tokio::select! {
                _ = self.cancel.cancelled() => return,
                result = self.list_all() => result,
            };
            let (items, revision) = match snapshot {
                Ok(snapshot) => snapshot,
                Err(error) => {
                    tracing::warn!(prefix = %self.prefix, %error, "watcher cannot list, retrying");
                    if !self.sleep(backoff.next_delay()).await {
                        return;
                    }
                    continue;
                }
            };
            backoff.reset();
            tracing::debug!(prefix = %self.prefix, revision, items = items.len(), "watcher snapshot");
            if !self.send(WatchUpdate::Snapshot { items, revision }).await {
                return;
            }
            match self.watch_from(revision, &mut backoff).await {
                Resume::Relist => continue,
                Resume::Stop => return,
            }
        }
    }

    /// Lists every key at one revision, page by page.
    async fn list_all(&self) -> StoreResult<(Vec<KeyValue>, Revision)> {
        'restart: loop {
            let mut options = ListOptions {
                limit: self.options.page_size,
                ..Default::default()
            };
            let mut items = Vec::new();
            loop {
                let page = match self.store.list(&self.prefix, options.clone()).await {
                    Ok(page) => page,
                    // The snapshot revision was compacted between pages: start over.
                    Err(StoreError::Compacted { .. }) if options.revision.is_some() => {
                        continue 'restart;
                    }
                    Err(e) => return Err(e),
                };
                options.revision = Some(page.revision);
                options.start_after = page.items.last().map(|kv| kv.key.clone());
                items.extend(page.items);
                if !page.more || options.start_after.is_none() {
                    return Ok((items, page.revision));
                }
            }
        }
    }

    /// Streams events after `revision` until a compaction (re-list) or a stop.
    async fn watch_from(&self, mut last: Revision, backoff: &mut Backoff) -> Resume {
        loop {
            let opened = tokio::select! {
                _ = self.cancel.cancelled() => return Resume::Stop,
                opened = self.store.watch(&self.prefix, last) => opened,
            };
            match opened {
                Ok(mut stream) => loop {
                    let item = tokio::select! {
                        _ = self.cancel.cancelled() => return Resume::Stop,
                        item = stream.next() => item,
                    };
                    match item {
                        Some(Ok(batch)) => {
                            backoff.reset();
                            let events: Vec<WatchEvent> = batch
                                .events
                                .into_iter()
                                .filter(|e| e.revision() > last)
                                .collect();
                            let Some(newest) = events.last().map(WatchEvent::revision) else {
                                continue;
                            };
                            last = newest;
                            if !self.send(WatchUpdate::Events(events)).await {
                                return Resume::Stop;
                            }
                        }
                        Some(Err(StoreError::Compacted { compact_revision })) => {
                            tracing::info!(
                                prefix = %self.prefix,
                                last,
                                compact_revision,
                                "watcher fell behind a compaction, re-listing"
                            );
                            return Resume::Relist;
                        }
                        Some(Err(error)) => {
                            tracing::debug!(prefix = %self.prefix, last, %error, "watch broke, reconnecting");
                            break;
                        }
                        None => {
                            tracing::debug!(prefix = %self.prefix, last, "watch ended, reconnecting");
                            break;
                        }
                    }
                },
                Err(StoreError::Compacted { compact_revision }) => {
                    tracing::info!(
                        prefix = %self.prefix,
                        last,
                        compact_revision,
                        "watcher fell behind a compaction, re-listing"
                    );
                    return Resume::Relist;
                }
                Err(error) => {
                    tracing::warn!(prefix = %self.prefix, last, %error, "watcher cannot watch, retrying");
                }
            }
            if !self.sleep(backoff.next_delay()).await {
                return Resume::Stop;
            }
        }
    }

    /// Delivers an update; false when the watcher is gone.
    async fn send(&self, update: WatchUpdate) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            sent = self.tx.send(update) => sent.is_ok(),
        }
    }

    /// Sleeps unless cancelled first; false when cancelled.
    async fn sleep(&self, delay: Duration) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }
}
