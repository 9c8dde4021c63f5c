//! The Kubernetes builder against the test control plane (kube-apiserver, controller
//! manager, scheduler and kwok, `FERRY_TEST_KUBECONFIG`), real etcd and a real registry.
//! Pods do not run there: kwok marks a Job's init containers completed when the pod is
//! ready and its main container completed next (exit code 0), so the Job controller
//! really completes the Job. The test plays BuildKit by pushing an image at the build's
//! tag with `ferry-image`.
//!
//! - a Dockerfile build runs as a Job with the expected spec (exact commit, scripts,
//!   tag, secret references and no secret values) and ends SUCCEEDED with the pushed
//!   digest and an image version; its Secrets are gone at the end; a Job that completes
//!   without the image in the registry fails the build (PUSH_FAILED);
//! - a build cancelled while its pod cannot be scheduled ends CANCELLED, its Job and
//!   Secrets gone;
//! - a Job deleted by someone else ends the build FAILED (BUILDER_LOST);
//! - the Job's `activeDeadlineSeconds` ends the build FAILED (TIMED_OUT);
//! - artifact mode is refused at once (INVALID_CONFIG) and makes no Job;
//! - a build whose runner process was SIGKILLed is not re-attached: the next leader
//!   ends it FAILED (BUILDER_LOST) and deletes its Job.

mod common;

use std::time::{Duration, Instant};

use ferry_build::config::RegistryCredentials;
use ferry_build::config::{BuildSettings, BuilderKind, KubeBuilderSettings, KubeConnection};
use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build::{FailureReason, State, StepKind};
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::build::v1::image_service_client::ImageServiceClient;
use ferry_proto::ferry::build::v1::{
    Application, ArtifactBuild, ArtifactPath, Build, BuildCacheConfig, BuildConfig,
    CancelBuildRequest, CreateApplicationRequest, CreateBuildRequest, DockerfileBuild,
    GetBuildRequest, GetImageRequest, GitSource, StreamBuildLogsRequest, TestConfig,
};
use ferry_proto::ferry::common::v1::{
    EnvVar, Operation, ResourceQuantities, ResourceRequirements, SecretRef, StageState, env_var,
};
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, PersistentVolumeClaim, Secret};
use kube::Api;
use kube::api::DeleteParams;
use tonic::transport::Channel;

const REGISTRY_USER: &str = "ci";
const REGISTRY_PASSWORD: &str = "registry-pass-7c1";

fn kubeconfig() -> String {
    common::required_env(
        "FERRY_TEST_KUBECONFIG",
        "the kubeconfig of the Kubernetes test control plane (deploy/dev/kube/for-tests.sh: kube_test_start)",
    )
}

async fn kube_client() -> kube::Client {
    let path = kubeconfig();
    let config = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(config, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// A namespace of its own for each test (they run in parallel on one control plane).
fn namespace(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("fb-{label}-{}", nanos % 1_000_000_000)
}

fn settings(work: &std::path::Path, namespace: &str) -> BuildSettings {
    BuildSettings {
        registry: common::registry(),
        registry_credentials: Some(RegistryCredentials {
            username: REGISTRY_USER.into(),
            password: REGISTRY_PASSWORD.into(),
        }),
        builder_image: "ferry-builder:test".into(),
        work_dir: work.to_path_buf(),
        builder: BuilderKind::Kubernetes,
        kube: KubeBuilderSettings {
            connection: Some(KubeConnection::Kubeconfig(kubeconfig().into())),
            namespace: namespace.to_string(),
            ..Default::default()
        },
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

async fn start_build(channel: &Channel, app: &str) -> Operation {
    BuildServiceClient::new(channel.clone())
        .create_build(CreateBuildRequest {
            parent: format!("applications/{app}"),
            build: Some(Build {
                r#ref: "main".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn get_build(channel: &Channel, name: &str) -> Build {
    BuildServiceClient::new(channel.clone())
        .get_build(GetBuildRequest {
            name: name.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn finished(channel: &Channel, operation: Operation, limit: Duration) -> Build {
    let operation = common::wait(channel, operation, limit).await;
    get_build(channel, &operation.metadata.unwrap().target).await
}

async fn log_of(channel: &Channel, build: &str) -> String {
    let mut stream = BuildServiceClient::new(channel.clone())
        .stream_build_logs(StreamBuildLogsRequest {
            name: build.into(),
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
    text
}

/// Waits until the Job `name` exists; returns it and how long that took.
async fn wait_job(jobs: &Api<Job>, name: &str) -> Job {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(job) = jobs.get_opt(name).await.unwrap() {
            return job;
        }
        assert!(Instant::now() < deadline, "the Job {name} was not created");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `get` says the object is gone.
async fn wait_gone<K>(api: &Api<K>, name: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while api.get_opt(name).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "{name} is still there");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pushes a one-file image at `registry/repository:tag` (playing BuildKit); returns
/// its manifest digest.
async fn push_image(repository: &str, tag: &str) -> String {
    let client = ferry_image::RegistryClient::new(ferry_image::ClientOptions::default()).unwrap();
    let reference =
        ferry_image::Reference::new(&common::registry(), repository, Some(tag)).unwrap();
    let mut layer = ferry_image::LayerBuilder::default();
    layer
        .add_bytes("/www/index.html", format!("built for {tag}\n"), 0o644)
        .unwrap();
    let report = ferry_image::build_and_push(
        &client,
        &reference,
        &ferry_image::Base::Scratch,
        layer,
        &ferry_image::ImageSettings::default(),
        None,
    )
    .await
    .unwrap();
    report.digest.to_string()
}

/// An application that cannot be scheduled (more memory than any kwok node has).
fn unschedulable(url: &str, timeout_seconds: i64) -> Application {
    Application {
        source: Some(GitSource {
            repository_url: url.to_string(),
            r#ref: "main".into(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: "echo never\n".into(),
            mode: Some(Mode::Dockerfile(DockerfileBuild::default())),
            resources: Some(ResourceRequirements {
                requests: Some(ResourceQuantities {
                    cpu_millis: 100,
                    memory_bytes: 64 << 40,
                    ..Default::default()
                }),
                limits: None,
            }),
            timeout: (timeout_seconds > 0).then_some(prost_types::Duration {
                seconds: timeout_seconds,
                nanos: 0,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn remove_namespace(client: &kube::Client, namespace: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces
        .delete(namespace, &DeleteParams::background())
        .await;
}

fn env_value<'a>(
    container: &'a k8s_openapi::api::core::v1::Container,
    name: &str,
) -> &'a k8s_openapi::api::core::v1::EnvVar {
    container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{} has no {name}", container.name))
}

#[tokio::test]
async fn a_dockerfile_build_runs_as_a_job_and_records_the_pushed_image() {
    let client = kube_client().await;
    let ns = namespace("ok");
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-kube-ok", settings(work.path(), &ns)).await;
    let deploy = common::DeployService::start(&service, Vec::new()).await;
    deploy
        .create_secret("npm-token", "token", b"npm-token-93be")
        .await;

    let repo = common::Repo::new();
    let sha = repo.commit(
        &[
            (
                "svc/Dockerfile",
                "FROM r.example/base/busybox:1\nCOPY www /www\n",
            ),
            ("svc/message.txt", "hello\n"),
        ],
        "first",
    );
    let app = Application {
        source: Some(GitSource {
            repository_url: repo.url(),
            r#ref: "main".into(),
            sub_directory: "svc".into(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: common::BUILD_SCRIPT.into(),
            test: Some(TestConfig {
                script: common::TEST_SCRIPT.into(),
                junit_report_path: "reports/*.xml".into(),
            }),
            mode: Some(Mode::Dockerfile(DockerfileBuild {
                build_args: [("GREETING".to_string(), "hi".to_string())].into(),
                secrets: vec![ferry_proto::ferry::build::v1::DockerBuildSecret {
                    id: "npmrc".into(),
                    secret: Some(SecretRef {
                        secret: "secrets/npm-token".into(),
                        key: String::new(),
                    }),
                }],
                ..Default::default()
            })),
            env: vec![
                EnvVar {
                    name: "MODE".into(),
                    source: Some(env_var::Source::Value("release".into())),
                },
                EnvVar {
                    name: "NPM_TOKEN".into(),
                    source: Some(env_var::Source::SecretRef(SecretRef {
                        secret: "secrets/npm-token".into(),
                        key: String::new(),
                    })),
                },
            ],
            cache: Some(BuildCacheConfig {
                enabled: true,
                size_bytes: 1 << 30,
                ..Default::default()
            }),
            resources: Some(ResourceRequirements {
                requests: Some(ResourceQuantities {
                    cpu_millis: 250,
                    memory_bytes: 256 << 20,
                    ..Default::default()
                }),
                limits: Some(ResourceQuantities {
                    cpu_millis: 1000,
                    memory_bytes: 512 << 20,
                    ..Default::default()
                }),
            }),
            timeout: Some(prost_types::Duration {
                seconds: 600,
                nanos: 0,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    create_app(&service.channel, "kweb", app).await;

    // The control plane has no storage provisioner: a volume made for the cache claim
    // (bound to it in advance) lets the pod be scheduled.
    let persistent_volumes: Api<PersistentVolume> = Api::all(client.clone());
    let volume: PersistentVolume = serde_json::from_value(serde_json::json!({
        "metadata": {"name": format!("{ns}-cache")},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/tmp/ferry-kube-test-cache"},
            "claimRef": {"namespace": ns, "name": "ferry-build-cache-kweb"},
        },
    }))
    .unwrap();
    persistent_volumes
        .create(&Default::default(), &volume)
        .await
        .unwrap();

    // BuildKit's part: the image at the build's tag (build 1 of this commit).
    let version = format!("1-{}", &sha[..7]);
    let tag = format!("{}/applications/kweb:{version}", common::registry());
    let pushed = push_image("applications/kweb", &version).await;

    let started = Instant::now();
    let operation = start_build(&service.channel, "kweb").await;
    let build = finished(&service.channel, operation, Duration::from_secs(120)).await;
    let took = started.elapsed();
    let log = log_of(&service.channel, &build.name).await;
    assert_eq!(
        build.state(),
        State::Succeeded,
        "{}: {}\n{log}",
        build.failure_reason().as_str_name(),
        build.failure_message
    );
    assert_eq!(build.image_digest, pushed);
    assert_eq!(build.image_uri, format!("{tag}@{pushed}"));
    assert_eq!(build.commit.as_ref().unwrap().sha, sha);
    assert!(
        build.builder_host.contains("build-kweb-1"),
        "{}",
        build.builder_host
    );
    let kinds: Vec<(StepKind, StageState)> =
        build.steps.iter().map(|s| (s.kind(), s.state())).collect();
    for kind in [
        StepKind::Fetch,
        StepKind::Build,
        StepKind::Test,
        StepKind::Image,
        StepKind::Push,
    ] {
        assert!(
            kinds.contains(&(kind, StageState::Succeeded)),
            "{kind:?} did not succeed: {kinds:?}"
        );
        let step = build.steps.iter().find(|s| s.kind() == kind).unwrap();
        assert!(
            step.start_time.is_some() && step.end_time.is_some(),
            "{step:?}"
        );
    }
    let cache = build.cache.clone().unwrap();
    assert!(cache.enabled && !cache.hit, "{cache:?}");
    assert!(
        log.contains(&format!("builder Job {ns}/build-kweb-1")),
        "{log}"
    );
    // kwok serves no container logs: the build log says so instead of waiting.
    assert!(log.contains("the log of build is not available"), "{log}");
    assert!(!log.contains("npm-token-93be"));
    let image = ImageServiceClient::new(service.channel.clone())
        .get_image(GetImageRequest {
            name: build.image.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(image.digest, pushed);
    assert_eq!(image.version, version);
    assert_eq!(image.layer_count, 1);
    assert!(image.size_bytes > 0);
    assert_eq!(image.base_image, "r.example/base/busybox:1");

    // The Job on the API server (kept for its TTL), as the service made it.
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    let job = jobs.get("build-kweb-1").await.unwrap();
    let spec = job.spec.clone().unwrap();
    assert_eq!(spec.backoff_limit, Some(0));
    assert_eq!(spec.active_deadline_seconds, Some(600));
    assert_eq!(spec.ttl_seconds_after_finished, Some(3600));
    assert_eq!(spec.suspend, Some(false));
    let labels = job.metadata.labels.clone().unwrap();
    assert_eq!(labels["ferry.dev/build"], "build-kweb-1");
    assert_eq!(labels["ferry.dev/application"], "kweb");
    let pod = spec.template.spec.clone().unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    let init = pod.init_containers.clone().unwrap();
    let names: Vec<&str> = init.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["fetch", "build", "test"]);
    assert_eq!(
        env_value(&init[0], "FERRY_COMMIT_SHA").value.as_deref(),
        Some(sha.as_str())
    );
    assert_eq!(
        env_value(&init[0], "FERRY_SUB_DIRECTORY").value.as_deref(),
        Some("svc")
    );
    assert_eq!(
        env_value(&init[0], "FERRY_REPOSITORY_URL").value.as_deref(),
        Some(repo.url().as_str())
    );
    // An anonymous fetch here (the golden manifest test covers token and ssh keys).
    assert!(
        init[0]
            .env
            .iter()
            .flatten()
            .all(|e| e.name != "GIT_CONFIG_VALUE_0")
    );
    assert_eq!(
        init[1].command.clone().unwrap().last().unwrap(),
        common::BUILD_SCRIPT
    );
    assert_eq!(init[1].image.as_deref(), Some("ferry-builder:test"));
    assert_eq!(
        env_value(&init[1], "FERRY_BUILD_NUMBER").value.as_deref(),
        Some("1")
    );
    assert_eq!(
        env_value(&init[1], "FERRY_APPLICATION").value.as_deref(),
        Some("kweb")
    );
    assert_eq!(
        env_value(&init[1], "MODE").value.as_deref(),
        Some("release")
    );
    let npm = env_value(&init[1], "NPM_TOKEN")
        .value_from
        .clone()
        .unwrap()
        .secret_key_ref
        .unwrap();
    assert_eq!(
        (npm.name.as_str(), npm.key.as_str()),
        ("build-kweb-1-secrets", "env.NPM_TOKEN")
    );
    let test_command = init[2].command.clone().unwrap();
    assert!(
        test_command.contains(&common::TEST_SCRIPT.to_string()),
        "{test_command:?}"
    );
    assert!(
        test_command.contains(&"reports/*.xml".to_string()),
        "{test_command:?}"
    );
    let resources = init[1].resources.clone().unwrap();
    assert_eq!(resources.requests.unwrap()["cpu"].0, "250m");
    assert_eq!(
        resources.limits.unwrap()["memory"].0,
        (512u64 << 20).to_string()
    );
    let image_container = &pod.containers[0];
    assert_eq!(image_container.name, "image");
    assert_eq!(
        image_container.image.as_deref(),
        Some(ferry_build::config::DEFAULT_BUILDKIT_IMAGE)
    );
    let args = image_container.args.clone().unwrap();
    assert!(
        args.contains(&format!(
            "type=image,name={tag},push=true,registry.insecure=true"
        )),
        "{args:?}"
    );
    assert!(
        args.contains(&"build-arg:GREETING=hi".to_string()),
        "{args:?}"
    );
    // The BuildKit secret: a file of the build Secret, named by `--secret`.
    assert!(
        args.windows(2).any(|pair| pair[0] == "--secret"
            && pair[1] == "id=npmrc,src=/run/ferry/buildkit-secrets/npmrc"),
        "{args:?}"
    );
    let volumes = pod.volumes.clone().unwrap();
    let buildkit_secrets = volumes
        .iter()
        .find(|v| v.name == "buildkit-secrets")
        .and_then(|v| v.secret.clone())
        .unwrap();
    assert_eq!(
        buildkit_secrets.secret_name.as_deref(),
        Some("build-kweb-1-secrets")
    );
    let items = buildkit_secrets.items.unwrap();
    assert_eq!(
        (items[0].key.as_str(), items[0].path.as_str()),
        ("buildkit.npmrc", "npmrc")
    );
    assert!(
        image_container
            .volume_mounts
            .iter()
            .flatten()
            .any(|m| m.name == "buildkit-secrets" && m.read_only == Some(true)),
        "{image_container:?}"
    );
    let registry_volume = volumes
        .iter()
        .find(|v| v.name == "registry-credentials")
        .unwrap();
    assert_eq!(
        registry_volume
            .secret
            .as_ref()
            .unwrap()
            .secret_name
            .as_deref(),
        Some("build-kweb-1-registry")
    );
    let cache_volume = volumes.iter().find(|v| v.name == "cache").unwrap();
    assert_eq!(
        cache_volume
            .persistent_volume_claim
            .as_ref()
            .unwrap()
            .claim_name,
        "ferry-build-cache-kweb"
    );
    let text = serde_json::to_string(&job).unwrap();
    for secret in ["npm-token-93be", REGISTRY_PASSWORD] {
        assert!(
            !text.contains(secret),
            "the Job's spec holds a secret value"
        );
    }
    let status = job.status.clone().unwrap();
    assert!(
        status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Complete" && c.status == "True"),
        "{status:?}"
    );
    // The Secrets are gone with the build; the cache claim stays, of the asked size.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    wait_gone(&secrets, "build-kweb-1-secrets").await;
    wait_gone(&secrets, "build-kweb-1-registry").await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let claim = claims.get("ferry-build-cache-kweb").await.unwrap();
    assert_eq!(
        claim.spec.unwrap().resources.unwrap().requests.unwrap()["storage"].0,
        (1u64 << 30).to_string()
    );
    let created = job.metadata.creation_timestamp.clone().unwrap().0;
    let completed = status.completion_time.clone().unwrap().0;
    println!(
        "kube builder: build {:.2} s end to end; Job created {created}, complete {completed} ({} s, API server timestamps)",
        took.as_secs_f64(),
        completed.as_second() - created.as_second()
    );

    // A second build whose Job completes but pushes nothing: PUSH_FAILED, clearly.
    repo.commit(&[("svc/message.txt", "again\n")], "second");
    let operation = start_build(&service.channel, "kweb").await;
    let second = finished(&service.channel, operation, Duration::from_secs(120)).await;
    assert_eq!(second.state(), State::Failed);
    assert_eq!(second.failure_reason(), FailureReason::PushFailed);
    assert!(
        second.failure_message.contains("completed but")
            && second.failure_message.contains("is not in the registry"),
        "{}",
        second.failure_message
    );
    assert!(
        second.cache.unwrap().hit,
        "the claim made by the first build is reused"
    );
    assert!(second.image.is_empty());

    // Deleting the application deletes its cache claim too (the images it still has
    // are deleted with it: force).
    ApplicationServiceClient::new(service.channel.clone())
        .delete_application(ferry_proto::ferry::build::v1::DeleteApplicationRequest {
            name: "applications/kweb".into(),
            force: true,
            ..Default::default()
        })
        .await
        .unwrap();
    // (Kubernetes keeps a claim a pod still names, e.g. the finished Job's, until that
    // pod goes: being deleted is what Ferry decides.)
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(claim) = claims.get_opt("ferry-build-cache-kweb").await.unwrap() {
        if claim.metadata.deletion_timestamp.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cache claim is not being deleted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    deploy.stop().await;
    service.stop().await;
    remove_namespace(&client, &ns).await;
    let _ = persistent_volumes
        .delete(&format!("{ns}-cache"), &DeleteParams::background())
        .await;
}

#[tokio::test]
async fn a_build_cancelled_while_its_pod_is_pending_removes_its_job_and_secrets() {
    let client = kube_client().await;
    let ns = namespace("cancel");
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-kube-cancel", settings(work.path(), &ns)).await;
    let repo = common::Repo::new();
    repo.commit(&[("Dockerfile", "FROM scratch\n")], "first");
    create_app(&service.channel, "kpending", unschedulable(&repo.url(), 0)).await;
    let operation = start_build(&service.channel, "kpending").await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    wait_job(&jobs, "build-kpending-1").await;
    // The registry Secret exists while the build waits.
    let deadline = Instant::now() + Duration::from_secs(10);
    while secrets
        .get_opt("build-kpending-1-registry")
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the registry Secret was not made"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let name = operation.metadata.clone().unwrap().target;
    assert_eq!(
        get_build(&service.channel, &name).await.state(),
        State::Running
    );
    let cancelled_at = Instant::now();
    BuildServiceClient::new(service.channel.clone())
        .cancel_build(CancelBuildRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let build = finished(&service.channel, operation, Duration::from_secs(30)).await;
    assert_eq!(build.state(), State::Cancelled);
    wait_gone(&jobs, "build-kpending-1").await;
    wait_gone(&secrets, "build-kpending-1-registry").await;
    println!(
        "kube builder: cancelled, Job and Secret gone in {:.2} s",
        cancelled_at.elapsed().as_secs_f64()
    );
    let log = log_of(&service.channel, &build.name).await;
    assert!(log.contains("not scheduled"), "{log}");
    service.stop().await;
    remove_namespace(&client, &ns).await;
}

#[tokio::test]
async fn a_job_deleted_by_someone_else_fails_the_build_as_builder_lost() {
    let client = kube_client().await;
    let ns = namespace("lost");
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-kube-lost", settings(work.path(), &ns)).await;
    let repo = common::Repo::new();
    repo.commit(&[("Dockerfile", "FROM scratch\n")], "first");
    create_app(&service.channel, "klost", unschedulable(&repo.url(), 0)).await;
    let operation = start_build(&service.channel, "klost").await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    wait_job(&jobs, "build-klost-1").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    jobs.delete("build-klost-1", &DeleteParams::background())
        .await
        .unwrap();
    let build = finished(&service.channel, operation, Duration::from_secs(30)).await;
    assert_eq!(build.state(), State::Failed);
    assert_eq!(build.failure_reason(), FailureReason::BuilderLost);
    assert!(
        build.failure_message.contains("deleted outside"),
        "{}",
        build.failure_message
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    wait_gone(&secrets, "build-klost-1-registry").await;
    service.stop().await;
    remove_namespace(&client, &ns).await;
}

#[tokio::test]
async fn the_jobs_deadline_fails_the_build_as_timed_out() {
    let client = kube_client().await;
    let ns = namespace("deadline");
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-kube-deadline", settings(work.path(), &ns)).await;
    let repo = common::Repo::new();
    repo.commit(&[("Dockerfile", "FROM scratch\n")], "first");
    create_app(&service.channel, "kslow", unschedulable(&repo.url(), 3)).await;
    let started = Instant::now();
    let operation = start_build(&service.channel, "kslow").await;
    let build = finished(&service.channel, operation, Duration::from_secs(60)).await;
    let took = started.elapsed();
    assert_eq!(build.state(), State::Failed);
    assert_eq!(build.failure_reason(), FailureReason::TimedOut);
    // Well before the service's own safety net (timeout + 30 s): the Job's deadline.
    assert!(took < Duration::from_secs(25), "{took:?}");
    let log = log_of(&service.channel, &build.name).await;
    assert!(log.to_lowercase().contains("deadline"), "{log}");
    println!(
        "kube builder: a 3 s deadline ended the build in {:.2} s",
        took.as_secs_f64()
    );
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    let job = jobs.get("build-kslow-1").await.unwrap();
    // `FailureTarget` first, `Failed` once the pod is gone.
    let status = job.status.unwrap();
    assert!(
        status.conditions.iter().flatten().any(|c| {
            (c.type_ == "Failed" || c.type_ == "FailureTarget")
                && c.reason.as_deref() == Some("DeadlineExceeded")
        }),
        "{status:?}"
    );
    service.stop().await;
    remove_namespace(&client, &ns).await;
}

#[tokio::test]
async fn artifact_mode_is_refused_at_once_on_kubernetes() {
    let client = kube_client().await;
    let ns = namespace("artifact");
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("build-kube-artifact", settings(work.path(), &ns)).await;
    let repo = common::Repo::new();
    repo.commit(&[("www/index.html", "hi\n")], "first");
    let app = Application {
        source: Some(GitSource {
            repository_url: repo.url(),
            r#ref: "main".into(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            mode: Some(Mode::Artifact(ArtifactBuild {
                base_image: format!("{}/base/busybox:1", common::registry()),
                outputs: vec![ArtifactPath {
                    source: "www".into(),
                    destination: "/www/".into(),
                    mode: String::new(),
                }],
                ..Default::default()
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    create_app(&service.channel, "kart", app).await;
    let operation = start_build(&service.channel, "kart").await;
    let build = finished(&service.channel, operation, Duration::from_secs(30)).await;
    assert_eq!(build.state(), State::Failed);
    assert_eq!(build.failure_reason(), FailureReason::InvalidConfig);
    assert!(
        build
            .failure_message
            .contains("build.artifact needs the Docker builder"),
        "{}",
        build.failure_message
    );
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    assert!(jobs.get_opt("build-kart-1").await.unwrap().is_none());
    service.stop().await;
    remove_namespace(&client, &ns).await;
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_build_whose_runner_was_killed_ends_builder_lost_and_its_job_goes() {
    let client = kube_client().await;
    let ns = namespace("crash");
    let work = tempfile::tempdir().unwrap();
    let etcd = std::sync::Arc::new(ferry_store::testsuite::TestEtcd::start());
    let prefix = ferry_store::keys::test_prefix("build-kube-crash").into_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Replica A: the binary on the Kubernetes builder, started first so that it leads.
    let credentials = work.path().join("registry-credentials");
    std::fs::write(
        &credentials,
        format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}\n"),
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry-build"))
        .env("FERRY_LISTEN", format!("127.0.0.1:{port}"))
        .env("FERRY_INSTANCE_ID", "build-a")
        .env("FERRY_ETCD_ENDPOINTS", etcd.endpoints().join(","))
        .env("FERRY_ETCD_PREFIX", prefix.trim_end_matches('/'))
        .env("FERRY_LEASE_TTL", "2s")
        .env("FERRY_BUILD_REGISTRY", common::registry())
        .env("FERRY_BUILD_REGISTRY_CREDENTIALS_FILE", &credentials)
        .env("FERRY_BUILD_BUILDER", "kubernetes")
        .env("FERRY_BUILD_KUBECONFIG", kubeconfig())
        .env("FERRY_BUILD_KUBE_NAMESPACE", &ns)
        .env("FERRY_BUILD_WORK_DIR", work.path().join("a"))
        .spawn()
        .expect("start the ferry-build binary");
    let mut replica_a = Killed(child);
    let store = ferry_kit::server::connect_store(&common::service_config(&etcd, &prefix))
        .await
        .unwrap();
    let leader_key = ferry_ops::leader::leader_key("build-runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(kv) = store.get(&leader_key).await.unwrap()
            && kv.value == b"build-a"
        {
            break;
        }
        assert!(Instant::now() < deadline, "replica A did not become leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let replica_b =
        common::Service::start_with(etcd.clone(), &prefix, settings(&work.path().join("b"), &ns))
            .await;
    let repo = common::Repo::new();
    repo.commit(&[("Dockerfile", "FROM scratch\n")], "first");
    create_app(&replica_b.channel, "kcrash", unschedulable(&repo.url(), 0)).await;
    let operation = start_build(&replica_b.channel, "kcrash").await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    wait_job(&jobs, "build-kcrash-1").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let deadline = Instant::now() + Duration::from_secs(10);
    while secrets
        .get_opt("build-kcrash-1-registry")
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the registry Secret was not made"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // SIGKILL replica A: B takes over, ends the build and deletes the orphaned Job.
    replica_a.0.kill().unwrap();
    replica_a.0.wait().unwrap();
    let build = finished(&replica_b.channel, operation, Duration::from_secs(60)).await;
    assert_eq!(build.state(), State::Failed, "{build:?}");
    assert_eq!(build.failure_reason(), FailureReason::BuilderLost);
    wait_gone(&jobs, "build-kcrash-1").await;
    wait_gone(&secrets, "build-kcrash-1-registry").await;
    replica_b.stop().await;
    remove_namespace(&client, &ns).await;
}
