//! Test support (feature `testing`): the test environment's registry and engine, and a
//! busybox base image (Debian `busybox-static`'s `/bin/busybox` plus applet symlinks)
//! built and pushed with this crate, so tests need nothing from Docker Hub.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    Base, ClientOptions, ImageError, ImageSettings, Layer, LayerBuilder, LayerOptions, PushReport,
    Reference, RegistryClient, assemble_and_push, build_layer,
};

/// Where the busybox binary comes from (Debian `busybox-static`).
pub const BUSYBOX_BINARY: &str = "/bin/busybox";

/// The applets linked in `/bin` of the busybox base.
pub const BUSYBOX_APPLETS: &[&str] = &[
    "cat",
    "echo",
    "env",
    "id",
    "ls",
    "mkdir",
    "sh",
    "sha256sum",
    "sleep",
    "true",
    "wc",
];

/// `FERRY_TEST_REGISTRY` (`host:port` of the test registry), or a message naming it.
pub fn registry_from_env() -> Result<String, String> {
    std::env::var("FERRY_TEST_REGISTRY")
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            "FERRY_TEST_REGISTRY is not set: these tests need an OCI registry (host:port); \
             run them through deploy/dev/test.sh or start one with start_registry from \
             deploy/dev/lib.sh"
                .to_string()
        })
}

/// `FERRY_TEST_DOCKER_HOST` (a `unix://` URL of the test engine), or a message naming it.
pub fn docker_host_from_env() -> Result<String, String> {
    std::env::var("FERRY_TEST_DOCKER_HOST")
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            "FERRY_TEST_DOCKER_HOST is not set: these tests need a Docker engine (unix:// URL); \
             run them through deploy/dev/test.sh or start one with start_dockerd from \
             deploy/dev/lib.sh"
                .to_string()
        })
}

/// A client with default options (plain HTTP to the loopback test registry).
pub fn client() -> RegistryClient {
    RegistryClient::new(ClientOptions::default()).expect("the HTTP client builds")
}

/// A suffix that differs between test runs and processes (for repository names).
pub fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// The busybox root filesystem as a layer: `/bin/busybox`, `/bin/<applet>` symlinks,
/// `/etc/passwd`, `/etc/group` and a sticky `/tmp`.
pub fn busybox_layer(options: LayerOptions) -> Result<Layer, ImageError> {
    busybox_builder(options)?.build()
}

fn busybox_builder(options: LayerOptions) -> Result<LayerBuilder, ImageError> {
    let mut builder = LayerBuilder::new(options);
    builder.add_path("/bin/busybox", BUSYBOX_BINARY)?;
    for applet in BUSYBOX_APPLETS {
        builder.add_symlink(&format!("/bin/{applet}"), "busybox")?;
    }
    builder
        .add_bytes(
            "/etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n".to_vec(),
            0o644,
        )?
        .add_bytes(
            "/etc/group",
            b"root:x:0:\nnogroup:x:65534:\n".to_vec(),
            0o644,
        )?
        .add_directory("/tmp", 0o1777)?
        .add_directory("/root", 0o700)?;
    Ok(builder)
}

/// Builds the busybox base (scratch + the busybox layer, `PATH=/bin`, `Cmd ["/bin/sh"]`)
/// and pushes it as `target`.
pub async fn push_busybox_base(
    client: &RegistryClient,
    target: &Reference,
) -> Result<PushReport, ImageError> {
    let layer = build_layer(busybox_builder(LayerOptions::default())?).await?;
    let settings = ImageSettings {
        env: vec![("PATH".into(), "/bin".into())],
        cmd: Some(vec!["/bin/sh".into()]),
        created_by: "ferry-image testing: busybox-static rootfs".into(),
        ..Default::default()
    };
    assemble_and_push(client, target, &Base::Scratch, &layer, &settings).await
}

/// A client of the Docker engine at `endpoint` (`unix://...`), API version negotiated.
pub async fn docker(endpoint: &str) -> Result<bollard::Docker, String> {
    let path = endpoint
        .strip_prefix("unix://")
        .ok_or_else(|| format!("engine endpoint {endpoint:?} is not a unix:// URL"))?;
    bollard::Docker::connect_with_unix(path, 300, bollard::API_DEFAULT_VERSION)
        .map_err(|e| format!("connect to {endpoint}: {e}"))?
        .negotiate_version()
        .await
        .map_err(|e| format!("engine at {endpoint} does not answer: {e}"))
}

/// Pulls `image` (`registry/repo:tag`) into the engine.
pub async fn pull(docker: &bollard::Docker, image: &str) -> Result<(), String> {
    use futures::TryStreamExt;
    let (repo, tag) = split_tag(image);
    docker
        .create_image(
            Some(bollard::query_parameters::CreateImageOptions {
                from_image: Some(repo.to_string()),
                tag: Some(tag.to_string()),
                ..Default::default()
            }),
            None,
            None,
        )
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| format!("pull {image}: {e}"))?;
    Ok(())
}

/// Runs a container of `image` (already pulled) without network, with `cmd` when given
/// (else the image's own), waits for it and returns its exit code and output (stdout
/// then stderr, in order); the container is removed.
pub async fn run(
    docker: &bollard::Docker,
    image: &str,
    cmd: Option<Vec<String>>,
) -> Result<(i64, String), String> {
    use bollard::container::LogOutput;
    use bollard::query_parameters::{
        CreateContainerOptions, LogsOptions, RemoveContainerOptions, StartContainerOptions,
        WaitContainerOptions,
    };
    use futures::{StreamExt, TryStreamExt};
    let body = bollard::models::ContainerCreateBody {
        image: Some(image.to_string()),
        cmd,
        host_config: Some(bollard::models::HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
        .map_err(|e| format!("create a container of {image}: {e}"))?;
    let id = created.id;
    let result = async {
        docker
            .start_container(&id, None::<StartContainerOptions>)
            .await
            .map_err(|e| format!("start a container of {image}: {e}"))?;
        let mut code = 0;
        let mut waits = docker.wait_container(&id, None::<WaitContainerOptions>);
        while let Some(item) = waits.next().await {
            match item {
                Ok(response) => code = response.status_code,
                Err(bollard::errors::Error::DockerContainerWaitError { code: c, .. }) => code = c,
                Err(e) => return Err(format!("wait for the container of {image}: {e}")),
            }
        }
        let output = docker
            .logs(
                &id,
                Some(LogsOptions {
                    stdout: true,
                    stderr: true,
                    tail: "all".into(),
                    ..Default::default()
                }),
            )
            .try_collect::<Vec<LogOutput>>()
            .await
            .map_err(|e| format!("logs of the container of {image}: {e}"))?;
        let text: String = output.iter().map(|o| o.to_string()).collect();
        Ok((code, text))
    }
    .await;
    let _ = docker
        .remove_container(
            &id,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await;
    result
}

/// `registry/repo:tag` → (`registry/repo`, `tag`); `latest` without a tag.
fn split_tag(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}
