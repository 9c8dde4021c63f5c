//! Services: stable names, addresses and ports for deployments.
//!
//! - [`model`]: pure validation, node-port planning, the data plane program and the
//!   observed status;
//! - [`api`]: the `RoutingService` gRPC adapter (writes etcd only: the configuration and
//!   its allocations, in one transaction);
//! - [`controller`]: the leader-elected status controller (endpoints, health, state,
//!   conditions).
//!
//! The data planes are programmed by [`crate::programmer`], on every replica.

pub mod api;
pub mod controller;
pub mod model;
