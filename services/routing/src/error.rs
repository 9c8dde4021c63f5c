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
