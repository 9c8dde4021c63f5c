//! Notifications: channels, rules and deliveries.
//!
//! - [`model`]: pure validation, secret handling, selector matching, back-off, payloads
//!   and signatures;
//! - [`send`]: one attempt through a webhook, a Slack-compatible webhook or SMTP;
//! - [`api`]: the `ferry.deploy.v1.NotificationService` gRPC adapter;
//! - [`worker`]: the leader-elected dispatcher (events → deliveries) and delivery worker
//!   (attempts, retries, resumable after a crash).

pub mod api;
pub mod model;
pub mod send;
pub mod worker;
