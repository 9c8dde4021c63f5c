//! The API other crates call to record events.
//!
//! ```no_run
//! # async fn example(store: std::sync::Arc<dyn ferry_store::Store>) -> Result<(), ferry_events::EventsError> {
//! use ferry_events::{EventInput, Recorder};
//! use ferry_proto::ferry::deploy::v1::event::Severity;
//!
//! let recorder = Recorder::new(store);
//! recorder
//!     .record(
//!         EventInput::warning(
//!             "dev",
//!             "namespaces/dev/deployments/web",
//!             "ferry.dev/Deployment",
//!             "ROLLOUT_ROLLED_BACK",
//!             "rollout r7 rolled back",
//!             "deploy/rollout-controller",
//!         )
//!         .severity(Severity::Error),
//!     )
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Recording is one or two etcd round trips, bounded by a timeout (2 s by default); a
//! failure is logged and returned, never a panic. Callers that must not wait at all use
//! [`Recorder::record_in_background`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::ferry::deploy::v1::Event;
use ferry_proto::ferry::deploy::v1::event::source::Origin;
use ferry_proto::ferry::deploy::v1::event::{Severity, Source, Type};
use ferry_store::Store;

use super::model;
use super::store::EventStore;
use crate::SYSTEM_NAMESPACE;
use crate::error::EventsError;

/// Default bound of one [`Recorder::record`] call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// An event to record.
#[derive(Clone, Debug, Default)]
pub struct EventInput {
    /// The namespace of the involved resource; `None` records in `ferry-system`.
    pub namespace: Option<String>,
    /// The event (the fields a caller sets; output fields are ignored).
    pub event: Event,
    /// Where the change was observed (default: the platform).
    pub origin: Option<Origin>,
}

impl EventInput {
    /// An event of `resource` (of type `resource_type`) in `namespace` (`None`:
    /// `ferry-system`), reported by `component`.
    pub fn new(
        namespace: Option<&str>,
        kind: Type,
        resource: &str,
        resource_type: &str,
        reason: &str,
        message: impl Into<String>,
        component: &str,
    ) -> Self {
        Self {
            namespace: namespace.map(str::to_string),
            event: Event {
                involved_resource: resource.to_string(),
                involved_resource_type: resource_type.to_string(),
                r#type: kind as i32,
                reason: reason.to_string(),
                message: message.into(),
                source: Some(Source {
                    component: component.to_string(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            origin: None,
        }
    }

    /// A NORMAL (INFO) event; see [`EventInput::new`].
    pub fn normal(
        namespace: &str,
        resource: &str,
        resource_type: &str,
        reason: &str,
        message: impl Into<String>,
        component: &str,
    ) -> Self {
        Self::new(
            Some(namespace),
            Type::Normal,
            resource,
            resource_type,
            reason,
            message,
            component,
        )
    }

    /// A WARNING event (severity WARNING unless [`EventInput::severity`] says otherwise).
    pub fn warning(
        namespace: &str,
        resource: &str,
        resource_type: &str,
        reason: &str,
        message: impl Into<String>,
        component: &str,
    ) -> Self {
        Self::new(
            Some(namespace),
            Type::Warning,
            resource,
            resource_type,
            reason,
            message,
            component,
        )
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.event.severity = severity as i32;
        self
    }

    /// Sets the title.
    pub fn display_name(mut self, display_name: impl Into<String>) -> Self {
        self.event.display_name = display_name.into();
        self
    }

    /// Copies the involved resource's labels.
    pub fn labels(mut self, labels: HashMap<String, String>) -> Self {
        self.event.labels = labels;
        self
    }

    /// Adds a detail.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.event.details.insert(key.into(), value.into());
        self
    }

    /// Sets the application (`applications/{application}`).
    pub fn application(mut self, application: impl Into<String>) -> Self {
        self.event.application = application.into();
        self
    }

    /// Sets the deployment (derived from the resource name when it is under one).
    pub fn deployment(mut self, deployment: impl Into<String>) -> Self {
        self.event.deployment = deployment.into();
        self
    }

    /// Sets the operation during which the change happened.
    pub fn operation(mut self, operation: impl Into<String>) -> Self {
        self.event.operation = operation.into();
        self
    }

    /// Adds a related resource.
    pub fn related(mut self, resource: impl Into<String>) -> Self {
        self.event.related_resources.push(resource.into());
        self
    }

    /// Sets the involved resource's uid.
    pub fn resource_uid(mut self, uid: impl Into<String>) -> Self {
        self.event.involved_resource_uid = uid.into();
        self
    }

    /// Sets the host the change was reported from.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        if let Some(source) = self.event.source.as_mut() {
            source.host = host.into();
        }
        self
    }

    /// Sets where the change was observed.
    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }
}

/// Records events on behalf of Ferry's services and controllers.
#[derive(Clone)]
pub struct Recorder {
    events: EventStore,
    timeout: Duration,
}

impl Recorder {
    /// A recorder writing to `store`, with the default retention and timeout.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            events: EventStore::with_default_retention(store),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Keeps recorded events `retention` after their last report (as the retention
    /// sweep is configured).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.events = EventStore::new(self.events.store().clone(), retention);
        self
    }

    /// Bounds each [`Recorder::record`] call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Records an event (or counts a repeat of it) and returns it as stored. Invalid
    /// input, store failures and timeouts are logged and returned.
    pub async fn record(&self, input: EventInput) -> Result<Event, EventsError> {
        let namespace = input
            .namespace
            .clone()
            .unwrap_or_else(|| SYSTEM_NAMESPACE.to_string());
        let reason = input.event.reason.clone();
        let result = self.try_record(&namespace, input).await;
        if let Err(error) = &result {
            tracing::warn!(namespace, reason, %error, "cannot record event");
        }
        result
    }

    async fn try_record(&self, namespace: &str, input: EventInput) -> Result<Event, EventsError> {
        if !ferry_kit::aip::is_valid_id(namespace) {
            return Err(ferry_kit::error::ApiError::invalid_field(
                "namespace",
                format!("{namespace:?} is not a namespace id"),
            )
            .into());
        }
        model::validate("event", &input.event)?;
        let origin = input.origin.unwrap_or(Origin::Platform);
        tokio::time::timeout(
            self.timeout,
            self.events.record(namespace, &input.event, origin),
        )
        .await
        .map_err(|_| EventsError::Timeout(self.timeout))?
    }

    /// Records an event on a spawned task: the caller never waits. Failures are logged.
    pub fn record_in_background(&self, input: EventInput) {
        let recorder = self.clone();
        tokio::spawn(async move {
            let _ = recorder.record(input).await;
        });
    }
}
