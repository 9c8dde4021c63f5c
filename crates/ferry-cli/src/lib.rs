//! The `ferry` command line: a clap CLI over Ferry's gateway, using the generated gRPC
//! clients of `ferry-proto`.
//!
//! The pure parts are separate from the IO: [`cli`] declares the flags, [`config`]
//! reads and resolves contexts, [`request`] turns flags into requests, [`render`] and
//! [`json`] print resources, [`error`] says what failed, why and what to try (and picks
//! the exit code). [`commands`] is the thin layer that calls the gateway.

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod json;
pub mod render;
pub mod request;

pub use cli::Cli;
pub use error::CliError;

/// Runs one parsed command line against the environment `env`; returns the exit code
/// after printing any error on stderr.
pub async fn main_with(cli: Cli, env: config::Env) -> i32 {
    match commands::run(cli, &env).await {
        Ok(()) => 0,
        Err(error) => {
            eprint!("{}", error.render());
            error.exit_code()
        }
    }
}
