//! The deploy service as real `ferry-deploy` processes driving real Docker engines
//! (`FERRY_TEST_DOCKER_HOST` and `FERRY_TEST_DOCKER_HOST_2`, started by
//! deploy/dev/test.sh):
//! - crash safety: the leader of the deployment controller is SIGKILLed in the middle of a
//!   rolling update, then in the middle of a rollout that must roll back; the other replica
//!   finishes both, and the engine holds exactly the containers of the recorded groups;
//! - placement: a zone affinity puts every instance on the host of that zone;
//! - host loss: the instances of a private engine that stops answering (SIGSTOP) turn
//!   UNKNOWN and are replaced on the other host; when it answers again the surplus goes;
//! - replica consistency: a follower answers ListInstances as the leader does (the leader
//!   records what its runtime adapter observes, probes and drains included, in etcd).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use ferry_e2e::{Launch, ServiceProcess, eventually, unique_prefix};
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{
    ContainerPort, EnvVar, GetOperationRequest, HealthCheck, HttpProbe, LocationAffinity,
    Operation, WaitOperationRequest, env_var, health_check, operation,
};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::instance_service_client::InstanceServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::rollout_service_client::RolloutServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use ferry_store::Store;
use ferry_store::keys::{self, PrefixedStore};
use ferry_store::testsuite::TestEtcd;
use futures::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

/// The election of the deployment controller (`DeploymentReconciler::name`).
const DEPLOYMENTS_CONTROLLER: &str = "deploy-deployments";
/// The kind under which the controller records a deployment's group sizes
/// (services/deploy/src/deployment/mod.rs, `GROUPS`).
const GROUPS_KIND: &str = "deploy/groups";
/// The Docker runtime's container labels (crates/ferry-runtime/src/labels.rs).
const NAMESPACE_LABEL: &str = "ferry.dev/namespace";
const DEPLOYMENT_LABEL: &str = "ferry.dev/deployment";
const REVISION_LABEL: &str = "ferry.dev/revision";

fn docker_host(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!(
            "{variable} is not set: it must name a Docker engine's socket (unix:///…); \
             deploy/dev/test.sh starts two engines and sets FERRY_TEST_DOCKER_HOST and \
             FERRY_TEST_DOCKER_HOST_2"
        )
    })
}

fn docker(endpoint: &str) -> bollard::Docker {
    bollard::Docker::connect_with_unix(
        endpoint.trim_start_matches("unix://"),
        60,
        bollard::API_DEFAULT_VERSION,
    )
    .expect("docker client")
}

/// Imports the echo image into the first engine and copies it (save, load) into the
/// others, so that its id, which deployments name it by, is the same everywhere.
async fn echo_image(endpoints: &[&str]) -> String {
    let tag = ferry_runtime_docker::testing::import_echo_image(endpoints[0], "ferry-e2e/echo:v1")
        .await
        .expect("import the echo image");
    let source = docker(endpoints[0]);
    let id = source
        .inspect_image(&tag)
        .await
        .expect("inspect the echo image")
        .id
        .expect("image id");
    if endpoints.len() > 1 {
        let chunks: Vec<bytes::Bytes> = source
            // By id: a parallel test may move the tag to its own import meanwhile.
            .export_image(&id)
            .try_collect()
            .await
            .expect("save the echo image");
        let archive = bytes::Bytes::from(chunks.concat());
        for endpoint in &endpoints[1..] {
            let target = docker(endpoint);
            target
                .import_image(
                    bollard::query_parameters::ImportImageOptions::default(),
                    bollard::body_full(archive.clone()),
                    None,
                )
                .try_collect::<Vec<_>>()
                .await
                .expect("load the echo image");
            let copied = target.inspect_image(&id).await.expect("the copied image");
            assert_eq!(copied.id.as_deref(), Some(id.as_str()));
        }
    }
    id
}

/// A namespace id unique to this run (the engines are shared by parallel tests).
fn unique_namespace(label: &str) -> String {
    format!(
        "e2e-{label}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Removes what a namespace left on the engines (containers, network) when the test
/// ends, also when it fails; declare it before the service processes so that they are
/// stopped first.
struct Leftovers {
    endpoints: Vec<String>,
    namespace: String,
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        for endpoint in &self.endpoints {
            let script = format!(
                "ids=$(timeout 20 docker -H '{endpoint}' ps -aq --filter label={NAMESPACE_LABEL}={ns}); \
                 [ -z \"$ids\" ] || timeout 60 docker -H '{endpoint}' rm -f $ids; \
                 timeout 20 docker -H '{endpoint}' network rm '{ns}'",
                ns = self.namespace
            );
            let _ = Command::new("bash")
                .arg("-c")
                .arg(script)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// A private Docker engine (deploy/dev/lib.sh `start_dockerd`), stopped with its
/// containers on drop.
struct PrivateEngine {
    dir: PathBuf,
    pid: i32,
    socket: String,
}

fn lib_sh() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/dev/lib.sh")
}

impl PrivateEngine {
    fn start(pool: u8) -> Self {
        let dir = std::env::temp_dir().join(format!("ferry-e2e-dockerd-{}", std::process::id()));
        let output = Command::new("bash")
            .arg("-c")
            .arg(format!(
                ". '{}' && start_dockerd '{}' {pool} && echo \"$DOCKERD_PID $DOCKER_SOCKET\"",
                lib_sh().display(),
                dir.display()
            ))
            .output()
            .expect("run bash");
        assert!(
            output.status.success(),
            "start_dockerd failed (is docker.io installed?): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let (pid, socket) = stdout.trim().split_once(' ').expect("pid and socket");
        Self {
            dir,
            pid: pid.parse().expect("dockerd pid"),
            socket: socket.to_string(),
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {}", self.pid);
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!(
                ". '{}' && stop_dockerd '{}'",
                lib_sh().display(),
                self.dir.display()
            ))
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn seconds(value: f64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: value.trunc() as i64,
        nanos: (value.fract() * 1e9) as i32,
    }
}

fn template(image: &str, version: &str) -> DeploymentTemplate {
    DeploymentTemplate {
        image_source: Some(deployment_template::ImageSource::ImageUri(
            image.to_string(),
        )),
        env: vec![EnvVar {
            name: "VERSION".into(),
            source: Some(env_var::Source::Value(version.into())),
        }],
        ports: vec![ContainerPort {
            name: "http".into(),
            port: 8080,
            protocol: 0,
        }],
        readiness_check: Some(HealthCheck {
            probe: Some(health_check::Probe::Http(HttpProbe {
                path: "/healthz".into(),
                port: 8080,
                ..Default::default()
            })),
            period: Some(seconds(0.2)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates a namespace (retrying while the service warms up) and waits until it is
/// ACTIVE.
async fn create_namespace(channel: &Channel, namespace_id: &str) {
    let mut namespaces = NamespaceServiceClient::new(channel.clone());
    for attempt in 0.. {
        match namespaces
            .create_namespace(CreateNamespaceRequest {
                namespace_id: namespace_id.to_string(),
                namespace: Some(Namespace::default()),
                ..Default::default()
            })
            .await
        {
            Ok(_) => break,
            Err(status) if attempt < 100 && status.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("create namespace {namespace_id}: {status:?}"),
        }
    }
    let active = eventually(Duration::from_secs(30), || {
        let mut namespaces = namespaces.clone();
        async move {
            namespaces
                .get_namespace(GetNamespaceRequest {
                    name: format!("namespaces/{namespace_id}"),
                })
                .await
                .is_ok_and(|n| n.into_inner().state() == namespace::State::Active)
        }
    })
    .await;
    assert!(
        active.is_some(),
        "namespace {namespace_id} never became ACTIVE"
    );
}

/// Deletes a namespace with everything in it and waits for the operation.
async fn delete_namespace(channel: &Channel, namespace_id: &str) {
    let operation = NamespaceServiceClient::new(channel.clone())
        .delete_namespace(DeleteNamespaceRequest {
            name: format!("namespaces/{namespace_id}"),
            force: true,
            ..Default::default()
        })
        .await
        .expect("delete the namespace")
        .into_inner();
    let done = wait_operation(channel, operation, Duration::from_secs(60)).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
}

/// Waits for an operation to end (WaitOperation, 1 s at a time).
async fn wait_operation(
    channel: &Channel,
    mut operation: Operation,
    timeout: Duration,
) -> Operation {
    let mut operations = OperationsServiceClient::new(channel.clone());
    let deadline = Instant::now() + timeout;
    while !operation.done {
        assert!(
            Instant::now() < deadline,
            "operation {} did not end within {timeout:?}: {operation:?}",
            operation.name
        );
        operation = operations
            .wait_operation(WaitOperationRequest {
                name: operation.name.clone(),
                timeout: Some(seconds(1.0)),
            })
            .await
            .expect("wait for the operation")
            .into_inner();
    }
    operation
}

async fn get_operation(channel: &Channel, name: &str) -> Operation {
    OperationsServiceClient::new(channel.clone())
        .get_operation(GetOperationRequest {
            name: name.to_string(),
        })
        .await
        .expect("get the operation")
        .into_inner()
}

async fn create_deployment(
    channel: &Channel,
    namespace_id: &str,
    deployment_id: &str,
    deployment: Deployment,
) -> String {
    let created = DeploymentServiceClient::new(channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{namespace_id}"),
            deployment_id: deployment_id.to_string(),
            deployment: Some(deployment),
            ..Default::default()
        })
        .await
        .expect("create the deployment")
        .into_inner();
    let done = wait_operation(channel, created, Duration::from_secs(90)).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    format!("namespaces/{namespace_id}/deployments/{deployment_id}")
}

async fn update_template(channel: &Channel, name: &str, template: DeploymentTemplate) -> Operation {
    DeploymentServiceClient::new(channel.clone())
        .update_deployment(UpdateDeploymentRequest {
            deployment: Some(Deployment {
                name: name.to_string(),
                template: Some(template),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["template".into()],
            }),
            ..Default::default()
        })
        .await
        .expect("update the deployment")
        .into_inner()
}

async fn instances(channel: &Channel, deployment: &str) -> Vec<Instance> {
    InstanceServiceClient::new(channel.clone())
        .list_instances(ListInstancesRequest {
            parent: deployment.to_string(),
            ..Default::default()
        })
        .await
        .expect("list instances")
        .into_inner()
        .instances
}

fn ready(instances: &[Instance]) -> Vec<&Instance> {
    instances
        .iter()
        .filter(|i| i.state() == instance::State::Ready)
        .collect()
}

fn summary(instances: &[Instance]) -> String {
    instances
        .iter()
        .map(|i| {
            format!(
                "{} {:?} {} {} {}",
                i.display_name,
                i.state(),
                i.revision.rsplit('/').next().unwrap_or_default(),
                i.host,
                i.state_reason
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

async fn http_get(port: i32, path: &str) -> Result<String, std::io::Error> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port as u16)).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body)
}

/// The containers of a deployment on an engine: (name, revision, state), sorted.
async fn containers(
    docker: &bollard::Docker,
    namespace_id: &str,
    deployment_id: &str,
) -> Vec<(String, String, String)> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![
            format!("{NAMESPACE_LABEL}={namespace_id}"),
            format!("{DEPLOYMENT_LABEL}={deployment_id}"),
        ],
    )]);
    let mut out: Vec<(String, String, String)> = docker
        .list_containers(Some(bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .expect("list containers")
        .into_iter()
        .map(|c| {
            let revision = c
                .labels
                .as_ref()
                .and_then(|l| l.get(REVISION_LABEL).cloned())
                .unwrap_or_default();
            let name = c
                .names
                .unwrap_or_default()
                .first()
                .cloned()
                .unwrap_or_default();
            let state = c.state.map(|s| s.to_string()).unwrap_or_default();
            (name, revision, state)
        })
        .collect();
    out.sort();
    out
}

/// The controller's record of a deployment's group sizes (revision id → size).
async fn recorded_groups(store: &dyn Store, deployment: &str) -> BTreeMap<String, u64> {
    let Some(kv) = store
        .get(&keys::resource(GROUPS_KIND, deployment))
        .await
        .expect("read the group record")
    else {
        return BTreeMap::new();
    };
    let record: serde_json::Value = serde_json::from_slice(&kv.value).expect("group record JSON");
    record["groups"]
        .as_object()
        .map(|groups| {
            groups
                .iter()
                .map(|(revision, size)| (revision.clone(), size.as_u64().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the engine holds exactly the running containers the record names.
fn matches_record(containers: &[(String, String, String)], record: &BTreeMap<String, u64>) -> bool {
    let mut running: BTreeMap<String, u64> = BTreeMap::new();
    for (_, revision, state) in containers {
        if state != "running" {
            return false;
        }
        *running.entry(revision.clone()).or_default() += 1;
    }
    &running == record
}

/// The instance id of the leader of `election` (waiting up to 10 s for one).
async fn leader_of(store: &dyn Store, election: &str) -> String {
    let key = keys::sys::leader(election);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(kv) = store.get(&key).await.expect("read the leader key") {
            return String::from_utf8(kv.value).expect("leader id");
        }
        assert!(
            Instant::now() < deadline,
            "no leader of {election} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until some instance of `revision` exists; returns how long it took.
async fn wait_for_instance_of(channel: &Channel, deployment: &str, revision: &str) -> Duration {
    let suffix = format!("/revisions/{revision}");
    eventually(Duration::from_secs(30), || async {
        instances(channel, deployment)
            .await
            .iter()
            .any(|i| i.revision.ends_with(&suffix))
    })
    .await
    .unwrap_or_else(|| panic!("no instance of {revision} within 30 s"))
}

/// SIGKILLs whichever of `replicas` leads the deployment controller and takes it out of
/// `replicas`; returns it.
async fn kill_the_leader(store: &dyn Store, replicas: &mut Vec<ServiceProcess>) -> ServiceProcess {
    let leader_id = leader_of(store, DEPLOYMENTS_CONTROLLER).await;
    let index = replicas
        .iter()
        .position(|r| r.instance_id == leader_id)
        .unwrap_or_else(|| panic!("the leader {leader_id} is none of the replicas"));
    let mut leader = replicas.remove(index);
    leader.signal("KILL");
    leader.wait_exit(Duration::from_secs(10));
    leader
}

/// Waits until the engine holds exactly what the deployment's record names, all of
/// `revision`; returns how long it took.
async fn wait_no_orphan(
    store: &dyn Store,
    docker: &bollard::Docker,
    namespace_id: &str,
    deployment: &str,
    revision: &str,
    replicas: u64,
) -> Duration {
    let deployment_id = deployment.rsplit('/').next().unwrap_or_default();
    let expected = BTreeMap::from([(revision.to_string(), replicas)]);
    let settled = eventually(Duration::from_secs(30), || async {
        let record = recorded_groups(store, deployment).await;
        record == expected
            && matches_record(
                &containers(docker, namespace_id, deployment_id).await,
                &record,
            )
    })
    .await;
    match settled {
        Some(took) => took,
        None => panic!(
            "the engine does not hold exactly the recorded groups 30 s after the rollout \
             ended: record {:?} (expected {expected:?}), containers {:?}",
            recorded_groups(store, deployment).await,
            containers(docker, namespace_id, deployment_id).await
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_leader_mid_rollout_is_replaced_and_leaves_no_orphan() {
    let endpoint = docker_host("FERRY_TEST_DOCKER_HOST");
    let image = echo_image(&[&endpoint]).await;
    let engine = docker(&endpoint);
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("deploy-docker-crash");
    let store = PrefixedStore::new(etcd.store().await, prefix.clone());
    let ns = unique_namespace("crash");
    let _leftovers = Leftovers {
        endpoints: vec![endpoint.clone()],
        namespace: ns.clone(),
    };
    let launch = Launch::new(&etcd, &prefix);
    let ttl = launch.lease_ttl;
    let engines = format!("a={endpoint}@r1/z1");
    let env = [("FERRY_DOCKER_ENGINES", engines.as_str())];
    let mut replicas = vec![
        ServiceProcess::start_with_env("deploy", &launch, &env).await,
        ServiceProcess::start_with_env("deploy", &launch, &env).await,
    ];
    let channel = replicas[0].channel().await;
    create_namespace(&channel, &ns).await;

    // v1: 3 instances; every new instance must stay ready 2 s to count, so that a
    // rollout of 3 takes several seconds.
    let started = Instant::now();
    let name = create_deployment(
        &channel,
        &ns,
        "echo",
        Deployment {
            template: Some(template(&image, "v1")),
            replicas: Some(3),
            strategy: Some(RolloutStrategy {
                min_ready_duration: Some(seconds(2.0)),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await;
    println!(
        "crash: 3 instances of v1 created in {:?}",
        started.elapsed()
    );
    let now = instances(&channel, &name).await;
    assert_eq!(ready(&now).len(), 3, "{}", summary(&now));

    // Scenario 1: rolling update to v2; the leader is killed once the first new instance
    // exists and the record has shrunk r1 (its first old instance drains for 2 s: the
    // kill interrupts that drain).
    let rollout_started = Instant::now();
    let update = update_template(&channel, &name, template(&image, "v2")).await;
    let first_new = wait_for_instance_of(&channel, &name, "r2").await;
    let shrunk = eventually(Duration::from_secs(30), || async {
        recorded_groups(&store, &name)
            .await
            .get("r1")
            .is_some_and(|size| *size < 3)
    })
    .await
    .expect("the record never shrank r1 below 3");
    assert!(
        !get_operation(&channel, &update.name).await.done,
        "the rollout ended before the kill: the test would not test a failover"
    );
    let killed = kill_the_leader(&store, &mut replicas).await;
    let killed_at = Instant::now();
    println!(
        "crash: first r2 instance after {first_new:?}, r1 shrunk after {:?}; leader {} \
         SIGKILLed; r1 containers still running: {}",
        first_new + shrunk,
        killed.instance_id,
        containers(&engine, &ns, "echo")
            .await
            .iter()
            .filter(|(_, revision, state)| revision == "r1" && state == "running")
            .count()
    );
    let survivor = replicas.pop().expect("the other replica");
    let channel = survivor.channel().await;
    let done = wait_operation(&channel, update, Duration::from_secs(120)).await;
    let finished_after_kill = killed_at.elapsed();
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "the rollout to v2 did not succeed after the failover: {done:?}\nsurvivor log:\n{}",
        survivor.log_text()
    );
    assert_eq!(
        leader_of(&store, DEPLOYMENTS_CONTROLLER).await,
        survivor.instance_id
    );
    println!(
        "crash: rollout to v2 took {:?} in all, finished {finished_after_kill:?} after the \
         SIGKILL (lease TTL {ttl:?})",
        rollout_started.elapsed()
    );
    let now = instances(&channel, &name).await;
    let now_ready = ready(&now);
    assert_eq!(now_ready.len(), 3, "{}", summary(&now));
    for instance in &now_ready {
        assert!(
            instance.revision.ends_with("/revisions/r2"),
            "{}",
            summary(&now)
        );
        let body = http_get(instance.ports[0].host_port, "/env/VERSION")
            .await
            .expect("call the instance");
        assert!(body.ends_with("v2"), "{body}");
    }
    // No orphan: the last r1 instance drains for 2 s, then nothing but the recorded
    // groups remains on the engine.
    let settled = wait_no_orphan(&store, &engine, &ns, &name, "r2", 3).await;
    println!("crash: engine holds exactly the recorded r2 group {settled:?} after the rollout");

    // Scenario 2: v3 crashes at start, so its rollout must roll back; a fresh replica
    // joins, and whichever leads is killed once the first r3 instance exists.
    replicas.push(survivor);
    replicas.push(ServiceProcess::start_with_env("deploy", &launch, &env).await);
    let mut crashing = template(&image, "v3");
    crashing.env.push(EnvVar {
        name: "CRASH".into(),
        source: Some(env_var::Source::Value("1".into())),
    });
    let rollout_started = Instant::now();
    let update = update_template(&channel, &name, crashing).await;
    wait_for_instance_of(&channel, &name, "r3").await;
    assert!(
        !get_operation(&channel, &update.name).await.done,
        "the rollout ended before the kill: the test would not test a failover"
    );
    let killed = kill_the_leader(&store, &mut replicas).await;
    let killed_at = Instant::now();
    println!(
        "crash: leader {} SIGKILLed during the v3 rollout",
        killed.instance_id
    );
    let survivor = replicas.pop().expect("the other replica");
    let channel = survivor.channel().await;
    let done = wait_operation(&channel, update, Duration::from_secs(120)).await;
    let Some(operation::Result::Error(error)) = &done.result else {
        panic!("the crashing rollout succeeded: {done:?}");
    };
    assert!(error.message.contains("rolled back"), "{error:?}");
    println!(
        "crash: crashing v3 rolled back in {:?}, {:?} after the SIGKILL",
        rollout_started.elapsed(),
        killed_at.elapsed()
    );
    let rollout = RolloutServiceClient::new(channel.clone())
        .get_rollout(GetRolloutRequest {
            name: format!("{name}/rollouts/r3"),
        })
        .await
        .expect("get the v3 rollout")
        .into_inner();
    assert_eq!(rollout.state(), rollout::State::RolledBack, "{rollout:?}");
    let deployment = DeploymentServiceClient::new(channel.clone())
        .get_deployment(GetDeploymentRequest { name: name.clone() })
        .await
        .expect("get the deployment")
        .into_inner();
    assert_eq!(deployment.current_revision, format!("{name}/revisions/r2"));
    let all_ready = eventually(Duration::from_secs(30), || async {
        let now = instances(&channel, &name).await;
        now.len() == 3
            && ready(&now).len() == 3
            && now.iter().all(|i| i.revision.ends_with("/revisions/r2"))
    })
    .await;
    assert!(
        all_ready.is_some(),
        "not 3 ready r2 instances after the rollback: {}",
        summary(&instances(&channel, &name).await)
    );
    let settled = wait_no_orphan(&store, &engine, &ns, &name, "r2", 3).await;
    println!("crash: engine holds exactly the recorded r2 group {settled:?} after the rollback");

    delete_namespace(&channel, &ns).await;
    assert!(containers(&engine, &ns, "echo").await.is_empty());
    survivor.assert_no_error_logs();
    store.delete_prefix("").await.expect("clean the prefix");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zone_affinity_places_every_instance_in_that_zone() {
    let first = docker_host("FERRY_TEST_DOCKER_HOST");
    let second = docker_host("FERRY_TEST_DOCKER_HOST_2");
    let image = echo_image(&[&first, &second]).await;
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("deploy-docker-zones");
    let ns = unique_namespace("zones");
    let _leftovers = Leftovers {
        endpoints: vec![first.clone(), second.clone()],
        namespace: ns.clone(),
    };
    let engines = format!("a={first}@r1/z1,b={second}@r1/z2");
    let deploy = ServiceProcess::start_with_env(
        "deploy",
        &Launch::new(&etcd, &prefix),
        &[("FERRY_DOCKER_ENGINES", engines.as_str())],
    )
    .await;
    let channel = deploy.channel().await;
    create_namespace(&channel, &ns).await;

    for (deployment_id, zone, host) in [("in-z2", "z2", "hosts/b"), ("in-z1", "z1", "hosts/a")] {
        let mut template = template(&image, "v1");
        template.location_affinity = Some(LocationAffinity {
            region: "r1".into(),
            zone: zone.into(),
        });
        let started = Instant::now();
        let name = create_deployment(
            &channel,
            &ns,
            deployment_id,
            Deployment {
                template: Some(template),
                replicas: Some(3),
                ..Default::default()
            },
        )
        .await;
        println!(
            "zones: 3 instances with affinity r1/{zone} ready in {:?}",
            started.elapsed()
        );
        let now = instances(&channel, &name).await;
        assert_eq!(ready(&now).len(), 3, "{}", summary(&now));
        assert!(
            now.iter()
                .all(|i| i.host == host && i.zone == zone && i.region == "r1"),
            "every instance must be on {host} in r1/{zone}: {}",
            summary(&now)
        );
    }

    delete_namespace(&channel, &ns).await;
    deploy.assert_no_error_logs();
    PrefixedStore::new(etcd.store().await, prefix)
        .delete_prefix("")
        .await
        .expect("clean the prefix");
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_of_a_lost_host_are_replaced_and_the_surplus_goes_when_it_returns() {
    let first = docker_host("FERRY_TEST_DOCKER_HOST");
    let ns = unique_namespace("hostloss");
    let _leftovers = Leftovers {
        endpoints: vec![first.clone()],
        namespace: ns.clone(),
    };
    let private = PrivateEngine::start(9);
    let image = echo_image(&[&first, &private.socket]).await;
    let (engine_a, engine_p) = (docker(&first), docker(&private.socket));
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("deploy-docker-hostloss");
    let engines = format!("a={first}@r1/z1,p={}@r1/z2", private.socket);
    let deploy = ServiceProcess::start_with_env(
        "deploy",
        &Launch::new(&etcd, &prefix),
        &[("FERRY_DOCKER_ENGINES", engines.as_str())],
    )
    .await;
    let channel = deploy.channel().await;
    create_namespace(&channel, &ns).await;
    let name = create_deployment(
        &channel,
        &ns,
        "spread",
        Deployment {
            template: Some(template(&image, "v1")),
            replicas: Some(2),
            ..Default::default()
        },
    )
    .await;
    let now = instances(&channel, &name).await;
    assert_eq!(ready(&now).len(), 2, "{}", summary(&now));
    // Placement takes the least loaded engine: the private one is empty while the
    // shared one runs other tests' containers, so at least one instance lands there.
    let lost: Vec<String> = now
        .iter()
        .filter(|i| i.host == "hosts/p")
        .map(|i| i.display_name.clone())
        .collect();
    assert!(
        !lost.is_empty(),
        "no instance on the private engine: {}",
        summary(&now)
    );
    println!("host loss: placed {}", summary(&now));

    // The engine stops answering: its instance turns UNKNOWN and a replacement comes up
    // READY on a.
    private.signal("STOP");
    let stopped_at = Instant::now();
    let unknown = eventually(Duration::from_secs(30), || async {
        let now = instances(&channel, &name).await;
        lost.iter().all(|lost| {
            now.iter().any(|i| {
                &i.display_name == lost
                    && i.state() == instance::State::Unknown
                    && i.state_reason == "HOST_UNREACHABLE"
            })
        })
    })
    .await;
    assert!(
        unknown.is_some(),
        "the instances of the stopped engine are not UNKNOWN: {}",
        summary(&instances(&channel, &name).await)
    );
    // Reads from an engine give up after 3 s, writes after 30 s (a SIGSTOP can catch a
    // create in flight); other deployments are reconciled meanwhile.
    let replaced = eventually(Duration::from_secs(90), || async {
        let now = instances(&channel, &name).await;
        let ready_on_a = ready(&now).iter().filter(|i| i.host == "hosts/a").count();
        ready_on_a == 2
    })
    .await;
    assert!(
        replaced.is_some(),
        "no replacement READY on a within 90 s of the host loss: {}\nlog:\n{}",
        summary(&instances(&channel, &name).await),
        deploy.log_text()
    );
    println!(
        "host loss: instances of p UNKNOWN after {:?}, replacements READY on a after {:?}",
        unknown.unwrap_or_default(),
        stopped_at.elapsed()
    );
    let now = instances(&channel, &name).await;
    assert!(
        now.iter()
            .filter(|i| lost.contains(&i.display_name))
            .all(|i| i.state() == instance::State::Unknown),
        "{}",
        summary(&now)
    );

    // It answers again: the deployment goes back to 2 instances.
    private.signal("CONT");
    let continued_at = Instant::now();
    let back_to_two = eventually(Duration::from_secs(60), || async {
        let now = instances(&channel, &name).await;
        let on_engines = containers(&engine_a, &ns, "spread").await.len()
            + containers(&engine_p, &ns, "spread").await.len();
        now.len() == 2 && ready(&now).len() == 2 && on_engines == 2
    })
    .await;
    assert!(
        back_to_two.is_some(),
        "the surplus was not removed within 60 s of the engine answering again: {}; \
         containers on a {:?}, on p {:?}",
        summary(&instances(&channel, &name).await),
        containers(&engine_a, &ns, "spread").await,
        containers(&engine_p, &ns, "spread").await
    );
    println!(
        "host loss: surplus removed {:?} after the engine answered again: {}",
        continued_at.elapsed(),
        summary(&instances(&channel, &name).await)
    );

    delete_namespace(&channel, &ns).await;
    deploy.assert_no_error_logs();
    PrefixedStore::new(etcd.store().await, prefix)
        .delete_prefix("")
        .await
        .expect("clean the prefix");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_replica_reports_the_instance_states_the_leader_sees() {
    let endpoint = docker_host("FERRY_TEST_DOCKER_HOST");
    let image = echo_image(&[&endpoint]).await;
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("deploy-docker-views");
    let store = PrefixedStore::new(etcd.store().await, prefix.clone());
    let ns = unique_namespace("views");
    let _leftovers = Leftovers {
        endpoints: vec![endpoint.clone()],
        namespace: ns.clone(),
    };
    let launch = Launch::new(&etcd, &prefix);
    let engines = format!("a={endpoint}@r1/z1");
    let env = [("FERRY_DOCKER_ENGINES", engines.as_str())];
    let mut replicas = vec![
        ServiceProcess::start_with_env("deploy", &launch, &env).await,
        ServiceProcess::start_with_env("deploy", &launch, &env).await,
    ];
    let leader_id = leader_of(&store, DEPLOYMENTS_CONTROLLER).await;
    let leader_index = replicas
        .iter()
        .position(|r| r.instance_id == leader_id)
        .expect("one replica leads");
    let leader = replicas.remove(leader_index);
    let follower = replicas.pop().expect("the other replica");
    let (leader_channel, follower_channel) = (leader.channel().await, follower.channel().await);
    create_namespace(&leader_channel, &ns).await;
    let name = create_deployment(
        &leader_channel,
        &ns,
        "echo",
        Deployment {
            template: Some(template(&image, "v1")),
            replicas: Some(2),
            ..Default::default()
        },
    )
    .await;
    let states = |instances: Vec<Instance>| -> Vec<(String, instance::State)> {
        instances
            .into_iter()
            .map(|i| (i.display_name.clone(), i.state()))
            .collect()
    };
    let on_leader = states(instances(&leader_channel, &name).await);
    assert!(
        on_leader.iter().all(|(_, s)| *s == instance::State::Ready),
        "{on_leader:?}"
    );
    let mut problems = Vec::new();

    // Readiness (the leader's probers) and drains live in the leader's adapter; the
    // follower answers from what the leader recorded in etcd.
    let on_follower = states(instances(&follower_channel, &name).await);
    if on_follower != on_leader {
        problems.push(format!(
            "first ListInstances on the follower {on_follower:?} differs from the leader's \
             {on_leader:?}"
        ));
    }

    // An instance that the leader drains (unready, about to be stopped) shows so on the
    // follower too. Scale 2 → 1: the leader drains one.
    let scale = DeploymentServiceClient::new(leader_channel.clone())
        .scale_deployment(ScaleDeploymentRequest {
            name: name.clone(),
            replicas: 1,
            ..Default::default()
        })
        .await
        .expect("scale the deployment")
        .into_inner();
    let mut draining_seen = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let on_leader = instances(&leader_channel, &name).await;
        let on_follower = instances(&follower_channel, &name).await;
        let draining: Vec<&Instance> = on_leader
            .iter()
            .filter(|i| i.state() == instance::State::Terminating)
            .collect();
        if let Some(drained) = draining.first() {
            draining_seen = true;
            if let Some(seen) = on_follower
                .iter()
                .find(|i| i.display_name == drained.display_name)
                && seen.state() == instance::State::Ready
            {
                problems.push(format!(
                    "{} drains on the leader ({}) but is READY on the follower",
                    drained.display_name, drained.state_reason
                ));
                break;
            }
        } else if draining_seen || on_leader.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = wait_operation(&leader_channel, scale, Duration::from_secs(60)).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    assert!(
        draining_seen,
        "the leader never showed the removed instance TERMINATING (drain)"
    );
    delete_namespace(&leader_channel, &ns).await;
    store.delete_prefix("").await.expect("clean the prefix");
    assert!(
        problems.is_empty(),
        "the replicas disagree on instance states:\n{}",
        problems.join("\n")
    );
}
