//! [`EtcdStore`]: the production [`Store`], on etcd-client.
//!
//! # Resilience
//!
//! etcd-client's own multi-endpoint client balances requests over every endpoint and
//! keeps sending a share of them to a dead member. This store instead keeps **one client
//! per endpoint** (a plain tonic channel each) and sends every request to one *current*
//! endpoint. When a request fails with a transient error (the endpoint is unreachable,
//! the connection broke, the member has no leader, the request timed out, ...), the
//! endpoint is marked unhealthy for [`EtcdConfig::endpoint_cooldown`], the store moves on
//! to the next endpoint and retries, backing off exponentially while no endpoint works
//! (e.g. during a leader election), until [`EtcdConfig::retry_attempts`] or
//! [`EtcdConfig::retry_budget`] runs out; only then does the caller see
//! [`StoreError::Unavailable`].
//!
//! Retrying writes is safe because of how each is guarded:
//!
//! * reads, [`Store::compact`] and lease keep-alives are idempotent;
//! * CAS-guarded writes ([`Store::create`], [`Store::update`], [`Store::delete`] with a
//!   revision, [`Store::txn`] with preconditions) cannot apply twice. When an attempt
//!   failed *ambiguously* (it may have been applied: a timeout or a broken connection, as
//!   opposed to a refused connection) and the retry then fails its precondition, the store
//!   checks whether the stored state is exactly what the call wrote (same value, one
//!   revision); if so the first attempt did apply and the call succeeds with that revision.
//!   The check cannot tell our write from an identical concurrent one, which is harmless
//!   for callers (the state is what they asked for);
//! * plain [`Store::put`] and [`Store::delete_prefix`] are retried too: **at-least-once**.
//!   A put may be applied twice (two revisions, same value); a retried `delete_prefix`
//!   may report fewer deletions than happened; a retried unconditional [`Store::delete`]
//!   of a key the first attempt deleted succeeds; a retried [`Store::grant_lease`] may
//!   leave an unused lease behind, which expires after its TTL.
//!
//! Watches are established through the same retry loop; once established, a broken watch
//! stream ends with [`StoreError::Unavailable`], and [`crate::watch::Watcher`] resumes it
//! from the last revision it saw.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions, KvClient,
    PutOptions, TxnOpResponse, WatchOptions,
};
use tonic::Code;

use crate::memory::validate_txn;
use crate::{
    KeyValue, LeaseId, ListOptions, ListPage, Precondition, Revision, Store, StoreError,
    StoreResult, Txn, TxnOp, WatchBatch, WatchEvent, WatchStream,
};

/// How to reach etcd, and how hard to try.
#[derive(Clone, Debug)]
pub struct EtcdConfig {
    /// Client URLs of the cluster's members (`http://host:2379`; a missing scheme means
    /// `http://`).
    pub endpoints: Vec<String>,
    /// Timeout of one TCP connection attempt to one endpoint.
    pub connect_timeout: Duration,
    /// Timeout of one request attempt (and of establishing a watch); a request that takes
    /// longer is retried on another endpoint.
    pub request_timeout: Duration,
    /// Most retries of one call (after the first attempt).
    pub retry_attempts: u32,
    /// Most time one call may spend retrying (leader elections take a few seconds).
    pub retry_budget: Duration,
    /// First back-off between retries once every endpoint failed; doubles up to
    /// [`EtcdConfig::max_retry_backoff`].
    pub retry_backoff: Duration,
    /// Cap of the back-off between retries.
    pub max_retry_backoff: Duration,
    /// How long an endpoint that failed is avoided.
    pub endpoint_cooldown: Duration,
    /// HTTP/2 keep-alive ping interval (detects silently dead connections); `None`
    /// disables pings.
    pub keep_alive_interval: Option<Duration>,
    /// How long a keep-alive ping may go unanswered before the connection is dropped.
    pub keep_alive_timeout: Duration,
    /// Ask members to refuse requests (and cancel watches) while they have no leader,
    /// instead of letting them hang; the store then retries elsewhere.
    pub require_leader: bool,
}

impl Default for EtcdConfig {
    fn default() -> Self {
        EtcdConfig {
            endpoints: vec!["http://127.0.0.1:2379".to_owned()],
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            retry_attempts: 40,
            retry_budget: Duration::from_secs(15),
            retry_backoff: Duration::from_millis(50),
            max_retry_backoff: Duration::from_secs(1),
            endpoint_cooldown: Duration::from_secs(2),
            keep_alive_interval: Some(Duration::from_secs(10)),
            keep_alive_timeout: Duration::from_secs(5),
            require_leader: true,
        }
    }
}

impl EtcdConfig {
    /// The defaults with these endpoints.
    pub fn new<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> Self {
        EtcdConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

/// The etcd-backed [`Store`]; see the [module docs](self) for its retry semantics.
/// Cheap to clone (clones share connections).
#[derive(Clone)]
pub struct EtcdStore {
    inner: Arc<Inner>,
}

struct Inner {
    members: Vec<Member>,
    /// Index of the endpoint requests go to.
    current: AtomicUsize,
    config: EtcdConfig,
    epoch: Instant,
    deadlines: Arc<Deadlines>,
}

struct Member {
    endpoint: String,
    client: Client,
    /// Idle KV clients (etcd-client's calls need `&mut`; cloning one per call costs about
    /// a microsecond of contended atomics, a pooled one a quarter of that).
    kv_pool: Mutex<Vec<KvClient>>,
    /// Avoid until this many milliseconds after `epoch`; 0 when healthy.
    down_until: AtomicU64,
}

impl fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.endpoints())
            .field("current", &self.inner.current.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed.
enum Failure {
    Etcd(etcd_client::Error),
    Timeout(Duration),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Etcd(e) => write!(f, "{e}"),
            Failure::Timeout(d) => write!(f, "request timed out after {d:?}"),
        }
    }
}

/// How a failure is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// The request never reached the endpoint: retry elsewhere; not ambiguous.
    Unreachable,
    /// The endpoint or connection failed mid-request: retry elsewhere; may have applied.
    Broken,
    /// The cluster answered it cannot serve now (no leader, timeout): retry; may have
    /// applied.
    Busy,
    /// A definite answer: return it.
    Fatal,
}

fn classify(failure: &Failure) -> Class {
    let status = match failure {
        Failure::Timeout(_) => return Class::Broken,
        Failure::Etcd(etcd_client::Error::GRpcStatus(status)) => status,
        Failure::Etcd(etcd_client::Error::TransportError(_))
        | Failure::Etcd(etcd_client::Error::IoError(_))
        | Failure::Etcd(etcd_client::Error::WatchError(_)) => return Class::Broken,
        Failure::Etcd(etcd_client::Error::LeaseKeepAliveError(m)) if !m.contains("not found") => {
            return Class::Broken;
        }
        Failure::Etcd(_) => return Class::Fatal,
    };
    let message = status.message();
    // Server answers ("etcdserver: request timed out, possibly due to connection lost")
    // must not be mistaken for connection failures.
    let server = message.starts_with("etcdserver:");
    let connect = !server && (message.contains("connect") || message.contains("dns error"));
    let broken = [
        "transport error",
        "connection",
        "broken pipe",
        "h2 protocol",
        "reset",
        "body",
    ]
    .iter()
    .any(|m| message.contains(m));
    match status.code() {
        Code::Unavailable if connect => Class::Unreachable,
        Code::Unavailable if server => Class::Busy,
        Code::Unavailable | Code::Cancelled => Class::Broken,
        Code::DeadlineExceeded => Class::Busy,
        Code::Unknown | Code::Internal if broken => Class::Broken,
        Code::Unknown
            if message.contains("proposal dropped") || message.contains("leader changed") =>
        {
            Class::Busy
        }
        _ => Class::Fatal,
    }
}

/// Maps a definite etcd error to the store's.
fn map_error(op: &str, err: etcd_client::Error) -> StoreError {
    match err {
        etcd_client::Error::GRpcStatus(status) => {
            let message = status.message();
            match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                    StoreError::Unavailable(format!("{op}: {message}"))
                }
                Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
                    StoreError::InvalidArgument(format!("{op}: {message}"))
                }
                _ => StoreError::Internal(format!("{op}: {:?}: {message}", status.code())),
            }
        }
        etcd_client::Error::TransportError(e) => StoreError::Unavailable(format!("{op}: {e}")),
        etcd_client::Error::IoError(e) => StoreError::Unavailable(format!("{op}: {e}")),
        etcd_client::Error::InvalidArgs(e) => StoreError::InvalidArgument(format!("{op}: {e}")),
        other => StoreError::Internal(format!("{op}: {other}")),
    }
}

fn is_lease_not_found(err: &etcd_client::Error) -> bool {
    match err {
        etcd_client::Error::GRpcStatus(s) => {
            s.code() == Code::NotFound && s.message().contains("lease not found")
        }
        etcd_client::Error::LeaseKeepAliveError(m) => m.contains("lease not found"),
        _ => false,
    }
}

fn is_compacted(err: &etcd_client::Error) -> bool {
    matches!(err, etcd_client::Error::GRpcStatus(s) if s.message().contains("has been compacted"))
}

fn is_future_revision(err: &etcd_client::Error) -> bool {
    matches!(err, etcd_client::Error::GRpcStatus(s) if s.message().contains("future revision"))
}

/// The end of the key range of `prefix` (every key starting with it); `\0` (no end) for
/// the empty prefix.
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn range_start(prefix: &str) -> Vec<u8> {
    if prefix.is_empty() {
        vec![0]
    } else {
        prefix.as_bytes().to_vec()
    }
}

fn string_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn convert_kv(kv: etcd_client::KeyValue) -> KeyValue {
    let create_revision = kv.create_revision();
    let mod_revision = kv.mod_revision();
    let version = kv.version();
    let lease = kv.lease();
    let (key, value) = kv.into_key_value();
    KeyValue {
        key: string_of(key),
        value,
        create_revision,
        mod_revision,
        version,
        lease,
    }
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Revision {
    header.map_or(0, |h| h.revision())
}

fn check_key(key: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidArgument("empty key".into()));
    }
    Ok(())
}

/// The first key-value of the `index`-th response of a transaction (a get).
fn txn_get(responses: &[TxnOpResponse], index: usize) -> Option<&etcd_client::KeyValue> {
    match responses.get(index) {
        Some(TxnOpResponse::Get(get)) => get.kvs().first(),
        _ => None,
    }
}

fn normalize_endpoint(endpoint: &str) -> String {
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        endpoint.to_owned()
    } else {
        format!("http://{endpoint}")
    }
}

impl EtcdStore {
    /// Connects to the cluster and checks that it answers (retrying as configured).
    pub async fn connect(config: EtcdConfig) -> StoreResult<Self> {
        let store = Self::connect_lazy(config)?;
        store.ping().await?;
        tracing::info!(endpoints = ?store.endpoints(), "connected to etcd");
        Ok(store)
    }

    /// Sets up the clients without contacting etcd (connections are made on first use).
    /// Must be called inside a tokio runtime.
    pub fn connect_lazy(config: EtcdConfig) -> StoreResult<Self> {
        if config.endpoints.is_empty() {
            return Err(StoreError::InvalidArgument(
                "no etcd endpoints configured".into(),
            ));
        }
        let mut members = Vec::with_capacity(config.endpoints.len());
        for endpoint in &config.endpoints {
            let endpoint = normalize_endpoint(endpoint);
            let mut builder = tonic::transport::Endpoint::from_shared(endpoint.clone())
                .map_err(|e| {
                    StoreError::InvalidArgument(format!("bad etcd endpoint {endpoint}: {e}"))
                })?
                .connect_timeout(config.connect_timeout)
                .tcp_nodelay(true);
            if let Some(interval) = config.keep_alive_interval {
                builder = builder
                    .http2_keep_alive_interval(interval)
                    .keep_alive_timeout(config.keep_alive_timeout)
                    .keep_alive_while_idle(true);
            }
            let channel = builder.connect_lazy();
            let options = ConnectOptions::new().with_require_leader(config.require_leader);
            let client = Client::from_channel(etcd_client::Channel::Tonic(channel), Some(options))
                .now_or_never_ok()?;
            members.push(Member {
                endpoint,
                client,
                kv_pool: Mutex::new(Vec::new()),
                down_until: AtomicU64::new(0),
            });
        }
        let deadlines = Deadlines::start(config.request_timeout);
        Ok(EtcdStore {
            inner: Arc::new(Inner {
                members,
                current: AtomicUsize::new(0),
                config,
                epoch: Instant::now(),
                deadlines,
            }),
        })
    }

    /// The configured endpoints (normalized).
    pub fn endpoints(&self) -> Vec<String> {
        self.inner
            .members
            .iter()
            .map(|m| m.endpoint.clone())
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &EtcdConfig {
        &self.inner.config
    }

    /// The etcd-client of the endpoint requests currently go to (for callers that need an
    /// etcd feature the trait lacks; it is not retried).
    pub fn client(&self) -> Client {
        let idx = self.inner.pick();
        self.inner.members[idx].client.clone()
    }

    /// Finds the compaction revision (etcd's error for a compacted read does not carry
    /// it): a watch from revision 1 is cancelled with it.
    async fn compact_revision(&self) -> Revision {
        let result = self
            .inner
            .call("find compact revision", |m| {
                let mut watch = m.client.watch_client();
                async move {
                    let options = WatchOptions::new().with_start_revision(1);
                    let mut stream = watch.watch(vec![0u8], Some(options)).await?;
                    while let Some(resp) = stream.message().await? {
                        if resp.compact_revision() > 0 || resp.canceled() {
                            return Ok(resp.compact_revision());
                        }
                        if !resp.events().is_empty() {
                            return Ok(0);
                        }
                    }
                    Ok(0)
                }
            })
            .await;
        result.map(|(rev, _)| rev).unwrap_or(0)
    }

    /// Reads the keys written by `ops` to tell whether a transaction whose attempt failed
    /// ambiguously was applied after all: returns its revision when the store holds
    /// exactly what the transaction wrote.
    async fn applied_revision(&self, ops: &[TxnOp]) -> Option<Revision> {
        let gets: Vec<etcd_client::TxnOp> = ops
            .iter()
            .map(|op| {
                let key = match op {
                    TxnOp::Put { key, .. } | TxnOp::Delete { key } => key,
                };
                etcd_client::TxnOp::get(key.as_bytes(), None)
            })
            .collect();
        let (resp, _) = self
            .inner
            .call("verify txn", |m| {
                let mut kv = m.kv();
                let txn = etcd_client::Txn::new().and_then(gets.clone());
                async move { kv.txn(txn).await }
            })
            .await
            .ok()?;
        let responses = resp.op_responses();
        let mut revision = None;
        for (i, op) in ops.iter().enumerate() {
            let found = txn_get(&responses, i);
            match (op, found) {
                (TxnOp::Put { value, lease, .. }, Some(kv)) => {
                    if kv.value() != value.as_slice() || kv.lease() != lease.unwrap_or(0) {
                        return None;
                    }
                    if revision.is_some_and(|r| r != kv.mod_revision()) {
                        return None;
                    }
                    revision = Some(kv.mod_revision());
                }
                (TxnOp::Put { .. }, None) => return None,
                (TxnOp::Delete { .. }, Some(_)) => return None,
                (TxnOp::Delete { .. }, None) => {}
            }
        }
        Some(revision.unwrap_or_else(|| header_revision(resp.header())))
    }
}

/// `Client::from_channel` is async only because it may authenticate, which it does not
/// without credentials; this polls it once.
trait NowOrNever<T> {
    fn now_or_never_ok(self) -> StoreResult<T>;
}

impl<T, F: Future<Output = Result<T, etcd_client::Error>>> NowOrNever<T> for F {
    fn now_or_never_ok(self) -> StoreResult<T> {
        match futures::FutureExt::now_or_never(self) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(map_error("connect", e)),
            None => Err(StoreError::Internal(
                "etcd client setup did not complete".into(),
            )),
        }
    }
}

/// Request deadlines on a coarse shared clock.
///
/// A `tokio::time::timeout` per request registers a timer each time, which (when no other
/// timer is due sooner) wakes the runtime's parked driver thread: measurable CPU at
/// thousands of requests per second. Request timeouts are seconds long, so instead one
/// background task ticks every [`Deadlines::tick`] and wakes the pending requests, which
/// compare the coarse clock with their deadline. Waiting costs one `Notify`
/// registration per request.
struct Deadlines {
    epoch: Instant,
    tick: Duration,
    /// Milliseconds since `epoch`, updated every tick.
    now_ms: AtomicU64,
    ticks: tokio::sync::Notify,
    /// False once the ticking task is gone (its runtime shut down): fall back to timers.
    ticking: std::sync::atomic::AtomicBool,
}

impl Deadlines {
    /// Starts the ticking task (inside a runtime).
    fn start(request_timeout: Duration) -> Arc<Deadlines> {
        let tick =
            (request_timeout / 20).clamp(Duration::from_millis(10), Duration::from_millis(250));
        let deadlines = Arc::new(Deadlines {
            epoch: Instant::now(),
            tick,
            now_ms: AtomicU64::new(0),
            ticks: tokio::sync::Notify::new(),
            ticking: std::sync::atomic::AtomicBool::new(true),
        });
        let weak = Arc::downgrade(&deadlines);
        tokio::spawn(async move {
            // Marks the clock stopped however the task ends (store dropped, runtime gone).
            struct Stopped(std::sync::Weak<Deadlines>);
            impl Drop for Stopped {
                fn drop(&mut self) {
                    if let Some(d) = self.0.upgrade() {
                        d.ticking.store(false, Ordering::Release);
                        d.ticks.notify_waiters();
                    }
                }
            }
            let _stopped = Stopped(weak.clone());
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(d) = weak.upgrade() else { return };
                d.now_ms
                    .store(d.epoch.elapsed().as_millis() as u64, Ordering::Release);
                d.ticks.notify_waiters();
            }
        });
        deadlines
    }

    /// Completes `timeout` (rounded up to the next tick) after it is called.
    async fn expire_after(&self, timeout: Duration) {
        let deadline =
            self.now_ms.load(Ordering::Acquire) + (timeout + self.tick).as_millis() as u64;
        loop {
            let tick = self.ticks.notified();
            if !self.ticking.load(Ordering::Acquire) {
                let now = self.epoch.elapsed().as_millis() as u64;
                tokio::time::sleep(Duration::from_millis(deadline.saturating_sub(now))).await;
                return;
            }
            if self.now_ms.load(Ordering::Acquire) >= deadline {
                return;
            }
            tick.await;
        }
    }
}

/// Most idle KV clients kept per endpoint.
const KV_POOL_MAX: usize = 64;

impl Member {
    /// A KV client for one call, returned to the pool when dropped.
    fn kv(&self) -> PooledKv<'_> {
        let pooled = self.kv_pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        PooledKv {
            kv: Some(pooled.unwrap_or_else(|| self.client.kv_client())),
            pool: &self.kv_pool,
        }
    }
}

/// A KV client borrowed from a [`Member`]'s pool.
struct PooledKv<'a> {
    kv: Option<KvClient>,
    pool: &'a Mutex<Vec<KvClient>>,
}

impl Deref for PooledKv<'_> {
    type Target = KvClient;

    fn deref(&self) -> &KvClient {
        self.kv.as_ref().expect("pooled client present until drop")
    }
}

impl DerefMut for PooledKv<'_> {
    fn deref_mut(&mut self) -> &mut KvClient {
        self.kv.as_mut().expect("pooled client present until drop")
    }
}

impl Drop for PooledKv<'_> {
    fn drop(&mut self) {
        if let Some(kv) = self.kv.take() {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < KV_POOL_MAX {
                pool.push(kv);
            }
        }
    }
}

impl Inner {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// The endpoint to send the next request to.
    fn pick(&self) -> usize {
        let n = self.members.len();
        let current = self.current.load(Ordering::Relaxed) % n;
        let down = self.members[current].down_until.load(Ordering::Relaxed);
        if down == 0 {
            return current;
        }
        let now = self.now_ms();
        if down <= now {
            return current;
        }
        for i in 1..n {
            let candidate = (current + i) % n;
            if self.members[candidate].down_until.load(Ordering::Relaxed) <= now {
                let _ = self.current.compare_exchange(
                    current,
                    candidate,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                return candidate;
            }
        }
        current
    }

    fn has_healthy_other(&self, idx: usize) -> bool {
        let now = self.now_ms();
        self.members
            .iter()
            .enumerate()
            .any(|(i, m)| i != idx && m.down_until.load(Ordering::Relaxed) <= now)
    }

    /// Records a failure of endpoint `idx` and moves on to the next one.
    fn failed(&self, idx: usize, mark_down: bool) {
        let n = self.members.len();
        if mark_down && n > 1 {
            let until = self.now_ms() + self.config.endpoint_cooldown.as_millis() as u64;
            self.members[idx].down_until.store(until, Ordering::Relaxed);
        }
        let _ =
            self.current
                .compare_exchange(idx, (idx + 1) % n, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Runs one request with retries (see the module docs). Returns the result and
    /// whether an earlier attempt failed ambiguously (it may have been applied).
    async fn call<'a, T, F, Fut>(
        &'a self,
        op: &'static str,
        mut attempt_fn: F,
    ) -> StoreResult<(T, bool)>
    where
        F: FnMut(&'a Member) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let mut retries = 0u32;
        let mut ambiguous = false;
        let mut backoff = self.config.retry_backoff;
        let mut started: Option<Instant> = None;
        loop {
            let idx = self.pick();
            let member = &self.members[idx];
            let timeout = self.config.request_timeout;
            let attempt = attempt_fn(member);
            let outcome = tokio::select! {
                biased;
                result = attempt => Some(result),
                () = self.deadlines.expire_after(timeout) => None,
            };
            let failure = match outcome {
                Some(Ok(value)) => {
                    if member.down_until.load(Ordering::Relaxed) != 0 {
                        member.down_until.store(0, Ordering::Relaxed);
                    }
                    return Ok((value, ambiguous));
                }
                Some(Err(e)) => Failure::Etcd(e),
                None => Failure::Timeout(timeout),
            };
            let class = classify(&failure);
            if class == Class::Fatal {
                return Err(match failure {
                    Failure::Etcd(e) => map_error(op, e),
                    Failure::Timeout(_) => StoreError::Unavailable(format!("{op}: {failure}")),
                });
            }
            let started = *started.get_or_insert_with(Instant::now);
            ambiguous |= class != Class::Unreachable;
            self.failed(idx, class != Class::Busy);
            retries += 1;
            if retries > self.config.retry_attempts || started.elapsed() >= self.config.retry_budget
            {
                tracing::warn!(
                    op,
                    endpoint = %member.endpoint,
                    retries,
                    error = %failure,
                    "etcd request failed, giving up"
                );
                return Err(StoreError::Unavailable(format!(
                    "{op}: {failure} (after {retries} retries)"
                )));
            }
            tracing::debug!(
                op,
                endpoint = %member.endpoint,
                retries,
                class = ?class,
                error = %failure,
                "etcd request failed, retrying"
            );
            if class == Class::Busy || !self.has_healthy_other(idx) {
                tokio::time::sleep(jitter(backoff)).await;
                backoff = (backoff * 2).min(self.config.max_retry_backoff);
            }
        }
    }
}

/// `d` scaled by a pseudo-random factor in [0.5, 1.0).
pub(crate) fn jitter(d: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(d.as_nanos() as u64);
    let frac = (hasher.finish() % 1000) as f64 / 2000.0;
    d.mul_f64(0.5 + frac)
}

/// Turns an etcd watch into the store's stream.
fn watch_stream(
    first: etcd_client::WatchResponse,
    stream: etcd_client::WatchStream,
) -> WatchStream {
    struct State {
        first: Option<etcd_client::WatchResponse>,
        stream: etcd_client::WatchStream,
        done: bool,
    }
    let state = State {
        first: Some(first),
        stream,
        done: false,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        loop {
            if state.done {
                return None;
            }
            let resp = match state.first.take() {
                Some(resp) => resp,
                None => match state.stream.message().await {
                    Ok(Some(resp)) => resp,
                    Ok(None) => {
                        state.done = true;
                        let err = StoreError::Unavailable("watch: stream closed by etcd".into());
                        return Some((Err(err), state));
                    }
                    Err(e) => {
                        state.done = true;
                        let err = match map_error("watch", e) {
                            StoreError::Internal(m) => StoreError::Unavailable(m),
                            other => other,
                        };
                        return Some((Err(err), state));
                    }
                },
            };
            if resp.compact_revision() > 0 {
                state.done = true;
                let err = StoreError::Compacted {
                    compact_revision: resp.compact_revision(),
                };
                return Some((Err(err), state));
            }
            if resp.canceled() {
                state.done = true;
                let err = StoreError::Unavailable(format!(
                    "watch: cancelled by etcd: {}",
                    resp.cancel_reason()
                ));
                return Some((Err(err), state));
            }
            if resp.events().is_empty() {
                continue;
            }
            let events = resp
                .events()
                .iter()
                .filter_map(|event| {
                    let kv = event.kv()?;
                    Some(match event.event_type() {
                        EventType::Put => WatchEvent::Put(convert_kv(kv.clone())),
                        EventType::Delete => WatchEvent::Delete {
                            key: string_of(kv.key().to_vec()),
                            mod_revision: kv.mod_revision(),
                        },
                    })
                })
                .collect();
            return Some((Ok(WatchBatch { events }), state));
        }
    }))
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        let (mut resp, _) = self
            .inner
            .call("get", |m| {
                let mut kv = m.kv();
                let key = key.as_bytes().to_vec();
                async move { kv.get(key, None).await }
            })
            .await?;
        Ok(resp.take_kvs().into_iter().next().map(convert_kv))
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> StoreResult<ListPage> {
        let start = match &options.start_after {
            Some(after) if after.as_str() >= prefix => {
                let mut start = after.as_bytes().to_vec();
                start.push(0);
                start
            }
            _ => range_start(prefix),
        };
        let end = prefix_end(prefix);
        let limit = i64::try_from(options.limit).unwrap_or(i64::MAX);
        // Like etcd, a revision <= 0 means the latest.
        let options = ListOptions {
            revision: options.revision.filter(|r| *r > 0),
            ..options
        };
        let revision = options.revision.unwrap_or(0);
        let result = self
            .inner
            .call("list", |m| {
                let mut kv = m.kv();
                let get = GetOptions::new()
                    .with_range(end.clone())
                    .with_limit(limit)
                    .with_revision(revision);
                let start = start.clone();
                async move { kv.get(start, Some(get)).await }
            })
            .await;
        let mut resp = match result {
            Ok((resp, _)) => resp,
            Err(StoreError::InvalidArgument(m)) if m.contains("has been compacted") => {
                let compact_revision = self.compact_revision().await;
                return Err(StoreError::Compacted { compact_revision });
            }
            Err(e) => return Err(e),
        };
        let more = resp.more();
        let revision = options
            .revision
            .unwrap_or_else(|| header_revision(resp.header()));
        let items = resp.take_kvs().into_iter().map(convert_kv).collect();
        Ok(ListPage {
            items,
            more,
            revision,
        })
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        check_key(key)?;
        let result = self
            .inner
            .call("put", |m| {
                let mut kv = m.kv();
                let key = key.as_bytes().to_vec();
                let value = value.clone();
                let options = lease.map(|l| PutOptions::new().with_lease(l));
                async move { kv.put(key, value, options).await }
            })
            .await;
        match result {
            Ok((resp, _)) => Ok(header_revision(resp.header())),
            Err(StoreError::Internal(m)) if m.contains("lease not found") => {
                Err(StoreError::LeaseNotFound {
                    lease: lease.unwrap_or(0),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn create(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        check_key(key)?;
        let result = self
            .inner
            .call("create", |m| {
                let mut kv = m.kv();
                let options = lease.map(|l| PutOptions::new().with_lease(l));
                let txn = etcd_client::Txn::new()
                    .when([Compare::create_revision(key, CompareOp::Equal, 0)])
                    .and_then([etcd_client::TxnOp::put(key, value.clone(), options)])
                    .or_else([etcd_client::TxnOp::get(key, None)]);
                async move { kv.txn(txn).await }
            })
            .await;
        let (resp, ambiguous) = match result {
            Ok(r) => r,
            Err(StoreError::Internal(m)) if m.contains("lease not found") => {
                return Err(StoreError::LeaseNotFound {
                    lease: lease.unwrap_or(0),
                });
            }
            Err(e) => return Err(e),
        };
        if resp.succeeded() {
            return Ok(header_revision(resp.header()));
        }
        if ambiguous {
            let responses = resp.op_responses();
            if let Some(kv) = txn_get(&responses, 0)
                && kv.value() == value.as_slice()
                && kv.lease() == lease.unwrap_or(0)
                && kv.version() == 1
            {
                tracing::debug!(key, "retried create had been applied");
                return Ok(kv.mod_revision());
            }
        }
        Err(StoreError::AlreadyExists {
            key: key.to_owned(),
        })
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> StoreResult<Revision> {
        check_key(key)?;
        if expected <= 0 {
            return match self.get(key).await? {
                None => Err(StoreError::NotFound {
                    key: key.to_owned(),
                }),
                Some(_) => Err(StoreError::Conflict {
                    key: key.to_owned(),
                }),
            };
        }
        let (resp, ambiguous) = self
            .inner
            .call("update", |m| {
                let mut kv = m.kv();
                let put = PutOptions::new().with_ignore_lease();
                let txn = etcd_client::Txn::new()
                    .when([Compare::mod_revision(key, CompareOp::Equal, expected)])
                    .and_then([etcd_client::TxnOp::put(key, value.clone(), Some(put))])
                    .or_else([etcd_client::TxnOp::get(key, None)]);
                async move { kv.txn(txn).await }
            })
            .await?;
        if resp.succeeded() {
            return Ok(header_revision(resp.header()));
        }
        let responses = resp.op_responses();
        match txn_get(&responses, 0) {
            None => Err(StoreError::NotFound {
                key: key.to_owned(),
            }),
            Some(kv) if ambiguous && kv.value() == value.as_slice() => {
                tracing::debug!(key, "retried update had been applied");
                Ok(kv.mod_revision())
            }
            Some(_) => Err(StoreError::Conflict {
                key: key.to_owned(),
            }),
        }
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> StoreResult<Revision> {
        check_key(key)?;
        match expected {
            None => {
                let (resp, ambiguous) = self
                    .inner
                    .call("delete", |m| {
                        let mut kv = m.kv();
                        let key = key.as_bytes().to_vec();
                        async move { kv.delete(key, None).await }
                    })
                    .await?;
                if resp.deleted() == 0 && !ambiguous {
                    return Err(StoreError::NotFound {
                        key: key.to_owned(),
                    });
                }
                Ok(header_revision(resp.header()))
            }
            Some(expected) if expected <= 0 => match self.get(key).await? {
                None => Err(StoreError::NotFound {
                    key: key.to_owned(),
                }),
                Some(_) => Err(StoreError::Conflict {
                    key: key.to_owned(),
                }),
            },
            Some(expected) => {
                let (resp, ambiguous) = self
                    .inner
                    .call("delete", |m| {
                        let mut kv = m.kv();
                        let txn = etcd_client::Txn::new()
                            .when([Compare::mod_revision(key, CompareOp::Equal, expected)])
                            .and_then([etcd_client::TxnOp::delete(key, None)])
                            .or_else([etcd_client::TxnOp::get(key, None)]);
                        async move { kv.txn(txn).await }
                    })
                    .await?;
                if resp.succeeded() {
                    return Ok(header_revision(resp.header()));
                }
                let responses = resp.op_responses();
                match txn_get(&responses, 0) {
                    None if ambiguous => Ok(header_revision(resp.header())),
                    None => Err(StoreError::NotFound {
                        key: key.to_owned(),
                    }),
                    Some(_) => Err(StoreError::Conflict {
                        key: key.to_owned(),
                    }),
                }
            }
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        if prefix.is_empty() {
            return Err(StoreError::InvalidArgument(
                "refusing to delete every key".into(),
            ));
        }
        let end = prefix_end(prefix);
        let (resp, _) = self
            .inner
            .call("delete_prefix", |m| {
                let mut kv = m.kv();
                let options = DeleteOptions::new().with_range(end.clone());
                let key = prefix.as_bytes().to_vec();
                async move { kv.delete(key, Some(options)).await }
            })
            .await?;
        Ok(u64::try_from(resp.deleted()).unwrap_or(0))
    }

    async fn txn(&self, txn: Txn) -> StoreResult<Revision> {
        validate_txn(&txn)?;
        let compares: Vec<Compare> = txn
            .preconditions
            .iter()
            .map(|p| match p {
                Precondition::Absent(key) => {
                    Compare::create_revision(key.as_str(), CompareOp::Equal, 0)
                }
                Precondition::Exists(key) => {
                    Compare::create_revision(key.as_str(), CompareOp::Greater, 0)
                }
                Precondition::ModRevision(key, rev) => {
                    Compare::mod_revision(key.as_str(), CompareOp::Equal, *rev)
                }
            })
            .collect();
        let ops: Vec<etcd_client::TxnOp> = txn
            .ops
            .iter()
            .map(|op| match op {
                TxnOp::Put { key, value, lease } => etcd_client::TxnOp::put(
                    key.as_str(),
                    value.clone(),
                    lease.map(|l| PutOptions::new().with_lease(l)),
                ),
                TxnOp::Delete { key } => etcd_client::TxnOp::delete(key.as_str(), None),
            })
            .collect();
        // On failure, read every precondition's key to name the first that failed.
        let else_ops: Vec<etcd_client::TxnOp> = txn
            .preconditions
            .iter()
            .map(|p| {
                let (Precondition::Absent(key)
                | Precondition::Exists(key)
                | Precondition::ModRevision(key, _)) = p;
                etcd_client::TxnOp::get(key.as_str(), None)
            })
            .collect();
        let result = self
            .inner
            .call("txn", |m| {
                let mut kv = m.kv();
                let request = etcd_client::Txn::new()
                    .when(compares.clone())
                    .and_then(ops.clone())
                    .or_else(else_ops.clone());
                async move { kv.txn(request).await }
            })
            .await;
        let (resp, ambiguous) = match result {
            Ok(r) => r,
            Err(StoreError::Internal(m)) if m.contains("lease not found") => {
                let lease = txn
                    .ops
                    .iter()
                    .find_map(|op| match op {
                        TxnOp::Put { lease: Some(l), .. } => Some(*l),
                        _ => None,
                    })
                    .unwrap_or(0);
                return Err(StoreError::LeaseNotFound { lease });
            }
            Err(e) => return Err(e),
        };
        if resp.succeeded() {
            return Ok(header_revision(resp.header()));
        }
        if ambiguous
            && !txn.ops.is_empty()
            && let Some(revision) = self.applied_revision(&txn.ops).await
        {
            tracing::debug!("retried txn had been applied");
            return Ok(revision);
        }
        let responses = resp.op_responses();
        for (i, precondition) in txn.preconditions.iter().enumerate() {
            let found = txn_get(&responses, i);
            match (precondition, found) {
                (Precondition::Absent(key), Some(_)) => {
                    return Err(StoreError::AlreadyExists { key: key.clone() });
                }
                (Precondition::Exists(key), None) | (Precondition::ModRevision(key, _), None) => {
                    return Err(StoreError::NotFound { key: key.clone() });
                }
                (Precondition::ModRevision(key, rev), Some(kv)) if kv.mod_revision() != *rev => {
                    return Err(StoreError::Conflict { key: key.clone() });
                }
                _ => {}
            }
        }
        // Unreachable in practice: the else branch reads the state the compares saw.
        let key = txn.preconditions.first().map_or_else(String::new, |p| {
            let (Precondition::Absent(key)
            | Precondition::Exists(key)
            | Precondition::ModRevision(key, _)) = p;
            key.clone()
        });
        Err(StoreError::Conflict { key })
    }

    async fn watch(&self, prefix: &str, after: Revision) -> StoreResult<WatchStream> {
        let start = range_start(prefix);
        let end = prefix_end(prefix);
        let (stream, _) = self
            .inner
            .call("watch", |m| {
                let mut watch = m.client.watch_client();
                let options = WatchOptions::new()
                    .with_range(end.clone())
                    .with_start_revision(after.saturating_add(1).max(1));
                let start = start.clone();
                async move {
                    let mut stream = watch.watch(start, Some(options)).await?;
                    match stream.message().await? {
                        Some(first) => Ok((first, stream)),
                        None => Err(etcd_client::Error::WatchError(
                            "watch stream closed before it was created".into(),
                        )),
                    }
                }
            })
            .await?;
        let (first, stream) = stream;
        Ok(watch_stream(first, stream))
    }

    async fn grant_lease(&self, ttl: Duration) -> StoreResult<LeaseId> {
        let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let secs = i64::try_from(secs.max(1)).unwrap_or(i64::MAX);
        let (resp, _) = self
            .inner
            .call("grant_lease", |m| {
                let mut lease = m.client.lease_client();
                async move { lease.grant(secs, None).await }
            })
            .await?;
        if !resp.error().is_empty() {
            return Err(StoreError::Internal(format!(
                "grant_lease: {}",
                resp.error()
            )));
        }
        Ok(resp.id())
    }

    async fn keep_alive(&self, lease: LeaseId) -> StoreResult<Duration> {
        let result = self
            .inner
            .call("keep_alive", |m| {
                let mut client = m.client.lease_client();
                async move {
                    // The first refresh happens when the stream opens (it fails when the
                    // lease is gone); a second one reports the renewed TTL.
                    let (mut keeper, mut stream) = client.keep_alive(lease).await?;
                    keeper.keep_alive().await?;
                    match stream.message().await? {
                        Some(resp) if resp.ttl() > 0 => Ok(resp.ttl()),
                        Some(_) => Err(etcd_client::Error::LeaseKeepAliveError(
                            "lease not found".into(),
                        )),
                        None => Err(etcd_client::Error::LeaseKeepAliveError(
                            "keep-alive stream closed early".into(),
                        )),
                    }
                }
            })
            .await;
        match result {
            Ok((ttl, _)) => Ok(Duration::from_secs(u64::try_from(ttl).unwrap_or(0))),
            Err(StoreError::Internal(m)) if m.contains("lease not found") => {
                Err(StoreError::LeaseNotFound { lease })
            }
            Err(e) => Err(e),
        }
    }

    async fn revoke_lease(&self, lease: LeaseId) -> StoreResult<()> {
        let result = self
            .inner
            .call("revoke_lease", |m| {
                let mut client = m.client.lease_client();
                async move {
                    match client.revoke(lease).await {
                        Ok(_) => Ok(true),
                        Err(e) if is_lease_not_found(&e) => Ok(false),
                        Err(e) => Err(e),
                    }
                }
            })
            .await?;
        match result {
            (true, _) | (false, true) => Ok(()),
            (false, false) => Err(StoreError::LeaseNotFound { lease }),
        }
    }

    async fn current_revision(&self) -> StoreResult<Revision> {
        let (resp, _) = self
            .inner
            .call("current_revision", |m| {
                let mut kv = m.kv();
                async move {
                    kv.get(vec![0u8], Some(GetOptions::new().with_count_only()))
                        .await
                }
            })
            .await?;
        Ok(header_revision(resp.header()))
    }

    async fn compact(&self, revision: Revision) -> StoreResult<()> {
        let (outcome, _) = self
            .inner
            .call("compact", |m| {
                let mut kv = m.kv();
                async move {
                    match kv
                        .compact(
                            revision,
                            Some(etcd_client::CompactionOptions::new().with_physical()),
                        )
                        .await
                    {
                        Ok(_) => Ok(Ok(())),
                        // Compacting at or before an earlier compaction is a no-op.
                        Err(e) if is_compacted(&e) => Ok(Ok(())),
                        Err(e) if is_future_revision(&e) => Ok(Err(StoreError::InvalidArgument(
                            format!("cannot compact at future revision {revision}"),
                        ))),
                        Err(e) => Err(e),
                    }
                }
            })
            .await?;
        outcome
    }

    async fn ping(&self) -> StoreResult<()> {
        self.current_revision().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end("/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end(""), vec![0]);
        assert_eq!(range_start(""), vec![0]);
    }

    #[test]
    fn classification() {
        let status = |code, msg: &str| {
            Failure::Etcd(etcd_client::Error::GRpcStatus(tonic::Status::new(
                code, msg,
            )))
        };
        assert_eq!(
            classify(&status(
                Code::Unavailable,
                "error trying to connect: tcp connect error"
            )),
            Class::Unreachable
        );
        assert_eq!(
            classify(&status(Code::Unavailable, "etcdserver: no leader")),
            Class::Busy
        );
        assert_eq!(
            classify(&status(Code::Unavailable, "transport error")),
            Class::Broken
        );
        assert_eq!(
            classify(&status(Code::Unknown, "h2 protocol error: broken pipe")),
            Class::Broken
        );
        assert_eq!(
            classify(&status(
                Code::InvalidArgument,
                "etcdserver: too many operations"
            )),
            Class::Fatal
        );
        assert_eq!(
            classify(&Failure::Timeout(Duration::from_secs(1))),
            Class::Broken
        );
        assert_eq!(
            classify(&status(
                Code::Unavailable,
                "etcdserver: request timed out, possibly due to connection lost"
            )),
            Class::Busy
        );
        let keep_alive = |m: &str| {
            classify(&Failure::Etcd(etcd_client::Error::LeaseKeepAliveError(
                m.into(),
            )))
        };
        assert_eq!(keep_alive("lease not found"), Class::Fatal);
        assert_eq!(keep_alive("channel closed"), Class::Broken);
    }

    #[tokio::test]
    async fn deadlines_expire_on_the_coarse_clock() {
        let deadlines = Deadlines::start(Duration::from_millis(200));
        let start = Instant::now();
        deadlines.expire_after(Duration::from_millis(50)).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50), "expired early: {took:?}");
        assert!(took < Duration::from_secs(1), "expired late: {took:?}");
        // Without the ticking task, plain timers take over.
        deadlines.ticking.store(false, Ordering::Release);
        let start = Instant::now();
        deadlines.expire_after(Duration::from_millis(30)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn endpoints_are_normalized() {
        assert_eq!(
            normalize_endpoint("127.0.0.1:2379"),
            "http://127.0.0.1:2379"
        );
        assert_eq!(normalize_endpoint("https://e:2379"), "https://e:2379");
    }
}
