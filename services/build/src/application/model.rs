//! Pure rules of the application resource: validation of what clients send (each error
//! names the offending field), defaults, and how an update changes a stored application.
//! No IO here.

use std::collections::HashMap;

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::build::v1::application::State;
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::git_credentials::Method;
use ferry_proto::ferry::build::v1::{Application, GitSource, WebhookProvider};
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::common::v1::env_var::Source;
use prost_types::Timestamp;

/// `applications/{application}`.
pub const APPLICATION_NAME: NamePattern = NamePattern("applications/{application}");
/// `namespaces/{namespace}/deployments/{deployment}`.
pub const DEPLOYMENT_NAME: NamePattern =
    NamePattern("namespaces/{namespace}/deployments/{deployment}");
/// `namespaces/{namespace}`.
pub const NAMESPACE_NAME: NamePattern = NamePattern("namespaces/{namespace}");

/// Fields UpdateApplication may change (top-level and the nested paths it understands).
pub const UPDATABLE_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "source",
    "source.repository_url",
    "source.ref",
    "source.sub_directory",
    "source.credentials",
    "source.fetch_submodules",
    "source.fetch_depth",
    "build",
    "build.build_script",
    "build.test",
    "build.dockerfile",
    "build.artifact",
    "build.builder_image",
    "build.env",
    "build.cache",
    "build.resources",
    "build.timeout",
    "image_repository",
    "auto_deploy",
    "auto_deploy.deployments",
    "production_flow",
    "polling",
    "polling.interval",
    "webhook",
    "webhook.enabled",
    "webhook.providers",
    "webhook.secret",
    "retention",
];

/// Longest display name.
const MAX_DISPLAY_NAME: usize = 63;
/// Longest label or annotation value, script, or other free text.
const MAX_TEXT: usize = 64 * 1024;
/// Most labels or annotations.
const MAX_ENTRIES: usize = 64;
/// Longest build timeout.
const MAX_TIMEOUT_SECONDS: i64 = 24 * 3600;

fn invalid(field: &str, prefix: &str, description: impl Into<String>) -> ApiError {
    ApiError::invalid_field(format!("{prefix}.{field}"), description)
}

/// True for a git ref a client may ask for: a branch, tag, full ref or commit sha.
/// Refs starting with `-` are refused (they would read as options of the git CLI).
pub fn is_valid_ref(git_ref: &str) -> bool {
    !git_ref.is_empty()
        && git_ref.len() <= 255
        && !git_ref.starts_with('-')
        && !git_ref.starts_with('/')
        && !git_ref.ends_with('/')
        && !git_ref.ends_with(".lock")
        && !git_ref.contains("..")
        && !git_ref.contains("@{")
        && !git_ref.contains("//")
        && git_ref.bytes().all(|b| {
            b.is_ascii_graphic() && !matches!(b, b'~' | b'^' | b':' | b'?' | b'*' | b'[' | b'\\')
        })
}

/// The kind of a repository URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlKind {
    /// `https://` (or `http://`).
    Https,
    /// `ssh://` or scp-like `user@host:path`.
    Ssh,
    /// A local path or `file://`.
    Local,
}

/// Classifies a repository URL; `None` when it is none of the accepted forms.
pub fn url_kind(url: &str) -> Option<UrlKind> {
    if url.is_empty()
        || url.starts_with('-')
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let rest_ok = |rest: &str| rest.len() > 1 && !rest.starts_with('/');
    if let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    {
        return rest_ok(rest).then_some(UrlKind::Https);
    }
    if let Some(rest) = url.strip_prefix("ssh://") {
        return rest_ok(rest).then_some(UrlKind::Ssh);
    }
    if let Some(rest) = url.strip_prefix("file://") {
        return (rest.starts_with('/') && rest.len() > 1).then_some(UrlKind::Local);
    }
    if url.starts_with('/') {
        return (url.len() > 1).then_some(UrlKind::Local);
    }
    // scp-like: user@host:path
    match url.split_once(':') {
        Some((user_host, path))
            if user_host.contains('@') && !path.is_empty() && !user_host.contains('/') =>
        {
            Some(UrlKind::Ssh)
        }
        _ => None,
    }
}

fn validate_source(source: Option<&GitSource>, prefix: &str) -> Result<(), ApiError> {
    let Some(source) = source else {
        return Err(invalid("source", prefix, "is required"));
    };
    let prefix = format!("{prefix}.source");
    let Some(kind) = url_kind(&source.repository_url) else {
        return Err(invalid(
            "repository_url",
            &prefix,
            if source.repository_url.is_empty() {
                "is required".to_string()
            } else {
                format!(
                    "{:?} is not a repository URL: use https://…, ssh://…, user@host:path, file:///… or an absolute path",
                    source.repository_url
                )
            },
        ));
    };
    if !source.r#ref.is_empty() && !is_valid_ref(&source.r#ref) {
        return Err(invalid(
            "ref",
            &prefix,
            format!("{:?} is not a valid branch, tag or commit", source.r#ref),
        ));
    }
    if !source.sub_directory.is_empty() && !is_valid_sub_directory(&source.sub_directory) {
        return Err(invalid(
            "sub_directory",
            &prefix,
            "must be a relative path inside the repository (no leading `/`, no `..`)",
        ));
    }
    if source.fetch_depth < 0 {
        return Err(invalid("fetch_depth", &prefix, "must not be negative"));
    }
    if let Some(credentials) = &source.credentials {
        match (&credentials.method, kind) {
            (None, _) => return Err(invalid("credentials", &prefix, "set ssh_key or token")),
            (Some(Method::SshKey(key)), UrlKind::Ssh) => {
                if key.private_key.as_ref().is_none_or(|s| s.secret.is_empty()) {
                    return Err(invalid(
                        "credentials.ssh_key.private_key",
                        &prefix,
                        "is required",
                    ));
                }
            }
            (Some(Method::Token(token)), UrlKind::Https) => {
                if token.token.as_ref().is_none_or(|s| s.secret.is_empty()) {
                    return Err(invalid("credentials.token.token", &prefix, "is required"));
                }
            }
            (Some(_), _) => {
                return Err(invalid(
                    "credentials",
                    &prefix,
                    "does not fit the repository URL: ssh_key needs an ssh URL, token an https URL",
                ));
            }
        }
    }
    Ok(())
}

/// True for a relative path that stays inside the repository.
pub fn is_valid_sub_directory(path: &str) -> bool {
    !path.starts_with('/')
        && !path.starts_with('-')
        && path.len() <= 1024
        && path
            .split('/')
            .all(|segment| segment != ".." && !segment.contains('\0'))
        && !path.chars().any(|c| c.is_control())
}

fn validate_relative(path: &str, field: &str, prefix: &str) -> Result<(), ApiError> {
    if !path.is_empty() && !is_valid_sub_directory(path) {
        return Err(invalid(
            field,
            prefix,
            "must be a relative path inside the workspace (no leading `/`, no `..`)",
        ));
    }
    Ok(())
}

fn validate_build(application: &Application, prefix: &str) -> Result<(), ApiError> {
    let Some(build) = &application.build else {
        return Err(invalid("build", prefix, "is required"));
    };
    let prefix = format!("{prefix}.build");
    if build.build_script.len() > MAX_TEXT {
        return Err(invalid(
            "build_script",
            &prefix,
            format!("longer than {MAX_TEXT} bytes"),
        ));
    }
    if let Some(test) = &build.test {
        if test.script.trim().is_empty() {
            return Err(invalid(
                "test.script",
                &prefix,
                "is required when test is set",
            ));
        }
        if test.script.len() > MAX_TEXT {
            return Err(invalid(
                "test.script",
                &prefix,
                format!("longer than {MAX_TEXT} bytes"),
            ));
        }
        validate_relative(&test.junit_report_path, "test.junit_report_path", &prefix)?;
    }
    match &build.mode {
        None => {
            return Err(invalid(
                "mode",
                &prefix,
                "set dockerfile or artifact: how the image is made",
            ));
        }
        Some(Mode::Dockerfile(dockerfile)) => {
            validate_relative(
                &dockerfile.dockerfile_path,
                "dockerfile.dockerfile_path",
                &prefix,
            )?;
            validate_relative(&dockerfile.context_path, "dockerfile.context_path", &prefix)?;
            for secret in &dockerfile.secrets {
                if secret.id.is_empty()
                    || secret.secret.as_ref().is_none_or(|s| s.secret.is_empty())
                {
                    return Err(invalid(
                        "dockerfile.secrets",
                        &prefix,
                        "each secret needs an id and a secret",
                    ));
                }
            }
        }
        Some(Mode::Artifact(artifact)) => {
            if artifact.base_image.is_empty() {
                return Err(invalid("artifact.base_image", &prefix, "is required"));
            }
            if artifact.outputs.is_empty() {
                return Err(invalid(
                    "artifact.outputs",
                    &prefix,
                    "at least one output is required",
                ));
            }
            for (index, output) in artifact.outputs.iter().enumerate() {
                if output.source.is_empty() || !is_valid_sub_directory(&output.source) {
                    return Err(invalid(
                        &format!("artifact.outputs[{index}].source"),
                        &prefix,
                        "a relative path in the workspace is required",
                    ));
                }
                if !output.destination.starts_with('/') {
                    return Err(invalid(
                        &format!("artifact.outputs[{index}].destination"),
                        &prefix,
                        "must be an absolute path",
                    ));
                }
                if !output.mode.is_empty() && u32::from_str_radix(&output.mode, 8).is_err() {
                    return Err(invalid(
                        &format!("artifact.outputs[{index}].mode"),
                        &prefix,
                        "must be an octal mode such as 0755",
                    ));
                }
            }
            for (index, env) in artifact.env.iter().enumerate() {
                if !matches!(env.source, Some(Source::Value(_))) {
                    return Err(invalid(
                        &format!("artifact.env[{index}]"),
                        &prefix,
                        "only plain values can be baked into an image",
                    ));
                }
            }
        }
    }
    if build.builder_image.chars().any(char::is_whitespace) {
        return Err(invalid(
            "builder_image",
            &prefix,
            "must be an image reference",
        ));
    }
    for (index, env) in build.env.iter().enumerate() {
        let valid_name = !env.name.is_empty()
            && !env.name.starts_with(|c: char| c.is_ascii_digit())
            && env
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_name {
            return Err(invalid(
                &format!("env[{index}].name"),
                &prefix,
                "must match [A-Za-z_][A-Za-z0-9_]*",
            ));
        }
        match &env.source {
            None => {
                return Err(invalid(
                    &format!("env[{index}]"),
                    &prefix,
                    "set value or secret_ref",
                ));
            }
            Some(Source::SecretValue(_)) => {
                return Err(invalid(
                    &format!("env[{index}].secret_value"),
                    &prefix,
                    "not accepted in applications: store the value as a secret and use secret_ref",
                ));
            }
            Some(Source::SecretRef(reference)) if reference.secret.is_empty() => {
                return Err(invalid(
                    &format!("env[{index}].secret_ref.secret"),
                    &prefix,
                    "is required",
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(cache) = &build.cache
        && cache.size_bytes < 0
    {
        return Err(invalid("cache.size_bytes", &prefix, "must not be negative"));
    }
    if let Some(resources) = &build.resources {
        let negative = [resources.requests, resources.limits]
            .iter()
            .flatten()
            .any(|q| q.cpu_millis < 0 || q.memory_bytes < 0 || q.ephemeral_storage_bytes < 0);
        if negative {
            return Err(invalid(
                "resources",
                &prefix,
                "quantities must not be negative",
            ));
        }
    }
    if let Some(timeout) = &build.timeout
        && (timeout.seconds < 0 || timeout.nanos < 0 || timeout.seconds > MAX_TIMEOUT_SECONDS)
    {
        return Err(invalid("timeout", &prefix, "must be between 0 and 24h"));
    }
    Ok(())
}

/// Checks the client-settable fields of an application.
pub fn validate_fields(application: &Application, prefix: &str) -> Result<(), ApiError> {
    if application.display_name.chars().count() > MAX_DISPLAY_NAME {
        return Err(invalid(
            "display_name",
            prefix,
            format!("longer than {MAX_DISPLAY_NAME} characters"),
        ));
    }
    validate_map(&application.labels, &format!("{prefix}.labels"))?;
    validate_map(&application.annotations, &format!("{prefix}.annotations"))?;
    validate_source(application.source.as_ref(), prefix)?;
    validate_build(application, prefix)?;
    if let Some(repository) = &application.image_repository {
        if repository.repository.is_empty()
            || !repository.repository.split('/').all(|segment| {
                !segment.is_empty()
                    && segment.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'-' | b'_' | b'.')
                    })
            })
        {
            return Err(invalid(
                "image_repository.repository",
                prefix,
                "is required: lower-case path segments such as team/web",
            ));
        }
        if repository.registry.contains('/') || repository.registry.chars().any(char::is_whitespace)
        {
            return Err(invalid(
                "image_repository.registry",
                prefix,
                "must be host[:port]",
            ));
        }
    }
    if let Some(auto_deploy) = &application.auto_deploy {
        if auto_deploy.deployments.len() > 20 {
            return Err(invalid(
                "auto_deploy.deployments",
                prefix,
                "at most 20 deployments",
            ));
        }
        for (index, deployment) in auto_deploy.deployments.iter().enumerate() {
            DEPLOYMENT_NAME.parse(
                &format!("{prefix}.auto_deploy.deployments[{index}]"),
                deployment,
            )?;
        }
    }
    if let Some(flow) = &application.production_flow {
        if !flow.qa_namespace.is_empty() {
            NAMESPACE_NAME.parse(
                &format!("{prefix}.production_flow.qa_namespace"),
                &flow.qa_namespace,
            )?;
        }
        for (index, namespace) in flow.production_namespaces.iter().enumerate() {
            NAMESPACE_NAME.parse(
                &format!("{prefix}.production_flow.production_namespaces[{index}]"),
                namespace,
            )?;
        }
    }
    if let Some(polling) = &application.polling
        && let Some(interval) = &polling.interval
        && (interval.seconds < 0
            || (interval.seconds > 0 && interval.seconds < 30)
            || (interval.seconds == 0 && interval.nanos != 0))
    {
        return Err(invalid(
            "polling.interval",
            prefix,
            "must be 0 (off) or at least 30s",
        ));
    }
    if let Some(webhook) = &application.webhook
        && webhook.enabled
    {
        if webhook.providers.is_empty()
            || webhook.providers.iter().any(|p| {
                WebhookProvider::try_from(*p).unwrap_or(WebhookProvider::Unspecified)
                    == WebhookProvider::Unspecified
            })
        {
            return Err(invalid(
                "webhook.providers",
                prefix,
                "name at least one provider (GITHUB or GITLAB) when enabled",
            ));
        }
        if webhook.secret.as_ref().is_none_or(|s| s.secret.is_empty()) {
            return Err(invalid(
                "webhook.secret",
                prefix,
                "is required when the webhook is enabled",
            ));
        }
    }
    if let Some(retention) = &application.retention
        && (retention.max_builds < 0 || retention.max_images < 0)
    {
        return Err(invalid("retention", prefix, "counts must not be negative"));
    }
    Ok(())
}

fn validate_map(map: &HashMap<String, String>, field: &str) -> Result<(), ApiError> {
    if map.len() > MAX_ENTRIES {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {MAX_ENTRIES} entries"),
        ));
    }
    for (key, value) in map {
        let valid_key = !key.is_empty()
            && key.len() <= 63
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
        if !valid_key {
            return Err(ApiError::invalid_field(
                format!("{field}[{key:?}]"),
                "keys are 1 to 63 letters, digits, `-`, `_`, `.` or `/`",
            ));
        }
        if value.len() > 1024 {
            return Err(ApiError::invalid_field(
                format!("{field}[{key:?}]"),
                "longer than 1024 bytes",
            ));
        }
    }
    Ok(())
}

/// The webhook URL shown in an application (relative to the gateway's address).
fn webhook_url(name: &str) -> String {
    format!("/v1/{name}:webhook")
}

/// The application CreateApplication stores: the client's fields plus what Ferry owns.
pub fn plan_create(
    application_id: &str,
    input: &Application,
    uid: String,
    now: Timestamp,
) -> Result<Application, ApiError> {
    aip::validate_id("application_id", application_id)?;
    validate_fields(input, "application")?;
    let name = APPLICATION_NAME.format(&[application_id]);
    let mut application = input.clone();
    clear_output_only(&mut application);
    application.name = name.clone();
    application.uid = uid;
    application.create_time = Some(now);
    application.update_time = Some(now);
    application.generation = 1;
    // The `build-applications` controller checks the source and sets the state.
    application.state = State::Creating as i32;
    application.reconciling = true;
    if let Some(webhook) = application.webhook.as_mut() {
        webhook.url = webhook_url(&name);
    }
    Ok(application)
}

/// Clears every output-only field of a client's input.
fn clear_output_only(application: &mut Application) {
    application.uid.clear();
    application.create_time = None;
    application.update_time = None;
    application.etag.clear();
    application.generation = 0;
    application.observed_generation = 0;
    application.reconciling = false;
    application.state = 0;
    application.conditions.clear();
    application.last_build = None;
    application.last_successful_build = None;
    application.latest_image.clear();
    application.queued_builds = 0;
    application.last_seen_commit.clear();
    application.last_poll_time = None;
    application.last_webhook_time = None;
    if let Some(cache) = application.build.as_mut().and_then(|b| b.cache.as_mut()) {
        cache.volume.clear();
    }
}

/// Applies an update: only the masked fields (or, with an empty mask, the top-level
/// fields the input sets) change. `None` when nothing changes.
pub fn apply_update(
    current: &Application,
    input: &Application,
    mask: &[String],
    now: Timestamp,
) -> Result<Option<Application>, ApiError> {
    if current.state() == State::Deleting {
        return Err(ApiError::failed_precondition(
            ErrorReason::InvalidState,
            current.name.clone(),
            format!("{} is being deleted", current.name),
        ));
    }
    let top_level: Vec<&str> = UPDATABLE_FIELDS
        .iter()
        .copied()
        .filter(|f| !f.contains('.'))
        .collect();
    let paths: Vec<&str> = if mask.iter().any(|p| p == "*") {
        top_level
    } else if mask.is_empty() {
        top_level.into_iter().filter(|f| is_set(input, f)).collect()
    } else {
        mask.iter().map(String::as_str).collect()
    };
    let mut updated = current.clone();
    for path in paths {
        set_path(&mut updated, input, path)?;
    }
    if let Some(webhook) = updated.webhook.as_mut() {
        webhook.url = webhook_url(&current.name);
    }
    if let (Some(old), Some(new)) = (
        current.build.as_ref().and_then(|b| b.cache.as_ref()),
        updated.build.as_mut().and_then(|b| b.cache.as_mut()),
    ) {
        new.volume = old.volume.clone();
        if new.size_bytes != 0 && new.size_bytes < old.size_bytes {
            return Err(ApiError::invalid_field(
                "application.build.cache.size_bytes",
                "the cache cannot shrink",
            ));
        }
    }
    validate_fields(&updated, "application")?;
    if updated == *current {
        return Ok(None);
    }
    if config_of(&updated) != config_of(current) {
        updated.generation = current.generation + 1;
        // Checked again by the `build-applications` controller.
        updated.reconciling = true;
    }
    updated.update_time = Some(now);
    Ok(Some(updated))
}

/// The configuration fields (10..29) of an application, for generation tracking.
fn config_of(application: &Application) -> Application {
    Application {
        source: application.source.clone(),
        build: application.build.clone(),
        image_repository: application.image_repository.clone(),
        auto_deploy: application.auto_deploy.clone(),
        production_flow: application.production_flow.clone(),
        polling: application.polling,
        webhook: application.webhook.clone(),
        retention: application.retention,
        ..Default::default()
    }
}

fn is_set(input: &Application, field: &str) -> bool {
    match field {
        "display_name" => !input.display_name.is_empty(),
        "labels" => !input.labels.is_empty(),
        "annotations" => !input.annotations.is_empty(),
        "source" => input.source.is_some(),
        "build" => input.build.is_some(),
        "image_repository" => input.image_repository.is_some(),
        "auto_deploy" => input.auto_deploy.is_some(),
        "production_flow" => input.production_flow.is_some(),
        "polling" => input.polling.is_some(),
        "webhook" => input.webhook.is_some(),
        "retention" => input.retention.is_some(),
        _ => false,
    }
}

fn set_path(updated: &mut Application, input: &Application, path: &str) -> Result<(), ApiError> {
    let source_in = input.source.clone().unwrap_or_default();
    let build_in = input.build.clone().unwrap_or_default();
    let webhook_in = input.webhook.clone().unwrap_or_default();
    match path {
        "display_name" => updated.display_name = input.display_name.clone(),
        "labels" => updated.labels = input.labels.clone(),
        "annotations" => updated.annotations = input.annotations.clone(),
        "source" => updated.source = input.source.clone(),
        "build" => updated.build = input.build.clone(),
        "image_repository" => updated.image_repository = input.image_repository.clone(),
        "auto_deploy" | "auto_deploy.deployments" => {
            updated.auto_deploy = input.auto_deploy.clone()
        }
        "production_flow" => updated.production_flow = input.production_flow.clone(),
        "polling" | "polling.interval" => updated.polling = input.polling,
        "webhook" => updated.webhook = input.webhook.clone(),
        "retention" => updated.retention = input.retention,
        nested if nested.starts_with("source.") => {
            let source = updated.source.get_or_insert_with(Default::default);
            match nested {
                "source.repository_url" => source.repository_url = source_in.repository_url,
                "source.ref" => source.r#ref = source_in.r#ref,
                "source.sub_directory" => source.sub_directory = source_in.sub_directory,
                "source.credentials" => source.credentials = source_in.credentials,
                "source.fetch_submodules" => source.fetch_submodules = source_in.fetch_submodules,
                "source.fetch_depth" => source.fetch_depth = source_in.fetch_depth,
                other => return Err(unknown_path(other)),
            }
        }
        nested if nested.starts_with("build.") => {
            let build = updated.build.get_or_insert_with(Default::default);
            match nested {
                "build.build_script" => build.build_script = build_in.build_script,
                "build.test" => build.test = build_in.test,
                "build.dockerfile" | "build.artifact" => build.mode = build_in.mode,
                "build.builder_image" => build.builder_image = build_in.builder_image,
                "build.env" => build.env = build_in.env,
                "build.cache" => build.cache = build_in.cache,
                "build.resources" => build.resources = build_in.resources,
                "build.timeout" => build.timeout = build_in.timeout,
                other => return Err(unknown_path(other)),
            }
        }
        nested if nested.starts_with("webhook.") => {
            let webhook = updated.webhook.get_or_insert_with(Default::default);
            match nested {
                "webhook.enabled" => webhook.enabled = webhook_in.enabled,
                "webhook.providers" => webhook.providers = webhook_in.providers,
                "webhook.secret" => webhook.secret = webhook_in.secret,
                other => return Err(unknown_path(other)),
            }
        }
        other => return Err(unknown_path(other)),
    }
    Ok(())
}

fn unknown_path(path: &str) -> ApiError {
    ApiError::invalid_field("update_mask", format!("{path:?} cannot be updated"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::build::v1::{BuildConfig, DockerfileBuild, TestConfig};
    use tonic::Code;

    fn now() -> Timestamp {
        Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }
    }

    fn input() -> Application {
        Application {
            source: Some(GitSource {
                repository_url: "https://git.example.com/web.git".into(),
                ..Default::default()
            }),
            build: Some(BuildConfig {
                build_script: "make".into(),
                mode: Some(Mode::Dockerfile(DockerfileBuild::default())),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn create_fills_what_ferry_owns() {
        let app = plan_create("web", &input(), "u".into(), now()).unwrap();
        assert_eq!(app.name, "applications/web");
        assert_eq!(app.generation, 1);
        assert_eq!(app.state(), State::Creating);
        assert!(app.reconciling);
    }

    #[test]
    fn bad_input_names_the_field() {
        let with = |change: &dyn Fn(&mut Application)| {
            let mut app = input();
            change(&mut app);
            app
        };
        let cases: Vec<(&str, Application, &str)> = vec![
            ("Web", input(), "application_id"),
            ("web", with(&|a| a.source = None), "application.source"),
            (
                "web",
                with(&|a| a.source.as_mut().unwrap().repository_url = "--upload-pack=x".into()),
                "application.source.repository_url",
            ),
            (
                "web",
                with(&|a| a.source.as_mut().unwrap().repository_url = "not a url".into()),
                "application.source.repository_url",
            ),
            (
                "web",
                with(&|a| a.source.as_mut().unwrap().r#ref = "-x".into()),
                "application.source.ref",
            ),
            (
                "web",
                with(&|a| a.source.as_mut().unwrap().r#ref = "a..b".into()),
                "application.source.ref",
            ),
            (
                "web",
                with(&|a| a.source.as_mut().unwrap().sub_directory = "../etc".into()),
                "application.source.sub_directory",
            ),
            ("web", with(&|a| a.build = None), "application.build"),
            (
                "web",
                with(&|a| a.build.as_mut().unwrap().mode = None),
                "application.build.mode",
            ),
            (
                "web",
                with(&|a| a.build.as_mut().unwrap().test = Some(TestConfig::default())),
                "application.build.test.script",
            ),
            (
                "web",
                with(&|a| {
                    a.auto_deploy = Some(ferry_proto::ferry::build::v1::AutoDeployConfig {
                        deployments: vec!["dev/web".into()],
                    })
                }),
                "application.auto_deploy.deployments[0]",
            ),
        ];
        for (id, app, field) in cases {
            let error = plan_create(id, &app, "u".into(), now()).unwrap_err();
            assert_eq!(error.code, Code::InvalidArgument, "{field}");
            assert_eq!(error.field_violations[0].0, field);
        }
    }

    #[test]
    fn urls_are_classified() {
        assert_eq!(url_kind("https://h/r.git"), Some(UrlKind::Https));
        assert_eq!(url_kind("git@github.com:org/repo.git"), Some(UrlKind::Ssh));
        assert_eq!(url_kind("ssh://git@h/r"), Some(UrlKind::Ssh));
        assert_eq!(url_kind("/srv/git/r"), Some(UrlKind::Local));
        assert_eq!(url_kind("file:///srv/git/r"), Some(UrlKind::Local));
        assert_eq!(url_kind("relative/path"), None);
        assert_eq!(url_kind("-oProxyCommand=x"), None);
    }

    #[test]
    fn update_changes_masked_nested_fields_and_generation() {
        let current = plan_create("web", &input(), "u".into(), now()).unwrap();
        let mut change = input();
        change.source.as_mut().unwrap().r#ref = "develop".into();
        change.display_name = "Web".into();
        let updated = apply_update(&current, &change, &["source.ref".into()], now())
            .unwrap()
            .unwrap();
        assert_eq!(updated.source.as_ref().unwrap().r#ref, "develop");
        assert_eq!(updated.display_name, "");
        assert_eq!(updated.generation, 2);
        let labels_only = apply_update(&current, &change, &["display_name".into()], now())
            .unwrap()
            .unwrap();
        assert_eq!(
            labels_only.generation, 1,
            "display_name is not configuration"
        );
        assert_eq!(
            apply_update(&current, &current, &["source".into()], now()).unwrap(),
            None
        );
        let mut broken = input();
        broken.build.as_mut().unwrap().mode = None;
        let error = apply_update(&current, &broken, &["build".into()], now()).unwrap_err();
        assert_eq!(error.field_violations[0].0, "application.build.mode");
    }
}
