//! The `ferry-gateway` binary: configuration, telemetry and signals come from the kit;
//! the TLS settings are checked first ([`ferry_gateway::tls::preflight`]).

fn main() -> std::process::ExitCode {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    if let Err(message) = ferry_gateway::tls::preflight(std::env::args_os(), &env) {
        eprintln!("ferry-gateway: {message}");
        return std::process::ExitCode::from(ferry_kit::config::EXIT_INVALID_CONFIG as u8);
    }
    ferry_kit::main("gateway", |config, listener, shutdown| {
        ferry_gateway::run(config, listener, shutdown)
    })
}
