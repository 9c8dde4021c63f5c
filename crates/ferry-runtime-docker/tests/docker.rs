//! The Docker adapter against real engines: `FERRY_TEST_DOCKER_HOST` (and
//! `FERRY_TEST_DOCKER_HOST_2` for the two-zone test) name their unix sockets;
//! `deploy/dev/test.sh` starts both. The tests fail when they are not set.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    DownloadFromContainerOptions, InspectContainerOptions, KillContainerOptions,
};
use bollard::{ClientVersion, Docker};
use bytes::Bytes;
use ferry_runtime::{
    ConfigFile, EnvValue, EnvVar, GroupSpec, HostState, InstancePhase, InstanceStatus, LogOptions,
    NamespaceSpec, Placement, PortSpec, Probe, ProbeAction, Runtime, RuntimeEvent, Transport,
};
use ferry_runtime_docker::testing::import_echo_image;
use ferry_runtime_docker::{DockerRuntime, EngineConfig, container_name};
use futures::StreamExt;

const IMAGE_TAG: &str = "ferry-echo:test";

fn docker_host(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{variable} is not set: these tests need a real Docker engine (a unix:// URL of its \
             socket); deploy/dev/test.sh starts two engines and sets FERRY_TEST_DOCKER_HOST and \
             FERRY_TEST_DOCKER_HOST_2"
        ),
    }
}

fn engine(host: &str, endpoint: &str, zone: &str) -> EngineConfig {
    EngineConfig {
        host: host.into(),
        endpoint: endpoint.into(),
        region: "local".into(),
        zone: zone.into(),
    }
}

/// A runtime over the first test engine, with the echo image imported there.
async fn one_engine() -> (DockerRuntime, String, String) {
    let endpoint = docker_host("FERRY_TEST_DOCKER_HOST");
    let image = import_echo_image(&endpoint, IMAGE_TAG)
        .await
        .expect("import the echo image");
    let runtime =
        DockerRuntime::new("docker-test", vec![engine("a", &endpoint, "zone-a")]).unwrap();
    (runtime, endpoint, image)
}

fn client(endpoint: &str) -> Docker {
    Docker::connect_with_unix(
        endpoint,
        120,
        &ClientVersion {
            major_version: 1,
            minor_version: 41,
        },
    )
    .unwrap()
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "ft-{prefix}-{:x}{:x}",
        std::process::id() % 4096,
        nanos % 65536
    )
}

async fn namespace(runtime: &DockerRuntime, prefix: &str) -> String {
    let rns = unique(prefix);
    runtime
        .ensure_namespace(&NamespaceSpec {
            namespace: rns.clone(),
            runtime_namespace: rns.clone(),
            labels: BTreeMap::from([("team".to_string(), "tests".to_string())]),
        })
        .await
        .expect("ensure namespace");
    rns
}

fn http_probe(period_ms: u64, failures: u32) -> Probe {
    Probe {
        action: ProbeAction::Http {
            port: 8080,
            path: "/healthz".into(),
            headers: vec![],
        },
        initial_delay: Duration::ZERO,
        period: Duration::from_millis(period_ms),
        timeout: Duration::from_secs(1),
        success_threshold: 1,
        failure_threshold: failures,
    }
}

fn spec(rns: &str, deployment: &str, image: &str, env: &[(&str, &str)]) -> GroupSpec {
    GroupSpec {
        namespace: rns.into(),
        runtime_namespace: rns.into(),
        deployment: deployment.into(),
        revision: "r1".into(),
        image: image.into(),
        env: env
            .iter()
            .map(|(name, value)| EnvVar {
                name: name.to_string(),
                value: EnvValue::Plain(value.to_string()),
            })
            .collect(),
        ports: vec![PortSpec {
            name: "http".into(),
            container_port: 8080,
            protocol: Transport::Tcp,
            publish: true,
        }],
        aliases: vec![deployment.into()],
        termination_grace: Duration::from_secs(2),
        ..Default::default()
    }
}

/// Polls `check` until it returns `Some`, failing with `what` after `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn http_get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {address}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn published(instance: &InstanceStatus) -> SocketAddr {
    let port = instance
        .ports
        .iter()
        .find(|p| p.container_port == 8080)
        .expect("port 8080 listed");
    SocketAddr::new(
        port.host_address.expect("published address"),
        port.host_port.expect("published port"),
    )
}

fn live(instances: &[InstanceStatus], deployment: &str) -> Vec<InstanceStatus> {
    instances
        .iter()
        .filter(|i| i.deployment == deployment && i.is_live())
        .cloned()
        .collect()
}

async fn ready_instances(
    runtime: &DockerRuntime,
    rns: &str,
    deployment: &str,
    count: usize,
) -> Vec<InstanceStatus> {
    eventually(
        Duration::from_secs(30),
        &format!("{count} ready instances of {deployment}"),
        || async {
            let instances = runtime.list_instances(rns).await.ok()?;
            let ready: Vec<_> = live(&instances, deployment)
                .into_iter()
                .filter(|i| i.phase == InstancePhase::Running && i.ready)
                .collect();
            (ready.len() == count && live(&instances, deployment).len() == count).then_some(ready)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_runs_ready_instances_with_env_ports_aliases_and_files() {
    let (runtime, endpoint, image) = one_engine().await;
    let rns = namespace(&runtime, "group").await;
    let mut group = spec(
        &rns,
        "web",
        &image,
        &[("VERSION", "v1"), ("GREETING", "hello")],
    );
    group.env.push(EnvVar {
        name: "TOKEN".into(),
        value: EnvValue::Secret {
            secret: "api".into(),
            key: "token".into(),
            value: "s3cret-value".into(),
        },
    });
    group.readiness = Some(http_probe(300, 2));
    group.config_files.push(ConfigFile {
        path: "/etc/echo/app.conf".into(),
        content: Bytes::from_static(b"answer=42\n"),
        mode: 0o640,
    });
    assert!(
        !format!("{group:?}").contains("s3cret-value"),
        "secret in Debug output"
    );

    let status = runtime.apply_group(&group, 3).await.expect("apply");
    assert_eq!(status.live().count(), 3, "{status:#?}");
    let ready = ready_instances(&runtime, &rns, "web", 3).await;
    let docker = client(&endpoint);
    for instance in &ready {
        assert!(
            instance.instance.starts_with("web-r1-"),
            "{}",
            instance.instance
        );
        assert_eq!(
            instance.display_name,
            container_name(&rns, &instance.instance)
        );
        assert_eq!(
            (instance.host.as_str(), instance.zone.as_str()),
            ("a", "zone-a")
        );
        assert!(
            instance.ip.is_some()
                && instance.started_at.is_some()
                && instance.ready_since.is_some()
        );
        let address = published(instance);
        assert!(address.ip().is_loopback());
        let (code, body) = http_get(address, "/env/GREETING");
        assert_eq!((code, body.as_str()), (200, "hello"));
        let (_, body) = http_get(address, "/env/TOKEN");
        assert_eq!(body, "s3cret-value");
        let (_, body) = http_get(address, "/");
        assert!(
            body.contains("version=v1")
                && body.contains(&format!("instance={}", instance.instance)),
            "{body}"
        );

        let inspect = docker
            .inspect_container(&instance.runtime_id, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let endpoint_settings = inspect.network_settings.unwrap().networks.unwrap()[&rns].clone();
        let aliases = endpoint_settings.aliases.unwrap_or_default();
        assert!(
            aliases.contains(&"web".to_string()) && aliases.contains(&instance.instance),
            "{aliases:?}"
        );
        let host_config = inspect.host_config.unwrap();
        assert_eq!(host_config.init, Some(true));
        let archive: Vec<Bytes> = docker
            .download_from_container(
                &instance.runtime_id,
                Some(DownloadFromContainerOptions {
                    path: "/etc/echo/app.conf".into(),
                }),
            )
            .map(|chunk| chunk.unwrap())
            .collect()
            .await;
        let archive: Vec<u8> = archive.concat();
        let mut entries = tar::Archive::new(archive.as_slice());
        let mut entry = entries.entries().unwrap().next().unwrap().unwrap();
        let mut content = String::new();
        entry.read_to_string(&mut content).unwrap();
        assert_eq!(content, "answer=42\n");
        assert_eq!(entry.header().mode().unwrap() & 0o777, 0o640);
    }

    // The aliases resolve inside the namespace's network (the engine's DNS): the
    // deployment to every instance, an instance id to that instance.
    let (code, body) = http_get(published(&ready[0]), "/resolve/web");
    assert_eq!(code, 200, "{body}");
    let mut resolved: Vec<String> = body.lines().map(str::to_string).collect();
    let mut expected: Vec<String> = ready.iter().map(|i| i.ip.unwrap().to_string()).collect();
    resolved.sort();
    expected.sort();
    assert_eq!(resolved, expected);
    let (_, body) = http_get(
        published(&ready[0]),
        &format!("/resolve/{}", ready[1].instance),
    );
    assert_eq!(body.trim(), ready[1].ip.unwrap().to_string());

    // Idempotent: the same apply changes nothing.
    let again = runtime.apply_group(&group, 3).await.unwrap();
    let mut before: Vec<_> = ready.iter().map(|i| i.instance.clone()).collect();
    let mut after: Vec<_> = again.live().map(|i| i.instance.clone()).collect();
    before.sort();
    after.sort();
    assert_eq!(before, after);

    // A second adapter (a new leader) rebuilds the probers from the labels.
    let second = DockerRuntime::new("docker-test", vec![engine("a", &endpoint, "zone-a")]).unwrap();
    assert_eq!(second.prober_count(), 0);
    second.list_instances(&rns).await.unwrap();
    assert_eq!(second.prober_count(), 3);
    ready_instances(&second, &rns, "web", 3).await;

    let hosts = runtime.hosts().await.unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].state, HostState::Ready);
    assert!(
        hosts[0].runtime_version.starts_with("docker "),
        "{:?}",
        hosts[0]
    );
    assert!(hosts[0].cpu_millis >= 1000 && hosts[0].memory_bytes > 0);
    assert!(hosts[0].instance_count >= 3);

    runtime.delete_namespace(&rns).await.unwrap();
    assert!(runtime.list_instances(&rns).await.unwrap().is_empty());
    runtime
        .delete_namespace(&rns)
        .await
        .expect("idempotent delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_shows_its_signal_and_is_replaced() {
    let (runtime, endpoint, image) = one_engine().await;
    let rns = namespace(&runtime, "kill").await;
    let mut events = runtime.events();
    let group = spec(&rns, "api", &image, &[]);
    runtime.apply_group(&group, 3).await.unwrap();
    let ready = ready_instances(&runtime, &rns, "api", 3).await;
    let victim = ready[0].clone();
    client(&endpoint)
        .kill_container(
            &victim.runtime_id,
            Some(KillContainerOptions {
                signal: "SIGKILL".into(),
            }),
        )
        .await
        .unwrap();
    let exited = eventually(
        Duration::from_secs(15),
        "the killed instance to show Exited",
        || async {
            let instances = runtime.list_instances(&rns).await.ok()?;
            instances
                .into_iter()
                .find(|i| i.instance == victim.instance && i.phase == InstancePhase::Exited)
        },
    )
    .await;
    let exit = exited.exit.expect("exit");
    assert_eq!(
        (exit.signal, exit.reason.as_str()),
        (9, "KILLED"),
        "{exit:?}"
    );
    assert!(!exited.ready);

    let saw_die = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.next().await {
            if let RuntimeEvent::Instance {
                instance, action, ..
            } = &event
                && instance == &victim.instance
                && action == "die"
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(saw_die, Ok(true), "no die hint for {}", victim.instance);

    let status = runtime.apply_group(&group, 3).await.unwrap();
    assert_eq!(status.live().count(), 3, "{status:#?}");
    assert!(status.live().all(|i| i.instance != victim.instance));
    assert!(
        status
            .instances
            .iter()
            .any(|i| i.instance == victim.instance && i.phase == InstancePhase::Exited),
        "the ended instance stays listed"
    );
    ready_instances(&runtime, &rns, "api", 3).await;
    runtime.delete_namespace(&rns).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_down_removes_the_newest_and_delete_group_removes_all() {
    let (runtime, _endpoint, image) = one_engine().await;
    let rns = namespace(&runtime, "scale").await;
    let group = spec(&rns, "svc", &image, &[]);
    runtime.apply_group(&group, 1).await.unwrap();
    let first = ready_instances(&runtime, &rns, "svc", 1).await.remove(0);
    runtime.apply_group(&group, 3).await.unwrap();
    ready_instances(&runtime, &rns, "svc", 3).await;
    let status = runtime.apply_group(&group, 1).await.unwrap();
    let remaining: Vec<_> = status.live().collect();
    assert_eq!(remaining.len(), 1, "{status:#?}");
    assert_eq!(remaining[0].instance, first.instance, "the oldest stays");
    // The two others drain: unready and not live at once, gone after the drain.
    let draining: Vec<_> = status
        .instances
        .iter()
        .filter(|i| i.phase == InstancePhase::Terminating)
        .collect();
    assert_eq!(draining.len(), 2, "{status:#?}");
    assert!(draining.iter().all(|i| !i.ready && i.reason == "DRAINING"));
    eventually(
        Duration::from_secs(15),
        "drained instances removed, not kept as ended",
        || async { (runtime.list_instances(&rns).await.ok()?.len() == 1).then_some(()) },
    )
    .await;

    let groups = runtime.list_groups(&rns).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (groups[0].deployment.as_str(), groups[0].revision.as_str()),
        ("svc", "r1")
    );
    // Another adapter finds the group from the labels alone.
    let endpoint = docker_host("FERRY_TEST_DOCKER_HOST");
    let fresh = DockerRuntime::new("docker-test", vec![engine("a", &endpoint, "zone-a")]).unwrap();
    assert_eq!(fresh.list_groups(&rns).await.unwrap(), groups);

    runtime.delete_group(&rns, "svc", "r1").await.unwrap();
    assert!(runtime.list_instances(&rns).await.unwrap().is_empty());
    assert!(runtime.list_groups(&rns).await.unwrap().is_empty());
    runtime
        .delete_group(&rns, "svc", "r1")
        .await
        .expect("idempotent");
    runtime.delete_namespace(&rns).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_instances_show_their_exit_and_ended_ones_are_capped() {
    let (runtime, _endpoint, image) = one_engine().await;
    let rns = namespace(&runtime, "crash").await;
    let group = spec(&rns, "bad", &image, &[("CRASH", "1")]);
    runtime.apply_group(&group, 2).await.unwrap();
    let exited = eventually(Duration::from_secs(15), "crashed instances", || async {
        let instances = runtime.list_instances(&rns).await.ok()?;
        let exited: Vec<_> = instances
            .into_iter()
            .filter(|i| i.phase == InstancePhase::Exited)
            .collect();
        (exited.len() == 2).then_some(exited)
    })
    .await;
    for instance in &exited {
        let exit = instance.exit.clone().unwrap();
        assert_eq!(
            (exit.code, exit.signal, exit.reason.as_str()),
            (1, 0, "ERROR"),
            "{exit:?}"
        );
        assert!(exit.finished_at.is_some());
    }
    // Each apply replaces the crashed ones; ended ones pile up to at most 3.
    for _ in 0..3 {
        runtime.apply_group(&group, 2).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let status = runtime.apply_group(&group, 0).await.unwrap();
    let ended = status
        .instances
        .iter()
        .filter(|i| i.phase == InstancePhase::Exited)
        .count();
    assert_eq!(ended, 3, "{status:#?}");
    assert_eq!(status.live().count(), 0);
    runtime.delete_namespace(&rns).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_liveness_probe_restarts_the_instance() {
    let (runtime, _endpoint, image) = one_engine().await;
    let rns = namespace(&runtime, "live").await;
    let mut group = spec(&rns, "sick", &image, &[("UNHEALTHY", "1")]);
    group.liveness = Some(http_probe(300, 2));
    group.termination_grace = Duration::from_secs(1);
    runtime.apply_group(&group, 1).await.unwrap();
    let restarted = eventually(Duration::from_secs(40), "two liveness restarts", || async {
        let instances = runtime.list_instances(&rns).await.ok()?;
        instances.into_iter().find(|i| i.restart_count >= 2)
    })
    .await;
    assert_eq!(restarted.reason, "LIVENESS_CHECK_FAILED", "{restarted:#?}");
    assert!(
        restarted.is_live(),
        "restarted in place, still live: {restarted:#?}"
    );
    let status = runtime.apply_group(&group, 1).await.unwrap();
    assert_eq!(
        status.instances.len(),
        1,
        "restarted in place, not replaced: {status:#?}"
    );
    runtime.delete_namespace(&rns).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_tail_and_follow_and_usage_under_load() {
    let (runtime, _endpoint, image) = one_engine().await;
    let rns = namespace(&runtime, "logs").await;
    runtime
        .apply_group(&spec(&rns, "talk", &image, &[]), 1)
        .await
        .unwrap();
    let instance = ready_instances(&runtime, &rns, "talk", 1).await.remove(0);
    let address = published(&instance);
    for i in 0..3 {
        assert_eq!(http_get(address, &format!("/env/FIRST{i}")).0, 404);
    }
    let lines: Vec<_> = runtime
        .logs(
            &rns,
            &instance.instance,
            LogOptions {
                tail: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .collect()
        .await;
    let lines: Vec<String> = lines
        .into_iter()
        .map(|l| String::from_utf8_lossy(&l.unwrap().data).into_owned())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("/env/FIRST1") && lines[1].contains("/env/FIRST2"),
        "{lines:?}"
    );

    let mut follow = runtime
        .logs(
            &rns,
            &instance.instance,
            LogOptions {
                follow: true,
                tail: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Requests until the follower sees one: when the follow request reached the engine
    // is not observable from here.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let requester = tokio::task::spawn_blocking({
        let stop = stop.clone();
        move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                http_get(address, "/env/FOLLOWED");
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    });
    let followed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = follow.next().await {
            let line = line.unwrap();
            if String::from_utf8_lossy(&line.data).contains("/env/FOLLOWED") {
                return Some(line);
            }
        }
        None
    })
    .await
    .expect("followed line within 10 s")
    .expect("a followed line");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(followed.time.is_some());
    requester.await.unwrap();

    let burner = tokio::task::spawn_blocking(move || http_get(address, "/burn?ms=4000"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let usage = runtime
        .instance_usage(&rns, &instance.instance)
        .await
        .unwrap()
        .expect("usage of a running instance");
    assert!(usage.cpu_millis > 100, "{usage:?}");
    assert!(usage.memory_bytes > 0, "{usage:?}");
    assert_eq!(burner.await.unwrap().0, 200);
    runtime.delete_namespace(&rns).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_affinity_places_instances_on_the_asked_engine() {
    let first = docker_host("FERRY_TEST_DOCKER_HOST");
    let second = docker_host("FERRY_TEST_DOCKER_HOST_2");
    let image = import_echo_image(&first, IMAGE_TAG).await.unwrap();
    import_echo_image(&second, IMAGE_TAG).await.unwrap();
    let runtime = DockerRuntime::new(
        "docker-test",
        vec![
            engine("a", &first, "zone-a"),
            engine("b", &second, "zone-b"),
        ],
    )
    .unwrap();
    let rns = namespace(&runtime, "zones").await;
    for (deployment, zone, host) in [("in-b", "zone-b", "b"), ("in-a", "zone-a", "a")] {
        let mut group = spec(&rns, deployment, &image, &[]);
        group.placement = Placement {
            region: Some("local".into()),
            zone: Some(zone.into()),
            avoid_hosts: vec![],
            excluded_hosts: vec![],
        };
        runtime.apply_group(&group, 2).await.unwrap();
        let ready = ready_instances(&runtime, &rns, deployment, 2).await;
        assert!(
            ready.iter().all(|i| i.host == host && i.zone == zone),
            "{ready:#?}"
        );
        assert_eq!(http_get(published(&ready[0]), "/healthz").0, 200);
    }
    let mut nowhere = spec(&rns, "nowhere", &image, &[]);
    nowhere.placement.zone = Some("zone-c".into());
    let error = runtime.apply_group(&nowhere, 1).await.unwrap_err();
    assert!(
        matches!(error, ferry_runtime::RuntimeError::Unschedulable(_)),
        "{error:?}"
    );
    runtime.delete_namespace(&rns).await.unwrap();
}

/// A private engine for one test, stopped (and its containers removed) on drop.
struct PrivateEngine {
    dir: PathBuf,
    pid: i32,
    socket: String,
}

fn lib_sh() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/dev/lib.sh")
}

impl PrivateEngine {
    fn start(pool: u8) -> Self {
        let dir = std::env::temp_dir().join(format!("ferry-dockerd-{}-{pool}", std::process::id()));
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
            pid: pid.parse().unwrap(),
            socket: socket.to_string(),
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_of_an_unreachable_engine_turn_unknown_and_are_replaced() {
    let first = docker_host("FERRY_TEST_DOCKER_HOST");
    let private = PrivateEngine::start(7);
    let image = import_echo_image(&first, IMAGE_TAG).await.unwrap();
    import_echo_image(&private.socket, IMAGE_TAG).await.unwrap();
    let runtime = DockerRuntime::new(
        "docker-test",
        vec![
            engine("a", &first, "zone-a"),
            engine("b", &private.socket, "zone-b"),
        ],
    )
    .unwrap();
    let mut events = runtime.events();
    let rns = namespace(&runtime, "lost").await;
    let mut group = spec(&rns, "far", &image, &[]);
    group.placement.avoid_hosts = vec!["a".into()];
    runtime.apply_group(&group, 2).await.unwrap();
    let on_b = ready_instances(&runtime, &rns, "far", 2).await;
    assert!(on_b.iter().all(|i| i.host == "b"), "{on_b:#?}");

    private.signal("STOP");
    let instances = runtime.list_instances(&rns).await.unwrap();
    assert_eq!(instances.len(), 2, "{instances:#?}");
    for instance in &instances {
        assert_eq!(instance.phase, InstancePhase::Unknown);
        assert_eq!(instance.reason, "HOST_UNREACHABLE");
        assert!(!instance.is_live());
    }
    let hosts = runtime.hosts().await.unwrap();
    assert_eq!(
        hosts.iter().find(|h| h.name == "b").unwrap().state,
        HostState::Unreachable
    );
    let lost = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(event) = events.next().await {
            if event
                == (RuntimeEvent::Host {
                    host: "b".into(),
                    state: HostState::Unreachable,
                })
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(lost, Ok(true), "no host hint for b");

    let status = runtime.apply_group(&group, 2).await.unwrap();
    let replacements: Vec<_> = status.live().collect();
    assert_eq!(replacements.len(), 2, "{status:#?}");
    assert!(replacements.iter().all(|i| i.host == "a"));
    assert_eq!(
        status
            .instances
            .iter()
            .filter(|i| i.phase == InstancePhase::Unknown)
            .count(),
        2
    );

    // Back again: the surplus goes at the next apply.
    private.signal("CONT");
    eventually(Duration::from_secs(15), "engine b answering", || async {
        let hosts = runtime.hosts().await.ok()?;
        (hosts.iter().find(|h| h.name == "b")?.state == HostState::Ready).then_some(())
    })
    .await;
    let status = runtime.apply_group(&group, 2).await.unwrap();
    assert_eq!(status.live().count(), 2, "{status:#?}");
    eventually(
        Duration::from_secs(15),
        "the surplus drained and removed",
        || async { (runtime.list_instances(&rns).await.ok()?.len() == 2).then_some(()) },
    )
    .await;
    runtime.delete_namespace(&rns).await.unwrap();
}
