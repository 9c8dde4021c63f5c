//! An in-memory [`Runtime`] for controller tests: it keeps real state (namespaces,
//! hosts, groups, instances), places instances with [`crate::placement`], and lets a test
//! kill instances, lose hosts and mark images as crashing or never ready. Feature
//! `testing`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use crate::*;

/// The in-memory runtime. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct MemoryRuntime {
    name: String,
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<RuntimeEvent>,
}

#[derive(Default)]
struct State {
    hosts: Vec<HostStatus>,
    namespaces: BTreeSet<String>,
    /// (runtime namespace, deployment, revision) → (spec, replicas).
    groups: BTreeMap<(String, String, String), (GroupSpec, u32)>,
    /// (runtime namespace, instance) → (creation sequence, status).
    instances: BTreeMap<(String, String), (u64, InstanceStatus)>,
    sequence: u64,
    crashing_images: BTreeSet<String>,
    unready_images: BTreeSet<String>,
    usage: BTreeMap<String, ResourceUsage>,
    applied: Vec<(GroupSpec, u32)>,
}

impl MemoryRuntime {
    /// A runtime named `name` with one ready host `host-1` (region `r1`, zone `z1`).
    pub fn new(name: &str) -> Self {
        let runtime = Self {
            name: name.to_string(),
            state: Arc::default(),
            events: broadcast::channel(1024).0,
        };
        runtime.add_host("host-1", "r1", "z1");
        runtime
    }

    /// Adds a ready host.
    pub fn add_host(&self, name: &str, region: &str, zone: &str) {
        self.lock().hosts.push(HostStatus {
            name: name.into(),
            display_name: name.into(),
            region: region.into(),
            zone: zone.into(),
            state: HostState::Ready,
            cpu_millis: 2000,
            memory_bytes: 4 << 30,
            runtime_version: "memory".into(),
            os: "linux".into(),
            architecture: "amd64".into(),
            ..Default::default()
        });
    }

    /// Sets a host's state; the instances of an unreachable host turn `Unknown`.
    pub fn set_host_state(&self, host: &str, state: HostState) {
        let mut guard = self.lock();
        for entry in guard.hosts.iter_mut().filter(|h| h.name == host) {
            entry.state = state;
        }
        for (_, instance) in guard.instances.values_mut().filter(|(_, i)| i.host == host) {
            if state == HostState::Unreachable {
                instance.phase = InstancePhase::Unknown;
                instance.ready = false;
                instance.reason = "HOST_UNREACHABLE".into();
            }
        }
        drop(guard);
        let _ = self.events.send(RuntimeEvent::Host {
            host: host.into(),
            state,
        });
    }

    /// Instances created from `image` from now on exit at once with code 1.
    pub fn crash_image(&self, image: &str) {
        self.lock().crashing_images.insert(image.into());
    }

    /// Instances created from `image` from now on run but never become ready.
    pub fn never_ready_image(&self, image: &str) {
        self.lock().unready_images.insert(image.into());
    }

    /// Kills an instance: it shows `Exited` with signal 9.
    pub fn kill(&self, runtime_namespace: &str, instance: &str) {
        let mut guard = self.lock();
        let Some((_, status)) = guard
            .instances
            .get_mut(&(runtime_namespace.into(), instance.into()))
        else {
            return;
        };
        status.phase = InstancePhase::Exited;
        status.ready = false;
        status.exit = Some(Exit {
            code: 137,
            signal: 9,
            reason: "KILLED".into(),
            finished_at: Some(SystemTime::now()),
        });
        let event = instance_event(status, "die");
        drop(guard);
        let _ = self.events.send(event);
    }

    /// Sets what `instance_usage` reports for an instance.
    pub fn set_usage(&self, instance: &str, cpu_millis: u64, memory_bytes: u64) {
        self.lock().usage.insert(
            instance.into(),
            ResourceUsage {
                cpu_millis,
                memory_bytes,
                at: SystemTime::now(),
            },
        );
    }

    /// Every `apply_group` call, in order.
    pub fn applied(&self) -> Vec<(GroupSpec, u32)> {
        self.lock().applied.clone()
    }

    /// The size a group was last given, if it exists.
    pub fn group_size(
        &self,
        runtime_namespace: &str,
        deployment: &str,
        revision: &str,
    ) -> Option<u32> {
        self.lock()
            .groups
            .get(&(runtime_namespace.into(), deployment.into(), revision.into()))
            .map(|(_, replicas)| *replicas)
    }

    /// Whether the runtime side of a namespace exists.
    pub fn has_namespace(&self, runtime_namespace: &str) -> bool {
        self.lock().namespaces.contains(runtime_namespace)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl MemoryRuntime {
    fn place(&self, guard: &mut State, spec: &GroupSpec) -> RuntimeResult<InstanceStatus> {
        let mut hosts = guard.hosts.clone();
        for host in &mut hosts {
            host.instance_count = guard
                .instances
                .values()
                .filter(|(_, i)| i.host == host.name && i.is_live())
                .count() as u32;
        }
        let host = placement::choose_host(&hosts, &spec.placement)
            .map_err(|error| RuntimeError::Unschedulable(error.0))?
            .clone();
        guard.sequence += 1;
        let sequence = guard.sequence;
        let instance = format!("{}-{}-{:05}", spec.deployment, spec.revision, sequence);
        let now = SystemTime::now();
        let crashing = guard.crashing_images.contains(&spec.image);
        let unready = guard.unready_images.contains(&spec.image);
        let mut labels = spec.labels.clone();
        labels.insert(labels::MANAGED.into(), "true".into());
        labels.insert(labels::NAMESPACE.into(), spec.namespace.clone());
        labels.insert(labels::DEPLOYMENT.into(), spec.deployment.clone());
        labels.insert(labels::REVISION.into(), spec.revision.clone());
        labels.insert(labels::INSTANCE.into(), instance.clone());
        let status = InstanceStatus {
            namespace: spec.namespace.clone(),
            deployment: spec.deployment.clone(),
            revision: spec.revision.clone(),
            instance: instance.clone(),
            runtime_id: format!("mem-{sequence}"),
            display_name: instance.clone(),
            host: host.name.clone(),
            region: host.region.clone(),
            zone: host.zone.clone(),
            phase: if crashing {
                InstancePhase::Exited
            } else {
                InstancePhase::Running
            },
            started: !crashing,
            ready: !crashing && !unready,
            reason: if unready {
                "READINESS_CHECK_FAILED".into()
            } else {
                String::new()
            },
            message: String::new(),
            ip: Some(std::net::IpAddr::from([
                10,
                0,
                (sequence >> 8) as u8,
                sequence as u8,
            ])),
            ports: spec
                .ports
                .iter()
                .map(|port| PublishedPort {
                    name: port.name.clone(),
                    container_port: port.container_port,
                    protocol: port.protocol,
                    host_address: None,
                    host_port: None,
                })
                .collect(),
            restart_count: 0,
            started_at: Some(now),
            ready_since: (!crashing && !unready).then_some(now),
            exit: crashing.then(|| Exit {
                code: 1,
                signal: 0,
                reason: "ERROR".into(),
                finished_at: Some(now),
            }),
            labels,
        };
        guard.instances.insert(
            (spec.runtime_namespace.clone(), instance),
            (sequence, status.clone()),
        );
        Ok(status)
    }
}

fn instance_event(status: &InstanceStatus, action: &str) -> RuntimeEvent {
    RuntimeEvent::Instance {
        namespace: status.namespace.clone(),
        deployment: status.deployment.clone(),
        instance: status.instance.clone(),
        action: action.into(),
    }
}

#[async_trait::async_trait]
impl Runtime for MemoryRuntime {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Docker
    }

    async fn ensure_namespace(&self, spec: &NamespaceSpec) -> RuntimeResult<()> {
        self.lock()
            .namespaces
            .insert(spec.runtime_namespace.clone());
        Ok(())
    }

    async fn delete_namespace(&self, runtime_namespace: &str) -> RuntimeResult<()> {
        let mut guard = self.lock();
        guard.namespaces.remove(runtime_namespace);
        guard.instances.retain(|(ns, _), _| ns != runtime_namespace);
        guard.groups.retain(|(ns, _, _), _| ns != runtime_namespace);
        Ok(())
    }

    async fn apply_group(&self, spec: &GroupSpec, replicas: u32) -> RuntimeResult<GroupStatus> {
        let mut guard = self.lock();
        if !guard.namespaces.contains(&spec.runtime_namespace) {
            return Err(RuntimeError::NotFound(format!(
                "namespace {}",
                spec.runtime_namespace
            )));
        }
        guard.applied.push((spec.clone(), replicas));
        guard.groups.insert(
            (
                spec.runtime_namespace.clone(),
                spec.deployment.clone(),
                spec.revision.clone(),
            ),
            (spec.clone(), replicas),
        );
        let in_group = |status: &InstanceStatus| {
            status.deployment == spec.deployment && status.revision == spec.revision
        };
        let mut live: Vec<(u64, String, bool)> = guard
            .instances
            .iter()
            .filter(|((ns, _), (_, status))| {
                ns == &spec.runtime_namespace && in_group(status) && status.is_live()
            })
            .map(|((_, name), (seq, status))| (*seq, name.clone(), status.ready))
            .collect();
        let mut events = Vec::new();
        // Too many: unready first, then the newest.
        live.sort_by_key(|(seq, _, ready)| (*ready, std::cmp::Reverse(*seq)));
        while live.len() > replicas as usize {
            let (_, name, _) = live.remove(0);
            if let Some((_, status)) = guard
                .instances
                .remove(&(spec.runtime_namespace.clone(), name))
            {
                events.push(instance_event(&status, "destroy"));
            }
        }
        // Too few: place new ones.
        while live.len() < replicas as usize {
            let status = self.place(&mut guard, spec)?;
            events.push(instance_event(&status, "start"));
            live.push((0, status.instance.clone(), status.ready));
        }
        let instances = guard
            .instances
            .iter()
            .filter(|((ns, _), (_, status))| ns == &spec.runtime_namespace && in_group(status))
            .map(|(_, (_, status))| status.clone())
            .collect();
        drop(guard);
        for event in events {
            let _ = self.events.send(event);
        }
        Ok(GroupStatus { instances })
    }

    async fn delete_group(
        &self,
        runtime_namespace: &str,
        deployment: &str,
        revision: &str,
    ) -> RuntimeResult<()> {
        let mut guard = self.lock();
        guard
            .groups
            .remove(&(runtime_namespace.into(), deployment.into(), revision.into()));
        guard.instances.retain(|(ns, _), (_, status)| {
            !(ns == runtime_namespace
                && status.deployment == deployment
                && status.revision == revision)
        });
        Ok(())
    }

    async fn list_groups(&self, runtime_namespace: &str) -> RuntimeResult<Vec<GroupRef>> {
        Ok(self
            .lock()
            .groups
            .keys()
            .filter(|(ns, _, _)| ns == runtime_namespace)
            .map(|(_, deployment, revision)| GroupRef {
                deployment: deployment.clone(),
                revision: revision.clone(),
            })
            .collect())
    }

    async fn delete_instance(
        &self,
        runtime_namespace: &str,
        instance: &str,
        _grace: Duration,
    ) -> RuntimeResult<()> {
        let mut guard = self.lock();
        let key = (runtime_namespace.to_string(), instance.to_string());
        if let Some((_, status)) = guard.instances.get(&key) {
            let unreachable = guard
                .hosts
                .iter()
                .any(|h| h.name == status.host && h.state == HostState::Unreachable);
            if unreachable {
                return Err(RuntimeError::Unavailable(format!(
                    "host {} does not answer",
                    status.host
                )));
            }
        }
        if let Some((_, status)) = guard.instances.remove(&key) {
            drop(guard);
            let _ = self.events.send(instance_event(&status, "destroy"));
        }
        Ok(())
    }

    async fn list_instances(&self, runtime_namespace: &str) -> RuntimeResult<Vec<InstanceStatus>> {
        Ok(self
            .lock()
            .instances
            .iter()
            .filter(|((ns, _), _)| ns == runtime_namespace)
            .map(|(_, (_, status))| status.clone())
            .collect())
    }

    async fn instance_usage(
        &self,
        _runtime_namespace: &str,
        instance: &str,
    ) -> RuntimeResult<Option<ResourceUsage>> {
        Ok(self.lock().usage.get(instance).copied())
    }

    async fn logs(
        &self,
        runtime_namespace: &str,
        instance: &str,
        _options: LogOptions,
    ) -> RuntimeResult<BoxStream<'static, RuntimeResult<LogLine>>> {
        let guard = self.lock();
        if !guard
            .instances
            .contains_key(&(runtime_namespace.into(), instance.into()))
        {
            return Err(RuntimeError::NotFound(format!("instance {instance}")));
        }
        let line = LogLine {
            source: LogSource::Stdout,
            time: Some(SystemTime::now()),
            data: bytes::Bytes::from(format!("{instance} started\n")),
        };
        Ok(futures::stream::iter([Ok(line)]).boxed())
    }

    async fn hosts(&self) -> RuntimeResult<Vec<HostStatus>> {
        let guard = self.lock();
        Ok(guard
            .hosts
            .iter()
            .map(|host| HostStatus {
                instance_count: guard
                    .instances
                    .values()
                    .filter(|(_, i)| i.host == host.name && i.is_live())
                    .count() as u32,
                ..host.clone()
            })
            .collect())
    }

    fn events(&self) -> BoxStream<'static, RuntimeEvent> {
        BroadcastStream::new(self.events.subscribe())
            .filter_map(|event| async move { event.ok() })
            .boxed()
    }
}
