//! Ferry's catalog service: third-party service templates and clusters.
//!
//! This release serves the API surface through the service kit (health, reflection,
//! registration in etcd, the Operations API) and answers UNIMPLEMENTED, with an
//! `ErrorInfo` of reason `NOT_IMPLEMENTED`, for the methods later releases implement.

use std::future::Future;

use ferry_kit::config::ServiceConfig;
use ferry_kit::server::ServiceSpec;
use ferry_proto::ferry::catalog::v1::service_instance_service_server::{
    ServiceInstanceService, ServiceInstanceServiceServer,
};
use ferry_proto::ferry::catalog::v1::service_template_service_server::{
    ServiceTemplateService, ServiceTemplateServiceServer,
};
use tokio::net::TcpListener;

/// The service's name, error domain and gRPC services.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "catalog",
        domain: "catalog.ferry.dev",
        grpc_services: vec![
            "ferry.common.v1.OperationsService",
            "ferry.catalog.v1.ServiceTemplateService",
            "ferry.catalog.v1.ServiceInstanceService",
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
            .add_service(ServiceTemplateServiceServer::new(NotYetServed))
            .add_service(ServiceInstanceServiceServer::new(NotYetServed));
        Ok(())
    })
    .await
}

/// Answers UNIMPLEMENTED for every method: the generated default of each trait method.
#[derive(Clone, Copy, Debug, Default)]
struct NotYetServed;

#[tonic::async_trait]
impl ServiceTemplateService for NotYetServed {}

#[tonic::async_trait]
impl ServiceInstanceService for NotYetServed {}
