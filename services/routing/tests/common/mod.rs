//! What the routing service's tests share: the deploy and routing services started
//! in-process over the tests' real etcd (`FERRY_ETCD_ENDPOINTS`) under one key prefix,
//! the Docker test engine (`FERRY_TEST_DOCKER_HOST`), and small TCP/HTTP clients.

#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ferry_kit::config::{ServiceConfig, StoreConfig};
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{Operation, WaitOperationRequest};
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{CreateNamespaceRequest, Namespace};
use ferry_routing::RoutingOptions;
use ferry_runtime::Runtime;
use ferry_store::{EtcdConfig, EtcdStore, PrefixedStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

/// The etcd endpoints of the tests; fails the test when unset.
pub fn etcd_endpoints() -> Vec<String> {
    let endpoints = std::env::var("FERRY_ETCD_ENDPOINTS").unwrap_or_else(|_| {
        panic!(
            "FERRY_ETCD_ENDPOINTS is not set: it must name a running etcd \
             (http://127.0.0.1:2379, comma-separated); deploy/dev/test.sh starts one"
        )
    });
    endpoints.split(',').map(str::to_string).collect()
}

/// The Docker engine of the tests (`FERRY_TEST_DOCKER_HOST`); fails the test when unset.
pub fn docker_host() -> String {
    std::env::var("FERRY_TEST_DOCKER_HOST").unwrap_or_else(|_| {
        panic!(
            "FERRY_TEST_DOCKER_HOST is not set: it must name a Docker engine's socket \
             (unix:///…); deploy/dev/test.sh starts one"
        )
    })
}

/// One service running in this process.
pub struct Running {
    /// A channel to it.
    pub channel: Channel,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the service and waits until it ended.
    pub async fn stop(self) {
        drop(self.stop);
        let _ = self.server.await;
    }
}

/// The configuration of a test service under `prefix`.
pub fn config(prefix: &str) -> ServiceConfig {
    ServiceConfig {
        store: StoreConfig {
            endpoints: etcd_endpoints(),
            prefix: prefix.to_string(),
            ..Default::default()
        },
        lease_ttl: Duration::from_secs(2),
        ..Default::default()
    }
}

async fn serve<F, Fut>(run: F) -> Running
where
    F: FnOnce(tokio::net::TcpListener, tokio::sync::oneshot::Receiver<()>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(listener, stopped));
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    Running {
        channel,
        stop,
        server,
    }
}

/// Starts the deploy service under `prefix`, driving `runtimes`.
pub async fn start_deploy(prefix: &str, runtimes: Vec<Arc<dyn Runtime>>) -> Running {
    let config = config(prefix);
    let runtimes = ferry_deploy::runtimes::Runtimes::new(runtimes);
    serve(move |listener, stopped| async move {
        ferry_deploy::run_with(config, runtimes, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    })
    .await
}

/// Starts the routing service under `prefix` with `options`.
pub async fn start_routing(prefix: &str, options: RoutingOptions) -> Running {
    let config = config(prefix);
    serve(move |listener, stopped| async move {
        ferry_routing::run_with(config, options, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    })
    .await
}

/// A store under `prefix` of the tests' etcd (to look at what the services wrote).
pub async fn store(prefix: &str) -> Arc<dyn Store> {
    let etcd = EtcdStore::connect(EtcdConfig {
        endpoints: etcd_endpoints(),
        ..EtcdConfig::default()
    })
    .await
    .unwrap();
    Arc::new(PrefixedStore::new(etcd, prefix.to_string()))
}

/// Every key under `/ferry/v1/routing/` with its mod revision.
pub async fn routing_keys(store: &dyn Store) -> Vec<(String, i64)> {
    store
        .list("/ferry/v1/routing/", ferry_store::ListOptions::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|kv| (kv.key, kv.mod_revision))
        .collect()
}

/// Creates a namespace on the default runtime (retrying while the service starts).
pub async fn create_namespace(channel: &Channel, id: &str) {
    let mut namespaces = NamespaceServiceClient::new(channel.clone());
    for attempt in 0.. {
        match namespaces
            .create_namespace(CreateNamespaceRequest {
                namespace_id: id.to_string(),
                namespace: Some(Namespace::default()),
                ..Default::default()
            })
            .await
        {
            Ok(_) => return,
            Err(status) if attempt < 50 && status.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("create namespace {id}: {status:?}"),
        }
    }
}

/// Waits (up to about 2 minutes) until `operation` is done.
pub async fn wait(channel: &Channel, mut operation: Operation) -> Operation {
    let mut operations = OperationsServiceClient::new(channel.clone());
    for _ in 0..120 {
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
    panic!("operation {} did not end: {operation:?}", operation.name);
}

/// A bollard client of the engine at `endpoint` (`unix://…`).
pub fn docker_client(endpoint: &str) -> bollard::Docker {
    bollard::Docker::connect_with_unix(
        endpoint.trim_start_matches("unix://"),
        60,
        bollard::API_DEFAULT_VERSION,
    )
    .unwrap()
}

/// The echo image imported into the engine at `endpoint` under `tag`, as its image id.
pub async fn echo_image_id(endpoint: &str, tag: &str) -> String {
    let tag = ferry_runtime_docker::testing::import_echo_image(endpoint, tag)
        .await
        .unwrap();
    docker_client(endpoint)
        .inspect_image(&tag)
        .await
        .unwrap()
        .id
        .unwrap()
}

/// A port in the node-port range nothing on this machine listens on now.
pub fn free_node_port(seed: u32) -> i32 {
    for offset in 0..2768u32 {
        let port = 30000 + ((seed + offset * 7919) % 2768);
        if std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as i32;
        }
    }
    panic!("no free port in 30000..32767");
}

/// One HTTP/1.1 GET of `path` on a fresh connection to `target`, from `source` when
/// given; the raw answer.
pub async fn http_get(
    target: SocketAddr,
    source: Option<IpAddr>,
    path: &str,
) -> std::io::Result<String> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Some(source) = source {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    let mut stream = tokio::time::timeout(Duration::from_secs(5), socket.connect(target))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut body = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut body))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out"))??;
    Ok(body)
}

/// The `instance=` line of an echo answer, when it is a 200.
pub fn echo_instance(answer: &str) -> Option<String> {
    if !answer.starts_with("HTTP/1.1 200") {
        return None;
    }
    answer
        .lines()
        .find_map(|line| line.strip_prefix("instance="))
        .map(str::to_string)
}

/// The deployment template of the echo app (`image`): its `http` port 8080, ready when
/// `/healthz` answers (checked every 200 ms), and `VERSION` set when `version` is given
/// (the echo app answers it).
pub fn echo_template(
    image: &str,
    version: Option<&str>,
) -> ferry_proto::ferry::deploy::v1::DeploymentTemplate {
    use ferry_proto::ferry::common::v1::{
        ContainerPort, EnvVar, HealthCheck, HttpProbe, env_var, health_check,
    };
    use ferry_proto::ferry::deploy::v1::{DeploymentTemplate, deployment_template};
    DeploymentTemplate {
        image_source: Some(deployment_template::ImageSource::ImageUri(
            image.to_string(),
        )),
        env: version
            .map(|version| EnvVar {
                name: "VERSION".into(),
                source: Some(env_var::Source::Value(version.into())),
            })
            .into_iter()
            .collect(),
        ports: vec![ContainerPort {
            name: "http".into(),
            port: 8080,
            protocol: 0,
        }],
        readiness_check: Some(HealthCheck {
            probe: Some(health_check::Probe::Http(HttpProbe {
                path: "/healthz".into(),
                port: 8080,
                ..Default::default()
            })),
            period: Some(prost_types::Duration {
                seconds: 0,
                nanos: 200_000_000,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The READY instances of `deployment` as the deploy service lists them.
pub async fn ready_instances(
    channel: &Channel,
    deployment: &str,
) -> Vec<ferry_proto::ferry::deploy::v1::Instance> {
    use ferry_proto::ferry::deploy::v1::instance_service_client::InstanceServiceClient;
    use ferry_proto::ferry::deploy::v1::{ListInstancesRequest, instance};
    InstanceServiceClient::new(channel.clone())
        .list_instances(ListInstancesRequest {
            parent: deployment.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .instances
        .into_iter()
        .filter(|i| i.state() == instance::State::Ready)
        .collect()
}
