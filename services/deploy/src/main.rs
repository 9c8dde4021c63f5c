//! The `ferry-deploy` binary: configuration, telemetry and signals come from the kit.

fn main() -> std::process::ExitCode {
    ferry_kit::main("deploy", |config, listener, shutdown| {
        ferry_deploy::run(config, listener, shutdown)
    })
}
