//! Discovery: the live instances of every service, from their registrations in etcd.
//!
//! Every instance registers `/ferry/v1/_sys/registrations/<service>/<instance id>` under a
//! lease ([`ferry_kit::registry`]). One background task watches that whole area with the
//! store's resilient [`Watcher`] and publishes a [`Table`] through a
//! `tokio::sync::watch` channel; the request path only reads the latest table and never
//! calls etcd. A registration that goes (lease expiry after a crash, revocation on a
//! graceful stop) leaves the table with the watch event that reports it.

use std::collections::BTreeMap;
use std::sync::Arc;

use std::future::Future;

use ferry_kit::registry::InstanceRecord;
use ferry_store::keys::{self, Prefix};
use ferry_store::watch::{WatchUpdate, Watcher, WatcherOptions};
use ferry_store::{KeyValue, Store, WatchEvent};
use prost::Message;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One registered instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Its instance id (unique across services).
    pub id: String,
    /// `host:port` of its gRPC server.
    pub address: String,
}

/// The registered instances of every service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// service → instance id → address.
    services: BTreeMap<String, BTreeMap<String, String>>,
}

impl Table {
    /// The instances of `service`, by id.
    pub fn instances(&self, service: &str) -> Vec<Instance> {
        self.services
            .get(service)
            .map(|instances| {
                instances
                    .iter()
                    .map(|(id, address)| Instance {
                        id: id.clone(),
                        address: address.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The instances of `service` as (id, address), borrowed, by id.
    pub fn members(&self, service: &str) -> impl Iterator<Item = (&str, &str)> {
        self.services
            .get(service)
            .into_iter()
            .flatten()
            .map(|(id, address)| (id.as_str(), address.as_str()))
    }

    /// The address of one instance, when it is registered.
    pub fn address(&self, service: &str, instance: &str) -> Option<&str> {
        self.services
            .get(service)
            .and_then(|instances| instances.get(instance))
            .map(String::as_str)
    }

    /// The names of the services with at least one instance.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.keys().map(String::as_str)
    }

    /// The number of instances of every service.
    pub fn len(&self) -> usize {
        self.services.values().map(BTreeMap::len).sum()
    }

    /// True when no instance is registered.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// The table after `update` (keys relative to the store's prefix, under `area`).
    pub fn apply(&self, area: &Prefix, update: &WatchUpdate) -> Table {
        let mut next = match update {
            WatchUpdate::Snapshot { .. } => Table::default(),
            WatchUpdate::Events(_) => self.clone(),
        };
        match update {
            WatchUpdate::Snapshot { items, .. } => {
                for kv in items {
                    next.put(area, kv);
                }
            }
            WatchUpdate::Events(events) => {
                for event in events {
                    match event {
                        WatchEvent::Put(kv) => next.put(area, kv),
                        WatchEvent::Delete { key, .. } => next.remove(area, key),
                    }
                }
            }
        }
        next
    }

    fn put(&mut self, area: &Prefix, kv: &KeyValue) {
        let Some((service, instance)) = split_key(area, &kv.key) else {
            tracing::warn!(key = %kv.key, "ignoring a registration key of unexpected shape");
            return;
        };
        match InstanceRecord::decode(kv.value.as_slice()) {
            Ok(record) if !record.address.is_empty() => {
                self.services
                    .entry(service.to_string())
                    .or_default()
                    .insert(instance.to_string(), record.address);
            }
            Ok(_) => {
                tracing::warn!(key = %kv.key, "ignoring a registration without an address");
                self.remove(area, &kv.key);
            }
            Err(error) => {
                tracing::warn!(key = %kv.key, %error, "ignoring an undecodable registration");
                self.remove(area, &kv.key);
            }
        }
    }

    fn remove(&mut self, area: &Prefix, key: &str) {
        let Some((service, instance)) = split_key(area, key) else {
            return;
        };
        if let Some(instances) = self.services.get_mut(service) {
            instances.remove(instance);
            if instances.is_empty() {
                self.services.remove(service);
            }
        }
    }

    /// (service, instance id, address) of every instance, in order.
    fn entries(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.services.iter().flat_map(|(service, instances)| {
            instances
                .iter()
                .map(move |(id, address)| (service.as_str(), id.as_str(), address.as_str()))
        })
    }
}

/// `<area><service>/<instance>` → (service, instance).
fn split_key<'a>(area: &Prefix, key: &'a str) -> Option<(&'a str, &'a str)> {
    let (service, instance) = area.strip(key)?.split_once('/')?;
    (!service.is_empty() && !instance.is_empty() && !instance.contains('/'))
        .then_some((service, instance))
}

/// The registrations area of the key layout.
pub fn registrations_area() -> Prefix {
    keys::sys::area("registrations")
}

/// Starts watching the registrations in `store` (already scoped to the deployment's
/// prefix). Returns the table, and the task that keeps it current until `stop` is
/// cancelled (run it as a background task of the [`ferry_kit::server::Host`]). The table
/// is empty until the watcher's first snapshot arrives.
pub fn watch_registrations(
    store: Arc<dyn Store>,
    stop: CancellationToken,
) -> (
    watch::Receiver<Arc<Table>>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (sender, receiver) = watch::channel(Arc::new(Table::default()));
    let area = registrations_area();
    let watcher = Watcher::with_options(
        store,
        area.as_str(),
        WatcherOptions {
            cancel: Some(stop),
            ..WatcherOptions::default()
        },
    );
    (receiver, follow(watcher, area, sender))
}

/// Applies every update of `watcher` to the published table until the watcher stops.
async fn follow(mut watcher: Watcher, area: Prefix, sender: watch::Sender<Arc<Table>>) {
    while let Some(update) = watcher.next().await {
        let current = sender.borrow().clone();
        let next = current.apply(&area, &update);
        log_changes(&current, &next);
        sender.send_replace(Arc::new(next));
    }
    tracing::debug!("registration watch stopped");
}

fn log_changes(before: &Table, after: &Table) {
    for (service, instance, address) in after.entries() {
        if before
            .services
            .get(service)
            .and_then(|instances| instances.get(instance))
            .is_none_or(|old| old != address)
        {
            tracing::info!(service, instance, address, "instance discovered");
        }
    }
    for (service, instance, _) in before.entries() {
        if after
            .services
            .get(service)
            .is_none_or(|instances| !instances.contains_key(instance))
        {
            tracing::info!(service, instance, "instance gone");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use ferry_store::MemoryStore;

    fn registration(service: &str, instance: &str, address: &str) -> KeyValue {
        KeyValue {
            key: keys::sys::registration(service, instance),
            value: InstanceRecord {
                service: service.into(),
                instance_id: instance.into(),
                address: address.into(),
                ..Default::default()
            }
            .encode_to_vec(),
            create_revision: 1,
            mod_revision: 1,
            version: 1,
            lease: 7,
        }
    }

    fn instance(id: &str, address: &str) -> Instance {
        Instance {
            id: id.into(),
            address: address.into(),
        }
    }

    #[test]
    fn snapshots_replace_and_events_amend_the_table() {
        let area = registrations_area();
        let stale = Table::default().apply(
            &area,
            &WatchUpdate::Snapshot {
                items: vec![registration("build", "build-old", "10.0.0.9:1")],
                revision: 1,
            },
        );
        let table = stale.apply(
            &area,
            &WatchUpdate::Snapshot {
                items: vec![
                    registration("deploy", "deploy-a", "10.0.0.1:1"),
                    registration("deploy", "deploy-b", "10.0.0.2:1"),
                    registration("catalog", "catalog-a", "10.0.0.3:1"),
                ],
                revision: 5,
            },
        );
        assert!(table.instances("build").is_empty(), "a snapshot replaces");
        assert_eq!(
            table.instances("deploy"),
            vec![
                instance("deploy-a", "10.0.0.1:1"),
                instance("deploy-b", "10.0.0.2:1")
            ]
        );
        assert_eq!(table.len(), 3);

        let table = table.apply(
            &area,
            &WatchUpdate::Events(vec![
                WatchEvent::Delete {
                    key: keys::sys::registration("deploy", "deploy-a"),
                    mod_revision: 6,
                },
                WatchEvent::Put(registration("deploy", "deploy-b", "10.0.0.2:2")),
                WatchEvent::Delete {
                    key: keys::sys::registration("catalog", "catalog-a"),
                    mod_revision: 7,
                },
            ]),
        );
        assert_eq!(
            table.instances("deploy"),
            vec![instance("deploy-b", "10.0.0.2:2")]
        );
        assert!(table.instances("catalog").is_empty());
        assert_eq!(table.services().collect::<Vec<_>>(), vec!["deploy"]);
        // The borrowed view the proxy reads on every call says the same.
        assert_eq!(
            table.members("deploy").collect::<Vec<_>>(),
            vec![("deploy-b", "10.0.0.2:2")]
        );
        assert_eq!(table.members("catalog").count(), 0);
    }

    #[test]
    fn malformed_registrations_are_ignored() {
        let area = registrations_area();
        let mut garbage = registration("deploy", "deploy-x", "h:1");
        garbage.value = vec![0xff, 0xff];
        let mut no_address = registration("deploy", "deploy-y", "");
        no_address.value = InstanceRecord::default().encode_to_vec();
        let mut bad_key = registration("deploy", "deploy-z", "h:1");
        bad_key.key = area.key("deploy");
        let table = Table::default().apply(
            &area,
            &WatchUpdate::Snapshot {
                items: vec![garbage, no_address, bad_key],
                revision: 1,
            },
        );
        assert!(table.is_empty(), "{table:?}");
    }

    /// The task follows the store: a registration appears, and leaves when its lease goes.
    #[tokio::test]
    async fn the_published_table_follows_registrations_and_leases() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let stop = CancellationToken::new();
        let (mut table, task) = watch_registrations(store.clone(), stop.clone());
        let task = tokio::spawn(task);
        let lease = store.grant_lease(Duration::from_secs(30)).await.unwrap();
        let kv = registration("deploy", "deploy-a", "127.0.0.1:9");
        store.put(&kv.key, kv.value, Some(lease)).await.unwrap();
        let seen = wait_for(&mut table, |t| t.len() == 1).await;
        assert_eq!(
            seen.instances("deploy"),
            vec![instance("deploy-a", "127.0.0.1:9")]
        );
        store.revoke_lease(lease).await.unwrap();
        wait_for(&mut table, Table::is_empty).await;
        stop.cancel();
        task.await.unwrap();
    }

    async fn wait_for(
        receiver: &mut watch::Receiver<Arc<Table>>,
        done: impl Fn(&Table) -> bool,
    ) -> Arc<Table> {
        tokio::time::timeout(Duration::from_secs(5), receiver.wait_for(|t| done(t)))
            .await
            .expect("the table did not change in time")
            .expect("discovery stopped")
            .clone()
    }
}
