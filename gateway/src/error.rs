//! The gateway's error enum, mapped to the wire in one place.
//!
//! These are the gateway's own answers; an upstream service's errors pass through the
//! proxy untouched (with the upstream's domain).

use std::time::Duration;

use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::ErrorReason;
use tonic::Code;

use crate::auth::model::AuthFailure;

/// The error domain of the gateway.
pub const DOMAIN: &str = "gateway.ferry.dev";

/// What can go wrong in the gateway.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No registered instance of the owning service is left to try.
    #[error("no instance of the {service} service is available")]
    NoInstance {
        /// The owning service (`any` for the Operations API).
        service: String,
    },
    /// The call failed on its way to or from an instance, and sending it again could
    /// repeat its effect.
    #[error(
        "the call to the {service} service failed in transit; it may or may not have taken effect"
    )]
    InTransit {
        /// The owning service.
        service: String,
    },
    /// The request message is larger than the gateway forwards.
    #[error("the request message is larger than {limit} bytes")]
    MessageTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The call's deadline passed before an instance answered.
    #[error("the deadline passed before the {service} service answered")]
    DeadlineExceeded {
        /// The owning service.
        service: String,
    },
    /// The gateway is shutting down: a forwarded stream ends, to be resumed elsewhere.
    #[error("the gateway is shutting down: call again to resume the {service} stream")]
    Draining {
        /// The owning service.
        service: String,
    },
    /// The caller (its token, or its address when it sent no valid token) called more
    /// often than the gateway's rate limit allows.
    #[error("rate limit exceeded: retry in {} ms", retry_after.as_millis())]
    RateLimited {
        /// How long until the next call would be allowed.
        retry_after: Duration,
    },
    /// Every instance of the owning service has as many calls in flight as the gateway
    /// sends it at once.
    #[error("every instance of the {service} service is at its limit of calls in flight")]
    UpstreamBusy {
        /// The owning service.
        service: String,
    },
    /// The client's request body broke off before it was complete.
    #[error("the request was cancelled before it was complete")]
    RequestBroken,
    /// The call carries no valid token.
    #[error("unauthenticated: {}", crate::auth::layer::failure_text(*.failure))]
    Unauthenticated {
        /// Why.
        failure: crate::auth::model::AuthFailure,
    },
    /// The caller lacks the permission the method needs for the resource.
    #[error("permission denied: the caller lacks {permission} for {}", if resource.is_empty() { "the platform" } else { resource.as_str() })]
    PermissionDenied {
        /// The permission the method needs.
        permission: String,
        /// The resource the call targets (empty: platform-wide).
        resource: String,
    },
}

impl From<GatewayError> for ApiError {
    fn from(error: GatewayError) -> Self {
        let message = error.to_string();
        match error {
            GatewayError::NoInstance { service } => {
                ApiError::new(Code::Unavailable, ErrorReason::BackendUnavailable, message)
                    .with_metadata("service", service)
                    .with_retry_after(Duration::from_secs(1))
            }
            GatewayError::InTransit { service } => {
                ApiError::new(Code::Unavailable, ErrorReason::BackendUnavailable, message)
                    .with_metadata("service", service)
            }
            GatewayError::MessageTooLarge { limit } => ApiError::new(
                Code::ResourceExhausted,
                ErrorReason::MessageTooLarge,
                message,
            )
            .with_metadata("limit_bytes", limit.to_string()),
            GatewayError::DeadlineExceeded { service } => ApiError::new(
                Code::DeadlineExceeded,
                ErrorReason::DeadlineExceeded,
                message,
            )
            .with_metadata("service", service),
            GatewayError::Draining { service } => {
                ApiError::new(Code::Unavailable, ErrorReason::BackendUnavailable, message)
                    .with_metadata("service", service)
            }
            GatewayError::RateLimited { retry_after } => {
                ApiError::new(Code::ResourceExhausted, ErrorReason::RateLimited, message)
                    .with_retry_after(retry_after)
            }
            GatewayError::UpstreamBusy { service } => {
                ApiError::new(Code::Unavailable, ErrorReason::BackendUnavailable, message)
                    .with_metadata("service", service)
                    .with_retry_after(Duration::from_millis(100))
            }
            GatewayError::RequestBroken => {
                ApiError::new(Code::Cancelled, ErrorReason::Unspecified, message)
            }
            GatewayError::Unauthenticated { failure } => {
                let reason = match failure {
                    AuthFailure::Revoked => ErrorReason::TokenRevoked,
                    AuthFailure::Missing
                    | AuthFailure::Invalid
                    | AuthFailure::Expired
                    | AuthFailure::OwnerDisabled => ErrorReason::Unauthenticated,
                };
                ApiError::new(Code::Unauthenticated, reason, message)
            }
            GatewayError::PermissionDenied {
                permission,
                resource,
            } => ApiError::new(
                Code::PermissionDenied,
                ErrorReason::PermissionDenied,
                message,
            )
            .with_metadata("permission", permission)
            .with_metadata("resource", resource),
        }
        .with_domain(DOMAIN)
    }
}

impl GatewayError {
    /// The error as a complete gRPC response (trailers-only).
    pub fn into_http<B: Default>(self) -> http::Response<B> {
        tonic::Status::from(ApiError::from(self)).into_http()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    #[test]
    fn no_instance_is_unavailable_backend_unavailable_from_the_gateway() {
        let status = tonic::Status::from(ApiError::from(GatewayError::NoInstance {
            service: "catalog".into(),
        }));
        assert_eq!(status.code(), Code::Unavailable);
        let details = status.get_error_details();
        let info = details.error_info().unwrap();
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("BACKEND_UNAVAILABLE", DOMAIN)
        );
        assert_eq!(info.metadata["service"], "catalog");
        assert!(details.retry_info().is_some());
    }
}
