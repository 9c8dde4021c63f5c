//! Polling: an application with `polling.interval` builds the commit its ref points at
//! once, and a new commit at the next poll (the interval is at least 30 s, so this test
//! takes about that long).

mod common;

use std::time::{Duration, Instant};

use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build::{State, trigger};
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::build::v1::{
    Application, Build, BuildConfig, CreateApplicationRequest, DockerfileBuild,
    GetApplicationRequest, GitSource, ListBuildsRequest, PollingConfig,
};

async fn builds(channel: &tonic::transport::Channel) -> Vec<Build> {
    BuildServiceClient::new(channel.clone())
        .list_builds(ListBuildsRequest {
            parent: "applications/polled".into(),
            order_by: "build_number".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .builds
}

async fn wait_for_build_of(
    channel: &tonic::transport::Channel,
    sha: &str,
    limit: Duration,
) -> Build {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(build) = builds(channel).await.into_iter().find(|b| {
            b.commit.as_ref().is_some_and(|c| c.sha == sha) && b.state() == State::Succeeded
        }) {
            return build;
        }
        assert!(
            Instant::now() < deadline,
            "no successful build of {sha}: {:?}",
            builds(channel).await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn polling_builds_new_commits_once() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-polling", common::settings(work.path())).await;
    let repo = common::Repo::new();
    let first = common::commit_web_app(&repo, &base, "polled v1");
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
        polling: Some(PollingConfig {
            interval: Some(prost_types::Duration {
                seconds: 30,
                nanos: 0,
            }),
        }),
        ..Default::default()
    };
    ApplicationServiceClient::new(service.channel.clone())
        .create_application(CreateApplicationRequest {
            application_id: "polled".into(),
            application: Some(application),
            ..Default::default()
        })
        .await
        .unwrap();
    let build = wait_for_build_of(&service.channel, &first, Duration::from_secs(60)).await;
    let trigger = build.trigger.unwrap();
    assert_eq!(
        (trigger.r#type(), trigger.actor.as_str()),
        (trigger::Type::Poll, "system")
    );
    let app = ApplicationServiceClient::new(service.channel.clone())
        .get_application(GetApplicationRequest {
            name: "applications/polled".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(app.last_poll_time.is_some());

    let second = common::commit_web_app(&repo, &base, "polled v2");
    wait_for_build_of(&service.channel, &second, Duration::from_secs(75)).await;
    let all = builds(&service.channel).await;
    assert_eq!(all.len(), 2, "each commit is built once: {all:?}");
    service.stop().await;
}
