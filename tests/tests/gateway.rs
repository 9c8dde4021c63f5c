//! The gateway as the platform's front door: calls to any `ferry.*.v1` service go through
//! it to a live instance of the owning service (found through the registrations in
//! etcd), errors come back as the service raised them, a service with no instance is
//! UNAVAILABLE from the gateway, and reads survive the crash of an instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferry_e2e::{Launch, ServiceProcess, error_info, eventually, unique_prefix};
use ferry_proto::ferry::auth::v1::GetTokenRequest;
use ferry_proto::ferry::auth::v1::token_service_client::TokenServiceClient;
use ferry_proto::ferry::build::v1::GetBuildRequest;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::catalog::v1::ListServiceTemplatesRequest;
use ferry_proto::ferry::catalog::v1::service_template_service_client::ServiceTemplateServiceClient;
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{OperationState, WatchOperationRequest};
use ferry_proto::ferry::deploy::v1::namespace::State;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateNamespaceRequest, DeleteNamespaceRequest, GetNamespaceRequest, ListNamespacesRequest,
    Namespace,
};
use ferry_store::Store;
use ferry_store::keys::PrefixedStore;
use ferry_store::testsuite::TestEtcd;
use tonic::Code;
use tonic::transport::Channel;

/// Waits until the gateway forwards namespace calls (it has seen a deploy registration).
async fn wait_forwarding(gateway: &ServiceProcess) -> NamespaceServiceClient<Channel> {
    let client = NamespaceServiceClient::new(gateway.channel().await);
    let ready = eventually(Duration::from_secs(10), || {
        let mut client = client.clone();
        async move {
            client
                .list_namespaces(ListNamespacesRequest::default())
                .await
                .is_ok()
        }
    })
    .await;
    assert!(
        ready.is_some(),
        "the gateway never forwarded to deploy; log:\n{}",
        gateway.log_text()
    );
    client
}

async fn clean(etcd: &TestEtcd, prefix: &str) {
    PrefixedStore::new(etcd.store().await, prefix.to_string())
        .delete_prefix("")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn namespaces_and_operation_streams_work_through_the_gateway() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("gateway-deploy");
    let launch = Launch::new(&etcd, &prefix);
    let gateway = ServiceProcess::start("gateway", &launch).await;
    let deploy = ServiceProcess::start("deploy", &launch).await;
    let mut namespaces = wait_forwarding(&gateway).await;

    let created = namespaces
        .create_namespace(CreateNamespaceRequest {
            namespace_id: "through-gateway".into(),
            namespace: Some(Namespace {
                description: "made through the front door".into(),
                ..Default::default()
            }),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.name, "namespaces/through-gateway");

    let fetched = namespaces
        .get_namespace(GetNamespaceRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.uid, created.uid);
    assert_eq!(fetched.description, "made through the front door");

    let listed = namespaces
        .list_namespaces(ListNamespacesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = listed.namespaces.iter().map(|n| n.name.as_str()).collect();
    assert!(names.contains(&"namespaces/through-gateway"), "{names:?}");

    // An error raised by deploy comes back as deploy raised it.
    let status = namespaces
        .get_namespace(GetNamespaceRequest {
            name: "namespaces/absent".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(
        error_info(&status),
        ("RESOURCE_NOT_FOUND".into(), "deploy.ferry.dev".into())
    );

    // Wait until the namespace is active, then delete it and watch the operation stream
    // through the gateway until it is done.
    let active = eventually(Duration::from_secs(10), || {
        let mut namespaces = namespaces.clone();
        async move {
            namespaces
                .get_namespace(GetNamespaceRequest {
                    name: "namespaces/through-gateway".into(),
                })
                .await
                .is_ok_and(|n| n.into_inner().state() == State::Active)
        }
    })
    .await;
    assert!(active.is_some(), "the namespace never became active");
    let operation = namespaces
        .delete_namespace(DeleteNamespaceRequest {
            name: "namespaces/through-gateway".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut operations = OperationsServiceClient::new(gateway.channel().await);
    let mut stream = operations
        .watch_operation(WatchOperationRequest {
            name: operation.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while let Some(update) = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the stream went quiet")
        .unwrap()
    {
        seen.push(update);
    }
    let last = seen.last().expect("at least the current state");
    assert!(last.done, "the stream ends with the finished operation");
    assert_eq!(
        last.metadata.as_ref().unwrap().state(),
        OperationState::Succeeded
    );
    assert!(seen[..seen.len() - 1].iter().all(|update| !update.done));

    gateway.assert_no_error_logs();
    deploy.assert_no_error_logs();
    clean(&etcd, &prefix).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_come_from_the_service_that_raised_them() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("gateway-errors");
    let launch = Launch::new(&etcd, &prefix);
    let gateway = ServiceProcess::start("gateway", &launch).await;
    let build = ServiceProcess::start("build", &launch).await;
    let channel = gateway.channel().await;

    // An unimplemented build method: UNIMPLEMENTED from build, forwarded unchanged.
    let mut builds = BuildServiceClient::new(channel.clone());
    let forwarded = eventually(Duration::from_secs(10), || {
        let mut builds = builds.clone();
        async move {
            let status = builds
                .get_build(GetBuildRequest {
                    name: "applications/web/builds/1".into(),
                })
                .await
                .unwrap_err();
            status.code() != Code::Unavailable
        }
    })
    .await;
    assert!(forwarded.is_some(), "the gateway never found build");
    let status = builds
        .get_build(GetBuildRequest {
            name: "applications/web/builds/1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(
        error_info(&status),
        ("NOT_IMPLEMENTED".into(), "build.ferry.dev".into())
    );

    // No catalog instance is running: UNAVAILABLE from the gateway itself.
    let status = ServiceTemplateServiceClient::new(channel.clone())
        .list_service_templates(ListServiceTemplatesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        error_info(&status),
        ("BACKEND_UNAVAILABLE".into(), "gateway.ferry.dev".into())
    );

    // The gateway's own API is answered locally.
    let status = TokenServiceClient::new(channel.clone())
        .get_token(GetTokenRequest {
            name: "tokens/t".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(
        error_info(&status),
        ("NOT_IMPLEMENTED".into(), "gateway.ferry.dev".into())
    );

    // A package nobody serves: UNIMPLEMENTED with ErrorInfo from the gateway.
    let status = call_raw(channel, "/ferry.billing.v1.InvoiceService/GetInvoice")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(
        error_info(&status),
        ("NOT_IMPLEMENTED".into(), "gateway.ferry.dev".into())
    );

    gateway.assert_no_error_logs();
    build.assert_no_error_logs();
    clean(&etcd, &prefix).await;
}

/// Calls `path` with an empty message.
async fn call_raw(channel: Channel, path: &'static str) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    grpc.unary(
        tonic::Request::new(()),
        http::uri::PathAndQuery::from_static(path),
        tonic_prost::ProstCodec::<(), ()>::default(),
    )
    .await
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_through_the_gateway_survive_a_killed_instance() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("gateway-failover");
    let launch = Launch::new(&etcd, &prefix);
    let mut debug_launch = launch.clone();
    debug_launch.extra_args = vec!["--log-filter".into(), "info,ferry_gateway=debug".into()];
    let gateway = ServiceProcess::start("gateway", &debug_launch).await;
    let doomed = ServiceProcess::start("deploy", &launch).await;
    let survivor = ServiceProcess::start("deploy", &launch).await;
    let store = PrefixedStore::new(etcd.store().await, prefix.clone());
    let both = eventually(Duration::from_secs(10), || async {
        ferry_kit::registry::list_instances(&store, "deploy")
            .await
            .unwrap()
            .len()
            == 2
    })
    .await;
    assert!(both.is_some(), "both deploy instances register");
    let client = wait_forwarding(&gateway).await;
    // The registration watch delivers within milliseconds; leave it a margin.
    tokio::time::sleep(Duration::from_millis(300)).await;

    const TASKS: usize = 8;
    const RUN: Duration = Duration::from_secs(4);
    let calls = Arc::new(AtomicUsize::new(0));
    let after_kill = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let mut client = client.clone();
        let calls = calls.clone();
        let after_kill = after_kill.clone();
        let killed = killed.clone();
        let failures = failures.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while start.elapsed() < RUN {
                let result = if (task + n) % 2 == 0 {
                    let mut request = tonic::Request::new(GetNamespaceRequest {
                        name: "namespaces/ferry-system".into(),
                    });
                    request.set_timeout(Duration::from_secs(5));
                    client.get_namespace(request).await.map(|_| ())
                } else {
                    let mut request = tonic::Request::new(ListNamespacesRequest::default());
                    request.set_timeout(Duration::from_secs(5));
                    client.list_namespaces(request).await.map(|_| ())
                };
                n += 1;
                calls.fetch_add(1, Ordering::Relaxed);
                if killed.load(Ordering::Relaxed) {
                    after_kill.fetch_add(1, Ordering::Relaxed);
                }
                if let Err(status) = result {
                    failures.lock().unwrap().push(format!(
                        "{:?} {}",
                        status.code(),
                        status.message()
                    ));
                }
            }
        }));
    }
    tokio::time::sleep(RUN / 3).await;
    doomed.signal("KILL");
    killed.store(true, Ordering::Relaxed);
    let killed_at = start.elapsed();
    for task in tasks {
        task.await.unwrap();
    }
    let calls = calls.load(Ordering::Relaxed);
    let after_kill = after_kill.load(Ordering::Relaxed);
    let failures = failures.lock().unwrap().clone();
    let log = gateway.log_text();
    std::fs::write("/tmp/gwlog.txt", &log).unwrap();
    let retried: Vec<&str> = log
        .lines()
        .filter(|line| {
            line.contains("forwarded call failed")
                || line.contains("attempt failed")
                || line.contains("broke off")
        })
        .collect();
    println!(
        "gateway failover: {calls} idempotent calls through the gateway ({after_kill} after SIGKILL of one deploy instance at {killed_at:?}), {} failed, {} attempts retried on the other instance",
        failures.len(),
        retried.len()
    );
    println!("{}", retried.join("\n"));
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed: {failures:?}; gateway log:\n{log}",
        failures.len(),
    );
    assert!(calls > 100, "the load loop made only {calls} calls");
    assert!(
        after_kill > 50,
        "only {after_kill} calls after the kill: the test proves nothing"
    );
    // The killed instance was still registered (its lease outlives it by up to the TTL),
    // so some attempts went to it and were retried: the failover was exercised.
    assert!(
        !retried.is_empty(),
        "no attempt failed over: the test proves nothing; gateway log:\n{log}"
    );
    gateway.assert_no_error_logs();
    survivor.assert_no_error_logs();
    clean(&etcd, &prefix).await;
}
