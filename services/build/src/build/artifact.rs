//! Artifact mode, the seam to `ferry-image`: the build outputs are read from the
//! workspace tar the builder container hands back, laid out as one reproducible layer
//! (fixed times, sorted entries) over the base image, and pushed with the OCI
//! distribution API without any Docker engine. Only blobs the registry lacks are
//! uploaded; unchanged outputs give an unchanged digest.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::str::FromStr as _;

use ferry_image::{
    Base, BlobOutcome, ImageSettings, LayerBuilder, LayerOptions, PushReport, Reference,
};
use ferry_proto::ferry::build::v1::ArtifactBuild;
use ferry_proto::ferry::common::v1::env_var::Source;

use super::junit::glob_match;

/// What an artifact push produced.
#[derive(Debug)]
pub struct ArtifactImage {
    /// The manifest digest.
    pub digest: String,
    /// Manifest, config and layers, compressed.
    pub size_bytes: i64,
    /// Number of layers.
    pub layer_count: i32,
    /// The base's digest, when there is a base.
    pub base_digest: String,
    /// Lines for the build log (one per blob and a summary).
    pub log: Vec<String>,
    /// True when no blob had to be uploaded.
    pub cache_hit: bool,
}

/// The layer of the outputs: each `outputs[i].source` (a path or glob in the
/// workspace; directories with everything under them) copied to its destination
/// (a trailing `/` copies into that directory). An output that matches nothing is an
/// error naming it.
pub fn layer_of(workspace: &[u8], artifact: &ArtifactBuild) -> Result<LayerBuilder, String> {
    struct Item {
        path: String,
        kind: tar::EntryType,
        mode: u32,
        link: Option<String>,
        content: Vec<u8>,
    }
    let mut items = Vec::new();
    let mut archive = tar::Archive::new(workspace);
    for entry in archive
        .entries()
        .map_err(|e| format!("read the workspace: {e}"))?
    {
        let mut entry = entry.map_err(|e| format!("read the workspace: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("read the workspace: {e}"))?
            .to_string_lossy()
            .into_owned();
        let Some(relative) = path.strip_prefix("workspace/") else {
            continue;
        };
        let relative = relative.trim_end_matches('/').to_string();
        if relative.is_empty() {
            continue;
        }
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().unwrap_or(0o644);
        let link = entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| l.to_string_lossy().into_owned());
        let mut content = Vec::new();
        if kind == tar::EntryType::Regular {
            entry
                .read_to_end(&mut content)
                .map_err(|e| format!("read {relative}: {e}"))?;
        }
        items.push(Item {
            path: relative,
            kind,
            mode,
            link,
            content,
        });
    }
    let mut builder = LayerBuilder::new(LayerOptions::default());
    for (index, output) in artifact.outputs.iter().enumerate() {
        let source = output.source.trim_matches('/').trim_start_matches("./");
        let forced_mode = if output.mode.is_empty() {
            None
        } else {
            Some(
                u32::from_str_radix(&output.mode, 8)
                    .map_err(|_| format!("outputs[{index}].mode {:?} is not octal", output.mode))?,
            )
        };
        let roots: Vec<String> = items
            .iter()
            .filter(|i| glob_match(source, &i.path))
            .map(|i| i.path.clone())
            .collect();
        // A directory named without a glob matches through its contents even when the
        // tar has no entry for the directory itself.
        let mut roots = roots;
        if roots.is_empty()
            && !source.contains(['*', '?'])
            && items
                .iter()
                .any(|i| i.path.starts_with(&format!("{source}/")))
        {
            roots.push(source.to_string());
        }
        if roots.is_empty() {
            return Err(format!(
                "outputs[{index}]: {:?} matches nothing in the workspace after the build",
                output.source
            ));
        }
        for root in &roots {
            let base_name = root.rsplit('/').next().unwrap_or(root);
            for item in items
                .iter()
                .filter(|i| i.path == *root || i.path.starts_with(&format!("{root}/")))
            {
                let rest = &item.path[root.len()..];
                let destination = if output.destination.ends_with('/') {
                    format!("{}{base_name}{rest}", output.destination)
                } else {
                    format!("{}{rest}", output.destination)
                };
                let error = |e: ferry_image::ImageError| format!("outputs[{index}]: {e}");
                match item.kind {
                    tar::EntryType::Regular => {
                        builder
                            .add_bytes(
                                &destination,
                                item.content.clone(),
                                forced_mode.unwrap_or(item.mode),
                            )
                            .map_err(error)?;
                    }
                    tar::EntryType::Symlink => {
                        builder
                            .add_symlink(&destination, item.link.as_deref().unwrap_or_default())
                            .map_err(error)?;
                    }
                    tar::EntryType::Directory => {
                        builder
                            .add_directory(&destination, item.mode)
                            .map_err(error)?;
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(builder)
}

/// The image config settings of an artifact build.
pub fn settings_of(artifact: &ArtifactBuild, created_by: &str) -> ImageSettings {
    ImageSettings {
        env: artifact
            .env
            .iter()
            .filter_map(|e| match &e.source {
                Some(Source::Value(value)) => Some((e.name.clone(), value.clone())),
                _ => None,
            })
            .collect(),
        entrypoint: (!artifact.entrypoint.is_empty()).then(|| artifact.entrypoint.clone()),
        cmd: (!artifact.cmd.is_empty()).then(|| artifact.cmd.clone()),
        working_dir: (!artifact.workdir.is_empty()).then(|| artifact.workdir.clone()),
        exposed_ports: artifact
            .exposed_ports
            .iter()
            .map(|p| p.port.to_string())
            .collect(),
        labels: artifact
            .image_labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        user: (!artifact.user.is_empty()).then(|| artifact.user.clone()),
        created_by: created_by.to_string(),
        ..Default::default()
    }
}

fn outcome_word(outcome: BlobOutcome) -> &'static str {
    match outcome {
        BlobOutcome::Uploaded => "uploaded",
        BlobOutcome::AlreadyPresent => "already present",
        BlobOutcome::Mounted => "mounted",
    }
}

fn summarize(report: &PushReport) -> ArtifactImage {
    let mut log = Vec::new();
    for layer in &report.layers {
        log.push(format!(
            "layer {} ({} bytes): {}",
            layer.descriptor.digest,
            layer.descriptor.size,
            outcome_word(layer.outcome)
        ));
    }
    log.push(format!(
        "config {}: {}",
        report.config.descriptor.digest,
        outcome_word(report.config.outcome)
    ));
    log.push(format!(
        "{} blobs uploaded ({} bytes), {} already present, {} mounted{}",
        report.uploaded_blobs,
        report.uploaded_bytes,
        report.present_blobs,
        report.mounted_blobs,
        if report.reused_layer {
            "; the previous image's layer was reused"
        } else {
            ""
        }
    ));
    ArtifactImage {
        digest: report.digest.to_string(),
        size_bytes: report.total_size as i64,
        layer_count: report.layers.len() as i32,
        base_digest: report
            .base
            .as_ref()
            .map(|b| b.digest.to_string())
            .unwrap_or_default(),
        log,
        cache_hit: report.is_cache_hit(),
    }
}

/// Where and how to push.
pub struct Target<'a> {
    /// Registry host.
    pub registry: &'a str,
    /// Repository path.
    pub repository: &'a str,
    /// Tag (the version).
    pub tag: &'a str,
    /// Basic credentials for the registry.
    pub credentials: Option<(String, String)>,
    /// Plain HTTP even off loopback.
    pub insecure: bool,
    /// The previous image of the application (its layer may be reused).
    pub previous: Option<&'a str>,
}

/// Assembles and pushes the artifact image.
pub async fn push(
    layer: LayerBuilder,
    artifact: &ArtifactBuild,
    target: Target<'_>,
    created_by: &str,
) -> Result<ArtifactImage, String> {
    let client = crate::image::registry::client(
        target.registry,
        target.insecure,
        target
            .credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str())),
        None,
    )?;
    let reference = Reference::new(target.registry, target.repository, Some(target.tag))
        .map_err(|e| e.to_string())?;
    let base = Base::Image(
        Reference::from_str(&artifact.base_image).map_err(|e| format!("base_image: {e}"))?,
    );
    let previous = target.previous.and_then(|p| Reference::from_str(p).ok());
    let report = ferry_image::build_and_push(
        &client,
        &reference,
        &base,
        layer,
        &settings_of(artifact, created_by),
        previous.as_ref(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(summarize(&report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::build::v1::ArtifactPath;

    fn workspace() -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in [
            ("workspace/www/index.html", "hi"),
            ("workspace/bin/app", "#!/bin/sh"),
        ] {
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
    fn outputs_are_mapped_and_missing_ones_named() {
        let artifact = ArtifactBuild {
            base_image: "r:5000/base:1".into(),
            outputs: vec![
                ArtifactPath {
                    source: "www".into(),
                    destination: "/srv/".into(),
                    mode: String::new(),
                },
                ArtifactPath {
                    source: "bin/*".into(),
                    destination: "/usr/local/bin/app".into(),
                    mode: "0755".into(),
                },
            ],
            ..Default::default()
        };
        let layer = layer_of(&workspace(), &artifact).unwrap();
        assert_eq!(layer.len(), 2);
        let again = layer_of(&workspace(), &artifact).unwrap().build().unwrap();
        assert_eq!(layer.build().unwrap().digest, again.digest, "reproducible");
        let missing = ArtifactBuild {
            outputs: vec![ArtifactPath {
                source: "target/app".into(),
                destination: "/app".into(),
                mode: String::new(),
            }],
            ..artifact
        };
        assert!(
            layer_of(&workspace(), &missing)
                .unwrap_err()
                .contains("target/app")
        );
    }
}
