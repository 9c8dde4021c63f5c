//! The hint stream: one task per engine follows the engine's events (Ferry's containers
//! only) and pings it, reconnecting with backoff; container events become
//! [`RuntimeEvent::Instance`], engines going away or coming back [`RuntimeEvent::Host`].

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use ferry_runtime::{HostState, RuntimeEvent, labels};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio_stream::wrappers::BroadcastStream;

use crate::runtime::{Inner, lock};

/// How often an engine is pinged while its event stream is quiet.
const PING_PERIOD: Duration = Duration::from_secs(2);
/// The longest wait between reconnections.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A new subscription; starts the engine tasks on first use.
pub(crate) fn subscribe(inner: &Arc<Inner>) -> BoxStream<'static, RuntimeEvent> {
    let receiver = inner.events.subscribe();
    {
        let mut background = lock(&inner.background);
        if background.is_empty() {
            for engine in 0..inner.engines.len() {
                background.push(tokio::spawn(follow_engine(Arc::downgrade(inner), engine)));
            }
        }
    }
    // A lagging subscriber loses hints, never the stream: hints are not the truth.
    BroadcastStream::new(receiver)
        .filter_map(|item| async move { item.ok() })
        .boxed()
}

/// Follows one engine for as long as the runtime lives.
async fn follow_engine(inner: Weak<Inner>, engine: usize) {
    let mut state: Option<HostState> = None;
    let mut backoff = Duration::from_millis(250);
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let host = strong.engines[engine].host.clone();
        let reachable = strong.engines[engine].ping().await.is_ok();
        let now = if reachable {
            HostState::Ready
        } else {
            HostState::Unreachable
        };
        if state != Some(now) {
            // The first state is news only when the engine does not answer.
            if state.is_some() || now == HostState::Unreachable {
                let _ = strong.events.send(RuntimeEvent::Host {
                    host: host.clone(),
                    state: now,
                });
            }
            tracing::info!(host = %host, state = ?now, "docker engine state");
            state = Some(now);
        }
        if !reachable {
            drop(strong);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            continue;
        }
        backoff = Duration::from_millis(250);
        let Ok(docker) = strong.engines[engine].docker().await else {
            continue;
        };
        let events = strong.events.clone();
        drop(strong);
        let mut stream = Box::pin(docker.events(Some(EventsOptions {
            filters: Some(HashMap::from([
                ("type".to_string(), vec!["container".to_string()]),
                (
                    "label".to_string(),
                    vec![format!("{}=true", labels::MANAGED)],
                ),
            ])),
            ..Default::default()
        })));
        let mut ping = tokio::time::interval(PING_PERIOD);
        ping.tick().await;
        loop {
            tokio::select! {
                item = stream.next() => match item {
                    Some(Ok(message)) => {
                        let attributes = message
                            .actor
                            .and_then(|a| a.attributes)
                            .unwrap_or_default();
                        let get = |key: &str| attributes.get(key).cloned().unwrap_or_default();
                        let _ = events.send(RuntimeEvent::Instance {
                            namespace: get(labels::NAMESPACE),
                            deployment: get(labels::DEPLOYMENT),
                            instance: get(labels::INSTANCE),
                            action: message.action.unwrap_or_default(),
                        });
                    }
                    // The stream broke or ended: check the engine and reconnect.
                    _ => break,
                },
                _ = ping.tick() => {
                    let Some(strong) = inner.upgrade() else { return };
                    if strong.engines[engine].ping().await.is_err() {
                        break;
                    }
                }
            }
        }
    }
}
