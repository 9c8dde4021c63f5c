//! The deploy service in-process over real etcd and a real Docker engine
//! (`FERRY_TEST_DOCKER_HOST`, started by deploy/dev/test.sh): a deployment of the
//! project's echo server is created, rolled out to a new version, and repaired after a
//! `docker kill`, all through the gRPC API.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_proto::ferry::common::v1::{
    ContainerPort, EnvVar, HealthCheck, HttpProbe, env_var, health_check, operation,
};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::instance_service_client::InstanceServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use ferry_runtime::Runtime;
use ferry_runtime_docker::{DockerRuntime, EngineConfig};
use tonic::transport::Channel;

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
    let endpoint = common::docker_host();
    let image_id = common::echo_image_id(&endpoint, "ferry-test/echo:deploy").await;
    let docker = common::docker_client(&endpoint);

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
    let service = common::Service::start(
        "deploy-docker",
        vec![Arc::new(runtime.clone()) as Arc<dyn Runtime>],
    )
    .await;
    let channel = service.channel.clone();

    // A namespace on the Docker runtime (unique per run: the engine is shared).
    let ns = format!("e2e{}", std::process::id());
    service.create_namespace(&ns).await;

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
    let done = common::wait(&channel, created).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    let name = format!("namespaces/{ns}/deployments/echo");
    let instances = ready_instances(&channel, &name).await;
    assert_eq!(instances.len(), 3, "{instances:?}");
    for instance in &instances {
        let body = common::http_get(instance.ports[0].host_port, "/")
            .await
            .unwrap();
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
                match common::http_get(port, "/").await {
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
    let done = common::wait(&channel, update).await;
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
        let body = common::http_get(instance.ports[0].host_port, "/")
            .await
            .unwrap();
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
        let body = common::http_get(instance.ports[0].host_port, "/env/VERSION")
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
    let done = common::wait(&channel, update).await;
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
    service.stop().await;
    runtime.delete_namespace(&ns).await.unwrap();
}
