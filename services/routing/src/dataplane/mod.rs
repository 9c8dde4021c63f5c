//! The data plane contract: what every routing replica does with a routed object's
//! resolved program, whatever carries the traffic.
//!
//! A [`Program`] is the complete, resolved description of one routed object (a Service,
//! an external entry, a blue-green entry): its stable address, its ports with their node
//! ports, and per port the backends traffic may go to right now, with the balancing
//! mode. The routing service computes programs from etcd (pure, [`crate::service::model`])
//! and hands them to a [`DataPlane`]:
//!
//! - [`local::LocalDataPlane`] (this crate): Ferry's own L4 proxy (`ferry-proxy`) on
//!   loopback, for the local Docker runtime;
//! - [`kube::KubeDataPlane`]: Services and EndpointSlices in a Kubernetes cluster
//!   (`ferry-routing-kube`), using [`Program::target`] rather than the resolved backends.
//!
//! Every routing replica applies every program (each binds the same addresses with
//! `SO_REUSEPORT`); only the leader reports health into etcd. `apply` is idempotent and
//! replaces the previous program of the same id atomically.

pub mod kube;
pub mod local;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime};

/// What went wrong in a data plane.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    /// An address could not be bound (e.g. a node port held by another process).
    #[error("cannot listen on {address}: {message}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        message: String,
    },
    /// Anything else the data plane's backend answered.
    #[error("data plane error: {0}")]
    Backend(String),
}

/// What kind of object a program routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProgramKind {
    /// A `ferry.routing.v1.Service`.
    Service,
    /// A `ferry.catalog.v1.ExternalEntry`.
    ExternalEntry,
    /// A `ferry.routing.v1.BlueGreenEntry`.
    BlueGreenEntry,
}

/// The object the traffic goes to, for data planes that resolve endpoints themselves
/// (Kubernetes selects pods by labels instead of using [`ProgramPort::backends`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramTarget {
    /// The instances of a deployment.
    Deployment {
        /// `namespaces/{namespace}/deployments/{deployment}`.
        name: String,
    },
    /// Addresses outside the platform (external entries): the backends are all there is.
    External,
}

/// How connections are spread over the backends of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balancing {
    /// Round robin over the backends.
    RoundRobin,
    /// One client address sticks to one backend while it is healthy, until it has been
    /// idle for `idle_timeout`.
    ClientIp {
        /// Idle time after which the affinity ends.
        idle_timeout: Duration,
    },
}

/// Active health checking of backends by the data plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveCheck {
    /// TCP connect, or an HTTP GET of `path` answering 2xx/3xx.
    pub http_path: Option<String>,
    /// Time between checks.
    pub interval: Duration,
    /// Time one check may take.
    pub timeout: Duration,
    /// Passes in a row that make a backend healthy.
    pub healthy_threshold: u32,
    /// Failures in a row that make a backend unhealthy.
    pub unhealthy_threshold: u32,
}

/// One backend of a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramBackend {
    /// Stable id, reported back in [`EndpointHealth`]: the endpoint's instance name
    /// (`namespaces/{ns}/deployments/{d}/instances/{i}`), or the external host.
    pub id: String,
    /// Where connections go.
    pub address: SocketAddr,
}

/// One port of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramPort {
    /// The port's name (may be empty for a single unnamed port).
    pub name: String,
    /// The port clients connect to on the cluster address.
    pub port: u16,
    /// The node port, if any (listened on every host).
    pub node_port: Option<u16>,
    /// The port on the target's instances (the Kubernetes target port).
    pub target_port: TargetPort,
    /// The backends new connections may go to now (resolved; candidates only).
    pub backends: Vec<ProgramBackend>,
}

/// The port on the target's instances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPort {
    /// A port number.
    Number(u16),
    /// A port the target declares by name.
    Name(String),
}

/// The complete, resolved description of one routed object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The object's resource name, e.g. `namespaces/dev/services/web`.
    pub id: String,
    /// What it is.
    pub kind: ProgramKind,
    /// The configuration generation this program was computed from.
    pub generation: i64,
    /// DNS name, e.g. `web.dev.svc.cluster.local`.
    pub dns_name: String,
    /// Stable virtual address (loopback `127.77.x.y` for the local data plane).
    pub cluster_address: Ipv4Addr,
    /// The ports.
    pub ports: Vec<ProgramPort>,
    /// Balancing over each port's backends.
    pub balancing: Balancing,
    /// Whether unhealthy backends (by the active check) are skipped.
    pub health_aware: bool,
    /// The data plane's own active check of the backends, if any.
    pub active_check: Option<ActiveCheck>,
    /// How long connections to removed backends may finish.
    pub drain_timeout: Duration,
    /// The object traffic goes to.
    pub target: ProgramTarget,
}

/// Health of one backend as one replica's data plane sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointHealth {
    /// The port's name.
    pub port_name: String,
    /// [`ProgramBackend::id`].
    pub backend_id: String,
    /// [`ProgramBackend::address`].
    pub address: SocketAddr,
    /// Whether it passes the active check (true when there is none).
    pub healthy: bool,
    /// When `healthy` last changed.
    pub since: SystemTime,
    /// Open connections to it.
    pub active_connections: u64,
}

/// What a data plane reports about one program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramStatus {
    /// The generation of the program applied last.
    pub generation: i64,
    /// The health of every backend of every port.
    pub endpoints: Vec<EndpointHealth>,
}

/// Carries the traffic of programs. One per routing replica.
#[async_trait::async_trait]
pub trait DataPlane: Send + Sync + 'static {
    /// Applies `program`, replacing the previous program of the same id atomically:
    /// new connections follow the new backends at once; connections to backends no
    /// longer present drain for `drain_timeout`. Idempotent.
    async fn apply(&self, program: &Program) -> Result<(), DataPlaneError>;

    /// Removes the program `id` (closing its listeners and connections). Removing an
    /// unknown id is not an error.
    async fn remove(&self, id: &str) -> Result<(), DataPlaneError>;

    /// What this data plane applied for `id` and the health of its backends; `None` when
    /// it does not hold `id`.
    async fn status(&self, id: &str) -> Option<ProgramStatus>;

    /// The ids this data plane holds (to remove leftovers after a restart of the
    /// programming loop).
    async fn programs(&self) -> Vec<String>;
}
