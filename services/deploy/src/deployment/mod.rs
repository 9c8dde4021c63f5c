//! Deployments: the applications running in a namespace, their revisions and rollouts.
//!
//! - [`model`]: pure validation, defaults, revisions, and the runtime's group specs;
//! - [`planner`]: the pure rollout planner (group sizes per revision, step by step);
//! - [`api`]: the gRPC adapters of DeploymentService, RolloutService and
//!   InstanceService (they write etcd, read the runtime, and leave the rest to the
//!   controller);
//! - [`controller`]: the leader-elected reconciler that moves each deployment's
//!   instance groups toward its target revision, resumable after a crash.
//!
//! State in etcd, per deployment: the `Deployment`, its `DeploymentRevision`s, its
//! `Rollout`s, the Operations of its long-running calls, and one internal record, the
//! [`GroupState`]: how many instances each revision's group should have now. The
//! runtime only ever holds what that record says (plus instances on hosts that stopped
//! answering).

pub mod api;
pub mod controller;
pub mod model;
pub mod planner;

use std::collections::BTreeMap;

use ferry_store::keys;
use serde::{Deserialize, Serialize};

const DEPLOYMENTS: &str = "deploy/deployments";
const REVISIONS: &str = "deploy/revisions";
const ROLLOUTS: &str = "deploy/rollouts";
const GROUPS: &str = "deploy/groups";
const INSTANCES: &str = "deploy/instances";

/// The key of a deployment (`namespaces/{ns}/deployments/{d}`).
pub fn deployment_key(name: &str) -> String {
    keys::resource(DEPLOYMENTS, name)
}

/// The prefix of every deployment.
pub fn deployments_prefix() -> String {
    keys::kind_prefix(DEPLOYMENTS).into_string()
}

/// The prefix of a namespace's deployments (`namespaces/{ns}`).
pub fn namespace_deployments_prefix(namespace: &str) -> String {
    keys::collection(DEPLOYMENTS, &format!("{namespace}/deployments")).into_string()
}

/// The name held by a deployment key.
pub fn deployment_name(key: &str) -> Option<&str> {
    keys::resource_name(DEPLOYMENTS, key)
}

/// Prefixes of the deployment records of a namespace (`namespaces/{ns}`) besides the
/// deployments themselves: revisions, rollouts and group records.
pub fn namespace_records_prefixes(namespace: &str) -> Vec<String> {
    [REVISIONS, ROLLOUTS, GROUPS, INSTANCES]
        .into_iter()
        .map(|kind| keys::collection(kind, &format!("{namespace}/deployments")).into_string())
        .collect()
}

/// The key of a revision.
pub fn revision_key(name: &str) -> String {
    keys::resource(REVISIONS, name)
}

/// The prefix of a deployment's revisions.
pub fn revisions_prefix(deployment: &str) -> String {
    keys::collection(REVISIONS, &format!("{deployment}/revisions")).into_string()
}

/// The key of a rollout.
pub fn rollout_key(name: &str) -> String {
    keys::resource(ROLLOUTS, name)
}

/// The prefix of a deployment's rollouts.
pub fn rollouts_prefix(deployment: &str) -> String {
    keys::collection(ROLLOUTS, &format!("{deployment}/rollouts")).into_string()
}

/// The key of a deployment's [`GroupState`].
pub fn groups_key(deployment: &str) -> String {
    keys::resource(GROUPS, deployment)
}

/// The key of a deployment's observed instances: a `ListInstancesResponse` holding every
/// instance as the deployment controller last saw it in the runtime (written by the
/// leader, read by every replica's InstanceService).
pub fn instances_key(deployment: &str) -> String {
    keys::resource(INSTANCES, deployment)
}

/// The controller's record of a deployment's instance groups (internal, JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// Revision id → the number of instances its group should have.
    pub groups: BTreeMap<String, u32>,
    /// Operations (scale) that end once the deployment has converged.
    #[serde(default)]
    pub waiting: Vec<String>,
}

impl GroupState {
    /// Decodes a stored record.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// Encodes it for the store.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The rollout that introduces a revision has the revision's id (every rollout but a
/// restart creates a revision, and restarts are not served yet).
pub fn rollout_name(deployment: &str, revision_id: &str) -> String {
    format!("{deployment}/rollouts/{revision_id}")
}
