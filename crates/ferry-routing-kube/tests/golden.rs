//! Golden manifests: the Service and EndpointSlice built for representative specs, compared
//! with the committed files under `tests/golden/`. After an intended change, regenerate them
//! with `FERRY_UPDATE_GOLDEN=1 cargo test -p ferry-routing-kube --test golden` and review
//! the diff.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ferry_routing_kube::objects::{self, *};
use serde_json::Value;

fn check_golden(file: &str, value: Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(file);
    let actual = serde_json::to_string_pretty(&value).expect("serializes") + "\n";
    if std::env::var_os("FERRY_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("writes the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with FERRY_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        actual == expected,
        "{} differs from what the builders make now; if the change is intended, run \
         FERRY_UPDATE_GOLDEN=1 cargo test -p ferry-routing-kube --test golden.\n--- now:\n{actual}",
        path.display()
    );
}

fn ports() -> Vec<PortSpec> {
    vec![
        PortSpec {
            name: "http".into(),
            port: 80,
            target: TargetPort::Name("http".into()),
            protocol: Protocol::Http,
            node_port: Some(30080),
        },
        PortSpec {
            name: "grpc".into(),
            port: 9000,
            target: TargetPort::Number(9000),
            protocol: Protocol::Grpc,
            node_port: None,
        },
    ]
}

#[test]
fn deployment_service_matches_golden() {
    let spec = ServiceSpec {
        namespace: "shop".into(),
        runtime_namespace: "shop".into(),
        name: "web".into(),
        ports: ports(),
        exposure: Exposure::NodePort,
        affinity: Affinity::ClientIp {
            timeout: Duration::from_secs(3 * 3600),
        },
        backends: Backends::Deployment("web".into()),
        labels: BTreeMap::from([("team".to_string(), "storefront".to_string())]),
        annotations: BTreeMap::from([(
            "ferry.dev/resource".to_string(),
            "namespaces/shop/services/web".to_string(),
        )]),
    };
    objects::validate(&spec).expect("valid");
    check_golden(
        "service-deployment.json",
        serde_json::to_value(objects::service(&spec)).unwrap(),
    );
    assert!(objects::endpoint_slices(&spec, Some("uid")).is_empty());
}

#[test]
fn external_entry_matches_golden() {
    let mut ports = ports();
    for port in &mut ports {
        port.target = TargetPort::Number(port.port);
        port.node_port = None;
    }
    let address = |ip: &str, ready: bool| AddressEndpoint {
        ip: ip.parse().unwrap(),
        ports: BTreeMap::from([("http".to_string(), 8080), ("grpc".to_string(), 9000)]),
        ready,
        pod: None,
        node: None,
        zone: None,
    };
    let spec = ServiceSpec {
        namespace: "shop".into(),
        runtime_namespace: "shop".into(),
        name: "legacy-db".into(),
        ports,
        exposure: Exposure::ClusterInternal,
        affinity: Affinity::None,
        backends: Backends::Addresses(vec![
            address("192.0.2.11", true),
            address("192.0.2.10", false),
        ]),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    };
    objects::validate(&spec).expect("valid");
    let slices = objects::endpoint_slices(&spec, Some("6f1e0a4c-2b7d-4c1e-9a53-0d1f8e2b7c90"));
    check_golden(
        "service-external.json",
        serde_json::json!({
            "service": objects::service(&spec),
            "endpointSlices": slices,
        }),
    );
}
