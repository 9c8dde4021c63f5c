//! Artifact-mode image assembly against `docker build` of the same content, in one run.
//!
//! Content: a few MB of files (incompressible and text) over the busybox base in the test
//! registry. Measured per round, each round with new content (a nonce file):
//! - artifact cold: build the layer, assemble and push (new layer and config uploaded);
//! - artifact warm: the same content again (layer rebuilt, nothing uploaded);
//! - artifact warm with previous: the same through `build_and_push` given the cold
//!   image as the previous one (content fingerprinted, layer not compressed);
//! - docker cold: `docker build` (the engine's build API, classic builder, `FROM <base>`
//!   + `COPY`) of the same content, then `docker push`;
//! - docker warm: the same build again (build cache hit) and push.
//!
//! The base is pulled into the engine before timing (the artifact path never downloads
//! base layers either). Needs FERRY_TEST_REGISTRY and FERRY_TEST_DOCKER_HOST, like the
//! tests. Run: `cargo bench -p ferry-image`.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::query_parameters::{BuildImageOptions, PushImageOptions, RemoveImageOptions};
use ferry_image::{
    Base, ImageSettings, LayerBuilder, LayerOptions, Reference, RegistryClient, assemble_and_push,
    build_and_push, build_layer, testing,
};
use futures::TryStreamExt;

const ROUNDS: usize = 3;
const FILES: usize = 32;
const FILE_SIZE: usize = 128 * 1024;

fn main() {
    let registry = testing::registry_from_env().unwrap_or_else(|m| panic!("{m}"));
    let docker_host = testing::docker_host_from_env().unwrap_or_else(|m| panic!("{m}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(&registry, &docker_host));
}

/// Writes the content: half pseudo-random (incompressible), half text, plus a nonce.
fn write_content(dir: &Path, nonce: &str) {
    let app = dir.join("app");
    fs::create_dir_all(app.join("static")).unwrap();
    fs::create_dir_all(app.join("lib")).unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..FILES {
        let content: Vec<u8> = if i % 2 == 0 {
            (0..FILE_SIZE)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect()
        } else {
            format!("line {i} of some text served by the app\n")
                .repeat(FILE_SIZE / 40)
                .into_bytes()
        };
        let sub = if i % 2 == 0 { "lib" } else { "static" };
        fs::write(app.join(sub).join(format!("file-{i:03}")), content).unwrap();
    }
    fs::write(app.join("nonce"), nonce).unwrap();
    fs::write(app.join("run.sh"), "#!/bin/sh\ncat /app/nonce\n").unwrap();
}

/// The docker build context: the Dockerfile and the content, as a tar.
fn context_tar(dir: &Path, base: &Reference) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let dockerfile = format!("FROM {base}\nCOPY app /app\nCMD [\"/bin/sh\", \"/app/run.sh\"]\n");
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    tar.append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    tar.append_dir_all("app", dir.join("app")).unwrap();
    tar.into_inner().unwrap()
}

/// Artifact mode: layer + assembly + push; with `previous`, through `build_and_push`
/// (fingerprint first, the previous image's layer reused when the content is the same).
async fn artifact(
    client: &RegistryClient,
    dir: &Path,
    base: &Reference,
    target: &Reference,
    previous: Option<&Reference>,
) -> (Duration, ferry_image::PushReport) {
    let start = Instant::now();
    let mut builder = LayerBuilder::new(LayerOptions::default());
    builder.add_tree("/app", dir.join("app")).unwrap();
    let settings = ImageSettings {
        cmd: Some(vec!["/bin/sh".into(), "/app/run.sh".into()]),
        ..Default::default()
    };
    let base = Base::Image(base.clone());
    let report = match previous {
        Some(previous) => build_and_push(client, target, &base, builder, &settings, Some(previous))
            .await
            .unwrap(),
        None => {
            let layer = build_layer(builder).await.unwrap();
            assemble_and_push(client, target, &base, &layer, &settings)
                .await
                .unwrap()
        }
    };
    (start.elapsed(), report)
}

async fn docker_build_push(
    docker: &bollard::Docker,
    dir: &Path,
    base: &Reference,
    repo: &str,
) -> Duration {
    let start = Instant::now();
    let context = context_tar(dir, base);
    docker
        .build_image(
            BuildImageOptions {
                t: Some(format!("{repo}:1")),
                rm: true,
                networkmode: Some("none".into()),
                ..Default::default()
            },
            None,
            Some(bollard::body_full(context.into())),
        )
        .try_for_each(|info| async move {
            match info.error_detail {
                Some(detail) => panic!("docker build failed: {detail:?}"),
                None => Ok(()),
            }
        })
        .await
        .unwrap();
    docker
        .push_image(
            repo,
            Some(PushImageOptions {
                tag: Some("1".into()),
                ..Default::default()
            }),
            None,
        )
        .try_for_each(|info| async move {
            match info.error_detail {
                Some(detail) => panic!("docker push failed: {detail:?}"),
                None => Ok(()),
            }
        })
        .await
        .unwrap();
    start.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

async fn run(registry: &str, docker_host: &str) {
    let client = testing::client();
    let docker = testing::docker(docker_host).await.unwrap();
    let suffix = testing::unique_suffix();
    let base: Reference = format!("{registry}/ferry-bench/busybox-{suffix}:v1")
        .parse()
        .unwrap();
    testing::push_busybox_base(&client, &base).await.unwrap();
    testing::pull(&docker, &base.to_string()).await.unwrap();

    let (mut artifact_cold, mut artifact_warm, mut artifact_reused) =
        (Vec::new(), Vec::new(), Vec::new());
    let (mut docker_cold, mut docker_warm, mut layer_only) = (Vec::new(), Vec::new(), Vec::new());
    let mut content_bytes = 0;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        write_content(dir.path(), &format!("{suffix}-{round}"));
        content_bytes = FILES * FILE_SIZE;
        let target: Reference = format!("{registry}/ferry-bench/app-{suffix}:1")
            .parse()
            .unwrap();
        let (cold, report) = artifact(&client, dir.path(), &base, &target, None).await;
        assert_eq!(report.uploaded_blobs, 2, "cold: new layer and config");
        let uploaded_bytes = report.uploaded_bytes;
        let (warm, again) = artifact(&client, dir.path(), &base, &target, None).await;
        assert_eq!(again.uploaded_blobs, 0, "warm: nothing to upload");
        let (reused, with_previous) =
            artifact(&client, dir.path(), &base, &target, Some(&report.reference)).await;
        assert!(with_previous.reused_layer && with_previous.uploaded_blobs == 0);
        // The layer alone (tar + gzip + digests), without the registry.
        let start = Instant::now();
        let mut builder = LayerBuilder::new(LayerOptions::default());
        builder.add_tree("/app", dir.path().join("app")).unwrap();
        build_layer(builder).await.unwrap();
        layer_only.push(start.elapsed());
        let repo = format!("{registry}/ferry-bench/docker-app-{suffix}");
        let d_cold = docker_build_push(&docker, dir.path(), &base, &repo).await;
        let d_warm = docker_build_push(&docker, dir.path(), &base, &repo).await;
        println!(
            "round {round}: artifact cold {:.0} ms ({uploaded_bytes} bytes uploaded), warm {:.0} ms, \
             warm with previous {:.0} ms; docker build+push cold {:.0} ms, warm {:.0} ms",
            ms(cold),
            ms(warm),
            ms(reused),
            ms(d_cold),
            ms(d_warm)
        );
        artifact_cold.push(cold);
        artifact_warm.push(warm);
        artifact_reused.push(reused);
        docker_cold.push(d_cold);
        docker_warm.push(d_warm);
        let _ = docker
            .remove_image(
                &format!("{repo}:1"),
                Some(RemoveImageOptions {
                    force: true,
                    ..Default::default()
                }),
                None,
            )
            .await;
    }
    let (lo, ar, ac, aw, dc, dw) = (
        median(layer_only),
        median(artifact_reused),
        median(artifact_cold),
        median(artifact_warm),
        median(docker_cold),
        median(docker_warm),
    );
    println!(
        "\nassemble+push of {} files, {:.1} MB, over the busybox base (median of {ROUNDS} rounds)",
        FILES + 2,
        content_bytes as f64 / 1e6
    );
    println!("  layer only (tar+gzip)   {:>8.0} ms", ms(lo));
    println!("  artifact mode cold      {:>8.0} ms", ms(ac));
    println!("  artifact mode warm      {:>8.0} ms", ms(aw));
    println!(
        "  artifact warm, previous {:>8.0} ms (layer found by diff_id, not compressed)",
        ms(ar)
    );
    println!("  docker build+push cold  {:>8.0} ms", ms(dc));
    println!("  docker build+push warm  {:>8.0} ms", ms(dw));
    println!(
        "  docker / artifact: cold {:.1}x, warm {:.1}x, warm with previous {:.1}x",
        dc.as_secs_f64() / ac.as_secs_f64(),
        dw.as_secs_f64() / aw.as_secs_f64(),
        dw.as_secs_f64() / ar.as_secs_f64()
    );
}
