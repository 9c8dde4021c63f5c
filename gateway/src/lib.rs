//! Ferry's gateway: the front door of the platform; serves ferry.auth.v1.
//!
//! This release serves the API surface through the service kit (health, reflection,
//! registration in etcd, the Operations API) and answers UNIMPLEMENTED, with an
//! `ErrorInfo` of reason `NOT_IMPLEMENTED`, for the methods later releases implement.

use std::future::Future;

use ferry_kit::config::ServiceConfig;
use ferry_kit::server::ServiceSpec;
use ferry_proto::ferry::auth::v1::audit_service_server::{AuditService, AuditServiceServer};
use ferry_proto::ferry::auth::v1::role_binding_service_server::{
    RoleBindingService, RoleBindingServiceServer,
};
use ferry_proto::ferry::auth::v1::role_service_server::{RoleService, RoleServiceServer};
use ferry_proto::ferry::auth::v1::service_account_service_server::{
    ServiceAccountService, ServiceAccountServiceServer,
};
use ferry_proto::ferry::auth::v1::token_service_server::{TokenService, TokenServiceServer};
use ferry_proto::ferry::auth::v1::user_service_server::{UserService, UserServiceServer};
use tokio::net::TcpListener;

/// The service's name, error domain and gRPC services.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "gateway",
        domain: "gateway.ferry.dev",
        grpc_services: vec![
            "ferry.common.v1.OperationsService",
            "ferry.auth.v1.TokenService",
            "ferry.auth.v1.UserService",
            "ferry.auth.v1.ServiceAccountService",
            "ferry.auth.v1.RoleService",
            "ferry.auth.v1.RoleBindingService",
            "ferry.auth.v1.AuditService",
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
            .add_service(TokenServiceServer::new(NotYetServed))
            .add_service(UserServiceServer::new(NotYetServed))
            .add_service(ServiceAccountServiceServer::new(NotYetServed))
            .add_service(RoleServiceServer::new(NotYetServed))
            .add_service(RoleBindingServiceServer::new(NotYetServed))
            .add_service(AuditServiceServer::new(NotYetServed));
        Ok(())
    })
    .await
}

/// Answers UNIMPLEMENTED for every method: the generated default of each trait method.
#[derive(Clone, Copy, Debug, Default)]
struct NotYetServed;

#[tonic::async_trait]
impl TokenService for NotYetServed {}

#[tonic::async_trait]
impl UserService for NotYetServed {}

#[tonic::async_trait]
impl ServiceAccountService for NotYetServed {}

#[tonic::async_trait]
impl RoleService for NotYetServed {}

#[tonic::async_trait]
impl RoleBindingService for NotYetServed {}

#[tonic::async_trait]
impl AuditService for NotYetServed {}
