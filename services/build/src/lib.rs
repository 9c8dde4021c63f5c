//! Ferry's build service: from a git commit to a versioned image.
//!
//! This release serves the API surface through the service kit (health, reflection,
//! registration in etcd, the Operations API) and answers UNIMPLEMENTED, with an
//! `ErrorInfo` of reason `NOT_IMPLEMENTED`, for the methods later releases implement.

use std::future::Future;

use ferry_kit::config::ServiceConfig;
use ferry_kit::server::ServiceSpec;
use ferry_proto::ferry::build::v1::application_service_server::{
    ApplicationService, ApplicationServiceServer,
};
use ferry_proto::ferry::build::v1::build_service_server::{BuildService, BuildServiceServer};
use ferry_proto::ferry::build::v1::image_service_server::{ImageService, ImageServiceServer};
use ferry_proto::ferry::build::v1::promotion_service_server::{
    PromotionService, PromotionServiceServer,
};
use ferry_proto::ferry::build::v1::webhook_service_server::{WebhookService, WebhookServiceServer};
use tokio::net::TcpListener;

/// The service's name, error domain and gRPC services.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "build",
        domain: "build.ferry.dev",
        grpc_services: vec![
            "ferry.common.v1.OperationsService",
            "ferry.build.v1.ApplicationService",
            "ferry.build.v1.BuildService",
            "ferry.build.v1.ImageService",
            "ferry.build.v1.PromotionService",
            "ferry.build.v1.WebhookService",
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
            .add_service(ApplicationServiceServer::new(NotYetServed))
            .add_service(BuildServiceServer::new(NotYetServed))
            .add_service(ImageServiceServer::new(NotYetServed))
            .add_service(PromotionServiceServer::new(NotYetServed))
            .add_service(WebhookServiceServer::new(NotYetServed));
        Ok(())
    })
    .await
}

/// Answers UNIMPLEMENTED for every method: the generated default of each trait method.
#[derive(Clone, Copy, Debug, Default)]
struct NotYetServed;

#[tonic::async_trait]
impl ApplicationService for NotYetServed {}

#[tonic::async_trait]
impl BuildService for NotYetServed {}

#[tonic::async_trait]
impl ImageService for NotYetServed {}

#[tonic::async_trait]
impl PromotionService for NotYetServed {}

#[tonic::async_trait]
impl WebhookService for NotYetServed {}
