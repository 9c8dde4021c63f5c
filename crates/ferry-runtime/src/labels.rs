//! The labels Ferry puts on every runtime object it creates (the index of
//! [`crate::Runtime::list_instances`]).

/// Marks an object as Ferry's; value `true`.
pub const MANAGED: &str = "ferry.dev/managed";
/// The Ferry namespace id.
pub const NAMESPACE: &str = "ferry.dev/namespace";
/// The deployment id.
pub const DEPLOYMENT: &str = "ferry.dev/deployment";
/// The revision id, e.g. `r3`.
pub const REVISION: &str = "ferry.dev/revision";
/// The instance id.
pub const INSTANCE: &str = "ferry.dev/instance";
/// Region label of hosts (the Kubernetes well-known label).
pub const REGION: &str = "topology.kubernetes.io/region";
/// Zone label of hosts (the Kubernetes well-known label).
pub const ZONE: &str = "topology.kubernetes.io/zone";
