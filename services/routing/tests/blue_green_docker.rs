//! Blue-green entries end to end over real etcd (`FERRY_ETCD_ENDPOINTS`) and a real
//! Docker engine (`FERRY_TEST_DOCKER_HOST`): the echo app deployed in a blue and a green
//! namespace (answering `version=blue` / `version=green`) behind one NODE_PORT entry; a
//! load loop runs through the entry while it switches blue → green and rolls back, ten
//! times: no request fails, the answers follow the switches, and the time from the call
//! to the moment every new request reaches the new side is measured (p50, p99). A
//! switch to a namespace without the application is refused with nothing changed.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferry_proto::ferry::common::v1::operation;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateDeploymentRequest, DeleteDeploymentRequest, Deployment,
};
use ferry_proto::ferry::routing::v1::blue_green_service_client::BlueGreenServiceClient;
use ferry_proto::ferry::routing::v1::service::Type;
use ferry_proto::ferry::routing::v1::service_port::TargetPortRef;
use ferry_proto::ferry::routing::v1::switch_record::Result as SwitchResult;
use ferry_proto::ferry::routing::v1::{
    BlueGreenEntry, CreateBlueGreenEntryRequest, DeleteBlueGreenEntryRequest,
    GetBlueGreenEntryRequest, RollbackBlueGreenEntryRequest, ServicePort, Side,
    SwitchBlueGreenEntryRequest,
};
use ferry_routing::RoutingOptions;
use ferry_runtime::Runtime;
use ferry_runtime_docker::{DockerRuntime, EngineConfig};
use tonic::Code;
use tonic::transport::Channel;

async fn deploy_shop(channel: &Channel, namespace: &str, image: &str, version: &str) -> String {
    let created = DeploymentServiceClient::new(channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{namespace}"),
            deployment_id: "shop".into(),
            deployment: Some(Deployment {
                template: Some(common::echo_template(image, Some(version))),
                replicas: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = common::wait(channel, created).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    format!("namespaces/{namespace}/deployments/shop")
}

fn version(answer: &str) -> Option<String> {
    if !answer.starts_with("HTTP/1.1 200") {
        return None;
    }
    answer
        .lines()
        .find_map(|l| l.strip_prefix("version="))
        .map(str::to_string)
}

async fn get(channel: &Channel, name: &str) -> BlueGreenEntry {
    BlueGreenServiceClient::new(channel.clone())
        .get_blue_green_entry(GetBlueGreenEntryRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blue_green_switches_under_load() {
    let endpoint = common::docker_host();
    let prefix = ferry_store::keys::test_prefix("routing-bluegreen").into_string();
    let image_id = common::echo_image_id(&endpoint, "ferry-test/echo:routing-bg").await;
    let runtime = DockerRuntime::new(
        "docker",
        vec![EngineConfig {
            host: "engine-1".into(),
            endpoint: endpoint.clone(),
            region: "r1".into(),
            zone: "z1".into(),
        }],
    )
    .unwrap();
    let deploy = common::start_deploy(&prefix, vec![Arc::new(runtime) as Arc<dyn Runtime>]).await;
    let routing = common::start_routing(&prefix, RoutingOptions::local()).await;
    let pid = std::process::id();
    let (blue_ns, green_ns, empty_ns) = (
        format!("bgb{pid}"),
        format!("bgg{pid}"),
        format!("bge{pid}"),
    );
    for ns in [&blue_ns, &green_ns, &empty_ns] {
        common::create_namespace(&deploy.channel, ns).await;
    }
    let blue_deployment = deploy_shop(&deploy.channel, &blue_ns, &image_id, "blue").await;
    let green_deployment = deploy_shop(&deploy.channel, &green_ns, &image_id, "green").await;

    // The entry, on blue, at a node port.
    let node_port = common::free_node_port(pid + 17);
    let mut entries = BlueGreenServiceClient::new(routing.channel.clone());
    let input = |green: &str| BlueGreenEntry {
        application: "applications/shop".into(),
        blue_namespace: format!("namespaces/{blue_ns}"),
        green_namespace: format!("namespaces/{green}"),
        ports: vec![ServicePort {
            name: "http".into(),
            port: 8080,
            target_port_ref: Some(TargetPortRef::TargetPortName("http".into())),
            node_port: 0,
            ..Default::default()
        }],
        r#type: Type::NodePort as i32,
        drain_timeout: Some(prost_types::Duration {
            seconds: 0,
            nanos: 300_000_000,
        }),
        ..Default::default()
    };
    let mut shop = input(&green_ns);
    shop.ports[0].node_port = node_port;
    let created = loop {
        match entries
            .create_blue_green_entry(CreateBlueGreenEntryRequest {
                blue_green_entry_id: "shop".into(),
                blue_green_entry: Some(shop.clone()),
                ..Default::default()
            })
            .await
        {
            Ok(operation) => break operation.into_inner(),
            Err(status) if status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("create entry: {status:?}"),
        }
    };
    let created = common::wait(&routing.channel, created).await;
    assert!(
        matches!(created.result, Some(operation::Result::Response(_))),
        "{created:?}"
    );
    let name = "blueGreenEntries/shop";
    let target = SocketAddr::from(([127, 0, 0, 1], node_port as u16));
    let started = Instant::now();
    loop {
        let answer = common::http_get(target, None, "/")
            .await
            .map(|a| version(&a));
        if matches!(answer, Ok(Some(ref v)) if v == "blue") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the entry never answered: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let entry = get(&routing.channel, name).await;
    assert_eq!(entry.active_side(), Side::Blue);
    assert_eq!(entry.dns_name, "shop.bluegreen.cluster.local");

    // A load loop through the entry while it switches to green and rolls back, 10 times.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut log: Vec<(Instant, Result<String, String>)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let at = Instant::now();
                let result = match common::http_get(target, None, "/").await {
                    Ok(answer) => version(&answer).ok_or_else(|| format!("{answer:?}")),
                    Err(error) => Err(error.to_string()),
                };
                log.push((at, result));
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            log
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut moves: Vec<(Instant, &str)> = Vec::new();
    for _ in 0..10 {
        let at = Instant::now();
        let switched = entries
            .switch_blue_green_entry(SwitchBlueGreenEntryRequest {
                name: name.into(),
                target_side: Side::Green as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        moves.push((at, "green"));
        let done = common::wait(&routing.channel, switched).await;
        assert!(
            matches!(done.result, Some(operation::Result::Response(_))),
            "{done:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let at = Instant::now();
        let rolled_back = entries
            .rollback_blue_green_entry(RollbackBlueGreenEntryRequest {
                name: name.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        moves.push((at, "blue"));
        let done = common::wait(&routing.channel, rolled_back).await;
        assert!(
            matches!(done.result, Some(operation::Result::Response(_))),
            "{done:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let log = load.await.unwrap();
    let failures: Vec<_> = log.iter().filter(|(_, r)| r.is_err()).collect();
    println!(
        "load loop: {} requests through the entry, {} failed",
        log.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "requests failed during switches: {failures:?}"
    );

    // Per switch: from the call to the first request after which every request (until
    // the next switch) reaches the new side.
    let mut latencies = Vec::new();
    for (index, (at, side)) in moves.iter().enumerate() {
        let until = moves.get(index + 1).map(|(next, _)| *next);
        let window: Vec<&(Instant, Result<String, String>)> = log
            .iter()
            .filter(|(t, _)| *t >= *at && until.is_none_or(|u| *t < u))
            .collect();
        let last_old = window.iter().rposition(|(_, r)| r.as_deref() != Ok(*side));
        let first_settled = match last_old {
            None => window.first(),
            Some(position) => window.get(position + 1),
        };
        let (settled_at, _) =
            first_settled.unwrap_or_else(|| panic!("switch {index} to {side} never settled"));
        latencies.push(settled_at.duration_since(*at));
    }
    let mut sorted = latencies.clone();
    sorted.sort();
    let (p50, p99) = (percentile(&sorted, 0.50), percentile(&sorted, 0.99));
    println!(
        "switch latency (call → every new request on the new side) over {} switches: p50 {p50:?}, p99 {p99:?}, max {:?}",
        sorted.len(),
        sorted.last().unwrap()
    );
    assert!(
        p99 < Duration::from_secs(1),
        "switch p99 {p99:?} is not under 1 s: {latencies:?}"
    );
    let entry = get(&routing.channel, name).await;
    assert_eq!(entry.active_side(), Side::Blue);
    assert_eq!(entry.switch_history.len(), 20);
    assert!(
        entry
            .switch_history
            .iter()
            .all(|r| r.result() == SwitchResult::Succeeded)
    );
    assert!(entry.switch_history[0].rollback && !entry.switch_history[1].rollback);

    // A second rollback right after a rollback is refused: it would flip traffic twice.
    let status = entries
        .rollback_blue_green_entry(RollbackBlueGreenEntryRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    // A deployment is behind one entry at most (IN_USE): `shop` goes before `lonely`
    // reuses its blue side.
    let deleted = entries
        .delete_blue_green_entry(DeleteBlueGreenEntryRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    common::wait(&routing.channel, deleted).await;

    // A switch to a namespace without the application: a clear error, nothing changed.
    let mut lonely = input(&empty_ns);
    lonely.r#type = Type::ClusterInternal as i32;
    let created = entries
        .create_blue_green_entry(CreateBlueGreenEntryRequest {
            blue_green_entry_id: "lonely".into(),
            blue_green_entry: Some(lonely),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    common::wait(&routing.channel, created).await;
    let before = get(&routing.channel, "blueGreenEntries/lonely").await;
    let status = entries
        .switch_blue_green_entry(SwitchBlueGreenEntryRequest {
            name: "blueGreenEntries/lonely".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    println!("refused as expected: {}", status.message());
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("not deployed"), "{status:?}");
    let after = get(&routing.channel, "blueGreenEntries/lonely").await;
    assert_eq!(
        (&after.etag, after.active_side()),
        (&before.etag, Side::Blue)
    );
    let status = entries
        .create_blue_green_entry(CreateBlueGreenEntryRequest {
            blue_green_entry_id: "twin".into(),
            blue_green_entry: Some(input(&blue_ns)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    let deleted = entries
        .delete_blue_green_entry(DeleteBlueGreenEntryRequest {
            name: "blueGreenEntries/lonely".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    common::wait(&routing.channel, deleted).await;
    routing.stop().await;
    for deployment in [blue_deployment, green_deployment] {
        let deleted = DeploymentServiceClient::new(deploy.channel.clone())
            .delete_deployment(DeleteDeploymentRequest {
                name: deployment,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        common::wait(&deploy.channel, deleted).await;
    }
    deploy.stop().await;
    let store = common::store(&prefix).await;
    let _ = store.delete_prefix("/").await;
}
