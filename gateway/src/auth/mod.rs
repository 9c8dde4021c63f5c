//! Authentication, authorization and audit at the front door (issue 4).
//!
//! - [`model`]: the pure rules (tokens and hashes, permissions, roles, the decision);
//! - [`store`]: the records in etcd, the watch that keeps each replica's
//!   [`model::AuthState`] current, the first-start bootstrap, the audit log's writes;
//! - [`layer`]: the tower layer in front of the proxy and the auth services;
//! - [`api`]: the `ferry.auth.v1` servers.
//!
//! Configuration (gateway-only, from the environment):
//! - `FERRY_AUTH`: `enabled` (default) or `disabled` (local development only: every
//!   call passes unchecked and unaudited);
//! - `FERRY_BOOTSTRAP_TOKEN_FILE`: where the first start writes the bootstrap admin
//!   token (mode 0600), default `$FERRY_STATE_DIR/bootstrap-token`, with
//!   `FERRY_STATE_DIR` defaulting to `$HOME/.local/share/ferry` (as `deploy/dev/up.sh`);
//! - `FERRY_AUDIT_RETENTION`: how long audit entries are kept (default `90d`);
//! - `FERRY_TOKEN_DEFAULT_TTL` (default `90d`) and `FERRY_TOKEN_MAX_TTL` (default
//!   `365d`): token lifetimes; the bootstrap token gets the maximum.

pub mod api;
pub mod layer;
pub mod model;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferry_kit::server::Host;

use crate::call::Methods;
use layer::{AuthShared, ResourceFields};
use model::AuthState;

/// The gateway's auth settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// False turns authentication, authorization and audit off.
    pub enabled: bool,
    /// Where the bootstrap admin token is written.
    pub bootstrap_token_file: PathBuf,
    /// How long audit entries are kept.
    pub audit_retention: Duration,
    /// Token lifetimes.
    pub token_default_ttl: Duration,
    /// See [`AuthConfig::token_default_ttl`].
    pub token_max_ttl: Duration,
}

const DAY: u64 = 24 * 3600;

impl AuthConfig {
    /// Reads the settings from `env` (see the module documentation).
    pub fn from_env(env: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |name: &str| env.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let enabled = match get("FERRY_AUTH") {
            None | Some("enabled") => true,
            Some("disabled") => false,
            Some(other) => anyhow::bail!("FERRY_AUTH: expected enabled or disabled, got {other:?}"),
        };
        let state_dir = get("FERRY_STATE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(get("HOME").unwrap_or("/tmp")).join(".local/share/ferry")
            });
        let bootstrap_token_file = get("FERRY_BOOTSTRAP_TOKEN_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| state_dir.join("bootstrap-token"));
        let duration = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            match get(name) {
                None => Ok(default),
                Some(value) => humantime::parse_duration(value)
                    .map_err(|error| anyhow::anyhow!("{name}: {error}"))
                    .and_then(|d| {
                        anyhow::ensure!(d >= Duration::from_secs(60), "{name}: at least 1m");
                        Ok(d)
                    }),
            }
        };
        let config = Self {
            enabled,
            bootstrap_token_file,
            audit_retention: duration("FERRY_AUDIT_RETENTION", Duration::from_secs(90 * DAY))?,
            token_default_ttl: duration("FERRY_TOKEN_DEFAULT_TTL", Duration::from_secs(90 * DAY))?,
            token_max_ttl: duration("FERRY_TOKEN_MAX_TTL", Duration::from_secs(365 * DAY))?,
        };
        anyhow::ensure!(
            config.token_default_ttl <= config.token_max_ttl,
            "FERRY_TOKEN_DEFAULT_TTL exceeds FERRY_TOKEN_MAX_TTL"
        );
        Ok(config)
    }
}

/// What the auth pieces share once started: the layer's state and the API servers.
pub struct Auth {
    /// For [`layer::Authed`].
    pub shared: Arc<AuthShared>,
    /// The servers.
    pub api: api::AuthApi,
}

/// Every method path of the API.
fn method_paths() -> anyhow::Result<Vec<String>> {
    use prost::Message as _;
    let set = prost_types::FileDescriptorSet::decode(ferry_proto::FILE_DESCRIPTOR_SET)?;
    Ok(set
        .file
        .iter()
        .flat_map(|file| {
            file.service.iter().flat_map(move |service| {
                service.method.iter().map(move |method| {
                    format!("/{}.{}/{}", file.package(), service.name(), method.name())
                })
            })
        })
        .collect())
}

/// Starts the auth pieces on `host`: the watch of the records, the bootstrap (when
/// enabled), and returns the layer's state and the servers.
pub fn start(
    host: &Host,
    config: &AuthConfig,
    limits: &crate::limits::LimitsConfig,
    methods: Arc<Methods>,
) -> anyhow::Result<Auth> {
    let permissions: BTreeMap<String, (bool, Vec<String>)> =
        model::all_permissions(&method_paths()?);
    let mut initial = AuthState::default();
    for role in [model::VIEWER, model::DEVELOPER, model::ADMIN] {
        if let Some(granted) = model::built_in_permissions(role, &permissions) {
            initial.built_in.insert(role.to_string(), granted);
        }
    }
    let (state, ready, follow) =
        store::watch_auth(host.store.clone(), initial, host.stopping.clone());
    host.spawn(follow);
    if config.enabled {
        host.spawn(bootstrap_when_ready(
            host.clone(),
            state.clone(),
            ready,
            config.clone(),
        ));
    } else {
        tracing::warn!(
            "authentication is disabled (FERRY_AUTH=disabled): every call is allowed and none is audited"
        );
    }
    let shared = Arc::new(AuthShared {
        enabled: config.enabled,
        state: state.clone(),
        methods,
        resources: ResourceFields::ferry()?,
        audit: store::AuditLog::new(host.store.clone(), config.audit_retention),
        limiter: crate::limits::RateLimiter::new(limits.rate),
        max_message_bytes: limits.max_message_bytes,
    });
    let api = api::AuthApi::new(
        host.store.clone(),
        state,
        Arc::new(permissions),
        api::Lifetimes {
            default: config.token_default_ttl,
            max: config.token_max_ttl,
        },
    );
    Ok(Auth { shared, api })
}

/// Waits for the first snapshot of the records, then bootstraps the admin token if
/// none exists, retrying while the store is unreachable.
async fn bootstrap_when_ready(
    host: Host,
    state: tokio::sync::watch::Receiver<Arc<AuthState>>,
    mut ready: tokio::sync::watch::Receiver<bool>,
    config: AuthConfig,
) {
    tokio::select! {
        _ = host.stopping.cancelled() => return,
        result = ready.wait_for(|ready| *ready) => if result.is_err() { return },
    }
    loop {
        let snapshot = state.borrow().clone();
        match store::bootstrap(&*host.store, &snapshot, config.token_max_ttl).await {
            Ok(Some(token)) => {
                match write_secret_file(&config.bootstrap_token_file, &token) {
                    Ok(()) => tracing::info!(
                        file = %config.bootstrap_token_file.display(),
                        principal = store::BOOTSTRAP_USER,
                        "bootstrap admin token written"
                    ),
                    Err(error) => tracing::error!(
                        file = %config.bootstrap_token_file.display(),
                        %error,
                        "cannot write the bootstrap admin token: revoke tokens/bootstrap and restart with a writable FERRY_BOOTSTRAP_TOKEN_FILE"
                    ),
                }
                return;
            }
            Ok(None) => {
                tracing::info!("an admin token exists: no bootstrap");
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot bootstrap the admin token yet; retrying"),
        }
        tokio::select! {
            _ = host.stopping.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Writes `secret` to `path`, readable and writable by the owner only (0600, also when
/// the file existed).
fn write_secret_file(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_switches() {
        let env = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>()
        };
        let config = AuthConfig::from_env(&env(&[("HOME", "/home/x")])).unwrap();
        assert!(config.enabled);
        assert_eq!(
            config.bootstrap_token_file,
            PathBuf::from("/home/x/.local/share/ferry/bootstrap-token")
        );
        let config = AuthConfig::from_env(&env(&[
            ("FERRY_AUTH", "disabled"),
            ("FERRY_STATE_DIR", "/s"),
        ]))
        .unwrap();
        assert!(!config.enabled);
        assert_eq!(
            config.bootstrap_token_file,
            PathBuf::from("/s/bootstrap-token")
        );
        assert!(AuthConfig::from_env(&env(&[("FERRY_AUTH", "off")])).is_err());
        assert!(AuthConfig::from_env(&env(&[("FERRY_AUDIT_RETENTION", "1s")])).is_err());
    }

    #[test]
    fn secret_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/token");
        write_secret_file(&path, "s3cret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "s3cret\n");
    }
}
