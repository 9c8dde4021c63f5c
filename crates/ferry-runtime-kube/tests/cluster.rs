//! The Kubernetes runtime against a real API server: the cluster named by the kubeconfig in
//! `FERRY_TEST_KUBECONFIG` (deploy/dev/kube/start.sh makes one: kube-apiserver,
//! controller-manager, scheduler and kwok nodes). The tests fail, never skip, when it is
//! not set.
//!
//! What the cluster must have: at least two Ready nodes of one region in two zones
//! (`topology.kubernetes.io/region` / `zone`), and the right to create namespaces. Pods
//! use the image in `FERRY_TEST_KUBE_IMAGE` (default `registry.k8s.io/pause:3.10`; kwok
//! nodes run nothing, so any name does there). Each test works in its own namespace
//! `ferry-test-*` and deletes it at the end.

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use ferry_runtime::{
    GroupSpec, HostState, HostStatus, InstancePhase, InstanceStatus, LogOptions, NamespaceSpec,
    Runtime, RuntimeError, RuntimeEvent, labels,
};
use ferry_runtime_kube::KubeRuntime;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams};

/// How long the control plane may take to converge (scheduling, kwok status, GC).
const CONVERGE: Duration = Duration::from_secs(90);

async fn runtime() -> KubeRuntime {
    let path = std::env::var("FERRY_TEST_KUBECONFIG").unwrap_or_else(|_| {
        panic!(
            "FERRY_TEST_KUBECONFIG is not set: these tests need a real Kubernetes API server. \
             Build and start the test control plane with deploy/dev/kube/build.sh and \
             deploy/dev/kube/start.sh DIR ETCD_ENDPOINT, then export \
             FERRY_TEST_KUBECONFIG=DIR/kubeconfig (deploy/dev/test.sh does this)"
        )
    });
    KubeRuntime::from_kubeconfig("test-kube", &path)
        .await
        .unwrap_or_else(|e| panic!("FERRY_TEST_KUBECONFIG={path}: {e}"))
}

fn unique_namespace(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("ferry-test-{test}-{:x}{nanos:x}", std::process::id())
}

async fn create_namespace(runtime: &KubeRuntime, test: &str) -> String {
    let name = unique_namespace(test);
    runtime
        .ensure_namespace(&NamespaceSpec {
            namespace: "shop-dev".into(),
            runtime_namespace: name.clone(),
            labels: [("purpose".to_string(), "test".to_string())].into(),
        })
        .await
        .expect("ensure_namespace");
    name
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
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A group that any cluster can run: the representative spec (secret env, config file,
/// resources, ports) without the command and probes of an image that does not exist.
fn group(runtime_namespace: &str, region: &str, zone: Option<&str>) -> GroupSpec {
    let mut spec = common::representative_spec(runtime_namespace, zone);
    spec.image = std::env::var("FERRY_TEST_KUBE_IMAGE")
        .unwrap_or_else(|_| "registry.k8s.io/pause:3.10".into());
    spec.command.clear();
    spec.args.clear();
    spec.readiness = None;
    spec.liveness = None;
    spec.startup = None;
    spec.working_dir = None;
    spec.placement.region = Some(region.into());
    spec.termination_grace = Duration::from_secs(1);
    spec
}

/// The region and two zones of the cluster's ready hosts.
async fn topology(runtime: &KubeRuntime) -> (String, String, String) {
    let hosts = runtime.hosts().await.expect("hosts");
    let ready: Vec<&HostStatus> = hosts
        .iter()
        .filter(|h| h.state == HostState::Ready && !h.region.is_empty() && !h.zone.is_empty())
        .collect();
    let region = ready
        .first()
        .map(|h| h.region.clone())
        .unwrap_or_else(|| panic!("no ready host with region and zone labels: {hosts:#?}"));
    let zones: BTreeSet<String> = ready
        .iter()
        .filter(|h| h.region == region)
        .map(|h| h.zone.clone())
        .collect();
    assert!(
        zones.len() >= 2,
        "the test cluster needs ready hosts in two zones of region {region}: {hosts:#?}"
    );
    let mut zones = zones.into_iter();
    (region, zones.next().unwrap(), zones.next_back().unwrap())
}

async fn live_ready(runtime: &KubeRuntime, namespace: &str, count: usize) -> Vec<InstanceStatus> {
    eventually(
        &format!("{count} running, ready instances in {namespace}"),
        || async {
            let instances = runtime.list_instances(namespace).await.ok()?;
            let live: Vec<InstanceStatus> =
                instances.iter().filter(|i| i.is_live()).cloned().collect();
            (live.len() == count
                && live
                    .iter()
                    .all(|i| i.phase == InstancePhase::Running && i.ready))
            .then_some(live)
        },
    )
    .await
}

#[tokio::test]
async fn namespaces_are_created_labelled_and_deleted() {
    let runtime = runtime().await;
    let name = create_namespace(&runtime, "ns").await;
    // Idempotent.
    create_namespace_again(&runtime, &name).await;
    let namespaces: Api<Namespace> = Api::all(runtime.client().clone());
    let namespace = namespaces.get(&name).await.expect("the namespace exists");
    let namespace_labels = namespace.metadata.labels.unwrap();
    assert_eq!(namespace_labels[labels::MANAGED], "true");
    assert_eq!(namespace_labels[labels::NAMESPACE], "shop-dev");
    assert_eq!(namespace_labels["purpose"], "test");

    runtime.delete_namespace(&name).await.expect("delete");
    // Deleting again (while it terminates, or after) succeeds too.
    runtime.delete_namespace(&name).await.expect("delete again");
    eventually("the namespace to be gone", || async {
        namespaces
            .get_opt(&name)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    runtime
        .delete_namespace(&name)
        .await
        .expect("delete when gone");
    let error = runtime.delete_namespace("Not_A_Name").await.unwrap_err();
    assert!(matches!(error, RuntimeError::Invalid(_)), "{error}");
}

async fn create_namespace_again(runtime: &KubeRuntime, name: &str) {
    runtime
        .ensure_namespace(&NamespaceSpec {
            namespace: "shop-dev".into(),
            runtime_namespace: name.into(),
            labels: [("purpose".to_string(), "test".to_string())].into(),
        })
        .await
        .expect("ensure_namespace again");
}

#[tokio::test]
async fn a_group_runs_scales_heals_and_goes_away() {
    let runtime = runtime().await;
    let (region, _, _) = topology(&runtime).await;
    let namespace = create_namespace(&runtime, "group").await;
    let spec = group(&namespace, &region, None);

    runtime.apply_group(&spec, 3).await.expect("apply 3");
    let replica_sets: Api<ReplicaSet> = Api::namespaced(runtime.client().clone(), &namespace);
    let replica_set = replica_sets.get("web-r3").await.expect("the ReplicaSet");
    assert_eq!(replica_set.spec.replicas, Some(3));
    assert_eq!(
        replica_set.metadata.labels.as_ref().unwrap()["team"],
        "storefront"
    );

    let instances = live_ready(&runtime, &namespace, 3).await;
    let hosts = runtime.hosts().await.expect("hosts");
    for instance in &instances {
        assert_eq!(
            (
                instance.namespace.as_str(),
                instance.deployment.as_str(),
                instance.revision.as_str()
            ),
            ("shop-dev", "web", "r3")
        );
        assert!(
            instance.instance.starts_with("web-r3-"),
            "{}",
            instance.instance
        );
        assert_eq!(instance.instance.len(), "web-r3-".len() + 5);
        assert_eq!(instance.labels[labels::INSTANCE], instance.instance);
        let host = hosts
            .iter()
            .find(|h| h.display_name == instance.host)
            .unwrap_or_else(|| {
                panic!(
                    "{} runs on an unknown host {}",
                    instance.instance, instance.host
                )
            });
        assert_eq!(
            (instance.region.as_str(), instance.zone.as_str()),
            (host.region.as_str(), host.zone.as_str())
        );
        assert_eq!(instance.region, region);
        assert!(instance.ip.is_some(), "{instance:?}");
        assert!(instance.started_at.is_some());
        assert_eq!(instance.ports.len(), 2);
    }
    // Each host counts at least this group's instances on it (other tests may add more).
    let per_host = runtime.hosts().await.unwrap();
    for host in &per_host {
        let ours = instances
            .iter()
            .filter(|i| i.host == host.display_name)
            .count();
        assert!(host.instance_count as usize >= ours, "{host:?}");
    }

    // Applying the same again changes nothing (server-side apply of the same object: the
    // spec's generation stays; only the controller's status writes move the version).
    let before = replica_sets.get("web-r3").await.unwrap();
    let status = runtime.apply_group(&spec, 3).await.expect("apply again");
    assert_eq!(status.live().count(), 3);
    let after = replica_sets.get("web-r3").await.unwrap();
    assert_eq!(after.metadata.generation, before.metadata.generation);
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );

    // The secret env value lives in the Secret, owned by the ReplicaSet; pods only refer
    // to it.
    let secrets: Api<Secret> = Api::namespaced(runtime.client().clone(), &namespace);
    let secret = secrets.get("web-r3").await.expect("the group's Secret");
    let data = secret.data.clone().unwrap();
    assert_eq!(data["env.DB_PASSWORD"].0, common::SECRET_VALUE.as_bytes());
    assert_eq!(data["file.0"].0, b"listen = \":8080\"\n");
    let owner = &secret.metadata.owner_references.clone().unwrap()[0];
    assert_eq!(owner.uid, replica_set.metadata.uid.clone().unwrap());
    let pods: Api<Pod> = Api::namespaced(runtime.client().clone(), &namespace);
    for pod in pods.list(&ListParams::default()).await.unwrap() {
        let text = serde_json::to_string(&pod).unwrap();
        assert!(
            !text.contains(common::SECRET_VALUE),
            "a pod holds the secret value"
        );
        let env = pod.spec.unwrap().containers[0].env.clone().unwrap();
        let secret_env = env.iter().find(|e| e.name == "DB_PASSWORD").unwrap();
        assert!(secret_env.value.is_none());
        assert_eq!(
            secret_env
                .value_from
                .as_ref()
                .unwrap()
                .secret_key_ref
                .as_ref()
                .unwrap()
                .name,
            "web-r3"
        );
    }

    assert_eq!(
        runtime.list_groups(&namespace).await.unwrap(),
        [ferry_runtime::GroupRef {
            deployment: "web".into(),
            revision: "r3".into()
        }]
    );

    // Scale down: the ReplicaSet controller removes two.
    runtime.apply_group(&spec, 1).await.expect("apply 1");
    assert_eq!(
        replica_sets.get("web-r3").await.unwrap().spec.replicas,
        Some(1)
    );
    let survivors = live_ready(&runtime, &namespace, 1).await;

    // A deleted instance is replaced by the ReplicaSet controller.
    let victim = survivors[0].instance.clone();
    runtime
        .delete_instance(&namespace, &victim, Duration::from_secs(0))
        .await
        .expect("delete_instance");
    let replacement = eventually("a replacement instance", || async {
        let live = live_ready(&runtime, &namespace, 1).await;
        (live[0].instance != victim).then(|| live[0].clone())
    })
    .await;
    assert_ne!(replacement.instance, victim);
    runtime
        .delete_instance(&namespace, "web-r3-gone0", Duration::from_secs(0))
        .await
        .expect("deleting a missing instance succeeds");

    // No metrics API on a bare control plane: no usage, no error.
    let usage = runtime
        .instance_usage(&namespace, &replacement.instance)
        .await
        .expect("instance_usage");
    if std::env::var_os("FERRY_TEST_KUBE_HAS_METRICS").is_none() {
        assert!(usage.is_none());
    }
    let error = runtime
        .logs(&namespace, "web-r3-nosuch", LogOptions::default())
        .await
        .err()
        .expect("logs of a missing pod fail");
    assert!(matches!(error, RuntimeError::NotFound(_)), "{error}");

    runtime
        .delete_group(&namespace, "web", "r3")
        .await
        .expect("delete_group");
    runtime
        .delete_group(&namespace, "web", "r3")
        .await
        .expect("delete_group again");
    assert!(runtime.list_groups(&namespace).await.unwrap().is_empty());
    eventually("the group's objects and pods to be gone", || async {
        let replica_set = replica_sets.get_opt("web-r3").await.ok()?;
        let secret = secrets.get_opt("web-r3").await.ok()?;
        let left = runtime.list_instances(&namespace).await.ok()?;
        (replica_set.is_none() && secret.is_none() && left.is_empty()).then_some(())
    })
    .await;
    runtime.delete_namespace(&namespace).await.unwrap();
}

#[tokio::test]
async fn zone_affinity_places_pods_in_the_zone_or_nowhere() {
    let runtime = runtime().await;
    let (region, _, zone) = topology(&runtime).await;
    let namespace = create_namespace(&runtime, "zone").await;
    runtime
        .apply_group(&group(&namespace, &region, Some(&zone)), 2)
        .await
        .expect("apply");
    for instance in live_ready(&runtime, &namespace, 2).await {
        assert_eq!(instance.zone, zone, "{instance:?}");
    }

    let mut nowhere = group(&namespace, &region, Some("no-such-zone"));
    nowhere.deployment = "api".into();
    runtime.apply_group(&nowhere, 1).await.expect("apply");
    let pending = eventually("an unschedulable instance", || async {
        let instances = runtime.list_instances(&namespace).await.ok()?;
        instances
            .into_iter()
            .find(|i| i.deployment == "api" && i.reason == "UNSCHEDULABLE")
    })
    .await;
    assert_eq!(pending.phase, InstancePhase::Pending);
    assert!(pending.host.is_empty());
    runtime.delete_namespace(&namespace).await.unwrap();
}

#[tokio::test]
async fn hosts_are_the_nodes_with_their_zones() {
    let runtime = runtime().await;
    let (region, first, second) = topology(&runtime).await;
    let hosts = runtime.hosts().await.unwrap();
    for zone in [&first, &second] {
        let host = hosts
            .iter()
            .find(|h| &h.zone == zone && h.state == HostState::Ready)
            .unwrap();
        assert_eq!(host.region, region);
        assert!(host.cpu_millis > 0 && host.memory_bytes > 0, "{host:?}");
        assert_eq!(host.labels[labels::ZONE], *zone);
        assert!(host.runtime_version.starts_with("kubelet "), "{host:?}");
        assert!(
            !host.os.is_empty() && !host.architecture.is_empty(),
            "{host:?}"
        );
        assert_eq!(host.name, host.display_name.to_lowercase());
    }
    // On the dev control plane: the two kwok nodes, exactly as start.sh made them.
    if hosts.iter().any(|h| h.name == "kwok-z1") {
        let kwok: Vec<(&str, &str, &str)> = hosts
            .iter()
            .filter(|h| h.name.starts_with("kwok-"))
            .map(|h| (h.name.as_str(), h.region.as_str(), h.zone.as_str()))
            .collect();
        assert_eq!(kwok, [("kwok-z1", "r1", "z1"), ("kwok-z2", "r1", "z2")]);
        assert!(
            hosts
                .iter()
                .all(|h| h.cpu_millis == 16_000 && h.memory_bytes == 64 << 30)
        );
    }
}

#[tokio::test]
async fn events_hint_at_pod_changes() {
    let runtime = runtime().await;
    let (region, _, _) = topology(&runtime).await;
    let namespace = create_namespace(&runtime, "events").await;
    let mut events = runtime.events();
    // Let the watches list first: hints are about changes after that.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut spec = group(&namespace, &region, None);
    spec.namespace = format!("ns-{}", &namespace[namespace.len() - 8..]);
    runtime.apply_group(&spec, 1).await.expect("apply");

    let mut seen = Vec::new();
    let instance = tokio::time::timeout(CONVERGE, async {
        loop {
            let event = events.next().await.expect("the event stream never ends");
            if let RuntimeEvent::Instance {
                namespace: hinted_namespace,
                deployment,
                instance,
                action,
            } = &event
                && hinted_namespace == &spec.namespace
            {
                assert_eq!(deployment, "web");
                seen.push(action.clone());
                if action == "health_status: healthy" {
                    return instance.clone();
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no healthy hint within {CONVERGE:?}; saw {seen:?}"));
    assert!(instance.starts_with("web-r3-"));

    runtime
        .delete_instance(&namespace, &instance, Duration::from_secs(0))
        .await
        .unwrap();
    tokio::time::timeout(CONVERGE, async {
        loop {
            if let Some(RuntimeEvent::Instance {
                instance: hinted,
                action,
                ..
            }) = events.next().await
                && hinted == instance
                && (action == "kill" || action == "destroy")
            {
                return;
            }
        }
    })
    .await
    .expect("a kill or destroy hint for the deleted instance");
    runtime.delete_namespace(&namespace).await.unwrap();
}

#[tokio::test]
async fn the_full_manifest_is_accepted_and_bad_ones_are_invalid() {
    let runtime = runtime().await;
    let (region, _, zone) = topology(&runtime).await;
    let namespace = create_namespace(&runtime, "full").await;
    // Every field, probes and command included (kwok runs nothing, so the image need not
    // exist; on a real cluster the pod would fail to pull, which is not checked here).
    let mut spec = common::representative_spec(&namespace, Some(&zone));
    spec.placement.region = Some(region);
    spec.placement.avoid_hosts = vec!["no-such-host".into()];
    runtime.apply_group(&spec, 1).await.expect("apply");
    let replica_sets: Api<ReplicaSet> = Api::namespaced(runtime.client().clone(), &namespace);
    let stored = replica_sets.get("web-r3").await.unwrap();
    let pod_spec = stored.spec.template.unwrap().spec.unwrap();
    let container = &pod_spec.containers[0];
    assert_eq!(
        container
            .readiness_probe
            .as_ref()
            .unwrap()
            .success_threshold,
        Some(2)
    );
    assert!(
        container
            .liveness_probe
            .as_ref()
            .unwrap()
            .tcp_socket
            .is_some()
    );
    assert!(container.startup_probe.as_ref().unwrap().exec.is_some());
    assert_eq!(container.working_dir.as_deref(), Some("/srv"));
    assert_eq!(pod_spec.termination_grace_period_seconds, Some(20));
    assert!(pod_spec.affinity.is_some() && pod_spec.volumes.is_some());

    // What only the API server checks comes back as Invalid, with its message.
    let mut bad_port = spec.clone();
    bad_port.deployment = "bad".into();
    bad_port.ports[0].name = "a-port-name-longer-than-fifteen".into();
    let error = runtime.apply_group(&bad_port, 1).await.unwrap_err();
    assert!(matches!(error, RuntimeError::Invalid(_)), "{error}");
    assert!(error.to_string().contains("bad-r3"), "{error}");
    // What the adapter checks never reaches the server.
    let mut bad_name = spec.clone();
    bad_name.revision = "R3".into();
    let error = runtime.apply_group(&bad_name, 1).await.unwrap_err();
    assert!(matches!(error, RuntimeError::Invalid(_)), "{error}");
    // A namespace that does not exist.
    let mut elsewhere = spec.clone();
    elsewhere.runtime_namespace = unique_namespace("missing");
    let error = runtime.apply_group(&elsewhere, 1).await.unwrap_err();
    assert!(matches!(error, RuntimeError::NotFound(_)), "{error}");
    runtime.delete_namespace(&namespace).await.unwrap();
}

#[tokio::test]
async fn cordoning_a_host_cordons_its_node() {
    let runtime = runtime().await;
    let nodes: Api<Node> = Api::all(runtime.client().clone());
    // A node of its own, Ready but outside every region (no kwok annotation and no
    // topology labels: no other test places pods there), with the capacity of the dev
    // control plane's nodes so that the other tests' host checks hold while it exists.
    let name = unique_namespace("cordon");
    let node: Node = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": { "name": name, "labels": { "type": "ferry-test" } },
        "status": {
            "capacity": { "cpu": "16", "memory": "64Gi", "pods": "110" },
            "allocatable": { "cpu": "16", "memory": "64Gi", "pods": "110" },
            "conditions": [{ "type": "Ready", "status": "True", "reason": "Test" }]
        }
    }))
    .unwrap();
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("create the test node");
    let unschedulable = |node: Node| node.spec.and_then(|s| s.unschedulable).unwrap_or(false);

    runtime.set_host_schedulable(&name, false).await.unwrap();
    assert!(unschedulable(nodes.get(&name).await.unwrap()));
    // Idempotent.
    runtime.set_host_schedulable(&name, false).await.unwrap();
    assert!(unschedulable(nodes.get(&name).await.unwrap()));
    let host = runtime
        .hosts()
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.name == name)
        .expect("the test node is a host");
    assert_eq!(
        (host.state, host.message.as_str()),
        (HostState::NotReady, "the node is cordoned"),
        "{host:?}"
    );

    runtime.set_host_schedulable(&name, true).await.unwrap();
    let node = nodes.get(&name).await.unwrap();
    assert_ne!(
        ferry_runtime_kube::status::host_status(&node, 0).message,
        "the node is cordoned"
    );
    assert!(!unschedulable(node.clone()), "{:?}", node.spec);
    runtime.set_host_schedulable(&name, true).await.unwrap();
    assert!(!unschedulable(nodes.get(&name).await.unwrap()));

    let error = runtime
        .set_host_schedulable("ferry-test-no-such-node", false)
        .await
        .unwrap_err();
    assert!(matches!(error, RuntimeError::NotFound(_)), "{error:?}");
    nodes
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete the test node");
}
