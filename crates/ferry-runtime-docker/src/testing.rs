//! Test support (feature `testing`): the `ferry-echo` test application as an image.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use bollard::query_parameters::CreateImageOptions;
use futures::TryStreamExt;

use crate::DockerError;
use crate::engine::Engine;

static ECHO_BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The workspace root (two levels above this crate).
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Builds `ferry-echo` statically (once per process) into `$CARGO_TARGET_DIR/echo-static`
/// (or `target/echo-static`) and returns the binary's path.
pub fn echo_binary() -> Result<PathBuf, String> {
    ECHO_BINARY
        .get_or_init(|| {
            let root = workspace_root();
            let target_dir = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"))
                .join("echo-static");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let output = Command::new(cargo)
                .current_dir(&root)
                .env("RUSTFLAGS", "-C target-feature=+crt-static")
                .args([
                    "build",
                    "-p",
                    "ferry-echo",
                    "--release",
                    "--target",
                    "x86_64-unknown-linux-gnu",
                    "--target-dir",
                ])
                .arg(&target_dir)
                .output()
                .map_err(|e| format!("cannot run cargo to build ferry-echo: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "building ferry-echo failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            Ok(target_dir.join("x86_64-unknown-linux-gnu/release/echo"))
        })
        .clone()
}

/// A root filesystem holding only `/echo` and a minimal `/etc/passwd`, as a tar.
fn echo_rootfs() -> Result<Vec<u8>, String> {
    let binary = echo_binary()?;
    let content = std::fs::read(&binary).map_err(|e| format!("read {}: {e}", binary.display()))?;
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8], mode: u32| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, data)
            .map_err(|e| format!("rootfs tar: {e}"))
    };
    add("echo", &content, 0o755)?;
    add(
        "etc/passwd",
        b"root:x:0:0:root:/:/echo\nnobody:x:65534:65534:nobody:/:/echo\n",
        0o644,
    )?;
    add("etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644)?;
    builder.into_inner().map_err(|e| format!("rootfs tar: {e}"))
}

/// Imports the echo application into the engine at `endpoint` (`unix://…` or `tcp://…`)
/// as `tag` (`docker import` with `CMD ["/echo"]`), building it first if needed; returns
/// the image reference.
pub async fn import_echo_image(endpoint: &str, tag: &str) -> Result<String, DockerError> {
    let rootfs = tokio::task::spawn_blocking(echo_rootfs)
        .await
        .map_err(|e| DockerError::Invalid(format!("build task failed: {e}")))?
        .map_err(DockerError::Invalid)?;
    let engine = Engine::new("test".into(), endpoint.into(), String::new(), String::new());
    let docker = engine.docker().await?;
    let (repo, version) = match tag.rsplit_once(':') {
        Some((repo, version)) if !version.contains('/') => (repo, version),
        _ => (tag, "latest"),
    };
    let options = CreateImageOptions {
        from_src: Some("-".into()),
        repo: Some(repo.into()),
        tag: Some(version.into()),
        changes: vec![r#"CMD ["/echo"]"#.into(), "ENV PATH=/".into()],
        ..Default::default()
    };
    docker
        .create_image(Some(options), Some(bollard::body_full(rootfs.into())), None)
        .try_collect::<Vec<_>>()
        .await
        .map_err(|source| DockerError::Engine {
            host: endpoint.into(),
            operation: format!("import {tag}"),
            source,
        })?;
    Ok(format!("{repo}:{version}"))
}

/// Builds binary `bin` of workspace package `package` statically, as [`echo_binary`]
/// builds the echo application (same target directory, so the dependencies are shared),
/// and returns its path. Not cached: cargo finds it up to date after the first build.
pub fn static_binary(package: &str, bin: &str) -> Result<PathBuf, String> {
    let root = workspace_root();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("echo-static");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .args([
            "build",
            "-p",
            package,
            "--bin",
            bin,
            "--release",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--target-dir",
        ])
        .arg(&target_dir)
        .output()
        .map_err(|e| format!("cannot run cargo to build {package}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building {package} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir
        .join("x86_64-unknown-linux-gnu/release")
        .join(bin))
}
