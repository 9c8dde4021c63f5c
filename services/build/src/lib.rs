//! Ferry's build service: from a git commit to a versioned image.
//!
//! This release serves applications ([`application`]), builds with their logs
//! ([`build`]: fetch with git, build and test scripts in a builder container on a
//! Docker engine, Dockerfile images built by the engine and pushed to a registry, or
//! artifact images assembled and pushed by Ferry itself with `ferry-image`),
//! image versions ([`image`]), push webhooks ([`webhook`]), the development flow
//! ([`autodeploy`]), promotions from QA to production ([`promotion`]) and the Operations
//! API.
//!
//! Settings besides the kit's are read from `FERRY_BUILD_*` (see [`config`]).
//!
//! Benchmark: `cargo bench -p ferry-build --bench builds` (`benches/builds.rs`) times
//! cold, warm and no-change builds through the API in both image modes and compares
//! artifact assembly with `docker build` + push; it needs the tests' components
//! (`FERRY_TEST_DOCKER_HOST`, `FERRY_TEST_REGISTRY`, etcd from `FERRY_ETCD_ENDPOINTS` or
//! started privately) and writes its figures to `<target>/bench/builds.json` (or
//! `FERRY_BENCH_OUT`); `FERRY_BENCH_REPS` sets the repetitions (default 5).

pub mod application;
pub mod autodeploy;
pub mod build;
pub mod config;
pub mod error;
pub mod image;
pub mod promotion;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;

use ferry_kit::config::ServiceConfig;
use ferry_kit::idempotency::{self, Idempotency};
use ferry_kit::server::{Host, ServiceSpec};
use ferry_ops::Controller;
use tokio::net::TcpListener;

use crate::config::BuildSettings;
use crate::error::DOMAIN;

/// The service's name, error domain and gRPC services.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "build",
        domain: DOMAIN,
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

/// Runs the service on `listener` until `shutdown` completes, with the settings of the
/// environment (see [`config::BuildSettings::from_env`]).
pub async fn run(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let settings = BuildSettings::from_env(&env)?;
    run_with(config, settings, listener, shutdown).await
}

/// Runs the service on `listener` until `shutdown` completes, with `settings`.
pub async fn run_with(
    config: ServiceConfig,
    settings: BuildSettings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    ferry_ops::serve(spec(), config, listener, shutdown, move |host, routes| {
        start_controllers(host, &settings);
        let idempotency = Idempotency::new(host.store.clone(), idempotency::DEFAULT_WINDOW);
        routes
            .add_service(
                application::api::ApplicationApi::new(host.store.clone(), idempotency.clone())
                    .with_builder_engine(settings.docker_host.clone())
                    .with_kube_builder(
                        (settings.builder == config::BuilderKind::Kubernetes)
                            .then(|| settings.kube.clone()),
                    )
                    .into_server(),
            )
            .add_service(
                build::api::BuildApi::new(host.store.clone(), idempotency.clone()).into_server(),
            )
            .add_service(
                image::api::ImageApi::new(host.store.clone(), idempotency.clone())
                    .with_registry(image::registry::BuiltinRegistry {
                        address: settings.registry.clone(),
                        credentials: settings.registry_credentials.clone(),
                    })
                    .into_server(),
            )
            .add_service(
                promotion::api::PromotionApi::new(host.store.clone(), idempotency.clone())
                    .into_server(),
            )
            .add_service(webhook::WebhookApi::new(host.store.clone()).into_server());
        Ok(())
    })
    .await
}

/// Starts the leader-elected controllers of this service as background tasks.
fn start_controllers(host: &Host, settings: &Arc<BuildSettings>) {
    let runner = build::controller::BuildRunner::new(settings.clone())
        .with_after(Arc::new(autodeploy::AutoDeploy));
    host.spawn(
        Controller::new(
            Arc::new(runner),
            host.store.clone(),
            host.instance_id.clone(),
            host.config.lease_ttl,
        )
        .run(host.stopping.clone()),
    );
    host.spawn(
        Controller::new(
            Arc::new(application::controller::SourceChecker),
            host.store.clone(),
            host.instance_id.clone(),
            host.config.lease_ttl,
        )
        .run(host.stopping.clone()),
    );
    host.spawn(
        Controller::new(
            Arc::new(application::polling::Poller),
            host.store.clone(),
            host.instance_id.clone(),
            host.config.lease_ttl,
        )
        .run(host.stopping.clone()),
    );
    host.spawn(
        Controller::new(
            Arc::new(promotion::controller::PromotionRunner),
            host.store.clone(),
            host.instance_id.clone(),
            host.config.lease_ttl,
        )
        .run(host.stopping.clone()),
    );
}
