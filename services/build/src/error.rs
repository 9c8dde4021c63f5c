//! The build service's error enum, mapped to the wire in one place.

use ferry_kit::error::ApiError;
use ferry_store::StoreError;
use tonic::Status;

/// The error domain of the build service.
pub const DOMAIN: &str = "build.ferry.dev";

/// What can go wrong in the build service's API.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request or state refused the call (validation, preconditions, etags…).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<BuildError> for ApiError {
    fn from(error: BuildError) -> Self {
        match error {
            BuildError::NotFound(name) => ApiError::not_found(name),
            BuildError::Api(error) => error,
            BuildError::Store(error) => error.into(),
        }
        .with_domain(DOMAIN)
    }
}

impl From<BuildError> for Status {
    fn from(error: BuildError) -> Self {
        ApiError::from(error).into()
    }
}

/// The status of an error, for the gRPC adapters.
pub(crate) fn status(error: impl Into<BuildError>) -> Status {
    error.into().into()
}
