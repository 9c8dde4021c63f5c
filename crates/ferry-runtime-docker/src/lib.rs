//! Ferry's runtime adapter over local Docker engines ([`DockerRuntime`]).
//!
//! Each engine is one Ferry host with a region and a zone. A namespace is a user-defined
//! bridge network named after its runtime namespace on every engine; an instance is a
//! container named `<runtime namespace>.<instance id>`, labelled with
//! [`ferry_runtime::labels`] (plus [`RUNTIME_NAMESPACE_LABEL`] and [`PROBES_LABEL`]), so
//! that everything is found again from labels after a restart of the adapter.
//!
//! - **Placement**: the adapter places instances itself with
//!   [`ferry_runtime::placement::choose_host`] over the engines that answer.
//! - **Health**: Docker cannot probe HTTP without curl in the image, so the adapter runs a
//!   prober task per live container (startup, readiness, liveness; HTTP and TCP from the
//!   host to the container's address, exec through the exec API). A liveness failure
//!   restarts the container in place. Probers are rebuilt from the probes label by any
//!   adapter instance that lists or applies the group.
//! - **Engines that do not answer**: their instances are reported with the phase
//!   `Unknown` (reason `HOST_UNREACHABLE`) from what the adapter last saw there, and do
//!   not count as live, so `apply_group` places replacements elsewhere; once the engine
//!   answers again the surplus is removed by the next `apply_group`.
//! - **Restarts** after liveness failures are counted in the adapter's memory only.
//!
//! Secret environment values are written into the container's configuration (Docker
//! has no secret objects outside swarm) and never logged.

mod convert;
mod engine;
mod error;
mod events;
mod probe;
mod runtime;
#[cfg(feature = "testing")]
pub mod testing;

pub use convert::{RUNTIME_NAMESPACE_LABEL, container_name};
pub use error::DockerError;
pub use runtime::{DEFAULT_DRAIN, DockerRuntime, EngineConfig, PROBES_LABEL};
