//! The autoscaler on a real Docker engine (`FERRY_TEST_DOCKER_HOST`, started by
//! deploy/dev/test.sh) with real CPU load: the project's echo server at 1 replica with a
//! policy (1 to 3 replicas, a low CPU threshold, short cool-downs); a load loop calling
//! `/burn` on the instances' published ports scales it up, and it comes back down once
//! the load stops. The CPU figures are the engine's container stats.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferry_proto::ferry::common::v1::{
    ContainerPort, HealthCheck, HttpProbe, ResourceQuantities, ResourceRequirements, health_check,
    operation,
};
use ferry_proto::ferry::deploy::v1::autoscaling_policy::{Direction, UtilizationThresholds};
use ferry_proto::ferry::deploy::v1::autoscaling_service_client::AutoscalingServiceClient;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::instance_service_client::InstanceServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use ferry_runtime::Runtime;
use ferry_runtime_docker::{DockerRuntime, EngineConfig};
use tonic::transport::Channel;

fn template(image: &str) -> DeploymentTemplate {
    DeploymentTemplate {
        image_source: Some(deployment_template::ImageSource::ImageUri(
            image.to_string(),
        )),
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
        // 100 millicores requested: the policy's percentages are of this.
        resources: Some(ResourceRequirements {
            requests: Some(ResourceQuantities {
                cpu_millis: 100,
                ..Default::default()
            }),
            limits: None,
        }),
        ..Default::default()
    }
}

/// The published HTTP ports of the deployment's ready instances.
async fn ready_ports(channel: &Channel, deployment: &str) -> Vec<i32> {
    InstanceServiceClient::new(channel.clone())
        .list_instances(ListInstancesRequest {
            parent: deployment.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().instances)
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.state() == instance::State::Ready)
        .filter_map(|i| i.ports.first().map(|p| p.host_port))
        .collect()
}

async fn replicas(channel: &Channel, deployment: &str) -> i32 {
    DeploymentServiceClient::new(channel.clone())
        .get_deployment(GetDeploymentRequest {
            name: deployment.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .replicas
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_load_scales_the_echo_server_up_and_idling_scales_it_down_on_docker() {
    let endpoint = common::docker_host();
    let image_id = common::echo_image_id(&endpoint, "ferry-test/echo:autoscale").await;
    let _docker = common::docker_client(&endpoint);

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
        "autoscale-docker",
        vec![Arc::new(runtime.clone()) as Arc<dyn Runtime>],
    )
    .await;
    let channel = service.channel.clone();

    // A namespace on the Docker runtime (unique per run: the engine is shared).
    let ns = format!("as{}", std::process::id());
    service.create_namespace(&ns).await;
    let created = DeploymentServiceClient::new(channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: "echo".into(),
            deployment: Some(Deployment {
                template: Some(template(&image_id)),
                replicas: Some(1),
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
    assert_eq!(ready_ports(&channel, &name).await.len(), 1);

    // Load: each ready instance burns 50 ms of CPU every ~100 ms (about a third of a
    // core, several times its 100 m request).
    let loading = Arc::new(AtomicBool::new(true));
    let load = {
        let (channel, name, loading) = (channel.clone(), name.clone(), loading.clone());
        tokio::spawn(async move {
            let mut requests = 0u64;
            while loading.load(Ordering::Relaxed) {
                let ports = ready_ports(&channel, &name).await;
                let calls = ports
                    .iter()
                    .map(|port| common::http_get(*port, "/burn?ms=50"));
                for answer in futures::future::join_all(calls).await {
                    if answer.is_ok_and(|body| body.contains("burned")) {
                        requests += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            requests
        })
    };

    let started = Instant::now();
    let policy = AutoscalingServiceClient::new(channel.clone())
        .update_autoscaling_policy(UpdateAutoscalingPolicyRequest {
            autoscaling_policy: Some(AutoscalingPolicy {
                name: format!("{name}/autoscalingPolicy"),
                enabled: true,
                min_replicas: 1,
                max_replicas: 3,
                cpu: Some(UtilizationThresholds {
                    target_percent: 40,
                    scale_up_threshold_percent: 60,
                    scale_down_threshold_percent: 20,
                }),
                scale_down_step: Some(CountOrPercent {
                    value: Some(count_or_percent::Value::Count(2)),
                }),
                scale_up_cooldown: Some(prost_types::Duration {
                    seconds: 2,
                    nanos: 0,
                }),
                scale_down_cooldown: Some(prost_types::Duration {
                    seconds: 5,
                    nanos: 0,
                }),
                evaluation_window: Some(prost_types::Duration {
                    seconds: 15,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            allow_missing: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let policy_name = policy.name.clone();

    // Up to 3 under load, and the new instances serve.
    let mut seen = vec![(1, Duration::ZERO)];
    loop {
        let now = replicas(&channel, &name).await;
        if now != seen.last().unwrap().0 {
            seen.push((now, started.elapsed()));
        }
        if now == 3 && ready_ports(&channel, &name).await.len() == 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(45),
            "not at 3 replicas 45 s into the load: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let up = started.elapsed();
    println!("under load: replicas over time {seen:?}; 3 ready after {up:?}");
    assert!(seen.iter().all(|(r, _)| (1..=3).contains(r)), "{seen:?}");
    let scaled_up = AutoscalingServiceClient::new(channel.clone())
        .get_autoscaling_policy(GetAutoscalingPolicyRequest {
            name: policy_name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(scaled_up.last_scale_direction(), Direction::Up);
    assert!(
        scaled_up.last_scale_reason.starts_with("cpu "),
        "{scaled_up:?}"
    );
    println!(
        "last scale-up: {} → {} ({}); CPU {} % of the request",
        scaled_up.last_scale_from_replicas,
        scaled_up.last_scale_to_replicas,
        scaled_up.last_scale_reason,
        scaled_up.current_cpu_utilization_percent
    );

    // Stop the load: back to 1 after the window and the cool-down.
    loading.store(false, Ordering::Relaxed);
    let requests = load.await.unwrap();
    assert!(requests > 0, "the load loop reached no instance");
    let idle = Instant::now();
    loop {
        if replicas(&channel, &name).await == 1 {
            break;
        }
        assert!(
            idle.elapsed() < Duration::from_secs(45),
            "still above 1 replica 45 s after the load stopped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let down = idle.elapsed();
    let scaled_down = AutoscalingServiceClient::new(channel.clone())
        .get_autoscaling_policy(GetAutoscalingPolicyRequest {
            name: policy_name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(scaled_down.last_scale_direction(), Direction::Down);
    let gap =
        scaled_down.last_scale_time.unwrap().seconds - scaled_up.last_scale_time.unwrap().seconds;
    assert!(gap >= 5, "scaled down {gap} s after the last scale-up");
    let started_idle = Instant::now();
    while ready_ports(&channel, &name).await.len() != 1 {
        assert!(started_idle.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "idle: back to 1 replica {down:?} after the load stopped ({}); {requests} burn \
         requests served; whole test {:?}",
        scaled_down.last_scale_reason,
        started.elapsed()
    );

    service.stop().await;
    runtime.delete_namespace(&ns).await.unwrap();
}
