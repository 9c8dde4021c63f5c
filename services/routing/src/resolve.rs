//! Host name resolution for external entries: every host name is looked up at most every
//! [`REFRESH`] (the proto's "at least every 30 s"), and every address it resolves to is
//! used. One resolver is shared by the programming loop and the status controller.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// How long a resolution is used before the host is looked up again.
pub const REFRESH: Duration = Duration::from_secs(30);

/// Caches host name lookups.
#[derive(Debug, Default)]
pub struct Resolver {
    cache: Mutex<HashMap<String, (Instant, Vec<IpAddr>)>>,
}

impl Resolver {
    /// The addresses of every host name in `hosts` (IP literals are left out: they stand
    /// for themselves). A host that does not resolve maps to no address.
    pub async fn resolve(
        &self,
        hosts: impl IntoIterator<Item = &str>,
    ) -> HashMap<String, Vec<IpAddr>> {
        let mut cache = self.cache.lock().await;
        let mut out = HashMap::new();
        for host in hosts {
            if host.parse::<IpAddr>().is_ok() || out.contains_key(host) {
                continue;
            }
            let fresh = cache
                .get(host)
                .filter(|(at, _)| at.elapsed() < REFRESH)
                .map(|(_, ips)| ips.clone());
            let ips = match fresh {
                Some(ips) => ips,
                None => {
                    let ips: Vec<IpAddr> = match tokio::net::lookup_host((host, 0)).await {
                        Ok(found) => {
                            let mut ips: Vec<IpAddr> = found.map(|a| a.ip()).collect();
                            ips.sort();
                            ips.dedup();
                            ips
                        }
                        Err(error) => {
                            tracing::warn!(host, %error, "cannot resolve an external entry's host");
                            Vec::new()
                        }
                    };
                    cache.insert(host.to_string(), (Instant::now(), ips.clone()));
                    ips
                }
            };
            out.insert(host.to_string(), ips);
        }
        out
    }
}
