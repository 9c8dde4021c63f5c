//! The `ferry-routing` binary: configuration, telemetry and signals come from the kit.

fn main() -> std::process::ExitCode {
    ferry_kit::main("routing", |config, listener, shutdown| {
        ferry_routing::run(config, listener, shutdown)
    })
}
