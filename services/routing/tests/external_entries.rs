//! External entries end to end over real etcd (`FERRY_ETCD_ENDPOINTS`): the routing
//! service (local data plane) puts two outside addresses (two local servers) behind one
//! entry with a health check; with one server stopped, traffic goes only to the live
//! one, and comes back to both when it answers again. Bad input is refused with nothing
//! written; delete releases the address.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use ferry_proto::ferry::catalog::v1::address_status::Health;
use ferry_proto::ferry::catalog::v1::external_entry::State;
use ferry_proto::ferry::catalog::v1::external_entry_service_client::ExternalEntryServiceClient;
use ferry_proto::ferry::catalog::v1::{
    AddressPort, CreateExternalEntryRequest, DeleteExternalEntryRequest, ExternalAddress,
    ExternalEntry, GetExternalEntryRequest, ListExternalEntriesRequest, UpdateExternalEntryRequest,
};
use ferry_proto::ferry::common::v1::{
    ContainerPort, ExecProbe, HealthCheck, HttpProbe, TcpProbe, health_check,
};
use ferry_routing::RoutingOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::transport::Channel;

/// A tiny HTTP server on `address` answering `server=<label>`; stopped by aborting it.
async fn serve(address: SocketAddr, label: &'static str) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                let mut request = Vec::new();
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                // `/missing` answers 404: a health check of it always fails.
                let missing = request.starts_with(b"GET /missing ");
                let body = format!("version=external\ninstance={label}\n");
                let answer = format!(
                    "HTTP/1.1 {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    if missing { "404 Not Found" } else { "200 OK" },
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    })
}

/// A port free on both 127.0.0.2 and 127.0.0.3.
fn free_port_on_both() -> u16 {
    loop {
        let first = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.3", port)).is_ok() {
            return port;
        }
    }
}

async fn get(channel: &Channel, name: &str) -> ExternalEntry {
    ExternalEntryServiceClient::new(channel.clone())
        .get_external_entry(GetExternalEntryRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

async fn wait_for(
    channel: &Channel,
    name: &str,
    check: impl Fn(&ExternalEntry) -> bool,
) -> ExternalEntry {
    let started = Instant::now();
    loop {
        let entry = get(channel, name).await;
        if check(&entry) {
            return entry;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "entry never reached the expected status: {entry:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn spread(target: SocketAddr, count: usize) -> (BTreeMap<String, usize>, Vec<String>) {
    let mut per_server = BTreeMap::new();
    let mut failures = Vec::new();
    for _ in 0..count {
        match common::http_get(target, None, "/").await {
            Ok(answer) => match common::echo_instance(&answer) {
                Some(server) => *per_server.entry(server).or_insert(0) += 1,
                None => failures.push(format!("{answer:?}")),
            },
            Err(error) => failures.push(error.to_string()),
        }
    }
    (per_server, failures)
}

fn input(port: u16) -> ExternalEntry {
    let address = |host: &str| ExternalAddress {
        host: host.into(),
        ports: vec![AddressPort {
            name: "http".into(),
            port: i32::from(port),
        }],
    };
    ExternalEntry {
        addresses: vec![address("127.0.0.2"), address("127.0.0.3")],
        ports: vec![ContainerPort {
            name: "http".into(),
            port: 8080,
            protocol: 0,
        }],
        health_check: Some(HealthCheck {
            probe: Some(health_check::Probe::Tcp(TcpProbe { port: 8080 })),
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
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn external_entry_follows_address_health() {
    let prefix = ferry_store::keys::test_prefix("routing-external").into_string();
    let routing = common::start_routing(&prefix, RoutingOptions::local()).await;
    let store = common::store(&prefix).await;
    let port = free_port_on_both();
    let server_a = serve(SocketAddr::from(([127, 0, 0, 2], port)), "a").await;
    let mut server_b = serve(SocketAddr::from(([127, 0, 0, 3], port)), "b").await;

    let mut entries = ExternalEntryServiceClient::new(routing.channel.clone());
    let created = loop {
        match entries
            .create_external_entry(CreateExternalEntryRequest {
                parent: "namespaces/shop".into(),
                external_entry_id: "legacy".into(),
                external_entry: Some(input(port)),
                ..Default::default()
            })
            .await
        {
            Ok(entry) => break entry.into_inner(),
            Err(status) if status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("create external entry: {status:?}"),
        }
    };
    let name = "namespaces/shop/externalEntries/legacy";
    assert_eq!(created.name, name);
    assert_eq!(created.dns_name, "legacy.shop.svc.cluster.local");
    assert_eq!(created.generation, 1);
    let ready = wait_for(&routing.channel, name, |e| {
        !e.reconciling
            && e.state() == State::Active
            && e.address_statuses
                .iter()
                .all(|s| s.health() == Health::Healthy)
    })
    .await;
    // The local address is in the Ready condition (the API has no field for it).
    let message = &ready
        .conditions
        .iter()
        .find(|c| c.r#type == "Ready")
        .unwrap()
        .message;
    let address: Ipv4Addr = message
        .split("answers at ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {message:?}"));
    let target = SocketAddr::new(IpAddr::V4(address), 8080);
    let (per_server, failures) = spread(target, 20).await;
    println!("both servers up: {per_server:?}");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(per_server.get("a"), Some(&10));
    assert_eq!(per_server.get("b"), Some(&10));

    // Server b stops: once its checks fail, traffic goes only to a, without errors.
    server_b.abort();
    let _ = (&mut server_b).await;
    let stopped_at = Instant::now();
    let degraded = wait_for(&routing.channel, name, |e| e.state() == State::Degraded).await;
    println!("b reported unhealthy after {:?}", stopped_at.elapsed());
    let b = degraded
        .address_statuses
        .iter()
        .find(|s| s.host == "127.0.0.3")
        .unwrap();
    assert_eq!(b.health(), Health::Unhealthy);
    assert!(!b.last_error.is_empty());
    let (per_server, failures) = spread(target, 30).await;
    println!("b stopped: {per_server:?}");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(per_server.get("a"), Some(&30), "{per_server:?}");

    // b answers again: it is restored.
    let server_b = serve(SocketAddr::from(([127, 0, 0, 3], port)), "b").await;
    wait_for(&routing.channel, name, |e| e.state() == State::Active).await;
    let (per_server, failures) = spread(target, 20).await;
    println!("b back: {per_server:?}");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(per_server.len(), 2, "{per_server:?}");

    // A health check that fails on every address (a wrong path): the entry is
    // UNAVAILABLE but fails open, every address still gets traffic.
    let mut wrong = get(&routing.channel, name).await;
    wrong.health_check.as_mut().unwrap().probe = Some(health_check::Probe::Http(HttpProbe {
        path: "/missing".into(),
        port: 8080,
        ..Default::default()
    }));
    let updated = entries
        .update_external_entry(UpdateExternalEntryRequest {
            external_entry: Some(wrong),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["health_check".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.generation, 2);
    wait_for(&routing.channel, name, |e| {
        e.state() == State::Unavailable && e.observed_generation == 2
    })
    .await;
    // The programming loop decides fail-open every 500 ms.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (per_server, failures) = spread(target, 20).await;
    println!("every check failing (fail open): {per_server:?}");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(per_server.len(), 2, "{per_server:?}");

    // Bad input: clear errors, nothing written.
    let before = common::routing_keys(store.as_ref()).await;
    let before: Vec<_> = before
        .into_iter()
        .filter(|(k, _)| !k.contains("-status/"))
        .collect();
    let bad = |mutate: &dyn Fn(&mut ExternalEntry)| {
        let mut entry = input(port);
        mutate(&mut entry);
        CreateExternalEntryRequest {
            parent: "namespaces/shop".into(),
            external_entry_id: "other".into(),
            external_entry: Some(entry),
            ..Default::default()
        }
    };
    let cases: Vec<(CreateExternalEntryRequest, Code, &str)> = vec![
        (
            bad(&|e| e.ports[0].port = 70000),
            Code::InvalidArgument,
            "external_entry.ports[0].port",
        ),
        (
            bad(&|e| e.ports.push(e.ports[0].clone())),
            Code::InvalidArgument,
            "external_entry.ports[1].name",
        ),
        (
            bad(&|e| e.addresses[0].ports[0].name = "grpc".into()),
            Code::InvalidArgument,
            "external_entry.addresses[0].ports[0].name",
        ),
        (
            bad(&|e| {
                e.health_check.as_mut().unwrap().probe =
                    Some(health_check::Probe::Exec(ExecProbe {
                        command: vec!["true".into()],
                    }))
            }),
            Code::InvalidArgument,
            "external_entry.health_check.exec",
        ),
        (
            CreateExternalEntryRequest {
                external_entry_id: "legacy".into(),
                ..bad(&|_| {})
            },
            Code::AlreadyExists,
            "already exists",
        ),
    ];
    for (request, code, needle) in cases {
        let status = entries.create_external_entry(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(needle), "{needle}: {status:?}");
        println!("refused as expected: {}", status.message());
    }
    let after = common::routing_keys(store.as_ref()).await;
    let after: Vec<_> = after
        .into_iter()
        .filter(|(k, _)| !k.contains("-status/"))
        .collect();
    assert_eq!(after, before, "bad input wrote to etcd");
    let listed = entries
        .list_external_entries(ListExternalEntriesRequest {
            parent: "namespaces/-".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 1);

    // Delete: the entry stops answering and its keys go.
    entries
        .delete_external_entry(DeleteExternalEntryRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let status = entries
        .get_external_entry(GetExternalEntryRequest { name: name.into() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let started = Instant::now();
    while common::http_get(target, None, "/").await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the entry still answers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(common::routing_keys(store.as_ref()).await.is_empty());

    server_a.abort();
    server_b.abort();
    routing.stop().await;
    let _ = store.delete_prefix("/").await;
}
