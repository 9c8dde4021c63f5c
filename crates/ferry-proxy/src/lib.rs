//! Ferry's own local data plane: an L4 (TCP) proxy for the local Docker runtime.
//!
//! The routing service runs one [`Proxy`] per node port (Services), per external access
//! entry and per blue-green entry, and feeds it [`BackendSet`]s as instances come and go.
//!
//! - [`config`]: the plain values callers build ([`ProxyOptions`], [`BackendSet`],
//!   [`Backend`], [`Affinity`], [`HealthCheck`]) and what the proxy reports
//!   ([`BackendHealth`], [`ProxyStats`]);
//! - [`select`]: pure selection logic (round robin over eligible backends, the client-IP
//!   affinity table with idle expiry), tested with plain data;
//! - [`health`]: the threshold counter (pure) and the active probes (TCP connect, or an
//!   HTTP/1.1 `GET` written by hand expecting 2xx/3xx);
//! - [`proxy`]: the listener (SO_REUSEADDR + SO_REUSEPORT, so routing replicas share a
//!   port), the connection hot path (`copy_bidirectional`, `TCP_NODELAY` both sides, no
//!   lock held across an await), atomic backend switches, draining and shutdown.
//!
//! Behaviour in one place:
//! - a new connection takes the current set at accept time; when no backend is eligible it
//!   is refused (closed at once);
//! - a failed connect (nothing forwarded yet) moves on to the next eligible backend and
//!   counts as a failure toward that backend's health;
//! - with active checks, a backend is marked down after `unhealthy_threshold` consecutive
//!   failures (probes or connects) and up again after `healthy_threshold` good probes;
//!   without active checks, a failed connect ejects it for [`proxy::PASSIVE_EJECTION`];
//! - [`Proxy::set_backends`] swaps the set atomically; connections to removed backends
//!   keep flowing until `drain_timeout`, then are closed.
//!
//! ```no_run
//! use std::time::Duration;
//! use ferry_proxy::{Backend, BackendSet, CheckKind, HealthCheck, Proxy, ProxyOptions};
//!
//! # async fn example() -> Result<(), ferry_proxy::ProxyError> {
//! let options = ProxyOptions {
//!     health_check: Some(HealthCheck {
//!         kind: CheckKind::Http { path: "/healthz".into() },
//!         interval: Duration::from_secs(2),
//!         timeout: Duration::from_secs(1),
//!         healthy_threshold: 2,
//!         unhealthy_threshold: 3,
//!     }),
//!     ..ProxyOptions::default()
//! };
//! let proxy = Proxy::bind("127.0.0.1:30080".parse().unwrap(), options).await?;
//! proxy.set_backends(BackendSet::round_robin(vec![
//!     Backend::new("shop-1", "127.0.0.1:41001".parse().unwrap()),
//!     Backend::new("shop-2", "127.0.0.1:41002".parse().unwrap()),
//! ]));
//! // Blue-green: one call switches every new connection to the green side.
//! proxy.set_backends(BackendSet::round_robin(vec![
//!     Backend::new("shop-green-1", "127.0.0.1:42001".parse().unwrap()),
//! ]));
//! proxy.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod error;
pub mod health;
pub mod proxy;
pub mod select;

pub use config::{
    Affinity, Backend, BackendHealth, BackendSet, BackendStats, CheckKind, HealthCheck,
    ProxyOptions, ProxyStats,
};
pub use error::ProxyError;
pub use proxy::Proxy;
