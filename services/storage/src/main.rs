//! The `ferry-storage` binary: configuration, telemetry and signals come from the kit.

fn main() -> std::process::ExitCode {
    ferry_kit::main("storage", |config, listener, shutdown| {
        ferry_storage::run(config, listener, shutdown)
    })
}
