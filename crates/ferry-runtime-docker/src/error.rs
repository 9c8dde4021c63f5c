//! The adapter's errors and their mapping to [`ferry_runtime::RuntimeError`].

use ferry_runtime::RuntimeError;

/// What can go wrong talking to the Docker engines.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine does not answer (socket missing, connection refused, timeout).
    #[error("docker engine {host} does not answer: {message}")]
    Unreachable {
        /// The Ferry host id of the engine.
        host: String,
        /// What failed.
        message: String,
    },
    /// The engine answered with an error.
    #[error("docker engine {host}: {operation}: {source}")]
    Engine {
        /// The Ferry host id of the engine.
        host: String,
        /// What was asked, e.g. `create container web-r1-abcde`.
        operation: String,
        /// What the engine said.
        #[source]
        source: bollard::errors::Error,
    },
    /// The image is missing and cannot be pulled.
    #[error("image {image}: {message}")]
    Image {
        /// The image reference.
        image: String,
        /// Why.
        message: String,
    },
    /// The object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The spec or configuration cannot be run by this adapter.
    #[error("{0}")]
    Invalid(String),
    /// No engine can take the instance.
    #[error("{0}")]
    Unschedulable(String),
}

impl DockerError {
    /// Whether the engine reported that the object does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NotFound(_) => true,
            Self::Engine { source, .. } => status_code(source) == Some(404),
            _ => false,
        }
    }
}

/// Whether an engine error means the engine could not be reached (no answer at all).
pub(crate) fn is_connection_error(error: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        error,
        E::RequestTimeoutError
            | E::IOError { .. }
            | E::HyperResponseError { .. }
            | E::HyperLegacyError { .. }
            | E::SocketNotFoundError(_)
    )
}

/// The HTTP status of an engine error, when the engine answered.
pub(crate) fn status_code(error: &bollard::errors::Error) -> Option<u16> {
    match error {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

impl From<DockerError> for RuntimeError {
    fn from(error: DockerError) -> Self {
        match error {
            DockerError::Unreachable { .. } => RuntimeError::Unavailable(error.to_string()),
            DockerError::Engine { ref source, .. } => match status_code(source) {
                Some(404) => RuntimeError::NotFound(error.to_string()),
                Some(400) => RuntimeError::Invalid(error.to_string()),
                Some(_) => RuntimeError::Other(error.to_string()),
                // No HTTP answer: the connection or the engine failed.
                None if is_connection_error(source) => RuntimeError::Unavailable(error.to_string()),
                None => RuntimeError::Other(error.to_string()),
            },
            DockerError::Image { image, message } => RuntimeError::Image { image, message },
            DockerError::NotFound(what) => RuntimeError::NotFound(what),
            DockerError::Invalid(message) => RuntimeError::Invalid(message),
            DockerError::Unschedulable(message) => RuntimeError::Unschedulable(message),
        }
    }
}
