//! Ferry's storage service: providers, volumes and dynamic volume bindings.
//!
//! This release serves the API surface through the service kit (health, reflection,
//! registration in etcd, the Operations API) and answers UNIMPLEMENTED, with an
//! `ErrorInfo` of reason `NOT_IMPLEMENTED`, for the methods later releases implement.

use std::future::Future;

use ferry_kit::config::ServiceConfig;
use ferry_kit::server::ServiceSpec;
use ferry_proto::ferry::storage::v1::storage_provider_service_server::{
    StorageProviderService, StorageProviderServiceServer,
};
use ferry_proto::ferry::storage::v1::volume_binding_service_server::{
    VolumeBindingService, VolumeBindingServiceServer,
};
use ferry_proto::ferry::storage::v1::volume_service_server::{VolumeService, VolumeServiceServer};
use tokio::net::TcpListener;

/// The service's name, error domain and gRPC services.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "storage",
        domain: "storage.ferry.dev",
        grpc_services: vec![
            "ferry.common.v1.OperationsService",
            "ferry.storage.v1.StorageProviderService",
            "ferry.storage.v1.VolumeService",
            "ferry.storage.v1.VolumeBindingService",
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
            .add_service(StorageProviderServiceServer::new(NotYetServed))
            .add_service(VolumeServiceServer::new(NotYetServed))
            .add_service(VolumeBindingServiceServer::new(NotYetServed));
        Ok(())
    })
    .await
}

/// Answers UNIMPLEMENTED for every method: the generated default of each trait method.
#[derive(Clone, Copy, Debug, Default)]
struct NotYetServed;

#[tonic::async_trait]
impl StorageProviderService for NotYetServed {}

#[tonic::async_trait]
impl VolumeService for NotYetServed {}

#[tonic::async_trait]
impl VolumeBindingService for NotYetServed {}
