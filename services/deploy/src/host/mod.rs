//! Hosts: the machines instances run on (Kubernetes nodes, Docker engines), listed from
//! the runtimes, and cordoned or uncordoned.
//!
//! - [`model`]: pure rules: host names, the stored [`HostRecord`] merged with what a
//!   runtime reports into the API's `Host`, cordon and uncordon, and the ListHosts filter;
//! - [`api`]: the gRPC adapter of `ferry.deploy.v1.HostService`.
//!
//! The runtimes own a host's live state (health, labels, capacity, location, instance
//! count); etcd holds only what Ferry owns, one [`HostRecord`] per host under
//! `/ferry/v1/deploy/hosts/hosts/{host}`: its uid, when Ferry first saw it, and whether it
//! is cordoned (why, by whom, since when). A record is created the first time the API
//! shows a host (GetHost, ListHosts, CordonHost), so that the uid and the etag (the
//! record's `mod_revision`) a client sees stay the same from one call to the next. A host
//! that leaves its runtime disappears from the API; its record stays, so a host that comes
//! back keeps its uid and stays cordoned.
//!
//! A cordon is applied twice: the deployment controller gives every group spec the
//! cordoned hosts ([`cordoned_hosts`]) as `Placement::excluded_hosts` (for runtimes that
//! place instances themselves), and CordonHost calls the runtime's
//! `set_host_schedulable` (Kubernetes cordons the node).

pub mod api;
pub mod model;

use ferry_store::{Store, keys, typed};

use crate::error::DeployError;

pub use model::HostRecord;

/// Collection path of host records in the key space.
const KIND: &str = "deploy/hosts";

/// The key of a host's record, by host id.
pub fn host_key(host: &str) -> String {
    keys::resource(KIND, &model::HOST_NAME.format(&[host]))
}

/// The prefix of every host record.
pub fn hosts_prefix() -> String {
    keys::kind_prefix(KIND).into_string()
}

/// The host id held by a host record key.
pub fn host_id(key: &str) -> Option<&str> {
    keys::resource_name(KIND, key)?.strip_prefix("hosts/")
}

/// Every host record: `(host id, record, mod_revision)`, by id.
pub async fn records(store: &dyn Store) -> Result<Vec<(String, HostRecord, i64)>, DeployError> {
    let (items, _) =
        typed::list_all_msgs::<HostRecord>(store, &hosts_prefix(), ferry_kit::aip::MAX_PAGE_SIZE)
            .await?;
    Ok(items
        .into_iter()
        .filter_map(|(key, record, revision)| {
            host_id(&key).map(|id| (id.to_string(), record, revision))
        })
        .collect())
}

/// The ids of the cordoned hosts (whether or not a runtime reports them now), sorted.
pub async fn cordoned_hosts(store: &dyn Store) -> Result<Vec<String>, DeployError> {
    Ok(records(store)
        .await?
        .into_iter()
        .filter(|(_, record, _)| record.cordoned)
        .map(|(id, _, _)| id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let key = host_key("node-1.eu");
        assert!(key.ends_with("/deploy/hosts/hosts/node-1.eu"), "{key}");
        assert!(key.starts_with(&hosts_prefix()));
        assert_eq!(host_id(&key), Some("node-1.eu"));
        assert_eq!(host_id("/ferry/v1/deploy/namespaces/namespaces/dev"), None);
    }
}
