//! The gateway's limits (issue 4), through real gateway processes and a real deploy
//! service on loopback, against a real etcd: a token past its burst gets
//! RESOURCE_EXHAUSTED (`RATE_LIMITED`, with `RetryInfo`) while another token still works,
//! and the refusal is audited (a flood of refusals once per second, not once per call);
//! calls without a valid token are limited per address; a request above the message
//! limit gets RESOURCE_EXHAUSTED (`MESSAGE_TOO_LARGE`), not a hang; with one call in flight allowed per upstream instance, a second call while a
//! stream holds the only deploy instance gets UNAVAILABLE at once (with `RetryInfo`).
//!
//! TLS: a gateway given `FERRY_TLS_CERT`/`FERRY_TLS_KEY` (a test CA and a certificate for
//! `localhost` and 127.0.0.1, made with the `openssl` command) serves a TLS client that
//! trusts the CA; a plaintext client is refused; a gateway told to serve plaintext on a
//! non-loopback address exits with 64 and says why.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ferry_e2e::{
    Launch, ServiceProcess, assert_error, bearer, bin_path, eventually, unique_prefix,
};
use ferry_proto::ferry::auth::v1::audit_service_client::AuditServiceClient;
use ferry_proto::ferry::auth::v1::token_service_client::TokenServiceClient;
use ferry_proto::ferry::auth::v1::user_service_client::UserServiceClient;
use ferry_proto::ferry::auth::v1::{
    CreateTokenRequest, GetCallerIdentityRequest, ListAuditEntriesRequest, Token,
};
use ferry_proto::ferry::deploy::v1::event_service_client::EventServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{
    GetNamespaceRequest, ListNamespacesRequest, WatchEventsRequest,
};
use ferry_store::testsuite::TestEtcd;
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_types::StatusExt as _;

const DOMAIN: &str = "gateway.ferry.dev";
const BURST: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_past_its_burst_is_rate_limited_while_another_still_works() {
    let etcd = TestEtcd::start();
    let launch = Launch::new(&etcd, &unique_prefix("limits-rate"));
    let burst = BURST.to_string();
    let gateway = ServiceProcess::start_with_env(
        "gateway",
        &launch,
        &[
            ("FERRY_AUTH", "enabled"),
            ("FERRY_RATE_LIMIT", "1/m"),
            ("FERRY_RATE_BURST", &burst),
        ],
    )
    .await;
    let admin_token = gateway.bootstrap_token().await;
    let channel = gateway.channel().await;

    // A second token of the admin (admin call 1).
    let created = TokenServiceClient::with_interceptor(channel.clone(), bearer(&admin_token))
        .create_token(CreateTokenRequest {
            token_id: "limited".into(),
            token: Some(Token {
                owner: "users/admin".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("create a token")
        .into_inner();
    let mut limited = UserServiceClient::with_interceptor(channel.clone(), bearer(&created.secret));
    // It authenticates once the gateway's state has it (refusals until then are charged
    // to the address, not to the token).
    let known = eventually(Duration::from_secs(10), || {
        let mut client = limited.clone();
        async move {
            client
                .get_caller_identity(GetCallerIdentityRequest::default())
                .await
                .is_ok()
        }
    })
    .await;
    assert!(known.is_some(), "the new token never authenticated");

    // Its burst, then RESOURCE_EXHAUSTED with RetryInfo (about a minute at 1/m).
    let mut allowed = 1;
    let refused = loop {
        match limited
            .get_caller_identity(GetCallerIdentityRequest::default())
            .await
        {
            Ok(_) => allowed += 1,
            Err(status) => break status,
        }
        assert!(allowed <= BURST + 1, "no limit after {allowed} calls");
    };
    assert!(
        (BURST..=BURST + 1).contains(&allowed),
        "{allowed} calls allowed"
    );
    assert_error(&refused, Code::ResourceExhausted, "RATE_LIMITED", DOMAIN);
    let delay = refused
        .get_error_details()
        .retry_info()
        .and_then(|info| info.retry_delay)
        .expect("RetryInfo on a rate-limited call");
    assert!(
        delay > Duration::from_secs(10) && delay <= Duration::from_secs(60),
        "retry in {delay:?}"
    );

    // A flood past the limit: every call refused, and (below) one audit entry for the
    // lot, not one store write per call.
    let flood_started = std::time::Instant::now();
    for _ in 0..30 {
        let status = limited
            .get_caller_identity(GetCallerIdentityRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    }
    let flood_took = flood_started.elapsed();

    // The admin's token has its own bucket (admin call 2).
    let identity = UserServiceClient::with_interceptor(channel.clone(), bearer(&admin_token))
        .get_caller_identity(GetCallerIdentityRequest::default())
        .await
        .expect("another token still works")
        .into_inner();
    assert_eq!(identity.token, "tokens/bootstrap");

    // The refusal is audited like a PERMISSION_DENIED one (admin calls 3 and up).
    let audit = AuditServiceClient::with_interceptor(channel.clone(), bearer(&admin_token));
    let audited = eventually(Duration::from_secs(10), || {
        let mut audit = audit.clone();
        async move {
            audit
                .list_audit_entries(ListAuditEntriesRequest {
                    page_size: 100,
                    ..Default::default()
                })
                .await
                .is_ok_and(|answer| {
                    answer.into_inner().audit_entries.iter().any(|entry| {
                        entry.token == "tokens/limited"
                            && entry.result_code == Code::ResourceExhausted as i32
                            && entry.result_reason == "RATE_LIMITED"
                    })
                })
        }
    })
    .await;
    assert!(audited.is_some(), "no audit entry of the rate-limited call");
    let recorded = audit
        .clone()
        .list_audit_entries(ListAuditEntriesRequest {
            page_size: 200,
            ..Default::default()
        })
        .await
        .expect("list the audit log")
        .into_inner()
        .audit_entries
        .iter()
        .filter(|entry| entry.token == "tokens/limited" && entry.result_reason == "RATE_LIMITED")
        .count();
    // One per key and second at most: the first refusal, plus one per second the flood
    // lasted.
    let most = 2 + flood_took.as_secs() as usize;
    assert!(
        (1..=most).contains(&recorded),
        "{recorded} audit entries for 31 refusals in {flood_took:?} (at most {most})"
    );

    // Without a valid token: UNAUTHENTICATED, then limited per address (its bucket may
    // hold fewer calls already: the new token's first tries were charged to it).
    let mut anonymous =
        UserServiceClient::with_interceptor(channel.clone(), bearer("ferry_nobody_wrong"));
    let mut codes = Vec::new();
    for _ in 0..=BURST {
        let status = anonymous
            .get_caller_identity(GetCallerIdentityRequest::default())
            .await
            .unwrap_err();
        codes.push(status.code());
        if status.code() == Code::ResourceExhausted {
            assert_error(&status, Code::ResourceExhausted, "RATE_LIMITED", DOMAIN);
            break;
        }
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    assert_eq!(
        codes.last(),
        Some(&Code::ResourceExhausted),
        "no limit per address: {codes:?}"
    );
    gateway.assert_no_error_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_and_busy_upstreams_are_refused_at_once() {
    let etcd = TestEtcd::start();
    let launch = Launch::new(&etcd, &unique_prefix("limits-busy"));
    let gateway = ServiceProcess::start_with_env(
        "gateway",
        &launch,
        &[
            ("FERRY_AUTH", "enabled"),
            ("FERRY_UPSTREAM_MAX_IN_FLIGHT", "1"),
            ("FERRY_MAX_MESSAGE_BYTES", "1024"),
        ],
    )
    .await;
    let deploy = ServiceProcess::start("deploy", &launch).await;
    let channel = gateway.admin_channel().await;
    let namespaces = NamespaceServiceClient::new(channel.clone());
    let get_system = || GetNamespaceRequest {
        name: "namespaces/ferry-system".into(),
    };
    let forwarding = eventually(Duration::from_secs(15), || {
        let mut client = namespaces.clone();
        async move { client.get_namespace(get_system()).await.is_ok() }
    })
    .await;
    assert!(
        forwarding.is_some(),
        "the gateway never forwarded to deploy; log:\n{}",
        gateway.log_text()
    );

    // Above FERRY_MAX_MESSAGE_BYTES: RESOURCE_EXHAUSTED, at once.
    let started = Instant::now();
    let status = tokio::time::timeout(
        Duration::from_secs(5),
        namespaces.clone().get_namespace(GetNamespaceRequest {
            name: format!("namespaces/{}", "x".repeat(2000)),
        }),
    )
    .await
    .expect("an oversized request is answered, not left hanging")
    .unwrap_err();
    assert_error(
        &status,
        Code::ResourceExhausted,
        "MESSAGE_TOO_LARGE",
        DOMAIN,
    );
    println!("oversized request refused in {:?}", started.elapsed());

    // A stream holds the only deploy instance's one slot...
    let stream = EventServiceClient::new(channel.clone())
        .watch_events(WatchEventsRequest {
            parent: "namespaces/ferry-system".into(),
            ..Default::default()
        })
        .await
        .expect("watch events")
        .into_inner();
    // ...so a second call is UNAVAILABLE, with RetryInfo, without waiting.
    let started = Instant::now();
    let status = tokio::time::timeout(
        Duration::from_secs(5),
        namespaces.clone().get_namespace(get_system()),
    )
    .await
    .expect("a call to a busy service is answered, not queued")
    .unwrap_err();
    let elapsed = started.elapsed();
    assert_error(&status, Code::Unavailable, "BACKEND_UNAVAILABLE", DOMAIN);
    assert!(
        status.message().contains("limit of calls in flight"),
        "busy, not missing: {status:?}"
    );
    assert!(
        status.get_error_details().retry_info().is_some(),
        "RetryInfo on a busy upstream"
    );
    assert!(
        elapsed < Duration::from_secs(1),
        "refused in {elapsed:?}, not queued"
    );
    println!("busy upstream refused in {elapsed:?}");

    // The slot is freed when the stream ends: calls pass again.
    drop(stream);
    let freed = eventually(Duration::from_secs(5), || {
        let mut client = namespaces.clone();
        async move { client.get_namespace(get_system()).await.is_ok() }
    })
    .await;
    assert!(freed.is_some(), "the slot was never released");
    drop(deploy);
}

/// Runs `openssl` with `args` in `dir`; panics with its output when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is needed to make the test certificates");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A test CA (`ca.pem`) and a server certificate it signed (`server.pem`,
/// `server.key`) for `localhost` and 127.0.0.1, in `dir`.
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=ferry test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "1",
            "-extfile",
            "server.ext",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_test_ca_and_no_plaintext_off_loopback() {
    let etcd = TestEtcd::start();
    let launch = Launch::new(&etcd, &unique_prefix("limits-tls"));
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path());
    let cert = certs.path().join("server.pem");
    let key = certs.path().join("server.key");
    let gateway = ServiceProcess::spawn_with_env(
        "gateway",
        &launch,
        &[
            ("FERRY_AUTH", "enabled"),
            ("FERRY_TLS_CERT", cert.to_str().unwrap()),
            ("FERRY_TLS_KEY", key.to_str().unwrap()),
        ],
    );
    let _deploy = ServiceProcess::start("deploy", &launch).await;
    let token = gateway.bootstrap_token().await;

    let ca = std::fs::read(certs.path().join("ca.pem")).unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    let connect = || {
        let tls = tls.clone();
        let address = gateway.address.clone();
        async move {
            Channel::from_shared(format!("https://{address}"))
                .unwrap()
                .tls_config(tls)
                .unwrap()
                .connect_timeout(Duration::from_secs(2))
                .connect()
                .await
        }
    };
    // Over TLS, with the CA: ListNamespaces is forwarded (once deploy is known).
    let listed = eventually(Duration::from_secs(15), || {
        let connect = connect();
        let token = token.clone();
        async move {
            let Ok(channel) = connect.await else {
                return false;
            };
            NamespaceServiceClient::with_interceptor(channel, bearer(&token))
                .list_namespaces(ListNamespacesRequest::default())
                .await
                .is_ok_and(|answer| {
                    answer
                        .into_inner()
                        .namespaces
                        .iter()
                        .any(|namespace| namespace.name == "namespaces/ferry-system")
                })
        }
    })
    .await;
    assert!(
        listed.is_some(),
        "ListNamespaces over TLS never succeeded; log:\n{}",
        gateway.log_text()
    );

    // A plaintext client gets no answer from the TLS port.
    let plaintext = Channel::from_shared(format!("http://{}", gateway.address))
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect_lazy();
    let refused = NamespaceServiceClient::with_interceptor(plaintext, bearer(&token))
        .list_namespaces(ListNamespacesRequest::default())
        .await;
    assert!(refused.is_err(), "plaintext was served on the TLS port");

    // Plaintext on a non-loopback address: refused at start, exit 64.
    let mut child = Command::new(bin_path("gateway"))
        .args(["--listen", "0.0.0.0:0", "--etcd-endpoints"])
        .arg(launch.etcd_endpoints.join(","))
        .args(["--etcd-prefix", &launch.prefix])
        .env("FERRY_AUTH", "enabled")
        .env_remove("FERRY_TLS_CERT")
        .env_remove("FERRY_TLS_KEY")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the gateway");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the gateway served plaintext on 0.0.0.0 instead of exiting");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(ferry_kit::config::EXIT_INVALID_CONFIG),
        "{stderr}"
    );
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("FERRY_TLS_CERT"),
        "{stderr}"
    );
}
