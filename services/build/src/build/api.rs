//! The `ferry.build.v1.BuildService` gRPC adapter: builds created (a build record, its
//! spec and its Operation in one transaction), read, listed, cancelled, and their logs
//! streamed from etcd.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::Operations;
use ferry_ops::operation::{self as op, operation_key};
use ferry_proto::ferry::build::v1::application::State as AppState;
use ferry_proto::ferry::build::v1::build::{FailureReason, State, StepKind, Trigger, trigger};
use ferry_proto::ferry::build::v1::build_service_server::{BuildService, BuildServiceServer};
use ferry_proto::ferry::build::v1::{
    Application, Build, BuildLogChunk, CancelBuildRequest, CreateBuildRequest, GetBuildRequest,
    ListBuildsRequest, ListBuildsResponse, StreamBuildLogsRequest,
};
use ferry_proto::ferry::common::v1::{ErrorReason, LogChunk, Operation};
use ferry_store::{Precondition, Store, StoreError, Txn, typed};
use futures::Stream;
use prost::Message as _;
use tonic::{Code, Request, Response, Status};

use super::model::{self, BuildCounter, BuildSpec, NewBuild};
use super::{build_key, builds_prefix_of, counter_key, log_prefix, logs, spec_key};
use crate::application::api::read_application;
use crate::application::model::APPLICATION_NAME;
use crate::error::{BuildError, status};

/// Serves builds.
#[derive(Clone)]
pub struct BuildApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
}

/// Reads a build by name with its etag.
pub async fn read_build(store: &dyn Store, name: &str) -> Result<(Build, i64), BuildError> {
    let (application, number) = model::parse_build_name("name", name)?;
    match typed::get_msg::<Build>(store, &build_key(&application, number)).await? {
        Some((build, revision)) => Ok((model::with_etag(build, revision), revision)),
        None => Err(BuildError::NotFound(name.to_string())),
    }
}

/// Every build of an application, oldest first.
pub async fn list_builds_of(
    store: &dyn Store,
    application: &str,
) -> Result<Vec<(Build, i64)>, BuildError> {
    Ok(
        typed::list_all_msgs::<Build>(store, &builds_prefix_of(application), 500)
            .await?
            .0
            .into_iter()
            .map(|(_, build, revision)| (model::with_etag(build, revision), revision))
            .collect(),
    )
}

/// Whether `sha` was built (not failed or cancelled) or is about to be (a queued or
/// running build of exactly that commit).
pub async fn commit_built_or_pending(
    store: &dyn Store,
    application: &str,
    sha: &str,
) -> Result<bool, ApiError> {
    for (build, _) in list_builds_of(store, application)
        .await
        .map_err(ApiError::from)?
    {
        if build.commit.as_ref().is_some_and(|c| c.sha == sha)
            && !matches!(build.state(), State::Failed | State::Cancelled)
        {
            return Ok(true);
        }
        if !model::is_terminal(build.state())
            && let Some((spec, _)) =
                typed::get_msg::<BuildSpec>(store, &spec_key(application, build.build_number))
                    .await?
            && spec.exact_commit == sha
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// What starts a build, whatever the trigger.
pub struct BuildRequest {
    /// The build's fields from the caller.
    pub new: NewBuild,
    /// Wait in the queue (true) or refuse when another build is queued or running.
    pub queue: bool,
    /// Run without the cache.
    pub disable_cache: bool,
    /// Do not auto-deploy.
    pub skip_auto_deploy: bool,
    /// Build exactly this commit.
    pub exact_commit: String,
}

/// Creates a build of `application`: the build (QUEUED), its spec, its Operation and
/// the next build number in one transaction. Returns the Operation and the build.
pub async fn create_build(
    store: &dyn Store,
    application: &Application,
    request: BuildRequest,
) -> Result<(Operation, Build), ApiError> {
    if application.state() == AppState::Deleting {
        return Err(ApiError::failed_precondition(
            ErrorReason::InvalidState,
            &application.name,
            format!("{} is being deleted", application.name),
        ));
    }
    for _attempt in 0..16 {
        let builds = list_builds_of(store, &application.name)
            .await
            .map_err(ApiError::from)?;
        if !request.queue && builds.iter().any(|(b, _)| !model::is_terminal(b.state())) {
            return Err(ApiError::new(
                Code::Aborted,
                ErrorReason::OperationInProgress,
                format!(
                    "another build of {} is queued or running (queue = false)",
                    application.name
                ),
            )
            .with_metadata("resource", &application.name));
        }
        let counter =
            typed::get_msg::<BuildCounter>(store, &counter_key(&application.name)).await?;
        let (last, counter_guard) = match &counter {
            Some((counter, revision)) => (
                counter.last,
                Precondition::ModRevision(counter_key(&application.name), *revision),
            ),
            None => (0, Precondition::Absent(counter_key(&application.name))),
        };
        let number = last + 1;
        let name = model::build_name(&application.name, number);
        let mut operation =
            op::new_operation(&name, "create", model::STAGES, &request.new.trigger.actor);
        let mut build = model::new_build(
            application,
            number,
            request.new.clone(),
            &operation.name,
            op::now(),
        );
        model::sync_operation(&mut operation, &build);
        let spec = BuildSpec {
            application: Some(application.clone()),
            disable_cache: request.disable_cache,
            skip_auto_deploy: request.skip_auto_deploy,
            exact_commit: request.exact_commit.clone(),
        };
        let key = build_key(&application.name, number);
        let txn = Operations::create_txn(&operation)
            .when(counter_guard)
            .when(Precondition::Absent(key.clone()))
            .put(
                counter_key(&application.name),
                BuildCounter { last: number }.encode_to_vec(),
            )
            .put(spec_key(&application.name, number), spec.encode_to_vec())
            .put(key, build.encode_to_vec());
        match store.txn(txn).await {
            Ok(revision) => {
                operation.etag = aip::etag(revision);
                build.etag = aip::etag(revision);
                tracing::info!(build = %build.name, "build queued");
                return Ok((operation, build));
            }
            // Another build took the number: take the next one.
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::concurrent_modification(&application.name))
}

impl BuildApi {
    /// Serves builds from `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        Self { store, idempotency }
    }

    /// The tonic server.
    pub fn into_server(self) -> BuildServiceServer<Self> {
        BuildServiceServer::new(self)
    }

    async fn create(&self, request: CreateBuildRequest) -> Result<Operation, BuildError> {
        aip::validate_request_id(&request.request_id)?;
        APPLICATION_NAME.parse("parent", &request.parent)?;
        let input = request.build.clone().unwrap_or_default();
        model::validate_ref("build.ref", &input.r#ref)?;
        let (application, _) = read_application(self.store.as_ref(), &request.parent).await?;
        let build_request = BuildRequest {
            new: NewBuild {
                git_ref: input.r#ref.clone(),
                display_name: input.display_name.clone(),
                labels: input.labels.clone(),
                annotations: input.annotations.clone(),
                trigger: Trigger {
                    r#type: trigger::Type::Api as i32,
                    actor: "api".to_string(),
                    ..Default::default()
                },
            },
            queue: request.queue.unwrap_or(true),
            disable_cache: request.disable_cache,
            skip_auto_deploy: request.skip_auto_deploy,
            exact_commit: String::new(),
        };
        if request.validate_only {
            if !build_request.queue {
                let builds = list_builds_of(self.store.as_ref(), &application.name).await?;
                if builds.iter().any(|(b, _)| !model::is_terminal(b.state())) {
                    return Err(ApiError::new(
                        Code::Aborted,
                        ErrorReason::OperationInProgress,
                        format!("another build of {} is queued or running", application.name),
                    )
                    .into());
                }
            }
            let mut operation = op::new_operation(
                &format!("{}/builds/0", application.name),
                "create",
                model::STAGES,
                "",
            );
            operation.name.clear();
            return Ok(operation);
        }
        let store = self.store.clone();
        self.idempotency
            .run(
                "ferry.build.v1.BuildService/CreateBuild",
                &request.request_id,
                &request,
                || async move {
                    create_build(store.as_ref(), &application, build_request)
                        .await
                        .map(|(operation, _)| operation)
                },
            )
            .await
            .map_err(BuildError::from)
    }

    async fn list(&self, request: ListBuildsRequest) -> Result<ListBuildsResponse, BuildError> {
        APPLICATION_NAME.parse("parent", &request.parent)?;
        let limit = aip::page_size(request.page_size)?;
        let state_filter = parse_filter(&request.filter)?;
        let ascending = match request.order_by.trim() {
            "" | "build_number desc" | "create_time desc" => false,
            "build_number" | "build_number asc" | "create_time" | "create_time asc" => true,
            _ => {
                return Err(ApiError::invalid_field(
                    "order_by",
                    "order by build_number or create_time (asc or desc)",
                )
                .into());
            }
        };
        let fingerprint =
            aip::request_fingerprint(&[&request.parent, &request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let mut builds: Vec<Build> = list_builds_of(self.store.as_ref(), &request.parent)
            .await?
            .into_iter()
            .map(|(b, _)| b)
            .filter(|b| state_filter.is_none_or(|s| s == b.state()))
            .collect();
        if !ascending {
            builds.reverse();
        }
        let total_size = builds.len() as i32;
        let start = match &token {
            Some(token) => builds
                .iter()
                .position(|b| b.name == token.last)
                .map_or(builds.len(), |p| p + 1),
            None => 0,
        };
        let mut page: Vec<Build> = builds.into_iter().skip(start).take(limit + 1).collect();
        let next_page_token = if page.len() > limit {
            page.truncate(limit);
            aip::encode_page_token(&page[limit - 1].name, 1, &fingerprint)
        } else {
            String::new()
        };
        Ok(ListBuildsResponse {
            builds: page,
            next_page_token,
            total_size,
        })
    }

    async fn cancel(&self, request: CancelBuildRequest) -> Result<Build, BuildError> {
        aip::validate_request_id(&request.request_id)?;
        let (application, number) = model::parse_build_name("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        let (build, revision) = read_build(self.store.as_ref(), &request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if model::is_terminal(build.state()) {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &request.name,
                format!("{} has already ended ({:?})", request.name, build.state()),
            )
            .into());
        }
        if request.validate_only {
            return Ok(build);
        }
        let store = self.store.clone();
        let name = request.name.clone();
        self.idempotency
            .run(
                "ferry.build.v1.BuildService/CancelBuild",
                &request.request_id,
                &request,
                || async move {
                    let operations = Operations::new(store.clone());
                    if build.state() == State::Queued {
                        // Not started: cancelled at once, build and Operation together.
                        let (mut operation, op_revision) = operations.get(&build.operation).await?;
                        let mut cancelled = build.clone();
                        model::finish(
                            &mut cancelled,
                            State::Cancelled,
                            FailureReason::Unspecified,
                            "cancelled before it started",
                            op::now(),
                        );
                        cancelled.etag.clear();
                        model::sync_operation(&mut operation, &cancelled);
                        op::fail(
                            &mut operation,
                            ApiError::new(
                                Code::Cancelled,
                                ErrorReason::InvalidState,
                                "build cancelled",
                            ),
                        );
                        operation.etag.clear();
                        let key = build_key(&application, number);
                        let txn = Txn::new()
                            .when(Precondition::ModRevision(key.clone(), revision))
                            .when(Precondition::ModRevision(
                                operation_key(&build.operation),
                                op_revision,
                            ))
                            .put(key, cancelled.encode_to_vec())
                            .put(operation_key(&build.operation), operation.encode_to_vec());
                        return match store.txn(txn).await {
                            Ok(new_revision) => Ok(model::with_etag(cancelled, new_revision)),
                            Err(StoreError::Conflict { .. }) => {
                                Err(ApiError::concurrent_modification(&name))
                            }
                            Err(error) => Err(error.into()),
                        };
                    }
                    // Running: the runner sees the request, stops the builder and ends the build.
                    operations.request_cancel(&build.operation).await?;
                    Ok(build)
                },
            )
            .await
            .map_err(BuildError::from)
    }
}

/// The filters ListBuilds understands: empty, or `state = <STATE>`.
fn parse_filter(filter: &str) -> Result<Option<State>, ApiError> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        ApiError::new(Code::InvalidArgument, ErrorReason::InvalidFilter, format!("invalid filter {filter:?}: use `state = FAILED` (or QUEUED, RUNNING, SUCCEEDED, CANCELLED)"))
            .with_field_violation("filter", "only `state = <STATE>` is supported")
    };
    let (field, value) = filter.split_once('=').ok_or_else(invalid)?;
    if field.trim() != "state" {
        return Err(invalid());
    }
    let value = value.trim().trim_matches('"');
    State::from_str_name(&format!("STATE_{}", value.trim_start_matches("STATE_")))
        .filter(|s| *s != State::Unspecified)
        .map(Some)
        .ok_or_else(invalid)
}

type LogStream = Pin<Box<dyn Stream<Item = Result<BuildLogChunk, Status>> + Send>>;

/// How often a following log stream looks for new output.
const FOLLOW_POLL: Duration = Duration::from_millis(300);

fn chunk_of(record: &logs::LogRecord, from: i64) -> BuildLogChunk {
    let skip = (from - record.offset).clamp(0, record.data.len() as i64) as usize;
    let data = record.data[skip..].to_vec();
    let offset = record.offset + skip as i64;
    BuildLogChunk {
        chunk: Some(LogChunk {
            offset,
            next_offset: offset + data.len() as i64,
            data,
            stream: record.stream,
            time: record.time,
            end_of_log: false,
            truncated: false,
        }),
        step: record.step,
        final_state: 0,
    }
}

#[tonic::async_trait]
impl BuildService for BuildApi {
    async fn create_build(
        &self,
        request: Request<CreateBuildRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(
            self.create(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn get_build(
        &self,
        request: Request<GetBuildRequest>,
    ) -> Result<Response<Build>, Status> {
        let (build, _) = read_build(self.store.as_ref(), &request.into_inner().name)
            .await
            .map_err(status)?;
        Ok(Response::new(build))
    }

    async fn list_builds(
        &self,
        request: Request<ListBuildsRequest>,
    ) -> Result<Response<ListBuildsResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn cancel_build(
        &self,
        request: Request<CancelBuildRequest>,
    ) -> Result<Response<Build>, Status> {
        Ok(Response::new(
            self.cancel(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn stream_build_logs(
        &self,
        request: Request<StreamBuildLogsRequest>,
    ) -> Result<Response<LogStream>, Status> {
        let request = request.into_inner();
        let (application, number) =
            model::parse_build_name("name", &request.name).map_err(status)?;
        read_build(self.store.as_ref(), &request.name)
            .await
            .map_err(status)?;
        let step_filter = StepKind::try_from(request.step).unwrap_or(StepKind::Unspecified);
        let prefix = log_prefix(&application, number);
        let store = self.store.clone();
        let name = request.name.clone();
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<BuildLogChunk, Status>>(16);
        tokio::spawn(async move {
            let mut position = request.offset;
            let mut first = true;
            let mut last_key: Option<String> = None;
            loop {
                // Read the state first: output written before the build ended is then
                // all in the listing below.
                let state = match read_build(store.as_ref(), &name).await {
                    Ok((build, _)) => build.state(),
                    Err(error) => {
                        let _ = sender.send(Err(status(error))).await;
                        return;
                    }
                };
                let (records, end) = match logs::read_after(
                    store.as_ref(),
                    &prefix,
                    position.max(0),
                    last_key.clone(),
                )
                .await
                {
                    Ok(read) => read,
                    Err(error) => {
                        let _ = sender.send(Err(error.into())).await;
                        return;
                    }
                };
                if first {
                    first = false;
                    if position < 0 {
                        position = (end + position).max(0);
                    }
                    position = position.min(end);
                }
                if let Some(last) = records.last() {
                    last_key = Some(logs::chunk_key(&prefix, last.offset));
                }
                for record in &records {
                    let record_end = record.offset + record.data.len() as i64;
                    if record_end <= position {
                        continue;
                    }
                    if step_filter != StepKind::Unspecified && record.step != step_filter as i32 {
                        position = record_end;
                        continue;
                    }
                    let chunk = chunk_of(record, position);
                    position = record_end;
                    if sender.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
                if model::is_terminal(state) {
                    let end_chunk = BuildLogChunk {
                        chunk: Some(LogChunk {
                            offset: position,
                            next_offset: position,
                            end_of_log: true,
                            ..Default::default()
                        }),
                        step: 0,
                        final_state: state as i32,
                    };
                    let _ = sender.send(Ok(end_chunk)).await;
                    return;
                }
                if !request.follow {
                    return;
                }
                tokio::select! {
                    _ = sender.closed() => return,
                    _ = tokio::time::sleep(FOLLOW_POLL) => {}
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        )))
    }
}
