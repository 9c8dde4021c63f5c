//! Ferry's routing service: services, external access entries and blue-green entries.
//!
//! This release serves the API surface through the service kit (health, reflection,
//! registration in etcd, the Operations API) and answers UNIMPLEMENTED, with an
//! `ErrorInfo` of reason `NOT_IMPLEMENTED`, for the methods later releases implement.

use std::future::Future;

use ferry_kit::config::ServiceConfig;
use ferry_kit::server::ServiceSpec;
use ferry_proto::ferry::catalog::v1::external_entry_service_server::{
    ExternalEntryService, ExternalEntryServiceServer,
};
use ferry_proto::ferry::routing::v1::blue_green_service_server::{
    BlueGreenService, BlueGreenServiceServer,
};
use ferry_proto::ferry::routing::v1::routing_service_server::{
    RoutingService, RoutingServiceServer,
};
use tokio::net::TcpListener;

/// The service's name, error domain and gRPC services.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "routing",
        domain: "routing.ferry.dev",
        grpc_services: vec![
            "ferry.common.v1.OperationsService",
            "ferry.routing.v1.RoutingService",
            "ferry.routing.v1.BlueGreenService",
            "ferry.catalog.v1.ExternalEntryService",
        ],
    }
}

/// Runs the service on `listener` until `shutdown` completes.
pub async fn run(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    ferry_ops::serve(spec(), config, listener, shutdown, |_host, routes| {
        routes
            .add_service(RoutingServiceServer::new(NotYetServed))
            .add_service(BlueGreenServiceServer::new(NotYetServed))
            .add_service(ExternalEntryServiceServer::new(NotYetServed));
        Ok(())
    })
    .await
}

/// Answers UNIMPLEMENTED for every method: the generated default of each trait method.
#[derive(Clone, Copy, Debug, Default)]
struct NotYetServed;

#[tonic::async_trait]
impl RoutingService for NotYetServed {}

#[tonic::async_trait]
impl BlueGreenService for NotYetServed {}

#[tonic::async_trait]
impl ExternalEntryService for NotYetServed {}
