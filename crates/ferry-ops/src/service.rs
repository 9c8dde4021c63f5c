//! The `ferry.common.v1.OperationsService` gRPC adapter over [`Operations`].

use std::pin::Pin;
use std::time::Duration;

use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::operations_service_server::{
    OperationsService, OperationsServiceServer,
};
use ferry_proto::ferry::common::v1::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    ListOperationsResponse, Operation, WaitOperationRequest, WatchOperationRequest,
};
use futures::Stream;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::operation::{OPERATION_NAME, Operations, operation_key};

/// Default and maximum wait of WaitOperation.
const DEFAULT_WAIT: Duration = Duration::from_secs(60);
const MAX_WAIT: Duration = Duration::from_secs(600);

/// Serves the Operations API from the store.
#[derive(Clone)]
pub struct OperationsApi {
    operations: Operations,
    domain: &'static str,
    draining: CancellationToken,
}

impl OperationsApi {
    /// Serves `operations`; errors carry `domain`; streams end when `draining` is cancelled.
    pub fn new(operations: Operations, domain: &'static str, draining: CancellationToken) -> Self {
        Self {
            operations,
            domain,
            draining,
        }
    }

    /// The tonic server for this API.
    pub fn into_server(self) -> OperationsServiceServer<Self> {
        OperationsServiceServer::new(self)
    }

    fn status(&self, error: ApiError) -> Status {
        error.with_domain(self.domain).into()
    }
}

type OperationStream = Pin<Box<dyn Stream<Item = Result<Operation, Status>> + Send>>;

#[tonic::async_trait]
impl OperationsService for OperationsApi {
    async fn get_operation(
        &self,
        request: Request<GetOperationRequest>,
    ) -> Result<Response<Operation>, Status> {
        let name = request.into_inner().name;
        let (operation, _) = self
            .operations
            .get(&name)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(operation))
    }

    async fn list_operations(
        &self,
        request: Request<ListOperationsRequest>,
    ) -> Result<Response<ListOperationsResponse>, Status> {
        let request = request.into_inner();
        let (operations, next_page_token) = self
            .operations
            .list(&request.filter, request.page_size, &request.page_token)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(ListOperationsResponse {
            operations,
            next_page_token,
        }))
    }

    async fn cancel_operation(
        &self,
        request: Request<CancelOperationRequest>,
    ) -> Result<Response<Operation>, Status> {
        let name = request.into_inner().name;
        let operation = self
            .operations
            .request_cancel(&name)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(operation))
    }

    async fn delete_operation(
        &self,
        request: Request<DeleteOperationRequest>,
    ) -> Result<Response<()>, Status> {
        let name = request.into_inner().name;
        self.operations
            .delete(&name)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(()))
    }

    async fn wait_operation(
        &self,
        request: Request<WaitOperationRequest>,
    ) -> Result<Response<Operation>, Status> {
        let request = request.into_inner();
        let timeout = match request.timeout {
            None => DEFAULT_WAIT,
            Some(duration) => {
                let duration = Duration::try_from(duration).map_err(|_| {
                    self.status(ApiError::invalid_field("timeout", "must not be negative"))
                })?;
                duration.min(MAX_WAIT)
            }
        };
        let operation = self
            .operations
            .wait(&request.name, timeout)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(operation))
    }

    async fn watch_operation(
        &self,
        request: Request<WatchOperationRequest>,
    ) -> Result<Response<OperationStream>, Status> {
        let name = request.into_inner().name;
        OPERATION_NAME
            .parse("name", &name)
            .map_err(|e| self.status(e))?;
        let (operation, revision) = self
            .operations
            .get(&name)
            .await
            .map_err(|e| self.status(e))?;
        let store = self.operations.store().clone();
        let draining = self.draining.clone();
        let domain = self.domain;
        let stream = async_stream(store, name, operation, revision, draining, domain);
        Ok(Response::new(Box::pin(stream)))
    }
}

/// The current operation, then each new version, ending after the one that is done.
fn async_stream(
    store: std::sync::Arc<dyn ferry_store::Store>,
    name: String,
    first: Operation,
    revision: i64,
    draining: CancellationToken,
    domain: &'static str,
) -> impl Stream<Item = Result<Operation, Status>> + Send {
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let done = first.done;
        if sender.send(Ok(first)).await.is_err() || done {
            return;
        }
        let mut watch = match store.watch(&operation_key(&name), revision).await {
            Ok(watch) => watch,
            Err(error) => {
                let _ = sender
                    .send(Err(ApiError::from(error).with_domain(domain).into()))
                    .await;
                return;
            }
        };
        loop {
            let next = tokio::select! {
                _ = draining.cancelled() => {
                    let status: Status = ApiError::new(
                        tonic::Code::Unavailable,
                        ferry_proto::ferry::common::v1::ErrorReason::BackendUnavailable,
                        "server shutting down: watch again to resume",
                    ).with_domain(domain).into();
                    let _ = sender.send(Err(status)).await;
                    return;
                }
                _ = sender.closed() => return,
                next = futures::StreamExt::next(&mut watch) => next,
            };
            let batch = match next {
                None => return,
                Some(Err(error)) => {
                    let _ = sender
                        .send(Err(ApiError::from(error).with_domain(domain).into()))
                        .await;
                    return;
                }
                Some(Ok(batch)) => batch,
            };
            for event in batch.events {
                match event {
                    ferry_store::WatchEvent::Put(kv) => {
                        let Ok(mut operation) = Operation::decode(kv.value.as_slice()) else {
                            continue;
                        };
                        operation.etag = ferry_kit::aip::etag(kv.mod_revision);
                        let done = operation.done;
                        if sender.send(Ok(operation)).await.is_err() || done {
                            return;
                        }
                    }
                    ferry_store::WatchEvent::Delete { .. } => {
                        let _ = sender
                            .send(Err(ApiError::not_found(&name).with_domain(domain).into()))
                            .await;
                        return;
                    }
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(receiver)
}
