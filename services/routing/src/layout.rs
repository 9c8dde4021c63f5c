//! The routing service's keys in etcd, and the deploy service's keys it reads.
//!
//! | Key | Value |
//! |---|---|
//! | `/ferry/v1/routing/services/namespaces/<ns>/services/<s>` | the Service's configuration and allocations (`Service`, status fields empty); its `mod_revision` is the etag, its `version` the generation |
//! | `/ferry/v1/routing/service-status/namespaces/<ns>/services/<s>` | the Service's observed status (`Service`, only status fields), written by the leader |
//! | `/ferry/v1/routing/external-entries/namespaces/<ns>/externalEntries/<e>` | an external entry's configuration |
//! | `/ferry/v1/routing/external-entry-status/namespaces/<ns>/externalEntries/<e>` | its observed status, written by the leader |
//! | `/ferry/v1/routing/blue-green-entries/blueGreenEntries/<e>` | a blue-green entry's configuration, allocations and switch state (`BlueGreenEntry`) |
//! | `/ferry/v1/routing/blue-green-status/blueGreenEntries/<e>` | its observed status (sides, conditions), written by the leader |
//! | `/ferry/v1/routing/blue-green-sides/namespaces/<ns>/deployments/<d>` | the entry a deployment is a side of (its claim) |
//! | `/ferry/v1/routing/cluster-addresses/<ip>` | the holder of a cluster address (resource name, UTF-8), created if absent |
//! | `/ferry/v1/routing/node-ports/<port>` | the holder of a node port (resource name, UTF-8), created if absent |
//!
//! The deploy service's records read here (see `ferry_deploy::deployment`):
//! [`DEPLOY_DEPLOYMENTS`] and [`DEPLOY_INSTANCES`] (the instances as the deploy
//! service's leader last observed them, a `ferry.deploy.v1.ListInstancesResponse`), and
//! [`DEPLOY_NAMESPACES`] (a `ferry.deploy.v1.Namespace`: the namespace DNS endpoints
//! leave a namespace being deleted).

use ferry_store::keys;

/// Kind of the deploy service's deployment records (`ferry_deploy::deployment::deployment_key`).
pub const DEPLOY_DEPLOYMENTS: &str = "deploy/deployments";
/// Kind of the deploy service's observed instance records
/// (`ferry_deploy::deployment::instances_key`).
pub const DEPLOY_INSTANCES: &str = "deploy/instances";

/// Kind of the deploy service's namespace records (`ferry_deploy::namespace::namespace_key`).
pub const DEPLOY_NAMESPACES: &str = "deploy/namespaces";

const SERVICES: &str = "routing/services";
const SERVICE_STATUS: &str = "routing/service-status";
const EXTERNAL_ENTRIES: &str = "routing/external-entries";
const EXTERNAL_STATUS: &str = "routing/external-entry-status";
const CLUSTER_ADDRESSES: &str = "routing/cluster-addresses";
const NODE_PORTS: &str = "routing/node-ports";

/// The key of a deployment record (`namespaces/{ns}/deployments/{d}`).
pub fn deployment_key(name: &str) -> String {
    keys::resource(DEPLOY_DEPLOYMENTS, name)
}

/// The prefix of every deployment record.
pub fn deployments_prefix() -> String {
    keys::kind_prefix(DEPLOY_DEPLOYMENTS).into_string()
}

/// The deployment a deployment record key holds.
pub fn deployment_name(key: &str) -> Option<&str> {
    keys::resource_name(DEPLOY_DEPLOYMENTS, key)
}

/// The key of a deployment's observed instances.
pub fn instances_key(deployment: &str) -> String {
    keys::resource(DEPLOY_INSTANCES, deployment)
}

/// The prefix of every observed instance record.
pub fn instances_prefix() -> String {
    keys::kind_prefix(DEPLOY_INSTANCES).into_string()
}

/// The deployment an instance record key belongs to.
pub fn instances_deployment(key: &str) -> Option<&str> {
    keys::resource_name(DEPLOY_INSTANCES, key)
}

/// The prefix of every namespace record.
pub fn namespaces_prefix() -> String {
    keys::kind_prefix(DEPLOY_NAMESPACES).into_string()
}

/// The namespace (`namespaces/{ns}`) a namespace record key holds.
pub fn namespace_name(key: &str) -> Option<&str> {
    keys::resource_name(DEPLOY_NAMESPACES, key)
}

/// The key of a Service's configuration.
pub fn service_key(name: &str) -> String {
    keys::resource(SERVICES, name)
}

/// The key of a Service's observed status.
pub fn service_status_key(name: &str) -> String {
    keys::resource(SERVICE_STATUS, name)
}

/// The prefix of every Service (`None`) or of one namespace's (`namespaces/{ns}`).
pub fn services_prefix(namespace: Option<&str>) -> String {
    match namespace {
        None => keys::kind_prefix(SERVICES).into_string(),
        Some(namespace) => {
            keys::collection(SERVICES, &format!("{namespace}/services")).into_string()
        }
    }
}

/// The Service name a configuration key holds.
pub fn service_name(key: &str) -> Option<&str> {
    keys::resource_name(SERVICES, key)
}

/// The key of an external entry's configuration.
pub fn external_entry_key(name: &str) -> String {
    keys::resource(EXTERNAL_ENTRIES, name)
}

/// The key of an external entry's observed status.
pub fn external_status_key(name: &str) -> String {
    keys::resource(EXTERNAL_STATUS, name)
}

/// The prefix of every external entry (`None`) or of one namespace's.
pub fn external_entries_prefix(namespace: Option<&str>) -> String {
    match namespace {
        None => keys::kind_prefix(EXTERNAL_ENTRIES).into_string(),
        Some(namespace) => {
            keys::collection(EXTERNAL_ENTRIES, &format!("{namespace}/externalEntries"))
                .into_string()
        }
    }
}

/// The external entry name a configuration key holds.
pub fn external_entry_name(key: &str) -> Option<&str> {
    keys::resource_name(EXTERNAL_ENTRIES, key)
}

/// The key claiming a cluster address.
pub fn cluster_address_key(address: std::net::Ipv4Addr) -> String {
    keys::resource(CLUSTER_ADDRESSES, &address.to_string())
}

/// The key claiming a node port.
pub fn node_port_key(port: i32) -> String {
    keys::resource(NODE_PORTS, &port.to_string())
}

/// The prefix of every node-port claim.
pub fn node_ports_prefix() -> String {
    keys::kind_prefix(NODE_PORTS).into_string()
}

/// The node port a claim key holds.
pub fn node_port_of(key: &str) -> Option<i32> {
    keys::resource_name(NODE_PORTS, key)?.parse().ok()
}

const BLUE_GREEN: &str = "routing/blue-green-entries";
const BLUE_GREEN_STATUS: &str = "routing/blue-green-status";
const BLUE_GREEN_SIDES: &str = "routing/blue-green-sides";

/// The key of a blue-green entry (`blueGreenEntries/{entry}`): its configuration,
/// allocations and switch state (active side, switch history).
pub fn blue_green_key(name: &str) -> String {
    keys::resource(BLUE_GREEN, name)
}

/// The key of a blue-green entry's observed status (sides, conditions).
pub fn blue_green_status_key(name: &str) -> String {
    keys::resource(BLUE_GREEN_STATUS, name)
}

/// The prefix of every blue-green entry.
pub fn blue_green_prefix() -> String {
    keys::kind_prefix(BLUE_GREEN).into_string()
}

/// The entry name a blue-green key holds.
pub fn blue_green_name(key: &str) -> Option<&str> {
    keys::resource_name(BLUE_GREEN, key)
}

/// The claim of a deployment (`namespaces/{ns}/deployments/{d}`) as a side of one
/// blue-green entry: holds the entry's name, created with the entry (or with the update
/// that moves a side onto it) only if absent, deleted with it. Two entries racing for
/// one deployment cannot both write.
pub fn blue_green_side_key(deployment: &str) -> String {
    keys::resource(BLUE_GREEN_SIDES, deployment)
}

/// Whether `key` is a side claim.
pub fn is_blue_green_side_key(key: &str) -> bool {
    keys::resource_name(BLUE_GREEN_SIDES, key).is_some()
}
