//! Pure rules of builds: names, the record a new build starts as, its steps, the image
//! version, the queue, and how a build ends. No IO here.

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_proto::ferry::build::v1::build::{self, FailureReason, State, Step, StepKind, Trigger};
use ferry_proto::ferry::build::v1::{Application, Build, BuildProgress, BuildSummary};
use ferry_proto::ferry::common::v1::{Operation, StageState};
use prost_types::Timestamp;

use crate::application::model::APPLICATION_NAME;

/// The stages of a build's Operation: the build steps, in order.
pub const STAGES: &[(&str, &str)] = &[
    ("fetch", "Fetch the source"),
    ("build", "Run the build script"),
    ("test", "Run the tests"),
    ("image", "Make the image"),
    ("push", "Push the image"),
];

/// The steps of a build, in order.
pub const STEPS: [StepKind; 5] = [
    StepKind::Fetch,
    StepKind::Build,
    StepKind::Test,
    StepKind::Image,
    StepKind::Push,
];

/// What a build was asked to do, kept next to it (immutable once written): the
/// application as it was when the build was created, and the request's flags.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BuildSpec {
    /// The application at create time.
    #[prost(message, optional, tag = "1")]
    pub application: Option<Application>,
    /// Run without the build cache.
    #[prost(bool, tag = "2")]
    pub disable_cache: bool,
    /// Do not auto-deploy.
    #[prost(bool, tag = "3")]
    pub skip_auto_deploy: bool,
    /// Build exactly this commit (webhook and poll builds); empty resolves the ref.
    #[prost(string, tag = "4")]
    pub exact_commit: String,
}

/// The last build number given for an application.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BuildCounter {
    /// The last number given (0 before the first build).
    #[prost(int64, tag = "1")]
    pub last: i64,
}

/// The stage id of a step.
pub fn stage_id(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Fetch | StepKind::Unspecified => "fetch",
        StepKind::Build => "build",
        StepKind::Test => "test",
        StepKind::Image => "image",
        StepKind::Push => "push",
    }
}

/// Parses `applications/{application}/builds/{number}`; returns the application's
/// name and the number.
pub fn parse_build_name(field: &str, name: &str) -> Result<(String, i64), ApiError> {
    let invalid = || {
        ApiError::invalid_name(
            field,
            format!("{name:?} does not match applications/{{application}}/builds/{{build}}"),
        )
    };
    if name.is_empty() {
        return Err(ApiError::invalid_name(
            field,
            "is required (expected applications/{application}/builds/{build})",
        ));
    }
    let (parent, number) = name.rsplit_once("/builds/").ok_or_else(invalid)?;
    APPLICATION_NAME.parse(field, parent)?;
    let valid_number = !number.is_empty()
        && number.len() <= 12
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0');
    if !valid_number {
        return Err(invalid());
    }
    Ok((parent.to_string(), number.parse().map_err(|_| invalid())?))
}

/// The name of build `number` of `application`.
pub fn build_name(application: &str, number: i64) -> String {
    format!("{application}/builds/{number}")
}

/// The id of the application (`web` of `applications/web`).
pub fn application_id(application: &str) -> &str {
    application.rsplit('/').next().unwrap_or_default()
}

/// The image version of a build: `{build_number}-{short_sha}`.
pub fn version(number: i64, sha: &str) -> String {
    format!("{number}-{}", short_sha(sha))
}

/// The first 7 hex digits of a sha.
pub fn short_sha(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// True once a build has ended.
pub fn is_terminal(state: State) -> bool {
    matches!(state, State::Succeeded | State::Failed | State::Cancelled)
}

/// Checks a requested ref (empty = the application's).
pub fn validate_ref(field: &str, git_ref: &str) -> Result<(), ApiError> {
    if git_ref.is_empty() || crate::application::model::is_valid_ref(git_ref) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("{git_ref:?} is not a valid branch, tag or commit"),
        ))
    }
}

/// What a new build needs besides the application.
#[derive(Clone, Debug, Default)]
pub struct NewBuild {
    /// The requested ref (empty = the application's `source.ref`).
    pub git_ref: String,
    /// Display name, labels and annotations from the request.
    pub display_name: String,
    /// Labels.
    pub labels: std::collections::HashMap<String, String>,
    /// Annotations.
    pub annotations: std::collections::HashMap<String, String>,
    /// What started it.
    pub trigger: Trigger,
}

/// The record a new build starts as (QUEUED, every step PENDING).
pub fn new_build(
    application: &Application,
    number: i64,
    input: NewBuild,
    operation: &str,
    now: Timestamp,
) -> Build {
    let source_ref = application
        .source
        .as_ref()
        .map(|s| s.r#ref.clone())
        .unwrap_or_default();
    Build {
        name: build_name(&application.name, number),
        uid: uuid::Uuid::new_v4().to_string(),
        display_name: if input.display_name.is_empty() {
            format!("#{number}")
        } else {
            input.display_name
        },
        labels: input.labels,
        annotations: input.annotations,
        create_time: Some(now),
        update_time: Some(now),
        r#ref: if input.git_ref.is_empty() {
            source_ref
        } else {
            input.git_ref
        },
        build_number: number,
        trigger: Some(input.trigger),
        repository_url: application
            .source
            .as_ref()
            .map(|s| s.repository_url.clone())
            .unwrap_or_default(),
        application_generation: application.generation,
        state: State::Queued as i32,
        reconciling: true,
        steps: STEPS
            .iter()
            .map(|kind| Step {
                kind: *kind as i32,
                state: StageState::Pending as i32,
                ..Default::default()
            })
            .collect(),
        operation: operation.to_string(),
        ..Default::default()
    }
}

/// True when the build builds the application's development ref (auto-deployed).
pub fn is_development_build(build: &Build, application: &Application) -> bool {
    let source_ref = application
        .source
        .as_ref()
        .map(|s| s.r#ref.as_str())
        .unwrap_or_default();
    build.r#ref == source_ref
}

/// The step record of `kind`.
pub fn step_mut(build: &mut Build, kind: StepKind) -> &mut Step {
    let index = build
        .steps
        .iter()
        .position(|s| s.kind == kind as i32)
        .unwrap_or_else(|| {
            build.steps.push(Step {
                kind: kind as i32,
                ..Default::default()
            });
            build.steps.len() - 1
        });
    &mut build.steps[index]
}

/// Ends a build: its state, reason and message, every unfinished step closed.
pub fn finish(
    build: &mut Build,
    state: State,
    reason: FailureReason,
    message: &str,
    now: Timestamp,
) {
    build.state = state as i32;
    build.reconciling = false;
    build.queue_position = 0;
    build.failure_reason = reason as i32;
    build.failure_message = message.to_string();
    build.end_time = Some(now);
    build.update_time = Some(now);
    for step in &mut build.steps {
        if matches!(step.state(), StageState::Pending | StageState::Running) {
            step.state = match (state, step.state()) {
                (State::Cancelled, _) => StageState::Cancelled,
                (State::Failed, StageState::Running) => StageState::Failed,
                (_, _) => StageState::Skipped,
            } as i32;
            if step.end_time.is_none() && step.start_time.is_some() {
                step.end_time = Some(now);
            }
        }
    }
}

/// The progress packed into the Operation's metadata.
pub fn progress(build: &Build) -> BuildProgress {
    BuildProgress {
        build: build.name.clone(),
        build_number: build.build_number,
        state: build.state,
        queue_position: build.queue_position,
        current_step: build
            .steps
            .iter()
            .find(|s| s.state() == StageState::Running)
            .map(|s| s.kind)
            .unwrap_or_default(),
        steps: build.steps.clone(),
        commit: build.commit.clone(),
        log_size_bytes: build.log_size_bytes,
        test_results: build.test_results.clone(),
    }
}

/// Copies the build's steps and progress into its Operation. Pure.
pub fn sync_operation(operation: &mut Operation, build: &Build) {
    for step in &build.steps {
        let kind = StepKind::try_from(step.kind).unwrap_or(StepKind::Unspecified);
        let stage = stage_id(kind);
        let current = operation
            .metadata
            .as_ref()
            .and_then(|m| m.stages.iter().find(|s| s.id == stage))
            .map(|s| (s.state, s.message.clone()));
        if current != Some((step.state, step.message.clone())) {
            ferry_ops::operation::set_stage(operation, stage, step.state(), &step.message);
        }
    }
    if let Some(metadata) = operation.metadata.as_mut() {
        metadata.details = Some(prost_types::Any {
            type_url: "type.googleapis.com/ferry.build.v1.BuildProgress".to_string(),
            value: prost::Message::encode_to_vec(&progress(build)),
        });
    }
}

/// A short view of a build.
pub fn summary(build: &Build) -> BuildSummary {
    BuildSummary {
        build: build.name.clone(),
        build_number: build.build_number,
        state: build.state,
        commit_sha: build
            .commit
            .as_ref()
            .map(|c| c.sha.clone())
            .unwrap_or_default(),
        r#ref: build.r#ref.clone(),
        create_time: build.create_time,
        end_time: build.end_time,
    }
}

/// Where a queued build stands: 1 when it may start now (no earlier build of the
/// application is queued or running). `others` are the application's other builds.
pub fn queue_position(build: &Build, others: &[Build]) -> i32 {
    let ahead = others
        .iter()
        .filter(|other| other.name != build.name)
        .filter(|other| match other.state() {
            State::Running => true,
            State::Queued => other.build_number < build.build_number,
            _ => false,
        })
        .count();
    ahead as i32 + 1
}

/// The commit record of a build from git's answer.
pub fn commit(info: &crate::build::git::CommitInfo) -> build::Commit {
    build::Commit {
        sha: info.sha.clone(),
        short_sha: short_sha(&info.sha).to_string(),
        resolved_ref: info.resolved_ref.clone(),
        message: info.message.clone(),
        author_name: info.author_name.clone(),
        author_email: info.author_email.clone(),
        commit_time: Some(Timestamp {
            seconds: info.time,
            nanos: 0,
        }),
    }
}

/// The etag of a stored build.
pub fn with_etag(mut build: Build, revision: i64) -> Build {
    build.etag = aip::etag(revision);
    build
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_names_parse() {
        assert_eq!(
            parse_build_name("name", "applications/web/builds/42").unwrap(),
            ("applications/web".to_string(), 42)
        );
        for bad in [
            "",
            "applications/web/builds/",
            "applications/web/builds/04",
            "applications/web/builds/x",
            "applications/Web/builds/1",
            "builds/1",
        ] {
            assert!(parse_build_name("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn queue_is_first_in_first_out_behind_the_running_build() {
        let app = Application {
            name: "applications/web".into(),
            ..Default::default()
        };
        let make = |n, state: State| Build {
            state: state as i32,
            ..new_build(&app, n, NewBuild::default(), "", Timestamp::default())
        };
        let running = make(1, State::Running);
        let second = make(2, State::Queued);
        let third = make(3, State::Queued);
        let all = vec![running.clone(), second.clone(), third.clone()];
        assert_eq!(queue_position(&second, &all), 2);
        assert_eq!(queue_position(&third, &all), 3);
        let done = vec![make(1, State::Failed), second.clone(), third.clone()];
        assert_eq!(queue_position(&second, &done), 1);
    }

    #[test]
    fn finishing_closes_unfinished_steps() {
        let app = Application {
            name: "applications/web".into(),
            ..Default::default()
        };
        let mut build = new_build(&app, 1, NewBuild::default(), "", Timestamp::default());
        step_mut(&mut build, StepKind::Fetch).state = StageState::Succeeded as i32;
        step_mut(&mut build, StepKind::Build).state = StageState::Running as i32;
        finish(
            &mut build,
            State::Failed,
            FailureReason::BuildScriptFailed,
            "exit 1",
            Timestamp::default(),
        );
        assert_eq!(build.steps[1].state(), StageState::Failed);
        assert_eq!(build.steps[2].state(), StageState::Skipped);
        assert!(!build.reconciling);
        assert_eq!(version(12, "a1b2c3d4e5"), "12-a1b2c3d");
    }
}
