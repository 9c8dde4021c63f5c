//! The `ferry-gateway` binary: configuration, telemetry and signals come from the kit.

fn main() -> std::process::ExitCode {
    ferry_kit::main("gateway", |config, listener, shutdown| {
        ferry_gateway::run(config, listener, shutdown)
    })
}
