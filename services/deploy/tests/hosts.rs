//! HostService in-process over real etcd and the in-memory runtime
//! (`ferry_runtime::testing::MemoryRuntime`, a stateful runtime that places instances with
//! the same placement code as the Docker adapter): listing hosts, and cordons that keep
//! new instances of real rollouts off a host until it is uncordoned.
//!
//! Needs etcd: `FERRY_ETCD_ENDPOINTS`, or an `etcd` binary to start a private one.

use std::sync::Arc;
use std::time::Duration;

use ferry_deploy::runtimes::Runtimes;
use ferry_kit::config::ServiceConfig;
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{ContainerPort, Operation, WaitOperationRequest, operation};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::host_service_client::HostServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use ferry_runtime::testing::MemoryRuntime;
use ferry_runtime::{InstanceStatus, Runtime};
use ferry_store::testsuite::TestEtcd;
use tonic::Code;
use tonic::transport::Channel;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

struct Service {
    channel: Channel,
    runtime: MemoryRuntime,
    _stop: tokio::sync::oneshot::Sender<()>,
    _etcd: TestEtcd,
}

/// The service over a memory runtime `local` with two hosts: host-1 (r1/z1) and host-2
/// (r1/z2).
async fn start() -> Service {
    let etcd = TestEtcd::start();
    let runtime = MemoryRuntime::new("local");
    runtime.add_host("host-2", "r1", "z2");
    let config = ServiceConfig {
        store: ferry_kit::config::StoreConfig {
            endpoints: etcd.endpoints().to_vec(),
            prefix: ferry_store::keys::test_prefix("hosts").into_string(),
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

fn hosts(service: &Service) -> HostServiceClient<Channel> {
    HostServiceClient::new(service.channel.clone())
}

fn field_of(status: &tonic::Status) -> String {
    let details = tonic_types::StatusExt::get_error_details(status);
    details
        .bad_request()
        .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        .unwrap_or_else(|| panic!("no field violation in {status:?}"))
}

async fn list(service: &Service, filter: &str) -> Result<ListHostsResponse, tonic::Status> {
    hosts(service)
        .list_hosts(ListHostsRequest {
            filter: filter.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

fn names(response: &ListHostsResponse) -> Vec<&str> {
    response.hosts.iter().map(|h| h.name.as_str()).collect()
}

async fn get(service: &Service, name: &str) -> Result<Host, tonic::Status> {
    hosts(service)
        .get_host(GetHostRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

/// Cordons as `users/ops-oncall`, the caller a gateway would name in `x-ferry-caller`.
async fn cordon(service: &Service, request: CordonHostRequest) -> Result<Host, tonic::Status> {
    let mut request = tonic::Request::new(request);
    request
        .metadata_mut()
        .insert("x-ferry-caller", "users/ops-oncall".parse().unwrap());
    hosts(service)
        .cordon_host(request)
        .await
        .map(|r| r.into_inner())
}

async fn uncordon(service: &Service, request: UncordonHostRequest) -> Result<Host, tonic::Status> {
    hosts(service)
        .uncordon_host(request)
        .await
        .map(|r| r.into_inner())
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

/// Creates namespace `id` (retrying while the service starts) and waits until it is active.
async fn namespace(service: &Service, id: &str) {
    let mut namespaces = NamespaceServiceClient::new(service.channel.clone());
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
            Err(status) if attempt < 50 && status.code() == Code::Unavailable => {
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
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("namespace {id} did not become active");
}

/// Deploys `id` with `replicas` instances and waits for its rollout to succeed.
async fn deploy(service: &Service, ns: &str, id: &str, replicas: i32) {
    let operation = DeploymentServiceClient::new(service.channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: id.into(),
            deployment: Some(Deployment {
                template: Some(DeploymentTemplate {
                    image_source: Some(deployment_template::ImageSource::ImageUri(format!(
                        "127.0.0.1:5000/echo@{D1}"
                    ))),
                    ports: vec![ContainerPort {
                        name: "http".into(),
                        port: 8080,
                        protocol: 0,
                    }],
                    ..Default::default()
                }),
                replicas: Some(replicas),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = wait(&service.channel, operation).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "deployment {id}: {done:?}"
    );
}

/// The live instances of deployment `id`.
async fn instances(service: &Service, ns: &str, id: &str) -> Vec<InstanceStatus> {
    service
        .runtime
        .list_instances(ns)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.deployment == id && i.is_live())
        .collect()
}

/// Lists until the service answers (it may still be starting).
async fn first_list(service: &Service) -> ListHostsResponse {
    for _ in 0..50 {
        match list(service, "").await {
            Ok(response) => return response,
            Err(status) if status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("list hosts: {status:?}"),
        }
    }
    panic!("the service did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_are_listed_with_zones_counts_filters_and_pages() {
    let service = start().await;
    let listed = first_list(&service).await;
    assert_eq!(names(&listed), ["hosts/host-1", "hosts/host-2"]);
    assert_eq!(listed.total_size, 2);
    namespace(&service, "shop").await;
    deploy(&service, "shop", "web", 3).await;

    let listed = list(&service, "").await.unwrap();
    let by_zone: Vec<(&str, &str, &str, i32)> = listed
        .hosts
        .iter()
        .map(|h| {
            (
                h.name.as_str(),
                h.region.as_str(),
                h.zone.as_str(),
                h.instance_count,
            )
        })
        .collect();
    // Least loaded first, ties by name: host-1, host-2, host-1.
    assert_eq!(
        by_zone,
        [
            ("hosts/host-1", "r1", "z1", 2),
            ("hosts/host-2", "r1", "z2", 1)
        ]
    );
    let host_1 = &listed.hosts[0];
    assert_eq!(host_1.state(), host::State::Ready);
    assert_eq!(host_1.runtime, "local");
    assert_eq!(host_1.runtime_kind(), RuntimeKind::Docker);
    assert_eq!(host_1.display_name, "host-1");
    assert_eq!(host_1.capacity.unwrap().cpu_millis, 2000);
    assert!(!host_1.cordoned);
    assert!(!host_1.uid.is_empty() && !host_1.etag.is_empty());
    assert!(host_1.create_time.is_some());
    // The record is kept: the uid and etag do not change from one read to the next.
    let again = get(&service, "hosts/host-1").await.unwrap();
    assert_eq!((&again.uid, &again.etag), (&host_1.uid, &host_1.etag));
    assert_ne!(listed.hosts[1].uid, host_1.uid);

    // Filters.
    assert_eq!(
        names(&list(&service, "zone = \"z2\"").await.unwrap()),
        ["hosts/host-2"]
    );
    assert_eq!(
        names(
            &list(&service, "region = r1 AND state = READY")
                .await
                .unwrap()
        ),
        ["hosts/host-1", "hosts/host-2"]
    );
    assert_eq!(
        names(
            &list(&service, "runtime = local AND cordoned = false")
                .await
                .unwrap()
        ),
        ["hosts/host-1", "hosts/host-2"]
    );
    let none = list(&service, "runtime = kubernetes").await.unwrap();
    assert_eq!((none.hosts.len(), none.total_size), (0, 0));
    service
        .runtime
        .set_host_state("host-2", ferry_runtime::HostState::Unreachable);
    assert_eq!(
        names(&list(&service, "state != READY").await.unwrap()),
        ["hosts/host-2"]
    );
    for bad in [
        "zone",
        "colour = red",
        "state = SLEEPY",
        "zone = a OR zone = b",
    ] {
        let status = list(&service, bad).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad}: {status:?}");
        assert_eq!(field_of(&status), "filter", "{bad}");
    }

    // Pages of one, by name.
    let first = hosts(&service)
        .list_hosts(ListHostsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&first), ["hosts/host-1"]);
    assert_eq!(first.total_size, 2);
    assert!(!first.next_page_token.is_empty());
    let second = hosts(&service)
        .list_hosts(ListHostsRequest {
            page_size: 1,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&second), ["hosts/host-2"]);
    assert!(second.next_page_token.is_empty());
    let status = hosts(&service)
        .list_hosts(ListHostsRequest {
            page_size: 1,
            page_token: first.next_page_token,
            filter: "zone = z1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_of(&status), "page_token");
    let status = hosts(&service)
        .list_hosts(ListHostsRequest {
            order_by: "colour".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_of(&status), "order_by");

    // Names.
    let status = get(&service, "hosts/host-9").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = get(&service, "nodes/host-1").await.unwrap_err();
    assert_eq!(
        (status.code(), field_of(&status).as_str()),
        (Code::InvalidArgument, "name")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cordoned_host_gets_no_new_instance_until_uncordoned() {
    let service = start().await;
    first_list(&service).await;
    namespace(&service, "shop").await;
    let before = get(&service, "hosts/host-1").await.unwrap();

    // validate_only changes nothing.
    let preview = cordon(
        &service,
        CordonHostRequest {
            name: "hosts/host-1".into(),
            reason: "disk failing".into(),
            validate_only: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(preview.cordoned);
    assert!(!get(&service, "hosts/host-1").await.unwrap().cordoned);

    let request_id = uuid::Uuid::new_v4().to_string();
    let cordon_request = CordonHostRequest {
        name: "hosts/host-1".into(),
        etag: before.etag.clone(),
        reason: "disk failing".into(),
        request_id: request_id.clone(),
        ..Default::default()
    };
    let cordoned = cordon(&service, cordon_request.clone()).await.unwrap();
    assert!(cordoned.cordoned);
    assert_eq!(cordoned.cordon_reason, "disk failing");
    assert_eq!(cordoned.cordoned_by, "users/ops-oncall");
    assert!(cordoned.cordon_time.is_some());
    assert_eq!(cordoned.uid, before.uid);
    assert_ne!(cordoned.etag, before.etag);
    // The same request id answers the same, although the etag sent is stale by now.
    assert_eq!(
        cordon(&service, cordon_request.clone()).await.unwrap(),
        cordoned
    );
    let status = cordon(
        &service,
        CordonHostRequest {
            reason: "another".into(),
            ..cordon_request
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        (status.code(), field_of(&status).as_str()),
        (Code::InvalidArgument, "request_id")
    );
    // Cordoning a cordoned host succeeds and changes nothing, the reason included.
    let twice = cordon(
        &service,
        CordonHostRequest {
            name: "hosts/host-1".into(),
            reason: "another reason".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(twice, cordoned);
    // A stale etag is ABORTED; an unknown host NOT_FOUND.
    let status = cordon(
        &service,
        CordonHostRequest {
            name: "hosts/host-1".into(),
            etag: before.etag.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let status = cordon(
        &service,
        CordonHostRequest {
            name: "hosts/host-9".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = cordon(
        &service,
        CordonHostRequest {
            name: "hosts/host-1".into(),
            etag: "nonsense".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        (status.code(), field_of(&status).as_str()),
        (Code::InvalidArgument, "etag")
    );

    let listed = list(&service, "cordoned = true").await.unwrap();
    assert_eq!(names(&listed), ["hosts/host-1"]);
    assert_eq!(listed.hosts[0].cordon_reason, "disk failing");

    // Every instance of a new deployment lands on host-2.
    deploy(&service, "shop", "web", 4).await;
    let placed = instances(&service, "shop", "web").await;
    assert_eq!(placed.len(), 4);
    assert!(placed.iter().all(|i| i.host == "host-2"), "{placed:#?}");
    let applied = service.runtime.applied();
    let (spec, _) = applied.last().unwrap();
    assert_eq!(spec.placement.excluded_hosts, ["host-1"]);

    // Uncordon (also idempotent): new instances may use host-1 again; the least loaded
    // host now is host-1, so the next deployment's instances go there.
    let current = get(&service, "hosts/host-1").await.unwrap();
    let uncordoned = uncordon(
        &service,
        UncordonHostRequest {
            name: "hosts/host-1".into(),
            etag: current.etag.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!uncordoned.cordoned);
    assert_eq!(uncordoned.cordon_reason, "");
    let twice = uncordon(
        &service,
        UncordonHostRequest {
            name: "hosts/host-1".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(twice, uncordoned);
    let status = uncordon(
        &service,
        UncordonHostRequest {
            name: "hosts/host-1".into(),
            etag: current.etag,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert_eq!(
        names(&list(&service, "cordoned = true").await.unwrap()),
        Vec::<&str>::new()
    );
    deploy(&service, "shop", "api", 2).await;
    let placed = instances(&service, "shop", "api").await;
    assert_eq!(placed.len(), 2);
    assert!(placed.iter().all(|i| i.host == "host-1"), "{placed:#?}");
    // The cordoned deployment's instances stayed where they were.
    let web = instances(&service, "shop", "web").await;
    assert!(web.iter().all(|i| i.host == "host-2"), "{web:#?}");
}
