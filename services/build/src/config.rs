//! The build service's own settings, read from the environment (`FERRY_BUILD_*`) next to
//! the kit's [`ServiceConfig`](ferry_kit::config::ServiceConfig).
//!
//! | Variable | Meaning |
//! |---|---|
//! | `FERRY_BUILD_DOCKER_HOST` | Docker engine the builder containers run on (`unix://…` or `tcp://…`); without it builds fail with `FAILURE_REASON_INVALID_CONFIG` |
//! | `FERRY_BUILD_REGISTRY` | The built-in registry, `host:port`, images are pushed to when an application names none |
//! | `FERRY_BUILD_REGISTRY_CREDENTIALS_FILE` | A file holding `username:password` for that registry (optional) |
//! | `FERRY_BUILD_BUILDER_IMAGE` | The default builder image (default `ferry-builder:latest`) |
//! | `FERRY_BUILD_WORK_DIR` | Where fetched repositories are kept, one bare clone per application (default `/var/tmp/ferry-build`) |
//! | `FERRY_BUILD_NETWORK` | Docker network mode of builder containers (default: the engine's default) |
//! | `FERRY_BUILD_BUILDER` | Where builds run: `docker` (default; builder containers on `FERRY_BUILD_DOCKER_HOST`) or `kubernetes` (one `batch/v1` Job per build, see [`crate::build::kube`]) |
//! | `FERRY_BUILD_KUBECONFIG` | With `kubernetes`: a kubeconfig file (its current context) of the cluster builds run on |
//! | `FERRY_BUILD_KUBE_IN_CLUSTER` | With `kubernetes`: `1` uses the service account of the pod the service runs in instead (exactly one of this and `FERRY_BUILD_KUBECONFIG`) |
//! | `FERRY_BUILD_KUBE_NAMESPACE` | Namespace of the build Jobs, their Secrets and cache claims (default `ferry-builds`; created when missing) |
//! | `FERRY_BUILD_BUILDKIT_IMAGE` | Image of the Jobs' `image` container, a rootless BuildKit (default [`DEFAULT_BUILDKIT_IMAGE`]) |

use std::collections::HashMap;
use std::path::PathBuf;

/// Registry credentials; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The default BuildKit image of Kubernetes builds (rootless: no privileged pod).
pub const DEFAULT_BUILDKIT_IMAGE: &str = "moby/buildkit:v0.16.0-rootless";

/// Where builds run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BuilderKind {
    /// Builder containers on the Docker engine `FERRY_BUILD_DOCKER_HOST`.
    #[default]
    Docker,
    /// One Job per build on a Kubernetes cluster.
    Kubernetes,
}

/// How the service reaches the cluster of Kubernetes builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeConnection {
    /// A kubeconfig file (its current context).
    Kubeconfig(PathBuf),
    /// The service account of the pod the service runs in.
    InCluster,
}

/// The settings of the Kubernetes builder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeBuilderSettings {
    /// How to reach the cluster; `None` when not configured (the Docker builder).
    pub connection: Option<KubeConnection>,
    /// Namespace of the Jobs, Secrets and cache claims.
    pub namespace: String,
    /// The BuildKit image of the `image` container.
    pub buildkit_image: String,
}

impl Default for KubeBuilderSettings {
    fn default() -> Self {
        Self {
            connection: None,
            namespace: "ferry-builds".to_string(),
            buildkit_image: DEFAULT_BUILDKIT_IMAGE.to_string(),
        }
    }
}

/// What the build service needs besides the kit's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildSettings {
    /// Docker endpoint of the builder engine; `None` when none is configured.
    pub docker_host: Option<String>,
    /// The built-in registry (`host:port`); empty when none is configured.
    pub registry: String,
    /// Credentials for the built-in registry.
    pub registry_credentials: Option<RegistryCredentials>,
    /// The platform's default builder image.
    pub builder_image: String,
    /// Work directory (repository caches).
    pub work_dir: PathBuf,
    /// Network mode of builder containers; empty for the engine's default.
    pub network: String,
    /// Where builds run.
    pub builder: BuilderKind,
    /// The Kubernetes builder (used when `builder` is [`BuilderKind::Kubernetes`]).
    pub kube: KubeBuilderSettings,
}

impl Default for BuildSettings {
    fn default() -> Self {
        Self {
            docker_host: None,
            registry: String::new(),
            registry_credentials: None,
            builder_image: "ferry-builder:latest".to_string(),
            work_dir: PathBuf::from("/var/tmp/ferry-build"),
            network: String::new(),
            builder: BuilderKind::Docker,
            kube: KubeBuilderSettings::default(),
        }
    }
}

impl BuildSettings {
    /// Reads the settings from `env` (the process environment in production, a map in
    /// tests); a malformed value is an error naming the variable.
    pub fn from_env(env: &HashMap<String, String>) -> anyhow::Result<Self> {
        let mut settings = Self::default();
        let get = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        if let Some(host) = get("FERRY_BUILD_DOCKER_HOST") {
            if !(host.starts_with("unix://") || host.starts_with("tcp://")) {
                anyhow::bail!(
                    "FERRY_BUILD_DOCKER_HOST: {host:?} must start with unix:// or tcp://"
                );
            }
            settings.docker_host = Some(host.to_string());
        }
        if let Some(registry) = get("FERRY_BUILD_REGISTRY") {
            if registry.contains('/') || registry.contains(' ') {
                anyhow::bail!("FERRY_BUILD_REGISTRY: {registry:?} must be host[:port]");
            }
            settings.registry = registry.to_string();
        }
        if let Some(path) = get("FERRY_BUILD_REGISTRY_CREDENTIALS_FILE") {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("FERRY_BUILD_REGISTRY_CREDENTIALS_FILE: {path}: {e}")
            })?;
            let (username, password) = text.trim().split_once(':').ok_or_else(|| {
                anyhow::anyhow!(
                    "FERRY_BUILD_REGISTRY_CREDENTIALS_FILE: {path} must hold username:password"
                )
            })?;
            settings.registry_credentials = Some(RegistryCredentials {
                username: username.to_string(),
                password: password.to_string(),
            });
        }
        if let Some(image) = get("FERRY_BUILD_BUILDER_IMAGE") {
            settings.builder_image = image.to_string();
        }
        if let Some(dir) = get("FERRY_BUILD_WORK_DIR") {
            settings.work_dir = PathBuf::from(dir);
        }
        if let Some(network) = get("FERRY_BUILD_NETWORK") {
            settings.network = network.to_string();
        }
        if let Some(builder) = get("FERRY_BUILD_BUILDER") {
            settings.builder = match builder {
                "docker" => BuilderKind::Docker,
                "kubernetes" => BuilderKind::Kubernetes,
                other => {
                    anyhow::bail!("FERRY_BUILD_BUILDER: {other:?} must be `docker` or `kubernetes`")
                }
            };
        }
        let in_cluster = match get("FERRY_BUILD_KUBE_IN_CLUSTER") {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(other) => {
                anyhow::bail!("FERRY_BUILD_KUBE_IN_CLUSTER: {other:?} must be 1 or 0")
            }
        };
        match (get("FERRY_BUILD_KUBECONFIG"), in_cluster) {
            (Some(_), true) => anyhow::bail!(
                "FERRY_BUILD_KUBECONFIG and FERRY_BUILD_KUBE_IN_CLUSTER=1 are both set: give one"
            ),
            (Some(path), false) => {
                std::fs::metadata(path)
                    .map_err(|e| anyhow::anyhow!("FERRY_BUILD_KUBECONFIG: {path}: {e}"))?;
                settings.kube.connection = Some(KubeConnection::Kubeconfig(PathBuf::from(path)));
            }
            (None, true) => settings.kube.connection = Some(KubeConnection::InCluster),
            (None, false) => {}
        }
        if let Some(namespace) = get("FERRY_BUILD_KUBE_NAMESPACE") {
            if !ferry_kit::aip::is_valid_id(namespace) {
                anyhow::bail!(
                    "FERRY_BUILD_KUBE_NAMESPACE: {namespace:?} is not a namespace name (1 to 63 lower-case letters, digits or `-`, starting with a letter)"
                );
            }
            settings.kube.namespace = namespace.to_string();
        }
        if let Some(image) = get("FERRY_BUILD_BUILDKIT_IMAGE") {
            if image.chars().any(char::is_whitespace) {
                anyhow::bail!("FERRY_BUILD_BUILDKIT_IMAGE: {image:?} is not an image reference");
            }
            settings.kube.buildkit_image = image.to_string();
        }
        if settings.builder == BuilderKind::Kubernetes && settings.kube.connection.is_none() {
            anyhow::bail!(
                "FERRY_BUILD_BUILDER=kubernetes needs FERRY_BUILD_KUBECONFIG (a file) or FERRY_BUILD_KUBE_IN_CLUSTER=1"
            );
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_refuse_bad_values() {
        let env: HashMap<String, String> = [
            ("FERRY_BUILD_DOCKER_HOST", "unix:///run/d.sock"),
            ("FERRY_BUILD_REGISTRY", "127.0.0.1:5000"),
            ("FERRY_BUILD_BUILDER_IMAGE", "b:1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let settings = BuildSettings::from_env(&env).unwrap();
        assert_eq!(settings.docker_host.as_deref(), Some("unix:///run/d.sock"));
        assert_eq!(settings.registry, "127.0.0.1:5000");
        assert_eq!(settings.builder_image, "b:1");
        let bad: HashMap<String, String> = [(
            "FERRY_BUILD_DOCKER_HOST".to_string(),
            "/run/d.sock".to_string(),
        )]
        .into();
        assert!(BuildSettings::from_env(&bad).is_err());
        let secret = RegistryCredentials {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    fn env_of(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kubernetes_builder_settings_parse_and_refuse_bad_values() {
        let defaults = BuildSettings::from_env(&HashMap::new()).unwrap();
        assert_eq!(defaults.builder, BuilderKind::Docker);
        assert_eq!(defaults.kube.namespace, "ferry-builds");
        assert_eq!(defaults.kube.buildkit_image, DEFAULT_BUILDKIT_IMAGE);
        assert!(defaults.kube.buildkit_image.contains("rootless"));

        let file = tempfile_path();
        let kube = BuildSettings::from_env(&env_of(&[
            ("FERRY_BUILD_BUILDER", "kubernetes"),
            ("FERRY_BUILD_KUBECONFIG", file.to_str().unwrap()),
            ("FERRY_BUILD_KUBE_NAMESPACE", "builds"),
            ("FERRY_BUILD_BUILDKIT_IMAGE", "r:5000/buildkit:1"),
        ]))
        .unwrap();
        assert_eq!(kube.builder, BuilderKind::Kubernetes);
        assert_eq!(
            kube.kube.connection,
            Some(KubeConnection::Kubeconfig(file.clone()))
        );
        assert_eq!(kube.kube.namespace, "builds");
        assert_eq!(kube.kube.buildkit_image, "r:5000/buildkit:1");
        let in_cluster = BuildSettings::from_env(&env_of(&[
            ("FERRY_BUILD_BUILDER", "kubernetes"),
            ("FERRY_BUILD_KUBE_IN_CLUSTER", "1"),
        ]))
        .unwrap();
        assert_eq!(in_cluster.kube.connection, Some(KubeConnection::InCluster));

        for (pairs, variable) in [
            (vec![("FERRY_BUILD_BUILDER", "k8s")], "FERRY_BUILD_BUILDER"),
            (
                vec![("FERRY_BUILD_BUILDER", "kubernetes")],
                "FERRY_BUILD_KUBECONFIG",
            ),
            (
                vec![("FERRY_BUILD_KUBECONFIG", "/nonexistent/kubeconfig")],
                "FERRY_BUILD_KUBECONFIG",
            ),
            (
                vec![("FERRY_BUILD_KUBE_IN_CLUSTER", "yes")],
                "FERRY_BUILD_KUBE_IN_CLUSTER",
            ),
            (
                vec![
                    ("FERRY_BUILD_KUBE_IN_CLUSTER", "1"),
                    ("FERRY_BUILD_KUBECONFIG", file.to_str().unwrap()),
                ],
                "FERRY_BUILD_KUBE_IN_CLUSTER",
            ),
            (
                vec![("FERRY_BUILD_KUBE_NAMESPACE", "Builds_1")],
                "FERRY_BUILD_KUBE_NAMESPACE",
            ),
            (
                vec![("FERRY_BUILD_BUILDKIT_IMAGE", "moby/buildkit latest")],
                "FERRY_BUILD_BUILDKIT_IMAGE",
            ),
        ] {
            let error = BuildSettings::from_env(&env_of(&pairs)).unwrap_err();
            assert!(
                error.to_string().contains(variable),
                "{pairs:?}: {error} does not name {variable}"
            );
        }
        let _ = std::fs::remove_file(file);
    }

    fn tempfile_path() -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "ferry-build-config-test-{}.kubeconfig",
            std::process::id()
        ));
        std::fs::write(&path, "apiVersion: v1\nkind: Config\n").unwrap();
        path
    }
}
