//! Administering principals, roles and bindings through the real gateway (issue 4):
//! updates follow their masks and etags and pass the checks of creation; disabling a
//! service account stops its tokens at once; deleting a principal deletes its tokens and
//! its memberships (an emptied binding goes); nobody disables or deletes themselves, and
//! the last platform-wide admin cannot be removed; built-in roles do not change.

use std::time::Duration;

use ferry_e2e::{Launch, ServiceProcess, bearer, eventually, unique_prefix};
use ferry_proto::ferry::auth::v1::role_binding_service_client::RoleBindingServiceClient;
use ferry_proto::ferry::auth::v1::role_service_client::RoleServiceClient;
use ferry_proto::ferry::auth::v1::service_account_service_client::ServiceAccountServiceClient;
use ferry_proto::ferry::auth::v1::token_service_client::TokenServiceClient;
use ferry_proto::ferry::auth::v1::user_service_client::UserServiceClient;
use ferry_proto::ferry::auth::v1::*;
use ferry_store::Store;
use ferry_store::keys::PrefixedStore;
use ferry_store::testsuite::TestEtcd;
use prost_types::FieldMask;
use tonic::Code;

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principals_roles_and_bindings_are_updated_and_deleted_safely() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("auth-admin");
    let launch = Launch::new(&etcd, &prefix);
    let gateway =
        ServiceProcess::start_with_env("gateway", &launch, &[("FERRY_AUTH", "enabled")]).await;
    let channel = gateway.channel().await;
    let admin = bearer(&gateway.bootstrap_token().await);
    let mut users = UserServiceClient::with_interceptor(channel.clone(), admin.clone());
    let mut accounts =
        ServiceAccountServiceClient::with_interceptor(channel.clone(), admin.clone());
    let mut roles = RoleServiceClient::with_interceptor(channel.clone(), admin.clone());
    let mut bindings = RoleBindingServiceClient::with_interceptor(channel.clone(), admin.clone());
    let mut tokens = TokenServiceClient::with_interceptor(channel.clone(), admin.clone());

    // Users.
    let mut created = Vec::new();
    for (id, email) in [("ula", "ula@example.com"), ("otto", "otto@example.com")] {
        created.push(
            users
                .create_user(CreateUserRequest {
                    user_id: id.into(),
                    user: Some(User {
                        email: email.into(),
                        display_name: id.into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let ula = created[0].clone();
    let updated = users
        .update_user(UpdateUserRequest {
            user: Some(User {
                name: ula.name.clone(),
                display_name: "Ula Q.".into(),
                email: "ignored@example.com".into(),
                etag: ula.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["display_name"]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.display_name, "Ula Q.");
    assert_eq!(updated.email, "ula@example.com", "outside the mask");
    assert_ne!(updated.etag, ula.etag);
    // A stale etag: ABORTED, nothing written.
    let status = users
        .update_user(UpdateUserRequest {
            user: Some(User {
                name: ula.name.clone(),
                display_name: "Stale".into(),
                etag: ula.etag.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    for (paths, email, code) in [
        (vec!["uid"], "", Code::InvalidArgument),
        (vec!["email"], "not-an-email", Code::InvalidArgument),
        (vec!["email"], "otto@example.com", Code::AlreadyExists),
    ] {
        let status = users
            .update_user(UpdateUserRequest {
                user: Some(User {
                    name: ula.name.clone(),
                    email: email.into(),
                    ..Default::default()
                }),
                update_mask: mask(&paths),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{paths:?} {email}: {status:?}");
    }
    let current = users
        .get_user(GetUserRequest {
            name: ula.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(current.etag, updated.etag, "refused updates wrote nothing");

    // A custom role, widened; unknown permissions refused; built-in roles fixed.
    let role = roles
        .create_role(CreateRoleRequest {
            role_id: "ns-reader".into(),
            role: Some(Role {
                permissions: vec!["deploy.namespaces.get".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let widened = roles
        .update_role(UpdateRoleRequest {
            role: Some(Role {
                name: role.name.clone(),
                permissions: vec![
                    "deploy.namespaces.get".into(),
                    "deploy.namespaces.list".into(),
                ],
                ..Default::default()
            }),
            update_mask: mask(&["permissions"]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(widened.permissions.len(), 2);
    for (name, permission, code) in [
        (
            role.name.as_str(),
            "deploy.nothing.here",
            Code::InvalidArgument,
        ),
        (
            "roles/viewer",
            "deploy.namespaces.get",
            Code::FailedPrecondition,
        ),
    ] {
        let status = roles
            .update_role(UpdateRoleRequest {
                role: Some(Role {
                    name: name.into(),
                    permissions: vec![permission.into()],
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{name}: {status:?}");
    }

    // A service account with a working token, bound with ula in namespace `shop`.
    accounts
        .create_service_account(CreateServiceAccountRequest {
            service_account_id: "ci".into(),
            service_account: Some(ServiceAccount::default()),
            ..Default::default()
        })
        .await
        .unwrap();
    let binding = bindings
        .create_role_binding(CreateRoleBindingRequest {
            parent: "namespaces/shop".into(),
            role_binding_id: "readers".into(),
            role_binding: Some(RoleBinding {
                role: role.name.clone(),
                members: vec![ula.name.clone()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let status = bindings
        .update_role_binding(UpdateRoleBindingRequest {
            role_binding: Some(RoleBinding {
                name: binding.name.clone(),
                members: vec![ula.name.clone(), "users/nobody".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let binding = bindings
        .update_role_binding(UpdateRoleBindingRequest {
            role_binding: Some(RoleBinding {
                name: binding.name.clone(),
                members: vec![ula.name.clone(), "serviceAccounts/ci".into()],
                description: "readers of shop".into(),
                etag: binding.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["members", "description"]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(binding.members, vec!["serviceAccounts/ci", "users/ula"]);
    let secret = tokens
        .create_token(CreateTokenRequest {
            token_id: "ci-token".into(),
            token: Some(Token {
                owner: "serviceAccounts/ci".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .secret;
    let mut as_ci = UserServiceClient::with_interceptor(channel.clone(), bearer(&secret));
    let identity = eventually(Duration::from_secs(2), || {
        let mut client = as_ci.clone();
        async move {
            client
                .get_caller_identity(GetCallerIdentityRequest::default())
                .await
                .is_ok()
        }
    })
    .await;
    assert!(identity.is_some(), "the new token works");

    // Disabled: its token stops at once; enabled again: it works again.
    for disabled in [true, false] {
        accounts
            .update_service_account(UpdateServiceAccountRequest {
                service_account: Some(ServiceAccount {
                    name: "serviceAccounts/ci".into(),
                    disabled,
                    ..Default::default()
                }),
                update_mask: mask(&["disabled"]),
                ..Default::default()
            })
            .await
            .unwrap();
        let took = eventually(Duration::from_secs(1), || {
            let mut client = as_ci.clone();
            async move {
                let answer = client
                    .get_caller_identity(GetCallerIdentityRequest::default())
                    .await;
                match answer {
                    Ok(_) => !disabled,
                    Err(status) => disabled && status.code() == Code::Unauthenticated,
                }
            }
        })
        .await;
        assert!(
            took.is_some(),
            "disabled={disabled} did not take effect within 1 s"
        );
    }

    // Deleting the account deletes its token and its membership.
    accounts
        .delete_service_account(DeleteServiceAccountRequest {
            name: "serviceAccounts/ci".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let status = tokens
        .get_token(GetTokenRequest {
            name: "tokens/ci-token".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = as_ci
        .get_caller_identity(GetCallerIdentityRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let left = bindings
        .get_role_binding(GetRoleBindingRequest {
            name: binding.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(left.members, vec!["users/ula"]);
    // Deleting its last member deletes the binding.
    users
        .delete_user(DeleteUserRequest {
            name: ula.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let status = bindings
        .get_role_binding(GetRoleBindingRequest {
            name: binding.name.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // Nobody removes themselves; the last platform-wide admin stays.
    let status = users
        .delete_user(DeleteUserRequest {
            name: "users/admin".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let status = users
        .update_user(UpdateUserRequest {
            user: Some(User {
                name: "users/admin".into(),
                disabled: true,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let status = bindings
        .update_role_binding(UpdateRoleBindingRequest {
            role_binding: Some(RoleBinding {
                name: "roleBindings/bootstrap-admin".into(),
                role: "roles/viewer".into(),
                ..Default::default()
            }),
            update_mask: mask(&["role"]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    users
        .get_caller_identity(GetCallerIdentityRequest::default())
        .await
        .expect("the admin still works");

    gateway.assert_no_error_logs();
    PrefixedStore::new(etcd.store().await, prefix.clone())
        .delete_prefix("")
        .await
        .unwrap();
}
