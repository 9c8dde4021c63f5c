//! Routing on a real Kubernetes API server: the cluster named by `FERRY_TEST_KUBECONFIG`
//! (deploy/dev/kube/start.sh makes one: kube-apiserver, controller-manager with its
//! EndpointSlice controller, scheduler and kwok nodes that make pods ready at once). The
//! tests fail, never skip, when it is not set. Pods come from the deploy service's own
//! Kubernetes runtime (`ferry-runtime-kube`), so Services select exactly what deployments
//! make. Each test works in its own namespaces `ferry-rt-*` and deletes them at the end.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use ferry_routing_kube::objects::{self, *};
use ferry_routing_kube::{KubeRouting, ObservedEndpoint, to_addresses};
use ferry_runtime::{GroupSpec, NamespaceSpec, Runtime, Transport};
use ferry_runtime_kube::KubeRuntime;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};

/// How long the control plane may take to converge (scheduling, kwok status, slices).
const CONVERGE: Duration = Duration::from_secs(90);

fn kubeconfig() -> String {
    std::env::var("FERRY_TEST_KUBECONFIG").unwrap_or_else(|_| {
        panic!(
            "FERRY_TEST_KUBECONFIG is not set: these tests need a real Kubernetes API server. \
             Start the test control plane with deploy/dev/kube/start.sh DIR ETCD_ENDPOINT and \
             export FERRY_TEST_KUBECONFIG=DIR/kubeconfig (deploy/dev/test.sh does this)"
        )
    })
}

async fn clients() -> (KubeRouting, KubeRuntime) {
    let path = kubeconfig();
    let routing = KubeRouting::from_kubeconfig(&path)
        .await
        .unwrap_or_else(|e| panic!("FERRY_TEST_KUBECONFIG={path}: {e}"));
    let runtime = KubeRuntime::from_kubeconfig("test-kube", &path)
        .await
        .unwrap_or_else(|e| panic!("FERRY_TEST_KUBECONFIG={path}: {e}"));
    (routing, runtime)
}

async fn namespace(runtime: &KubeRuntime, test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("ferry-rt-{test}-{:x}{nanos:x}", std::process::id());
    runtime
        .ensure_namespace(&NamespaceSpec {
            namespace: name.clone(),
            runtime_namespace: name.clone(),
            labels: BTreeMap::new(),
        })
        .await
        .expect("ensure_namespace");
    name
}

/// A deployment's group as the deploy service makes it: port 8080 named `http`.
fn group(namespace: &str, deployment: &str, revision: &str) -> GroupSpec {
    GroupSpec {
        namespace: namespace.into(),
        runtime_namespace: namespace.into(),
        deployment: deployment.into(),
        revision: revision.into(),
        image: std::env::var("FERRY_TEST_KUBE_IMAGE")
            .unwrap_or_else(|_| "registry.k8s.io/pause:3.10".into()),
        ports: vec![ferry_runtime::PortSpec {
            name: "http".into(),
            container_port: 8080,
            protocol: Transport::Tcp,
            publish: false,
        }],
        termination_grace: Duration::from_secs(1),
        ..GroupSpec::default()
    }
}

fn web_service(namespace: &str, name: &str, backends: Backends) -> ServiceSpec {
    ServiceSpec {
        namespace: namespace.into(),
        runtime_namespace: namespace.into(),
        name: name.into(),
        ports: vec![PortSpec {
            name: "http".into(),
            port: 80,
            target: match backends {
                Backends::Addresses(_) => TargetPort::Number(8080),
                _ => TargetPort::Name("http".into()),
            },
            protocol: Protocol::Http,
            node_port: None,
        }],
        exposure: Exposure::ClusterInternal,
        affinity: Affinity::None,
        backends,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }
}

/// Polls `check` until it returns `Some`, failing with `what` after [`CONVERGE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + CONVERGE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {CONVERGE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The ready endpoints of a Service once exactly `count` are ready.
async fn ready_endpoints(
    routing: &KubeRouting,
    namespace: &str,
    service: &str,
    count: usize,
) -> Vec<ObservedEndpoint> {
    eventually(
        &format!("{count} ready endpoints of {namespace}/{service}"),
        || async {
            let endpoints = routing.endpoints(namespace, service).await.ok()?;
            let ready: Vec<ObservedEndpoint> = endpoints.into_iter().filter(|e| e.ready).collect();
            (ready.len() == count).then_some(ready)
        },
    )
    .await
}

#[tokio::test]
async fn a_deployment_service_tracks_ready_pods_and_node_ports_are_exclusive() {
    let (routing, runtime) = clients().await;
    let ns = namespace(&runtime, "svc").await;
    runtime
        .apply_group(&group(&ns, "web", "r1"), 3)
        .await
        .expect("apply group");

    let mut spec = web_service(&ns, "web", Backends::Deployment("web".into()));
    spec.exposure = Exposure::NodePort;
    spec.affinity = Affinity::ClientIp {
        timeout: Duration::from_secs(600),
    };
    let observed = routing.apply(&spec).await.expect("apply service");
    let cluster_ip = observed.cluster_ip.clone().expect("a cluster IP");
    assert!(cluster_ip.starts_with("10.96."), "{cluster_ip}");
    assert_eq!(observed.node_ports.len(), 1);
    let (_, port, node_port) = observed.node_ports[0].clone();
    assert_eq!(port, 80);
    assert!((30000..=32767).contains(&node_port), "{node_port}");
    let services: Api<Service> = Api::namespaced(runtime.client().clone(), &ns);
    let stored = services.get("web").await.expect("the Service");
    assert_eq!(
        stored.spec.as_ref().unwrap().session_affinity.as_deref(),
        Some("ClientIP")
    );

    // Kubernetes' EndpointSlice controller tracks the deployment's ready pods, on the
    // resolved named port, each with its pod (the Ferry instance id).
    let endpoints = ready_endpoints(&routing, &ns, "web", 3).await;
    let pods: Vec<String> = runtime
        .list_instances(&ns)
        .await
        .expect("instances")
        .into_iter()
        .map(|i| i.instance)
        .collect();
    for endpoint in &endpoints {
        assert_eq!(endpoint.port, 8080);
        let (pod_ns, pod) = endpoint.pod.clone().expect("a pod reference");
        assert_eq!(pod_ns, ns);
        assert!(pods.contains(&pod), "{pod} not among {pods:?}");
    }
    // A rolling update's second revision joins the same Service; scaling the first down
    // leaves it.
    runtime
        .apply_group(&group(&ns, "web", "r2"), 1)
        .await
        .expect("r2");
    runtime
        .apply_group(&group(&ns, "web", "r1"), 1)
        .await
        .expect("r1 down");
    ready_endpoints(&routing, &ns, "web", 2).await;

    // Re-applying is a no-op: the same cluster IP and node port.
    let again = routing.apply(&spec).await.expect("apply again");
    assert_eq!(again.cluster_ip, Some(cluster_ip));
    assert_eq!(again.node_ports[0].2, node_port);

    // Another Service asking for the taken node port is refused and not created.
    let mut rival = web_service(&ns, "rival", Backends::Deployment("web".into()));
    rival.exposure = Exposure::NodePort;
    rival.ports[0].node_port = Some(node_port);
    let error = routing.apply(&rival).await.unwrap_err();
    assert!(error.is_invalid(), "{error}");
    assert!(error.to_string().contains("already allocated"), "{error}");
    assert!(routing.observe(&ns, "rival").await.unwrap().is_none());

    routing.delete(&ns, "web").await.expect("delete");
    routing.delete(&ns, "web").await.expect("delete again");
    assert!(routing.observe(&ns, "web").await.unwrap().is_none());
    runtime
        .delete_namespace(&ns)
        .await
        .expect("delete namespace");
}

#[tokio::test]
async fn an_external_entry_slice_marks_a_dead_address_and_restores_it() {
    let (routing, runtime) = clients().await;
    let ns = namespace(&runtime, "ext").await;
    let address = |ip: &str, ready: bool| AddressEndpoint {
        ip: ip.parse().unwrap(),
        ports: BTreeMap::from([("http".to_string(), 5432)]),
        ready,
        pod: None,
        node: None,
        zone: None,
    };
    let mut spec = web_service(
        &ns,
        "legacy",
        Backends::Addresses(vec![
            address("192.0.2.10", true),
            address("192.0.2.11", true),
        ]),
    );
    routing.apply(&spec).await.expect("apply");
    let ready = ready_endpoints(&routing, &ns, "legacy", 2).await;
    assert!(ready.iter().all(|e| e.port == 5432 && e.pod.is_none()));

    // The health check found 192.0.2.11 dead: it no longer receives traffic.
    spec.backends = Backends::Addresses(vec![
        address("192.0.2.10", true),
        address("192.0.2.11", false),
    ]);
    let observed = routing.apply(&spec).await.expect("apply");
    let ready: Vec<&str> = observed
        .endpoints
        .iter()
        .filter(|e| e.ready)
        .map(|e| e.address.as_str())
        .collect();
    assert_eq!(ready, vec!["192.0.2.10"]);
    // Kubernetes' controllers leave Ferry's slice alone (no mirror, no takeover).
    let slices: Api<EndpointSlice> = Api::namespaced(runtime.client().clone(), &ns);
    let all = slices
        .list(&ListParams::default().labels(&format!("{}=legacy", objects::SERVICE_NAME_LABEL)))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1, "{:#?}", all.items);
    assert_eq!(
        all.items[0].metadata.labels.as_ref().unwrap()[objects::MANAGED_BY_LABEL],
        objects::MANAGED_BY
    );
    // It answers again: restored.
    spec.backends = Backends::Addresses(vec![
        address("192.0.2.10", true),
        address("192.0.2.11", true),
    ]);
    routing.apply(&spec).await.expect("apply");
    ready_endpoints(&routing, &ns, "legacy", 2).await;

    // An outside DNS name is an ExternalName Service.
    let mut named = web_service(
        &ns,
        "billing",
        Backends::ExternalName("billing.example.com".into()),
    );
    named.ports.clear();
    let observed = routing.apply(&named).await.expect("apply external name");
    assert_eq!(observed.cluster_ip, None);
    let services: Api<Service> = Api::namespaced(runtime.client().clone(), &ns);
    let stored = services.get("billing").await.unwrap().spec.unwrap();
    assert_eq!(stored.type_.as_deref(), Some("ExternalName"));
    assert_eq!(stored.external_name.as_deref(), Some("billing.example.com"));

    routing.delete(&ns, "legacy").await.expect("delete");
    assert!(
        slices
            .list(&ListParams::default().labels(&objects::slice_selector("legacy")))
            .await
            .unwrap()
            .items
            .is_empty(),
        "Ferry's slices go with the Service"
    );
    runtime
        .delete_namespace(&ns)
        .await
        .expect("delete namespace");
}

#[tokio::test]
async fn a_blue_green_switch_moves_the_entry_in_one_object_update() {
    let (routing, runtime) = clients().await;
    let blue = namespace(&runtime, "blue").await;
    let green = namespace(&runtime, "green").await;
    let entry_ns = namespace(&runtime, "entry").await;
    runtime
        .apply_group(&group(&blue, "shop", "r1"), 2)
        .await
        .expect("blue");
    runtime
        .apply_group(&group(&green, "shop", "r4"), 3)
        .await
        .expect("green");
    for side in [&blue, &green] {
        routing
            .apply(&web_service(
                side,
                "shop",
                Backends::Deployment("shop".into()),
            ))
            .await
            .expect("side service");
    }
    let blue_ready = ready_endpoints(&routing, &blue, "shop", 2).await;
    let green_ready = ready_endpoints(&routing, &green, "shop", 3).await;
    // The same pods read directly (no side Service needed), named ports resolved through
    // the pods' declared container ports.
    let entry_ports = web_service(&entry_ns, "shop", Backends::Deployment("shop".into())).ports;
    let direct = routing
        .pod_addresses(
            &green,
            &objects::deployment_selector(&green, "shop"),
            &entry_ports,
        )
        .await
        .expect("pod addresses");
    assert_eq!(direct.len(), 3);
    assert!(direct.iter().all(|a| a.ready && a.ports["http"] == 8080));
    let mut via_slices = to_addresses(&green_ready);
    via_slices.sort_by_key(|a| a.ip);
    assert_eq!(
        direct.iter().map(|a| a.ip).collect::<Vec<_>>(),
        via_slices.iter().map(|a| a.ip).collect::<Vec<_>>()
    );

    let entry = |side: &[ObservedEndpoint]| {
        web_service(&entry_ns, "shop", Backends::Addresses(to_addresses(side)))
    };
    let observed = routing
        .apply(&entry(&blue_ready))
        .await
        .expect("entry on blue");
    let pods_in = |endpoints: &[ObservedEndpoint], ns: &str| {
        endpoints
            .iter()
            .filter(|e| e.ready && e.pod.as_ref().is_some_and(|(n, _)| n == ns))
            .count()
    };
    assert_eq!(pods_in(&observed.endpoints, &blue), 2);
    let slices: Api<EndpointSlice> = Api::namespaced(runtime.client().clone(), &entry_ns);
    let before = slices
        .list(&ListParams::default().labels(&objects::slice_selector("shop")))
        .await
        .unwrap();
    assert_eq!(before.items.len(), 1);

    // Switch: the one slice now lists green's pods only.
    let observed = routing.apply(&entry(&green_ready)).await.expect("switch");
    assert_eq!(pods_in(&observed.endpoints, &green), 3);
    assert_eq!(pods_in(&observed.endpoints, &blue), 0);
    let after = slices
        .list(&ListParams::default().labels(&objects::slice_selector("shop")))
        .await
        .unwrap();
    assert_eq!(after.items.len(), 1);
    assert_eq!(after.items[0].metadata.name, before.items[0].metadata.name);
    assert_eq!(after.items[0].metadata.uid, before.items[0].metadata.uid);
    // Roll back: blue again.
    let observed = routing.apply(&entry(&blue_ready)).await.expect("rollback");
    assert_eq!(pods_in(&observed.endpoints, &blue), 2);
    assert_eq!(pods_in(&observed.endpoints, &green), 0);

    let managed = routing.list_managed().await.expect("list");
    assert!(
        managed
            .iter()
            .any(|m| m.namespace == entry_ns && m.name == "shop")
    );
    for ns in [&blue, &green, &entry_ns] {
        runtime
            .delete_namespace(ns)
            .await
            .expect("delete namespace");
    }
}
