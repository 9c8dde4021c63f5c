//! Namespaces: the environments deployments run in.
//!
//! - [`model`]: pure validation and change rules;
//! - [`api`]: the gRPC adapter (writes to etcd only);
//! - [`controller`]: two leader-elected reconcilers: one prepares new namespaces on the
//!   runtime, one carries out delete operations stage by stage, resumable after a crash.

pub mod api;
pub mod controller;
pub mod model;

use ferry_store::keys;

/// Collection path of namespaces in the key space.
const KIND: &str = "deploy/namespaces";

/// The stages of a namespace delete operation, in order.
pub const DELETE_STAGES: &[(&str, &str)] = &[
    ("drain", "Remove the namespace's deployments and secrets"),
    ("runtime", "Remove the namespace from its runtime"),
    ("remove", "Remove the namespace record"),
];

/// The key of a namespace.
pub fn namespace_key(name: &str) -> String {
    keys::resource(KIND, name)
}

/// The prefix of every namespace.
pub fn namespaces_prefix() -> String {
    keys::kind_prefix(KIND).into_string()
}

/// The name held by a namespace key.
pub fn namespace_name(key: &str) -> Option<&str> {
    keys::resource_name(KIND, key)
}

/// Prefixes of the resources that live in a namespace and stop its deletion
/// (deployments and secrets).
pub fn children_prefixes(namespace: &str) -> Vec<String> {
    vec![
        keys::collection("deploy/deployments", &format!("{namespace}/deployments")).into_string(),
        keys::collection("deploy/secrets", &format!("{namespace}/secrets")).into_string(),
    ]
}
