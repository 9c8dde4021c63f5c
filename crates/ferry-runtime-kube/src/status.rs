//! What Kubernetes reports, mapped to Ferry's terms: pods to [`InstanceStatus`], nodes to
//! [`HostStatus`], quantities to numbers, and watch events to change hints. Pure: plain
//! objects in, plain data out.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::time::SystemTime;

use ferry_runtime::{
    Exit, HostState, HostStatus, InstancePhase, InstanceStatus, PublishedPort, RuntimeEvent,
    Transport, labels,
};
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::watcher;

use crate::objects::CONTAINER;

/// The taint the node lifecycle controller puts on a node that stopped reporting.
const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
/// The taint the node lifecycle controller puts on a node that reports NotReady.
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";

/// What the instance mapping needs to know of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// `topology.kubernetes.io/region`.
    pub region: String,
    /// `topology.kubernetes.io/zone`.
    pub zone: String,
    /// The node's state.
    pub state: HostState,
}

/// Region, zone and state of every node, by node name.
pub fn node_infos(nodes: &[Node]) -> HashMap<String, NodeInfo> {
    nodes
        .iter()
        .filter_map(|node| {
            let name = node.metadata.name.clone()?;
            let labels = node.metadata.labels.clone().unwrap_or_default();
            Some((
                name,
                NodeInfo {
                    region: labels.get(labels::REGION).cloned().unwrap_or_default(),
                    zone: labels.get(labels::ZONE).cloned().unwrap_or_default(),
                    state: host_state(node).0,
                },
            ))
        })
        .collect()
}

fn to_system_time(time: &Time) -> SystemTime {
    SystemTime::from(time.0)
}

/// A node's state and, when it is not ready, why: unreachable when the node lifecycle
/// controller tainted it so or its Ready condition is Unknown (it stopped reporting); not
/// ready when Ready is False, it is cordoned, or it has no Ready condition yet.
pub fn host_state(node: &Node) -> (HostState, String) {
    let taints = node
        .spec
        .as_ref()
        .and_then(|spec| spec.taints.clone())
        .unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .and_then(|conditions| conditions.iter().find(|c| c.type_ == "Ready"))
        .cloned();
    let message = ready
        .as_ref()
        .and_then(|c| c.message.clone())
        .unwrap_or_default();
    if taints.iter().any(|t| t.key == UNREACHABLE_TAINT)
        || ready.as_ref().is_some_and(|c| c.status == "Unknown")
    {
        let message = if message.is_empty() {
            "the node stopped reporting".to_string()
        } else {
            message
        };
        return (HostState::Unreachable, message);
    }
    match ready {
        Some(condition) if condition.status == "True" => {
            let cordoned = node
                .spec
                .as_ref()
                .and_then(|spec| spec.unschedulable)
                .unwrap_or(false);
            if cordoned {
                (HostState::NotReady, "the node is cordoned".into())
            } else if taints.iter().any(|t| t.key == NOT_READY_TAINT) {
                (HostState::NotReady, "the node is tainted not-ready".into())
            } else {
                (HostState::Ready, String::new())
            }
        }
        Some(_) => (HostState::NotReady, message),
        None => (
            HostState::NotReady,
            "the node has not reported a Ready condition".into(),
        ),
    }
}

/// Parses a Kubernetes quantity into thousandths (`"2"` → 2000, `"250m"` → 250,
/// `"1Ki"` → 1 024 000); `None` if it is not one.
pub fn quantity_millis(quantity: &str) -> Option<u128> {
    let quantity = quantity.trim();
    let split = quantity
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if number.starts_with('-') || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.trim_start_matches('+').parse().ok()?
    };
    // The number in thousandths, rounding extra fraction digits down.
    let mut fraction_millis = 0u128;
    for (position, digit) in fraction.chars().take(3).enumerate() {
        fraction_millis += u128::from(digit.to_digit(10)?) * 10u128.pow(2 - position as u32);
    }
    let millis = whole * 1000 + fraction_millis;
    let multiplier: u128 = match suffix {
        "m" => return Some(millis / 1000),
        "" => 1,
        "k" => 1000,
        "M" => 1000u128.pow(2),
        "G" => 1000u128.pow(3),
        "T" => 1000u128.pow(4),
        "P" => 1000u128.pow(5),
        "E" => 1000u128.pow(6),
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        exponent if exponent.starts_with(['e', 'E']) => {
            10u128.checked_pow(exponent[1..].parse().ok()?)?
        }
        _ => return None,
    };
    millis.checked_mul(multiplier)
}

/// A quantity in its base unit (bytes, cores), rounded down.
pub fn quantity_units(quantity: &str) -> Option<u64> {
    quantity_millis(quantity).and_then(|millis| u64::try_from(millis / 1000).ok())
}

/// A node as a Ferry host.
pub fn host_status(node: &Node, instance_count: u32) -> HostStatus {
    let name = node.metadata.name.clone().unwrap_or_default();
    let node_labels: BTreeMap<String, String> = node.metadata.labels.clone().unwrap_or_default();
    let status = node.status.clone().unwrap_or_default();
    let capacity = status.capacity.clone().unwrap_or_default();
    let info = status.node_info.clone().unwrap_or_default();
    let address = status
        .addresses
        .as_ref()
        .and_then(|addresses| {
            addresses
                .iter()
                .find(|a| a.type_ == "InternalIP")
                .or_else(|| addresses.first())
        })
        .map(|a| a.address.clone())
        .unwrap_or_default();
    let (state, message) = host_state(node);
    HostStatus {
        name: name.to_lowercase(),
        display_name: name,
        region: node_labels.get(labels::REGION).cloned().unwrap_or_default(),
        zone: node_labels.get(labels::ZONE).cloned().unwrap_or_default(),
        address,
        state,
        labels: node_labels,
        cpu_millis: capacity
            .get("cpu")
            .and_then(|q| quantity_millis(&q.0))
            .and_then(|m| u64::try_from(m).ok())
            .unwrap_or(0),
        memory_bytes: capacity
            .get("memory")
            .and_then(|q| quantity_units(&q.0))
            .unwrap_or(0),
        instance_count,
        runtime_version: if info.kubelet_version.is_empty() {
            String::new()
        } else {
            format!("kubelet {}", info.kubelet_version)
        },
        os: info.operating_system,
        architecture: info.architecture,
        message,
    }
}

/// The stable reason of a terminated container.
fn exit_of(terminated: &ContainerStateTerminated) -> Exit {
    let reason = match terminated.reason.as_deref() {
        Some("OOMKilled") => "OOM_KILLED",
        Some("Completed") if terminated.exit_code == 0 => "COMPLETED",
        _ if terminated.signal.unwrap_or(0) != 0 || terminated.exit_code == 137 => "KILLED",
        _ if terminated.exit_code == 0 => "COMPLETED",
        _ => "ERROR",
    };
    Exit {
        code: terminated.exit_code,
        signal: terminated.signal.unwrap_or(0),
        reason: reason.into(),
        finished_at: terminated.finished_at.as_ref().map(to_system_time),
    }
}

/// Waiting reasons that mean the image cannot be had.
const IMAGE_REASONS: [&str; 4] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// A pod as a Ferry instance. The instance id is the pod name (the ReplicaSet controller
/// names pods `{deployment}-{revision}-{5 characters}`); `labels` gets
/// `ferry.dev/instance` set to it, as on the other runtimes. `nodes` gives the region,
/// zone and state of the pod's node.
pub fn instance_status(pod: &Pod, nodes: &HashMap<String, NodeInfo>) -> InstanceStatus {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut pod_labels = pod.metadata.labels.clone().unwrap_or_default();
    pod_labels.insert(labels::INSTANCE.into(), name.clone());
    let label = |key: &str| pod_labels.get(key).cloned().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let host = spec.node_name.clone().unwrap_or_default();
    let node = nodes.get(&host).cloned().unwrap_or_default();
    let container: Option<ContainerStatus> = status.container_statuses.as_ref().and_then(|all| {
        all.iter()
            .find(|c| c.name == CONTAINER)
            .or_else(|| all.first())
            .cloned()
    });
    let state = container.as_ref().and_then(|c| c.state.clone());
    let waiting = state.as_ref().and_then(|s| s.waiting.clone());
    let running = state.as_ref().and_then(|s| s.running.clone());
    let terminated = state.as_ref().and_then(|s| s.terminated.clone());
    let last_terminated = container
        .as_ref()
        .and_then(|c| c.last_state.as_ref())
        .and_then(|s| s.terminated.clone());
    let condition = |kind: &str| {
        status
            .conditions
            .as_ref()
            .and_then(|all| all.iter().find(|c| c.type_ == kind))
            .cloned()
    };
    let ready_condition = condition("Ready");
    let pod_ready = ready_condition.as_ref().is_some_and(|c| c.status == "True");
    let waiting_reason = waiting.as_ref().and_then(|w| w.reason.clone());
    let waiting_message = waiting.as_ref().and_then(|w| w.message.clone());

    let mut reason = String::new();
    let mut message = status.message.clone().unwrap_or_default();
    let phase = if pod.metadata.deletion_timestamp.is_some() {
        InstancePhase::Terminating
    } else if !host.is_empty() && node.state == HostState::Unreachable {
        reason = "HOST_UNREACHABLE".into();
        message = format!("node {host} does not report");
        InstancePhase::Unknown
    } else if waiting_reason
        .as_deref()
        .is_some_and(|r| IMAGE_REASONS.contains(&r))
    {
        reason = "IMAGE_PULL_FAILED".into();
        message = waiting_message.clone().unwrap_or_default();
        InstancePhase::Failed
    } else if waiting_reason.as_deref() == Some("CrashLoopBackOff") {
        reason = "CRASH_LOOP".into();
        message = waiting_message.clone().unwrap_or_default();
        InstancePhase::Failed
    } else if waiting_reason.as_deref() == Some("CreateContainerConfigError") {
        reason = "CONFIG_ERROR".into();
        message = waiting_message.clone().unwrap_or_default();
        InstancePhase::Failed
    } else {
        match status.phase.as_deref() {
            Some("Running") => InstancePhase::Running,
            Some("Succeeded") | Some("Failed") => {
                if status.reason.as_deref() == Some("Evicted") {
                    reason = "EVICTED".into();
                }
                InstancePhase::Exited
            }
            Some("Unknown") => {
                reason = "HOST_UNREACHABLE".into();
                InstancePhase::Unknown
            }
            _ => {
                let scheduled = condition("PodScheduled");
                if let Some(scheduled) = scheduled.filter(|c| c.status == "False") {
                    if scheduled.reason.as_deref() == Some("Unschedulable") {
                        reason = "UNSCHEDULABLE".into();
                    }
                    message = scheduled.message.unwrap_or_default();
                }
                InstancePhase::Pending
            }
        }
    };
    let ready = phase == InstancePhase::Running && pod_ready;
    let started = phase == InstancePhase::Running
        && container.as_ref().map_or(running.is_some(), |c| {
            c.started.unwrap_or(running.is_some())
        });
    if reason.is_empty() && phase == InstancePhase::Running && started && !ready {
        reason = "READINESS_CHECK_FAILED".into();
    }
    let exit = match phase {
        InstancePhase::Exited => terminated
            .as_ref()
            .or(last_terminated.as_ref())
            .map(exit_of),
        _ => last_terminated.as_ref().map(exit_of),
    };
    let ports = spec
        .containers
        .iter()
        .find(|c| c.name == CONTAINER)
        .or_else(|| spec.containers.first())
        .and_then(|c| c.ports.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|port| {
            Some(PublishedPort {
                name: port.name.unwrap_or_default(),
                container_port: u16::try_from(port.container_port).ok()?,
                protocol: match port.protocol.as_deref() {
                    Some("UDP") => Transport::Udp,
                    _ => Transport::Tcp,
                },
                host_address: None,
                host_port: None,
            })
        })
        .collect();
    InstanceStatus {
        namespace: label(labels::NAMESPACE),
        deployment: label(labels::DEPLOYMENT),
        revision: label(labels::REVISION),
        instance: name.clone(),
        runtime_id: pod.metadata.uid.clone().unwrap_or_default(),
        display_name: name,
        host,
        region: node.region,
        zone: node.zone,
        phase,
        started,
        ready,
        reason,
        message,
        ip: status
            .pod_ip
            .as_deref()
            .and_then(|ip| ip.parse::<IpAddr>().ok()),
        ports,
        restart_count: container
            .as_ref()
            .and_then(|c| u32::try_from(c.restart_count).ok())
            .unwrap_or(0),
        started_at: running
            .as_ref()
            .and_then(|r| r.started_at.as_ref())
            .or(status.start_time.as_ref())
            .map(to_system_time),
        ready_since: ready_condition
            .filter(|_| ready)
            .and_then(|c| c.last_transition_time)
            .map(|t| to_system_time(&t)),
        exit,
        labels: pod_labels,
    }
}

// === Change hints ===

/// What a pod hint compares: a hint is sent when one of these changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PodSummary {
    phase: InstancePhase,
    ready: bool,
    restarts: u32,
}

/// The action of a pod hint, after Docker's event names where they fit.
fn pod_action(previous: Option<PodSummary>, now: PodSummary) -> Option<&'static str> {
    if previous == Some(now) {
        return None;
    }
    if previous.is_some_and(|p| now.restarts > p.restarts) {
        return Some("restart");
    }
    Some(match now.phase {
        InstancePhase::Pending => "create",
        InstancePhase::Running if now.ready => "health_status: healthy",
        InstancePhase::Running => "start",
        InstancePhase::Terminating => "kill",
        InstancePhase::Exited => "die",
        InstancePhase::Failed => "fail",
        InstancePhase::Unknown => "host_unreachable",
    })
}

/// Turns a pod watch into hints: one per change of phase, readiness or restart count of a
/// Ferry pod, `destroy` when it is gone (also when a re-list after a reconnect no longer
/// shows it). The first list only records what is there.
#[derive(Debug, Default)]
pub struct PodHints {
    seen: HashMap<String, (PodSummary, RuntimeEvent)>,
    listing: Option<HashSet<String>>,
    listed_once: bool,
}

impl PodHints {
    /// The hints for one watch event.
    pub fn handle(&mut self, event: watcher::Event<Pod>) -> Vec<RuntimeEvent> {
        match event {
            watcher::Event::Init => {
                self.listing = Some(HashSet::new());
                Vec::new()
            }
            watcher::Event::InitApply(pod) => {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                if let Some(listing) = &mut self.listing {
                    listing.insert(uid);
                }
                let hint = self.apply(&pod);
                if self.listed_once { hint } else { Vec::new() }
            }
            watcher::Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                let gone: Vec<String> = self
                    .seen
                    .keys()
                    .filter(|uid| !listed.contains(*uid))
                    .cloned()
                    .collect();
                self.listed_once = true;
                gone.iter()
                    .filter_map(|uid| self.seen.remove(uid))
                    .map(|(_, event)| with_action(event, "destroy"))
                    .collect()
            }
            watcher::Event::Apply(pod) => self.apply(&pod),
            watcher::Event::Delete(pod) => {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                self.seen.remove(&uid);
                vec![with_action(hint_of(&pod), "destroy")]
            }
        }
    }

    fn apply(&mut self, pod: &Pod) -> Vec<RuntimeEvent> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let status = instance_status(pod, &HashMap::new());
        let now = PodSummary {
            phase: status.phase,
            ready: status.ready,
            restarts: status.restart_count,
        };
        let previous = self.seen.get(&uid).map(|(summary, _)| *summary);
        let event = hint_of(pod);
        self.seen.insert(uid, (now, event.clone()));
        pod_action(previous, now)
            .map(|action| vec![with_action(event, action)])
            .unwrap_or_default()
    }
}

fn hint_of(pod: &Pod) -> RuntimeEvent {
    let pod_labels = pod.metadata.labels.clone().unwrap_or_default();
    RuntimeEvent::Instance {
        namespace: pod_labels
            .get(labels::NAMESPACE)
            .cloned()
            .unwrap_or_default(),
        deployment: pod_labels
            .get(labels::DEPLOYMENT)
            .cloned()
            .unwrap_or_default(),
        instance: pod.metadata.name.clone().unwrap_or_default(),
        action: String::new(),
    }
}

fn with_action(event: RuntimeEvent, new_action: &str) -> RuntimeEvent {
    match event {
        RuntimeEvent::Instance {
            namespace,
            deployment,
            instance,
            ..
        } => RuntimeEvent::Instance {
            namespace,
            deployment,
            instance,
            action: new_action.into(),
        },
        other => other,
    }
}

/// Turns a node watch into hints: one when a node appears (after the first list), changes
/// state, or goes away (reported `Unreachable`).
#[derive(Debug, Default)]
pub struct NodeHints {
    seen: HashMap<String, HostState>,
    listing: Option<HashSet<String>>,
    listed_once: bool,
}

impl NodeHints {
    /// The hints for one watch event.
    pub fn handle(&mut self, event: watcher::Event<Node>) -> Vec<RuntimeEvent> {
        match event {
            watcher::Event::Init => {
                self.listing = Some(HashSet::new());
                Vec::new()
            }
            watcher::Event::InitApply(node) => {
                let name = node.metadata.name.clone().unwrap_or_default();
                if let Some(listing) = &mut self.listing {
                    listing.insert(name);
                }
                let hint = self.apply(&node);
                if self.listed_once { hint } else { Vec::new() }
            }
            watcher::Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                let gone: Vec<String> = self
                    .seen
                    .keys()
                    .filter(|name| !listed.contains(*name))
                    .cloned()
                    .collect();
                self.listed_once = true;
                gone.into_iter()
                    .map(|name| {
                        self.seen.remove(&name);
                        RuntimeEvent::Host {
                            host: name.to_lowercase(),
                            state: HostState::Unreachable,
                        }
                    })
                    .collect()
            }
            watcher::Event::Apply(node) => self.apply(&node),
            watcher::Event::Delete(node) => {
                let name = node.metadata.name.clone().unwrap_or_default();
                self.seen.remove(&name);
                vec![RuntimeEvent::Host {
                    host: name.to_lowercase(),
                    state: HostState::Unreachable,
                }]
            }
        }
    }

    fn apply(&mut self, node: &Node) -> Vec<RuntimeEvent> {
        let name = node.metadata.name.clone().unwrap_or_default();
        let (state, _) = host_state(node);
        if self.seen.insert(name.clone(), state) == Some(state) {
            return Vec::new();
        }
        vec![RuntimeEvent::Host {
            host: name.to_lowercase(),
            state,
        }]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).expect("a valid pod")
    }

    fn node(value: serde_json::Value) -> Node {
        serde_json::from_value(value).expect("a valid node")
    }

    fn base_pod(status: serde_json::Value) -> Pod {
        pod(json!({
            "metadata": {
                "name": "web-r3-abcde",
                "uid": "uid-1",
                "labels": {
                    "ferry.dev/managed": "true",
                    "ferry.dev/namespace": "shop",
                    "ferry.dev/deployment": "web",
                    "ferry.dev/revision": "r3"
                }
            },
            "spec": {
                "nodeName": "node-1",
                "containers": [{
                    "name": "app",
                    "image": "web:1",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
                }]
            },
            "status": status
        }))
    }

    fn nodes(state: HostState) -> HashMap<String, NodeInfo> {
        HashMap::from([(
            "node-1".to_string(),
            NodeInfo {
                region: "r1".into(),
                zone: "z2".into(),
                state,
            },
        )])
    }

    #[test]
    fn quantities_parse_in_every_notation() {
        assert_eq!(quantity_millis("2"), Some(2000));
        assert_eq!(quantity_millis("250m"), Some(250));
        assert_eq!(quantity_millis("0.5"), Some(500));
        assert_eq!(quantity_units("1Ki"), Some(1024));
        assert_eq!(quantity_units("64Gi"), Some(64 << 30));
        assert_eq!(quantity_units("128974848"), Some(128_974_848));
        assert_eq!(quantity_units("129e6"), Some(129_000_000));
        assert_eq!(quantity_units("1.5M"), Some(1_500_000));
        assert_eq!(quantity_millis("12Q"), None);
        assert_eq!(quantity_millis("-1"), None);
        assert_eq!(quantity_millis(""), None);
    }

    #[test]
    fn a_running_ready_pod_is_a_ready_instance_on_its_node() {
        let status = instance_status(
            &base_pod(json!({
                "phase": "Running",
                "podIP": "10.244.0.7",
                "startTime": "2026-11-26T09:00:00Z",
                "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-26T09:00:05Z"},
                    {"type": "PodScheduled", "status": "True"}
                ],
                "containerStatuses": [{
                    "name": "app", "image": "web:1", "imageID": "", "ready": true,
                    "restartCount": 2, "started": true,
                    "state": {"running": {"startedAt": "2026-11-26T09:00:02Z"}},
                    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                        "finishedAt": "2026-11-26T09:00:01Z"}}
                }]
            })),
            &nodes(HostState::Ready),
        );
        assert_eq!(status.phase, InstancePhase::Running);
        assert!(status.ready && status.started);
        assert_eq!(status.instance, "web-r3-abcde");
        assert_eq!(status.labels[labels::INSTANCE], "web-r3-abcde");
        assert_eq!(
            (
                status.namespace.as_str(),
                status.deployment.as_str(),
                status.revision.as_str()
            ),
            ("shop", "web", "r3")
        );
        assert_eq!(
            (
                status.host.as_str(),
                status.region.as_str(),
                status.zone.as_str()
            ),
            ("node-1", "r1", "z2")
        );
        assert_eq!(status.ip, Some("10.244.0.7".parse().unwrap()));
        assert_eq!(status.restart_count, 2);
        assert_eq!(status.runtime_id, "uid-1");
        assert_eq!(status.ports[0].container_port, 8080);
        let exit = status.exit.unwrap();
        assert_eq!((exit.code, exit.reason.as_str()), (137, "OOM_KILLED"));
        assert_eq!(
            status.started_at,
            Some(SystemTime::from(
                "2026-11-26T09:00:02Z"
                    .parse::<k8s_openapi::jiff::Timestamp>()
                    .unwrap()
            ))
        );
        assert!(status.ready_since.is_some());
        assert!(status.reason.is_empty());
    }

    #[test]
    fn running_but_not_ready_says_readiness() {
        let status = instance_status(
            &base_pod(json!({
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{"name": "app", "image": "", "imageID": "", "ready": false,
                    "restartCount": 0, "started": true, "state": {"running": {}}}]
            })),
            &nodes(HostState::Ready),
        );
        assert_eq!(status.phase, InstancePhase::Running);
        assert!(!status.ready && status.started);
        assert_eq!(status.reason, "READINESS_CHECK_FAILED");
    }

    #[test]
    fn image_and_crash_problems_fail_the_instance() {
        for (waiting, reason) in [
            ("ImagePullBackOff", "IMAGE_PULL_FAILED"),
            ("ErrImagePull", "IMAGE_PULL_FAILED"),
            ("CrashLoopBackOff", "CRASH_LOOP"),
        ] {
            let status = instance_status(
                &base_pod(json!({
                    "phase": if waiting == "CrashLoopBackOff" { "Running" } else { "Pending" },
                    "containerStatuses": [{"name": "app", "image": "", "imageID": "", "ready": false,
                        "restartCount": 0,
                        "state": {"waiting": {"reason": waiting, "message": "back-off"}}}]
                })),
                &nodes(HostState::Ready),
            );
            assert_eq!(status.phase, InstancePhase::Failed, "{waiting}");
            assert_eq!(status.reason, reason, "{waiting}");
            assert_eq!(status.message, "back-off");
            assert!(!status.ready);
        }
    }

    #[test]
    fn deletion_ended_runs_lost_nodes_and_scheduling_are_told_apart() {
        let mut deleting = base_pod(json!({"phase": "Running"}));
        deleting.metadata.deletion_timestamp = Some(Time("2026-11-26T09:00:00Z".parse().unwrap()));
        assert_eq!(
            instance_status(&deleting, &nodes(HostState::Ready)).phase,
            InstancePhase::Terminating
        );

        let unknown = instance_status(
            &base_pod(
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}),
            ),
            &nodes(HostState::Unreachable),
        );
        assert_eq!(unknown.phase, InstancePhase::Unknown);
        assert_eq!(unknown.reason, "HOST_UNREACHABLE");
        assert!(!unknown.ready && !unknown.is_live());

        let exited = instance_status(
            &base_pod(json!({
                "phase": "Failed",
                "containerStatuses": [{"name": "app", "image": "", "imageID": "", "ready": false,
                    "restartCount": 0,
                    "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}]
            })),
            &nodes(HostState::Ready),
        );
        assert_eq!(exited.phase, InstancePhase::Exited);
        let exit = exited.exit.unwrap();
        assert_eq!((exit.code, exit.reason.as_str()), (3, "ERROR"));

        let mut unscheduled = base_pod(json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/2 nodes are available"}]
        }));
        unscheduled.spec.as_mut().unwrap().node_name = None;
        let pending = instance_status(&unscheduled, &nodes(HostState::Ready));
        assert_eq!(pending.phase, InstancePhase::Pending);
        assert_eq!(pending.reason, "UNSCHEDULABLE");
        assert_eq!(pending.message, "0/2 nodes are available");
        assert!(pending.host.is_empty() && pending.zone.is_empty());
    }

    fn kwok_node(ready: &str, taints: serde_json::Value) -> Node {
        node(json!({
            "metadata": {"name": "Kwok-Z1", "labels": {
                "topology.kubernetes.io/region": "r1", "topology.kubernetes.io/zone": "z1"}},
            "spec": {"taints": taints},
            "status": {
                "capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"},
                "addresses": [{"type": "InternalIP", "address": "10.0.0.9"}],
                "nodeInfo": {"kubeletVersion": "fake", "operatingSystem": "linux",
                    "architecture": "amd64", "bootID": "", "containerRuntimeVersion": "",
                    "kernelVersion": "", "kubeProxyVersion": "", "machineID": "", "osImage": "",
                    "systemUUID": ""},
                "conditions": [{"type": "Ready", "status": ready, "message": "kubelet says so"}]
            }
        }))
    }

    #[test]
    fn nodes_become_hosts_with_state_capacity_and_zone() {
        let host = host_status(&kwok_node("True", json!([])), 4);
        assert_eq!(host.name, "kwok-z1");
        assert_eq!(host.display_name, "Kwok-Z1");
        assert_eq!((host.region.as_str(), host.zone.as_str()), ("r1", "z1"));
        assert_eq!(host.state, HostState::Ready);
        assert_eq!(host.cpu_millis, 16_000);
        assert_eq!(host.memory_bytes, 64 << 30);
        assert_eq!(host.instance_count, 4);
        assert_eq!(host.address, "10.0.0.9");
        assert_eq!(host.runtime_version, "kubelet fake");
        assert_eq!(
            (host.os.as_str(), host.architecture.as_str()),
            ("linux", "amd64")
        );

        let not_ready = host_status(&kwok_node("False", json!([])), 0);
        assert_eq!(not_ready.state, HostState::NotReady);
        assert_eq!(not_ready.message, "kubelet says so");
        let unknown = kwok_node("Unknown", json!([]));
        assert_eq!(host_state(&unknown).0, HostState::Unreachable);
        let tainted = kwok_node(
            "True",
            json!([{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]),
        );
        assert_eq!(host_state(&tainted).0, HostState::Unreachable);
    }

    fn actions(events: Vec<RuntimeEvent>) -> Vec<String> {
        events
            .into_iter()
            .map(|event| match event {
                RuntimeEvent::Instance {
                    instance, action, ..
                } => format!("{instance}:{action}"),
                RuntimeEvent::Host { host, state } => format!("{host}:{state:?}"),
            })
            .collect()
    }

    #[test]
    fn pod_hints_follow_changes_only() {
        let pending = base_pod(json!({"phase": "Pending"}));
        let running = base_pod(json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "image": "", "imageID": "", "ready": true,
                "restartCount": 0, "started": true, "state": {"running": {}}}]}));
        let mut hints = PodHints::default();
        // The first list records, says nothing.
        assert!(hints.handle(watcher::Event::Init).is_empty());
        assert!(
            hints
                .handle(watcher::Event::InitApply(pending.clone()))
                .is_empty()
        );
        assert!(hints.handle(watcher::Event::InitDone).is_empty());
        assert!(
            hints
                .handle(watcher::Event::Apply(pending.clone()))
                .is_empty(),
            "no change"
        );
        assert_eq!(
            actions(hints.handle(watcher::Event::Apply(running.clone()))),
            ["web-r3-abcde:health_status: healthy"]
        );
        // A re-list that no longer has the pod: it is gone.
        hints.handle(watcher::Event::Init);
        assert_eq!(
            actions(hints.handle(watcher::Event::InitDone)),
            ["web-r3-abcde:destroy"]
        );
        // A re-list that shows a new pod reports it.
        hints.handle(watcher::Event::Init);
        assert_eq!(
            actions(hints.handle(watcher::Event::InitApply(running.clone()))),
            ["web-r3-abcde:health_status: healthy"]
        );
        assert_eq!(
            actions(hints.handle(watcher::Event::Delete(running))),
            ["web-r3-abcde:destroy"]
        );
    }

    #[test]
    fn node_hints_report_state_changes() {
        let mut hints = NodeHints::default();
        hints.handle(watcher::Event::Init);
        assert!(
            hints
                .handle(watcher::Event::InitApply(kwok_node("True", json!([]))))
                .is_empty()
        );
        hints.handle(watcher::Event::InitDone);
        assert!(
            hints
                .handle(watcher::Event::Apply(kwok_node("True", json!([]))))
                .is_empty()
        );
        assert_eq!(
            actions(hints.handle(watcher::Event::Apply(kwok_node("Unknown", json!([]))))),
            ["kwok-z1:Unreachable"]
        );
        assert_eq!(
            actions(hints.handle(watcher::Event::Apply(kwok_node("True", json!([]))))),
            ["kwok-z1:Ready"]
        );
    }
}
