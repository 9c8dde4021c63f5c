//! Events: the record of every state change.
//!
//! - [`model`]: pure validation, defaults, repeat identity, filters and ordering;
//! - [`store`]: writes events to etcd (new events and repeats);
//! - [`recorder`]: the API other crates call to record events;
//! - [`api`]: the `ferry.deploy.v1.EventService` gRPC adapter;
//! - [`watch`]: the resumable `WatchEvents` stream;
//! - [`retention`]: the leader-elected sweep that removes old events and deliveries.

pub mod api;
pub mod model;
pub mod recorder;
pub mod retention;
pub mod store;
pub mod watch;
