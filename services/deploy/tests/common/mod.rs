//! What the deploy service's in-process tests share: the service started over real etcd
//! with given runtimes, namespaces, operations to their end, and the Docker test engine.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use ferry_deploy::runtimes::Runtimes;
use ferry_kit::config::{ServiceConfig, StoreConfig};
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{Operation, WaitOperationRequest};
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{CreateNamespaceRequest, Namespace};
use ferry_runtime::Runtime;
use ferry_store::testsuite::TestEtcd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

/// The deploy service running in this process.
pub struct Service {
    /// A channel to it.
    pub channel: Channel,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    _etcd: TestEtcd,
}

impl Service {
    /// Starts the service on a free loopback port over the tests' etcd (under a fresh
    /// key prefix named after `label`), driving `runtimes`.
    pub async fn start(label: &str, runtimes: Vec<Arc<dyn Runtime>>) -> Service {
        let etcd = TestEtcd::start();
        let config = ServiceConfig {
            store: StoreConfig {
                endpoints: etcd.endpoints().to_vec(),
                prefix: ferry_store::keys::test_prefix(label).into_string(),
                ..Default::default()
            },
            lease_ttl: Duration::from_secs(2),
            ..Default::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtimes = Runtimes::new(runtimes);
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
        Service {
            channel,
            stop,
            server,
            _etcd: etcd,
        }
    }

    /// Stops the service and waits until it (and its controllers) ended.
    pub async fn stop(self) {
        drop(self.stop);
        let _ = self.server.await;
    }

    /// Creates a namespace on the default runtime (retrying while the service starts).
    pub async fn create_namespace(&self, id: &str) {
        let mut namespaces = NamespaceServiceClient::new(self.channel.clone());
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

/// The Docker engine of the tests (`FERRY_TEST_DOCKER_HOST`); fails the test when unset.
pub fn docker_host() -> String {
    std::env::var("FERRY_TEST_DOCKER_HOST").unwrap_or_else(|_| {
        panic!(
            "FERRY_TEST_DOCKER_HOST is not set: it must name a Docker engine's socket \
             (unix:///…); deploy/dev/test.sh starts one"
        )
    })
}

/// The echo image imported into the engine at `endpoint` under `tag`, as its image id
/// (`sha256:…`: what a single-machine Docker runtime accepts as `image_uri`).
pub async fn echo_image_id(endpoint: &str, tag: &str) -> String {
    let tag = ferry_runtime_docker::testing::import_echo_image(endpoint, tag)
        .await
        .unwrap();
    let docker = docker_client(endpoint);
    docker.inspect_image(&tag).await.unwrap().id.unwrap()
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

/// One HTTP/1.1 GET on a fresh connection to `127.0.0.1:port`; the raw answer.
pub async fn http_get(port: i32, path: &str) -> Result<String, std::io::Error> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port as u16)).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body)
}
