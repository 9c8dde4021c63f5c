//! The routing service with its Kubernetes data plane, end to end on a real API server
//! (`FERRY_TEST_KUBECONFIG`: deploy/dev/kube's control plane with kwok nodes, whose pods are
//! ready at once and run nothing) and real etcd (`FERRY_ETCD_ENDPOINTS`), with the deploy
//! service in-process on its Kubernetes runtime:
//! - a NODE_PORT Service becomes a Kubernetes Service selecting the deployment's pods, and
//!   its status reports the ready pods as endpoints;
//! - an external entry with an active check over two real servers on this machine's own
//!   non-loopback addresses (`FERRY_TEST_LOCAL_IPS`; slices refuse loopback ones): its
//!   EndpointSlice marks the stopped one not ready, then ready again when it answers;
//! - a blue-green entry: its slice lists the blue pods, then, after one switch, the green
//!   ones only, then blue again after a rollback.
//!
//! The tests fail, never skip, when a variable is missing.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_proto::ferry::catalog::v1::external_entry_service_client::ExternalEntryServiceClient;
use ferry_proto::ferry::catalog::v1::{
    AddressPort, CreateExternalEntryRequest, ExternalAddress, ExternalEntry,
};
use ferry_proto::ferry::common::v1::{
    ContainerPort, HealthCheck, TcpProbe, health_check, operation,
};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateDeploymentRequest, Deployment, DeploymentTemplate, GetNamespaceRequest,
    deployment_template, namespace,
};
use ferry_proto::ferry::routing::v1::blue_green_service_client::BlueGreenServiceClient;
use ferry_proto::ferry::routing::v1::routing_service_client::RoutingServiceClient;
use ferry_proto::ferry::routing::v1::service::{Target, Type};
use ferry_proto::ferry::routing::v1::service_port::TargetPortRef;
use ferry_proto::ferry::routing::v1::{
    BlueGreenEntry, CreateBlueGreenEntryRequest, CreateServiceRequest, GetServiceRequest,
    RollbackBlueGreenEntryRequest, Service, ServicePort, Side, SwitchBlueGreenEntryRequest,
};
use ferry_routing::RoutingOptions;
use ferry_routing::dataplane::kube::{BLUE_GREEN_NAMESPACE, KubeDataPlane};
use ferry_routing::service::model::ProgramTuning;
use ferry_routing_kube::{KubeRouting, ObservedEndpoint, objects};
use ferry_runtime::Runtime;
use ferry_runtime_kube::KubeRuntime;
use tokio::io::AsyncWriteExt;
use tonic::transport::Channel;

/// How long the control plane and the services may take to converge.
const CONVERGE: Duration = Duration::from_secs(60);

fn kubeconfig() -> String {
    std::env::var("FERRY_TEST_KUBECONFIG").unwrap_or_else(|_| {
        panic!(
            "FERRY_TEST_KUBECONFIG is not set: these tests need a real Kubernetes API server \
             (deploy/dev/kube/start.sh; deploy/dev/test.sh exports it)"
        )
    })
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < CONVERGE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates a namespace (on the only runtime, Kubernetes) and waits until it is active.
async fn namespace(channel: &Channel, id: &str) {
    common::create_namespace(channel, id).await;
    let namespaces = NamespaceServiceClient::new(channel.clone());
    eventually(&format!("namespace {id} active"), || {
        let request = GetNamespaceRequest {
            name: format!("namespaces/{id}"),
        };
        let mut namespaces = namespaces.clone();
        async move {
            let ns = namespaces.get_namespace(request).await.ok()?.into_inner();
            (ns.state() == namespace::State::Active).then_some(())
        }
    })
    .await;
}

async fn create_deployment(channel: &Channel, ns: &str, id: &str, replicas: i32) {
    let created = DeploymentServiceClient::new(channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: id.into(),
            deployment: Some(Deployment {
                template: Some(DeploymentTemplate {
                    // kwok runs nothing: any image pinned by digest does.
                    image_source: Some(deployment_template::ImageSource::ImageUri(
                        "registry.example/shop@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                    )),
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
    let done = common::wait(channel, created).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
}

/// The ready endpoints of a Kubernetes Service once `check` holds for them.
async fn endpoints_when(
    routing: &KubeRouting,
    ns: &str,
    service: &str,
    what: &str,
    check: impl Fn(&[ObservedEndpoint]) -> bool,
) -> Vec<ObservedEndpoint> {
    eventually(what, || async {
        let endpoints = routing.endpoints(ns, service).await.ok()?;
        check(&endpoints).then_some(endpoints)
    })
    .await
}

/// A TCP server on `address` that answers and closes every connection.
async fn serve(address: SocketAddr) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.write_all(b"ok\n").await;
        }
    })
}

/// Two local, non-loopback addresses of this machine (`FERRY_TEST_LOCAL_IPS`, which
/// deploy/dev/test.sh adds to `lo` from the TEST-NET-2 range).
fn local_ips() -> [IpAddr; 2] {
    let value = std::env::var("FERRY_TEST_LOCAL_IPS").unwrap_or_else(|_| {
        panic!(
            "FERRY_TEST_LOCAL_IPS is not set: it must name two local non-loopback addresses, \
             e.g. 198.51.100.10,198.51.100.11 added with `ip addr add ... dev lo` \
             (deploy/dev/test.sh does this)"
        )
    });
    let ips: Vec<IpAddr> = value
        .split(',')
        .map(|ip| {
            ip.trim()
                .parse()
                .expect("FERRY_TEST_LOCAL_IPS holds IP addresses")
        })
        .collect();
    assert_eq!(ips.len(), 2, "FERRY_TEST_LOCAL_IPS={value}: two addresses");
    [ips[0], ips[1]]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routing_on_kubernetes_follows_services_entries_and_switches() {
    let path = kubeconfig();
    let runtime = KubeRuntime::from_kubeconfig("kubernetes", &path)
        .await
        .unwrap_or_else(|e| panic!("FERRY_TEST_KUBECONFIG={path}: {e}"));
    let kube = KubeRouting::from_kubeconfig(&path).await.unwrap();
    let prefix = ferry_store::keys::test_prefix("routing-kube").into_string();
    let deploy = common::start_deploy(&prefix, vec![Arc::new(runtime) as Arc<dyn Runtime>]).await;
    let routing = common::start_routing(
        &prefix,
        RoutingOptions {
            data_plane: Arc::new(KubeDataPlane::new(kube.clone())),
            tuning: ProgramTuning::default(),
            namespace_dns: None,
        },
    )
    .await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let tag = format!("{:x}{nanos:x}", std::process::id());
    let (shop, blue, green) = (
        format!("rk-{tag}"),
        format!("rkb-{tag}"),
        format!("rkg-{tag}"),
    );
    for ns in [&shop, &blue, &green] {
        namespace(&deploy.channel, ns).await;
    }
    create_deployment(&deploy.channel, &shop, "web", 2).await;

    // A Service: a Kubernetes Service selecting the deployment's pods.
    let mut services = RoutingServiceClient::new(routing.channel.clone());
    let node_port = common::free_node_port(std::process::id() + nanos % 1000);
    let created = services
        .create_service(CreateServiceRequest {
            parent: format!("namespaces/{shop}"),
            service_id: "web".into(),
            service: Some(Service {
                target: Some(Target::Deployment(format!(
                    "namespaces/{shop}/deployments/web"
                ))),
                ports: vec![ServicePort {
                    name: "http".into(),
                    port: 80,
                    target_port_ref: Some(TargetPortRef::TargetPortName("http".into())),
                    node_port,
                    ..Default::default()
                }],
                r#type: Type::NodePort as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ready = endpoints_when(
        &kube,
        &shop,
        "web",
        "2 ready pods behind the Service",
        |e| e.iter().filter(|e| e.ready && e.port == 8080).count() == 2,
    )
    .await;
    assert!(ready.iter().all(|e| e.pod.is_some()));
    let observed = kube.observe(&shop, "web").await.unwrap().unwrap();
    assert_eq!(
        observed.node_ports,
        vec![("http".to_string(), 80, node_port as u16)]
    );
    assert!(observed.cluster_ip.is_some());
    let status = eventually("the Service's status to count 2 ready endpoints", || {
        let mut services = services.clone();
        let name = created.name.clone();
        async move {
            let service = services
                .get_service(GetServiceRequest { name })
                .await
                .ok()?
                .into_inner();
            (service.ready_endpoint_count == 2).then_some(service)
        }
    })
    .await;
    assert_eq!(status.endpoint_count, 2);

    // An external entry with a TCP check over two servers on this machine's own
    // non-loopback addresses (slices refuse loopback ones; test.sh adds two to `lo`).
    let [ip_a, ip_b] = local_ips();
    let port = common_free_port();
    let (live, other) = (SocketAddr::new(ip_a, port), SocketAddr::new(ip_b, port));
    let _server_a = serve(live).await;
    let server_b = serve(other).await;
    let address = |addr: SocketAddr| ExternalAddress {
        host: addr.ip().to_string(),
        ports: vec![AddressPort {
            name: "db".into(),
            port: i32::from(addr.port()),
        }],
    };
    ExternalEntryServiceClient::new(routing.channel.clone())
        .create_external_entry(CreateExternalEntryRequest {
            parent: format!("namespaces/{shop}"),
            external_entry_id: "legacy".into(),
            external_entry: Some(ExternalEntry {
                addresses: vec![address(live), address(other)],
                ports: vec![ContainerPort {
                    name: "db".into(),
                    port: 5432,
                    protocol: 0,
                }],
                health_check: Some(HealthCheck {
                    probe: Some(health_check::Probe::Tcp(TcpProbe { port: 5432 })),
                    period: Some(prost_types::Duration {
                        seconds: 0,
                        nanos: 200_000_000,
                    }),
                    timeout: Some(prost_types::Duration {
                        seconds: 0,
                        nanos: 200_000_000,
                    }),
                    failure_threshold: 2,
                    success_threshold: 1,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let ready = |endpoints: &[ObservedEndpoint]| -> BTreeSet<String> {
        endpoints
            .iter()
            .filter(|e| e.ready)
            .map(|e| format!("{}:{}", e.address, e.port))
            .collect()
    };
    let only = |addr: SocketAddr| BTreeSet::from([addr.to_string()]);
    let both = BTreeSet::from([live.to_string(), other.to_string()]);
    endpoints_when(&kube, &shop, "legacy", "both addresses ready", |e| {
        ready(e) == both
    })
    .await;
    server_b.abort();
    let _ = server_b.await;
    let stopped = Instant::now();
    endpoints_when(
        &kube,
        &shop,
        "legacy",
        "the stopped server not ready",
        |e| e.len() == 2 && ready(e) == only(live),
    )
    .await;
    println!(
        "external entry: a stopped address not ready after {:?}",
        stopped.elapsed()
    );
    let _server_b = serve(other).await;
    endpoints_when(
        &kube,
        &shop,
        "legacy",
        "the restarted server ready again",
        |e| ready(e) == both,
    )
    .await;

    // A blue-green entry: the slice follows the active side's pods, switched in one step.
    create_deployment(&deploy.channel, &blue, "shop", 2).await;
    create_deployment(&deploy.channel, &green, "shop", 3).await;
    let mut entries = BlueGreenServiceClient::new(routing.channel.clone());
    let entry_id = format!("shop-{tag}");
    let created = entries
        .create_blue_green_entry(CreateBlueGreenEntryRequest {
            blue_green_entry_id: entry_id.clone(),
            blue_green_entry: Some(BlueGreenEntry {
                application: "applications/shop".into(),
                blue_namespace: format!("namespaces/{blue}"),
                green_namespace: format!("namespaces/{green}"),
                ports: vec![ServicePort {
                    name: "http".into(),
                    port: 80,
                    target_port_ref: Some(TargetPortRef::TargetPortName("http".into())),
                    ..Default::default()
                }],
                r#type: Type::ClusterInternal as i32,
                // The switch's operation ends once the old side drained (default 30 s).
                drain_timeout: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 300_000_000,
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    common::wait(&routing.channel, created).await;
    let pods_in = |endpoints: &[ObservedEndpoint], ns: &str| {
        endpoints
            .iter()
            .filter(|e| e.ready && e.pod.as_ref().is_some_and(|(n, _)| n == ns))
            .count()
    };
    let on_side = |side: &'static str, ns: String, count: usize| {
        let kube = kube.clone();
        let entry_id = entry_id.clone();
        async move {
            endpoints_when(
                &kube,
                BLUE_GREEN_NAMESPACE,
                &entry_id,
                &format!("the entry on {side}"),
                |e| pods_in(e, &ns) == count && e.iter().filter(|e| e.ready).count() == count,
            )
            .await
        }
    };
    on_side("blue", blue.clone(), 2).await;
    let slices_before = kube
        .endpoints(BLUE_GREEN_NAMESPACE, &entry_id)
        .await
        .unwrap();
    assert!(slices_before.iter().all(|e| e.port == 8080));
    let name = format!("blueGreenEntries/{entry_id}");
    let switch_started = Instant::now();
    let switched = entries
        .switch_blue_green_entry(SwitchBlueGreenEntryRequest {
            name: name.clone(),
            target_side: Side::Green as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let done = common::wait(&routing.channel, switched).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    on_side("green", green.clone(), 3).await;
    println!(
        "blue-green on kubernetes: the entry's slice on green {:?} after the switch call",
        switch_started.elapsed()
    );
    let rolled_back = entries
        .rollback_blue_green_entry(RollbackBlueGreenEntryRequest {
            name,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    common::wait(&routing.channel, rolled_back).await;
    on_side("blue", blue.clone(), 2).await;
    // Ferry's slices of the entry: one object, rewritten in place.
    let slices = kube_slices(&kube, &entry_id).await;
    assert_eq!(slices, 1);

    routing.stop().await;
    deploy.stop().await;
}

/// How many EndpointSlices Ferry wrote for the entry `service`.
async fn kube_slices(kube: &KubeRouting, service: &str) -> usize {
    let api: kube::Api<k8s_openapi::api::discovery::v1::EndpointSlice> =
        kube::Api::namespaced(kube.client().clone(), BLUE_GREEN_NAMESPACE);
    api.list(&kube::api::ListParams::default().labels(&objects::slice_selector(service)))
        .await
        .unwrap()
        .items
        .len()
}

/// A free TCP port on every address.
fn common_free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
