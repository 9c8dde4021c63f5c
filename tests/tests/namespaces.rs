//! The namespace resource through the real deploy binary and a real etcd: the AIP
//! conventions (names, paging, etags, request ids, validate_only, LROs), and bad input
//! that is refused with the field named while nothing is written.

use std::time::Duration;

use ferry_e2e::{
    Launch, ServiceProcess, assert_error, error_info, unique_prefix, violated_fields,
    watch_operation_to_end,
};
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{GetOperationRequest, OperationState, WaitOperationRequest};
use ferry_proto::ferry::deploy::v1::namespace::State;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{
    CreateNamespaceRequest, DeleteNamespaceRequest, GetNamespaceRequest, ListNamespacesRequest,
    Namespace, UpdateNamespaceRequest,
};
use ferry_store::keys::PrefixedStore;
use ferry_store::testsuite::TestEtcd;
use ferry_store::{ListOptions, Store};
use tonic::Code;
use tonic::transport::Channel;

fn create_request(id: &str) -> CreateNamespaceRequest {
    CreateNamespaceRequest {
        namespace_id: id.to_string(),
        namespace: Some(Namespace {
            description: format!("namespace {id}"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Waits until the namespace is ACTIVE and its controller has observed its latest
/// generation (so no status write is still on its way).
async fn wait_active(client: &mut NamespaceServiceClient<Channel>, name: &str) -> Namespace {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let namespace = match client
            .get_namespace(GetNamespaceRequest {
                name: name.to_string(),
            })
            .await
        {
            Ok(response) => response.into_inner(),
            // `ferry-system` is created by a start-up task that may not have run yet.
            Err(status)
                if status.code() == tonic::Code::NotFound
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(status) => panic!("get {name}: {status:?}"),
        };
        if namespace.state() == State::Active
            && namespace.observed_generation == namespace.generation
        {
            return namespace;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} did not become ACTIVE: {namespace:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every key and revision under the test's prefix: "nothing was written" means equal.
/// Every key a request could write, with its revision. Leader keys and the event
/// dispatcher's cursor belong to background controllers that write on their own schedule.
async fn snapshot(store: &dyn Store) -> Vec<(String, i64)> {
    store
        .list("", ListOptions::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|kv| {
            !kv.key.starts_with("/ferry/v1/_sys/leaders/")
                && !kv
                    .key
                    .starts_with("/ferry/v1/deploy/notification-dispatch/")
        })
        .map(|kv| (kv.key, kv.mod_revision))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn namespace_life_cycle_follows_the_api_conventions() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("namespaces");
    let deploy = ServiceProcess::start("deploy", &Launch::new(&etcd, &prefix)).await;
    let mut client = NamespaceServiceClient::new(deploy.channel().await);
    let store = PrefixedStore::new(etcd.store().await, prefix.clone());

    // The platform namespace exists from the start.
    wait_active(&mut client, "namespaces/ferry-system").await;

    // validate_only checks and writes nothing.
    let before = snapshot(&store).await;
    let planned = client
        .create_namespace(CreateNamespaceRequest {
            validate_only: true,
            ..create_request("dev")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(planned.name, "namespaces/dev");
    assert_eq!(snapshot(&store).await, before);

    // Create with a request id; a retry answers the same, without a second write.
    let request_id = uuid::Uuid::new_v4().to_string();
    let created = client
        .create_namespace(CreateNamespaceRequest {
            request_id: request_id.clone(),
            ..create_request("dev")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.state(), State::Creating);
    assert!(!created.etag.is_empty() && !created.uid.is_empty());
    let retried = client
        .create_namespace(CreateNamespaceRequest {
            request_id: request_id.clone(),
            ..create_request("dev")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        retried, created,
        "a retried request id returns the first response"
    );
    let status = client
        .create_namespace(create_request("dev"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(error_info(&status).0, "RESOURCE_EXISTS");

    let active = wait_active(&mut client, "namespaces/dev").await;
    assert_eq!(active.observed_generation, active.generation);
    assert_eq!(active.conditions[0].r#type, "Ready");

    // Update with the current etag; a stale etag is ABORTED and changes nothing.
    let stale_etag = active.etag.clone();
    let updated = client
        .update_namespace(UpdateNamespaceRequest {
            namespace: Some(Namespace {
                name: "namespaces/dev".into(),
                etag: active.etag.clone(),
                description: "development".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.description, "development");
    assert_eq!(updated.generation, active.generation + 1);
    assert_ne!(updated.etag, stale_etag);
    wait_active(&mut client, "namespaces/dev").await;
    let before = snapshot(&store).await;
    let status = client
        .update_namespace(UpdateNamespaceRequest {
            namespace: Some(Namespace {
                name: "namespaces/dev".into(),
                etag: stale_etag.clone(),
                description: "lost update".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH", "deploy.ferry.dev");
    assert_eq!(snapshot(&store).await, before);

    // Paging: three more namespaces, two per page, a consistent walk.
    for id in ["qa", "prod", "blue"] {
        client.create_namespace(create_request(id)).await.unwrap();
    }
    let mut names = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_namespaces(ListNamespacesRequest {
                page_size: 2,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.namespaces.len() <= 2);
        assert_eq!(
            page.total_size, 5,
            "every page counts all matches at the first page's snapshot"
        );
        names.extend(page.namespaces.into_iter().map(|n| n.name));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        names,
        [
            "namespaces/blue",
            "namespaces/dev",
            "namespaces/ferry-system",
            "namespaces/prod",
            "namespaces/qa"
        ]
    );

    // Delete is an Operation that the leader carries out.
    let operation = client
        .delete_namespace(DeleteNamespaceRequest {
            name: "namespaces/qa".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(operation.name.starts_with("operations/"));
    let mut operations = OperationsServiceClient::new(deploy.channel().await);
    // Watching streams the operation until it is done.
    watch_operation_to_end(deploy.channel().await, &operation.name).await;
    let done = operations
        .wait_operation(WaitOperationRequest {
            name: operation.name.clone(),
            timeout: Some(prost_types::Duration {
                seconds: 10,
                nanos: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(done.done, "{done:?}");
    assert_eq!(done.metadata.unwrap().state(), OperationState::Succeeded);
    let status = client
        .get_namespace(GetNamespaceRequest {
            name: "namespaces/qa".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(error_info(&status).0, "RESOURCE_NOT_FOUND");
    let fetched = operations
        .get_operation(GetOperationRequest {
            name: operation.name,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(fetched.done);

    deploy.assert_no_error_logs();
    store.delete_prefix("").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_the_field_named_and_writes_nothing() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("bad-input");
    let deploy = ServiceProcess::start("deploy", &Launch::new(&etcd, &prefix)).await;
    let mut client = NamespaceServiceClient::new(deploy.channel().await);
    let mut operations = OperationsServiceClient::new(deploy.channel().await);
    let store = PrefixedStore::new(etcd.store().await, prefix.clone());
    client
        .create_namespace(create_request("dev"))
        .await
        .unwrap();
    let active = wait_active(&mut client, "namespaces/dev").await;
    wait_active(&mut client, "namespaces/ferry-system").await;
    let before = snapshot(&store).await;

    let mut checks: Vec<(&str, tonic::Status, Code, &str, &str)> = Vec::new();
    checks.push((
        "malformed id",
        client
            .create_namespace(create_request("Not_A_Label"))
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_FIELD",
        "namespace_id",
    ));
    checks.push((
        "reserved id",
        client
            .create_namespace(create_request("ferry-mine"))
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_FIELD",
        "namespace_id",
    ));
    checks.push((
        "malformed name",
        client
            .get_namespace(GetNamespaceRequest {
                name: "namespace/dev".into(),
            })
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_NAME",
        "name",
    ));
    checks.push((
        "malformed page token",
        client
            .list_namespaces(ListNamespacesRequest {
                page_token: "bm90IGEgdG9rZW4".into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_PAGE_TOKEN",
        "page_token",
    ));
    checks.push((
        "negative page size",
        client
            .list_namespaces(ListNamespacesRequest {
                page_size: -1,
                ..Default::default()
            })
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_FIELD",
        "page_size",
    ));
    checks.push((
        "malformed etag",
        client
            .delete_namespace(DeleteNamespaceRequest {
                name: "namespaces/dev".into(),
                etag: "not-an-etag".into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_ETAG",
        "etag",
    ));
    checks.push((
        "malformed request id",
        client
            .create_namespace(CreateNamespaceRequest {
                request_id: "42".into(),
                ..create_request("new")
            })
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_REQUEST_ID",
        "request_id",
    ));
    checks.push((
        "update mask naming an immutable field",
        client
            .update_namespace(UpdateNamespaceRequest {
                namespace: Some(Namespace {
                    name: "namespaces/dev".into(),
                    runtime: "k8s".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["runtime".into()],
                }),
                ..Default::default()
            })
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_UPDATE_MASK",
        "update_mask",
    ));
    checks.push((
        "unknown filter",
        client
            .list_namespaces(ListNamespacesRequest {
                filter: "owner = me".into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_FILTER",
        "filter",
    ));
    checks.push((
        "malformed operation name",
        operations
            .get_operation(GetOperationRequest {
                name: "operations/../x".into(),
            })
            .await
            .unwrap_err(),
        Code::InvalidArgument,
        "INVALID_NAME",
        "name",
    ));
    for (case, status, code, reason, field) in &checks {
        assert_eq!(status.code(), *code, "{case}: {status:?}");
        assert_eq!(
            error_info(status),
            (reason.to_string(), "deploy.ferry.dev".to_string()),
            "{case}"
        );
        assert_eq!(violated_fields(status), vec![field.to_string()], "{case}");
    }

    // Stale etag on delete: ABORTED, and the namespace is untouched.
    let status = client
        .delete_namespace(DeleteNamespaceRequest {
            name: "namespaces/dev".into(),
            etag: ferry_kit::aip::etag(1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert_eq!(error_info(&status).0, "ETAG_MISMATCH");
    // The platform namespace cannot be deleted.
    let status = client
        .delete_namespace(DeleteNamespaceRequest {
            name: "namespaces/ferry-system".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    // A request id reused for another request.
    let request_id = uuid::Uuid::new_v4().to_string();
    client
        .update_namespace(UpdateNamespaceRequest {
            namespace: Some(Namespace {
                name: "namespaces/dev".into(),
                display_name: "Dev".into(),
                ..Default::default()
            }),
            request_id: request_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let after_update = snapshot(&store).await;
    let status = client
        .update_namespace(UpdateNamespaceRequest {
            namespace: Some(Namespace {
                name: "namespaces/dev".into(),
                display_name: "Other".into(),
                ..Default::default()
            }),
            request_id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_info(&status).0, "REQUEST_ID_REUSED");
    assert_eq!(
        snapshot(&store).await,
        after_update,
        "a refused request writes nothing"
    );
    assert_ne!(before, after_update, "the one valid update was written");
    let current = client
        .get_namespace(GetNamespaceRequest {
            name: "namespaces/dev".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(current.display_name, "Dev");
    assert_eq!(current.uid, active.uid);

    deploy.assert_no_error_logs();
    store.delete_prefix("").await.unwrap();
}
