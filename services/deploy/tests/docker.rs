//! The deploy service in-process over real etcd and a real Docker engine
//! (`FERRY_TEST_DOCKER_HOST`, started by deploy/dev/test.sh): a deployment of the
//! project's echo server is created, rolled out to a new version, and repaired after a
//! `docker kill`, all through the gRPC API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_deploy::runtimes::Runtimes;
use ferry_kit::config::ServiceConfig;
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{
    ContainerPort, EnvVar, HealthCheck, HttpProbe, Operation, WaitOperationRequest, env_var,
    health_check, operation,
};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::instance_service_client::InstanceServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use ferry_runtime::Runtime;
use ferry_runtime_docker::{DockerRuntime, EngineConfig};
use ferry_store::testsuite::TestEtcd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

fn docker_host() -> String {
    std::env::var("FERRY_TEST_DOCKER_HOST").unwrap_or_else(|_| {
        panic!(
            "FERRY_TEST_DOCKER_HOST is not set: it must name a Docker engine's socket \
             (unix:///…); deploy/dev/test.sh starts one"
        )
    })
}

async fn http_get(port: i32, path: &str) -> Result<String, std::io::Error> {
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

async fn wait(channel: &Channel, mut operation: Operation) -> Operation {
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

fn template(image: &str, version: &str) -> DeploymentTemplate {
    DeploymentTemplate {
        image_source: Some(deployment_template::ImageSource::ImageUri(
            image.to_string(),
        )),
        env: vec![EnvVar {
            name: "VERSION".into(),
            source: Some(env_var::Source::Value(version.into())),
        }],
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

async fn ready_instances(channel: &Channel, deployment: &str) -> Vec<Instance> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_roll_out_and_repair_on_docker() {
    let endpoint = docker_host();
    let tag = ferry_runtime_docker::testing::import_echo_image(&endpoint, "ferry-test/echo:deploy")
        .await
        .unwrap();
    let docker = bollard::Docker::connect_with_unix(
        endpoint.trim_start_matches("unix://"),
        60,
        bollard::API_DEFAULT_VERSION,
    )
    .unwrap();
    let image_id = docker.inspect_image(&tag).await.unwrap().id.unwrap();

    let etcd = TestEtcd::start();
    let runtime = DockerRuntime::new(
        "docker",
        vec![EngineConfig {
            host: "engine-1".into(),
            endpoint: endpoint.clone(),
            region: "r1".into(),
            zone: "z1".into(),
        }],
    )
    .unwrap();
    let config = ServiceConfig {
        store: ferry_kit::config::StoreConfig {
            endpoints: etcd.endpoints().to_vec(),
            prefix: ferry_store::keys::test_prefix("deploy-docker").into_string(),
            ..Default::default()
        },
        lease_ttl: Duration::from_secs(2),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runtimes = Runtimes::new(vec![Arc::new(runtime.clone()) as Arc<dyn Runtime>]);
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

    // A namespace on the Docker runtime (unique per run: the engine is shared).
    let ns = format!("e2e{}", std::process::id());
    let mut namespaces = NamespaceServiceClient::new(channel.clone());
    for attempt in 0.. {
        match namespaces
            .create_namespace(CreateNamespaceRequest {
                namespace_id: ns.clone(),
                namespace: Some(Namespace::default()),
                ..Default::default()
            })
            .await
        {
            Ok(_) => break,
            Err(status) if attempt < 50 && status.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("{status:?}"),
        }
    }

    let created = DeploymentServiceClient::new(channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: "echo".into(),
            deployment: Some(Deployment {
                template: Some(template(&image_id, "v1")),
                replicas: Some(3),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = wait(&channel, created).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    let name = format!("namespaces/{ns}/deployments/echo");
    let instances = ready_instances(&channel, &name).await;
    assert_eq!(instances.len(), 3, "{instances:?}");
    for instance in &instances {
        let body = http_get(instance.ports[0].host_port, "/").await.unwrap();
        assert!(body.contains("version=v1"), "{body}");
    }

    // Roll out v2 while a client keeps calling the ready instances (it refreshes the
    // list from the API every 50 ms, as a proxy following readiness would): no request
    // may fail, and the answers move from v1 to v2.
    let load_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let targets = Arc::new(std::sync::Mutex::new(
        instances
            .iter()
            .map(|i| i.ports[0].host_port)
            .collect::<Vec<i32>>(),
    ));
    let refresher = {
        let (channel, name, targets, load_stop) = (
            channel.clone(),
            name.clone(),
            targets.clone(),
            load_stop.clone(),
        );
        tokio::spawn(async move {
            while !load_stop.load(std::sync::atomic::Ordering::Relaxed) {
                let ports: Vec<i32> = ready_instances(&channel, &name)
                    .await
                    .iter()
                    .map(|i| i.ports[0].host_port)
                    .collect();
                if !ports.is_empty() {
                    *targets.lock().unwrap() = ports;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let client = {
        let (targets, load_stop) = (targets.clone(), load_stop.clone());
        tokio::spawn(async move {
            let (mut ok, mut failed, mut v1, mut v2, mut n) =
                (0u32, Vec::new(), 0u32, 0u32, 0usize);
            while !load_stop.load(std::sync::atomic::Ordering::Relaxed) {
                let port = {
                    let targets = targets.lock().unwrap();
                    targets[n % targets.len()]
                };
                n += 1;
                match http_get(port, "/").await {
                    Ok(body) if body.starts_with("HTTP/1.1 200") => {
                        ok += 1;
                        if body.contains("version=v1") {
                            v1 += 1
                        }
                        if body.contains("version=v2") {
                            v2 += 1
                        }
                    }
                    Ok(body) => failed.push(format!(
                        "port {port}: {}",
                        body.lines().next().unwrap_or("")
                    )),
                    Err(error) => failed.push(format!("port {port}: {error}")),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (ok, failed, v1, v2)
        })
    };
    let started = Instant::now();
    let update = DeploymentServiceClient::new(channel.clone())
        .update_deployment(UpdateDeploymentRequest {
            deployment: Some(Deployment {
                name: name.clone(),
                template: Some(template(&image_id, "v2")),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["template".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = wait(&channel, update).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    let rollout_time = started.elapsed();
    // Keep calling through the drain of the last old instance.
    tokio::time::sleep(Duration::from_secs(3)).await;
    load_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed, v1, v2) = client.await.unwrap();
    refresher.await.unwrap();
    println!(
        "rolling update of 3 instances on docker: {rollout_time:?}; {ok} requests answered (v1 {v1}, v2 {v2}), {} failed",
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "requests failed during the rollout: {failed:?}"
    );
    assert!(
        v1 > 0 && v2 > 0,
        "the answers did not move from v1 to v2 (v1 {v1}, v2 {v2})"
    );
    let instances = ready_instances(&channel, &name).await;
    assert_eq!(instances.len(), 3);
    for instance in &instances {
        assert!(instance.revision.ends_with("/revisions/r2"));
        let body = http_get(instance.ports[0].host_port, "/").await.unwrap();
        assert!(body.contains("version=v2"), "{body}");
    }

    // docker kill one: a replacement with the same env answers within 10 s.
    let victim = instances[0].display_name.clone();
    let killed_at = Instant::now();
    docker
        .kill_container(
            &victim,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    let mut replaced = None;
    while killed_at.elapsed() < Duration::from_secs(10) {
        let now = ready_instances(&channel, &name).await;
        if now.len() == 3 && now.iter().all(|i| i.display_name != victim) {
            replaced = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let replaced = replaced.expect("the killed instance was not replaced within 10 s");
    println!(
        "killed instance replaced and ready after {:?}",
        killed_at.elapsed()
    );
    for instance in &replaced {
        let body = http_get(instance.ports[0].host_port, "/env/VERSION")
            .await
            .unwrap();
        assert!(body.ends_with("v2"), "{body}");
    }

    // v3 crashes at start: the rollout rolls back to r2 by itself.
    let mut crashing = template(&image_id, "v3");
    crashing.env.push(EnvVar {
        name: "CRASH".into(),
        source: Some(env_var::Source::Value("1".into())),
    });
    let update = DeploymentServiceClient::new(channel.clone())
        .update_deployment(UpdateDeploymentRequest {
            deployment: Some(Deployment {
                name: name.clone(),
                template: Some(crashing),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["template".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let started = Instant::now();
    let done = wait(&channel, update).await;
    let Some(operation::Result::Error(error)) = &done.result else {
        panic!("the crashing rollout succeeded: {done:?}");
    };
    assert!(error.message.contains("rolled back"), "{error:?}");
    println!(
        "crashing v3 detected and rolled back in {:?}",
        started.elapsed()
    );
    let deployment = DeploymentServiceClient::new(channel.clone())
        .get_deployment(GetDeploymentRequest { name: name.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deployment.current_revision, format!("{name}/revisions/r2"));
    let instances = ready_instances(&channel, &name).await;
    assert_eq!(instances.len(), 3);
    assert!(
        instances
            .iter()
            .all(|i| i.revision.ends_with("/revisions/r2")),
        "{instances:?}"
    );

    // Clean up once the service (and its controllers) stopped: the namespace's
    // containers and network go with it.
    drop(stop);
    let _ = server.await;
    runtime.delete_namespace(&ns).await.unwrap();
}
