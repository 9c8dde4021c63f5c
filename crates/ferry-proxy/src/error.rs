//! The crate's one error type.

use std::net::SocketAddr;

/// What can go wrong when setting up a [`Proxy`](crate::Proxy).
///
/// The forwarding path itself does not return errors: a failed connect moves on to the
/// next backend and is counted in the stats; a connection with no backend is closed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// An option is out of range (checked before anything is bound).
    #[error("invalid proxy option {field}: {reason}")]
    InvalidOption {
        /// The option, as a path (`health_check.interval`).
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The listening socket could not be created, bound or put in listening state.
    #[error("bind proxy listener on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// [`Proxy::bind`](crate::Proxy::bind) was called outside a tokio runtime.
    #[error("the proxy must be started inside a tokio runtime")]
    NoRuntime,
}
