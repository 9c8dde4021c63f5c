//! Ferry's routing service: Services (stable names, addresses and ports for
//! deployments), external access entries and blue-green entries.
//!
//! - [`service`]: the `ferry.routing.v1.RoutingService` API, model and status controller;
//! - [`external`]: external entries (`ferry.catalog.v1.ExternalEntryService`);
//! - [`bluegreen`]: blue-green entries (`ferry.routing.v1.BlueGreenService`), switches
//!   and rollbacks as Operations driven from etcd;
//! - [`dataplane`]: the [`DataPlane`] contract and the local data
//!   plane (Ferry's own proxy on loopback, for the local Docker runtime);
//! - [`programmer`]: the loop every replica runs to program its data plane from etcd;
//! - [`namespace_dns`]: with Docker engines configured, endpoint containers that give
//!   Services their names (`svc`, `svc.ns`, `svc.ns.svc.cluster.local`) inside their
//!   namespace's Docker network (leader-elected: `routing-namespace-dns`);
//! - [`resolve`]: host name resolution for external entries;
//! - [`layout`]: the keys in etcd, and the deploy service's keys read here.
//!
//! Every replica programs its own data plane; the status controllers are leader-elected
//! (`routing-services`, `routing-external-entries`, `routing-blue-green`), so only the leader writes status.
//! The namespace DNS endpoints are driven by the leader of `routing-namespace-dns`.
//!
//! Not served yet (UNIMPLEMENTED, reason `NOT_IMPLEMENTED`): Service targets other than
//! deployments.

pub mod bluegreen;
pub mod dataplane;
pub mod error;
pub mod external;
pub mod filter;
pub mod layout;
pub mod namespace_dns;
pub mod programmer;
pub mod resolve;
pub mod service;

use std::future::Future;
use std::sync::Arc;

use ferry_kit::config::ServiceConfig;
use ferry_kit::idempotency::{self, Idempotency};
use ferry_kit::server::{Host, ServiceSpec};
use ferry_ops::Controller;
use tokio::net::TcpListener;

use crate::bluegreen::api::BlueGreenApi;
use crate::bluegreen::controller::BlueGreenReconciler;
use crate::dataplane::DataPlane;
use crate::dataplane::local::{LocalDataPlane, LocalOptions};
use crate::error::DOMAIN;
use crate::external::api::ExternalEntryApi;
use crate::external::controller::ExternalStatusReconciler;
use crate::namespace_dns::{NamespaceDns, NamespaceDnsSettings};
use crate::programmer::Programmer;
use crate::resolve::Resolver;
use crate::service::api::ServiceApi;
use crate::service::controller::ServiceStatusReconciler;
use crate::service::model::ProgramTuning;

/// The service's name, error domain and gRPC services.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "routing",
        domain: DOMAIN,
        grpc_services: vec![
            "ferry.common.v1.OperationsService",
            "ferry.routing.v1.RoutingService",
            "ferry.routing.v1.BlueGreenService",
            "ferry.catalog.v1.ExternalEntryService",
        ],
    }
}

/// What a routing service drives besides its configuration.
#[derive(Clone)]
pub struct RoutingOptions {
    /// This replica's data plane.
    pub data_plane: Arc<dyn DataPlane>,
    /// Tuning of Service programs (active checks, drain time).
    pub tuning: ProgramTuning,
    /// Service names inside namespace Docker networks, when Docker engines are
    /// configured ([`namespace_dns`]).
    pub namespace_dns: Option<Arc<NamespaceDns>>,
}

impl RoutingOptions {
    /// The local data plane (Ferry's proxy on loopback) with default tuning.
    pub fn local() -> Self {
        RoutingOptions {
            data_plane: Arc::new(LocalDataPlane::new(LocalOptions::default())),
            tuning: ProgramTuning::default(),
            namespace_dns: None,
        }
    }
}

/// Runs the service on `listener` until `shutdown` completes, with the data plane the
/// environment names ([`RoutingOptions::from_env`]).
pub async fn run(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let options = RoutingOptions::from_env(&env).await?;
    run_with(config, options, listener, shutdown).await
}

impl RoutingOptions {
    /// The data plane `FERRY_ROUTING_DATA_PLANE` names: `local` (the default: Ferry's
    /// proxy on this machine, for the local Docker runtime) or `kubernetes` (Services and
    /// EndpointSlices in the cluster of `FERRY_KUBECONFIG`, or the one it runs in with
    /// `FERRY_KUBE_IN_CLUSTER=1`). One data plane per routing deployment: a platform whose
    /// namespaces run on both kinds of runtime needs one routing deployment per kind.
    ///
    /// With the local data plane, `FERRY_DOCKER_ENGINES` (the deploy service's engines)
    /// turns [`namespace_dns`] on; it then needs `FERRY_ROUTING_FORWARDER_BINARY` (the
    /// static `ferry-forward` binary), and fails to start without it.
    pub async fn from_env(env: &std::collections::HashMap<String, String>) -> anyhow::Result<Self> {
        let kind = env
            .get("FERRY_ROUTING_DATA_PLANE")
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .unwrap_or("local");
        match kind {
            "local" => {
                let namespace_dns = match NamespaceDnsSettings::from_env(env)? {
                    Some(settings) => Some(Arc::new(NamespaceDns::new(&settings)?)),
                    None => None,
                };
                Ok(RoutingOptions {
                    namespace_dns,
                    ..Self::local()
                })
            }
            "kubernetes" => {
                let routing = if let Some(path) =
                    env.get("FERRY_KUBECONFIG").filter(|v| !v.trim().is_empty())
                {
                    ferry_routing_kube::KubeRouting::from_kubeconfig(path).await?
                } else if env.get("FERRY_KUBE_IN_CLUSTER").is_some_and(|v| v == "1") {
                    ferry_routing_kube::KubeRouting::in_cluster()?
                } else {
                    anyhow::bail!(
                        "FERRY_ROUTING_DATA_PLANE=kubernetes needs FERRY_KUBECONFIG (a kubeconfig \
                         file) or FERRY_KUBE_IN_CLUSTER=1"
                    );
                };
                Ok(RoutingOptions {
                    data_plane: Arc::new(dataplane::kube::KubeDataPlane::new(routing)),
                    tuning: ProgramTuning::default(),
                    namespace_dns: None,
                })
            }
            other => anyhow::bail!(
                "FERRY_ROUTING_DATA_PLANE={other:?}: expected \"local\" or \"kubernetes\""
            ),
        }
    }
}

/// Runs the service on `listener` until `shutdown` completes, programming
/// `options.data_plane`.
pub async fn run_with(
    config: ServiceConfig,
    options: RoutingOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    ferry_ops::serve(spec(), config, listener, shutdown, move |host, routes| {
        start_tasks(host, &options);
        let idempotency = Idempotency::new(host.store.clone(), idempotency::DEFAULT_WINDOW);
        routes
            .add_service(ServiceApi::new(host.store.clone(), idempotency.clone()).into_server())
            .add_service(BlueGreenApi::new(host.store.clone(), idempotency.clone()).into_server())
            .add_service(ExternalEntryApi::new(host.store.clone(), idempotency).into_server());
        Ok(())
    })
    .await
}

/// Starts the programming loop (every replica) and the leader-elected controllers.
fn start_tasks(host: &Host, options: &RoutingOptions) {
    if let Some(namespace_dns) = &options.namespace_dns {
        host.spawn(namespace_dns.clone().run(
            host.store.clone(),
            host.instance_id.clone(),
            host.config.lease_ttl,
            host.stopping.clone(),
        ));
    }
    let resolver = Arc::new(Resolver::default());
    host.spawn(
        Programmer::new(
            host.store.clone(),
            options.data_plane.clone(),
            options.tuning.clone(),
            resolver.clone(),
        )
        .run(host.stopping.clone()),
    );
    host.spawn(
        Controller::new(
            Arc::new(ExternalStatusReconciler::new(
                options.data_plane.clone(),
                resolver,
            )),
            host.store.clone(),
            host.instance_id.clone(),
            host.config.lease_ttl,
        )
        .run(host.stopping.clone()),
    );
    host.spawn(
        Controller::new(
            Arc::new(BlueGreenReconciler::new(options.data_plane.clone())),
            host.store.clone(),
            host.instance_id.clone(),
            host.config.lease_ttl,
        )
        .run(host.stopping.clone()),
    );
    host.spawn(
        Controller::new(
            Arc::new(ServiceStatusReconciler::new(options.data_plane.clone())),
            host.store.clone(),
            host.instance_id.clone(),
            host.config.lease_ttl,
        )
        .run(host.stopping.clone()),
    );
}
