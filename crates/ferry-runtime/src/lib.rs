//! The runtime contract of the deploy service.
//!
//! A [`Runtime`] runs *instance groups*: the instances (containers, or pods) of one
//! revision of one deployment. Ferry owns everything above a group: how many instances
//! each revision's group should have at each moment (the rollout), autoscaling, and when
//! to give up. A runtime keeps each group at the size it was last given (replacing dead
//! instances) and reports instances and hosts, so rollout logic behaves the same on
//! every adapter:
//!
//! - `ferry-runtime-docker`: one or more local Docker engines (each a host with a region
//!   and zone): containers labelled per group; the adapter places them, probes their
//!   health itself, and replaces dead ones whenever the group is applied;
//! - `ferry-runtime-kube`: a Kubernetes cluster: one ReplicaSet per group, pods with node
//!   affinity on the region and zone labels, kubelet probes, Secrets for secret env.
//!
//! Rules every adapter keeps (the contract tests in [`testing`] hold them to it):
//! - **Idempotent.** `apply_group` with the same spec and size changes nothing;
//!   deletes of what does not exist succeed. A controller may repeat any call after a
//!   crash.
//! - **Labels are the index.** Every runtime object carries the [`labels`] below, so
//!   `list_instances` finds what Ferry created even after Ferry lost its memory.
//! - **Hints, not truth.** [`Runtime::events`] only says "something changed"; the
//!   controllers re-list. A lost event costs latency, never correctness.
//! - **Secrets are values only on the way in.** [`EnvValue::Secret`] is resolved by the
//!   deploy service just before `apply_group`; adapters never log it and, where the
//!   runtime has secret objects (Kubernetes), put it there instead of plain env.

pub mod labels;
pub mod placement;
#[cfg(feature = "testing")]
pub mod testing;
mod types;

pub use types::*;

use std::time::Duration;

use futures::stream::BoxStream;

/// The result of a runtime call.
pub type RuntimeResult<T> = Result<T, RuntimeError>;

/// What can go wrong in a runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The named object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// No host can take the instance (affinity, capacity, all hosts down).
    #[error("no host can run the instance: {0}")]
    Unschedulable(String),
    /// The image cannot be found or pulled.
    #[error("image {image}: {message}")]
    Image {
        /// The image reference.
        image: String,
        /// What the runtime said.
        message: String,
    },
    /// The spec is not something this runtime can run (e.g. UDP publishing).
    #[error("invalid instance spec: {0}")]
    Invalid(String),
    /// The runtime (or one of its hosts) does not answer; retry later.
    #[error("runtime unavailable: {0}")]
    Unavailable(String),
    /// Anything else the runtime reported.
    #[error("runtime error: {0}")]
    Other(String),
}

impl RuntimeError {
    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Unschedulable(_))
    }
}

/// The kind of a runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuntimeKind {
    /// A Kubernetes cluster.
    Kubernetes,
    /// One or more local Docker engines.
    Docker,
}

/// Runs instances. See the crate documentation for the rules every adapter keeps.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// The runtime's name in the deploy service's configuration (`Namespace.runtime`).
    fn name(&self) -> &str;

    /// What kind of runtime this is.
    fn kind(&self) -> RuntimeKind;

    /// Creates (or updates) the runtime side of a namespace: a Kubernetes namespace, or a
    /// Docker network on every engine. Idempotent.
    async fn ensure_namespace(&self, spec: &NamespaceSpec) -> RuntimeResult<()>;

    /// Removes the runtime side of a namespace and every instance left in it. Idempotent.
    async fn delete_namespace(&self, runtime_namespace: &str) -> RuntimeResult<()>;

    /// Makes a group have `replicas` live instances: creates the missing ones (placed
    /// by the spec's affinity), replaces ended or failed ones, removes extras (unready
    /// first, then the newest). Ended instances stay listed for a while so that their exit
    /// is seen. Idempotent; returns the group as it is after the call.
    async fn apply_group(&self, spec: &GroupSpec, replicas: u32) -> RuntimeResult<GroupStatus>;

    /// Removes a group and all its instances (SIGTERM, SIGKILL after the grace period).
    /// Succeeds if it does not exist.
    async fn delete_group(
        &self,
        runtime_namespace: &str,
        deployment: &str,
        revision: &str,
    ) -> RuntimeResult<()>;

    /// Every group of a namespace, including groups with no instance left.
    async fn list_groups(&self, runtime_namespace: &str) -> RuntimeResult<Vec<GroupRef>>;

    /// Stops and removes one instance (its group replaces it at the next
    /// [`Runtime::apply_group`]). Succeeds if it does not exist.
    async fn delete_instance(
        &self,
        runtime_namespace: &str,
        instance: &str,
        grace: Duration,
    ) -> RuntimeResult<()>;

    /// Every Ferry instance of a namespace, in any state, on every reachable host.
    /// Instances on a host that does not answer are reported with
    /// [`InstancePhase::Unknown`] when the adapter still knows of them.
    async fn list_instances(&self, runtime_namespace: &str) -> RuntimeResult<Vec<InstanceStatus>>;

    /// CPU and memory an instance uses now; `None` when the runtime has no metrics.
    async fn instance_usage(
        &self,
        runtime_namespace: &str,
        instance: &str,
    ) -> RuntimeResult<Option<ResourceUsage>>;

    /// The log of an instance: the last `tail` lines, then (with `follow`) new lines until
    /// the instance stops or the stream is dropped.
    async fn logs(
        &self,
        runtime_namespace: &str,
        instance: &str,
        options: LogOptions,
    ) -> RuntimeResult<BoxStream<'static, RuntimeResult<LogLine>>>;

    /// The hosts of the runtime and their state.
    async fn hosts(&self) -> RuntimeResult<Vec<HostStatus>>;

    /// Marks a host (by its id, [`HostStatus::name`]) schedulable or not: while it is not,
    /// no new instance may be placed on it; instances already there keep running.
    /// Idempotent.
    ///
    /// Runtimes that place instances themselves (Docker) keep no such state: the deploy
    /// service passes the cordoned hosts in every spec's [`Placement::excluded_hosts`],
    /// so the default does nothing. Kubernetes, whose scheduler places pods, cordons or
    /// uncordons the node (`spec.unschedulable`); an unknown node is
    /// [`RuntimeError::NotFound`].
    async fn set_host_schedulable(&self, host: &str, schedulable: bool) -> RuntimeResult<()> {
        let _ = (host, schedulable);
        Ok(())
    }

    /// Change hints (an instance started, died, became ready; a host went away). The
    /// stream never ends while the runtime lives; adapters reconnect underneath.
    fn events(&self) -> BoxStream<'static, RuntimeEvent>;
}
