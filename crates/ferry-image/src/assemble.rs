//! Image assembly: a base image (from a registry, or scratch) plus one new layer, an OCI
//! image config inheriting and overriding the base's, and an OCI manifest; pushed with
//! only the blobs the target repository lacks (mounted from the base's repository when
//! it is on the same registry).

use std::collections::BTreeMap;

use bytes::Bytes;
use tracing::{debug, info, warn};

use crate::oci::{
    ContainerConfig, Descriptor, History, ImageConfig, ImageManifest, OCI_CONFIG, OCI_LAYER_GZIP,
    OCI_MANIFEST, oci_layer_media_type, rfc3339,
};
use crate::registry::{MountOutcome, PulledManifest};
use crate::{Digest, ImageError, Layer, LayerBuilder, Reference, RegistryClient};

/// What the new layer goes on top of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// Nothing: the image is the new layer alone.
    Scratch,
    /// An image in a registry (a tag or a digest).
    Image(Reference),
}

/// The image config settings of the new image. Unset values are inherited from the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSettings {
    /// Environment `(name, value)`: replaces a base variable of the same name, else
    /// appended.
    pub env: Vec<(String, String)>,
    /// Entrypoint; setting it without `cmd` clears the base's `Cmd` (like a Dockerfile).
    pub entrypoint: Option<Vec<String>>,
    /// Command.
    pub cmd: Option<Vec<String>>,
    /// Working directory.
    pub working_dir: Option<String>,
    /// Ports to expose (`8080` or `8080/tcp`, `53/udp`), added to the base's.
    pub exposed_ports: Vec<String>,
    /// Labels, merged over the base's.
    pub labels: BTreeMap<String, String>,
    /// User.
    pub user: Option<String>,
    /// Creation time in seconds since the epoch (config `created` and the history
    /// entry); 0 by default so that unchanged input gives an unchanged image digest.
    pub created: u64,
    /// The history entry's `created_by`.
    pub created_by: String,
    /// `(os, architecture)` of a scratch image; a base's own platform wins.
    pub platform: (String, String),
}

impl Default for ImageSettings {
    fn default() -> Self {
        Self {
            env: Vec::new(),
            entrypoint: None,
            cmd: None,
            working_dir: None,
            exposed_ports: Vec::new(),
            labels: BTreeMap::new(),
            user: None,
            created: 0,
            created_by: "ferry artifact layer".into(),
            platform: ("linux".into(), "amd64".into()),
        }
    }
}

/// What happened to one blob during a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// Its bytes were sent to the registry.
    Uploaded,
    /// The target repository already had it.
    AlreadyPresent,
    /// The registry linked it from the base's repository (no bytes sent).
    Mounted,
}

/// One blob of a pushed image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobReport {
    /// Its descriptor in the manifest.
    pub descriptor: Descriptor,
    /// The uncompressed digest (layers only).
    pub diff_id: Option<Digest>,
    /// Whether it was uploaded, present or mounted.
    pub outcome: BlobOutcome,
}

/// The base an image was built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseInfo {
    /// The base as referenced.
    pub reference: Reference,
    /// The digest of the base's (platform) manifest.
    pub digest: Digest,
}

/// The result of [`assemble_and_push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The pushed image: the target tag pinned to the manifest digest.
    pub reference: Reference,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest's size in bytes.
    pub manifest_size: u64,
    /// Manifest + config + every layer (compressed), in bytes.
    pub total_size: u64,
    /// The base, unless scratch.
    pub base: Option<BaseInfo>,
    /// The layers, base first; the last one is the new layer.
    pub layers: Vec<BlobReport>,
    /// The config blob.
    pub config: BlobReport,
    /// Whether the new layer was taken from a previous image by its `diff_id` (see
    /// [`build_and_push`]) instead of being compressed here.
    pub reused_layer: bool,
    /// Blobs (layers and config) whose bytes were sent.
    pub uploaded_blobs: usize,
    /// Bytes sent for blobs.
    pub uploaded_bytes: u64,
    /// Blobs the target repository already had.
    pub present_blobs: usize,
    /// Bytes of those.
    pub present_bytes: u64,
    /// Blobs mounted from the base's repository.
    pub mounted_blobs: usize,
    /// Bytes of those.
    pub mounted_bytes: u64,
}

impl PushReport {
    /// Whether nothing had to be uploaded (a rebuild of unchanged content).
    pub fn is_cache_hit(&self) -> bool {
        self.uploaded_blobs == 0
    }

    /// The new layer (the last one).
    pub fn new_layer(&self) -> &BlobReport {
        self.layers
            .last()
            .expect("an assembled image has its new layer")
    }
}

/// Builds a layer on a blocking thread.
pub async fn build_layer(builder: LayerBuilder) -> Result<Layer, ImageError> {
    tokio::task::spawn_blocking(move || builder.build())
        .await
        .map_err(|e| ImageError::Task(e.to_string()))?
}

/// A base image's manifest and config, fetched once.
#[derive(Debug, Clone)]
pub struct ResolvedBase {
    /// The base as referenced.
    pub reference: Reference,
    /// Its manifest.
    pub manifest: PulledManifest,
    /// Its config.
    pub config: ImageConfig,
}

/// Fetches a base image's manifest and config (`None` for scratch).
pub async fn resolve_base(
    client: &RegistryClient,
    base: &Base,
) -> Result<Option<ResolvedBase>, ImageError> {
    let Base::Image(reference) = base else {
        return Ok(None);
    };
    let manifest = client.get_manifest(reference).await?;
    let config = client.get_config(reference, &manifest.manifest).await?;
    if config.rootfs.diff_ids.len() != manifest.manifest.layers.len() {
        return Err(ImageError::InvalidContent {
            what: format!("base image {reference}"),
            reason: format!(
                "its config lists {} diff_ids for {} layers",
                config.rootfs.diff_ids.len(),
                manifest.manifest.layers.len()
            ),
        });
    }
    Ok(Some(ResolvedBase {
        reference: reference.clone(),
        manifest,
        config,
    }))
}

/// The new image's config: the base's (or an empty one) with `settings` applied and the
/// new layer (its `diff_id`) appended.
pub fn image_config(
    base: Option<&ImageConfig>,
    diff_id: &Digest,
    settings: &ImageSettings,
) -> ImageConfig {
    let mut config = base.cloned().unwrap_or_else(|| ImageConfig {
        architecture: settings.platform.1.clone(),
        os: settings.platform.0.clone(),
        ..Default::default()
    });
    let created = rfc3339(settings.created);
    config.created = Some(created.clone());
    let mut container = config.config.take().unwrap_or_default();
    apply_settings(&mut container, settings);
    config.config = Some(container);
    config.rootfs.kind = "layers".into();
    config.rootfs.diff_ids.push(diff_id.clone());
    config.history.push(History {
        created: Some(created),
        created_by: Some(settings.created_by.clone()),
        ..Default::default()
    });
    config
}

fn apply_settings(container: &mut ContainerConfig, settings: &ImageSettings) {
    if !settings.env.is_empty() {
        let env = container.env.get_or_insert_with(Vec::new);
        for (name, value) in &settings.env {
            let entry = format!("{name}={value}");
            let prefix = format!("{name}=");
            match env
                .iter_mut()
                .find(|e| e.starts_with(&prefix) || *e == name)
            {
                Some(existing) => *existing = entry,
                None => env.push(entry),
            }
        }
    }
    if let Some(entrypoint) = &settings.entrypoint {
        container.entrypoint = Some(entrypoint.clone());
        if settings.cmd.is_none() {
            container.cmd = None;
        }
    }
    if let Some(cmd) = &settings.cmd {
        container.cmd = Some(cmd.clone());
    }
    if let Some(dir) = &settings.working_dir {
        container.working_dir = Some(dir.clone());
    }
    if let Some(user) = &settings.user {
        container.user = Some(user.clone());
    }
    if !settings.exposed_ports.is_empty() {
        let ports = container.exposed_ports.get_or_insert_with(BTreeMap::new);
        for port in &settings.exposed_ports {
            let key = if port.contains('/') {
                port.clone()
            } else {
                format!("{port}/tcp")
            };
            ports.insert(key, serde_json::json!({}));
        }
    }
    if !settings.labels.is_empty() {
        let labels = container.labels.get_or_insert_with(BTreeMap::new);
        labels.extend(settings.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// Assembles `base` + `layer` + the config from `settings` and pushes it as `target`
/// (which must name a tag), uploading only the blobs the target repository lacks.
pub async fn assemble_and_push(
    client: &RegistryClient,
    target: &Reference,
    base: &Base,
    layer: &Layer,
    settings: &ImageSettings,
) -> Result<PushReport, ImageError> {
    let resolved = resolve_base(client, base).await?;
    push_assembled(client, target, resolved.as_ref(), layer, settings).await
}

/// [`assemble_and_push`] over a base already resolved (saves its two requests when
/// several images share a base).
pub async fn push_assembled(
    client: &RegistryClient,
    target: &Reference,
    base: Option<&ResolvedBase>,
    layer: &Layer,
    settings: &ImageSettings,
) -> Result<PushReport, ImageError> {
    push_image(client, target, base, NewLayer::Built(layer), settings).await
}

/// Fingerprints `builder`'s content (the tar's digest, without compressing), and when
/// `previous` (an earlier image, e.g. the build's last image version) has a layer with
/// that `diff_id` whose blob the target repository has (or can mount from `previous`'s
/// repository), reuses it without compressing or uploading anything; otherwise builds
/// the layer and pushes like [`assemble_and_push`]. [`PushReport::reused_layer`] tells
/// which happened. A `previous` that cannot be read only costs the shortcut.
pub async fn build_and_push(
    client: &RegistryClient,
    target: &Reference,
    base: &Base,
    builder: LayerBuilder,
    settings: &ImageSettings,
    previous: Option<&Reference>,
) -> Result<PushReport, ImageError> {
    let resolved = resolve_base(client, base).await?;
    if let Some(previous) = previous {
        let fingerprint = builder.clone();
        let (diff_id, _) = tokio::task::spawn_blocking(move || fingerprint.diff_id())
            .await
            .map_err(|e| ImageError::Task(e.to_string()))??;
        match find_previous_layer(client, target, previous, &diff_id).await {
            Ok(Some((descriptor, outcome))) => {
                let layer = NewLayer::Reused {
                    descriptor,
                    diff_id,
                    outcome,
                };
                return push_image(client, target, resolved.as_ref(), layer, settings).await;
            }
            Ok(None) => debug!(%previous, "content changed since the previous image"),
            Err(error) => {
                warn!(%previous, %error, "cannot read the previous image; building the layer")
            }
        }
    }
    let layer = build_layer(builder).await?;
    push_image(
        client,
        target,
        resolved.as_ref(),
        NewLayer::Built(&layer),
        settings,
    )
    .await
}

/// The layer of `previous` with `diff_id`, made available in the target repository.
async fn find_previous_layer(
    client: &RegistryClient,
    target: &Reference,
    previous: &Reference,
    diff_id: &Digest,
) -> Result<Option<(Descriptor, BlobOutcome)>, ImageError> {
    let manifest = client.get_manifest(previous).await?;
    let config = client.get_config(previous, &manifest.manifest).await?;
    let Some(index) = config.rootfs.diff_ids.iter().position(|d| d == diff_id) else {
        return Ok(None);
    };
    let Some(descriptor) = manifest.manifest.layers.get(index) else {
        return Ok(None);
    };
    let mut descriptor = descriptor.clone();
    descriptor.media_type = oci_layer_media_type(&descriptor.media_type).to_string();
    descriptor.annotations = None;
    if client
        .blob_exists(target, &descriptor.digest)
        .await?
        .is_some()
    {
        return Ok(Some((descriptor, BlobOutcome::AlreadyPresent)));
    }
    // A refused mount leaves an upload session the registry expires by itself.
    if previous.registry() == target.registry()
        && previous.repository() != target.repository()
        && client
            .mount_blob(target, &descriptor.digest, previous.repository())
            .await?
            == MountOutcome::Mounted
    {
        return Ok(Some((descriptor, BlobOutcome::Mounted)));
    }
    Ok(None)
}

/// The new layer: built here, or found in a previous image.
enum NewLayer<'a> {
    Built(&'a Layer),
    Reused {
        descriptor: Descriptor,
        diff_id: Digest,
        outcome: BlobOutcome,
    },
}

async fn push_image(
    client: &RegistryClient,
    target: &Reference,
    base: Option<&ResolvedBase>,
    new_layer: NewLayer<'_>,
    settings: &ImageSettings,
) -> Result<PushReport, ImageError> {
    if target.digest().is_some() || target.tag().is_none() {
        return Err(ImageError::InvalidReference {
            reference: target.to_string(),
            reason: "a push target needs a tag and no digest".into(),
        });
    }
    let new_diff_id = match &new_layer {
        NewLayer::Built(layer) => layer.diff_id.clone(),
        NewLayer::Reused { diff_id, .. } => diff_id.clone(),
    };
    let config = image_config(base.map(|b| &b.config), &new_diff_id, settings);
    let config_bytes =
        Bytes::from(
            serde_json::to_vec(&config).map_err(|e| ImageError::InvalidContent {
                what: "image config".into(),
                reason: e.to_string(),
            })?,
        );
    let config_descriptor = Descriptor::new(
        OCI_CONFIG,
        Digest::of(&config_bytes),
        config_bytes.len() as u64,
    );

    let mut layers = Vec::new();
    if let Some(base) = base {
        for (descriptor, diff_id) in base
            .manifest
            .manifest
            .layers
            .iter()
            .zip(&base.config.rootfs.diff_ids)
        {
            let mut descriptor = descriptor.clone();
            descriptor.media_type = oci_layer_media_type(&descriptor.media_type).to_string();
            let outcome =
                copy_base_blob(client, target, &base.reference, &descriptor.digest).await?;
            layers.push(BlobReport {
                descriptor,
                diff_id: Some(diff_id.clone()),
                outcome,
            });
        }
    }
    let reused_layer = matches!(new_layer, NewLayer::Reused { .. });
    let (layer_descriptor, outcome) = match new_layer {
        NewLayer::Built(layer) => (
            Descriptor::new(OCI_LAYER_GZIP, layer.digest.clone(), layer.size),
            push_if_missing(client, target, &layer.digest, layer.blob.clone()).await?,
        ),
        NewLayer::Reused {
            descriptor,
            outcome,
            ..
        } => (descriptor, outcome),
    };
    layers.push(BlobReport {
        descriptor: layer_descriptor,
        diff_id: Some(new_diff_id),
        outcome,
    });
    let config_outcome =
        push_if_missing(client, target, &config_descriptor.digest, config_bytes).await?;
    let config_report = BlobReport {
        descriptor: config_descriptor.clone(),
        diff_id: None,
        outcome: config_outcome,
    };

    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        config: config_descriptor,
        layers: layers.iter().map(|l| l.descriptor.clone()).collect(),
        annotations: None,
    };
    let manifest_bytes =
        Bytes::from(
            serde_json::to_vec(&manifest).map_err(|e| ImageError::InvalidContent {
                what: "image manifest".into(),
                reason: e.to_string(),
            })?,
        );
    let manifest_size = manifest_bytes.len() as u64;
    let digest = client
        .put_manifest(target, OCI_MANIFEST, manifest_bytes)
        .await?;

    let mut report = PushReport {
        reference: target.with_digest(digest.clone()),
        digest,
        manifest_size,
        total_size: manifest_size,
        base: base.map(|b| BaseInfo {
            reference: b.reference.clone(),
            digest: b.manifest.digest.clone(),
        }),
        layers,
        config: config_report,
        reused_layer,
        uploaded_blobs: 0,
        uploaded_bytes: 0,
        present_blobs: 0,
        present_bytes: 0,
        mounted_blobs: 0,
        mounted_bytes: 0,
    };
    let blobs: Vec<(BlobOutcome, u64)> = report
        .layers
        .iter()
        .chain(std::iter::once(&report.config))
        .map(|b| (b.outcome, b.descriptor.size))
        .collect();
    for (outcome, size) in blobs {
        report.total_size += size;
        let (count, bytes) = match outcome {
            BlobOutcome::Uploaded => (&mut report.uploaded_blobs, &mut report.uploaded_bytes),
            BlobOutcome::AlreadyPresent => (&mut report.present_blobs, &mut report.present_bytes),
            BlobOutcome::Mounted => (&mut report.mounted_blobs, &mut report.mounted_bytes),
        };
        *count += 1;
        *bytes += size;
    }
    info!(
        image = %report.reference,
        uploaded_blobs = report.uploaded_blobs,
        uploaded_bytes = report.uploaded_bytes,
        present_blobs = report.present_blobs,
        mounted_blobs = report.mounted_blobs,
        "image pushed"
    );
    Ok(report)
}

async fn push_if_missing(
    client: &RegistryClient,
    target: &Reference,
    digest: &Digest,
    data: Bytes,
) -> Result<BlobOutcome, ImageError> {
    if client.blob_exists(target, digest).await?.is_some() {
        debug!(%digest, "blob already present");
        return Ok(BlobOutcome::AlreadyPresent);
    }
    client.push_blob(target, digest, data).await?;
    Ok(BlobOutcome::Uploaded)
}

/// Makes a base layer available in the target repository: present already, mounted from
/// the base's repository on the same registry, or copied through this process.
async fn copy_base_blob(
    client: &RegistryClient,
    target: &Reference,
    base: &Reference,
    digest: &Digest,
) -> Result<BlobOutcome, ImageError> {
    if client.blob_exists(target, digest).await?.is_some() {
        return Ok(BlobOutcome::AlreadyPresent);
    }
    if base.registry() == target.registry() && base.repository() != target.repository() {
        match client.mount_blob(target, digest, base.repository()).await? {
            MountOutcome::Mounted => return Ok(BlobOutcome::Mounted),
            MountOutcome::UploadStarted(session) => {
                let data = client.get_blob(base, digest).await?;
                client.finish_upload(target, digest, &session, data).await?;
                return Ok(BlobOutcome::Uploaded);
            }
        }
    }
    let data = client.get_blob(base, digest).await?;
    client.push_blob(target, digest, data).await?;
    Ok(BlobOutcome::Uploaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LayerOptions;

    fn layer() -> Layer {
        let mut builder = LayerBuilder::new(LayerOptions::default());
        builder
            .add_bytes("/app/run", b"#!/bin/sh\n".to_vec(), 0o755)
            .unwrap();
        builder.build().unwrap()
    }

    #[test]
    fn scratch_config_has_the_platform_the_layer_and_the_settings() {
        let layer = layer();
        let settings = ImageSettings {
            env: vec![("MODE".into(), "prod".into())],
            cmd: Some(vec!["/app/run".into()]),
            exposed_ports: vec!["8080".into(), "53/udp".into()],
            ..Default::default()
        };
        let config = image_config(None, &layer.diff_id, &settings);
        assert_eq!(
            (config.os.as_str(), config.architecture.as_str()),
            ("linux", "amd64")
        );
        assert_eq!(config.rootfs.diff_ids, vec![layer.diff_id.clone()]);
        assert_eq!(config.created.as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(config.history.len(), 1);
        let container = config.config.unwrap();
        assert_eq!(container.env.unwrap(), vec!["MODE=prod".to_string()]);
        let ports: Vec<_> = container.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, ["53/udp", "8080/tcp"]);
    }

    #[test]
    fn base_values_are_inherited_and_overridden() {
        let base_layer = layer();
        let base = image_config(
            None,
            &base_layer.diff_id,
            &ImageSettings {
                env: vec![("PATH".into(), "/bin".into()), ("KEEP".into(), "1".into())],
                cmd: Some(vec!["/bin/sh".into()]),
                working_dir: Some("/".into()),
                labels: [
                    ("a".to_string(), "base".to_string()),
                    ("b".to_string(), "base".to_string()),
                ]
                .into(),
                user: Some("nobody".into()),
                exposed_ports: vec!["80".into()],
                created_by: "base".into(),
                ..Default::default()
            },
        );
        let app_layer = {
            let mut builder = LayerBuilder::default();
            builder.add_bytes("/srv/x", b"x".to_vec(), 0o644).unwrap();
            builder.build().unwrap()
        };
        let config = image_config(
            Some(&base),
            &app_layer.diff_id,
            &ImageSettings {
                env: vec![
                    ("PATH".into(), "/app:/bin".into()),
                    ("NEW".into(), "2".into()),
                ],
                entrypoint: Some(vec!["/app/run".into()]),
                labels: [("b".to_string(), "app".to_string())].into(),
                exposed_ports: vec!["8080/tcp".into()],
                created: 1_700_000_000,
                ..Default::default()
            },
        );
        assert_eq!(
            config.rootfs.diff_ids,
            vec![base_layer.diff_id, app_layer.diff_id]
        );
        assert_eq!(config.history.len(), 2);
        assert_eq!(
            config.history[1].created.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        let c = config.config.unwrap();
        assert_eq!(
            c.env.unwrap(),
            ["PATH=/app:/bin", "KEEP=1", "NEW=2"]
                .map(String::from)
                .to_vec()
        );
        assert_eq!(c.entrypoint.unwrap(), ["/app/run"]);
        assert_eq!(
            c.cmd, None,
            "an entrypoint without cmd clears the base's cmd"
        );
        assert_eq!(c.working_dir.as_deref(), Some("/"));
        assert_eq!(c.user.as_deref(), Some("nobody"));
        let labels = c.labels.unwrap();
        assert_eq!(
            (labels["a"].as_str(), labels["b"].as_str()),
            ("base", "app")
        );
        assert_eq!(c.exposed_ports.unwrap().len(), 2);
    }
}
