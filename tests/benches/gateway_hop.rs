//! The cost of the gateway hop: one unary gRPC call made (a) directly to the deploy
//! service, (b) through Ferry's gateway, (c) through nginx's `grpc_pass` as the peer
//! proxy, all in one run, against the targets of `performance.md` §7 (T1–T3).
//!
//! Run it on release binaries (the harness finds the binaries in `FERRY_BIN_DIR`):
//!
//! ```sh
//! cargo build --release --workspace --bins
//! FERRY_BIN_DIR=$PWD/target/release cargo bench -p ferry-e2e --bench gateway_hop
//! ```
//!
//! It starts a private etcd (or uses `FERRY_ETCD_ENDPOINTS`), one `ferry-deploy` and one
//! `ferry-gateway` process (authentication on, as in production: the gateway's calls
//! carry the bootstrap admin token, which the gateway checks on each call; rate limits
//! off), and nginx (`FERRY_NGINX`, else `nginx` on the `PATH` or in
//! `/usr/sbin`; Debian package `nginx-light`) unpacked in a temporary directory with one
//! worker, `grpc_pass` and `keepalive 128` to deploy. Without nginx it says so loudly and
//! measures the other two paths only.
//!
//! Two RPCs, each a row per path:
//! - `hop`: `ferry.common.v1.OperationsService/GetOperation` with a malformed name, which
//!   deploy answers INVALID_ARGUMENT before touching etcd: the pure cost of the hop
//!   (`grpc.health.v1.Health/Check` cannot measure it: every process answers it itself);
//! - `get-namespace`: `ferry.deploy.v1.NamespaceService/GetNamespace` on a namespace made
//!   first: a real etcd-backed read.
//!
//! Every call must return exactly the expected code (INVALID_ARGUMENT, OK); any other
//! answer is an error, reported per cell, and makes the bench exit with failure.
//!
//! The paths are interleaved (their order rotates each round) for several rounds. Each
//! cell warms up, then measures (1) latency: a concurrency-1 closed loop for a fixed
//! number of calls, p50/p90/p99 from an HDR histogram; (2) throughput: a closed loop of
//! `concurrency` tasks over a few HTTP/2 connections for a fixed time, requests/s and CPU
//! per call of the proxy (gateway, or nginx master + workers), of deploy and of this load
//! generator, from `utime + stime` in `/proc/<pid>/stat`. Ratios (gateway/direct,
//! nginx/direct, gateway/nginx) are taken per round and reported as the median over the
//! rounds. The load generator is one tokio thread; nothing is pinned (all processes share
//! the machine's cores), so absolute values are information and the ratios are the result.
//!
//! Output: a markdown table on stdout and every cell as JSON in
//! `target/bench/gateway_hop.json` (or `FERRY_BENCH_OUT`). Without `--bench` (e.g. under
//! `cargo test --all-targets`) it runs a short smoke version.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_e2e::{Launch, ServiceProcess, eventually, free_port, unique_prefix};
use ferry_proto::ferry::common::v1::GetOperationRequest;
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{CreateNamespaceRequest, GetNamespaceRequest, Namespace};
use ferry_store::testsuite::TestEtcd;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tonic::Code;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;

/// An operation name that does not match `operations/{operation}`.
const MALFORMED_OPERATION: &str = "not-an-operation-name";

/// The namespace the etcd-backed row reads.
const NAMESPACE_ID: &str = "bench-hop";

/// Targets (performance.md §7).
const T1_P50_OVERHEAD_US: f64 = 100.0;
const T1_P99_RATIO: f64 = 2.0;
const T2_CPU_US: f64 = 30.0;
const T3_RPS_RATIO: f64 = 0.75;

/// How much to measure.
#[derive(Clone, Copy, Debug)]
struct Params {
    rounds: usize,
    warmup_calls: usize,
    latency_calls: usize,
    concurrency: usize,
    connections: usize,
    throughput_for: Duration,
}

/// The measured call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rpc {
    /// GetOperation with a malformed name: INVALID_ARGUMENT without touching etcd.
    Hop,
    /// GetNamespace on an existing namespace: an etcd read.
    GetNamespace,
}

impl Rpc {
    const ALL: [Rpc; 2] = [Rpc::Hop, Rpc::GetNamespace];

    fn name(self) -> &'static str {
        match self {
            Rpc::Hop => "hop (GetOperation, INVALID_ARGUMENT)",
            Rpc::GetNamespace => "get-namespace (etcd read)",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Rpc::Hop => "hop",
            Rpc::GetNamespace => "get_namespace",
        }
    }

    /// The one answer every call must get.
    fn expected(self) -> Code {
        match self {
            Rpc::Hop => Code::InvalidArgument,
            Rpc::GetNamespace => Code::Ok,
        }
    }
}

/// Which way the call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Direct,
    Gateway,
    Nginx,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Direct => "direct",
            Route::Gateway => "gateway",
            Route::Nginx => "nginx grpc_pass",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Route::Direct => "direct",
            Route::Gateway => "gateway",
            Route::Nginx => "nginx",
        }
    }
}

/// One way to reach deploy: its address, connections, and the proxy's processes.
struct Target {
    route: Route,
    address: String,
    /// The connection of the concurrency-1 loop.
    latency_channel: Channel,
    /// The connections the throughput tasks share.
    load_channels: Vec<Channel>,
    /// The proxy's processes (none for the direct path).
    proxy_pids: Vec<u32>,
    /// What calls on this path carry (the gateway's bearer token).
    authorization: Option<AsciiMetadataValue>,
}

/// Makes calls of one kind on one connection and checks each answer's code.
struct Caller {
    rpc: Rpc,
    operations: OperationsServiceClient<Channel>,
    namespaces: NamespaceServiceClient<Channel>,
    namespace: Arc<str>,
    /// `Bearer <token>` for the gateway (authentication on, as in production).
    authorization: Option<AsciiMetadataValue>,
}

impl Caller {
    fn new(rpc: Rpc, channel: Channel, namespace: Arc<str>) -> Self {
        Self {
            rpc,
            operations: OperationsServiceClient::new(channel.clone()),
            namespaces: NamespaceServiceClient::new(channel),
            namespace,
            authorization: None,
        }
    }

    /// Calls with `authorization` (the gateway's route).
    fn with_authorization(mut self, authorization: Option<AsciiMetadataValue>) -> Self {
        self.authorization = authorization;
        self
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        request
    }

    /// One call; `Err` describes an answer other than the expected one.
    async fn call(&mut self) -> Result<(), String> {
        let result = match self.rpc {
            Rpc::Hop => {
                let request = self.request(GetOperationRequest {
                    name: MALFORMED_OPERATION.to_string(),
                });
                self.operations.get_operation(request).await.map(drop)
            }
            Rpc::GetNamespace => {
                let request = self.request(GetNamespaceRequest {
                    name: self.namespace.to_string(),
                });
                self.namespaces.get_namespace(request).await.map(drop)
            }
        };
        let (code, message) = match result {
            Ok(()) => (Code::Ok, String::new()),
            Err(status) => (status.code(), status.message().to_string()),
        };
        if code == self.rpc.expected() {
            Ok(())
        } else {
            Err(format!(
                "expected {:?}, got {code:?}: {message}",
                self.rpc.expected()
            ))
        }
    }
}

/// A latency histogram in nanoseconds (1 ns to 60 s, 3 significant digits).
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds")
}

fn micros(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1_000.0
}

/// Errors seen in a cell: how many, and the first one.
#[derive(Default)]
struct Errors {
    count: u64,
    first: Option<String>,
}

impl Errors {
    fn record(&mut self, error: String) {
        self.count += 1;
        self.first.get_or_insert(error);
    }

    fn merge(&mut self, other: Errors) {
        self.count += other.count;
        if self.first.is_none() {
            self.first = other.first;
        }
    }
}

/// The concurrency-1 result of one cell.
struct Latency {
    calls: u64,
    histogram: Histogram<u64>,
    errors: Errors,
}

/// The throughput result of one cell.
struct Throughput {
    calls: u64,
    elapsed: Duration,
    histogram: Histogram<u64>,
    errors: Errors,
    proxy_cpu_us: Option<f64>,
    backend_cpu_us: f64,
    client_cpu_us: f64,
}

impl Throughput {
    fn rps(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    fn per_call(&self, cpu_us: f64) -> f64 {
        cpu_us / self.calls.max(1) as f64
    }
}

/// One (round, RPC, path) measurement.
struct Cell {
    round: usize,
    rpc: Rpc,
    route: Route,
    latency: Latency,
    throughput: Throughput,
}

impl Cell {
    fn errors(&self) -> u64 {
        self.latency.errors.count + self.throughput.errors.count
    }

    fn first_error(&self) -> Option<&str> {
        self.latency
            .errors
            .first
            .as_deref()
            .or(self.throughput.errors.first.as_deref())
    }

    fn to_json(&self) -> Value {
        let lat = &self.latency.histogram;
        let thr = &self.throughput;
        json!({
            "round": self.round,
            "rpc": self.rpc.key(),
            "path": self.route.key(),
            "latency_c1": {
                "calls": self.latency.calls,
                "errors": self.latency.errors.count,
                "p50_us": micros(lat, 0.50),
                "p90_us": micros(lat, 0.90),
                "p99_us": micros(lat, 0.99),
                "p999_us": micros(lat, 0.999),
                "max_us": lat.max() as f64 / 1_000.0,
                "mean_us": lat.mean() / 1_000.0,
            },
            "throughput": {
                "calls": thr.calls,
                "errors": thr.errors.count,
                "seconds": thr.elapsed.as_secs_f64(),
                "rps": thr.rps(),
                "p50_us": micros(&thr.histogram, 0.50),
                "p99_us": micros(&thr.histogram, 0.99),
                "proxy_cpu_us_per_call": thr.proxy_cpu_us.map(|cpu| thr.per_call(cpu)),
                "backend_cpu_us_per_call": thr.per_call(thr.backend_cpu_us),
                "client_cpu_us_per_call": thr.per_call(thr.client_cpu_us),
            },
            "first_error": self.first_error(),
        })
    }
}

/// CPU time (user + system) of a process, in microseconds; `None` when it is gone.
fn cpu_us(pid: &str, ticks_per_second: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000.0 / ticks_per_second)
}

/// The summed CPU time of `pids`, in microseconds.
fn cpu_us_of(pids: &[u32], ticks_per_second: f64) -> f64 {
    pids.iter()
        .filter_map(|pid| cpu_us(&pid.to_string(), ticks_per_second))
        .sum()
}

/// `getconf CLK_TCK`, else Linux's usual 100.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The children of `parent` (from `/proc/*/stat`).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat[stat.rfind(')')? + 1..].to_string();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// A connection (one HTTP/2 connection per `Channel`).
async fn connect(address: &str) -> Channel {
    Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap_or_else(|error| panic!("connect to {address}: {error}"))
}

impl Target {
    async fn new(route: Route, address: String, proxy_pids: Vec<u32>, params: &Params) -> Self {
        let latency_channel = connect(&address).await;
        let mut load_channels = Vec::new();
        for _ in 0..params.connections {
            load_channels.push(connect(&address).await);
        }
        Self {
            route,
            address,
            latency_channel,
            load_channels,
            proxy_pids,
            authorization: None,
        }
    }
}

/// A fixed number of calls, one at a time.
async fn measure_latency(caller: &mut Caller, calls: usize) -> Latency {
    let mut histogram = histogram();
    let mut errors = Errors::default();
    for _ in 0..calls {
        let start = Instant::now();
        let result = caller.call().await;
        histogram.saturating_record(start.elapsed().as_nanos() as u64);
        if let Err(error) = result {
            errors.record(error);
        }
    }
    Latency {
        calls: calls as u64,
        histogram,
        errors,
    }
}

/// `concurrency` tasks calling back to back over the target's connections for `run_for`.
async fn measure_throughput(
    rpc: Rpc,
    target: &Target,
    namespace: &Arc<str>,
    params: &Params,
    backend_pid: u32,
    ticks: f64,
) -> Throughput {
    let client = || cpu_us("self", ticks).unwrap_or(0.0);
    let (proxy_before, backend_before, client_before) = (
        cpu_us_of(&target.proxy_pids, ticks),
        cpu_us_of(&[backend_pid], ticks),
        client(),
    );
    let start = Instant::now();
    let end = start + params.throughput_for;
    let mut tasks = Vec::new();
    for i in 0..params.concurrency {
        let channel = target.load_channels[i % target.load_channels.len()].clone();
        let mut caller = Caller::new(rpc, channel, namespace.clone())
            .with_authorization(target.authorization.clone());
        tasks.push(tokio::spawn(async move {
            let mut histogram = histogram();
            let mut errors = Errors::default();
            let mut calls = 0u64;
            // Bounded by time (and by the channel's timeout per call).
            while Instant::now() < end {
                let call_start = Instant::now();
                let result = caller.call().await;
                histogram.saturating_record(call_start.elapsed().as_nanos() as u64);
                calls += 1;
                if let Err(error) = result {
                    errors.record(error);
                }
            }
            (calls, histogram, errors)
        }));
    }
    let mut calls = 0;
    let mut merged = histogram();
    let mut errors = Errors::default();
    for task in tasks {
        let (task_calls, task_histogram, task_errors) = task.await.expect("load task");
        calls += task_calls;
        merged.add(&task_histogram).expect("same histogram bounds");
        errors.merge(task_errors);
    }
    let elapsed = start.elapsed();
    Throughput {
        calls,
        elapsed,
        histogram: merged,
        errors,
        proxy_cpu_us: (!target.proxy_pids.is_empty())
            .then(|| cpu_us_of(&target.proxy_pids, ticks) - proxy_before),
        backend_cpu_us: cpu_us_of(&[backend_pid], ticks) - backend_before,
        client_cpu_us: client() - client_before,
    }
}

/// nginx run unpacked in a temporary directory, stopped on drop.
struct Nginx {
    child: Child,
    address: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// The nginx binary: `FERRY_NGINX`, else `nginx` on the `PATH`, else `/usr/sbin/nginx`.
    fn binary() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("FERRY_NGINX") {
            return Some(PathBuf::from(path));
        }
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nginx"))
                .find(|path| path.is_file())
        });
        on_path.or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|path| path.is_file()))
    }

    /// Starts nginx (1 worker) proxying h2c gRPC to `upstream`.
    fn start(binary: &Path, upstream: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let d = dir.path().display();
        // The peer gets the same hygiene as the gateway: no access log, long-lived
        // connections on both sides (nginx closes a connection after 1,000 requests by
        // default, which would charge it reconnects the others do not pay).
        let config = format!(
            "worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    upstream deploy {{
        server {upstream};
        keepalive 128;
        keepalive_requests 10000000;
        keepalive_timeout 300s;
    }}
    server {{
        listen {address} http2;
        location / {{
            grpc_pass grpc://deploy;
        }}
    }}
}}
"
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&config_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-g")
            .arg("daemon off;")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        Ok(Self {
            child,
            address,
            dir,
        })
    }

    /// The master and its workers.
    fn pids(&self) -> Vec<u32> {
        let master = self.child.id();
        let mut pids = vec![master];
        pids.extend(children_of(master));
        pids
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn send(pid: u32, signal: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let workers = children_of(self.child.id());
        // TERM makes the master stop its workers (a KILLed master would orphan them).
        Nginx::send(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for worker in workers {
            if Path::new(&format!("/proc/{worker}")).exists() {
                Nginx::send(worker, "KILL");
            }
        }
    }
}

/// Loopback TCP round trip, 64-byte ping-pong: the noise probe (p50, p99 in µs).
fn loopback_rtt(samples: usize) -> (f64, f64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind probe");
    let address = listener.local_addr().expect("probe addr");
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept probe");
        stream.set_nodelay(true).expect("nodelay");
        let mut buffer = [0u8; 64];
        for _ in 0..samples {
            if stream.read_exact(&mut buffer).is_err() || stream.write_all(&buffer).is_err() {
                return;
            }
        }
    });
    let mut stream = TcpStream::connect(address).expect("connect probe");
    stream.set_nodelay(true).expect("nodelay");
    let mut histogram = histogram();
    let mut buffer = [7u8; 64];
    for _ in 0..samples {
        let start = Instant::now();
        stream.write_all(&buffer).expect("probe write");
        stream.read_exact(&mut buffer).expect("probe read");
        histogram.saturating_record(start.elapsed().as_nanos() as u64);
    }
    server.join().expect("probe server");
    (micros(&histogram, 0.5), micros(&histogram, 0.99))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn fmt(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        "–".to_string()
    }
}

/// Where the JSON goes: `FERRY_BENCH_OUT`, else `<target>/bench/gateway_hop.json`.
fn output_path() -> PathBuf {
    if let Some(path) = std::env::var_os("FERRY_BENCH_OUT") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // target/<profile>/deps/<bench> → target
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.parent()?.to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench").join("gateway_hop.json")
}

fn git_sha() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn main() -> std::process::ExitCode {
    let full = std::env::args().any(|arg| arg == "--bench");
    let params = if full {
        Params {
            rounds: 3,
            warmup_calls: 300,
            latency_calls: 3_000,
            concurrency: 32,
            connections: 4,
            throughput_for: Duration::from_secs(2),
        }
    } else {
        Params {
            rounds: 1,
            warmup_calls: 10,
            latency_calls: 50,
            concurrency: 4,
            connections: 2,
            throughput_for: Duration::from_millis(100),
        }
    };
    // One thread for the load generator: it leaves the most CPU to the processes measured.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(params, full))
}

async fn run(params: Params, full: bool) -> std::process::ExitCode {
    let bench_start = Instant::now();
    let ticks = clock_ticks();
    let bin_dir = ferry_e2e::bin_dir();
    let probe = loopback_rtt(if full { 5_000 } else { 200 });

    let etcd = TestEtcd::start();
    let prefix = unique_prefix("bench-hop");
    let mut launch = Launch::new(&etcd, &prefix);
    launch.lease_ttl = Duration::from_secs(5);
    // No per-call debug lines: the services log as they would in production.
    launch.extra_args = vec!["--log-filter".into(), "info".into()];
    let deploy = ServiceProcess::start("deploy", &launch).await;
    // Authentication on, as in production: every gateway call carries a bearer token
    // that the gateway checks (and audits nothing for: these are reads).
    let gateway = ServiceProcess::start_gateway(&launch).await;
    let authorization: AsciiMetadataValue = format!("Bearer {}", gateway.bootstrap_token().await)
        .parse()
        .expect("a header value");

    // Make the namespace, then wait until the gateway forwards to deploy.
    let namespace: Arc<str> = Arc::from(format!("namespaces/{NAMESPACE_ID}"));
    NamespaceServiceClient::new(deploy.channel().await)
        .create_namespace(CreateNamespaceRequest {
            namespace_id: NAMESPACE_ID.into(),
            namespace: Some(Namespace {
                description: "read by the gateway_hop bench".into(),
                ..Default::default()
            }),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .expect("create the bench namespace");
    let gateway_channel = gateway.channel().await;
    let forwarding = eventually(Duration::from_secs(15), || {
        let namespace = namespace.clone();
        let channel = gateway_channel.clone();
        let authorization = authorization.clone();
        async move {
            let mut caller = Caller::new(Rpc::GetNamespace, channel, namespace)
                .with_authorization(Some(authorization));
            caller.call().await.is_ok()
        }
    })
    .await;
    assert!(
        forwarding.is_some(),
        "the gateway never forwarded to deploy; log:\n{}",
        gateway.log_text()
    );

    // nginx, when there is one.
    let mut nginx_note = None;
    let nginx = match Nginx::binary() {
        None => {
            nginx_note = Some(
                "nginx NOT FOUND: the peer path is NOT measured (install it: `apt-get install -y nginx-light`, or set FERRY_NGINX)".to_string(),
            );
            None
        }
        Some(binary) => match Nginx::start(&binary, &deploy.address) {
            Err(error) => {
                nginx_note = Some(format!(
                    "nginx FAILED TO START ({error}): the peer path is NOT measured"
                ));
                None
            }
            Ok(nginx) => {
                let address = nginx.address.clone();
                let namespace = namespace.clone();
                let ready = eventually(Duration::from_secs(10), || {
                    let address = address.clone();
                    let namespace = namespace.clone();
                    async move {
                        let Ok(endpoint) = Channel::from_shared(format!("http://{address}")) else {
                            return false;
                        };
                        let Ok(channel) = endpoint.connect().await else {
                            return false;
                        };
                        let mut caller = Caller::new(Rpc::GetNamespace, channel, namespace);
                        caller.call().await.is_ok()
                    }
                })
                .await;
                if ready.is_some() {
                    Some(nginx)
                } else {
                    nginx_note = Some(format!(
                        "nginx DID NOT FORWARD within 10 s: the peer path is NOT measured; error log:\n{}",
                        nginx.error_log()
                    ));
                    None
                }
            }
        },
    };
    if let Some(note) = &nginx_note {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n!!! {note}\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
    }
    let nginx_version = nginx.as_ref().and_then(|_| {
        let binary = Nginx::binary()?;
        let output = Command::new(binary).arg("-v").output().ok()?;
        Some(String::from_utf8_lossy(&output.stderr).trim().to_string())
    });

    let mut targets = vec![
        Target::new(Route::Direct, deploy.address.clone(), Vec::new(), &params).await,
        Target {
            authorization: Some(authorization.clone()),
            ..Target::new(
                Route::Gateway,
                gateway.address.clone(),
                vec![gateway.pid()],
                &params,
            )
            .await
        },
    ];
    if let Some(nginx) = &nginx {
        targets.push(Target::new(Route::Nginx, nginx.address.clone(), nginx.pids(), &params).await);
    }

    println!(
        "gateway_hop: {} rounds, paths interleaved; per cell {} warm-up + {} calls at concurrency 1, then {} tasks over {} connections for {:?}; binaries from {}; etcd {} ({}); loopback RTT p50 {:.0} µs p99 {:.0} µs",
        params.rounds,
        params.warmup_calls,
        params.latency_calls,
        params.concurrency,
        params.connections,
        params.throughput_for,
        bin_dir.display(),
        etcd.endpoints().join(","),
        if etcd.is_private() {
            "private"
        } else {
            "shared"
        },
        probe.0,
        probe.1,
    );
    for target in &targets {
        println!("  {:<16} {}", target.route.name(), target.address);
    }

    let mut cells: Vec<Cell> = Vec::new();
    for round in 0..params.rounds {
        for rpc in Rpc::ALL {
            for k in 0..targets.len() {
                // Rotate the order each round so no path always runs first or last.
                let target = &targets[(k + round) % targets.len()];
                let mut caller =
                    Caller::new(rpc, target.latency_channel.clone(), namespace.clone())
                        .with_authorization(target.authorization.clone());
                let _ = measure_latency(&mut caller, params.warmup_calls).await;
                let latency = measure_latency(&mut caller, params.latency_calls).await;
                let throughput =
                    measure_throughput(rpc, target, &namespace, &params, deploy.pid(), ticks).await;
                eprintln!(
                    "round {} {:<38} {:<16} p50 {:>6.0} µs  p99 {:>6.0} µs  {:>7.0} req/s  errors {}",
                    round + 1,
                    rpc.name(),
                    target.route.name(),
                    micros(&latency.histogram, 0.5),
                    micros(&latency.histogram, 0.99),
                    throughput.rps(),
                    latency.errors.count + throughput.errors.count,
                );
                cells.push(Cell {
                    round,
                    rpc,
                    route: target.route,
                    latency,
                    throughput,
                });
            }
        }
    }
    let report = Report {
        cells: &cells,
        rounds: params.rounds,
    };
    let summary = report.print(nginx.is_some());
    if let Some(note) = &nginx_note {
        println!("\n**{note}**");
    }
    let errors: u64 = cells.iter().map(Cell::errors).sum();
    if errors > 0 {
        println!("\n**{errors} calls got an unexpected answer** (the numbers are not valid):");
        for cell in cells.iter().filter(|cell| cell.errors() > 0) {
            println!(
                "- round {} {} {}: {} errors, first: {}",
                cell.round + 1,
                cell.rpc.name(),
                cell.route.name(),
                cell.errors(),
                cell.first_error().unwrap_or("")
            );
        }
    }
    if !full {
        println!("\n[smoke run: pass --bench for real numbers]");
    }

    let document = json!({
        "bench": "gateway_hop",
        "full": full,
        "git_sha": git_sha(),
        "unix_time": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        "machine": {
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "loadavg": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
            "clk_tck": ticks,
        },
        "probe": { "loopback_rtt_p50_us": probe.0, "loopback_rtt_p99_us": probe.1 },
        "params": {
            "rounds": params.rounds,
            "warmup_calls": params.warmup_calls,
            "latency_calls": params.latency_calls,
            "concurrency": params.concurrency,
            "connections": params.connections,
            "throughput_seconds": params.throughput_for.as_secs_f64(),
        },
        "binaries": bin_dir.display().to_string(),
        "nginx": { "measured": nginx.is_some(), "version": nginx_version, "note": nginx_note },
        "targets": {
            "t1_p50_overhead_us": T1_P50_OVERHEAD_US,
            "t1_p99_ratio": T1_P99_RATIO,
            "t2_cpu_us_per_call": T2_CPU_US,
            "t3_rps_ratio": T3_RPS_RATIO,
        },
        "summary": summary,
        "cells": cells.iter().map(Cell::to_json).collect::<Vec<_>>(),
        "errors": errors,
        "seconds": bench_start.elapsed().as_secs_f64(),
    });
    let path = output_path();
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&document).expect("json") + "\n",
            )
        });
    match written {
        Ok(()) => println!("\nJSON: {}", path.display()),
        Err(error) => eprintln!("could not write {}: {error}", path.display()),
    }
    println!("total {:.0} s", bench_start.elapsed().as_secs_f64());

    drop(nginx);
    gateway.assert_no_error_logs();
    deploy.assert_no_error_logs();
    if errors > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// The summary tables over all rounds.
struct Report<'a> {
    cells: &'a [Cell],
    rounds: usize,
}

impl Report<'_> {
    fn cell(&self, round: usize, rpc: Rpc, route: Route) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.round == round && c.rpc == rpc && c.route == route)
    }

    /// The median over rounds of `value` of one path.
    fn median_of(&self, rpc: Rpc, route: Route, value: impl Fn(&Cell) -> f64) -> f64 {
        median(
            (0..self.rounds)
                .filter_map(|round| self.cell(round, rpc, route).map(&value))
                .collect(),
        )
    }

    /// The median over rounds of `value(a, b)` for two paths measured in the same round.
    fn median_pair(
        &self,
        rpc: Rpc,
        a: Route,
        b: Route,
        value: impl Fn(&Cell, &Cell) -> f64,
    ) -> f64 {
        median(
            (0..self.rounds)
                .filter_map(|round| {
                    Some(value(self.cell(round, rpc, a)?, self.cell(round, rpc, b)?))
                })
                .collect(),
        )
    }

    /// Prints the tables and verdicts; returns them as JSON.
    fn print(&self, with_nginx: bool) -> Value {
        let routes: Vec<Route> = if with_nginx {
            vec![Route::Direct, Route::Gateway, Route::Nginx]
        } else {
            vec![Route::Direct, Route::Gateway]
        };
        println!(
            "\n### Per path (median of {} rounds; latency at concurrency 1, throughput and CPU at the load concurrency)\n",
            self.rounds
        );
        println!(
            "| RPC | path | p50 µs | p90 µs | p99 µs | req/s | p50 µs under load | p99 µs under load | proxy CPU µs/call | deploy CPU µs/call | client CPU µs/call | errors |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        let mut per_path = Vec::new();
        for rpc in Rpc::ALL {
            for &route in &routes {
                let p50 = self.median_of(rpc, route, |c| micros(&c.latency.histogram, 0.50));
                let p90 = self.median_of(rpc, route, |c| micros(&c.latency.histogram, 0.90));
                let p99 = self.median_of(rpc, route, |c| micros(&c.latency.histogram, 0.99));
                let rps = self.median_of(rpc, route, |c| c.throughput.rps());
                let load_p50 =
                    self.median_of(rpc, route, |c| micros(&c.throughput.histogram, 0.50));
                let load_p99 =
                    self.median_of(rpc, route, |c| micros(&c.throughput.histogram, 0.99));
                let proxy_cpu = self.median_of(rpc, route, |c| {
                    c.throughput
                        .proxy_cpu_us
                        .map_or(f64::NAN, |cpu| c.throughput.per_call(cpu))
                });
                let backend_cpu = self.median_of(rpc, route, |c| {
                    c.throughput.per_call(c.throughput.backend_cpu_us)
                });
                let client_cpu = self.median_of(rpc, route, |c| {
                    c.throughput.per_call(c.throughput.client_cpu_us)
                });
                let errors: u64 = self
                    .cells
                    .iter()
                    .filter(|c| c.rpc == rpc && c.route == route)
                    .map(Cell::errors)
                    .sum();
                println!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    rpc.name(),
                    route.name(),
                    fmt(p50, 0),
                    fmt(p90, 0),
                    fmt(p99, 0),
                    fmt(rps, 0),
                    fmt(load_p50, 0),
                    fmt(load_p99, 0),
                    fmt(proxy_cpu, 1),
                    fmt(backend_cpu, 1),
                    fmt(client_cpu, 1),
                    errors,
                );
                per_path.push(json!({
                    "rpc": rpc.key(), "path": route.key(),
                    "p50_us": p50, "p90_us": p90, "p99_us": p99, "rps": rps,
                    "load_p50_us": load_p50, "load_p99_us": load_p99,
                    "proxy_cpu_us_per_call": proxy_cpu.is_finite().then_some(proxy_cpu),
                    "backend_cpu_us_per_call": backend_cpu,
                    "client_cpu_us_per_call": client_cpu,
                    "errors": errors,
                }));
            }
        }

        println!("\n### Ratios (median of the per-round values; targets from performance.md §7)\n");
        println!(
            "| RPC | proxy | p50 overhead µs (T1 ≤ {T1_P50_OVERHEAD_US:.0}) | p99 / direct (T1 ≤ {T1_P99_RATIO:.1}) | req/s / direct (T3 ≥ {T3_RPS_RATIO:.2}) | gateway req/s / nginx (> 1) | proxy CPU µs/call (T2 ≤ {T2_CPU_US:.0}) |"
        );
        println!("|---|---|---|---|---|---|---|");
        let mut ratios = Vec::new();
        for rpc in Rpc::ALL {
            for &proxy in routes.iter().filter(|r| **r != Route::Direct) {
                let overhead = self.median_pair(rpc, proxy, Route::Direct, |p, d| {
                    micros(&p.latency.histogram, 0.5) - micros(&d.latency.histogram, 0.5)
                });
                let p99_ratio = self.median_pair(rpc, proxy, Route::Direct, |p, d| {
                    micros(&p.latency.histogram, 0.99) / micros(&d.latency.histogram, 0.99)
                });
                let rps_ratio = self.median_pair(rpc, proxy, Route::Direct, |p, d| {
                    p.throughput.rps() / d.throughput.rps()
                });
                let vs_nginx = if proxy == Route::Gateway && with_nginx {
                    self.median_pair(rpc, Route::Gateway, Route::Nginx, |g, n| {
                        g.throughput.rps() / n.throughput.rps()
                    })
                } else {
                    f64::NAN
                };
                let cpu = self.median_of(rpc, proxy, |c| {
                    c.throughput
                        .proxy_cpu_us
                        .map_or(f64::NAN, |cpu| c.throughput.per_call(cpu))
                });
                let mark = |value: f64, ok: bool| {
                    if !value.is_finite() {
                        "–".to_string()
                    } else if proxy != Route::Gateway {
                        fmt(value, 2)
                    } else if ok {
                        format!("{} ✔", fmt(value, 2))
                    } else {
                        format!("{} ✘", fmt(value, 2))
                    }
                };
                println!(
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    rpc.name(),
                    proxy.name(),
                    mark(overhead, overhead <= T1_P50_OVERHEAD_US),
                    mark(p99_ratio, p99_ratio <= T1_P99_RATIO),
                    mark(rps_ratio, rps_ratio >= T3_RPS_RATIO),
                    mark(vs_nginx, vs_nginx > 1.0),
                    mark(cpu, cpu <= T2_CPU_US),
                );
                let finite = |v: f64| v.is_finite().then_some(v);
                ratios.push(json!({
                    "rpc": rpc.key(), "proxy": proxy.key(),
                    "p50_overhead_us": finite(overhead),
                    "p99_ratio": finite(p99_ratio),
                    "rps_ratio": finite(rps_ratio),
                    "rps_vs_nginx": finite(vs_nginx),
                    "proxy_cpu_us_per_call": finite(cpu),
                }));
            }
        }
        println!(
            "\n✔/✘ judge the gateway against its targets; nginx rows are the peer, shown for comparison."
        );
        json!({ "per_path": per_path, "ratios": ratios })
    }
}
