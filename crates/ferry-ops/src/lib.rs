//! Long-running operations and controllers, shared by every Ferry service.
//!
//! - [`operation`]: durable [`Operation`](ferry_proto::ferry::common::v1::Operation)
//!   records in etcd and pure helpers to advance them;
//! - [`service`]: the `ferry.common.v1.OperationsService` gRPC API over them;
//! - [`leader`]: leader election with etcd leases, and fencing;
//! - [`controller`]: the watch-driven reconcile loop that resumes unfinished work after a
//!   crash.

pub mod controller;
pub mod leader;
pub mod operation;
pub mod service;

pub use controller::{Action, Controller, ReconcileContext, Reconciler};
pub use operation::Operations;
pub use service::OperationsApi;
