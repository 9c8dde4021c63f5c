//! Push webhooks: a bad signature, an unknown application or a foreign repository is
//! refused and nothing is built; pings and other refs are ignored; a signed GitHub push
//! builds exactly the pushed commit, once (redeliveries are duplicates); a GitLab token
//! push builds too.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use ferry_build::webhook::model::github_signature;
use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build::State;
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::build::v1::receive_webhook_response::{IgnoreReason, Outcome};
use ferry_proto::ferry::build::v1::webhook_service_client::WebhookServiceClient;
use ferry_proto::ferry::build::v1::{
    Application, BuildConfig, CreateApplicationRequest, DockerfileBuild, GetBuildRequest,
    GitSource, ListBuildsRequest, ReceiveWebhookRequest, WebhookConfig, WebhookProvider,
};
use ferry_proto::ferry::common::v1::{Operation, SecretRef};
use tonic::Code;
use tonic_types::StatusExt;

fn github_push(url: &str, git_ref: &str, after: &str) -> Vec<u8> {
    serde_json::json!({
        "ref": git_ref,
        "after": after,
        "deleted": false,
        "repository": {"clone_url": url, "default_branch": "main"},
        "sender": {"login": "octocat"},
    })
    .to_string()
    .into_bytes()
}

fn delivery(payload: Vec<u8>, signature: String, event: &str, id: &str) -> ReceiveWebhookRequest {
    ReceiveWebhookRequest {
        application: "applications/hooked".into(),
        provider: WebhookProvider::Github as i32,
        event_type: event.into(),
        signature,
        delivery_id: id.into(),
        headers: HashMap::from([("x-github-event".to_string(), event.to_string())]),
        payload,
        content_type: "application/json".into(),
    }
}

async fn build_count(channel: &tonic::transport::Channel) -> usize {
    BuildServiceClient::new(channel.clone())
        .list_builds(ListBuildsRequest {
            parent: "applications/hooked".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .builds
        .len()
}

#[tokio::test]
async fn webhooks_build_signed_pushes_of_the_watched_ref_only() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-webhooks", common::settings(work.path())).await;
    let deploy = common::DeployService::start(&service, Vec::new()).await;
    deploy.create_secret("hook", "token", b"s3cret").await;
    let repo = common::Repo::new();
    let sha = common::commit_web_app(&repo, &base, "hooked");
    let application = Application {
        source: Some(GitSource {
            repository_url: repo.url(),
            r#ref: "main".into(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: format!("{}echo token-is-$HOOK_TOKEN\n", common::BUILD_SCRIPT),
            env: vec![ferry_proto::ferry::common::v1::EnvVar {
                name: "HOOK_TOKEN".into(),
                source: Some(ferry_proto::ferry::common::v1::env_var::Source::SecretRef(
                    SecretRef {
                        secret: "secrets/hook".into(),
                        key: "token".into(),
                    },
                )),
            }],
            mode: Some(Mode::Dockerfile(DockerfileBuild::default())),
            ..Default::default()
        }),
        webhook: Some(WebhookConfig {
            enabled: true,
            providers: vec![
                WebhookProvider::Github as i32,
                WebhookProvider::Gitlab as i32,
            ],
            secret: Some(SecretRef {
                secret: "secrets/hook".into(),
                key: "token".into(),
            }),
            url: String::new(),
        }),
        ..Default::default()
    };
    let created = ApplicationServiceClient::new(service.channel.clone())
        .create_application(CreateApplicationRequest {
            application_id: "hooked".into(),
            application: Some(application),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        created.webhook.unwrap().url,
        "/v1/applications/hooked:webhook"
    );
    let mut hooks = WebhookServiceClient::new(service.channel.clone());
    let push = github_push(&format!("file://{}", repo.url()), "refs/heads/main", &sha);

    // A bad signature: refused, nothing built.
    let status = hooks
        .receive_webhook(delivery(
            push.clone(),
            github_signature(b"wrong", &push),
            "push",
            "d0",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // An unknown application looks the same.
    let mut unknown = delivery(
        push.clone(),
        github_signature(b"s3cret", &push),
        "push",
        "d0",
    );
    unknown.application = "applications/nobody".into();
    assert_eq!(
        hooks.receive_webhook(unknown).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    // A foreign repository: refused with REPOSITORY_MISMATCH, nothing built.
    let foreign = github_push(
        "https://github.com/someone/else.git",
        "refs/heads/main",
        &sha,
    );
    let status = hooks
        .receive_webhook(delivery(
            foreign.clone(),
            github_signature(b"s3cret", &foreign),
            "push",
            "d1",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let violations = status
        .get_details_precondition_failure()
        .unwrap()
        .violations;
    assert_eq!(violations[0].r#type, "REPOSITORY_MISMATCH");
    assert_eq!(
        build_count(&service.channel).await,
        0,
        "nothing is built on rejection"
    );

    // A ping and a push to another branch are ignored.
    let ping = hooks
        .receive_webhook(delivery(
            push.clone(),
            github_signature(b"s3cret", &push),
            "ping",
            "d2",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (ping.outcome(), ping.ignore_reason()),
        (Outcome::Ignored, IgnoreReason::Ping)
    );
    let other = github_push(&repo.url(), "refs/heads/feature", &sha);
    let ignored = hooks
        .receive_webhook(delivery(
            other.clone(),
            github_signature(b"s3cret", &other),
            "push",
            "d3",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ignored.ignore_reason(), IgnoreReason::RefNotWatched);
    assert_eq!(build_count(&service.channel).await, 0);

    // A signed push of main builds exactly that commit, once.
    let accepted = hooks
        .receive_webhook(delivery(
            push.clone(),
            github_signature(b"s3cret", &push),
            "push",
            "d4",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.outcome(), Outcome::BuildCreated);
    let again = hooks
        .receive_webhook(delivery(
            push.clone(),
            github_signature(b"s3cret", &push),
            "push",
            "d4",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (again.outcome(), again.build.as_str()),
        (Outcome::Duplicate, accepted.build.as_str())
    );
    // The branch moves on before the build runs: the pushed commit is still the one built.
    common::commit_web_app(&repo, &base, "moved on");
    let operation = Operation {
        name: accepted.operation.clone(),
        ..Default::default()
    };
    common::wait(&service.channel, operation, Duration::from_secs(120)).await;
    let build = BuildServiceClient::new(service.channel.clone())
        .get_build(GetBuildRequest {
            name: accepted.build.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(build.state(), State::Succeeded, "{build:?}");
    assert_eq!(build.commit.as_ref().unwrap().sha, sha);
    assert_eq!(build.trigger.as_ref().unwrap().actor, "github:octocat");
    // The build saw the secret; its log shows it masked.
    let mut stream = BuildServiceClient::new(service.channel.clone())
        .stream_build_logs(ferry_proto::ferry::build::v1::StreamBuildLogsRequest {
            name: build.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut log = String::new();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        log.push_str(&String::from_utf8_lossy(
            &chunk.unwrap().chunk.unwrap().data,
        ));
    }
    assert!(
        log.contains("token-is-***") && !log.contains("s3cret"),
        "{log}"
    );
    // The same commit announced again (another delivery) is already built.
    let built = hooks
        .receive_webhook(delivery(
            push.clone(),
            github_signature(b"s3cret", &push),
            "push",
            "d5",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(built.ignore_reason(), IgnoreReason::AlreadyBuilt);

    // GitLab: the token header.
    let gitlab = serde_json::json!({"ref": "refs/heads/main", "after": "0123456789abcdef0123456789abcdef01234567", "project": {"git_http_url": repo.url()}, "user_username": "dev"}).to_string().into_bytes();
    let mut request = delivery(gitlab, "wrong".into(), "Push Hook", "g1");
    request.provider = WebhookProvider::Gitlab as i32;
    assert_eq!(
        hooks
            .receive_webhook(request.clone())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    request.signature = "s3cret".into();
    let accepted = hooks.receive_webhook(request).await.unwrap().into_inner();
    assert_eq!(accepted.outcome(), Outcome::BuildCreated);
    assert_eq!(build_count(&service.channel).await, 2);
    deploy.stop().await;
    service.stop().await;
}
