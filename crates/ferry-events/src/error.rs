//! The crate's error enum, mapped to the wire in one place.

use ferry_kit::error::ApiError;
use ferry_store::StoreError;
use tonic::Status;

/// The error domain: events and notifications are served by the deploy service.
pub const DOMAIN: &str = "deploy.ferry.dev";

/// What can go wrong recording, serving or notifying events.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// A resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request or state refused the call (validation, preconditions, etags…).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A store write did not finish in time (the recorder never waits long).
    #[error("store write timed out after {0:?}")]
    Timeout(std::time::Duration),
}

impl From<EventsError> for ApiError {
    fn from(error: EventsError) -> Self {
        match error {
            EventsError::NotFound(name) => ApiError::not_found(name),
            EventsError::Api(error) => error,
            EventsError::Store(error) => error.into(),
            EventsError::Timeout(after) => ApiError::new(
                tonic::Code::DeadlineExceeded,
                ferry_proto::ferry::common::v1::ErrorReason::DeadlineExceeded,
                format!("the state store did not answer within {after:?}: retry"),
            ),
        }
        .with_domain(DOMAIN)
    }
}

impl From<EventsError> for Status {
    fn from(error: EventsError) -> Self {
        ApiError::from(error).into()
    }
}

/// Shorthand for the gRPC adapters.
pub(crate) fn status(error: impl Into<EventsError>) -> Status {
    error.into().into()
}

/// A listing that read at a page token's revision after etcd compacted it: the token
/// expired (INVALID_ARGUMENT, `INVALID_PAGE_TOKEN`); other errors pass through.
pub(crate) fn expired_token(error: EventsError) -> EventsError {
    match error {
        EventsError::Store(StoreError::Compacted { .. }) => ApiError::new(
            tonic::Code::InvalidArgument,
            ferry_proto::ferry::common::v1::ErrorReason::InvalidPageToken,
            "invalid page_token: it expired; list again without a token",
        )
        .with_field_violation("page_token", "expired")
        .into(),
        error => error,
    }
}
