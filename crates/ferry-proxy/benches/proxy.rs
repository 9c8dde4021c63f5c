//! Benchmark, in one run and against the same three backends: a request sent directly to an
//! instance, through Ferry's proxy, and through HAProxy configured the same way (`mode tcp`,
//! `balance roundrobin`, one thread, started from a generated config in a temp dir).
//!
//! Measured: request/response latency (p50, p99) over one kept-alive connection and over a
//! new connection per request, and throughput (requests/s, 16 concurrent kept-alive
//! clients). The backends, the Ferry proxy and the clients each run on their own
//! current-thread tokio runtime driven by its own OS thread (like three one-thread
//! processes; HAProxy runs with `nbthread 1`).
//!
//! Run: `cargo bench -p ferry-proxy` (needs `/usr/sbin/haproxy`, or `FERRY_BENCH_HAPROXY`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferry_proxy::{BackendSet, Proxy, ProxyOptions};
use hdrhistogram::Histogram;
use support::{LineClient, TestServer};
use tokio::runtime::Runtime;

const PERSISTENT_REQUESTS: u64 = 5_000;
const NEW_CONNECTION_REQUESTS: u64 = 1_000;
const CLIENTS: usize = 16;
/// Throughput is measured in rounds, the targets interleaved, so that a change in the
/// machine's load (it is shared) does not favour one target; the median round is reported.
const THROUGHPUT_ROUNDS: usize = 5;
const THROUGHPUT_ROUND: Duration = Duration::from_millis(800);

/// A one-thread tokio runtime driven by its own OS thread (like a separate one-thread
/// process); stops when dropped.
struct Lane {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Lane {
    fn start(name: &str) -> Lane {
        let runtime: Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build runtime");
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })
            .expect("spawn runtime thread");
        Lane {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Runs `future` on the lane's thread and waits for its result.
    fn run<F>(&self, future: F) -> F::Output
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = self.handle.spawn(future);
        wait_for_task(task).expect("lane task")
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Waits for a join handle from outside any runtime.
fn wait_for_task<T>(task: tokio::task::JoinHandle<T>) -> Result<T, tokio::task::JoinError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("build waiter runtime")
        .block_on(task)
}

struct Figures {
    persistent: Histogram<u64>,
    new_connection: Histogram<u64>,
    throughput: f64,
    /// CPU time the proxy spent per request during the throughput rounds (NaN for direct):
    /// a figure the machine's other load barely moves.
    cpu_per_request_us: f64,
}

/// Where the clients send their requests: one address for latency, per-client addresses for
/// throughput (the direct case spreads clients over the instances like the proxies do).
struct Target {
    name: &'static str,
    latency_addr: SocketAddr,
    client_addrs: Vec<SocketAddr>,
    /// The `schedstat` file of the proxy's thread (its first field is the CPU time in ns).
    schedstat: Option<PathBuf>,
}

/// Returns the CPU time (ns) a thread has run, from its `schedstat` file.
fn cpu_ns(schedstat: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(schedstat)
        .unwrap_or_else(|error| panic!("read {}: {error}", schedstat.display()));
    text.split_whitespace()
        .next()
        .and_then(|field| field.parse().ok())
        .unwrap_or_else(|| panic!("unexpected {}: {text:?}", schedstat.display()))
}

fn main() {
    let haproxy_path = std::env::var_os("FERRY_BENCH_HAPROXY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/haproxy"));
    assert!(
        haproxy_path.is_file(),
        "haproxy not found at {} (install the Debian package haproxy, or set FERRY_BENCH_HAPROXY \
         to its path): the benchmark compares against it and cannot run without it",
        haproxy_path.display()
    );

    let backends = Lane::start("backends");
    let proxy_lane = Lane::start("ferry-proxy");
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build client runtime");

    let servers: Vec<TestServer> = backends.run(async {
        let mut servers = Vec::new();
        for i in 1..=3 {
            servers.push(TestServer::start(&format!("instance-{i}")).await);
        }
        servers
    });
    let instance_addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();

    let backend_list: Vec<ferry_proxy::Backend> = servers.iter().map(TestServer::backend).collect();
    let proxy = proxy_lane.run(async move {
        let proxy = Proxy::bind("127.0.0.1:0".parse().unwrap(), ProxyOptions::default())
            .await
            .expect("bind ferry proxy");
        proxy.set_backends(BackendSet::round_robin(backend_list));
        proxy
    });

    // The proxy lane's thread, as seen from /proc.
    let proxy_schedstat = proxy_lane.run(async {
        let thread = std::fs::read_link("/proc/thread-self").expect("read /proc/thread-self");
        PathBuf::from("/proc").join(thread).join("schedstat")
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let (mut haproxy, haproxy_addr) = start_haproxy(&haproxy_path, dir.path(), &instance_addrs);

    let targets = [
        Target {
            name: "direct",
            latency_addr: instance_addrs[0],
            client_addrs: (0..CLIENTS).map(|i| instance_addrs[i % 3]).collect(),
            schedstat: None,
        },
        Target {
            name: "ferry-proxy",
            latency_addr: proxy.local_addr(),
            client_addrs: vec![proxy.local_addr(); CLIENTS],
            schedstat: Some(proxy_schedstat),
        },
        Target {
            name: "haproxy",
            latency_addr: haproxy_addr,
            client_addrs: vec![haproxy_addr; CLIENTS],
            schedstat: Some(PathBuf::from(format!("/proc/{}/schedstat", haproxy.id()))),
        },
    ];
    let started = Instant::now();
    let mut figures: Vec<Figures> = targets
        .iter()
        .map(|target| {
            eprintln!("measuring latency of {} ...", target.name);
            client_rt.block_on(measure_latency(target))
        })
        .collect();
    eprintln!("measuring throughput ({THROUGHPUT_ROUNDS} interleaved rounds) ...");
    let mut rounds: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut cpu: Vec<(u64, u64)> = vec![(0, 0); targets.len()];
    for _ in 0..THROUGHPUT_ROUNDS {
        for (index, target) in targets.iter().enumerate() {
            let cpu_before = target.schedstat.as_deref().map(cpu_ns);
            let (rate, requests) = client_rt.block_on(measure_throughput(target));
            if let (Some(path), Some(before)) = (target.schedstat.as_deref(), cpu_before) {
                cpu[index].0 += cpu_ns(path) - before;
                cpu[index].1 += requests;
            }
            rounds[index].push(rate);
        }
    }
    for ((figure, mut round), (cpu_ns, requests)) in figures.iter_mut().zip(rounds).zip(cpu) {
        round.sort_by(f64::total_cmp);
        figure.throughput = round[round.len() / 2];
        figure.cpu_per_request_us = if requests == 0 {
            f64::NAN
        } else {
            cpu_ns as f64 / requests as f64 / 1000.0
        };
    }
    let took = started.elapsed();

    let _ = haproxy.kill();
    let _ = haproxy.wait();
    let stats = proxy.stats();
    proxy_lane.run(proxy.shutdown());
    // The servers' tasks live on the backends lane; stop them there.
    backends.run(async move { drop(servers) });

    print_table(&targets, &figures);
    println!(
        "\nferry-proxy: {} connections forwarded, {} failed connects; measured in {:.1} s",
        stats.forwarded,
        stats.failed_connects,
        took.as_secs_f64()
    );
    let direct = &figures[0];
    let ferry = &figures[1];
    let peer = &figures[2];
    let added_p50 = micros(ferry.persistent.value_at_quantile(0.5))
        - micros(direct.persistent.value_at_quantile(0.5));
    let ratio = ferry.throughput / direct.throughput;
    println!("targets (informative, not asserted):");
    println!(
        "  added p50 latency (kept-alive) <= 100 us: {:.1} us -> {}",
        added_p50,
        verdict(added_p50 <= 100.0)
    );
    println!(
        "  throughput >= 0.75x direct: {ratio:.2}x -> {}",
        verdict(ratio >= 0.75)
    );
    println!(
        "  ahead of haproxy (throughput): {:.0} vs {:.0} req/s -> {}",
        ferry.throughput,
        peer.throughput,
        verdict(ferry.throughput > peer.throughput)
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn micros(nanos: u64) -> f64 {
    nanos as f64 / 1000.0
}

async fn measure_latency(target: &Target) -> Figures {
    // Kept-alive latency.
    let mut client = LineClient::connect(target.latency_addr, None)
        .await
        .expect("connect");
    for _ in 0..200 {
        client.ask().await.expect("warm-up request");
    }
    let mut persistent = Histogram::<u64>::new(3).unwrap();
    for _ in 0..PERSISTENT_REQUESTS {
        let began = Instant::now();
        client.ask().await.expect("request");
        persistent
            .record(began.elapsed().as_nanos() as u64)
            .unwrap();
    }
    drop(client);

    // New connection per request (connect + request + answer).
    let mut new_connection = Histogram::<u64>::new(3).unwrap();
    for _ in 0..NEW_CONNECTION_REQUESTS {
        let began = Instant::now();
        support::ask_once(target.latency_addr, None)
            .await
            .expect("request on a new connection");
        new_connection
            .record(began.elapsed().as_nanos() as u64)
            .unwrap();
    }
    Figures {
        persistent,
        new_connection,
        throughput: 0.0,
        cpu_per_request_us: f64::NAN,
    }
}

/// Requests per second of CLIENTS kept-alive clients over one round, and their number.
async fn measure_throughput(target: &Target) -> (f64, u64) {
    let running = Arc::new(AtomicBool::new(true));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for &addr in &target.client_addrs {
        let (running, done) = (running.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = LineClient::connect(addr, None).await.expect("connect");
            let mut n = 0;
            while running.load(Ordering::Relaxed) {
                client.ask().await.expect("request");
                n += 1;
            }
            done.fetch_add(n, Ordering::Relaxed);
        }));
    }
    let began = Instant::now();
    tokio::time::sleep(THROUGHPUT_ROUND).await;
    running.store(false, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("client task");
    }
    let requests = done.load(Ordering::Relaxed);
    (requests as f64 / began.elapsed().as_secs_f64(), requests)
}

/// One row of the table: label, how to read the value, whether it is a latency.
type Row = (&'static str, fn(&Figures) -> f64, bool);

fn print_table(targets: &[Target], figures: &[Figures]) {
    let direct = &figures[0];
    println!();
    print!("{:<32}", "measure");
    for target in targets {
        print!(" {:>27}", target.name);
    }
    println!();
    let rows: [Row; 6] = [
        (
            "kept-alive p50 (us)",
            |f| micros(f.persistent.value_at_quantile(0.5)),
            true,
        ),
        (
            "kept-alive p99 (us)",
            |f| micros(f.persistent.value_at_quantile(0.99)),
            true,
        ),
        (
            "new connection p50 (us)",
            |f| micros(f.new_connection.value_at_quantile(0.5)),
            true,
        ),
        (
            "new connection p99 (us)",
            |f| micros(f.new_connection.value_at_quantile(0.99)),
            true,
        ),
        ("throughput 16 clients (req/s)", |f| f.throughput, false),
        ("proxy CPU per request (us)", |f| f.cpu_per_request_us, true),
    ];
    for (label, value, latency) in rows {
        print!("{label:<32}");
        let base = value(direct);
        for (index, figure) in figures.iter().enumerate() {
            let v = value(figure);
            let cell = if v.is_nan() {
                "-".to_owned()
            } else if base.is_nan() {
                format!("{v:.2}")
            } else if index == 0 {
                format!("{v:.1}")
            } else if latency {
                format!("{v:.1} ({:+.1}, {:.2}x)", v - base, v / base)
            } else {
                format!("{v:.0} ({:.2}x)", v / base)
            };
            print!(" {cell:>27}");
        }
        println!();
    }
}

fn start_haproxy(
    path: &std::path::Path,
    dir: &std::path::Path,
    instances: &[SocketAddr],
) -> (Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("pick a free port")
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut config = format!(
        "global\n    nbthread 1\n    maxconn 4096\n\n\
         defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 60s\n    timeout server 60s\n\n\
         frontend ferry_bench\n    bind {addr}\n    default_backend instances\n\n\
         backend instances\n    balance roundrobin\n"
    );
    for (i, instance) in instances.iter().enumerate() {
        config.push_str(&format!("    server instance-{} {instance}\n", i + 1));
    }
    let config_path = dir.join("haproxy.cfg");
    std::fs::write(&config_path, config).expect("write haproxy config");
    let log_path = dir.join("haproxy.log");
    let log = std::fs::File::create(&log_path).expect("create haproxy log");
    let mut child = Command::new(path)
        .arg("-db")
        .arg("-f")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone log handle"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|error| panic!("start {}: {error}", path.display()));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().expect("poll haproxy") {
            panic!(
                "haproxy exited with {status}: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        if std::net::TcpStream::connect(addr).is_ok() {
            return (child, addr);
        }
        assert!(
            Instant::now() < deadline,
            "haproxy not listening on {addr} after 5 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
