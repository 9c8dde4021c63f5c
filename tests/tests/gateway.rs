//! The gateway as the platform's front door: calls to any `ferry.*.v1` service go through
//! it to a live instance of the owning service (found through the registrations in
//! etcd), errors come back as the service raised them, a service with no instance is
//! UNAVAILABLE from the gateway, reads survive the crash of an instance, and the gateway
//! itself stops gracefully on SIGTERM (serving threads drained, exit 0).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_e2e::{
    GatewayChannel, Launch, ServiceProcess, assert_error, eventually, unique_prefix,
    watch_operation_to_end,
};
use ferry_proto::ferry::auth::v1::GetTokenRequest;
use ferry_proto::ferry::auth::v1::token_service_client::TokenServiceClient;
use ferry_proto::ferry::build::v1::GetBuildRequest;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::catalog::v1::ListServiceTemplatesRequest;
use ferry_proto::ferry::catalog::v1::service_template_service_client::ServiceTemplateServiceClient;
use ferry_proto::ferry::common::v1::OperationState;
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

/// Waits until the gateway forwards namespace calls (it has seen a deploy registration)
/// and deploy has made its `ferry-system` namespace.
async fn wait_forwarding(gateway: &ServiceProcess) -> NamespaceServiceClient<GatewayChannel> {
    let client = NamespaceServiceClient::new(gateway.admin_channel().await);
    let ready = eventually(Duration::from_secs(10), || {
        let mut client = client.clone();
        async move {
            client
                .get_namespace(GetNamespaceRequest {
                    name: "namespaces/ferry-system".into(),
                })
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
    let gateway = ServiceProcess::start_gateway(&launch).await;
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
    assert_error(
        &status,
        Code::NotFound,
        "RESOURCE_NOT_FOUND",
        "deploy.ferry.dev",
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
    let seen = watch_operation_to_end(gateway.admin_channel().await, &operation.name).await;
    assert_eq!(
        seen.last().unwrap().metadata.as_ref().unwrap().state(),
        OperationState::Succeeded
    );

    gateway.assert_no_error_logs();
    deploy.assert_no_error_logs();
    clean(&etcd, &prefix).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_come_from_the_service_that_raised_them() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("gateway-errors");
    let launch = Launch::new(&etcd, &prefix);
    let gateway = ServiceProcess::start_gateway(&launch).await;
    let build = ServiceProcess::start("build", &launch).await;
    let channel = gateway.admin_channel().await;

    // A build that does not exist: NOT_FOUND from build, forwarded unchanged.
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
    assert_error(
        &status,
        Code::NotFound,
        "RESOURCE_NOT_FOUND",
        "build.ferry.dev",
    );

    // No catalog instance is running: UNAVAILABLE from the gateway itself.
    let status = ServiceTemplateServiceClient::new(channel.clone())
        .list_service_templates(ListServiceTemplatesRequest::default())
        .await
        .unwrap_err();
    assert_error(
        &status,
        Code::Unavailable,
        "BACKEND_UNAVAILABLE",
        "gateway.ferry.dev",
    );

    // The gateway's own API is answered locally.
    let status = TokenServiceClient::new(channel.clone())
        .get_token(GetTokenRequest {
            name: "tokens/t".into(),
        })
        .await
        .unwrap_err();
    assert_error(
        &status,
        Code::NotFound,
        "RESOURCE_NOT_FOUND",
        "gateway.ferry.dev",
    );

    // A package nobody serves: UNIMPLEMENTED with ErrorInfo from the gateway.
    let status = call_raw(channel, "/ferry.billing.v1.InvoiceService/GetInvoice")
        .await
        .unwrap_err();
    assert_error(
        &status,
        Code::Unimplemented,
        "NOT_IMPLEMENTED",
        "gateway.ferry.dev",
    );

    gateway.assert_no_error_logs();
    build.assert_no_error_logs();
    clean(&etcd, &prefix).await;
}

/// Calls `path` with an empty message.
async fn call_raw(channel: GatewayChannel, path: &'static str) -> Result<(), tonic::Status> {
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

/// What a load loop saw.
struct Load {
    calls: usize,
    after_disruption: usize,
    failures: Vec<String>,
}

/// The calls of a load loop.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Calls {
    /// Idempotent reads: `GetNamespace` and `ListNamespaces`.
    Reads,
    /// `CreateNamespace` of new namespaces, without a `request_id`: never retried once
    /// they may have reached an instance.
    PlainWrites,
}

/// Runs `TASKS` concurrent loops of `calls` through `client` for `run`, calling `disrupt`
/// (in a blocking thread) after `run / 3`.
async fn load(
    client: NamespaceServiceClient<GatewayChannel>,
    calls_made: Calls,
    run: Duration,
    disrupt: impl FnOnce() + Send + 'static,
) -> Load {
    const TASKS: usize = 8;
    let calls = Arc::new(AtomicUsize::new(0));
    let after = Arc::new(AtomicUsize::new(0));
    let disrupted = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let mut client = client.clone();
        let (calls, after, disrupted, failures) = (
            calls.clone(),
            after.clone(),
            disrupted.clone(),
            failures.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while start.elapsed() < run {
                let result = if calls_made == Calls::PlainWrites {
                    let mut request = tonic::Request::new(CreateNamespaceRequest {
                        namespace_id: format!("load-{task}-{n}"),
                        namespace: Some(Namespace::default()),
                        ..Default::default()
                    });
                    request.set_timeout(Duration::from_secs(5));
                    client.create_namespace(request).await.map(|_| ())
                } else if (task + n).is_multiple_of(2) {
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
                if disrupted.load(Ordering::Relaxed) {
                    after.fetch_add(1, Ordering::Relaxed);
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
    tokio::time::sleep(run / 3).await;
    tokio::task::spawn_blocking(disrupt).await.unwrap();
    disrupted.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    Load {
        calls: calls.load(Ordering::Relaxed),
        after_disruption: after.load(Ordering::Relaxed),
        failures,
    }
}

/// A gateway and two deploy instances, both known to the gateway.
async fn gateway_and_two_deploys(
    etcd: &TestEtcd,
    prefix: &str,
) -> (ServiceProcess, ServiceProcess, ServiceProcess) {
    let launch = Launch::new(etcd, prefix);
    let gateway = ServiceProcess::start_gateway(&launch).await;
    let doomed = ServiceProcess::start("deploy", &launch).await;
    let survivor = ServiceProcess::start("deploy", &launch).await;
    let store = PrefixedStore::new(etcd.store().await, prefix.to_string());
    let both = eventually(Duration::from_secs(10), || async {
        ferry_kit::registry::list_instances(&store, "deploy")
            .await
            .unwrap()
            .len()
            == 2
    })
    .await;
    assert!(both.is_some(), "both deploy instances register");
    wait_forwarding(&gateway).await;
    // The registration watch delivers within milliseconds; leave it a margin.
    tokio::time::sleep(Duration::from_millis(300)).await;
    (gateway, doomed, survivor)
}

/// The gateway's log lines about failed attempts (each one retried or answered).
fn failed_attempts(gateway: &ServiceProcess) -> Vec<String> {
    gateway
        .log_text()
        .lines()
        .filter(|line| line.contains("forwarded call failed"))
        .map(str::to_string)
        .collect()
}

/// Checks that no call failed and that the loop ran long enough on both sides of the
/// disruption; with `require_failover`, that some attempt did fail over.
fn check_load(
    label: &str,
    load: &Load,
    gateway: &ServiceProcess,
    require_failover: bool,
) -> Vec<String> {
    let failed = failed_attempts(gateway);
    println!(
        "{label}: {} calls through the gateway ({} after the disruption), {} failed; {} attempts failed over:\n{}",
        load.calls,
        load.after_disruption,
        load.failures.len(),
        failed.len(),
        failed.join("\n")
    );
    assert!(
        load.failures.is_empty(),
        "{} of {} calls failed: {:?}; gateway log:\n{}",
        load.failures.len(),
        load.calls,
        load.failures,
        gateway.log_text()
    );
    assert!(
        load.calls > 100,
        "the load loop made only {} calls",
        load.calls
    );
    assert!(
        load.after_disruption > 50,
        "only {} calls after the disruption: the test proves nothing",
        load.after_disruption
    );
    // A killed instance stays registered until its lease expires, so attempts went to it
    // and failed over: the test exercised the failover.
    assert!(
        !require_failover || !failed.is_empty(),
        "no attempt failed over: the test proves nothing"
    );
    failed
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_through_the_gateway_survive_a_killed_instance() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("gateway-failover");
    let (gateway, doomed, survivor) = gateway_and_two_deploys(&etcd, &prefix).await;
    let client = NamespaceServiceClient::new(gateway.admin_channel().await);
    let pid = doomed.pid();
    let load = load(client, Calls::Reads, Duration::from_secs(4), move || {
        kill(pid, "KILL");
    })
    .await;
    check_load("gateway failover (SIGKILL)", &load, &gateway, true);
    drop(doomed);
    gateway.assert_no_error_logs();
    survivor.assert_no_error_logs();
    clean(&etcd, &prefix).await;
}

/// Calls caught in flight on an instance that dies (frozen first, so they are surely
/// there) were sent and maybe acted upon: reads are retried on the other instance.
#[tokio::test(flavor = "multi_thread")]
async fn reads_in_flight_on_a_dying_instance_are_retried() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("gateway-in-flight");
    let (gateway, doomed, survivor) = gateway_and_two_deploys(&etcd, &prefix).await;
    let client = NamespaceServiceClient::new(gateway.admin_channel().await);
    let pid = doomed.pid();
    let load = load(client, Calls::Reads, Duration::from_secs(4), move || {
        kill(pid, "STOP");
        std::thread::sleep(Duration::from_millis(300));
        kill(pid, "KILL");
    })
    .await;
    let failed = check_load(
        "gateway failover (SIGSTOP, then SIGKILL)",
        &load,
        &gateway,
        true,
    );
    assert!(
        failed.iter().any(|line| line.contains("failure=Lost")),
        "calls in flight on the frozen instance were lost and retried"
    );
    drop(doomed);
    gateway.assert_no_error_logs();
    survivor.assert_no_error_logs();
    clean(&etcd, &prefix).await;
}

/// Sends `signal` to process `pid`.
fn kill(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// A graceful stop refuses new calls before the instance leaves the table: those calls
/// never reached it, so even writes without a `request_id` go to the other instance.
#[tokio::test(flavor = "multi_thread")]
async fn a_graceful_stop_loses_no_call_not_even_a_plain_write() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("gateway-graceful");
    let (gateway, mut stopping, survivor) = gateway_and_two_deploys(&etcd, &prefix).await;
    let client = NamespaceServiceClient::new(gateway.admin_channel().await);
    let pid = stopping.pid();
    let load = load(
        client,
        Calls::PlainWrites,
        Duration::from_secs(4),
        move || {
            kill(pid, "TERM");
        },
    )
    .await;
    // The instance leaves the table right after its drain, so whether an attempt meets
    // it in between is a matter of timing: no failover is required, only no failure.
    let failed = check_load("gateway graceful stop (SIGTERM)", &load, &gateway, false);
    assert!(
        failed.iter().all(|line| line.contains("failure=NotSent")),
        "only calls that never reached the stopping instance may fail over"
    );
    assert_eq!(stopping.wait_exit(Duration::from_secs(10)), Some(0));
    gateway.assert_no_error_logs();
    stopping.assert_no_error_logs();
    survivor.assert_no_error_logs();
    clean(&etcd, &prefix).await;
}

/// The gateway's own graceful stop, served on its serving threads (one per core, which its
/// log names): four clients on four connections call it until SIGTERM; each had its calls
/// answered before, the process exits 0 well within the grace period once they are
/// refused, and its port stops accepting.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopping_gateway_drains_its_serving_threads_and_exits() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("gateway-stop");
    let launch = Launch::new(&etcd, &prefix);
    let mut gateway = ServiceProcess::start_gateway(&launch).await;
    let deploy = ServiceProcess::start("deploy", &launch).await;
    wait_forwarding(&gateway).await;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    assert!(
        gateway
            .log_text()
            .contains(&format!("serve_threads={cores}")),
        "the gateway does not serve on {cores} serving threads; log:\n{}",
        gateway.log_text()
    );

    // Each client on its own connection: they spread over the serving threads.
    let signalled = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let mut client = NamespaceServiceClient::new(gateway.admin_channel().await);
        let signalled = signalled.clone();
        clients.push(tokio::spawn(async move {
            let (mut before, mut after) = (0usize, 0usize);
            loop {
                let call = client
                    .get_namespace(GetNamespaceRequest {
                        name: "namespaces/ferry-system".into(),
                    })
                    .await;
                let late = signalled.load(Ordering::SeqCst);
                match call {
                    Ok(_) if late => after += 1,
                    Ok(_) => before += 1,
                    Err(status) => return (before, after, status),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    signalled.store(true, Ordering::SeqCst);
    let address = gateway.address.clone();
    gateway.signal("TERM");
    let signalled_at = Instant::now();
    let (gateway, code) = tokio::task::spawn_blocking(move || {
        let code = gateway.wait_exit(Duration::from_secs(15));
        (gateway, code)
    })
    .await
    .expect("wait for the gateway");
    let took = signalled_at.elapsed();
    assert_eq!(code, Some(0), "log:\n{}", gateway.log_text());
    assert!(
        took < Duration::from_secs(8),
        "the drain took {took:?} (grace: 10 s)"
    );
    for client in clients {
        let (before, after, status) = client.await.expect("client task");
        assert!(before > 0, "a client had no call answered before the stop");
        println!("client: {before} calls before SIGTERM, {after} after, then {status:?}");
    }
    let log = gateway.log_text();
    assert!(
        log.contains("stopped"),
        "no orderly stop in the log:\n{log}"
    );
    assert!(
        tokio::net::TcpStream::connect(&address).await.is_err(),
        "the gateway's port still accepts connections"
    );
    gateway.assert_no_error_logs();
    deploy.assert_no_error_logs();
    clean(&etcd, &prefix).await;
}
