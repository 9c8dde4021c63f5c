//! The `ferry.deploy.v1.EventService` gRPC adapter: validates at the edge, reads and
//! writes etcd; WatchEvents is in [`super::watch`].

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_proto::ferry::deploy::v1::event::source::Origin;
use ferry_proto::ferry::deploy::v1::event_service_server::{EventService, EventServiceServer};
use ferry_proto::ferry::deploy::v1::{
    AcknowledgeEventRequest, BatchAcknowledgeEventsRequest, BatchAcknowledgeEventsResponse,
    CreateEventRequest, Event, GetEventRequest, ListEventsRequest, ListEventsResponse,
    WatchEventsRequest, WatchEventsResponse,
};
use ferry_store::{ListOptions, Precondition, Store, StoreError, Txn, typed};
use futures::Stream;
use prost::Message as _;
use tonic::{Request, Response, Status};

use super::model::{self, Parent};
use super::store::{EventStore, read_event};
use super::watch::{self, WatchConfig};
use crate::error::{EventsError, status};
use crate::layout::{event_key, events_prefix, namespace_events_prefix, now_micros};

/// The request header naming the caller (a user or service account resource name),
/// kept as `acknowledged_by`. The gateway sets it once authentication is wired.
pub const PRINCIPAL_HEADER: &str = "x-ferry-principal";

/// Most names of one BatchAcknowledgeEvents call.
pub const MAX_BATCH: usize = 1000;

/// Events acknowledged per transaction (two operations each, under etcd's 128).
const ACK_CHUNK: usize = 60;

/// Serves events.
#[derive(Clone)]
pub struct EventApi {
    store: Arc<dyn Store>,
    events: EventStore,
    idempotency: Idempotency,
    watch: WatchConfig,
}

impl EventApi {
    /// Serves events from `store` (events recorded through CreateEvent are kept for the
    /// default retention).
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        Self {
            events: EventStore::with_default_retention(store.clone()),
            store,
            idempotency,
            watch: WatchConfig::default(),
        }
    }

    /// Keeps events recorded through CreateEvent `retention` after their last report.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.events = EventStore::new(self.store.clone(), retention);
        self
    }

    /// Changes the watch heartbeat and maximum stream life (tests use short ones).
    pub fn with_watch_config(mut self, watch: WatchConfig) -> Self {
        self.watch = watch;
        self
    }

    /// Ends every watch stream when `draining` is cancelled (the server's drain token).
    pub fn with_draining(mut self, draining: tokio_util::sync::CancellationToken) -> Self {
        self.watch.draining = draining;
        self
    }

    /// The tonic server.
    pub fn into_server(self) -> EventServiceServer<Self> {
        EventServiceServer::new(self)
    }

    async fn list(&self, request: ListEventsRequest) -> Result<ListEventsResponse, EventsError> {
        let parent = Parent::parse("parent", &request.parent, true)?;
        let limit = aip::page_size(request.page_size)?;
        let filter = model::parse_filter(&request.filter)?;
        let order = model::parse_order_by(&request.order_by)?;
        let fingerprint =
            aip::request_fingerprint(&[&request.parent, &request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let prefix = match &parent {
            Parent::All => events_prefix(),
            Parent::Namespace(namespace) => namespace_events_prefix(namespace),
        };
        let (mut events, revision) = list_at(
            self.store.as_ref(),
            &prefix,
            token.as_ref().map(|t| t.revision),
        )
        .await
        .map_err(crate::error::expired_token)?;
        events.retain(|event| filter.matches(&model::EventFields(event)));
        model::sort(&mut events, &order);
        let total_size = events.len() as i32;
        let start = match &token {
            Some(token) => events
                .iter()
                .position(|event| event.name == token.last)
                .map(|index| index + 1)
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "page_token",
                        "the page's last event is gone: start again without a token",
                    )
                })?,
            None => 0,
        };
        let page: Vec<Event> = events.into_iter().skip(start).take(limit + 1).collect();
        let (page, next_page_token) = if page.len() > limit {
            let page: Vec<Event> = page.into_iter().take(limit).collect();
            let last = page.last().map(|e| e.name.clone()).unwrap_or_default();
            let token = aip::encode_page_token(&last, revision, &fingerprint);
            (page, token)
        } else {
            (page, String::new())
        };
        Ok(ListEventsResponse {
            events: page,
            next_page_token,
            total_size,
        })
    }

    async fn create(&self, request: CreateEventRequest) -> Result<Event, EventsError> {
        aip::validate_request_id(&request.request_id)?;
        let Parent::Namespace(namespace) = Parent::parse("parent", &request.parent, false)? else {
            unreachable!("namespaces/- is refused by the parser")
        };
        let Some(input) = request.event.clone() else {
            return Err(ApiError::invalid_field("event", "is required").into());
        };
        model::validate("event", &input)?;
        // Output-only fields are Ferry's to set.
        let mut input = input;
        input.labels.clear();
        input.application.clear();
        input.deployment.clear();
        if request.validate_only {
            return self
                .events
                .preview(&namespace, &input, Origin::External)
                .await;
        }
        let events = self.events.clone();
        self.idempotency
            .run(
                "ferry.deploy.v1.EventService/CreateEvent",
                &request.request_id,
                &request,
                || async move {
                    events
                        .record(&namespace, &input, Origin::External)
                        .await
                        .map_err(ApiError::from)
                },
            )
            .await
            .map_err(EventsError::from)
    }

    async fn acknowledge(
        &self,
        request: AcknowledgeEventRequest,
        principal: String,
    ) -> Result<Event, EventsError> {
        aip::validate_request_id(&request.request_id)?;
        model::parse_event_name("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        model::validate_note(&request.note)?;
        let (current, revision) = read_event(self.store.as_ref(), &request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if current.acknowledged {
            return Ok(current);
        }
        let mut acked = model::acknowledge(&current, &principal, &request.note, now_micros());
        if request.validate_only {
            acked.etag = current.etag;
            return Ok(acked);
        }
        let store = self.store.clone();
        let name = request.name.clone();
        let client_sent_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                "ferry.deploy.v1.EventService/AcknowledgeEvent",
                &request.request_id,
                &request,
                || async move {
                    match typed::update_msg(store.as_ref(), &event_key(&name), &acked, revision)
                        .await
                    {
                        Ok(new_revision) => {
                            acked.etag = aip::etag(new_revision);
                            Ok(acked)
                        }
                        Err(StoreError::Conflict { .. }) if client_sent_etag => {
                            Err(ApiError::etag_mismatch(&name))
                        }
                        Err(StoreError::Conflict { .. }) => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&name)),
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(EventsError::from)
    }

    async fn batch_acknowledge(
        &self,
        request: BatchAcknowledgeEventsRequest,
        principal: String,
    ) -> Result<BatchAcknowledgeEventsResponse, EventsError> {
        aip::validate_request_id(&request.request_id)?;
        let parent = Parent::parse("parent", &request.parent, true)?;
        model::validate_note(&request.note)?;
        if request.names.is_empty() {
            return Err(ApiError::invalid_field("names", "name 1 to 1,000 events").into());
        }
        if request.names.len() > MAX_BATCH {
            return Err(ApiError::invalid_field("names", "at most 1,000 events at once").into());
        }
        for (index, name) in request.names.iter().enumerate() {
            let field = format!("names[{index}]");
            model::parse_event_name(&field, name)?;
            if !parent.contains(name) {
                return Err(ApiError::invalid_name(
                    field,
                    format!("{name} is not under {}", request.parent),
                )
                .into());
            }
        }
        // Read everything first: a missing event fails the call before anything changes.
        let mut current = Vec::with_capacity(request.names.len());
        for name in &request.names {
            current.push(read_event(self.store.as_ref(), name).await?);
        }
        let now = now_micros();
        let updated: Vec<(Event, i64, bool)> = current
            .iter()
            .map(|(event, revision)| {
                let changed = !event.acknowledged;
                (
                    model::acknowledge(event, &principal, &request.note, now),
                    *revision,
                    changed,
                )
            })
            .collect();
        if request.validate_only {
            return Ok(BatchAcknowledgeEventsResponse {
                events: updated
                    .into_iter()
                    .zip(current)
                    .map(|((mut event, _, _), (old, _))| {
                        event.etag = old.etag;
                        event
                    })
                    .collect(),
            });
        }
        let store = self.store.clone();
        self.idempotency
            .run(
                "ferry.deploy.v1.EventService/BatchAcknowledgeEvents",
                &request.request_id,
                &request,
                || async move {
                    let mut events: Vec<Event> = Vec::with_capacity(updated.len());
                    let mut changes: Vec<(usize, &Event, i64)> = Vec::new();
                    for (index, (event, revision, changed)) in updated.iter().enumerate() {
                        events.push(event.clone());
                        if *changed {
                            changes.push((index, event, *revision));
                        }
                    }
                    // One transaction when the batch fits (up to 60 changes); larger batches
                    // are written in chunks after the whole batch was checked above.
                    for chunk in changes.chunks(ACK_CHUNK) {
                        let mut txn = Txn::new();
                        for (_, event, revision) in chunk {
                            let key = event_key(&event.name);
                            let mut stored = (*event).clone();
                            stored.etag.clear();
                            txn = txn
                                .when(Precondition::ModRevision(key.clone(), *revision))
                                .put(key, stored.encode_to_vec());
                        }
                        let revision = match store.txn(txn).await {
                            Ok(revision) => revision,
                            Err(StoreError::Conflict { key }) => {
                                return Err(ApiError::concurrent_modification(
                                    crate::layout::event_name(&key).unwrap_or(&key),
                                ));
                            }
                            Err(error) => return Err(error.into()),
                        };
                        for (index, _, _) in chunk {
                            events[*index].etag = aip::etag(revision);
                        }
                    }
                    for (index, (_, revision, changed)) in updated.iter().enumerate() {
                        if !changed {
                            events[index].etag = aip::etag(*revision);
                        }
                    }
                    Ok(BatchAcknowledgeEventsResponse { events })
                },
            )
            .await
            .map_err(EventsError::from)
    }
}

/// Every event under `prefix` at `revision` (the latest when `None`), with etags, and
/// the revision read.
pub async fn list_at(
    store: &dyn Store,
    prefix: &str,
    revision: Option<i64>,
) -> Result<(Vec<Event>, i64), EventsError> {
    let mut options = ListOptions {
        limit: aip::MAX_PAGE_SIZE,
        revision,
        ..Default::default()
    };
    let mut events = Vec::new();
    loop {
        let (items, more, read_revision) =
            typed::list_msgs::<Event>(store, prefix, options.clone()).await?;
        options.revision = Some(read_revision);
        options.start_after = items.last().map(|(key, _, _)| key.clone());
        for (_, mut event, mod_revision) in items {
            event.etag = aip::etag(mod_revision);
            events.push(event);
        }
        if !more || options.start_after.is_none() {
            return Ok((events, read_revision));
        }
    }
}

fn principal<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get(PRINCIPAL_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EventService for EventApi {
    async fn get_event(
        &self,
        request: Request<GetEventRequest>,
    ) -> Result<Response<Event>, Status> {
        let name = request.into_inner().name;
        model::parse_event_name("name", &name).map_err(status)?;
        let (event, _) = read_event(self.store.as_ref(), &name)
            .await
            .map_err(status)?;
        Ok(Response::new(event))
    }

    async fn list_events(
        &self,
        request: Request<ListEventsRequest>,
    ) -> Result<Response<ListEventsResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let stream = watch::start(self.store.clone(), request.into_inner(), self.watch.clone())
            .await
            .map_err(status)?;
        Ok(Response::new(stream))
    }

    async fn create_event(
        &self,
        request: Request<CreateEventRequest>,
    ) -> Result<Response<Event>, Status> {
        Ok(Response::new(
            self.create(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn acknowledge_event(
        &self,
        request: Request<AcknowledgeEventRequest>,
    ) -> Result<Response<Event>, Status> {
        let principal = principal(&request);
        Ok(Response::new(
            self.acknowledge(request.into_inner(), principal)
                .await
                .map_err(status)?,
        ))
    }

    async fn batch_acknowledge_events(
        &self,
        request: Request<BatchAcknowledgeEventsRequest>,
    ) -> Result<Response<BatchAcknowledgeEventsResponse>, Status> {
        let principal = principal(&request);
        Ok(Response::new(
            self.batch_acknowledge(request.into_inner(), principal)
                .await
                .map_err(status)?,
        ))
    }
}
