//! The plain values a caller gives the proxy (options, backend sets, health checks) and the
//! values it reports back (health, counters).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use crate::error::ProxyError;

/// How a [`Proxy`](crate::Proxy) behaves; fixed for its lifetime.
#[derive(Clone, Debug)]
pub struct ProxyOptions {
    /// Active health checks run against every backend of the current set; `None` leaves
    /// only passive health (failed connects).
    pub health_check: Option<HealthCheck>,
    /// How long connections to a removed backend (and, at shutdown, all connections) may
    /// keep flowing before they are closed.
    pub drain_timeout: Duration,
    /// How long a connect to a backend may take before the next backend is tried.
    pub connect_timeout: Duration,
}

impl Default for ProxyOptions {
    /// No active checks, 30 s drain, 1 s connect timeout.
    fn default() -> Self {
        ProxyOptions {
            health_check: None,
            drain_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(1),
        }
    }
}

impl ProxyOptions {
    /// Checks that every option is in range.
    pub fn validate(&self) -> Result<(), ProxyError> {
        if self.connect_timeout.is_zero() {
            return Err(invalid("connect_timeout", "must be greater than zero"));
        }
        if let Some(check) = &self.health_check {
            check.validate()?;
        }
        Ok(())
    }
}

/// The backends a proxy forwards to, and how it chooses among them.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendSet {
    /// The backends; an exact duplicate (same id and address) is used once. Ids should be
    /// unique within a set: client-IP affinity remembers a client's backend by id.
    pub backends: Vec<Backend>,
    /// Whether a client sticks to one backend.
    pub affinity: Affinity,
    /// When true, backends marked unhealthy receive no new connections; when false, every
    /// backend of the set is used whatever its health.
    pub health_aware: bool,
}

impl BackendSet {
    /// A health-aware round-robin set.
    pub fn round_robin(backends: Vec<Backend>) -> BackendSet {
        BackendSet {
            backends,
            affinity: Affinity::None,
            health_aware: true,
        }
    }

    /// The empty set: every new connection is refused.
    pub fn empty() -> BackendSet {
        BackendSet::round_robin(Vec::new())
    }
}

/// One place connections can go: an instance, or an external address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Backend {
    /// The caller's name for it (an instance id, an external entry's address name); shown
    /// in health and stats and used as the affinity key.
    pub id: String,
    /// Where to connect.
    pub addr: SocketAddr,
}

impl Backend {
    /// A backend from an id and an address.
    pub fn new(id: impl Into<String>, addr: SocketAddr) -> Backend {
        Backend {
            id: id.into(),
            addr,
        }
    }
}

/// How a client is tied to a backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Affinity {
    /// Every new connection takes the next eligible backend (round robin).
    None,
    /// Every connection from one client IP goes to the same backend while that backend is
    /// eligible and the client was seen within `idle_timeout`.
    ClientIp {
        /// How long a client's binding outlives its last connection.
        idle_timeout: Duration,
    },
}

/// An active health check, run on every backend of the current set.
#[derive(Clone, Debug)]
pub struct HealthCheck {
    /// What one probe does.
    pub kind: CheckKind,
    /// The time between two probes of one backend.
    pub interval: Duration,
    /// How long one probe may take; longer counts as a failure.
    pub timeout: Duration,
    /// Consecutive good probes that bring an unhealthy backend back.
    pub healthy_threshold: u32,
    /// Consecutive failures (probes or connects) that mark a healthy backend down.
    pub unhealthy_threshold: u32,
}

impl HealthCheck {
    /// Checks that every field is in range.
    pub fn validate(&self) -> Result<(), ProxyError> {
        if self.interval.is_zero() {
            return Err(invalid(
                "health_check.interval",
                "must be greater than zero",
            ));
        }
        if self.timeout.is_zero() {
            return Err(invalid("health_check.timeout", "must be greater than zero"));
        }
        if self.healthy_threshold == 0 {
            return Err(invalid(
                "health_check.healthy_threshold",
                "must be at least 1",
            ));
        }
        if self.unhealthy_threshold == 0 {
            return Err(invalid(
                "health_check.unhealthy_threshold",
                "must be at least 1",
            ));
        }
        if let CheckKind::Http { path } = &self.kind {
            if !path.starts_with('/') {
                return Err(invalid("health_check.kind.path", "must start with '/'"));
            }
            if path
                .chars()
                .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
            {
                return Err(invalid(
                    "health_check.kind.path",
                    "must not contain spaces or control characters",
                ));
            }
        }
        Ok(())
    }
}

/// What one health probe does.
#[derive(Clone, Debug)]
pub enum CheckKind {
    /// Opens a TCP connection; success is the connection being accepted.
    Tcp,
    /// Sends `GET path HTTP/1.1`; success is a 2xx or 3xx status line.
    Http {
        /// The request path, starting with `/`.
        path: String,
    },
}

/// The health of one backend of the current set.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendHealth {
    /// The backend's id.
    pub id: String,
    /// The backend's address.
    pub addr: SocketAddr,
    /// Whether it receives new connections (when the set is health-aware).
    pub healthy: bool,
    /// When it entered its current state (or joined the set).
    pub since: SystemTime,
    /// Connections currently forwarded to it.
    pub active_connections: u64,
}

/// Counters of one proxy since it was bound.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Client connections accepted.
    pub accepted: u64,
    /// Client connections that reached a backend.
    pub forwarded: u64,
    /// Connects to backends that failed or timed out (each retried on the next backend).
    pub failed_connects: u64,
    /// Client connections closed at once because no backend was eligible or reachable.
    pub refused: u64,
    /// Client connections open now (draining ones included).
    pub active_connections: u64,
    /// Per backend of the current set.
    pub backends: Vec<BackendStats>,
}

/// Counters of one backend while it is in the set (a backend removed and added again starts
/// from zero).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendStats {
    /// The backend's id.
    pub id: String,
    /// The backend's address.
    pub addr: SocketAddr,
    /// Connections currently forwarded to it.
    pub active_connections: u64,
    /// Connections forwarded to it in total.
    pub forwarded: u64,
    /// Failed connects to it.
    pub failed_connects: u64,
}

fn invalid(field: &'static str, reason: &str) -> ProxyError {
    ProxyError::InvalidOption {
        field,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: CheckKind) -> HealthCheck {
        HealthCheck {
            kind,
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(50),
            healthy_threshold: 1,
            unhealthy_threshold: 2,
        }
    }

    #[test]
    fn options_out_of_range_are_refused_with_the_field_named() {
        assert!(ProxyOptions::default().validate().is_ok());
        let zero_connect = ProxyOptions {
            connect_timeout: Duration::ZERO,
            ..ProxyOptions::default()
        };
        let err = zero_connect.validate().unwrap_err();
        assert!(err.to_string().contains("connect_timeout"), "{err}");

        let mut bad = check(CheckKind::Tcp);
        bad.unhealthy_threshold = 0;
        let err = bad.validate().unwrap_err();
        assert!(err.to_string().contains("unhealthy_threshold"), "{err}");

        let err = check(CheckKind::Http {
            path: "healthz".into(),
        })
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("start with '/'"), "{err}");
        let err = check(CheckKind::Http {
            path: "/a\r\nHost: x".into(),
        })
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("control"), "{err}");
        assert!(
            check(CheckKind::Http {
                path: "/healthz?x=1".into()
            })
            .validate()
            .is_ok()
        );
    }
}
