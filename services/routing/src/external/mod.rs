//! External entries (`ferry.catalog.v1.ExternalEntryService`): addresses outside the
//! platform (IPs or host names, ports) behind a stable in-platform name, served by the
//! routing service.
//!
//! - [`model`]: pure validation, the stored record, the program, the status;
//! - [`api`]: the gRPC adapter ([`api::ExternalEntryApi`], mountable in any service
//!   sharing the routing service's etcd);
//! - [`controller`]: the leader-elected status controller (address health, state).
//!
//! Locally, an entry listens on its own cluster address (`127.77.x.y`, reported in the
//! `Ready` condition's message: the API has no field for it) on each entry port and
//! forwards to the addresses; with a health check, failing addresses get no new
//! connections until they answer again; when every address fails, traffic goes to all
//! of them (fail open).

pub mod api;
pub mod controller;
pub mod model;
