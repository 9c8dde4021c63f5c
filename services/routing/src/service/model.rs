//! Pure rules of the Service resource: validation of what clients send, node-port
//! planning, the data plane program, and the observed status. No IO here; the API, the
//! programming loop and the status controller call these.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::{
    Condition, ConditionStatus, ContainerPort, ErrorReason, Protocol,
};
use ferry_proto::ferry::deploy::v1::{Instance, instance};
use ferry_proto::ferry::routing::v1::service::{State, Target, Type};
use ferry_proto::ferry::routing::v1::service_port::TargetPortRef;
use ferry_proto::ferry::routing::v1::session_affinity::Mode;
use ferry_proto::ferry::routing::v1::{AllocatedNodePort, Endpoint, Service, ServicePort};
use prost_types::Timestamp;

use crate::dataplane::Program;
use crate::dataplane::{
    ActiveCheck, Balancing, ProgramBackend, ProgramKind, ProgramPort, ProgramStatus, ProgramTarget,
    TargetPort,
};

/// `namespaces/{namespace}/services/{service}`.
pub const SERVICE_NAME: NamePattern = NamePattern("namespaces/{namespace}/services/{service}");
/// `namespaces/{namespace}`.
pub const NAMESPACE_NAME: NamePattern = NamePattern("namespaces/{namespace}");
/// `namespaces/{namespace}/deployments/{deployment}`.
pub const DEPLOYMENT_NAME: NamePattern =
    NamePattern("namespaces/{namespace}/deployments/{deployment}");

/// Fields UpdateService may change.
pub const UPDATABLE_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "deployment",
    "service_instance",
    "selector",
    "ports",
    "type",
    "session_affinity",
    "health_aware_routing",
];

/// The node-port pool, shared by Services and blue-green entries.
pub const NODE_PORTS: std::ops::RangeInclusive<i32> = 30000..=32767;
/// The cluster domain of DNS names.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// Most ports of one Service.
pub const MAX_PORTS: usize = 100;
/// Client-IP affinity idle timeout when none is given.
pub const DEFAULT_AFFINITY_TIMEOUT: Duration = Duration::from_secs(3 * 3600);

const MAX_TEXT: usize = 1024;
const MAX_ENTRIES: usize = 64;

/// The DNS name of a Service or external entry: `{id}.{namespace}.svc.cluster.local`.
pub fn dns_name(namespace: &str, id: &str) -> String {
    format!("{id}.{namespace}.svc.{CLUSTER_DOMAIN}")
}

/// The deployment a Service targets, if it targets one.
pub fn target_deployment(service: &Service) -> Option<&str> {
    match &service.target {
        Some(Target::Deployment(name)) => Some(name),
        _ => None,
    }
}

/// Whether the Service is exposed on node ports.
pub fn is_node_port(service: &Service) -> bool {
    service.r#type() == Type::NodePort
}

/// Checks every client-settable field of a Service in `namespace` (`field` is the
/// request field holding it, e.g. `service`). Nothing is read: the target's existence
/// and node-port availability are checked by the API.
pub fn validate(service: &Service, namespace: &str, field: &str) -> Result<(), ApiError> {
    let at = |name: &str| format!("{field}.{name}");
    if service.display_name.len() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            at("display_name"),
            format!("longer than {MAX_TEXT} bytes"),
        ));
    }
    validate_map(&service.labels, &at("labels"))?;
    validate_map(&service.annotations, &at("annotations"))?;
    match &service.target {
        None => {
            return Err(ApiError::invalid_field(
                at("deployment"),
                "a target is required: set deployment (namespaces/{namespace}/deployments/{deployment})",
            ));
        }
        Some(Target::Deployment(name)) => {
            let ids = DEPLOYMENT_NAME.parse(&at("deployment"), name)?;
            if ids[0] != namespace {
                return Err(ApiError::invalid_field(
                    at("deployment"),
                    format!("the target must be in the Service's namespace ({namespace})"),
                ));
            }
        }
        Some(Target::ServiceInstance(_)) => {
            return Err(
                ApiError::not_implemented("Service targets of kind service_instance")
                    .with_field_violation(
                        at("service_instance"),
                        "not served yet: target a deployment",
                    ),
            );
        }
        Some(Target::Selector(_)) => {
            return Err(
                ApiError::not_implemented("Service targets of kind selector")
                    .with_field_violation(at("selector"), "not served yet: target a deployment"),
            );
        }
    }
    validate_ports(&service.ports, is_node_port(service), &at("ports"))?;
    if let Some(affinity) = &service.session_affinity {
        match affinity.mode() {
            Mode::Unspecified | Mode::None => {
                if affinity.timeout.is_some() {
                    return Err(ApiError::invalid_field(
                        at("session_affinity.timeout"),
                        "only CLIENT_IP affinity has a timeout",
                    ));
                }
            }
            Mode::ClientIp => {
                if let Some(timeout) = &affinity.timeout {
                    let seconds = timeout.seconds as f64 + timeout.nanos as f64 / 1e9;
                    if !(1.0..=86_400.0).contains(&seconds) {
                        return Err(ApiError::invalid_field(
                            at("session_affinity.timeout"),
                            "must be between 1 s and 24 h",
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks a port list (Services and blue-green entries): at least one, at most
/// [`MAX_PORTS`]; ports in range; names unique and required with several ports; no two
/// ports with the same `port` and protocol or the same node port; node ports in
/// 30000..32767 and only when `node_port_type`.
pub fn validate_ports(
    ports: &[ServicePort],
    node_port_type: bool,
    field: &str,
) -> Result<(), ApiError> {
    if ports.is_empty() {
        return Err(ApiError::invalid_field(
            field,
            "at least one port is required",
        ));
    }
    if ports.len() > MAX_PORTS {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {MAX_PORTS} ports"),
        ));
    }
    let mut names = HashSet::new();
    let mut numbers = HashSet::new();
    let mut node_ports = HashSet::new();
    for (index, port) in ports.iter().enumerate() {
        let at = |name: &str| format!("{field}[{index}].{name}");
        if !(1..=65535).contains(&port.port) {
            return Err(ApiError::invalid_field(
                at("port"),
                format!("{} is outside 1..65535", port.port),
            ));
        }
        if port.name.is_empty() {
            if ports.len() > 1 {
                return Err(ApiError::invalid_field(
                    at("name"),
                    "required when a Service has several ports",
                ));
            }
        } else {
            aip::validate_id(&at("name"), &port.name)?;
            if !names.insert(port.name.as_str()) {
                return Err(ApiError::invalid_field(
                    at("name"),
                    format!("duplicate port name {:?}", port.name),
                ));
            }
        }
        match &port.target_port_ref {
            Some(TargetPortRef::TargetPort(target)) if !(1..=65535).contains(target) => {
                return Err(ApiError::invalid_field(
                    at("target_port"),
                    format!("{target} is outside 1..65535"),
                ));
            }
            Some(TargetPortRef::TargetPortName(name)) => {
                aip::validate_id(&at("target_port_name"), name)?
            }
            _ => {}
        }
        let protocol = Protocol::try_from(port.protocol).unwrap_or(Protocol::Unspecified);
        if protocol == Protocol::Udp {
            return Err(ApiError::invalid_field(
                at("protocol"),
                "UDP is not routed yet: use TCP, HTTP or GRPC",
            ));
        }
        let family = if protocol == Protocol::Udp {
            "udp"
        } else {
            "tcp"
        };
        if !numbers.insert((port.port, family)) {
            return Err(ApiError::invalid_field(
                at("port"),
                format!("duplicate port {} ({family})", port.port),
            ));
        }
        if port.node_port != 0 {
            if !node_port_type {
                return Err(ApiError::invalid_field(
                    at("node_port"),
                    "only NODE_PORT Services have node ports",
                ));
            }
            if !NODE_PORTS.contains(&port.node_port) {
                return Err(ApiError::invalid_field(
                    at("node_port"),
                    format!("{} is outside 30000..32767", port.node_port),
                ));
            }
            if !node_ports.insert(port.node_port) {
                return Err(ApiError::invalid_field(
                    at("node_port"),
                    format!("duplicate node port {}", port.node_port),
                ));
            }
        }
    }
    Ok(())
}

fn validate_map(map: &HashMap<String, String>, field: &str) -> Result<(), ApiError> {
    if map.len() > MAX_ENTRIES {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {MAX_ENTRIES} entries"),
        ));
    }
    for (key, value) in map {
        let valid_key = !key.is_empty()
            && key.len() <= 63
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
        if !valid_key {
            return Err(ApiError::invalid_field(
                format!("{field}[{key:?}]"),
                "keys are 1 to 63 letters, digits, `-`, `_`, `.` or `/`",
            ));
        }
        if value.len() > MAX_TEXT {
            return Err(ApiError::invalid_field(
                format!("{field}[{key:?}]"),
                format!("longer than {MAX_TEXT} bytes"),
            ));
        }
    }
    Ok(())
}

/// Checks the ports' `target_port_name`s against the names the target declares.
pub fn check_target_port_names(
    ports: &[ServicePort],
    declared: &[String],
    field: &str,
) -> Result<(), ApiError> {
    for (index, port) in ports.iter().enumerate() {
        if let Some(TargetPortRef::TargetPortName(name)) = &port.target_port_ref
            && !declared.contains(name)
        {
            return Err(ApiError::invalid_field(
                format!("{field}[{index}].target_port_name"),
                format!(
                    "the target declares no port named {name:?} (it declares: {})",
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// The node ports a Service's ports get: per port, `Some(n)` when it has one (requested,
/// or kept from `current` for the same port name and number), `None` when one must be
/// allocated from the pool. Ports of a CLUSTER_INTERNAL Service get none (empty vector).
pub fn plan_node_ports(
    ports: &[ServicePort],
    node_port_type: bool,
    current: &[AllocatedNodePort],
) -> Vec<Option<i32>> {
    if !node_port_type {
        return Vec::new();
    }
    let requested: HashSet<i32> = ports
        .iter()
        .map(|p| p.node_port)
        .filter(|n| *n != 0)
        .collect();
    ports
        .iter()
        .map(|port| {
            if port.node_port != 0 {
                return Some(port.node_port);
            }
            current
                .iter()
                .find(|a| {
                    a.port_name == port.name
                        && a.port == port.port
                        && !requested.contains(&a.node_port)
                })
                .map(|a| a.node_port)
        })
        .collect()
}

/// The lowest free node ports, `count` of them, avoiding `taken`.
pub fn pick_node_ports(taken: &BTreeSet<i32>, count: usize) -> Option<Vec<i32>> {
    let picked: Vec<i32> = NODE_PORTS
        .filter(|p| !taken.contains(p))
        .take(count)
        .collect();
    (picked.len() == count).then_some(picked)
}

/// The cluster-address candidates of a Service, in the order to try them: a hash of its
/// name picks the first one in 127.77.0.0/16 (never .0 or .255 in the last octet),
/// then the following ones.
pub fn cluster_address_candidates(name: &str) -> impl Iterator<Item = Ipv4Addr> {
    // FNV-1a: stable across releases (std's hasher is not).
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let start = hash % 65_536;
    (0..65_536u32)
        .map(move |offset| (start + offset) % 65_536)
        .filter(|n| !matches!(n & 0xff, 0 | 255))
        .map(|n| Ipv4Addr::new(127, 77, (n >> 8) as u8, (n & 0xff) as u8))
}

/// The status fields of a Service, on top of its stored configuration.
pub fn merge_status(config: &Service, status: Option<&Service>) -> Service {
    let mut merged = config.clone();
    match status {
        Some(status) => {
            merged.state = status.state;
            merged.endpoints = status.endpoints.clone();
            merged.ready_endpoint_count = status.ready_endpoint_count;
            merged.endpoint_count = status.endpoint_count;
            merged.conditions = status.conditions.clone();
            merged.observed_generation = status.observed_generation;
            merged.reconciling = status.reconciling;
        }
        None => {
            merged.state = State::Creating as i32;
            merged.reconciling = true;
        }
    }
    merged
}

/// Tuning of the programs built for Services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramTuning {
    /// The data plane's own active check of health-aware Services' backends.
    pub active_check: Option<ActiveCheck>,
    /// How long connections to removed backends may finish.
    pub drain_timeout: Duration,
}

impl Default for ProgramTuning {
    fn default() -> Self {
        ProgramTuning {
            active_check: Some(ActiveCheck {
                http_path: None,
                interval: Duration::from_millis(500),
                timeout: Duration::from_millis(300),
                healthy_threshold: 1,
                unhealthy_threshold: 2,
            }),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// One endpoint of a Service port: an instance and the address its target port is
/// reachable at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedEndpoint {
    /// The Service port's name.
    pub port_name: String,
    /// The instance name.
    pub instance: String,
    /// The instance's address on the runtime's network (or its published address).
    pub address: String,
    /// The target port number on the instance.
    pub target_port: i32,
    /// Where the data plane connects (`host_address:host_port`).
    pub reachable: Option<SocketAddr>,
    /// The host the instance runs on.
    pub host: String,
    /// Whether the instance is READY.
    pub ready: bool,
    /// Whether it receives traffic without health-aware routing (running at all).
    pub running: bool,
}

/// Whether health-aware routing is on (unset means true).
pub fn health_aware(service: &Service) -> bool {
    service.health_aware_routing.unwrap_or(true)
}

/// The endpoints of every port of `ports` over `instances` (sorted by instance, then
/// port order), for instances that expose the port's target port. A `target_port_name`
/// matches an instance port of that name, or (runtimes that report no port names) the
/// port number the target's template `declared` under that name.
pub fn resolve_endpoints(
    ports: &[ServicePort],
    instances: &[Instance],
    declared: &[ContainerPort],
) -> Vec<ResolvedEndpoint> {
    let mut instances: Vec<&Instance> = instances.iter().collect();
    instances.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::new();
    for instance in instances {
        for port in ports {
            let found = instance.ports.iter().find(|p| {
                let Some(container) = &p.port else {
                    return false;
                };
                match &port.target_port_ref {
                    Some(TargetPortRef::TargetPortName(name)) => {
                        &container.name == name
                            || (container.name.is_empty()
                                && declared
                                    .iter()
                                    .any(|d| &d.name == name && d.port == container.port))
                    }
                    Some(TargetPortRef::TargetPort(number)) => container.port == *number,
                    None => container.port == port.port,
                }
            });
            let Some(found) = found else { continue };
            let target_port = found.port.as_ref().map_or(0, |c| c.port);
            let reachable = (found.host_port > 0).then(|| {
                let ip = found
                    .host_address
                    .parse::<IpAddr>()
                    .ok()
                    .filter(|ip| !ip.is_unspecified())
                    .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
                SocketAddr::new(ip, found.host_port as u16)
            });
            let state = instance.state();
            out.push(ResolvedEndpoint {
                port_name: port.name.clone(),
                instance: instance.name.clone(),
                address: if instance.ip_address.is_empty() {
                    found.host_address.clone()
                } else {
                    instance.ip_address.clone()
                },
                target_port,
                reachable,
                host: instance.host.clone(),
                ready: state == instance::State::Ready,
                running: matches!(
                    state,
                    instance::State::Ready | instance::State::Running | instance::State::Unhealthy
                ),
            });
        }
    }
    out
}

/// The data plane program of a Service at configuration `generation`, over the
/// target's observed `instances`.
pub fn program(
    service: &Service,
    generation: i64,
    instances: &[Instance],
    declared: &[ContainerPort],
    tuning: &ProgramTuning,
) -> Program {
    let health_aware = health_aware(service);
    let endpoints = resolve_endpoints(&service.ports, instances, declared);
    let node_ports: HashMap<(String, i32), i32> = service
        .allocated_node_ports
        .iter()
        .map(|a| ((a.port_name.clone(), a.port), a.node_port))
        .collect();
    let ports = service
        .ports
        .iter()
        .map(|port| ProgramPort {
            name: port.name.clone(),
            port: port.port as u16,
            node_port: node_ports
                .get(&(port.name.clone(), port.port))
                .map(|n| *n as u16),
            target_port: match &port.target_port_ref {
                Some(TargetPortRef::TargetPortName(name)) => TargetPort::Name(name.clone()),
                Some(TargetPortRef::TargetPort(number)) => TargetPort::Number(*number as u16),
                None => TargetPort::Number(port.port as u16),
            },
            backends: endpoints
                .iter()
                .filter(|e| e.port_name == port.name)
                .filter(|e| if health_aware { e.ready } else { e.running })
                .filter_map(|e| {
                    Some(ProgramBackend {
                        id: e.instance.clone(),
                        address: e.reachable?,
                    })
                })
                .collect(),
        })
        .collect();
    let balancing = match &service.session_affinity {
        Some(affinity) if affinity.mode() == Mode::ClientIp => Balancing::ClientIp {
            idle_timeout: affinity
                .timeout
                .and_then(|t| Duration::try_from(t).ok())
                .unwrap_or(DEFAULT_AFFINITY_TIMEOUT),
        },
        _ => Balancing::RoundRobin,
    };
    let ids = SERVICE_NAME
        .parse("name", &service.name)
        .unwrap_or_default();
    Program {
        id: service.name.clone(),
        kind: ProgramKind::Service,
        generation,
        dns_name: service.dns_name.clone(),
        cluster_address: service
            .cluster_address
            .parse()
            .unwrap_or(Ipv4Addr::LOCALHOST),
        ports,
        balancing,
        health_aware,
        active_check: if health_aware {
            tuning.active_check.clone()
        } else {
            None
        },
        drain_timeout: tuning.drain_timeout,
        target: match target_deployment(service) {
            Some(name) => ProgramTarget::Deployment {
                name: name.to_string(),
            },
            None => ProgramTarget::Deployment {
                name: DEPLOYMENT_NAME.format(&[ids.first().copied().unwrap_or_default(), ""]),
            },
        },
    }
}

/// What the status controller observed for one Service.
#[derive(Debug)]
pub struct Observed<'a> {
    /// The configuration's generation (its key's version).
    pub generation: i64,
    /// Whether the target deployment exists.
    pub target_found: bool,
    /// The target's instances as the deploy service last observed them.
    pub instances: &'a [Instance],
    /// The ports the target's template declares.
    pub declared: &'a [ContainerPort],
    /// What this replica's data plane applied and sees.
    pub data_plane: Option<&'a ProgramStatus>,
    /// The status stored before (for transition times).
    pub previous: Option<&'a Service>,
    /// Now.
    pub now: Timestamp,
}

/// The observed status of a Service (only the status fields are set).
pub fn compute_status(service: &Service, observed: &Observed<'_>) -> Service {
    let endpoints = resolve_endpoints(&service.ports, observed.instances, observed.declared);
    let programmed = observed
        .data_plane
        .is_some_and(|status| status.generation >= observed.generation);
    let health: HashMap<(&str, &str), bool> = observed
        .data_plane
        .map(|status| {
            status
                .endpoints
                .iter()
                .map(|e| ((e.port_name.as_str(), e.backend_id.as_str()), e.healthy))
                .collect()
        })
        .unwrap_or_default();
    let previous: HashMap<(&str, &str), &Endpoint> = observed
        .previous
        .map(|p| {
            p.endpoints
                .iter()
                .map(|e| ((e.port_name.as_str(), e.instance.as_str()), e))
                .collect()
        })
        .unwrap_or_default();
    let health_aware = health_aware(service);
    let endpoints: Vec<Endpoint> = endpoints
        .iter()
        .map(|e| {
            let checked = health
                .get(&(e.port_name.as_str(), e.instance.as_str()))
                .copied();
            let base = if health_aware { e.ready } else { e.running };
            let healthy = base && checked.unwrap_or(true);
            let before = previous.get(&(e.port_name.as_str(), e.instance.as_str()));
            let health_change_time = match before {
                Some(before) if before.healthy == healthy => before.health_change_time,
                _ => Some(observed.now),
            };
            Endpoint {
                instance: e.instance.clone(),
                address: e.address.clone(),
                port_name: e.port_name.clone(),
                port: e.target_port,
                healthy,
                host: e.host.clone(),
                health_change_time,
            }
        })
        .collect();
    let ready = endpoints.iter().filter(|e| e.healthy).count();
    let state = if !observed.target_found {
        State::Failed
    } else if !programmed && observed.previous.is_none_or(|p| p.observed_generation == 0) {
        State::Creating
    } else if ready == 0 {
        State::NoEndpoints
    } else if ready < endpoints.len() {
        State::Degraded
    } else {
        State::Active
    };
    let target = target_deployment(service).unwrap_or_default();
    let previous_conditions = observed
        .previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or_default();
    let condition = |kind: &str, holds: bool, reason: &str, message: String| {
        let status = if holds {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        let last_transition_time = previous_conditions
            .iter()
            .find(|c| c.r#type == kind && c.status == status as i32)
            .and_then(|c| c.last_transition_time)
            .or(Some(observed.now));
        Condition {
            r#type: kind.to_string(),
            status: status as i32,
            reason: if holds {
                String::new()
            } else {
                reason.to_string()
            },
            message,
            last_transition_time,
            observed_generation: observed.generation,
        }
    };
    let conditions = vec![
        condition(
            "Ready",
            observed.target_found && programmed && ready > 0,
            reason_name(if observed.target_found {
                ErrorReason::TargetUnhealthy
            } else {
                ErrorReason::ResourceNotFound
            }),
            format!("{ready} of {} endpoints healthy", endpoints.len()),
        ),
        condition(
            "Programmed",
            programmed,
            reason_name(ErrorReason::InvalidState),
            if programmed {
                "the routing data plane applied the current configuration".to_string()
            } else {
                "the routing data plane has not applied the current configuration yet".to_string()
            },
        ),
        condition(
            "TargetFound",
            observed.target_found,
            reason_name(ErrorReason::ResourceNotFound),
            if observed.target_found {
                format!("{target} exists")
            } else {
                format!("{target} does not exist")
            },
        ),
        condition(
            "EndpointsHealthy",
            !endpoints.is_empty() && ready == endpoints.len(),
            reason_name(ErrorReason::TargetUnhealthy),
            format!("{ready} of {} endpoints healthy", endpoints.len()),
        ),
    ];
    Service {
        state: state as i32,
        ready_endpoint_count: ready as i32,
        endpoint_count: endpoints.len() as i32,
        endpoints,
        conditions,
        observed_generation: if programmed {
            observed.generation
        } else {
            observed.previous.map_or(0, |p| p.observed_generation)
        },
        reconciling: !programmed,
        ..Default::default()
    }
}

fn reason_name(reason: ErrorReason) -> &'static str {
    ferry_kit::error::reason_str(reason)
}

/// `SystemTime` as a protobuf timestamp.
pub fn timestamp(time: SystemTime) -> Timestamp {
    Timestamp::from(time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::deploy::v1::instance::Port;
    use ferry_proto::ferry::routing::v1::SessionAffinity;
    use tonic::Code;

    fn port(name: &str, number: i32) -> ServicePort {
        ServicePort {
            name: name.into(),
            port: number,
            ..Default::default()
        }
    }

    fn service(ports: Vec<ServicePort>) -> Service {
        Service {
            target: Some(Target::Deployment("namespaces/dev/deployments/web".into())),
            ports,
            ..Default::default()
        }
    }

    fn field_of(error: &ApiError) -> &str {
        &error.field_violations[0].0
    }

    #[test]
    fn bad_ports_name_the_field() {
        let node = |mut s: Service| {
            s.r#type = Type::NodePort as i32;
            s
        };
        let cases = vec![
            (service(vec![]), "service.ports"),
            (service(vec![port("", 0)]), "service.ports[0].port"),
            (service(vec![port("", 70000)]), "service.ports[0].port"),
            (
                service(vec![port("a", 80), port("a", 81)]),
                "service.ports[1].name",
            ),
            (
                service(vec![port("a", 80), port("b", 80)]),
                "service.ports[1].port",
            ),
            (
                service(vec![port("a", 80), port("", 81)]),
                "service.ports[1].name",
            ),
            (
                service(vec![ServicePort {
                    node_port: 30001,
                    ..port("", 80)
                }]),
                "service.ports[0].node_port",
            ),
            (
                node(service(vec![ServicePort {
                    node_port: 80,
                    ..port("", 80)
                }])),
                "service.ports[0].node_port",
            ),
            (
                node(service(vec![
                    ServicePort {
                        node_port: 30001,
                        ..port("a", 80)
                    },
                    ServicePort {
                        node_port: 30001,
                        ..port("b", 81)
                    },
                ])),
                "service.ports[1].node_port",
            ),
            (
                service(vec![ServicePort {
                    target_port_ref: Some(TargetPortRef::TargetPort(0)),
                    ..port("", 80)
                }]),
                "service.ports[0].target_port",
            ),
            (
                Service {
                    target: Some(Target::Deployment(
                        "namespaces/other/deployments/web".into(),
                    )),
                    ..service(vec![port("", 80)])
                },
                "service.deployment",
            ),
            (
                Service {
                    target: None,
                    ..service(vec![port("", 80)])
                },
                "service.deployment",
            ),
            (
                Service {
                    session_affinity: Some(SessionAffinity {
                        mode: Mode::None as i32,
                        timeout: Some(prost_types::Duration {
                            seconds: 5,
                            nanos: 0,
                        }),
                    }),
                    ..service(vec![port("", 80)])
                },
                "service.session_affinity.timeout",
            ),
        ];
        for (service, field) in cases {
            let error = validate(&service, "dev", "service").unwrap_err();
            assert_eq!(error.code, Code::InvalidArgument, "{field}: {error}");
            assert_eq!(field_of(&error), field, "{error}");
        }
        assert!(
            validate(
                &service(vec![port("http", 80), port("admin", 81)]),
                "dev",
                "service"
            )
            .is_ok()
        );
    }

    #[test]
    fn node_ports_are_kept_requested_or_allocated() {
        let current = vec![AllocatedNodePort {
            port_name: "http".into(),
            port: 80,
            node_port: 30005,
        }];
        let ports = vec![
            port("http", 80),
            ServicePort {
                node_port: 30010,
                ..port("admin", 81)
            },
            port("metrics", 82),
        ];
        assert_eq!(
            plan_node_ports(&ports, true, &current),
            vec![Some(30005), Some(30010), None]
        );
        assert!(plan_node_ports(&ports, false, &current).is_empty());
        let taken: BTreeSet<i32> = [30000, 30001, 30003].into();
        assert_eq!(pick_node_ports(&taken, 2), Some(vec![30002, 30004]));
    }

    #[test]
    fn cluster_addresses_are_stable_loopback_addresses() {
        let first: Vec<Ipv4Addr> = cluster_address_candidates("namespaces/dev/services/web")
            .take(3)
            .collect();
        let again: Vec<Ipv4Addr> = cluster_address_candidates("namespaces/dev/services/web")
            .take(3)
            .collect();
        assert_eq!(first, again);
        for address in &first {
            assert_eq!(address.octets()[..2], [127, 77]);
            assert!(!matches!(address.octets()[3], 0 | 255));
        }
    }

    fn instance(name: &str, state: instance::State, host_port: i32) -> Instance {
        Instance {
            name: format!("namespaces/dev/deployments/web/instances/{name}"),
            state: state as i32,
            host: "engine-1".into(),
            ports: vec![Port {
                port: Some(ContainerPort {
                    name: "http".into(),
                    port: 8080,
                    protocol: 0,
                }),
                host_address: "127.0.0.1".into(),
                host_port,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn programs_route_to_ready_instances_and_status_follows_health() {
        let mut service = service(vec![ServicePort {
            target_port_ref: Some(TargetPortRef::TargetPortName("http".into())),
            ..port("web", 80)
        }]);
        service.name = "namespaces/dev/services/web".into();
        service.cluster_address = "127.77.1.2".into();
        let instances = vec![
            instance("a", instance::State::Ready, 40001),
            instance("b", instance::State::Starting, 40002),
            instance("c", instance::State::Ready, 40003),
        ];
        let program = program(&service, 3, &instances, &[], &ProgramTuning::default());
        let backends: Vec<u16> = program.ports[0]
            .backends
            .iter()
            .map(|b| b.address.port())
            .collect();
        assert_eq!(backends, vec![40001, 40003]);
        assert_eq!(program.balancing, Balancing::RoundRobin);

        let now = Timestamp {
            seconds: 100,
            nanos: 0,
        };
        let data_plane = ProgramStatus {
            generation: 3,
            endpoints: vec![crate::dataplane::EndpointHealth {
                port_name: "web".into(),
                backend_id: instances[2].name.clone(),
                address: "127.0.0.1:40003".parse().unwrap(),
                healthy: false,
                since: SystemTime::UNIX_EPOCH,
                active_connections: 0,
            }],
        };
        let status = compute_status(
            &service,
            &Observed {
                generation: 3,
                target_found: true,
                instances: &instances,
                declared: &[],
                data_plane: Some(&data_plane),
                previous: None,
                now,
            },
        );
        assert_eq!(status.endpoint_count, 3);
        assert_eq!(status.ready_endpoint_count, 1);
        assert_eq!(status.state(), State::Degraded);
        assert!(!status.reconciling);
        assert_eq!(status.endpoints[0].port, 8080);

        let missing = compute_status(
            &service,
            &Observed {
                generation: 3,
                target_found: false,
                instances: &[],
                declared: &[],
                data_plane: Some(&data_plane),
                previous: Some(&status),
                now,
            },
        );
        assert_eq!(missing.state(), State::Failed);
        let found = missing
            .conditions
            .iter()
            .find(|c| c.r#type == "TargetFound")
            .unwrap();
        assert_eq!(found.status(), ConditionStatus::False);
    }
}
