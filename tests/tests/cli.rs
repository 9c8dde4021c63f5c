//! The `ferry` CLI binary against a real gateway (authentication on) and a real deploy
//! service over a real etcd: login with the bootstrap token into a private config file;
//! namespaces created and listed as a table and as proto JSON; a deployment created with
//! `--no-wait` and read back; its autoscaling policy set, refused, changed and deleted;
//! bad input names the offending field and exits non-zero; no
//! token (or no gateway) gives the login hint, an unreachable gateway exits 4; a token made
//! with `tokens create` logs in a second context from stdin; the bootstrap token never
//! appears in any output.
//!
//! A second test drives the routing and build areas through the real gateway, deploy,
//! routing and build binaries: a Service in front of a deployment and an external entry
//! created with flags and read back as proto JSON and tables, the Service and an
//! application changed with `update --set` (only the named fields change; validate-only
//! changes nothing), and bad input refused before any call (exit 2) or by the service
//! (exit 1).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ferry_e2e::{Launch, ServiceProcess, bin_dir, free_port, unique_prefix};
use ferry_store::testsuite::TestEtcd;

/// The built `ferry` binary; panics with what to do when it was not built.
fn ferry_bin() -> PathBuf {
    let path = bin_dir().join("ferry");
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`, as \
         deploy/dev/test.sh does)",
        path.display()
    );
    path
}

/// One run of the CLI: exit code, stdout, stderr.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `ferry args…` with `config` as its config file and only the given FERRY_*
/// variables (the caller's own are removed).
fn ferry(config: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = Command::new(ferry_bin());
    for key in [
        "FERRY_GATEWAY",
        "FERRY_TOKEN",
        "FERRY_CONTEXT",
        "FERRY_NAMESPACE",
    ] {
        command.env_remove(key);
    }
    let output = command
        .env("FERRY_CONFIG", config)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run ferry");
    Run {
        code: output.status.code().expect("ferry exited by itself"),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

/// Retries `ferry args…` until it exits 0 (up to 15 s); returns that run.
fn ferry_until_ok(config: &Path, args: &[&str], check: impl Fn(&Run) -> bool) -> Run {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let run = ferry(config, &[], args);
        if run.code == 0 && check(&run) {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "`ferry {}` never succeeded: {run:?}",
            args.join(" ")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_logs_in_manages_namespaces_and_deployments_and_explains_errors() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("cli");
    let launch = Launch::new(&etcd, &prefix);
    let gateway = ServiceProcess::start_gateway(&launch).await;
    let deploy = ServiceProcess::start("deploy", &launch).await;
    let token = gateway.bootstrap_token().await;
    let address = format!("http://{}", gateway.address);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ferry/config.toml");
    let mut runs = Vec::new();

    // Login with the bootstrap token file: checked against the gateway, then stored in a
    // private config file as the current context; the token is never printed.
    let token_file = gateway.bootstrap_token_file();
    let login = ferry(
        &config,
        &[],
        &[
            "login",
            "--gateway",
            &address,
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    );
    assert_eq!(login.code, 0, "{login:?}");
    assert!(login.stdout.contains("users/admin"), "{login:?}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the config file holds a token: owner only");
    let contexts = ferry(&config, &[], &["context", "list"]);
    assert_eq!(contexts.code, 0, "{contexts:?}");
    assert!(
        contexts.stdout.contains(&address) && contexts.stdout.contains("default"),
        "{contexts:?}"
    );
    runs.push(login);
    runs.push(contexts);

    // The deploy service registers with the gateway asynchronously: wait until calls
    // get through.
    runs.push(ferry_until_ok(
        &config,
        &["namespaces", "get", "ferry-system"],
        |_| true,
    ));

    // Create a namespace; list it as a table and as proto JSON.
    let create = ferry(
        &config,
        &[],
        &[
            "namespaces",
            "create",
            "cli-dev",
            "--description",
            "made by the cli",
        ],
    );
    assert_eq!(create.code, 0, "{create:?}");
    assert!(create.stdout.contains("cli-dev"), "{create:?}");
    let table = ferry(&config, &[], &["namespaces", "list"]);
    assert_eq!(table.code, 0, "{table:?}");
    let header: Vec<&str> = table
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "STATE", "DESCRIPTION", "CREATED"],
        "{table:?}"
    );
    assert!(
        table
            .stdout
            .lines()
            .any(|line| line.starts_with("cli-dev ") && line.contains("made by the cli")),
        "{table:?}"
    );
    let json = ferry(&config, &[], &["namespaces", "list", "--output", "json"]);
    assert_eq!(json.code, 0, "{json:?}");
    let items: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON output");
    let namespace = items
        .as_array()
        .expect("a JSON array")
        .iter()
        .find(|item| item["name"] == "namespaces/cli-dev")
        .unwrap_or_else(|| panic!("no namespaces/cli-dev in {json:?}"));
    assert_eq!(namespace["description"], "made by the cli");
    assert!(
        namespace["createTime"].is_string(),
        "proto JSON names and types: {namespace}"
    );
    runs.extend([create, table, json]);

    // A long-running call is followed to its end through WatchOperation (the progress
    // bar draws on a terminal only) and printed once done.
    let scratch = ferry(&config, &[], &["namespaces", "create", "cli-scratch"]);
    assert_eq!(scratch.code, 0, "{scratch:?}");
    let deleted = ferry(&config, &[], &["namespaces", "delete", "cli-scratch"]);
    assert_eq!(deleted.code, 0, "{deleted:?}");
    assert!(
        deleted.stdout.contains("SUCCEEDED") && deleted.stdout.contains("100%"),
        "{deleted:?}"
    );
    let gone = ferry(&config, &[], &["namespaces", "get", "cli-scratch"]);
    assert_eq!(gone.code, 1, "{gone:?}");
    assert!(gone.stderr.contains("NOT_FOUND"), "{gone:?}");
    println!("{deleted:?}\n{gone:?}");
    runs.extend([scratch, deleted, gone]);

    // Bad input: the API's field violation is printed, with what to do; exit 1.
    let bad = ferry(&config, &[], &["namespaces", "create", "Not_Valid"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("INVALID_ARGUMENT"), "{bad:?}");
    assert!(bad.stderr.contains("field namespace_id:"), "{bad:?}");
    assert!(bad.stderr.contains("try: fix the fields"), "{bad:?}");
    assert!(bad.stdout.is_empty(), "{bad:?}");
    // A usage error is caught before any call: exit 2.
    let usage = ferry(
        &config,
        &[],
        &[
            "deployments",
            "rollback",
            "web",
            "--to",
            "latest",
            "-n",
            "cli-dev",
        ],
    );
    assert_eq!(usage.code, 2, "{usage:?}");
    assert!(usage.stderr.contains("r<number>"), "{usage:?}");
    println!("{bad:?}\n{usage:?}");
    runs.extend([bad, usage]);

    // A deployment in the namespace, without waiting (no runtime here: it stays
    // pending), then read back in both formats.
    let set = ferry(&config, &[], &["context", "set-namespace", "cli-dev"]);
    assert_eq!(set.code, 0, "{set:?}");
    runs.push(ferry_until_ok(
        &config,
        &["namespaces", "get", "cli-dev", "-o", "json"],
        |run| run.stdout.contains("\"STATE_ACTIVE\""),
    ));
    let image = format!("registry.example.com/web@sha256:{}", "ab".repeat(32));
    let created = ferry(
        &config,
        &[],
        &[
            "deployments",
            "create",
            "web",
            "--image",
            &image,
            "--replicas",
            "2",
            "--env",
            "MODE=test",
            "--port",
            "http:8080",
            "--no-wait",
        ],
    );
    assert_eq!(created.code, 0, "{created:?}");
    assert!(created.stdout.contains("operations/"), "{created:?}");
    let got = ferry(&config, &[], &["-o", "json", "deployments", "get", "web"]);
    assert_eq!(got.code, 0, "{got:?}");
    let deployment: serde_json::Value = serde_json::from_str(&got.stdout).expect("JSON");
    assert_eq!(deployment["name"], "namespaces/cli-dev/deployments/web");
    assert_eq!(deployment["replicas"], 2);
    assert_eq!(deployment["template"]["imageUri"], image.as_str());
    assert_eq!(deployment["template"]["env"][0]["name"], "MODE");
    let listed = ferry(&config, &[], &["deployments", "list"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(
        listed.stdout.lines().any(|line| line.starts_with("web ")),
        "{listed:?}"
    );
    let missing = ferry(&config, &[], &["deployments", "get", "nope"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("NOT_FOUND"), "{missing:?}");
    println!("{created:?}\n{listed:?}");
    runs.extend([set, created, got, listed, missing]);

    // Its autoscaling policy: none yet; made disabled; enabling it on CPU is refused
    // (the deployment requests no CPU) with the service's reason; a later set changes
    // only what it names; deleted, it is gone.
    let none = ferry(&config, &[], &["autoscaling", "get", "web"]);
    assert_eq!(none.code, 1, "{none:?}");
    assert!(none.stderr.contains("NOT_FOUND"), "{none:?}");
    let made = ferry(
        &config,
        &[],
        &["autoscaling", "set", "web", "--max", "3", "--disable"],
    );
    assert_eq!(made.code, 0, "{made:?}");
    let row: Vec<&str> = made
        .stdout
        .lines()
        .find(|line| line.starts_with("web "))
        .unwrap_or_else(|| panic!("no row for web: {made:?}"))
        .split_whitespace()
        .collect();
    assert_eq!(&row[..4], ["web", "DISABLED", "1", "3"], "{made:?}");
    let refused = ferry(
        &config,
        &[],
        &["autoscaling", "set", "web", "--cpu", "70", "--enable"],
    );
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("FAILED_PRECONDITION") && refused.stderr.contains("cpu"),
        "{refused:?}"
    );
    let changed = ferry(&config, &[], &["autoscaling", "set", "web", "--max", "5"]);
    assert_eq!(changed.code, 0, "{changed:?}");
    let policy = ferry(&config, &[], &["-o", "json", "autoscaling", "get", "web"]);
    assert_eq!(policy.code, 0, "{policy:?}");
    let policy_json: serde_json::Value = serde_json::from_str(&policy.stdout).expect("JSON");
    assert_eq!(
        policy_json["name"],
        "namespaces/cli-dev/deployments/web/autoscalingPolicy"
    );
    assert_eq!(policy_json["maxReplicas"], 5);
    assert_eq!(policy_json["minReplicas"], 1);
    assert!(
        policy_json["enabled"].is_null() || policy_json["enabled"] == false,
        "still disabled: {policy_json}"
    );
    let nothing = ferry(&config, &[], &["autoscaling", "set", "web"]);
    assert_eq!(nothing.code, 2, "{nothing:?}");
    let deleted = ferry(&config, &[], &["autoscaling", "delete", "web"]);
    assert_eq!(deleted.code, 0, "{deleted:?}");
    let gone = ferry(&config, &[], &["autoscaling", "get", "web"]);
    assert_eq!(gone.code, 1, "{gone:?}");
    runs.extend([none, made, refused, changed, policy, nothing, deleted, gone]);

    // No token: the gateway refuses, and the CLI says to log in. No gateway at all: the
    // same hint, before any call (exit 3).
    let empty = dir.path().join("empty.toml");
    let no_token = ferry(
        &empty,
        &[("FERRY_GATEWAY", &gateway.address)],
        &["namespaces", "list"],
    );
    assert_eq!(no_token.code, 1, "{no_token:?}");
    assert!(no_token.stderr.contains("UNAUTHENTICATED"), "{no_token:?}");
    assert!(no_token.stderr.contains("run `ferry login"), "{no_token:?}");
    let no_gateway = ferry(&empty, &[], &["namespaces", "list"]);
    assert_eq!(no_gateway.code, 3, "{no_gateway:?}");
    assert!(no_gateway.stderr.contains("ferry login"), "{no_gateway:?}");
    // A gateway that does not answer: exit 4, with what to check.
    let closed = format!("127.0.0.1:{}", free_port());
    let unreachable = ferry(&empty, &[("FERRY_GATEWAY", &closed)], &["hosts", "list"]);
    assert_eq!(unreachable.code, 4, "{unreachable:?}");
    assert!(
        unreachable.stderr.contains(&format!(
            "could not connect to the gateway at http://{closed}"
        )),
        "{unreachable:?}"
    );
    println!("{no_token:?}\n{no_gateway:?}\n{unreachable:?}");
    runs.extend([no_token, no_gateway, unreachable]);

    // A scoped token, created through the CLI (its secret is shown once), logged in as
    // a second context from stdin; contexts switch.
    let created = ferry(
        &config,
        &[],
        &["tokens", "create", "cli-ci", "--role", "roles/viewer"],
    );
    assert_eq!(created.code, 0, "{created:?}");
    let secret = created
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("secret (shown once, store it now): "))
        .unwrap_or_else(|| panic!("no secret line: {created:?}"))
        .to_string();
    let mut login = Command::new(ferry_bin())
        .env_remove("FERRY_GATEWAY")
        .env_remove("FERRY_TOKEN")
        .env_remove("FERRY_CONTEXT")
        .env("FERRY_CONFIG", &config)
        .args([
            "--context",
            "ci",
            "login",
            "--gateway",
            &address,
            "-n",
            "cli-dev",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ferry login");
    {
        use std::io::Write as _;
        let mut stdin = login.stdin.take().expect("stdin");
        writeln!(stdin, "{secret}").expect("write the token");
    }
    let output = login.wait_with_output().expect("ferry login");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.contains(&secret), "{stdout}");
    let listed = ferry(&config, &[], &["-o", "json", "context", "list"]);
    let contexts: serde_json::Value = serde_json::from_str(&listed.stdout).expect("JSON");
    let current: Vec<&str> = contexts
        .as_array()
        .unwrap()
        .iter()
        .filter(|context| context["current"] == true)
        .map(|context| context["name"].as_str().unwrap())
        .collect();
    assert_eq!(current, ["ci"], "{listed:?}");
    assert!(!listed.stdout.contains(&secret), "{listed:?}");
    let tokens = ferry(&config, &[], &["tokens", "list"]);
    assert_eq!(tokens.code, 0, "{tokens:?}");
    assert!(
        tokens
            .stdout
            .lines()
            .any(|line| line.starts_with("cli-ci ")),
        "{tokens:?}"
    );
    let switched = ferry(&config, &[], &["context", "use", "default"]);
    assert_eq!(switched.code, 0, "{switched:?}");
    runs.extend([listed, tokens, switched]);

    // The token was never printed.
    for run in &runs {
        assert!(
            !run.stdout.contains(&token) && !run.stderr.contains(&token),
            "the token leaked: {run:?}"
        );
    }
    gateway.assert_no_error_logs();
    deploy.assert_no_error_logs();
}

/// Logs `config` in to `gateway` with its bootstrap token; panics on failure.
fn login(config: &Path, gateway: &ServiceProcess) {
    let token_file = gateway.bootstrap_token_file();
    let login = ferry(
        config,
        &[],
        &[
            "login",
            "--gateway",
            &format!("http://{}", gateway.address),
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    );
    assert_eq!(login.code, 0, "{login:?}");
}

/// The JSON a successful run printed.
#[track_caller]
fn json_of(run: &Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {run:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_manages_services_external_entries_and_applications() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("cli-rb");
    let launch = Launch::new(&etcd, &prefix);
    let gateway = ServiceProcess::start_gateway(&launch).await;
    let deploy = ServiceProcess::start("deploy", &launch).await;
    let routing = ServiceProcess::start("routing", &launch).await;
    let build = ServiceProcess::start("build", &launch).await;
    let token = gateway.bootstrap_token().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ferry/config.toml");
    login(&config, &gateway);
    let mut runs = Vec::new();

    // A namespace with a deployment declaring an `http` port: the Service's target.
    runs.push(ferry_until_ok(
        &config,
        &["namespaces", "create", "cli-rt"],
        |_| true,
    ));
    let set = ferry(&config, &[], &["context", "set-namespace", "cli-rt"]);
    assert_eq!(set.code, 0, "{set:?}");
    runs.push(ferry_until_ok(
        &config,
        &["namespaces", "get", "cli-rt", "-o", "json"],
        |run| run.stdout.contains("\"STATE_ACTIVE\""),
    ));
    let described = ferry(
        &config,
        &[],
        &[
            "namespaces",
            "update",
            "cli-rt",
            "--set",
            "description=the storefront",
            "-o",
            "json",
        ],
    );
    assert_eq!(described.code, 0, "{described:?}");
    assert_eq!(json_of(&described)["description"], "the storefront");
    runs.push(described);
    let image = format!("registry.example.com/web@sha256:{}", "cd".repeat(32));
    let created = ferry(
        &config,
        &[],
        &[
            "deployments",
            "create",
            "web",
            "--image",
            &image,
            "--port",
            "http:8080",
            "--no-wait",
        ],
    );
    assert_eq!(created.code, 0, "{created:?}");
    runs.push(created);

    // A Service in front of it, through the gateway to the routing service (which
    // registers asynchronously: wait until a list gets through).
    runs.push(ferry_until_ok(&config, &["services", "list"], |_| true));
    let service = ferry(
        &config,
        &[],
        &[
            "services",
            "create",
            "web",
            "--deployment",
            "web",
            "--port",
            "http=80:http",
            "--affinity",
            "client-ip",
        ],
    );
    assert_eq!(service.code, 0, "{service:?}");
    assert!(service.stdout.contains("http=80:http"), "{service:?}");
    let got = json_of(&ferry(
        &config,
        &[],
        &["services", "get", "web", "--output", "json"],
    ));
    assert_eq!(got["name"], "namespaces/cli-rt/services/web");
    assert_eq!(got["deployment"], "namespaces/cli-rt/deployments/web");
    assert_eq!(got["ports"][0]["name"], "http");
    assert_eq!(got["ports"][0]["port"], 80);
    assert_eq!(got["ports"][0]["targetPortName"], "http");
    assert_eq!(got["sessionAffinity"]["mode"], "MODE_CLIENT_IP");
    let listed = ferry(&config, &[], &["services", "list"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(
        listed
            .stdout
            .lines()
            .any(|line| line.starts_with("web ") && line.contains("http=80:http")),
        "{listed:?}"
    );
    let endpoints = ferry(
        &config,
        &[],
        &["services", "endpoints", "web", "-o", "json"],
    );
    assert_eq!(
        json_of(&endpoints),
        serde_json::json!([]),
        "no instances run here: {endpoints:?}"
    );
    // The service refuses a target that does not exist, and says what to do.
    let missing = ferry(
        &config,
        &[],
        &[
            "services",
            "create",
            "other",
            "--deployment",
            "nope",
            "--port",
            "80",
        ],
    );
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.stderr.contains("FAILED_PRECONDITION") && missing.stderr.contains("nope"),
        "{missing:?}"
    );
    // A usage error is caught before any call.
    let bad_port = ferry(
        &config,
        &[],
        &[
            "services",
            "create",
            "other",
            "--deployment",
            "web",
            "--port",
            "http=0",
        ],
    );
    assert_eq!(bad_port.code, 2, "{bad_port:?}");
    assert!(
        bad_port.stderr.contains("[name=]PORT[:TARGET]"),
        "{bad_port:?}"
    );
    println!("{got:#}\n{listed:?}\n{missing:?}\n{bad_port:?}");
    runs.extend([service, listed, endpoints, missing, bad_port]);

    // Update with --set: read, edit, write back with the etag; only what is named changes.
    let updated = ferry(
        &config,
        &[],
        &[
            "services",
            "update",
            "web",
            "--set",
            "session_affinity.mode=MODE_NONE",
            "--set",
            "labels.team=storefront",
            "-o",
            "json",
        ],
    );
    assert_eq!(updated.code, 0, "{updated:?}");
    let after = json_of(&updated);
    assert_eq!(after["sessionAffinity"]["mode"], "MODE_NONE", "{after:#}");
    assert_eq!(after["labels"]["team"], "storefront", "{after:#}");
    assert_eq!(after["ports"], got["ports"], "untouched fields stay");
    assert_ne!(after["etag"], got["etag"], "a new etag after the write");
    // A field the service does not update: its INVALID_ARGUMENT names the updatable ones.
    let fixed = ferry(
        &config,
        &[],
        &["services", "update", "web", "--set", "uid=x"],
    );
    assert_eq!(fixed.code, 1, "{fixed:?}");
    assert!(
        fixed.stderr.contains("INVALID_ARGUMENT") && fixed.stderr.contains("update_mask"),
        "{fixed:?}"
    );
    // A path the message does not have: a usage error before any call, naming the fields.
    let no_field = ferry(
        &config,
        &[],
        &["services", "update", "web", "--set", "colour=blue"],
    );
    assert_eq!(no_field.code, 2, "{no_field:?}");
    assert!(
        no_field.stderr.contains("no field \"colour\"") && no_field.stderr.contains("ports"),
        "{no_field:?}"
    );
    // --validate-only checks and changes nothing.
    let checked = ferry(
        &config,
        &[],
        &[
            "services",
            "update",
            "web",
            "--set",
            "display_name=Shop",
            "--validate-only",
        ],
    );
    assert_eq!(checked.code, 0, "{checked:?}");
    let unchanged = json_of(&ferry(
        &config,
        &[],
        &["services", "get", "web", "-o", "json"],
    ));
    assert!(unchanged.get("displayName").is_none(), "{unchanged:#}");
    println!("{updated:?}\n{fixed:?}\n{no_field:?}");
    runs.extend([updated, fixed, no_field, checked]);

    // An external entry (served by the routing service under ferry.catalog.v1).
    let entry = ferry(
        &config,
        &[],
        &[
            "external-entries",
            "create",
            "db",
            "--address",
            "127.0.0.1:6432",
            "--address",
            "[::1]",
            "--port",
            "pg=5432",
            "--health-check",
            "tcp",
        ],
    );
    assert_eq!(entry.code, 0, "{entry:?}");
    let got = json_of(&ferry(
        &config,
        &[],
        &["-o", "json", "external-entries", "get", "db"],
    ));
    assert_eq!(got["name"], "namespaces/cli-rt/externalEntries/db");
    assert_eq!(got["ports"][0]["name"], "pg");
    assert_eq!(got["ports"][0]["port"], 5432);
    assert_eq!(got["addresses"][0]["host"], "127.0.0.1");
    assert_eq!(got["addresses"][0]["ports"][0]["name"], "pg");
    assert_eq!(got["addresses"][0]["ports"][0]["port"], 6432);
    assert_eq!(got["addresses"][1]["host"], "::1");
    assert!(got["healthCheck"]["tcp"].is_object(), "{got:#}");
    let listed = ferry(&config, &[], &["external-entries", "list"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(
        listed
            .stdout
            .lines()
            .any(|line| line.starts_with("db ") && line.contains("pg=5432")),
        "{listed:?}"
    );
    let bad = ferry(
        &config,
        &[],
        &[
            "external-entries",
            "create",
            "db2",
            "--address",
            "10.0.0.1",
            "--port",
            "pg=99999",
        ],
    );
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("NAME=PORT"), "{bad:?}");
    let deleted = ferry(&config, &[], &["external-entries", "delete", "db"]);
    assert_eq!(deleted.code, 0, "{deleted:?}");
    let gone = ferry(&config, &[], &["external-entries", "get", "db"]);
    assert_eq!(gone.code, 1, "{gone:?}");
    assert!(gone.stderr.contains("NOT_FOUND"), "{gone:?}");
    println!("{got:#}\n{listed:?}\n{bad:?}");
    runs.extend([entry, listed, bad, deleted, gone]);
    // Blue-green: no entry yet; one over a side without running instances is refused
    // by the routing service (exit 1), a switch of a missing entry is NOT_FOUND.
    let blue_green = ferry(&config, &[], &["blue-green", "list", "-o", "json"]);
    assert_eq!(
        json_of(&blue_green),
        serde_json::json!([]),
        "{blue_green:?}"
    );
    let unhealthy = ferry(
        &config,
        &[],
        &[
            "blue-green",
            "create",
            "shop",
            "--application",
            "web",
            "--blue",
            "cli-rt",
            "--green",
            "cli-rt-green",
            "--port",
            "http=80:http",
        ],
    );
    assert_eq!(unhealthy.code, 1, "{unhealthy:?}");
    assert!(
        unhealthy
            .stderr
            .starts_with("error: create blue-green entry blueGreenEntries/shop failed")
            && unhealthy.stderr.contains("FAILED_PRECONDITION"),
        "{unhealthy:?}"
    );
    let no_entry = ferry(
        &config,
        &[],
        &["blue-green", "switch", "shop", "--to", "green"],
    );
    assert_eq!(no_entry.code, 1, "{no_entry:?}");
    assert!(no_entry.stderr.contains("NOT_FOUND"), "{no_entry:?}");
    println!("{unhealthy:?}\n{no_entry:?}");
    runs.extend([blue_green, unhealthy, no_entry]);

    // An application through the build service (no build runs).
    runs.push(ferry_until_ok(&config, &["applications", "list"], |_| true));
    // A real repository with a `main` branch: the build service checks the source after
    // the create returns, and the CLI reads the result back.
    let repository = dir.path().join("web.git");
    for args in [
        &["init", "--quiet", "--initial-branch", "main"][..],
        &[
            "-c",
            "user.name=ferry",
            "-c",
            "user.email=ferry@example.com",
            "commit",
            "--quiet",
            "--allow-empty",
            "-m",
            "first",
        ][..],
    ] {
        let status = Command::new("git")
            .current_dir(
                std::fs::create_dir_all(&repository)
                    .map(|()| &repository)
                    .unwrap(),
            )
            .args(args)
            .status()
            .expect("run git (installed by deploy/dev/setup.sh)");
        assert!(status.success(), "git {args:?} failed");
    }
    let application = ferry(
        &config,
        &[],
        &[
            "applications",
            "create",
            "web",
            "--git",
            repository.to_str().unwrap(),
            "--ref",
            "main",
            "--build-script",
            "make",
            "--test-script",
            "make test",
            "--dockerfile",
            "Dockerfile",
        ],
    );
    assert_eq!(application.code, 0, "{application:?}");
    let active = ferry_until_ok(
        &config,
        &["applications", "get", "web", "--output", "json"],
        |run| run.stdout.contains("\"STATE_ACTIVE\""),
    );
    let got = json_of(&active);
    assert_eq!(got["name"], "applications/web");
    assert_eq!(got["source"]["repositoryUrl"], repository.to_str().unwrap());
    assert_eq!(got["source"]["ref"], "main");
    assert_eq!(got["build"]["buildScript"], "make");
    assert_eq!(got["build"]["test"]["script"], "make test");
    assert_eq!(got["build"]["dockerfile"]["dockerfilePath"], "Dockerfile");
    let listed = ferry(&config, &[], &["applications", "list"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(
        listed.stdout.lines().any(|line| line.starts_with("web ")),
        "{listed:?}"
    );
    let moved = ferry(
        &config,
        &[],
        &[
            "-o",
            "json",
            "applications",
            "update",
            "web",
            "--set",
            "source.ref=release",
            "--set",
            "build.build_script=make all",
        ],
    );
    assert_eq!(moved.code, 0, "{moved:?}");
    let after = json_of(&moved);
    assert_eq!(after["source"]["ref"], "release", "{after:#}");
    assert_eq!(
        after["source"]["repositoryUrl"],
        got["source"]["repositoryUrl"]
    );
    assert_eq!(after["build"]["buildScript"], "make all", "{after:#}");
    assert_eq!(after["build"]["test"]["script"], "make test", "{after:#}");
    runs.push(moved);
    let builds = ferry(&config, &[], &["-o", "json", "builds", "list", "web"]);
    assert_eq!(json_of(&builds), serde_json::json!([]), "{builds:?}");
    // Neither a Dockerfile nor artifacts: refused before any call, saying what to give.
    let no_mode = ferry(
        &config,
        &[],
        &["applications", "create", "api", "--git", "/srv/git/api"],
    );
    assert_eq!(no_mode.code, 2, "{no_mode:?}");
    assert!(no_mode.stderr.contains("--dockerfile PATH"), "{no_mode:?}");
    let bad_build = ferry(&config, &[], &["builds", "get", "b-1"]);
    assert_eq!(bad_build.code, 2, "{bad_build:?}");
    assert!(
        bad_build.stderr.contains("<application>/<id>"),
        "{bad_build:?}"
    );
    println!("{got:#}\n{listed:?}\n{no_mode:?}");
    runs.extend([application, active, listed, builds, no_mode, bad_build]);

    for run in &runs {
        assert!(
            !run.stdout.contains(&token) && !run.stderr.contains(&token),
            "the token leaked: {run:?}"
        );
    }
    gateway.assert_no_error_logs();
    deploy.assert_no_error_logs();
    routing.assert_no_error_logs();
    build.assert_no_error_logs();
}
