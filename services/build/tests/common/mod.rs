//! What the build service's tests share: the service started in-process (or as a
//! process) over real etcd with the tests' Docker engine and registry, a busybox image
//! made from Debian's busybox-static (builder and base image), git repositories made in
//! the test, and waiting for Operations.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bollard::query_parameters::{CreateImageOptions, PushImageOptions, TagImageOptions};
use ferry_build::config::BuildSettings;
use ferry_kit::config::{ServiceConfig, StoreConfig};
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{Operation, WaitOperationRequest};
use ferry_store::testsuite::TestEtcd;
use futures::TryStreamExt;
use tonic::transport::Channel;

/// The builder image the tests import (busybox-static).
pub const BUILDER_IMAGE: &str = "ferry-test-busybox:1";

/// A required environment variable; fails the test with a clear message when unset.
pub fn required_env(name: &str, what: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value,
        _ => panic!("{name} is not set: it must name {what} (deploy/dev/test.sh sets it)"),
    }
}

/// The tests' Docker engine (`FERRY_TEST_DOCKER_HOST`).
pub fn docker_host() -> String {
    required_env(
        "FERRY_TEST_DOCKER_HOST",
        "a Docker engine's socket (unix:///…)",
    )
}

/// The tests' registry (`FERRY_TEST_REGISTRY`, `host:port`).
pub fn registry() -> String {
    required_env(
        "FERRY_TEST_REGISTRY",
        "a Docker registry on loopback (host:port)",
    )
}

/// A bollard client of the tests' engine.
pub fn docker() -> bollard::Docker {
    let host = docker_host();
    bollard::Docker::connect_with_unix(
        host.trim_start_matches("unix://"),
        300,
        bollard::API_DEFAULT_VERSION,
    )
    .unwrap()
}

/// The build service running in this process.
pub struct Service {
    /// A channel to it.
    pub channel: Channel,
    /// Its address.
    pub address: std::net::SocketAddr,
    /// The store prefix it uses.
    pub prefix: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    etcd: std::sync::Arc<TestEtcd>,
}

/// The settings of a test service: the tests' engine and registry, the busybox builder.
pub fn settings(work_dir: &Path) -> BuildSettings {
    BuildSettings {
        docker_host: Some(docker_host()),
        registry: registry(),
        registry_credentials: None,
        builder_image: BUILDER_IMAGE.to_string(),
        work_dir: work_dir.to_path_buf(),
        network: "none".to_string(),
        ..Default::default()
    }
}

/// The kit configuration of a test service under `prefix`.
pub fn service_config(etcd: &TestEtcd, prefix: &str) -> ServiceConfig {
    ServiceConfig {
        store: StoreConfig {
            endpoints: etcd.endpoints().to_vec(),
            prefix: prefix.to_string(),
            ..Default::default()
        },
        lease_ttl: Duration::from_secs(2),
        ..Default::default()
    }
}

impl Service {
    /// Starts the service on a free loopback port under a fresh key prefix named after
    /// `label`.
    pub async fn start(label: &str, settings: BuildSettings) -> Service {
        let prefix = ferry_store::keys::test_prefix(label).into_string();
        Self::start_with(std::sync::Arc::new(TestEtcd::start()), &prefix, settings).await
    }

    /// Starts the service under `prefix` of `etcd` (shared with other services or
    /// replicas of the test: without `FERRY_ETCD_ENDPOINTS` each `TestEtcd` is a
    /// private server).
    pub async fn start_with(
        etcd: std::sync::Arc<TestEtcd>,
        prefix: &str,
        settings: BuildSettings,
    ) -> Service {
        let config = service_config(&etcd, prefix);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            ferry_build::run_with(config, settings, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let channel = Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect_lazy();
        let service = Service {
            channel,
            address,
            prefix: prefix.to_string(),
            stop,
            server,
            etcd,
        };
        service.wait_ready().await;
        service
    }

    async fn wait_ready(&self) {
        let mut client = ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient::new(self.channel.clone());
        for _ in 0..100 {
            if client
                .list_applications(
                    ferry_proto::ferry::build::v1::ListApplicationsRequest::default(),
                )
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the build service did not answer");
    }

    /// A store client over the same etcd and prefix.
    pub async fn store(&self) -> std::sync::Arc<dyn ferry_store::Store> {
        ferry_kit::server::connect_store(&service_config(&self.etcd, &self.prefix))
            .await
            .unwrap()
    }

    /// The etcd endpoints.
    pub fn etcd_endpoints(&self) -> Vec<String> {
        self.etcd.endpoints().to_vec()
    }

    /// Stops the service and waits until it ended.
    pub async fn stop(self) {
        drop(self.stop);
        let _ = self.server.await;
    }
}

/// Waits (up to `limit`) until `operation` is done.
pub async fn wait(channel: &Channel, mut operation: Operation, limit: Duration) -> Operation {
    let mut operations = OperationsServiceClient::new(channel.clone());
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if operation.done {
            return operation;
        }
        operation = operations
            .wait_operation(WaitOperationRequest {
                name: operation.name.clone(),
                timeout: Some(prost_types::Duration {
                    seconds: 1,
                    nanos: 0,
                }),
            })
            .await
            .unwrap()
            .into_inner();
    }
    panic!(
        "operation {} did not end in {limit:?}: {operation:?}",
        operation.name
    );
}

/// A root filesystem of Debian's busybox-static: `/bin/busybox` and one symlink per
/// applet, as a tar.
fn busybox_rootfs() -> Vec<u8> {
    let busybox =
        std::fs::read("/bin/busybox").expect("/bin/busybox is missing: install busybox-static");
    let list = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("run busybox --list");
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(busybox.len() as u64);
    header.set_mode(0o755);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, "bin/busybox", busybox.as_slice())
        .unwrap();
    for applet in String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox")
    {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_mode(0o777);
        builder
            .append_link(&mut header, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    for (path, content) in [
        ("etc/passwd", "root:x:0:0:root:/:/bin/sh\n"),
        ("etc/group", "root:x:0:\n"),
        ("tmp/.keep", ""),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, path, content.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

/// Imports the busybox image into the tests' engine as [`BUILDER_IMAGE`] and pushes it
/// to the tests' registry as `<registry>/base/busybox:1`; returns that reference.
pub async fn prepare_images() -> String {
    // Once per process: importing again would change the base under running builds.
    static ONCE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = ONCE.lock().await;
    let docker = docker();
    let base_repo = format!("{}/base/busybox", registry());
    let missing = docker
        .inspect_image(&format!("{base_repo}:1"))
        .await
        .is_err()
        || docker.inspect_image(BUILDER_IMAGE).await.is_err();
    if missing {
        let options = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some("ferry-test-busybox".into()),
            tag: Some("1".into()),
            changes: vec!["ENV PATH=/bin".into(), r#"CMD ["/bin/sh"]"#.into()],
            ..Default::default()
        };
        docker
            .create_image(
                Some(options),
                Some(bollard::body_full(busybox_rootfs().into())),
                None,
            )
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        docker
            .tag_image(
                BUILDER_IMAGE,
                Some(TagImageOptions {
                    repo: Some(base_repo.clone()),
                    tag: Some("1".into()),
                }),
            )
            .await
            .unwrap();
    }
    // Pushed every time (a no-op when the registry has it): the registry may be newer
    // than the engine's image.
    docker
        .push_image(
            &base_repo,
            Some(PushImageOptions {
                tag: Some("1".into()),
                ..Default::default()
            }),
            None,
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    format!("{base_repo}:1")
}

/// A git repository made in the test.
pub struct Repo {
    /// Its directory.
    pub dir: PathBuf,
    _temp: tempfile::TempDir,
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

impl Repo {
    /// A new repository with branch `main`.
    pub fn new() -> Repo {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("app");
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "--quiet", "--initial-branch=main"]);
        git(&dir, &["config", "user.email", "dev@example.com"]);
        git(&dir, &["config", "user.name", "Dev"]);
        Repo { dir, _temp: temp }
    }

    /// Writes files and commits them; returns the commit sha.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, content) in files {
            let path = self.dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        git(&self.dir, &["add", "-A"]);
        git(&self.dir, &["commit", "--quiet", "-m", message]);
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    /// The URL builds fetch.
    pub fn url(&self) -> String {
        self.dir.display().to_string()
    }
}

/// The tiny web application: the build writes `www/index.html` from `message.txt`, the
/// test checks it, the image serves it with busybox httpd on port 8080.
pub fn web_app_files(base_image: &str, message: &str) -> Vec<(String, String)> {
    vec![
        ("message.txt".to_string(), format!("{message}\n")),
        (
            "Dockerfile".to_string(),
            format!(
                "FROM {base_image}\nCOPY www /www\nEXPOSE 8080\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n"
            ),
        ),
    ]
}

/// Commits the web application with `message`.
pub fn commit_web_app(repo: &Repo, base_image: &str, message: &str) -> String {
    let files = web_app_files(base_image, message);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    repo.commit(&refs, message)
}

/// The build script of the web application: uses the cache to show warm builds.
pub const BUILD_SCRIPT: &str = "mkdir -p www\ncp message.txt www/index.html\nif [ -f \"$FERRY_CACHE_DIR/deps\" ]; then echo cache-warm; else echo cache-cold; echo fetched > \"$FERRY_CACHE_DIR/deps\"; fi\necho built\n";

/// The test script of the web application.
pub const TEST_SCRIPT: &str = "test -s www/index.html\necho tests-passed\n";

/// An HTTP GET on `127.0.0.1:port`; the raw answer.
pub async fn http_get(port: i32, path: &str) -> Result<String, std::io::Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port as u16)).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body)
}

/// The deploy service running in this process, sharing the build service's etcd and
/// key prefix (as in a real installation).
pub struct DeployService {
    /// A channel to it.
    pub channel: Channel,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    _etcd: std::sync::Arc<TestEtcd>,
}

impl DeployService {
    /// Starts the deploy service next to `build` (same etcd, same key prefix) with
    /// `runtimes`.
    pub async fn start(
        build: &Service,
        runtimes: Vec<std::sync::Arc<dyn ferry_runtime::Runtime>>,
    ) -> DeployService {
        let etcd = build.etcd.clone();
        let config = service_config(&etcd, &build.prefix);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtimes = ferry_deploy::runtimes::Runtimes::new(runtimes);
        let server = tokio::spawn(async move {
            ferry_deploy::run_with(config, runtimes, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let channel = Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect_lazy();
        let mut namespaces =
            ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient::new(
                channel.clone(),
            );
        for _ in 0..100 {
            if namespaces
                .list_namespaces(ferry_proto::ferry::deploy::v1::ListNamespacesRequest::default())
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        DeployService {
            channel,
            stop,
            server,
            _etcd: etcd,
        }
    }

    /// Creates a platform-wide secret with one key.
    pub async fn create_secret(&self, id: &str, key: &str, value: &[u8]) {
        let mut secrets =
            ferry_proto::ferry::deploy::v1::secret_service_client::SecretServiceClient::new(
                self.channel.clone(),
            );
        secrets
            .create_secret(ferry_proto::ferry::deploy::v1::CreateSecretRequest {
                secret_id: id.to_string(),
                secret: Some(ferry_proto::ferry::deploy::v1::Secret {
                    data: [(key.to_string(), value.to_vec())].into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// Stops it.
    pub async fn stop(self) {
        drop(self.stop);
        let _ = self.server.await;
    }
}
