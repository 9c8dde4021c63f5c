//! The generated client SDKs (crates/sdk/python, crates/sdk/go, crates/sdk/typescript)
//! against the real platform: an etcd-backed gateway with authentication on and the
//! deploy service, as processes. Runs the Python SDK's pytest suite, the Go SDK's
//! `go test ./...` and the TypeScript SDK's `npm test` (tsc, then `node --test`) with
//! `FERRY_GATEWAY` and the bootstrap admin token in `FERRY_TOKEN`; all three must pass.
//!
//! Needs the venv of deploy/dev/setup.sh (`FERRY_VENV`, default `/opt/ferry-venv`, with
//! the packages of crates/sdk/python/requirements.txt), Go (`FERRY_GO`, else `go` on
//! `PATH`, else `/usr/local/go/bin/go`) and Node.js 20 with npm (`FERRY_NPM`, else `npm`
//! on `PATH`); fails saying which one is missing. The TypeScript SDK's packages are
//! installed first by `deploy/dev/sdk.sh install-typescript` (`npm ci` when
//! crates/sdk/typescript/node_modules is missing or was installed from another
//! package-lock.json than the committed one).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ferry_e2e::{Launch, ServiceProcess, eventually, unique_prefix};
use ferry_proto::ferry::deploy::v1::GetNamespaceRequest;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_store::testsuite::TestEtcd;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

/// The venv's python, with pytest installed.
fn python() -> PathBuf {
    let venv = std::env::var_os("FERRY_VENV")
        .map_or_else(|| PathBuf::from("/opt/ferry-venv"), PathBuf::from);
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run deploy/dev/setup.sh (or set FERRY_VENV to its venv)",
        python.display()
    );
    python
}

/// The go command.
fn go() -> PathBuf {
    if let Some(go) = std::env::var_os("FERRY_GO") {
        return PathBuf::from(go);
    }
    let go = on_path("go").unwrap_or_else(|| PathBuf::from("/usr/local/go/bin/go"));
    assert!(
        go.is_file(),
        "go is missing: put it on PATH or set FERRY_GO (Go 1.26 at /usr/local/go on a dev machine)"
    );
    go
}

/// The npm command (Node.js on `PATH` too: npm and the test runner need it).
fn npm() -> PathBuf {
    let npm = std::env::var_os("FERRY_NPM")
        .map(PathBuf::from)
        .or_else(|| on_path("npm"));
    let Some(npm) = npm.filter(|npm| npm.is_file()) else {
        panic!("npm is missing: install Node.js 20 with npm (on PATH), or set FERRY_NPM");
    };
    assert!(
        on_path("node").is_some(),
        "node is missing: install Node.js 20 (on PATH)"
    );
    npm
}

/// The file `name` in a folder of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|file| file.is_file())
}

/// Installs the TypeScript SDK's packages with `deploy/dev/sdk.sh install-typescript`
/// (`npm ci`, only when node_modules is missing or was installed from another lock file);
/// returns how long that took.
fn npm_install(npm: &Path, root: &Path) -> Duration {
    let start = Instant::now();
    let output = Command::new(root.join("deploy/dev/sdk.sh"))
        .arg("install-typescript")
        .env("FERRY_NPM", npm)
        .current_dir(root)
        .output()
        .unwrap_or_else(|error| panic!("run deploy/dev/sdk.sh install-typescript: {error}"));
    assert!(
        output.status.success(),
        "deploy/dev/sdk.sh install-typescript failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    start.elapsed()
}

/// Runs `command` to its end off the async runtime; returns its output and how long it
/// took.
async fn run(mut command: Command) -> (Output, Duration) {
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let output = command
            .output()
            .unwrap_or_else(|error| panic!("run {command:?}: {error}"));
        (output, start.elapsed())
    })
    .await
    .expect("the command's thread")
}

fn report(label: &str, output: &Output, took: Duration) -> Option<String> {
    println!(
        "{label}: exit {:?} after {took:.1?}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).trim_end()
    );
    if output.status.success() {
        return None;
    }
    Some(format!(
        "{label} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_go_and_typescript_sdks_call_a_running_gateway() {
    let python = python();
    let go = go();
    let npm = npm();
    let root = repo_root();
    let typescript = root.join("crates/sdk/typescript");
    let took = npm_install(&npm, &root);
    println!("typescript sdk: packages installed (or already current) in {took:.1?}");

    let etcd = TestEtcd::start();
    let prefix = unique_prefix("sdk");
    let launch = Launch::new(&etcd, &prefix);
    let gateway = ServiceProcess::start_gateway(&launch).await;
    let deploy = ServiceProcess::start("deploy", &launch).await;
    let token = gateway.bootstrap_token().await;

    // The gateway forwards to deploy once it has seen it registered.
    let admin = gateway.admin_channel().await;
    let forwarding = eventually(Duration::from_secs(10), || {
        let mut client = NamespaceServiceClient::new(admin.clone());
        async move {
            client
                .get_namespace(GetNamespaceRequest {
                    name: "namespaces/ferry-system".into(),
                })
                .await
                .is_ok()
        }
    })
    .await;
    assert!(
        forwarding.is_some(),
        "the gateway does not forward to deploy; gateway log:\n{}",
        gateway.log_text()
    );

    let mut pytest = Command::new(&python);
    pytest
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "crates/sdk/python/tests",
        ])
        .current_dir(&root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("FERRY_GATEWAY", &gateway.address)
        .env("FERRY_TOKEN", &token);
    let (python_output, python_took) = run(pytest).await;

    let mut go_test = Command::new(&go);
    go_test
        .args(["test", "-count=1", "-v", "./..."])
        .current_dir(root.join("crates/sdk/go"))
        .env("FERRY_GATEWAY", &gateway.address)
        .env("FERRY_TOKEN", &token);
    let (go_output, go_took) = run(go_test).await;

    let mut npm_test = Command::new(&npm);
    npm_test
        .args(["test", "--silent"])
        .current_dir(&typescript)
        .env("FERRY_GATEWAY", &gateway.address)
        .env("FERRY_TOKEN", &token);
    let (typescript_output, typescript_took) = run(npm_test).await;

    let failures: Vec<String> = [
        report("python sdk (pytest)", &python_output, python_took),
        report("go sdk (go test)", &go_output, go_took),
        report(
            "typescript sdk (npm test)",
            &typescript_output,
            typescript_took,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        failures.is_empty(),
        "{}\n--- gateway log\n{}\n--- deploy log\n{}",
        failures.join("\n\n"),
        gateway.log_text(),
        deploy.log_text()
    );
    gateway.assert_no_error_logs();
    deploy.assert_no_error_logs();
}
