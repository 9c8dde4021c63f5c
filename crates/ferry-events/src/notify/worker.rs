//! The leader-elected notification workers.
//!
//! - [`Dispatcher`] (`deploy-notification-dispatch`): follows the event history from a
//!   cursor kept in etcd; for every event recorded or repeated, matches the enabled rules
//!   and queues one PENDING delivery per channel (after de-duplication and rate limits).
//!   The deliveries, the rules' state and the cursor are written in one fenced
//!   transaction, so a crash never loses or doubles a notification.
//! - [`DeliveryWorker`] (`deploy-notification-deliveries`), a [`Reconciler`] over the
//!   deliveries: attempts every PENDING or RETRYING delivery when due, records each attempt,
//!   schedules retries with back-off, and marks deliveries SUCCEEDED or FAILED. A new
//!   leader resumes every unfinished delivery from its record (a delivery interrupted
//!   mid-attempt is attempted again, with the same `X-Ferry-Delivery` id).
//!
//! Neither runs on the path of event recording or of a rollout: each attempt is bounded
//! by the channel's timeout, and one attempt runs at a time per replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_kit::error::ApiError;
use ferry_ops::{Action, ReconcileContext, Reconciler, leader};
use ferry_proto::ferry::deploy::v1::event::Severity;
use ferry_proto::ferry::deploy::v1::notification_delivery::{Attempt, State};
use ferry_proto::ferry::deploy::v1::{
    Event, NotificationChannel, NotificationDelivery, NotificationPayload, NotificationRule,
};
use ferry_store::{KeyValue, Precondition, Store, StoreError, Txn, typed};
use futures::StreamExt;
use prost::Message as _;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::model::{
    self, ChannelSecrets, ChannelStatus, DELIVERY_FAILED_REASON, Decision, DeliveryRecord,
    DispatchCursor, KEPT_ATTEMPTS, Outcome, RuleChannelState, RuleStatus,
};
use super::send::Sender;
use crate::error::EventsError;
use crate::event::recorder::{EventInput, Recorder};
use crate::layout::{
    self, channel_key, channel_secrets_key, channel_status_key, deliveries_prefix, delivery_key,
    dispatch_cursor_key, events_prefix, micros, newest_first_id, now_micros,
    rule_channel_state_key, rule_status_key, rules_prefix, timestamp_from_micros,
};

/// How deliveries are retried.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Delay after the first failed attempt (30 s), doubling.
    pub base_backoff: Duration,
    /// Longest delay between attempts (1 h).
    pub max_backoff: Duration,
    /// Attempts per round (10).
    pub max_attempts: i32,
    /// Leader lease time to live (5 s).
    pub lease_ttl: Duration,
    /// Attempts under way at once on the leader (8).
    pub max_concurrent: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            max_attempts: 10,
            lease_ttl: Duration::from_secs(5),
            max_concurrent: 8,
        }
    }
}

/// The delivery name of a new delivery of `event` through `channel_id`.
fn new_delivery_name(channel_id: &str, now: i64) -> String {
    model::DELIVERY_NAME.format(&[
        channel_id,
        &newest_first_id('d', now as u64, rand::random()),
    ])
}

/// How a new delivery is set up.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeliveryOptions {
    /// Events held back since the previous notification.
    pub suppressed: i32,
    /// Attempts of the first round.
    pub max_attempts: i32,
    /// Send even when the event is acknowledged before the attempt.
    pub include_acknowledged: bool,
    /// A test delivery (TestNotificationChannel).
    pub test: bool,
}

/// A new PENDING delivery record.
pub fn new_delivery(
    name: String,
    rule: &str,
    event: &Event,
    options: DeliveryOptions,
    now: i64,
) -> DeliveryRecord {
    let DeliveryOptions {
        suppressed,
        max_attempts,
        include_acknowledged,
        test,
    } = options;
    let time = timestamp_from_micros(now);
    DeliveryRecord {
        delivery: Some(NotificationDelivery {
            name,
            uid: uuid::Uuid::new_v4().to_string(),
            display_name: format!("{} {}", event.reason, event.involved_resource),
            create_time: Some(time),
            update_time: Some(time),
            event: event.name.clone(),
            rule: rule.to_string(),
            state: State::Pending as i32,
            max_attempts,
            next_attempt_time: Some(time),
            test,
            suppressed_count: suppressed,
            ..Default::default()
        }),
        event: Some(event.clone()),
        include_acknowledged,
    }
}

/// The payload of a delivery.
pub fn payload(record: &DeliveryRecord) -> NotificationPayload {
    let delivery = record.delivery.clone().unwrap_or_default();
    NotificationPayload {
        delivery: delivery.name,
        rule: delivery.rule,
        event: record.event.clone(),
        suppressed_count: delivery.suppressed_count,
        test: delivery.test,
    }
}

/// Records an attempt in `delivery` and moves it to its next state; returns the delay
/// before the next attempt when one is due.
pub fn record_attempt(
    delivery: &mut NotificationDelivery,
    outcome: &Outcome,
    started: i64,
    took: Duration,
    config: &DeliveryConfig,
    jitter: f64,
) -> Option<Duration> {
    let now = started + took.as_micros() as i64;
    delivery.attempt_count += 1;
    delivery.attempts.push(Attempt {
        start_time: Some(timestamp_from_micros(started)),
        duration: prost_types::Duration::try_from(took).ok(),
        succeeded: outcome.succeeded,
        response_code: outcome.response_code,
        error: outcome.error.clone(),
    });
    if delivery.attempts.len() > KEPT_ATTEMPTS {
        let excess = delivery.attempts.len() - KEPT_ATTEMPTS;
        delivery.attempts.drain(..excess);
    }
    delivery.last_attempt_time = Some(timestamp_from_micros(started));
    delivery.last_response_code = outcome.response_code;
    delivery.update_time = Some(timestamp_from_micros(now));
    if outcome.succeeded {
        delivery.state = State::Succeeded as i32;
        delivery.last_error.clear();
        delivery.deliver_time = Some(timestamp_from_micros(now));
        delivery.next_attempt_time = None;
        return None;
    }
    delivery.last_error = outcome.error.clone();
    if outcome.permanent || delivery.test || delivery.attempt_count >= delivery.max_attempts {
        delivery.state = State::Failed as i32;
        delivery.next_attempt_time = None;
        return None;
    }
    // Back-off counts the attempts of this round (a retried delivery starts over).
    let round_attempt =
        delivery.attempt_count - (delivery.max_attempts - config.max_attempts).max(0);
    let delay = model::backoff(
        round_attempt,
        config.base_backoff,
        config.max_backoff,
        jitter,
    );
    delivery.state = State::Retrying as i32;
    delivery.next_attempt_time = Some(timestamp_from_micros(now + delay.as_micros() as i64));
    Some(delay)
}

/// The channel status after an attempt.
pub fn next_status(
    status: &ChannelStatus,
    delivery: &NotificationDelivery,
    outcome: &Outcome,
) -> ChannelStatus {
    let mut next = status.clone();
    next.last_delivery = delivery.name.clone();
    next.last_attempt_time = delivery.last_attempt_time;
    if outcome.succeeded {
        next.last_success_time = delivery.update_time;
        next.last_error.clear();
        next.consecutive_failures = 0;
    } else {
        next.last_error = outcome.error.clone();
        next.consecutive_failures += 1;
    }
    next
}

/// Reads a channel (as stored, secrets stripped) and its secrets.
pub async fn read_channel(
    store: &dyn Store,
    channel_id: &str,
) -> Result<Option<(NotificationChannel, i64, ChannelSecrets)>, EventsError> {
    let name = model::CHANNEL_NAME.format(&[channel_id]);
    let Some((channel, revision)) =
        typed::get_msg::<NotificationChannel>(store, &channel_key(&name)).await?
    else {
        return Ok(None);
    };
    let secrets = typed::get_msg::<ChannelSecrets>(store, &channel_secrets_key(channel_id))
        .await?
        .map(|(secrets, _)| secrets)
        .unwrap_or_default();
    Ok(Some((channel, revision, secrets)))
}

/// Attempts deliveries: up to `max_concurrent` attempts at once, one at a time per
/// delivery.
pub struct DeliveryWorker {
    inner: Arc<Inner>,
}

struct Inner {
    sender: Sender,
    config: DeliveryConfig,
    recorder: Recorder,
    permits: Arc<Semaphore>,
    /// Deliveries with an attempt under way, with the revision it started from.
    in_flight: Mutex<HashMap<String, i64>>,
}

impl DeliveryWorker {
    /// A worker recording failure events through `recorder`.
    pub fn new(config: DeliveryConfig, recorder: Recorder) -> Self {
        Self {
            inner: Arc::new(Inner {
                sender: Sender::new(),
                permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
                config,
                recorder,
                in_flight: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The controller that runs it on the leading replica: spawn
    /// `controller.run(stop)`.
    pub fn controller(
        self,
        store: Arc<dyn Store>,
        identity: impl Into<String>,
    ) -> ferry_ops::Controller<Self> {
        let ttl = self.inner.config.lease_ttl;
        ferry_ops::Controller::new(Arc::new(self), store, identity, ttl)
    }
}

fn unfinished(record: &DeliveryRecord) -> bool {
    record
        .delivery
        .as_ref()
        .is_some_and(|d| !d.test && matches!(d.state(), State::Pending | State::Retrying))
}

/// One attempt, run on its own task.
struct AttemptJob {
    store: Arc<dyn Store>,
    fence: Precondition,
    stop: CancellationToken,
    key: String,
    revision: i64,
    record: DeliveryRecord,
    channel: NotificationChannel,
    channel_id: String,
    secrets: ChannelSecrets,
}

impl Inner {
    async fn attempt(&self, job: AttemptJob) -> Result<(), EventsError> {
        let AttemptJob {
            store,
            fence,
            stop,
            key,
            revision,
            mut record,
            channel,
            channel_id,
            secrets,
        } = job;
        let mut delivery = record.delivery.clone().unwrap_or_default();
        let started = now_micros();
        let payload = payload(&record);
        let (outcome, took) = tokio::select! {
            result = self.sender.send(&channel, &secrets, &payload) => result,
            // Leadership lost or stopping: the record stays unfinished for the next leader.
            _ = stop.cancelled() => return Ok(()),
        };
        record_attempt(
            &mut delivery,
            &outcome,
            started,
            took,
            &self.config,
            rand::random(),
        );
        record.delivery = Some(delivery.clone());
        let status_key = channel_status_key(&channel_id);
        // The channel status is shared by concurrent attempts: compare-and-swap on it too.
        for _ in 0..STATUS_RETRIES {
            let (status, guard) = match store.get(&status_key).await? {
                Some(kv) => {
                    let (status, status_revision) = typed::decode_kv::<ChannelStatus>(&kv)?;
                    (
                        status,
                        Precondition::ModRevision(status_key.clone(), status_revision),
                    )
                }
                None => (
                    ChannelStatus::default(),
                    Precondition::Absent(status_key.clone()),
                ),
            };
            let status = next_status(&status, &delivery, &outcome);
            let txn = Txn::new()
                .when(fence.clone())
                .when(Precondition::ModRevision(key.clone(), revision))
                .when(guard)
                .put(key.clone(), record.encode_to_vec())
                .put(status_key.clone(), status.encode_to_vec());
            match store.txn(txn).await {
                Ok(_) => break,
                Err(
                    StoreError::Conflict { key: conflicting }
                    | StoreError::AlreadyExists { key: conflicting },
                ) if conflicting == status_key => {
                    continue;
                }
                Err(error) => return Err(error.into()),
            }
        }
        match delivery.state() {
            State::Succeeded => {
                tracing::info!(delivery = %delivery.name, attempts = delivery.attempt_count, "notification delivered");
            }
            State::Failed => {
                tracing::warn!(delivery = %delivery.name, attempts = delivery.attempt_count, error = %delivery.last_error, "notification delivery failed");
                self.recorder
                    .record_in_background(failure_event(&channel, &delivery));
            }
            _ => {
                tracing::info!(delivery = %delivery.name, attempts = delivery.attempt_count, error = %delivery.last_error, "notification attempt failed; retrying");
            }
        }
        Ok(())
    }
}

/// Tries of the channel status compare-and-swap.
const STATUS_RETRIES: usize = 10;

#[async_trait::async_trait]
impl Reconciler for DeliveryWorker {
    fn name(&self) -> &'static str {
        "deploy-notification-deliveries"
    }

    fn prefix(&self) -> String {
        deliveries_prefix()
    }

    fn wants(&self, kv: &KeyValue) -> bool {
        DeliveryRecord::decode(kv.value.as_slice()).is_ok_and(|record| unfinished(&record))
    }

    async fn reconcile(
        &self,
        context: &ReconcileContext,
        key: &str,
        kv: Option<KeyValue>,
    ) -> Result<Action, ApiError> {
        let Some(kv) = kv else {
            return Ok(Action::Done);
        };
        let (record, revision) = typed::decode_kv::<DeliveryRecord>(&kv)?;
        if !unfinished(&record) {
            return Ok(Action::Done);
        }
        let delivery = record.delivery.clone().unwrap_or_default();
        let now = now_micros();
        let due = micros(delivery.next_attempt_time.as_ref());
        if due > now {
            return Ok(Action::RequeueAfter(Duration::from_micros(
                (due - now) as u64,
            )));
        }
        let Ok((channel_id, _)) = model::parse_delivery_name("name", &delivery.name) else {
            return Ok(Action::Done);
        };
        let channel_id = channel_id.to_string();
        let store = context.store.as_ref();
        let Some((channel, _, secrets)) = read_channel(store, &channel_id)
            .await
            .map_err(ApiError::from)?
        else {
            // The channel was deleted with its deliveries; nothing to send.
            return Ok(Action::Done);
        };
        // Come back after the attempt could have ended at the latest (its write wakes the
        // controller earlier).
        let check_again = Action::RequeueAfter(Sender::timeout(&channel) + Duration::from_secs(2));
        if self
            .inner
            .in_flight
            .lock()
            .map_err(|_| ApiError::internal(&"in-flight table poisoned"))?
            .get(key)
            == Some(&revision)
        {
            return Ok(check_again);
        }
        if !record.include_acknowledged
            && let Some(event) = &record.event
            && let Ok(Some((current, _))) =
                typed::get_msg::<Event>(store, &layout::event_key(&event.name)).await
            && current.acknowledged
        {
            // Acknowledged before it was sent: dropped, as the rule asks.
            fenced(
                context,
                Txn::new()
                    .when(Precondition::ModRevision(key.to_string(), revision))
                    .delete(key),
            )
            .await?;
            tracing::info!(delivery = %delivery.name, "event acknowledged before delivery; dropped");
            return Ok(Action::Done);
        }
        let Ok(permit) = self.inner.permits.clone().try_acquire_owned() else {
            // Every slot is busy: try again shortly.
            return Ok(Action::RequeueAfter(Duration::from_millis(200)));
        };
        if let Ok(mut in_flight) = self.inner.in_flight.lock() {
            in_flight.insert(key.to_string(), revision);
        }
        let inner = self.inner.clone();
        let job = AttemptJob {
            store: context.store.clone(),
            fence: context.fence.clone(),
            stop: context.stop.clone(),
            key: key.to_string(),
            revision,
            record,
            channel,
            channel_id,
            secrets,
        };
        tokio::spawn(async move {
            let _permit = permit;
            let key = job.key.clone();
            if let Err(error) = inner.attempt(job).await {
                tracing::warn!(key, %error, "cannot record a delivery attempt; it is attempted again");
            }
            if let Ok(mut in_flight) = inner.in_flight.lock()
                && in_flight.get(&key) == Some(&revision)
            {
                in_flight.remove(&key);
            }
        });
        Ok(check_again)
    }
}

/// The WARNING event recorded on a channel when one of its deliveries fails for good.
pub fn failure_event(channel: &NotificationChannel, delivery: &NotificationDelivery) -> EventInput {
    EventInput::new(
        None,
        ferry_proto::ferry::deploy::v1::event::Type::Warning,
        &channel.name,
        "ferry.dev/NotificationChannel",
        DELIVERY_FAILED_REASON,
        format!(
            "delivery {} failed after {} attempts: {}",
            delivery.name, delivery.attempt_count, delivery.last_error
        ),
        "deploy/notification-worker",
    )
    .severity(Severity::Warning)
    .related(delivery.name.clone())
}

async fn fenced(context: &ReconcileContext, txn: Txn) -> Result<(), ApiError> {
    match context.store.txn(txn.when(context.fence.clone())).await {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict { key }) => Err(ApiError::concurrent_modification(key)),
        Err(error) => Err(error.into()),
    }
}

/// Turns events into deliveries.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    identity: String,
    config: DeliveryConfig,
}

/// Deliveries per transaction (a precondition and a put each, with room for the rules'
/// state).
const DELIVERY_CHUNK: usize = 40;

/// The leader election of the dispatcher.
pub const DISPATCHER: &str = "deploy-notification-dispatch";

impl Dispatcher {
    /// A dispatcher over `store`, campaigning as `identity`.
    pub fn new(store: Arc<dyn Store>, identity: impl Into<String>, config: DeliveryConfig) -> Self {
        Self {
            store,
            identity: identity.into(),
            config,
        }
    }

    /// Dispatches on the leading replica until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            let Some(leadership) = leader::campaign(
                self.store.clone(),
                DISPATCHER,
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
            tokio::select! {
                _ = stop.cancelled() => {
                    if let Err(error) = leadership.resign().await {
                        tracing::warn!(%error, "cannot resign dispatcher leadership");
                    }
                    return;
                }
                _ = lost.cancelled() => {}
                result = self.lead(&fence) => {
                    if let Err(error) = result {
                        tracing::warn!(%error, "notification dispatch failed; restarting");
                    }
                    if let Err(error) = leadership.resign().await {
                        tracing::warn!(%error, "cannot resign dispatcher leadership");
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
            tracing::warn!(
                controller = DISPATCHER,
                "lost leadership; campaigning again"
            );
        }
    }

    async fn lead(&self, fence: &Precondition) -> Result<(), EventsError> {
        let store = self.store.as_ref();
        let cursor_key = dispatch_cursor_key();
        let mut cursor = match typed::get_msg::<DispatchCursor>(store, &cursor_key).await? {
            Some((cursor, _)) => cursor.revision,
            None => {
                // First run: events recorded from now on are notified.
                let revision = store.current_revision().await?;
                let txn = Txn::new().when(fence.clone()).put(
                    cursor_key.clone(),
                    DispatchCursor { revision }.encode_to_vec(),
                );
                store.txn(txn).await?;
                revision
            }
        };
        loop {
            let mut stream = store.watch(&events_prefix(), cursor).await?;
            while let Some(batch) = stream.next().await {
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(StoreError::Compacted { compact_revision }) => {
                        tracing::warn!(
                            cursor,
                            compact_revision,
                            "event history compacted past the dispatch cursor; events in between are not notified"
                        );
                        cursor = store.current_revision().await?;
                        break;
                    }
                    Err(error) => return Err(error.into()),
                };
                for change in batch.events {
                    let revision = change.revision();
                    if revision <= cursor {
                        continue;
                    }
                    if let ferry_store::WatchEvent::Put(kv) = &change
                        && let Ok(event) = Event::decode(kv.value.as_slice())
                        && !event.acknowledged
                    {
                        self.dispatch(fence, &event, revision).await?;
                    }
                    cursor = revision;
                }
            }
        }
    }

    /// Queues the deliveries of one event and moves the cursor past it, atomically.
    async fn dispatch(
        &self,
        fence: &Precondition,
        event: &Event,
        revision: i64,
    ) -> Result<(), EventsError> {
        let store = self.store.as_ref();
        let (rules, _) =
            typed::list_all_msgs::<NotificationRule>(store, &rules_prefix(), 500).await?;
        let now = now_micros();
        let mut records: Vec<(String, Vec<u8>)> = Vec::new();
        let mut states: HashMap<String, RuleChannelState> = HashMap::new();
        let mut statuses: Vec<(String, RuleStatus)> = Vec::new();
        let identity = format!("{}|{}", event.involved_resource, event.reason);
        for (_, rule, _) in rules {
            if !rule.enabled || !model::selector_matches(rule.selector.as_ref(), event) {
                continue;
            }
            let rule_id = model::last_segment(&rule.name).to_string();
            let status_key = rule_status_key(&rule_id);
            let mut status = typed::get_msg::<RuleStatus>(store, &status_key)
                .await?
                .map(|(status, _)| status)
                .unwrap_or_default();
            status.last_match_time = Some(timestamp_from_micros(now));
            for channel in &rule.channels {
                let channel_id = model::last_segment(channel).to_string();
                // A channel's own failure events never go back to it.
                if event.reason == DELIVERY_FAILED_REASON && event.involved_resource == *channel {
                    continue;
                }
                let state_key = rule_channel_state_key(&rule_id, &channel_id);
                let state = match states.get_mut(&state_key) {
                    Some(state) => state,
                    None => {
                        let state = typed::get_msg::<RuleChannelState>(store, &state_key)
                            .await?
                            .map(|(state, _)| state)
                            .unwrap_or_default();
                        states.entry(state_key.clone()).or_insert(state)
                    }
                };
                let decision = model::decide(&rule, state, &identity, now);
                if decision == Decision::Suppress {
                    status.note_suppressed(now);
                }
                if let Decision::Send { suppressed } = decision {
                    let record = new_delivery(
                        new_delivery_name(&channel_id, now),
                        &rule.name,
                        event,
                        DeliveryOptions {
                            suppressed,
                            max_attempts: self.config.max_attempts,
                            include_acknowledged: rule
                                .selector
                                .as_ref()
                                .is_some_and(|s| s.include_acknowledged),
                            test: false,
                        },
                        now,
                    );
                    let name = record
                        .delivery
                        .as_ref()
                        .map(|d| d.name.clone())
                        .unwrap_or_default();
                    records.push((delivery_key(&name), record.encode_to_vec()));
                }
            }
            statuses.push((status_key, status));
        }
        let queued = records.len();
        // Usually one transaction; an event matching very many rules and channels is
        // written in chunks, the rules' state and the cursor last.
        let mut chunks: Vec<&[(String, Vec<u8>)]> = records.chunks(DELIVERY_CHUNK).collect();
        let last = chunks.pop().unwrap_or(&[]);
        for chunk in chunks {
            let mut txn = Txn::new().when(fence.clone());
            for (key, value) in chunk {
                txn = txn
                    .when(Precondition::Absent(key.clone()))
                    .put(key.clone(), value.clone());
            }
            store.txn(txn).await?;
        }
        let mut txn = Txn::new().when(fence.clone());
        for (key, value) in last {
            txn = txn
                .when(Precondition::Absent(key.clone()))
                .put(key.clone(), value.clone());
        }
        for (key, state) in states {
            txn = txn.put(key, state.encode_to_vec());
        }
        for (key, status) in statuses {
            txn = txn.put(key, status.encode_to_vec());
        }
        txn = txn.put(
            dispatch_cursor_key(),
            DispatchCursor { revision }.encode_to_vec(),
        );
        store.txn(txn).await?;
        if queued > 0 {
            tracing::info!(event = %event.name, queued, "notifications queued");
        }
        Ok(())
    }
}
