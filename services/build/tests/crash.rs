//! A build service process SIGKILLed in the middle of a build: another replica takes
//! the `build-runs` leadership, removes the orphaned builder container and ends the
//! build FAILED (`FAILURE_REASON_BUILDER_LOST`); it is never left RUNNING.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build::{FailureReason, State};
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::build::v1::{
    Application, BuildConfig, CreateApplicationRequest, CreateBuildRequest, DockerfileBuild,
    GetBuildRequest, GitSource,
};
use ferry_store::testsuite::TestEtcd;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_killed_runner_leaves_no_build_running() {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let etcd = std::sync::Arc::new(TestEtcd::start());
    let prefix = ferry_store::keys::test_prefix("build-crash").into_string();
    let port = free_port();
    // Replica A: the binary, started first so that it leads.
    let child = Command::new(env!("CARGO_BIN_EXE_ferry-build"))
        .env("FERRY_LISTEN", format!("127.0.0.1:{port}"))
        .env("FERRY_INSTANCE_ID", "build-a")
        .env("FERRY_ETCD_ENDPOINTS", etcd.endpoints().join(","))
        .env("FERRY_ETCD_PREFIX", prefix.trim_end_matches('/'))
        .env("FERRY_LEASE_TTL", "2s")
        .env("FERRY_BUILD_DOCKER_HOST", common::docker_host())
        .env("FERRY_BUILD_REGISTRY", common::registry())
        .env("FERRY_BUILD_BUILDER_IMAGE", common::BUILDER_IMAGE)
        .env("FERRY_BUILD_WORK_DIR", work.path().join("a"))
        .env("FERRY_BUILD_NETWORK", "none")
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
    // Replica B in this process.
    let replica_b = common::Service::start_with(
        etcd.clone(),
        &prefix,
        common::settings(&work.path().join("b")),
    )
    .await;

    let repo = common::Repo::new();
    common::commit_web_app(&repo, &base, "crash");
    let application = Application {
        source: Some(GitSource {
            repository_url: repo.url(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: "echo sleeping\nsleep 300\n".into(),
            mode: Some(Mode::Dockerfile(DockerfileBuild::default())),
            ..Default::default()
        }),
        ..Default::default()
    };
    ApplicationServiceClient::new(replica_b.channel.clone())
        .create_application(CreateApplicationRequest {
            application_id: "crash".into(),
            application: Some(application),
            ..Default::default()
        })
        .await
        .unwrap();
    let operation = BuildServiceClient::new(replica_b.channel.clone())
        .create_build(CreateBuildRequest {
            parent: "applications/crash".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let name = operation.metadata.as_ref().unwrap().target.clone();
    let mut builds = BuildServiceClient::new(replica_b.channel.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    let running = loop {
        let build = builds
            .get_build(GetBuildRequest { name: name.clone() })
            .await
            .unwrap()
            .into_inner();
        if build.state() == State::Running
            && build.steps[1].state() == ferry_proto::ferry::common::v1::StageState::Running
        {
            break build;
        }
        assert!(
            Instant::now() < deadline,
            "the build did not reach its build script: {build:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let container = format!(
        "ferry-build-crash-1-{}",
        running
            .uid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
    );
    assert!(
        common::docker()
            .inspect_container(&container, None)
            .await
            .is_ok(),
        "the builder runs"
    );

    // SIGKILL replica A: no shutdown, no lease revoked.
    replica_a.0.kill().unwrap();
    replica_a.0.wait().unwrap();
    let operation = common::wait(&replica_b.channel, operation, Duration::from_secs(60)).await;
    let build = builds
        .get_build(GetBuildRequest { name: name.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(build.state(), State::Failed, "{build:?}");
    assert_eq!(build.failure_reason(), FailureReason::BuilderLost);
    assert!(!build.reconciling);
    assert!(operation.done);
    assert!(
        common::docker()
            .inspect_container(&container, None)
            .await
            .is_err(),
        "the orphaned builder container is removed"
    );
    replica_b.stop().await;
}
