//! Ferry's service kit: what every service and the gateway share to start, serve and stop.
//!
//! - [`config`]: layered configuration, validated before any port is bound;
//! - [`telemetry`]: tracing with optional OTLP export;
//! - [`error`]: [`ApiError`], the one place errors become `tonic::Status`;
//! - [`aip`]: names, page tokens, etags, request ids, update masks;
//! - [`server`]: [`server::serve`], the life cycle of a service (health, reflection,
//!   registration, tower stack, ordered graceful shutdown), and
//!   [`server::serve_with_fallback`], the same with a service for unrouted paths;
//! - [`registry`]: instance registrations in etcd, for the gateway to find instances;
//! - [`idempotency`]: `request_id` de-duplication (AIP-155).

pub mod aip;
pub mod caller;
pub mod config;
pub mod edge;
pub mod error;
pub mod idempotency;
pub mod registry;
pub mod server;
pub mod telemetry;
mod threads;

pub use error::ApiError;

use std::future::Future;
use std::process::ExitCode;

use config::{EXIT_INVALID_CONFIG, ServiceConfig};
use tokio::net::TcpListener;

/// The whole of a service binary's `main`: loads and validates the configuration from
/// the process arguments and environment (exit code 64 when invalid, before binding
/// anything), starts telemetry, binds the listener and runs `run` until SIGTERM/SIGINT.
pub fn main<F, Fut>(service_name: &'static str, run: F) -> ExitCode
where
    F: FnOnce(
        ServiceConfig,
        TcpListener,
        std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let config = match ServiceConfig::load(std::env::args_os(), &env) {
        Ok(config) => config,
        Err(config::ConfigError::Args(error)) if !error.use_stderr() => {
            // --help and --version.
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("ferry-{service_name}: {error}");
            return ExitCode::from(EXIT_INVALID_CONFIG as u8);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ferry-{service_name}: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let _telemetry = match telemetry::init(&format!("ferry-{service_name}"), &config.telemetry)
        {
            Ok(guard) => guard,
            Err(error) => {
                eprintln!("ferry-{service_name}: cannot start telemetry: {error:#}");
                return ExitCode::FAILURE;
            }
        };
        let listener = match TcpListener::bind(config.listen).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(address = %config.listen, %error, "cannot bind the listen address");
                return ExitCode::FAILURE;
            }
        };
        match run(config, listener, Box::pin(server::shutdown_signal())).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "service failed");
                ExitCode::FAILURE
            }
        }
    })
}
