//! Ferry's Kubernetes runtime: a [`Runtime`] on a Kubernetes cluster, through kube-rs.
//!
//! How Ferry's terms map to Kubernetes:
//! - A Ferry namespace's runtime side is a Kubernetes namespace labelled
//!   `ferry.dev/managed=true` and `ferry.dev/namespace`.
//! - A group (the instances of one revision of one deployment) is one ReplicaSet named
//!   `{deployment}-{revision}`, applied with server-side apply (field manager `ferry`).
//!   The ReplicaSet and its pods carry the [`ferry_runtime::labels`] plus the spec's
//!   labels. Keeping the size (replacing dead pods, removing extras) is the ReplicaSet
//!   controller's job.
//! - An instance is a pod. The ReplicaSet controller names pods
//!   `{deployment}-{revision}-{5 characters}`, so **the Ferry instance id is the pod
//!   name**; pods carry no `ferry.dev/instance` label of their own (one template serves
//!   every pod), and [`InstanceStatus::labels`] gets it set to the pod name, as on the other
//!   runtimes.
//! - Secret env values ([`EnvValue::Secret`](ferry_runtime::EnvValue::Secret)) and config
//!   files go into a Secret named like the ReplicaSet and owned by it; the pod refers to
//!   them (`secretKeyRef`, a Secret volume mounted file by file). Plain env stays plain.
//! - Placement is required node affinity on `topology.kubernetes.io/region` / `zone`, a
//!   preference against `avoid_hosts`, and a soft spread over zones. Probes are kubelet
//!   probes. Hosts are nodes; cordoning a host cordons its node
//!   ([`Runtime::set_host_schedulable`]), so `Placement::excluded_hosts` is not needed here.
//! - `apply_group` returns the group's pods as listed right after the apply: a new group
//!   shows its pods once the ReplicaSet controller has created them (a later
//!   `list_instances`). A group being deleted (foreground: the ReplicaSet waits for its
//!   pods) cannot be applied again until it is gone ([`RuntimeError::Unavailable`]).
//! - [`Runtime::events`] watches pods and nodes; hints name the pod as the instance.
//! - Kubernetes mixes stdout and stderr in one log: every [`LogLine`] says `Stdout`.
//! - `instance_usage` reads metrics.k8s.io and is `None` where the cluster has no metrics
//!   API.
//! - `PortSpec::publish` has no meaning here (instances are reached on their pod IP), and
//!   `GroupSpec::aliases` are left to Ferry's routing (Kubernetes Services).

mod error;
pub mod objects;
pub mod status;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
#[cfg(doc)]
use ferry_runtime::RuntimeError;
use ferry_runtime::{
    GroupRef, GroupSpec, GroupStatus, HostStatus, InstanceStatus, LogLine, LogOptions, LogSource,
    NamespaceSpec, ResourceUsage, Runtime, RuntimeEvent, RuntimeKind, RuntimeResult, labels,
};
use futures::stream::BoxStream;
use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Config};

pub use error::KubeError;

/// The field manager of Ferry's server-side applies.
pub const FIELD_MANAGER: &str = "ferry";

/// A Kubernetes cluster as a Ferry runtime. Cheap to clone (the client is shared).
#[derive(Clone)]
pub struct KubeRuntime {
    name: String,
    client: Client,
}

impl std::fmt::Debug for KubeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeRuntime")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

// === impl KubeRuntime ===

impl KubeRuntime {
    /// A runtime named `name` (its name in the deploy service's configuration) on the
    /// cluster `client` talks to.
    pub fn new(name: impl Into<String>, client: Client) -> Self {
        Self {
            name: name.into(),
            client,
        }
    }

    /// A runtime on the cluster of a kubeconfig file (its current context).
    pub async fn from_kubeconfig(
        name: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<Self, KubeError> {
        let path = path.as_ref();
        let kubeconfig = kube::config::Kubeconfig::read_from(path)
            .map_err(|e| KubeError::Config(format!("{}: {e}", path.display())))?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .map_err(|e| KubeError::Config(format!("{}: {e}", path.display())))?;
        Self::from_config(name, config)
    }

    /// A runtime on the cluster it runs in (service account token and the
    /// `KUBERNETES_SERVICE_HOST` / `_PORT` environment).
    pub fn in_cluster(name: impl Into<String>) -> Result<Self, KubeError> {
        let config = Config::incluster().map_err(|e| KubeError::Config(e.to_string()))?;
        Self::from_config(name, config)
    }

    fn from_config(name: impl Into<String>, config: Config) -> Result<Self, KubeError> {
        let client = Client::try_from(config).map_err(|e| KubeError::Config(e.to_string()))?;
        Ok(Self::new(name, client))
    }

    /// The client (for tests and tools that look at the objects themselves).
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn pods(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn replica_sets(&self, namespace: &str) -> Api<ReplicaSet> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn secrets(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn node_infos(&self) -> Result<HashMap<String, status::NodeInfo>, KubeError> {
        let nodes = Api::<Node>::all(self.client.clone())
            .list(&ListParams::default())
            .await
            .map_err(|e| KubeError::api("list nodes", e))?;
        Ok(status::node_infos(&nodes.items))
    }

    /// The Ferry instances of a namespace matching `selector`, sorted by name.
    async fn instances(
        &self,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<InstanceStatus>, KubeError> {
        let pods = self
            .pods(namespace)
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| KubeError::api(format!("list pods in {namespace}"), e))?;
        let nodes = self.node_infos().await?;
        let mut instances: Vec<InstanceStatus> = pods
            .items
            .iter()
            .map(|pod| status::instance_status(pod, &nodes))
            .collect();
        instances.sort_by(|a, b| a.instance.cmp(&b.instance));
        Ok(instances)
    }

    /// Applies a group's objects: the Secret first (so that pods never wait for it), then
    /// the ReplicaSet, then the Secret again with the ReplicaSet as its owner (its uid only
    /// exists now). Later applies of an existing group only re-apply the ReplicaSet.
    async fn apply_group_objects(&self, spec: &GroupSpec, replicas: u32) -> Result<(), KubeError> {
        objects::validate(spec)?;
        let namespace = &spec.runtime_namespace;
        let name = objects::group_name(&spec.deployment, &spec.revision);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let replica_sets = self.replica_sets(namespace);
        let existing = replica_sets
            .get_opt(&name)
            .await
            .map_err(|e| KubeError::api(format!("get replicaset {namespace}/{name}"), e))?;
        if existing
            .as_ref()
            .is_some_and(|rs| rs.metadata.deletion_timestamp.is_some())
        {
            // A deleted group cannot be brought back until its pods are gone.
            return Err(KubeError::Busy(format!(
                "replicaset {namespace}/{name} is being deleted; apply the group again when \
                 it is gone"
            )));
        }
        let secrets = self.secrets(namespace);
        if existing.is_none()
            && let Some(secret) = objects::secret(spec, None)
        {
            secrets
                .patch(&name, &params, &Patch::Apply(&secret))
                .await
                .map_err(|e| KubeError::api(format!("apply secret {namespace}/{name}"), e))?;
        }
        let applied = replica_sets
            .patch(
                &name,
                &params,
                &Patch::Apply(&objects::replica_set(spec, replicas)),
            )
            .await
            .map_err(|e| KubeError::api(format!("apply replicaset {namespace}/{name}"), e))?;
        if existing.is_none()
            && let Some(uid) = applied.metadata.uid.as_deref()
            && let Some(secret) = objects::secret(spec, Some(uid))
        {
            secrets
                .patch(&name, &params, &Patch::Apply(&secret))
                .await
                .map_err(|e| KubeError::api(format!("own secret {namespace}/{name}"), e))?;
        }
        tracing::debug!(namespace = %namespace, group = %name, replicas, "applied group");
        Ok(())
    }

    async fn delete_group_objects(
        &self,
        namespace: &str,
        deployment: &str,
        revision: &str,
    ) -> Result<(), KubeError> {
        let name = objects::group_name(deployment, revision);
        // Foreground: the ReplicaSet stays (marked deleted) until its pods are gone, so
        // the group cannot be re-created under its terminating pods.
        ignore_not_found(
            self.replica_sets(namespace)
                .delete(&name, &DeleteParams::foreground())
                .await
                .map(|_| ())
                .map_err(|e| KubeError::api(format!("delete replicaset {namespace}/{name}"), e)),
        )?;
        ignore_not_found(
            self.secrets(namespace)
                .delete(&name, &DeleteParams::background())
                .await
                .map(|_| ())
                .map_err(|e| KubeError::api(format!("delete secret {namespace}/{name}"), e)),
        )
    }

    /// Usage from metrics.k8s.io, `None` when the cluster has no metrics API (or no
    /// sample of the pod yet).
    async fn usage(
        &self,
        namespace: &str,
        instance: &str,
    ) -> Result<Option<ResourceUsage>, KubeError> {
        let path = format!("/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{instance}");
        let request = http::Request::get(&path)
            .body(Vec::new())
            .map_err(|e| KubeError::Decode(format!("metrics request: {e}")))?;
        let metrics: serde_json::Value = match self.client.request(request).await {
            Ok(value) => value,
            Err(kube::Error::Api(status)) if matches!(status.code, 404 | 503) => return Ok(None),
            Err(e) => return Err(KubeError::api(format!("get pod metrics {path}"), e)),
        };
        let mut cpu_millis: u128 = 0;
        let mut memory_bytes: u64 = 0;
        for container in metrics["containers"].as_array().into_iter().flatten() {
            let usage = &container["usage"];
            cpu_millis += usage["cpu"]
                .as_str()
                .and_then(status::quantity_millis)
                .unwrap_or(0);
            memory_bytes += usage["memory"]
                .as_str()
                .and_then(status::quantity_units)
                .unwrap_or(0);
        }
        let at = metrics["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
            .map(SystemTime::from)
            .unwrap_or_else(SystemTime::now);
        Ok(Some(ResourceUsage {
            cpu_millis: u64::try_from(cpu_millis).unwrap_or(u64::MAX),
            memory_bytes,
            at,
        }))
    }
}

/// Treats a 404 as success (deletes are idempotent).
fn ignore_not_found(result: Result<(), KubeError>) -> Result<(), KubeError> {
    match result {
        Err(error) if error.is_not_found() => Ok(()),
        other => other,
    }
}

/// Splits the RFC 3339 timestamp the API server puts before each log line.
fn log_line(mut line: Vec<u8>) -> LogLine {
    let time = line.iter().position(|b| *b == b' ').and_then(|space| {
        let stamp = std::str::from_utf8(&line[..space]).ok()?;
        let time = stamp.parse::<k8s_openapi::jiff::Timestamp>().ok()?;
        Some((space, SystemTime::from(time)))
    });
    match time {
        Some((space, time)) => {
            line.drain(..=space);
            LogLine {
                source: LogSource::Stdout,
                time: Some(time),
                data: Bytes::from(line),
            }
        }
        None => LogLine {
            source: LogSource::Stdout,
            time: None,
            data: Bytes::from(line),
        },
    }
}

#[async_trait::async_trait]
impl Runtime for KubeRuntime {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Kubernetes
    }

    async fn ensure_namespace(&self, spec: &NamespaceSpec) -> RuntimeResult<()> {
        objects::validate_namespace_name(&spec.runtime_namespace)?;
        Api::<Namespace>::all(self.client.clone())
            .patch(
                &spec.runtime_namespace,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&objects::namespace(spec)),
            )
            .await
            .map_err(|e| {
                KubeError::api(format!("apply namespace {}", spec.runtime_namespace), e)
            })?;
        Ok(())
    }

    async fn delete_namespace(&self, runtime_namespace: &str) -> RuntimeResult<()> {
        objects::validate_namespace_name(runtime_namespace)?;
        let deleted = Api::<Namespace>::all(self.client.clone())
            .delete(runtime_namespace, &DeleteParams::background())
            .await
            .map(|_| ())
            .map_err(|e| KubeError::api(format!("delete namespace {runtime_namespace}"), e));
        match deleted {
            // 404: already gone; 409: already being deleted (the API server refuses a second
            // delete while the namespace controller empties it).
            Err(error) if matches!(error.status_code(), Some(404 | 409)) => Ok(()),
            other => Ok(other?),
        }
    }

    async fn apply_group(&self, spec: &GroupSpec, replicas: u32) -> RuntimeResult<GroupStatus> {
        self.apply_group_objects(spec, replicas).await?;
        let instances = self
            .instances(
                &spec.runtime_namespace,
                &objects::group_selector(&spec.deployment, &spec.revision),
            )
            .await?;
        Ok(GroupStatus { instances })
    }

    async fn delete_group(
        &self,
        runtime_namespace: &str,
        deployment: &str,
        revision: &str,
    ) -> RuntimeResult<()> {
        Ok(self
            .delete_group_objects(runtime_namespace, deployment, revision)
            .await?)
    }

    async fn list_groups(&self, runtime_namespace: &str) -> RuntimeResult<Vec<GroupRef>> {
        let list = self
            .replica_sets(runtime_namespace)
            .list(&ListParams::default().labels(&objects::managed_selector()))
            .await
            .map_err(|e| KubeError::api(format!("list replicasets in {runtime_namespace}"), e))?;
        let mut groups: Vec<GroupRef> = list
            .items
            .iter()
            .filter(|rs| rs.metadata.deletion_timestamp.is_none())
            .filter_map(|rs| {
                let rs_labels = rs.metadata.labels.as_ref()?;
                Some(GroupRef {
                    deployment: rs_labels.get(labels::DEPLOYMENT)?.clone(),
                    revision: rs_labels.get(labels::REVISION)?.clone(),
                })
            })
            .collect();
        groups.sort();
        Ok(groups)
    }

    async fn delete_instance(
        &self,
        runtime_namespace: &str,
        instance: &str,
        grace: Duration,
    ) -> RuntimeResult<()> {
        let params = DeleteParams {
            grace_period_seconds: Some(u32::try_from(grace.as_secs()).unwrap_or(u32::MAX)),
            ..DeleteParams::default()
        };
        ignore_not_found(
            self.pods(runtime_namespace)
                .delete(instance, &params)
                .await
                .map(|_| ())
                .map_err(|e| {
                    KubeError::api(format!("delete pod {runtime_namespace}/{instance}"), e)
                }),
        )?;
        Ok(())
    }

    async fn list_instances(&self, runtime_namespace: &str) -> RuntimeResult<Vec<InstanceStatus>> {
        Ok(self
            .instances(runtime_namespace, &objects::managed_selector())
            .await?)
    }

    async fn instance_usage(
        &self,
        runtime_namespace: &str,
        instance: &str,
    ) -> RuntimeResult<Option<ResourceUsage>> {
        Ok(self.usage(runtime_namespace, instance).await?)
    }

    async fn logs(
        &self,
        runtime_namespace: &str,
        instance: &str,
        options: LogOptions,
    ) -> RuntimeResult<BoxStream<'static, RuntimeResult<LogLine>>> {
        let params = LogParams {
            container: Some(objects::CONTAINER.into()),
            follow: options.follow,
            tail_lines: options.tail.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            since_time: options
                .since
                .and_then(|since| k8s_openapi::jiff::Timestamp::try_from(since).ok()),
            timestamps: true,
            ..LogParams::default()
        };
        let reader = self
            .pods(runtime_namespace)
            .log_stream(instance, &params)
            .await
            .map_err(|e| {
                KubeError::api(format!("logs of pod {runtime_namespace}/{instance}"), e)
            })?;
        let what = format!("logs of pod {runtime_namespace}/{instance}");
        let lines = futures::stream::unfold(Some(Box::pin(reader)), move |reader_opt| {
            let what = what.clone();
            async move {
                let mut reader = reader_opt?;
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line).await {
                    Ok(0) => None,
                    Ok(_) => Some((Ok(log_line(line)), Some(reader))),
                    Err(e) => Some((
                        Err(ferry_runtime::RuntimeError::Unavailable(format!(
                            "{what}: {e}"
                        ))),
                        None,
                    )),
                }
            }
        });
        Ok(lines.boxed())
    }

    async fn hosts(&self) -> RuntimeResult<Vec<HostStatus>> {
        let nodes = Api::<Node>::all(self.client.clone())
            .list(&ListParams::default())
            .await
            .map_err(|e| KubeError::api("list nodes", e))?;
        let pods = Api::<Pod>::all(self.client.clone())
            .list(&ListParams::default().labels(&objects::managed_selector()))
            .await
            .map_err(|e| KubeError::api("list ferry pods", e))?;
        let infos = status::node_infos(&nodes.items);
        let mut counts: HashMap<String, u32> = HashMap::new();
        for pod in &pods.items {
            let instance = status::instance_status(pod, &infos);
            if instance.is_live() && !instance.host.is_empty() {
                *counts.entry(instance.host).or_default() += 1;
            }
        }
        let mut hosts: Vec<HostStatus> = nodes
            .items
            .iter()
            .map(|node| {
                let name = node.metadata.name.clone().unwrap_or_default();
                status::host_status(node, counts.get(&name).copied().unwrap_or(0))
            })
            .collect();
        hosts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(hosts)
    }

    /// Cordons (`schedulable == false`) or uncordons the node named `host`, as
    /// `kubectl cordon` / `uncordon` do: a merge patch of `spec.unschedulable` (removed
    /// when uncordoning). The scheduler then places no new pod there; running pods stay.
    /// While cordoned, [`Runtime::hosts`] reports the node `NotReady` ("the node is
    /// cordoned"). An unknown node is [`RuntimeError::NotFound`].
    async fn set_host_schedulable(&self, host: &str, schedulable: bool) -> RuntimeResult<()> {
        let unschedulable = if schedulable {
            serde_json::Value::Null
        } else {
            serde_json::Value::Bool(true)
        };
        let patch = serde_json::json!({ "spec": { "unschedulable": unschedulable } });
        let what = if schedulable {
            format!("uncordon node {host}")
        } else {
            format!("cordon node {host}")
        };
        Api::<Node>::all(self.client.clone())
            .patch(host, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| KubeError::api(what, e))?;
        tracing::info!(node = host, schedulable, "node schedulability set");
        Ok(())
    }

    /// Watches Ferry pods (label `ferry.dev/managed=true`) and nodes. Inside a tokio
    /// runtime the watches start at once, in a task that ends when the stream is dropped,
    /// so changes from this call on are hinted; the first list of each watch only records
    /// what exists. Hints are dropped (never blocked on) when the reader lags 1024 behind.
    fn events(&self) -> BoxStream<'static, RuntimeEvent> {
        let hints = hint_stream(self.client.clone());
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return hints;
        };
        let (sender, receiver) = tokio::sync::mpsc::channel(1024);
        handle.spawn(async move {
            let mut hints = hints;
            loop {
                tokio::select! {
                    _ = sender.closed() => break,
                    hint = hints.next() => {
                        let Some(hint) = hint else { break };
                        match sender.try_send(hint) {
                            Ok(()) => {}
                            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                                tracing::debug!("runtime hint dropped: the reader lags");
                            }
                            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => break,
                        }
                    }
                }
            }
        });
        futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|hint| (hint, receiver))
        })
        .boxed()
    }
}

/// Hints from watches of Ferry pods and of nodes; lazy (the watches start when polled) and
/// endless (the watchers retry with backoff).
fn hint_stream(client: Client) -> BoxStream<'static, RuntimeEvent> {
    let pods = watcher(
        Api::<Pod>::all(client.clone()),
        watcher::Config::default().labels(&objects::managed_selector()),
    )
    .default_backoff();
    let nodes = watcher(Api::<Node>::all(client), watcher::Config::default()).default_backoff();
    let pod_hints = pods
        .scan(status::PodHints::default(), |hints, item| {
            let out = match item {
                Ok(event) => hints.handle(event),
                Err(error) => {
                    tracing::debug!(%error, "pod watch failed; retrying");
                    Vec::new()
                }
            };
            futures::future::ready(Some(futures::stream::iter(out)))
        })
        .flatten();
    let node_hints = nodes
        .scan(status::NodeHints::default(), |hints, item| {
            let out = match item {
                Ok(event) => hints.handle(event),
                Err(error) => {
                    tracing::debug!(%error, "node watch failed; retrying");
                    Vec::new()
                }
            };
            futures::future::ready(Some(futures::stream::iter(out)))
        })
        .flatten();
    futures::stream::select(pod_hints, node_hints).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_lose_their_timestamp_prefix() {
        let line = log_line(b"2026-11-26T09:00:00.123456789Z hello world\n".to_vec());
        assert_eq!(&line.data[..], b"hello world\n");
        assert!(line.time.is_some());
        let plain = log_line(b"no timestamp here\n".to_vec());
        assert_eq!(&plain.data[..], b"no timestamp here\n");
        assert!(plain.time.is_none());
    }

    #[test]
    fn errors_map_to_runtime_errors() {
        use ferry_runtime::RuntimeError;
        let api = |code: u16| {
            RuntimeError::from(KubeError::api(
                "get pod x",
                kube::Error::Api(Box::new(
                    kube::core::Status::failure("boom", "Reason").with_code(code),
                )),
            ))
        };
        assert!(matches!(api(404), RuntimeError::NotFound(m) if m.contains("get pod x")));
        assert!(matches!(api(422), RuntimeError::Invalid(_)));
        assert!(matches!(api(503), RuntimeError::Unavailable(_)));
        assert!(matches!(api(429), RuntimeError::Unavailable(_)));
        assert!(matches!(api(403), RuntimeError::Other(_)));
        assert!(matches!(
            RuntimeError::from(KubeError::Busy("later".into())),
            RuntimeError::Unavailable(_)
        ));
        assert!(matches!(
            RuntimeError::from(KubeError::Invalid("bad".into())),
            RuntimeError::Invalid(_)
        ));
    }
}
