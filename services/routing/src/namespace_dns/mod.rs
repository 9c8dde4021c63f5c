//! Namespace DNS: a Service's names inside its namespace's Docker network.
//!
//! On the local Docker runtime every instance of a namespace sits on one bridge network
//! per engine (named after the runtime namespace), where the engine's DNS resolves
//! container aliases. For every Service targeting a deployment, the routing service
//! runs one **endpoint container** per engine that has the namespace's network:
//! `ferry-svc.<runtime namespace>.<service>`, labelled `ferry.dev/managed-by=routing`,
//! with the network aliases `svc`, `svc.ns` and `svc.ns.svc.cluster.local`, running
//! `ferry-forward` (crate `ferry-forward`) whose configuration forwards each Service port
//! to the target's instances on that engine, at their address on the network and the
//! target port ([`plan::desired_endpoints`], pure). A changed configuration is uploaded
//! into the running container (the forwarder re-reads it within 250 ms); a Service gone,
//! a namespace being deleted or a network gone removes the endpoint; containers with the
//! label that no Service explains (orphans) are removed.
//!
//! The containers are shared state on the engines, so one replica drives them: the
//! leader of `routing-namespace-dns` ([`ferry_ops::leader`]). It watches Services,
//! deployments, instances and namespaces in etcd and moves every engine toward the plan
//! at each change and every [`RESYNC`] (containers killed or removed behind its back).
//! Endpoints outlive a leader change and a shutdown of the routing service: in-network
//! clients keep working while no replica leads, and the next leader adopts them (it
//! uploads each one's configuration once, then only changes). Two leaders overlapping
//! for a moment (a paused old leader) at worst create the same container twice (the
//! engine refuses the second name) or upload one configuration twice; the next pass
//! converges.
//!
//! Settings ([`NamespaceDnsSettings::from_env`]): `FERRY_DOCKER_ENGINES` (the deploy
//! service's format and engines) turns it on; `FERRY_ROUTING_FORWARDER_BINARY` names the
//! static `ferry-forward` binary imported as a one-file image into each engine.
//!
//! Not done: instances on another engine are not backends (a container reaches only its
//! own engine's bridge); client-IP affinity is a hash of the client address (no idle
//! timeout); UDP ports are not forwarded. A Service named like a deployment of its
//! namespace shares the short name `svc` with that deployment's instances (the deploy
//! runtime's alias), so the engine's DNS answers both; `svc.ns` and the full name are
//! the Service's alone.

mod engine;
pub mod plan;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::ferry::common::v1::ContainerPort;
use ferry_proto::ferry::deploy::v1::{Deployment, Instance, ListInstancesResponse, Namespace};
use ferry_proto::ferry::routing::v1::Service;
use ferry_store::Store;
use ferry_store::typed;
use ferry_store::watch::{Watcher, WatcherOptions};
use tokio_util::sync::CancellationToken;

use self::engine::EngineClient;
use self::plan::ServiceInput;
use crate::dataplane::DataPlaneError;
use crate::layout;
use crate::programmer::apply_update;
use crate::service::model;

/// The leader election name.
pub const CONTROLLER: &str = "routing-namespace-dns";
/// How often the leader looks at the engines while nothing changes in etcd.
pub const RESYNC: Duration = Duration::from_secs(1);

/// One Docker engine of `FERRY_DOCKER_ENGINES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerEngine {
    /// The Ferry host id (instances report `hosts/{host}`).
    pub host: String,
    /// `unix:///…` or `tcp://…`.
    pub endpoint: String,
}

/// Parses `FERRY_DOCKER_ENGINES` as the deploy service does (`host=endpoint[@region/zone],…`;
/// the location is not needed here).
pub fn parse_docker_engines(value: &str) -> anyhow::Result<Vec<DockerEngine>> {
    let mut engines = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (host, rest) = entry.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("FERRY_DOCKER_ENGINES: {entry:?} is not host=endpoint[@region/zone]")
        })?;
        let endpoint = rest.rsplit_once('@').map_or(rest, |(endpoint, _)| endpoint);
        if host.is_empty() || !(endpoint.starts_with("unix://") || endpoint.starts_with("tcp://")) {
            anyhow::bail!(
                "FERRY_DOCKER_ENGINES: {entry:?}: the endpoint must start with unix:// or tcp://"
            );
        }
        engines.push(DockerEngine {
            host: host.to_string(),
            endpoint: endpoint.to_string(),
        });
    }
    Ok(engines)
}

/// What namespace DNS needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceDnsSettings {
    /// The engines the deploy service's Docker runtime uses.
    pub engines: Vec<DockerEngine>,
    /// The static `ferry-forward` binary.
    pub forwarder_binary: PathBuf,
}

impl NamespaceDnsSettings {
    /// `None` unless `FERRY_DOCKER_ENGINES` names engines; then
    /// `FERRY_ROUTING_FORWARDER_BINARY` must name the static `ferry-forward` binary.
    pub fn from_env(env: &HashMap<String, String>) -> anyhow::Result<Option<Self>> {
        let Some(value) = env
            .get("FERRY_DOCKER_ENGINES")
            .filter(|v| !v.trim().is_empty())
        else {
            return Ok(None);
        };
        let engines = parse_docker_engines(value)?;
        let binary = env
            .get("FERRY_ROUTING_FORWARDER_BINARY")
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "FERRY_DOCKER_ENGINES is set, so namespace DNS needs \
                     FERRY_ROUTING_FORWARDER_BINARY: the path of the static ferry-forward \
                     binary (RUSTFLAGS='-C target-feature=+crt-static' cargo build -p \
                     ferry-forward --release --target x86_64-unknown-linux-gnu)"
                )
            })?;
        Ok(Some(NamespaceDnsSettings {
            engines,
            forwarder_binary: PathBuf::from(binary),
        }))
    }
}

/// The namespace DNS controller.
pub struct NamespaceDns {
    engines: Vec<EngineClient>,
    image_tag: String,
    rootfs: Vec<u8>,
}

impl std::fmt::Debug for NamespaceDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceDns")
            .field(
                "engines",
                &self.engines.iter().map(|e| &e.host).collect::<Vec<_>>(),
            )
            .field("image_tag", &self.image_tag)
            .finish_non_exhaustive()
    }
}

/// What the leader's watches have shown.
#[derive(Default)]
struct View {
    services: BTreeMap<String, Service>,
    instances: BTreeMap<String, Vec<Instance>>,
    declared: BTreeMap<String, Vec<ContainerPort>>,
    /// Namespace id (`dev`) → whether it is being deleted.
    namespaces: BTreeMap<String, bool>,
}

impl NamespaceDns {
    /// Reads the forwarder binary; fails when it cannot be read or is not an ELF file.
    pub fn new(settings: &NamespaceDnsSettings) -> anyhow::Result<Self> {
        let path = &settings.forwarder_binary;
        let binary = std::fs::read(path).map_err(|e| {
            anyhow::anyhow!(
                "FERRY_ROUTING_FORWARDER_BINARY: cannot read {}: {e}",
                path.display()
            )
        })?;
        if !binary.starts_with(b"\x7fELF") {
            anyhow::bail!(
                "FERRY_ROUTING_FORWARDER_BINARY: {} is not an executable (ELF) file",
                path.display()
            );
        }
        let mut hasher = DefaultHasher::new();
        hasher.write(&binary);
        let rootfs = engine::forwarder_rootfs(&binary)
            .map_err(|e| anyhow::anyhow!("forwarder image: {e}"))?;
        Ok(NamespaceDns {
            engines: settings
                .engines
                .iter()
                .map(|e| EngineClient::new(e.host.clone(), e.endpoint.clone()))
                .collect(),
            image_tag: format!("ferry-routing/forward:{:016x}", hasher.finish()),
            rootfs,
        })
    }

    /// Campaigns for leadership and drives the engines while leading, until `stop`.
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        identity: String,
        lease_ttl: Duration,
        stop: CancellationToken,
    ) {
        loop {
            let Some(leadership) =
                ferry_ops::leader::campaign(store.clone(), CONTROLLER, &identity, lease_ttl, &stop)
                    .await
            else {
                return;
            };
            let session = CancellationToken::new();
            let lost = leadership.lost();
            let ended = session.clone();
            let stopping = stop.clone();
            let watchdog = tokio::spawn(async move {
                tokio::select! {
                    _ = lost.cancelled() => {}
                    _ = stopping.cancelled() => {}
                }
                ended.cancel();
            });
            self.lead(store.clone(), session).await;
            watchdog.abort();
            // Lost, stopping, or a watch ended: give the key up at once either way (a
            // lost one fails to revoke, harmlessly).
            let _ = leadership.resign().await;
            if stop.is_cancelled() {
                return;
            }
            tracing::warn!(
                controller = CONTROLLER,
                "no longer leading; campaigning again"
            );
        }
    }

    /// Watches etcd and syncs the engines until `session` ends.
    async fn lead(&self, store: Arc<dyn Store>, session: CancellationToken) {
        let options = || WatcherOptions {
            cancel: Some(session.clone()),
            ..Default::default()
        };
        let mut services =
            Watcher::with_options(store.clone(), layout::services_prefix(None), options());
        let mut instances =
            Watcher::with_options(store.clone(), layout::instances_prefix(), options());
        let mut deployments =
            Watcher::with_options(store.clone(), layout::deployments_prefix(), options());
        let mut namespaces =
            Watcher::with_options(store.clone(), layout::namespaces_prefix(), options());
        let mut view = View::default();
        let mut ready = [false; 4];
        // Container id → the configuration uploaded into it during this leadership.
        let mut applied: HashMap<String, String> = HashMap::new();
        let mut resync = tokio::time::interval(RESYNC);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = session.cancelled() => return,
                update = services.next() => {
                    let Some(update) = update else { return };
                    ready[0] = true;
                    apply_update(&mut view.services, update, |kv| {
                        let name = layout::service_name(&kv.key)?.to_string();
                        let service = typed::decode_msg::<Service>(&kv.key, &kv.value).ok()?;
                        Some((name, service))
                    }, |key| layout::service_name(key).map(str::to_string));
                }
                update = instances.next() => {
                    let Some(update) = update else { return };
                    ready[1] = true;
                    apply_update(&mut view.instances, update, |kv| {
                        let deployment = layout::instances_deployment(&kv.key)?.to_string();
                        let record = typed::decode_msg::<ListInstancesResponse>(&kv.key, &kv.value).ok()?;
                        Some((deployment, record.instances))
                    }, |key| layout::instances_deployment(key).map(str::to_string));
                }
                update = deployments.next() => {
                    let Some(update) = update else { return };
                    ready[2] = true;
                    apply_update(&mut view.declared, update, |kv| {
                        let name = layout::deployment_name(&kv.key)?.to_string();
                        let deployment = typed::decode_msg::<Deployment>(&kv.key, &kv.value).ok()?;
                        Some((name, deployment.template.map(|t| t.ports).unwrap_or_default()))
                    }, |key| layout::deployment_name(key).map(str::to_string));
                }
                update = namespaces.next() => {
                    let Some(update) = update else { return };
                    ready[3] = true;
                    let id_of = |key: &str| {
                        layout::namespace_name(key)
                            .and_then(|n| n.strip_prefix("namespaces/"))
                            .map(str::to_string)
                    };
                    apply_update(&mut view.namespaces, update, |kv| {
                        let id = id_of(&kv.key)?;
                        let namespace = typed::decode_msg::<Namespace>(&kv.key, &kv.value).ok()?;
                        let deleting = namespace.state()
                            == ferry_proto::ferry::deploy::v1::namespace::State::Deleting;
                        Some((id, deleting))
                    }, id_of);
                }
                _ = resync.tick() => {}
            }
            // Until every watch delivered its snapshot, a missing Service may only be not
            // seen yet: do not remove anything.
            if ready.iter().all(|r| *r) {
                self.sync(&view, &mut applied).await;
            }
        }
    }

    /// Moves every engine toward the plan; failures are logged and retried next pass.
    async fn sync(&self, view: &View, applied: &mut HashMap<String, String>) {
        let inputs: Vec<ServiceInput<'_>> = view
            .services
            .values()
            .map(|service| {
                let target = model::target_deployment(service).unwrap_or_default();
                ServiceInput {
                    service,
                    instances: view
                        .instances
                        .get(target)
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                    declared: view
                        .declared
                        .get(target)
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                }
            })
            .collect();
        let live: BTreeSet<&str> = view
            .namespaces
            .iter()
            .filter(|(_, deleting)| !**deleting)
            .map(|(id, _)| id.as_str())
            .collect();
        for engine in &self.engines {
            if let Err(error) = self.sync_engine(engine, &live, &inputs, applied).await {
                tracing::warn!(engine = %engine.host, %error, "cannot sync namespace DNS endpoints; retrying");
            }
        }
    }

    async fn sync_engine(
        &self,
        engine: &EngineClient,
        live: &BTreeSet<&str>,
        inputs: &[ServiceInput<'_>],
        applied: &mut HashMap<String, String>,
    ) -> Result<(), DataPlaneError> {
        let mut networks = engine.namespace_networks().await?;
        networks.retain(|namespace, _| live.contains(namespace.as_str()));
        let desired = plan::desired_endpoints(&engine.host, &networks, inputs);
        let mut found = engine.endpoints().await?;
        let image_id = if desired.is_empty() {
            String::new()
        } else {
            engine.ensure_image(&self.image_tag, &self.rootfs).await?
        };
        for endpoint in &desired {
            let current = found.remove(&endpoint.container_name);
            if let Err(error) = self
                .ensure_endpoint(engine, endpoint, current, &image_id, applied)
                .await
            {
                tracing::warn!(engine = %engine.host, endpoint = %endpoint.container_name, %error, "cannot update endpoint; retrying");
            }
        }
        for (name, orphan) in found {
            match engine.remove(&orphan.id).await {
                Ok(()) => {
                    applied.remove(&orphan.id);
                    tracing::info!(engine = %engine.host, endpoint = %name, "endpoint removed");
                }
                Err(error) => {
                    tracing::warn!(engine = %engine.host, endpoint = %name, %error, "cannot remove endpoint; retrying");
                }
            }
        }
        Ok(())
    }

    /// Moves one endpoint toward `endpoint`: uploads a changed configuration into a
    /// running container of the current image; replaces a stopped or outdated one;
    /// creates a missing one (a half-made container is replaced at the next pass).
    async fn ensure_endpoint(
        &self,
        engine: &EngineClient,
        endpoint: &plan::Endpoint,
        current: Option<engine::Found>,
        image_id: &str,
        applied: &mut HashMap<String, String>,
    ) -> Result<(), DataPlaneError> {
        match current {
            Some(current) if current.running && current.image_id == image_id => {
                if applied.get(&current.id) != Some(&endpoint.config) {
                    engine.upload_config(&current.id, &endpoint.config).await?;
                    tracing::info!(engine = %engine.host, endpoint = %endpoint.container_name, config = %endpoint.config.trim().replace('\n', "; "), "endpoint configuration updated");
                    applied.insert(current.id, endpoint.config.clone());
                }
            }
            stale => {
                if let Some(stale) = stale {
                    // Stopped, or an older forwarder image: replaced.
                    engine.remove(&stale.id).await?;
                    applied.remove(&stale.id);
                }
                let id = engine.create(endpoint, image_id).await?;
                tracing::info!(engine = %engine.host, endpoint = %endpoint.container_name, aliases = ?endpoint.aliases, "endpoint created");
                applied.insert(id, endpoint.config.clone());
            }
        }
        Ok(())
    }
}
