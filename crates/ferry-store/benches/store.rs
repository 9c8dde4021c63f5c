//! Overhead of `EtcdStore` over raw etcd-client calls.
//!
//! Starts its own etcd (or uses `FERRY_ETCD_ENDPOINTS`) and measures, interleaved A/B for
//! several rounds: raw etcd-client get / put / CAS-txn against `EtcdStore::get` / `put` /
//! `update`; sequential latency (p50/p99) and throughput with concurrent tasks. Prints a
//! table with the store/raw ratios and the overhead.
//!
//! `cargo bench -p ferry-store --bench store`. Without `--bench` (e.g. under
//! `cargo test --all-targets`) it runs a short smoke version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, Compare, CompareOp, Txn, TxnOp};
use ferry_store::testsuite::TestEtcd;
use ferry_store::{EtcdConfig, EtcdStore, Store, keys};
use hdrhistogram::Histogram;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Get,
    Put,
    Cas,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Put => "put",
            Op::Cas => "cas-update",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Raw,
    Store,
}

struct Params {
    rounds: usize,
    sequential: usize,
    concurrency: usize,
    concurrent_for: Duration,
    warmup: usize,
}

/// One side's client.
#[derive(Clone)]
enum Target {
    Raw(Box<Client>),
    Store(Arc<EtcdStore>),
}

const VALUE_LEN: usize = 256;

impl Target {
    fn side(&self) -> Side {
        match self {
            Target::Raw(_) => Side::Raw,
            Target::Store(_) => Side::Store,
        }
    }

    /// Runs one operation on `key`; `rev` is the key's last known mod revision (CAS).
    async fn run(&mut self, op: Op, key: &str, value: &[u8], rev: &mut i64) {
        match (self, op) {
            (Target::Raw(client), Op::Get) => {
                let resp = client.get(key, None).await.expect("raw get");
                assert!(
                    resp.kvs()
                        .first()
                        .is_some_and(|kv| kv.value().len() == VALUE_LEN)
                );
            }
            (Target::Store(store), Op::Get) => {
                let kv = store.get(key).await.expect("store get");
                assert!(kv.is_some_and(|kv| kv.value.len() == VALUE_LEN));
            }
            (Target::Raw(client), Op::Put) => {
                client.put(key, value, None).await.expect("raw put");
            }
            (Target::Store(store), Op::Put) => {
                store
                    .put(key, value.to_vec(), None)
                    .await
                    .expect("store put");
            }
            (Target::Raw(client), Op::Cas) => {
                let txn = Txn::new()
                    .when([Compare::mod_revision(key, CompareOp::Equal, *rev)])
                    .and_then([TxnOp::put(key, value, None)])
                    .or_else([TxnOp::get(key, None)]);
                let resp = client.txn(txn).await.expect("raw txn");
                assert!(resp.succeeded(), "raw CAS conflict");
                *rev = resp.header().map_or(0, |h| h.revision());
            }
            (Target::Store(store), Op::Cas) => {
                *rev = store
                    .update(key, value.to_vec(), *rev)
                    .await
                    .expect("store update");
            }
        }
    }
}

#[derive(Default)]
struct Results {
    latency: Option<Histogram<u64>>,
    throughput: Vec<f64>,
    /// Client CPU time and operation count of the concurrent phases.
    cpu: Duration,
    cpu_ops: f64,
}

impl Results {
    fn histogram(&mut self) -> &mut Histogram<u64> {
        self.latency.get_or_insert_with(new_histogram)
    }

    fn p(&self, q: f64) -> Duration {
        Duration::from_nanos(self.latency.as_ref().map_or(0, |h| h.value_at_quantile(q)))
    }

    fn cpu_per_op(&self) -> Duration {
        if self.cpu_ops == 0.0 {
            return Duration::ZERO;
        }
        self.cpu.div_f64(self.cpu_ops)
    }

    fn ops_per_sec(&self) -> f64 {
        let mut t = self.throughput.clone();
        t.sort_by(f64::total_cmp);
        t.get(t.len() / 2).copied().unwrap_or(0.0)
    }
}

/// The last mod revision of `key`.
async fn revision_of(store: &EtcdStore, key: &str) -> i64 {
    store
        .get(key)
        .await
        .expect("get")
        .expect("key exists")
        .mod_revision
}

/// Runs `n` operations one after the other; returns their latency histogram.
async fn sequential(
    target: &mut Target,
    store: &EtcdStore,
    op: Op,
    key: &str,
    n: usize,
) -> Histogram<u64> {
    let value = vec![b'x'; VALUE_LEN];
    let mut rev = revision_of(store, key).await;
    let mut hist = new_histogram();
    for _ in 0..n {
        let start = Instant::now();
        target.run(op, key, &value, &mut rev).await;
        let elapsed = start.elapsed().as_nanos() as u64;
        hist.record(elapsed.max(1)).expect("record latency");
    }
    hist
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds")
}

async fn concurrent(
    target: &Target,
    store: &EtcdStore,
    op: Op,
    keys: &[String],
    duration: Duration,
) -> (f64, f64) {
    let mut revs = Vec::with_capacity(keys.len());
    for key in keys {
        revs.push(revision_of(store, key).await);
    }
    let mut tasks = Vec::new();
    let start = Instant::now();
    for (key, mut rev) in keys.iter().cloned().zip(revs) {
        let mut target = target.clone();
        tasks.push(tokio::spawn(async move {
            let value = vec![b'y'; VALUE_LEN];
            let mut n = 0u64;
            while start.elapsed() < duration {
                target.run(op, &key, &value, &mut rev).await;
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("bench task");
    }
    (total as f64 / start.elapsed().as_secs_f64(), total as f64)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// CPU time this process has used so far (all threads), from `/proc/self/task/*/schedstat`;
/// `None` where unavailable.
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        let Ok(stat) = std::fs::read_to_string(path) else {
            continue;
        };
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

fn fmt_us(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 100.0 {
        format!("{us:.1}µs")
    } else {
        format!("{us:.0}µs")
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let params = if full {
        Params {
            rounds: 8,
            sequential: 400,
            concurrency: 16,
            concurrent_for: Duration::from_millis(400),
            warmup: 200,
        }
    } else {
        Params {
            rounds: 1,
            sequential: 20,
            concurrency: 4,
            concurrent_for: Duration::from_millis(50),
            warmup: 5,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(params, full));
}

async fn run(params: Params, full: bool) {
    let bench_start = Instant::now();
    let etcd = TestEtcd::start();
    let endpoints = etcd.endpoints().to_vec();
    let raw = Client::connect(&endpoints, None)
        .await
        .expect("connect etcd-client");
    let store = Arc::new(
        EtcdStore::connect(EtcdConfig::new(endpoints.clone()))
            .await
            .expect("connect store"),
    );
    let prefix = keys::test_prefix("bench");
    let key_of = |side: Side, i: usize| prefix.key(&format!("{side:?}/k{i:02}"));
    let value = vec![b'v'; VALUE_LEN];
    for side in [Side::Raw, Side::Store] {
        for i in 0..params.concurrency.max(1) {
            store
                .put(&key_of(side, i), value.clone(), None)
                .await
                .expect("preload");
        }
    }
    let targets = [Target::Raw(Box::new(raw)), Target::Store(store.clone())];
    let ops = [Op::Get, Op::Put, Op::Cas];

    // Warm up connections and code paths.
    for target in &targets {
        let mut t = target.clone();
        let key = key_of(t.side(), 0);
        for op in ops {
            sequential(&mut t, &store, op, &key, params.warmup).await;
        }
    }

    let mut results: Vec<[Results; 2]> = ops
        .iter()
        .map(|_| [Results::default(), Results::default()])
        .collect();
    // Per-round store/raw ratios: adjacent runs share the server's drift (batching, GC).
    let mut paired: Vec<Vec<f64>> = ops.iter().map(|_| Vec::new()).collect();
    let mut paired_p50: Vec<Vec<f64>> = ops.iter().map(|_| Vec::new()).collect();
    for round in 0..params.rounds {
        for (o, &op) in ops.iter().enumerate() {
            // Alternate which side goes first.
            let order: [usize; 2] = if (round + o) % 2 == 0 { [0, 1] } else { [1, 0] };
            let mut round_p50 = [0.0f64; 2];
            for &s in &order {
                let mut target = targets[s].clone();
                let key = key_of(target.side(), 0);
                let hist = sequential(&mut target, &store, op, &key, params.sequential).await;
                round_p50[s] = hist.value_at_quantile(0.5) as f64;
                results[o][s]
                    .histogram()
                    .add(&hist)
                    .expect("merge histograms");
            }
            paired_p50[o].push(round_p50[1] / round_p50[0]);
            for &s in &order {
                let target = &targets[s];
                let keys: Vec<String> = (0..params.concurrency)
                    .map(|i| key_of(target.side(), i))
                    .collect();
                let cpu = process_cpu();
                let (tput, n) = concurrent(target, &store, op, &keys, params.concurrent_for).await;
                if let (Some(before), Some(after)) = (cpu, process_cpu()) {
                    results[o][s].cpu += after.saturating_sub(before);
                    results[o][s].cpu_ops += n;
                }
                results[o][s].throughput.push(tput);
            }
            let [raw, st] = &results[o];
            if let (Some(r), Some(t)) = (raw.throughput.last(), st.throughput.last()) {
                paired[o].push(t / r);
            }
        }
    }
    let _ = store.delete_prefix(prefix.as_str()).await;

    println!();
    println!(
        "ferry-store bench: {} rounds interleaved A/B, {} sequential ops per side per round, {} concurrent tasks for {:?}, {}-byte values, etcd at {} ({})",
        params.rounds,
        params.sequential,
        params.concurrency,
        params.concurrent_for,
        VALUE_LEN,
        endpoints.join(","),
        if etcd.is_private() {
            "private"
        } else {
            "external"
        },
    );
    println!(
        "{:<10} | {:>7} {:>7} {:>6} {:>6} | {:>7} {:>7} {:>6} {:>6} | {:>6} {:>6} {:>6} | {:>7} {:>7} {:>7}",
        "op",
        "raw p50",
        "raw p99",
        "op/s",
        "cpu/op",
        "st p50",
        "st p99",
        "op/s",
        "cpu/op",
        "p50 x",
        "p99 x",
        "op/s x",
        "p50 ovh",
        "op/s ovh",
        "cpu ovh"
    );
    for (o, op) in ops.iter().enumerate() {
        let [raw, st] = &results[o];
        let p50 = median(&paired_p50[o]);
        let p99 = st.p(0.99).as_secs_f64() / raw.p(0.99).as_secs_f64();
        let tput = median(&paired[o]);
        let cpu = st.cpu_per_op().as_secs_f64() / raw.cpu_per_op().as_secs_f64();
        println!(
            "{:<10} | {:>7} {:>7} {:>6.0} {:>6} | {:>7} {:>7} {:>6.0} {:>6} | {:>6.3} {:>6.3} {:>6.3} | {:>6.1}% {:>6.1}% {:>6.1}%",
            op.name(),
            fmt_us(raw.p(0.5)),
            fmt_us(raw.p(0.99)),
            raw.ops_per_sec(),
            fmt_us(raw.cpu_per_op()),
            fmt_us(st.p(0.5)),
            fmt_us(st.p(0.99)),
            st.ops_per_sec(),
            fmt_us(st.cpu_per_op()),
            p50,
            p99,
            tput,
            (p50 - 1.0) * 100.0,
            (1.0 / tput - 1.0) * 100.0,
            (cpu - 1.0) * 100.0,
        );
    }
    println!(
        "p50/p99: sequential latency, all rounds pooled. op/s: median over rounds. cpu/op: CPU of this \
         process (all threads) per op during the concurrent phases.\nx = store / raw (p50 and op/s: \
         median of the per-round ratios). ovh = store overhead in p50 latency, throughput and client CPU; \
         negative = store cheaper.{}",
        if full {
            ""
        } else {
            " [smoke run: pass --bench for real numbers]"
        }
    );
    println!("total time {:?}", bench_start.elapsed());
}
