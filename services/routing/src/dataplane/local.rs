//! The local data plane: Ferry's own L4 proxy (`ferry-proxy`) on loopback, for the
//! local Docker runtime.
//!
//! Per program, one [`Proxy`] listens on `cluster_address:port` for each port (the
//! cluster address is a `127.77.x.y` loopback address: Linux routes all of 127/8 to
//! `lo`), and one more on `node_address:node_port` for each node port. Every listener
//! binds with `SO_REUSEPORT`, so all routing replicas on a machine serve the same
//! addresses and losing one replica loses only its in-flight connections.
//!
//! Applying a program swaps each listener's backend set atomically (new connections
//! use the new set at once, connections to removed backends drain); a listener whose
//! options change (health check, drain timeout) is replaced by a new one bound before
//! the old one stops accepting.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ferry_proxy::{Affinity, Backend, BackendSet, CheckKind, HealthCheck, Proxy, ProxyOptions};
use tokio::sync::Mutex;

use super::{
    ActiveCheck, Balancing, DataPlane, DataPlaneError, EndpointHealth, Program, ProgramStatus,
};

/// Settings of the local data plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalOptions {
    /// The address node ports listen on (`127.0.0.1`: Docker publishes instances on
    /// loopback, and the local platform is one machine).
    pub node_address: IpAddr,
    /// How long a connect to a backend may take before the next one is tried.
    pub connect_timeout: Duration,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            node_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            connect_timeout: Duration::from_secs(1),
        }
    }
}

/// Ferry's own data plane on this machine.
#[derive(Default)]
pub struct LocalDataPlane {
    options: LocalOptions,
    programs: Mutex<HashMap<String, Programmed>>,
}

impl std::fmt::Debug for LocalDataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDataPlane")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// One applied program.
struct Programmed {
    /// The program applied (with its generation) when every listener is bound; the
    /// listeners may be ahead of it after a failed apply.
    applied: Option<Program>,
    listeners: Vec<Listener>,
}

struct Listener {
    address: SocketAddr,
    port_name: String,
    /// The options it was bound with.
    check: Option<ActiveCheck>,
    drain_timeout: Duration,
    proxy: Proxy,
}

impl LocalDataPlane {
    /// A data plane with `options`.
    pub fn new(options: LocalOptions) -> Self {
        LocalDataPlane {
            options,
            programs: Mutex::new(HashMap::new()),
        }
    }

    /// Stops every listener, letting connections drain (service shutdown).
    pub async fn shutdown(&self) {
        let programs: Vec<Programmed> =
            self.programs.lock().await.drain().map(|(_, p)| p).collect();
        let mut stops = Vec::new();
        for programmed in programs {
            for listener in programmed.listeners {
                stops.push(listener.proxy.shutdown());
            }
        }
        futures::future::join_all(stops).await;
    }

    fn proxy_options(&self, program: &Program) -> ProxyOptions {
        ProxyOptions {
            health_check: program.active_check.as_ref().map(|check| HealthCheck {
                kind: match &check.http_path {
                    Some(path) => CheckKind::Http { path: path.clone() },
                    None => CheckKind::Tcp,
                },
                interval: check.interval,
                timeout: check.timeout,
                healthy_threshold: check.healthy_threshold,
                unhealthy_threshold: check.unhealthy_threshold,
            }),
            drain_timeout: program.drain_timeout,
            connect_timeout: self.options.connect_timeout,
        }
    }
}

/// The listeners a program asks for: (address, port name, backend set).
fn desired(program: &Program, node_address: IpAddr) -> Vec<(SocketAddr, String, BackendSet)> {
    let affinity = match program.balancing {
        Balancing::RoundRobin => Affinity::None,
        Balancing::ClientIp { idle_timeout } => Affinity::ClientIp { idle_timeout },
    };
    let mut out = Vec::new();
    for port in &program.ports {
        let set = BackendSet {
            backends: port
                .backends
                .iter()
                .map(|b| Backend {
                    id: b.id.clone(),
                    addr: b.address,
                })
                .collect(),
            affinity,
            health_aware: program.health_aware,
        };
        out.push((
            SocketAddr::new(IpAddr::V4(program.cluster_address), port.port),
            port.name.clone(),
            set.clone(),
        ));
        if let Some(node_port) = port.node_port {
            out.push((
                SocketAddr::new(node_address, node_port),
                port.name.clone(),
                set,
            ));
        }
    }
    out
}

#[async_trait::async_trait]
impl DataPlane for LocalDataPlane {
    async fn apply(&self, program: &Program) -> Result<(), DataPlaneError> {
        let mut programs = self.programs.lock().await;
        let entry = programs
            .entry(program.id.clone())
            .or_insert_with(|| Programmed {
                applied: None,
                listeners: Vec::new(),
            });
        if entry.applied.as_ref() == Some(program) {
            return Ok(());
        }
        let options = self.proxy_options(program);
        let mut old: HashMap<SocketAddr, Listener> =
            entry.listeners.drain(..).map(|l| (l.address, l)).collect();
        let mut retired = Vec::new();
        let mut failure = None;
        for (address, port_name, set) in desired(program, self.options.node_address) {
            let reusable = old.remove(&address);
            let listener = match reusable {
                Some(listener)
                    if listener.check == program.active_check
                        && listener.drain_timeout == program.drain_timeout =>
                {
                    Listener {
                        port_name,
                        ..listener
                    }
                }
                reusable => match Proxy::bind(address, options.clone()).await {
                    Ok(proxy) => {
                        // The new listener shares the address (SO_REUSEPORT) before the
                        // old one stops accepting.
                        retired.extend(reusable);
                        Listener {
                            address,
                            port_name,
                            check: program.active_check.clone(),
                            drain_timeout: program.drain_timeout,
                            proxy,
                        }
                    }
                    Err(error) => {
                        failure.get_or_insert(DataPlaneError::Bind {
                            address,
                            message: error.to_string(),
                        });
                        if let Some(listener) = reusable {
                            entry.listeners.push(listener);
                        }
                        continue;
                    }
                },
            };
            listener.proxy.set_backends(set);
            entry.listeners.push(listener);
        }
        retired.extend(old.into_values());
        for listener in retired {
            tracing::info!(program = %program.id, address = %listener.address, "stopping listener");
            tokio::spawn(listener.proxy.shutdown());
        }
        match failure {
            None => {
                entry.applied = Some(program.clone());
                Ok(())
            }
            Some(error) => Err(error),
        }
    }

    async fn remove(&self, id: &str) -> Result<(), DataPlaneError> {
        let removed = self.programs.lock().await.remove(id);
        if let Some(programmed) = removed {
            for listener in programmed.listeners {
                tracing::info!(program = %id, address = %listener.address, "stopping listener");
                tokio::spawn(listener.proxy.shutdown());
            }
        }
        Ok(())
    }

    async fn status(&self, id: &str) -> Option<ProgramStatus> {
        let programs = self.programs.lock().await;
        let programmed = programs.get(id)?;
        let generation = programmed.applied.as_ref().map_or(0, |p| p.generation);
        let mut seen_ports = std::collections::HashSet::new();
        let mut endpoints = Vec::new();
        // The node-port listener of a port has the same backends as its cluster
        // listener: report each port once.
        for listener in &programmed.listeners {
            if !seen_ports.insert(listener.port_name.clone()) {
                continue;
            }
            endpoints.extend(listener.proxy.health().into_iter().map(|h| EndpointHealth {
                port_name: listener.port_name.clone(),
                backend_id: h.id,
                address: h.addr,
                healthy: h.healthy,
                since: h.since,
                active_connections: h.active_connections,
            }));
        }
        Some(ProgramStatus {
            generation,
            endpoints,
        })
    }

    async fn programs(&self) -> Vec<String> {
        self.programs.lock().await.keys().cloned().collect()
    }
}
