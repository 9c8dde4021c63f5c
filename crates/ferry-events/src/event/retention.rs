//! The leader-elected retention sweep.
//!
//! Every `interval`, the leader of `deploy-event-retention` removes events whose
//! `last_time` is older than the retention, then the oldest events of every namespace
//! beyond the cap, and finished notification deliveries whose last change is older than
//! the delivery retention. Deletes are fenced by the leadership, so a replica that lost
//! it deletes nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ferry_ops::leader;
use ferry_proto::ferry::deploy::v1::notification_delivery::State as DeliveryState;
use ferry_store::{ListOptions, Precondition, Store, StoreError, Txn, typed};
use tokio_util::sync::CancellationToken;

use super::api::list_at;
use super::model::{self, DEFAULT_MAX_PER_NAMESPACE, DEFAULT_RETENTION};
use crate::error::EventsError;
use crate::layout::{
    deliveries_prefix, event_index_prefix, event_key, events_prefix, indexed_event_name, micros,
    now_micros,
};
use crate::notify::model::DeliveryRecord;

/// The leader election of the sweep.
pub const CONTROLLER: &str = "deploy-event-retention";

/// Deletes per transaction (plus the fence).
const DELETE_CHUNK: usize = 100;

/// What the sweep keeps.
#[derive(Clone, Debug)]
pub struct RetentionConfig {
    /// How long an event is kept after its `last_time` (7 days).
    pub retention: Duration,
    /// Most events per namespace (10,000); the oldest `last_time` go first.
    pub max_per_namespace: usize,
    /// How long a finished delivery is kept after its last change (7 days).
    pub delivery_retention: Duration,
    /// How often the sweep runs (1 minute).
    pub interval: Duration,
    /// Leader lease time to live (5 s).
    pub lease_ttl: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            retention: DEFAULT_RETENTION,
            max_per_namespace: DEFAULT_MAX_PER_NAMESPACE,
            delivery_retention: Duration::from_secs(7 * 24 * 3600),
            interval: Duration::from_secs(60),
            lease_ttl: Duration::from_secs(5),
        }
    }
}

/// What one sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Events older than the retention.
    pub expired: usize,
    /// Events beyond a namespace's cap.
    pub over_cap: usize,
    /// Finished deliveries past their retention.
    pub deliveries: usize,
    /// Repeat-detection entries of removed events.
    pub index_entries: usize,
}

/// The retention sweep.
pub struct Retention {
    store: Arc<dyn Store>,
    identity: String,
    config: RetentionConfig,
}

impl Retention {
    /// A sweep over `store`, campaigning as `identity` (the instance id).
    pub fn new(
        store: Arc<dyn Store>,
        identity: impl Into<String>,
        config: RetentionConfig,
    ) -> Self {
        Self {
            store,
            identity: identity.into(),
            config,
        }
    }

    /// Sweeps on the leading replica until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            let Some(leadership) = leader::campaign(
                self.store.clone(),
                CONTROLLER,
                &self.identity,
                self.config.lease_ttl,
                &stop,
            )
            .await
            else {
                return;
            };
            let lost = leadership.lost();
            let fence = leadership.fence();
            loop {
                match self.sweep(Some(fence.clone())).await {
                    Ok(report) if report != SweepReport::default() => {
                        tracing::info!(?report, "event retention sweep removed records");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "event retention sweep failed; retrying"),
                }
                tokio::select! {
                    _ = stop.cancelled() => {
                        if let Err(error) = leadership.resign().await {
                            tracing::warn!(%error, "cannot resign event retention leadership");
                        }
                        return;
                    }
                    _ = lost.cancelled() => break,
                    _ = tokio::time::sleep(self.config.interval) => {}
                }
            }
            tracing::warn!(
                controller = CONTROLLER,
                "lost leadership; campaigning again"
            );
        }
    }

    /// One sweep; deletes are guarded by `fence` when given.
    pub async fn sweep(&self, fence: Option<Precondition>) -> Result<SweepReport, EventsError> {
        let now = now_micros();
        let mut report = SweepReport::default();
        let (events, snapshot) = list_at(self.store.as_ref(), &events_prefix(), None).await?;
        let mut live: HashSet<String> = HashSet::new();
        let horizon = now - self.config.retention.as_micros() as i64;
        let mut doomed = Vec::new();
        let mut kept: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        for event in events {
            let last = micros(event.last_time.as_ref());
            live.insert(event.name.clone());
            if last <= horizon {
                report.expired += 1;
                doomed.push(event_key(&event.name));
            } else if let Some(namespace) = model::namespace_of(&event.name) {
                kept.entry(namespace.to_string())
                    .or_default()
                    .push((last, event.name.clone()));
            }
        }
        for (_, mut events) in kept {
            if events.len() > self.config.max_per_namespace {
                events.sort();
                let excess = events.len() - self.config.max_per_namespace;
                report.over_cap += excess;
                doomed.extend(
                    events
                        .into_iter()
                        .take(excess)
                        .map(|(_, name)| event_key(&name)),
                );
            }
        }
        let (deliveries, _) =
            typed::list_all_msgs::<DeliveryRecord>(self.store.as_ref(), &deliveries_prefix(), 500)
                .await?;
        let delivery_horizon = now - self.config.delivery_retention.as_micros() as i64;
        for (key, record, _) in deliveries {
            let delivery = record.delivery.unwrap_or_default();
            let finished = matches!(
                delivery.state(),
                DeliveryState::Succeeded | DeliveryState::Failed
            );
            if finished && micros(delivery.update_time.as_ref()) <= delivery_horizon {
                report.deliveries += 1;
                doomed.push(key);
            }
        }
        for key in &doomed {
            if let Some(name) = crate::layout::event_name(key) {
                live.remove(name);
            }
        }
        report.index_entries = self
            .remove_stale_index(&live, snapshot, fence.as_ref())
            .await?;
        for chunk in doomed.chunks(DELETE_CHUNK) {
            let mut txn = Txn::new();
            if let Some(fence) = &fence {
                txn = txn.when(fence.clone());
            }
            for key in chunk {
                txn = txn.delete(key.clone());
            }
            self.store.txn(txn).await?;
        }
        Ok(report)
    }

    /// Removes repeat-detection entries whose event is not in `live` (the events as of
    /// `snapshot`); an entry rewritten since the snapshot is left alone.
    async fn remove_stale_index(
        &self,
        live: &HashSet<String>,
        snapshot: i64,
        fence: Option<&Precondition>,
    ) -> Result<usize, EventsError> {
        let mut options = ListOptions {
            revision: Some(snapshot),
            limit: 500,
            ..Default::default()
        };
        let mut stale: Vec<(String, i64)> = Vec::new();
        loop {
            let page = self
                .store
                .list(&event_index_prefix(), options.clone())
                .await?;
            options.start_after = page.items.last().map(|kv| kv.key.clone());
            for kv in page.items {
                let id = String::from_utf8_lossy(&kv.value).to_string();
                if indexed_event_name(&kv.key, &id).is_none_or(|name| !live.contains(&name)) {
                    stale.push((kv.key, kv.mod_revision));
                }
            }
            if !page.more || options.start_after.is_none() {
                break;
            }
        }
        let mut removed = 0;
        for chunk in stale.chunks(DELETE_CHUNK / 2) {
            let mut txn = Txn::new();
            if let Some(fence) = fence {
                txn = txn.when(fence.clone());
            }
            for (key, revision) in chunk {
                txn = txn
                    .when(Precondition::ModRevision(key.clone(), *revision))
                    .delete(key.clone());
            }
            match self.store.txn(txn).await {
                Ok(_) => removed += chunk.len(),
                // An entry changed meanwhile: the next sweep looks again.
                Err(StoreError::Conflict { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(removed)
    }
}
