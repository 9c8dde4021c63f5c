//! Service configuration: one shape for every Ferry service, loaded in layers and
//! validated before any port is bound.
//!
//! Sources, later ones winning: built-in defaults, a TOML file (`--config`), environment
//! variables (`FERRY_*`), command-line flags. The environment is passed in as a map so
//! tests never touch the process environment. Unknown keys in the file are rejected: the
//! file ships with the binary that reads it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

/// Exit code for an invalid configuration (`EX_USAGE`).
pub const EXIT_INVALID_CONFIG: i32 = 64;

/// The most serving threads a configuration may ask for.
pub const MAX_SERVE_THREADS: usize = 256;

/// The configuration every Ferry service shares.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Version of the file format; only 1 exists.
    pub version: u32,
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Address other components use to reach this instance (registered in etcd);
    /// defaults to the bound listen address.
    pub advertise: Option<String>,
    /// Unique id of this instance; defaults to `<service>-<random>`.
    pub instance_id: Option<String>,
    /// State store.
    pub store: StoreConfig,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// Time to live of this instance's registration (and of its controllers' leader leases).
    #[serde(with = "humantime_serde")]
    pub lease_ttl: Duration,
    /// How long in-flight calls may finish after SIGTERM.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Maximum calls served at once by this instance.
    pub max_concurrent_requests: usize,
    /// Deadline applied to calls that bring none.
    #[serde(with = "humantime_serde")]
    pub default_timeout: Duration,
    /// Threads that serve connections, each with its own single-threaded runtime: every
    /// task of a connection (and of the upstream connections it opens) then runs on one
    /// thread, without cross-thread wake-ups. `0` serves on the main runtime; unset, the
    /// service chooses (the gateway: one per core, every other service: `0`).
    pub serve_threads: Option<usize>,
}

/// Where state lives.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// etcd endpoints (`host:port` or `http://host:port`), or the single value
    /// `memory` for a process-local store (tests and single-process demos only).
    pub endpoints: Vec<String>,
    /// Every key is put under this prefix (lets several platforms share one etcd).
    pub prefix: String,
    /// Time to establish a connection.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Time for one request.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

/// How logs and traces leave the process.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// `tracing` filter directives, e.g. `info,ferry_store=debug`.
    pub log_filter: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// OTLP/gRPC collector endpoint for traces, e.g. `http://127.0.0.1:4317`; none disables export.
    pub otlp_endpoint: Option<String>,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            version: 1,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            instance_id: None,
            store: StoreConfig::default(),
            telemetry: TelemetryConfig::default(),
            lease_ttl: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
            max_concurrent_requests: 1024,
            default_timeout: Duration::from_secs(30),
            serve_threads: None,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            endpoints: vec!["127.0.0.1:2379".to_string()],
            prefix: String::new(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
        }
    }
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_filter: "info".to_string(),
            log_format: LogFormat::Text,
            otlp_endpoint: None,
        }
    }
}

/// Command-line flags common to every service binary.
#[derive(Debug, Default, Parser)]
#[command(about = "A Ferry platform service")]
pub struct ServiceArgs {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:7001.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Address to register for other components to reach this instance.
    #[arg(long, value_name = "HOST:PORT")]
    pub advertise: Option<String>,
    /// Unique id of this instance.
    #[arg(long)]
    pub instance_id: Option<String>,
    /// Comma-separated etcd endpoints, or `memory`.
    #[arg(long, value_name = "URLS", value_delimiter = ',')]
    pub etcd_endpoints: Option<Vec<String>>,
    /// Key prefix in etcd.
    #[arg(long)]
    pub etcd_prefix: Option<String>,
    /// Log filter directives.
    #[arg(long)]
    pub log_filter: Option<String>,
    /// Log format.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// OTLP/gRPC endpoint for trace export.
    #[arg(long)]
    pub otlp_endpoint: Option<String>,
    /// Registration and leader-lease time to live, e.g. `5s`.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub lease_ttl: Option<Duration>,
    /// Grace period for in-flight calls on shutdown, e.g. `10s`.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub shutdown_grace: Option<Duration>,
    /// Threads serving connections (0: the main runtime).
    #[arg(long, value_name = "N")]
    pub serve_threads: Option<usize>,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The command line does not parse.
    #[error("{0}")]
    Args(#[from] clap::Error),
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not parse.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// An environment variable has a bad value.
    #[error("invalid environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// Why.
        message: String,
    },
    /// The merged configuration is not usable.
    #[error("invalid configuration: {field}: {message}")]
    Invalid {
        /// The offending setting.
        field: &'static str,
        /// Why.
        message: String,
    },
}

impl ServiceConfig {
    /// Loads the configuration from `args` (including the program name), the file they
    /// name, and `env`, then validates it.
    pub fn load<I, T>(args: I, env: &HashMap<String, String>) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args = ServiceArgs::try_parse_from(args)?;
        let mut config = match &args.config {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        config.apply_env(env)?;
        config.apply_args(args);
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses TOML text over the defaults.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|error| error.to_string())
    }

    /// Applies `FERRY_*` variables.
    pub fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|error: T::Err| ConfigError::Env {
                name,
                message: error.to_string(),
            })
        }
        fn duration(name: &'static str, value: &str) -> Result<Duration, ConfigError> {
            humantime::parse_duration(value).map_err(|error| ConfigError::Env {
                name,
                message: error.to_string(),
            })
        }
        let get = |name: &str| {
            env.get(name)
                .map(String::as_str)
                .filter(|value| !value.is_empty())
        };
        if let Some(value) = get("FERRY_LISTEN") {
            self.listen = parse("FERRY_LISTEN", value)?;
        }
        if let Some(value) = get("FERRY_ADVERTISE") {
            self.advertise = Some(value.to_string());
        }
        if let Some(value) = get("FERRY_INSTANCE_ID") {
            self.instance_id = Some(value.to_string());
        }
        if let Some(value) = get("FERRY_ETCD_ENDPOINTS") {
            self.store.endpoints = split_list(value);
        }
        if let Some(value) = get("FERRY_ETCD_PREFIX") {
            self.store.prefix = value.to_string();
        }
        if let Some(value) = get("FERRY_LOG") {
            self.telemetry.log_filter = value.to_string();
        }
        if let Some(value) = get("FERRY_LOG_FORMAT") {
            self.telemetry.log_format = match value {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::Env {
                        name: "FERRY_LOG_FORMAT",
                        message: format!("expected text or json, got {other:?}"),
                    });
                }
            };
        }
        if let Some(value) = get("FERRY_OTLP_ENDPOINT") {
            self.telemetry.otlp_endpoint = Some(value.to_string());
        }
        if let Some(value) = get("FERRY_LEASE_TTL") {
            self.lease_ttl = duration("FERRY_LEASE_TTL", value)?;
        }
        if let Some(value) = get("FERRY_SHUTDOWN_GRACE") {
            self.shutdown_grace = duration("FERRY_SHUTDOWN_GRACE", value)?;
        }
        if let Some(value) = get("FERRY_SERVE_THREADS") {
            self.serve_threads = Some(parse("FERRY_SERVE_THREADS", value)?);
        }
        Ok(())
    }

    /// Applies command-line flags.
    pub fn apply_args(&mut self, args: ServiceArgs) {
        if let Some(value) = args.listen {
            self.listen = value;
        }
        if let Some(value) = args.advertise {
            self.advertise = Some(value);
        }
        if let Some(value) = args.instance_id {
            self.instance_id = Some(value);
        }
        if let Some(value) = args.etcd_endpoints {
            self.store.endpoints = value
                .into_iter()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
        }
        if let Some(value) = args.etcd_prefix {
            self.store.prefix = value;
        }
        if let Some(value) = args.log_filter {
            self.telemetry.log_filter = value;
        }
        if let Some(value) = args.log_format {
            self.telemetry.log_format = value;
        }
        if let Some(value) = args.otlp_endpoint {
            self.telemetry.otlp_endpoint = Some(value);
        }
        if let Some(value) = args.lease_ttl {
            self.lease_ttl = value;
        }
        if let Some(value) = args.serve_threads {
            self.serve_threads = Some(value);
        }
        if let Some(value) = args.shutdown_grace {
            self.shutdown_grace = value;
        }
    }

    /// Checks the merged configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_string(),
            })
        };
        if self.version != 1 {
            return invalid("version", "only version 1 is supported");
        }
        if self.store.endpoints.is_empty() {
            return invalid(
                "store.endpoints",
                "at least one etcd endpoint (or `memory`) is required",
            );
        }
        if self.store.endpoints.iter().any(|e| e == "memory") && self.store.endpoints.len() > 1 {
            return invalid(
                "store.endpoints",
                "`memory` cannot be combined with etcd endpoints",
            );
        }
        if !self.store.prefix.is_empty()
            && (!self.store.prefix.starts_with('/') || self.store.prefix.ends_with('/'))
        {
            return invalid(
                "store.prefix",
                "must start with `/` and not end with `/`, e.g. /team-a",
            );
        }
        if self.lease_ttl < Duration::from_secs(2) {
            return invalid("lease_ttl", "must be at least 2s (etcd's minimum lease)");
        }
        if self.max_concurrent_requests == 0 {
            return invalid("max_concurrent_requests", "must be at least 1");
        }
        if self.default_timeout.is_zero() {
            return invalid("default_timeout", "must be positive");
        }
        if self
            .serve_threads
            .is_some_and(|threads| threads > MAX_SERVE_THREADS)
        {
            return invalid("serve_threads", "must be at most 256");
        }
        if let Some(instance_id) = &self.instance_id
            && !crate::aip::is_valid_id(instance_id)
        {
            return invalid(
                "instance_id",
                "must be a DNS label: lower case letters, digits and `-`",
            );
        }
        if let Some(endpoint) = &self.telemetry.otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return invalid(
                "telemetry.otlp_endpoint",
                "must be an http:// or https:// URL",
            );
        }
        if tracing_subscriber::EnvFilter::try_new(&self.telemetry.log_filter).is_err() {
            return invalid(
                "telemetry.log_filter",
                "not valid tracing filter directives",
            );
        }
        Ok(())
    }

    /// True when the store is the process-local memory store.
    pub fn uses_memory_store(&self) -> bool {
        self.store.endpoints.len() == 1 && self.store.endpoints[0] == "memory"
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
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

    #[test]
    fn flags_override_env_which_overrides_defaults() {
        let config = ServiceConfig::load(
            ["svc", "--listen", "127.0.0.1:7001"],
            &env(&[
                ("FERRY_LISTEN", "127.0.0.1:9000"),
                ("FERRY_ETCD_ENDPOINTS", "a:1, b:2"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:7001".parse().unwrap());
        assert_eq!(config.store.endpoints, vec!["a:1", "b:2"]);
        assert_eq!(config.lease_ttl, Duration::from_secs(5));
        assert_eq!(config.serve_threads, None, "unset: the service chooses");
        let config = ServiceConfig::load(
            ["svc", "--serve-threads", "3"],
            &env(&[("FERRY_SERVE_THREADS", "0")]),
        )
        .unwrap();
        assert_eq!(config.serve_threads, Some(3));
    }

    #[test]
    fn file_is_read_and_unknown_keys_are_refused() {
        let config = ServiceConfig::from_toml(
            "lease_ttl = \"3s\"\n[store]\nendpoints = [\"memory\"]\n[telemetry]\nlog_format = \"json\"\n",
        )
        .unwrap();
        assert_eq!(config.lease_ttl, Duration::from_secs(3));
        assert!(config.uses_memory_store());
        assert_eq!(config.telemetry.log_format, LogFormat::Json);
        let error = ServiceConfig::from_toml("listn = \"127.0.0.1:1\"").unwrap_err();
        assert!(error.contains("unknown field"), "{error}");
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("FERRY_LEASE_TTL", "1s")], "lease_ttl"),
            (&[("FERRY_ETCD_PREFIX", "noslash")], "store.prefix"),
            (&[("FERRY_INSTANCE_ID", "Bad_Id")], "instance_id"),
            (
                &[("FERRY_OTLP_ENDPOINT", "collector:4317")],
                "telemetry.otlp_endpoint",
            ),
            (&[("FERRY_ETCD_ENDPOINTS", "memory,a:1")], "store.endpoints"),
            (&[("FERRY_SERVE_THREADS", "257")], "serve_threads"),
        ];
        for (vars, field) in cases {
            match ServiceConfig::load(["svc"], &env(vars)) {
                Err(ConfigError::Invalid { field: got, .. }) => assert_eq!(got, *field),
                other => panic!("{vars:?}: expected invalid {field}, got {other:?}"),
            }
        }
        assert!(matches!(
            ServiceConfig::load(["svc"], &env(&[("FERRY_LISTEN", "nope")])),
            Err(ConfigError::Env {
                name: "FERRY_LISTEN",
                ..
            })
        ));
        assert!(matches!(
            ServiceConfig::load(["svc"], &env(&[("FERRY_SERVE_THREADS", "many")])),
            Err(ConfigError::Env {
                name: "FERRY_SERVE_THREADS",
                ..
            })
        ));
        assert!(matches!(
            ServiceConfig::load(["svc", "--bogus"], &env(&[])),
            Err(ConfigError::Args(_))
        ));
    }
}
