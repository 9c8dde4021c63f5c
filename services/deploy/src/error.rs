//! The deploy service's error enum, mapped to the wire in one place.

use ferry_kit::error::ApiError;
use ferry_store::StoreError;
use tonic::Status;

/// The error domain of the deploy service.
pub const DOMAIN: &str = "deploy.ferry.dev";

/// What can go wrong in the deploy service.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
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

impl From<DeployError> for ApiError {
    fn from(error: DeployError) -> Self {
        match error {
            DeployError::NotFound(name) => ApiError::not_found(name),
            DeployError::Api(error) => error,
            DeployError::Store(error) => error.into(),
        }
        .with_domain(DOMAIN)
    }
}

impl From<DeployError> for Status {
    fn from(error: DeployError) -> Self {
        ApiError::from(error).into()
    }
}
