//! One Docker engine: its configuration, a lazily connected client with a negotiated API
//! version, and calls bounded by a deadline (a stopped engine accepts connections on its
//! socket but never answers).

use std::future::Future;
use std::time::Duration;

use bollard::{ClientVersion, Docker};
use tokio::sync::Mutex;

use crate::DockerError;

/// Deadline of one ordinary engine call.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Deadline of reads (list, inspect, info, stats): an engine that stops answering in the
/// middle of a read must not hold the caller (a controller listing every engine) longer.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// Deadline of a ping: how fast an engine that does not answer is noticed.
pub(crate) const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// The oldest API the adapter speaks (dockerd 20.10); newer engines negotiate down to
/// what both speak.
const MIN_API: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// A configured engine and its client.
pub(crate) struct Engine {
    /// The Ferry host id.
    pub(crate) host: String,
    /// `unix:///path/docker.sock` or `tcp://127.0.0.1:2375`.
    pub(crate) endpoint: String,
    /// Region of the host.
    pub(crate) region: String,
    /// Zone of the host.
    pub(crate) zone: String,
    client: Mutex<Option<Docker>>,
}

impl Engine {
    pub(crate) fn new(host: String, endpoint: String, region: String, zone: String) -> Self {
        Self {
            host,
            endpoint,
            region,
            zone,
            client: Mutex::new(None),
        }
    }

    fn unreachable(&self, message: impl Into<String>) -> DockerError {
        DockerError::Unreachable {
            host: self.host.clone(),
            message: message.into(),
        }
    }

    /// The client, connecting (and negotiating the API version) when needed.
    pub(crate) async fn docker(&self) -> Result<Docker, DockerError> {
        let mut guard = self.client.lock().await;
        if let Some(docker) = guard.as_ref() {
            return Ok(docker.clone());
        }
        let docker = if let Some(path) = self.endpoint.strip_prefix("unix://") {
            Docker::connect_with_unix(path, 600, &MIN_API)
        } else if self.endpoint.starts_with("tcp://") || self.endpoint.starts_with("http://") {
            Docker::connect_with_http(&self.endpoint, 600, &MIN_API)
        } else {
            return Err(DockerError::Invalid(format!(
                "engine {} endpoint {:?} is neither unix:// nor tcp://",
                self.host, self.endpoint
            )));
        }
        .map_err(|e| self.unreachable(e.to_string()))?;
        let docker = match tokio::time::timeout(PING_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(docker)) => docker,
            Ok(Err(error)) => return Err(self.unreachable(error.to_string())),
            Err(_) => return Err(self.unreachable("no answer to the version request")),
        };
        *guard = Some(docker.clone());
        Ok(docker)
    }

    /// Runs one engine call under a deadline; `operation` names it in errors.
    pub(crate) async fn call<T, F>(
        &self,
        operation: impl Into<String>,
        deadline: Duration,
        call: impl FnOnce(Docker) -> F,
    ) -> Result<T, DockerError>
    where
        F: Future<Output = Result<T, bollard::errors::Error>>,
    {
        let docker = self.docker().await?;
        let operation = operation.into();
        match tokio::time::timeout(deadline, call(docker)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => {
                if crate::error::is_connection_error(&source) {
                    // The connection failed: connect afresh next time.
                    *self.client.lock().await = None;
                    return Err(self.unreachable(format!("{operation}: {source}")));
                }
                Err(DockerError::Engine {
                    host: self.host.clone(),
                    operation,
                    source,
                })
            }
            Err(_) => Err(self.unreachable(format!("{operation}: no answer within {deadline:?}"))),
        }
    }

    /// Whether the engine answers a ping now.
    pub(crate) async fn ping(&self) -> Result<(), DockerError> {
        self.call("ping", PING_TIMEOUT, |d| async move { d.ping().await })
            .await
            .map(|_| ())
    }
}
