//! The proxy itself: the SO_REUSEPORT listener, the per-connection hot path, the backend
//! set swapped atomically, per-backend health tasks, draining and shutdown.
//!
//! Locks: the current generation sits behind a `std::sync::RwLock` held only to clone an
//! `Arc`; the affinity table and each backend's health counter behind `std::sync::Mutex`es
//! held for a few instructions. None is held across an await.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::{
    Affinity, Backend, BackendHealth, BackendSet, BackendStats, HealthCheck, ProxyOptions,
    ProxyStats,
};
use crate::error::ProxyError;
use crate::health::{HealthCounter, probe};
use crate::select::{AffinityTable, Candidate, round_robin_order};

/// Without active checks, how long a backend whose connect failed receives no new
/// connections (when the set is health-aware).
pub const PASSIVE_EJECTION: Duration = Duration::from_secs(5);

/// The listen backlog of the proxy's socket.
const BACKLOG: u32 = 1024;

/// One L4 (TCP) listener forwarding connections to a replaceable set of backends.
///
/// Dropping a `Proxy` without [`shutdown`](Proxy::shutdown) stops it at once: the listener
/// closes and every open connection is cut.
pub struct Proxy {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Binds `addr` with SO_REUSEADDR + SO_REUSEPORT (several routing replicas on one
    /// machine share one node port; the kernel spreads connections) and starts accepting.
    ///
    /// The proxy starts with the empty set (every connection refused) until
    /// [`set_backends`](Proxy::set_backends) is called.
    pub async fn bind(addr: SocketAddr, options: ProxyOptions) -> Result<Proxy, ProxyError> {
        options.validate()?;
        let runtime = Handle::try_current().map_err(|_| ProxyError::NoRuntime)?;
        let bind_error = |source| ProxyError::Bind { addr, source };
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(bind_error)?;
        socket.set_reuseaddr(true).map_err(bind_error)?;
        socket.set_reuseport(true).map_err(bind_error)?;
        socket.set_nodelay(true).map_err(bind_error)?;
        socket.bind(addr).map_err(bind_error)?;
        let listener = socket.listen(BACKLOG).map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;

        let shared = Arc::new(Shared {
            current: RwLock::new(Arc::new(Generation {
                states: Vec::new(),
                affinity: Affinity::None,
                health_aware: true,
            })),
            set_lock: Mutex::new(()),
            cursor: AtomicUsize::new(0),
            affinity: Mutex::new(AffinityTable::new()),
            accepted: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            failed_connects: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            active: AtomicU64::new(0),
            stop_accepting: CancellationToken::new(),
            stop_all: CancellationToken::new(),
            connections: TaskTracker::new(),
            background: TaskTracker::new(),
            runtime,
            options,
        });
        let acceptor = shared.runtime.spawn(accept_loop(shared.clone(), listener));
        info!(addr = %local_addr, "proxy listening");
        Ok(Proxy {
            shared,
            local_addr,
            acceptor: Some(acceptor),
        })
    }

    /// Returns the address the proxy listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Replaces the backend set atomically: new connections use the new set at once;
    /// open connections to backends no longer present drain for `options.drain_timeout`
    /// and are then closed. Health state of backends present in both sets is kept.
    pub fn set_backends(&self, set: BackendSet) {
        let shared = &self.shared;
        let _serialized = lock(&shared.set_lock);
        let old = shared.current();
        let mut seen = HashSet::new();
        let mut states = Vec::with_capacity(set.backends.len());
        for backend in set.backends {
            if !seen.insert(backend.clone()) {
                continue;
            }
            let kept = old.states.iter().find(|state| state.backend == backend);
            let state = match kept {
                Some(state) => state.clone(),
                None => {
                    let state = Arc::new(BackendState::new(backend, &shared.stop_all));
                    if let Some(check) = &shared.options.health_check {
                        shared
                            .background
                            .spawn_on(run_checks(state.clone(), check.clone()), &shared.runtime);
                    }
                    state
                }
            };
            states.push(state);
        }
        let removed: Vec<Arc<BackendState>> = old
            .states
            .iter()
            .filter(|state| !seen.contains(&state.backend))
            .cloned()
            .collect();
        let generation = Arc::new(Generation {
            states,
            affinity: set.affinity,
            health_aware: set.health_aware,
        });
        *shared
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = generation;
        for state in removed {
            // Stops its health checks; its connections drain until the deadline.
            state.removed.cancel();
            let drain_timeout = shared.options.drain_timeout;
            let stop_all = shared.stop_all.clone();
            shared.background.spawn_on(
                async move {
                    // Always the full timeout, even with no connection open now: a
                    // connection that took the old set just before the swap may still be
                    // connecting to this backend.
                    debug!(backend = %state.backend.id, "draining removed backend");
                    tokio::select! {
                        _ = tokio::time::sleep(drain_timeout) => {}
                        _ = stop_all.cancelled() => {}
                    }
                    state.closed.cancel();
                },
                &shared.runtime,
            );
        }
    }

    /// Returns the current health of every backend of the current set.
    pub fn health(&self) -> Vec<BackendHealth> {
        self.shared
            .current()
            .states
            .iter()
            .map(|state| {
                let health = lock(&state.health);
                BackendHealth {
                    id: state.backend.id.clone(),
                    addr: state.backend.addr,
                    healthy: health.counter.healthy(),
                    since: health.since,
                    active_connections: state.active.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// Returns the counters (accepted, forwarded, failed connects, active connections per
    /// backend).
    pub fn stats(&self) -> ProxyStats {
        let shared = &self.shared;
        ProxyStats {
            accepted: shared.accepted.load(Ordering::Relaxed),
            forwarded: shared.forwarded.load(Ordering::Relaxed),
            failed_connects: shared.failed_connects.load(Ordering::Relaxed),
            refused: shared.refused.load(Ordering::Relaxed),
            active_connections: shared.active.load(Ordering::Relaxed),
            backends: shared
                .current()
                .states
                .iter()
                .map(|state| BackendStats {
                    id: state.backend.id.clone(),
                    addr: state.backend.addr,
                    active_connections: state.active.load(Ordering::Relaxed),
                    forwarded: state.forwarded.load(Ordering::Relaxed),
                    failed_connects: state.failed_connects.load(Ordering::Relaxed),
                })
                .collect(),
        }
    }

    /// Stops accepting, lets open connections finish for up to the drain timeout.
    ///
    /// The listener is closed first, so with SO_REUSEPORT the other proxies on the port
    /// take the new connections; connections still open at the deadline are closed.
    pub async fn shutdown(mut self) {
        self.shared.stop_accepting.cancel();
        if let Some(acceptor) = self.acceptor.take() {
            // The loop ends at its next poll and drops the listener.
            let _ = acceptor.await;
        }
        let shared = &self.shared;
        shared.connections.close();
        let open = shared.active.load(Ordering::Relaxed);
        if open > 0 {
            info!(addr = %self.local_addr, open, "proxy draining connections");
        }
        let drained =
            tokio::time::timeout(shared.options.drain_timeout, shared.connections.wait()).await;
        if drained.is_err() {
            warn!(
                addr = %self.local_addr,
                open = shared.active.load(Ordering::Relaxed),
                "drain deadline reached, closing connections"
            );
        }
        shared.stop_all.cancel();
        shared.connections.wait().await;
        shared.background.close();
        shared.background.wait().await;
        info!(addr = %self.local_addr, "proxy stopped");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop_accepting.cancel();
        self.shared.stop_all.cancel();
    }
}

/// What every task of one proxy shares.
struct Shared {
    options: ProxyOptions,
    /// The current set; swapped whole by `set_backends`.
    current: RwLock<Arc<Generation>>,
    /// Serializes `set_backends` calls (health state carried from one set to the next).
    set_lock: Mutex<()>,
    /// The round-robin cursor.
    cursor: AtomicUsize,
    affinity: Mutex<AffinityTable>,
    accepted: AtomicU64,
    forwarded: AtomicU64,
    failed_connects: AtomicU64,
    refused: AtomicU64,
    active: AtomicU64,
    stop_accepting: CancellationToken,
    /// Cancelled at the end of shutdown (or on drop): closes every connection, stops every
    /// task.
    stop_all: CancellationToken,
    connections: TaskTracker,
    background: TaskTracker,
    runtime: Handle,
}

impl Shared {
    fn current(&self) -> Arc<Generation> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One backend set as given to `set_backends`, with the live state of its backends.
struct Generation {
    states: Vec<Arc<BackendState>>,
    affinity: Affinity,
    health_aware: bool,
}

/// One backend while it is in a set (and while its connections drain after).
struct BackendState {
    backend: Backend,
    /// Mirror of `health.counter.healthy()`, read on the hot path without locking.
    healthy: AtomicBool,
    health: Mutex<HealthRecord>,
    active: AtomicU64,
    forwarded: AtomicU64,
    failed_connects: AtomicU64,
    /// Cancelled when the backend leaves the set: stops its health checks.
    removed: CancellationToken,
    /// Cancelled at its drain deadline (child of the proxy's `stop_all`): closes its
    /// connections.
    closed: CancellationToken,
}

struct HealthRecord {
    counter: HealthCounter,
    since: SystemTime,
}

impl BackendState {
    fn new(backend: Backend, stop_all: &CancellationToken) -> BackendState {
        BackendState {
            backend,
            healthy: AtomicBool::new(true),
            health: Mutex::new(HealthRecord {
                counter: HealthCounter::new(),
                since: SystemTime::now(),
            }),
            active: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            failed_connects: AtomicU64::new(0),
            removed: stop_all.child_token(),
            closed: stop_all.child_token(),
        }
    }

    fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Applies a state change decided under the health lock.
    fn apply(&self, record: &mut HealthRecord, changed: Option<bool>, reason: &str) {
        if let Some(healthy) = changed {
            record.since = SystemTime::now();
            self.healthy.store(healthy, Ordering::Relaxed);
            if healthy {
                info!(backend = %self.backend.id, addr = %self.backend.addr, "backend healthy again");
            } else {
                warn!(backend = %self.backend.id, addr = %self.backend.addr, reason, "backend unhealthy");
            }
        }
    }

    /// Records one active probe result.
    fn record_probe(&self, ok: bool, check: &HealthCheck, reason: &str) {
        let mut record = lock(&self.health);
        let changed = record
            .counter
            .record(ok, check.healthy_threshold, check.unhealthy_threshold);
        self.apply(&mut record, changed, reason);
    }

    /// Records a failed connect: one failure toward the threshold with active checks, an
    /// ejection for [`PASSIVE_EJECTION`] without. Returns whether an ejection began (the
    /// caller schedules the end of it).
    fn record_connect_failure(&self, check: Option<&HealthCheck>) -> bool {
        let mut record = lock(&self.health);
        match check {
            Some(check) => {
                let changed = record.counter.record(
                    false,
                    check.healthy_threshold,
                    check.unhealthy_threshold,
                );
                self.apply(&mut record, changed, "connect failed");
                false
            }
            None => {
                let ejected = record.counter.eject();
                self.apply(&mut record, ejected.then_some(false), "connect failed");
                ejected
            }
        }
    }

    /// Records a successful connect: resets a failure streak (never brings a backend up).
    fn record_connect_success(&self, check: Option<&HealthCheck>) {
        if let Some(check) = check {
            let mut record = lock(&self.health);
            if record.counter.healthy() {
                record
                    .counter
                    .record(true, check.healthy_threshold, check.unhealthy_threshold);
            }
        }
    }

    fn end_ejection(&self) {
        let mut record = lock(&self.health);
        let restored = record.counter.restore();
        self.apply(&mut record, restored.then_some(true), "ejection over");
    }
}

/// Counts a connection as active on a backend and on the proxy while it lives.
struct ActiveGuard<'a> {
    shared: &'a Shared,
    state: &'a BackendState,
}

impl<'a> ActiveGuard<'a> {
    fn new(shared: &'a Shared, state: &'a BackendState) -> ActiveGuard<'a> {
        shared.active.fetch_add(1, Ordering::Relaxed);
        state.active.fetch_add(1, Ordering::Relaxed);
        ActiveGuard { shared, state }
    }
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, Ordering::Relaxed);
        self.state.active.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shared.stop_accepting.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((client, peer)) => {
                shared.accepted.fetch_add(1, Ordering::Relaxed);
                shared
                    .connections
                    .spawn(handle_connection(shared.clone(), client, peer));
            }
            Err(error) => {
                // Out of file descriptors and the like: back off a little, keep serving.
                warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    debug!("proxy listener closed");
}

async fn handle_connection(shared: Arc<Shared>, mut client: TcpStream, peer: SocketAddr) {
    let generation = shared.current();
    let order = {
        let candidates: Vec<Candidate<'_>> = generation
            .states
            .iter()
            .map(|state| Candidate {
                id: &state.backend.id,
                healthy: state.is_healthy(),
            })
            .collect();
        match generation.affinity {
            Affinity::None => round_robin_order(
                &candidates,
                generation.health_aware,
                shared.cursor.fetch_add(1, Ordering::Relaxed),
            ),
            Affinity::ClientIp { idle_timeout } => lock(&shared.affinity).order(
                peer.ip(),
                Instant::now(),
                idle_timeout,
                &candidates,
                generation.health_aware,
            ),
        }
    };
    let check = shared.options.health_check.as_ref();
    let mut upstream_opt = None;
    for (attempt, &index) in order.iter().enumerate() {
        let state = &generation.states[index];
        let connected = tokio::select! {
            connected = connect(state.backend.addr, shared.options.connect_timeout) => connected,
            // Shutdown's deadline passed (or the proxy was dropped) while connecting.
            _ = shared.stop_all.cancelled() => return,
        };
        match connected {
            Ok(upstream) => {
                state.record_connect_success(check);
                if attempt > 0
                    && let Affinity::ClientIp { .. } = generation.affinity
                {
                    lock(&shared.affinity).bind(peer.ip(), &state.backend.id, Instant::now());
                }
                upstream_opt = Some((upstream, state));
                break;
            }
            Err(error) => {
                shared.failed_connects.fetch_add(1, Ordering::Relaxed);
                state.failed_connects.fetch_add(1, Ordering::Relaxed);
                debug!(backend = %state.backend.id, %error, "connect to backend failed, trying the next");
                if state.record_connect_failure(check) {
                    let state = state.clone();
                    shared.background.spawn(async move {
                        tokio::select! {
                            _ = tokio::time::sleep(PASSIVE_EJECTION) => state.end_ejection(),
                            _ = state.removed.cancelled() => {}
                        }
                    });
                }
            }
        }
    }
    let Some((mut upstream, state)) = upstream_opt else {
        shared.refused.fetch_add(1, Ordering::Relaxed);
        debug!(client = %peer, "no backend available, connection refused");
        return;
    };
    shared.forwarded.fetch_add(1, Ordering::Relaxed);
    state.forwarded.fetch_add(1, Ordering::Relaxed);
    let _active = ActiveGuard::new(&shared, state);
    if let Err(error) = client.set_nodelay(true) {
        debug!(%error, "set TCP_NODELAY on client connection");
    }
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
            if let Err(error) = copied {
                debug!(client = %peer, backend = %state.backend.id, %error, "connection ended with an error");
            }
        }
        _ = state.closed.cancelled() => {
            debug!(client = %peer, backend = %state.backend.id, "connection closed at the drain deadline");
        }
    }
}

async fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Probes one backend every interval while it is in the set.
async fn run_checks(state: Arc<BackendState>, check: HealthCheck) {
    let mut ticker = tokio::time::interval(check.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = state.removed.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let result = tokio::select! {
            _ = state.removed.cancelled() => return,
            result = probe(state.backend.addr, &check.kind, check.timeout) => result,
        };
        match result {
            Ok(()) => state.record_probe(true, &check, ""),
            Err(failure) => state.record_probe(false, &check, &failure.to_string()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
