//! The routing service's error enum, mapped to the wire in one place.

use ferry_kit::error::ApiError;
use ferry_store::StoreError;
use tonic::Status;

use crate::dataplane::DataPlaneError;

/// The error domain of the routing service.
pub const DOMAIN: &str = "routing.ferry.dev";

/// What can go wrong in the routing service.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// A resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request or state refused the call (validation, preconditions, etags…).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data plane could not apply a program.
    #[error(transparent)]
    DataPlane(#[from] DataPlaneError),
}

impl From<RoutingError> for ApiError {
    fn from(error: RoutingError) -> Self {
        match error {
            RoutingError::NotFound(name) => ApiError::not_found(name),
            RoutingError::Api(error) => error,
            RoutingError::Store(error) => error.into(),
            RoutingError::DataPlane(error) => ApiError::internal(&error),
        }
        .with_domain(DOMAIN)
    }
}

impl From<RoutingError> for Status {
    fn from(error: RoutingError) -> Self {
        ApiError::from(error).into()
    }
}

/// The API error of a failed guarded write of `name`: a lost compare-and-swap is
/// ETAG_MISMATCH when the client named a version (`client_sent_etag`), else
/// CONCURRENT_MODIFICATION; any other store error as the store reports it.
pub fn write_error(error: StoreError, name: &str, client_sent_etag: bool) -> ApiError {
    match error {
        StoreError::Conflict { .. } if client_sent_etag => ApiError::etag_mismatch(name),
        StoreError::Conflict { .. } => ApiError::concurrent_modification(name),
        error => error.into(),
    }
}
