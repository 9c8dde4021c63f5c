//! Long-running operations and controllers, shared by every Ferry service.
//!
//! - [`operation`]: durable [`Operation`](ferry_proto::ferry::common::v1::Operation)
//!   records in etcd and pure helpers to advance them;
//! - [`service`]: the `ferry.common.v1.OperationsService` gRPC API over them;
//! - [`leader`]: leader election with etcd leases, and fencing;
//! - [`controller`]: the watch-driven reconcile loop that resumes unfinished work after a
//!   crash.

pub mod controller;
pub mod leader;
pub mod operation;
pub mod service;

pub use controller::{Action, Controller, ReconcileContext, Reconciler};
pub use operation::Operations;
pub use service::OperationsApi;

use std::future::Future;

use ferry_kit::config::ServiceConfig;
use ferry_kit::server::{Host, ServiceSpec};
use tokio::net::TcpListener;
use tonic::service::RoutesBuilder;

/// Runs a Ferry service: [`ferry_kit::server::serve`] with the Operations API mounted,
/// since every service answers for the operations stored in etcd.
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
    let domain = spec.domain;
    ferry_kit::server::serve(spec, config, listener, shutdown, move |host, builder| {
        let operations = OperationsApi::new(
            Operations::new(host.store.clone()),
            domain,
            host.draining.clone(),
        );
        builder.add_service(operations.into_server());
        routes(host, builder)
    })
    .await
}
