//! The HTTP-level layer in front of every service's gRPC routes.
//!
//! It does three things no generated handler can:
//! - sheds load: past `max_concurrent` calls in flight, a call is answered UNAVAILABLE at
//!   once (with `RetryInfo`), never queued into a hang;
//! - completes UNIMPLEMENTED answers: methods the API declares but a service does not serve
//!   yet, and unknown methods, get an `ErrorInfo` (reason `NOT_IMPLEMENTED`, the method in
//!   its metadata) like every other Ferry error;
//! - scopes the call to its caller: the principal in the gateway's `x-ferry-caller`
//!   header becomes [`crate::caller::current`] for the handler.

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
        // The caller the gateway authenticated, for the handler's records (`caller::current`).
        let caller = crate::caller::parse(
            request
                .headers()
                .get(crate::caller::CALLER_HEADER)
                .and_then(|value| value.to_str().ok()),
        );
        Box::pin(crate::caller::scope(caller, async move {
            let response = inner.call(request).await?;
            drop(permit);
            Ok(complete_unimplemented(response, &method, &domain))
        }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;
    use tonic_types::StatusExt;

    /// Answers OK after `release` is notified; counts calls.
    #[derive(Clone)]
    struct Slow {
        release: Arc<Notify>,
        calls: Arc<AtomicUsize>,
    }

    impl Service<http::Request<()>> for Slow {
        type Response = http::Response<Body>;
        type Error = std::convert::Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let release = self.release.clone();
            Box::pin(async move {
                release.notified().await;
                Ok(Status::ok("").into_http())
            })
        }
    }

    fn status_of(response: &http::Response<Body>) -> Status {
        Status::from_header_map(response.headers()).expect("a grpc status")
    }

    #[tokio::test]
    async fn past_the_limit_calls_are_shed_at_once() {
        let release = Arc::new(Notify::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut edge = EdgeLayer::new(1, "test.ferry.dev").layer(Slow {
            release: release.clone(),
            calls: calls.clone(),
        });
        let first = tokio::spawn(edge.call(http::Request::new(())));
        tokio::task::yield_now().await;
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let shed = edge.call(http::Request::new(())).await.unwrap();
        let status = status_of(&shed);
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(
            status.get_error_details().error_info().unwrap().reason,
            "BACKEND_UNAVAILABLE"
        );
        assert!(status.get_error_details().retry_info().is_some());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the shed call never reached the service"
        );
        release.notify_one();
        let ok = first.await.unwrap().unwrap();
        assert_eq!(status_of(&ok).code(), Code::Ok);
        // The permit is back: the next call goes through.
        let next = tokio::spawn(edge.call(http::Request::new(())));
        while calls.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        release.notify_one();
        assert_eq!(status_of(&next.await.unwrap().unwrap()).code(), Code::Ok);
    }

    #[test]
    fn bare_unimplemented_answers_get_error_info() {
        let bare: http::Response<Body> = Status::unimplemented("").into_http();
        let completed = complete_unimplemented(bare, "ferry.x.v1.S/M", "x.ferry.dev");
        let status = status_of(&completed);
        assert_eq!(status.code(), Code::Unimplemented);
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("NOT_IMPLEMENTED", "x.ferry.dev")
        );
        assert_eq!(info.metadata["method"], "ferry.x.v1.S/M");
        // Other answers pass through untouched.
        let other = complete_unimplemented(Status::not_found("x").into_http(), "m", "d");
        assert_eq!(status_of(&other).code(), Code::NotFound);
    }
}
