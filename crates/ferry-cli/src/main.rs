//! The `ferry` binary: parses the command line and runs it (see the `ferry_cli` library).

use clap::Parser as _;

fn main() {
    let cli = ferry_cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::exit(1);
        }
    };
    // Variables that are not UTF-8 are not ours: skip them rather than panic.
    let env = std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    let code = runtime.block_on(ferry_cli::main_with(cli, env));
    std::process::exit(code);
}
