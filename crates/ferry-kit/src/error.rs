//! The error vocabulary every Ferry service speaks on the wire.
//!
//! Each crate keeps its own `thiserror` enum and converts it into an [`ApiError`] with an
//! exhaustive `match`; [`ApiError`] becomes a `tonic::Status` here, and only here. The
//! status carries a `google.rpc.ErrorInfo` (stable reason + domain + metadata), plus
//! `BadRequest` field violations or `PreconditionFailure` violations where they apply.
//!
//! Messages are lowercase, short and actionable, and never hold secrets.

use std::collections::HashMap;
use std::time::Duration;

use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A Ferry API error, ready to become a `tonic::Status`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The canonical gRPC code.
    pub code: Code,
    /// The stable reason (`ErrorInfo.reason`).
    pub reason: ErrorReason,
    /// Human-readable message.
    pub message: String,
    /// The service that raised it, e.g. `deploy.ferry.dev` (`ErrorInfo.domain`).
    pub domain: String,
    /// Dynamic values (`ErrorInfo.metadata`): resource names, fields.
    pub metadata: HashMap<String, String>,
    /// Offending request fields (`BadRequest`): (field path, description).
    pub field_violations: Vec<(String, String)>,
    /// Refused state changes (`PreconditionFailure`): (type, subject, description).
    pub precondition_violations: Vec<(String, String, String)>,
    /// Suggested client back-off (`RetryInfo`).
    pub retry_after: Option<Duration>,
}

/// The domain used when a service does not set its own.
pub const DEFAULT_DOMAIN: &str = "ferry.dev";

impl ApiError {
    /// A new error with no details beyond its reason.
    pub fn new(code: Code, reason: ErrorReason, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            domain: DEFAULT_DOMAIN.to_string(),
            metadata: HashMap::new(),
            field_violations: Vec::new(),
            precondition_violations: Vec::new(),
            retry_after: None,
        }
    }

    /// INVALID_ARGUMENT for one bad field (`BadRequest` names it).
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let field = field.into();
        let description = description.into();
        Self::new(
            Code::InvalidArgument,
            ErrorReason::InvalidField,
            format!("invalid {field}: {description}"),
        )
        .with_field_violation(field, description)
    }

    /// INVALID_ARGUMENT for a malformed resource name in `field`.
    pub fn invalid_name(field: impl Into<String>, description: impl Into<String>) -> Self {
        let field = field.into();
        let description = description.into();
        Self::new(
            Code::InvalidArgument,
            ErrorReason::InvalidName,
            format!("invalid {field}: {description}"),
        )
        .with_field_violation(field, description)
    }

    /// NOT_FOUND for a resource name.
    pub fn not_found(name: impl Into<String>) -> Self {
        let name = name.into();
        Self::new(
            Code::NotFound,
            ErrorReason::ResourceNotFound,
            format!("{name} not found"),
        )
        .with_metadata("resource", name)
    }

    /// ALREADY_EXISTS for a resource name.
    pub fn already_exists(name: impl Into<String>) -> Self {
        let name = name.into();
        Self::new(
            Code::AlreadyExists,
            ErrorReason::ResourceExists,
            format!("{name} already exists"),
        )
        .with_metadata("resource", name)
    }

    /// ABORTED: the caller's etag is stale.
    pub fn etag_mismatch(name: impl Into<String>) -> Self {
        let name = name.into();
        Self::new(
            Code::Aborted,
            ErrorReason::EtagMismatch,
            format!("{name} changed since it was read (etag mismatch): read it again and retry"),
        )
        .with_metadata("resource", name)
    }

    /// ABORTED: a concurrent writer won; retrying the same request is safe.
    pub fn concurrent_modification(name: impl Into<String>) -> Self {
        let name = name.into();
        Self::new(
            Code::Aborted,
            ErrorReason::ConcurrentModification,
            format!("{name} was modified concurrently: retry"),
        )
        .with_metadata("resource", name)
    }

    /// FAILED_PRECONDITION with one `PreconditionFailure` violation.
    pub fn failed_precondition(
        reason: ErrorReason,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        let subject = subject.into();
        let description = description.into();
        let violation_type = reason_str(reason).to_string();
        Self::new(Code::FailedPrecondition, reason, description.clone())
            .with_metadata("resource", subject.clone())
            .with_precondition_violation(violation_type, subject, description)
    }

    /// UNIMPLEMENTED for a method the API declares but this release does not serve.
    pub fn not_implemented(method: impl Into<String>) -> Self {
        let method = method.into();
        Self::new(
            Code::Unimplemented,
            ErrorReason::NotImplemented,
            format!("{method} is not implemented yet"),
        )
        .with_metadata("method", method)
    }

    /// INTERNAL: a bug. The message holds an id that is also logged, never the cause.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let incident = uuid::Uuid::new_v4().simple().to_string();
        tracing::error!(incident = %incident, error = %cause, "internal error");
        Self::new(
            Code::Internal,
            ErrorReason::Internal,
            format!("internal error (incident {incident})"),
        )
        .with_metadata("incident", incident)
    }

    /// Sets the domain (the raising service).
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    /// Adds an `ErrorInfo.metadata` entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Adds a `BadRequest` field violation.
    pub fn with_field_violation(
        mut self,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.field_violations
            .push((field.into(), description.into()));
        self
    }

    /// Adds a `PreconditionFailure` violation.
    pub fn with_precondition_violation(
        mut self,
        violation_type: impl Into<String>,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.precondition_violations.push((
            violation_type.into(),
            subject.into(),
            description.into(),
        ));
        self
    }

    /// Adds a `RetryInfo` delay.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// The reason as it appears on the wire (`ETAG_MISMATCH`).
    pub fn reason_str(&self) -> &'static str {
        reason_str(self.reason)
    }
}

/// The wire form of a reason: the enum value name without `ERROR_REASON_`.
pub fn reason_str(reason: ErrorReason) -> &'static str {
    let name = reason.as_str_name();
    name.strip_prefix("ERROR_REASON_").unwrap_or(name)
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}: {}", self.code, self.reason_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

// === impl From<ApiError> for Status ===

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let mut details = ErrorDetails::new();
        details.set_error_info(error.reason_str(), error.domain, error.metadata);
        for (field, description) in error.field_violations {
            details.add_bad_request_violation(field, description);
        }
        for (violation_type, subject, description) in error.precondition_violations {
            details.add_precondition_failure_violation(violation_type, subject, description);
        }
        if let Some(delay) = error.retry_after {
            details.set_retry_info(Some(delay));
        }
        Status::with_error_details(error.code, error.message, details)
    }
}

// === impl From<StoreError> for ApiError ===

impl From<StoreError> for ApiError {
    /// Maps store failures that reach the API edge. Callers that know better (a
    /// `Conflict` on an etag-guarded update is an etag mismatch) map before this.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { key } => ApiError::not_found(display_key(&key)),
            StoreError::AlreadyExists { key } => ApiError::already_exists(display_key(&key)),
            StoreError::Conflict { key } => ApiError::concurrent_modification(display_key(&key)),
            StoreError::Unavailable(message) => {
                tracing::warn!(error = %message, "state store unavailable");
                ApiError::new(
                    Code::Unavailable,
                    ErrorReason::StoreUnavailable,
                    "state store unavailable: retry",
                )
                .with_retry_after(Duration::from_secs(1))
            }
            error @ (StoreError::Compacted { .. }
            | StoreError::LeaseNotFound { .. }
            | StoreError::Decode { .. }
            | StoreError::InvalidArgument(_)
            | StoreError::Internal(_)) => ApiError::internal(&error),
        }
    }
}

/// Turns a store key back into the name it holds (keys are
/// `[prefix]/ferry/v1/<service>/<collection>/<resource name>`), so errors never show the
/// key layout.
fn display_key(key: &str) -> String {
    match key.find(ferry_store::keys::ROOT) {
        Some(index) => {
            let rest = &key[index + ferry_store::keys::ROOT.len()..];
            rest.splitn(3, '/').nth(2).unwrap_or(rest).to_string()
        }
        None => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_error_info_and_violations() {
        let status: Status = ApiError::invalid_field("deployment.replicas", "must be at least 0")
            .with_domain("deploy.ferry.dev")
            .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "INVALID_FIELD");
        assert_eq!(info.domain, "deploy.ferry.dev");
        let bad_request = details.bad_request().expect("bad request");
        assert_eq!(bad_request.field_violations[0].field, "deployment.replicas");
    }

    #[test]
    fn store_errors_hide_the_key_layout() {
        let error: ApiError = StoreError::NotFound {
            key: "/team/ferry/v1/deploy/namespaces/namespaces/dev".into(),
        }
        .into();
        assert_eq!(error.code, Code::NotFound);
        assert_eq!(error.metadata["resource"], "namespaces/dev");
        let error: ApiError = StoreError::Unavailable("tcp connect error".into()).into();
        assert_eq!(error.code, Code::Unavailable);
        assert!(!error.message.contains("tcp"));
    }
}
