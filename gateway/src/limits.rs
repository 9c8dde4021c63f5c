//! The gateway's limits (issue 4): per-token rate limits, the largest request message,
//! and the calls in flight per upstream instance. Overload is answered at once
//! (RESOURCE_EXHAUSTED or UNAVAILABLE, with `RetryInfo`), never by queueing.
//!
//! Configuration (gateway-only, from the environment):
//! - `FERRY_RATE_LIMIT`: calls per token, as `<n>/s`, `<n>/m` or `<n>/h` (default
//!   `100/s`); `0` or `off` disables rate limiting;
//! - `FERRY_RATE_BURST`: the calls a token may make at once above its rate (default
//!   twice the per-second rate, at least 1);
//! - `FERRY_MAX_MESSAGE_BYTES`: the largest request message (default 4 MiB, as the
//!   transcoder's 413 and gRPC's default);
//! - `FERRY_UPSTREAM_MAX_IN_FLIGHT`: calls in flight per upstream instance (default 256).
//!
//! Rate limits are kept in memory by each gateway replica: the limit applies per
//! replica, so behind N replicas a token may make up to N times its rate. Calls that
//! fail authentication are limited per client address with the same rate, so a flood
//! of bad tokens cannot flood the audit log. Refusals are recorded in the audit log at
//! most once per key and [`REFUSALS_RECORDED_EVERY`]: a client hammering past its limit
//! costs no store write per call (an audit entry is a write to etcd).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::proxy::MAX_MESSAGE_BYTES;

/// Calls in flight per upstream instance by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// How long a bucket may sit unused before it is forgotten (it is full again by then
/// for any rate above a call per this period).
const IDLE_EVICTION: Duration = Duration::from_secs(600);

/// At most one refusal per key and this period is worth an audit entry.
pub const REFUSALS_RECORDED_EVERY: Duration = Duration::from_secs(1);

/// The buckets kept before a sweep of the idle ones is forced.
const SWEEP_ABOVE: usize = 10_000;

/// A rate: `calls` per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Calls allowed per period.
    pub calls: u32,
    /// The period.
    pub per: Duration,
    /// Calls allowed at once (the bucket's size).
    pub burst: u32,
}

/// The limits, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsConfig {
    /// The per-token rate; `None` when rate limiting is off.
    pub rate: Option<Rate>,
    /// The largest request message, in bytes.
    pub max_message_bytes: usize,
    /// Calls in flight per upstream instance.
    pub upstream_max_in_flight: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            rate: Some(Rate {
                calls: 100,
                per: Duration::from_secs(1),
                burst: 200,
            }),
            max_message_bytes: MAX_MESSAGE_BYTES,
            upstream_max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

impl LimitsConfig {
    /// Reads the limits from `env` (see the module documentation).
    pub fn from_env(env: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |name: &str| {
            env.get(name)
                .map(|value| value.trim())
                .filter(|value| !value.is_empty())
        };
        let defaults = Self::default();
        let rate = match get("FERRY_RATE_LIMIT") {
            None => defaults.rate.map(|rate| (rate.calls, rate.per)),
            Some("0" | "off") => None,
            Some(value) => Some(parse_rate(value).map_err(|error| {
                anyhow::anyhow!("FERRY_RATE_LIMIT: {error} (expected e.g. 100/s, 0 or off)")
            })?),
        };
        let rate = match rate {
            None => None,
            Some((calls, per)) => {
                let burst = match get("FERRY_RATE_BURST") {
                    Some(value) => positive("FERRY_RATE_BURST", value)?,
                    None => {
                        let per_second = f64::from(calls) / per.as_secs_f64();
                        ((2.0 * per_second).ceil() as u32).max(1)
                    }
                };
                Some(Rate { calls, per, burst })
            }
        };
        let max_message_bytes = match get("FERRY_MAX_MESSAGE_BYTES") {
            Some(value) => positive("FERRY_MAX_MESSAGE_BYTES", value)? as usize,
            None => defaults.max_message_bytes,
        };
        let upstream_max_in_flight = match get("FERRY_UPSTREAM_MAX_IN_FLIGHT") {
            Some(value) => positive("FERRY_UPSTREAM_MAX_IN_FLIGHT", value)? as usize,
            None => defaults.upstream_max_in_flight,
        };
        Ok(Self {
            rate,
            max_message_bytes,
            upstream_max_in_flight,
        })
    }
}

fn positive(name: &str, value: &str) -> anyhow::Result<u32> {
    match value.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => anyhow::bail!("{name}: expected a positive whole number, got {value:?}"),
    }
}

/// `<n>/s`, `<n>/m` or `<n>/h` (also `sec`, `min`, `hour`).
fn parse_rate(value: &str) -> Result<(u32, Duration), String> {
    let (calls, unit) = value
        .split_once('/')
        .ok_or_else(|| format!("{value:?} has no unit"))?;
    let calls: u32 = calls
        .trim()
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{calls:?} is not a positive whole number"))?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        other => return Err(format!("unknown unit {other:?}")),
    };
    Ok((calls, per))
}

/// A call refused by a rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// How long until a call would pass.
    pub retry_after: Duration,
    /// True for the first refusal of the key in [`REFUSALS_RECORDED_EVERY`]: the one to
    /// record in the audit log.
    pub record: bool,
}

/// A token bucket: `burst` tokens, refilled at the rate, one taken per call.
#[derive(Clone, Debug)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
    /// When a refusal was last marked to be recorded.
    recorded_refusal: Option<Instant>,
}

impl Bucket {
    /// A full bucket.
    pub fn full(rate: &Rate, now: Instant) -> Self {
        Self {
            tokens: f64::from(rate.burst),
            last: now,
            recorded_refusal: None,
        }
    }

    /// Takes one token: `Ok` when there was one, else how long until there is.
    pub fn take(&mut self, rate: &Rate, now: Instant) -> Result<(), Refused> {
        let per_second = f64::from(rate.calls) / rate.per.as_secs_f64();
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(f64::from(rate.burst));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / per_second;
            let record = self
                .recorded_refusal
                .is_none_or(|at| now.saturating_duration_since(at) >= REFUSALS_RECORDED_EVERY);
            if record {
                self.recorded_refusal = Some(now);
            }
            Err(Refused {
                retry_after: Duration::from_secs_f64(wait).max(Duration::from_millis(1)),
                record,
            })
        }
    }
}

/// Who a rate limit applies to.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Key {
    /// An authenticated token (`tokens/<id>`).
    Token(String),
    /// A client address that sent no valid token.
    Address(String),
}

/// The replica's rate limiter: one bucket per key, the idle ones forgotten.
pub struct RateLimiter {
    rate: Option<Rate>,
    buckets: Mutex<Buckets>,
}

struct Buckets {
    by_key: HashMap<Key, Bucket>,
    last_sweep: Instant,
}

impl RateLimiter {
    /// A limiter at `rate` (`None`: every call passes).
    pub fn new(rate: Option<Rate>) -> Self {
        Self {
            rate,
            buckets: Mutex::new(Buckets {
                by_key: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    /// Charges one call to `key`: `Ok` when allowed, else how long until it would be
    /// (and whether this refusal is the one to record).
    pub fn check(&self, key: Key) -> Result<(), Refused> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.by_key.len() > SWEEP_ABOVE
            || now.saturating_duration_since(buckets.last_sweep) > IDLE_EVICTION
        {
            buckets
                .by_key
                .retain(|_, bucket| now.saturating_duration_since(bucket.last) < IDLE_EVICTION);
            buckets.last_sweep = now;
        }
        buckets
            .by_key
            .entry(key)
            .or_insert_with(|| Bucket::full(&rate, now))
            .take(&rate, now)
    }

    /// The buckets kept (for tests).
    pub fn len(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_key
            .len()
    }

    /// True when no bucket is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rate(calls: u32, burst: u32) -> Rate {
        Rate {
            calls,
            per: Duration::from_secs(1),
            burst,
        }
    }

    #[test]
    fn config_defaults_and_overrides() {
        let config = LimitsConfig::from_env(&env(&[])).unwrap();
        assert_eq!(config, LimitsConfig::default());
        assert_eq!(config.rate.unwrap().burst, 200);
        let config = LimitsConfig::from_env(&env(&[
            ("FERRY_RATE_LIMIT", "2/s"),
            ("FERRY_RATE_BURST", "3"),
            ("FERRY_MAX_MESSAGE_BYTES", "1024"),
            ("FERRY_UPSTREAM_MAX_IN_FLIGHT", "1"),
        ]))
        .unwrap();
        assert_eq!(config.rate, Some(rate(2, 3)));
        assert_eq!(config.max_message_bytes, 1024);
        assert_eq!(config.upstream_max_in_flight, 1);
        let per_minute = LimitsConfig::from_env(&env(&[("FERRY_RATE_LIMIT", "60/m")])).unwrap();
        assert_eq!(
            per_minute.rate,
            Some(Rate {
                calls: 60,
                per: Duration::from_secs(60),
                burst: 2
            })
        );
        for off in ["0", "off"] {
            let config = LimitsConfig::from_env(&env(&[("FERRY_RATE_LIMIT", off)])).unwrap();
            assert_eq!(config.rate, None);
        }
    }

    #[test]
    fn bad_config_is_refused_with_the_variable_named() {
        for (name, value) in [
            ("FERRY_RATE_LIMIT", "fast"),
            ("FERRY_RATE_LIMIT", "10/fortnight"),
            ("FERRY_RATE_LIMIT", "-1/s"),
            ("FERRY_RATE_BURST", "0"),
            ("FERRY_MAX_MESSAGE_BYTES", "4MiB"),
            ("FERRY_UPSTREAM_MAX_IN_FLIGHT", "0"),
        ] {
            let error = LimitsConfig::from_env(&env(&[(name, value)])).unwrap_err();
            assert!(error.to_string().contains(name), "{name}={value}: {error}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_allows_its_burst_then_its_rate() {
        let rate = rate(2, 3);
        let mut bucket = Bucket::full(&rate, Instant::now());
        for _ in 0..3 {
            assert_eq!(bucket.take(&rate, Instant::now()), Ok(()));
        }
        let wait = bucket.take(&rate, Instant::now()).unwrap_err().retry_after;
        assert_eq!(wait, Duration::from_millis(500));
        tokio::time::advance(Duration::from_millis(499)).await;
        assert!(bucket.take(&rate, Instant::now()).is_err());
        tokio::time::advance(Duration::from_millis(2)).await;
        assert_eq!(bucket.take(&rate, Instant::now()), Ok(()));
        // A long pause refills the bucket to its burst, no further.
        tokio::time::advance(Duration::from_secs(3600)).await;
        for _ in 0..3 {
            assert_eq!(bucket.take(&rate, Instant::now()), Ok(()));
        }
        assert!(bucket.take(&rate, Instant::now()).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn each_key_has_its_own_bucket_and_idle_ones_are_forgotten() {
        let limiter = RateLimiter::new(Some(rate(1, 1)));
        let a = Key::Token("tokens/a".into());
        assert_eq!(limiter.check(a.clone()), Ok(()));
        assert!(limiter.check(a.clone()).is_err());
        // Another token, and an address, are not held back by `a`.
        assert_eq!(limiter.check(Key::Token("tokens/b".into())), Ok(()));
        assert_eq!(limiter.check(Key::Address("10.0.0.1".into())), Ok(()));
        assert_eq!(limiter.len(), 3);
        tokio::time::advance(IDLE_EVICTION + Duration::from_secs(1)).await;
        assert_eq!(limiter.check(a), Ok(()));
        assert_eq!(limiter.len(), 1, "the idle buckets are gone");
    }

    #[test]
    fn no_rate_means_no_limit() {
        let limiter = RateLimiter::new(None);
        for _ in 0..1000 {
            assert_eq!(limiter.check(Key::Token("tokens/a".into())), Ok(()));
        }
        assert!(limiter.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn one_refusal_per_key_and_period_is_recorded() {
        let limiter = RateLimiter::new(Some(rate(1, 1)));
        let a = Key::Token("tokens/a".into());
        let b = Key::Token("tokens/b".into());
        assert_eq!(limiter.check(a.clone()), Ok(()));
        assert_eq!(limiter.check(b.clone()), Ok(()));
        let refusals: Vec<bool> = (0..50)
            .map(|_| limiter.check(a.clone()).unwrap_err().record)
            .collect();
        assert_eq!(
            refusals.iter().filter(|record| **record).count(),
            1,
            "a flood of refusals makes one audit entry"
        );
        assert!(refusals[0], "the first refusal is the one recorded");
        // Another key's first refusal is recorded too.
        assert!(limiter.check(b).unwrap_err().record);
        // A period later (the bucket refilled, then emptied again), one more.
        tokio::time::advance(REFUSALS_RECORDED_EVERY).await;
        assert_eq!(limiter.check(a.clone()), Ok(()));
        assert!(limiter.check(a.clone()).unwrap_err().record);
        assert!(!limiter.check(a).unwrap_err().record);
    }
}
