//! The `build-runs` controller: the leader runs builds, one application at a time.
//!
//! Per build key:
//! - QUEUED: cancelled when its Operation asks; waits (re-checked every second) while an
//!   earlier build of the application is queued or running (first in, first out);
//!   otherwise becomes RUNNING and is run to its end inside this reconcile: FETCH (git,
//!   in the service's work directory), a builder container on the builder engine with
//!   the workspace uploaded and the cache volume mounted, BUILD and TEST as execs whose
//!   output goes to the log in etcd as it comes, IMAGE (the engine's build API) and
//!   PUSH; the image record, the build's end and its Operation's result are written in
//!   one transaction, so a build that did not finish leaves no image record.
//! - RUNNING when picked up: a reconcile never returns while its build runs, so the
//!   runner that started it is gone (its process died or lost leadership). Builds are
//!   not resumed: the builder container is removed and the build ends FAILED with
//!   `FAILURE_REASON_BUILDER_LOST`. A lost runner stops writing at once (every write is
//!   fenced by the leader key).
//!
//! Cancellation (CancelBuild or CancelOperation) is polled from the Operation every
//! half second while running: the builder container is removed (its processes killed)
//! and the build ends CANCELLED.
//!
//! With the Kubernetes builder (`FERRY_BUILD_BUILDER=kubernetes`, see [`super::kube`])
//! FETCH still resolves the ref in the service's work directory, then one Job per build
//! runs the steps: FETCH ends when the Job's `fetch` container (the exact commit into
//! the workspace) ends, BUILD, TEST and IMAGE start and end with their containers (their
//! logs followed into the build log when the cluster serves them), and PUSH reads the
//! digest of the pushed tag from the registry (a Job that completed without the image
//! in the registry fails the build). The Job's state is polled every half second; a
//! Job that disappears ends the build FAILED with `FAILURE_REASON_BUILDER_LOST`, its
//! deadline (`activeDeadlineSeconds`, the build's timeout) with
//! `FAILURE_REASON_TIMED_OUT`. A cancelled, failed or abandoned build's Job is deleted
//! (its pods with it); a finished Job is kept for an hour (`ttlSecondsAfterFinished`);
//! the Job's Secrets are deleted at the build's end whatever happened. A build found
//! RUNNING by a new leader is not re-attached: as with Docker, its Job is deleted and it
//! ends FAILED (`FAILURE_REASON_BUILDER_LOST`). Artifact mode needs the Docker builder
//! (the image is assembled from the workspace the service downloads) and fails at once
//! with `FAILURE_REASON_INVALID_CONFIG` on Kubernetes.

use std::sync::Arc;
use std::time::Duration;

use ferry_kit::error::ApiError;
use ferry_ops::operation::{self as op, operation_key};
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::build::v1::build::{FailureReason, State, StepKind};
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::{Application, Build, CacheInfo, Image};
use ferry_proto::ferry::common::v1::{ErrorReason, LogStream, Operation, StageState};
use ferry_store::{KeyValue, Precondition, StoreError, Txn, typed};
use futures::StreamExt;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::Code;

use super::docker::{self, BuilderEngine, BuilderSpec, Output, OutputStream, PushAuth};
use super::git::{CommitInfo, GitAuth, GitError, RepoCache};
use super::kube as manifests;
use super::kube_run::{self, LogPiece};
use super::kube_status::{ContainerState, Outcome};
use super::logs::LogWriter;
use super::model::{self, BuildSpec};
use super::{builds_prefix, log_prefix, spec_key};
use crate::application::application_key;
use crate::config::{BuildSettings, BuilderKind};
use crate::image::{image_key, image_name};

/// How often a queued build looks whether it may start.
const QUEUE_POLL: Duration = Duration::from_secs(1);
/// How often a running build looks for a cancel request and flushes its log.
const RUN_POLL: Duration = Duration::from_millis(400);
/// Default build timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);
/// How often a Kubernetes build's Job and pods are read.
const KUBE_POLL: Duration = Duration::from_millis(500);
/// How long the service waits past a Kubernetes build's timeout before giving up on the
/// Job's own deadline (`activeDeadlineSeconds`).
const KUBE_TIMEOUT_GRACE: Duration = Duration::from_secs(30);
/// How long a step's end waits for the rest of its log.
const LOG_TAIL_WAIT: Duration = Duration::from_secs(2);

/// Runs builds.
pub struct BuildRunner {
    settings: Arc<BuildSettings>,
    after: Option<Arc<dyn AfterBuild>>,
}

/// What happens after a build succeeded (auto-deploy); given the build as recorded.
#[async_trait::async_trait]
pub trait AfterBuild: Send + Sync {
    /// Called once the build and its image are recorded; returns the build to record
    /// with what it did (e.g. `auto_deployments`).
    async fn succeeded(&self, context: &ReconcileContext, build: Build, spec: &BuildSpec) -> Build;
}

impl BuildRunner {
    /// A runner with `settings`.
    pub fn new(settings: Arc<BuildSettings>) -> Self {
        Self {
            settings,
            after: None,
        }
    }

    /// Also calls `after` once a build succeeded.
    pub fn with_after(mut self, after: Arc<dyn AfterBuild>) -> Self {
        self.after = Some(after);
        self
    }
}

/// Why a run stopped before the end.
#[derive(Debug)]
enum Stop {
    /// A step failed.
    Failed(FailureReason, String),
    /// Cancelled by a call.
    Cancelled,
    /// Leadership lost or the service stops: write nothing more.
    Lost,
    /// Over the build's timeout.
    TimedOut,
}

impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Self {
        if error.code == Code::Aborted {
            Stop::Lost
        } else {
            Stop::Failed(FailureReason::Internal, error.message)
        }
    }
}

fn lost() -> ApiError {
    ApiError::new(
        Code::Aborted,
        ErrorReason::ConcurrentModification,
        "leadership lost",
    )
}

/// One build being run.
struct Run<'a> {
    context: &'a ReconcileContext,
    settings: &'a BuildSettings,
    key: String,
    build: Build,
    revision: i64,
    spec: BuildSpec,
    application: Application,
    log: LogWriter,
    cancel: CancellationToken,
    container: Option<(BuilderEngine, String)>,
    kube_job: Option<KubeJob>,
    image: Option<Image>,
    /// The fingerprint of the build's inputs, when they could be pinned ([`super::inputs`]):
    /// recorded in the input cache when the build succeeds.
    fingerprint: Option<String>,
}

/// A build's Job on the builder cluster.
struct KubeJob {
    client: kube::Client,
    namespace: String,
    name: String,
    /// The Job ended (complete, failed, or gone): it is left to its TTL.
    finished: bool,
}

/// A followed container log.
struct Follower {
    kind: StepKind,
    receiver: tokio::sync::mpsc::UnboundedReceiver<LogPiece>,
    task: tokio::task::JoinHandle<()>,
}

/// The step of a Job container.
fn step_of_container(container: &str) -> StepKind {
    match container {
        "fetch" => StepKind::Fetch,
        "build" => StepKind::Build,
        "test" => StepKind::Test,
        _ => StepKind::Image,
    }
}

/// The failure reason of a Job container that exited non-zero.
fn reason_of_container(container: &str) -> FailureReason {
    match container {
        "fetch" => FailureReason::SourceUnreachable,
        "build" => FailureReason::BuildScriptFailed,
        "test" => FailureReason::TestsFailed,
        _ => FailureReason::ImageBuildFailed,
    }
}

impl Run<'_> {
    /// Writes the build (guarded by its revision) with its Operation synced, fenced.
    /// `finish` ends the Operation too.
    async fn commit(
        &mut self,
        finish: Option<&(dyn Fn(&mut Operation) + Sync)>,
        extra: Option<(String, Vec<u8>)>,
    ) -> Result<(), ApiError> {
        self.log.flush().await?;
        self.build.log_size_bytes = self.log.size();
        self.build.update_time = Some(op::now());
        self.build.etag.clear();
        for _ in 0..16 {
            let operation = typed::get_msg::<Operation>(
                self.context.store.as_ref(),
                &operation_key(&self.build.operation),
            )
            .await?;
            let mut txn = Txn::new()
                .when(self.context.fence.clone())
                .when(Precondition::ModRevision(self.key.clone(), self.revision))
                .put(self.key.clone(), self.build.encode_to_vec());
            if let Some((mut operation, op_revision)) = operation
                && !operation.done
            {
                model::sync_operation(&mut operation, &self.build);
                if let Some(finish) = finish {
                    finish(&mut operation);
                } else {
                    op::start(&mut operation);
                }
                operation.etag.clear();
                txn = txn
                    .when(Precondition::ModRevision(
                        operation_key(&self.build.operation),
                        op_revision,
                    ))
                    .put(
                        operation_key(&self.build.operation),
                        operation.encode_to_vec(),
                    );
            }
            if let Some((key, value)) = &extra {
                txn = txn
                    .when(Precondition::Absent(key.clone()))
                    .put(key.clone(), value.clone());
            }
            match self.context.store.txn(txn).await {
                Ok(revision) => {
                    self.revision = revision;
                    return Ok(());
                }
                Err(StoreError::Conflict { key }) if key.starts_with(&op::operations_prefix()) => {
                    continue;
                }
                Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {
                    return Err(lost());
                }
                Err(StoreError::AlreadyExists { key }) => {
                    return Err(ApiError::internal(&format!("{key} already exists")));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(lost())
    }

    fn step_start(&mut self, kind: StepKind) {
        let offset = self.log.size();
        let step = model::step_mut(&mut self.build, kind);
        step.state = StageState::Running as i32;
        step.start_time = Some(op::now());
        step.log_offset = offset;
        self.log.system(
            kind,
            &format!(
                "==> {}",
                model::STAGES
                    .iter()
                    .find(|(id, _)| *id == model::stage_id(kind))
                    .map(|(_, d)| *d)
                    .unwrap_or_default()
            ),
        );
    }

    fn step_end(
        &mut self,
        kind: StepKind,
        state: StageState,
        exit_code: Option<i32>,
        message: &str,
    ) {
        let size = self.log.size();
        let step = model::step_mut(&mut self.build, kind);
        step.state = state as i32;
        step.end_time = Some(op::now());
        step.exit_code = exit_code;
        step.message = message.to_string();
        step.log_size_bytes = size - step.log_offset;
    }

    /// Waits for `work` while flushing the log, watching for cancellation and the stop.
    async fn guarded<T>(&mut self, work: impl std::future::Future<Output = T>) -> Result<T, Stop> {
        let cancel = self.cancel.clone();
        let stop = self.context.stop.clone();
        tokio::select! {
            result = work => Ok(result),
            _ = cancel.cancelled() => Err(Stop::Cancelled),
            _ = stop.cancelled() => Err(Stop::Lost),
        }
    }

    /// Drains a step's output into the log; returns the failure the engine reported and
    /// the digest a push announced.
    async fn drain(
        &mut self,
        kind: StepKind,
        mut output: OutputStream,
    ) -> Result<(Option<String>, Option<String>), Stop> {
        let mut failure = None;
        let mut digest = None;
        let mut ticker = tokio::time::interval(RUN_POLL);
        loop {
            let cancel = self.cancel.clone();
            let stop = self.context.stop.clone();
            tokio::select! {
                item = output.next() => match item {
                    None => break,
                    Some(Output::Out(bytes)) => self.log.write(kind, LogStream::Stdout, &bytes),
                    Some(Output::Err(bytes)) => self.log.write(kind, LogStream::Stderr, &bytes),
                    Some(Output::System(line)) => self.log.system(kind, &line),
                    Some(Output::Failed(message)) => {
                        self.log.system(kind, &format!("error: {message}"));
                        failure = Some(message);
                    }
                    Some(Output::Digest(value)) => {
                        self.log.system(kind, &format!("pushed manifest {value}"));
                        digest = Some(value);
                    }
                },
                _ = ticker.tick() => self.log.flush().await?,
                _ = cancel.cancelled() => return Err(Stop::Cancelled),
                _ = stop.cancelled() => return Err(Stop::Lost),
            }
        }
        self.log.flush().await?;
        Ok((failure, digest))
    }

    /// Runs a script step in the builder container; returns its exit code.
    async fn script(&mut self, kind: StepKind, script: &str, env: &[String]) -> Result<i32, Stop> {
        let (engine, container) = self
            .container
            .clone()
            .ok_or_else(|| Stop::Failed(FailureReason::Internal, "no builder container".into()))?;
        let started = self.guarded(engine.exec(&container, script, env)).await?;
        let (exec, output) =
            started.map_err(|e| Stop::Failed(FailureReason::BuilderLost, e.to_string()))?;
        let (failure, _) = self.drain(kind, output).await?;
        if let Some(message) = failure {
            return Err(Stop::Failed(FailureReason::BuilderLost, message));
        }
        let code = self
            .guarded(engine.exit_code(&exec))
            .await?
            .map_err(|e| Stop::Failed(FailureReason::BuilderLost, e.to_string()))?;
        Ok(code as i32)
    }

    /// The image reference of the application's latest image, whose layer an artifact
    /// build may reuse.
    async fn previous_image(&self) -> Option<String> {
        let (application, _) = typed::get_msg::<Application>(
            self.context.store.as_ref(),
            &crate::application::application_key(&self.application.name),
        )
        .await
        .ok()??;
        if application.latest_image.is_empty() {
            return None;
        }
        let (image, _) = typed::get_msg::<Image>(
            self.context.store.as_ref(),
            &image_key(&application.latest_image),
        )
        .await
        .ok()??;
        Some(image.image_uri)
    }

    /// Artifact mode: the layer of the outputs (IMAGE), then the daemonless push (PUSH).
    async fn artifact(
        &mut self,
        artifact: &ferry_proto::ferry::build::v1::ArtifactBuild,
        workspace: &[u8],
        target: ArtifactTarget<'_>,
    ) -> Result<super::artifact::ArtifactImage, Stop> {
        let layer = match super::artifact::layer_of(workspace, artifact) {
            Ok(layer) => layer,
            Err(message) => {
                self.step_end(StepKind::Image, StageState::Failed, None, &message);
                return Err(Stop::Failed(
                    FailureReason::ImageBuildFailed,
                    format!("the artifact image cannot be made: {message}"),
                ));
            }
        };
        self.log.system(
            StepKind::Image,
            &format!(
                "{} outputs laid out as one reproducible layer over {}",
                layer.len(),
                artifact.base_image
            ),
        );
        self.step_end(
            StepKind::Image,
            StageState::Succeeded,
            None,
            &format!("{} entries", layer.len()),
        );
        self.step_start(StepKind::Push);
        self.commit(None, None).await?;
        self.log.system(
            StepKind::Push,
            &format!(
                "pushing {}/{}:{} (OCI distribution API)",
                target.registry, target.repository, target.version
            ),
        );
        // Not the build number: unchanged outputs must give an unchanged image.
        let created_by = format!("ferry artifact build of {}", self.application.name);
        let pushed = self
            .guarded(super::artifact::push(
                layer,
                artifact,
                super::artifact::Target {
                    registry: target.registry,
                    repository: target.repository,
                    tag: target.version,
                    credentials: target.credentials,
                    insecure: target.insecure,
                    previous: target.previous,
                },
                &created_by,
            ))
            .await?;
        match pushed {
            Ok(image) => {
                for line in &image.log {
                    self.log.system(StepKind::Push, line);
                }
                self.log
                    .system(StepKind::Push, &format!("pushed manifest {}", image.digest));
                Ok(image)
            }
            Err(message) => {
                self.step_end(StepKind::Push, StageState::Failed, None, &message);
                Err(Stop::Failed(
                    FailureReason::PushFailed,
                    format!("the push failed: {message}"),
                ))
            }
        }
    }

    /// The value of a secret (platform-wide, `secrets/{name}`) the build needs; a missing
    /// secret fails the build with `FAILURE_REASON_INVALID_CONFIG` naming `what`.
    async fn secret(
        &self,
        reference: &ferry_proto::ferry::common::v1::SecretRef,
        what: &str,
    ) -> Result<Vec<u8>, Stop> {
        ferry_deploy::secret::resolve(self.context.store.as_ref(), reference, "")
            .await
            .map_err(|error| {
                Stop::Failed(
                    FailureReason::InvalidConfig,
                    format!("{what}: {}", ApiError::from(error).message),
                )
            })
    }

    /// The credentials of the source, opened from their secrets.
    async fn git_auth(
        &self,
        source: &ferry_proto::ferry::build::v1::GitSource,
    ) -> Result<super::git::GitAuth, Stop> {
        super::git::source_auth(self.context.store.as_ref(), source)
            .await
            .map_err(|message| Stop::Failed(FailureReason::InvalidConfig, message))
    }

    /// The whole pipeline; the image record is prepared, not written.
    async fn pipeline(&mut self) -> Result<(), Stop> {
        let app_id = model::application_id(&self.application.name).to_string();
        let source = self.application.source.clone().unwrap_or_default();
        let config = self.application.build.clone().unwrap_or_default();

        // What this release cannot do fails the build at once, clearly.
        if source.fetch_submodules && self.settings.builder == BuilderKind::Kubernetes {
            return Err(Stop::Failed(
                FailureReason::InvalidConfig,
                "source.fetch_submodules is not supported by the Kubernetes builder yet: vendor the submodules, turn it off, or build on Docker".into(),
            ));
        }
        if self.settings.builder == BuilderKind::Kubernetes
            && matches!(&config.mode, Some(Mode::Artifact(_)))
        {
            return Err(Stop::Failed(
                FailureReason::InvalidConfig,
                "build.artifact needs the Docker builder (the artifact image is assembled from the workspace by the service); this service builds on Kubernetes (FERRY_BUILD_BUILDER=kubernetes): use build.dockerfile".into(),
            ));
        }
        if let Some(Mode::Dockerfile(dockerfile)) = &config.mode
            && !dockerfile.secrets.is_empty()
            && self.settings.builder == BuilderKind::Docker
        {
            return Err(Stop::Failed(
                FailureReason::InvalidConfig,
                "build.dockerfile.secrets (BuildKit secrets) need the Kubernetes builder \
                 (FERRY_BUILD_BUILDER=kubernetes): the Docker engine's build API takes no \
                 secrets"
                    .into(),
            ));
        }

        // FETCH
        self.step_start(StepKind::Fetch);
        self.commit(None, None).await?;
        let repo = RepoCache::new(&self.settings.work_dir, &app_id);
        self.log.system(
            StepKind::Fetch,
            &format!("$ git fetch {}", source.repository_url),
        );
        let auth = self.git_auth(&source).await?;
        let fetched = self
            .guarded(repo.fetch(&source.repository_url, &auth))
            .await?;
        let git_failure = |error: GitError| match error {
            GitError::Unreachable(message) => Stop::Failed(
                FailureReason::SourceUnreachable,
                format!("repository unreachable: {message}"),
            ),
            GitError::RefNotFound(r) => Stop::Failed(
                FailureReason::RefNotFound,
                format!("ref {r:?} not found in the repository"),
            ),
            GitError::NoSubDirectory(d) => Stop::Failed(
                FailureReason::InvalidConfig,
                format!("sub_directory {d:?} does not exist at the commit"),
            ),
            GitError::Failed(message) => {
                Stop::Failed(FailureReason::Internal, format!("git failed: {message}"))
            }
        };
        let fetched = fetched.map_err(git_failure)?;
        if !fetched.trim().is_empty() {
            let mut fetched = fetched;
            if !fetched.ends_with('\n') {
                fetched.push('\n');
            }
            self.log
                .write(StepKind::Fetch, LogStream::System, fetched.as_bytes());
        }
        let wanted = if self.spec.exact_commit.is_empty() {
            self.build.r#ref.clone()
        } else {
            self.spec.exact_commit.clone()
        };
        let commit = self
            .guarded(repo.resolve(&wanted))
            .await?
            .map_err(git_failure)?;
        self.log.system(
            StepKind::Fetch,
            &format!(
                "{} is commit {}",
                if wanted.is_empty() { "HEAD" } else { &wanted },
                commit.sha
            ),
        );
        let workspace = if source.fetch_submodules {
            let (workspace, fetched) = self
                .guarded(super::git::archive_with_submodules(
                    &self.settings.work_dir,
                    &app_id,
                    &repo,
                    &source.repository_url,
                    &commit.sha,
                    &source.sub_directory,
                    &auth,
                ))
                .await?
                .map_err(git_failure)?;
            for line in fetched {
                self.log.system(StepKind::Fetch, &line);
            }
            workspace
        } else {
            self.guarded(repo.archive(&commit.sha, &source.sub_directory))
                .await?
                .map_err(git_failure)?
        };
        self.build.commit = Some(model::commit(&commit));
        if self.settings.builder == BuilderKind::Kubernetes {
            self.commit(None, None).await?;
            return self
                .kube_pipeline(&app_id, &commit, &source, &config, &workspace)
                .await;
        }
        self.step_end(
            StepKind::Fetch,
            StageState::Succeeded,
            None,
            &format!("commit {}", model::short_sha(&commit.sha)),
        );
        self.commit(None, None).await?;

        // The builder container.
        let Some(endpoint) = self.settings.docker_host.clone() else {
            return Err(Stop::Failed(
                FailureReason::InvalidConfig,
                "no builder engine is configured (FERRY_BUILD_DOCKER_HOST)".into(),
            ));
        };
        let engine = self
            .guarded(BuilderEngine::connect(&endpoint))
            .await?
            .map_err(|e| Stop::Failed(FailureReason::BuilderLost, e.to_string()))?;
        let builder_image = if config.builder_image.is_empty() {
            self.settings.builder_image.clone()
        } else {
            config.builder_image.clone()
        };
        let image_id = self
            .guarded(engine.ensure_image(&builder_image))
            .await?
            .map_err(|e| Stop::Failed(FailureReason::InvalidConfig, e.to_string()))?;
        self.build.builder_image = format!("{builder_image}@{image_id}");
        self.build.builder_host = endpoint.clone();
        // Inputs unchanged since an earlier successful build: its image is recorded
        // again and nothing runs (see `super::inputs`; `disable_cache` runs everything).
        if !self.spec.disable_cache {
            self.fingerprint = self
                .input_fingerprint(&app_id, &config, &workspace, &image_id, &engine)
                .await;
            if let Some(fingerprint) = self.fingerprint.clone()
                && self.reuse_image(&fingerprint, &commit).await?
            {
                return Ok(());
            }
        }
        let cache_wanted =
            config.cache.as_ref().is_some_and(|c| c.enabled) && !self.spec.disable_cache;
        let cache_volume = if cache_wanted {
            let volume = BuilderEngine::cache_volume(&app_id, &self.application.uid);
            let existed = self
                .guarded(engine.ensure_volume(&volume))
                .await?
                .map_err(|e| Stop::Failed(FailureReason::BuilderLost, e.to_string()))?;
            self.build.cache = Some(CacheInfo {
                enabled: true,
                hit: existed,
                volume: volume.clone(),
                ..Default::default()
            });
            Some(volume)
        } else {
            self.build.cache = Some(CacheInfo::default());
            None
        };
        let container =
            BuilderEngine::container_name(&app_id, self.build.build_number, &self.build.uid);
        let builder = BuilderSpec {
            name: container.clone(),
            image: builder_image,
            build: self.build.name.clone(),
            cache_volume: cache_volume.clone(),
            network: self.settings.network.clone(),
            memory_bytes: config
                .resources
                .as_ref()
                .and_then(|r| r.limits)
                .map_or(0, |l| l.memory_bytes),
            cpu_millis: config
                .resources
                .as_ref()
                .and_then(|r| r.limits)
                .map_or(0, |l| l.cpu_millis),
        };
        self.container = Some((engine.clone(), container.clone()));
        self.guarded(engine.start_builder(&builder, workspace))
            .await?
            .map_err(|e| Stop::Failed(FailureReason::BuilderLost, e.to_string()))?;
        let mut env: Vec<String> = vec![
            format!("FERRY_BUILD_NUMBER={}", self.build.build_number),
            format!("FERRY_COMMIT_SHA={}", commit.sha),
            format!("FERRY_APPLICATION={app_id}"),
        ];
        if cache_volume.is_some() {
            env.push("FERRY_CACHE_DIR=/cache".into());
        }
        for variable in &config.env {
            match &variable.source {
                Some(ferry_proto::ferry::common::v1::env_var::Source::Value(value)) => {
                    env.push(format!("{}={value}", variable.name))
                }
                Some(ferry_proto::ferry::common::v1::env_var::Source::SecretRef(reference)) => {
                    let value = self
                        .secret(reference, &format!("build.env {}", variable.name))
                        .await?;
                    let value = String::from_utf8(value).map_err(|_| {
                        Stop::Failed(
                            FailureReason::InvalidConfig,
                            format!("build.env {}: the secret is not UTF-8 text", variable.name),
                        )
                    })?;
                    self.log.mask(value.as_bytes());
                    env.push(format!("{}={value}", variable.name));
                }
                _ => {
                    return Err(Stop::Failed(
                        FailureReason::InvalidConfig,
                        format!("build.env {}: give a value or a secret_ref", variable.name),
                    ));
                }
            }
        }

        // BUILD
        if config.build_script.trim().is_empty() {
            self.step_end(
                StepKind::Build,
                StageState::Skipped,
                None,
                "no build script",
            );
        } else {
            self.step_start(StepKind::Build);
            self.commit(None, None).await?;
            let code = self
                .script(StepKind::Build, &config.build_script, &env)
                .await?;
            if code != 0 {
                self.step_end(
                    StepKind::Build,
                    StageState::Failed,
                    Some(code),
                    &format!("exit code {code}"),
                );
                return Err(Stop::Failed(
                    FailureReason::BuildScriptFailed,
                    format!("the build script exited with {code}"),
                ));
            }
            self.step_end(StepKind::Build, StageState::Succeeded, Some(0), "");
        }
        self.commit(None, None).await?;

        // TEST
        let mut workspace_after: Option<Vec<u8>> = None;
        match &config.test {
            None => self.step_end(StepKind::Test, StageState::Skipped, None, "no test script"),
            Some(test) => {
                self.step_start(StepKind::Test);
                self.commit(None, None).await?;
                let code = self.script(StepKind::Test, &test.script, &env).await?;
                let mut reports = Vec::new();
                if !test.junit_report_path.is_empty() {
                    let download = self
                        .guarded(engine.download(&container, "/workspace"))
                        .await?
                        .map_err(|e| Stop::Failed(FailureReason::BuilderLost, e.to_string()))?;
                    reports =
                        docker::files_matching(&download, "workspace/", &test.junit_report_path);
                    workspace_after = Some(download);
                }
                let results = match super::junit::results(code, &reports) {
                    Ok(results) => results,
                    Err(message) => {
                        self.log.system(
                            StepKind::Test,
                            &format!("warning: {message}; using the exit code"),
                        );
                        super::junit::results(code, &[]).unwrap_or_default()
                    }
                };
                let passed = results.passed;
                let summary = format!(
                    "{} tests, {} failures, {} errors, exit code {code}",
                    results.tests, results.failures, results.errors
                );
                self.build.test_results = Some(results);
                if !passed {
                    self.step_end(StepKind::Test, StageState::Failed, Some(code), &summary);
                    return Err(Stop::Failed(
                        FailureReason::TestsFailed,
                        format!("tests failed: {summary}"),
                    ));
                }
                self.step_end(StepKind::Test, StageState::Succeeded, Some(code), &summary);
            }
        }
        self.commit(None, None).await?;

        // IMAGE
        self.step_start(StepKind::Image);
        self.commit(None, None).await?;
        let (repository, registry, repo_path) = self.image_target(&app_id)?;
        let version = model::version(self.build.build_number, &commit.sha);
        let target = format!("{registry}/{repo_path}");
        let tag = format!("{target}:{version}");
        let workspace_after = match workspace_after {
            Some(download) => download,
            None => self
                .guarded(engine.download(&container, "/workspace"))
                .await?
                .map_err(|e| Stop::Failed(FailureReason::BuilderLost, e.to_string()))?,
        };
        let dockerfile = match config.mode.clone() {
            Some(Mode::Dockerfile(dockerfile)) => dockerfile,
            Some(Mode::Artifact(artifact)) => {
                let previous = self.previous_image().await;
                let auth = if repository.registry.is_empty() {
                    self.settings
                        .registry_credentials
                        .as_ref()
                        .map(|c| (c.username.clone(), c.password.clone()))
                } else {
                    None
                };
                let image = self
                    .artifact(
                        &artifact,
                        &workspace_after,
                        ArtifactTarget {
                            registry: &registry,
                            repository: &repo_path,
                            version: &version,
                            credentials: auth,
                            insecure: repository.insecure,
                            previous: previous.as_deref(),
                        },
                    )
                    .await?;
                let image_uri = format!("{tag}@{}", image.digest);
                self.step_end(StepKind::Push, StageState::Succeeded, None, &image_uri);
                let name = image_name(&self.application.name, &version);
                self.image = Some(Image {
                    name: name.clone(),
                    uid: uuid::Uuid::new_v4().to_string(),
                    display_name: version.clone(),
                    create_time: Some(op::now()),
                    update_time: Some(op::now()),
                    version: version.clone(),
                    build: self.build.name.clone(),
                    build_number: self.build.build_number,
                    commit_sha: commit.sha.clone(),
                    r#ref: self.build.r#ref.clone(),
                    image_uri: image_uri.clone(),
                    digest: image.digest.clone(),
                    size_bytes: image.size_bytes,
                    layer_count: image.layer_count,
                    base_image: artifact.base_image.clone(),
                    base_image_digest: image.base_digest.clone(),
                    platform: "linux/amd64".to_string(),
                    ..Default::default()
                });
                self.build.image = name;
                self.build.image_uri = image_uri;
                self.build.image_digest = image.digest;
                return Ok(());
            }
            None => {
                return Err(Stop::Failed(
                    FailureReason::InvalidConfig,
                    "build.dockerfile or build.artifact is required".into(),
                ));
            }
        };
        let dockerfile_path = if dockerfile.dockerfile_path.is_empty() {
            "Dockerfile".to_string()
        } else {
            dockerfile.dockerfile_path.clone()
        };
        let context = docker::context_tar(&workspace_after, &dockerfile.context_path)
            .map_err(|m| Stop::Failed(FailureReason::ImageBuildFailed, m))?;
        let dockerfile_text = docker::files_matching(
            &workspace_after,
            "workspace/",
            &format!("{}{dockerfile_path}", context_dir(&dockerfile.context_path)),
        )
        .into_iter()
        .next()
        .map(|(_, content)| String::from_utf8_lossy(&content).into_owned());
        let Some(dockerfile_text) = dockerfile_text else {
            self.step_end(StepKind::Image, StageState::Failed, None, "no Dockerfile");
            return Err(Stop::Failed(
                FailureReason::ImageBuildFailed,
                format!("{dockerfile_path} does not exist in the build context"),
            ));
        };
        self.log
            .system(StepKind::Image, &format!("$ docker build -t {tag}"));
        let output = engine.build(
            context,
            &dockerfile_path,
            &tag,
            dockerfile.build_args.clone(),
            &dockerfile.target,
            &self.settings.network,
        );
        let (failure, _) = self.drain(StepKind::Image, output).await?;
        if let Some(message) = failure {
            self.step_end(StepKind::Image, StageState::Failed, None, &message);
            return Err(Stop::Failed(
                FailureReason::ImageBuildFailed,
                format!("the image build failed: {message}"),
            ));
        }
        self.step_end(StepKind::Image, StageState::Succeeded, None, &tag);
        self.commit(None, None).await?;

        // PUSH
        self.step_start(StepKind::Push);
        self.commit(None, None).await?;
        let auth = if repository.registry.is_empty() {
            self.settings
                .registry_credentials
                .as_ref()
                .map(|c| PushAuth {
                    username: c.username.clone(),
                    password: c.password.clone(),
                })
        } else {
            None
        };
        let output = engine.push(&target, &version, auth.as_ref(), &registry);
        let (failure, digest) = self.drain(StepKind::Push, output).await?;
        let digest = match (failure, digest) {
            (None, Some(digest)) => digest,
            (failure, _) => {
                let message = failure.unwrap_or_else(|| "the registry announced no digest".into());
                self.step_end(StepKind::Push, StageState::Failed, None, &message);
                return Err(Stop::Failed(
                    FailureReason::PushFailed,
                    format!("the push failed: {message}"),
                ));
            }
        };
        let manifest = manifest_info(
            &registry,
            &repo_path,
            &digest,
            auth.as_ref(),
            repository.insecure,
        )
        .await;
        let (size_bytes, layer_count) = match manifest {
            Ok(info) => info,
            Err(message) => {
                self.log.system(
                    StepKind::Push,
                    &format!("warning: cannot read the pushed manifest: {message}"),
                );
                (0, 0)
            }
        };
        let base = docker::base_image(&dockerfile_text);
        let (platform, base_digests) = match engine.inspect(&tag).await {
            Some((platform, _)) => (
                platform,
                engine
                    .inspect(&base)
                    .await
                    .map(|(_, d)| d)
                    .unwrap_or_default(),
            ),
            None => (String::new(), Vec::new()),
        };
        let image_uri = format!("{tag}@{digest}");
        self.step_end(StepKind::Push, StageState::Succeeded, None, &image_uri);
        let name = image_name(&self.application.name, &version);
        self.image = Some(Image {
            name: name.clone(),
            uid: uuid::Uuid::new_v4().to_string(),
            display_name: version.clone(),
            create_time: Some(op::now()),
            update_time: Some(op::now()),
            version: version.clone(),
            build: self.build.name.clone(),
            build_number: self.build.build_number,
            commit_sha: commit.sha.clone(),
            r#ref: self.build.r#ref.clone(),
            image_uri: image_uri.clone(),
            digest: digest.clone(),
            size_bytes,
            layer_count,
            base_image: base,
            base_image_digest: base_digests
                .first()
                .and_then(|d| d.rsplit_once('@'))
                .map(|(_, d)| d.to_string())
                .unwrap_or_default(),
            platform,
            ..Default::default()
        });
        self.build.image = name;
        self.build.image_uri = image_uri;
        self.build.image_digest = digest;
        Ok(())
    }
}

/// Where images go, and the input cache.
impl Run<'_> {
    /// The image's repository settings, registry and repository path.
    fn image_target(
        &self,
        app_id: &str,
    ) -> Result<
        (
            ferry_proto::ferry::build::v1::ImageRepository,
            String,
            String,
        ),
        Stop,
    > {
        let repository = self
            .application
            .image_repository
            .clone()
            .unwrap_or_default();
        let registry = if repository.registry.is_empty() {
            self.settings.registry.clone()
        } else {
            repository.registry.clone()
        };
        if registry.is_empty() {
            return Err(Stop::Failed(
                FailureReason::InvalidConfig,
                "no registry: set image_repository.registry or configure FERRY_BUILD_REGISTRY"
                    .into(),
            ));
        }
        let repo_path = if repository.repository.is_empty() {
            format!("applications/{app_id}")
        } else {
            repository.repository.clone()
        };
        Ok((repository, registry, repo_path))
    }

    /// A registry client for the image's registry (its credentials when it is the
    /// built-in one).
    fn registry_client(
        &self,
        repository: &ferry_proto::ferry::build::v1::ImageRepository,
        registry: &str,
    ) -> Option<ferry_image::RegistryClient> {
        let credentials = self
            .settings
            .registry_credentials
            .as_ref()
            .filter(|_| repository.registry.is_empty())
            .map(|c| (c.username.as_str(), c.password.as_str()));
        crate::image::registry::client(
            registry,
            repository.insecure,
            credentials,
            Some(Duration::from_secs(30)),
        )
        .ok()
    }

    /// The fingerprint of the build's inputs on the Docker builder, or `None` when one
    /// cannot be pinned (then the build runs).
    async fn input_fingerprint(
        &self,
        app_id: &str,
        config: &ferry_proto::ferry::build::v1::BuildConfig,
        workspace: &[u8],
        builder_image_id: &str,
        engine: &BuilderEngine,
    ) -> Option<String> {
        let (repository, registry, repo_path) = self.image_target(app_id).ok()?;
        let mut secrets = Vec::new();
        for variable in &config.env {
            if let Some(ferry_proto::ferry::common::v1::env_var::Source::SecretRef(reference)) =
                &variable.source
            {
                let value = self.secret(reference, &variable.name).await.ok()?;
                secrets.push((variable.name.clone(), value));
            }
        }
        let mut bases = Vec::new();
        match config.mode.as_ref()? {
            Mode::Artifact(artifact) => {
                let client = self.registry_client(&repository, &registry)?;
                let reference: ferry_image::Reference = artifact.base_image.parse().ok()?;
                let pulled = client.get_manifest(&reference).await.ok()?;
                bases.push((artifact.base_image.clone(), pulled.digest.to_string()));
            }
            Mode::Dockerfile(dockerfile) => {
                let path = if dockerfile.dockerfile_path.is_empty() {
                    "Dockerfile"
                } else {
                    &dockerfile.dockerfile_path
                };
                let (_, text) = docker::files_matching(
                    workspace,
                    "workspace/",
                    &format!("{}{path}", context_dir(&dockerfile.context_path)),
                )
                .into_iter()
                .next()?;
                for base in super::inputs::dockerfile_bases(&String::from_utf8_lossy(&text))? {
                    let id = engine.image_id(&base).await?;
                    bases.push((base, id));
                }
            }
        }
        Some(super::inputs::fingerprint(&super::inputs::Inputs {
            builder: "docker",
            builder_image: builder_image_id,
            workspace,
            config: Some(config),
            target: &format!("{registry}/{repo_path}"),
            secrets,
            bases,
        }))
    }

    /// Records the image of the earlier build whose inputs had `fingerprint` as this
    /// build's (a new version tagged on the same manifest); `false` when there is none
    /// (or its manifest cannot be tagged), and the build runs.
    async fn reuse_image(&mut self, fingerprint: &str, commit: &CommitInfo) -> Result<bool, Stop> {
        let store = self.context.store.clone();
        let application = self.application.name.clone();
        let key = super::input_cache_key(&application, fingerprint);
        let Some(entry) = store.get(&key).await.map_err(ApiError::from)? else {
            return Ok(false);
        };
        let cached_name = String::from_utf8_lossy(&entry.value).into_owned();
        let Some((cached, _)) = typed::get_msg::<Image>(store.as_ref(), &image_key(&cached_name))
            .await
            .map_err(ApiError::from)?
        else {
            return Ok(false);
        };
        // `registry/repository:version@digest`: the same target as this build's (the
        // target is one of the inputs).
        let Some((cached_image, digest)) = cached
            .image_uri
            .parse::<ferry_image::Reference>()
            .ok()
            .and_then(|reference| {
                let digest = reference.digest()?.clone();
                let image =
                    ferry_image::Reference::new(reference.registry(), reference.repository(), None)
                        .ok()?;
                Some((image, digest))
            })
        else {
            return Ok(false);
        };
        let (registry, repo_path) = (cached_image.registry(), cached_image.repository());
        let target = format!("{registry}/{repo_path}");
        let app_id = model::application_id(&application).to_string();
        let (repository, _, _) = self.image_target(&app_id)?;
        let version = model::version(self.build.build_number, &commit.sha);
        let tag_result = async {
            let client = self
                .registry_client(&repository, registry)
                .ok_or_else(|| "no registry client".to_string())?;
            client
                .tag_manifest(&cached_image, &digest, &version)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(message) = tag_result {
            self.log.system(
                StepKind::Fetch,
                &format!("inputs unchanged since build {}, but its image cannot be tagged ({message}): building", cached.build_number),
            );
            return Ok(false);
        }
        let earlier = typed::get_msg::<Build>(
            store.as_ref(),
            &super::build_key(&application, cached.build_number),
        )
        .await
        .ok()
        .flatten()
        .map(|(build, _)| build);
        let reused = format!(
            "inputs unchanged since build {}: its image {digest} is reused",
            cached.build_number
        );
        self.log.system(
            StepKind::Fetch,
            &format!("{reused} (start the build with disable_cache to run it again)"),
        );
        for kind in [
            StepKind::Build,
            StepKind::Test,
            StepKind::Image,
            StepKind::Push,
        ] {
            self.step_end(kind, StageState::Skipped, None, &reused);
        }
        self.build.test_results = earlier.and_then(|build| build.test_results);
        self.build.cache = Some(CacheInfo {
            enabled: true,
            hit: true,
            ..Default::default()
        });
        let name = image_name(&application, &version);
        let image_uri = format!("{target}:{version}@{digest}");
        let now = op::now();
        self.image = Some(Image {
            name: name.clone(),
            uid: uuid::Uuid::new_v4().to_string(),
            display_name: version.clone(),
            create_time: Some(now),
            update_time: Some(now),
            version,
            build: self.build.name.clone(),
            build_number: self.build.build_number,
            commit_sha: commit.sha.clone(),
            r#ref: self.build.r#ref.clone(),
            image_uri: image_uri.clone(),
            digest: digest.to_string(),
            size_bytes: cached.size_bytes,
            layer_count: cached.layer_count,
            base_image: cached.base_image.clone(),
            base_image_digest: cached.base_image_digest.clone(),
            platform: cached.platform.clone(),
            ..Default::default()
        });
        self.build.image = name;
        self.build.image_uri = image_uri;
        self.build.image_digest = digest.to_string();
        Ok(true)
    }
}

/// The Kubernetes builder: one Job per build (see the module's documentation).
impl Run<'_> {
    /// Everything after the ref was resolved: the Job made, followed and checked.
    async fn kube_pipeline(
        &mut self,
        app_id: &str,
        commit: &CommitInfo,
        source: &ferry_proto::ferry::build::v1::GitSource,
        config: &ferry_proto::ferry::build::v1::BuildConfig,
        workspace: &[u8],
    ) -> Result<(), Stop> {
        let dockerfile = match config.mode.clone() {
            Some(Mode::Dockerfile(dockerfile)) => dockerfile,
            _ => {
                return Err(Stop::Failed(
                    FailureReason::InvalidConfig,
                    "build.dockerfile is required on the Kubernetes builder".into(),
                ));
            }
        };
        let all_settings: &BuildSettings = self.settings;
        let settings = &all_settings.kube;
        let namespace = settings.namespace.clone();
        let client = self
            .guarded(kube_run::client(settings))
            .await?
            .map_err(|m| {
                Stop::Failed(
                    FailureReason::BuilderLost,
                    format!("the builder cluster: {m}"),
                )
            })?;
        self.guarded(kube_run::ensure_namespace(&client, &namespace))
            .await?;

        // Where the image goes (as on Docker).
        let (repository, registry, repo_path) = self.image_target(app_id)?;
        let version = model::version(self.build.build_number, &commit.sha);
        let tag = format!("{registry}/{repo_path}:{version}");
        let login = if repository.registry.is_empty() {
            self.settings.registry_credentials.clone()
        } else {
            None
        };

        // Secrets: the source's credentials and the secret env, resolved here, kept in
        // the Job's Secret only.
        let mut secret_data = std::collections::BTreeMap::new();
        let git = match self.git_auth(source).await? {
            GitAuth::None => manifests::GitCredentials::None,
            GitAuth::Token { username, token } => {
                use base64::Engine as _;
                let user = if username.is_empty() {
                    "git".to_string()
                } else {
                    username
                };
                let basic =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
                self.log.mask(token.as_bytes());
                secret_data.insert(
                    "git-http-header".to_string(),
                    format!("Authorization: Basic {basic}").into_bytes(),
                );
                manifests::GitCredentials::Token
            }
            GitAuth::SshKey {
                private_key,
                known_hosts,
            } => {
                let mut key = private_key;
                if !key.ends_with('\n') {
                    key.push('\n');
                }
                secret_data.insert("ssh-private-key".to_string(), key.into_bytes());
                secret_data.insert(
                    "known-hosts".to_string(),
                    (known_hosts.join("\n") + "\n").into_bytes(),
                );
                manifests::GitCredentials::SshKey {
                    pinned: !known_hosts.is_empty(),
                }
            }
        };
        let mut env = Vec::new();
        for variable in &config.env {
            match &variable.source {
                Some(ferry_proto::ferry::common::v1::env_var::Source::Value(value)) => env.push(
                    manifests::EnvInput::Value(variable.name.clone(), value.clone()),
                ),
                Some(ferry_proto::ferry::common::v1::env_var::Source::SecretRef(reference)) => {
                    let value = self
                        .secret(reference, &format!("build.env {}", variable.name))
                        .await?;
                    if std::str::from_utf8(&value).is_err() {
                        return Err(Stop::Failed(
                            FailureReason::InvalidConfig,
                            format!("build.env {}: the secret is not UTF-8 text", variable.name),
                        ));
                    }
                    self.log.mask(&value);
                    secret_data.insert(manifests::env_key(&variable.name), value);
                    env.push(manifests::EnvInput::Secret(variable.name.clone()));
                }
                _ => {
                    return Err(Stop::Failed(
                        FailureReason::InvalidConfig,
                        format!("build.env {}: give a value or a secret_ref", variable.name),
                    ));
                }
            }
        }

        // BuildKit secrets: files of the build Secret, given to `buildctl --secret`.
        let mut build_secrets = Vec::new();
        for (index, secret) in dockerfile.secrets.iter().enumerate() {
            if secret.id.is_empty()
                || !secret
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                || build_secrets.contains(&secret.id)
            {
                return Err(Stop::Failed(
                    FailureReason::InvalidConfig,
                    format!(
                        "build.dockerfile.secrets[{index}].id {:?}: give a distinct id of \
                         letters, digits, '-', '_' or '.'",
                        secret.id
                    ),
                ));
            }
            let value = self
                .secret(
                    &secret.secret.clone().unwrap_or_default(),
                    &format!("build.dockerfile.secrets[{index}]"),
                )
                .await?;
            self.log.mask(&value);
            secret_data.insert(format!("buildkit.{}", secret.id), value);
            build_secrets.push(secret.id.clone());
        }

        // The cache claim.
        let cache_wanted =
            config.cache.as_ref().is_some_and(|c| c.enabled) && !self.spec.disable_cache;
        let cache_claim = if cache_wanted {
            let size = config.cache.as_ref().map_or(0, |c| c.size_bytes);
            let existed = self
                .guarded(kube_run::ensure_cache_claim(
                    &client, &namespace, app_id, size,
                ))
                .await?
                .map_err(|m| Stop::Failed(FailureReason::BuilderLost, m))?;
            let claim = manifests::cache_claim_name(app_id);
            self.build.cache = Some(CacheInfo {
                enabled: true,
                hit: existed,
                volume: format!("{namespace}/{claim}"),
                ..Default::default()
            });
            Some(claim)
        } else {
            self.build.cache = Some(CacheInfo::default());
            None
        };

        let builder_image = if config.builder_image.is_empty() {
            self.settings.builder_image.clone()
        } else {
            config.builder_image.clone()
        };
        let resources = config.resources.unwrap_or_default();
        let timeout = config
            .timeout
            .filter(|t| t.seconds > 0)
            .map_or(DEFAULT_TIMEOUT.as_secs() as i64, |t| t.seconds);
        let input = manifests::JobInput {
            application: app_id.to_string(),
            build_number: self.build.build_number,
            build_name: self.build.name.clone(),
            namespace: namespace.clone(),
            repository_url: source.repository_url.clone(),
            commit_sha: commit.sha.clone(),
            sub_directory: source.sub_directory.trim_matches('/').to_string(),
            git,
            fetch_image: self.settings.builder_image.clone(),
            builder_image: builder_image.clone(),
            build_script: config.build_script.clone(),
            test_script: config.test.as_ref().map(|t| t.script.clone()),
            junit_report_path: config
                .test
                .as_ref()
                .map(|t| t.junit_report_path.clone())
                .unwrap_or_default(),
            env,
            context_path: dockerfile.context_path.clone(),
            dockerfile_path: dockerfile.dockerfile_path.clone(),
            build_args: dockerfile.build_args.clone().into_iter().collect(),
            build_secrets,
            target: dockerfile.target.clone(),
            image_tag: tag.clone(),
            insecure_registry: repository.insecure || ferry_image::is_loopback(&registry),
            registry_credentials: login.is_some(),
            buildkit_image: settings.buildkit_image.clone(),
            cache_claim,
            resources: manifests::Resources {
                request_cpu_millis: resources.requests.map_or(0, |r| r.cpu_millis),
                request_memory_bytes: resources.requests.map_or(0, |r| r.memory_bytes),
                limit_cpu_millis: resources.limits.map_or(0, |r| r.cpu_millis),
                limit_memory_bytes: resources.limits.map_or(0, |r| r.memory_bytes),
                request_ephemeral_bytes: resources
                    .requests
                    .map_or(0, |r| r.ephemeral_storage_bytes),
                limit_ephemeral_bytes: resources.limits.map_or(0, |r| r.ephemeral_storage_bytes),
            },
            deadline_seconds: timeout,
        };
        let name = manifests::job_name(app_id, self.build.build_number);
        self.build.builder_host = format!("kubernetes:{namespace}/jobs/{name}");
        self.build.builder_image = builder_image;
        if config.build_script.trim().is_empty() {
            self.step_end(
                StepKind::Build,
                StageState::Skipped,
                None,
                "no build script",
            );
        }
        if config.test.is_none() {
            self.step_end(StepKind::Test, StageState::Skipped, None, "no test script");
        }
        self.log.system(
            StepKind::Fetch,
            &format!(
                "builder Job {namespace}/{name}: fetch, {}{}image ({})",
                if config.build_script.trim().is_empty() {
                    ""
                } else {
                    "build, "
                },
                if config.test.is_some() { "test, " } else { "" },
                settings.buildkit_image
            ),
        );
        // From here on the Job is removed at the end unless it finished.
        self.kube_job = Some(KubeJob {
            client: client.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
            finished: false,
        });
        let registry_login = login.as_ref().map(|c| kube_run::RegistryLogin {
            registry: &registry,
            username: &c.username,
            password: &c.password,
        });
        self.guarded(kube_run::create(
            &client,
            &input,
            secret_data,
            registry_login,
        ))
        .await?
        .map_err(|m| Stop::Failed(FailureReason::BuilderLost, m))?;
        self.commit(None, None).await?;

        self.follow_job(&client, &namespace, &name, commit, config)
            .await?;

        // PUSH: what the image container pushed, read back from the registry.
        self.step_start(StepKind::Push);
        self.commit(None, None).await?;
        self.log
            .system(StepKind::Push, &format!("reading {tag} from the registry"));
        let auth = login.as_ref().map(|c| PushAuth {
            username: c.username.clone(),
            password: c.password.clone(),
        });
        let pushed = self
            .guarded(pushed_image(
                &registry,
                &repo_path,
                &version,
                auth.as_ref(),
                repository.insecure,
            ))
            .await?;
        let (digest, platform) = match pushed {
            Ok(found) => found,
            Err(message) => {
                self.step_end(StepKind::Push, StageState::Failed, None, &message);
                return Err(Stop::Failed(
                    FailureReason::PushFailed,
                    format!(
                        "the builder Job completed but {tag} is not in the registry: {message}"
                    ),
                ));
            }
        };
        let (size_bytes, layer_count) = match manifest_info(
            &registry,
            &repo_path,
            &digest,
            auth.as_ref(),
            repository.insecure,
        )
        .await
        {
            Ok(info) => info,
            Err(message) => {
                self.log.system(
                    StepKind::Push,
                    &format!("warning: cannot read the pushed manifest: {message}"),
                );
                (0, 0)
            }
        };
        let dockerfile_path = if dockerfile.dockerfile_path.is_empty() {
            "Dockerfile".to_string()
        } else {
            dockerfile.dockerfile_path.clone()
        };
        let base = docker::files_matching(
            workspace,
            "workspace/",
            &format!("{}{dockerfile_path}", context_dir(&dockerfile.context_path)),
        )
        .into_iter()
        .next()
        .map(|(_, content)| docker::base_image(&String::from_utf8_lossy(&content)))
        .unwrap_or_default();
        let image_uri = format!("{tag}@{digest}");
        self.log
            .system(StepKind::Push, &format!("pushed manifest {digest}"));
        self.step_end(StepKind::Push, StageState::Succeeded, None, &image_uri);
        let image_name = image_name(&self.application.name, &version);
        self.image = Some(Image {
            name: image_name.clone(),
            uid: uuid::Uuid::new_v4().to_string(),
            display_name: version.clone(),
            create_time: Some(op::now()),
            update_time: Some(op::now()),
            version: version.clone(),
            build: self.build.name.clone(),
            build_number: self.build.build_number,
            commit_sha: commit.sha.clone(),
            r#ref: self.build.r#ref.clone(),
            image_uri: image_uri.clone(),
            digest: digest.clone(),
            size_bytes,
            layer_count,
            base_image: base,
            platform,
            ..Default::default()
        });
        self.build.image = image_name;
        self.build.image_uri = image_uri;
        self.build.image_digest = digest;
        Ok(())
    }

    /// Follows the Job until its `image` container succeeded and the Job is complete,
    /// recording each container's start and end as its step's.
    async fn follow_job(
        &mut self,
        client: &kube::Client,
        namespace: &str,
        name: &str,
        commit: &CommitInfo,
        config: &ferry_proto::ferry::build::v1::BuildConfig,
    ) -> Result<(), Stop> {
        let mut started: std::collections::HashSet<String> = ["fetch".to_string()].into();
        let mut ended: std::collections::HashSet<String> = Default::default();
        let mut followers: std::collections::HashMap<String, Follower> = Default::default();
        let mut last_waiting: Option<String> = None;
        let mut failures = 0;
        // Whether the Job ended by itself (complete, past its deadline, or gone).
        let mut job_over = false;
        let result = loop {
            self.drain_followers(&mut followers);
            let observed = self
                .guarded(kube_run::observe(client, namespace, name))
                .await?;
            let observation = match observed {
                Ok(observation) => {
                    failures = 0;
                    observation
                }
                Err(message) => {
                    failures += 1;
                    tracing::warn!(job = %name, %message, "cannot read the builder Job");
                    if failures >= 60 {
                        break Err(Stop::Failed(FailureReason::BuilderLost, message));
                    }
                    self.pause().await?;
                    continue;
                }
            };
            if observation.waiting != last_waiting {
                if let Some(waiting) = &observation.waiting {
                    let kind = self.current_step();
                    self.log.system(kind, &format!("waiting: {waiting}"));
                }
                last_waiting = observation.waiting.clone();
            }
            let mut stop = None;
            for (container, state) in &observation.containers {
                let kind = step_of_container(container);
                if matches!(state, ContainerState::Waiting(_)) {
                    break;
                }
                if started.insert(container.clone()) {
                    self.step_start(kind);
                    if let Err(error) = self.commit(None, None).await {
                        stop = Some(Stop::from(error));
                        break;
                    }
                }
                if !followers.contains_key(container)
                    && let Some(pod) = &observation.pod
                {
                    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
                    let task = kube_run::follow_logs(client, namespace, pod, container, sender);
                    followers.insert(
                        container.clone(),
                        Follower {
                            kind,
                            receiver,
                            task,
                        },
                    );
                }
                let ContainerState::Terminated {
                    exit_code,
                    reason,
                    message,
                } = state
                else {
                    break;
                };
                if !ended.insert(container.clone()) {
                    continue;
                }
                if let Some(follower) = followers.get_mut(container) {
                    let _ = tokio::time::timeout(LOG_TAIL_WAIT, &mut follower.task).await;
                }
                self.drain_followers(&mut followers);
                if let Err(failure) =
                    self.container_end(container, *exit_code, reason, message, commit, config)
                {
                    stop = Some(failure);
                    break;
                }
                if let Err(error) = self.commit(None, None).await {
                    stop = Some(Stop::from(error));
                    break;
                }
            }
            if let Some(stop) = stop {
                break Err(stop);
            }
            match observation.outcome {
                None => {}
                Some(Outcome::Succeeded) => {
                    job_over = true;
                    // Steps whose end was not seen (statuses already gone).
                    for (container, _) in &observation.containers {
                        if ended.insert(container.clone()) {
                            let kind = step_of_container(container);
                            if started.insert(container.clone()) {
                                self.step_start(kind);
                            }
                            self.step_end(kind, StageState::Succeeded, None, "the Job completed");
                        }
                    }
                    break Ok(());
                }
                Some(Outcome::TimedOut(message)) => {
                    job_over = true;
                    let kind = self.current_step();
                    self.log.system(kind, &message);
                    break Err(Stop::TimedOut);
                }
                Some(Outcome::Failed {
                    container,
                    exit_code,
                    message,
                }) => {
                    let reason = match &container {
                        Some(container) => {
                            let kind = step_of_container(container);
                            if !ended.contains(container) {
                                self.step_end(kind, StageState::Failed, exit_code, &message);
                            }
                            reason_of_container(container)
                        }
                        None => FailureReason::BuilderLost,
                    };
                    break Err(Stop::Failed(reason, message));
                }
                Some(Outcome::CannotStart { container, message }) => {
                    break Err(Stop::Failed(
                        FailureReason::InvalidConfig,
                        format!(
                            "the {container} container of the builder Job cannot start: {message}"
                        ),
                    ));
                }
                Some(Outcome::Lost(message)) => {
                    job_over = true;
                    break Err(Stop::Failed(
                        FailureReason::BuilderLost,
                        format!("{message}: it was deleted outside the build service"),
                    ));
                }
            }
            self.pause().await?;
        };
        // A Job that ended by itself (or is gone) is not deleted, only its Secrets.
        if job_over && let Some(job) = &mut self.kube_job {
            job.finished = true;
        }
        for (_, follower) in followers.drain() {
            follower.task.abort();
        }
        result
    }

    /// Records the end of a Job container; an error when it failed the build.
    fn container_end(
        &mut self,
        container: &str,
        exit_code: i32,
        reason: &str,
        message: &str,
        commit: &CommitInfo,
        config: &ferry_proto::ferry::build::v1::BuildConfig,
    ) -> Result<(), Stop> {
        let kind = step_of_container(container);
        match kind {
            StepKind::Fetch if exit_code == 0 => {
                self.step_end(
                    kind,
                    StageState::Succeeded,
                    None,
                    &format!("commit {}", model::short_sha(&commit.sha)),
                );
                Ok(())
            }
            StepKind::Test => {
                let junit = config
                    .test
                    .as_ref()
                    .map(|t| t.junit_report_path.clone())
                    .unwrap_or_default();
                let reports = if junit.is_empty() || message.trim().is_empty() {
                    Vec::new()
                } else {
                    vec![(junit, message.as_bytes().to_vec())]
                };
                let results = match super::junit::results(exit_code, &reports) {
                    Ok(results) => results,
                    Err(error) => {
                        self.log.system(
                            kind,
                            &format!(
                                "warning: {error} (the report is read from the container's termination message, at most {} bytes); using the exit code",
                                manifests::TERMINATION_MESSAGE_LIMIT
                            ),
                        );
                        super::junit::results(exit_code, &[]).unwrap_or_default()
                    }
                };
                let passed = results.passed;
                let summary = format!(
                    "{} tests, {} failures, {} errors, exit code {exit_code}",
                    results.tests, results.failures, results.errors
                );
                self.build.test_results = Some(results);
                if passed {
                    self.step_end(kind, StageState::Succeeded, Some(exit_code), &summary);
                    Ok(())
                } else {
                    self.step_end(kind, StageState::Failed, Some(exit_code), &summary);
                    Err(Stop::Failed(
                        FailureReason::TestsFailed,
                        format!("tests failed: {summary}"),
                    ))
                }
            }
            StepKind::Image if exit_code == 0 => {
                self.step_end(
                    kind,
                    StageState::Succeeded,
                    None,
                    "built and pushed by BuildKit",
                );
                Ok(())
            }
            _ if exit_code == 0 => {
                self.step_end(kind, StageState::Succeeded, Some(0), "");
                Ok(())
            }
            _ => {
                let text = format!(
                    "exit code {exit_code}{}",
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(" ({reason})")
                    }
                );
                self.step_end(kind, StageState::Failed, Some(exit_code), &text);
                let what = match kind {
                    StepKind::Fetch => "the fetch in the builder Job failed",
                    StepKind::Build => "the build script failed",
                    _ => "the image build (BuildKit) failed",
                };
                Err(Stop::Failed(
                    reason_of_container(container),
                    format!("{what}: {text}"),
                ))
            }
        }
    }

    /// Writes what the log followers brought.
    fn drain_followers(&mut self, followers: &mut std::collections::HashMap<String, Follower>) {
        for follower in followers.values_mut() {
            while let Ok(piece) = follower.receiver.try_recv() {
                match piece {
                    LogPiece::Line(bytes) => {
                        self.log.write(follower.kind, LogStream::Stdout, &bytes)
                    }
                    LogPiece::Note(note) => self.log.system(follower.kind, &note),
                }
            }
        }
    }

    /// The step running now (the last one started), for log notes.
    fn current_step(&self) -> StepKind {
        self.build
            .steps
            .iter()
            .rev()
            .find(|s| s.state() == StageState::Running)
            .and_then(|s| StepKind::try_from(s.kind).ok())
            .unwrap_or(StepKind::Fetch)
    }

    /// Waits one poll period, flushing the log; stops on cancel or stop.
    async fn pause(&mut self) -> Result<(), Stop> {
        self.log.flush().await?;
        self.guarded(tokio::time::sleep(KUBE_POLL)).await
    }
}

/// The digest of `repository:tag` in `registry` and the image's platform (`os/arch`).
async fn pushed_image(
    registry: &str,
    repository: &str,
    tag: &str,
    auth: Option<&PushAuth>,
    insecure: bool,
) -> Result<(String, String), String> {
    let client = crate::image::registry::client(
        registry,
        insecure,
        auth.map(|a| (a.username.as_str(), a.password.as_str())),
        Some(Duration::from_secs(60)),
    )?;
    let reference =
        ferry_image::Reference::new(registry, repository, Some(tag)).map_err(|e| e.to_string())?;
    let pulled = client
        .get_manifest(&reference)
        .await
        .map_err(|e| e.to_string())?;
    let platform = match client.get_config(&reference, &pulled.manifest).await {
        Ok(config) => format!("{}/{}", config.os, config.architecture),
        Err(_) => String::new(),
    };
    Ok((pulled.digest.to_string(), platform))
}

/// Where an artifact image goes.
struct ArtifactTarget<'a> {
    registry: &'a str,
    repository: &'a str,
    version: &'a str,
    credentials: Option<(String, String)>,
    insecure: bool,
    previous: Option<&'a str>,
}

fn context_dir(context_path: &str) -> String {
    let context = context_path.trim_matches('/').trim_start_matches("./");
    if context.is_empty() || context == "." {
        String::new()
    } else {
        format!("{context}/")
    }
}

/// The size (manifest, config and layers) and layer count of a pushed manifest, read
/// from the registry (OCI distribution API).
async fn manifest_info(
    registry: &str,
    repository: &str,
    digest: &str,
    auth: Option<&PushAuth>,
    insecure: bool,
) -> Result<(i64, i32), String> {
    let loopback = registry.starts_with("127.")
        || registry.starts_with("localhost")
        || registry.starts_with("[::1]");
    let scheme = if insecure || loopback {
        "http"
    } else {
        "https"
    };
    let url = format!("{scheme}://{registry}/v2/{repository}/manifests/{digest}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(&url).header(
        "Accept",
        "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
    );
    if let Some(auth) = auth {
        request = request.basic_auth(&auth.username, Some(&auth.password));
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url}: {}", response.status()));
    }
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    let manifest: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let size_of = |v: &serde_json::Value| v.get("size").and_then(|s| s.as_i64()).unwrap_or(0);
    let layers = manifest
        .get("layers")
        .and_then(|l| l.as_array())
        .cloned()
        .unwrap_or_default();
    let size = body.len() as i64
        + manifest.get("config").map(size_of).unwrap_or(0)
        + layers.iter().map(size_of).sum::<i64>();
    Ok((size, layers.len() as i32))
}

fn failure_error(reason: FailureReason, message: &str) -> ApiError {
    ApiError::new(
        Code::FailedPrecondition,
        ErrorReason::InvalidState,
        message.to_string(),
    )
    .with_metadata("failure_reason", reason.as_str_name())
}

/// Polls the build's Operation for a cancel request (and the build for its removal).
fn watch_cancel(
    context: &ReconcileContext,
    operation: String,
    key: String,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let store = context.store.clone();
    let stop = context.stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(RUN_POLL) => {}
            }
            let requested =
                match typed::get_msg::<Operation>(store.as_ref(), &operation_key(&operation)).await
                {
                    Ok(Some((operation, _))) => op::cancel_requested(&operation),
                    Ok(None) => false,
                    Err(_) => false,
                };
            let removed = matches!(store.get(&key).await, Ok(None));
            if requested || removed {
                cancel.cancel();
                return;
            }
        }
    })
}

impl BuildRunner {
    /// Removes the oldest finished builds (with their specs and logs) beyond the
    /// application's `retention.max_builds` (default 100), counting `ending` builds about
    /// to end; builds whose image is kept, and queued or running builds, stay.
    async fn prune(
        &self,
        context: &ReconcileContext,
        application: &Application,
        ending: usize,
    ) -> Result<(), ApiError> {
        let keep = application
            .retention
            .map(|r| r.max_builds)
            .filter(|n| *n > 0)
            .unwrap_or(100) as usize;
        let (builds, _) = typed::list_all_msgs::<Build>(
            context.store.as_ref(),
            &super::builds_prefix_of(&application.name),
            500,
        )
        .await?;
        let finished: Vec<&Build> = builds
            .iter()
            .map(|(_, b, _)| b)
            .filter(|b| model::is_terminal(b.state()))
            .collect();
        if finished.len() + ending <= keep {
            return Ok(());
        }
        let (images, _) = typed::list_all_msgs::<Image>(
            context.store.as_ref(),
            &crate::image::images_prefix_of(&application.name),
            500,
        )
        .await?;
        let excess = finished.len() + ending - keep;
        for build in finished
            .into_iter()
            .filter(|b| !images.iter().any(|(_, i, _)| i.build == b.name))
            .take(excess)
        {
            let number = build.build_number;
            let txn = Txn::new()
                .when(context.fence.clone())
                .delete(super::build_key(&application.name, number))
                .delete(spec_key(&application.name, number));
            if context.store.txn(txn).await.is_ok() {
                context
                    .store
                    .delete_prefix(&log_prefix(&application.name, number))
                    .await?;
                tracing::info!(build = %build.name, "old build removed (retention)");
            }
        }
        Ok(())
    }

    /// Removes the oldest images beyond the application's `retention.max_images` (0 keeps
    /// all), counting the `incoming` image about to be recorded; images that are deployed
    /// or part of an unfinished promotion stay. Their manifests leave the built-in
    /// registry when no other record (the incoming one included) has their digest.
    async fn prune_images(
        &self,
        context: &ReconcileContext,
        application: &Application,
        incoming: Option<&Image>,
    ) -> Result<(), ApiError> {
        let keep = application.retention.map(|r| r.max_images).unwrap_or(0);
        if keep <= 0 {
            return Ok(());
        }
        let keep = keep as usize;
        let (mut images, _) = typed::list_all_msgs::<Image>(
            context.store.as_ref(),
            &crate::image::images_prefix_of(&application.name),
            500,
        )
        .await?;
        if images.len() + usize::from(incoming.is_some()) <= keep {
            return Ok(());
        }
        images.sort_by_key(|(_, image, _)| image.build_number);
        let all: Vec<Image> = images.iter().map(|(_, i, _)| i.clone()).collect();
        let deployed = crate::image::usage::deployed_images(context.store.as_ref(), &all).await?;
        let promotions =
            crate::promotion::api::promotions_of(context.store.as_ref(), &application.name)
                .await
                .map_err(ApiError::from)?;
        let registry = crate::image::registry::BuiltinRegistry {
            address: self.settings.registry.clone(),
            credentials: self.settings.registry_credentials.clone(),
        };
        let mut excess = images.len() + usize::from(incoming.is_some()) - keep;
        for (key, image, revision) in &images {
            if excess == 0 {
                break;
            }
            let held = deployed.iter().any(|(name, _)| *name == image.name)
                || promotions
                    .iter()
                    .any(|p| p.image == image.name && crate::promotion::model::holds_image(p));
            if held {
                continue;
            }
            let txn = Txn::new()
                .when(context.fence.clone())
                .when(Precondition::ModRevision(key.clone(), *revision))
                .delete(key.clone());
            if context.store.txn(txn).await.is_err() {
                continue;
            }
            excess -= 1;
            tracing::info!(image = %image.name, "old image removed (retention)");
            let shared = all
                .iter()
                .chain(incoming)
                .any(|other| other.digest == image.digest && other.name != image.name);
            if !shared
                && let Some(repository) = registry.repository_of(&image.image_uri)
                && let Err(message) = registry.delete_manifest(repository, &image.digest).await
            {
                tracing::warn!(image = %image.name, %message, "cannot delete the image's manifest from the registry");
            }
        }
        Ok(())
    }

    async fn update_application(
        &self,
        context: &ReconcileContext,
        build: &Build,
        image: Option<&Image>,
    ) {
        let (application, _) = match model::parse_build_name("name", &build.name) {
            Ok(parsed) => parsed,
            Err(_) => return,
        };
        let key = application_key(&application);
        for _ in 0..8 {
            let Ok(Some((mut app, revision))) =
                typed::get_msg::<Application>(context.store.as_ref(), &key).await
            else {
                return;
            };
            let summary = model::summary(build);
            if app
                .last_build
                .as_ref()
                .is_none_or(|b| b.build_number <= build.build_number)
            {
                app.last_build = Some(summary.clone());
            }
            if build.state() == State::Succeeded {
                app.last_successful_build = Some(summary);
            }
            if let Some(image) = image {
                app.latest_image = image.name.clone();
            }
            if let Some(commit) = &build.commit
                && model::is_development_build(build, &app)
            {
                app.last_seen_commit = commit.sha.clone();
            }
            app.update_time = Some(op::now());
            app.etag.clear();
            let txn = Txn::new()
                .when(context.fence.clone())
                .when(Precondition::ModRevision(key.clone(), revision))
                .put(key.clone(), app.encode_to_vec());
            match context.store.txn(txn).await {
                Ok(_) => return,
                Err(StoreError::Conflict { key: conflicting }) if conflicting == key => continue,
                // Leadership lost, or the application is gone: nothing to record.
                Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => return,
                Err(error) => {
                    tracing::warn!(%error, application = %application, "cannot record the last build in the application");
                    return;
                }
            }
        }
    }

    /// Ends a build that is not running here (cancelled while queued, or lost).
    async fn end_without_run(
        &self,
        context: &ReconcileContext,
        key: &str,
        mut build: Build,
        revision: i64,
        (state, reason, message): (State, FailureReason, &str),
    ) -> Result<Action, ApiError> {
        model::finish(&mut build, state, reason, message, op::now());
        build.etag.clear();
        let mut txn = Txn::new()
            .when(context.fence.clone())
            .when(Precondition::ModRevision(key.to_string(), revision))
            .put(key, build.encode_to_vec());
        if let Some((mut operation, op_revision)) =
            typed::get_msg::<Operation>(context.store.as_ref(), &operation_key(&build.operation))
                .await?
            && !operation.done
        {
            model::sync_operation(&mut operation, &build);
            let error = if state == State::Cancelled {
                ApiError::new(
                    Code::Cancelled,
                    ErrorReason::InvalidState,
                    "build cancelled",
                )
            } else {
                failure_error(reason, message)
            };
            op::fail(&mut operation, error);
            operation.etag.clear();
            txn = txn
                .when(Precondition::ModRevision(
                    operation_key(&build.operation),
                    op_revision,
                ))
                .put(operation_key(&build.operation), operation.encode_to_vec());
        }
        match context.store.txn(txn).await {
            Ok(_) => {}
            // The build or its Operation changed: the watch brings the key back.
            Err(StoreError::Conflict { .. }) => {
                return Ok(Action::RequeueAfter(Duration::from_millis(100)));
            }
            Err(error) => return Err(error.into()),
        }
        tracing::info!(build = %build.name, state = ?state, "build ended without running here");
        self.update_application(context, &build, None).await;
        Ok(Action::Done)
    }
}

#[async_trait::async_trait]
impl Reconciler for BuildRunner {
    fn name(&self) -> &'static str {
        "build-runs"
    }

    fn prefix(&self) -> String {
        builds_prefix()
    }

    fn wants(&self, kv: &KeyValue) -> bool {
        Build::decode(kv.value.as_slice()).is_ok_and(|build| !model::is_terminal(build.state()))
    }

    async fn reconcile(
        &self,
        context: &ReconcileContext,
        key: &str,
        kv: Option<KeyValue>,
    ) -> Result<Action, ApiError> {
        let Some(kv) = kv else {
            return Ok(Action::Done);
        };
        let (mut build, revision) = typed::decode_kv::<Build>(&kv)?;
        if model::is_terminal(build.state()) {
            return Ok(Action::Done);
        }
        let (application, number) = model::parse_build_name("name", &build.name)?;
        let operation =
            typed::get_msg::<Operation>(context.store.as_ref(), &operation_key(&build.operation))
                .await?;
        let cancel_requested = operation
            .as_ref()
            .is_some_and(|(o, _)| op::cancel_requested(o));
        if build.state() == State::Running {
            // The runner that started it is gone: nothing is resumed.
            if self.settings.builder == BuilderKind::Kubernetes {
                match kube_run::client(&self.settings.kube).await {
                    Ok(client) => {
                        kube_run::delete(
                            &client,
                            &self.settings.kube.namespace,
                            &manifests::job_name(model::application_id(&application), number),
                            false,
                        )
                        .await
                    }
                    Err(message) => {
                        tracing::warn!(%message, build = %build.name, "cannot delete the orphaned builder Job")
                    }
                }
            } else if let Some(endpoint) = &self.settings.docker_host
                && let Ok(engine) = BuilderEngine::connect(endpoint).await
            {
                engine
                    .remove(&BuilderEngine::container_name(
                        model::application_id(&application),
                        number,
                        &build.uid,
                    ))
                    .await;
            }
            let (state, reason, message) = if cancel_requested {
                (
                    State::Cancelled,
                    FailureReason::Unspecified,
                    "cancelled while its builder was lost",
                )
            } else {
                (
                    State::Failed,
                    FailureReason::BuilderLost,
                    "the build service running this build stopped before it ended; start a new build",
                )
            };
            return self
                .end_without_run(context, key, build, revision, (state, reason, message))
                .await;
        }
        if cancel_requested {
            return self
                .end_without_run(
                    context,
                    key,
                    build,
                    revision,
                    (
                        State::Cancelled,
                        FailureReason::Unspecified,
                        "cancelled before it started",
                    ),
                )
                .await;
        }
        let Some((spec, _)) =
            typed::get_msg::<BuildSpec>(context.store.as_ref(), &spec_key(&application, number))
                .await?
        else {
            return self
                .end_without_run(
                    context,
                    key,
                    build,
                    revision,
                    (
                        State::Failed,
                        FailureReason::Internal,
                        "the build's spec is missing",
                    ),
                )
                .await;
        };
        let others: Vec<Build> = typed::list_all_msgs::<Build>(
            context.store.as_ref(),
            &super::builds_prefix_of(&application),
            500,
        )
        .await?
        .0
        .into_iter()
        .map(|(_, b, _)| b)
        .collect();
        let position = model::queue_position(&build, &others);
        if position > 1 {
            if build.queue_position != position {
                build.queue_position = position;
                build.etag.clear();
                let txn = Txn::new()
                    .when(context.fence.clone())
                    .when(Precondition::ModRevision(key.to_string(), revision))
                    .put(key, build.encode_to_vec());
                let _ = context.store.txn(txn).await;
            }
            return Ok(Action::RequeueAfter(QUEUE_POLL));
        }
        // Start.
        build.state = State::Running as i32;
        build.queue_position = 0;
        build.start_time = Some(op::now());
        build.builder_host = match self.settings.builder {
            BuilderKind::Docker => self.settings.docker_host.clone().unwrap_or_default(),
            BuilderKind::Kubernetes => format!("kubernetes:{}", self.settings.kube.namespace),
        };
        let log = LogWriter::new(
            context.store.clone(),
            context.fence.clone(),
            log_prefix(&application, number),
            0,
        );
        let mut run = Run {
            context,
            settings: &self.settings,
            key: key.to_string(),
            build,
            revision,
            application: spec.application.clone().unwrap_or_default(),
            spec: spec.clone(),
            log,
            cancel: CancellationToken::new(),
            container: None,
            kube_job: None,
            image: None,
            fingerprint: None,
        };
        run.commit(None, None).await?;
        tracing::info!(build = %run.build.name, "build started");
        self.update_application(context, &run.build, None).await;
        let watcher = watch_cancel(
            context,
            run.build.operation.clone(),
            key.to_string(),
            run.cancel.clone(),
        );
        let timeout = run
            .application
            .build
            .as_ref()
            .and_then(|b| b.timeout)
            .filter(|t| t.seconds > 0)
            .map_or(DEFAULT_TIMEOUT, |t| Duration::from_secs(t.seconds as u64));
        // On Kubernetes the Job's own deadline ends the build; this one is a safety net.
        let limit = match self.settings.builder {
            BuilderKind::Docker => timeout,
            BuilderKind::Kubernetes => timeout + KUBE_TIMEOUT_GRACE,
        };
        let outcome = match tokio::time::timeout(limit, run.pipeline()).await {
            Ok(result) => result,
            Err(_) => Err(Stop::TimedOut),
        };
        watcher.abort();
        // The builder container goes whatever happened (its processes are killed).
        if let Some((engine, container)) = run.container.take() {
            engine.remove(&container).await;
        }
        // The builder Job goes unless it ended by itself (kept for its TTL); its
        // Secrets go whatever happened.
        if let Some(job) = run.kube_job.take() {
            kube_run::delete(&job.client, &job.namespace, &job.name, job.finished).await;
        }
        let (state, reason, message) = match outcome {
            Ok(()) => (State::Succeeded, FailureReason::Unspecified, String::new()),
            Err(Stop::Lost) => {
                tracing::warn!(build = %run.build.name, "lost leadership while running a build; the next leader ends it");
                return Ok(Action::Done);
            }
            Err(Stop::Cancelled) => (
                State::Cancelled,
                FailureReason::Unspecified,
                "cancelled".to_string(),
            ),
            Err(Stop::TimedOut) => (
                State::Failed,
                FailureReason::TimedOut,
                format!(
                    "the build ran longer than its timeout ({}s)",
                    timeout.as_secs()
                ),
            ),
            Err(Stop::Failed(reason, message)) => (State::Failed, reason, message),
        };
        let step = run
            .build
            .steps
            .iter()
            .find(|s| s.state() == StageState::Running)
            .map(|s| StepKind::try_from(s.kind).unwrap_or(StepKind::Fetch))
            .unwrap_or(StepKind::Push);
        if state != State::Succeeded {
            run.log.system(
                step,
                &format!(
                    "build {}: {message}",
                    state
                        .as_str_name()
                        .trim_start_matches("STATE_")
                        .to_lowercase()
                ),
            );
        } else {
            run.log.system(StepKind::Push, "build succeeded");
        }
        model::finish(&mut run.build, state, reason, &message, op::now());
        // The development flow starts the rollouts before the build's end is recorded,
        // so that the Operation's response lists them. A crash between the two leaves
        // a rollout of an image without a record (the build ends BUILDER_LOST).
        if state == State::Succeeded
            && let Some(after) = &self.after
        {
            run.build = after.succeeded(context, run.build.clone(), &spec).await;
        }
        // Old builds go first, so that the build's end is the last thing clients see.
        if let Err(error) = self.prune(context, &run.application, 1).await {
            tracing::warn!(%error, application = %run.application.name, "cannot remove old builds");
        }
        if state == State::Succeeded
            && let Err(error) = self
                .prune_images(context, &run.application, run.image.as_ref())
                .await
        {
            tracing::warn!(%error, application = %run.application.name, "cannot remove old images");
        }
        let image = if state == State::Succeeded {
            run.image.clone()
        } else {
            None
        };
        let extra = image
            .as_ref()
            .map(|image| (image_key(&image.name), image.encode_to_vec()));
        let final_build = run.build.clone();
        let result = match state {
            State::Succeeded => {
                let finish = move |operation: &mut Operation| {
                    op::succeed(operation, "ferry.build.v1.Build", &final_build)
                };
                run.commit(Some(&finish), extra).await
            }
            State::Cancelled => {
                let finish = |operation: &mut Operation| {
                    op::fail(
                        operation,
                        ApiError::new(
                            Code::Cancelled,
                            ErrorReason::InvalidState,
                            "build cancelled",
                        ),
                    )
                };
                run.commit(Some(&finish), None).await
            }
            _ => {
                let error = failure_error(reason, &message);
                let finish = move |operation: &mut Operation| op::fail(operation, error.clone());
                run.commit(Some(&finish), None).await
            }
        };
        if let Err(error) = result {
            if error.code == Code::Aborted {
                return Ok(Action::Done);
            }
            return Err(error);
        }
        tracing::info!(build = %run.build.name, state = ?state, "build ended");
        // The input cache learns the image these inputs made (best effort: a lost entry
        // only means a later build runs).
        if let (Some(fingerprint), Some(image)) = (&run.fingerprint, &image) {
            let key = super::input_cache_key(&run.application.name, fingerprint);
            if let Err(error) = context
                .store
                .put(&key, image.name.as_bytes().to_vec(), None)
                .await
            {
                tracing::warn!(%error, build = %run.build.name, "cannot record the build's inputs");
            }
        }
        let recorded = run.build.clone();
        self.update_application(context, &recorded, image.as_ref())
            .await;

        Ok(Action::Done)
    }
}
