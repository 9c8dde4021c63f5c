//! [`DockerRuntime`]: the [`Runtime`] implementation over the configured engines.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::container::LogOutput;
use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectContainerOptions, ListContainersOptions,
    ListNetworksOptions, LogsOptions, RemoveContainerOptions, RestartContainerOptions,
    StartContainerOptions, StatsOptions, StopContainerOptions, UploadToContainerOptions,
};
use ferry_runtime::placement::choose_host;
use ferry_runtime::{
    GroupRef, GroupSpec, GroupStatus, HostState, HostStatus, InstancePhase, InstanceStatus,
    LogLine, LogOptions, LogSource, NamespaceSpec, Probe, ProbeAction, ResourceUsage, Runtime,
    RuntimeError, RuntimeEvent, RuntimeKind, RuntimeResult, labels,
};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::DockerError;
use crate::convert::{
    self, HostInfo, RUNTIME_NAMESPACE_LABEL, container_name, instance_status, new_instance_id,
};
use crate::engine::{CALL_TIMEOUT, Engine, READ_TIMEOUT};
use crate::probe::{Health, ProbeTarget, ProberHost, Probes, run_prober};

/// Label holding the probes of a container (JSON), so that any adapter instance can run
/// its prober.
pub const PROBES_LABEL: &str = "ferry.dev/probes";

/// Ended instances kept per group so that their exit can be seen.
const KEPT_ENDED: usize = 3;

/// One engine of the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// The Ferry host id of the engine (lower case).
    pub host: String,
    /// The engine's API: `unix:///path/docker.sock` or `tcp://127.0.0.1:2375`.
    pub endpoint: String,
    /// The host's region.
    pub region: String,
    /// The host's zone.
    pub zone: String,
}

/// The Docker runtime. Cheap to clone; clones share the engines and the probers.
#[derive(Clone)]
pub struct DockerRuntime {
    pub(crate) inner: Arc<Inner>,
}

/// A prober running for a container.
struct Prober {
    engine: usize,
    handle: JoinHandle<()>,
    grace: Duration,
    namespace: String,
    deployment: String,
    instance: String,
}

pub(crate) struct Inner {
    name: String,
    pub(crate) engines: Vec<Engine>,
    /// Container id → health from its prober.
    health: Mutex<HashMap<String, Health>>,
    /// Container id → its prober.
    probers: Mutex<HashMap<String, Prober>>,
    /// (engine, runtime namespace) → the instances last seen there.
    last_seen: Mutex<HashMap<(usize, String), Vec<InstanceStatus>>>,
    /// Groups applied through this adapter (found from labels too).
    groups: Mutex<BTreeSet<(String, String, String)>>,
    pub(crate) events: broadcast::Sender<RuntimeEvent>,
    pub(crate) background: Mutex<Vec<JoinHandle<()>>>,
    /// Containers leaving their group: reported Terminating (not ready, not live) for
    /// `drain` before they are stopped, so that clients and proxies that follow readiness
    /// stop sending them work first.
    draining: Mutex<HashSet<String>>,
    drain: Duration,
    /// Held while a namespace network is looked up and created: engines before API 1.44
    /// (Debian's 20.10) accept two networks of one name, and two controllers ensuring the
    /// same namespace at once would make both (then every container create is ambiguous).
    network_creation: tokio::sync::Mutex<()>,
}

/// How long an instance removed by a scale-in or a rollout stays up, unready, before it
/// is stopped (see [`DockerRuntime::with_drain`]).
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(2);

impl Drop for Inner {
    fn drop(&mut self) {
        for (_, prober) in lock(&self.probers).drain() {
            prober.handle.abort();
        }
        for task in lock(&self.background).drain(..) {
            task.abort();
        }
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The probes of a container as kept in [`PROBES_LABEL`].
#[derive(Serialize, Deserialize, Default)]
struct ProbesDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    startup: Option<ProbeDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    readiness: Option<ProbeDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    liveness: Option<ProbeDoc>,
}

/// An HTTP check in [`PROBES_LABEL`]: port, path, headers.
type HttpDoc = (u16, String, Vec<(String, String)>);

#[derive(Serialize, Deserialize)]
struct ProbeDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http: Option<HttpDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tcp: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exec: Option<Vec<String>>,
    delay_ms: u64,
    period_ms: u64,
    timeout_ms: u64,
    success: u32,
    failure: u32,
}

impl ProbeDoc {
    fn from_probe(probe: &Probe) -> Self {
        let (http, tcp, exec) = match &probe.action {
            ProbeAction::Http {
                port,
                path,
                headers,
            } => (Some((*port, path.clone(), headers.clone())), None, None),
            ProbeAction::Tcp { port } => (None, Some(*port), None),
            ProbeAction::Exec { command } => (None, None, Some(command.clone())),
        };
        Self {
            http,
            tcp,
            exec,
            delay_ms: probe.initial_delay.as_millis() as u64,
            period_ms: probe.period.as_millis() as u64,
            timeout_ms: probe.timeout.as_millis() as u64,
            success: probe.success_threshold,
            failure: probe.failure_threshold,
        }
    }

    fn to_probe(&self) -> Option<Probe> {
        let action = if let Some((port, path, headers)) = &self.http {
            ProbeAction::Http {
                port: *port,
                path: path.clone(),
                headers: headers.clone(),
            }
        } else if let Some(port) = self.tcp {
            ProbeAction::Tcp { port }
        } else {
            ProbeAction::Exec {
                command: self.exec.clone()?,
            }
        };
        Some(Probe {
            action,
            initial_delay: Duration::from_millis(self.delay_ms),
            period: Duration::from_millis(self.period_ms),
            timeout: Duration::from_millis(self.timeout_ms),
            success_threshold: self.success,
            failure_threshold: self.failure,
        })
    }
}

fn probes_label(spec: &GroupSpec) -> String {
    let doc = ProbesDoc {
        startup: spec.startup.as_ref().map(ProbeDoc::from_probe),
        readiness: spec.readiness.as_ref().map(ProbeDoc::from_probe),
        liveness: spec.liveness.as_ref().map(ProbeDoc::from_probe),
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

fn probes_of(labels: &BTreeMap<String, String>) -> Probes {
    let doc: ProbesDoc = labels
        .get(PROBES_LABEL)
        .and_then(|value| serde_json::from_str(value).ok())
        .unwrap_or_default();
    Probes {
        startup: doc.startup.and_then(|p| p.to_probe()),
        readiness: doc.readiness.and_then(|p| p.to_probe()),
        liveness: doc.liveness.and_then(|p| p.to_probe()),
    }
}

/// One container as seen on an engine.
#[derive(Clone, Debug)]
struct Seen {
    engine: usize,
    status: InstanceStatus,
    /// Creation time as the engine reports it (RFC 3339, sorts by time).
    created: String,
    grace: Duration,
}

/// What one engine holds.
struct EngineView {
    /// Live Ferry containers on it, every namespace.
    live_count: u32,
    /// The containers of the namespace asked for.
    instances: Vec<Seen>,
}

fn label_filter(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    )])
}

impl DockerRuntime {
    /// A runtime named `name` over `engines` (one Ferry host each). Connects lazily: an
    /// engine that does not answer yet is reported `Unreachable` until it does.
    pub fn new(name: impl Into<String>, engines: Vec<EngineConfig>) -> Result<Self, DockerError> {
        if engines.is_empty() {
            return Err(DockerError::Invalid(
                "a docker runtime needs at least one engine".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        for engine in &engines {
            if engine.host.is_empty() || !seen.insert(engine.host.clone()) {
                return Err(DockerError::Invalid(format!(
                    "engine host ids must be unique and not empty (got {:?})",
                    engine.host
                )));
            }
            if !engine.endpoint.starts_with("unix://")
                && !engine.endpoint.starts_with("tcp://")
                && !engine.endpoint.starts_with("http://")
            {
                return Err(DockerError::Invalid(format!(
                    "engine {} endpoint {:?} is neither unix:// nor tcp://",
                    engine.host, engine.endpoint
                )));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.into(),
                engines: engines
                    .into_iter()
                    .map(|e| Engine::new(e.host, e.endpoint, e.region, e.zone))
                    .collect(),
                health: Mutex::default(),
                probers: Mutex::default(),
                last_seen: Mutex::default(),
                groups: Mutex::default(),
                events: broadcast::channel(1024).0,
                background: Mutex::default(),
                draining: Mutex::default(),
                drain: DEFAULT_DRAIN,
                network_creation: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Sets how long a removed instance stays up, unready, before it is stopped (default
    /// [`DEFAULT_DRAIN`]; zero stops it at once).
    pub fn with_drain(mut self, drain: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.drain = drain;
        }
        self
    }

    /// How many probers run now (for tests and metrics).
    pub fn prober_count(&self) -> usize {
        lock(&self.inner.probers)
            .values()
            .filter(|p| !p.handle.is_finished())
            .count()
    }
}

// === impl Inner ===

impl Inner {
    fn host_info(&self, engine: usize) -> HostInfo {
        let e = &self.engines[engine];
        HostInfo {
            host: e.host.clone(),
            region: e.region.clone(),
            zone: e.zone.clone(),
        }
    }

    /// Lists an engine: the live count and the inspected containers of `namespace`.
    async fn view(
        &self,
        engine: usize,
        namespace: Option<&str>,
    ) -> Result<EngineView, DockerError> {
        let e = &self.engines[engine];
        e.ping().await?;
        let summaries = e
            .call("list containers", READ_TIMEOUT, |d| async move {
                d.list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(label_filter(&[(labels::MANAGED, "true")])),
                    ..Default::default()
                }))
                .await
            })
            .await?;
        let mut live_count = 0;
        let mut ids = Vec::new();
        for summary in &summaries {
            use bollard::models::ContainerSummaryStateEnum as S;
            if matches!(
                summary.state,
                Some(S::CREATED) | Some(S::RUNNING) | Some(S::RESTARTING) | Some(S::PAUSED)
            ) {
                live_count += 1;
            }
            let in_namespace = summary
                .labels
                .as_ref()
                .and_then(|l| l.get(RUNTIME_NAMESPACE_LABEL))
                .is_some_and(|rns| Some(rns.as_str()) == namespace);
            if in_namespace && let Some(id) = &summary.id {
                ids.push(id.clone());
            }
        }
        let inspections =
            futures::future::join_all(ids.iter().map(|id| self.inspect(engine, id))).await;
        let mut instances = Vec::new();
        for inspection in inspections {
            match inspection {
                Ok(Some(inspect)) => instances.push(self.seen(engine, &inspect)),
                Ok(None) => {}
                Err(error) => return Err(error),
            }
        }
        if let Some(namespace) = namespace {
            lock(&self.last_seen).insert(
                (engine, namespace.to_string()),
                instances.iter().map(|s| s.status.clone()).collect(),
            );
        }
        Ok(EngineView {
            live_count,
            instances,
        })
    }

    /// Inspects a container; `None` when it is gone.
    async fn inspect(
        &self,
        engine: usize,
        container: &str,
    ) -> Result<Option<ContainerInspectResponse>, DockerError> {
        let id = container.to_string();
        match self.engines[engine]
            .call(
                format!("inspect container {container}"),
                READ_TIMEOUT,
                |d| async move {
                    d.inspect_container(&id, None::<InspectContainerOptions>)
                        .await
                },
            )
            .await
        {
            Ok(inspect) => Ok(Some(inspect)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// An inspected container as an instance, with the prober's view of its health.
    fn seen(&self, engine: usize, inspect: &ContainerInspectResponse) -> Seen {
        let labels_map: BTreeMap<String, String> = inspect
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
        let network = labels_map
            .get(RUNTIME_NAMESPACE_LABEL)
            .cloned()
            .unwrap_or_default();
        let mut status = instance_status(inspect, &network, &self.host_info(engine));
        let probes = probes_of(&labels_map);
        let health = lock(&self.health).get(&status.runtime_id).cloned();
        match (&health, status.phase) {
            (Some(health), InstancePhase::Running) => {
                status.started = health.started;
                status.ready = health.ready && !health.restarting;
                status.ready_since = if status.ready {
                    health.ready_since
                } else {
                    None
                };
                status.reason = health.reason.clone();
                status.message = health.message.clone();
                status.restart_count = status.restart_count.max(health.restart_count);
            }
            (Some(health), InstancePhase::Exited) if health.restarting => {
                // The adapter is restarting it in place after a liveness failure.
                status.phase = InstancePhase::Running;
                status.exit = None;
                status.started = false;
                status.ready = false;
                status.ready_since = None;
                status.reason = health.reason.clone();
                status.restart_count = status.restart_count.max(health.restart_count);
            }
            (Some(health), _) => {
                status.restart_count = status.restart_count.max(health.restart_count);
                status.ready = false;
                status.ready_since = None;
            }
            (None, InstancePhase::Running) => {
                // No prober has looked yet: not ready while a check is pending.
                status.started = probes.startup.is_none();
                status.ready = probes.startup.is_none() && probes.readiness.is_none();
                if !status.ready {
                    status.ready_since = None;
                    status.reason = "READINESS_CHECK_PENDING".into();
                }
            }
            (None, _) => {}
        }
        if status.phase == InstancePhase::Running
            && lock(&self.draining).contains(&status.runtime_id)
        {
            status.phase = InstancePhase::Terminating;
            status.reason = "DRAINING".into();
        }
        if status.phase != InstancePhase::Running {
            status.ready = false;
            status.ready_since = None;
        }
        let grace = inspect
            .config
            .as_ref()
            .and_then(|c| c.stop_timeout)
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or(Duration::from_secs(10));
        Seen {
            engine,
            status,
            created: inspect.created.clone().unwrap_or_default(),
            grace,
        }
    }

    /// Every engine's view of a namespace, in engine order.
    async fn views(&self, namespace: Option<&str>) -> Vec<Result<EngineView, DockerError>> {
        futures::future::join_all((0..self.engines.len()).map(|i| self.view(i, namespace))).await
    }

    /// What the adapter last saw of a namespace on an engine that does not answer now.
    fn unknown_instances(
        &self,
        engine: usize,
        namespace: &str,
        error: &DockerError,
    ) -> Vec<InstanceStatus> {
        lock(&self.last_seen)
            .get(&(engine, namespace.to_string()))
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut status| {
                status.phase = InstancePhase::Unknown;
                status.ready = false;
                status.ready_since = None;
                status.reason = "HOST_UNREACHABLE".into();
                status.message = error.to_string();
                status
            })
            .collect()
    }

    /// Starts probers for the running containers that have none.
    fn ensure_probers(self: &Arc<Self>, seen: &[Seen]) {
        let mut probers = lock(&self.probers);
        probers.retain(|_, p| !p.handle.is_finished());
        for s in seen {
            if s.status.phase != InstancePhase::Running
                || probers.contains_key(&s.status.runtime_id)
            {
                continue;
            }
            let probes = probes_of(&s.status.labels);
            let container = s.status.runtime_id.clone();
            lock(&self.health).entry(container.clone()).or_default();
            let handle = tokio::spawn(run_prober(Arc::downgrade(self), container.clone(), probes));
            probers.insert(
                container,
                Prober {
                    engine: s.engine,
                    handle,
                    grace: s.grace,
                    namespace: s.status.namespace.clone(),
                    deployment: s.status.deployment.clone(),
                    instance: s.status.instance.clone(),
                },
            );
        }
    }

    /// Stops (SIGTERM, SIGKILL after `grace`) and removes a container; gone is fine.
    async fn remove(
        &self,
        engine: usize,
        container: &str,
        grace: Duration,
    ) -> Result<(), DockerError> {
        if let Some(prober) = lock(&self.probers).remove(container) {
            prober.handle.abort();
        }
        let id = container.to_string();
        let seconds = grace.as_secs_f64().ceil() as i32;
        let stop = self.engines[engine]
            .call(
                format!("stop container {container}"),
                CALL_TIMEOUT + grace,
                |d| async move {
                    d.stop_container(
                        &id,
                        Some(StopContainerOptions {
                            t: Some(seconds),
                            signal: None,
                        }),
                    )
                    .await
                },
            )
            .await;
        match stop {
            Ok(()) => {}
            Err(error) if error.is_not_found() => {}
            // 304: already stopped.
            Err(DockerError::Engine { ref source, .. })
                if crate::error::status_code(source) == Some(304) => {}
            Err(error) => return Err(error),
        }
        let id = container.to_string();
        match self.engines[engine]
            .call(
                format!("remove container {container}"),
                CALL_TIMEOUT,
                |d| async move {
                    d.remove_container(
                        &id,
                        Some(RemoveContainerOptions {
                            force: true,
                            v: true,
                            ..Default::default()
                        }),
                    )
                    .await
                },
            )
            .await
        {
            Ok(()) => {}
            Err(error) if error.is_not_found() => {}
            // 409: removal already in progress.
            Err(DockerError::Engine { ref source, .. })
                if crate::error::status_code(source) == Some(409) => {}
            Err(error) => return Err(error),
        }
        lock(&self.health).remove(container);
        Ok(())
    }

    /// Creates the namespace's network on an engine unless it exists.
    async fn ensure_network(
        &self,
        engine: usize,
        namespace: &str,
        runtime_namespace: &str,
        extra: &BTreeMap<String, String>,
    ) -> Result<(), DockerError> {
        let e = &self.engines[engine];
        let _creating = self.network_creation.lock().await;
        let name = runtime_namespace.to_string();
        let networks = e
            .call("list networks", READ_TIMEOUT, |d| async move {
                d.list_networks(Some(ListNetworksOptions {
                    filters: Some(HashMap::from([("name".to_string(), vec![name])])),
                }))
                .await
            })
            .await?;
        // The name filter matches substrings: look for the exact name.
        let mut same_name: Vec<_> = networks
            .iter()
            .filter(|n| n.name.as_deref() == Some(runtime_namespace))
            .collect();
        if !same_name.is_empty() {
            // Another process (a second replica) may have made a twin: keep the oldest,
            // remove the others while nothing uses them (an attached one is left; the
            // engine refuses to remove it).
            same_name.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
            for twin in same_name.iter().skip(1) {
                let Some(id) = twin.id.clone() else { continue };
                let removed = e
                    .call(
                        format!("remove duplicate network {id}"),
                        CALL_TIMEOUT,
                        |d| {
                            let id = id.clone();
                            async move { d.remove_network(&id).await }
                        },
                    )
                    .await;
                if let Err(error) = removed {
                    tracing::warn!(%error, network = runtime_namespace, "a duplicate network stays");
                }
            }
            return Ok(());
        }
        let mut network_labels: HashMap<String, String> = extra.clone().into_iter().collect();
        network_labels.insert(labels::MANAGED.into(), "true".into());
        network_labels.insert(labels::NAMESPACE.into(), namespace.into());
        network_labels.insert(RUNTIME_NAMESPACE_LABEL.into(), runtime_namespace.into());
        let request = NetworkCreateRequest {
            name: runtime_namespace.to_string(),
            driver: Some("bridge".into()),
            labels: Some(network_labels),
            ..Default::default()
        };
        match e
            .call(
                format!("create network {runtime_namespace}"),
                CALL_TIMEOUT,
                |d| async move { d.create_network(request).await },
            )
            .await
        {
            Ok(_) => Ok(()),
            // 409: created meanwhile by another call.
            Err(DockerError::Engine { ref source, .. })
                if crate::error::status_code(source) == Some(409) =>
            {
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Creates, configures and starts one instance of `spec` on `engine`.
    async fn create_instance(
        self: &Arc<Self>,
        engine: usize,
        spec: &GroupSpec,
    ) -> Result<(), DockerError> {
        let e = &self.engines[engine];
        let instance = new_instance_id(&spec.deployment, &spec.revision);
        let name = container_name(&spec.runtime_namespace, &instance);
        let mut body = convert::container_body(spec, &instance);
        if let Some(container_labels) = body.labels.as_mut() {
            container_labels.insert(PROBES_LABEL.into(), probes_label(spec));
        }
        let create = |body: bollard::models::ContainerCreateBody| {
            let name = name.clone();
            e.call(
                format!("create container {name}"),
                CALL_TIMEOUT,
                |d| async move {
                    d.create_container(
                        Some(CreateContainerOptions {
                            name: Some(name),
                            ..Default::default()
                        }),
                        body,
                    )
                    .await
                },
            )
        };
        let created = match create(body.clone()).await {
            Ok(created) => created,
            Err(error) if error.is_not_found() => {
                self.pull(engine, &spec.image).await?;
                create(body).await.map_err(|error| {
                    if error.is_not_found() {
                        DockerError::Image {
                            image: spec.image.clone(),
                            message: error.to_string(),
                        }
                    } else {
                        error
                    }
                })?
            }
            Err(error) => return Err(error),
        };
        let id = created.id;
        if !spec.config_files.is_empty() {
            let archive = convert::config_files_tar(&spec.config_files)?;
            let container = id.clone();
            let upload = e
                .call(
                    format!("write config files into {name}"),
                    CALL_TIMEOUT,
                    |d| async move {
                        d.upload_to_container(
                            &container,
                            Some(UploadToContainerOptions {
                                path: "/".into(),
                                ..Default::default()
                            }),
                            bollard::body_full(archive.into()),
                        )
                        .await
                    },
                )
                .await;
            if let Err(error) = upload {
                let _ = self.remove(engine, &id, Duration::ZERO).await;
                return Err(error);
            }
        }
        let container = id.clone();
        if let Err(error) = e
            .call(
                format!("start container {name}"),
                CALL_TIMEOUT,
                |d| async move {
                    d.start_container(&container, None::<StartContainerOptions>)
                        .await
                },
            )
            .await
        {
            // The container stays, ended with the engine's message: the instance shows
            // as failed, and the group replaces it at the next apply.
            tracing::warn!(host = %e.host, container = %name, error = %error, "instance did not start");
        }
        tracing::info!(host = %e.host, container = %name, "instance created");
        if let Some(inspect) = self.inspect(engine, &id).await? {
            let seen = self.seen(engine, &inspect);
            self.ensure_probers(&[seen]);
        }
        Ok(())
    }

    /// Pulls an image that the engine lacks.
    async fn pull(&self, engine: usize, image: &str) -> Result<(), DockerError> {
        let docker = self.engines[engine].docker().await?;
        let options = CreateImageOptions {
            from_image: Some(image.to_string()),
            ..Default::default()
        };
        let pulled = tokio::time::timeout(
            Duration::from_secs(300),
            docker
                .create_image(Some(options), None, None)
                .try_collect::<Vec<_>>(),
        )
        .await;
        match pulled {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(DockerError::Image {
                image: image.to_string(),
                message: format!(
                    "not on engine {} and cannot be pulled: {error}",
                    self.engines[engine].host
                ),
            }),
            Err(_) => Err(DockerError::Image {
                image: image.to_string(),
                message: "pull timed out".into(),
            }),
        }
    }

    /// Finds the container of an instance on the engines that answer.
    async fn find(
        &self,
        runtime_namespace: &str,
        instance: &str,
    ) -> Result<Option<(usize, ContainerInspectResponse)>, DockerError> {
        let name = container_name(runtime_namespace, instance);
        let mut unreachable = None;
        for engine in 0..self.engines.len() {
            match self.inspect(engine, &name).await {
                Ok(Some(inspect)) => return Ok(Some((engine, inspect))),
                Ok(None) => {}
                Err(error @ DockerError::Unreachable { .. }) => unreachable = Some(error),
                Err(error) => return Err(error),
            }
        }
        match unreachable {
            Some(error) => Err(error),
            None => Ok(None),
        }
    }
}

impl ProberHost for Inner {
    fn update_health(&self, container: &str, update: &dyn Fn(&mut Health)) {
        update(lock(&self.health).entry(container.to_string()).or_default());
    }

    async fn target(&self, container: &str) -> Option<ProbeTarget> {
        let engine = lock(&self.probers).get(container).map(|p| p.engine)?;
        let inspect = self.inspect(engine, container).await.ok()??;
        let state = inspect.state.clone().unwrap_or_default();
        if state.status != Some(ContainerStateStatusEnum::RUNNING) {
            return None;
        }
        let seen = self.seen(engine, &inspect);
        Some(ProbeTarget {
            docker: self.engines[engine].docker().await.ok()?,
            container: container.to_string(),
            ip: seen.status.ip,
            published: seen
                .status
                .ports
                .iter()
                .filter_map(|p| Some((p.container_port, p.host_address?, p.host_port?)))
                .collect(),
        })
    }

    async fn restart(&self, container: &str) {
        let Some((engine, grace)) = lock(&self.probers)
            .get(container)
            .map(|p| (p.engine, p.grace))
        else {
            return;
        };
        let id = container.to_string();
        let seconds = grace.as_secs_f64().ceil() as i32;
        let host = self.engines[engine].host.clone();
        if let Err(error) = self.engines[engine]
            .call(
                format!("restart container {container}"),
                CALL_TIMEOUT + grace,
                |d| async move {
                    d.restart_container(
                        &id,
                        Some(RestartContainerOptions {
                            t: Some(seconds),
                            signal: None,
                        }),
                    )
                    .await
                },
            )
            .await
        {
            tracing::warn!(host = %host, container, error = %error, "restart after a liveness failure failed");
        } else {
            tracing::info!(host = %host, container, "restarted after a liveness failure");
        }
    }

    fn health_event(&self, container: &str, action: &str) {
        let event = lock(&self.probers)
            .get(container)
            .map(|p| RuntimeEvent::Instance {
                namespace: p.namespace.clone(),
                deployment: p.deployment.clone(),
                instance: p.instance.clone(),
                action: action.to_string(),
            });
        if let Some(event) = event {
            let _ = self.events.send(event);
        }
    }
}

fn unix_seconds(time: SystemTime) -> i32 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i32)
        .unwrap_or(0)
}

#[async_trait::async_trait]
impl Runtime for DockerRuntime {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Docker
    }

    async fn ensure_namespace(&self, spec: &NamespaceSpec) -> RuntimeResult<()> {
        convert::validate_runtime_namespace(&spec.runtime_namespace)?;
        let inner = &self.inner;
        let results =
            futures::future::join_all((0..inner.engines.len()).map(|engine| async move {
                inner.engines[engine].ping().await?;
                inner
                    .ensure_network(
                        engine,
                        &spec.namespace,
                        &spec.runtime_namespace,
                        &spec.labels,
                    )
                    .await
            }))
            .await;
        // Engines that do not answer get the network when a group is applied there.
        for result in results {
            match result {
                Ok(()) | Err(DockerError::Unreachable { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    async fn delete_namespace(&self, runtime_namespace: &str) -> RuntimeResult<()> {
        convert::validate_runtime_namespace(runtime_namespace)?;
        let inner = &self.inner;
        let results =
            futures::future::join_all((0..inner.engines.len()).map(|engine| async move {
                let view = inner.view(engine, Some(runtime_namespace)).await?;
                futures::future::try_join_all(
                    view.instances
                        .iter()
                        .map(|s| inner.remove(engine, &s.status.runtime_id, Duration::ZERO)),
                )
                .await?;
                let name = runtime_namespace.to_string();
                match inner.engines[engine]
                    .call(
                        format!("remove network {runtime_namespace}"),
                        CALL_TIMEOUT,
                        |d| async move { d.remove_network(&name).await },
                    )
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(error) if error.is_not_found() => Ok(()),
                    Err(error) => Err(error),
                }
            }))
            .await;
        lock(&inner.groups).retain(|(rns, _, _)| rns != runtime_namespace);
        lock(&inner.last_seen).retain(|(_, rns), _| rns != runtime_namespace);
        for result in results {
            result?;
        }
        Ok(())
    }

    async fn apply_group(&self, spec: &GroupSpec, replicas: u32) -> RuntimeResult<GroupStatus> {
        convert::validate_spec(spec)?;
        let inner = &self.inner;
        lock(&inner.groups).insert((
            spec.runtime_namespace.clone(),
            spec.deployment.clone(),
            spec.revision.clone(),
        ));
        let views = inner.views(Some(&spec.runtime_namespace)).await;
        let in_group =
            |s: &InstanceStatus| s.deployment == spec.deployment && s.revision == spec.revision;
        let mut hosts = Vec::new();
        let mut group: Vec<Seen> = Vec::new();
        for (engine, view) in views.iter().enumerate() {
            let e = &inner.engines[engine];
            let mut host = HostStatus {
                name: e.host.clone(),
                region: e.region.clone(),
                zone: e.zone.clone(),
                ..Default::default()
            };
            match view {
                Ok(view) => {
                    host.state = HostState::Ready;
                    host.instance_count = view.live_count;
                    group.extend(
                        view.instances
                            .iter()
                            .filter(|s| in_group(&s.status))
                            .cloned(),
                    );
                }
                Err(DockerError::Unreachable { .. }) => host.state = HostState::Unreachable,
                Err(error) => {
                    tracing::warn!(host = %e.host, error = %error, "engine listing failed");
                    host.state = HostState::NotReady;
                }
            }
            hosts.push(host);
        }

        // Ended instances: keep the newest few so that their exit is seen.
        let mut ended: Vec<&Seen> = group
            .iter()
            .filter(|s| {
                matches!(
                    s.status.phase,
                    InstancePhase::Exited | InstancePhase::Failed
                )
            })
            .collect();
        ended.sort_by(|a, b| b.created.cmp(&a.created));
        let removals: Vec<(usize, String, Duration)> = ended
            .iter()
            .skip(KEPT_ENDED)
            .map(|s| (s.engine, s.status.runtime_id.clone(), Duration::ZERO))
            .collect();

        // Extras: unready first, then the newest.
        let mut drains: Vec<(usize, String, Duration)> = Vec::new();
        let mut live: Vec<&Seen> = group.iter().filter(|s| s.status.is_live()).collect();
        let live_count = live.len();
        if live_count > replicas as usize {
            live.sort_by(|a, b| {
                a.status
                    .ready
                    .cmp(&b.status.ready)
                    .then_with(|| b.created.cmp(&a.created))
            });
            for s in live.iter().take(live_count - replicas as usize) {
                drains.push((s.engine, s.status.runtime_id.clone(), s.grace));
            }
        }
        // Extras leave through a drain: unready at once, stopped in the background.
        for (engine, id, grace) in drains {
            if !lock(&inner.draining).insert(id.clone()) {
                continue;
            }
            let this = inner.clone();
            let task = tokio::spawn(async move {
                tokio::time::sleep(this.drain).await;
                if let Err(error) = this.remove(engine, &id, grace).await {
                    tracing::warn!(container = %id, %error, "cannot remove a drained container");
                }
                lock(&this.draining).remove(&id);
            });
            let mut background = lock(&inner.background);
            background.retain(|task| !task.is_finished());
            background.push(task);
        }
        let removed = futures::future::join_all(
            removals
                .iter()
                .map(|(engine, id, grace)| inner.remove(*engine, id, *grace)),
        )
        .await;
        for result in removed {
            result?;
        }

        // Missing instances, placed one by one so that the counts stay true.
        let mut networks_ready = BTreeSet::new();
        let mut creations = Vec::new();
        // Spread the group: prefer the hosts holding the fewest of its instances, then the
        // least loaded (a lost host then takes as few of the group as possible).
        let mut group_counts: HashMap<String, u32> = HashMap::new();
        for s in group.iter().filter(|s| s.status.is_live()) {
            *group_counts.entry(s.status.host.clone()).or_default() += 1;
        }
        for _ in live_count..replicas as usize {
            // Spreading ranks below the spec's own preferences: only hosts the spec
            // would pick anyway (ready, in its region/zone, not avoided) are compared.
            let mut placement = spec.placement.clone();
            let fits = |h: &&HostStatus| {
                h.state == HostState::Ready
                    && spec
                        .placement
                        .region
                        .as_ref()
                        .is_none_or(|r| &h.region == r)
                    && spec.placement.zone.as_ref().is_none_or(|z| &h.zone == z)
                    && !spec.placement.excluded_hosts.contains(&h.name)
            };
            let preferred: Vec<&HostStatus> = hosts
                .iter()
                .filter(fits)
                .filter(|h| !spec.placement.avoid_hosts.contains(&h.name))
                .collect();
            let fewest = preferred
                .iter()
                .map(|h| group_counts.get(&h.name).copied().unwrap_or(0))
                .min()
                .unwrap_or(0);
            placement.avoid_hosts.extend(
                hosts
                    .iter()
                    .filter(|h| group_counts.get(&h.name).copied().unwrap_or(0) > fewest)
                    .map(|h| h.name.clone()),
            );
            let host = choose_host(&hosts, &placement)
                .map_err(|e| DockerError::Unschedulable(e.0))?
                .name
                .clone();
            *group_counts.entry(host.clone()).or_default() += 1;
            let engine = hosts
                .iter()
                .position(|h| h.name == host)
                .unwrap_or_default();
            hosts[engine].instance_count += 1;
            if networks_ready.insert(engine) {
                inner
                    .ensure_network(
                        engine,
                        &spec.namespace,
                        &spec.runtime_namespace,
                        &BTreeMap::new(),
                    )
                    .await?;
            }
            creations.push(engine);
        }
        let created = futures::future::join_all(
            creations
                .iter()
                .map(|engine| inner.create_instance(*engine, spec)),
        )
        .await;
        for result in created {
            result?;
        }
        inner.ensure_probers(&group);

        let instances = self.list_instances(&spec.runtime_namespace).await?;
        Ok(GroupStatus {
            instances: instances.into_iter().filter(|s| in_group(s)).collect(),
        })
    }

    async fn delete_group(
        &self,
        runtime_namespace: &str,
        deployment: &str,
        revision: &str,
    ) -> RuntimeResult<()> {
        convert::validate_runtime_namespace(runtime_namespace)?;
        let inner = &self.inner;
        let views = inner.views(Some(runtime_namespace)).await;
        let mut removals = Vec::new();
        for (engine, view) in views.iter().enumerate() {
            match view {
                Ok(view) => removals.extend(
                    view.instances
                        .iter()
                        .filter(|s| {
                            s.status.deployment == deployment && s.status.revision == revision
                        })
                        .map(|s| (engine, s.status.runtime_id.clone(), s.grace)),
                ),
                // What is left on an engine that does not answer shows in list_groups
                // when it comes back, and is deleted then.
                Err(DockerError::Unreachable { .. }) => {}
                Err(error) => return Err(RuntimeError::Other(error.to_string())),
            }
        }
        let removed = futures::future::join_all(
            removals
                .iter()
                .map(|(engine, id, grace)| inner.remove(*engine, id, *grace)),
        )
        .await;
        for result in removed {
            result?;
        }
        lock(&inner.groups).remove(&(runtime_namespace.into(), deployment.into(), revision.into()));
        Ok(())
    }

    async fn list_groups(&self, runtime_namespace: &str) -> RuntimeResult<Vec<GroupRef>> {
        let instances = self.list_instances(runtime_namespace).await?;
        let mut groups: BTreeSet<GroupRef> = instances
            .into_iter()
            .map(|s| GroupRef {
                deployment: s.deployment,
                revision: s.revision,
            })
            .collect();
        for (rns, deployment, revision) in lock(&self.inner.groups).iter() {
            if rns == runtime_namespace {
                groups.insert(GroupRef {
                    deployment: deployment.clone(),
                    revision: revision.clone(),
                });
            }
        }
        Ok(groups.into_iter().collect())
    }

    async fn delete_instance(
        &self,
        runtime_namespace: &str,
        instance: &str,
        grace: Duration,
    ) -> RuntimeResult<()> {
        convert::validate_runtime_namespace(runtime_namespace)?;
        match self.inner.find(runtime_namespace, instance).await? {
            Some((engine, inspect)) => {
                let id = inspect.id.unwrap_or_default();
                self.inner.remove(engine, &id, grace).await?;
                Ok(())
            }
            None => Ok(()),
        }
    }

    async fn list_instances(&self, runtime_namespace: &str) -> RuntimeResult<Vec<InstanceStatus>> {
        convert::validate_runtime_namespace(runtime_namespace)?;
        let inner = &self.inner;
        let views = inner.views(Some(runtime_namespace)).await;
        let mut out = Vec::new();
        let mut seen_all = Vec::new();
        for (engine, view) in views.into_iter().enumerate() {
            match view {
                Ok(view) => {
                    out.extend(view.instances.iter().map(|s| s.status.clone()));
                    seen_all.extend(view.instances);
                }
                Err(error @ DockerError::Unreachable { .. }) => {
                    out.extend(inner.unknown_instances(engine, runtime_namespace, &error));
                }
                Err(error) => return Err(error.into()),
            }
        }
        inner.ensure_probers(&seen_all);
        out.sort_by(|a, b| a.instance.cmp(&b.instance));
        Ok(out)
    }

    async fn instance_usage(
        &self,
        runtime_namespace: &str,
        instance: &str,
    ) -> RuntimeResult<Option<ResourceUsage>> {
        convert::validate_runtime_namespace(runtime_namespace)?;
        let Some((engine, inspect)) = self.inner.find(runtime_namespace, instance).await? else {
            return Err(RuntimeError::NotFound(format!("instance {instance}")));
        };
        if inspect.state.and_then(|s| s.status) != Some(ContainerStateStatusEnum::RUNNING) {
            return Ok(None);
        }
        let id = inspect.id.unwrap_or_default();
        let stats = self.inner.engines[engine]
            .call(
                format!("stats of {instance}"),
                READ_TIMEOUT,
                |d| async move {
                    // Not one-shot: the engine samples twice, a second apart, so that the
                    // CPU delta covers a real interval.
                    let mut stream = Box::pin(d.stats(
                        &id,
                        Some(StatsOptions {
                            stream: false,
                            one_shot: false,
                        }),
                    ));
                    match stream.next().await {
                        Some(result) => result.map(Some),
                        None => Ok(None),
                    }
                },
            )
            .await?;
        Ok(stats.map(|stats| ResourceUsage {
            cpu_millis: convert::cpu_millis(&stats),
            memory_bytes: convert::memory_working_set(&stats),
            at: SystemTime::now(),
        }))
    }

    async fn logs(
        &self,
        runtime_namespace: &str,
        instance: &str,
        options: LogOptions,
    ) -> RuntimeResult<BoxStream<'static, RuntimeResult<LogLine>>> {
        convert::validate_runtime_namespace(runtime_namespace)?;
        let Some((engine, inspect)) = self.inner.find(runtime_namespace, instance).await? else {
            return Err(RuntimeError::NotFound(format!("instance {instance}")));
        };
        let docker = self.inner.engines[engine].docker().await?;
        let id = inspect.id.unwrap_or_default();
        let host = self.inner.engines[engine].host.clone();
        let stream = docker
            .logs(
                &id,
                Some(LogsOptions {
                    follow: options.follow,
                    stdout: true,
                    stderr: true,
                    since: options.since.map(unix_seconds).unwrap_or(0),
                    until: 0,
                    timestamps: true,
                    tail: options
                        .tail
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "all".into()),
                }),
            )
            .map(move |item| match item {
                Ok(output) => Ok(log_line(output)),
                Err(error) => Err(RuntimeError::from(DockerError::Engine {
                    host: host.clone(),
                    operation: "read logs".into(),
                    source: error,
                })),
            });
        // The request starts now rather than at the caller's first poll, so that a
        // follower sees the lines written right after this call returns; the task ends
        // with the stream or when the caller drops it.
        let (sender, receiver) = tokio::sync::mpsc::channel(256);
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                if sender.send(item).await.is_err() {
                    return;
                }
            }
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(receiver).boxed())
    }

    async fn hosts(&self) -> RuntimeResult<Vec<HostStatus>> {
        let inner = &self.inner;
        let hosts = futures::future::join_all(inner.engines.iter().enumerate().map(
            |(index, e)| async move {
                let mut host = HostStatus {
                    name: e.host.clone(),
                    display_name: e.host.clone(),
                    region: e.region.clone(),
                    zone: e.zone.clone(),
                    address: e.endpoint.clone(),
                    labels: BTreeMap::from([
                        (labels::REGION.to_string(), e.region.clone()),
                        (labels::ZONE.to_string(), e.zone.clone()),
                    ]),
                    ..Default::default()
                };
                let info = async {
                    e.ping().await?;
                    let info = e
                        .call("info", READ_TIMEOUT, |d| async move { d.info().await })
                        .await?;
                    let view = inner.view(index, None).await?;
                    Ok::<_, DockerError>((info, view.live_count))
                };
                match info.await {
                    Ok((info, live)) => {
                        host.state = HostState::Ready;
                        host.display_name = info.name.unwrap_or_else(|| e.host.clone());
                        host.cpu_millis = info.ncpu.unwrap_or(0).max(0) as u64 * 1000;
                        host.memory_bytes = info.mem_total.unwrap_or(0).max(0) as u64;
                        host.instance_count = live;
                        host.runtime_version =
                            format!("docker {}", info.server_version.unwrap_or_default());
                        host.os = info.os_type.unwrap_or_default();
                        host.architecture = info.architecture.unwrap_or_default();
                    }
                    Err(error) => {
                        host.state = HostState::Unreachable;
                        host.message = error.to_string();
                    }
                }
                host
            },
        ))
        .await;
        Ok(hosts)
    }

    fn events(&self) -> BoxStream<'static, RuntimeEvent> {
        crate::events::subscribe(&self.inner)
    }
}

fn log_line(output: LogOutput) -> LogLine {
    let (source, message) = match output {
        LogOutput::StdErr { message } => (LogSource::Stderr, message),
        LogOutput::StdOut { message }
        | LogOutput::Console { message }
        | LogOutput::StdIn { message } => (LogSource::Stdout, message),
    };
    // With timestamps, every line starts with `<RFC 3339 time> `.
    match message.iter().position(|b| *b == b' ') {
        Some(space) => {
            let time = std::str::from_utf8(&message[..space])
                .ok()
                .and_then(convert::parse_time);
            match time {
                Some(time) => LogLine {
                    source,
                    time: Some(time),
                    data: message.slice(space + 1..),
                },
                None => LogLine {
                    source,
                    time: None,
                    data: message,
                },
            }
        }
        None => LogLine {
            source,
            time: None,
            data: message,
        },
    }
}
