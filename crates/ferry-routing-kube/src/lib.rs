//! Ferry's routing on Kubernetes: a Ferry Service, external access entry or blue-green
//! entry becomes a Kubernetes Service (ClusterIP or NodePort, `sessionAffinity: ClientIP`),
//! and, for fixed addresses, EndpointSlices Ferry writes itself.
//!
//! - [`objects`] builds the objects from a [`ServiceSpec`] (pure, golden-tested).
//! - [`KubeRouting::apply`] server-side applies them (field manager `ferry-routing`), removes
//!   Ferry's slices the spec no longer names, and answers what the cluster made of it: the
//!   cluster IP, the node ports in effect and the endpoints ([`ServiceObserved`]).
//! - [`KubeRouting::endpoints`] reads any Service's endpoints from its EndpointSlices (those
//!   Kubernetes keeps for a selector, or Ferry's own): blue-green entries copy the active
//!   side's ready pods into the entry's slice with it.
//!
//! **Blue-green on Kubernetes** (why a managed EndpointSlice and not `ExternalName`): the
//! entry Service has no selector; Ferry writes its EndpointSlice from the active side's
//! ready pods. A switch rewrites that one object, so kube-proxy moves every node to the other
//! side in one step, ports may differ between the entry and the sides, and nothing waits on
//! DNS caches (an `ExternalName` switch is a CNAME change that clients and resolvers keep
//! for their TTL, and it cannot map ports).

pub mod objects;

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, Config};

pub use objects::{
    AddressEndpoint, Affinity, Backends, Exposure, PodRef, PortSpec, Protocol, ServiceSpec,
    TargetPort,
};

/// What can go wrong routing on Kubernetes.
#[derive(Debug, thiserror::Error)]
pub enum KubeRoutingError {
    /// The spec cannot be turned into valid objects.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The client configuration cannot be loaded.
    #[error("kubernetes client configuration: {0}")]
    Config(String),
    /// The API server refused or failed a call (`what` names the call and object).
    #[error("{what}: {source}")]
    Api {
        /// The call and object, e.g. `apply service shop/web`.
        what: String,
        /// What kube reported.
        #[source]
        source: kube::Error,
    },
}

impl KubeRoutingError {
    fn api(what: impl Into<String>, source: kube::Error) -> Self {
        Self::Api {
            what: what.into(),
            source,
        }
    }

    /// The HTTP status code of an API error, if the server answered with one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Api {
                source: kube::Error::Api(status),
                ..
            } => Some(status.code),
            _ => None,
        }
    }

    /// Whether the API server refused the objects as invalid (HTTP 422), e.g. a node port
    /// that another Service holds.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Self::Invalid(_)) || self.status_code() == Some(422)
    }
}

/// What the cluster made of a Service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceObserved {
    /// The stable virtual address (`None` for external-name Services).
    pub cluster_ip: Option<String>,
    /// The node ports in effect: (port name, port, node port).
    pub node_ports: Vec<(String, u16, u16)>,
    /// The endpoints, sorted by address and port name.
    pub endpoints: Vec<ObservedEndpoint>,
}

/// A Service Ferry's routing made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedService {
    /// Its Kubernetes namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The Ferry resource it carries ([`objects::RESOURCE_ANNOTATION`]), if annotated.
    pub resource: Option<String>,
}

/// One address and port of a Service's EndpointSlices.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedEndpoint {
    /// The address.
    pub address: String,
    /// The Service port name it serves.
    pub port_name: String,
    /// The port on the address.
    pub port: u16,
    /// Whether it receives traffic.
    pub ready: bool,
    /// The pod, when it is one: (namespace, name).
    pub pod: Option<(String, String)>,
    /// The node it runs on.
    pub node: Option<String>,
    /// Its zone.
    pub zone: Option<String>,
}

/// Ferry's routing on one Kubernetes cluster.
#[derive(Clone)]
pub struct KubeRouting {
    client: Client,
}

impl std::fmt::Debug for KubeRouting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeRouting").finish_non_exhaustive()
    }
}

impl KubeRouting {
    /// Routing over an existing client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Routing on the cluster a kubeconfig file names (its current context).
    pub async fn from_kubeconfig(path: &str) -> Result<Self, KubeRoutingError> {
        let kubeconfig = kube::config::Kubeconfig::read_from(path)
            .map_err(|e| KubeRoutingError::Config(format!("{path}: {e}")))?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .map_err(|e| KubeRoutingError::Config(format!("{path}: {e}")))?;
        let client =
            Client::try_from(config).map_err(|e| KubeRoutingError::Config(e.to_string()))?;
        Ok(Self::new(client))
    }

    /// Routing on the cluster it runs in.
    pub fn in_cluster() -> Result<Self, KubeRoutingError> {
        let config = Config::incluster().map_err(|e| KubeRoutingError::Config(e.to_string()))?;
        let client =
            Client::try_from(config).map_err(|e| KubeRoutingError::Config(e.to_string()))?;
        Ok(Self::new(client))
    }

    /// The client (for tests and tools that look at the objects themselves).
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn services(&self, namespace: &str) -> Api<Service> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn slices(&self, namespace: &str) -> Api<EndpointSlice> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Makes the cluster hold `spec`: applies the Service, then Ferry's EndpointSlices
    /// (owned by the Service), then removes Ferry's slices of this Service the spec no longer
    /// names. Idempotent. A node port another Service holds is refused by the API server
    /// (see [`KubeRoutingError::is_invalid`]) and nothing changes.
    pub async fn apply(&self, spec: &ServiceSpec) -> Result<ServiceObserved, KubeRoutingError> {
        objects::validate(spec)?;
        let namespace = &spec.runtime_namespace;
        let params = PatchParams::apply(objects::FIELD_MANAGER).force();
        let applied = self
            .services(namespace)
            .patch(&spec.name, &params, &Patch::Apply(&objects::service(spec)))
            .await
            .map_err(|e| {
                KubeRoutingError::api(format!("apply service {namespace}/{}", spec.name), e)
            })?;
        let uid = applied.metadata.uid.clone();
        let slices = objects::endpoint_slices(spec, uid.as_deref());
        let api = self.slices(namespace);
        let mut keep = BTreeSet::new();
        for slice in &slices {
            let name = slice.metadata.name.clone().unwrap_or_default();
            api.patch(&name, &params, &Patch::Apply(slice))
                .await
                .map_err(|e| {
                    KubeRoutingError::api(format!("apply endpointslice {namespace}/{name}"), e)
                })?;
            keep.insert(name);
        }
        let ours = api
            .list(&ListParams::default().labels(&objects::slice_selector(&spec.name)))
            .await
            .map_err(|e| KubeRoutingError::api(format!("list endpointslices in {namespace}"), e))?;
        for stale in ours.items {
            let name = stale.metadata.name.unwrap_or_default();
            if !keep.contains(&name) {
                delete_ignoring_missing(&api, &name, &format!("endpointslice {namespace}/{name}"))
                    .await?;
            }
        }
        self.observed(&applied, namespace).await
    }

    /// Makes sure a Kubernetes namespace exists (for entries that belong to no Ferry
    /// namespace, e.g. blue-green entries), labelled as Ferry routing's.
    pub async fn ensure_namespace(&self, name: &str) -> Result<(), KubeRoutingError> {
        let namespace = Namespace {
            metadata: kube::api::ObjectMeta {
                name: Some(name.to_string()),
                labels: Some([(objects::MANAGED_LABEL.to_string(), "true".to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(self.client.clone())
            .patch(
                name,
                &PatchParams::apply(objects::FIELD_MANAGER).force(),
                &Patch::Apply(&namespace),
            )
            .await
            .map(|_| ())
            .map_err(|e| KubeRoutingError::api(format!("apply namespace {name}"), e))
    }

    /// Removes a Service and Ferry's slices of it. Missing objects are fine.
    pub async fn delete(&self, namespace: &str, name: &str) -> Result<(), KubeRoutingError> {
        delete_ignoring_missing(
            &self.services(namespace),
            name,
            &format!("service {namespace}/{name}"),
        )
        .await?;
        let api = self.slices(namespace);
        let ours = api
            .list(&ListParams::default().labels(&objects::slice_selector(name)))
            .await
            .map_err(|e| KubeRoutingError::api(format!("list endpointslices in {namespace}"), e))?;
        for slice in ours.items {
            let slice_name = slice.metadata.name.unwrap_or_default();
            delete_ignoring_missing(
                &api,
                &slice_name,
                &format!("endpointslice {namespace}/{slice_name}"),
            )
            .await?;
        }
        Ok(())
    }

    /// What the cluster holds for a Service; `None` when it does not exist.
    pub async fn observe(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ServiceObserved>, KubeRoutingError> {
        let Some(service) = self
            .services(namespace)
            .get_opt(name)
            .await
            .map_err(|e| KubeRoutingError::api(format!("get service {namespace}/{name}"), e))?
        else {
            return Ok(None);
        };
        Ok(Some(self.observed(&service, namespace).await?))
    }

    /// Every Service Ferry's routing made in the cluster, sorted by namespace and name.
    pub async fn list_managed(&self) -> Result<Vec<ManagedService>, KubeRoutingError> {
        let services = Api::<Service>::all(self.client.clone())
            .list(&ListParams::default().labels(&objects::managed_selector()))
            .await
            .map_err(|e| KubeRoutingError::api("list services", e))?;
        let mut managed: Vec<ManagedService> = services
            .items
            .into_iter()
            .filter_map(|s| {
                let resource = s
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(objects::RESOURCE_ANNOTATION).cloned());
                Some(ManagedService {
                    namespace: s.metadata.namespace?,
                    name: s.metadata.name?,
                    resource,
                })
            })
            .collect();
        managed.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(managed)
    }

    /// A Service's endpoints from all its EndpointSlices (Kubernetes' for a selector,
    /// Ferry's for fixed addresses), sorted. A blue-green entry copies its active side's
    /// ready ones with [`to_addresses`].
    pub async fn endpoints(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Vec<ObservedEndpoint>, KubeRoutingError> {
        let slices = self
            .slices(namespace)
            .list(
                &ListParams::default()
                    .labels(&format!("{}={service}", objects::SERVICE_NAME_LABEL)),
            )
            .await
            .map_err(|e| KubeRoutingError::api(format!("list endpointslices in {namespace}"), e))?;
        let mut endpoints: Vec<ObservedEndpoint> =
            slices.items.iter().flat_map(slice_endpoints).collect();
        endpoints.sort();
        endpoints.dedup();
        Ok(endpoints)
    }

    /// The pods carrying every label of `selector` in `namespace`, as addresses for a
    /// Ferry-written slice (a blue-green entry in another namespace than its sides): each
    /// pod with an IP, its ports by Service port name (a number as it is, a name through
    /// the pod's declared container ports), ready while its `Ready` condition is true and
    /// it is not being deleted. Sorted by address.
    pub async fn pod_addresses(
        &self,
        namespace: &str,
        selector: &std::collections::BTreeMap<String, String>,
        ports: &[PortSpec],
    ) -> Result<Vec<AddressEndpoint>, KubeRoutingError> {
        let selector_text = selector
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(",");
        let pods = Api::<Pod>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default().labels(&selector_text))
            .await
            .map_err(|e| KubeRoutingError::api(format!("list pods in {namespace}"), e))?;
        let mut addresses: Vec<AddressEndpoint> = pods
            .items
            .iter()
            .filter_map(|pod| pod_address(pod, ports))
            .collect();
        addresses.sort_by_key(|a| a.ip);
        Ok(addresses)
    }

    async fn observed(
        &self,
        service: &Service,
        namespace: &str,
    ) -> Result<ServiceObserved, KubeRoutingError> {
        let spec = service.spec.clone().unwrap_or_default();
        let name = service.metadata.name.clone().unwrap_or_default();
        let node_ports = spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                let node_port = u16::try_from(p.node_port?).ok()?;
                Some((
                    p.name.unwrap_or_default(),
                    u16::try_from(p.port).ok()?,
                    node_port,
                ))
            })
            .collect();
        Ok(ServiceObserved {
            cluster_ip: spec.cluster_ip.filter(|ip| !ip.is_empty() && ip != "None"),
            node_ports,
            endpoints: self.endpoints(namespace, &name).await?,
        })
    }
}

/// The addresses of `endpoints` for an entry's slice: each address with its ports by name,
/// ready only if every one of its ports is. Pods keep their reference.
pub fn to_addresses(endpoints: &[ObservedEndpoint]) -> Vec<AddressEndpoint> {
    let mut by_address: std::collections::BTreeMap<String, AddressEndpoint> =
        std::collections::BTreeMap::new();
    for endpoint in endpoints {
        let Ok(ip) = endpoint.address.parse() else {
            continue;
        };
        let entry = by_address
            .entry(endpoint.address.clone())
            .or_insert_with(|| AddressEndpoint {
                ip,
                ports: Default::default(),
                ready: true,
                pod: endpoint.pod.as_ref().map(|(namespace, name)| PodRef {
                    namespace: namespace.clone(),
                    name: name.clone(),
                }),
                node: endpoint.node.clone(),
                zone: endpoint.zone.clone(),
            });
        entry
            .ports
            .insert(endpoint.port_name.clone(), endpoint.port);
        entry.ready &= endpoint.ready;
    }
    by_address.into_values().collect()
}

/// One pod as an address: `None` without an IP or without any of `ports`.
fn pod_address(pod: &Pod, ports: &[PortSpec]) -> Option<AddressEndpoint> {
    let status = pod.status.as_ref()?;
    let ip = status.pod_ip.as_deref()?.parse().ok()?;
    let declared: Vec<(String, u16)> = pod
        .spec
        .iter()
        .flat_map(|spec| spec.containers.iter())
        .flat_map(|container| container.ports.iter().flatten())
        .filter_map(|port| {
            Some((
                port.name.clone().unwrap_or_default(),
                u16::try_from(port.container_port).ok()?,
            ))
        })
        .collect();
    let resolved: std::collections::BTreeMap<String, u16> = ports
        .iter()
        .filter_map(|port| {
            let number = match &port.target {
                TargetPort::Number(number) => *number,
                TargetPort::Name(name) => declared.iter().find(|(declared, _)| declared == name)?.1,
            };
            Some((port.name.clone(), number))
        })
        .collect();
    if resolved.is_empty() {
        return None;
    }
    let ready = pod.metadata.deletion_timestamp.is_none()
        && status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
    Some(AddressEndpoint {
        ip,
        ports: resolved,
        ready,
        pod: Some(PodRef {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
        }),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        zone: None,
    })
}

fn slice_endpoints(slice: &EndpointSlice) -> Vec<ObservedEndpoint> {
    let ports = slice.ports.clone().unwrap_or_default();
    let mut out = Vec::new();
    for endpoint in slice.endpoints.iter().flatten() {
        // Kubernetes: a missing `ready` means ready.
        let ready = endpoint
            .conditions
            .as_ref()
            .and_then(|c| c.ready)
            .unwrap_or(true);
        let pod = endpoint.target_ref.as_ref().and_then(|r| {
            (r.kind.as_deref() == Some("Pod"))
                .then(|| Some((r.namespace.clone()?, r.name.clone()?)))
                .flatten()
        });
        for address in &endpoint.addresses {
            for port in &ports {
                let Some(number) = port.port.and_then(|p| u16::try_from(p).ok()) else {
                    continue;
                };
                out.push(ObservedEndpoint {
                    address: address.clone(),
                    port_name: port.name.clone().unwrap_or_default(),
                    port: number,
                    ready,
                    pod: pod.clone(),
                    node: endpoint.node_name.clone(),
                    zone: endpoint.zone.clone(),
                });
            }
        }
    }
    out
}

async fn delete_ignoring_missing<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
) -> Result<(), KubeRoutingError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(KubeRoutingError::api(format!("delete {what}"), e)),
    }
}
