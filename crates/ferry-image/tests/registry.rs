//! Artifact-mode images against a real registry (`FERRY_TEST_REGISTRY`) and a real Docker
//! engine (`FERRY_TEST_DOCKER_HOST`): the busybox base, an app image over it that the
//! engine pulls and runs, cache hits on unchanged content, mounts into another
//! repository, Docker v2 bases, image indexes, and clear errors.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use bytes::Bytes;
use ferry_image::oci::{ImageIndex, OCI_INDEX, Platform};
use ferry_image::{
    Base, BlobOutcome, ClientOptions, Digest, ImageError, ImageSettings, LayerBuilder,
    LayerOptions, MountOutcome, Reference, RegistryClient, assemble_and_push, build_and_push,
    build_layer, testing,
};

fn registry() -> String {
    testing::registry_from_env().unwrap_or_else(|message| panic!("{message}"))
}

fn docker_host() -> String {
    testing::docker_host_from_env().unwrap_or_else(|message| panic!("{message}"))
}

fn reference(text: &str) -> Reference {
    text.parse().unwrap()
}

/// Pushes a fresh busybox base into its own repository.
async fn push_base(client: &RegistryClient, suffix: &str) -> Reference {
    let base = reference(&format!("{}/ferry-test/busybox-{suffix}:v1", registry()));
    let report = testing::push_busybox_base(client, &base).await.unwrap();
    assert_eq!(report.layers.len(), 1);
    assert_eq!(report.uploaded_blobs, 2, "{report:?}");
    base
}

/// An app tree: a script that prints a file of the same layer, and a symlink to it.
fn app_tree(dir: &Path, message: &str) {
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::write(
        dir.join("hello.sh"),
        "#!/bin/sh\necho \"hello from $GREETING: $(cat /app/data/message.txt) in $(pwd)\"\n",
    )
    .unwrap();
    fs::set_permissions(dir.join("hello.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.join("data/message.txt"), message).unwrap();
    symlink("hello.sh", dir.join("start")).unwrap();
}

fn app_settings() -> ImageSettings {
    ImageSettings {
        env: vec![("GREETING".into(), "ferry".into())],
        entrypoint: Some(vec!["/app/start".into()]),
        working_dir: Some("/app".into()),
        labels: [(
            "org.opencontainers.image.revision".to_string(),
            "abc123".to_string(),
        )]
        .into(),
        ..Default::default()
    }
}

async fn app_layer(dir: &Path) -> ferry_image::Layer {
    let mut builder = LayerBuilder::new(LayerOptions::default());
    builder.add_tree("/app", dir).unwrap();
    build_layer(builder).await.unwrap()
}

#[tokio::test]
async fn an_assembled_image_runs_in_a_real_engine_and_a_rebuild_uploads_nothing() {
    let client = testing::client();
    client.ping(&registry()).await.unwrap();
    let suffix = testing::unique_suffix();
    let base = push_base(&client, &suffix).await;

    let dir = tempfile::tempdir().unwrap();
    app_tree(dir.path(), &format!("message {suffix}"));
    let layer = app_layer(dir.path()).await;
    let target = reference(&format!("{}/ferry-test/app-{suffix}:1", registry()));
    let report = assemble_and_push(
        &client,
        &target,
        &Base::Image(base.clone()),
        &layer,
        &app_settings(),
    )
    .await
    .unwrap();
    assert_eq!(report.layers.len(), 2);
    assert_eq!(report.layers[0].outcome, BlobOutcome::Mounted, "{report:?}");
    assert_eq!(report.new_layer().outcome, BlobOutcome::Uploaded);
    assert_eq!(report.new_layer().descriptor.digest, layer.digest);
    assert_eq!(report.config.outcome, BlobOutcome::Uploaded);
    assert_eq!(report.uploaded_blobs, 2);
    assert_eq!(
        report.uploaded_bytes,
        layer.size + report.config.descriptor.size
    );
    assert_eq!(report.mounted_blobs, 1);
    assert!(!report.is_cache_hit());
    let base_info = report.base.clone().unwrap();
    assert_eq!(base_info.reference, base);
    assert_eq!(
        report.total_size,
        report.manifest_size
            + report.config.descriptor.size
            + report.layers.iter().map(|l| l.descriptor.size).sum::<u64>()
    );

    // The registry serves what was pushed, under the tag and the digest.
    let pulled = client.get_manifest(&target).await.unwrap();
    assert_eq!(pulled.digest, report.digest);
    assert_eq!(pulled.media_type, ferry_image::oci::OCI_MANIFEST);
    let by_digest = client.get_manifest(&report.reference).await.unwrap();
    assert_eq!(by_digest.digest, report.digest);
    let config = client.get_config(&target, &pulled.manifest).await.unwrap();
    let container = config.config.unwrap();
    assert_eq!(
        container.env.unwrap(),
        ["PATH=/bin", "GREETING=ferry"].map(String::from).to_vec()
    );
    assert_eq!(container.cmd, None);
    assert_eq!(config.rootfs.diff_ids.len(), 2);
    assert_eq!(config.rootfs.diff_ids[1], layer.diff_id);

    // A real engine pulls it and runs the script of the new layer on the base's shell.
    let docker = testing::docker(&docker_host()).await.unwrap();
    let tagged = target.to_string();
    testing::pull(&docker, &tagged).await.unwrap();
    let (code, output) = testing::run(&docker, &tagged, None).await.unwrap();
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        output.trim(),
        format!("hello from ferry: message {suffix} in /app")
    );
    let inspect = docker.inspect_image(&tagged).await.unwrap();
    let repo_digests = inspect.repo_digests.unwrap_or_default();
    assert!(
        repo_digests
            .iter()
            .any(|d| d.ends_with(report.digest.as_str())),
        "{repo_digests:?} lacks {}",
        report.digest
    );

    // The same content again, copied elsewhere with other file times: byte-identical
    // layer, nothing uploaded, same manifest digest.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again_dir = tempfile::tempdir().unwrap();
    app_tree(again_dir.path(), &format!("message {suffix}"));
    let again_layer = app_layer(again_dir.path()).await;
    assert_eq!(again_layer.blob, layer.blob);
    let again = assemble_and_push(
        &client,
        &target,
        &Base::Image(base.clone()),
        &again_layer,
        &app_settings(),
    )
    .await
    .unwrap();
    assert_eq!(again.uploaded_blobs, 0, "{again:?}");
    assert_eq!(again.uploaded_bytes, 0);
    assert_eq!(again.present_blobs, 3);
    assert!(again.is_cache_hit());
    assert_eq!(again.digest, report.digest);

    // A changed file is a new layer, and only it and the config are uploaded.
    fs::write(again_dir.path().join("data/message.txt"), "changed").unwrap();
    let changed_layer = app_layer(again_dir.path()).await;
    let changed = assemble_and_push(
        &client,
        &target,
        &Base::Image(base),
        &changed_layer,
        &app_settings(),
    )
    .await
    .unwrap();
    assert_eq!(changed.uploaded_blobs, 2);
    assert_eq!(changed.layers[0].outcome, BlobOutcome::AlreadyPresent);
    assert_ne!(changed.digest, report.digest);
}

#[tokio::test]
async fn another_repository_with_the_same_base_mounts_the_base_layers() {
    let client = testing::client();
    let suffix = testing::unique_suffix();
    let base = push_base(&client, &suffix).await;
    let mut builder = LayerBuilder::default();
    builder
        .add_bytes("/srv/one", b"one".to_vec(), 0o644)
        .unwrap();
    let layer = build_layer(builder).await.unwrap();
    let settings = ImageSettings::default();
    let base_manifest = client.get_manifest(&base).await.unwrap();
    let base_layer = &base_manifest.manifest.layers[0];
    for name in ["first", "second"] {
        let target = reference(&format!("{}/ferry-test/{name}-{suffix}:v1", registry()));
        assert_eq!(
            client
                .blob_exists(&target, &base_layer.digest)
                .await
                .unwrap(),
            None
        );
        let report = assemble_and_push(
            &client,
            &target,
            &Base::Image(base.clone()),
            &layer,
            &settings,
        )
        .await
        .unwrap();
        assert_eq!(
            report.layers[0].outcome,
            BlobOutcome::Mounted,
            "{name}: {report:?}"
        );
        assert_eq!(report.mounted_bytes, base_layer.size);
        assert_eq!(report.layers[0].descriptor.digest, base_layer.digest);
        assert_eq!(
            client
                .blob_exists(&target, &base_layer.digest)
                .await
                .unwrap(),
            Some(base_layer.size)
        );
    }
}

#[tokio::test]
async fn docker_v2_bases_and_image_indexes_are_accepted() {
    let client = testing::client();
    let suffix = testing::unique_suffix();
    let base = push_base(&client, &suffix).await;

    // The engine re-pushes the base: the registry then holds a Docker v2 schema 2
    // manifest with Docker media types.
    let docker = testing::docker(&docker_host()).await.unwrap();
    testing::pull(&docker, &base.to_string()).await.unwrap();
    let repushed_repo = format!("{}/ferry-test/docker-base-{suffix}", registry());
    docker
        .tag_image(
            &base.to_string(),
            Some(bollard::query_parameters::TagImageOptions {
                repo: Some(repushed_repo.clone()),
                tag: Some("v1".into()),
            }),
        )
        .await
        .unwrap();
    {
        use futures::TryStreamExt;
        docker
            .push_image(
                &repushed_repo,
                Some(bollard::query_parameters::PushImageOptions {
                    tag: Some("v1".into()),
                    ..Default::default()
                }),
                None,
            )
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
    }
    let docker_base = reference(&format!("{repushed_repo}:v1"));
    let pulled = client.get_manifest(&docker_base).await.unwrap();
    assert_eq!(pulled.media_type, ferry_image::oci::DOCKER_MANIFEST);
    let mut builder = LayerBuilder::default();
    builder
        .add_bytes("/srv/two", b"two".to_vec(), 0o644)
        .unwrap();
    let layer = build_layer(builder).await.unwrap();
    let target = reference(&format!(
        "{}/ferry-test/on-docker-base-{suffix}:v1",
        registry()
    ));
    let report = assemble_and_push(
        &client,
        &target,
        &Base::Image(docker_base.clone()),
        &layer,
        &ImageSettings {
            cmd: Some(vec!["/bin/cat".into(), "/srv/two".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        report.layers[0].descriptor.media_type,
        ferry_image::oci::OCI_LAYER_GZIP,
        "Docker layer media types become OCI ones"
    );
    testing::pull(&docker, &target.to_string()).await.unwrap();
    let (code, output) = testing::run(&docker, &target.to_string(), None)
        .await
        .unwrap();
    assert_eq!((code, output.as_str()), (0, "two"));

    // An index listing the base for two platforms resolves to linux/amd64, and to
    // nothing for a platform it lacks.
    let amd64 = client.get_manifest(&base).await.unwrap();
    let mut entry =
        ferry_image::oci::Descriptor::new(&amd64.media_type, amd64.digest.clone(), amd64.size);
    let mut arm = entry.clone();
    arm.platform = Some(Platform {
        architecture: "arm64".into(),
        os: "linux".into(),
        variant: Some("v8".into()),
    });
    entry.platform = Some(Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
    });
    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(OCI_INDEX.into()),
        manifests: vec![arm, entry],
    };
    let index_ref = base.with_tag("multi").unwrap();
    let index_digest = client
        .put_manifest(
            &index_ref,
            OCI_INDEX,
            Bytes::from(serde_json::to_vec(&index).unwrap()),
        )
        .await
        .unwrap();
    let resolved = client.get_manifest(&index_ref).await.unwrap();
    assert_eq!(resolved.digest, amd64.digest);
    assert_ne!(resolved.digest, index_digest);
    let s390x = RegistryClient::new(ClientOptions {
        platform: ("linux".into(), "s390x".into()),
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(
        s390x.get_manifest(&index_ref).await,
        Err(ImageError::NoMatchingPlatform { .. })
    ));
}

#[tokio::test]
async fn bad_references_missing_content_and_unreachable_registries_give_clear_errors() {
    let client = testing::client();
    let registry = registry();
    let suffix = testing::unique_suffix();
    let layer = build_layer(LayerBuilder::default()).await.unwrap();

    // Unparsable references.
    let error = format!("{registry}/Ferry/App:v1")
        .parse::<Reference>()
        .unwrap_err();
    assert!(error.to_string().contains("lowercase"), "{error}");

    // A push target without a tag.
    let digest_target = reference(&format!(
        "{registry}/ferry-test/x-{suffix}@{}",
        layer.digest
    ));
    let error = assemble_and_push(
        &client,
        &digest_target,
        &Base::Scratch,
        &layer,
        &ImageSettings::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, ImageError::InvalidReference { .. }),
        "{error}"
    );

    // A base that does not exist.
    let missing = reference(&format!("{registry}/ferry-test/none-{suffix}:v1"));
    let target = reference(&format!("{registry}/ferry-test/x-{suffix}:v1"));
    let error = assemble_and_push(
        &client,
        &target,
        &Base::Image(missing),
        &layer,
        &ImageSettings::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ImageError::NotFound { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains(&format!("ferry-test/none-{suffix}:v1")),
        "{error}"
    );

    // A registry that is not there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = format!("127.0.0.1:{port}");
    let error = client.ping(&gone).await.unwrap_err();
    assert!(matches!(error, ImageError::Unreachable { .. }), "{error}");
    assert!(error.to_string().contains(&gone), "{error}");
    let error = assemble_and_push(
        &client,
        &reference(&format!("{gone}/app:v1")),
        &Base::Scratch,
        &layer,
        &ImageSettings::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ImageError::Unreachable { .. }), "{error}");

    // Something that is not a registry: HTTPS forced against the plain-HTTP registry.
    let https = RegistryClient::new(ClientOptions {
        protocol: ferry_image::Protocol::Https,
        ..Default::default()
    })
    .unwrap();
    let error = https.ping(&registry).await.unwrap_err();
    assert!(matches!(error, ImageError::Unreachable { .. }), "{error}");
}

#[tokio::test]
async fn a_mount_the_registry_cannot_do_falls_back_to_the_opened_upload() {
    let client = testing::client();
    let suffix = testing::unique_suffix();
    let target = reference(&format!("{}/ferry-test/fallback-{suffix}:v1", registry()));
    let data = Bytes::from(format!("a blob of run {suffix}"));
    let digest = Digest::of(&data);
    let from = format!("ferry-test/nowhere-{suffix}");
    match client.mount_blob(&target, &digest, &from).await.unwrap() {
        MountOutcome::UploadStarted(session) => client
            .finish_upload(&target, &digest, &session, data.clone())
            .await
            .unwrap(),
        MountOutcome::Mounted => panic!("mounted a blob that exists nowhere"),
    }
    assert_eq!(
        client.blob_exists(&target, &digest).await.unwrap(),
        Some(data.len() as u64)
    );
    assert_eq!(client.get_blob(&target, &digest).await.unwrap(), data);

    // The registry checks the digest of what is uploaded, and the error carries its
    // message.
    let error = client
        .push_blob(&target, &Digest::of(b"something else"), data)
        .await
        .unwrap_err();
    match &error {
        ImageError::Registry {
            status, message, ..
        } => {
            assert_eq!(*status, 400, "{error}");
            assert!(message.contains("DIGEST_INVALID"), "{error}");
        }
        other => panic!("unexpected {other}"),
    }
    let missing = Digest::of(b"never uploaded");
    assert!(matches!(
        client.get_blob(&target, &missing).await,
        Err(ImageError::NotFound { .. })
    ));
}

#[tokio::test]
async fn build_and_push_reuses_the_previous_layer_of_unchanged_content() {
    let client = testing::client();
    let suffix = testing::unique_suffix();
    let base = Base::Image(push_base(&client, &suffix).await);
    let dir = tempfile::tempdir().unwrap();
    app_tree(dir.path(), "version one");
    let builder = || {
        let mut builder = LayerBuilder::new(LayerOptions::default());
        builder.add_tree("/app", dir.path()).unwrap();
        builder
    };
    let tag = |t: &str| reference(&format!("{}/ferry-test/reuse-{suffix}:{t}", registry()));

    let first = build_and_push(
        &client,
        &tag("build-1"),
        &base,
        builder(),
        &app_settings(),
        None,
    )
    .await
    .unwrap();
    assert!(!first.reused_layer);
    assert_eq!(first.uploaded_blobs, 2);

    // Unchanged content under a new tag: the layer is found in the previous image by its
    // diff_id, nothing is compressed or uploaded, and the image is the same.
    let second = build_and_push(
        &client,
        &tag("build-2"),
        &base,
        builder(),
        &app_settings(),
        Some(&first.reference),
    )
    .await
    .unwrap();
    assert!(second.reused_layer, "{second:?}");
    assert_eq!(second.uploaded_blobs, 0);
    assert_eq!(second.digest, first.digest);
    assert_eq!(second.new_layer().descriptor, first.new_layer().descriptor);

    // Into another repository: the previous layer is mounted.
    let other = reference(&format!("{}/ferry-test/reuse-other-{suffix}:1", registry()));
    let moved = build_and_push(
        &client,
        &other,
        &base,
        builder(),
        &app_settings(),
        Some(&first.reference),
    )
    .await
    .unwrap();
    assert!(moved.reused_layer);
    assert_eq!(moved.new_layer().outcome, BlobOutcome::Mounted);
    assert_eq!(moved.uploaded_blobs, 1, "only the config: {moved:?}");
    assert_eq!(moved.digest, first.digest);

    // Changed content is built and uploaded.
    fs::write(dir.path().join("data/message.txt"), "version two").unwrap();
    let third = build_and_push(
        &client,
        &tag("build-3"),
        &base,
        builder(),
        &app_settings(),
        Some(&first.reference),
    )
    .await
    .unwrap();
    assert!(!third.reused_layer);
    assert_eq!(third.new_layer().outcome, BlobOutcome::Uploaded);
    assert_ne!(third.digest, first.digest);

    // A previous image that is gone only costs the shortcut.
    let gone = tag("never-pushed");
    let fourth = build_and_push(
        &client,
        &tag("build-4"),
        &base,
        builder(),
        &app_settings(),
        Some(&gone),
    )
    .await
    .unwrap();
    assert!(!fourth.reused_layer);
    assert_eq!(fourth.digest, third.digest);
    assert_eq!(fourth.uploaded_blobs, 0);
}

#[tokio::test]
async fn a_manifest_is_tagged_by_digest_and_the_tag_moves() {
    let client = testing::client();
    let suffix = testing::unique_suffix();
    let base = push_base(&client, &format!("tag-{suffix}")).await;
    let target = reference(&format!("{}/ferry-test/tagged-{suffix}:1", registry()));
    let mut digests = Vec::new();
    for content in ["one", "two"] {
        let mut builder = LayerBuilder::default();
        builder
            .add_bytes("/srv/content", content.as_bytes().to_vec(), 0o644)
            .unwrap();
        let layer = build_layer(builder).await.unwrap();
        let report = assemble_and_push(
            &client,
            &target,
            &Base::Image(base.clone()),
            &layer,
            &ImageSettings::default(),
        )
        .await
        .unwrap();
        digests.push(report.digest.clone());
    }
    let stable = reference(&format!("{}/ferry-test/tagged-{suffix}:stable", registry()));
    for digest in &digests {
        client
            .tag_manifest(&target, digest, "stable")
            .await
            .unwrap();
        let pulled = client.get_manifest(&stable).await.unwrap();
        assert_eq!(
            &pulled.digest, digest,
            "the tag resolves to the tagged digest"
        );
    }
    // A digest the repository does not have: NOT_FOUND-like error, the tag stays.
    let missing = Digest::of(b"not a manifest");
    let error = client
        .tag_manifest(&target, &missing, "stable")
        .await
        .unwrap_err();
    assert!(matches!(error, ImageError::NotFound { .. }), "{error:?}");
    assert_eq!(
        client.get_manifest(&stable).await.unwrap().digest,
        digests[1]
    );
}
