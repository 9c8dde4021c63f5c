//! The errors of the Kubernetes runtime, and how they become [`RuntimeError`]s.

use ferry_runtime::RuntimeError;

/// What can go wrong talking to Kubernetes.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The spec or a name cannot be turned into valid Kubernetes objects.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The client configuration (kubeconfig, in-cluster environment) cannot be loaded.
    #[error("kubernetes client configuration: {0}")]
    Config(String),
    /// The API server refused or failed a call (`what` names the call and object).
    #[error("{what}: {source}")]
    Api {
        /// The call and object, e.g. `apply replicaset shop/web-r3`.
        what: String,
        /// What kube reported.
        #[source]
        source: kube::Error,
    },
    /// The object is in a state that makes the call fail now (e.g. a group being deleted);
    /// retrying later succeeds.
    #[error("{0}")]
    Busy(String),
    /// The API server sent something this adapter cannot read.
    #[error("{0}")]
    Decode(String),
}

impl KubeError {
    /// Wraps a kube error with the call it came from.
    pub fn api(what: impl Into<String>, source: kube::Error) -> Self {
        Self::Api {
            what: what.into(),
            source,
        }
    }

    /// The HTTP status code of an API error, if the server answered with one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Api {
                source: kube::Error::Api(status),
                ..
            } => Some(status.code),
            _ => None,
        }
    }

    /// Whether the object was not found (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.status_code() == Some(404)
    }
}

impl From<KubeError> for RuntimeError {
    fn from(error: KubeError) -> Self {
        match &error {
            KubeError::Invalid(message) => RuntimeError::Invalid(message.clone()),
            KubeError::Busy(message) => RuntimeError::Unavailable(message.clone()),
            KubeError::Config(_) | KubeError::Decode(_) => RuntimeError::Other(error.to_string()),
            KubeError::Api { what, source } => match source {
                kube::Error::Api(status) => match status.code {
                    404 => RuntimeError::NotFound(format!("{what}: {}", status.message)),
                    400 | 422 => RuntimeError::Invalid(format!("{what}: {}", status.message)),
                    408 | 410 | 429 | 500..=599 => {
                        RuntimeError::Unavailable(format!("{what}: {}", status.message))
                    }
                    _ => RuntimeError::Other(format!(
                        "{what}: {} ({} {})",
                        status.message, status.code, status.reason
                    )),
                },
                // No answer: connection refused or reset, TLS, timeouts.
                kube::Error::HyperError(_) | kube::Error::Service(_) => {
                    RuntimeError::Unavailable(error.to_string())
                }
                _ => RuntimeError::Other(error.to_string()),
            },
        }
    }
}
