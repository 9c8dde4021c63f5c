//! Ferry's gateway: the platform's one front door for every `ferry.*.v1` service.
//!
//! It serves `ferry.auth.v1` itself, and forwards every other call to a live instance
//! of the owning service; every `ferry.*.v1` call, served or forwarded, first passes
//! [`auth`] (authentication, authorization, then audit):
//!
//! - [`auth`] checks the caller's token and permission and records mutating calls;
//! - [`discovery`] keeps a table of the registered instances, following etcd;
//! - [`routing`] says which service owns a path;
//! - [`balance`] chooses an instance and decides when a retry is safe;
//! - [`call`] reads what the proxy needs from a call (method shape, `request_id`, deadline);
//! - [`proxy`] forwards the call at the HTTP/2 level;
//! - [`transcode`] serves JSON over HTTP and gRPC-Web by translating them into gRPC calls.
//! - [`limits`] holds the per-token rate limits (applied by [`auth`]), the largest request
//!   message and the calls in flight per upstream instance (applied by [`proxy`]);
//! - [`tls`] serves TLS with rustls (`FERRY_TLS_CERT`, `FERRY_TLS_KEY`); plaintext only on
//!   a loopback address.
//!
//! # The stack a call goes through
//!
//! Outermost first (the first three are the kit's, see [`ferry_kit::server`]):
//!
//! 1. a span naming the method: forwarded calls are logged like local ones;
//! 2. the default deadline (the client's `grpc-timeout` wins when shorter), which bounds a
//!    forwarded call's wait for its answer as it bounds a local call;
//! 3. the edge layer: sheds load past the in-flight limit before anything is buffered or
//!    forwarded, and adds `ErrorInfo` (domain `gateway.ferry.dev`) to bare UNIMPLEMENTED
//!    answers. Forwarded errors already carry their service's `ErrorInfo` and pass as
//!    they are;
//! 4. tonic's routes: health and reflection (open), and `ferry.auth.v1` behind
//!    [`auth::layer::Authed`], each inside [`transcode::GrpcWeb`] (gRPC-Web and CORS
//!    preflights for these paths, which never reach the fallback);
//! 5. the routes' fallback, for every path no local route matches: [`transcode`], which
//!    passes gRPC on to [`proxy::Proxy`] behind [`auth::layer::Authed`], and translates
//!    JSON over HTTP and gRPC-Web into gRPC calls to the same services (the local auth
//!    services and the proxy, each behind [`auth::layer::Authed`]).
//!
//! Forwarding is the routes' fallback rather than a dispatcher wrapped around them
//! because the local services are then matched exactly as in every other service (same
//! `Routes`, same kit life cycle), and the proxy only ever sees what the gateway does not
//! serve. The proxy still routes each path itself ([`routing::route`]), so a path of a
//! package that the gateway owns but does not serve, or of no package at all, gets
//! UNIMPLEMENTED rather than being forwarded. This is also why the gateway runs on
//! [`ferry_kit::server::serve_with_fallback`] and not on `ferry_ops::serve`: a local
//! Operations API would shadow the forwarding of `ferry.common.v1.OperationsService`.

pub mod auth;
pub mod balance;
pub mod call;
pub mod discovery;
pub mod error;
pub mod limits;
pub mod proxy;
pub mod routing;
pub mod tls;
pub mod transcode;

use std::future::Future;
use std::sync::{Arc, OnceLock};

use ferry_kit::config::ServiceConfig;
use ferry_kit::server::ServiceSpec;
use ferry_proto::ferry::auth::v1::audit_service_server::AuditServiceServer;
use ferry_proto::ferry::auth::v1::role_binding_service_server::RoleBindingServiceServer;
use ferry_proto::ferry::auth::v1::role_service_server::RoleServiceServer;
use ferry_proto::ferry::auth::v1::service_account_service_server::ServiceAccountServiceServer;
use ferry_proto::ferry::auth::v1::token_service_server::TokenServiceServer;
use ferry_proto::ferry::auth::v1::user_service_server::UserServiceServer;
use tokio::net::TcpListener;

use crate::auth::layer::{AuthShared, Authed};
use crate::call::Methods;
use crate::proxy::{Proxy, ProxyOptions};
use crate::transcode::GrpcWeb;

/// The service's name, error domain and gRPC services.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "gateway",
        domain: error::DOMAIN,
        // Only what the gateway serves itself: the Operations API is forwarded.
        grpc_services: vec![
            "ferry.auth.v1.TokenService",
            "ferry.auth.v1.UserService",
            "ferry.auth.v1.ServiceAccountService",
            "ferry.auth.v1.RoleService",
            "ferry.auth.v1.RoleBindingService",
            "ferry.auth.v1.AuditService",
        ],
    }
}

/// Runs the gateway on `listener` until `shutdown` completes, with the auth settings
/// of the process environment ([`auth::AuthConfig::from_env`]).
pub async fn run(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let auth_config = auth::AuthConfig::from_env(&env)?;
    let limits = limits::LimitsConfig::from_env(&env)?;
    let cors = transcode::cors::Cors::from_env(&env)?;
    let tls = match tls::from_env(&env).map_err(anyhow::Error::msg)? {
        Some(files) => Some(tls::server_config(&files).map_err(anyhow::Error::msg)?),
        None => None,
    };
    run_with_settings(config, auth_config, limits, cors, tls, listener, shutdown).await
}

/// [`run`] with explicit auth settings and the default limits.
pub async fn run_with_auth(
    config: ServiceConfig,
    auth_config: auth::AuthConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    run_with_settings(
        config,
        auth_config,
        limits::LimitsConfig::default(),
        transcode::cors::Cors::default(),
        None,
        listener,
        shutdown,
    )
    .await
}

/// [`run`] with explicit auth settings, limits, browser origins (CORS) and TLS (`None`:
/// plaintext).
pub async fn run_with_settings(
    config: ServiceConfig,
    auth_config: auth::AuthConfig,
    limits: limits::LimitsConfig,
    cors: transcode::cors::Cors,
    tls: Option<tonic::transport::ServerTlsConfig>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let mut config = config;
    // Unless configured, one serving thread per core: a forwarded call's tasks (the
    // client's connection, the call, the upstream connection) then share one thread.
    config.serve_threads.get_or_insert_with(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let methods = Arc::new(Methods::ferry()?);
    // The routes are built first; the fallback (the proxy) shares their auth layer.
    let started: Arc<OnceLock<(Arc<AuthShared>, auth::api::AuthApi)>> = Arc::new(OnceLock::new());
    let for_proxy = started.clone();
    let auth_methods = methods.clone();
    let proxy_options = ProxyOptions {
        max_message_bytes: limits.max_message_bytes,
        max_in_flight: limits.upstream_max_in_flight,
        ..ProxyOptions::default()
    };
    let cors_for_fallback = cors.clone();
    ferry_kit::server::serve_with_fallback_tls(
        spec(),
        config,
        listener,
        tls,
        shutdown,
        move |host, routes| {
            let auth::Auth { shared, api } =
                auth::start(host, &auth_config, &limits, auth_methods)?;
            // Each behind the auth layer, and answering gRPC-Web and CORS preflights
            // itself (these paths never reach the transcoder).
            routes
                .add_service(GrpcWeb::new(
                    Authed::new(TokenServiceServer::new(api.clone()), shared.clone()),
                    cors.clone(),
                ))
                .add_service(GrpcWeb::new(
                    Authed::new(UserServiceServer::new(api.clone()), shared.clone()),
                    cors.clone(),
                ))
                .add_service(GrpcWeb::new(
                    Authed::new(
                        ServiceAccountServiceServer::new(api.clone()),
                        shared.clone(),
                    ),
                    cors.clone(),
                ))
                .add_service(GrpcWeb::new(
                    Authed::new(RoleServiceServer::new(api.clone()), shared.clone()),
                    cors.clone(),
                ))
                .add_service(GrpcWeb::new(
                    Authed::new(RoleBindingServiceServer::new(api.clone()), shared.clone()),
                    cors.clone(),
                ))
                .add_service(GrpcWeb::new(
                    Authed::new(AuditServiceServer::new(api.clone()), shared.clone()),
                    cors.clone(),
                ));
            let _ = started.set((shared, api));
            Ok(())
        },
        move |host| {
            let (shared, api) = for_proxy
                .get()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("the auth layer was not started"))?;
            // The table follows etcd until the host stops (after the drain), so calls
            // still in flight during the drain can retry on another instance.
            let (table, follow) =
                discovery::watch_registrations(host.store.clone(), host.stopping.clone());
            host.spawn(follow);
            let forward = Authed::new(
                Proxy::new(table, methods, proxy_options, host.draining.clone()),
                shared.clone(),
            );
            // JSON and gRPC-Web reach no local route: the transcoder, as the fallback,
            // translates them and hands them to the auth services and the proxy.
            transcode::Transcoder::gateway(api, shared, forward)
                .map(|transcoder| transcoder.with_cors(cors_for_fallback.clone()))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{Route, route};

    /// What the gateway mounts is what routing keeps local: nothing it serves is
    /// forwarded, and nothing forwarded is shadowed by a local route.
    #[test]
    fn local_services_are_exactly_the_local_routes() {
        for service in spec().grpc_services {
            assert_eq!(
                route(&format!("/{service}/AnyMethod")),
                Route::Local,
                "{service}"
            );
        }
    }
}
