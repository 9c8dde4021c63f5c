//! The development flow end to end on one Docker engine: a git commit is built into an
//! image in the registry, deployed by the deploy service (in-process, Docker runtime)
//! and answers HTTP; a second commit is built and rolled out automatically to the
//! application's auto-deploy deployment; an image that runs is not deleted.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build::State;
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::build::v1::image_service_client::ImageServiceClient;
use ferry_proto::ferry::build::v1::{
    Application, AutoDeployConfig, Build, BuildConfig, CreateApplicationRequest,
    CreateBuildRequest, DeleteApplicationRequest, DeleteImageRequest, DockerfileBuild,
    GetBuildRequest, GetImageRequest, GitSource, TestConfig,
};
use ferry_proto::ferry::common::v1::{
    ContainerPort, HealthCheck, HttpProbe, Operation, health_check, operation,
};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::instance_service_client::InstanceServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateDeploymentRequest, CreateNamespaceRequest, Deployment, DeploymentTemplate,
    ListInstancesRequest, Namespace, deployment_template, instance,
};
use ferry_runtime::Runtime;
use ferry_runtime_docker::{DockerRuntime, EngineConfig};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

async fn build(channel: &Channel, app: &str) -> Build {
    let operation = BuildServiceClient::new(channel.clone())
        .create_build(CreateBuildRequest {
            parent: format!("applications/{app}"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let operation = common::wait(channel, operation, Duration::from_secs(180)).await;
    let name = operation.metadata.unwrap().target;
    BuildServiceClient::new(channel.clone())
        .get_build(GetBuildRequest { name })
        .await
        .unwrap()
        .into_inner()
}

/// Waits until every ready instance of `deployment` answers with `expected`.
async fn answers(channel: &Channel, deployment: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let instances = InstanceServiceClient::new(channel.clone())
            .list_instances(ListInstancesRequest {
                parent: deployment.into(),
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
        let mut all = !ready.is_empty();
        let mut seen = Vec::new();
        for instance in &ready {
            let body = common::http_get(instance.ports[0].host_port, "/")
                .await
                .unwrap_or_default();
            all &= body.contains(expected);
            seen.push(body);
        }
        if all {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{deployment} does not answer {expected:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_are_built_deployed_and_rolled_out() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-deliver", common::settings(work.path())).await;
    let runtime = DockerRuntime::new(
        "docker",
        vec![EngineConfig {
            host: "engine-1".into(),
            endpoint: common::docker_host(),
            region: "r1".into(),
            zone: "z1".into(),
        }],
    )
    .unwrap();
    let deploy =
        common::DeployService::start(&service, vec![Arc::new(runtime) as Arc<dyn Runtime>]).await;
    let ns = format!("bld{}", std::process::id());
    NamespaceServiceClient::new(deploy.channel.clone())
        .create_namespace(CreateNamespaceRequest {
            namespace_id: ns.clone(),
            namespace: Some(Namespace::default()),
            ..Default::default()
        })
        .await
        .unwrap();
    let deployment = format!("namespaces/{ns}/deployments/shop");

    let repo = common::Repo::new();
    common::commit_web_app(&repo, &base, "hello v1");
    let application = Application {
        source: Some(GitSource {
            repository_url: repo.url(),
            r#ref: "main".into(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: common::BUILD_SCRIPT.into(),
            test: Some(TestConfig {
                script: common::TEST_SCRIPT.into(),
                ..Default::default()
            }),
            mode: Some(Mode::Dockerfile(DockerfileBuild::default())),
            ..Default::default()
        }),
        auto_deploy: Some(AutoDeployConfig {
            deployments: vec![deployment.clone()],
        }),
        ..Default::default()
    };
    ApplicationServiceClient::new(service.channel.clone())
        .create_application(CreateApplicationRequest {
            application_id: "shop".into(),
            application: Some(application),
            ..Default::default()
        })
        .await
        .unwrap();

    // v1: built; its auto-deploy target does not exist yet (recorded as an error).
    let first = build(&service.channel, "shop").await;
    assert_eq!(first.state(), State::Succeeded, "{first:?}");
    assert_eq!(first.auto_deployments.len(), 1);
    assert_eq!(
        first.auto_deployments[0].error.as_ref().unwrap().code,
        Code::NotFound as i32
    );

    // Deployed by the deploy service from the registry reference, pinned by digest.
    let template = DeploymentTemplate {
        image_source: Some(deployment_template::ImageSource::ImageUri(
            first.image_uri.clone(),
        )),
        ports: vec![ContainerPort {
            name: "http".into(),
            port: 8080,
            protocol: 0,
        }],
        readiness_check: Some(HealthCheck {
            probe: Some(health_check::Probe::Http(HttpProbe {
                path: "/".into(),
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
    };
    let created = DeploymentServiceClient::new(deploy.channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: "shop".into(),
            deployment: Some(Deployment {
                template: Some(template),
                replicas: Some(2),
                auto_update: true,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = common::wait(&deploy.channel, created, Duration::from_secs(120)).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    answers(&deploy.channel, &deployment, "hello v1").await;

    // v2: a new commit, built and rolled out by the development flow.
    common::commit_web_app(&repo, &base, "hello v2");
    let second = build(&service.channel, "shop").await;
    assert_eq!(second.state(), State::Succeeded, "{second:?}");
    assert_eq!(second.auto_deployments.len(), 1, "{second:?}");
    let rollout = &second.auto_deployments[0];
    assert_eq!(rollout.deployment, deployment);
    assert!(rollout.error.is_none(), "{rollout:?}");
    let rolled = common::wait(
        &deploy.channel,
        Operation {
            name: rollout.operation.clone(),
            ..Default::default()
        },
        Duration::from_secs(120),
    )
    .await;
    assert!(
        matches!(rolled.result, Some(operation::Result::Response(_))),
        "{rolled:?}"
    );
    answers(&deploy.channel, &deployment, "hello v2").await;

    // The running image cannot be deleted; the replaced one can.
    let mut images = ImageServiceClient::new(service.channel.clone());
    let running = images
        .get_image(GetImageRequest {
            name: second.image.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(running.deployed_in, vec![deployment.clone()]);
    let refused = images
        .delete_image(DeleteImageRequest {
            name: second.image.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains(&deployment), "{refused:?}");
    assert_eq!(
        refused
            .get_details_precondition_failure()
            .unwrap()
            .violations[0]
            .subject,
        deployment
    );
    images
        .delete_image(DeleteImageRequest {
            name: first.image.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        images
            .get_image(GetImageRequest {
                name: first.image.clone()
            })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    // Its manifest left the registry with its last record.
    let manifest = format!(
        "http://{}/v2/applications/shop/manifests/{}",
        common::registry(),
        first.image_digest
    );
    let answer = reqwest::Client::new()
        .get(manifest)
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 404, "the manifest is deleted");
    // Nor the application, even with force.
    let refused = ApplicationServiceClient::new(service.channel.clone())
        .delete_application(DeleteApplicationRequest {
            name: "applications/shop".into(),
            force: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);

    deploy.stop().await;
    service.stop().await;
}
