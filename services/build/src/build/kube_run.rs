//! The Kubernetes builder's calls to the API server: the client, the namespace and cache
//! claim made when missing, a build's Job created (suspended, then its Secrets owned by
//! it, then resumed), observed ([`kube_status::observe`] over a GET of the Job and a list
//! of its pods), its containers' logs followed, and its removal (the Job with background
//! propagation, so its pods go, and its Secrets).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{AsyncBufReadExt as _, StreamExt as _};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::{Client, Config};
use serde_json::json;

use super::kube::{self as manifests, BUILD_LABEL, JobInput};
use super::kube_status::{self, Observation};
use crate::config::{KubeBuilderSettings, KubeConnection};

/// A client of the builder cluster from the settings.
pub async fn client(settings: &KubeBuilderSettings) -> Result<Client, String> {
    let config = match &settings.connection {
        Some(KubeConnection::Kubeconfig(path)) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        Some(KubeConnection::InCluster) => {
            Config::incluster().map_err(|e| format!("in-cluster configuration: {e}"))?
        }
        None => {
            return Err(
                "no cluster is configured (FERRY_BUILD_KUBECONFIG or FERRY_BUILD_KUBE_IN_CLUSTER)"
                    .into(),
            );
        }
    };
    Client::try_from(config).map_err(|e| e.to_string())
}

fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

/// Creates `namespace` when it does not exist (a refusal to create it is not an error:
/// the service may only be allowed in its namespace; the Job's creation then says
/// what is wrong).
pub async fn ensure_namespace(client: &Client, namespace: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if let Ok(Some(_)) = namespaces.get_opt(namespace).await {
        return;
    }
    let object: Namespace = match serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {"app.kubernetes.io/managed-by": "ferry"}},
    })) {
        Ok(object) => object,
        Err(_) => return,
    };
    if let Err(error) = namespaces.create(&PostParams::default(), &object).await
        && !is_status(&error, 409)
    {
        tracing::warn!(%namespace, %error, "cannot create the builds' namespace");
    }
}

/// Makes the cache claim of `application` if missing; returns whether it existed.
pub async fn ensure_cache_claim(
    client: &Client,
    namespace: &str,
    application: &str,
    size_bytes: i64,
) -> Result<bool, String> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let name = manifests::cache_claim_name(application);
    match claims.get_opt(&name).await {
        Ok(Some(_)) => return Ok(true),
        Ok(None) => {}
        Err(error) => return Err(format!("cache claim {name}: {error}")),
    }
    let claim = manifests::cache_claim(namespace, application, size_bytes);
    match claims.create(&PostParams::default(), &claim).await {
        Ok(_) => Ok(false),
        Err(error) if is_status(&error, 409) => Ok(true),
        Err(error) => Err(format!("cache claim {name}: {error}")),
    }
}

/// Deletes an application's cache claim (best effort: a failure is logged; an absent
/// claim is not an error).
pub async fn delete_cache_claim(client: &Client, namespace: &str, application: &str) {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let name = manifests::cache_claim_name(application);
    match claims.delete(&name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(error) if is_status(&error, 404) => {}
        Err(error) => {
            tracing::warn!(claim = %name, %error, "cannot delete the application's cache claim");
        }
    }
}

/// Registry credentials for the `image` container.
pub struct RegistryLogin<'a> {
    /// The registry (`host:port`).
    pub registry: &'a str,
    /// User name.
    pub username: &'a str,
    /// Password.
    pub password: &'a str,
}

/// Creates a build's Job (suspended), its Secrets owned by it, and resumes it; returns
/// the Job as created. On an error after the Job exists, the caller removes it with
/// [`delete`].
pub async fn create(
    client: &Client,
    input: &JobInput,
    secret_data: BTreeMap<String, Vec<u8>>,
    login: Option<RegistryLogin<'_>>,
) -> Result<Job, String> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), &input.namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &input.namespace);
    let job = manifests::job(input);
    let name = job.metadata.name.clone().unwrap_or_default();
    let created = jobs
        .create(&PostParams::default(), &job)
        .await
        .map_err(|e| {
            if is_status(&e, 409) {
                format!("a Job named {name} already exists in {}", input.namespace)
            } else {
                format!("cannot create the Job {name}: {e}")
            }
        })?;
    let owner = manifests::owned_by(&created);
    if !secret_data.is_empty() {
        secrets
            .create(
                &PostParams::default(),
                &manifests::build_secret(input, secret_data, owner.clone()),
            )
            .await
            .map_err(|e| format!("cannot create the Job's Secret: {e}"))?;
    }
    if let Some(login) = login {
        secrets
            .create(
                &PostParams::default(),
                &manifests::registry_secret(
                    input,
                    login.registry,
                    login.username,
                    login.password,
                    owner,
                ),
            )
            .await
            .map_err(|e| format!("cannot create the Job's registry Secret: {e}"))?;
    }
    jobs.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .map_err(|e| format!("cannot resume the Job {name}: {e}"))
}

/// The Job `name` and its pods, observed.
pub async fn observe(client: &Client, namespace: &str, name: &str) -> Result<Observation, String> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let job = jobs
        .get_opt(name)
        .await
        .map_err(|e| format!("cannot read the Job {name}: {e}"))?;
    let pods = match &job {
        Some(_) => {
            pods.list(&ListParams::default().labels(&format!("{BUILD_LABEL}={name}")))
                .await
                .map_err(|e| format!("cannot list the pods of the Job {name}: {e}"))?
                .items
        }
        None => Vec::new(),
    };
    Ok(kube_status::observe(job.as_ref(), &pods))
}

/// Deletes the Job `name` (background propagation: its pods go) unless `keep_job`, and
/// its Secrets; what is already gone is fine.
pub async fn delete(client: &Client, namespace: &str, name: &str, keep_job: bool) {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    if !keep_job
        && let Err(error) = jobs.delete(name, &DeleteParams::background()).await
        && !is_status(&error, 404)
    {
        tracing::warn!(job = %name, %error, "cannot delete the builder Job");
    }
    for secret in [
        manifests::secret_name(name),
        manifests::registry_secret_name(name),
    ] {
        if let Err(error) = secrets.delete(&secret, &DeleteParams::default()).await
            && !is_status(&error, 404)
        {
            tracing::warn!(%secret, %error, "cannot delete a builder Job's Secret");
        }
    }
}

/// One piece of a container's log.
#[derive(Debug)]
pub enum LogPiece {
    /// A line (with its newline).
    Line(Vec<u8>),
    /// A note for the log (the logs cannot be read).
    Note(String),
}

/// Follows the log of `container` of `pod` into `sender` until it ends; logs that
/// cannot be read give one note.
pub fn follow_logs(
    client: &Client,
    namespace: &str,
    pod: &str,
    container: &str,
    sender: tokio::sync::mpsc::UnboundedSender<LogPiece>,
) -> tokio::task::JoinHandle<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = pod.to_string();
    let container = container.to_string();
    tokio::spawn(async move {
        let params = LogParams {
            container: Some(container.clone()),
            follow: true,
            ..LogParams::default()
        };
        let opened = tokio::time::timeout(Duration::from_secs(10), pods.log_stream(&pod, &params));
        let stream = match opened.await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                let error = match error {
                    kube::Error::Api(status) => status.message.clone(),
                    other => other.to_string(),
                };
                let _ = sender.send(LogPiece::Note(format!(
                    "the log of {container} is not available: {error}"
                )));
                return;
            }
            Err(_) => {
                let _ = sender.send(LogPiece::Note(format!(
                    "the log of {container} is not available (no answer in 10 s)"
                )));
                return;
            }
        };
        let mut lines = stream.lines();
        while let Some(line) = lines.next().await {
            match line {
                Ok(line) => {
                    let mut bytes = line.into_bytes();
                    bytes.push(b'\n');
                    if sender.send(LogPiece::Line(bytes)).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    let _ = sender.send(LogPiece::Note(format!(
                        "the log of {container} broke off: {error}"
                    )));
                    return;
                }
            }
        }
    })
}
