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

/// The runtimes the environment names. None yet: the Docker and Kubernetes adapters are
/// wired here as they land (`FERRY_DOCKER_ENGINES`, `FERRY_KUBECONFIG`).
pub fn from_env(_env: &std::collections::HashMap<String, String>) -> anyhow::Result<Runtimes> {
    Ok(Runtimes::default())
}
