//! Updating blue-green entries and listing their deployable namespaces, end to end over
//! real etcd (`FERRY_ETCD_ENDPOINTS`) and a real Docker engine (`FERRY_TEST_DOCKER_HOST`),
//! with the deploy service in-process: the echo app is deployed as `shop` in four
//! namespaces (answering `version=blue`, `green`, `third`, `fourth`). One entry `shop`
//! (blue/green) and one entry `other` (fourth/an empty namespace). Checked: the deployable
//! namespaces of `shop` (order, health, `in_other_entry`, filter, pages); IN_USE refusals
//! (create and update) and refused updates (active side, immutable field, stale etag,
//! during a switch) that write nothing; `validate_only`; `request_id` retries; a node-port
//! change claimed and released with the record; the inactive side moved to the third
//! namespace, then a switch to it answered by that namespace's instances; the side claims
//! in etcd follow creates, moves and deletes, and of two entries created at once over the
//! same deployments exactly one wins (three rounds).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_proto::ferry::common::v1::operation;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateDeploymentRequest, DeleteDeploymentRequest, Deployment,
};
use ferry_proto::ferry::routing::v1::blue_green_service_client::BlueGreenServiceClient;
use ferry_proto::ferry::routing::v1::service::Type;
use ferry_proto::ferry::routing::v1::service_port::TargetPortRef;
use ferry_proto::ferry::routing::v1::{
    BlueGreenEntry, CreateBlueGreenEntryRequest, DeleteBlueGreenEntryRequest, DeployableNamespace,
    GetBlueGreenEntryRequest, ListDeployableNamespacesRequest, ServicePort, Side,
    SwitchBlueGreenEntryRequest, UpdateBlueGreenEntryRequest,
};
use ferry_proto::tonic_types::StatusExt;
use ferry_routing::RoutingOptions;
use ferry_runtime::Runtime;
use ferry_runtime_docker::{DockerRuntime, EngineConfig};
use ferry_store::Store;
use tonic::transport::Channel;
use tonic::{Code, Status};

async fn deploy_shop(
    channel: &Channel,
    namespace: &str,
    image: &str,
    version: &str,
    replicas: i32,
) -> String {
    let created = DeploymentServiceClient::new(channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{namespace}"),
            deployment_id: "shop".into(),
            deployment: Some(Deployment {
                template: Some(common::echo_template(image, Some(version))),
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

/// Waits (up to 20 s) until `target` answers with `expected`.
async fn wait_answer(target: SocketAddr, expected: &str) {
    let started = Instant::now();
    loop {
        let answer = common::http_get(target, None, "/")
            .await
            .map(|a| version(&a));
        if matches!(answer, Ok(Some(ref v)) if v == expected) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{target} never answered {expected}: last {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get(channel: &Channel, name: &str) -> BlueGreenEntry {
    BlueGreenServiceClient::new(channel.clone())
        .get_blue_green_entry(GetBlueGreenEntryRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

/// The ErrorInfo reason of a refusal.
fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo on {status:?}"))
        .reason
        .clone()
}

async fn deployable(
    channel: &Channel,
    name: &str,
    filter: &str,
    page_size: i32,
) -> (Vec<DeployableNamespace>, i32) {
    let mut client = BlueGreenServiceClient::new(channel.clone());
    let mut all = Vec::new();
    let mut page_token = String::new();
    let mut total = None;
    loop {
        let page = client
            .list_deployable_namespaces(ListDeployableNamespacesRequest {
                name: name.into(),
                page_size,
                page_token: page_token.clone(),
                filter: filter.into(),
            })
            .await
            .unwrap()
            .into_inner();
        if page_size > 0 {
            assert!(page.deployable_namespaces.len() <= page_size as usize);
        }
        assert_eq!(*total.get_or_insert(page.total_size), page.total_size);
        all.extend(page.deployable_namespaces);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    (all, total.unwrap_or_default())
}

fn port(node_port: i32) -> ServicePort {
    ServicePort {
        name: "http".into(),
        port: 8080,
        target_port_ref: Some(TargetPortRef::TargetPortName("http".into())),
        node_port,
        ..Default::default()
    }
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blue_green_entries_update_and_list_deployable_namespaces() {
    let endpoint = common::docker_host();
    let prefix = ferry_store::keys::test_prefix("routing-bg-update").into_string();
    let image_id = common::echo_image_id(&endpoint, "ferry-test/echo:routing-bg-update").await;
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
    let store = common::store(&prefix).await;
    let pid = std::process::id();
    let [blue_ns, green_ns, third_ns, fourth_ns, empty_ns] =
        ["ub", "ug", "ut", "uf", "ue"].map(|p| format!("{p}{pid}"));
    for ns in [&blue_ns, &green_ns, &third_ns, &fourth_ns, &empty_ns] {
        common::create_namespace(&deploy.channel, ns).await;
    }
    let mut deployments = Vec::new();
    for (ns, version, replicas) in [
        (&blue_ns, "blue", 2),
        (&green_ns, "green", 2),
        (&third_ns, "third", 2),
        (&fourth_ns, "fourth", 1),
    ] {
        deployments.push(deploy_shop(&deploy.channel, ns, &image_id, version, replicas).await);
    }
    let ns = |id: &str| format!("namespaces/{id}");

    // The entry `shop` on blue at a node port, and `other` with fourth as its blue side.
    let node_port = common::free_node_port(pid + 29);
    let mut entries = BlueGreenServiceClient::new(routing.channel.clone());
    let shop_input = BlueGreenEntry {
        application: "applications/shop".into(),
        blue_namespace: ns(&blue_ns),
        green_namespace: ns(&green_ns),
        ports: vec![port(node_port)],
        r#type: Type::NodePort as i32,
        drain_timeout: Some(prost_types::Duration {
            seconds: 0,
            nanos: 300_000_000,
        }),
        ..Default::default()
    };
    let created = loop {
        match entries
            .create_blue_green_entry(CreateBlueGreenEntryRequest {
                blue_green_entry_id: "shop".into(),
                blue_green_entry: Some(shop_input.clone()),
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
    common::wait(&routing.channel, created).await;
    let other_input = BlueGreenEntry {
        blue_namespace: ns(&fourth_ns),
        green_namespace: ns(&empty_ns),
        ports: vec![port(0)],
        r#type: Type::ClusterInternal as i32,
        ..shop_input.clone()
    };
    let created = entries
        .create_blue_green_entry(CreateBlueGreenEntryRequest {
            blue_green_entry_id: "other".into(),
            blue_green_entry: Some(other_input.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    common::wait(&routing.channel, created).await;
    let name = "blueGreenEntries/shop";
    let first_target = SocketAddr::from(([127, 0, 0, 1], node_port as u16));
    wait_answer(first_target, "blue").await;

    // The deployable namespaces of `shop`: active, inactive, then the others by name.
    let (listed, total) = deployable(&routing.channel, name, "", 0).await;
    let order: Vec<&str> = listed.iter().map(|d| d.namespace.as_str()).collect();
    println!("deployable namespaces of {name}: {order:?}");
    let expected = [ns(&blue_ns), ns(&green_ns), ns(&fourth_ns), ns(&third_ns)];
    assert_eq!(order, expected, "{listed:?}");
    assert_eq!(total, 4);
    assert!(listed[0].active && listed[0].side() == Side::Blue);
    assert!(!listed[1].active && listed[1].side() == Side::Green);
    assert!(
        listed[2..]
            .iter()
            .all(|d| d.side() == Side::Unspecified && !d.active)
    );
    assert_eq!(
        listed.iter().map(|d| d.in_other_entry).collect::<Vec<_>>(),
        [false, false, true, false]
    );
    for d in &listed {
        assert!(d.healthy, "{d:?}");
        assert_eq!(d.ready_instances, d.desired_instances, "{d:?}");
        assert!(!d.revision.is_empty(), "{d:?}");
        assert_eq!(d.deployment, format!("{}/deployments/shop", d.namespace));
    }
    assert_eq!(
        listed
            .iter()
            .map(|d| d.desired_instances)
            .collect::<Vec<_>>(),
        [2, 2, 1, 2]
    );
    // One per page: the same order.
    let (paged, paged_total) = deployable(&routing.channel, name, "", 1).await;
    assert_eq!(paged, listed);
    assert_eq!(paged_total, 4);
    let (filtered, filtered_total) =
        deployable(&routing.channel, name, "in_other_entry = true", 0).await;
    assert_eq!(
        filtered.iter().map(|d| &d.namespace).collect::<Vec<_>>(),
        [&ns(&fourth_ns)]
    );
    assert_eq!(filtered_total, 1);
    let (others, _) = deployable(
        &routing.channel,
        name,
        "side = SIDE_UNSPECIFIED AND in_other_entry = false AND healthy = true",
        0,
    )
    .await;
    assert_eq!(
        others.iter().map(|d| &d.namespace).collect::<Vec<_>>(),
        [&ns(&third_ns)]
    );
    let status = entries
        .list_deployable_namespaces(ListDeployableNamespacesRequest {
            name: name.into(),
            filter: "state = ACTIVE".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = entries
        .list_deployable_namespaces(ListDeployableNamespacesRequest {
            name: "blueGreenEntries/nothing".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    // IN_USE: a new entry on shop's green side, or shop's inactive side moved to the
    // fourth namespace (other's side): refused, nothing written.
    let before = config_keys(store.as_ref()).await;
    let dup = BlueGreenEntry {
        blue_namespace: ns(&green_ns),
        green_namespace: ns(&third_ns),
        ports: vec![port(0)],
        r#type: Type::ClusterInternal as i32,
        ..shop_input.clone()
    };
    let status = entries
        .create_blue_green_entry(CreateBlueGreenEntryRequest {
            blue_green_entry_id: "dup".into(),
            blue_green_entry: Some(dup),
            ..Default::default()
        })
        .await
        .unwrap_err();
    println!("refused as expected: {}", status.message());
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(reason(&status), "IN_USE");
    assert!(status.message().contains(name), "{status:?}");
    let status = entries
        .update_blue_green_entry(UpdateBlueGreenEntryRequest {
            blue_green_entry: Some(BlueGreenEntry {
                name: name.into(),
                green_namespace: ns(&fourth_ns),
                ..Default::default()
            }),
            update_mask: mask(&["green_namespace"]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(reason(&status), "IN_USE");
    assert!(
        status.message().contains("blueGreenEntries/other"),
        "{status:?}"
    );
    assert_eq!(config_keys(store.as_ref()).await, before);

    // Refused updates write nothing: the active side's namespace, an immutable field,
    // a stale etag; validate_only neither.
    let current = get(&routing.channel, name).await;
    let refusals = [
        (
            BlueGreenEntry {
                name: name.into(),
                blue_namespace: ns(&third_ns),
                ..Default::default()
            },
            mask(&["blue_namespace"]),
            Code::FailedPrecondition,
            "INVALID_STATE",
        ),
        (
            BlueGreenEntry {
                name: name.into(),
                application: "applications/web".into(),
                ..Default::default()
            },
            mask(&["application"]),
            Code::InvalidArgument,
            "INVALID_UPDATE_MASK",
        ),
        (
            BlueGreenEntry {
                name: name.into(),
                etag: "\"1\"".into(),
                display_name: "Shop".into(),
                ..Default::default()
            },
            mask(&["display_name"]),
            Code::Aborted,
            "ETAG_MISMATCH",
        ),
        (
            BlueGreenEntry {
                name: name.into(),
                ports: vec![port(70000)],
                ..Default::default()
            },
            mask(&["ports"]),
            Code::InvalidArgument,
            "INVALID_FIELD",
        ),
    ];
    for (input, update_mask, code, expected_reason) in refusals {
        let status = entries
            .update_blue_green_entry(UpdateBlueGreenEntryRequest {
                blue_green_entry: Some(input),
                update_mask,
                ..Default::default()
            })
            .await
            .unwrap_err();
        println!("refused as expected: {}", status.message());
        assert_eq!(status.code(), code, "{status:?}");
        assert_eq!(reason(&status), expected_reason, "{status:?}");
    }
    let checked = entries
        .update_blue_green_entry(UpdateBlueGreenEntryRequest {
            blue_green_entry: Some(BlueGreenEntry {
                name: name.into(),
                green_namespace: ns(&third_ns),
                ..Default::default()
            }),
            update_mask: mask(&["green_namespace"]),
            validate_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(checked.green_namespace, ns(&third_ns));
    assert_eq!(config_keys(store.as_ref()).await, before);
    let unchanged = get(&routing.channel, name).await;
    assert_eq!(
        (&unchanged.etag, &unchanged.green_namespace),
        (&current.etag, &ns(&green_ns))
    );

    // A new node port: the claim moves with the record, traffic follows.
    let new_node_port = common::free_node_port(pid + 131);
    assert_ne!(new_node_port, node_port);
    let updated = entries
        .update_blue_green_entry(UpdateBlueGreenEntryRequest {
            blue_green_entry: Some(BlueGreenEntry {
                name: name.into(),
                etag: current.etag.clone(),
                ports: vec![port(new_node_port)],
                drain_timeout: Some(prost_types::Duration {
                    seconds: 3,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            update_mask: mask(&["ports", "drain_timeout"]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(updated.etag, current.etag);
    assert_eq!(updated.allocated_node_ports[0].node_port, new_node_port);
    let holder = |port: i32| {
        let store = store.clone();
        async move {
            store
                .get(&ferry_routing::layout::node_port_key(port))
                .await
                .unwrap()
                .map(|kv| String::from_utf8(kv.value).unwrap())
        }
    };
    assert_eq!(holder(new_node_port).await.as_deref(), Some(name));
    assert_eq!(holder(node_port).await, None);
    let target = SocketAddr::from(([127, 0, 0, 1], new_node_port as u16));
    wait_answer(target, "blue").await;
    // The old node port closes, and the status reports the new generation programmed.
    let started = Instant::now();
    while common::http_get(first_target, None, "/").await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the released node port {node_port} still answers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let generation = store
        .get(&ferry_routing::layout::blue_green_key(name))
        .await
        .unwrap()
        .expect("the entry's record")
        .version;
    let started = Instant::now();
    loop {
        let entry = get(&routing.channel, name).await;
        if !entry.reconciling && entry.observed_generation == generation {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the update was never reported programmed: {entry:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The inactive side moved to the third namespace (with a request id: a retry gets
    // the same answer, though the etag it names is stale by then).
    let move_request = UpdateBlueGreenEntryRequest {
        blue_green_entry: Some(BlueGreenEntry {
            name: name.into(),
            etag: updated.etag.clone(),
            green_namespace: ns(&third_ns),
            ..Default::default()
        }),
        update_mask: mask(&["green_namespace"]),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let moved = entries
        .update_blue_green_entry(move_request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.green_namespace, ns(&third_ns));
    assert_eq!(moved.blue_namespace, ns(&blue_ns));
    assert_eq!(moved.active_side(), Side::Blue);
    let retried = entries
        .update_blue_green_entry(move_request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.etag, moved.etag);
    assert_eq!(get(&routing.channel, name).await.etag, moved.etag);
    let (listed, _) = deployable(&routing.channel, name, "", 0).await;
    assert_eq!(
        listed
            .iter()
            .map(|d| (d.namespace.clone(), d.side()))
            .collect::<Vec<_>>(),
        [
            (ns(&blue_ns), Side::Blue),
            (ns(&third_ns), Side::Green),
            (ns(&fourth_ns), Side::Unspecified),
            (ns(&green_ns), Side::Unspecified),
        ]
    );

    // The switch goes to the third namespace's instances; updates wait for it.
    let switched = entries
        .switch_blue_green_entry(SwitchBlueGreenEntryRequest {
            name: name.into(),
            target_side: Side::Green as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let status = entries
        .update_blue_green_entry(UpdateBlueGreenEntryRequest {
            blue_green_entry: Some(BlueGreenEntry {
                name: name.into(),
                display_name: "Shop".into(),
                ..Default::default()
            }),
            update_mask: mask(&["display_name"]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert_eq!(reason(&status), "OPERATION_IN_PROGRESS");
    wait_answer(target, "third").await;
    let done = common::wait(&routing.channel, switched).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    for _ in 0..20 {
        assert_eq!(
            version(&common::http_get(target, None, "/").await.unwrap()).as_deref(),
            Some("third")
        );
    }
    let entry = get(&routing.channel, name).await;
    assert_eq!(entry.active_side(), Side::Green);
    assert_eq!(entry.active_namespace, ns(&third_ns));
    assert_eq!(entry.switch_history[0].to_namespace, ns(&third_ns));
    assert_eq!(
        entry.display_name, "",
        "the update during the switch was written"
    );
    let (listed, _) = deployable(&routing.channel, name, "active = true", 0).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].namespace, ns(&third_ns));
    // Blue is now the inactive side: it may move, green (active) may not.
    let status = entries
        .update_blue_green_entry(UpdateBlueGreenEntryRequest {
            blue_green_entry: Some(BlueGreenEntry {
                name: name.into(),
                green_namespace: ns(&green_ns),
                ..Default::default()
            }),
            update_mask: mask(&["green_namespace"]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    // Every side deployment is claimed by its entry (shop: blue and third now; other:
    // fourth and the empty namespace); green's claim went with the move.
    let claim = |namespace: &str| {
        let key = ferry_routing::layout::blue_green_side_key(&format!(
            "namespaces/{namespace}/deployments/shop"
        ));
        let store = store.clone();
        async move {
            store
                .get(&key)
                .await
                .unwrap()
                .map(|kv| String::from_utf8(kv.value).unwrap())
        }
    };
    assert_eq!(claim(&blue_ns).await.as_deref(), Some(name));
    assert_eq!(claim(&third_ns).await.as_deref(), Some(name));
    assert_eq!(claim(&green_ns).await, None);
    assert_eq!(
        claim(&fourth_ns).await.as_deref(),
        Some("blueGreenEntries/other")
    );
    assert_eq!(
        claim(&empty_ns).await.as_deref(),
        Some("blueGreenEntries/other")
    );

    for entry in [name, "blueGreenEntries/other"] {
        let deleted = entries
            .delete_blue_green_entry(DeleteBlueGreenEntryRequest {
                name: entry.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        common::wait(&routing.channel, deleted).await;
    }
    assert_eq!(holder(new_node_port).await, None);
    for namespace in [&blue_ns, &green_ns, &third_ns, &fourth_ns, &empty_ns] {
        assert_eq!(claim(namespace).await, None, "deleting frees {namespace}");
    }

    // Two entries created at once over the same deployments: the side claims let exactly
    // one through, the other is IN_USE (a check of the other entries alone could pass
    // both), in every round.
    for round in 0..3 {
        let race = |id: String| {
            let mut entries = entries.clone();
            let input = BlueGreenEntry {
                ports: vec![port(0)],
                r#type: Type::ClusterInternal as i32,
                ..shop_input.clone()
            };
            async move {
                entries
                    .create_blue_green_entry(CreateBlueGreenEntryRequest {
                        blue_green_entry_id: id,
                        blue_green_entry: Some(input),
                        ..Default::default()
                    })
                    .await
            }
        };
        let (a, b) = tokio::join!(
            race(format!("race-a{round}")),
            race(format!("race-b{round}"))
        );
        let (winner, loser) = match (a, b) {
            (Ok(won), Err(lost)) => (won.into_inner(), lost),
            (Err(lost), Ok(won)) => (won.into_inner(), lost),
            other => panic!("round {round}: exactly one create must win: {other:?}"),
        };
        assert_eq!(loser.code(), Code::FailedPrecondition, "{loser:?}");
        assert_eq!(reason(&loser), "IN_USE", "{loser:?}");
        let done = common::wait(&routing.channel, winner).await;
        let winner_name = match done.result {
            Some(operation::Result::Response(any)) => {
                <BlueGreenEntry as prost::Message>::decode(any.value.as_slice())
                    .unwrap()
                    .name
            }
            other => panic!("round {round}: {other:?}"),
        };
        assert_eq!(claim(&blue_ns).await, Some(winner_name.clone()));
        assert_eq!(claim(&green_ns).await, Some(winner_name.clone()));
        let deleted = entries
            .delete_blue_green_entry(DeleteBlueGreenEntryRequest {
                name: winner_name,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        common::wait(&routing.channel, deleted).await;
        assert_eq!(claim(&blue_ns).await, None);
    }
    routing.stop().await;
    for deployment in deployments {
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
    let _ = store.delete_prefix("/").await;
}

/// The routing keys the API writes (configuration, claims, operations are elsewhere)
/// with their mod revisions; the status keys the leader rewrites in the background are
/// left out.
async fn config_keys(store: &dyn Store) -> Vec<(String, i64)> {
    common::routing_keys(store)
        .await
        .into_iter()
        .filter(|(key, _)| !key.contains("-status/"))
        .collect()
}
