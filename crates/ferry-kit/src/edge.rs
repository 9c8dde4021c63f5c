//! The HTTP-level layer in front of every service's gRPC routes.
//!
//! It does two things no generated handler can:
//! - sheds load: past `max_concurrent` calls in flight, a call is answered UNAVAILABLE at
//!   once (with `RetryInfo`), never queued into a hang;
//! - completes UNIMPLEMENTED answers: methods the API declares but a service does not serve
//!   yet, and unknown methods, get an `ErrorInfo` (reason `NOT_IMPLEMENTED`, the method in
//!   its metadata) like every other Ferry error.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ferry_proto::ferry::common::v1::ErrorReason;
use tokio::sync::Semaphore;
use tonic::body::Body;
use tonic::{Code, Status};
use tower::{Layer, Service};

use crate::error::ApiError;

/// Adds load shedding and UNIMPLEMENTED details in front of a service's routes.
#[derive(Clone, Debug)]
pub struct EdgeLayer {
    permits: Arc<Semaphore>,
    domain: String,
}

impl EdgeLayer {
    /// Allows `max_concurrent` calls in flight; errors carry `domain`.
    pub fn new(max_concurrent: usize, domain: impl Into<String>) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            domain: domain.into(),
        }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Edge {
            inner,
            permits: self.permits.clone(),
            domain: self.domain.clone(),
        }
    }
}

/// The service made by [`EdgeLayer`].
#[derive(Clone, Debug)]
pub struct Edge<S> {
    inner: S,
    permits: Arc<Semaphore>,
    domain: String,
}

impl<S, B> Service<http::Request<B>> for Edge<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().trim_start_matches('/').to_string();
        let domain = self.domain.clone();
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            let status: Status = ApiError::new(
                Code::Unavailable,
                ErrorReason::BackendUnavailable,
                "too many calls in flight on this instance: retry shortly",
            )
            .with_domain(domain)
            .with_retry_after(Duration::from_millis(100))
            .into();
            return Box::pin(async move { Ok(status.into_http()) });
        };
        // Standard tower practice: call the clone that was not driven to readiness, and
        // keep the ready one for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(request).await?;
            drop(permit);
            Ok(complete_unimplemented(response, &method, &domain))
        })
    }
}

/// Replaces a bare UNIMPLEMENTED answer by one carrying `ErrorInfo`.
fn complete_unimplemented(
    response: http::Response<Body>,
    method: &str,
    domain: &str,
) -> http::Response<Body> {
    let headers = response.headers();
    let is_unimplemented = headers
        .get("grpc-status")
        .is_some_and(|value| value.as_bytes() == b"12");
    if !is_unimplemented || headers.contains_key("grpc-status-details-bin") {
        return response;
    }
    let method = if method.is_empty() {
        "(empty path)"
    } else {
        method
    };
    let status: Status = ApiError::not_implemented(method).with_domain(domain).into();
    status.into_http()
}
