//! The config file (`$FERRY_CONFIG`, else `~/.config/ferry/config.toml`, mode 0600): named
//! contexts (gateway address, namespace, token) and the current one; and how flags and
//! environment overrides resolve into the settings of one call.
//!
//! The environment is passed in as a map ([`Env`]) so tests never touch the process's.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// A snapshot of the environment variables the CLI reads.
pub type Env = HashMap<String, String>;

/// The name of the context `ferry login` writes when none is named.
pub const DEFAULT_CONTEXT: &str = "default";

/// The config file's contents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The context used when `--context` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// Contexts by name.
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

/// One gateway to talk to, as whom, and in which namespace by default.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The gateway's address (`http://127.0.0.1:7000`).
    pub gateway: String,
    /// The default namespace of namespaced commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The bearer token (secret: never printed, redacted from Debug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("gateway", &self.gateway)
            .field("namespace", &self.namespace)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The settings of one call, after flags, environment and config file.
#[derive(Clone, PartialEq)]
pub struct Resolved {
    /// The context these came from, if any.
    pub context: Option<String>,
    /// The gateway address.
    pub gateway: String,
    /// The token, if any (a call without one is refused by the gateway).
    pub token: Option<String>,
    /// The namespace, if any.
    pub namespace: Option<String>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("context", &self.context)
            .field("gateway", &self.gateway)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// Where the config file is: `$FERRY_CONFIG`, else `$HOME/.config/ferry/config.toml`.
pub fn config_path(env: &Env) -> Result<PathBuf, CliError> {
    if let Some(path) = env.get("FERRY_CONFIG").filter(|path| !path.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    match env.get("HOME").filter(|home| !home.is_empty()) {
        Some(home) => Ok(Path::new(home).join(".config/ferry/config.toml")),
        None => Err(CliError::config(
            "neither FERRY_CONFIG nor HOME is set, so there is no config file",
            "set FERRY_CONFIG to the config file's path",
        )),
    }
}

impl Config {
    /// Reads the config file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self, CliError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(error) => {
                return Err(CliError::config(
                    format!("cannot read the config file {}: {error}", path.display()),
                    "check its permissions, or point FERRY_CONFIG elsewhere",
                ));
            }
        };
        toml::from_str(&text).map_err(|error| {
            CliError::config(
                format!("the config file {} is invalid: {error}", path.display()),
                "fix it, or delete it and run `ferry login` again",
            )
        })
    }

    /// Writes the config file with mode 0600 (replacing it atomically).
    pub fn save(&self, path: &Path) -> Result<(), CliError> {
        let failed = |error: std::io::Error| {
            CliError::config(
                format!("cannot write the config file {}: {error}", path.display()),
                "check the folder's permissions, or point FERRY_CONFIG elsewhere",
            )
        };
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        let text = toml::to_string(self).map_err(|error| {
            CliError::config(format!("cannot encode the config: {error}"), "report it")
        })?;
        let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(failed)?;
        // The mode only applies to new files: force it on a leftover one.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        std::fs::rename(&temporary, path).map_err(failed)
    }

    /// Resolves a call's settings: flags first, then `FERRY_GATEWAY` / `FERRY_TOKEN` /
    /// `FERRY_NAMESPACE`, then the context (`--context`, else `FERRY_CONTEXT`, else the
    /// current one).
    pub fn resolve(
        &self,
        context_flag: Option<&str>,
        namespace_flag: Option<&str>,
        env: &Env,
    ) -> Result<Resolved, CliError> {
        let env_value = |key: &str| env.get(key).filter(|value| !value.is_empty()).cloned();
        let context_name = context_flag
            .map(str::to_string)
            .or_else(|| env_value("FERRY_CONTEXT"))
            .or_else(|| self.current_context.clone());
        let context = match &context_name {
            Some(name) => match self.contexts.get(name) {
                Some(context) => Some(context),
                None if context_flag.is_some() || env_value("FERRY_CONTEXT").is_some() => {
                    return Err(CliError::config(
                        format!("no context named {name:?}"),
                        "`ferry context list` shows the contexts; `ferry login --context <name>` \
                         adds one",
                    ));
                }
                None => None,
            },
            None => None,
        };
        let gateway = env_value("FERRY_GATEWAY")
            .or_else(|| context.map(|context| context.gateway.clone()))
            .ok_or_else(|| {
                CliError::config(
                    "no gateway is configured",
                    "run `ferry login --gateway <address> --token-file <file>` (or set \
                     FERRY_GATEWAY and FERRY_TOKEN)",
                )
            })?;
        Ok(Resolved {
            context: context.and(context_name),
            gateway: normalize_gateway(&gateway),
            token: env_value("FERRY_TOKEN")
                .or_else(|| context.and_then(|context| context.token.clone())),
            namespace: namespace_flag
                .map(str::to_string)
                .or_else(|| env_value("FERRY_NAMESPACE"))
                .or_else(|| context.and_then(|context| context.namespace.clone())),
        })
    }
}

/// `127.0.0.1:7000` → `http://127.0.0.1:7000`; addresses with a scheme are kept.
pub fn normalize_gateway(address: &str) -> String {
    let address = address.trim().trim_end_matches('/');
    if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn two_contexts() -> Config {
        let mut config = Config {
            current_context: Some("dev".into()),
            ..Default::default()
        };
        config.contexts.insert(
            "dev".into(),
            Context {
                gateway: "http://dev:7000".into(),
                namespace: Some("team".into()),
                token: Some("ferry_dev_secret".into()),
            },
        );
        config.contexts.insert(
            "prod".into(),
            Context {
                gateway: "prod:7000".into(),
                namespace: None,
                token: Some("ferry_prod_secret".into()),
            },
        );
        config
    }

    #[test]
    fn flags_beat_environment_beats_context() {
        let config = two_contexts();
        let resolved = config.resolve(None, None, &env(&[])).unwrap();
        assert_eq!(resolved.gateway, "http://dev:7000");
        assert_eq!(resolved.namespace.as_deref(), Some("team"));
        assert_eq!(resolved.token.as_deref(), Some("ferry_dev_secret"));

        let resolved = config
            .resolve(
                Some("prod"),
                Some("ops"),
                &env(&[("FERRY_NAMESPACE", "ignored")]),
            )
            .unwrap();
        assert_eq!(resolved.gateway, "http://prod:7000");
        assert_eq!(resolved.namespace.as_deref(), Some("ops"));
        assert_eq!(resolved.context.as_deref(), Some("prod"));

        let resolved = config
            .resolve(
                None,
                None,
                &env(&[("FERRY_GATEWAY", "other:1"), ("FERRY_TOKEN", "t2")]),
            )
            .unwrap();
        assert_eq!(resolved.gateway, "http://other:1");
        assert_eq!(resolved.token.as_deref(), Some("t2"));
    }

    #[test]
    fn missing_gateway_or_context_says_what_to_do() {
        let error = Config::default()
            .resolve(None, None, &env(&[]))
            .unwrap_err();
        assert_eq!(error.exit_code(), 3);
        assert!(error.render().contains("ferry login"), "{}", error.render());
        let error = two_contexts()
            .resolve(Some("staging"), None, &env(&[]))
            .unwrap_err();
        assert!(error.render().contains("no context named \"staging\""));
    }

    #[test]
    fn the_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/config.toml");
        let config = two_contexts();
        config.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(Config::load(&path).unwrap(), config);
        assert_eq!(
            Config::load(&dir.path().join("absent.toml")).unwrap(),
            Config::default()
        );
        std::fs::write(&path, "current_context = 3").unwrap();
        assert_eq!(Config::load(&path).unwrap_err().exit_code(), 3);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let config = two_contexts();
        let text = format!("{config:?}");
        assert!(!text.contains("secret"), "{text}");
        let resolved = config.resolve(None, None, &env(&[])).unwrap();
        assert!(!format!("{resolved:?}").contains("secret"));
    }

    #[test]
    fn the_path_comes_from_ferry_config_or_home() {
        assert_eq!(
            config_path(&env(&[("FERRY_CONFIG", "/x/c.toml"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/x/c.toml")
        );
        assert_eq!(
            config_path(&env(&[("HOME", "/h")])).unwrap(),
            PathBuf::from("/h/.config/ferry/config.toml")
        );
        assert!(config_path(&env(&[])).is_err());
    }
}
