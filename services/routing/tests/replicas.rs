//! Two routing replicas over real etcd (`FERRY_ETCD_ENDPOINTS`), each with its own local
//! data plane on the same addresses (SO_REUSEPORT): an external entry answers through
//! both; when one replica stops, the other keeps serving, and its status controller
//! takes over the status once the stopped replica's leadership is gone.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferry_proto::ferry::catalog::v1::external_entry_service_client::ExternalEntryServiceClient;
use ferry_proto::ferry::catalog::v1::{
    CreateExternalEntryRequest, ExternalAddress, ExternalEntry, GetExternalEntryRequest,
    UpdateExternalEntryRequest,
};
use ferry_proto::ferry::common::v1::ContainerPort;
use ferry_routing::RoutingOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::transport::Channel;

async fn serve(listener: tokio::net::TcpListener) {
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
            let body = "instance=outside\n";
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        });
    }
}

async fn get(channel: &Channel, name: &str) -> ExternalEntry {
    ExternalEntryServiceClient::new(channel.clone())
        .get_external_entry(GetExternalEntryRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_stops_and_the_other_serves() {
    let prefix = ferry_store::keys::test_prefix("routing-replicas").into_string();
    let first = common::start_routing(&prefix, RoutingOptions::local()).await;
    let second = common::start_routing(&prefix, RoutingOptions::local()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(serve(listener));

    let name = "namespaces/ops/externalEntries/outside";
    let entry = ExternalEntry {
        addresses: vec![ExternalAddress {
            host: "127.0.0.1".into(),
            ports: Vec::new(),
        }],
        ports: vec![ContainerPort {
            name: "http".into(),
            port: i32::from(port),
            protocol: 0,
        }],
        ..Default::default()
    };
    loop {
        match ExternalEntryServiceClient::new(first.channel.clone())
            .create_external_entry(CreateExternalEntryRequest {
                parent: "namespaces/ops".into(),
                external_entry_id: "outside".into(),
                external_entry: Some(entry.clone()),
                ..Default::default()
            })
            .await
        {
            Ok(_) => break,
            Err(status) if status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("create external entry: {status:?}"),
        }
    }
    let started = Instant::now();
    let ready = loop {
        let entry = get(&second.channel, name).await;
        if !entry.reconciling {
            break entry;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never programmed: {entry:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
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
        .unwrap();
    let target = SocketAddr::new(IpAddr::V4(address), port);
    // Both replicas have bound the address: wait until a request answers.
    let started = Instant::now();
    while common::http_get(target, None, "/").await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the entry never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A load loop while the first replica stops.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut log = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let ok = common::http_get(target, None, "/")
                    .await
                    .is_ok_and(|a| common::echo_instance(&a).is_some());
                log.push((Instant::now(), ok));
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            log
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.stop().await;
    let stopped_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let log = load.await.unwrap();
    let failed_during = log
        .iter()
        .filter(|(at, ok)| !ok && *at <= stopped_at)
        .count();
    let after: Vec<_> = log.iter().filter(|(at, _)| *at > stopped_at).collect();
    println!(
        "replica stop under load: {} requests, {failed_during} failed while it stopped, {} after (all ok: {})",
        log.len(),
        after.len(),
        after.iter().all(|(_, ok)| *ok)
    );
    assert!(
        !after.is_empty() && after.iter().all(|(_, ok)| *ok),
        "requests failed after the stop"
    );

    // The second replica now leads: a change is programmed and reported.
    let mut changed = get(&second.channel, name).await;
    changed.display_name = "outside service".into();
    changed.addresses.push(ExternalAddress {
        host: "127.0.0.2".into(),
        ports: Vec::new(),
    });
    ExternalEntryServiceClient::new(second.channel.clone())
        .update_external_entry(UpdateExternalEntryRequest {
            external_entry: Some(changed),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["addresses".into(), "display_name".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let entry = get(&second.channel, name).await;
        if entry.observed_generation == 2 && !entry.reconciling && entry.address_statuses.len() == 2
        {
            println!(
                "the second replica reported generation 2 after {:?}",
                started.elapsed()
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "status never taken over: {entry:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    server.abort();
    second.stop().await;
    let store = common::store(&prefix).await;
    let _ = store.delete_prefix("/").await;
}
