//! Pure builders: a [`ServiceSpec`] in, the Kubernetes objects that carry it out.
//!
//! - Instances of a deployment or labelled instances: a Service with a selector; Kubernetes'
//!   own EndpointSlice controller tracks the ready pods.
//! - Fixed addresses (external entries, blue-green entries): a selector-less Service and
//!   EndpointSlices that Ferry writes (`endpointslice.kubernetes.io/managed-by` is Ferry's,
//!   so Kubernetes' controllers leave them alone), one per address family and port set, owned
//!   by the Service so that they go with it.
//! - A single outside host name: an `ExternalName` Service (DNS CNAME; no ports, no health).
//!
//! Everything here is deterministic: the same spec gives byte-identical objects (the golden
//! tests hold that), so re-applying an unchanged spec is a no-op on the server.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ClientIPConfig, ObjectReference, Service, ServicePort, ServiceSpec as KubeServiceSpec,
    SessionAffinityConfig,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest, Sha256};

use crate::KubeRoutingError;

/// The field manager of Ferry's server-side applies.
pub const FIELD_MANAGER: &str = "ferry-routing";
/// Label on every Service (and EndpointSlice) Ferry's routing makes; value `true`.
pub const MANAGED_LABEL: &str = "ferry.dev/routing";
/// The Ferry namespace id, on every object.
pub const NAMESPACE_LABEL: &str = "ferry.dev/namespace";
/// Annotation naming the Ferry resource a Service carries (`namespaces/dev/services/web`).
pub const RESOURCE_ANNOTATION: &str = "ferry.dev/resource";
/// Kubernetes' label naming the Service an EndpointSlice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Kubernetes' label naming the controller that writes an EndpointSlice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// The `managed-by` value of the EndpointSlices Ferry writes (never Kubernetes' own
/// `endpointslice-controller.k8s.io`, which would take them over).
pub const MANAGED_BY: &str = "routing.ferry.dev";
/// The deploy runtime's pod labels a deployment's Services select on (every revision's
/// pods: during a rolling update both revisions serve).
pub const DEPLOYMENT_SELECTOR_LABELS: [&str; 3] = [
    "ferry.dev/managed",
    "ferry.dev/namespace",
    "ferry.dev/deployment",
];
/// Most endpoints Kubernetes accepts in one EndpointSlice.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 1000;

/// What a Ferry Service (or external entry, or blue-green entry) asks of Kubernetes.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSpec {
    /// The Ferry namespace id.
    pub namespace: String,
    /// The Kubernetes namespace it lives in.
    pub runtime_namespace: String,
    /// The Service name (a DNS label; the first label of its DNS name).
    pub name: String,
    /// The ports; at least one unless the backends are an external name.
    pub ports: Vec<PortSpec>,
    /// Whether it is also reachable on every node.
    pub exposure: Exposure,
    /// Whether one client sticks to one endpoint.
    pub affinity: Affinity,
    /// What it routes to.
    pub backends: Backends,
    /// Extra labels for the objects (Ferry's own labels win on conflict).
    pub labels: BTreeMap<String, String>,
    /// Annotations of the Service (e.g. which Ferry resource it carries).
    pub annotations: BTreeMap<String, String>,
}

/// One port of a Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// Port name, a DNS label; unique in the Service.
    pub name: String,
    /// The port clients connect to.
    pub port: u16,
    /// The port on the endpoints.
    pub target: TargetPort,
    /// The protocol.
    pub protocol: Protocol,
    /// A requested node port (NODE_PORT Services); `None` lets the API server allocate one.
    pub node_port: Option<u16>,
}

/// The port on the endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPort {
    /// A port number.
    Number(u16),
    /// A named container port of the pods.
    Name(String),
}

/// The protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Plain TCP.
    Tcp,
    /// UDP.
    Udp,
    /// HTTP/1.1 over TCP (`appProtocol: http`).
    Http,
    /// gRPC, HTTP/2 without TLS (`appProtocol: kubernetes.io/h2c`).
    Grpc,
}

/// Whether a Service is also reachable on every node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposure {
    /// Only inside the cluster (`ClusterIP`).
    ClusterInternal,
    /// Also on each node at the port's node port (`NodePort`).
    NodePort,
}

/// Session affinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affinity {
    /// Connections are spread over the endpoints.
    None,
    /// One client address sticks to one endpoint until `timeout` passes idle.
    ClientIp {
        /// Idle time after which the affinity ends (1 s..24 h; Kubernetes counts seconds).
        timeout: Duration,
    },
}

/// What a Service routes to.
#[derive(Clone, Debug, PartialEq)]
pub enum Backends {
    /// The pods of a Ferry deployment, every revision (selected by the deploy runtime's
    /// labels).
    Deployment(String),
    /// Pods carrying all these labels.
    Selector(BTreeMap<String, String>),
    /// Fixed addresses Ferry keeps in its own EndpointSlices.
    Addresses(Vec<AddressEndpoint>),
    /// One outside DNS name (an `ExternalName` Service).
    ExternalName(String),
}

/// One address behind a selector-less Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressEndpoint {
    /// The IP address.
    pub ip: IpAddr,
    /// Its ports by Service port name (every port of the Service should have one; an
    /// address missing one serves the others).
    pub ports: BTreeMap<String, u16>,
    /// Whether it may receive traffic (an unhealthy address stays listed, not ready).
    pub ready: bool,
    /// The pod it is, when it is one (blue-green entries: the side's pods).
    pub pod: Option<PodRef>,
    /// The node it runs on, when known.
    pub node: Option<String>,
    /// The zone it runs in, when known.
    pub zone: Option<String>,
}

/// A pod an address belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRef {
    /// Its Kubernetes namespace.
    pub namespace: String,
    /// Its name (the Ferry instance id).
    pub name: String,
}

/// Checks what the API server would refuse less clearly, and what Ferry never means.
pub fn validate(spec: &ServiceSpec) -> Result<(), KubeRoutingError> {
    let invalid = |message: String| Err(KubeRoutingError::Invalid(message));
    if !is_dns_label(&spec.name) {
        return invalid(format!("service name {:?} is not a DNS label", spec.name));
    }
    if !is_dns_label(&spec.runtime_namespace) {
        return invalid(format!(
            "namespace {:?} is not a DNS label",
            spec.runtime_namespace
        ));
    }
    if let Backends::ExternalName(host) = &spec.backends {
        if spec.exposure == Exposure::NodePort {
            return invalid("an external-name service cannot have node ports".into());
        }
        if host.is_empty() || host.len() > 253 || !host.split('.').all(is_dns_label) {
            return invalid(format!("external name {host:?} is not a DNS name"));
        }
    } else if spec.ports.is_empty() {
        return invalid("a service needs at least one port".into());
    }
    let mut names = std::collections::BTreeSet::new();
    for port in &spec.ports {
        if port.port == 0 {
            return invalid(format!("port {:?}: port 0", port.name));
        }
        if spec.ports.len() > 1 && !is_dns_label(&port.name) {
            return invalid(format!(
                "port {:?}: with several ports each needs a DNS-label name",
                port.name
            ));
        }
        if !names.insert(port.name.as_str()) {
            return invalid(format!("port name {:?} repeats", port.name));
        }
        match &port.target {
            TargetPort::Number(0) => return invalid(format!("port {:?}: target 0", port.name)),
            TargetPort::Name(name)
                if matches!(spec.backends, Backends::Addresses(_)) || name.len() > 15 =>
            {
                return invalid(format!(
                    "port {:?}: target port name {name:?} needs pods (and at most 15 characters)",
                    port.name
                ));
            }
            _ => {}
        }
        if let Some(node_port) = port.node_port
            && spec.exposure != Exposure::NodePort
        {
            return invalid(format!(
                "port {:?}: node port {node_port} on a cluster-internal service",
                port.name
            ));
        }
    }
    if let Affinity::ClientIp { timeout } = spec.affinity
        && !(1..=86_400).contains(&timeout.as_secs())
    {
        return invalid(format!(
            "client-IP affinity timeout {timeout:?} is outside 1 s..24 h"
        ));
    }
    Ok(())
}

/// Whether `s` is an RFC 1123 DNS label.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Labels of the Service and of the EndpointSlices Ferry writes.
fn object_labels(spec: &ServiceSpec) -> BTreeMap<String, String> {
    let mut labels = spec.labels.clone();
    labels.insert(MANAGED_LABEL.into(), "true".into());
    labels.insert(NAMESPACE_LABEL.into(), spec.namespace.clone());
    labels
}

/// The label selector of a deployment's pods.
pub fn deployment_selector(namespace: &str, deployment: &str) -> BTreeMap<String, String> {
    let [managed, ns, dep] = DEPLOYMENT_SELECTOR_LABELS;
    BTreeMap::from([
        (managed.to_string(), "true".to_string()),
        (ns.to_string(), namespace.to_string()),
        (dep.to_string(), deployment.to_string()),
    ])
}

/// The selector that finds every Service Ferry's routing made.
pub fn managed_selector() -> String {
    format!("{MANAGED_LABEL}=true")
}

/// The selector of the EndpointSlices Ferry writes for one Service.
pub fn slice_selector(service: &str) -> String {
    format!("{SERVICE_NAME_LABEL}={service},{MANAGED_BY_LABEL}={MANAGED_BY}")
}

fn kube_protocol(protocol: Protocol) -> (&'static str, Option<&'static str>) {
    match protocol {
        Protocol::Tcp => ("TCP", None),
        Protocol::Udp => ("UDP", None),
        Protocol::Http => ("TCP", Some("http")),
        Protocol::Grpc => ("TCP", Some("kubernetes.io/h2c")),
    }
}

/// The Service object.
pub fn service(spec: &ServiceSpec) -> Service {
    let (type_, selector) = match &spec.backends {
        Backends::ExternalName(_) => ("ExternalName", None),
        Backends::Deployment(deployment) => (
            exposure_type(spec.exposure),
            Some(deployment_selector(&spec.namespace, deployment)),
        ),
        Backends::Selector(labels) => (exposure_type(spec.exposure), Some(labels.clone())),
        Backends::Addresses(_) => (exposure_type(spec.exposure), None),
    };
    let ports = spec
        .ports
        .iter()
        .map(|port| {
            let (protocol, app_protocol) = kube_protocol(port.protocol);
            ServicePort {
                name: Some(port.name.clone()).filter(|n| !n.is_empty()),
                port: i32::from(port.port),
                target_port: Some(match &port.target {
                    TargetPort::Number(n) => IntOrString::Int(i32::from(*n)),
                    TargetPort::Name(name) => IntOrString::String(name.clone()),
                }),
                protocol: Some(protocol.into()),
                app_protocol: app_protocol.map(str::to_string),
                node_port: port.node_port.map(i32::from),
            }
        })
        .collect::<Vec<_>>();
    let (session_affinity, session_affinity_config) = match spec.affinity {
        Affinity::None => (None, None),
        Affinity::ClientIp { timeout } => (
            Some("ClientIP".to_string()),
            Some(SessionAffinityConfig {
                client_ip: Some(ClientIPConfig {
                    timeout_seconds: Some(timeout.as_secs() as i32),
                }),
            }),
        ),
    };
    Service {
        metadata: ObjectMeta {
            name: Some(spec.name.clone()),
            namespace: Some(spec.runtime_namespace.clone()),
            labels: Some(object_labels(spec)),
            annotations: Some(spec.annotations.clone()).filter(|a| !a.is_empty()),
            ..ObjectMeta::default()
        },
        spec: Some(KubeServiceSpec {
            type_: Some(type_.into()),
            selector,
            ports: Some(ports).filter(|p| !p.is_empty()),
            external_name: match &spec.backends {
                Backends::ExternalName(host) => Some(host.clone()),
                _ => None,
            },
            session_affinity,
            session_affinity_config,
            ..KubeServiceSpec::default()
        }),
        status: None,
    }
}

fn exposure_type(exposure: Exposure) -> &'static str {
    match exposure {
        Exposure::ClusterInternal => "ClusterIP",
        Exposure::NodePort => "NodePort",
    }
}

/// The EndpointSlices Ferry writes for a Service with fixed addresses (empty for the other
/// kinds), sorted by name. Addresses are grouped by family and port set; a group's slice is
/// named after the Service, the family and a hash of its ports, so the same port set keeps
/// the same slice: moving a blue-green entry to the other side rewrites one object (one
/// step). `owner_uid` (the Service's uid, once it exists) makes the slices go with it.
pub fn endpoint_slices(spec: &ServiceSpec, owner_uid: Option<&str>) -> Vec<EndpointSlice> {
    let Backends::Addresses(addresses) = &spec.backends else {
        return Vec::new();
    };
    // (family, ports) → endpoints, in address order for determinism.
    let mut groups: BTreeMap<SliceKey, Vec<&AddressEndpoint>> = BTreeMap::new();
    let mut sorted: Vec<&AddressEndpoint> = addresses.iter().collect();
    sorted.sort_by_key(|a| a.ip);
    for address in sorted {
        let family = if address.ip.is_ipv4() { "IPv4" } else { "IPv6" };
        let ports: Vec<(String, u16)> = address
            .ports
            .iter()
            .filter(|(name, _)| spec.ports.iter().any(|p| &p.name == *name))
            .map(|(name, port)| (name.clone(), *port))
            .collect();
        groups.entry((family, ports)).or_default().push(address);
    }
    let protocols: BTreeMap<&str, Protocol> = spec
        .ports
        .iter()
        .map(|p| (p.name.as_str(), p.protocol))
        .collect();
    let mut labels = object_labels(spec);
    labels.insert(SERVICE_NAME_LABEL.into(), spec.name.clone());
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    let mut slices = Vec::new();
    for ((family, ports), members) in groups {
        for (chunk_index, chunk) in members.chunks(MAX_ENDPOINTS_PER_SLICE).enumerate() {
            let mut hasher = Sha256::new();
            for (name, port) in &ports {
                hasher.update(format!("{name}={port};"));
            }
            let hash = hasher.finalize();
            let mut name = format!(
                "{}-{}-{:02x}{:02x}{:02x}{:02x}",
                truncate(&spec.name, 40),
                family.to_ascii_lowercase(),
                hash[0],
                hash[1],
                hash[2],
                hash[3]
            );
            if chunk_index > 0 {
                name.push_str(&format!("-{chunk_index}"));
            }
            slices.push(EndpointSlice {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: Some(spec.runtime_namespace.clone()),
                    labels: Some(labels.clone()),
                    owner_references: owner_uid.map(|uid| {
                        vec![OwnerReference {
                            api_version: "v1".into(),
                            kind: "Service".into(),
                            name: spec.name.clone(),
                            uid: uid.to_string(),
                            controller: Some(true),
                            block_owner_deletion: None,
                        }]
                    }),
                    ..ObjectMeta::default()
                },
                address_type: family.into(),
                endpoints: Some(
                    chunk
                        .iter()
                        .map(|address| Endpoint {
                            addresses: vec![address.ip.to_string()],
                            conditions: Some(EndpointConditions {
                                ready: Some(address.ready),
                                serving: Some(address.ready),
                                terminating: Some(false),
                            }),
                            node_name: address.node.clone(),
                            zone: address.zone.clone(),
                            target_ref: address.pod.as_ref().map(|pod| ObjectReference {
                                kind: Some("Pod".into()),
                                namespace: Some(pod.namespace.clone()),
                                name: Some(pod.name.clone()),
                                ..ObjectReference::default()
                            }),
                            ..Endpoint::default()
                        })
                        .collect(),
                ),
                ports: Some(
                    ports
                        .iter()
                        .map(|(name, port)| {
                            let (protocol, app_protocol) = kube_protocol(
                                protocols
                                    .get(name.as_str())
                                    .copied()
                                    .unwrap_or(Protocol::Tcp),
                            );
                            EndpointPort {
                                name: Some(name.clone()).filter(|n| !n.is_empty()),
                                port: Some(i32::from(*port)),
                                protocol: Some(protocol.into()),
                                app_protocol: app_protocol.map(str::to_string),
                            }
                        })
                        .collect(),
                ),
            });
        }
    }
    slices.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    slices
}

/// What splits addresses into slices: the address family and the (port name, port) set.
type SliceKey = (&'static str, Vec<(String, u16)>);

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].trim_end_matches('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(backends: Backends) -> ServiceSpec {
        ServiceSpec {
            namespace: "shop".into(),
            runtime_namespace: "shop".into(),
            name: "web".into(),
            ports: vec![PortSpec {
                name: "http".into(),
                port: 80,
                target: TargetPort::Number(8080),
                protocol: Protocol::Http,
                node_port: None,
            }],
            exposure: Exposure::ClusterInternal,
            affinity: Affinity::None,
            backends,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        }
    }

    fn address(ip: &str, port: u16, ready: bool) -> AddressEndpoint {
        AddressEndpoint {
            ip: ip.parse().unwrap(),
            ports: BTreeMap::from([("http".to_string(), port)]),
            ready,
            pod: None,
            node: None,
            zone: None,
        }
    }

    #[test]
    fn deployment_backends_select_every_revision_of_the_deployment() {
        let service = service(&spec(Backends::Deployment("web".into())));
        let selector = service.spec.unwrap().selector.unwrap();
        assert_eq!(selector, deployment_selector("shop", "web"));
        assert!(!selector.contains_key("ferry.dev/revision"));
    }

    #[test]
    fn addresses_make_a_selectorless_service_and_stable_slices() {
        let blue = spec(Backends::Addresses(vec![
            address("10.0.0.2", 8080, true),
            address("10.0.0.1", 8080, false),
        ]));
        let green = spec(Backends::Addresses(vec![address("10.0.1.7", 8080, true)]));
        assert!(service(&blue).spec.unwrap().selector.is_none());
        let blue_slices = endpoint_slices(&blue, Some("uid-1"));
        let green_slices = endpoint_slices(&green, Some("uid-1"));
        assert_eq!(blue_slices.len(), 1);
        // The same port set keeps the same slice name: a switch is one object's update.
        assert_eq!(blue_slices[0].metadata.name, green_slices[0].metadata.name);
        let endpoints = blue_slices[0].endpoints.as_ref().unwrap();
        assert_eq!(endpoints[0].addresses, vec!["10.0.0.1"]);
        assert_eq!(endpoints[0].conditions.as_ref().unwrap().ready, Some(false));
        assert_eq!(endpoints[1].conditions.as_ref().unwrap().ready, Some(true));
        let labels = blue_slices[0].metadata.labels.as_ref().unwrap();
        assert_eq!(labels[MANAGED_BY_LABEL], MANAGED_BY);
        assert_eq!(labels[SERVICE_NAME_LABEL], "web");
    }

    #[test]
    fn families_and_port_sets_get_their_own_slices() {
        let mixed = spec(Backends::Addresses(vec![
            address("10.0.0.1", 8080, true),
            address("10.0.0.2", 9090, true),
            address("fd00::1", 8080, true),
        ]));
        let slices = endpoint_slices(&mixed, None);
        assert_eq!(slices.len(), 3);
        assert_eq!(
            slices.iter().filter(|s| s.address_type == "IPv6").count(),
            1
        );
    }

    #[test]
    fn client_ip_affinity_and_node_ports_map_to_kubernetes_fields() {
        let mut s = spec(Backends::Deployment("web".into()));
        s.exposure = Exposure::NodePort;
        s.ports[0].node_port = Some(30080);
        s.affinity = Affinity::ClientIp {
            timeout: Duration::from_secs(600),
        };
        validate(&s).unwrap();
        let kube = service(&s).spec.unwrap();
        assert_eq!(kube.type_.as_deref(), Some("NodePort"));
        assert_eq!(kube.session_affinity.as_deref(), Some("ClientIP"));
        assert_eq!(
            kube.session_affinity_config
                .unwrap()
                .client_ip
                .unwrap()
                .timeout_seconds,
            Some(600)
        );
        assert_eq!(kube.ports.unwrap()[0].node_port, Some(30080));
    }

    #[test]
    fn validation_refuses_what_ferry_never_means() {
        let mut s = spec(Backends::Deployment("web".into()));
        s.ports[0].node_port = Some(30080);
        assert!(
            validate(&s).is_err(),
            "node port on a cluster-internal service"
        );
        let mut s = spec(Backends::Deployment("web".into()));
        s.ports.push(s.ports[0].clone());
        assert!(validate(&s).is_err(), "duplicate port names");
        let mut s = spec(Backends::Deployment("web".into()));
        s.ports.clear();
        assert!(validate(&s).is_err(), "no ports");
        let mut s = spec(Backends::Addresses(vec![]));
        s.ports[0].target = TargetPort::Name("http".into());
        assert!(validate(&s).is_err(), "named target without pods");
        let mut s = spec(Backends::ExternalName("db.example.com".into()));
        s.ports.clear();
        validate(&s).unwrap();
        s.backends = Backends::ExternalName("not a host".into());
        assert!(validate(&s).is_err());
        let mut s = spec(Backends::Deployment("web".into()));
        s.name = "Web".into();
        assert!(validate(&s).is_err(), "not a DNS label");
    }
}
