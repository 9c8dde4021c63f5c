//! SecretService and secret values in deployments, in-process over real etcd and the
//! in-memory runtime (`ferry_runtime::testing::MemoryRuntime`, a stateful runtime, not a
//! mock), through the real gRPC path: CRUD and bad input, values never in a response nor
//! in plaintext in etcd, `secret_value` and `secret_ref` in deployments down to the group
//! specs the runtime receives, and the delete rules.

use std::sync::Arc;
use std::time::Duration;

use ferry_deploy::runtimes::Runtimes;
use ferry_kit::config::ServiceConfig;
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::common::v1::{
    EnvVar, Operation, SecretRef, WaitOperationRequest, env_var, operation,
};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::event_service_client::EventServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::secret_service_client::SecretServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use ferry_runtime::testing::MemoryRuntime;
use ferry_runtime::{EnvValue, Runtime};
use ferry_store::testsuite::TestEtcd;
use ferry_store::{EtcdConfig, EtcdStore, ListOptions, PrefixedStore, Store};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const PASSWORD: &[u8] = b"correct-horse-battery-staple";
const TOKEN: &str = "tok-5f0c8a7e-never-in-a-record";
const PEM: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIBsecret\n-----END CERTIFICATE-----\n";

struct Service {
    channel: Channel,
    runtime: MemoryRuntime,
    /// The service's own key space, read directly.
    store: Arc<dyn Store>,
    _stop: tokio::sync::oneshot::Sender<()>,
    _etcd: TestEtcd,
}

async fn start() -> Service {
    let etcd = TestEtcd::start();
    let runtime = MemoryRuntime::new("local");
    let prefix = ferry_store::keys::test_prefix("secrets").into_string();
    let config = ServiceConfig {
        store: ferry_kit::config::StoreConfig {
            endpoints: etcd.endpoints().to_vec(),
            prefix: prefix.clone(),
            ..Default::default()
        },
        lease_ttl: Duration::from_secs(2),
        ..Default::default()
    };
    let store = EtcdStore::connect(EtcdConfig::new(etcd.endpoints().to_vec()))
        .await
        .expect("connect to the test etcd");
    let store: Arc<dyn Store> = Arc::new(PrefixedStore::new(store, prefix));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runtimes = Runtimes::new(vec![Arc::new(runtime.clone()) as Arc<dyn Runtime>]);
    tokio::spawn(async move {
        ferry_deploy::run_with(config, runtimes, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    Service {
        channel,
        runtime,
        store,
        _stop: stop,
        _etcd: etcd,
    }
}

fn secrets(service: &Service) -> SecretServiceClient<Channel> {
    SecretServiceClient::new(service.channel.clone())
}

fn deployments(service: &Service) -> DeploymentServiceClient<Channel> {
    DeploymentServiceClient::new(service.channel.clone())
}

async fn namespace(service: &Service, id: &str) {
    let mut namespaces = NamespaceServiceClient::new(service.channel.clone());
    for attempt in 0.. {
        match namespaces
            .create_namespace(CreateNamespaceRequest {
                namespace_id: id.into(),
                namespace: Some(Namespace::default()),
                ..Default::default()
            })
            .await
        {
            Ok(_) => break,
            Err(status) if attempt < 50 && status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("create namespace: {status:?}"),
        }
    }
    for _ in 0..100 {
        let namespace = namespaces
            .get_namespace(GetNamespaceRequest {
                name: format!("namespaces/{id}"),
            })
            .await
            .unwrap()
            .into_inner();
        if namespace.state() == namespace::State::Active {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("namespace {id} did not become active");
}

async fn wait(channel: &Channel, operation: Operation) -> Operation {
    let mut operations = OperationsServiceClient::new(channel.clone());
    let mut operation = operation;
    for _ in 0..60 {
        if operation.done {
            return operation;
        }
        operation = operations
            .wait_operation(WaitOperationRequest {
                name: operation.name.clone(),
                timeout: Some(prost_types::Duration {
                    seconds: 1,
                    nanos: 0,
                }),
            })
            .await
            .unwrap()
            .into_inner();
    }
    panic!("operation {} did not end: {operation:?}", operation.name);
}

fn data(entries: &[(&str, &[u8])]) -> std::collections::HashMap<String, Vec<u8>> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

fn create_request(parent: &str, id: &str, entries: &[(&str, &[u8])]) -> CreateSecretRequest {
    CreateSecretRequest {
        parent: parent.into(),
        secret_id: id.into(),
        secret: Some(Secret {
            data: data(entries),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn violation(status: &Status) -> String {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations[0].field.clone())
        .unwrap_or_else(|| panic!("no field violation in {status:?}"))
}

/// The keys of the service's key space whose value holds `plaintext`.
async fn keys_holding(store: &dyn Store, plaintext: &[u8]) -> Vec<String> {
    let mut options = ListOptions {
        limit: 500,
        ..Default::default()
    };
    let mut seen = 0;
    let mut found = Vec::new();
    loop {
        let page = store.list("", options.clone()).await.unwrap();
        for kv in &page.items {
            seen += 1;
            if kv.value.windows(plaintext.len()).any(|w| w == plaintext) {
                found.push(kv.key.clone());
            }
        }
        match page.items.last() {
            Some(last) if page.more => options.start_after = Some(last.key.clone()),
            _ => break,
        }
    }
    assert!(seen > 0, "the key space is empty: wrong prefix?");
    found
}

/// No value in the service's key space holds `plaintext`.
async fn assert_not_stored(store: &dyn Store, plaintext: &[u8]) {
    let found = keys_holding(store, plaintext).await;
    assert!(
        found.is_empty(),
        "{found:?} hold a secret value in plaintext"
    );
}

#[tokio::test]
async fn secrets_are_created_read_changed_and_deleted_without_returning_values() {
    let service = start().await;
    namespace(&service, "dev").await;
    let mut client = secrets(&service);

    // Create: keys, version and size; no values.
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut create = create_request("namespaces/dev", "db", &[("password", PASSWORD)]);
    create.request_id = request_id.clone();
    create.secret.as_mut().unwrap().labels = [("team".to_string(), "a".to_string())].into();
    let created = client
        .create_secret(create.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.name, "namespaces/dev/secrets/db");
    assert_eq!(created.keys, vec!["password"]);
    assert_eq!(created.version, 1);
    assert_eq!(created.size_bytes, PASSWORD.len() as i64);
    assert_eq!(created.r#type, secret::Type::Opaque as i32);
    assert!(created.data.is_empty() && !created.etag.is_empty() && created.owner.is_empty());
    assert!(created.data_update_time.is_some());
    // A retry with the same request id gets the same answer; another request with it is
    // refused; a second create is ALREADY_EXISTS.
    let retried = client
        .create_secret(create.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.uid, created.uid);
    let mut reused = create.clone();
    reused.secret.as_mut().unwrap().data = data(&[("password", b"other")]);
    let status = client.create_secret(reused).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violation(&status), "request_id");
    create.request_id.clear();
    assert_eq!(
        client.create_secret(create).await.unwrap_err().code(),
        Code::AlreadyExists
    );

    // Get and list (namespace, every namespace, filter); never values.
    let got = client
        .get_secret(GetSecretRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, created);
    client
        .create_secret(create_request("namespaces/dev", "api", &[("k", b"v")]))
        .await
        .unwrap();
    let listed = client
        .list_secrets(ListSecretsRequest {
            parent: "namespaces/-".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 2);
    assert_eq!(listed.secrets[0].name, "namespaces/dev/secrets/api");
    let second = client
        .list_secrets(ListSecretsRequest {
            parent: "namespaces/-".into(),
            page_size: 1,
            page_token: listed.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.secrets[0].name, "namespaces/dev/secrets/db");
    assert!(second.next_page_token.is_empty());
    let filtered = client
        .list_secrets(ListSecretsRequest {
            parent: "namespaces/dev".into(),
            filter: "keys:\"password\" AND labels.team = \"a\"".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(filtered.secrets.len(), 1);
    assert!(filtered.secrets.iter().all(|s| s.data.is_empty()));

    // Update one key: a new version. Labels only: same version, new etag.
    let update = |secret: Secret, paths: &[&str]| UpdateSecretRequest {
        secret: Some(secret),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
        ..Default::default()
    };
    let v2 = client
        .update_secret(update(
            Secret {
                name: created.name.clone(),
                etag: created.etag.clone(),
                data: data(&[("user", b"app")]),
                ..Default::default()
            },
            &["data.user"],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.keys, vec!["password", "user"]);
    assert!(v2.data.is_empty());
    let relabelled = client
        .update_secret(update(
            Secret {
                name: created.name.clone(),
                ..Default::default()
            },
            &["labels"],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(relabelled.version, 2);
    assert!(relabelled.labels.is_empty());
    assert_ne!(relabelled.etag, v2.etag);
    assert_eq!(relabelled.data_update_time, v2.data_update_time);
    // A stale etag is ABORTED.
    let status = client
        .update_secret(update(
            Secret {
                name: created.name.clone(),
                etag: created.etag.clone(),
                data: data(&[("password", b"x")]),
                ..Default::default()
            },
            &["data.password"],
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    // validate_only changes nothing.
    let mut dry = update(
        Secret {
            name: created.name.clone(),
            data: data(&[("password", b"y")]),
            ..Default::default()
        },
        &["data"],
    );
    dry.validate_only = true;
    assert_eq!(
        client
            .update_secret(dry)
            .await
            .unwrap()
            .into_inner()
            .version,
        3
    );

    // Platform-wide secrets live beside the namespaced ones.
    let platform = client
        .create_secret(CreateSecretRequest {
            secret: Some(Secret {
                r#type: secret::Type::Tls as i32,
                data: data(&[("tls.crt", PEM), ("tls.key", PEM)]),
                ..Default::default()
            }),
            ..create_request("", "ingress-tls", &[])
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(platform.name, "secrets/ingress-tls");
    let platform_list = client
        .list_secrets(ListSecretsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(platform_list.secrets.len(), 1);
    assert_eq!(platform_list.secrets[0].r#type, secret::Type::Tls as i32);

    // Nothing in etcd holds a value in plaintext (records, idempotency records...).
    assert_not_stored(service.store.as_ref(), PASSWORD).await;
    assert_not_stored(service.store.as_ref(), b"MIIBsecret").await;

    // Delete: a stale etag is ABORTED, then it is gone.
    let status = client
        .delete_secret(DeleteSecretRequest {
            name: created.name.clone(),
            etag: created.etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    client
        .delete_secret(DeleteSecretRequest {
            name: created.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        client
            .get_secret(GetSecretRequest {
                name: created.name.clone()
            })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let service = start().await;
    namespace(&service, "dev").await;
    let mut client = secrets(&service);
    let big = vec![b'x'; 64 * 1024 + 1];
    let cases: Vec<(CreateSecretRequest, &str)> = vec![
        (
            create_request("namespaces/dev", "Bad", &[("k", b"v")]),
            "secret_id",
        ),
        (create_request("namespaces/dev", "db", &[]), "secret.data"),
        (
            create_request("namespaces/dev", "db", &[("no spaces", b"v")]),
            "secret.data[\"no spaces\"]",
        ),
        (
            create_request("namespaces/dev", "db", &[("k", big.as_slice())]),
            "secret.data",
        ),
        (
            CreateSecretRequest {
                secret: Some(Secret {
                    r#type: secret::Type::Tls as i32,
                    data: data(&[("tls.crt", PEM)]),
                    ..Default::default()
                }),
                ..create_request("namespaces/dev", "tls", &[])
            },
            "secret.data",
        ),
        (create_request("dev", "db", &[("k", b"v")]), "parent"),
        (
            CreateSecretRequest {
                request_id: "not-a-uuid".into(),
                ..create_request("namespaces/dev", "db", &[("k", b"v")])
            },
            "request_id",
        ),
    ];
    for (request, field) in cases {
        let status = client.create_secret(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert_eq!(violation(&status), field);
    }
    // validate_only answers but stores nothing.
    let dry = client
        .create_secret(CreateSecretRequest {
            validate_only: true,
            ..create_request("namespaces/dev", "db", &[("k", b"v")])
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dry.name, "namespaces/dev/secrets/db");
    assert!(dry.data.is_empty());
    // A namespace that does not exist.
    assert_eq!(
        client
            .create_secret(create_request("namespaces/nope", "db", &[("k", b"v")]))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let listed = client
        .list_secrets(ListSecretsRequest {
            parent: "namespaces/-".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 0, "nothing was written: {listed:?}");

    // Updates: the mask is required and checked.
    client
        .create_secret(create_request("namespaces/dev", "db", &[("k", b"v")]))
        .await
        .unwrap();
    for (paths, field) in [
        (vec![], "update_mask"),
        (vec!["owner"], "update_mask"),
        (vec!["data.a.b"], "update_mask"),
    ] {
        let status = client
            .update_secret(UpdateSecretRequest {
                secret: Some(Secret {
                    name: "namespaces/dev/secrets/db".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: paths.iter().map(|p| p.to_string()).collect(),
                }),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{paths:?}");
        assert_eq!(violation(&status), field);
    }
    let status = client
        .list_secrets(ListSecretsRequest {
            parent: "namespaces/dev".into(),
            filter: "size > 1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&status), "filter");
}

fn template(env: Vec<EnvVar>, config_files: Vec<ConfigFile>) -> DeploymentTemplate {
    DeploymentTemplate {
        image_source: Some(deployment_template::ImageSource::ImageUri(format!(
            "127.0.0.1:5000/echo@{DIGEST}"
        ))),
        env,
        config_files,
        ..Default::default()
    }
}

fn secret_ref(name: &str, key: &str) -> Option<env_var::Source> {
    Some(env_var::Source::SecretRef(SecretRef {
        secret: name.into(),
        key: key.into(),
    }))
}

async fn get_deployment(service: &Service, name: &str) -> Deployment {
    deployments(service)
        .get_deployment(GetDeploymentRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn deployments_store_secret_values_as_owned_secrets_and_resolve_references() {
    let service = start().await;
    namespace(&service, "dev").await;
    let mut client = secrets(&service);
    client
        .create_secret(create_request(
            "namespaces/dev",
            "db",
            &[("password", PASSWORD), ("user", b"app")],
        ))
        .await
        .unwrap();
    client
        .create_secret(create_request("", "ca", &[("ca.pem", PEM)]))
        .await
        .unwrap();

    // A reference to a missing secret or key is refused at create, naming the field.
    for (reference, field) in [
        (
            secret_ref("namespaces/dev/secrets/missing", ""),
            "deployment.template.env[0].secret_ref",
        ),
        (
            secret_ref("namespaces/dev/secrets/db", "nope"),
            "deployment.template.env[0].secret_ref",
        ),
        (
            secret_ref("namespaces/dev/secrets/db", ""),
            "deployment.template.env[0].secret_ref",
        ),
    ] {
        let status = deployments(&service)
            .create_deployment(CreateDeploymentRequest {
                parent: "namespaces/dev".into(),
                deployment_id: "web".into(),
                deployment: Some(Deployment {
                    template: Some(template(
                        vec![EnvVar {
                            name: "DB_PASSWORD".into(),
                            source: reference,
                        }],
                        vec![],
                    )),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(status.message().contains(field), "{}", status.message());
        assert_eq!(violation(&status), field);
    }

    // secret_value, secret_ref (namespaced and platform-wide) and a secret file.
    let request_id = uuid::Uuid::new_v4().to_string();
    let create = CreateDeploymentRequest {
        parent: "namespaces/dev".into(),
        deployment_id: "web".into(),
        deployment: Some(Deployment {
            template: Some(template(
                vec![
                    EnvVar {
                        name: "API_TOKEN".into(),
                        source: Some(env_var::Source::SecretValue(TOKEN.into())),
                    },
                    EnvVar {
                        name: "DB_PASSWORD".into(),
                        source: secret_ref("namespaces/dev/secrets/db", "password"),
                    },
                    EnvVar {
                        name: "PLAIN".into(),
                        source: Some(env_var::Source::Value("visible".into())),
                    },
                ],
                vec![ConfigFile {
                    path: "/etc/app/ca.pem".into(),
                    source: Some(config_file::Source::SecretRef(SecretRef {
                        secret: "secrets/ca".into(),
                        key: String::new(),
                    })),
                    mode: 0o400,
                }],
            )),
            ..Default::default()
        }),
        request_id: request_id.clone(),
        ..Default::default()
    };
    let operation = deployments(&service)
        .create_deployment(create.clone())
        .await
        .unwrap()
        .into_inner();
    let done = wait(&service.channel, operation).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    // The record and the revision hold a reference, never the value.
    let owned_name = "namespaces/dev/secrets/web-env-api-token";
    let deployment = get_deployment(&service, "namespaces/dev/deployments/web").await;
    let env = &deployment.template.as_ref().unwrap().env;
    assert_eq!(env[0].source, secret_ref(owned_name, "value"));
    assert_eq!(
        env[1].source,
        secret_ref("namespaces/dev/secrets/db", "password")
    );
    let revision = deployments(&service)
        .get_deployment_revision(GetDeploymentRevisionRequest {
            name: "namespaces/dev/deployments/web/revisions/r1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        revision.template.as_ref().unwrap().env[0].source,
        secret_ref(owned_name, "value")
    );
    let owned = client
        .get_secret(GetSecretRequest {
            name: owned_name.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(owned.owner, "namespaces/dev/deployments/web");
    assert_eq!(owned.keys, vec!["value"]);
    assert_eq!(owned.size_bytes, TOKEN.len() as i64);
    // A retry of the create with its request id answers from the kept response.
    deployments(&service)
        .create_deployment(create)
        .await
        .unwrap();
    // The runtime got the resolved values, marked secret.
    let applied = service.runtime.applied();
    let (spec, _) = applied
        .iter()
        .rev()
        .find(|(spec, _)| spec.deployment == "web")
        .expect("the group was applied");
    let value = |name: &str| {
        spec.env
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} missing in {:?}", spec.env))
            .value
            .clone()
    };
    assert_eq!(
        value("API_TOKEN"),
        EnvValue::Secret {
            secret: "web-env-api-token".into(),
            key: "value".into(),
            value: TOKEN.into()
        }
    );
    assert_eq!(
        value("DB_PASSWORD"),
        EnvValue::Secret {
            secret: "db".into(),
            key: "password".into(),
            value: String::from_utf8(PASSWORD.to_vec()).unwrap()
        }
    );
    assert_eq!(value("PLAIN"), EnvValue::Plain("visible".into()));
    assert_eq!(spec.config_files[0].content.as_ref(), PEM);
    assert_eq!(spec.config_files[0].mode, 0o400);
    assert!(!format!("{spec:?}").contains(TOKEN), "Debug is redacted");
    assert_not_stored(service.store.as_ref(), TOKEN.as_bytes()).await;
    assert_not_stored(service.store.as_ref(), PASSWORD).await;
    // The check sees what is stored: the plain value is in the records.
    assert!(
        !keys_holding(service.store.as_ref(), b"visible")
            .await
            .is_empty()
    );

    // Referenced secrets cannot be deleted (unless forced); owned ones never on their own.
    for name in ["namespaces/dev/secrets/db", "secrets/ca"] {
        let status = client
            .delete_secret(DeleteSecretRequest {
                name: name.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{name}");
        assert!(
            status.message().contains("namespaces/dev/deployments/web"),
            "{}",
            status.message()
        );
    }
    client
        .delete_secret(DeleteSecretRequest {
            name: "namespaces/dev/secrets/db".into(),
            force: true,
            validate_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let status = client
        .delete_secret(DeleteSecretRequest {
            name: owned_name.into(),
            force: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);

    // A forced delete leaves a reference that cannot resolve: a condition, not a crash;
    // the secret's return clears it.
    client
        .delete_secret(DeleteSecretRequest {
            name: "namespaces/dev/secrets/db".into(),
            force: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let operation = deployments(&service)
        .scale_deployment(ScaleDeploymentRequest {
            name: "namespaces/dev/deployments/web".into(),
            replicas: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let condition = |deployment: &Deployment| {
        deployment
            .conditions
            .iter()
            .find(|c| c.r#type == "ReplicaFailure" && c.reason == "SECRET_UNRESOLVED")
            .cloned()
    };
    let mut failing = None;
    for _ in 0..100 {
        let deployment = get_deployment(&service, "namespaces/dev/deployments/web").await;
        if let Some(found) = condition(&deployment) {
            failing = Some(found);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failing = failing.expect("a ReplicaFailure condition names the reference");
    assert!(
        failing.message.contains("env[1].secret_ref (DB_PASSWORD)")
            && failing.message.contains("namespaces/dev/secrets/db"),
        "{}",
        failing.message
    );
    client
        .create_secret(create_request(
            "namespaces/dev",
            "db",
            &[("password", PASSWORD)],
        ))
        .await
        .unwrap();
    let done = wait(&service.channel, operation).await;
    assert!(
        matches!(done.result, Some(operation::Result::Response(_))),
        "{done:?}"
    );
    let deployment = get_deployment(&service, "namespaces/dev/deployments/web").await;
    assert_eq!(condition(&deployment), None, "{:?}", deployment.conditions);

    // Changed values are announced to the deployments that use them.
    client
        .update_secret(UpdateSecretRequest {
            secret: Some(Secret {
                name: "namespaces/dev/secrets/db".into(),
                data: data(&[("password", b"rotated-password")]),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["data".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut changed = Vec::new();
    for _ in 0..50 {
        changed = EventServiceClient::new(service.channel.clone())
            .list_events(ListEventsRequest {
                parent: "namespaces/dev".into(),
                page_size: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .events
            .into_iter()
            .filter(|e| e.reason == "SECRET_CHANGED")
            .collect::<Vec<_>>();
        if !changed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(changed.len(), 1, "one SECRET_CHANGED event");
    assert!(changed[0].message.contains("namespaces/dev/secrets/db"));
    assert!(!changed[0].message.contains("rotated-password"));

    // A changed secret value makes a new revision; the reference stays the same.
    let operation = deployments(&service)
        .update_deployment(UpdateDeploymentRequest {
            deployment: Some(Deployment {
                name: "namespaces/dev/deployments/web".into(),
                template: Some(template(
                    vec![EnvVar {
                        name: "API_TOKEN".into(),
                        source: Some(env_var::Source::SecretValue("tok-2".into())),
                    }],
                    vec![],
                )),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["template".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    wait(&service.channel, operation).await;
    let owned = client
        .get_secret(GetSecretRequest {
            name: owned_name.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(owned.version, 2);
    let deployment = get_deployment(&service, "namespaces/dev/deployments/web").await;
    assert!(
        deployment.current_revision.ends_with("/r2"),
        "{deployment:?}"
    );

    // Deleting the deployment deletes its owned secrets, and frees the referenced ones.
    let operation = deployments(&service)
        .delete_deployment(DeleteDeploymentRequest {
            name: "namespaces/dev/deployments/web".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    wait(&service.channel, operation).await;
    let mut gone = false;
    for _ in 0..50 {
        if client
            .get_secret(GetSecretRequest {
                name: owned_name.into(),
            })
            .await
            .is_err_and(|status| status.code() == Code::NotFound)
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the owned secret is deleted with its deployment");
    client
        .delete_secret(DeleteSecretRequest {
            name: "secrets/ca".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}
