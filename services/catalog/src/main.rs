//! The `ferry-catalog` binary: configuration, telemetry and signals come from the kit.

fn main() -> std::process::ExitCode {
    ferry_kit::main("catalog", |config, listener, shutdown| {
        ferry_catalog::run(config, listener, shutdown)
    })
}
