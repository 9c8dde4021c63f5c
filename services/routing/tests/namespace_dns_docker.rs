//! Namespace DNS end to end over real etcd (`FERRY_ETCD_ENDPOINTS`) and a real Docker
//! engine (`FERRY_TEST_DOCKER_HOST`): the deploy service runs 2 echo instances, the
//! routing service (with namespace DNS, the forwarder built statically like the echo
//! app) gives the Service `web` (port 80 → `http`, 8080) an endpoint container on the
//! namespace's network. A busybox client container on that network resolves `web`,
//! `web.<ns>` and `web.<ns>.svc.cluster.local` to it and its requests spread over both
//! instances; a killed instance leaves the forwarder's configuration; a second routing
//! replica taking over leadership adopts the endpoint and keeps it current; an orphan
//! endpoint is removed and a killed endpoint comes back; deleting the Service removes its
//! endpoint; deleting the namespace removes its endpoints so that its network goes too.
//! Times are printed.
//!
//! Debian's static busybox cannot use `getaddrinfo` (its `wget` fails even on an IP
//! address), so names are resolved with busybox `nslookup` (its own resolver) and, as a
//! second opinion, with `getaddrinfo` inside an echo instance (`/resolve/NAME`); requests
//! are HTTP/1.0 over busybox `nc` to the resolved address.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, DownloadFromContainerOptions,
    InspectContainerOptions, RemoveContainerOptions,
};
use ferry_proto::ferry::common::v1::operation;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateDeploymentRequest, DeleteDeploymentRequest, DeleteNamespaceRequest, Deployment, Instance,
    ScaleDeploymentRequest,
};
use ferry_proto::ferry::routing::v1::routing_service_client::RoutingServiceClient;
use ferry_proto::ferry::routing::v1::service::Target;
use ferry_proto::ferry::routing::v1::service_port::TargetPortRef;
use ferry_proto::ferry::routing::v1::{
    CreateServiceRequest, DeleteServiceRequest, Service, ServicePort,
};
use ferry_routing::RoutingOptions;
use ferry_routing::namespace_dns::{DockerEngine, NamespaceDns, NamespaceDnsSettings};
use ferry_runtime::Runtime;
use ferry_runtime_docker::{DockerRuntime, EngineConfig};
use futures::{StreamExt, TryStreamExt};
use tonic::Code;

const CLIENT_IMAGE: &str = "ferry-test/busybox:namespace-dns";

/// Imports Debian's static busybox as a one-file image.
async fn import_busybox(docker: &bollard::Docker) {
    let binary = std::fs::read("/bin/busybox")
        .expect("/bin/busybox is missing: install Debian's busybox-static");
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(binary.len() as u64);
    header.set_mode(0o755);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, "bin/busybox", binary.as_slice())
        .unwrap();
    let rootfs = builder.into_inner().unwrap();
    let (repo, tag) = CLIENT_IMAGE.rsplit_once(':').unwrap();
    docker
        .create_image(
            Some(CreateImageOptions {
                from_src: Some("-".into()),
                repo: Some(repo.into()),
                tag: Some(tag.into()),
                changes: vec!["ENV PATH=/bin".into()],
                ..Default::default()
            }),
            Some(bollard::body_full(rootfs.into())),
            None,
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
}

/// Starts a busybox container `name` on `network` (sleeping), with `labels`.
async fn start_busybox(
    docker: &bollard::Docker,
    name: &str,
    network: &str,
    labels: &[(&str, &str)],
) -> String {
    let body = ContainerCreateBody {
        image: Some(CLIENT_IMAGE.into()),
        cmd: Some(vec!["/bin/busybox".into(), "sleep".into(), "3600".into()]),
        labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        host_config: Some(HostConfig {
            network_mode: Some(network.into()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(
                [(network.to_string(), EndpointSettings::default())]
                    .into_iter()
                    .collect(),
            ),
        }),
        ..Default::default()
    };
    let id = docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.into()),
                ..Default::default()
            }),
            body,
        )
        .await
        .unwrap()
        .id;
    if let Err(error) = docker.start_container(&id, None).await {
        // A labelled (orphan) endpoint may be removed by the controller before it starts.
        assert!(!labels.is_empty(), "start {name}: {error}");
    }
    id
}

/// Runs `command` in container `id`; its stdout and stderr.
async fn exec(docker: &bollard::Docker, id: &str, command: &[&str]) -> String {
    let created = docker
        .create_exec(
            id,
            CreateExecOptions {
                cmd: Some(command.iter().map(|c| c.to_string()).collect()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut out = String::new();
    if let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&created.id, None).await.unwrap()
    {
        while let Some(Ok(chunk)) = output.next().await {
            out.push_str(&chunk.to_string());
        }
    }
    out
}

/// The addresses busybox `nslookup` finds for `name` from container `client`.
async fn nslookup(docker: &bollard::Docker, client: &str, name: &str) -> Vec<String> {
    let out = exec(docker, client, &["/bin/busybox", "nslookup", name]).await;
    out.lines()
        .filter_map(|line| line.strip_prefix("Address:"))
        .map(str::trim)
        .filter(|address| !address.contains(':'))
        .map(str::to_string)
        .collect()
}

/// `count` GETs of `/` at `ip:80` from container `client`; answers per echo instance
/// and the number of failures.
async fn spread(
    docker: &bollard::Docker,
    client: &str,
    ip: &str,
    count: usize,
) -> (BTreeMap<String, usize>, usize) {
    let script = format!(
        "for i in $(/bin/busybox seq {count}); do \
         a=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 5 {ip} 80); \
         case \"$a\" in *'HTTP/1.1 200'*) echo \"$a\" | /bin/busybox grep instance= ;; \
         *) echo FAILED ;; esac; done"
    );
    let out = exec(docker, client, &["/bin/busybox", "sh", "-c", &script]).await;
    let mut per_instance = BTreeMap::new();
    for line in out.lines() {
        if let Some(instance) = line.strip_prefix("instance=") {
            *per_instance.entry(instance.to_string()).or_insert(0) += 1;
        }
    }
    let failures = out.lines().filter(|l| l.contains("FAILED")).count();
    (per_instance, failures)
}

/// The forwarder configuration inside the endpoint container `name`.
async fn forwarder_config(docker: &bollard::Docker, name: &str) -> Option<String> {
    let chunks: Vec<_> = docker
        .download_from_container(
            name,
            Some(DownloadFromContainerOptions {
                path: "/etc/ferry-forward.conf".into(),
            }),
        )
        .try_collect()
        .await
        .ok()?;
    let archive: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
    let mut entries = tar::Archive::new(archive.as_slice());
    let mut entry = entries.entries().ok()?.next()?.ok()?;
    let mut content = String::new();
    std::io::Read::read_to_string(&mut entry, &mut content).ok()?;
    Some(content)
}

async fn container_id(docker: &bollard::Docker, name: &str) -> String {
    docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
        .unwrap()
        .id
        .unwrap()
}

async fn running(docker: &bollard::Docker, name: &str) -> bool {
    docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
        .ok()
        .and_then(|c| c.state)
        .and_then(|s| s.running)
        .unwrap_or(false)
}

/// Waits (up to `limit`) until `check` holds; how long it took.
async fn wait_until<F, Fut>(what: &str, limit: Duration, check: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn published(instance: &Instance) -> SocketAddr {
    let port = &instance.ports[0];
    SocketAddr::new(port.host_address.parse().unwrap(), port.host_port as u16)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn services_answer_by_name_inside_the_namespace_network() {
    let endpoint = common::docker_host();
    let prefix = ferry_store::keys::test_prefix("routing-nsdns").into_string();
    let image_id = common::echo_image_id(&endpoint, "ferry-test/echo:nsdns").await;
    let forwarder =
        ferry_runtime_docker::testing::static_binary("ferry-forward", "ferry-forward").unwrap();
    let docker = common::docker_client(&endpoint);
    import_busybox(&docker).await;
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
    let settings = NamespaceDnsSettings {
        engines: vec![DockerEngine {
            host: "engine-1".into(),
            endpoint: endpoint.clone(),
        }],
        forwarder_binary: forwarder,
    };
    let namespace_dns = NamespaceDns::new(&settings).unwrap();
    let routing = common::start_routing(
        &prefix,
        RoutingOptions {
            namespace_dns: Some(Arc::new(namespace_dns)),
            ..RoutingOptions::local()
        },
    )
    .await;

    // Two echo instances.
    let ns = format!("nd{}", std::process::id());
    common::create_namespace(&deploy.channel, &ns).await;
    let created = DeploymentServiceClient::new(deploy.channel.clone())
        .create_deployment(CreateDeploymentRequest {
            parent: format!("namespaces/{ns}"),
            deployment_id: "echo".into(),
            deployment: Some(Deployment {
                template: Some(common::echo_template(&image_id, None)),
                replicas: Some(2),
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
    let instances = common::ready_instances(&deploy.channel, &deployment).await;
    assert_eq!(instances.len(), 2);
    let client_name = format!("{ns}-client");
    let client = start_busybox(&docker, &client_name, &ns, &[]).await;

    // The Service: port 80 → the instances' `http` port (8080).
    let mut services = RoutingServiceClient::new(routing.channel.clone());
    let created_at = Instant::now();
    loop {
        match services
            .create_service(CreateServiceRequest {
                parent: format!("namespaces/{ns}"),
                service_id: "web".into(),
                service: Some(Service {
                    target: Some(Target::Deployment(deployment.clone())),
                    ports: vec![ServicePort {
                        name: "http".into(),
                        port: 80,
                        target_port_ref: Some(TargetPortRef::TargetPortName("http".into())),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
        {
            Ok(_) => break,
            Err(status) if status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("create service: {status:?}"),
        }
    }
    let fqdn = format!("web.{ns}.svc.cluster.local");
    let endpoint_name = format!("ferry-svc.{ns}.web");
    let started = wait_until("the endpoint runs", Duration::from_secs(30), || {
        running(&docker, &endpoint_name)
    })
    .await;
    println!("measured: Service created → endpoint container running: {started:?}");
    let resolved = wait_until(
        "the Service name answers",
        Duration::from_secs(30),
        || async {
            let Some(ip) = nslookup(&docker, &client, &fqdn).await.into_iter().next() else {
                return false;
            };
            let (answers, _) = spread(&docker, &client, &ip, 1).await;
            answers.len() == 1
        },
    )
    .await;
    println!(
        "measured: endpoint running → {fqdn} resolves and answers in the network: \
         {resolved:?} (since the Service was created: {:?})",
        created_at.elapsed()
    );

    // The endpoint container holds the three names, and only it.
    let endpoint_ip = docker
        .inspect_container(&endpoint_name, None::<InspectContainerOptions>)
        .await
        .unwrap()
        .network_settings
        .unwrap()
        .networks
        .unwrap()[&ns]
        .ip_address
        .clone()
        .unwrap();
    for name in ["web".to_string(), format!("web.{ns}"), fqdn.clone()] {
        assert_eq!(
            nslookup(&docker, &client, &name).await,
            vec![endpoint_ip.clone()],
            "{name}"
        );
        // getaddrinfo inside an instance agrees.
        let answer = common::http_get(published(&instances[0]), None, &format!("/resolve/{name}"))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{name}: {answer}");
        assert!(
            answer.trim_end().ends_with(&endpoint_ip),
            "{name}: {answer}"
        );
    }

    // Requests spread over both instances (round robin: evenly).
    let (answers, failures) = spread(&docker, &client, &endpoint_ip, 20).await;
    assert_eq!(failures, 0, "{answers:?}");
    let names: Vec<String> = instances
        .iter()
        .map(|i| i.name.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(answers.keys().cloned().collect::<Vec<_>>(), {
        let mut sorted = names.clone();
        sorted.sort();
        sorted
    });
    assert!(answers.values().all(|n| *n == 10), "{answers:?}");

    // A killed instance leaves the forwarder's configuration, and gets no request.
    let victim = &instances[0];
    let victim_address = format!("{}:8080", victim.ip_address);
    let config = forwarder_config(&docker, &endpoint_name).await.unwrap();
    assert!(config.contains(&victim_address), "{config}");
    docker
        .kill_container(
            &victim.display_name,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    // Docker may give the replacement instance the victim's address at once: then the
    // victim is out once the configuration holds exactly the READY instances.
    let left = wait_until(
        "the killed instance leaves the config",
        Duration::from_secs(30),
        || async {
            let Some(config) = forwarder_config(&docker, &endpoint_name).await else {
                return false;
            };
            if !config.contains(&victim_address) {
                return true;
            }
            let ready = common::ready_instances(&deploy.channel, &deployment).await;
            ready
                .iter()
                .any(|i| i.ip_address == victim.ip_address && i.name != victim.name)
                && config.matches(":8080").count() == ready.len()
                && ready
                    .iter()
                    .all(|i| config.contains(&format!("{}:8080", i.ip_address)))
        },
    )
    .await;
    println!("measured: instance killed → out of the forwarder's configuration: {left:?}");
    // The forwarder reads its file within 250 ms.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (answers, failures) = spread(&docker, &client, &endpoint_ip, 10).await;
    assert_eq!(failures, 0, "{answers:?}");
    assert!(!answers.contains_key(&names[0]), "{answers:?}");
    assert_eq!(answers.values().sum::<usize>(), 10, "{answers:?}");

    // Leadership moves to a second replica: it adopts the endpoint (same container) and
    // keeps it current (scaled to one instance → one backend).
    let endpoint_id = container_id(&docker, &endpoint_name).await;
    let second = common::start_routing(
        &prefix,
        RoutingOptions {
            namespace_dns: Some(Arc::new(NamespaceDns::new(&settings).unwrap())),
            ..RoutingOptions::local()
        },
    )
    .await;
    routing.stop().await;
    let scaled = DeploymentServiceClient::new(deploy.channel.clone())
        .scale_deployment(ScaleDeploymentRequest {
            name: deployment.clone(),
            replicas: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    common::wait(&deploy.channel, scaled).await;
    let one = wait_until(
        "the new leader leaves one backend",
        Duration::from_secs(30),
        || async {
            forwarder_config(&docker, &endpoint_name)
                .await
                .is_some_and(|c| c.matches(":8080").count() == 1)
        },
    )
    .await;
    println!("measured: scaled to 1 → one backend under the new leader after {one:?}");
    assert_eq!(container_id(&docker, &endpoint_name).await, endpoint_id);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (answers, failures) = spread(&docker, &client, &endpoint_ip, 6).await;
    assert_eq!((answers.len(), failures), (1, 0), "{answers:?}");
    let routing = second;
    let mut services = RoutingServiceClient::new(routing.channel.clone());

    // An endpoint no Service explains is removed.
    let orphan = format!("ferry-svc.{ns}.ghost");
    start_busybox(
        &docker,
        &orphan,
        &ns,
        &[
            ("ferry.dev/managed-by", "routing"),
            ("ferry.dev/service", "namespaces/x/services/ghost"),
        ],
    )
    .await;
    let gone = wait_until(
        "the orphan endpoint is removed",
        Duration::from_secs(15),
        || async {
            docker
                .inspect_container(&orphan, None::<InspectContainerOptions>)
                .await
                .is_err()
        },
    )
    .await;
    println!("measured: orphan endpoint removed after {gone:?}");

    // An endpoint killed behind the controller's back comes back.
    docker
        .kill_container(
            &endpoint_name,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    wait_until(
        "the endpoint comes back",
        Duration::from_secs(15),
        || async {
            running(&docker, &endpoint_name).await
                && !nslookup(&docker, &client, &fqdn).await.is_empty()
        },
    )
    .await;

    // Deleting the Service removes its endpoint.
    services
        .delete_service(DeleteServiceRequest {
            name: format!("namespaces/{ns}/services/web"),
            ..Default::default()
        })
        .await
        .unwrap();
    let removed = wait_until(
        "the endpoint is removed",
        Duration::from_secs(15),
        || async {
            docker
                .inspect_container(&endpoint_name, None::<InspectContainerOptions>)
                .await
                .is_err()
        },
    )
    .await;
    println!("measured: Service deleted → endpoint removed: {removed:?}");
    assert!(nslookup(&docker, &client, &fqdn).await.is_empty());

    // A namespace being deleted loses its endpoints (here of the Service `api`), so the
    // deploy service can remove its network and the delete completes.
    services
        .create_service(CreateServiceRequest {
            parent: format!("namespaces/{ns}"),
            service_id: "api".into(),
            service: Some(Service {
                target: Some(Target::Deployment(deployment.clone())),
                ports: vec![ServicePort {
                    name: "http".into(),
                    port: 81,
                    target_port_ref: Some(TargetPortRef::TargetPortName("http".into())),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let api_endpoint = format!("ferry-svc.{ns}.api");
    wait_until("the api endpoint runs", Duration::from_secs(15), || {
        running(&docker, &api_endpoint)
    })
    .await;
    let _ = docker
        .remove_container(
            &client_name,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await;
    let deleted = DeploymentServiceClient::new(deploy.channel.clone())
        .delete_deployment(DeleteDeploymentRequest {
            name: deployment.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    common::wait(&deploy.channel, deleted).await;
    let deleted = NamespaceServiceClient::new(deploy.channel.clone())
        .delete_namespace(DeleteNamespaceRequest {
            name: format!("namespaces/{ns}"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let deleting_at = Instant::now();
    let done = common::wait(&deploy.channel, deleted).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    println!(
        "measured: namespace delete (with a Service endpoint on its network) done in {:?}",
        deleting_at.elapsed()
    );
    assert!(
        docker
            .inspect_container(&api_endpoint, None::<InspectContainerOptions>)
            .await
            .is_err()
    );
    assert!(docker.inspect_network(&ns, None).await.is_err());

    routing.stop().await;
    deploy.stop().await;
}

#[tokio::test]
async fn engines_without_a_forwarder_binary_refuse_to_start() {
    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let engines = ("FERRY_DOCKER_ENGINES", "e1=unix:///run/docker.sock");
    let error = RoutingOptions::from_env(&env(&[engines]))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("FERRY_ROUTING_FORWARDER_BINARY"), "{error}");
    let error = RoutingOptions::from_env(&env(&[
        engines,
        (
            "FERRY_ROUTING_FORWARDER_BINARY",
            "/nonexistent/ferry-forward",
        ),
    ]))
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(
        error.contains("cannot read /nonexistent/ferry-forward"),
        "{error}"
    );
    let error = RoutingOptions::from_env(&env(&[("FERRY_DOCKER_ENGINES", "e1=/run/docker.sock")]))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("unix:// or tcp://"), "{error}");
    // Without engines there is nothing to do: no forwarder needed.
    let options = RoutingOptions::from_env(&env(&[])).await.unwrap();
    assert!(options.namespace_dns.is_none());
}
