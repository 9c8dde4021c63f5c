//! Events and notifications of the deploy service.
//!
//! - [`event`]: the record of every state change (`ferry.deploy.v1.EventService`): the
//!   [`Recorder`] other crates call, the gRPC adapter with list filters and the resumable
//!   watch, and the leader-elected retention sweep;
//! - [`notify`]: where events are sent (`ferry.deploy.v1.NotificationService`): channels,
//!   rules, and the leader-elected dispatcher and delivery worker that send webhooks,
//!   Slack-compatible messages and e-mails, with retries recorded in etcd.
//!
//! Key layout (under `/ferry/v1/`, see [`layout`]):
//!
//! | Key | Value |
//! |---|---|
//! | `deploy/events/namespaces/{ns}/events/{id}` | `Event` (ids sort newest first) |
//! | `deploy/event-index/{ns}/{digest}` | the id of the last unacknowledged event with that identity (repeat detection) |
//! | `deploy/notification-channels/notificationChannels/{id}` | `NotificationChannel` (secrets stripped) |
//! | `deploy/notification-channel-secrets/{id}` | the channel's secret values (never returned) |
//! | `deploy/notification-channel-status/{id}` | the channel's delivery status |
//! | `deploy/notification-rules/notificationRules/{id}` | `NotificationRule` |
//! | `deploy/notification-deliveries/notificationChannels/{ch}/deliveries/{id}` | a delivery with the event it reports |
//! | `deploy/notification-dispatch/cursor` | the last event revision the dispatcher handled |
//! | `deploy/notification-dispatch/rules/{rule}/{channel}` | de-duplication and rate-limit state |
//! | `deploy/notification-dispatch/rule-status/{rule}` | the rule's last match and held-back notifications |

pub mod error;
pub mod event;
pub mod filter;
pub mod layout;
pub mod notify;

pub use error::{DOMAIN, EventsError};
pub use event::api::EventApi;
pub use event::recorder::{EventInput, Recorder};
pub use event::retention::{Retention, RetentionConfig};
pub use notify::api::NotificationApi;
pub use notify::worker::{DeliveryConfig, DeliveryWorker, Dispatcher};

/// The namespace of events about resources outside any namespace.
pub const SYSTEM_NAMESPACE: &str = "ferry-system";
