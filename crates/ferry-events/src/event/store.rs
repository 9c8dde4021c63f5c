//! Writes events to etcd: a new event, or a repeat of an unacknowledged one.
//!
//! A repeat is found through an index entry per event identity (resource, type, reason,
//! component, message) holding the id of the last event with that identity; the event
//! itself is updated with compare-and-swap on its revision, so concurrent repeats each
//! count once.

use std::sync::Arc;
use std::time::Duration;

use ferry_kit::aip;
use ferry_proto::ferry::deploy::v1::Event;
use ferry_proto::ferry::deploy::v1::event::source::Origin;
use ferry_store::{Precondition, Store, StoreError, Txn, typed};
use prost::Message as _;

use super::model::{self, DEFAULT_RETENTION};
use crate::error::EventsError;
use crate::layout::{self, event_index_key, event_key, newest_first_id, now_micros};

/// How many times a repeat is retried when the event changed concurrently.
const REPEAT_RETRIES: usize = 5;

/// Writes events.
#[derive(Clone)]
pub struct EventStore {
    store: Arc<dyn Store>,
    retention: Duration,
}

impl EventStore {
    /// Events in `store`, kept `retention` after their last report.
    pub fn new(store: Arc<dyn Store>, retention: Duration) -> Self {
        Self { store, retention }
    }

    /// Events kept for the default retention (7 days).
    pub fn with_default_retention(store: Arc<dyn Store>) -> Self {
        Self::new(store, DEFAULT_RETENTION)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// What recording `input` in `namespace` would store, without writing (validate_only):
    /// a repeat when one is due, otherwise a new event (with an empty name).
    pub async fn preview(
        &self,
        namespace: &str,
        input: &Event,
        origin: Origin,
    ) -> Result<Event, EventsError> {
        let now = now_micros();
        if let Some((current, _)) = self.repeat_candidate(namespace, input, now).await? {
            return Ok(model::repeat(&current, now, self.retention));
        }
        let mut event = model::new_event(
            input,
            namespace,
            "-",
            String::new(),
            origin,
            now,
            self.retention,
        );
        event.name.clear();
        Ok(event)
    }

    /// Records `input` (already validated) in `namespace`: counts a repeat or adds a new
    /// event. Returns the stored event with its etag.
    pub async fn record(
        &self,
        namespace: &str,
        input: &Event,
        origin: Origin,
    ) -> Result<Event, EventsError> {
        let digest = model::identity_digest(input);
        let index_key = event_index_key(namespace, &digest);
        for _ in 0..REPEAT_RETRIES {
            let now = now_micros();
            if let Some((current, revision)) = self.repeat_candidate(namespace, input, now).await? {
                let mut repeated = model::repeat(&current, now, self.retention);
                let key = event_key(&current.name);
                let txn = Txn::new()
                    .when(Precondition::ModRevision(key.clone(), revision))
                    .put(key, repeated.encode_to_vec());
                match self.store.txn(txn).await {
                    Ok(new_revision) => {
                        repeated.etag = aip::etag(new_revision);
                        return Ok(repeated);
                    }
                    // Repeated or acknowledged meanwhile: look again.
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(error) => return Err(error.into()),
                }
            }
            let id = newest_first_id('e', now as u64, rand::random());
            let mut event = model::new_event(
                input,
                namespace,
                &id,
                uuid::Uuid::new_v4().to_string(),
                origin,
                now,
                self.retention,
            );
            let key = event_key(&event.name);
            let txn = Txn::new()
                .when(Precondition::Absent(key.clone()))
                .put(key, event.encode_to_vec())
                .put(index_key.clone(), id.into_bytes());
            let revision = self.store.txn(txn).await?;
            event.etag = aip::etag(revision);
            return Ok(event);
        }
        Err(EventsError::Store(StoreError::Conflict { key: index_key }))
    }

    /// The event `input` would repeat, with its revision.
    async fn repeat_candidate(
        &self,
        namespace: &str,
        input: &Event,
        now: i64,
    ) -> Result<Option<(Event, i64)>, EventsError> {
        let index_key = event_index_key(namespace, &model::identity_digest(input));
        let Some(index) = self.store.get(&index_key).await? else {
            return Ok(None);
        };
        let id = String::from_utf8_lossy(&index.value).to_string();
        if !aip::is_valid_id(&id) {
            return Ok(None);
        }
        let name = model::EVENT_NAME.format(&[namespace, &id]);
        let Some((current, revision)) =
            typed::get_msg::<Event>(self.store.as_ref(), &event_key(&name)).await?
        else {
            return Ok(None);
        };
        Ok(model::is_repeat_of(&current, now).then_some((current, revision)))
    }
}

/// Reads an event by name, with its etag set.
pub async fn read_event(store: &dyn Store, name: &str) -> Result<(Event, i64), EventsError> {
    match typed::get_msg::<Event>(store, &layout::event_key(name)).await? {
        Some((mut event, revision)) => {
            event.etag = aip::etag(revision);
            Ok((event, revision))
        }
        None => Err(EventsError::NotFound(name.to_string())),
    }
}
