//! One way to run any Ferry service: [`serve`].
//!
//! A service's `run(config, listener, shutdown)` calls [`serve`] with its [`ServiceSpec`]
//! and a closure that adds its gRPC services to the routes. [`serve`] owns the life cycle:
//!
//! 1. connect to the store (etcd, or memory for tests) under the configured prefix;
//! 2. report health: NOT_SERVING until the store answers, then SERVING only while it does;
//! 3. register the instance's address in etcd under a lease (see [`crate::registry`]);
//! 4. serve health, reflection and the service's routes behind the tower stack, on the
//!    main runtime or on serving threads (`serve_threads`, see `threads.rs`: every task of
//!    a connection on one single-threaded runtime);
//! 5. on shutdown, in this order: report NOT_SERVING, stop accepting calls and end open
//!    streams, drain in-flight calls within the grace period, cancel background tasks
//!    (controllers) and wait for them, revoke the lease (the registration disappears).
//!
//! [`serve_with_fallback`] is the same life cycle with one more service behind the routes:
//! it answers every call that no route matches (the gateway forwards those).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ferry_store::etcd::{EtcdConfig, EtcdStore};
use ferry_store::keys::PrefixedStore;
use ferry_store::{MemoryStore, Store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::body::Body;
use tonic::service::{Routes, RoutesBuilder};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::config::ServiceConfig;
use crate::edge::EdgeLayer;
use crate::registry::{self, InstanceRecord};
use crate::threads;

/// What a service is, for the kit.
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    /// Short name: `deploy`, `build`, `catalog`, `storage`, `routing`, `gateway`.
    pub name: &'static str,
    /// Error domain, e.g. `deploy.ferry.dev`.
    pub domain: &'static str,
    /// Fully qualified gRPC services served (health is reported for each).
    pub grpc_services: Vec<&'static str>,
}

/// What a service gets to build its handlers and background tasks with.
#[derive(Clone)]
pub struct Host {
    /// The state store (already scoped to the configured prefix).
    pub store: Arc<dyn Store>,
    /// The validated configuration.
    pub config: ServiceConfig,
    /// This instance's id.
    pub instance_id: String,
    /// The address registered for this instance.
    pub advertise: String,
    /// Cancelled when the server stops accepting calls: long-lived streams end on it.
    pub draining: CancellationToken,
    /// Cancelled after in-flight calls drained: background tasks (controllers) stop on it.
    pub stopping: CancellationToken,
    tasks: TaskTracker,
}

impl Host {
    /// Spawns a background task that the shutdown sequence waits for. The task should
    /// return once [`Host::stopping`] is cancelled.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }
}

/// Connects to the store the configuration names.
pub async fn connect_store(config: &ServiceConfig) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if config.uses_memory_store() {
        Arc::new(MemoryStore::new())
    } else {
        let etcd_config = EtcdConfig {
            endpoints: config.store.endpoints.clone(),
            connect_timeout: config.store.connect_timeout,
            request_timeout: config.store.request_timeout,
            ..EtcdConfig::default()
        };
        // Lazily: a service starts (NOT_SERVING) while etcd is still down and turns
        // SERVING once it answers, instead of exiting and crash-looping.
        Arc::new(EtcdStore::connect_lazy(etcd_config)?)
    };
    Ok(if config.store.prefix.is_empty() {
        store
    } else {
        Arc::new(PrefixedStore::new(store, config.store.prefix.clone()))
    })
}

/// Runs a service until `shutdown` completes, then shuts it down in order.
/// `routes` adds the service's own gRPC services.
pub async fn serve<F>(
    spec: ServiceSpec,
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    routes: F,
) -> anyhow::Result<()>
where
    F: FnOnce(&Host, &mut RoutesBuilder) -> anyhow::Result<()>,
{
    serve_routes(
        spec,
        config,
        listener,
        shutdown,
        Transport {
            accept_http1: false,
            tls: None,
        },
        routes,
        |_, routes| Ok(routes),
    )
    .await
}

/// [`serve`] with a fallback: `fallback` builds (once, with the [`Host`]) a service that
/// answers every call whose path matches none of the routes, in place of the default bare
/// UNIMPLEMENTED answer. It sits behind the same tower stack as the routes (span, default
/// deadline, edge layer), so its calls are traced, bounded and load-shed alike, and a bare
/// UNIMPLEMENTED it returns still gets its `ErrorInfo`.
///
/// Health and reflection stay local routes: a fallback never sees them. The server also
/// accepts HTTP/1.1 connections (gRPC stays on HTTP/2): the gateway's fallback answers
/// JSON and gRPC-Web, which browsers and `curl` send over HTTP/1.1.
pub async fn serve_with_fallback<F, G, S>(
    spec: ServiceSpec,
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    routes: F,
    fallback: G,
) -> anyhow::Result<()>
where
    F: FnOnce(&Host, &mut RoutesBuilder) -> anyhow::Result<()>,
    G: FnOnce(&Host) -> anyhow::Result<S>,
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    serve_with_fallback_tls(spec, config, listener, None, shutdown, routes, fallback).await
}

/// [`serve_with_fallback`], over TLS when `tls` is given (rustls; ALPN offers `h2`
/// only, so HTTP/1.1 over TLS works only for clients that send no ALPN).
pub async fn serve_with_fallback_tls<F, G, S>(
    spec: ServiceSpec,
    config: ServiceConfig,
    listener: TcpListener,
    tls: Option<tonic::transport::ServerTlsConfig>,
    shutdown: impl Future<Output = ()> + Send,
    routes: F,
    fallback: G,
) -> anyhow::Result<()>
where
    F: FnOnce(&Host, &mut RoutesBuilder) -> anyhow::Result<()>,
    G: FnOnce(&Host) -> anyhow::Result<S>,
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    serve_routes(
        spec,
        config,
        listener,
        shutdown,
        Transport {
            accept_http1: true,
            tls,
        },
        routes,
        |host, routes| {
            let fallback = tower::ServiceExt::map_request(
                fallback(host)?,
                |request: http::Request<axum::body::Body>| request.map(Body::new),
            );
            // tonic's routes are an axum router that answers UNIMPLEMENTED for unknown paths;
            // the fallback service takes that place.
            Ok(Routes::from(
                routes.into_axum_router().fallback_service(fallback),
            ))
        },
    )
    .await
}

/// How connections are taken: HTTP/1.1 besides HTTP/2, and TLS.
struct Transport {
    accept_http1: bool,
    tls: Option<tonic::transport::ServerTlsConfig>,
}

/// The life cycle shared by [`serve`] and [`serve_with_fallback`]; `finish` may wrap the
/// complete routes (health, reflection and the service's own) before they are served.
async fn serve_routes<F, W>(
    spec: ServiceSpec,
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    transport: Transport,
    routes: F,
    finish: W,
) -> anyhow::Result<()>
where
    F: FnOnce(&Host, &mut RoutesBuilder) -> anyhow::Result<()>,
    W: FnOnce(&Host, Routes) -> anyhow::Result<Routes>,
{
    let local_addr: SocketAddr = listener.local_addr()?;
    let instance_id = config.instance_id.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            spec.name,
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        )
    });
    let advertise = config
        .advertise
        .clone()
        .unwrap_or_else(|| local_addr.to_string());
    let store = connect_store(&config).await?;

    let host = Host {
        store: store.clone(),
        config: config.clone(),
        instance_id: instance_id.clone(),
        advertise: advertise.clone(),
        draining: CancellationToken::new(),
        stopping: CancellationToken::new(),
        tasks: TaskTracker::new(),
    };

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    set_health(&health_reporter, &spec, ServingStatus::NotServing).await;
    // Health stops with the drain, so nothing flips it back to SERVING during shutdown.
    host.spawn(report_health(
        store.clone(),
        health_reporter.clone(),
        spec.clone(),
        host.draining.clone(),
    ));

    let record = InstanceRecord {
        service: spec.name.to_string(),
        instance_id: instance_id.clone(),
        address: advertise.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_unix_ms: registry::now_unix_ms(),
        grpc_services: spec.grpc_services.iter().map(|s| s.to_string()).collect(),
    };
    // The registration outlives the drain (the gateway keeps routing in-flight retries
    // here until the lease is revoked), so it stops with the background tasks.
    host.spawn(registry::keep_registered(
        store.clone(),
        record,
        config.lease_ttl,
        host.stopping.clone(),
    ));

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(ferry_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(ferry_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let mut builder = Routes::builder();
    builder
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    routes(&host, &mut builder)?;
    let routes = finish(&host, builder.routes())?;

    let service_name = spec.name;
    // The tower stack, outermost first:
    // - a span per call carrying the method, so every log line inside names its call;
    // - a default deadline for calls that bring none (a client's grpc-timeout wins when shorter);
    // - the edge layer: sheds load past the in-flight limit instead of queueing (a hang is
    //   worse than a fast UNAVAILABLE), and adds ErrorInfo to UNIMPLEMENTED answers.
    let mut server = tonic::transport::Server::builder()
        .accept_http1(transport.accept_http1)
        .trace_fn(move |request| {
            tracing::info_span!("grpc", service = service_name, method = %request.uri().path())
        })
        .timeout(config.default_timeout)
        .layer(EdgeLayer::new(config.max_concurrent_requests, spec.domain));
    if let Some(tls) = transport.tls {
        server = server.tls_config(tls)?;
    }

    let router = server.add_routes(routes);
    let draining = host.draining.clone();
    let serve_threads = config.serve_threads.unwrap_or(0);
    let serve_future: Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> =
        if serve_threads == 0 {
            // TCP_NODELAY on every accepted connection: tonic applies its own `tcp_nodelay`
            // setting only to listeners it binds, and without it Nagle's algorithm meets the
            // client's delayed ACK and stalls small gRPC answers by ~40 ms.
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            let served = router.serve_with_incoming_shutdown(incoming, draining.cancelled_owned());
            Box::pin(async move { served.await.map_err(anyhow::Error::from) })
        } else {
            // Each serving thread runs its own copy of the router (they share every
            // `Arc` inside: the in-flight limit, the services' state).
            Box::pin(threads::serve_on_threads(
                spec.name,
                listener,
                serve_threads,
                host.draining.clone(),
                move |incoming| {
                    router
                        .clone()
                        .serve_with_incoming_shutdown(incoming, draining.clone().cancelled_owned())
                },
            )?)
        };
    tracing::info!(service = spec.name, instance = %instance_id, address = %local_addr, serve_threads, "serving");

    tokio::pin!(serve_future);
    let served_early = tokio::select! {
        result = &mut serve_future => Some(result),
        () = shutdown => None,
    };

    // 1. Tell load balancers to stop sending new calls.
    set_health(&health_reporter, &spec, ServingStatus::NotServing).await;
    // 2. Stop accepting; open streams end on `draining`.
    host.draining.cancel();
    // 3. Drain in-flight calls within the grace period.
    let serve_result = match served_early {
        Some(result) => result,
        None => match tokio::time::timeout(config.shutdown_grace, &mut serve_future).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(grace = ?config.shutdown_grace, "calls still in flight after the grace period; dropping them");
                Ok(())
            }
        },
    };
    // 4. Stop background tasks (controllers, health, registration: which revokes its lease).
    host.stopping.cancel();
    host.tasks.close();
    if tokio::time::timeout(Duration::from_secs(5), host.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("background tasks did not stop within 5s");
    }
    tracing::info!(service = spec.name, instance = %instance_id, "stopped");
    serve_result
}

async fn set_health(reporter: &HealthReporter, spec: &ServiceSpec, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for service in &spec.grpc_services {
        reporter.set_service_status(*service, status).await;
    }
}

/// SERVING only while the store answers: a service that cannot reach etcd can neither
/// read nor write state, so it must not receive calls.
async fn report_health(
    store: Arc<dyn Store>,
    reporter: HealthReporter,
    spec: ServiceSpec,
    stop: CancellationToken,
) {
    let mut last: Option<ServingStatus> = None;
    loop {
        let status = match tokio::time::timeout(Duration::from_secs(2), store.ping()).await {
            Ok(Ok(())) => ServingStatus::Serving,
            Ok(Err(error)) => {
                if last != Some(ServingStatus::NotServing) {
                    tracing::warn!(%error, "state store unreachable; reporting not serving");
                }
                ServingStatus::NotServing
            }
            Err(_) => ServingStatus::NotServing,
        };
        if last != Some(status) {
            set_health(&reporter, &spec, status).await;
            last = Some(status);
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => tracing::info!("received SIGTERM"),
        _ = tokio::signal::ctrl_c() => tracing::info!("received SIGINT"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tonic::Code;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    /// Answers NOT_FOUND "from the fallback" for every call.
    #[derive(Clone)]
    struct Fallback;

    impl tower::Service<http::Request<Body>> for Fallback {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future =
            Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<Body>) -> Self::Future {
            Box::pin(async { Ok(tonic::Status::not_found("from the fallback").into_http()) })
        }
    }

    #[tokio::test]
    async fn the_fallback_answers_unrouted_paths_and_local_routes_stay_local() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut config = ServiceConfig::default();
        config.store.endpoints = vec!["memory".to_string()];
        let spec = ServiceSpec {
            name: "test",
            domain: "test.ferry.dev",
            grpc_services: Vec::new(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_with_fallback(
            spec,
            config,
            listener,
            async {
                let _ = stopped.await;
            },
            |_, _| Ok(()),
            |_| Ok(Fallback),
        ));
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .unwrap();

        // Health is a local route: the fallback never sees it.
        HealthClient::new(channel.clone())
            .check(HealthCheckRequest::default())
            .await
            .expect("health answers locally");

        // An unrouted path reaches the fallback, through the kit's stack.
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let status = grpc
            .unary(
                tonic::Request::new(()),
                http::uri::PathAndQuery::from_static("/ferry.other.v1.OtherService/Get"),
                tonic_prost::ProstCodec::<(), ()>::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "from the fallback");

        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
