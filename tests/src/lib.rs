//! The end-to-end harness: starts Ferry's compiled binaries as real processes against a
//! real etcd, on free loopback ports, and talks to them over gRPC.
//!
//! Binaries are looked up in `FERRY_BIN_DIR`, else next to the test executable's
//! `target/<profile>/` folder (`deploy/dev/test.sh` builds them first). etcd is the one
//! named by `FERRY_ETCD_ENDPOINTS`, else a private one this harness starts; every test
//! uses its own key prefix, so tests share one etcd safely.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry_store::testsuite::TestEtcd;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

/// Every service binary, in start order.
pub const SERVICES: &[&str] = &[
    "gateway", "build", "deploy", "catalog", "storage", "routing",
];

/// The name of a gateway's bootstrap token file, next to its log.
const BOOTSTRAP_FILE: &str = "bootstrap-token";

/// `authorization: Bearer <token>` metadata on every call of a client
/// (`FooClient::with_interceptor(channel, bearer(token))`).
pub fn bearer(
    token: &str,
) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone + use<> {
    let value: tonic::metadata::MetadataValue<tonic::metadata::Ascii> = format!("Bearer {token}")
        .parse()
        .expect("a token is valid metadata");
    move |mut request: tonic::Request<()>| {
        request
            .metadata_mut()
            .insert("authorization", value.clone());
        Ok(request)
    }
}

/// Where the service binaries are.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FERRY_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target folder")
        .to_path_buf()
}

/// The path of `ferry-<service>`; panics with what to do when it was not built.
pub fn bin_path(service: &str) -> PathBuf {
    let path = bin_dir().join(format!("ferry-{service}"));
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`, as deploy/dev/test.sh does)",
        path.display()
    );
    path
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("local addr")
        .port()
}

/// A unique etcd key prefix for one test (passed as `--etcd-prefix`).
pub fn unique_prefix(label: &str) -> String {
    format!(
        "/e2e-{label}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// One running service process.
pub struct ServiceProcess {
    /// Service name (`deploy`, …).
    pub service: String,
    /// Its gRPC address.
    pub address: String,
    /// Its instance id (as registered).
    pub instance_id: String,
    child: Child,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
}

/// How to start a service.
#[derive(Clone, Debug)]
pub struct Launch {
    /// etcd endpoints (`--etcd-endpoints`).
    pub etcd_endpoints: Vec<String>,
    /// Key prefix (`--etcd-prefix`).
    pub prefix: String,
    /// Lease TTL (`--lease-ttl`).
    pub lease_ttl: Duration,
    /// Extra command-line arguments.
    pub extra_args: Vec<String>,
}

impl Launch {
    /// A launch against `etcd` under `prefix`, with a 2 s lease TTL.
    pub fn new(etcd: &TestEtcd, prefix: &str) -> Self {
        Self {
            etcd_endpoints: etcd.endpoints().to_vec(),
            prefix: prefix.to_string(),
            lease_ttl: Duration::from_secs(2),
            extra_args: Vec::new(),
        }
    }
}

impl ServiceProcess {
    /// Starts `ferry-<service>` on a free port; does not wait for it.
    pub fn spawn(service: &str, launch: &Launch) -> Self {
        Self::spawn_with_env(service, launch, &[])
    }

    /// Starts `ferry-<service>` on a free port with extra environment variables (e.g.
    /// `FERRY_DOCKER_ENGINES`); does not wait for it.
    ///
    /// A gateway writes its bootstrap admin token to a file of its own
    /// ([`ServiceProcess::bootstrap_token`]) and runs with authentication disabled
    /// (`FERRY_AUTH=disabled`, set explicitly here for the tests that predate issue 4)
    /// unless `env` sets `FERRY_AUTH` (e.g. to `enabled`, as `tests/auth.rs` does), and
    /// without rate limits (`FERRY_RATE_LIMIT=off`: load tests call far above a token's
    /// default rate) unless `env` sets `FERRY_RATE_LIMIT` (as `tests/limits.rs` does).
    pub fn spawn_with_env(service: &str, launch: &Launch, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let instance_id = format!(
            "{service}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let log_dir = tempfile::tempdir().expect("log dir");
        let log = log_dir.path().join(format!("{service}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(bin_path(service));
        if service == "gateway" {
            command
                .env("FERRY_AUTH", "disabled")
                .env("FERRY_RATE_LIMIT", "off")
                .env(
                    "FERRY_BOOTSTRAP_TOKEN_FILE",
                    log_dir.path().join(BOOTSTRAP_FILE),
                );
        }
        let child = command
            .arg("--listen")
            .arg(&address)
            .arg("--instance-id")
            .arg(&instance_id)
            .arg("--etcd-endpoints")
            .arg(launch.etcd_endpoints.join(","))
            .arg("--etcd-prefix")
            .arg(&launch.prefix)
            .arg("--lease-ttl")
            .arg(format!("{}ms", launch.lease_ttl.as_millis()))
            .arg("--shutdown-grace")
            .arg("2s")
            .args(&launch.extra_args)
            .env("FERRY_LOG", "info,ferry_store=debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("spawn service");
        Self {
            service: service.to_string(),
            address,
            instance_id,
            child,
            log,
            _log_dir: log_dir,
        }
    }

    /// Starts a service and waits until its health says SERVING.
    pub async fn start(service: &str, launch: &Launch) -> Self {
        Self::start_with_env(service, launch, &[]).await
    }

    /// Starts a service with extra environment variables and waits until it has bound its
    /// port and its health says SERVING.
    ///
    /// The port comes from [`free_port`], so another process (a parallel test's service)
    /// may take it between the probe and the bind: a health check on the address would
    /// then be answered by that other process. So the process must first log that *it*
    /// serves on the address; one that could not bind it is started again on another port.
    pub async fn start_with_env(service: &str, launch: &Launch, env: &[(&str, &str)]) -> Self {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            let mut process = Self::spawn_with_env(service, launch, env);
            if process.wait_bound(Duration::from_secs(20)).await {
                process.wait_serving(Duration::from_secs(20)).await;
                return process;
            }
            println!(
                "{service}: port {} was taken before it bound it (attempt {attempt} of {ATTEMPTS})",
                process.address
            );
        }
        panic!("{service} could not bind a free port in {ATTEMPTS} attempts");
    }

    /// Waits until the process logs that it serves on its address (`true`), or exits
    /// because the address was taken (`false`); panics with the log on any other exit or
    /// after `timeout`.
    async fn wait_bound(&mut self, timeout: Duration) -> bool {
        let serving_here = format!("address={}", self.address);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let log = self.log_text();
            if log
                .lines()
                .any(|line| line.contains("serving") && line.contains(&serving_here))
            {
                return true;
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let log = self.log_text();
                assert!(
                    log.contains("cannot bind the listen address"),
                    "{} exited ({status}) before serving; log:\n{log}",
                    self.service
                );
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "{} did not serve on {} within {timeout:?}; log:\n{}",
            self.service,
            self.address,
            self.log_text()
        );
    }

    /// Starts a gateway with authentication on (as in production) and waits until its
    /// health says SERVING; [`ServiceProcess::admin_channel`] calls it as its bootstrap
    /// admin.
    pub async fn start_gateway(launch: &Launch) -> Self {
        Self::start_with_env("gateway", launch, &[("FERRY_AUTH", "enabled")]).await
    }

    /// A channel to this gateway that calls with its bootstrap admin token.
    pub async fn admin_channel(&self) -> GatewayChannel {
        let token = self.bootstrap_token().await;
        GatewayChannel::new(self.channel().await, &token)
    }

    /// The bootstrap admin token a gateway wrote on its first start (waits up to 10 s
    /// for the file); panics with the log when none appears.
    pub async fn bootstrap_token(&self) -> String {
        let path = self.log.parent().expect("log dir").join(BOOTSTRAP_FILE);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(&path)
                && !text.trim().is_empty()
            {
                return text.trim().to_string();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{} wrote no bootstrap token to {}; log:\n{}",
            self.service,
            path.display(),
            self.log_text()
        );
    }

    /// The path of the gateway's bootstrap token file.
    pub fn bootstrap_token_file(&self) -> PathBuf {
        self.log.parent().expect("log dir").join(BOOTSTRAP_FILE)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A channel to the service.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .await
            .expect("connect to service")
    }

    /// The overall health status, or `None` when it does not answer.
    pub async fn health(&self) -> Option<ServingStatus> {
        let channel = Channel::from_shared(format!("http://{}", self.address))
            .ok()?
            .connect_timeout(Duration::from_millis(500))
            .timeout(Duration::from_secs(2))
            .connect()
            .await
            .ok()?;
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .ok()?;
        ServingStatus::try_from(response.into_inner().status).ok()
    }

    /// Waits until health says SERVING; panics with the log otherwise.
    pub async fn wait_serving(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.health().await == Some(ServingStatus::Serving) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{} did not become SERVING within {timeout:?}; log:\n{}",
            self.service,
            self.log_text()
        );
    }

    /// Sends a signal (`STOP`, `CONT`, `TERM`, `KILL`).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Waits for the process to exit; returns its exit code (None when killed by a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {timeout:?}",
                self.service
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the service logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics when the service logged an ERROR line (a bug or a lost invariant).
    pub fn assert_no_error_logs(&self) {
        let text = self.log_text();
        let errors: Vec<&str> = text
            .lines()
            // The level is the second field (after the timestamp): a message that
            // merely contains the word (e.g. an exit reason) is no error.
            .filter(|line| line.split_whitespace().nth(1) == Some("ERROR"))
            .collect();
        assert!(
            errors.is_empty(),
            "{} logged errors:\n{}",
            self.service,
            errors.join("\n")
        );
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(self.pid().to_string())
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `check` until it returns true or `timeout` passes; returns how long it took.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// A channel to a gateway that sends `authorization: Bearer <token>` with every call
/// (usable wherever a generated client takes a `Channel`).
#[derive(Clone)]
pub struct GatewayChannel {
    channel: Channel,
    authorization: tonic::codegen::http::HeaderValue,
}

impl GatewayChannel {
    /// `channel`, authenticated with `token`.
    pub fn new(channel: Channel, token: &str) -> Self {
        let mut authorization: tonic::codegen::http::HeaderValue = format!("Bearer {token}")
            .parse()
            .expect("a token is a valid header value");
        authorization.set_sensitive(true);
        Self {
            channel,
            authorization,
        }
    }
}

impl tonic::codegen::Service<tonic::codegen::http::Request<tonic::body::Body>> for GatewayChannel {
    type Response = tonic::codegen::http::Response<tonic::body::Body>;
    type Error = tonic::transport::Error;
    type Future = <Channel as tonic::codegen::Service<
        tonic::codegen::http::Request<tonic::body::Body>,
    >>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tonic::codegen::Service::poll_ready(&mut self.channel, cx)
    }

    fn call(
        &mut self,
        mut request: tonic::codegen::http::Request<tonic::body::Body>,
    ) -> Self::Future {
        request.headers_mut().insert(
            tonic::codegen::http::header::AUTHORIZATION,
            self.authorization.clone(),
        );
        tonic::codegen::Service::call(&mut self.channel, request)
    }
}

/// The `ErrorInfo` reason and domain of a status (panics when it has none: every Ferry
/// error must carry one).
pub fn error_info(status: &tonic::Status) -> (String, String) {
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo on {status:?}"));
    (info.reason.clone(), info.domain.clone())
}

/// The fields named by a status's `BadRequest` violations.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a status's code and its `ErrorInfo` reason and domain.
#[track_caller]
pub fn assert_error(status: &tonic::Status, code: tonic::Code, reason: &str, domain: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(
        error_info(status),
        (reason.to_string(), domain.to_string()),
        "{status:?}"
    );
}

/// Watches an operation until its stream ends, and checks the stream's contract: at
/// least the current state, every update but the last unfinished, the last one done.
/// Each update must arrive within 10 s. Returns every update seen.
pub async fn watch_operation_to_end<T>(
    channel: T,
    name: &str,
) -> Vec<ferry_proto::ferry::common::v1::Operation>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    use ferry_proto::ferry::common::v1::WatchOperationRequest;
    use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;

    let mut stream = OperationsServiceClient::new(channel)
        .watch_operation(WatchOperationRequest {
            name: name.to_string(),
        })
        .await
        .expect("watch the operation")
        .into_inner();
    let mut seen = Vec::new();
    while let Some(update) = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the stream went quiet")
        .expect("the stream failed")
    {
        seen.push(update);
    }
    let last = seen.last().expect("at least the current state");
    assert!(
        last.done,
        "the stream ends with the finished operation: {seen:?}"
    );
    assert!(
        seen[..seen.len() - 1].iter().all(|update| !update.done),
        "{seen:?}"
    );
    seen
}
