//! The `ferry-build` binary: configuration, telemetry and signals come from the kit.

fn main() -> std::process::ExitCode {
    ferry_kit::main("build", |config, listener, shutdown| {
        ferry_build::run(config, listener, shutdown)
    })
}
