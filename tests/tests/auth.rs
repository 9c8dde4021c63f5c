//! Authentication, authorization and audit at the gateway (issue 4), through the real
//! gateway processes and a real deploy service on loopback, against a real etcd:
//! no token → UNAUTHENTICATED; the bootstrap admin token works; a namespace viewer's
//! write and its read in another namespace → PERMISSION_DENIED (never NOT_FOUND); a
//! token revoked through gateway A is refused by gateway B, and its open stream there
//! ends, within 1 s (measured); the audit log holds the test's mutating and refused
//! calls; no token secret appears in any log or in any response after CreateToken.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_e2e::{Launch, ServiceProcess, assert_error, bearer, eventually, unique_prefix};
use ferry_proto::ferry::auth::v1::audit_service_client::AuditServiceClient;
use ferry_proto::ferry::auth::v1::role_binding_service_client::RoleBindingServiceClient;
use ferry_proto::ferry::auth::v1::service_account_service_client::ServiceAccountServiceClient;
use ferry_proto::ferry::auth::v1::token_service_client::TokenServiceClient;
use ferry_proto::ferry::auth::v1::user_service_client::UserServiceClient;
use ferry_proto::ferry::auth::v1::{
    AuditEntry, CreateRoleBindingRequest, CreateServiceAccountRequest, CreateTokenRequest,
    GetCallerIdentityRequest, GetTokenRequest, ListAuditEntriesRequest, ListTokensRequest,
    RevokeTokenRequest, RoleBinding, ServiceAccount, Token,
};
use ferry_proto::ferry::deploy::v1::event_service_client::EventServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateNamespaceRequest, DeleteNamespaceRequest, GetNamespaceRequest, ListNamespacesRequest,
    Namespace, WatchEventsRequest,
};
use ferry_store::Store;
use ferry_store::keys::PrefixedStore;
use ferry_store::testsuite::TestEtcd;
use prost::Message;
use tonic::Code;

const DOMAIN: &str = "gateway.ferry.dev";
const AUTH_ON: &[(&str, &str)] = &[("FERRY_AUTH", "enabled")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_revocation_and_audit_through_the_gateway() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("auth");
    let launch = Launch::new(&etcd, &prefix);
    let gateway_a = ServiceProcess::start_with_env("gateway", &launch, AUTH_ON).await;
    let deploy = ServiceProcess::start("deploy", &launch).await;

    // The bootstrap admin token: written once, readable only by its owner.
    let admin_token = gateway_a.bootstrap_token().await;
    let mode = std::fs::metadata(gateway_a.bootstrap_token_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the bootstrap token file is private");
    let channel_a = gateway_a.channel().await;

    // No token: UNAUTHENTICATED with ErrorInfo, before anything is forwarded.
    let status = NamespaceServiceClient::new(channel_a.clone())
        .list_namespaces(ListNamespacesRequest::default())
        .await
        .unwrap_err();
    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED", DOMAIN);
    let status = NamespaceServiceClient::with_interceptor(
        channel_a.clone(),
        bearer("ferry_bootstrap_not-the-secret"),
    )
    .list_namespaces(ListNamespacesRequest::default())
    .await
    .unwrap_err();
    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED", DOMAIN);

    // The bootstrap admin token works, for forwarded calls and the gateway's own API.
    let mut admin_namespaces =
        NamespaceServiceClient::with_interceptor(channel_a.clone(), bearer(&admin_token));
    let forwarding = eventually(Duration::from_secs(10), || {
        let mut client = admin_namespaces.clone();
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
        "the admin never got through; log:\n{}",
        gateway_a.log_text()
    );
    for id in ["auth-dev", "auth-prod"] {
        admin_namespaces
            .create_namespace(CreateNamespaceRequest {
                namespace_id: id.into(),
                namespace: Some(Namespace::default()),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let identity = UserServiceClient::with_interceptor(channel_a.clone(), bearer(&admin_token))
        .get_caller_identity(GetCallerIdentityRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(identity.principal, "users/admin");
    assert_eq!(identity.token, "tokens/bootstrap");

    // A service account that may only read namespace auth-dev.
    ServiceAccountServiceClient::with_interceptor(channel_a.clone(), bearer(&admin_token))
        .create_service_account(CreateServiceAccountRequest {
            service_account_id: "dev-viewer".into(),
            service_account: Some(ServiceAccount {
                description: "reads namespace auth-dev".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    RoleBindingServiceClient::with_interceptor(channel_a.clone(), bearer(&admin_token))
        .create_role_binding(CreateRoleBindingRequest {
            parent: "namespaces/auth-dev".into(),
            role_binding_id: "viewers".into(),
            role_binding: Some(RoleBinding {
                role: "roles/viewer".into(),
                members: vec!["serviceAccounts/dev-viewer".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut admin_tokens =
        TokenServiceClient::with_interceptor(channel_a.clone(), bearer(&admin_token));
    let created = admin_tokens
        .create_token(CreateTokenRequest {
            token_id: "dev-viewer-ci".into(),
            token: Some(Token {
                owner: "serviceAccounts/dev-viewer".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let viewer_token = created.secret.clone();
    assert!(
        viewer_token.starts_with("ferry_dev-viewer-ci_"),
        "a secret is returned once"
    );

    // The secret is never shown again.
    let fetched = admin_tokens
        .get_token(GetTokenRequest {
            name: "tokens/dev-viewer-ci".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let listed = admin_tokens
        .list_tokens(ListTokensRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.tokens.len(), 2, "{listed:?}");
    for bytes in [fetched.encode_to_vec(), listed.encode_to_vec()] {
        let text = String::from_utf8_lossy(&bytes);
        for secret in [&viewer_token, &admin_token] {
            // `ferry_<id>_<secret>`: ids hold no `_`, secrets may.
            let (_, raw) = secret
                .strip_prefix("ferry_")
                .unwrap()
                .split_once('_')
                .unwrap();
            assert!(!text.contains(raw), "a secret leaked into a response");
        }
    }

    // The viewer reads its namespace; its write and its read elsewhere are refused
    // before anything is looked up (even for a namespace that does not exist).
    let mut viewer_a =
        NamespaceServiceClient::with_interceptor(channel_a.clone(), bearer(&viewer_token));
    viewer_a
        .get_namespace(GetNamespaceRequest {
            name: "namespaces/auth-dev".into(),
        })
        .await
        .unwrap();
    let status = viewer_a
        .delete_namespace(DeleteNamespaceRequest {
            name: "namespaces/auth-dev".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "PERMISSION_DENIED", DOMAIN);
    for other in ["namespaces/auth-prod", "namespaces/does-not-exist"] {
        let status = viewer_a
            .get_namespace(GetNamespaceRequest { name: other.into() })
            .await
            .unwrap_err();
        assert_error(&status, Code::PermissionDenied, "PERMISSION_DENIED", DOMAIN);
    }

    // A second gateway replica on the same etcd: it knows the token from the watch.
    let gateway_b = ServiceProcess::start_with_env("gateway", &launch, AUTH_ON).await;
    let mut viewer_b =
        NamespaceServiceClient::with_interceptor(gateway_b.channel().await, bearer(&viewer_token));
    let works_on_b = eventually(Duration::from_secs(10), || {
        let mut client = viewer_b.clone();
        async move {
            client
                .get_namespace(GetNamespaceRequest {
                    name: "namespaces/auth-dev".into(),
                })
                .await
                .is_ok()
        }
    })
    .await;
    assert!(
        works_on_b.is_some(),
        "gateway B never accepted the viewer; log:\n{}",
        gateway_b.log_text()
    );

    // The viewer may not read the audit log (viewer excludes auth.auditEntries.*).
    let status = AuditServiceClient::with_interceptor(channel_a.clone(), bearer(&viewer_token))
        .list_audit_entries(ListAuditEntriesRequest::default())
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "PERMISSION_DENIED", DOMAIN);

    // A stream the viewer holds open on B (its namespace's events).
    let mut events =
        EventServiceClient::with_interceptor(gateway_b.channel().await, bearer(&viewer_token))
            .watch_events(WatchEventsRequest {
                parent: "namespaces/auth-dev".into(),
                ..Default::default()
            })
            .await
            .expect("the viewer may watch its namespace's events")
            .into_inner();

    // Revoked through A, refused by B within 1 s.
    admin_tokens
        .revoke_token(RevokeTokenRequest {
            name: "tokens/dev-viewer-ci".into(),
            reason: "test".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let revoked_at = Instant::now();
    let refused_after = loop {
        let result = viewer_b
            .get_namespace(GetNamespaceRequest {
                name: "namespaces/auth-dev".into(),
            })
            .await;
        match result {
            Err(status) if status.code() == Code::Unauthenticated => {
                assert_error(&status, Code::Unauthenticated, "TOKEN_REVOKED", DOMAIN);
                break revoked_at.elapsed();
            }
            _ => {
                assert!(
                    revoked_at.elapsed() < Duration::from_secs(5),
                    "gateway B still accepts the revoked token"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    println!("revocation through gateway A refused by gateway B after {refused_after:?}");
    assert!(
        refused_after < Duration::from_secs(1),
        "revocation took {refused_after:?}"
    );
    // The open stream ends too, within the same second.
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(2), events.message()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => panic!("the stream ended without an error"),
            Ok(Err(status)) => {
                assert_error(&status, Code::Unauthenticated, "TOKEN_REVOKED", DOMAIN);
                break revoked_at.elapsed();
            }
            Err(_) => panic!("the stream outlived its revoked token by 2 s"),
        }
    };
    println!("the revoked token's open stream on gateway B ended after {ended:?}");
    assert!(
        ended < Duration::from_secs(1),
        "stream ended after {ended:?}"
    );

    // The audit log holds every mutating call and every refused one.
    let mut audit = AuditServiceClient::with_interceptor(channel_a.clone(), bearer(&admin_token));
    let expected: Vec<(&str, &str, &str, i32)> = vec![
        (
            "users/admin",
            "/ferry.deploy.v1.NamespaceService/CreateNamespace",
            "namespaces/auth-dev",
            0,
        ),
        (
            "users/admin",
            "/ferry.deploy.v1.NamespaceService/CreateNamespace",
            "namespaces/auth-prod",
            0,
        ),
        (
            "users/admin",
            "/ferry.auth.v1.ServiceAccountService/CreateServiceAccount",
            "serviceAccounts/dev-viewer",
            0,
        ),
        (
            "users/admin",
            "/ferry.auth.v1.RoleBindingService/CreateRoleBinding",
            "namespaces/auth-dev/roleBindings/viewers",
            0,
        ),
        (
            "users/admin",
            "/ferry.auth.v1.TokenService/CreateToken",
            "tokens/dev-viewer-ci",
            0,
        ),
        (
            "users/admin",
            "/ferry.auth.v1.TokenService/RevokeToken",
            "tokens/dev-viewer-ci",
            0,
        ),
        (
            "serviceAccounts/dev-viewer",
            "/ferry.deploy.v1.NamespaceService/DeleteNamespace",
            "namespaces/auth-dev",
            Code::PermissionDenied as i32,
        ),
        (
            "serviceAccounts/dev-viewer",
            "/ferry.deploy.v1.NamespaceService/GetNamespace",
            "namespaces/does-not-exist",
            Code::PermissionDenied as i32,
        ),
        (
            "serviceAccounts/dev-viewer",
            "/ferry.auth.v1.AuditService/ListAuditEntries",
            "",
            Code::PermissionDenied as i32,
        ),
        (
            "",
            "/ferry.deploy.v1.NamespaceService/ListNamespaces",
            "",
            Code::Unauthenticated as i32,
        ),
    ];
    let seen: Arc<Mutex<Vec<AuditEntry>>> = Arc::default();
    let complete = eventually(Duration::from_secs(5), || {
        let mut audit = audit.clone();
        let expected = expected.clone();
        let seen = seen.clone();
        async move {
            let entries = audit
                .list_audit_entries(ListAuditEntriesRequest {
                    page_size: 500,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .audit_entries;
            let all = expected.iter().all(|(actor, method, resource, code)| {
                entries.iter().any(|e| {
                    e.actor == *actor
                        && e.method == *method
                        && e.resource == *resource
                        && e.result_code == *code
                })
            });
            *seen.lock().unwrap() = entries;
            all
        }
    })
    .await;
    let entries = seen.lock().unwrap().clone();
    assert!(
        complete.is_some(),
        "the audit log misses calls; it holds:\n{}",
        entries
            .iter()
            .map(|e| e.display_name.clone())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let creates = entries
        .iter()
        .filter(|e| e.method == "/ferry.deploy.v1.NamespaceService/CreateNamespace")
        .count();
    assert_eq!(creates, 2, "each create is recorded once");
    assert!(
        entries
            .iter()
            .all(|e| e.create_time.is_some() && !e.request_id.is_empty()),
        "entries carry time and request id"
    );
    assert!(
        !entries
            .iter()
            .any(|e| e.method.ends_with("/GetNamespace") && e.result_code == 0),
        "successful reads are not audited"
    );
    // Newest first, and filterable.
    let times: Vec<_> = entries
        .iter()
        .map(|e| e.create_time.unwrap().seconds)
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let filtered = audit
        .list_audit_entries(ListAuditEntriesRequest {
            filter: r#"actor = "serviceAccounts/dev-viewer""#.into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(filtered.audit_entries.len(), 1);
    assert!(
        !filtered.next_page_token.is_empty(),
        "a second page follows"
    );
    // No secret in any log.
    for process in [&gateway_a, &gateway_b, &deploy] {
        let log = process.log_text();
        for secret in [&admin_token, &viewer_token] {
            // `ferry_<id>_<secret>`: ids hold no `_`, secrets may.
            let (_, raw) = secret
                .strip_prefix("ferry_")
                .unwrap()
                .split_once('_')
                .unwrap();
            assert!(
                !log.contains(raw),
                "{} logged a token secret",
                process.service
            );
        }
        process.assert_no_error_logs();
    }

    PrefixedStore::new(etcd.store().await, prefix.clone())
        .delete_prefix("")
        .await
        .unwrap();
}

/// The gateway tells services who calls (`x-ferry-caller`, read by the kit into
/// `ferry_kit::caller::current`): an Operation started through the gateway names the
/// authenticated principal as its initiator, whatever the client claims in that header;
/// a call that bypasses the gateway names nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_learn_the_caller_from_the_gateway_only() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("auth-caller");
    let launch = Launch::new(&etcd, &prefix);
    let gateway = ServiceProcess::start_with_env("gateway", &launch, AUTH_ON).await;
    let deploy = ServiceProcess::start("deploy", &launch).await;
    let admin = bearer(&gateway.bootstrap_token().await);
    let mut namespaces = NamespaceServiceClient::with_interceptor(gateway.channel().await, admin);
    let forwarding = eventually(Duration::from_secs(10), || {
        let mut client = namespaces.clone();
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
    assert!(forwarding.is_some(), "log:\n{}", gateway.log_text());
    let mut direct = NamespaceServiceClient::new(deploy.channel().await);
    for (id, through_gateway) in [("caller-a", true), ("caller-b", false)] {
        let create = CreateNamespaceRequest {
            namespace_id: id.into(),
            namespace: Some(Namespace::default()),
            ..Default::default()
        };
        let mut delete = tonic::Request::new(DeleteNamespaceRequest {
            name: format!("namespaces/{id}"),
            ..Default::default()
        });
        // A client's claim to be someone else is dropped by the gateway.
        delete
            .metadata_mut()
            .insert("x-ferry-caller", "users/mallory".parse().unwrap());
        let operation = if through_gateway {
            namespaces.create_namespace(create).await.unwrap();
            namespaces
                .delete_namespace(delete)
                .await
                .unwrap()
                .into_inner()
        } else {
            direct.create_namespace(create).await.unwrap();
            delete.metadata_mut().remove("x-ferry-caller");
            direct.delete_namespace(delete).await.unwrap().into_inner()
        };
        let initiator = operation.metadata.unwrap_or_default().initiator;
        let expected = if through_gateway { "users/admin" } else { "" };
        assert_eq!(initiator, expected, "namespace {id}");
    }
    gateway.assert_no_error_logs();
    deploy.assert_no_error_logs();
    PrefixedStore::new(etcd.store().await, prefix.clone())
        .delete_prefix("")
        .await
        .unwrap();
}

/// `FERRY_AUTH=disabled` (local development): calls pass without a token, and there is
/// no caller to describe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_with_auth_disabled_lets_calls_through() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("auth-off");
    let launch = Launch::new(&etcd, &prefix);
    let gateway =
        ServiceProcess::start_with_env("gateway", &launch, &[("FERRY_AUTH", "disabled")]).await;
    let _deploy = ServiceProcess::start("deploy", &launch).await;
    let channel = gateway.channel().await;
    let through = eventually(Duration::from_secs(10), || {
        let mut client = NamespaceServiceClient::new(channel.clone());
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
        through.is_some(),
        "no token needed; log:\n{}",
        gateway.log_text()
    );
    let status = UserServiceClient::new(channel)
        .get_caller_identity(GetCallerIdentityRequest::default())
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "INVALID_STATE", DOMAIN);
    assert!(
        !gateway.bootstrap_token_file().exists(),
        "no bootstrap token is written while authentication is off"
    );
    assert!(gateway.log_text().contains("authentication is disabled"));
    gateway.assert_no_error_logs();
    PrefixedStore::new(etcd.store().await, prefix.clone())
        .delete_prefix("")
        .await
        .unwrap();
}
