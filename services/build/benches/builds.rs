//! End-to-end build benchmark of the build service, in one run, against real components.
//!
//! The service runs in-process (as in the tests, `tests/common`) over etcd
//! (`FERRY_ETCD_ENDPOINTS`, else a private etcd), the Docker engine of
//! `FERRY_TEST_DOCKER_HOST` and the registry of `FERRY_TEST_REGISTRY`; a missing one is a
//! failure naming it. A small application (a git repository made here: `src/` holds
//! 32 files of 128 KiB, half incompressible and half text, the sizes of
//! `cargo bench -p ferry-image`) is built in both modes, artifact and Dockerfile, and
//! every build is timed through the API, from CreateBuild to its Operation done:
//! - **cold**: a new application (empty cache volume, new image repository);
//! - **warm**: a new commit changing the application's content, the cache filled;
//! - **no-change**: the same commit built again (target: at most 1 s), answered by the
//!   input cache (`src/build/inputs.rs`: build 1's image recorded again, nothing runs);
//! - **forced**: the same commit with `disable_cache` (every step runs, no cache volume),
//!   which is also where image assembly of unchanged content is compared.
//!
//! The build script does cached work: on an empty cache it makes a 32 MB "dependency"
//! in `$FERRY_CACHE_DIR` and checksums it, later builds reuse it; every build copies
//! `src/` into `out/app`, the image content. Image assembly is compared from the build
//! steps of the same builds (IMAGE start to PUSH end, the workspace download included in
//! both modes): artifact mode (layer made and pushed by `ferry-image`, no engine) against
//! Dockerfile mode (`docker build` of `FROM base` + `COPY out/app /app`, then `docker
//! push`), same content and sizes.
//!
//! Prints a markdown table (median, p90, min, max and the median phase times per mode and
//! scenario) and the ratios, and writes the figures as JSON to `FERRY_BENCH_OUT`, else
//! `<target dir>/bench/builds.json`. Run (with the test components of
//! `deploy/dev/lib.sh` started and their variables exported):
//!
//! ```text
//! cargo bench -p ferry-build --bench builds
//! ```
//!
//! `FERRY_BENCH_REPS` sets the repetitions of each scenario (default 5). Without
//! `--bench` (`cargo test --all-targets`) it runs a smoke version: one small build per
//! mode and scenario, every one checked, its JSON in `<target dir>/bench/builds-smoke.json`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build::{State, StepKind};
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::build_service_client::BuildServiceClient;
use ferry_proto::ferry::build::v1::{
    Application, ArtifactBuild, ArtifactPath, Build, BuildCacheConfig, BuildConfig,
    CreateApplicationRequest, CreateBuildRequest, DeleteApplicationRequest, DockerfileBuild,
    GetBuildRequest, GitSource, TestConfig,
};
use serde_json::json;
use tonic::transport::Channel;

/// Files of the content in a full run, each [`FILE_SIZE`] bytes.
const FILES: usize = 32;
/// Files of the content in the smoke run.
const SMOKE_FILES: usize = 4;
/// Size of one content file (as in ferry-image's assembly benchmark).
const FILE_SIZE: usize = 128 * 1024;
/// Default repetitions of each scenario in a full run.
const DEFAULT_REPS: usize = 5;
/// The no-change rebuild target.
const NO_CHANGE_TARGET: Duration = Duration::from_secs(1);
/// How long one build may take.
const BUILD_LIMIT: Duration = Duration::from_secs(300);

/// The build script: cached work (a dependency made once into the cache), then the
/// content copied into `out/app`.
const BUILD_SCRIPT: &str = r#"set -e
deps="$FERRY_CACHE_DIR/deps"
if [ -f "$deps/lib.sha256" ]; then
  echo cache-warm
else
  echo cache-cold
  mkdir -p "$deps"
  dd if=/dev/urandom of="$deps/lib.bin" bs=1M count=32 2>/dev/null
  sha256sum "$deps/lib.bin" > "$deps/lib.sha256"
fi
rm -rf out
mkdir -p out
cp -r src out/app
cp "$deps/lib.sha256" out/app/deps.sha256
echo built
"#;

/// The test script.
const TEST_SCRIPT: &str = "test -s out/app/nonce\ntest -s out/app/deps.sha256\necho tests-passed\n";

/// The two image modes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ImageMode {
    Artifact,
    Dockerfile,
}

impl ImageMode {
    const ALL: [ImageMode; 2] = [ImageMode::Artifact, ImageMode::Dockerfile];

    fn name(self) -> &'static str {
        match self {
            ImageMode::Artifact => "artifact",
            ImageMode::Dockerfile => "dockerfile",
        }
    }
}

/// The measured scenarios.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Cold,
    Warm,
    NoChange,
    /// The same commit with `disable_cache`: every step runs, no cache volume.
    Forced,
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario::Cold,
        Scenario::Warm,
        Scenario::NoChange,
        Scenario::Forced,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Cold => "cold",
            Scenario::Warm => "warm",
            Scenario::NoChange => "no-change",
            Scenario::Forced => "forced",
        }
    }
}

/// One build, timed.
struct Sample {
    mode: ImageMode,
    scenario: Scenario,
    /// CreateBuild to Operation done.
    total: Duration,
    /// Phase durations ([`PHASES`]) from the build's and its steps' times.
    phases: [Duration; 8],
    /// IMAGE start to PUSH end.
    assembly: Duration,
    cache_hit: bool,
    digest: String,
}

/// The phases of a build: `pickup` is the build's creation to the FETCH start (queue
/// and controller), `setup` the FETCH end to the BUILD start (builder container),
/// `finish` the PUSH end to the Operation seen done by the client; the others are steps.
const PHASES: [&str; 8] = [
    "pickup", "fetch", "setup", "build", "test", "image", "push", "finish",
];

/// What the run is made of.
struct Plan {
    reps: usize,
    files: usize,
    smoke: bool,
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let reps = if smoke {
        1
    } else {
        match std::env::var("FERRY_BENCH_REPS") {
            Ok(value) => value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or_else(|| {
                    panic!("FERRY_BENCH_REPS must be a positive number, not {value:?}")
                }),
            Err(_) => DEFAULT_REPS,
        }
    };
    let plan = Plan {
        reps,
        files: if smoke { SMOKE_FILES } else { FILES },
        smoke,
    };
    // The components first, each missing one named.
    common::docker_host();
    common::registry();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(&plan));
}

/// A unique id part: the registry and the engine outlive runs.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}", (nanos / 1000) % 0xff_ffff)
}

/// Writes the content into the repository: `files` files, half pseudo-random
/// (incompressible), half text, and a nonce that makes each application's and each
/// commit's content new.
fn write_content(dir: &Path, files: usize, nonce: &str) {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("lib")).unwrap();
    std::fs::create_dir_all(src.join("static")).unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..files {
        let (sub, content): (&str, Vec<u8>) = if i % 2 == 0 {
            let bytes = (0..FILE_SIZE)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            ("lib", bytes)
        } else {
            let text = format!("line {i} of some text served by the app\n")
                .repeat(FILE_SIZE / 40)
                .into_bytes();
            ("static", text)
        };
        std::fs::write(src.join(sub).join(format!("file-{i:03}")), content).unwrap();
    }
    std::fs::write(src.join("nonce"), format!("{nonce}\n")).unwrap();
}

/// Commits new content (a new nonce) to `repo`.
fn commit_content(repo: &common::Repo, base: &str, files: usize, nonce: &str) -> String {
    write_content(&repo.dir, files, nonce);
    let dockerfile =
        format!("FROM {base}\nCOPY out/app /app\nCMD [\"/bin/sh\", \"-c\", \"cat /app/nonce\"]\n");
    repo.commit(&[("Dockerfile", dockerfile.as_str())], nonce)
}

/// The application in `mode`, built from `url` with the cache on.
fn application(mode: ImageMode, url: &str, base: &str) -> Application {
    let mode = match mode {
        ImageMode::Dockerfile => Mode::Dockerfile(DockerfileBuild::default()),
        ImageMode::Artifact => Mode::Artifact(ArtifactBuild {
            base_image: base.to_string(),
            outputs: vec![ArtifactPath {
                source: "out/app".into(),
                destination: "/app".into(),
                mode: String::new(),
            }],
            cmd: vec!["/bin/sh".into(), "-c".into(), "cat /app/nonce".into()],
            ..Default::default()
        }),
    };
    Application {
        source: Some(GitSource {
            repository_url: url.to_string(),
            r#ref: "main".into(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: BUILD_SCRIPT.into(),
            test: Some(TestConfig {
                script: TEST_SCRIPT.into(),
                ..Default::default()
            }),
            mode: Some(mode),
            cache: Some(BuildCacheConfig {
                enabled: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One benchmarked application: its repository and id.
struct App {
    id: String,
    mode: ImageMode,
    repo: common::Repo,
}

async fn create_app(channel: &Channel, app: &App, base: &str) {
    ApplicationServiceClient::new(channel.clone())
        .create_application(CreateApplicationRequest {
            application_id: app.id.clone(),
            application: Some(application(app.mode, &app.repo.url(), base)),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("creating application {}: {e}", app.id));
}

fn timestamp(t: Option<&prost_types::Timestamp>) -> Option<Duration> {
    let t = t?;
    Some(Duration::new(
        u64::try_from(t.seconds).ok()?,
        u32::try_from(t.nanos).ok()?,
    ))
}

fn step(build: &Build, kind: StepKind) -> Option<&ferry_proto::ferry::build::v1::build::Step> {
    build.steps.iter().find(|s| s.kind() == kind)
}

fn step_duration(build: &Build, kind: StepKind) -> Duration {
    step(build, kind)
        .and_then(|s| {
            timestamp(s.end_time.as_ref())?.checked_sub(timestamp(s.start_time.as_ref())?)
        })
        .unwrap_or_default()
}

/// Builds the default branch of `app` through the API and times it; asserts that the
/// build succeeded with the expected cache use.
async fn timed_build(channel: &Channel, app: &App, scenario: Scenario) -> Sample {
    let started = Instant::now();
    let operation = BuildServiceClient::new(channel.clone())
        .create_build(CreateBuildRequest {
            parent: format!("applications/{}", app.id),
            build: Some(Build::default()),
            disable_cache: scenario == Scenario::Forced,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("starting a build of {}: {e}", app.id))
        .into_inner();
    let operation = common::wait(channel, operation, BUILD_LIMIT).await;
    let total = started.elapsed();
    let name = operation.metadata.as_ref().unwrap().target.clone();
    let build = BuildServiceClient::new(channel.clone())
        .get_build(GetBuildRequest { name })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        build.state(),
        State::Succeeded,
        "{} build of {} ({}) failed: {} {:?}",
        scenario.name(),
        app.id,
        app.mode.name(),
        build.failure_message,
        build.steps
    );
    let cache_hit = build.cache.as_ref().is_some_and(|c| c.hit);
    assert_eq!(
        cache_hit,
        matches!(scenario, Scenario::Warm | Scenario::NoChange),
        "{} build of {}: cache hit {cache_hit}",
        scenario.name(),
        app.id
    );
    let start_of = |k| step(&build, k).and_then(|s| timestamp(s.start_time.as_ref()));
    let end_of = |k| step(&build, k).and_then(|s| timestamp(s.end_time.as_ref()));
    let (Some(created), Some(fetch_start), Some(fetch_end)) = (
        timestamp(build.create_time.as_ref()),
        start_of(StepKind::Fetch),
        end_of(StepKind::Fetch),
    ) else {
        panic!("build {} lacks FETCH times: {:?}", build.name, build.steps)
    };
    // A build the input cache answered skips BUILD to PUSH (no start times): its
    // phases after FETCH are 0 and the rest is `finish`.
    let build_start = start_of(StepKind::Build).unwrap_or(fetch_end);
    let image_start = start_of(StepKind::Image).unwrap_or(fetch_end);
    let push_end = end_of(StepKind::Push)
        .filter(|_| start_of(StepKind::Push).is_some())
        .unwrap_or(fetch_end);
    if scenario == Scenario::NoChange {
        assert!(
            start_of(StepKind::Build).is_none(),
            "{}: the input cache should answer an unchanged commit: {:?}",
            app.id,
            build.steps
        );
    }
    let phases = [
        fetch_start.saturating_sub(created),
        step_duration(&build, StepKind::Fetch),
        build_start.saturating_sub(fetch_end),
        step_duration(&build, StepKind::Build),
        step_duration(&build, StepKind::Test),
        step_duration(&build, StepKind::Image),
        step_duration(&build, StepKind::Push),
        total.saturating_sub(push_end.saturating_sub(created)),
    ];
    let assembly = push_end.saturating_sub(image_start);
    Sample {
        mode: app.mode,
        scenario,
        total,
        phases,
        assembly,
        cache_hit,
        digest: build.image_digest,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The nearest-rank percentile `p` (0 < p ≤ 1) of `values`.
fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The figures of one mode and scenario.
struct Figures {
    n: usize,
    median: Duration,
    p90: Duration,
    min: Duration,
    max: Duration,
    phases: [Duration; 8],
    assembly_median: Duration,
    assembly_p90: Duration,
}

fn figures(samples: &[Sample], mode: ImageMode, scenario: Scenario) -> Figures {
    let chosen: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.mode == mode && s.scenario == scenario)
        .collect();
    assert!(!chosen.is_empty(), "no {mode:?} {scenario:?} sample");
    let totals: Vec<Duration> = chosen.iter().map(|s| s.total).collect();
    let assembly: Vec<Duration> = chosen.iter().map(|s| s.assembly).collect();
    let phases = std::array::from_fn(|i| {
        let values: Vec<Duration> = chosen.iter().map(|s| s.phases[i]).collect();
        percentile(&values, 0.5)
    });
    Figures {
        n: chosen.len(),
        median: percentile(&totals, 0.5),
        p90: percentile(&totals, 0.9),
        min: *totals.iter().min().unwrap(),
        max: *totals.iter().max().unwrap(),
        phases,
        assembly_median: percentile(&assembly, 0.5),
        assembly_p90: percentile(&assembly, 0.9),
    }
}

/// Where the JSON goes: `FERRY_BENCH_OUT`, else `bench/` in the target directory this
/// binary was built in.
fn output_path(smoke: bool) -> PathBuf {
    if let Ok(path) = std::env::var("FERRY_BENCH_OUT")
        && !path.trim().is_empty()
    {
        return PathBuf::from(path);
    }
    // <target>/<profile>/deps/builds-<hash>
    let exe = std::env::current_exe().expect("the benchmark's path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    let file = if smoke {
        "builds-smoke.json"
    } else {
        "builds.json"
    };
    target.join("bench").join(file)
}

/// Deletes the applications (and so their cache volumes) and the images the engine
/// built for them.
async fn clean_up(channel: &Channel, apps: &[App]) {
    let docker = common::docker();
    let registry = common::registry();
    for app in apps {
        if let Err(e) = ApplicationServiceClient::new(channel.clone())
            .delete_application(DeleteApplicationRequest {
                name: format!("applications/{}", app.id),
                force: true,
                ..Default::default()
            })
            .await
        {
            eprintln!("warning: deleting application {}: {e}", app.id);
        }
        if app.mode != ImageMode::Dockerfile {
            continue;
        }
        let filters = std::collections::HashMap::from([(
            "reference".to_string(),
            vec![format!("{registry}/applications/{}", app.id)],
        )]);
        let images = docker
            .list_images(Some(bollard::query_parameters::ListImagesOptions {
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .unwrap_or_default();
        for image in images {
            let _ = docker
                .remove_image(
                    &image.id,
                    Some(bollard::query_parameters::RemoveImageOptions {
                        force: true,
                        ..Default::default()
                    }),
                    None,
                )
                .await;
        }
    }
}

async fn run(plan: &Plan) {
    let base = common::prepare_images().await;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start("bench-builds", common::settings(work.path())).await;
    let channel = service.channel.clone();
    let run_id = unique();
    println!(
        "build benchmark{}: {} repetitions per scenario, {} content files of {} KiB, base {base}",
        if plan.smoke { " (smoke)" } else { "" },
        plan.reps,
        plan.files,
        FILE_SIZE / 1024
    );

    let mut apps: Vec<App> = Vec::new();
    let mut samples: Vec<Sample> = Vec::new();
    let record = |sample: Sample, samples: &mut Vec<Sample>| {
        println!(
            "  {:<10} {:<9} {:>8.0} ms (image+push {:>6.0} ms, cache {})",
            sample.mode.name(),
            sample.scenario.name(),
            ms(sample.total),
            ms(sample.assembly),
            if sample.cache_hit { "hit" } else { "empty" }
        );
        samples.push(sample);
    };

    // Cold: a new application each time, the modes interleaved.
    for rep in 0..plan.reps {
        for mode in ImageMode::ALL {
            let id = format!("bench-{}-{run_id}-{rep}", &mode.name()[..3]);
            let app = App {
                id: id.clone(),
                mode,
                repo: common::Repo::new(),
            };
            commit_content(&app.repo, &base, plan.files, &format!("{id} v0"));
            create_app(&channel, &app, &base).await;
            let sample = timed_build(&channel, &app, Scenario::Cold).await;
            record(sample, &mut samples);
            apps.push(app);
        }
    }
    // Warm: a new commit of the first application of each mode, its cache filled.
    let firsts: Vec<usize> = ImageMode::ALL
        .iter()
        .map(|m| apps.iter().position(|a| a.mode == *m).unwrap())
        .collect();
    for rep in 0..plan.reps {
        for &i in &firsts {
            let app = &apps[i];
            commit_content(
                &app.repo,
                &base,
                plan.files,
                &format!("{} v{}", app.id, rep + 1),
            );
            let sample = timed_build(&channel, app, Scenario::Warm).await;
            record(sample, &mut samples);
        }
    }
    // No change: the same commit again.
    for _ in 0..plan.reps {
        for &i in &firsts {
            let app = &apps[i];
            let previous = samples
                .iter()
                .rev()
                .find(|s| s.mode == app.mode)
                .map(|s| s.digest.clone())
                .unwrap();
            let sample = timed_build(&channel, app, Scenario::NoChange).await;
            assert_eq!(
                sample.digest,
                previous,
                "{}: an unchanged commit gives the same image",
                app.mode.name()
            );
            record(sample, &mut samples);
        }
    }
    // The same commit with the caches off: every step runs. (The image differs: it
    // holds the checksum of the "dependency" a cold cache makes anew.)
    for _ in 0..plan.reps {
        for &i in &firsts {
            let sample = timed_build(&channel, &apps[i], Scenario::Forced).await;
            record(sample, &mut samples);
        }
    }
    clean_up(&channel, &apps).await;
    service.stop().await;

    report(plan, &samples, &base);
}

fn report(plan: &Plan, samples: &[Sample], base: &str) {
    println!(
        "\n| mode | scenario | n | median ms | p90 ms | min ms | max ms | {} | image+push median / p90 ms |",
        PHASES.join(" | ")
    );
    println!(
        "|---|---|---|---|---|---|---|{}---|",
        "---|".repeat(PHASES.len())
    );
    let mut rows = Vec::new();
    for mode in ImageMode::ALL {
        for scenario in Scenario::ALL {
            let f = figures(samples, mode, scenario);
            let phases: Vec<String> = f.phases.iter().map(|d| format!("{:.0}", ms(*d))).collect();
            println!(
                "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {:.0} / {:.0} |",
                mode.name(),
                scenario.name(),
                f.n,
                ms(f.median),
                ms(f.p90),
                ms(f.min),
                ms(f.max),
                phases.join(" | "),
                ms(f.assembly_median),
                ms(f.assembly_p90),
            );
            rows.push(json!({
                "mode": mode.name(),
                "scenario": scenario.name(),
                "n": f.n,
                "median_ms": ms(f.median),
                "p90_ms": ms(f.p90),
                "min_ms": ms(f.min),
                "max_ms": ms(f.max),
                "phase_median_ms": PHASES
                    .iter()
                    .zip(f.phases)
                    .map(|(name, d)| (name.to_string(), json!(ms(d))))
                    .collect::<serde_json::Map<_, _>>(),
                "image_and_push_median_ms": ms(f.assembly_median),
                "image_and_push_p90_ms": ms(f.assembly_p90),
            }));
        }
    }
    println!(
        "\nphase columns (medians, ms): pickup = created to FETCH start, setup = FETCH end to \
         BUILD start (builder container), finish = PUSH end to the Operation seen done; the \
         others are the steps; image+push = IMAGE start to PUSH end"
    );

    let mut ratios = Vec::new();
    println!("\nno-change rebuild against the {NO_CHANGE_TARGET:?} target:");
    for mode in ImageMode::ALL {
        let f = figures(samples, mode, Scenario::NoChange);
        let ratio = f.median.as_secs_f64() / NO_CHANGE_TARGET.as_secs_f64();
        let met = f.median <= NO_CHANGE_TARGET;
        println!(
            "  {:<10} median {:.0} ms = {ratio:.2}x the target ({}), p90 {:.0} ms",
            mode.name(),
            ms(f.median),
            if met { "met" } else { "NOT met" },
            ms(f.p90)
        );
        ratios.push(json!({
            "what": format!("{} no-change median / 1 s target", mode.name()),
            "ratio": ratio,
            "target_met": met,
        }));
    }
    println!("\nthe input cache: no-change rebuild against a forced one (disable_cache):");
    for mode in ImageMode::ALL {
        let cached = figures(samples, mode, Scenario::NoChange);
        let forced = figures(samples, mode, Scenario::Forced);
        let ratio = forced.median.as_secs_f64() / cached.median.as_secs_f64().max(1e-6);
        println!(
            "  {:<10} forced {:.0} ms / no-change {:.0} ms = {ratio:.2}x",
            mode.name(),
            ms(forced.median),
            ms(cached.median)
        );
        ratios.push(json!({
            "what": format!("{} forced rebuild / no-change rebuild (medians)", mode.name()),
            "ratio": ratio,
        }));
    }
    println!("\nartifact mode against Dockerfile mode (docker build + push), same content:");
    for scenario in [Scenario::Cold, Scenario::Warm, Scenario::Forced] {
        let artifact = figures(samples, ImageMode::Artifact, scenario);
        let docker = figures(samples, ImageMode::Dockerfile, scenario);
        let assembly =
            docker.assembly_median.as_secs_f64() / artifact.assembly_median.as_secs_f64().max(1e-6);
        let total = docker.median.as_secs_f64() / artifact.median.as_secs_f64().max(1e-6);
        println!(
            "  {:<9} image+push: docker {:.0} ms / artifact {:.0} ms = {assembly:.2}x{}; whole build: {total:.2}x",
            scenario.name(),
            ms(docker.assembly_median),
            ms(artifact.assembly_median),
            if assembly > 1.0 {
                " (artifact faster)"
            } else {
                " (artifact NOT faster)"
            }
        );
        ratios.push(json!({
            "what": format!("{} docker build+push / artifact assembly+push (medians)", scenario.name()),
            "ratio": assembly,
            "artifact_faster": assembly > 1.0,
        }));
        ratios.push(json!({
            "what": format!("{} dockerfile build / artifact build, end to end (medians)", scenario.name()),
            "ratio": total,
        }));
    }

    let raw: Vec<_> = samples
        .iter()
        .map(|s| {
            json!({
                "mode": s.mode.name(),
                "scenario": s.scenario.name(),
                "total_ms": ms(s.total),
                "image_and_push_ms": ms(s.assembly),
                "phases_ms": PHASES
                    .iter()
                    .zip(s.phases)
                    .map(|(name, d)| (name.to_string(), json!(ms(d))))
                    .collect::<serde_json::Map<_, _>>(),
                "cache_hit": s.cache_hit,
                "digest": s.digest,
            })
        })
        .collect();
    let document = json!({
        "benchmark": "ferry-build builds",
        "smoke": plan.smoke,
        "repetitions": plan.reps,
        "content": {
            "files": plan.files,
            "file_size_bytes": FILE_SIZE,
            "base_image": base,
        },
        "no_change_target_ms": ms(NO_CHANGE_TARGET),
        "figures": rows,
        "ratios": ratios,
        "samples": raw,
    });
    let path = output_path(plan.smoke);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&document).unwrap())
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    println!("\nfigures written to {}", path.display());
}
