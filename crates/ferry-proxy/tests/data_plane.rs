//! The proxy against real TCP servers on loopback: round-robin evenness, client-IP affinity,
//! a backend killed under load, blue-green switches under load (with switch latency),
//! draining, external-style health checks (TCP and HTTP), two proxies on one port, refusal
//! and graceful shutdown.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_proxy::{Affinity, BackendSet, CheckKind, HealthCheck, Proxy, ProxyError, ProxyOptions};
use support::{LineClient, TestServer, ask_once, fast_tcp_check, healthy, wait_for};
use tokio::io::AsyncReadExt;

/// A failed request: when its connection was opened, and the backend last seen on it.
type Failure = (Instant, Option<String>);

/// A request of the load loop: connect began, answer came, colour of the answer.
type Answer = (Instant, Instant, String);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn options(health_check: Option<HealthCheck>) -> ProxyOptions {
    ProxyOptions {
        health_check,
        drain_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_millis(500),
    }
}

async fn servers(prefix: &str, n: usize) -> Vec<TestServer> {
    let mut servers = Vec::new();
    for i in 1..=n {
        servers.push(TestServer::start(&format!("{prefix}-{i}")).await);
    }
    servers
}

fn backends(servers: &[TestServer]) -> Vec<ferry_proxy::Backend> {
    servers.iter().map(TestServer::backend).collect()
}

/// 600 connections from 4 concurrent clients over 3 backends: each backend gets 200 ± 5 %
/// (the cursor is shared, so the spread is exact unless a connect fails).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_spreads_evenly_over_three_backends() {
    let servers = servers("rr", 3).await;
    let proxy = Proxy::bind(loopback(), options(None)).await.unwrap();
    proxy.set_backends(BackendSet::round_robin(backends(&servers)));
    let addr = proxy.local_addr();
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(tokio::spawn(async move {
            let mut seen: HashMap<String, u64> = HashMap::new();
            for _ in 0..150 {
                let id = ask_once(addr, None)
                    .await
                    .expect("request through the proxy");
                *seen.entry(id).or_default() += 1;
            }
            seen
        }));
    }
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for client in clients {
        for (id, n) in client.await.unwrap() {
            *total.entry(id).or_default() += n;
        }
    }
    println!("round robin over 3 backends, 600 connections: {total:?}");
    assert_eq!(total.len(), 3, "{total:?}");
    for (id, n) in &total {
        assert!(
            (190..=210).contains(n),
            "{id} got {n} of 600 (tolerance 200 ± 10): {total:?}"
        );
    }
    for server in &servers {
        assert_eq!(server.requests(), total[&server.id]);
    }
    let stats = proxy.stats();
    assert_eq!(stats.accepted, 600);
    assert_eq!(stats.forwarded, 600);
    assert_eq!(stats.failed_connects, 0);
    assert!(
        stats.backends.iter().all(|b| b.forwarded == total[&b.id]),
        "{stats:?}"
    );
    proxy.shutdown().await;
}

/// Six clients (127.0.0.2 ..= 127.0.0.7) each stick to one backend, two clients per backend;
/// when a client's backend dies it moves to a live one and sticks there; the others keep
/// theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_affinity_keeps_a_client_on_one_live_instance() {
    let mut servers = servers("aff", 3).await;
    let proxy = Proxy::bind(loopback(), options(None)).await.unwrap();
    proxy.set_backends(BackendSet {
        backends: backends(&servers),
        affinity: Affinity::ClientIp {
            idle_timeout: Duration::from_secs(60),
        },
        health_aware: true,
    });
    let addr = proxy.local_addr();
    let clients: Vec<IpAddr> = (2..=7)
        .map(|n| IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .collect();
    let mut bound: HashMap<IpAddr, String> = HashMap::new();
    for _ in 0..10 {
        for &client in &clients {
            let id = ask_once(addr, Some(client)).await.expect("request");
            let first = bound.entry(client).or_insert_with(|| id.clone());
            assert_eq!(*first, id, "client {client} moved while its backend lived");
        }
    }
    let mut per_backend: HashMap<&str, usize> = HashMap::new();
    for id in bound.values() {
        *per_backend.entry(id.as_str()).or_default() += 1;
    }
    assert_eq!(per_backend.len(), 3, "{bound:?}");
    assert!(per_backend.values().all(|n| *n == 2), "{bound:?}");

    // The backend of 127.0.0.2 dies.
    let victim_id = bound[&clients[0]].clone();
    let victim = servers.iter_mut().find(|s| s.id == victim_id).unwrap();
    victim.stop().await;
    let mut moved_to = None;
    for _ in 0..10 {
        for &client in &clients {
            let id = ask_once(addr, Some(client))
                .await
                .expect("request after a backend died");
            if bound[&client] == victim_id {
                assert_ne!(id, victim_id);
                let first = moved_to.get_or_insert_with(HashMap::new);
                let target: &mut String = first.entry(client).or_insert_with(|| id.clone());
                assert_eq!(
                    *target, id,
                    "client {client} did not stick to its new backend"
                );
            } else {
                assert_eq!(
                    bound[&client], id,
                    "client {client} moved though its backend lived"
                );
            }
        }
    }
    proxy.shutdown().await;
}

/// Eight clients loop over kept-alive connections (reconnecting every 5 requests) while one
/// of three backends is killed. Failures happen only on connections that were open to it
/// (at most one in-flight request per client); once the health checks mark it down the
/// proxy stops trying it (its failed-connect counter stays still) and the two others take
/// all requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_receives_nothing_after_the_check_interval() {
    let mut servers = servers("kill", 3).await;
    let check = fast_tcp_check();
    let detect_limit =
        check.interval * check.unhealthy_threshold + check.timeout + Duration::from_millis(800);
    let proxy = Proxy::bind(loopback(), options(Some(check))).await.unwrap();
    proxy.set_backends(BackendSet::round_robin(backends(&servers)));
    let addr = proxy.local_addr();

    let running = Arc::new(AtomicBool::new(true));
    // (connection opened at, backend last seen on it) for every failed request.
    let failures: Arc<Mutex<Vec<Failure>>> = Arc::default();
    let answered = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (running, failures, answered) = (running.clone(), failures.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            while running.load(Ordering::SeqCst) {
                let opened = Instant::now();
                let Ok(mut client) = LineClient::connect(addr, None).await else {
                    failures.lock().unwrap().push((opened, None));
                    continue;
                };
                let mut last = None;
                for _ in 0..5 {
                    match client.ask().await {
                        Ok(id) => {
                            answered.fetch_add(1, Ordering::SeqCst);
                            last = Some(id);
                        }
                        Err(_) => {
                            failures.lock().unwrap().push((opened, last.clone()));
                            break;
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let victim_id = servers[0].id.clone();
    servers[0].stop().await;
    // From here the instance is gone: no connection opened later may fail (a connection the
    // proxy opened while it was dying counts as in flight to it).
    let kill_instant = Instant::now();
    let detected = wait_for("killed backend marked unhealthy", detect_limit, || {
        !healthy(&proxy, &victim_id)
    })
    .await;
    println!("killed backend detected after {detected:?}");
    let victim_failed_connects = |proxy: &Proxy| {
        proxy
            .stats()
            .backends
            .iter()
            .find(|b| b.id == victim_id)
            .unwrap()
            .failed_connects
    };
    let before = victim_failed_connects(&proxy);
    let live_before: u64 = servers[1..].iter().map(TestServer::requests).sum();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = victim_failed_connects(&proxy);
    let live_after: u64 = servers[1..].iter().map(TestServer::requests).sum();
    running.store(false, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(before, after, "the proxy kept trying the dead backend");
    assert!(
        live_after > live_before + 100,
        "load stopped: {live_before} -> {live_after}"
    );

    let failures = failures.lock().unwrap().clone();
    println!(
        "{} requests answered, {} failed (all in flight to the killed backend)",
        answered.load(Ordering::SeqCst),
        failures.len()
    );
    assert!(
        failures.len() <= 8,
        "more failures than clients: {failures:?}"
    );
    for (opened, last) in &failures {
        assert!(
            *opened < kill_instant,
            "a connection opened after the kill failed: {last:?}"
        );
        if let Some(last) = last {
            assert_eq!(*last, victim_id, "a request to a live backend failed");
        }
    }
    proxy.shutdown().await;
}

/// Four clients loop (a new connection per request) while the entry switches blue → green
/// → blue 50 times: no request fails, every connection opened after a switch returned and
/// before the next one began answers from the new side, and the switch (from the call to the
/// first answer from the new side on a new connection) is under 1 s at p99.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_switches_under_load_with_zero_failures() {
    let blue = servers("blue", 2).await;
    let green = servers("green", 2).await;
    let proxy = Proxy::bind(loopback(), options(Some(fast_tcp_check())))
        .await
        .unwrap();
    proxy.set_backends(BackendSet::round_robin(backends(&blue)));
    let addr = proxy.local_addr();

    let running = Arc::new(AtomicBool::new(true));
    let failed = Arc::new(AtomicU64::new(0));
    // (connect began, answer came, colour)
    let log: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (running, failed, log) = (running.clone(), failed.clone(), log.clone());
        clients.push(tokio::spawn(async move {
            while running.load(Ordering::SeqCst) {
                let began = Instant::now();
                match ask_once(addr, None).await {
                    Ok(id) => {
                        let colour = id.split('-').next().unwrap().to_owned();
                        log.lock().unwrap().push((began, Instant::now(), colour));
                    }
                    Err(error) => {
                        eprintln!("request failed: {error}");
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // (call began, call returned, colour switched to)
    let mut switches: Vec<(Instant, Instant, &str)> = Vec::new();
    let mut latencies = Vec::new();
    for i in 0..50 {
        let (colour, side) = if i % 2 == 0 {
            ("green", &green)
        } else {
            ("blue", &blue)
        };
        let began = Instant::now();
        proxy.set_backends(BackendSet::round_robin(backends(side)));
        let returned = Instant::now();
        loop {
            let id = ask_once(addr, None).await.expect("probe request");
            if id.starts_with(colour) {
                break;
            }
        }
        latencies.push(began.elapsed());
        switches.push((began, returned, colour));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    running.store(false, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[(latencies.len() * 99).div_ceil(100) - 1];
    println!(
        "blue-green switch latency over 50 switches: p50 {p50:?}, p99 {p99:?}, max {:?}",
        latencies.last().unwrap()
    );
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "requests failed during the switches"
    );
    assert!(p99 < Duration::from_secs(1), "switch p99 {p99:?}");

    let log = log.lock().unwrap().clone();
    assert!(
        log.len() > 200,
        "load loop too slow: {} requests",
        log.len()
    );
    let colours: HashSet<&str> = log.iter().map(|(_, _, c)| c.as_str()).collect();
    assert_eq!(
        colours.len(),
        2,
        "responses do not show the switch: {colours:?}"
    );
    let mut checked = 0;
    for window in switches.windows(2) {
        let (_, returned, colour) = window[0];
        let (next_began, _, _) = window[1];
        for (began, answered, seen) in &log {
            if *began > returned && *answered < next_began {
                assert_eq!(
                    seen, colour,
                    "a connection opened after the switch reached the old side"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} requests fell cleanly between switches"
    );
    proxy.shutdown().await;
}

/// A kept-alive connection to a removed backend keeps working during the drain timeout and
/// is closed at its end; new connections go to the new set at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_backends_drain_then_close() {
    let blue = TestServer::start("blue").await;
    let green = TestServer::start("green").await;
    let mut opts = options(None);
    opts.drain_timeout = Duration::from_millis(600);
    let proxy = Proxy::bind(loopback(), opts).await.unwrap();
    proxy.set_backends(BackendSet::round_robin(vec![blue.backend()]));
    let addr = proxy.local_addr();
    let mut kept = LineClient::connect(addr, None).await.unwrap();
    assert_eq!(kept.ask().await.unwrap(), "blue");
    let switched = Instant::now();
    proxy.set_backends(BackendSet::round_robin(vec![green.backend()]));
    assert_eq!(ask_once(addr, None).await.unwrap(), "green");
    assert_eq!(
        kept.ask().await.unwrap(),
        "blue",
        "draining connection cut early"
    );
    // The one-shot connection is closed by the client; the proxy notices a moment later.
    let counted = Instant::now();
    while proxy.stats().active_connections != 1 && counted.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(proxy.stats().active_connections, 1);
    let closed = loop {
        match kept.ask().await {
            Ok(id) => assert_eq!(id, "blue"),
            Err(_) => break switched.elapsed(),
        }
        assert!(switched.elapsed() < Duration::from_secs(3), "never closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("drained connection closed {closed:?} after the switch (drain timeout 600 ms)");
    assert!(
        closed >= Duration::from_millis(600),
        "closed after {closed:?}"
    );
    wait_for("no connection left", Duration::from_secs(1), || {
        proxy.stats().active_connections == 0
    })
    .await;
    proxy.shutdown().await;
}

/// External entry: two outside addresses with TCP checks; one is stopped (removed, traffic
/// goes only to the live one) then restarted on its port (restored, traffic again on both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_checks_remove_a_dead_address_and_restore_it() {
    let live = TestServer::start("ext-live").await;
    let mut flaky = TestServer::start("ext-flaky").await;
    let flaky_addr = flaky.addr;
    let proxy = Proxy::bind(loopback(), options(Some(fast_tcp_check())))
        .await
        .unwrap();
    proxy.set_backends(BackendSet::round_robin(vec![
        live.backend(),
        flaky.backend(),
    ]));
    let addr = proxy.local_addr();

    flaky.stop().await;
    let removed = wait_for("stopped address removed", Duration::from_secs(2), || {
        !healthy(&proxy, "ext-flaky")
    })
    .await;
    println!("stopped address removed after {removed:?}");
    let failed_before = proxy.stats().failed_connects;
    for _ in 0..30 {
        assert_eq!(ask_once(addr, None).await.unwrap(), "ext-live");
    }
    assert_eq!(
        proxy.stats().failed_connects,
        failed_before,
        "connects went to the dead address"
    );

    let flaky = TestServer::start_on("ext-flaky", flaky_addr).await;
    let restored = wait_for("restarted address restored", Duration::from_secs(2), || {
        healthy(&proxy, "ext-flaky")
    })
    .await;
    println!("restarted address restored after {restored:?}");
    let before = flaky.requests();
    for _ in 0..30 {
        ask_once(addr, None).await.unwrap();
    }
    assert_eq!(flaky.requests() - before, 15, "round robin over both again");
    proxy.shutdown().await;
}

/// HTTP checks: an address that still accepts TCP but answers 503 on the check path is
/// removed, and restored when it answers 200 again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_checks_follow_the_status_code() {
    let one = TestServer::start("http-1").await;
    let two = TestServer::start("http-2").await;
    let mut check = fast_tcp_check();
    check.kind = CheckKind::Http {
        path: "/healthz".into(),
    };
    let proxy = Proxy::bind(loopback(), options(Some(check))).await.unwrap();
    proxy.set_backends(BackendSet::round_robin(vec![one.backend(), two.backend()]));
    let addr = proxy.local_addr();
    two.http_status.store(503, Ordering::SeqCst);
    wait_for("503 address removed", Duration::from_secs(2), || {
        !healthy(&proxy, "http-2")
    })
    .await;
    for _ in 0..20 {
        assert_eq!(ask_once(addr, None).await.unwrap(), "http-1");
    }
    two.http_status.store(302, Ordering::SeqCst);
    wait_for("3xx address restored", Duration::from_secs(2), || {
        healthy(&proxy, "http-2")
    })
    .await;
    let ids: HashSet<String> = {
        let mut ids = HashSet::new();
        for _ in 0..10 {
            ids.insert(ask_once(addr, None).await.unwrap());
        }
        ids
    };
    assert_eq!(ids.len(), 2, "{ids:?}");
    let since = proxy
        .health()
        .iter()
        .find(|h| h.id == "http-2")
        .unwrap()
        .since;
    assert!(since.elapsed().unwrap() < Duration::from_secs(2));
    proxy.shutdown().await;
}

/// Two proxies (two routing replicas) bind the same port; the kernel spreads connections
/// over both; when one shuts down the other takes every connection. A port held without
/// SO_REUSEPORT is a clear bind error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_proxies_share_one_port() {
    let servers = servers("pair", 2).await;
    let first = Proxy::bind(loopback(), options(None)).await.unwrap();
    let second = Proxy::bind(first.local_addr(), options(None))
        .await
        .unwrap();
    assert_eq!(first.local_addr(), second.local_addr());
    first.set_backends(BackendSet::round_robin(backends(&servers)));
    second.set_backends(BackendSet::round_robin(backends(&servers)));
    let addr = first.local_addr();
    for _ in 0..200 {
        ask_once(addr, None)
            .await
            .expect("request on the shared port");
    }
    let (a, b) = (first.stats().accepted, second.stats().accepted);
    println!("shared port: {a} + {b} connections");
    assert_eq!(a + b, 200);
    assert!(
        a > 0 && b > 0,
        "the kernel gave every connection to one proxy: {a} / {b}"
    );
    first.shutdown().await;
    for _ in 0..50 {
        ask_once(addr, None)
            .await
            .expect("request after one replica stopped");
    }
    assert_eq!(second.stats().accepted, b + 50);
    second.shutdown().await;

    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = plain.local_addr().unwrap();
    let error = Proxy::bind(taken, options(None)).await.unwrap_err();
    assert!(
        matches!(error, ProxyError::Bind { addr, .. } if addr == taken),
        "{error:?}"
    );
    assert!(error.to_string().contains(&taken.to_string()), "{error}");
}

/// With no eligible backend a connection is closed at once; bad options are refused
/// before binding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_backend_refuses_at_once_and_bad_options_fail() {
    let proxy = Proxy::bind(loopback(), options(None)).await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(proxy.local_addr())
        .await
        .unwrap();
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "not closed at once: {read:?}"
    );
    wait_for("refusal counted", Duration::from_secs(1), || {
        proxy.stats().refused == 1
    })
    .await;

    // A set whose only backend is down: refused too (health-aware), tried when not.
    let mut dead = TestServer::start("dead").await;
    dead.stop().await;
    proxy.set_backends(BackendSet::round_robin(vec![dead.backend()]));
    assert!(ask_once(proxy.local_addr(), None).await.is_err());
    assert!(
        !healthy(&proxy, "dead"),
        "passive ejection after a failed connect"
    );
    let since = proxy.health()[0].since;

    // A new set that keeps the dead backend keeps its health state; the live one serves.
    let live = TestServer::start("live").await;
    proxy.set_backends(BackendSet::round_robin(vec![
        dead.backend(),
        live.backend(),
    ]));
    let health = proxy.health();
    assert_eq!(health.len(), 2);
    assert!(!health[0].healthy && health[0].since == since, "{health:?}");
    assert!(health[1].healthy, "{health:?}");
    for _ in 0..5 {
        assert_eq!(ask_once(proxy.local_addr(), None).await.unwrap(), "live");
    }
    // Not health-aware: the dead backend is tried again, and the failed connect moves on.
    let failed = proxy.stats().failed_connects;
    proxy.set_backends(BackendSet {
        backends: vec![dead.backend(), live.backend()],
        affinity: Affinity::None,
        health_aware: false,
    });
    for _ in 0..4 {
        assert_eq!(ask_once(proxy.local_addr(), None).await.unwrap(), "live");
    }
    assert_eq!(
        proxy.stats().failed_connects,
        failed + 2,
        "dead backend not tried"
    );
    proxy.shutdown().await;

    let mut check = fast_tcp_check();
    check.interval = Duration::ZERO;
    let error = Proxy::bind(loopback(), options(Some(check)))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("health_check.interval"),
        "{error}"
    );
}

/// Shutdown closes the listener at once, lets an open connection work until the drain
/// timeout, then closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_accepting_and_drains() {
    let server = TestServer::start("solo").await;
    let mut opts = options(None);
    opts.drain_timeout = Duration::from_millis(500);
    let proxy = Proxy::bind(loopback(), opts).await.unwrap();
    proxy.set_backends(BackendSet::round_robin(vec![server.backend()]));
    let addr = proxy.local_addr();
    let mut kept = LineClient::connect(addr, None).await.unwrap();
    assert_eq!(kept.ask().await.unwrap(), "solo");
    let began = Instant::now();
    let stopping = tokio::spawn(proxy.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        LineClient::connect(addr, None).await.is_err(),
        "still accepting"
    );
    assert_eq!(
        kept.ask().await.unwrap(),
        "solo",
        "open connection cut before the deadline"
    );
    stopping.await.unwrap();
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert!(kept.ask().await.is_err(), "connection open after shutdown");
}
