//! Autoscaling: the AutoscalingPolicy of a deployment, which sets its `replicas` from
//! the CPU and memory use of its instances.
//!
//! - [`model`]: pure validation, defaults and the policy as the planner reads it;
//! - [`planner`]: the pure decision (replicas to set now, or none, and why);
//! - [`api`]: the gRPC adapter of AutoscalingService (writes etcd only);
//! - [`controller`]: the leader-elected reconciler that samples the runtime's usage
//!   figures, asks the planner, and sets the deployment's `replicas` (the deployment
//!   controller does the rest).
//!
//! State in etcd: one `AutoscalingPolicy` per deployment, at [`policy_key`]. Deleting
//! the deployment deletes its policy (the deployment controller's delete path).

pub mod api;
pub mod controller;
pub mod model;
pub mod planner;

use ferry_store::keys;

const POLICIES: &str = "deploy/autoscaling-policies";

/// The key of a deployment's policy, by the deployment's name
/// (`namespaces/{ns}/deployments/{d}`).
pub fn policy_key(deployment: &str) -> String {
    keys::resource(POLICIES, deployment)
}

/// The prefix of every policy.
pub fn policies_prefix() -> String {
    keys::kind_prefix(POLICIES).into_string()
}

/// The deployment name a policy key belongs to.
pub fn policy_deployment(key: &str) -> Option<&str> {
    keys::resource_name(POLICIES, key)
}

/// The policy's resource name of a deployment.
pub fn policy_name(deployment: &str) -> String {
    format!("{deployment}/autoscalingPolicy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let key = policy_key("namespaces/dev/deployments/web");
        assert!(key.starts_with(&policies_prefix()));
        assert_eq!(
            policy_deployment(&key),
            Some("namespaces/dev/deployments/web")
        );
    }
}
