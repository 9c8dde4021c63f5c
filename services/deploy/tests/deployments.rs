//! The deploy service in-process over real etcd and the in-memory runtime
//! (`ferry_runtime::testing::MemoryRuntime`, a stateful runtime, not a mock): the
//! deployment API, the rollout controller and auto-repair through their real gRPC path.
//! The same flows run on real Docker engines in the end-to-end suite.

use std::sync::Arc;
use std::time::Duration;

use ferry_deploy::runtimes::Runtimes;
use ferry_kit::config::ServiceConfig;
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{
    ContainerPort, EnvVar, Operation, WaitOperationRequest, env_var, operation,
};
use ferry_proto::ferry::deploy::v1::deployment::State as DeploymentState;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::instance_service_client::InstanceServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::rollout::State as RolloutState;
use ferry_proto::ferry::deploy::v1::rollout_service_client::RolloutServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use ferry_runtime::testing::MemoryRuntime;
use ferry_runtime::{HostState, Runtime};
use ferry_store::testsuite::TestEtcd;
use tonic::transport::Channel;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

struct Service {
    channel: Channel,
    runtime: MemoryRuntime,
    _stop: tokio::sync::oneshot::Sender<()>,
    _etcd: TestEtcd,
}

async fn start() -> Service {
    let etcd = TestEtcd::start();
    let runtime = MemoryRuntime::new("local");
    runtime.add_host("host-2", "r1", "z2");
    let config = ServiceConfig {
        store: ferry_kit::config::StoreConfig {
            endpoints: etcd.endpoints().to_vec(),
            prefix: ferry_store::keys::test_prefix("deployments").into_string(),
            ..Default::default()
        },
        lease_ttl: Duration::from_secs(2),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runtimes = Runtimes::new(vec![Arc::new(runtime.clone()) as Arc<dyn Runtime>]);
    tokio::spawn(async move {
        ferry_deploy::run_with(config, runtimes, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    Service {
        channel,
        runtime,
        _stop: stop,
        _etcd: etcd,
    }
}

fn template(digest: &str, version: &str) -> DeploymentTemplate {
    DeploymentTemplate {
        image_source: Some(deployment_template::ImageSource::ImageUri(format!(
            "127.0.0.1:5000/echo@{digest}"
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
        ..Default::default()
    }
}

async fn wait(channel: &Channel, operation: Operation) -> Operation {
    let mut operations = OperationsServiceClient::new(channel.clone());
    let mut operation = operation;
    for _ in 0..60 {
        if operation.done {
            return operation;
        }
        operation = operations
            .wait_operation(WaitOperationRequest {
                name: operation.name.clone(),
                timeout: Some(prost_types::Duration {
                    seconds: 1,
                    nanos: 0,
                }),
            })
            .await
            .unwrap()
            .into_inner();
    }
    panic!("operation {} did not end: {operation:?}", operation.name);
}

async fn namespace(service: &Service, id: &str) {
    let mut namespaces = NamespaceServiceClient::new(service.channel.clone());
    // The service may still be starting.
    for attempt in 0.. {
        match namespaces
            .create_namespace(CreateNamespaceRequest {
                namespace_id: id.into(),
                namespace: Some(Namespace::default()),
                ..Default::default()
            })
            .await
        {
            Ok(_) => break,
            Err(status) if attempt < 50 && status.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("create namespace: {status:?}"),
        }
    }
    for _ in 0..100 {
        let namespace = namespaces
            .get_namespace(GetNamespaceRequest {
                name: format!("namespaces/{id}"),
            })
            .await
            .unwrap()
            .into_inner();
        if namespace.state() == namespace::State::Active {
            assert!(service.runtime.has_namespace(&namespace.runtime_namespace));
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("namespace {id} did not become active");
}

async fn deployment(channel: &Channel, name: &str) -> Deployment {
    DeploymentServiceClient::new(channel.clone())
        .get_deployment(GetDeploymentRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

async fn create(service: &Service, ns: &str, id: &str, replicas: i32) -> Operation {
    DeploymentServiceClient::new(service.channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: id.into(),
            deployment: Some(Deployment {
                template: Some(template(D1, "v1")),
                replicas: Some(replicas),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn update_template(service: &Service, name: &str, template: DeploymentTemplate) -> Operation {
    DeploymentServiceClient::new(service.channel.clone())
        .update_deployment(UpdateDeploymentRequest {
            deployment: Some(Deployment {
                name: name.into(),
                template: Some(template),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["template".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

fn live_revisions(service: &Service, rns: &str, deployment: &str) -> Vec<String> {
    let runtime = service.runtime.clone();
    let instances = futures::executor::block_on(runtime.list_instances(rns)).unwrap();
    let mut revisions: Vec<String> = instances
        .into_iter()
        .filter(|i| i.deployment == deployment && i.is_live())
        .map(|i| i.revision)
        .collect();
    revisions.sort();
    revisions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_roll_out_one_at_a_time_and_roll_back_a_crashing_revision() {
    let service = start().await;
    namespace(&service, "shop").await;
    let done = wait(&service.channel, create(&service, "shop", "web", 3).await).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    let web = deployment(&service.channel, "namespaces/shop/deployments/web").await;
    assert_eq!(web.state(), DeploymentState::Active, "{web:?}");
    assert_eq!(
        web.current_revision,
        "namespaces/shop/deployments/web/revisions/r1"
    );
    assert_eq!(web.ready_replicas, 3);
    assert_eq!(live_revisions(&service, "shop", "web"), vec!["r1"; 3]);

    // v2: one instance at a time: never more than 4 instances, never fewer than 3 ready.
    let operation = update_template(&service, &web.name, template(D2, "v2")).await;
    let mut max_seen = 0;
    let done = loop {
        let instances = service.runtime.list_instances("shop").await.unwrap();
        let live = instances.iter().filter(|i| i.is_live()).count();
        let ready = instances.iter().filter(|i| i.is_live() && i.ready).count();
        max_seen = max_seen.max(live);
        assert!(ready >= 3, "only {ready} ready during the rollout");
        let current = OperationsServiceClient::new(service.channel.clone())
            .get_operation(ferry_proto::ferry::common::v1::GetOperationRequest {
                name: operation.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        if current.done {
            break current;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    assert!(max_seen <= 4, "{max_seen} instances at once");
    assert_eq!(live_revisions(&service, "shop", "web"), vec!["r2"; 3]);
    // The runtime was asked one step at a time: r2's group grew 1, 2, 3.
    let sizes: Vec<u32> = service
        .runtime
        .applied()
        .into_iter()
        .filter(|(spec, _)| spec.revision == "r2")
        .map(|(_, size)| size)
        .collect();
    let mut distinct = sizes.clone();
    distinct.dedup();
    assert_eq!(distinct, vec![1, 2, 3], "{sizes:?}");
    let applied = service.runtime.applied();
    let env = &applied.last().unwrap().0.env;
    assert_eq!(env[0].value.resolved(), "v2");

    // v3 crashes: the rollout rolls back to r2 by itself.
    service
        .runtime
        .crash_image(&format!("127.0.0.1:5000/echo@{D3}"));
    let done = wait(
        &service.channel,
        update_template(&service, &web.name, template(D3, "v3")).await,
    )
    .await;
    let Some(operation::Result::Error(error)) = &done.result else {
        panic!("the crashing rollout succeeded: {done:?}");
    };
    assert!(error.message.contains("rolled back"), "{error:?}");
    let rollout = RolloutServiceClient::new(service.channel.clone())
        .get_rollout(GetRolloutRequest {
            name: format!("{}/rollouts/r3", web.name),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rollout.state(), RolloutState::RolledBack, "{rollout:?}");
    assert_eq!(rollout.state_reason, "INSTANCE_FAILED");
    let web = deployment(&service.channel, &web.name).await;
    assert_eq!(web.current_revision, format!("{}/revisions/r2", web.name));
    assert_eq!(live_revisions(&service, "shop", "web"), vec!["r2"; 3]);
    let r3 = DeploymentServiceClient::new(service.channel.clone())
        .get_deployment_revision(GetDeploymentRevisionRequest {
            name: format!("{}/revisions/r3", web.name),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r3.rollout_result(),
        deployment_revision::RolloutResult::RolledBack
    );

    // Every rollout step left an event in the namespace.
    let mut reasons = Vec::new();
    for _ in 0..50 {
        reasons = ferry_proto::ferry::deploy::v1::event_service_client::EventServiceClient::new(
            service.channel.clone(),
        )
        .list_events(ListEventsRequest {
            parent: "namespaces/shop".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.reason)
        .collect::<Vec<_>>();
        if reasons.iter().any(|r| r == "ROLLOUT_ROLLED_BACK") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for reason in [
        "ROLLOUT_STARTED",
        "ROLLOUT_SUCCEEDED",
        "ROLLOUT_ROLLING_BACK",
        "ROLLOUT_ROLLED_BACK",
        "INSTANCE_ENDED",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "no {reason} event in {reasons:?}"
        );
    }

    // A second update while a rollout runs is refused.
    service
        .runtime
        .never_ready_image(&format!("127.0.0.1:5000/echo@{D1}"));
    let slow = update_template(&service, &web.name, template(D1, "v4")).await;
    let error = DeploymentServiceClient::new(service.channel.clone())
        .update_deployment(UpdateDeploymentRequest {
            deployment: Some(Deployment {
                name: web.name.clone(),
                template: Some(template(D2, "v5")),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["template".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::Aborted, "{error:?}");
    // Abort it: back to r2.
    RolloutServiceClient::new(service.channel.clone())
        .abort_rollout(AbortRolloutRequest {
            name: format!("{}/rollouts/r4", web.name),
            ..Default::default()
        })
        .await
        .unwrap();
    let done = wait(&service.channel, slow).await;
    assert!(
        matches!(done.result, Some(operation::Result::Error(ref e)) if e.code == tonic::Code::Aborted as i32),
        "{done:?}"
    );
    assert_eq!(live_revisions(&service, "shop", "web"), vec!["r2"; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_instances_and_lost_hosts_are_replaced() {
    let service = start().await;
    namespace(&service, "ops").await;
    wait(&service.channel, create(&service, "ops", "api", 2).await).await;
    let instances = service.runtime.list_instances("ops").await.unwrap();
    let victim = instances[0].instance.clone();
    service.runtime.kill("ops", &victim);
    // The runtime's hint wakes the controller: a new instance replaces it.
    let mut replaced = false;
    for _ in 0..100 {
        let live: Vec<_> = service
            .runtime
            .list_instances("ops")
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.is_live())
            .collect();
        if live.len() == 2 && live.iter().all(|i| i.instance != victim) {
            replaced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(replaced, "the killed instance was not replaced");

    // Host loss: instances of host-1 come up elsewhere.
    let on_host_1 = service
        .runtime
        .list_instances("ops")
        .await
        .unwrap()
        .iter()
        .filter(|i| i.host == "host-1" && i.is_live())
        .count();
    service
        .runtime
        .set_host_state("host-1", HostState::Unreachable);
    let mut moved = false;
    for _ in 0..200 {
        let live: Vec<_> = service
            .runtime
            .list_instances("ops")
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.is_live())
            .collect();
        if live.len() == 2 && live.iter().all(|i| i.host == "host-2") {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        moved,
        "{on_host_1} instances of the lost host were not re-placed"
    );

    // Instances are listed through the API with their host and zone (as the controller
    // last recorded them: it catches up within a reconcile).
    let mut listed = ListInstancesResponse::default();
    for _ in 0..100 {
        listed = InstanceServiceClient::new(service.channel.clone())
            .list_instances(ListInstancesRequest {
                parent: "namespaces/ops/deployments/api".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let ready: Vec<_> = listed
            .instances
            .iter()
            .filter(|i| i.state() == instance::State::Ready)
            .collect();
        if ready.len() == 2
            && ready
                .iter()
                .all(|i| i.zone == "z2" && i.host == "hosts/host-2")
        {
            let unknown = listed
                .instances
                .iter()
                .filter(|i| i.state() == instance::State::Unknown)
                .count();
            assert!(
                unknown >= on_host_1,
                "the lost host's instances show UNKNOWN: {listed:?}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the API does not show 2 ready instances on host-2: {listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_nothing_is_written() {
    let service = start().await;
    namespace(&service, "qa").await;
    let mut client = DeploymentServiceClient::new(service.channel.clone());
    let mut bad = template(D1, "v1");
    bad.image_source = Some(deployment_template::ImageSource::ImageUri(
        "echo:latest".into(),
    ));
    let error = client
        .create_deployment(CreateDeploymentRequest {
            parent: "namespaces/qa".into(),
            deployment_id: "web".into(),
            deployment: Some(Deployment {
                template: Some(bad),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::InvalidArgument);
    let error = client
        .create_deployment(CreateDeploymentRequest {
            parent: "namespaces/missing".into(),
            deployment_id: "web".into(),
            deployment: Some(Deployment {
                template: Some(template(D1, "v1")),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);
    let listed = client
        .list_deployments(ListDeploymentsRequest {
            parent: "namespaces/qa".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.deployments.is_empty());
    assert!(service.runtime.applied().is_empty());
    // validate_only answers the would-be deployment and writes nothing.
    let operation = client
        .create_deployment(CreateDeploymentRequest {
            parent: "namespaces/qa".into(),
            deployment_id: "web".into(),
            deployment: Some(Deployment {
                template: Some(template(D1, "v1")),
                ..Default::default()
            }),
            validate_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(operation.done && operation.name.is_empty());
    let error = client
        .get_deployment(GetDeploymentRequest {
            name: "namespaces/qa/deployments/web".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revision_history_keeps_the_limit() {
    let service = start().await;
    namespace(&service, "hist").await;
    let created = DeploymentServiceClient::new(service.channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: "namespaces/hist".into(),
            deployment_id: "web".into(),
            deployment: Some(Deployment {
                template: Some(template(D1, "v1")),
                revision_history_limit: 2,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    wait(&service.channel, created).await;
    let name = "namespaces/hist/deployments/web";
    for (i, digest) in [D2, D1, D2].into_iter().enumerate() {
        let done = wait(
            &service.channel,
            update_template(&service, name, template(digest, &format!("v{}", i + 2))).await,
        )
        .await;
        assert!(
            matches!(done.result, Some(operation::Result::Response(_))),
            "{done:?}"
        );
    }
    let revisions = DeploymentServiceClient::new(service.channel.clone())
        .list_deployment_revisions(ListDeploymentRevisionsRequest {
            parent: name.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let numbers: Vec<i64> = revisions
        .deployment_revisions
        .iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(numbers, vec![4, 3], "{revisions:?}");
}
