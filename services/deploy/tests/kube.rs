//! The deploy service in-process over real etcd and a real Kubernetes API server (the
//! cluster named by `FERRY_TEST_KUBECONFIG`; deploy/dev/test.sh starts kube-apiserver,
//! controller manager, scheduler and kwok's simulated nodes): the same rollout logic as on
//! Docker, moving instances between per-revision ReplicaSets.

mod common;

use std::sync::Arc;
use std::time::Duration;

use ferry_proto::ferry::common::v1::{ContainerPort, EnvVar, LocationAffinity, env_var, operation};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::instance_service_client::InstanceServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use ferry_runtime::Runtime;
use ferry_runtime_kube::KubeRuntime;
use k8s_openapi::api::apps::v1::ReplicaSet;

const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn kubeconfig() -> String {
    std::env::var("FERRY_TEST_KUBECONFIG").unwrap_or_else(|_| {
        panic!(
            "FERRY_TEST_KUBECONFIG is not set: it must name the kubeconfig of a cluster; \
             deploy/dev/test.sh starts a test control plane (deploy/dev/kube/for-tests.sh)"
        )
    })
}

fn template(version: &str, zone: Option<(&str, &str)>) -> DeploymentTemplate {
    DeploymentTemplate {
        image_source: Some(deployment_template::ImageSource::ImageUri(format!(
            "registry.example/echo@{DIGEST}"
        ))),
        env: vec![EnvVar {
            name: "VERSION".into(),
            source: Some(env_var::Source::Value(version.into())),
        }],
        ports: vec![ContainerPort {
            name: "http".into(),
            port: 8080,
            protocol: 0,
        }],
        location_affinity: zone.map(|(region, zone)| LocationAffinity {
            region: region.into(),
            zone: zone.into(),
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_roll_out_between_replica_sets_on_kubernetes() {
    let runtime = KubeRuntime::from_kubeconfig("kubernetes", kubeconfig())
        .await
        .unwrap();
    let client = runtime.client().clone();
    let hosts = runtime.hosts().await.unwrap();
    let zoned = hosts
        .iter()
        .find(|h| !h.zone.is_empty())
        .expect("a node with a zone label")
        .clone();

    let service = common::Service::start(
        "deploy-kube",
        vec![Arc::new(runtime.clone()) as Arc<dyn Runtime>],
    )
    .await;
    let channel = service.channel.clone();

    let ns = format!("k{}", std::process::id());
    service.create_namespace(&ns).await;

    // Three instances pinned to one zone.
    let created = DeploymentServiceClient::new(channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: "web".into(),
            deployment: Some(Deployment {
                template: Some(template("v1", Some((&zoned.region, &zoned.zone)))),
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
    let name = format!("namespaces/{ns}/deployments/web");
    let instances = InstanceServiceClient::new(channel.clone())
        .list_instances(ListInstancesRequest {
            parent: name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .instances;
    let ready: Vec<_> = instances
        .iter()
        .filter(|i| i.state() == instance::State::Ready)
        .collect();
    assert_eq!(ready.len(), 3, "{instances:?}");
    assert!(ready.iter().all(|i| i.zone == zoned.zone), "{ready:?}");

    // v2: the controller moves the instances from ReplicaSet web-r1 to web-r2.
    let update = DeploymentServiceClient::new(channel.clone())
        .update_deployment(UpdateDeploymentRequest {
            deployment: Some(Deployment {
                name: name.clone(),
                template: Some(template("v2", None)),
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
    let started = std::time::Instant::now();
    let done = common::wait(&channel, update).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    println!(
        "rolling update of 3 instances on kubernetes: {:?}",
        started.elapsed()
    );
    let replica_sets: kube::Api<ReplicaSet> = kube::Api::namespaced(client, &ns);
    let mut settled = false;
    for _ in 0..100 {
        let list = replica_sets.list(&Default::default()).await.unwrap();
        let names: Vec<String> = list
            .items
            .iter()
            .filter_map(|rs| rs.metadata.name.clone())
            .collect();
        let r2 = list
            .items
            .iter()
            .find(|rs| rs.metadata.name.as_deref() == Some("web-r2"));
        let replicas = r2.and_then(|rs| rs.spec.replicas);
        if names == vec!["web-r2".to_string()] && replicas == Some(3) {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        settled,
        "web-r1 was not removed or web-r2 does not hold 3 replicas"
    );

    service.stop().await;
    runtime.delete_namespace(&ns).await.unwrap();
}
