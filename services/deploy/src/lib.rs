//! Ferry's deploy service: runs applications and keeps them running.
//!
//! This release serves namespaces, deployments (revisions, rollouts with pause, resume,
//! abort, automatic and explicit rollback, scaling, auto-repair), autoscaling policies,
//! instances (list, logs, restart, delete), hosts (list, cordon, uncordon), secrets,
//! events and notifications over the configured runtimes (see [`runtimes`]), the
//! Operations API, and the rest of `ferry.deploy.v1` (topology, rolling restarts) as
//! UNIMPLEMENTED with an `ErrorInfo` of reason `NOT_IMPLEMENTED`.

pub mod autoscaling;
pub mod deployment;
pub mod error;
pub mod host;
pub mod namespace;
pub mod runtimes;
pub mod secret;

use std::future::Future;
use std::sync::Arc;

use ferry_kit::config::ServiceConfig;
use ferry_kit::idempotency::{self, Idempotency};
use ferry_kit::server::{Host, ServiceSpec};
use ferry_ops::Controller;
use ferry_proto::ferry::deploy::v1::topology_service_server::{
    TopologyService, TopologyServiceServer,
};
use ferry_proto::ferry::deploy::v1::{Namespace, namespace::State};
use ferry_store::{Store, StoreError, typed};
use tokio::net::TcpListener;

use crate::autoscaling::api::AutoscalingApi;
use crate::autoscaling::controller::AutoscalingReconciler;
use crate::deployment::api::DeploymentApi;
use crate::deployment::controller::DeploymentReconciler;
use crate::error::DOMAIN;
use crate::namespace::api::NamespaceApi;
use crate::namespace::controller::{NamespaceDeletion, NamespaceReconciler};
use crate::namespace::model::{NAMESPACE_NAME, SYSTEM_NAMESPACE};
use crate::runtimes::Runtimes;
use crate::secret::api::SecretApi;

/// The service's name, error domain and gRPC services.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "deploy",
        domain: DOMAIN,
        grpc_services: vec![
            "ferry.common.v1.OperationsService",
            "ferry.deploy.v1.NamespaceService",
            "ferry.deploy.v1.DeploymentService",
            "ferry.deploy.v1.InstanceService",
            "ferry.deploy.v1.RolloutService",
            "ferry.deploy.v1.AutoscalingService",
            "ferry.deploy.v1.EventService",
            "ferry.deploy.v1.NotificationService",
            "ferry.deploy.v1.TopologyService",
            "ferry.deploy.v1.SecretService",
            "ferry.deploy.v1.HostService",
        ],
    }
}

/// Runs the service on `listener` until `shutdown` completes, with the runtimes the
/// environment names (see [`runtimes::from_env`]).
pub async fn run(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let runtimes = runtimes::from_env(&env).await?;
    run_with(config, runtimes, listener, shutdown).await
}

/// Runs the service on `listener` until `shutdown` completes, driving `runtimes`.
pub async fn run_with(
    config: ServiceConfig,
    runtimes: Runtimes,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    ferry_ops::serve(spec(), config, listener, shutdown, move |host, routes| {
        start_controllers(host, &runtimes);
        let idempotency = Idempotency::new(host.store.clone(), idempotency::DEFAULT_WINDOW);
        let autoscaling =
            AutoscalingApi::new(host.store.clone(), idempotency.clone()).into_server();
        let (deployments, rollouts, instances) =
            DeploymentApi::new(host.store.clone(), idempotency.clone(), runtimes.clone())
                .into_servers();
        routes
            .add_service(
                NamespaceApi::new(host.store.clone(), idempotency.clone(), runtimes.names())
                    .into_server(),
            )
            .add_service(deployments)
            .add_service(instances)
            .add_service(rollouts)
            .add_service(autoscaling)
            .add_service(
                ferry_events::EventApi::new(host.store.clone(), idempotency.clone())
                    .with_draining(host.draining.clone())
                    .into_server(),
            )
            .add_service(
                ferry_events::NotificationApi::new(
                    host.store.clone(),
                    idempotency.clone(),
                    ferry_events::DeliveryConfig::default(),
                )
                .into_server(),
            )
            .add_service(TopologyServiceServer::new(NotYetServed))
            .add_service(SecretApi::new(host.store.clone(), idempotency.clone()).into_server())
            .add_service(
                crate::host::api::HostApi::new(host.store.clone(), idempotency, runtimes.clone())
                    .with_recorder(ferry_events::Recorder::new(host.store.clone()))
                    .into_server(),
            );
        Ok(())
    })
    .await
}

/// Starts the leader-elected controllers of this service as background tasks.
fn start_controllers(host: &Host, runtimes: &Runtimes) {
    let identity = host.instance_id.clone();
    let recorder = ferry_events::Recorder::new(host.store.clone());
    start_event_tasks(host, recorder.clone());
    let ttl = host.config.lease_ttl;
    let store = host.store.clone();
    host.spawn(
        Controller::new(
            Arc::new(NamespaceReconciler::new(runtimes.clone())),
            store.clone(),
            identity.clone(),
            ttl,
        )
        .run(host.stopping.clone()),
    );
    host.spawn(
        Controller::new(
            Arc::new(NamespaceDeletion::new(runtimes.clone())),
            store.clone(),
            identity.clone(),
            ttl,
        )
        .run(host.stopping.clone()),
    );
    // Runtime change hints wake the deployment controller for the deployment concerned.
    let (hints, triggers) = tokio::sync::mpsc::channel(1024);
    for runtime in runtimes.iter() {
        let mut events = runtime.events();
        let hints = hints.clone();
        let stop = host.stopping.clone();
        let store = store.clone();
        host.spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = stop.cancelled() => return,
                    event = futures::StreamExt::next(&mut events) => event,
                };
                // A full queue drops a hint: the controller's polling covers it.
                match event {
                    None => return,
                    Some(ferry_runtime::RuntimeEvent::Instance {
                        namespace,
                        deployment,
                        ..
                    }) => {
                        let name = format!("namespaces/{namespace}/deployments/{deployment}");
                        let _ = hints.try_send(deployment::deployment_key(&name));
                    }
                    Some(ferry_runtime::RuntimeEvent::Host { .. }) => {
                        // A host came or went: every deployment may have to move.
                        let options = ferry_store::ListOptions::default();
                        if let Ok(page) =
                            store.list(&deployment::deployments_prefix(), options).await
                        {
                            for kv in page.items {
                                let _ = hints.try_send(kv.key);
                            }
                        }
                    }
                }
            }
        });
    }
    host.spawn(
        Controller::new(
            Arc::new(DeploymentReconciler::new(runtimes.clone()).with_recorder(recorder.clone())),
            store.clone(),
            identity,
            ttl,
        )
        .with_triggers(triggers)
        .run(host.stopping.clone()),
    );
    host.spawn(
        Controller::new(
            Arc::new(AutoscalingReconciler::new(runtimes.clone()).with_recorder(recorder)),
            store.clone(),
            host.instance_id.clone(),
            ttl,
        )
        .run(host.stopping.clone()),
    );
    let stop = host.stopping.clone();
    host.spawn(async move {
        ensure_system_namespace(store.as_ref(), &stop).await;
    });
}

/// Starts the event and notification background work: the dispatcher (events →
/// deliveries), the delivery worker and the event retention sweep, each leader-elected.
fn start_event_tasks(host: &Host, recorder: ferry_events::Recorder) {
    let (store, identity, ttl) = (
        host.store.clone(),
        host.instance_id.clone(),
        host.config.lease_ttl,
    );
    let delivery = ferry_events::DeliveryConfig {
        lease_ttl: ttl,
        ..Default::default()
    };
    host.spawn(
        ferry_events::Dispatcher::new(store.clone(), identity.clone(), delivery.clone())
            .run(host.stopping.clone()),
    );
    host.spawn(
        ferry_events::DeliveryWorker::new(delivery, recorder)
            .controller(store.clone(), identity.clone())
            .run(host.stopping.clone()),
    );
    host.spawn(
        ferry_events::Retention::new(
            store,
            identity,
            ferry_events::RetentionConfig {
                lease_ttl: ttl,
                ..Default::default()
            },
        )
        .run(host.stopping.clone()),
    );
}

/// Creates `ferry-system` if it does not exist yet (every replica tries; one wins).
async fn ensure_system_namespace(store: &dyn Store, stop: &tokio_util::sync::CancellationToken) {
    let name = NAMESPACE_NAME.format(&[SYSTEM_NAMESPACE]);
    let namespace = Namespace {
        name: name.clone(),
        uid: uuid::Uuid::new_v4().to_string(),
        description: "The platform's own namespace: events of resources outside any namespace."
            .to_string(),
        create_time: Some(ferry_ops::operation::now()),
        update_time: Some(ferry_ops::operation::now()),
        generation: 1,
        state: State::Creating as i32,
        reconciling: true,
        ..Default::default()
    };
    let mut delay = std::time::Duration::from_millis(200);
    loop {
        match typed::create_msg(store, &namespace::namespace_key(&name), &namespace).await {
            Ok(_) | Err(StoreError::AlreadyExists { .. }) => return,
            Err(error) => tracing::warn!(%error, "cannot create the system namespace; retrying"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(std::time::Duration::from_secs(5));
    }
}

/// Answers UNIMPLEMENTED for every method: the generated default of each trait method.
#[derive(Clone, Copy, Debug, Default)]
struct NotYetServed;

#[tonic::async_trait]
impl TopologyService for NotYetServed {}
