//! The builder engine (a Docker engine, local or remote): builder containers with the
//! workspace uploaded as a tar and the application's cache volume mounted at `/cache`,
//! step scripts run as execs with their output streamed, files read back as tars,
//! Dockerfile builds through the engine's build API, and pushes to the registry.
//!
//! Every call takes the engine's API; nothing here assumes the engine runs on this host.

use std::collections::HashMap;
use std::pin::Pin;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ExecConfig, HostConfig, Mount, MountType, VolumeCreateRequest,
};
use bollard::query_parameters::{
    BuildImageOptions, CreateContainerOptions, CreateImageOptions, DownloadFromContainerOptions,
    PushImageOptions, RemoveContainerOptions, StartContainerOptions, UploadToContainerOptions,
};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};

/// Label carried by every builder container: the build's name.
pub const BUILD_LABEL: &str = "ferry.dev/build";

/// A failed engine call, with what was attempted.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct EngineError {
    /// What was attempted.
    pub operation: String,
    /// The engine's answer.
    pub message: String,
}

fn engine_error(
    operation: impl Into<String>,
) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let operation = operation.into();
    move |error| EngineError {
        operation,
        message: error.to_string(),
    }
}

/// One piece of output of a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Standard output bytes.
    Out(Bytes),
    /// Standard error bytes.
    Err(Bytes),
    /// A progress line from the engine (pull, build, push).
    System(String),
    /// The engine reported a failure of the step.
    Failed(String),
    /// The pushed manifest's digest.
    Digest(String),
}

/// A stream of step output.
pub type OutputStream = Pin<Box<dyn Stream<Item = Output> + Send>>;

/// Credentials for a registry; never printed.
#[derive(Clone)]
pub struct PushAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for PushAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PushAuth(<redacted>)")
    }
}

/// What a builder container gets.
#[derive(Clone, Debug, Default)]
pub struct BuilderSpec {
    /// Container name.
    pub name: String,
    /// Builder image.
    pub image: String,
    /// The build's name (label).
    pub build: String,
    /// Cache volume mounted at `/cache`, if any.
    pub cache_volume: Option<String>,
    /// Network mode ("" = the engine's default).
    pub network: String,
    /// Memory limit in bytes (0 = none).
    pub memory_bytes: i64,
    /// CPU limit in thousandths of a CPU (0 = none).
    pub cpu_millis: i64,
}

/// The builder engine.
#[derive(Clone)]
pub struct BuilderEngine {
    docker: Docker,
    /// Its endpoint (for the build record's `builder_host`).
    pub endpoint: String,
}

impl BuilderEngine {
    /// Connects to `endpoint` (`unix://…` or `tcp://…`) and negotiates the API version.
    pub async fn connect(endpoint: &str) -> Result<Self, EngineError> {
        let docker = if let Some(path) = endpoint.strip_prefix("unix://") {
            Docker::connect_with_unix(path, 3600, bollard::API_DEFAULT_VERSION)
        } else {
            Docker::connect_with_http(endpoint, 3600, bollard::API_DEFAULT_VERSION)
        }
        .map_err(engine_error(format!("connect to {endpoint}")))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(engine_error(format!("connect to {endpoint}")))?;
        Ok(Self {
            docker,
            endpoint: endpoint.to_string(),
        })
    }

    /// The name of the builder container of build `number` (uid `build_uid`) of
    /// application `app_id`.
    pub fn container_name(app_id: &str, number: i64, build_uid: &str) -> String {
        format!("ferry-build-{app_id}-{number}-{}", short_uid(build_uid))
    }

    /// The cache volume of application `app_id` (uid `app_uid`: an application created
    /// again under the same id starts with an empty cache).
    pub fn cache_volume(app_id: &str, app_uid: &str) -> String {
        format!("ferry-build-cache-{app_id}-{}", short_uid(app_uid))
    }

    /// The id of `image` on the engine, if the engine has it (nothing is pulled).
    pub async fn image_id(&self, image: &str) -> Option<String> {
        self.docker.inspect_image(image).await.ok()?.id
    }

    /// Makes sure `image` is on the engine (pulling it when missing); returns its id.
    pub async fn ensure_image(&self, image: &str) -> Result<String, EngineError> {
        if let Ok(inspect) = self.docker.inspect_image(image).await {
            return Ok(inspect.id.unwrap_or_default());
        }
        let options = CreateImageOptions {
            from_image: Some(image.to_string()),
            ..Default::default()
        };
        self.docker
            .create_image(Some(options), None, None)
            .try_collect::<Vec<_>>()
            .await
            .map_err(engine_error(format!("pull builder image {image}")))?;
        let inspect = self
            .docker
            .inspect_image(image)
            .await
            .map_err(engine_error(format!("inspect {image}")))?;
        Ok(inspect.id.unwrap_or_default())
    }

    /// Creates the cache volume if needed; true when it already existed (a cache hit).
    pub async fn ensure_volume(&self, name: &str) -> Result<bool, EngineError> {
        if self.docker.inspect_volume(name).await.is_ok() {
            return Ok(true);
        }
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(HashMap::from([(
                "ferry.dev/cache".to_string(),
                "true".to_string(),
            )])),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(engine_error(format!("create volume {name}")))?;
        Ok(false)
    }

    /// Removes a volume; an absent or busy one is left as it is.
    pub async fn remove_volume(&self, name: &str) {
        if let Err(error) = self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            tracing::debug!(volume = name, %error, "volume not removed");
        }
    }

    /// Creates the builder container (not started), uploads the workspace tar into it
    /// and starts it.
    pub async fn start_builder(
        &self,
        spec: &BuilderSpec,
        workspace: Vec<u8>,
    ) -> Result<(), EngineError> {
        // A leftover of an earlier attempt goes first.
        self.remove(&spec.name).await;
        let host_config = HostConfig {
            mounts: spec.cache_volume.as_ref().map(|volume| {
                vec![Mount {
                    target: Some("/cache".to_string()),
                    source: Some(volume.clone()),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }]
            }),
            network_mode: (!spec.network.is_empty()).then(|| spec.network.clone()),
            memory: (spec.memory_bytes > 0).then_some(spec.memory_bytes),
            nano_cpus: (spec.cpu_millis > 0).then_some(spec.cpu_millis * 1_000_000),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                "exec sleep 86400".into(),
            ]),
            cmd: Some(Vec::new()),
            working_dir: Some("/workspace".into()),
            labels: Some(HashMap::from([(
                BUILD_LABEL.to_string(),
                spec.build.clone(),
            )])),
            host_config: Some(host_config),
            ..Default::default()
        };
        self.docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(spec.name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(engine_error(format!(
                "create builder container {}",
                spec.name
            )))?;
        self.docker
            .upload_to_container(
                &spec.name,
                Some(UploadToContainerOptions {
                    path: "/".into(),
                    ..Default::default()
                }),
                bollard::body_full(workspace.into()),
            )
            .await
            .map_err(engine_error(format!(
                "upload the workspace into {}",
                spec.name
            )))?;
        self.docker
            .start_container(&spec.name, None::<StartContainerOptions>)
            .await
            .map_err(engine_error(format!(
                "start builder container {}",
                spec.name
            )))?;
        Ok(())
    }

    /// Runs `script` with `/bin/sh -e` in the workspace; returns the exec id and its
    /// output.
    pub async fn exec(
        &self,
        container: &str,
        script: &str,
        env: &[String],
    ) -> Result<(String, OutputStream), EngineError> {
        let config = ExecConfig {
            cmd: Some(vec![
                "/bin/sh".into(),
                "-e".into(),
                "-c".into(),
                script.to_string(),
            ]),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            working_dir: Some("/workspace".into()),
            env: Some(env.to_vec()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(container, config)
            .await
            .map_err(engine_error(format!("exec in {container}")))?;
        let started = self
            .docker
            .start_exec(&created.id, None::<StartExecOptions>)
            .await
            .map_err(engine_error(format!("exec in {container}")))?;
        let StartExecResults::Attached { output, .. } = started else {
            return Err(EngineError {
                operation: format!("exec in {container}"),
                message: "the engine did not attach".into(),
            });
        };
        let stream = output.map(|item| match item {
            Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                Output::Out(message)
            }
            Ok(LogOutput::StdErr { message }) => Output::Err(message),
            Ok(LogOutput::StdIn { .. }) => Output::Out(Bytes::new()),
            Err(error) => Output::Failed(error.to_string()),
        });
        Ok((created.id, Box::pin(stream)))
    }

    /// The exit code of a finished exec.
    pub async fn exit_code(&self, exec: &str) -> Result<i64, EngineError> {
        let inspect = self
            .docker
            .inspect_exec(exec)
            .await
            .map_err(engine_error("inspect exec"))?;
        inspect.exit_code.ok_or_else(|| EngineError {
            operation: "inspect exec".into(),
            message: "no exit code: the process did not end".into(),
        })
    }

    /// The tar of `path` inside the container.
    pub async fn download(&self, container: &str, path: &str) -> Result<Vec<u8>, EngineError> {
        let chunks: Vec<Bytes> = self
            .docker
            .download_from_container(
                container,
                Some(DownloadFromContainerOptions {
                    path: path.to_string(),
                }),
            )
            .try_collect()
            .await
            .map_err(engine_error(format!("read {path} from {container}")))?;
        Ok(chunks.concat())
    }

    /// Removes a container (killing it); absent containers are fine.
    pub async fn remove(&self, container: &str) {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        let _ = self.docker.remove_container(container, Some(options)).await;
    }

    /// Builds an image from a context tar with the engine's build API.
    pub fn build(
        &self,
        context: Vec<u8>,
        dockerfile: &str,
        tag: &str,
        build_args: HashMap<String, String>,
        target: &str,
        network: &str,
    ) -> OutputStream {
        let options = BuildImageOptions {
            dockerfile: dockerfile.to_string(),
            t: Some(tag.to_string()),
            rm: true,
            forcerm: true,
            buildargs: Some(build_args),
            target: target.to_string(),
            networkmode: (!network.is_empty()).then(|| network.to_string()),
            ..Default::default()
        };
        // The engine's build stream borrows the client: it is driven by a task that owns
        // a clone, and forwarded.
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        let docker = self.docker.clone();
        tokio::spawn(async move {
            let mut stream = Box::pin(docker.build_image(
                options,
                None,
                Some(bollard::body_full(context.into())),
            ));
            while let Some(item) = stream.next().await {
                let output = match item {
                    Ok(info) => {
                        if let Some(error) = info.error_detail.and_then(|d| d.message) {
                            Output::Failed(error)
                        } else if let Some(text) = info.stream {
                            Output::Out(Bytes::from(text))
                        } else if let Some(status) = info.status {
                            Output::System(status)
                        } else {
                            continue;
                        }
                    }
                    Err(error) => Output::Failed(error.to_string()),
                };
                if sender.send(output).await.is_err() {
                    return;
                }
            }
        });
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))
    }

    /// Pushes `repository:tag`; the stream carries progress lines and, at the end, the
    /// manifest digest.
    pub fn push(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&PushAuth>,
        registry: &str,
    ) -> OutputStream {
        let credentials = auth.map(|auth| bollard::auth::DockerCredentials {
            username: Some(auth.username.clone()),
            password: Some(auth.password.clone()),
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        });
        let options = PushImageOptions {
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let stream = self
            .docker
            .push_image(repository, Some(options), credentials)
            .map(|item| match item {
                Ok(info) => {
                    if let Some(error) = info.error_detail.and_then(|d| d.message) {
                        return Output::Failed(error);
                    }
                    let status = info.status.unwrap_or_default();
                    if let Some(digest) = status
                        .split("digest: ")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                    {
                        return Output::Digest(digest.to_string());
                    }
                    match status.as_str() {
                        "Pushing" | "Waiting" | "Preparing" => Output::Out(Bytes::new()),
                        _ => {
                            let id = String::new();
                            Output::System(format!("{id}{status}"))
                        }
                    }
                }
                Err(error) => Output::Failed(error.to_string()),
            });
        Box::pin(stream)
    }

    /// The image's platform (`os/architecture`) and the digest a base image resolved to.
    pub async fn inspect(&self, image: &str) -> Option<(String, Vec<String>)> {
        let inspect = self.docker.inspect_image(image).await.ok()?;
        Some((
            format!(
                "{}/{}",
                inspect.os.unwrap_or_default(),
                inspect.architecture.unwrap_or_default()
            ),
            inspect.repo_digests.unwrap_or_default(),
        ))
    }
}

fn short_uid(uid: &str) -> String {
    uid.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect()
}

/// The tar of the build context: the entries of `workspace` (a download of
/// `/workspace`, entries under `workspace/`) under `context_path`, re-rooted.
pub fn context_tar(workspace: &[u8], context_path: &str) -> Result<Vec<u8>, String> {
    let context = context_path.trim_matches('/').trim_start_matches("./");
    let root = if context.is_empty() || context == "." {
        "workspace/".to_string()
    } else {
        format!("workspace/{context}/")
    };
    let mut archive = tar::Archive::new(workspace);
    let mut builder = tar::Builder::new(Vec::new());
    let mut found = false;
    for entry in archive
        .entries()
        .map_err(|e| format!("read workspace: {e}"))?
    {
        let mut entry = entry.map_err(|e| format!("read workspace: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("read workspace: {e}"))?
            .to_string_lossy()
            .into_owned();
        let Some(relative) = path
            .strip_prefix(&root)
            .or_else(|| (format!("{path}/") == root).then_some(""))
        else {
            continue;
        };
        found = true;
        if relative.is_empty() {
            continue;
        }
        let mut header = entry.header().clone();
        let link = entry.link_name().ok().flatten().map(|l| l.into_owned());
        if let Some(link) = link {
            builder
                .append_link(&mut header, relative, link)
                .map_err(|e| format!("write context: {e}"))?;
        } else {
            builder
                .append_data(&mut header, relative, &mut entry)
                .map_err(|e| format!("write context: {e}"))?;
        }
    }
    if !found {
        return Err(format!(
            "the context directory {context_path:?} does not exist in the workspace"
        ));
    }
    builder
        .into_inner()
        .map_err(|e| format!("write context: {e}"))
}

/// The files of a tar download whose path (relative to the workspace) matches
/// `pattern`.
pub fn files_matching(download: &[u8], strip: &str, pattern: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut archive = tar::Archive::new(download);
    let Ok(entries) = archive.entries() else {
        return files;
    };
    for mut entry in entries.flatten() {
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let Ok(path) = entry.path().map(|p| p.to_string_lossy().into_owned()) else {
            continue;
        };
        let relative = path.strip_prefix(strip).unwrap_or(&path).to_string();
        if super::junit::glob_match(pattern, &relative) {
            let mut content = Vec::new();
            if std::io::Read::read_to_end(&mut entry, &mut content).is_ok() {
                files.push((relative, content));
            }
        }
    }
    files
}

/// The image of the Dockerfile's last `FROM` (its base), if it names one.
pub fn base_image(dockerfile: &str) -> String {
    dockerfile
        .lines()
        .map(str::trim)
        .filter(|line| line.len() > 5 && line[..5].eq_ignore_ascii_case("from "))
        .filter_map(|line| {
            line[5..]
                .split_whitespace()
                .find(|word| !word.starts_with("--"))
                .map(str::to_string)
        })
        .next_back()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            builder
                .append_data(&mut header, path, content.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn contexts_are_rerooted() {
        let workspace = tar_of(&[
            ("workspace/Dockerfile", "FROM a"),
            ("workspace/app/x", "1"),
            ("workspace/app/Dockerfile", "FROM b"),
        ]);
        let whole = context_tar(&workspace, "").unwrap();
        let names: Vec<String> = tar::Archive::new(whole.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"Dockerfile".to_string()) && names.contains(&"app/x".to_string()));
        let sub = context_tar(&workspace, "app").unwrap();
        let names: Vec<String> = tar::Archive::new(sub.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["x".to_string(), "Dockerfile".to_string()]);
        assert!(context_tar(&workspace, "missing").is_err());
    }

    #[test]
    fn reports_are_found_by_glob_and_bases_by_from() {
        let download = tar_of(&[
            ("workspace/reports/a.xml", "<a/>"),
            ("workspace/reports/b.txt", ""),
        ]);
        let files = files_matching(&download, "workspace/", "reports/*.xml");
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "reports/a.xml");
        assert_eq!(
            base_image("FROM x AS b\nRUN y\nfrom --platform=linux/amd64 reg:5000/base:1\n"),
            "reg:5000/base:1"
        );
    }
}
