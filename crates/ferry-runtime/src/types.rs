//! The plain data a runtime takes and reports.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

/// The runtime side of a namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceSpec {
    /// The Ferry namespace id, e.g. `shop-dev`.
    pub namespace: String,
    /// Its name in the runtime (Kubernetes namespace, Docker network), e.g.
    /// `ferry-shop-dev`.
    pub runtime_namespace: String,
    /// Extra labels for the runtime object.
    pub labels: BTreeMap<String, String>,
}

/// One instance group: the instances of one revision of one deployment, all alike.
/// Everything the runtime needs, already resolved by the deploy service (image pinned,
/// secrets resolved, defaults applied). A revision never changes, so neither does its
/// group's spec; only the number of instances does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupSpec {
    /// The Ferry namespace id.
    pub namespace: String,
    /// Its name in the runtime.
    pub runtime_namespace: String,
    /// The deployment id.
    pub deployment: String,
    /// The revision id, e.g. `r3`. Instances are named `{deployment}-{revision}-{suffix}`
    /// (a DNS label of at most 63 characters; the suffix is 5 random `[a-z0-9]`).
    pub revision: String,
    /// The image reference to run.
    pub image: String,
    /// Replaces the image's entrypoint when not empty.
    pub command: Vec<String>,
    /// Replaces the image's arguments when not empty.
    pub args: Vec<String>,
    /// Environment, in order.
    pub env: Vec<EnvVar>,
    /// Ports the process listens on.
    pub ports: Vec<PortSpec>,
    /// CPU and memory requests and limits.
    pub resources: Resources,
    /// Where the instance may run.
    pub placement: Placement,
    /// User labels, put on the runtime object beside Ferry's own ([`crate::labels`]).
    pub labels: BTreeMap<String, String>,
    /// Extra DNS names of the instance on the namespace's network (the deployment id, so
    /// that `web` resolves to its instances).
    pub aliases: Vec<String>,
    /// When the instance receives traffic; `None`: as soon as it runs.
    pub readiness: Option<Probe>,
    /// When the process is restarted; `None`: only when it exits.
    pub liveness: Option<Probe>,
    /// Must pass once before the other checks start; `None`: no startup check.
    pub startup: Option<Probe>,
    /// Files written into the instance before it starts.
    pub config_files: Vec<ConfigFile>,
    /// Working directory; `None`: the image's.
    pub working_dir: Option<String>,
    /// Time between SIGTERM and SIGKILL when the instance stops.
    pub termination_grace: Duration,
}

/// One environment variable.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The name.
    pub name: String,
    /// The value.
    pub value: EnvValue,
}

/// The value of an environment variable.
#[derive(Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// A plain value, kept with the revision.
    Plain(String),
    /// A value from a Ferry secret, resolved just before the instance is created. Never
    /// logged (its `Debug` is redacted); Kubernetes keeps it in a Secret object.
    Secret {
        /// The secret's id in the namespace.
        secret: String,
        /// The key inside the secret.
        key: String,
        /// The resolved value.
        value: String,
    },
}

impl EnvValue {
    /// The value the process sees.
    pub fn resolved(&self) -> &str {
        match self {
            Self::Plain(value) | Self::Secret { value, .. } => value,
        }
    }
}

impl fmt::Debug for EnvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(value) => f.debug_tuple("Plain").field(value).finish(),
            Self::Secret { secret, key, .. } => f
                .debug_struct("Secret")
                .field("secret", secret)
                .field("key", key)
                .field("value", &"<redacted>")
                .finish(),
        }
    }
}

impl fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.name, self.value)
    }
}

/// A port the process listens on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// Port name, a DNS label (e.g. `http`).
    pub name: String,
    /// The port inside the instance.
    pub container_port: u16,
    /// The transport.
    pub protocol: Transport,
    /// Whether to publish it on the host (Docker: on 127.0.0.1, an ephemeral port).
    pub publish: bool,
}

/// Transport protocol of a port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// TCP (HTTP and gRPC included).
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

/// Requests and limits of one instance; `None` means not set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Guaranteed CPU, thousandths of a core.
    pub cpu_request_millis: Option<u64>,
    /// Guaranteed memory, bytes.
    pub memory_request_bytes: Option<u64>,
    /// CPU cap, thousandths of a core.
    pub cpu_limit_millis: Option<u64>,
    /// Memory cap, bytes.
    pub memory_limit_bytes: Option<u64>,
}

/// Where an instance may run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// The region it must run in; `None`: any.
    pub region: Option<String>,
    /// The zone it must run in (within `region`); `None`: any zone of the region.
    pub zone: Option<String>,
    /// Hosts to avoid if any other fits (e.g. the host an instance just died on).
    pub avoid_hosts: Vec<String>,
    /// Hosts that must not receive a new instance, whatever else fits (cordoned hosts).
    /// Instances already there are left alone. Runtimes that place instances themselves
    /// (Docker, the in-memory runtime) honour it through
    /// [`crate::placement::choose_host`]; Kubernetes ignores it and relies on the node
    /// being cordoned ([`crate::Runtime::set_host_schedulable`]).
    pub excluded_hosts: Vec<String>,
}

/// A health probe, run by the runtime (Kubernetes) or by the adapter itself (Docker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// What is checked.
    pub action: ProbeAction,
    /// Wait before the first check.
    pub initial_delay: Duration,
    /// Time between checks.
    pub period: Duration,
    /// Time one check may take.
    pub timeout: Duration,
    /// Consecutive successes that make the instance healthy.
    pub success_threshold: u32,
    /// Consecutive failures that make it unhealthy.
    pub failure_threshold: u32,
}

/// What a probe checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeAction {
    /// An HTTP GET that must answer 2xx or 3xx.
    Http {
        /// Port inside the instance.
        port: u16,
        /// Path, e.g. `/healthz`.
        path: String,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
    /// A TCP connect that must succeed.
    Tcp {
        /// Port inside the instance.
        port: u16,
    },
    /// A command run inside the instance that must exit 0.
    Exec {
        /// argv.
        command: Vec<String>,
    },
}

/// A file written into the instance before it starts.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Absolute path inside the instance.
    pub path: String,
    /// Content (may come from a secret: never logged).
    pub content: Bytes,
    /// Unix permission bits.
    pub mode: u32,
}

impl fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigFile")
            .field("path", &self.path)
            .field("bytes", &self.content.len())
            .field("mode", &format_args!("{:o}", self.mode))
            .finish()
    }
}

/// A group's instances after [`crate::Runtime::apply_group`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupStatus {
    /// Every instance of the group, live or ended (ended ones are kept for a while so
    /// that their exit can be seen).
    pub instances: Vec<InstanceStatus>,
}

impl GroupStatus {
    /// Instances that count toward the group's size: not ended, not being removed, not
    /// on an unreachable host.
    pub fn live(&self) -> impl Iterator<Item = &InstanceStatus> {
        self.instances.iter().filter(|i| i.is_live())
    }
}

/// A group as found in the runtime (see [`crate::Runtime::list_groups`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupRef {
    /// The deployment id.
    pub deployment: String,
    /// The revision id.
    pub revision: String,
}

/// Where an instance is in its life, as the runtime sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InstancePhase {
    /// Accepted, not running yet (placing, pulling, creating).
    #[default]
    Pending,
    /// The process runs (see [`InstanceStatus::ready`] for health).
    Running,
    /// Stopping.
    Terminating,
    /// The process ended and will not be restarted in place; see `exit`.
    Exited,
    /// It cannot run as it is (bad image, refused by the host); see `reason`.
    Failed,
    /// Its host does not answer: its real state is not known.
    Unknown,
}

/// How a run of the process ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exit {
    /// Exit code (meaningful when `signal` is 0).
    pub code: i32,
    /// The signal that killed it, 0 if none is known.
    pub signal: i32,
    /// Stable reason: `OOM_KILLED`, `ERROR`, `COMPLETED`, `KILLED`,
    /// `LIVENESS_CHECK_FAILED`, `STOPPED`.
    pub reason: String,
    /// When it ended.
    pub finished_at: Option<SystemTime>,
}

/// A published port of an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedPort {
    /// The port name.
    pub name: String,
    /// The port inside the instance.
    pub container_port: u16,
    /// The transport.
    pub protocol: Transport,
    /// Host address it is published on (Docker); `None` when reached on the instance IP.
    pub host_address: Option<IpAddr>,
    /// Host port, when published.
    pub host_port: Option<u16>,
}

/// One instance as the runtime reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceStatus {
    /// The Ferry namespace id (from the labels).
    pub namespace: String,
    /// The deployment id (from the labels).
    pub deployment: String,
    /// The revision id (from the labels).
    pub revision: String,
    /// The instance id (from the labels).
    pub instance: String,
    /// The runtime's id: container id or pod UID.
    pub runtime_id: String,
    /// The runtime object's name: container or pod name.
    pub display_name: String,
    /// The host it runs on; empty while not placed.
    pub host: String,
    /// The host's region.
    pub region: String,
    /// The host's zone.
    pub zone: String,
    /// Life-cycle phase.
    pub phase: InstancePhase,
    /// Whether the startup check passed (true when there is none and it runs).
    pub started: bool,
    /// Whether it passes its readiness check (false unless `Running`).
    pub ready: bool,
    /// Stable UPPER_SNAKE reason for the phase or health, e.g. `IMAGE_PULL_FAILED`,
    /// `READINESS_CHECK_FAILED`, `HOST_UNREACHABLE`; empty when nothing to explain.
    pub reason: String,
    /// Human-readable detail.
    pub message: String,
    /// Address on the runtime's network.
    pub ip: Option<IpAddr>,
    /// Ports and where they are published.
    pub ports: Vec<PublishedPort>,
    /// Restarts in place (liveness failures; Kubernetes container restarts).
    pub restart_count: u32,
    /// When the current run started.
    pub started_at: Option<SystemTime>,
    /// When it last became ready.
    pub ready_since: Option<SystemTime>,
    /// How the last run ended.
    pub exit: Option<Exit>,
    /// All labels of the runtime object.
    pub labels: BTreeMap<String, String>,
}

impl InstanceStatus {
    /// Whether the instance counts toward its group's size: pending or running, on a host
    /// that answers.
    pub fn is_live(&self) -> bool {
        matches!(self.phase, InstancePhase::Pending | InstancePhase::Running)
    }
}

/// What an instance uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceUsage {
    /// CPU over the last sample interval, thousandths of a core.
    pub cpu_millis: u64,
    /// Memory working set, bytes.
    pub memory_bytes: u64,
    /// When sampled.
    pub at: SystemTime,
}

/// What to read of a log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep the stream open and send new lines.
    pub follow: bool,
    /// Only the last lines; `None`: all.
    pub tail: Option<u64>,
    /// Only lines written since; `None`: all.
    pub since: Option<SystemTime>,
}

/// Which output a log line came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogSource {
    /// Standard output.
    #[default]
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line (or chunk) of an instance's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// stdout or stderr.
    pub source: LogSource,
    /// When the runtime received it, if known.
    pub time: Option<SystemTime>,
    /// The bytes, with the trailing newline.
    pub data: Bytes,
}

/// Whether a host can run instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostState {
    /// Reports and is healthy.
    #[default]
    Ready,
    /// Reports but should get no new instances.
    NotReady,
    /// Does not report.
    Unreachable,
}

/// A host of a runtime.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostStatus {
    /// Id (engine or node name, lower case).
    pub name: String,
    /// Name as the runtime reports it.
    pub display_name: String,
    /// Region.
    pub region: String,
    /// Zone.
    pub zone: String,
    /// Address Ferry reaches it at.
    pub address: String,
    /// Whether it can run instances.
    pub state: HostState,
    /// Labels of the node or engine.
    pub labels: BTreeMap<String, String>,
    /// CPU in thousandths of a core.
    pub cpu_millis: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// Ferry instances on it.
    pub instance_count: u32,
    /// Runtime version, e.g. `docker 20.10.24`.
    pub runtime_version: String,
    /// Operating system.
    pub os: String,
    /// CPU architecture.
    pub architecture: String,
    /// Why it is not ready, when it is not.
    pub message: String,
}

/// A change hint from a runtime (see [`crate::Runtime::events`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeEvent {
    /// Something happened to an instance.
    Instance {
        /// The Ferry namespace id.
        namespace: String,
        /// The deployment id.
        deployment: String,
        /// The instance id.
        instance: String,
        /// What happened, e.g. `start`, `die`, `oom`, `health_status: unhealthy`.
        action: String,
    },
    /// A host appeared, went away or came back.
    Host {
        /// The host id.
        host: String,
        /// Its state now.
        state: HostState,
    },
}
