//! The programming loop every routing replica runs: it watches the routed objects and
//! the deploy service's observed instances in etcd, computes every object's
//! [`Program`] (pure, [`crate::service::model::program`],
//! [`crate::external::model::program`]) and applies the ones that changed to this
//! replica's [`DataPlane`].
//!
//! Nothing is kept that a restart would lose: on start the watches begin with a
//! snapshot, and programs the data plane holds that no object names any more are
//! removed. An apply that fails (e.g. a node port bound by another process) is retried
//! every [`RETRY`], which is also how often external entries' host names are looked up
//! again (when their resolution is older than [`crate::resolve::REFRESH`]) and their
//! fail-open state is decided.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::ferry::common::v1::ContainerPort;
use ferry_proto::ferry::deploy::v1::{Deployment, Instance, ListInstancesResponse};
use ferry_proto::ferry::routing::v1::{BlueGreenEntry, Service};
use ferry_store::watch::{WatchUpdate, Watcher, WatcherOptions};
use ferry_store::{KeyValue, Store, WatchEvent, typed};
use tokio_util::sync::CancellationToken;

use crate::bluegreen;
use crate::dataplane::{DataPlane, Program};
use crate::external;
use crate::external::model::ExternalRecord;
use crate::layout;
use crate::resolve::Resolver;
use crate::service::model::{self, ProgramTuning};

/// Delay between retries of programs that failed to apply (and between fail-open
/// decisions of external entries).
pub const RETRY: Duration = Duration::from_millis(500);

/// Applies every routed object to one replica's data plane.
pub struct Programmer {
    store: Arc<dyn Store>,
    data_plane: Arc<dyn DataPlane>,
    tuning: ProgramTuning,
    resolver: Arc<Resolver>,
}

/// What the watches have shown so far.
#[derive(Default)]
struct View {
    /// Service name → (configuration, generation).
    services: BTreeMap<String, (Service, i64)>,
    /// Blue-green entry name → (record, generation).
    entries: BTreeMap<String, (BlueGreenEntry, i64)>,
    /// External entry name → its record.
    externals: BTreeMap<String, ExternalRecord>,
    /// Deployment name → its observed instances.
    instances: HashMap<String, Vec<Instance>>,
    /// Deployment name → the ports its template declares.
    declared: BTreeMap<String, Vec<ContainerPort>>,
}

impl View {
    fn programs(
        &self,
        tuning: &ProgramTuning,
        resolved: &HashMap<String, Vec<IpAddr>>,
        fail_open: &HashSet<String>,
    ) -> BTreeMap<String, Program> {
        let mut programs = BTreeMap::new();
        for (name, (service, generation)) in &self.services {
            let target = model::target_deployment(service).unwrap_or_default();
            let instances = self
                .instances
                .get(target)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let declared = self
                .declared
                .get(target)
                .map(Vec::as_slice)
                .unwrap_or_default();
            programs.insert(
                name.clone(),
                model::program(service, *generation, instances, declared, tuning),
            );
        }
        for (name, (entry, generation)) in &self.entries {
            let active = bluegreen::model::as_service(entry);
            let target = model::target_deployment(&active).unwrap_or_default();
            let instances = self
                .instances
                .get(target)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let declared = self
                .declared
                .get(target)
                .map(Vec::as_slice)
                .unwrap_or_default();
            programs.insert(
                name.clone(),
                bluegreen::model::program(entry, *generation, instances, declared, tuning),
            );
        }
        for (name, record) in &self.externals {
            if let Some(program) =
                external::model::program(record, resolved, fail_open.contains(name))
            {
                programs.insert(name.clone(), program);
            }
        }
        programs
    }
}

impl Programmer {
    /// Programs `data_plane` from `store`.
    pub fn new(
        store: Arc<dyn Store>,
        data_plane: Arc<dyn DataPlane>,
        tuning: ProgramTuning,
        resolver: Arc<Resolver>,
    ) -> Self {
        Programmer {
            store,
            data_plane,
            tuning,
            resolver,
        }
    }

    /// Runs until `stop` is cancelled, then removes every program from the data plane.
    pub async fn run(self, stop: CancellationToken) {
        let options = || WatcherOptions {
            cancel: Some(stop.clone()),
            ..Default::default()
        };
        let mut services =
            Watcher::with_options(self.store.clone(), layout::services_prefix(None), options());
        let mut externals = Watcher::with_options(
            self.store.clone(),
            layout::external_entries_prefix(None),
            options(),
        );
        let mut instances =
            Watcher::with_options(self.store.clone(), layout::instances_prefix(), options());
        let mut entries =
            Watcher::with_options(self.store.clone(), layout::blue_green_prefix(), options());
        let mut deployments =
            Watcher::with_options(self.store.clone(), layout::deployments_prefix(), options());
        let mut view = View::default();
        let mut applied: BTreeMap<String, Program> = BTreeMap::new();
        let mut fail_open: HashSet<String> = HashSet::new();
        let mut ready = [false; 5];
        let mut retry = tokio::time::interval(RETRY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                update = services.next() => {
                    let Some(update) = update else { break };
                    ready[0] = true;
                    apply_update(&mut view.services, update, |kv| {
                        let name = layout::service_name(&kv.key)?.to_string();
                        let service = typed::decode_msg::<Service>(&kv.key, &kv.value).ok()?;
                        Some((name, (service, kv.version)))
                    }, |key| layout::service_name(key).map(str::to_string));
                }
                update = externals.next() => {
                    let Some(update) = update else { break };
                    ready[1] = true;
                    apply_update(&mut view.externals, update, |kv| {
                        let name = layout::external_entry_name(&kv.key)?.to_string();
                        let record = typed::decode_msg::<ExternalRecord>(&kv.key, &kv.value).ok()?;
                        Some((name, record))
                    }, |key| layout::external_entry_name(key).map(str::to_string));
                }
                update = instances.next() => {
                    let Some(update) = update else { break };
                    ready[2] = true;
                    let mut map: BTreeMap<String, Vec<Instance>> = view.instances.drain().collect();
                    apply_update(&mut map, update, |kv| {
                        let deployment = layout::instances_deployment(&kv.key)?.to_string();
                        let record = typed::decode_msg::<ListInstancesResponse>(&kv.key, &kv.value).ok()?;
                        Some((deployment, record.instances))
                    }, |key| layout::instances_deployment(key).map(str::to_string));
                    view.instances = map.into_iter().collect();
                }
                update = deployments.next() => {
                    let Some(update) = update else { break };
                    ready[3] = true;
                    apply_update(&mut view.declared, update, |kv| {
                        let name = layout::deployment_name(&kv.key)?.to_string();
                        let deployment = typed::decode_msg::<Deployment>(&kv.key, &kv.value).ok()?;
                        Some((name, deployment.template.map(|t| t.ports).unwrap_or_default()))
                    }, |key| layout::deployment_name(key).map(str::to_string));
                }
                update = entries.next() => {
                    let Some(update) = update else { break };
                    ready[4] = true;
                    apply_update(&mut view.entries, update, |kv| {
                        let name = layout::blue_green_name(&kv.key)?.to_string();
                        let entry = typed::decode_msg::<BlueGreenEntry>(&kv.key, &kv.value).ok()?;
                        Some((name, (entry, kv.version)))
                    }, |key| layout::blue_green_name(key).map(str::to_string));
                }
                _ = retry.tick() => {}
            }
            // Until every watch delivered its snapshot, a missing object may only be
            // not seen yet: do not remove anything.
            if ready.iter().all(|r| *r) {
                self.sync(&view, &mut applied, &mut fail_open).await;
            }
        }
        for id in self.data_plane.programs().await {
            let _ = self.data_plane.remove(&id).await;
        }
    }

    /// Applies the programs that changed and removes the ones no object names.
    async fn sync(
        &self,
        view: &View,
        applied: &mut BTreeMap<String, Program>,
        fail_open: &mut HashSet<String>,
    ) {
        let hosts: Vec<&str> = view
            .externals
            .values()
            .filter_map(|r| r.entry.as_ref())
            .flat_map(|e| e.addresses.iter().map(|a| a.host.as_str()))
            .collect();
        let resolved = self.resolver.resolve(hosts).await;
        // External entries fail open: when every address fails its check, all of them
        // get traffic (a wrong check must not cut a working service off).
        for (name, record) in &view.externals {
            if record
                .entry
                .as_ref()
                .is_none_or(|e| e.health_check.is_none())
            {
                fail_open.remove(name);
                continue;
            }
            let all_failing =
                self.data_plane.status(name).await.is_some_and(|s| {
                    !s.endpoints.is_empty() && s.endpoints.iter().all(|e| !e.healthy)
                });
            if all_failing {
                fail_open.insert(name.clone());
            } else {
                fail_open.remove(name);
            }
        }
        fail_open.retain(|name| view.externals.contains_key(name));
        let programs = view.programs(&self.tuning, &resolved, fail_open);
        for (id, program) in &programs {
            if applied.get(id) == Some(program) {
                continue;
            }
            match self.data_plane.apply(program).await {
                Ok(()) => {
                    applied.insert(id.clone(), program.clone());
                }
                Err(error) => {
                    applied.remove(id);
                    tracing::warn!(program = %id, %error, "cannot apply program; retrying");
                }
            }
        }
        let mut stale: Vec<String> = applied
            .keys()
            .filter(|id| !programs.contains_key(*id))
            .cloned()
            .collect();
        for id in self.data_plane.programs().await {
            if !programs.contains_key(&id) && !stale.contains(&id) {
                stale.push(id);
            }
        }
        for id in stale {
            match self.data_plane.remove(&id).await {
                Ok(()) => {
                    applied.remove(&id);
                    tracing::info!(program = %id, "program removed");
                }
                Err(error) => {
                    tracing::warn!(program = %id, %error, "cannot remove program; retrying")
                }
            }
        }
    }
}

/// Applies a watch update to a map keyed by the name `decode` / `name_of` derive from a
/// key; undecodable values are skipped (and removed).
pub(crate) fn apply_update<V>(
    map: &mut BTreeMap<String, V>,
    update: WatchUpdate,
    decode: impl Fn(&KeyValue) -> Option<(String, V)>,
    name_of: impl Fn(&str) -> Option<String>,
) {
    match update {
        WatchUpdate::Snapshot { items, .. } => {
            map.clear();
            for kv in &items {
                if let Some((name, value)) = decode(kv) {
                    map.insert(name, value);
                }
            }
        }
        WatchUpdate::Events(events) => {
            for event in events {
                match &event {
                    WatchEvent::Put(kv) => match decode(kv) {
                        Some((name, value)) => {
                            map.insert(name, value);
                        }
                        None => {
                            tracing::warn!(key = %kv.key, "cannot decode routed record; ignoring it");
                            if let Some(name) = name_of(&kv.key) {
                                map.remove(&name);
                            }
                        }
                    },
                    WatchEvent::Delete { key, .. } => {
                        if let Some(name) = name_of(key) {
                            map.remove(&name);
                        }
                    }
                }
            }
        }
    }
}
