//! The namespace DNS endpoints on one Docker engine: what is there (namespace networks,
//! endpoint containers) and the calls that move it toward the plan (import the forwarder
//! image, create and start an endpoint, upload its configuration, remove it). Every call
//! has a deadline: a stopped engine accepts connections but never answers.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, ListNetworksOptions,
    RemoveContainerOptions, StartContainerOptions, UploadToContainerOptions,
};
use futures::TryStreamExt;
use tokio::sync::Mutex;

use super::plan::{CONFIG_PATH, Endpoint, MANAGED_BY_LABEL, MANAGED_BY_VALUE, SERVICE_LABEL};
use crate::dataplane::DataPlaneError;

/// Deadline of one engine call.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// The oldest engine API spoken (dockerd 20.10), as the deploy runtime does.
const MIN_API: bollard::ClientVersion = bollard::ClientVersion {
    major_version: 1,
    minor_version: 41,
};
/// The deploy runtime's labels on namespace networks (see `ferry_runtime::labels` and
/// `ferry_runtime_docker::RUNTIME_NAMESPACE_LABEL`).
const DEPLOY_MANAGED_LABEL: &str = "ferry.dev/managed";
const NAMESPACE_LABEL: &str = "ferry.dev/namespace";

/// One endpoint container found on an engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    /// The container id.
    pub(crate) id: String,
    /// Its name (without the leading `/`).
    pub(crate) name: String,
    /// The image id it runs.
    pub(crate) image_id: String,
    /// Whether it runs.
    pub(crate) running: bool,
}

/// A configured engine and its lazily connected client.
pub(crate) struct EngineClient {
    /// The Ferry host id (`FERRY_DOCKER_ENGINES`).
    pub(crate) host: String,
    endpoint: String,
    client: Mutex<Option<Docker>>,
}

fn engine_error(host: &str, operation: &str, message: impl std::fmt::Display) -> DataPlaneError {
    DataPlaneError::Backend(format!("engine {host}: {operation}: {message}"))
}

fn status_code(error: &bollard::errors::Error) -> Option<u16> {
    match error {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

impl EngineClient {
    pub(crate) fn new(host: String, endpoint: String) -> Self {
        EngineClient {
            host,
            endpoint,
            client: Mutex::new(None),
        }
    }

    async fn docker(&self) -> Result<Docker, DataPlaneError> {
        let mut guard = self.client.lock().await;
        if let Some(docker) = guard.as_ref() {
            return Ok(docker.clone());
        }
        let docker = if let Some(path) = self.endpoint.strip_prefix("unix://") {
            Docker::connect_with_unix(path, 120, &MIN_API)
        } else {
            Docker::connect_with_http(&self.endpoint, 120, &MIN_API)
        }
        .map_err(|e| engine_error(&self.host, "connect", e))?;
        let docker = tokio::time::timeout(CALL_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| engine_error(&self.host, "connect", "no answer"))?
            .map_err(|e| engine_error(&self.host, "connect", e))?;
        *guard = Some(docker.clone());
        Ok(docker)
    }

    /// Runs one call under [`CALL_TIMEOUT`]; a failed connection is reopened next time.
    async fn call<T, F>(
        &self,
        operation: &str,
        call: impl FnOnce(Docker) -> F,
    ) -> Result<Result<T, bollard::errors::Error>, DataPlaneError>
    where
        F: Future<Output = Result<T, bollard::errors::Error>>,
    {
        let docker = self.docker().await?;
        match tokio::time::timeout(CALL_TIMEOUT, call(docker)).await {
            Ok(Err(error)) if status_code(&error).is_none() => {
                *self.client.lock().await = None;
                Err(engine_error(&self.host, operation, error))
            }
            Ok(result) => Ok(result),
            Err(_) => {
                *self.client.lock().await = None;
                Err(engine_error(&self.host, operation, "no answer"))
            }
        }
    }

    /// The namespace networks the deploy runtime made here: Ferry namespace id →
    /// runtime namespace (the network's name).
    pub(crate) async fn namespace_networks(
        &self,
    ) -> Result<BTreeMap<String, String>, DataPlaneError> {
        let networks = self
            .call("list networks", |d| async move {
                d.list_networks(Some(ListNetworksOptions {
                    filters: Some(HashMap::from([(
                        "label".to_string(),
                        vec![format!("{DEPLOY_MANAGED_LABEL}=true")],
                    )])),
                }))
                .await
            })
            .await?
            .map_err(|e| engine_error(&self.host, "list networks", e))?;
        Ok(networks
            .into_iter()
            .filter_map(|n| {
                let namespace = n.labels.as_ref()?.get(NAMESPACE_LABEL)?.clone();
                Some((namespace, n.name?))
            })
            .collect())
    }

    /// The endpoint containers here, by name.
    pub(crate) async fn endpoints(&self) -> Result<BTreeMap<String, Found>, DataPlaneError> {
        let summaries = self
            .call("list containers", |d| async move {
                d.list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(HashMap::from([(
                        "label".to_string(),
                        vec![format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}")],
                    )])),
                    ..Default::default()
                }))
                .await
            })
            .await?
            .map_err(|e| engine_error(&self.host, "list containers", e))?;
        Ok(summaries
            .into_iter()
            .filter_map(|s| {
                let name = s.names?.first()?.trim_start_matches('/').to_string();
                Some((
                    name.clone(),
                    Found {
                        id: s.id?,
                        name,
                        image_id: s.image_id.unwrap_or_default(),
                        running: s.state.is_some_and(|state| {
                            state == bollard::models::ContainerSummaryStateEnum::RUNNING
                        }),
                    },
                ))
            })
            .collect())
    }

    /// The id of the forwarder image `tag`, importing it from `rootfs` (a tar) first when
    /// the engine does not have it.
    pub(crate) async fn ensure_image(
        &self,
        tag: &str,
        rootfs: &[u8],
    ) -> Result<String, DataPlaneError> {
        let name = tag.to_string();
        match self
            .call(
                "inspect image",
                |d| async move { d.inspect_image(&name).await },
            )
            .await?
        {
            Ok(image) => return Ok(image.id.unwrap_or_default()),
            Err(error) if status_code(&error) == Some(404) => {}
            Err(error) => return Err(engine_error(&self.host, "inspect image", error)),
        }
        let (repo, version) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
        let options = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo.into()),
            tag: Some(version.into()),
            changes: vec![
                format!(r#"ENTRYPOINT ["/ferry-forward", "{CONFIG_PATH}"]"#),
                "ENV PATH=/".into(),
            ],
            ..Default::default()
        };
        let body = rootfs.to_vec();
        self.call("import forwarder image", |d| async move {
            d.create_image(Some(options), Some(bollard::body_full(body.into())), None)
                .try_collect::<Vec<_>>()
                .await
        })
        .await?
        .map_err(|e| engine_error(&self.host, "import forwarder image", e))?;
        tracing::info!(engine = %self.host, image = tag, "forwarder image imported");
        let name = tag.to_string();
        let image = self
            .call(
                "inspect image",
                |d| async move { d.inspect_image(&name).await },
            )
            .await?
            .map_err(|e| engine_error(&self.host, "inspect image", e))?;
        Ok(image.id.unwrap_or_default())
    }

    /// Creates `endpoint`'s container from `image_id`, writes its configuration and
    /// starts it; returns the container id. A network missing here (the namespace is
    /// being deleted) is an error the next pass retries.
    pub(crate) async fn create(
        &self,
        endpoint: &Endpoint,
        image_id: &str,
    ) -> Result<String, DataPlaneError> {
        let labels = HashMap::from([
            (MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string()),
            (SERVICE_LABEL.to_string(), endpoint.service.clone()),
        ]);
        let body = ContainerCreateBody {
            image: Some(image_id.to_string()),
            labels: Some(labels),
            host_config: Some(HostConfig {
                init: Some(true),
                network_mode: Some(endpoint.network.clone()),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    endpoint.network.clone(),
                    EndpointSettings {
                        aliases: Some(endpoint.aliases.clone()),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let name = endpoint.container_name.clone();
        let created = self
            .call("create endpoint", |d| async move {
                d.create_container(
                    Some(CreateContainerOptions {
                        name: Some(name),
                        ..Default::default()
                    }),
                    body,
                )
                .await
            })
            .await?
            .map_err(|e| {
                engine_error(
                    &self.host,
                    &format!("create endpoint {}", endpoint.container_name),
                    e,
                )
            })?;
        let id = created.id;
        self.upload_config(&id, &endpoint.config).await?;
        let start_id = id.clone();
        self.call("start endpoint", |d| async move {
            d.start_container(&start_id, None::<StartContainerOptions>)
                .await
        })
        .await?
        .map_err(|e| {
            engine_error(
                &self.host,
                &format!("start endpoint {}", endpoint.container_name),
                e,
            )
        })?;
        Ok(id)
    }

    /// Writes `config` to [`CONFIG_PATH`] in container `id` (the forwarder sees it at its
    /// next poll).
    pub(crate) async fn upload_config(&self, id: &str, config: &str) -> Result<(), DataPlaneError> {
        let archive = config_tar(config)
            .map_err(|e| engine_error(&self.host, "write endpoint configuration", e))?;
        let id = id.to_string();
        self.call("write endpoint configuration", |d| async move {
            d.upload_to_container(
                &id,
                Some(UploadToContainerOptions {
                    path: "/".into(),
                    ..Default::default()
                }),
                bollard::body_full(archive.into()),
            )
            .await
        })
        .await?
        .map_err(|e| engine_error(&self.host, "write endpoint configuration", e))
    }

    /// Removes container `id` (killing it). An unknown container is not an error.
    pub(crate) async fn remove(&self, id: &str) -> Result<(), DataPlaneError> {
        let id = id.to_string();
        match self
            .call("remove endpoint", |d| async move {
                d.remove_container(
                    &id,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                )
                .await
            })
            .await?
        {
            Ok(()) => Ok(()),
            Err(error) if status_code(&error) == Some(404) => Ok(()),
            Err(error) => Err(engine_error(&self.host, "remove endpoint", error)),
        }
    }
}

/// A tar holding `etc/ferry-forward.conf` with `config`.
fn config_tar(config: &str) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(config.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(
        &mut header,
        CONFIG_PATH.trim_start_matches('/'),
        config.as_bytes(),
    )?;
    builder.into_inner()
}

/// The forwarder image's root filesystem: `/ferry-forward` (the static binary) and an
/// empty-rule configuration, as a tar.
pub(crate) fn forwarder_rootfs(binary: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data, mode) in [
        ("ferry-forward", binary, 0o755),
        (
            CONFIG_PATH.trim_start_matches('/'),
            b"end\n".as_slice(),
            0o644,
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data)?;
    }
    builder.into_inner()
}
