//! The production flow on one Docker engine: an image is promoted to the QA namespace,
//! approved there (the gate records who and when), released to production (the same
//! digest, never rebuilt); another promotion is rejected; an image with an unfinished
//! promotion is not deleted.

mod common;

use std::sync::Arc;
use std::time::Duration;

use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build::State as BuildState;
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::build::v1::gate_record::{Decision, Gate};
use ferry_proto::ferry::build::v1::image_service_client::ImageServiceClient;
use ferry_proto::ferry::build::v1::promotion::State;
use ferry_proto::ferry::build::v1::promotion_service_client::PromotionServiceClient;
use ferry_proto::ferry::build::v1::{
    Application, ApprovePromotionRequest, Build, BuildConfig, CreateApplicationRequest,
    CreateBuildRequest, CreatePromotionRequest, DeleteImageRequest, DockerfileBuild,
    GetBuildRequest, GetPromotionRequest, GitSource, ListBuildsRequest, ProductionFlowConfig,
    Promotion, RejectPromotionRequest, ReleasePromotionRequest,
};
use ferry_proto::ferry::common::v1::{ContainerPort, operation};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateDeploymentRequest, CreateNamespaceRequest, Deployment, DeploymentTemplate,
    GetDeploymentRequest, Namespace, deployment_template,
};
use ferry_runtime::Runtime;
use ferry_runtime_docker::{DockerRuntime, EngineConfig};
use tonic::Code;
use tonic::transport::Channel;

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

async fn deploy_in(channel: &Channel, ns: &str, image_uri: &str) {
    NamespaceServiceClient::new(channel.clone())
        .create_namespace(CreateNamespaceRequest {
            namespace_id: ns.into(),
            namespace: Some(Namespace::default()),
            ..Default::default()
        })
        .await
        .unwrap();
    let created = DeploymentServiceClient::new(channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: "store".into(),
            deployment: Some(Deployment {
                template: Some(DeploymentTemplate {
                    image_source: Some(deployment_template::ImageSource::ImageUri(
                        image_uri.into(),
                    )),
                    ports: vec![ContainerPort {
                        name: "http".into(),
                        port: 8080,
                        protocol: 0,
                    }],
                    ..Default::default()
                }),
                replicas: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = common::wait(channel, created, Duration::from_secs(120)).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
}

async fn running_digest(channel: &Channel, deployment: &str) -> String {
    let deployment = DeploymentServiceClient::new(channel.clone())
        .get_deployment(GetDeploymentRequest {
            name: deployment.into(),
        })
        .await
        .unwrap()
        .into_inner();
    deployment
        .current_image_uri
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_goes_through_qa_to_production_unchanged() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-promote", common::settings(work.path())).await;
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
    let (qa, prod) = (
        format!("qa{}", std::process::id()),
        format!("prod{}", std::process::id()),
    );
    let repo = common::Repo::new();
    common::commit_web_app(&repo, &base, "store v1");
    let application = Application {
        source: Some(GitSource {
            repository_url: repo.url(),
            r#ref: "main".into(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: common::BUILD_SCRIPT.into(),
            mode: Some(Mode::Dockerfile(DockerfileBuild::default())),
            ..Default::default()
        }),
        production_flow: Some(ProductionFlowConfig {
            qa_namespace: format!("namespaces/{qa}"),
            production_namespaces: vec![format!("namespaces/{prod}")],
            qa_approval_required: true,
            release_gate_required: true,
            separate_release_actor: false,
        }),
        ..Default::default()
    };
    ApplicationServiceClient::new(service.channel.clone())
        .create_application(CreateApplicationRequest {
            application_id: "store".into(),
            application: Some(application),
            ..Default::default()
        })
        .await
        .unwrap();
    let first = build(&service.channel, "store").await;
    assert_eq!(first.state(), BuildState::Succeeded);
    deploy_in(&deploy.channel, &qa, &first.image_uri).await;
    deploy_in(&deploy.channel, &prod, &first.image_uri).await;
    common::commit_web_app(&repo, &base, "store v2");
    let second = build(&service.channel, "store").await;
    assert_eq!(second.state(), BuildState::Succeeded);
    let qa_deployment = format!("namespaces/{qa}/deployments/store");
    let prod_deployment = format!("namespaces/{prod}/deployments/store");

    // Promote v2: it runs in QA, production keeps v1.
    let mut promotions = PromotionServiceClient::new(service.channel.clone());
    let operation = promotions
        .create_promotion(CreatePromotionRequest {
            parent: "applications/store".into(),
            promotion_id: "rel-1".into(),
            promotion: Some(Promotion {
                image: second.image.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = common::wait(&service.channel, operation, Duration::from_secs(120)).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    let name = "applications/store/promotions/rel-1".to_string();
    let pending = promotions
        .get_promotion(GetPromotionRequest { name: name.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.state(), State::PendingQa);
    assert!(pending.qa_ready_time.is_some());
    assert_eq!(
        running_digest(&deploy.channel, &qa_deployment).await,
        second.image_digest
    );
    assert_eq!(
        running_digest(&deploy.channel, &prod_deployment).await,
        first.image_digest
    );
    // The release gate comes after the QA gate.
    let early = promotions
        .release_promotion(ReleasePromotionRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    // An image with an unfinished promotion is kept.
    let kept = ImageServiceClient::new(service.channel.clone())
        .delete_image(DeleteImageRequest {
            name: second.image.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(kept.code(), Code::FailedPrecondition);
    let promoted = ImageServiceClient::new(service.channel.clone())
        .get_image(ferry_proto::ferry::build::v1::GetImageRequest {
            name: second.image.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(promoted.promotions, vec![name.clone()]);

    // QA approves (with the etag it saw), then the release rolls the same digest out.
    let approved = promotions
        .approve_promotion(ApprovePromotionRequest {
            name: name.clone(),
            etag: pending.etag.clone(),
            comment: "QA passed".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.state(), State::QaApproved);
    let gate = &approved.gates[0];
    assert_eq!(
        (gate.gate(), gate.decision(), gate.comment.as_str()),
        (Gate::Qa, Decision::Approved, "QA passed")
    );
    assert!(gate.decide_time.is_some() && !gate.automatic);
    let builds_before = BuildServiceClient::new(service.channel.clone())
        .list_builds(ListBuildsRequest {
            parent: "applications/store".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .total_size;
    let release = promotions
        .release_promotion(ReleasePromotionRequest {
            name: name.clone(),
            comment: "CHG-42".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = common::wait(&service.channel, release, Duration::from_secs(120)).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    let released = promotions
        .get_promotion(GetPromotionRequest { name: name.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(released.state(), State::Released);
    assert!(released.release_time.is_some());
    assert_eq!(released.gates.len(), 2);
    assert_eq!(released.gates[1].gate(), Gate::Release);
    assert_eq!(
        running_digest(&deploy.channel, &prod_deployment).await,
        second.image_digest,
        "production runs the approved digest"
    );
    let builds_after = BuildServiceClient::new(service.channel.clone())
        .list_builds(ListBuildsRequest {
            parent: "applications/store".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .total_size;
    assert_eq!(
        builds_before, builds_after,
        "nothing is rebuilt on the way to production"
    );

    // Another promotion of v1 is rejected at QA.
    let operation = promotions
        .create_promotion(CreatePromotionRequest {
            parent: "applications/store".into(),
            promotion: Some(Promotion {
                image: first.image.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = common::wait(&service.channel, operation, Duration::from_secs(120)).await;
    let other = done.metadata.unwrap().target;
    let rejected = promotions
        .reject_promotion(RejectPromotionRequest {
            name: other.clone(),
            comment: "regression".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rejected.state(), State::QaRejected);
    assert_eq!(rejected.gates[0].decision(), Decision::Rejected);
    let late = promotions
        .approve_promotion(ApprovePromotionRequest {
            name: other,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    // A target outside the flow is refused.
    let refused = promotions
        .create_promotion(CreatePromotionRequest {
            parent: "applications/store".into(),
            promotion: Some(Promotion {
                image: first.image.clone(),
                production_namespace: "namespaces/elsewhere".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    deploy.stop().await;
    service.stop().await;
}
