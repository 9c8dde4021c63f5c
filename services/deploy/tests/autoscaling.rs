//! The autoscaler in-process over real etcd and the in-memory runtime
//! (`ferry_runtime::testing::MemoryRuntime`, a stateful runtime whose usage figures the
//! test sets): AutoscalingService through its gRPC path, and the autoscaling
//! controller driving the deployment controller. The same flow runs on a real Docker
//! engine with real CPU load in `autoscaling_docker.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferry_deploy::runtimes::Runtimes;
use ferry_kit::config::ServiceConfig;
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{
    ContainerPort, Operation, ResourceQuantities, ResourceRequirements, WaitOperationRequest,
    operation,
};
use ferry_proto::ferry::deploy::v1::autoscaling_policy::{Direction, State, UtilizationThresholds};
use ferry_proto::ferry::deploy::v1::autoscaling_service_client::AutoscalingServiceClient;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::event_service_client::EventServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::rollout_service_client::RolloutServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use ferry_runtime::Runtime;
use ferry_runtime::testing::MemoryRuntime;
use ferry_store::testsuite::TestEtcd;
use tonic::Code;
use tonic::transport::Channel;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const MB: i64 = 1 << 20;

struct Service {
    channel: Channel,
    runtime: MemoryRuntime,
    _stop: tokio::sync::oneshot::Sender<()>,
    _etcd: TestEtcd,
}

async fn start() -> Service {
    let etcd = TestEtcd::start();
    let runtime = MemoryRuntime::new("local");
    let config = ServiceConfig {
        store: ferry_kit::config::StoreConfig {
            endpoints: etcd.endpoints().to_vec(),
            prefix: ferry_store::keys::test_prefix("autoscaling").into_string(),
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

fn template(digest: &str, memory_request: bool) -> DeploymentTemplate {
    DeploymentTemplate {
        image_source: Some(deployment_template::ImageSource::ImageUri(format!(
            "127.0.0.1:5000/echo@{digest}"
        ))),
        ports: vec![ContainerPort {
            name: "http".into(),
            port: 8080,
            protocol: 0,
        }],
        resources: Some(ResourceRequirements {
            requests: Some(ResourceQuantities {
                cpu_millis: 100,
                memory_bytes: if memory_request { 200 * MB } else { 0 },
                ..Default::default()
            }),
            limits: None,
        }),
        ..Default::default()
    }
}

async fn wait(channel: &Channel, mut operation: Operation) -> Operation {
    let mut operations = OperationsServiceClient::new(channel.clone());
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

/// Creates a namespace and waits until it is active; returns its runtime namespace.
async fn namespace(service: &Service, id: &str) -> String {
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
            return namespace.runtime_namespace;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("namespace {id} did not become active");
}

async fn create_deployment(service: &Service, ns: &str, id: &str, replicas: i32, memory: bool) {
    let created = DeploymentServiceClient::new(service.channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: id.into(),
            deployment: Some(Deployment {
                template: Some(template(D1, memory)),
                replicas: Some(replicas),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = wait(&service.channel, created).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
}

async fn deployment(channel: &Channel, name: &str) -> Deployment {
    DeploymentServiceClient::new(channel.clone())
        .get_deployment(GetDeploymentRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

fn seconds(s: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: s,
        nanos: 0,
    })
}

fn cpu(target: i32, up: i32, down: i32) -> Option<UtilizationThresholds> {
    Some(UtilizationThresholds {
        target_percent: target,
        scale_up_threshold_percent: up,
        scale_down_threshold_percent: down,
    })
}

fn count(n: i32) -> Option<CountOrPercent> {
    Some(CountOrPercent {
        value: Some(count_or_percent::Value::Count(n)),
    })
}

/// A policy: CPU target 50 %, up above 70 %, down below 30 %, 15 s window.
fn policy(deployment: &str, min: i32, max: i32) -> AutoscalingPolicy {
    AutoscalingPolicy {
        name: format!("{deployment}/autoscalingPolicy"),
        enabled: true,
        min_replicas: min,
        max_replicas: max,
        cpu: cpu(50, 70, 30),
        scale_up_step: count(1),
        scale_down_step: count(1),
        scale_up_cooldown: seconds(1),
        scale_down_cooldown: seconds(20),
        evaluation_window: seconds(15),
        ..Default::default()
    }
}

async fn put_policy(
    channel: &Channel,
    policy: AutoscalingPolicy,
) -> Result<AutoscalingPolicy, tonic::Status> {
    AutoscalingServiceClient::new(channel.clone())
        .update_autoscaling_policy(UpdateAutoscalingPolicyRequest {
            autoscaling_policy: Some(policy),
            allow_missing: true,
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

async fn get_policy(channel: &Channel, name: &str) -> Result<AutoscalingPolicy, tonic::Status> {
    AutoscalingServiceClient::new(channel.clone())
        .get_autoscaling_policy(GetAutoscalingPolicyRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

fn field_of(status: &tonic::Status) -> String {
    let details = tonic_types::StatusExt::get_error_details(status);
    details
        .bad_request()
        .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        .unwrap_or_else(|| panic!("no field violation in {status:?}"))
}

/// Keeps setting the usage of every live instance of `deployment` to `cpu` millicores
/// (read from `level`) and 50 MiB, as a metrics source would.
fn feed_usage(runtime: MemoryRuntime, rns: String, deployment: &str, level: Arc<AtomicU64>) {
    let deployment = deployment.to_string();
    tokio::spawn(async move {
        loop {
            if let Ok(instances) = runtime.list_instances(&rns).await {
                for instance in instances
                    .iter()
                    .filter(|i| i.deployment == deployment && i.is_live())
                {
                    runtime.set_usage(&instance.instance, level.load(Ordering::Relaxed), 50 << 20);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

fn live(runtime: &MemoryRuntime, rns: &str, deployment: &str) -> usize {
    futures::executor::block_on(runtime.list_instances(rns))
        .unwrap()
        .iter()
        .filter(|i| i.deployment == deployment && i.is_live())
        .count()
}

/// A change that makes a policy invalid.
type Change = Box<dyn Fn(&mut AutoscalingPolicy)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_validated_stored_bounded_and_removed() {
    let service = start().await;
    let channel = &service.channel;
    namespace(&service, "crud").await;
    create_deployment(&service, "crud", "web", 2, false).await;
    let web = "namespaces/crud/deployments/web";
    let name = format!("{web}/autoscalingPolicy");

    // Nothing yet; and a policy needs an existing deployment.
    assert_eq!(
        get_policy(channel, &name).await.unwrap_err().code(),
        Code::NotFound
    );
    let error = put_policy(channel, policy("namespaces/crud/deployments/nope", 1, 3))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound, "{error:?}");
    let error = AutoscalingServiceClient::new(channel.clone())
        .update_autoscaling_policy(UpdateAutoscalingPolicyRequest {
            autoscaling_policy: Some(policy(web, 1, 3)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound, "without allow_missing");

    // Bad input: each violation names its field, and nothing is written.
    let cases: Vec<(&str, Change)> = vec![
        (
            "autoscaling_policy.max_replicas",
            Box::new(|p| {
                p.min_replicas = 4;
                p.max_replicas = 3;
            }),
        ),
        (
            "autoscaling_policy.min_replicas",
            Box::new(|p| p.min_replicas = -1),
        ),
        (
            "autoscaling_policy.max_replicas",
            Box::new(|p| p.max_replicas = 1001),
        ),
        (
            "autoscaling_policy.cpu.scale_up_threshold_percent",
            Box::new(|p| p.cpu = cpu(50, 40, 30)),
        ),
        (
            "autoscaling_policy.cpu.scale_down_threshold_percent",
            Box::new(|p| p.cpu = cpu(50, 70, 60)),
        ),
        (
            "autoscaling_policy.cpu.target_percent",
            Box::new(|p| p.cpu = cpu(0, 70, 30)),
        ),
        (
            "autoscaling_policy.scale_up_step",
            Box::new(|p| p.scale_up_step = count(0)),
        ),
        (
            "autoscaling_policy.scale_down_cooldown",
            Box::new(|p| p.scale_down_cooldown = seconds(-5)),
        ),
        (
            "autoscaling_policy.evaluation_window",
            Box::new(|p| p.evaluation_window = seconds(2)),
        ),
        ("autoscaling_policy.cpu", Box::new(|p| p.cpu = None)),
        (
            "autoscaling_policy.name",
            Box::new(|p| p.name = "namespaces/crud/deployments/web".into()),
        ),
    ];
    for (field, change) in &cases {
        let mut bad = policy(web, 1, 3);
        change(&mut bad);
        let error = put_policy(channel, bad).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{field}: {error:?}");
        assert_eq!(&field_of(&error), field, "{error:?}");
    }
    // Memory thresholds without a memory request or limit in the template.
    let mut memory = policy(web, 1, 3);
    memory.memory = cpu(60, 80, 20);
    let error = put_policy(channel, memory).await.unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "{error:?}");
    // validate_only answers the policy as it would be and writes nothing.
    let checked = AutoscalingServiceClient::new(channel.clone())
        .update_autoscaling_policy(UpdateAutoscalingPolicyRequest {
            autoscaling_policy: Some(policy(web, 0, 3)),
            allow_missing: true,
            validate_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(checked.min_replicas, 1, "0 on create means 1");
    assert_eq!(
        get_policy(channel, &name).await.unwrap_err().code(),
        Code::NotFound,
        "nothing was written"
    );

    // Create, idempotently by request id.
    let request = UpdateAutoscalingPolicyRequest {
        autoscaling_policy: Some(AutoscalingPolicy {
            scale_up_cooldown: None,
            ..policy(web, 1, 3)
        }),
        allow_missing: true,
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let created = AutoscalingServiceClient::new(channel.clone())
        .update_autoscaling_policy(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = AutoscalingServiceClient::new(channel.clone())
        .update_autoscaling_policy(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.uid, again.uid);
    assert_eq!(created.etag, again.etag);
    assert_eq!(created.generation, 1);
    assert_eq!(created.scale_up_cooldown, seconds(60), "the default");
    assert_eq!(created.scale_up_step, count(1));
    let stored = get_policy(channel, &name).await.unwrap();
    assert_eq!(stored.uid, created.uid);
    assert_eq!(stored.max_replicas, 3);

    // The controller takes it up: observed, and the deployment says it is autoscaled.
    let started = Instant::now();
    loop {
        let stored = get_policy(channel, &name).await.unwrap();
        let d = deployment(channel, web).await;
        if stored.observed_generation == 1 && d.autoscaled {
            // No usage figures yet: no change.
            assert_eq!(stored.state(), State::MetricsUnavailable, "{stored:?}");
            assert_eq!(d.replicas, Some(2));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{stored:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Updates: a mask is required; a stale etag is refused; a masked field changes.
    let mut client = AutoscalingServiceClient::new(channel.clone());
    let error = client
        .update_autoscaling_policy(UpdateAutoscalingPolicyRequest {
            autoscaling_policy: Some(policy(web, 1, 4)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    let error = client
        .update_autoscaling_policy(UpdateAutoscalingPolicyRequest {
            autoscaling_policy: Some(AutoscalingPolicy {
                etag: "\"1\"".into(),
                ..policy(web, 1, 4)
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["max_replicas".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Aborted, "{error:?}");
    let current = get_policy(channel, &name).await.unwrap();
    let updated = client
        .update_autoscaling_policy(UpdateAutoscalingPolicyRequest {
            autoscaling_policy: Some(AutoscalingPolicy {
                etag: current.etag.clone(),
                min_replicas: 7,
                ..policy(web, 1, 4)
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["max_replicas".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((updated.min_replicas, updated.max_replicas), (1, 4));
    assert_eq!(updated.generation, 2);
    assert_ne!(updated.etag, current.etag);

    // Scaling outside the policy's bounds is refused; inside is applied.
    let mut deployments = DeploymentServiceClient::new(channel.clone());
    let error = deployments
        .scale_deployment(ScaleDeploymentRequest {
            name: web.into(),
            replicas: 5,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "{error:?}");
    let error = deployments
        .update_deployment(UpdateDeploymentRequest {
            deployment: Some(Deployment {
                name: web.into(),
                replicas: Some(0),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["replicas".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "{error:?}");
    let scaled = deployments
        .scale_deployment(ScaleDeploymentRequest {
            name: web.into(),
            replicas: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    wait(channel, scaled).await;
    assert_eq!(deployment(channel, web).await.replicas, Some(3));

    // Delete: validate_only keeps it; a delete removes it and the deployment is no
    // longer autoscaled; a second delete is NOT_FOUND unless allow_missing.
    client
        .delete_autoscaling_policy(DeleteAutoscalingPolicyRequest {
            name: name.clone(),
            validate_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    get_policy(channel, &name).await.unwrap();
    let error = client
        .delete_autoscaling_policy(DeleteAutoscalingPolicyRequest {
            name: name.clone(),
            etag: "\"1\"".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Aborted);
    client
        .delete_autoscaling_policy(DeleteAutoscalingPolicyRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        get_policy(channel, &name).await.unwrap_err().code(),
        Code::NotFound
    );
    let error = client
        .delete_autoscaling_policy(DeleteAutoscalingPolicyRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    client
        .delete_autoscaling_policy(DeleteAutoscalingPolicyRequest {
            name: name.clone(),
            allow_missing: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let started = Instant::now();
    while deployment(channel, web).await.autoscaled {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Without a policy, any replicas may be set again.
    let scaled = deployments
        .scale_deployment(ScaleDeploymentRequest {
            name: web.into(),
            replicas: 5,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    wait(channel, scaled).await;

    // Deleting the deployment deletes its policy.
    put_policy(channel, policy(web, 1, 5)).await.unwrap();
    let deleting = deployments
        .delete_deployment(DeleteDeploymentRequest {
            name: web.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    wait(channel, deleting).await;
    assert_eq!(
        get_policy(channel, &name).await.unwrap_err().code(),
        Code::NotFound,
        "the policy went with its deployment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_usage_scales_up_by_step_to_max_and_low_usage_down_after_the_cool_down() {
    let service = start().await;
    let channel = &service.channel;
    let rns = namespace(&service, "load").await;
    create_deployment(&service, "load", "api", 1, true).await;
    let api = "namespaces/load/deployments/api";
    let level = Arc::new(AtomicU64::new(90)); // 90 % of the 100 m request
    feed_usage(service.runtime.clone(), rns.clone(), "api", level.clone());

    let started = Instant::now();
    put_policy(channel, policy(api, 1, 3)).await.unwrap();

    // Up one step at a time, to max, and the deployment gets the instances.
    let mut seen = vec![1];
    loop {
        let replicas = deployment(channel, api).await.replicas.unwrap();
        if replicas != *seen.last().unwrap() {
            seen.push(replicas);
        }
        if replicas == 3 && live(&service.runtime, &rns, "api") == 3 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(40), "{seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, vec![1, 2, 3], "one step at a time");
    let at_max = started.elapsed();
    println!("1 → 3 replicas under 90 % CPU: {at_max:?} (15 s window)");
    assert!(
        at_max >= Duration::from_secs(15),
        "nothing may be decided before the window is full ({at_max:?})"
    );
    let name = format!("{api}/autoscalingPolicy");
    let up = get_policy(channel, &name).await.unwrap();
    assert_eq!(up.last_scale_direction(), Direction::Up);
    assert_eq!(
        (up.last_scale_from_replicas, up.last_scale_to_replicas),
        (2, 3)
    );
    assert!(
        up.last_scale_reason.starts_with("cpu 9") && up.last_scale_reason.contains("> 70%"),
        "{}",
        up.last_scale_reason
    );
    assert_eq!(up.state(), State::Active);
    let d = deployment(channel, api).await;
    assert!(d.autoscaled);
    // Stays at max while the load lasts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(deployment(channel, api).await.replicas, Some(3));
    let limited = get_policy(channel, &name).await.unwrap();
    assert!(
        limited
            .conditions
            .iter()
            .any(|c| c.r#type == "ScalingLimited" && c.reason == "MAX_REPLICAS_LIMIT"),
        "{limited:?}"
    );

    // Low usage: down one step, but not before the 20 s cool-down since the last change.
    level.store(5, Ordering::Relaxed);
    let last_up = up.last_scale_time.unwrap();
    let cool_down_end = last_up.seconds + 20;
    loop {
        let now = prost_types::Timestamp::from(std::time::SystemTime::now());
        let replicas = deployment(channel, api).await.replicas.unwrap();
        if replicas < 3 {
            assert_eq!(replicas, 2, "one step down");
            assert!(
                now.seconds >= cool_down_end,
                "scaled down {} s before the cool-down ended",
                cool_down_end - now.seconds
            );
            break;
        }
        assert!(
            now.seconds < cool_down_end + 15,
            "no scale-down 15 s after the cool-down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let down = get_policy(channel, &name).await.unwrap();
    assert_eq!(down.last_scale_direction(), Direction::Down);
    assert!(down.last_scale_reason.contains("< 30%"), "{down:?}");
    let gap = down.last_scale_time.unwrap().seconds - last_up.seconds;
    assert!(gap >= 20, "down {gap} s after up");
    println!(
        "3 → 2 replicas under 5 % CPU: {gap} s after the last scale-up (20 s cool-down); \
         whole test {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    while live(&service.runtime, &rns, "api") != 2 {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Each change was recorded as an event of the deployment.
    let started = Instant::now();
    loop {
        let events = EventServiceClient::new(channel.clone())
            .list_events(ListEventsRequest {
                parent: "namespaces/load".into(),
                page_size: 500,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .events;
        let reasons: Vec<&str> = events
            .iter()
            .filter(|e| e.involved_resource == api)
            .map(|e| e.reason.as_str())
            .collect();
        if reasons.contains(&"AUTOSCALED_UP") && reasons.contains(&"AUTOSCALED_DOWN") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{reasons:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_changes_during_a_rollout_and_a_fresh_window_follows_it() {
    let service = start().await;
    let channel = &service.channel;
    let rns = namespace(&service, "roll").await;
    create_deployment(&service, "roll", "web", 1, false).await;
    let web = "namespaces/roll/deployments/web";
    feed_usage(
        service.runtime.clone(),
        rns,
        "web",
        Arc::new(AtomicU64::new(200)),
    );

    // A rollout that never completes: its instances never become ready.
    service
        .runtime
        .never_ready_image(&format!("127.0.0.1:5000/echo@{D2}"));
    let rollout = DeploymentServiceClient::new(channel.clone())
        .update_deployment(UpdateDeploymentRequest {
            deployment: Some(Deployment {
                name: web.into(),
                template: Some(template(D2, false)),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["template".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut policy = policy(web, 1, 3);
    policy.scale_up_cooldown = seconds(5);
    put_policy(channel, policy).await.unwrap();
    let name = format!("{web}/autoscalingPolicy");

    // 200 % CPU for longer than the window: no change while the rollout runs.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let d = deployment(channel, web).await;
        assert!(!d.active_rollout.is_empty(), "the rollout ended early");
        assert_eq!(d.replicas, Some(1), "changed during a rollout");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let suspended = get_policy(channel, &name).await.unwrap();
    assert_eq!(suspended.state(), State::Suspended, "{suspended:?}");
    assert!(suspended.last_scale_time.is_none());

    // Abort it; once it has ended, a fresh window passes before the scale-up.
    let active = deployment(channel, web).await.active_rollout;
    RolloutServiceClient::new(channel.clone())
        .abort_rollout(AbortRolloutRequest {
            name: active,
            ..Default::default()
        })
        .await
        .unwrap();
    let done = wait(channel, rollout).await;
    assert!(
        matches!(done.result, Some(operation::Result::Error(_))),
        "{done:?}"
    );
    let mut ended = None;
    let started = Instant::now();
    loop {
        let d = deployment(channel, web).await;
        if d.active_rollout.is_empty() && ended.is_none() {
            ended = Some(Instant::now());
        }
        if d.replicas != Some(1) {
            let ended = ended.expect("scaled while the rollout was active");
            let after = ended.elapsed();
            println!("scale-up {after:?} after the rollout ended (15 s window)");
            assert!(after >= Duration::from_secs(14), "{after:?}");
            assert_eq!(d.replicas, Some(2));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
