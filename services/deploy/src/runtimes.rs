//! The runtimes this deploy service drives, by the names namespaces refer to them with.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_runtime::Runtime;

/// The configured runtimes; the first is the default for new namespaces.
#[derive(Clone, Default)]
pub struct Runtimes {
    by_name: BTreeMap<String, Arc<dyn Runtime>>,
    order: Vec<String>,
}

impl Runtimes {
    /// The runtimes, the default first.
    pub fn new(runtimes: Vec<Arc<dyn Runtime>>) -> Self {
        let mut this = Self::default();
        for runtime in runtimes {
            let name = runtime.name().to_string();
            this.order.push(name.clone());
            this.by_name.insert(name, runtime);
        }
        this
    }

    /// The runtime of that name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Runtime>> {
        self.by_name.get(name)
    }

    /// Their names, the default first.
    pub fn names(&self) -> Vec<String> {
        self.order.clone()
    }

    /// Every runtime, the default first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Runtime>> {
        self.order.iter().filter_map(|name| self.by_name.get(name))
    }
}

/// One Docker engine named by `FERRY_DOCKER_ENGINES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineEntry {
    /// Ferry host id.
    pub host: String,
    /// Docker API endpoint (`unix:///…` or `tcp://…`).
    pub endpoint: String,
    /// Region of the host ("" when not given).
    pub region: String,
    /// Zone of the host ("" when not given).
    pub zone: String,
}

/// Parses `host=endpoint[@region/zone],…`, e.g.
/// `a=unix:///run/a.sock@eu/eu-1,b=unix:///run/b.sock@eu/eu-2`.
pub fn parse_docker_engines(value: &str) -> anyhow::Result<Vec<EngineEntry>> {
    let mut engines = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (host, rest) = entry.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("FERRY_DOCKER_ENGINES: {entry:?} is not host=endpoint[@region/zone]")
        })?;
        let (endpoint, location) = match rest.rsplit_once('@') {
            Some((endpoint, location)) => (endpoint, Some(location)),
            None => (rest, None),
        };
        let (region, zone) = match location {
            Some(location) => location
                .split_once('/')
                .map_or((location, ""), |(r, z)| (r, z)),
            None => ("", ""),
        };
        if host.is_empty() || !(endpoint.starts_with("unix://") || endpoint.starts_with("tcp://")) {
            anyhow::bail!(
                "FERRY_DOCKER_ENGINES: {entry:?}: the endpoint must start with unix:// or tcp://"
            );
        }
        engines.push(EngineEntry {
            host: host.to_string(),
            endpoint: endpoint.to_string(),
            region: region.to_string(),
            zone: zone.to_string(),
        });
    }
    Ok(engines)
}

/// The runtimes the environment names, in this order (the first is the default for new
/// namespaces):
/// - `FERRY_KUBECONFIG`: a Kubernetes runtime named `kubernetes` on the cluster of that
///   kubeconfig file (its current context); `FERRY_KUBE_IN_CLUSTER=1` instead uses the
///   service account of the pod the deploy service runs in;
/// - `FERRY_DOCKER_ENGINES` (see [`parse_docker_engines`]): a Docker runtime named
///   `docker` over those engines.
pub async fn from_env(env: &std::collections::HashMap<String, String>) -> anyhow::Result<Runtimes> {
    let mut runtimes: Vec<Arc<dyn Runtime>> = Vec::new();
    if let Some(path) = env.get("FERRY_KUBECONFIG").filter(|v| !v.trim().is_empty()) {
        let runtime = ferry_runtime_kube::KubeRuntime::from_kubeconfig("kubernetes", path)
            .await
            .map_err(|e| anyhow::anyhow!("FERRY_KUBECONFIG: {e}"))?;
        runtimes.push(Arc::new(runtime));
    } else if env.get("FERRY_KUBE_IN_CLUSTER").is_some_and(|v| v == "1") {
        let runtime = ferry_runtime_kube::KubeRuntime::in_cluster("kubernetes")
            .map_err(|e| anyhow::anyhow!("FERRY_KUBE_IN_CLUSTER: {e}"))?;
        runtimes.push(Arc::new(runtime));
    }
    if let Some(value) = env
        .get("FERRY_DOCKER_ENGINES")
        .filter(|v| !v.trim().is_empty())
    {
        let engines = parse_docker_engines(value)?
            .into_iter()
            .map(|e| ferry_runtime_docker::EngineConfig {
                host: e.host,
                endpoint: e.endpoint,
                region: e.region,
                zone: e.zone,
            })
            .collect();
        runtimes.push(Arc::new(ferry_runtime_docker::DockerRuntime::new(
            "docker", engines,
        )?));
    }
    Ok(Runtimes::new(runtimes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_engines_parse_with_and_without_location() {
        let engines =
            parse_docker_engines("a=unix:///run/a.sock@eu/eu-1, b=tcp://127.0.0.1:2375").unwrap();
        assert_eq!(engines[0].host, "a");
        assert_eq!(engines[0].endpoint, "unix:///run/a.sock");
        assert_eq!(
            (engines[0].region.as_str(), engines[0].zone.as_str()),
            ("eu", "eu-1")
        );
        assert_eq!(engines[1].endpoint, "tcp://127.0.0.1:2375");
        assert_eq!(engines[1].zone, "");
        assert!(parse_docker_engines("nonsense").is_err());
        assert!(parse_docker_engines("a=/run/a.sock").is_err());
    }
}
