//! The resumable `WatchEvents` stream.
//!
//! A resume token is the position in etcd's history right after the message that
//! carried it: `(revision, skip)` means "the changes of `revision` after its first
//! `skip`, then everything later" (one revision may hold several events, e.g. a batch
//! acknowledgement). It also carries a digest of the parent and filter, so a token from
//! another watch is refused. A token whose history was compacted starts the stream with
//! CHANGE_TYPE_RESYNC followed by every retained matching event (ADDED, oldest first).
//!
//! Removals by retention (CHANGE_TYPE_EXPIRED) carry the event's last state when this
//! stream sent it before; otherwise, and only for unfiltered watches, the event's name.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_proto::ferry::deploy::v1::watch_events_response::ChangeType;
use ferry_proto::ferry::deploy::v1::{Event, WatchEventsRequest, WatchEventsResponse};
use ferry_store::{Store, StoreError, WatchEvent, WatchStream, typed};
use futures::{Stream, StreamExt};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::api::list_at;
use super::model::{self, Parent};
use crate::error::EventsError;
use crate::filter::Filter;
use crate::layout::{event_name, events_prefix, micros, namespace_events_prefix};

/// Timing of watch streams.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// An idle stream gets a heartbeat this often (30 s).
    pub heartbeat: Duration,
    /// The server ends a stream after this long (1 h); clients resume.
    pub max_duration: Duration,
    /// Cancelled when the server drains: every stream ends (clients resume elsewhere).
    pub draining: CancellationToken,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(30),
            max_duration: Duration::from_secs(3600),
            draining: CancellationToken::new(),
        }
    }
}

/// What a resume token holds.
#[derive(Clone, PartialEq, prost::Message)]
struct TokenData {
    #[prost(int64, tag = "1")]
    revision: i64,
    #[prost(uint32, tag = "2")]
    skip: u32,
    #[prost(bytes = "vec", tag = "3")]
    fingerprint: Vec<u8>,
}

/// A position in the history of events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The revision whose changes come next.
    pub revision: i64,
    /// How many changes of `revision` were already sent.
    pub skip: u32,
}

/// Encodes a resume token.
pub fn encode_token(position: Position, fingerprint: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(
        TokenData {
            revision: position.revision,
            skip: position.skip,
            fingerprint: fingerprint.to_vec(),
        }
        .encode_to_vec(),
    )
}

/// Decodes a resume token issued for the same parent and filter.
pub fn decode_token(token: &str, fingerprint: &[u8]) -> Result<Position, ApiError> {
    let invalid = |why: &str| ApiError::invalid_field("resume_token", why);
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid("not a token Ferry issued"))?;
    let data =
        TokenData::decode(bytes.as_slice()).map_err(|_| invalid("not a token Ferry issued"))?;
    if data.revision <= 0 {
        return Err(invalid("not a token Ferry issued"));
    }
    if data.fingerprint != fingerprint {
        return Err(invalid(
            "issued for another parent or filter: resume with the same parent and filter",
        ));
    }
    Ok(Position {
        revision: data.revision,
        skip: data.skip,
    })
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<WatchEventsResponse, Status>> + Send>>;

/// Checks the request and starts the stream.
pub async fn start(
    store: Arc<dyn Store>,
    request: WatchEventsRequest,
    config: WatchConfig,
) -> Result<ResponseStream, EventsError> {
    let parent = Parent::parse("parent", &request.parent, true)?;
    let filter = model::parse_filter(&request.filter)?;
    let fingerprint = aip::request_fingerprint(&[&request.parent, &request.filter]);
    let resume = if request.resume_token.is_empty() {
        None
    } else {
        Some(decode_token(&request.resume_token, &fingerprint)?)
    };
    let prefix = match &parent {
        Parent::All => events_prefix(),
        Parent::Namespace(namespace) => namespace_events_prefix(namespace),
    };
    let start = match resume {
        Some(position) => Start::Resume(position),
        None => match request.start_time {
            Some(time) => Start::Backlog(micros(Some(&time))),
            None => Start::Live(store.current_revision().await?),
        },
    };
    let (tx, rx) = mpsc::channel(64);
    let session = Session {
        store,
        prefix,
        filter,
        fingerprint,
        config,
        tx,
        sent: HashMap::new(),
    };
    tokio::spawn(session.run(start));
    Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
}

enum Start {
    /// Only changes after this revision.
    Live(i64),
    /// Retained events with `last_time` at or after this time, then live changes.
    Backlog(i64),
    /// From a resume token.
    Resume(Position),
}

struct Session {
    store: Arc<dyn Store>,
    prefix: String,
    filter: Filter,
    fingerprint: Vec<u8>,
    config: WatchConfig,
    tx: mpsc::Sender<Result<WatchEventsResponse, Status>>,
    /// The last state sent of every event this stream sent (for EXPIRED).
    sent: HashMap<String, Event>,
}

/// The stream ended (client gone or the server stopped it).
struct Closed;

impl Session {
    async fn run(mut self, start: Start) {
        let deadline = tokio::time::Instant::now() + self.config.max_duration;
        let draining = self.config.draining.clone();
        tokio::select! {
            _ = draining.cancelled() => {}
            _ = tokio::time::timeout_at(deadline, self.serve(start)) => {}
        }
    }

    async fn serve(&mut self, start: Start) -> Result<(), Closed> {
        let mut position = match start {
            Start::Live(revision) => Position {
                revision: revision + 1,
                skip: 0,
            },
            Start::Backlog(since) => self.replay(since).await?,
            Start::Resume(position) => position,
        };
        loop {
            let ended = match self.store.watch(&self.prefix, position.revision - 1).await {
                Ok(stream) => self.follow(stream, &mut position).await?,
                Err(StoreError::Compacted { .. }) => Ended::Compacted,
                Err(error) => {
                    self.fail(error).await;
                    return Err(Closed);
                }
            };
            match ended {
                Ended::Compacted => {
                    // Resuming from this token would resync again: it is the stale one.
                    let token = encode_token(position, &self.fingerprint);
                    self.send(WatchEventsResponse {
                        change_type: ChangeType::Resync as i32,
                        event: None,
                        resume_token: token,
                    })
                    .await?;
                    self.sent.clear();
                    position = self.replay(0).await?;
                }
                Ended::Broken => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// Sends the retained matching events with `last_time >= since`, oldest first, and
    /// returns the position right after the listing.
    async fn replay(&mut self, since: i64) -> Result<Position, Closed> {
        let (mut events, revision) = match list_at(self.store.as_ref(), &self.prefix, None).await {
            Ok(listing) => listing,
            Err(error) => {
                self.fail_events(error).await;
                return Err(Closed);
            }
        };
        events.retain(|event| {
            micros(event.last_time.as_ref()) >= since
                && self.filter.matches(&model::EventFields(event))
        });
        model::sort(&mut events, &vec![(model::OrderField::LastTime, false)]);
        let position = Position {
            revision: revision + 1,
            skip: 0,
        };
        let token = encode_token(position, &self.fingerprint);
        for event in events {
            self.sent.insert(event.name.clone(), event.clone());
            self.send(WatchEventsResponse {
                change_type: ChangeType::Added as i32,
                event: Some(event),
                resume_token: token.clone(),
            })
            .await?;
        }
        Ok(position)
    }

    async fn follow(
        &mut self,
        mut stream: WatchStream,
        position: &mut Position,
    ) -> Result<Ended, Closed> {
        let mut heartbeat = tokio::time::interval(self.config.heartbeat);
        heartbeat.reset();
        let mut seen_revision = 0;
        let mut index = 0u32;
        loop {
            tokio::select! {
                _ = self.tx.closed() => return Err(Closed),
                _ = heartbeat.tick() => {
                    self.send(WatchEventsResponse {
                        change_type: ChangeType::Heartbeat as i32,
                        event: None,
                        resume_token: encode_token(*position, &self.fingerprint),
                    })
                    .await?;
                }
                item = stream.next() => {
                    let batch = match item {
                        None => return Ok(Ended::Broken),
                        Some(Err(StoreError::Compacted { .. })) => return Ok(Ended::Compacted),
                        Some(Err(error)) => {
                            tracing::warn!(%error, "event watch broke; resuming");
                            return Ok(Ended::Broken);
                        }
                        Some(Ok(batch)) => batch,
                    };
                    for change in batch.events {
                        let revision = change.revision();
                        if revision == seen_revision {
                            index += 1;
                        } else {
                            seen_revision = revision;
                            index = 0;
                        }
                        // Already sent before the token this stream resumed from.
                        if revision < position.revision
                            || (revision == position.revision && index < position.skip)
                        {
                            continue;
                        }
                        *position = Position { revision, skip: index + 1 };
                        if let Some(response) = self.respond(change, *position) {
                            heartbeat.reset();
                            self.send(response).await?;
                        }
                    }
                    // Everything up to the batch's revision is sent.
                }
            }
        }
    }

    fn respond(&mut self, change: WatchEvent, position: Position) -> Option<WatchEventsResponse> {
        let resume_token = encode_token(position, &self.fingerprint);
        match change {
            WatchEvent::Put(kv) => {
                let Ok((mut event, revision)) = typed::decode_kv::<Event>(&kv) else {
                    tracing::warn!(key = %kv.key, "undecodable event skipped");
                    return None;
                };
                if !self.filter.matches(&model::EventFields(&event)) {
                    // It may have matched before (e.g. `acknowledged = false`): it leaves.
                    return None;
                }
                event.etag = aip::etag(revision);
                let change_type = if kv.create_revision == kv.mod_revision {
                    ChangeType::Added
                } else {
                    ChangeType::Modified
                };
                self.sent.insert(event.name.clone(), event.clone());
                Some(WatchEventsResponse {
                    change_type: change_type as i32,
                    event: Some(event),
                    resume_token,
                })
            }
            WatchEvent::Delete { key, .. } => {
                let name = event_name(&key)?.to_string();
                let event = match self.sent.remove(&name) {
                    Some(event) => event,
                    None if self.filter.terms.is_empty() => Event {
                        name,
                        ..Default::default()
                    },
                    None => return None,
                };
                Some(WatchEventsResponse {
                    change_type: ChangeType::Expired as i32,
                    event: Some(event),
                    resume_token,
                })
            }
        }
    }

    async fn send(&self, response: WatchEventsResponse) -> Result<(), Closed> {
        self.tx.send(Ok(response)).await.map_err(|_| Closed)
    }

    async fn fail(&self, error: StoreError) {
        let status: Status = ApiError::from(error).with_domain(crate::DOMAIN).into();
        let _ = self.tx.send(Err(status)).await;
    }

    async fn fail_events(&self, error: EventsError) {
        let _ = self.tx.send(Err(error.into())).await;
    }
}

enum Ended {
    Compacted,
    Broken,
}
