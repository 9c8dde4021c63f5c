//! Services end to end over real etcd (`FERRY_ETCD_ENDPOINTS`) and a real Docker engine
//! (`FERRY_TEST_DOCKER_HOST`): the deploy service runs 3 instances of the echo app, the
//! routing service (local data plane) exposes them as a NODE_PORT Service; round robin
//! spreads requests evenly, client-IP affinity pins clients, a `docker kill`ed instance
//! gets no requests once the health checks noticed, bad input is refused with nothing
//! written, and delete releases the node port.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferry_proto::ferry::common::v1::operation;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::{CreateDeploymentRequest, Deployment};
use ferry_proto::ferry::routing::v1::routing_service_client::RoutingServiceClient;
use ferry_proto::ferry::routing::v1::service::{State, Target, Type};
use ferry_proto::ferry::routing::v1::service_port::TargetPortRef;
use ferry_proto::ferry::routing::v1::session_affinity::Mode;
use ferry_proto::ferry::routing::v1::{
    CreateServiceRequest, DeleteServiceRequest, GetServiceRequest, ListServiceEndpointsRequest,
    Service, ServicePort, SessionAffinity, UpdateServiceRequest,
};
use ferry_routing::RoutingOptions;
use ferry_routing::dataplane::DataPlane;
use ferry_routing::dataplane::local::{LocalDataPlane, LocalOptions};
use ferry_routing::service::model::ProgramTuning;
use ferry_runtime::Runtime;
use ferry_runtime_docker::{DockerRuntime, EngineConfig};
use tonic::Code;
use tonic::transport::Channel;

async fn get(routing: &Channel, name: &str) -> Service {
    RoutingServiceClient::new(routing.clone())
        .get_service(GetServiceRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

/// Waits until the Service passes `check` (up to `limit`).
async fn wait_for(
    routing: &Channel,
    name: &str,
    limit: Duration,
    check: impl Fn(&Service) -> bool,
) -> Service {
    let started = Instant::now();
    loop {
        let service = get(routing, name).await;
        if check(&service) {
            return service;
        }
        assert!(
            started.elapsed() < limit,
            "Service never reached the expected status: {service:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn service_input(ns: &str, node_port: i32) -> Service {
    Service {
        target: Some(Target::Deployment(format!(
            "namespaces/{ns}/deployments/echo"
        ))),
        ports: vec![ServicePort {
            name: "http".into(),
            port: 8080,
            target_port_ref: Some(TargetPortRef::TargetPortName("http".into())),
            node_port,
            ..Default::default()
        }],
        r#type: Type::NodePort as i32,
        ..Default::default()
    }
}

/// `count` requests, each on a fresh connection from `source`; answers per instance and
/// failures.
async fn spread(
    target: SocketAddr,
    source: Option<IpAddr>,
    count: usize,
) -> (BTreeMap<String, usize>, Vec<String>) {
    let mut per_instance = BTreeMap::new();
    let mut failures = Vec::new();
    for _ in 0..count {
        match common::http_get(target, source, "/").await {
            Ok(answer) => match common::echo_instance(&answer) {
                Some(instance) => *per_instance.entry(instance).or_insert(0) += 1,
                None => failures.push(answer.lines().next().unwrap_or("empty answer").to_string()),
            },
            Err(error) => failures.push(error.to_string()),
        }
    }
    (per_instance, failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn services_route_over_docker() {
    let endpoint = common::docker_host();
    let prefix = ferry_store::keys::test_prefix("routing-docker").into_string();
    let image_id = common::echo_image_id(&endpoint, "ferry-test/echo:routing").await;
    let docker = common::docker_client(&endpoint);
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
    let data_plane = Arc::new(LocalDataPlane::new(LocalOptions::default()));
    let routing = common::start_routing(
        &prefix,
        RoutingOptions {
            data_plane: data_plane.clone(),
            tuning: ProgramTuning::default(),
            namespace_dns: None,
        },
    )
    .await;
    let store = common::store(&prefix).await;

    // Three echo instances.
    let ns = format!("rt{}", std::process::id());
    common::create_namespace(&deploy.channel, &ns).await;
    let created = DeploymentServiceClient::new(deploy.channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: "echo".into(),
            deployment: Some(Deployment {
                template: Some(common::echo_template(&image_id, None)),
                replicas: Some(3),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = common::wait(&deploy.channel, created).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    let deployment = format!("namespaces/{ns}/deployments/echo");
    assert_eq!(
        common::ready_instances(&deploy.channel, &deployment)
            .await
            .len(),
        3
    );

    // A NODE_PORT Service in front of them.
    let node_port = common::free_node_port(std::process::id());
    let mut services = RoutingServiceClient::new(routing.channel.clone());
    let service = loop {
        match services
            .create_service(CreateServiceRequest {
                parent: format!("namespaces/{ns}"),
                service_id: "web".into(),
                service: Some(service_input(&ns, node_port)),
                ..Default::default()
            })
            .await
        {
            Ok(service) => break service.into_inner(),
            Err(status) if status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("create service: {status:?}"),
        }
    };
    let name = format!("namespaces/{ns}/services/web");
    assert_eq!(service.name, name);
    assert_eq!(service.dns_name, format!("web.{ns}.svc.cluster.local"));
    assert_eq!(service.allocated_node_ports[0].node_port, node_port);
    let cluster_address: Ipv4Addr = service.cluster_address.parse().unwrap();
    assert_eq!(cluster_address.octets()[..2], [127, 77]);
    let active = wait_for(&routing.channel, &name, Duration::from_secs(20), |s| {
        s.state() == State::Active && s.ready_endpoint_count == 3 && !s.reconciling
    })
    .await;
    assert_eq!(active.endpoint_count, 3);
    assert!(
        active.conditions.iter().all(|c| c.status == 1),
        "{:?}",
        active.conditions
    );
    let endpoints = services
        .list_service_endpoints(ListServiceEndpointsRequest {
            name: name.clone(),
            page_size: 2,
            filter: "healthy = true".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((endpoints.endpoints.len(), endpoints.total_size), (2, 3));
    assert!(!endpoints.next_page_token.is_empty());

    // Round robin: 300 requests on fresh connections through the node port spread
    // evenly over the 3 instances (stated tolerance: each gets 100 ± 10).
    let node_target = SocketAddr::from(([127, 0, 0, 1], node_port as u16));
    let (per_instance, failures) = spread(node_target, None, 300).await;
    println!("round robin over the node port, 300 requests: {per_instance:?}");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(per_instance.len(), 3, "{per_instance:?}");
    for count in per_instance.values() {
        assert!(
            (90..=110).contains(count),
            "uneven spread: {per_instance:?}"
        );
    }
    // The cluster address answers too.
    let cluster_target = SocketAddr::new(IpAddr::V4(cluster_address), 8080);
    let (via_cluster, failures) = spread(cluster_target, None, 6).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(via_cluster.len(), 3, "{via_cluster:?}");

    // Bad input: a clear error naming the problem, and nothing written.
    // (The status controller may refresh status keys meanwhile: only configuration and
    // allocation keys are compared.)
    let config_keys = |keys: Vec<(String, i64)>| -> Vec<(String, i64)> {
        keys.into_iter()
            .filter(|(key, _)| !key.contains("/service-status/"))
            .collect()
    };
    let before = config_keys(common::routing_keys(store.as_ref()).await);
    let bad = |mutate: &dyn Fn(&mut Service)| {
        let mut input = service_input(&ns, 0);
        mutate(&mut input);
        CreateServiceRequest {
            parent: format!("namespaces/{ns}"),
            service_id: "other".into(),
            service: Some(input),
            ..Default::default()
        }
    };
    let cases: Vec<(CreateServiceRequest, Code, &str)> = vec![
        (
            bad(&|s| s.ports[0].port = 70000),
            Code::InvalidArgument,
            "service.ports[0].port",
        ),
        (
            bad(&|s| {
                let mut second = s.ports[0].clone();
                second.name = "again".into();
                s.ports.push(second);
            }),
            Code::InvalidArgument,
            "service.ports[1].port",
        ),
        (
            bad(&|s| s.ports[0].node_port = node_port),
            Code::FailedPrecondition,
            "node_port",
        ),
        (
            bad(&|s| {
                s.target = Some(Target::Deployment(format!(
                    "namespaces/{ns}/deployments/missing"
                )))
            }),
            Code::FailedPrecondition,
            "does not exist",
        ),
        (
            bad(&|s| {
                s.ports[0].target_port_ref = Some(TargetPortRef::TargetPortName("grpc".into()))
            }),
            Code::InvalidArgument,
            "service.ports[0].target_port_name",
        ),
    ];
    for (request, code, needle) in cases {
        let status = services.create_service(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(
            status.message().contains(needle) || format!("{:?}", status.details()).contains(needle),
            "{needle}: {status:?}"
        );
        println!("refused as expected: {}", status.message());
    }
    let validated = services
        .create_service(CreateServiceRequest {
            parent: format!("namespaces/{ns}"),
            service_id: "other".into(),
            service: Some(service_input(&ns, 0)),
            validate_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(validated.allocated_node_ports.len(), 1);
    assert_eq!(
        config_keys(common::routing_keys(store.as_ref()).await),
        before,
        "bad input wrote to etcd"
    );

    // Client-IP affinity: each of 10 clients (its own 127.0.0.x source address) sticks
    // to one instance; the clients are spread over the instances.
    let current = get(&routing.channel, &name).await;
    let mut change = current.clone();
    change.session_affinity = Some(SessionAffinity {
        mode: Mode::ClientIp as i32,
        timeout: None,
    });
    let updated = services
        .update_service(UpdateServiceRequest {
            service: Some(change),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["session_affinity".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(updated.etag, current.etag);
    assert_eq!(
        updated.cluster_address, current.cluster_address,
        "the cluster address is stable"
    );
    wait_for(&routing.channel, &name, Duration::from_secs(10), |s| {
        s.observed_generation >= 2 && !s.reconciling
    })
    .await;
    let mut chosen = BTreeSet::new();
    for client in 2..12u8 {
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, client));
        let (per_instance, failures) = spread(node_target, Some(source), 10).await;
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(
            per_instance.len(),
            1,
            "client {source} moved between instances: {per_instance:?}"
        );
        chosen.extend(per_instance.into_keys());
    }
    println!(
        "client-IP affinity: 10 clients on {} instances",
        chosen.len()
    );
    assert!(
        chosen.len() >= 2,
        "every client went to one instance: {chosen:?}"
    );

    // Back to round robin, then kill an instance under load: once the health checks
    // noticed (the proxy's checks every 500 ms, 2 failures; or the deploy service's
    // record), no request goes to it and none fails.
    let current = get(&routing.channel, &name).await;
    let mut change = current.clone();
    change.session_affinity = None;
    services
        .update_service(UpdateServiceRequest {
            service: Some(change),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["session_affinity".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_for(&routing.channel, &name, Duration::from_secs(10), |s| {
        s.observed_generation >= 3 && !s.reconciling
    })
    .await;
    let instances = common::ready_instances(&deploy.channel, &deployment).await;
    let victim = instances[0].clone();
    let victim_identity = {
        let answer = common::http_get(
            SocketAddr::from(([127, 0, 0, 1], victim.ports[0].host_port as u16)),
            None,
            "/",
        )
        .await
        .unwrap();
        common::echo_instance(&answer).unwrap()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut log: Vec<(Instant, Result<String, String>)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let result = match common::http_get(node_target, None, "/").await {
                    Ok(answer) => common::echo_instance(&answer)
                        .ok_or_else(|| answer.lines().next().unwrap_or("empty answer").to_string()),
                    Err(error) => Err(error.to_string()),
                };
                log.push((Instant::now(), result));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            log
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed_at = Instant::now();
    docker
        .kill_container(
            &victim.display_name,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    let log = load.await.unwrap();
    let grace = Duration::from_millis(2000);
    let after: Vec<&(Instant, Result<String, String>)> = log
        .iter()
        .filter(|(at, _)| *at > killed_at + grace)
        .collect();
    let failed_before: Vec<&(Instant, Result<String, String>)> = log
        .iter()
        .filter(|(at, r)| *at <= killed_at + grace && r.is_err())
        .collect();
    let last_victim = log
        .iter()
        .filter(|(_, r)| r.as_ref().is_ok_and(|i| *i == victim_identity))
        .map(|(at, _)| *at)
        .max();
    let last_failure = log
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(at, _)| *at)
        .max();
    println!(
        "kill under load: {} requests, {} failed within {grace:?} of the kill (last failure {:?} after it), \
         last answer of the killed instance {:?} relative to the kill, {} requests after the grace",
        log.len(),
        failed_before.len(),
        last_failure.map(|at| at.saturating_duration_since(killed_at)),
        last_victim.map(|at| at.saturating_duration_since(killed_at)),
        after.len()
    );
    assert!(
        after.len() > 50,
        "too few requests after the kill: {}",
        after.len()
    );
    let bad_after: Vec<_> = after
        .iter()
        .filter(|(_, r)| r.as_ref().is_err() || r.as_ref().is_ok_and(|i| *i == victim_identity))
        .collect();
    assert!(
        bad_after.is_empty(),
        "requests failed or reached the killed instance after the grace: {bad_after:?}"
    );
    let health = data_plane.status(&name).await.unwrap();
    assert!(
        health
            .endpoints
            .iter()
            .all(|e| e.backend_id != victim.name || !e.healthy),
        "the killed instance is still a healthy backend: {health:?}"
    );

    // Delete: the node port is released (the listener closes) and every allocation key
    // goes.
    services
        .delete_service(DeleteServiceRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let status = services
        .get_service(GetServiceRequest { name: name.clone() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(common::routing_keys(store.as_ref()).await.is_empty());
    let started = Instant::now();
    while common::http_get(node_target, None, "/").await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the node port still answers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    routing.stop().await;
    let deleted = DeploymentServiceClient::new(deploy.channel.clone())
        .delete_deployment(ferry_proto::ferry::deploy::v1::DeleteDeploymentRequest {
            name: deployment.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    common::wait(&deploy.channel, deleted).await;
    deploy.stop().await;
    let _ = store.delete_prefix("/").await;
}
