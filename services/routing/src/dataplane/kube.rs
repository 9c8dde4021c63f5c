//! The Kubernetes data plane: programs become Kubernetes Services (`ferry-routing-kube`),
//! and kube-proxy carries the traffic.
//!
//! - A Service's program selects its deployment's pods (every revision) by the deploy
//!   runtime's labels; Kubernetes' EndpointSlice controller tracks the ready ones.
//! - A blue-green entry's program targets the active side's deployment in another
//!   namespace, which no selector reaches: the entry is a selector-less Service whose
//!   EndpointSlice Ferry writes from the side's pods (read at every apply; the programming
//!   loop re-applies when the side's instances change). A switch rewrites that one slice.
//! - An external entry's program is a selector-less Service with its addresses. With an
//!   active check, this data plane probes the addresses itself (TCP, or HTTP GET, the
//!   local proxy's probes) and re-applies the slice with dead addresses not ready and
//!   revived ones ready again.
//!
//! The Kubernetes object is named after the resource id and lives in the namespace of the
//! same name (the deploy service's runtime namespace of a Ferry namespace is its id), and
//! carries the resource name in an annotation, so a restarted replica finds its leftovers.
//! Every routing replica applies every program; server-side apply makes that idempotent.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry_proxy::CheckKind;
use ferry_proxy::health::{HealthCounter, probe};
use ferry_routing_kube::objects::{self, RESOURCE_ANNOTATION};
use ferry_routing_kube::{
    AddressEndpoint, Affinity, Backends, Exposure, KubeRouting, PortSpec, Protocol, ServiceSpec,
    TargetPort as KubeTargetPort,
};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::{
    Balancing, DataPlane, DataPlaneError, EndpointHealth, Program, ProgramKind, ProgramStatus,
    ProgramTarget, TargetPort,
};

/// Routing carried by a Kubernetes cluster.
pub struct KubeDataPlane {
    routing: KubeRouting,
    state: Arc<Mutex<HashMap<String, Applied>>>,
}

/// What this replica applied for one program.
struct Applied {
    program: Program,
    /// Health of external addresses by backend address (only with an active check).
    health: BTreeMap<SocketAddr, (HealthCounter, SystemTime)>,
    /// The prober of an external entry with an active check.
    checker: Option<JoinHandle<()>>,
}

impl Drop for Applied {
    fn drop(&mut self) {
        if let Some(checker) = self.checker.take() {
            checker.abort();
        }
    }
}

impl KubeDataPlane {
    /// A data plane over `routing`'s cluster.
    pub fn new(routing: KubeRouting) -> Self {
        KubeDataPlane {
            routing,
            state: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// The Kubernetes namespace of blue-green entries (they belong to no Ferry namespace).
pub const BLUE_GREEN_NAMESPACE: &str = "ferry-blue-green";

/// `namespaces/{ns}/{collection}/{id}` → (namespace, id); `blueGreenEntries/{id}` →
/// ([`BLUE_GREEN_NAMESPACE`], id).
fn locate(resource: &str) -> Result<(String, String), DataPlaneError> {
    let parts: Vec<&str> = resource.split('/').collect();
    match parts.as_slice() {
        ["namespaces", namespace, _, id] => Ok((namespace.to_string(), id.to_string())),
        ["blueGreenEntries", id] => Ok((BLUE_GREEN_NAMESPACE.to_string(), id.to_string())),
        _ => Err(DataPlaneError::Backend(format!(
            "{resource:?} is not namespaces/{{namespace}}/{{collection}}/{{id}}"
        ))),
    }
}

/// The Kubernetes spec of `program`, with `backends` decided by the caller.
fn service_spec(program: &Program, backends: Backends) -> Result<ServiceSpec, DataPlaneError> {
    let (namespace, name) = locate(&program.id)?;
    let selectorless = matches!(backends, Backends::Addresses(_));
    let ports = program
        .ports
        .iter()
        .map(|port| PortSpec {
            name: port.name.clone(),
            port: port.port,
            // A selector-less Service's slice carries the real ports.
            target: match (&port.target_port, selectorless) {
                (_, true) => KubeTargetPort::Number(port.port),
                (TargetPort::Number(number), false) => KubeTargetPort::Number(*number),
                (TargetPort::Name(name), false) => KubeTargetPort::Name(name.clone()),
            },
            protocol: Protocol::Tcp,
            node_port: port.node_port,
        })
        .collect::<Vec<_>>();
    Ok(ServiceSpec {
        namespace: namespace.clone(),
        runtime_namespace: namespace,
        name,
        exposure: if ports.iter().any(|p| p.node_port.is_some()) {
            Exposure::NodePort
        } else {
            Exposure::ClusterInternal
        },
        ports,
        affinity: match program.balancing {
            Balancing::RoundRobin => Affinity::None,
            Balancing::ClientIp { idle_timeout } => Affinity::ClientIp {
                timeout: idle_timeout.clamp(Duration::from_secs(1), Duration::from_secs(86_400)),
            },
        },
        backends,
        labels: BTreeMap::new(),
        annotations: BTreeMap::from([(RESOURCE_ANNOTATION.to_string(), program.id.clone())]),
    })
}

/// An external program's addresses: one endpoint per IP with every port it serves (a
/// second address on the same IP with another port for the same port name gets its own
/// endpoint, hence its own slice); ready unless the active check holds it down while the
/// program is health-aware.
fn external_addresses(
    program: &Program,
    health: &BTreeMap<SocketAddr, (HealthCounter, SystemTime)>,
) -> Vec<AddressEndpoint> {
    let mut endpoints: Vec<AddressEndpoint> = Vec::new();
    for port in &program.ports {
        for backend in &port.backends {
            // Without health-aware routing (no check, or every address failing: the
            // entry fails open) every address receives traffic.
            let ready = !program.health_aware
                || health
                    .get(&backend.address)
                    .is_none_or(|(counter, _)| counter.healthy());
            let ip = backend.address.ip();
            let index = match endpoints
                .iter()
                .position(|e| e.ip == ip && !e.ports.contains_key(&port.name))
            {
                Some(index) => index,
                None => {
                    endpoints.push(AddressEndpoint {
                        ip,
                        ports: BTreeMap::new(),
                        ready: true,
                        pod: None,
                        node: None,
                        zone: None,
                    });
                    endpoints.len() - 1
                }
            };
            let endpoint = &mut endpoints[index];
            endpoint
                .ports
                .insert(port.name.clone(), backend.address.port());
            endpoint.ready &= ready;
        }
    }
    endpoints.sort_by(|a, b| (a.ip, &a.ports).cmp(&(b.ip, &b.ports)));
    endpoints
}

impl KubeDataPlane {
    /// Applies `program` with the health this replica knows.
    async fn apply_now(
        routing: &KubeRouting,
        program: &Program,
        health: &BTreeMap<SocketAddr, (HealthCounter, SystemTime)>,
    ) -> Result<(), DataPlaneError> {
        let backends = match (&program.kind, &program.target) {
            (ProgramKind::Service, ProgramTarget::Deployment { name }) => {
                let (_, deployment) = locate(name)?;
                Backends::Deployment(deployment)
            }
            (_, ProgramTarget::Deployment { name }) => {
                // A blue-green entry: the active side's pods, in their own namespace.
                routing
                    .ensure_namespace(BLUE_GREEN_NAMESPACE)
                    .await
                    .map_err(|e| DataPlaneError::Backend(e.to_string()))?;
                let (side, deployment) = locate(name)?;
                let ports = service_spec(program, Backends::Deployment(deployment.clone()))?.ports;
                let selector = objects::deployment_selector(&side, &deployment);
                Backends::Addresses(
                    routing
                        .pod_addresses(&side, &selector, &ports)
                        .await
                        .map_err(|e| DataPlaneError::Backend(e.to_string()))?,
                )
            }
            (_, ProgramTarget::External) => {
                Backends::Addresses(external_addresses(program, health))
            }
        };
        routing
            .apply(&service_spec(program, backends)?)
            .await
            .map(|_| ())
            .map_err(|e| DataPlaneError::Backend(e.to_string()))
    }

    /// Probes an external entry's addresses every interval; re-applies its slice when one
    /// changes health. Ends when the program is removed or replaced without a check.
    fn spawn_checker(&self, id: String) -> JoinHandle<()> {
        let state = self.state.clone();
        let routing = self.routing.clone();
        tokio::spawn(async move {
            loop {
                let (program, addresses) = {
                    let state = state.lock().await;
                    let Some(applied) = state.get(&id) else {
                        return;
                    };
                    let addresses: Vec<SocketAddr> = applied
                        .program
                        .ports
                        .iter()
                        .flat_map(|p| p.backends.iter().map(|b| b.address))
                        .collect();
                    (applied.program.clone(), addresses)
                };
                let Some(check) = program.active_check.clone() else {
                    return;
                };
                tokio::time::sleep(check.interval).await;
                let kind = match &check.http_path {
                    Some(path) => CheckKind::Http { path: path.clone() },
                    None => CheckKind::Tcp,
                };
                let mut results = Vec::new();
                for address in addresses {
                    results.push((address, probe(address, &kind, check.timeout).await.is_ok()));
                }
                let mut state = state.lock().await;
                let Some(applied) = state.get_mut(&id) else {
                    return;
                };
                let mut changed = false;
                for (address, ok) in results {
                    let (counter, since) = applied
                        .health
                        .entry(address)
                        .or_insert((HealthCounter::new(), SystemTime::now()));
                    if counter
                        .record(ok, check.healthy_threshold, check.unhealthy_threshold)
                        .is_some()
                    {
                        *since = SystemTime::now();
                        changed = true;
                    }
                }
                if changed
                    && let Err(error) =
                        Self::apply_now(&routing, &applied.program, &applied.health).await
                {
                    tracing::warn!(%error, program = %id, "cannot apply a health change; retrying at the next check");
                }
            }
        })
    }
}

#[async_trait::async_trait]
impl DataPlane for KubeDataPlane {
    async fn apply(&self, program: &Program) -> Result<(), DataPlaneError> {
        let mut state = self.state.lock().await;
        let health = state
            .get(&program.id)
            .map(|a| a.health.clone())
            .unwrap_or_default();
        Self::apply_now(&self.routing, program, &health).await?;
        let checked = program.kind == ProgramKind::ExternalEntry && program.active_check.is_some();
        let previous = state.remove(&program.id);
        let checker = match previous {
            Some(mut previous) if checked => previous.checker.take(),
            _ => None,
        };
        let checker = match checker {
            Some(running) if !running.is_finished() => Some(running),
            _ if checked => Some(self.spawn_checker(program.id.clone())),
            _ => None,
        };
        state.insert(
            program.id.clone(),
            Applied {
                program: program.clone(),
                health,
                checker,
            },
        );
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<(), DataPlaneError> {
        let (namespace, name) = locate(id)?;
        self.routing
            .delete(&namespace, &name)
            .await
            .map_err(|e| DataPlaneError::Backend(e.to_string()))?;
        self.state.lock().await.remove(id);
        Ok(())
    }

    async fn status(&self, id: &str) -> Option<ProgramStatus> {
        let (generation, health) = {
            let state = self.state.lock().await;
            let applied = state.get(id)?;
            (applied.program.generation, applied.health.clone())
        };
        let (namespace, name) = locate(id).ok()?;
        let observed = self.routing.observe(&namespace, &name).await.ok()??;
        let now = SystemTime::now();
        let endpoints = observed
            .endpoints
            .iter()
            .filter_map(|endpoint| {
                let address = SocketAddr::new(endpoint.address.parse().ok()?, endpoint.port);
                Some(EndpointHealth {
                    port_name: endpoint.port_name.clone(),
                    backend_id: endpoint
                        .pod
                        .as_ref()
                        .map(|(ns, pod)| format!("{ns}/{pod}"))
                        .unwrap_or_else(|| endpoint.address.clone()),
                    address,
                    healthy: endpoint.ready,
                    since: health.get(&address).map_or(now, |(_, since)| *since),
                    active_connections: 0,
                })
            })
            .collect();
        Some(ProgramStatus {
            generation,
            endpoints,
        })
    }

    async fn programs(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.state.lock().await.keys().cloned().collect();
        // Leftovers of an earlier run (this replica restarted) are in the cluster only.
        if let Ok(managed) = self.routing.list_managed().await {
            ids.extend(managed.into_iter().filter_map(|m| m.resource));
        }
        ids.sort();
        ids.dedup();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::{ActiveCheck, ProgramBackend, ProgramPort};
    use std::net::Ipv4Addr;

    fn program(kind: ProgramKind, target: ProgramTarget) -> Program {
        Program {
            id: "namespaces/shop/services/web".into(),
            kind,
            generation: 3,
            dns_name: "web.shop.svc.cluster.local".into(),
            cluster_address: Ipv4Addr::new(127, 77, 0, 1),
            ports: vec![ProgramPort {
                name: "http".into(),
                port: 80,
                node_port: Some(30080),
                target_port: TargetPort::Name("http".into()),
                backends: vec![
                    ProgramBackend {
                        id: "a".into(),
                        address: "192.0.2.1:8080".parse().unwrap(),
                    },
                    ProgramBackend {
                        id: "b".into(),
                        address: "192.0.2.2:8080".parse().unwrap(),
                    },
                ],
            }],
            balancing: Balancing::ClientIp {
                idle_timeout: Duration::from_secs(600),
            },
            health_aware: true,
            active_check: Some(ActiveCheck {
                http_path: None,
                interval: Duration::from_secs(1),
                timeout: Duration::from_millis(500),
                healthy_threshold: 1,
                unhealthy_threshold: 1,
            }),
            drain_timeout: Duration::from_secs(1),
            target,
        }
    }

    #[test]
    fn a_service_program_selects_its_deployment_and_keeps_named_ports() {
        let program = program(
            ProgramKind::Service,
            ProgramTarget::Deployment {
                name: "namespaces/shop/deployments/web".into(),
            },
        );
        let spec = service_spec(&program, Backends::Deployment("web".into())).unwrap();
        assert_eq!(
            (spec.runtime_namespace.as_str(), spec.name.as_str()),
            ("shop", "web")
        );
        assert_eq!(spec.exposure, Exposure::NodePort);
        assert_eq!(spec.ports[0].target, KubeTargetPort::Name("http".into()));
        assert_eq!(spec.ports[0].node_port, Some(30080));
        assert_eq!(
            spec.affinity,
            Affinity::ClientIp {
                timeout: Duration::from_secs(600)
            }
        );
        assert_eq!(spec.annotations[RESOURCE_ANNOTATION], program.id);
        objects::validate(&spec).unwrap();
    }

    #[test]
    fn external_addresses_follow_the_checks() {
        let program = program(ProgramKind::ExternalEntry, ProgramTarget::External);
        let mut health = BTreeMap::new();
        let mut down = HealthCounter::new();
        down.record(false, 1, 1);
        health.insert("192.0.2.2:8080".parse().unwrap(), (down, SystemTime::now()));
        let addresses = external_addresses(&program, &health);
        assert_eq!(addresses.len(), 2);
        assert!(addresses[0].ready);
        assert!(!addresses[1].ready);
        assert_eq!(addresses[1].ports["http"], 8080);
        let spec = service_spec(&program, Backends::Addresses(addresses)).unwrap();
        // A selector-less Service's target ports are its own; the slice has the real ones.
        assert_eq!(spec.ports[0].target, KubeTargetPort::Number(80));
        objects::validate(&spec).unwrap();
    }

    #[test]
    fn resource_names_locate_the_kubernetes_object() {
        assert_eq!(
            locate("namespaces/dev/externalEntries/db").unwrap(),
            ("dev".to_string(), "db".to_string())
        );
        assert_eq!(
            locate("blueGreenEntries/shop").unwrap(),
            (BLUE_GREEN_NAMESPACE.to_string(), "shop".to_string())
        );
        assert!(locate("services/web").is_err());
    }
}
