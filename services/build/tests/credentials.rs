//! Source credentials by secret reference: a repository served over HTTP (git's "dumb"
//! protocol, by a small server in this test that demands a token) is fetched with the
//! token kept in a deploy-service secret; a wrong token is refused and the build fails
//! SOURCE_UNREACHABLE. The token never appears in the build log.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build::{FailureReason, State};
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::build::v1::git_credentials::Method;
use ferry_proto::ferry::build::v1::{
    Application, Build, BuildConfig, CreateApplicationRequest, CreateBuildRequest, DockerfileBuild,
    GetBuildRequest, GitCredentials, GitSource, StreamBuildLogsRequest, TokenCredentials,
};
use ferry_proto::ferry::common::v1::SecretRef;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves the files of `root` to requests carrying `Authorization: Basic <expected>`.
async fn serve(listener: tokio::net::TcpListener, root: PathBuf, expected: String) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let root = root.clone();
        let expected = expected.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                    return;
                }
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .split('?')
                .next()
                .unwrap_or("/")
                .to_string();
            let authorized = head.lines().any(|l| {
                l.to_ascii_lowercase().starts_with("authorization:")
                    && l[14..].trim() == format!("Basic {expected}")
            });
            let file = root.join(path.trim_start_matches('/'));
            let response = if !authorized {
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            } else if path.contains("..") || !file.is_file() {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            } else {
                let body = std::fs::read(&file).unwrap();
                let mut response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                response.extend(body);
                response
            };
            let _ = stream.write_all(&response).await;
        });
    }
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn build(channel: &tonic::transport::Channel, app: &str) -> Build {
    let operation = BuildServiceClient::new(channel.clone())
        .create_build(CreateBuildRequest {
            parent: format!("applications/{app}"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let operation = common::wait(channel, operation, Duration::from_secs(120)).await;
    BuildServiceClient::new(channel.clone())
        .get_build(GetBuildRequest {
            name: operation.metadata.unwrap().target,
        })
        .await
        .unwrap()
        .into_inner()
}

fn application(url: &str, secret: &str) -> Application {
    Application {
        source: Some(GitSource {
            repository_url: url.to_string(),
            r#ref: "main".into(),
            credentials: Some(GitCredentials {
                method: Some(Method::Token(TokenCredentials {
                    username: "ci".into(),
                    token: Some(SecretRef {
                        secret: format!("secrets/{secret}"),
                        key: String::new(),
                    }),
                })),
            }),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: common::BUILD_SCRIPT.into(),
            mode: Some(Mode::Dockerfile(DockerfileBuild::default())),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn private_repositories_are_fetched_with_a_token_from_a_secret() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-credentials", common::settings(work.path())).await;
    let deploy = common::DeployService::start(&service, Vec::new()).await;
    deploy
        .create_secret("git-token", "token", b"hunter2-token")
        .await;
    deploy.create_secret("wrong-token", "token", b"nope").await;

    // A bare repository served over HTTP, only with the token.
    let repo = common::Repo::new();
    let sha = common::commit_web_app(&repo, &base, "private");
    let served = tempfile::tempdir().unwrap();
    let bare = served.path().join("app.git");
    let output = Command::new("git")
        .args(["clone", "--bare", "--quiet"])
        .arg(&repo.dir)
        .arg(&bare)
        .output()
        .unwrap();
    assert!(output.status.success());
    git(&bare, &["update-server-info"]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/app.git", listener.local_addr().unwrap());
    let expected = base64::engine::general_purpose::STANDARD.encode("ci:hunter2-token");
    tokio::spawn(serve(listener, served.path().to_path_buf(), expected));

    let mut applications = ApplicationServiceClient::new(service.channel.clone());
    applications
        .create_application(CreateApplicationRequest {
            application_id: "private".into(),
            application: Some(application(&url, "git-token")),
            ..Default::default()
        })
        .await
        .unwrap();
    // The source check uses the token too.
    let mut checked = None;
    for _ in 0..100 {
        let application = applications
            .get_application(ferry_proto::ferry::build::v1::GetApplicationRequest {
                name: "applications/private".into(),
            })
            .await
            .unwrap()
            .into_inner();
        if !application.reconciling {
            checked = Some(application);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let checked = checked.expect("the source is checked");
    assert_eq!(
        checked.state(),
        ferry_proto::ferry::build::v1::application::State::Active,
        "{checked:?}"
    );
    assert_eq!(checked.last_seen_commit, sha);
    let built = build(&service.channel, "private").await;
    assert_eq!(built.state(), State::Succeeded, "{built:?}");
    assert_eq!(built.commit.as_ref().unwrap().sha, sha);
    let mut stream = BuildServiceClient::new(service.channel.clone())
        .stream_build_logs(StreamBuildLogsRequest {
            name: built.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut log = String::new();
    while let Some(chunk) = stream.next().await {
        log.push_str(&String::from_utf8_lossy(
            &chunk.unwrap().chunk.unwrap().data,
        ));
    }
    assert!(!log.contains("hunter2"), "{log}");

    // The wrong token: refused by the server, the build fails SOURCE_UNREACHABLE.
    applications
        .create_application(CreateApplicationRequest {
            application_id: "refused".into(),
            application: Some(application(&url, "wrong-token")),
            ..Default::default()
        })
        .await
        .unwrap();
    let refused = build(&service.channel, "refused").await;
    assert_eq!(
        (refused.state(), refused.failure_reason()),
        (State::Failed, FailureReason::SourceUnreachable),
        "{refused:?}"
    );
    // A secret that does not exist: INVALID_CONFIG naming it.
    applications
        .create_application(CreateApplicationRequest {
            application_id: "nosecret".into(),
            application: Some(application(&url, "missing")),
            ..Default::default()
        })
        .await
        .unwrap();
    let missing = build(&service.channel, "nosecret").await;
    assert_eq!(
        (missing.state(), missing.failure_reason()),
        (State::Failed, FailureReason::InvalidConfig)
    );
    assert!(
        missing.failure_message.contains("secrets/missing"),
        "{}",
        missing.failure_message
    );
    deploy.stop().await;
    service.stop().await;
}
