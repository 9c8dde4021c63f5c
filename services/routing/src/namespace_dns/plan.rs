//! Pure planning of the namespace DNS endpoints: which endpoint containers one engine
//! should run and the `ferry-forward` configuration of each, from the Services, the
//! deploy service's observed instances and the namespace networks present on the engine.
//! No IO here.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use ferry_forward::{Config, Mode, Rule};
use ferry_proto::ferry::common::v1::ContainerPort;
use ferry_proto::ferry::deploy::v1::Instance;
use ferry_proto::ferry::routing::v1::Service;
use ferry_proto::ferry::routing::v1::session_affinity;

use crate::service::model;

/// Label marking the containers the routing service manages (value [`MANAGED_BY_VALUE`]);
/// the deploy runtime's own label (`ferry.dev/managed`) is not set, so the deploy
/// service never counts or removes them.
pub const MANAGED_BY_LABEL: &str = "ferry.dev/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "routing";
/// Label holding the Service (`namespaces/{ns}/services/{s}`) an endpoint serves.
pub const SERVICE_LABEL: &str = "ferry.dev/service";
/// Where the configuration file lives in an endpoint container.
pub const CONFIG_PATH: &str = "/etc/ferry-forward.conf";

/// One endpoint container wanted on an engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The Service, `namespaces/{ns}/services/{s}`.
    pub service: String,
    /// The container's name: `ferry-svc.{runtime namespace}.{service id}` (instance
    /// containers are `{runtime namespace}.{instance}`, and neither part holds a dot).
    pub container_name: String,
    /// The namespace's network (its runtime namespace).
    pub network: String,
    /// The names it answers on that network: `s`, `s.ns`, `s.ns.svc.cluster.local`.
    pub aliases: Vec<String>,
    /// The `ferry-forward` configuration text.
    pub config: String,
}

/// What the planner needs of one Service.
#[derive(Clone, Copy, Debug)]
pub struct ServiceInput<'a> {
    /// Its configuration (name, ports, target, affinity).
    pub service: &'a Service,
    /// The target deployment's instances as the deploy service last observed them.
    pub instances: &'a [Instance],
    /// The ports the target's template declares (to resolve port names).
    pub declared: &'a [ContainerPort],
}

/// The name of the endpoint container of Service `service_id` in `runtime_namespace`.
pub fn container_name(runtime_namespace: &str, service_id: &str) -> String {
    format!("ferry-svc.{runtime_namespace}.{service_id}")
}

/// The endpoints engine `engine_host` should run: one per Service whose namespace has
/// its network on that engine (`networks`: Ferry namespace id → runtime namespace, only
/// namespaces not being deleted). Backends are the instances running on that engine (a
/// container reaches only its own engine's bridge), at their address on the network and
/// the Service port's target port: READY ones, or running ones when the Service turned
/// health-aware routing off. A Service without backends there still gets its endpoint:
/// its names resolve and connections are closed at once.
pub fn desired_endpoints(
    engine_host: &str,
    networks: &BTreeMap<String, String>,
    services: &[ServiceInput<'_>],
) -> Vec<Endpoint> {
    let host = format!("hosts/{engine_host}");
    let mut out = Vec::new();
    for input in services {
        let service = input.service;
        let Some((namespace, service_id)) = split_service_name(&service.name) else {
            continue;
        };
        let Some(network) = networks.get(namespace) else {
            continue;
        };
        if model::target_deployment(service).is_none() {
            continue;
        }
        let health_aware = model::health_aware(service);
        let endpoints = model::resolve_endpoints(&service.ports, input.instances, input.declared);
        // The address on the network only (resolved endpoints fall back to the published
        // address, which a container cannot use).
        let network_ips: BTreeMap<&str, IpAddr> = input
            .instances
            .iter()
            .filter_map(|i| Some((i.name.as_str(), i.ip_address.parse().ok()?)))
            .collect();
        let mode = match &service.session_affinity {
            Some(affinity) if affinity.mode() == session_affinity::Mode::ClientIp => Mode::ClientIp,
            _ => Mode::RoundRobin,
        };
        let mut config = Config::new();
        for port in &service.ports {
            let Ok(listen) = u16::try_from(port.port) else {
                continue;
            };
            let backends: Vec<SocketAddr> = endpoints
                .iter()
                .filter(|e| e.port_name == port.name && e.host == host)
                .filter(|e| if health_aware { e.ready } else { e.running })
                .filter_map(|e| {
                    let ip = *network_ips.get(e.instance.as_str())?;
                    let target = u16::try_from(e.target_port).ok().filter(|p| *p > 0)?;
                    Some(SocketAddr::new(ip, target))
                })
                .collect();
            config.insert(listen, Rule { mode, backends });
        }
        out.push(Endpoint {
            service: service.name.clone(),
            container_name: container_name(network, service_id),
            network: network.clone(),
            aliases: vec![
                service_id.to_string(),
                format!("{service_id}.{namespace}"),
                model::dns_name(namespace, service_id),
            ],
            config: ferry_forward::render(&config),
        });
    }
    out.sort_by(|a, b| a.container_name.cmp(&b.container_name));
    out
}

/// `namespaces/{ns}/services/{s}` → (`ns`, `s`).
fn split_service_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("namespaces/")?;
    let (namespace, service) = rest.split_once("/services/")?;
    (!namespace.is_empty() && !service.is_empty() && !service.contains('/'))
        .then_some((namespace, service))
}

#[cfg(test)]
mod tests {
    use ferry_proto::ferry::deploy::v1::instance;
    use ferry_proto::ferry::routing::v1::service::Target;
    use ferry_proto::ferry::routing::v1::service_port::TargetPortRef;
    use ferry_proto::ferry::routing::v1::{ServicePort, SessionAffinity};

    use super::*;

    fn service(ports: Vec<ServicePort>) -> Service {
        Service {
            name: "namespaces/dev/services/web".into(),
            target: Some(Target::Deployment("namespaces/dev/deployments/echo".into())),
            ports,
            ..Default::default()
        }
    }

    fn port(name: &str, port: i32, target: &str) -> ServicePort {
        ServicePort {
            name: name.into(),
            port,
            target_port_ref: Some(TargetPortRef::TargetPortName(target.into())),
            ..Default::default()
        }
    }

    fn instance(id: &str, host: &str, ip: &str, state: instance::State) -> Instance {
        Instance {
            name: format!("namespaces/dev/deployments/echo/instances/{id}"),
            host: format!("hosts/{host}"),
            ip_address: ip.into(),
            state: state as i32,
            ports: vec![
                ferry_proto::ferry::deploy::v1::instance::Port {
                    port: Some(ContainerPort {
                        name: String::new(),
                        port: 8080,
                        protocol: 0,
                    }),
                    host_address: "127.0.0.1".into(),
                    host_port: 40000,
                },
                ferry_proto::ferry::deploy::v1::instance::Port {
                    port: Some(ContainerPort {
                        name: String::new(),
                        port: 9090,
                        protocol: 0,
                    }),
                    host_address: String::new(),
                    host_port: 0,
                },
            ],
            ..Default::default()
        }
    }

    fn declared() -> Vec<ContainerPort> {
        vec![
            ContainerPort {
                name: "http".into(),
                port: 8080,
                protocol: 0,
            },
            ContainerPort {
                name: "admin".into(),
                port: 9090,
                protocol: 0,
            },
        ]
    }

    fn networks() -> BTreeMap<String, String> {
        BTreeMap::from([("dev".to_string(), "dev".to_string())])
    }

    #[test]
    fn endpoints_forward_to_the_ready_instances_of_their_engine_on_the_network() {
        let svc = service(vec![port("http", 80, "http"), port("admin", 9000, "admin")]);
        let instances = vec![
            instance("echo-r1-aaaaa", "e1", "10.20.0.2", instance::State::Ready),
            instance("echo-r1-bbbbb", "e1", "10.20.0.3", instance::State::Ready),
            instance(
                "echo-r1-ccccc",
                "e1",
                "10.20.0.4",
                instance::State::Starting,
            ),
            instance("echo-r1-ddddd", "e2", "10.20.0.2", instance::State::Ready),
        ];
        let declared = declared();
        let inputs = [ServiceInput {
            service: &svc,
            instances: &instances,
            declared: &declared,
        }];
        let endpoints = desired_endpoints("e1", &networks(), &inputs);
        assert_eq!(
            endpoints,
            vec![Endpoint {
                service: "namespaces/dev/services/web".into(),
                container_name: "ferry-svc.dev.web".into(),
                network: "dev".into(),
                aliases: vec![
                    "web".into(),
                    "web.dev".into(),
                    "web.dev.svc.cluster.local".into()
                ],
                config: "listen 80 rr 10.20.0.2:8080 10.20.0.3:8080\n\
                         listen 9000 rr 10.20.0.2:9090 10.20.0.3:9090\nend\n"
                    .into(),
            }]
        );
        // The other engine sees only its own instance.
        let other = desired_endpoints("e2", &networks(), &inputs);
        assert_eq!(
            other[0].config,
            "listen 80 rr 10.20.0.2:8080\nlisten 9000 rr 10.20.0.2:9090\nend\n"
        );
        // An engine without the namespace's network gets nothing.
        assert!(desired_endpoints("e1", &BTreeMap::new(), &inputs).is_empty());
    }

    #[test]
    fn affinity_health_awareness_and_empty_backends() {
        let mut svc = service(vec![port("http", 80, "http")]);
        svc.session_affinity = Some(SessionAffinity {
            mode: session_affinity::Mode::ClientIp as i32,
            ..Default::default()
        });
        svc.health_aware_routing = Some(false);
        let instances = vec![
            instance(
                "echo-r1-aaaaa",
                "e1",
                "10.20.0.2",
                instance::State::Unhealthy,
            ),
            instance("echo-r1-bbbbb", "e1", "", instance::State::Ready),
        ];
        let declared = declared();
        let inputs = [ServiceInput {
            service: &svc,
            instances: &instances,
            declared: &declared,
        }];
        let endpoints = desired_endpoints("e1", &networks(), &inputs);
        // Running counts without health-aware routing; an instance without an address
        // on the network cannot be a backend.
        assert_eq!(
            endpoints[0].config,
            "listen 80 client-ip 10.20.0.2:8080\nend\n"
        );
        let none: Vec<Instance> = Vec::new();
        let inputs = [ServiceInput {
            service: &svc,
            instances: &none,
            declared: &declared,
        }];
        assert_eq!(
            desired_endpoints("e1", &networks(), &inputs)[0].config,
            "listen 80 client-ip\nend\n"
        );
    }

    #[test]
    fn the_runtime_namespace_names_network_and_container() {
        let svc = service(vec![port("http", 80, "http")]);
        let declared = declared();
        let inputs = [ServiceInput {
            service: &svc,
            instances: &[],
            declared: &declared,
        }];
        let networks = BTreeMap::from([("dev".to_string(), "ferry-dev".to_string())]);
        let endpoints = desired_endpoints("e1", &networks, &inputs);
        assert_eq!(endpoints[0].network, "ferry-dev");
        assert_eq!(endpoints[0].container_name, "ferry-svc.ferry-dev.web");
        assert_eq!(endpoints[0].aliases[1], "web.dev");
        assert_eq!(
            split_service_name("namespaces/dev/services/web"),
            Some(("dev", "web"))
        );
        assert_eq!(split_service_name("namespaces/dev/externalEntries/x"), None);
    }
}
