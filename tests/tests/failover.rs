//! Crash safety of controllers: two replicas of the deploy service share the work through
//! leader election. The leader is frozen while an operation waits for it, then killed; the
//! other replica takes over within the lease TTL + 1 s and finishes the operation.
//! Also: health follows etcd, and a bad configuration stops a service before it binds.

use std::time::{Duration, Instant};

use ferry_e2e::{Launch, ServiceProcess, bin_path, eventually, free_port, unique_prefix};
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{GetOperationRequest, OperationState};
use ferry_proto::ferry::deploy::v1::namespace::State;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateNamespaceRequest, DeleteNamespaceRequest, GetNamespaceRequest, Namespace,
};
use ferry_store::Store;
use ferry_store::keys::{self, PrefixedStore};
use ferry_store::testsuite::TestEtcd;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_leader_is_replaced_and_its_operation_finished() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("failover");
    let launch = Launch::new(&etcd, &prefix);
    let ttl = launch.lease_ttl;
    let first = ServiceProcess::start("deploy", &launch).await;
    let second = ServiceProcess::start("deploy", &launch).await;
    let store = PrefixedStore::new(etcd.store().await, prefix.clone());

    let mut client = NamespaceServiceClient::new(second.channel().await);
    client
        .create_namespace(CreateNamespaceRequest {
            namespace_id: "doomed".into(),
            namespace: Some(Namespace::default()),
            ..Default::default()
        })
        .await
        .unwrap();
    let active = eventually(Duration::from_secs(10), || {
        let mut client = client.clone();
        async move {
            let namespace = client
                .get_namespace(GetNamespaceRequest {
                    name: "namespaces/doomed".into(),
                })
                .await
                .unwrap();
            namespace.into_inner().state() == State::Active
        }
    })
    .await;
    assert!(active.is_some(), "namespace never became active");

    // Who leads the deletion controller?
    let leader_key = keys::sys::leader("deploy-namespace-deletions");
    let leader_id = String::from_utf8(
        store
            .get(&leader_key)
            .await
            .unwrap()
            .expect("a leader")
            .value,
    )
    .unwrap();
    let (leader, follower) = if leader_id == first.instance_id {
        (&first, &second)
    } else {
        (&second, &first)
    };
    assert_eq!(leader_id, leader.instance_id);

    // Freeze the leader: it keeps its leadership (its lease has not expired yet) but does
    // nothing, so the delete operation stays unfinished.
    leader.signal("STOP");
    let operation = NamespaceServiceClient::new(follower.channel().await)
        .delete_namespace(DeleteNamespaceRequest {
            name: "namespaces/doomed".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut operations = OperationsServiceClient::new(follower.channel().await);
    let pending = operations
        .get_operation(GetOperationRequest {
            name: operation.name.clone(),
        })
        .await
        .unwrap();
    assert!(
        !pending.into_inner().done,
        "nobody may finish it while the leader is frozen"
    );

    // Kill the leader; the follower must take over and finish within TTL + 1 s.
    leader.signal("KILL");
    let killed_at = Instant::now();
    let finished = eventually(ttl + Duration::from_secs(1), || {
        let mut operations = operations.clone();
        let name = operation.name.clone();
        async move {
            operations
                .get_operation(GetOperationRequest { name })
                .await
                .unwrap()
                .into_inner()
                .done
        }
    })
    .await;
    let took = killed_at.elapsed();
    assert!(
        finished.is_some(),
        "operation not finished {took:?} after the leader was killed (TTL {ttl:?})"
    );
    println!(
        "failover: operation finished {took:?} after SIGKILL of the leader (lease TTL {ttl:?})"
    );

    let done = operations
        .get_operation(GetOperationRequest {
            name: operation.name,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.metadata.unwrap().state(), OperationState::Succeeded);
    let status = client
        .get_namespace(GetNamespaceRequest {
            name: "namespaces/doomed".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let new_leader = String::from_utf8(
        store
            .get(&leader_key)
            .await
            .unwrap()
            .expect("a leader")
            .value,
    )
    .unwrap();
    assert_eq!(new_leader, follower.instance_id);
    follower.assert_no_error_logs();
    store.delete_prefix("").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn health_follows_etcd() {
    // A private etcd: this test kills it.
    let etcd = TestEtcd::start_private();
    let prefix = unique_prefix("health");
    let deploy = ServiceProcess::start("deploy", &Launch::new(&etcd, &prefix)).await;
    assert_eq!(deploy.health().await, Some(ServingStatus::Serving));
    drop(etcd);
    let not_serving = eventually(Duration::from_secs(10), || async {
        deploy.health().await == Some(ServingStatus::NotServing)
    })
    .await;
    assert!(
        not_serving.is_some(),
        "health must turn NOT_SERVING when etcd is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_started_before_etcd_serves_once_etcd_answers() {
    let (client_port, peer_port) = (free_port(), free_port());
    let launch = Launch {
        etcd_endpoints: vec![format!("127.0.0.1:{client_port}")],
        prefix: unique_prefix("late-etcd"),
        lease_ttl: Duration::from_secs(2),
        extra_args: Vec::new(),
    };
    let deploy = ServiceProcess::spawn("deploy", &launch);
    let answers_not_serving = eventually(Duration::from_secs(10), || async {
        deploy.health().await == Some(ServingStatus::NotServing)
    })
    .await;
    assert!(
        answers_not_serving.is_some(),
        "runs and says NOT_SERVING without etcd:\n{}",
        deploy.log_text()
    );

    // Now etcd comes up on the configured port.
    let data = tempfile::tempdir().unwrap();
    let mut etcd = std::process::Command::new(ferry_store::testsuite::etcd_binary())
        .args(["--name", "late", "--data-dir"])
        .arg(data.path())
        .arg("--listen-client-urls")
        .arg(format!("http://127.0.0.1:{client_port}"))
        .arg("--advertise-client-urls")
        .arg(format!("http://127.0.0.1:{client_port}"))
        .arg("--listen-peer-urls")
        .arg(format!("http://127.0.0.1:{peer_port}"))
        .arg("--initial-advertise-peer-urls")
        .arg(format!("http://127.0.0.1:{peer_port}"))
        .arg("--initial-cluster")
        .arg(format!("late=http://127.0.0.1:{peer_port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start etcd");
    let serving = eventually(Duration::from_secs(20), || async {
        deploy.health().await == Some(ServingStatus::Serving)
    })
    .await;
    let _ = etcd.kill();
    let _ = etcd.wait();
    assert!(
        serving.is_some(),
        "SERVING once etcd answers:\n{}",
        deploy.log_text()
    );
}

#[test]
fn an_invalid_configuration_exits_64_before_binding() {
    let port = free_port();
    let output = std::process::Command::new(bin_path("deploy"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--lease-ttl",
            "1s",
        ])
        .output()
        .expect("run ferry-deploy");
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("lease_ttl"),
        "the message names the setting: {stderr}"
    );
    // Nothing was bound: the port is still free.
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port still free");
}
