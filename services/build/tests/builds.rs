//! Builds on a real Docker engine, git and registry: a git repository made in the test
//! is fetched, built and tested in a busybox builder container, packaged by a
//! Dockerfile and pushed; the rebuild of the same commit hits the cache and uploads no
//! layer; a failing test fails the build with its logs kept and no image; bad sources
//! give clear failures; a build is cancelled in the middle.

mod common;

use std::time::{Duration, Instant};

use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build::{FailureReason, State};
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::build::v1::image_service_client::ImageServiceClient;
use ferry_proto::ferry::build::v1::{
    Application, Build, BuildCacheConfig, BuildConfig, CancelBuildRequest,
    CreateApplicationRequest, CreateBuildRequest, DockerfileBuild, GetBuildRequest,
    GetImageRequest, GitSource, ListImagesRequest, StreamBuildLogsRequest, TestConfig,
    test_results::Source,
};
use ferry_proto::ferry::common::v1::Operation;
use futures::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

fn web_app(url: &str, test_script: &str) -> Application {
    Application {
        source: Some(GitSource {
            repository_url: url.to_string(),
            r#ref: "main".into(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: common::BUILD_SCRIPT.into(),
            test: Some(TestConfig {
                script: test_script.into(),
                ..Default::default()
            }),
            mode: Some(Mode::Dockerfile(DockerfileBuild::default())),
            cache: Some(BuildCacheConfig {
                enabled: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn create_app(channel: &Channel, id: &str, application: Application) {
    ApplicationServiceClient::new(channel.clone())
        .create_application(CreateApplicationRequest {
            application_id: id.into(),
            application: Some(application),
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn start_build(channel: &Channel, app: &str, git_ref: &str) -> Operation {
    BuildServiceClient::new(channel.clone())
        .create_build(CreateBuildRequest {
            parent: format!("applications/{app}"),
            build: Some(Build {
                r#ref: git_ref.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// Starts a build of `app` with `disable_cache`: every step runs.
async fn start_forced_build(channel: &Channel, app: &str) -> Operation {
    BuildServiceClient::new(channel.clone())
        .create_build(CreateBuildRequest {
            parent: format!("applications/{app}"),
            disable_cache: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn build_of(channel: &Channel, operation: &Operation) -> Build {
    let name = operation.metadata.as_ref().unwrap().target.clone();
    BuildServiceClient::new(channel.clone())
        .get_build(GetBuildRequest { name })
        .await
        .unwrap()
        .into_inner()
}

async fn logs_of(channel: &Channel, build: &str, offset: i64) -> (String, State) {
    let mut stream = BuildServiceClient::new(channel.clone())
        .stream_build_logs(StreamBuildLogsRequest {
            name: build.into(),
            offset,
            follow: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut text = String::new();
    let mut final_state = State::Unspecified;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        let log = chunk.chunk.clone().unwrap();
        text.push_str(&String::from_utf8_lossy(&log.data));
        if log.end_of_log {
            final_state = chunk.final_state();
        }
    }
    (text, final_state)
}

/// Whether the registry holds `repository:tag`.
async fn registry_has(repository: &str, tag: &str) -> bool {
    let url = format!(
        "http://{}/v2/{repository}/manifests/{tag}",
        common::registry()
    );
    let response = reqwest::Client::new()
        .get(url)
        .header("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    response.status().is_success()
}

#[tokio::test]
async fn a_commit_becomes_an_image_and_an_unchanged_rebuild_hits_the_cache() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-image", common::settings(work.path())).await;
    let repo = common::Repo::new();
    let sha = common::commit_web_app(&repo, &base, "hello v1");
    create_app(
        &service.channel,
        "web",
        web_app(&repo.url(), common::TEST_SCRIPT),
    )
    .await;

    let started = Instant::now();
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "web", "").await,
        Duration::from_secs(180),
    )
    .await;
    let cold = started.elapsed();
    let build = build_of(&service.channel, &operation).await;
    assert_eq!(build.state(), State::Succeeded, "{build:?}");
    assert!(matches!(
        operation.result,
        Some(ferry_proto::ferry::common::v1::operation::Result::Response(
            _
        ))
    ));
    assert_eq!(build.commit.as_ref().unwrap().sha, sha);
    assert_eq!(
        build.commit.as_ref().unwrap().resolved_ref,
        "refs/heads/main"
    );
    assert_eq!(
        build.test_results.as_ref().unwrap().source(),
        Source::ExitCode
    );
    assert!(build.test_results.as_ref().unwrap().passed);
    assert!(
        !build.cache.as_ref().unwrap().hit,
        "the first build finds an empty cache"
    );
    assert!(build.image_digest.starts_with("sha256:"));
    let version = format!("1-{}", &sha[..7]);
    assert_eq!(build.image, format!("applications/web/images/{version}"));
    assert!(
        registry_has("applications/web", &version).await,
        "the image is in the registry"
    );
    let image = ImageServiceClient::new(service.channel.clone())
        .get_image(GetImageRequest {
            name: build.image.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(image.digest, build.image_digest);
    assert_eq!(image.commit_sha, sha);
    assert_eq!(image.build_number, 1);
    assert!(image.size_bytes > 0 && image.layer_count >= 1, "{image:?}");
    assert_eq!(image.base_image, base);
    let (log, final_state) = logs_of(&service.channel, &build.name, 0).await;
    assert_eq!(final_state, State::Succeeded);
    for expected in ["cache-cold", "built", "tests-passed", "Step 1/4"] {
        assert!(
            log.contains(expected),
            "{expected:?} missing from the log:\n{log}"
        );
    }
    // Resumed from an offset: the rest of the log, byte for byte.
    let (tail, _) = logs_of(&service.channel, &build.name, 10).await;
    assert_eq!(tail, log[10..]);
    // From the end (a negative offset), and one step only.
    let (last, _) = logs_of(&service.channel, &build.name, -5).await;
    assert_eq!(last, log[log.len() - 5..]);
    let mut stream = BuildServiceClient::new(service.channel.clone())
        .stream_build_logs(StreamBuildLogsRequest {
            name: build.name.clone(),
            step: ferry_proto::ferry::build::v1::build::StepKind::Test as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut test_log = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        test_log.push_str(&String::from_utf8_lossy(&chunk.chunk.unwrap().data));
    }
    assert!(
        test_log.contains("tests-passed") && !test_log.contains("built"),
        "{test_log}"
    );
    let test_step = &build.steps[2];
    assert_eq!(test_step.exit_code, Some(0));
    assert!(test_step.log_offset > 0 && test_step.log_size_bytes > 0);

    // A retry with the same request id starts no second build.
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut builds = BuildServiceClient::new(service.channel.clone());
    let request = CreateBuildRequest {
        parent: "applications/web".into(),
        request_id: request_id.clone(),
        validate_only: true,
        ..Default::default()
    };
    let checked = builds
        .create_build(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(checked.name.is_empty(), "validate_only starts nothing");

    // The same commit again: the inputs are unchanged, so build 1's image is recorded
    // again as a new version (tagged on the same manifest) and nothing runs.
    let started = Instant::now();
    let request = CreateBuildRequest {
        validate_only: false,
        ..request
    };
    let first_call = builds
        .create_build(request.clone())
        .await
        .unwrap()
        .into_inner();
    let retry = builds.create_build(request).await.unwrap().into_inner();
    assert_eq!(
        first_call.name, retry.name,
        "a retry gets the first call's Operation"
    );
    let operation = common::wait(&service.channel, first_call, Duration::from_secs(180)).await;
    let unchanged = started.elapsed();
    let again = build_of(&service.channel, &operation).await;
    assert_eq!(again.state(), State::Succeeded, "{again:?}");
    assert!(again.cache.as_ref().unwrap().hit);
    assert_eq!(
        again.image_digest, build.image_digest,
        "an unchanged commit gives the same image"
    );
    let (log, _) = logs_of(&service.channel, &again.name, 0).await;
    assert!(
        log.contains("inputs unchanged since build 1"),
        "the input cache answered:\n{log}"
    );
    assert!(
        !log.contains("built") && !log.contains("tests-passed"),
        "no script ran:\n{log}"
    );
    for step in &again.steps {
        if step.kind() != ferry_proto::ferry::build::v1::build::StepKind::Fetch {
            assert_eq!(
                step.state(),
                ferry_proto::ferry::common::v1::StageState::Skipped,
                "{step:?}"
            );
        }
    }
    assert_eq!(again.test_results, build.test_results, "build 1's results");
    assert_ne!(again.image_uri, build.image_uri, "a new version");
    let version = again
        .image_uri
        .split('@')
        .next()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1;
    assert_eq!(
        registry_tag_digest(&again.image_uri, version).await,
        build.image_digest,
        "the new version is a tag of the same manifest"
    );
    // disable_cache runs everything (the cache volume unused): the same image again,
    // no layer uploaded.
    let operation = common::wait(
        &service.channel,
        start_forced_build(&service.channel, "web").await,
        Duration::from_secs(180),
    )
    .await;
    let forced = build_of(&service.channel, &operation).await;
    assert_eq!(forced.state(), State::Succeeded, "{forced:?}");
    assert_eq!(forced.image_digest, build.image_digest);
    let (log, _) = logs_of(&service.channel, &forced.name, 0).await;
    assert!(
        log.contains("cache-cold") && log.contains("tests-passed"),
        "{log}"
    );
    assert!(log.contains("Layer already exists"), "{log}");
    assert!(
        !log.contains(": Pushed"),
        "no layer is uploaded again:\n{log}"
    );

    // A second commit: a new version.
    common::commit_web_app(&repo, &base, "hello v2");
    let started = Instant::now();
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "web", "main").await,
        Duration::from_secs(180),
    )
    .await;
    let warm = started.elapsed();
    let third = build_of(&service.channel, &operation).await;
    assert_eq!(third.state(), State::Succeeded);
    assert_ne!(third.image_digest, build.image_digest);
    let images = ImageServiceClient::new(service.channel.clone())
        .list_images(ListImagesRequest {
            parent: "applications/web".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        images.images.len(),
        4,
        "builds 1 to 4 each recorded a version"
    );
    assert_eq!(images.images[0].build_number, 4, "newest first");
    // Aliases: readable by alias, and moved when set on another image.
    let mut image_api = ImageServiceClient::new(service.channel.clone());
    let set_alias = |image: ferry_proto::ferry::build::v1::Image| {
        ferry_proto::ferry::build::v1::UpdateImageRequest {
            image: Some(ferry_proto::ferry::build::v1::Image {
                aliases: vec!["stable".into()],
                ..image
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["aliases".into()],
            }),
            ..Default::default()
        }
    };
    image_api
        .update_image(set_alias(images.images[3].clone()))
        .await
        .unwrap();
    let stable = image_api
        .get_image(GetImageRequest {
            name: "applications/web/images/stable".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stable.build_number, 1);
    assert_eq!(
        registry_tag_digest(&stable.image_uri, "stable").await,
        stable.digest,
        "the alias is a tag of the version's manifest in the registry"
    );
    image_api
        .update_image(set_alias(images.images[0].clone()))
        .await
        .unwrap();
    let stable = image_api
        .get_image(GetImageRequest {
            name: "applications/web/images/stable".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stable.build_number, 4);
    assert_eq!(
        registry_tag_digest(&stable.image_uri, "stable").await,
        stable.digest,
        "the tag moved with the alias"
    );
    let old = image_api
        .get_image(GetImageRequest {
            name: images.images[3].name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(old.aliases.is_empty(), "the alias moved");
    let bad = image_api
        .update_image(ferry_proto::ferry::build::v1::UpdateImageRequest {
            image: Some(images.images[0].clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["digest".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    println!(
        "timings: cold build {cold:?}, unchanged rebuild {unchanged:?}, warm build of a new commit {warm:?}"
    );
    service.stop().await;
}

#[tokio::test]
async fn submodules_reach_the_builder_at_their_recorded_commit() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-submodules", common::settings(work.path())).await;
    let lib = common::Repo::new();
    lib.commit(&[("lib.txt", "from lib v1\n")], "lib v1");
    let repo = common::Repo::new();
    common::commit_web_app(&repo, &base, "with a submodule");
    let output = std::process::Command::new("git")
        .current_dir(&repo.dir)
        .args([
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "--quiet",
            &lib.url(),
            "vendor/lib",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    repo.commit(&[], "add the submodule");
    // A later lib commit is not what the app records.
    lib.commit(&[("lib.txt", "from lib v2\n")], "lib v2");
    let mut application = web_app(
        &repo.url(),
        "grep -q 'from lib v1' vendor/lib/lib.txt && echo submodule-ok\n",
    );
    application.source.as_mut().unwrap().fetch_submodules = true;
    create_app(&service.channel, "withsub", application).await;
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "withsub", "").await,
        Duration::from_secs(120),
    )
    .await;
    let build = build_of(&service.channel, &operation).await;
    let (log, _) = logs_of(&service.channel, &build.name, 0).await;
    assert_eq!(build.state(), State::Succeeded, "{log}");
    assert!(log.contains("submodule vendor/lib: "), "{log}");
    assert!(log.contains("submodule-ok"), "{log}");
}

#[tokio::test]
async fn failing_tests_and_bad_sources_fail_the_build_without_an_image() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-failures", common::settings(work.path())).await;
    let repo = common::Repo::new();
    common::commit_web_app(&repo, &base, "broken");
    create_app(
        &service.channel,
        "broken",
        web_app(
            &repo.url(),
            "echo running-tests\necho 'assertion failed' >&2\nexit 3\n",
        ),
    )
    .await;
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "broken", "").await,
        Duration::from_secs(120),
    )
    .await;
    let build = build_of(&service.channel, &operation).await;
    assert_eq!(build.state(), State::Failed);
    assert_eq!(build.failure_reason(), FailureReason::TestsFailed);
    let results = build.test_results.clone().unwrap();
    assert_eq!(
        (results.passed, results.exit_code, results.failures),
        (false, 3, 1)
    );
    assert!(build.image.is_empty() && build.image_digest.is_empty());
    match operation.result {
        Some(ferry_proto::ferry::common::v1::operation::Result::Error(status)) => {
            assert!(status.message.contains("tests failed"), "{status:?}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let (log, final_state) = logs_of(&service.channel, &build.name, 0).await;
    assert_eq!(final_state, State::Failed);
    assert!(
        log.contains("running-tests") && log.contains("assertion failed"),
        "the log is kept:\n{log}"
    );
    let images = ImageServiceClient::new(service.channel.clone())
        .list_images(ListImagesRequest {
            parent: "applications/broken".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(images.images.is_empty());
    assert!(
        !registry_has(
            "applications/broken",
            &format!("1-{}", &build.commit.unwrap().sha[..7])
        )
        .await
    );

    // A JUnit report with a failure fails the build even though the script exits 0.
    let report = r#"<testsuite name="unit"><testcase name="adds" classname="m" time="0.1"/><testcase name="divides" classname="m"><failure message="expected 2">at line 3</failure></testcase></testsuite>"#;
    let mut junit = web_app(
        &repo.url(),
        &format!("mkdir -p reports\ncat > reports/unit.xml <<'EOF'\n{report}\nEOF\necho done\n"),
    );
    junit
        .build
        .as_mut()
        .unwrap()
        .test
        .as_mut()
        .unwrap()
        .junit_report_path = "reports/*.xml".into();
    create_app(&service.channel, "junit", junit).await;
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "junit", "").await,
        Duration::from_secs(120),
    )
    .await;
    let build = build_of(&service.channel, &operation).await;
    assert_eq!(
        (build.state(), build.failure_reason()),
        (State::Failed, FailureReason::TestsFailed),
        "{build:?}"
    );
    let results = build.test_results.unwrap();
    assert_eq!(results.source(), Source::JunitXml);
    assert_eq!(
        (results.exit_code, results.tests, results.failures),
        (0, 2, 1)
    );
    assert_eq!(results.report_paths, vec!["reports/unit.xml".to_string()]);
    assert_eq!(
        (
            results.test_cases[0].name.as_str(),
            results.test_cases[0].message.as_str()
        ),
        ("divides", "expected 2")
    );

    // A build over its timeout fails TIMED_OUT and its builder is removed.
    let mut slow = web_app(&repo.url(), common::TEST_SCRIPT);
    slow.build.as_mut().unwrap().build_script = "sleep 60".into();
    slow.build.as_mut().unwrap().timeout = Some(prost_types::Duration {
        seconds: 2,
        nanos: 0,
    });
    create_app(&service.channel, "slowpoke", slow).await;
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "slowpoke", "").await,
        Duration::from_secs(60),
    )
    .await;
    let build = build_of(&service.channel, &operation).await;
    assert_eq!(
        (build.state(), build.failure_reason()),
        (State::Failed, FailureReason::TimedOut),
        "{build:?}"
    );

    // An unknown ref.
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "broken", "no-such-branch").await,
        Duration::from_secs(60),
    )
    .await;
    let build = build_of(&service.channel, &operation).await;
    assert_eq!(
        (build.state(), build.failure_reason()),
        (State::Failed, FailureReason::RefNotFound),
        "{build:?}"
    );
    assert!(build.failure_message.contains("no-such-branch"));

    // BuildKit secrets on the Docker builder: refused at once, saying where they work.
    let mut with_secrets = web_app(&repo.url(), common::TEST_SCRIPT);
    with_secrets.build.as_mut().unwrap().mode = Some(Mode::Dockerfile(DockerfileBuild {
        secrets: vec![ferry_proto::ferry::build::v1::DockerBuildSecret {
            id: "npmrc".into(),
            secret: Some(ferry_proto::ferry::common::v1::SecretRef {
                secret: "secrets/npm".into(),
                key: String::new(),
            }),
        }],
        ..Default::default()
    }));
    create_app(&service.channel, "secrets", with_secrets).await;
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "secrets", "").await,
        Duration::from_secs(60),
    )
    .await;
    let build = build_of(&service.channel, &operation).await;
    assert_eq!(
        (build.state(), build.failure_reason()),
        (State::Failed, FailureReason::InvalidConfig),
        "{build:?}"
    );
    assert!(
        build
            .failure_message
            .contains("need the Kubernetes builder"),
        "{}",
        build.failure_message
    );

    // Retention: only the newest finished build is kept, with its log.
    let mut pruned = web_app(&repo.url(), common::TEST_SCRIPT);
    pruned.retention = Some(ferry_proto::ferry::build::v1::RetentionPolicy {
        max_builds: 1,
        max_images: 0,
    });
    create_app(&service.channel, "pruned", pruned).await;
    for _ in 0..2 {
        common::wait(
            &service.channel,
            start_build(&service.channel, "pruned", "missing-ref").await,
            Duration::from_secs(60),
        )
        .await;
    }
    let listed = BuildServiceClient::new(service.channel.clone())
        .list_builds(ferry_proto::ferry::build::v1::ListBuildsRequest {
            parent: "applications/pruned".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed
            .builds
            .iter()
            .map(|b| b.build_number)
            .collect::<Vec<_>>(),
        vec![2]
    );
    let gone = BuildServiceClient::new(service.channel.clone())
        .get_build(GetBuildRequest {
            name: "applications/pruned/builds/1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);

    // An unreachable repository.
    create_app(
        &service.channel,
        "gone",
        web_app("/nonexistent/repository", common::TEST_SCRIPT),
    )
    .await;
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "gone", "").await,
        Duration::from_secs(60),
    )
    .await;
    let build = build_of(&service.channel, &operation).await;
    assert_eq!(
        (build.state(), build.failure_reason()),
        (State::Failed, FailureReason::SourceUnreachable),
        "{build:?}"
    );

    // A malformed ref is refused at once.
    let status = BuildServiceClient::new(service.channel.clone())
        .create_build(CreateBuildRequest {
            parent: "applications/gone".into(),
            build: Some(Build {
                r#ref: "bad..ref".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = BuildServiceClient::new(service.channel.clone())
        .create_build(CreateBuildRequest {
            parent: "applications/missing".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    service.stop().await;
}

#[tokio::test]
async fn a_cancelled_build_stops_its_builder_and_records_no_image() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-cancel", common::settings(work.path())).await;
    let repo = common::Repo::new();
    common::commit_web_app(&repo, &base, "slow");
    let mut app = web_app(&repo.url(), common::TEST_SCRIPT);
    app.build.as_mut().unwrap().build_script = "echo sleeping\nsleep 120\n".into();
    create_app(&service.channel, "slow", app).await;
    let operation = start_build(&service.channel, "slow", "").await;
    // A second build waits in the queue behind the first; queue = false is refused.
    let queued = start_build(&service.channel, "slow", "").await;
    let refused = BuildServiceClient::new(service.channel.clone())
        .create_build(CreateBuildRequest {
            parent: "applications/slow".into(),
            queue: Some(false),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Aborted);
    let name = operation.metadata.as_ref().unwrap().target.clone();
    let mut builds = BuildServiceClient::new(service.channel.clone());
    // Wait until the build script runs.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (log, _) = {
            let mut stream = builds
                .stream_build_logs(StreamBuildLogsRequest {
                    name: name.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                text.push_str(&String::from_utf8_lossy(
                    &chunk.unwrap().chunk.unwrap().data,
                ));
            }
            (text, ())
        };
        if log.contains("sleeping") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the build script did not start:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let queued_build = build_of(&service.channel, &queued).await;
    assert_eq!(
        (queued_build.state(), queued_build.queue_position),
        (State::Queued, 2)
    );
    let app = ApplicationServiceClient::new(service.channel.clone())
        .get_application(ferry_proto::ferry::build::v1::GetApplicationRequest {
            name: "applications/slow".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(app.queued_builds, 1);
    assert_eq!(app.last_build.unwrap().build_number, 1, "the running build");
    builds
        .cancel_build(CancelBuildRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let operation = common::wait(&service.channel, operation, Duration::from_secs(30)).await;
    let build = build_of(&service.channel, &operation).await;
    assert_eq!(build.state(), State::Cancelled);
    assert!(build.image.is_empty());
    let containers = common::docker()
        .list_containers(Some(bollard::query_parameters::ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(
        !containers.iter().any(|c| c
            .names
            .iter()
            .flatten()
            .any(|n| n.contains("ferry-build-slow-1-"))),
        "the builder container is removed"
    );
    // The queued build (queued or just started) is cancelled through its Operation.
    ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient::new(
        service.channel.clone(),
    )
    .cancel_operation(ferry_proto::ferry::common::v1::CancelOperationRequest {
        name: queued.name.clone(),
    })
    .await
    .unwrap();
    let queued = common::wait(&service.channel, queued, Duration::from_secs(30)).await;
    assert_eq!(
        build_of(&service.channel, &queued).await.state(),
        State::Cancelled
    );
    let again = builds
        .cancel_build(CancelBuildRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    // Deleting the application: refused without force (it has builds), then everything
    // goes with force, its cache volume too.
    let volume = build.cache.as_ref().unwrap().volume.clone();
    assert!(common::docker().inspect_volume(&volume).await.is_ok());
    let mut applications = ApplicationServiceClient::new(service.channel.clone());
    let refused = applications
        .delete_application(ferry_proto::ferry::build::v1::DeleteApplicationRequest {
            name: "applications/slow".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    applications
        .delete_application(ferry_proto::ferry::build::v1::DeleteApplicationRequest {
            name: "applications/slow".into(),
            force: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        builds
            .get_build(GetBuildRequest { name: name.clone() })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert!(
        common::docker().inspect_volume(&volume).await.is_err(),
        "the cache volume is removed"
    );
    service.stop().await;
}

#[tokio::test]
async fn artifact_mode_pushes_without_the_engine_and_reuses_unchanged_blobs() {
    use ferry_proto::ferry::build::v1::{ArtifactBuild, ArtifactPath};
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-artifact", common::settings(work.path())).await;
    let repo = common::Repo::new();
    // Unique content: the registry outlives test runs.
    let nonce = format!("{:?}", std::time::SystemTime::now());
    let sha = common::commit_web_app(&repo, &base, &format!("artifact {nonce}"));
    let mut app = web_app(&repo.url(), common::TEST_SCRIPT);
    app.build.as_mut().unwrap().mode = Some(Mode::Artifact(ArtifactBuild {
        base_image: base.clone(),
        outputs: vec![ArtifactPath {
            source: "www".into(),
            destination: "/www".into(),
            mode: String::new(),
        }],
        cmd: vec![
            "/bin/busybox".into(),
            "httpd".into(),
            "-f".into(),
            "-p".into(),
            "8080".into(),
            "-h".into(),
            "/www".into(),
        ],
        exposed_ports: vec![ferry_proto::ferry::common::v1::ContainerPort {
            name: "http".into(),
            port: 8080,
            protocol: 0,
        }],
        ..Default::default()
    }));
    create_app(&service.channel, "art", app).await;
    let started = Instant::now();
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "art", "").await,
        Duration::from_secs(120),
    )
    .await;
    let cold = started.elapsed();
    let first = build_of(&service.channel, &operation).await;
    assert_eq!(first.state(), State::Succeeded, "{first:?}");
    assert!(registry_has("applications/art", &format!("1-{}", &sha[..7])).await);
    let (log, _) = logs_of(&service.channel, &first.name, 0).await;
    assert!(
        log.contains("OCI distribution API") && log.contains(": uploaded"),
        "{log}"
    );
    let image = ImageServiceClient::new(service.channel.clone())
        .get_image(GetImageRequest {
            name: first.image.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(image.base_image, base);
    assert!(image.base_image_digest.starts_with("sha256:"));
    assert!(
        image.layer_count >= 2,
        "the base's layer and the new one: {image:?}"
    );

    // Unchanged commit: same digest, nothing uploaded.
    let started = Instant::now();
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "art", "").await,
        Duration::from_secs(120),
    )
    .await;
    println!(
        "artifact timings: first build {cold:?}, unchanged rebuild {:?}",
        started.elapsed()
    );
    let second = build_of(&service.channel, &operation).await;
    assert_eq!(second.state(), State::Succeeded);
    assert_eq!(
        second.image_digest, first.image_digest,
        "reproducible: the same outputs give the same image"
    );
    let (log, _) = logs_of(&service.channel, &second.name, 0).await;
    assert!(log.contains("inputs unchanged since build 1"), "{log}");
    // Run again without the caches: the same image, and nothing uploaded (the previous
    // image's layer is reused).
    let operation = common::wait(
        &service.channel,
        start_forced_build(&service.channel, "art").await,
        Duration::from_secs(120),
    )
    .await;
    let forced = build_of(&service.channel, &operation).await;
    assert_eq!(forced.state(), State::Succeeded);
    assert_eq!(forced.image_digest, first.image_digest);
    let (log, _) = logs_of(&service.channel, &forced.name, 0).await;
    assert!(log.contains("0 blobs uploaded"), "{log}");

    // The engine runs what Ferry assembled.
    let docker = common::docker();
    docker
        .create_image(
            Some(bollard::query_parameters::CreateImageOptions {
                from_image: Some(first.image_uri.clone()),
                ..Default::default()
            }),
            None,
            None,
        )
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let inspect = docker.inspect_image(&first.image_uri).await.unwrap();
    assert_eq!(inspect.config.unwrap().cmd.unwrap()[1], "httpd");

    // Image retention: one image kept; a digest the new image shares stays in the
    // registry, a digest no record has any more leaves it.
    let mut kept = web_app(&repo.url(), common::TEST_SCRIPT);
    kept.build.as_mut().unwrap().mode = Some(Mode::Artifact(ArtifactBuild {
        base_image: base.clone(),
        outputs: vec![ArtifactPath {
            source: "www".into(),
            destination: "/www".into(),
            mode: String::new(),
        }],
        ..Default::default()
    }));
    kept.retention = Some(ferry_proto::ferry::build::v1::RetentionPolicy {
        max_builds: 0,
        max_images: 1,
    });
    create_app(&service.channel, "art-keep", kept).await;
    let mut digests = Vec::new();
    for _ in 0..2 {
        let operation = common::wait(
            &service.channel,
            start_build(&service.channel, "art-keep", "").await,
            Duration::from_secs(120),
        )
        .await;
        digests.push(build_of(&service.channel, &operation).await.image_digest);
    }
    assert_eq!(digests[0], digests[1]);
    let listed = ImageServiceClient::new(service.channel.clone())
        .list_images(ListImagesRequest {
            parent: "applications/art-keep".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed
            .images
            .iter()
            .map(|i| i.build_number)
            .collect::<Vec<_>>(),
        vec![2]
    );
    assert!(
        registry_has("applications/art-keep", &digests[0]).await,
        "the shared manifest stays"
    );
    common::commit_web_app(&repo, &base, &format!("artifact {nonce} v2"));
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "art-keep", "").await,
        Duration::from_secs(120),
    )
    .await;
    let third = build_of(&service.channel, &operation).await;
    assert_ne!(third.image_digest, digests[0]);
    assert!(
        !registry_has("applications/art-keep", &digests[0]).await,
        "the old manifest is deleted"
    );

    // Outputs that the build did not make fail the IMAGE step.
    let mut broken = web_app(&repo.url(), common::TEST_SCRIPT);
    broken.build.as_mut().unwrap().mode = Some(Mode::Artifact(ArtifactBuild {
        base_image: base.clone(),
        outputs: vec![ArtifactPath {
            source: "target/app".into(),
            destination: "/app".into(),
            mode: String::new(),
        }],
        ..Default::default()
    }));
    create_app(&service.channel, "art-broken", broken).await;
    let operation = common::wait(
        &service.channel,
        start_build(&service.channel, "art-broken", "").await,
        Duration::from_secs(120),
    )
    .await;
    let failed = build_of(&service.channel, &operation).await;
    assert_eq!(
        (failed.state(), failed.failure_reason()),
        (State::Failed, FailureReason::ImageBuildFailed)
    );
    assert!(
        failed.failure_message.contains("target/app"),
        "{}",
        failed.failure_message
    );
    service.stop().await;
}

/// The digest the registry serves for `tag` in the repository of `image_uri`
/// (`registry/repository:tag@digest`).
async fn registry_tag_digest(image_uri: &str, tag: &str) -> String {
    let without_digest = image_uri.split('@').next().unwrap();
    let (repository, _) = without_digest.rsplit_once(':').unwrap();
    let reference: ferry_image::Reference = format!("{repository}:{tag}").parse().unwrap();
    let client = ferry_image::RegistryClient::new(ferry_image::ClientOptions {
        protocol: ferry_image::Protocol::Http,
        ..Default::default()
    })
    .unwrap();
    client
        .get_manifest(&reference)
        .await
        .unwrap()
        .digest
        .to_string()
}
