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
}
