//! Pure rules of deployments, revisions and rollouts: validation of what clients send,
//! defaults, and the conversion of a revision into the runtime's group spec. No IO.

use std::collections::HashSet;
use std::time::Duration;

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::{ErrorReason, HealthCheck, Protocol, env_var, health_check};
use ferry_proto::ferry::deploy::v1::deployment::State;
use ferry_proto::ferry::deploy::v1::rollout::State as RolloutState;
use ferry_proto::ferry::deploy::v1::{
    CountOrPercent, Deployment, DeploymentRevision, DeploymentTemplate, Rollout, RolloutStrategy,
    config_file, count_or_percent, deployment_revision, deployment_template, rollout_strategy,
};
use ferry_runtime as rt;
use prost_types::Timestamp;

use super::planner::{self, Strategy};

/// `namespaces/{namespace}/deployments/{deployment}`.
pub const DEPLOYMENT_NAME: NamePattern =
    NamePattern("namespaces/{namespace}/deployments/{deployment}");
/// `namespaces/{namespace}/deployments/{deployment}/revisions/{revision}`.
pub const REVISION_NAME: NamePattern =
    NamePattern("namespaces/{namespace}/deployments/{deployment}/revisions/{revision}");
/// `namespaces/{namespace}/deployments/{deployment}/rollouts/{rollout}`.
pub const ROLLOUT_NAME: NamePattern =
    NamePattern("namespaces/{namespace}/deployments/{deployment}/rollouts/{rollout}");
/// `namespaces/{namespace}/deployments/{deployment}/instances/{instance}`.
pub const INSTANCE_NAME: NamePattern =
    NamePattern("namespaces/{namespace}/deployments/{deployment}/instances/{instance}");

/// Fields UpdateDeployment may change; `template` (or any `template.*`) makes a revision.
pub const UPDATABLE_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "template",
    "replicas",
    "strategy",
    "auto_update",
    "revision_history_limit",
];

/// Most instances one deployment may ask for.
pub const MAX_REPLICAS: i32 = 1000;
/// Default `revision_history_limit`.
pub const DEFAULT_HISTORY: i32 = 20;
/// Largest total size of config files.
const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Checks a deployment's client fields. `field` prefixes violations (`deployment`).
pub fn validate(deployment: &Deployment, field: &str) -> Result<(), ApiError> {
    let f = |name: &str| format!("{field}.{name}");
    if deployment.display_name.len() > 63 {
        return Err(ApiError::invalid_field(
            f("display_name"),
            "longer than 63 characters",
        ));
    }
    if let Some(replicas) = deployment.replicas
        && !(0..=MAX_REPLICAS).contains(&replicas)
    {
        return Err(ApiError::invalid_field(
            f("replicas"),
            format!("must be between 0 and {MAX_REPLICAS}"),
        ));
    }
    if deployment.revision_history_limit != 0
        && !(1..=100).contains(&deployment.revision_history_limit)
    {
        return Err(ApiError::invalid_field(
            f("revision_history_limit"),
            "must be between 1 and 100",
        ));
    }
    let Some(template) = &deployment.template else {
        return Err(ApiError::invalid_field(f("template"), "required"));
    };
    validate_template(template, &f("template"))?;
    if let Some(strategy) = &deployment.strategy {
        validate_strategy(strategy, &f("strategy"))?;
    }
    Ok(())
}

fn validate_count(value: &Option<CountOrPercent>, field: &str) -> Result<(), ApiError> {
    match value.as_ref().and_then(|v| v.value) {
        Some(count_or_percent::Value::Count(count)) if count < 0 => {
            Err(ApiError::invalid_field(field, "must not be negative"))
        }
        Some(count_or_percent::Value::Percent(percent)) if !(0..=100).contains(&percent) => {
            Err(ApiError::invalid_field(field, "a percentage from 0 to 100"))
        }
        _ => Ok(()),
    }
}

fn validate_strategy(strategy: &RolloutStrategy, field: &str) -> Result<(), ApiError> {
    validate_count(&strategy.max_surge, &format!("{field}.max_surge"))?;
    validate_count(
        &strategy.max_unavailable,
        &format!("{field}.max_unavailable"),
    )?;
    let zero = |v: &Option<CountOrPercent>| {
        matches!(
            v.as_ref().and_then(|v| v.value),
            Some(count_or_percent::Value::Count(0)) | Some(count_or_percent::Value::Percent(0))
        )
    };
    if zero(&strategy.max_surge)
        && (strategy.max_unavailable.is_none() || zero(&strategy.max_unavailable))
    {
        return Err(ApiError::invalid_field(
            format!("{field}.max_surge"),
            "max_surge and max_unavailable cannot both be 0: the rollout could never move",
        ));
    }
    for (name, value) in [
        (
            "instance_health_deadline",
            &strategy.instance_health_deadline,
        ),
        ("min_ready_duration", &strategy.min_ready_duration),
        ("pause_between_steps", &strategy.pause_between_steps),
        ("progress_deadline", &strategy.progress_deadline),
    ] {
        if let Some(duration) = value
            && (duration.seconds < 0 || duration.nanos < 0)
        {
            return Err(ApiError::invalid_field(
                format!("{field}.{name}"),
                "must not be negative",
            ));
        }
    }
    Ok(())
}

/// Checks a template.
pub fn validate_template(template: &DeploymentTemplate, field: &str) -> Result<(), ApiError> {
    let f = |name: &str| format!("{field}.{name}");
    match &template.image_source {
        None => {
            return Err(ApiError::invalid_field(
                f("image_uri"),
                "required: the image to run",
            ));
        }
        Some(deployment_template::ImageSource::Image(_)) => {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                f("image"),
                "build images are resolved by the build service, which this installation does not serve yet: give image_uri",
            ));
        }
        Some(deployment_template::ImageSource::ImageUri(uri)) => {
            validate_image_uri(uri, &f("image_uri"))?
        }
    }
    let mut env_names = HashSet::new();
    for (i, env) in template.env.iter().enumerate() {
        let name_ok = env
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && env
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            return Err(ApiError::invalid_field(
                format!("{field}.env[{i}].name"),
                "must match [A-Za-z_][A-Za-z0-9_]*",
            ));
        }
        if !env_names.insert(env.name.as_str()) {
            return Err(ApiError::invalid_field(
                format!("{field}.env[{i}].name"),
                format!("{} is set twice", env.name),
            ));
        }
        match &env.source {
            Some(env_var::Source::Value(_)) => {}
            None => {
                return Err(ApiError::invalid_field(
                    format!("{field}.env[{i}].value"),
                    "a value is required",
                ));
            }
            // Secrets: the form here; existence when the template is written
            // (`crate::secret::usage::prepare`).
            Some(env_var::Source::SecretRef(reference)) => crate::secret::usage::validate_ref(
                reference,
                &format!("{field}.env[{i}].secret_ref"),
            )?,
            Some(env_var::Source::SecretValue(value)) => {
                crate::secret::usage::validate_secret_value(
                    value,
                    &format!("{field}.env[{i}].secret_value"),
                )?
            }
        }
    }
    let mut port_names = HashSet::new();
    let mut port_numbers = HashSet::new();
    for (i, port) in template.ports.iter().enumerate() {
        let pf = format!("{field}.ports[{i}]");
        if !(1..=65535).contains(&port.port) {
            return Err(ApiError::invalid_field(
                format!("{pf}.port"),
                "must be between 1 and 65535",
            ));
        }
        if !aip::is_valid_id(&port.name) {
            return Err(ApiError::invalid_field(
                format!("{pf}.name"),
                "must be a DNS label, e.g. `http`",
            ));
        }
        if !port_names.insert(port.name.as_str()) {
            return Err(ApiError::invalid_field(
                format!("{pf}.name"),
                format!("port name {} is used twice", port.name),
            ));
        }
        if !port_numbers.insert((port.port, port.protocol() == Protocol::Udp)) {
            return Err(ApiError::invalid_field(
                format!("{pf}.port"),
                format!("port {} is declared twice", port.port),
            ));
        }
    }
    for (name, check) in [
        ("readiness_check", &template.readiness_check),
        ("liveness_check", &template.liveness_check),
        ("startup_check", &template.startup_check),
    ] {
        if let Some(check) = check {
            validate_check(check, &f(name))?;
        }
    }
    if let Some(affinity) = &template.location_affinity
        && !affinity.zone.is_empty()
        && affinity.region.is_empty()
    {
        return Err(ApiError::invalid_field(
            f("location_affinity.zone"),
            "a zone needs its region",
        ));
    }
    if let Some(resources) = &template.resources {
        let all = resources.requests.iter().chain(resources.limits.iter());
        if all
            .clone()
            .any(|q| q.cpu_millis < 0 || q.memory_bytes < 0 || q.ephemeral_storage_bytes < 0)
        {
            return Err(ApiError::invalid_field(
                f("resources"),
                "quantities must not be negative",
            ));
        }
        if let (Some(requests), Some(limits)) = (&resources.requests, &resources.limits) {
            if limits.cpu_millis > 0 && requests.cpu_millis > limits.cpu_millis {
                return Err(ApiError::invalid_field(
                    f("resources.requests.cpu_millis"),
                    "above the limit",
                ));
            }
            if limits.memory_bytes > 0 && requests.memory_bytes > limits.memory_bytes {
                return Err(ApiError::invalid_field(
                    f("resources.requests.memory_bytes"),
                    "above the limit",
                ));
            }
        }
    }
    if !template.volume_mounts.is_empty() {
        return Err(ApiError::failed_precondition(
            ErrorReason::InvalidState,
            f("volume_mounts"),
            "volume bindings need the storage service, which this installation does not serve yet",
        ));
    }
    let mut paths = HashSet::new();
    let mut total = 0;
    for (i, file) in template.config_files.iter().enumerate() {
        let ff = format!("{field}.config_files[{i}]");
        if !file.path.starts_with('/') || file.path.ends_with('/') || file.path.contains("/../") {
            return Err(ApiError::invalid_field(
                format!("{ff}.path"),
                "an absolute file path",
            ));
        }
        if !paths.insert(file.path.as_str()) {
            return Err(ApiError::invalid_field(format!("{ff}.path"), "used twice"));
        }
        match &file.source {
            Some(config_file::Source::Content(content)) => total += content.len(),
            None => return Err(ApiError::invalid_field(format!("{ff}.content"), "required")),
            Some(config_file::Source::SecretRef(reference)) => {
                crate::secret::usage::validate_ref(reference, &format!("{ff}.secret_ref"))?
            }
        }
        if file.mode < 0 || file.mode > 0o7777 {
            return Err(ApiError::invalid_field(
                format!("{ff}.mode"),
                "unix permission bits, e.g. 0644",
            ));
        }
    }
    if total > MAX_CONFIG_BYTES {
        return Err(ApiError::invalid_field(
            f("config_files"),
            "more than 1 MiB in total",
        ));
    }
    if let Some(grace) = &template.termination_grace_period
        && (grace.seconds < 0 || grace.seconds > 3600)
    {
        return Err(ApiError::invalid_field(
            f("termination_grace_period"),
            "between 0 s and 1 h",
        ));
    }
    Ok(())
}

/// Checks an OCI reference pinned by digest: `name[:tag]@sha256:<64 hex>`, or a bare
/// image id `sha256:<64 hex>` (an image already on the engines of a single-machine
/// Docker runtime, e.g. one made by `docker import`).
pub fn validate_image_uri(uri: &str, field: &str) -> Result<(), ApiError> {
    let is_digest = |d: &str| {
        let hex = d.strip_prefix("sha256:").unwrap_or("");
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    if is_digest(uri) {
        return Ok(());
    }
    let Some((name, digest)) = uri.rsplit_once('@') else {
        return Err(ApiError::invalid_field(
            field,
            format!("{uri:?} is not pinned by digest: give `name@sha256:<digest>`"),
        ));
    };
    let hex = digest.strip_prefix("sha256:").unwrap_or("");
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(ApiError::invalid_field(
            field,
            format!("{digest:?} is not a sha256 digest"),
        ));
    }
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_ascii_uppercase())
    {
        return Err(ApiError::invalid_field(
            field,
            format!("{name:?} is not an image name"),
        ));
    }
    Ok(())
}

fn validate_check(check: &HealthCheck, field: &str) -> Result<(), ApiError> {
    let port_ok = |port: i32| (1..=65535).contains(&port);
    match &check.probe {
        None => {
            return Err(ApiError::invalid_field(
                field,
                "a probe (http, tcp or exec) is required",
            ));
        }
        Some(health_check::Probe::Http(http)) => {
            if !port_ok(http.port) {
                return Err(ApiError::invalid_field(
                    format!("{field}.http.port"),
                    "must be between 1 and 65535",
                ));
            }
            if !http.path.is_empty() && !http.path.starts_with('/') {
                return Err(ApiError::invalid_field(
                    format!("{field}.http.path"),
                    "must start with /",
                ));
            }
        }
        Some(health_check::Probe::Tcp(tcp)) => {
            if !port_ok(tcp.port) {
                return Err(ApiError::invalid_field(
                    format!("{field}.tcp.port"),
                    "must be between 1 and 65535",
                ));
            }
        }
        Some(health_check::Probe::Exec(exec)) => {
            if exec.command.is_empty() {
                return Err(ApiError::invalid_field(
                    format!("{field}.exec.command"),
                    "required",
                ));
            }
        }
    }
    if let Some(period) = &check.period
        && to_duration(period) < Duration::from_millis(100)
    {
        return Err(ApiError::invalid_field(
            format!("{field}.period"),
            "at least 100 ms",
        ));
    }
    if check.success_threshold < 0 || check.failure_threshold < 0 {
        return Err(ApiError::invalid_field(
            field,
            "thresholds must not be negative",
        ));
    }
    Ok(())
}

/// A protobuf duration as a std one (negative → zero).
pub fn to_duration(duration: &prost_types::Duration) -> Duration {
    if duration.seconds < 0 || duration.nanos < 0 {
        return Duration::ZERO;
    }
    Duration::new(duration.seconds as u64, duration.nanos as u32)
}

/// A std duration as a protobuf one.
pub fn from_duration(duration: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: duration.as_secs() as i64,
        nanos: duration.subsec_nanos() as i32,
    }
}

/// The strategy with every default filled in, as stored on create.
pub fn default_strategy(input: Option<&RolloutStrategy>) -> RolloutStrategy {
    let mut strategy = input.cloned().unwrap_or_default();
    if strategy.r#type == 0 {
        strategy.r#type = rollout_strategy::Type::Rolling as i32;
    }
    if strategy.auto_rollback.is_none() {
        strategy.auto_rollback = Some(true);
    }
    strategy
}

/// The strategy the planner uses for `replicas` instances.
pub fn planner_strategy(strategy: &RolloutStrategy, replicas: u32) -> Strategy {
    let split = |v: &Option<CountOrPercent>| match v.as_ref().and_then(|v| v.value) {
        Some(count_or_percent::Value::Count(count)) => (Some(count), None),
        Some(count_or_percent::Value::Percent(percent)) => (None, Some(percent)),
        None => (None, None),
    };
    let (surge_count, surge_percent) = split(&strategy.max_surge);
    let (unavailable_count, unavailable_percent) = split(&strategy.max_unavailable);
    let surge_percent = if surge_count.is_none() && surge_percent.is_none() {
        Some(25)
    } else {
        surge_percent
    };
    let mut max_surge = planner::resolve(surge_count, surge_percent, replicas, true, 1);
    let max_unavailable =
        planner::resolve(unavailable_count, unavailable_percent, replicas, false, 0);
    if max_surge == 0 && max_unavailable == 0 {
        max_surge = 1;
    }
    Strategy {
        recreate: strategy.r#type == rollout_strategy::Type::Recreate as i32,
        max_surge,
        max_unavailable,
        health_deadline: strategy
            .instance_health_deadline
            .as_ref()
            .map(to_duration)
            .unwrap_or(Duration::from_secs(300)),
        min_ready: strategy
            .min_ready_duration
            .as_ref()
            .map(to_duration)
            .unwrap_or_default(),
    }
}

/// The deployment CreateDeployment stores (before its first revision exists).
pub fn plan_create(
    namespace: &str,
    deployment_id: &str,
    input: &Deployment,
    uid: String,
    now: Timestamp,
) -> Result<Deployment, ApiError> {
    aip::validate_id("deployment_id", deployment_id)?;
    if deployment_id.len() > 40 {
        // Instance names are `{deployment}-r{n}-{5 chars}` and must stay DNS labels.
        return Err(ApiError::invalid_field(
            "deployment_id",
            "at most 40 characters",
        ));
    }
    validate(input, "deployment")?;
    let application = format!("applications/{deployment_id}");
    if !input.application.is_empty() && input.application != application {
        return Err(ApiError::invalid_field(
            "deployment.application",
            format!("must be {application} (the deployment id is the application id)"),
        ));
    }
    let name = DEPLOYMENT_NAME.format(&[namespace, deployment_id]);
    Ok(Deployment {
        name,
        uid,
        display_name: input.display_name.clone(),
        labels: input.labels.clone(),
        annotations: input.annotations.clone(),
        create_time: Some(now),
        update_time: Some(now),
        etag: String::new(),
        application,
        template: input.template.clone(),
        replicas: Some(input.replicas.unwrap_or(1)),
        strategy: Some(default_strategy(input.strategy.as_ref())),
        auto_update: input.auto_update,
        revision_history_limit: if input.revision_history_limit == 0 {
            DEFAULT_HISTORY
        } else {
            input.revision_history_limit
        },
        generation: 1,
        state: State::Creating as i32,
        reconciling: true,
        ..Default::default()
    })
}

/// A new revision of `deployment` with its current template.
#[allow(clippy::too_many_arguments)]
pub fn new_revision(
    deployment: &Deployment,
    number: i64,
    cause: deployment_revision::Cause,
    previous: Option<&DeploymentRevision>,
    creator: &str,
    rollout: &str,
    uid: String,
    now: Timestamp,
) -> DeploymentRevision {
    let template = deployment.template.clone().unwrap_or_default();
    let image_uri = match &template.image_source {
        Some(deployment_template::ImageSource::ImageUri(uri)) => uri.clone(),
        _ => String::new(),
    };
    let image_digest = match image_uri.rsplit_once('@') {
        Some((_, digest)) => digest.to_string(),
        None => image_uri.clone(),
    };
    let display_name = match previous {
        None => format!("image {}", short_image(&image_uri)),
        Some(previous) => describe_change(previous, &template, &image_uri),
    };
    DeploymentRevision {
        name: format!("{}/revisions/r{number}", deployment.name),
        uid,
        display_name,
        create_time: Some(now),
        number,
        template: Some(template),
        image_uri,
        image_digest,
        image: String::new(),
        cause: cause as i32,
        source_revision: String::new(),
        creator: creator.to_string(),
        rollout: rollout.to_string(),
        rollout_result: deployment_revision::RolloutResult::InProgress as i32,
        ..Default::default()
    }
}

fn short_image(uri: &str) -> String {
    let (name, digest) = uri.rsplit_once('@').unwrap_or((uri, ""));
    let name = name.rsplit('/').next().unwrap_or(name);
    let digest = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("{name}@{}", &digest[..digest.len().min(12)])
}

fn describe_change(
    previous: &DeploymentRevision,
    template: &DeploymentTemplate,
    image_uri: &str,
) -> String {
    let before = previous.template.clone().unwrap_or_default();
    let mut changes = Vec::new();
    if previous.image_uri != image_uri {
        changes.push(format!(
            "image {} → {}",
            short_image(&previous.image_uri),
            short_image(image_uri)
        ));
    }
    if before.env != template.env {
        changes.push("env changed".to_string());
    }
    if before.ports != template.ports {
        changes.push("ports changed".to_string());
    }
    if before.resources != template.resources {
        changes.push("resources changed".to_string());
    }
    if before.command != template.command || before.args != template.args {
        changes.push("command changed".to_string());
    }
    if changes.is_empty() {
        changes.push("template changed".to_string());
    }
    changes.join("; ")
}

/// Moves a rollout to `target` for PauseRollout, ResumeRollout or AbortRollout: a
/// rollout already there is left as it is; one in an `allowed` state takes `target` with
/// `reason` and `message` (empty ones clear them); any other state is FAILED_PRECONDITION
/// saying it cannot be `verb` (e.g. `paused`). Pure.
pub fn transition_rollout(
    rollout: &mut Rollout,
    target: RolloutState,
    allowed: &[RolloutState],
    reason: &str,
    message: &str,
    verb: &str,
) -> Result<(), ApiError> {
    let state = rollout.state();
    if state == target {
        return Ok(());
    }
    if !allowed.contains(&state) {
        return Err(ApiError::failed_precondition(
            ErrorReason::InvalidState,
            &rollout.name,
            format!(
                "a rollout in state {} cannot be {verb}",
                state.as_str_name()
            ),
        ));
    }
    rollout.state = target as i32;
    rollout.state_reason = reason.to_string();
    rollout.state_message = message.to_string();
    Ok(())
}

/// The id of a revision name (`r7`).
pub fn revision_id(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// The runtime's group spec of a revision; `secrets` holds the values of its secret
/// references (a reference missing there is left out).
pub fn group_spec(
    namespace_id: &str,
    runtime_namespace: &str,
    deployment: &Deployment,
    revision: &DeploymentRevision,
    default_affinity: Option<&ferry_proto::ferry::common::v1::LocationAffinity>,
    secrets: &crate::secret::usage::ResolvedSecrets,
) -> rt::GroupSpec {
    let template = revision.template.clone().unwrap_or_default();
    let deployment_id = deployment
        .name
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let affinity = template.location_affinity.as_ref().or(default_affinity);
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let resources = template.resources.unwrap_or_default();
    let positive = |v: i64| (v > 0).then_some(v as u64);
    let requests = resources.requests.unwrap_or_default();
    let limits = resources.limits.unwrap_or_default();
    rt::GroupSpec {
        namespace: namespace_id.to_string(),
        runtime_namespace: runtime_namespace.to_string(),
        deployment: deployment_id.clone(),
        revision: revision_id(&revision.name).to_string(),
        image: revision.image_uri.clone(),
        command: template.command.clone(),
        args: template.args.clone(),
        env: template
            .env
            .iter()
            .enumerate()
            .filter_map(|(i, env)| match &env.source {
                Some(env_var::Source::Value(value)) => Some(rt::EnvVar {
                    name: env.name.clone(),
                    value: rt::EnvValue::Plain(value.clone()),
                }),
                Some(env_var::Source::SecretRef(_)) => secrets.env(i).map(|value| rt::EnvVar {
                    name: env.name.clone(),
                    value,
                }),
                _ => None,
            })
            .collect(),
        ports: template
            .ports
            .iter()
            .map(|port| rt::PortSpec {
                name: port.name.clone(),
                container_port: port.port as u16,
                protocol: if port.protocol() == Protocol::Udp {
                    rt::Transport::Udp
                } else {
                    rt::Transport::Tcp
                },
                publish: true,
            })
            .collect(),
        resources: rt::Resources {
            cpu_request_millis: positive(requests.cpu_millis),
            memory_request_bytes: positive(requests.memory_bytes),
            cpu_limit_millis: positive(limits.cpu_millis),
            memory_limit_bytes: positive(limits.memory_bytes),
        },
        placement: rt::Placement {
            region: affinity.and_then(|a| non_empty(&a.region)),
            zone: affinity.and_then(|a| non_empty(&a.zone)),
            avoid_hosts: Vec::new(),
            // Set by the controller from the cordoned hosts when it applies the group.
            excluded_hosts: Vec::new(),
        },
        labels: deployment
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        aliases: vec![deployment_id],
        readiness: template.readiness_check.as_ref().and_then(probe),
        liveness: template.liveness_check.as_ref().and_then(probe),
        startup: template.startup_check.as_ref().and_then(probe),
        config_files: template
            .config_files
            .iter()
            .enumerate()
            .filter_map(|(i, file)| {
                let content = match &file.source {
                    Some(config_file::Source::Content(content)) => {
                        bytes::Bytes::from(content.clone().into_bytes())
                    }
                    Some(config_file::Source::SecretRef(_)) => secrets.file(i)?,
                    None => return None,
                };
                Some(rt::ConfigFile {
                    path: file.path.clone(),
                    content,
                    mode: if file.mode == 0 {
                        0o644
                    } else {
                        file.mode as u32
                    },
                })
            })
            .collect(),
        working_dir: non_empty(&template.working_dir),
        termination_grace: template
            .termination_grace_period
            .as_ref()
            .map(to_duration)
            .unwrap_or(Duration::from_secs(30)),
    }
}

fn probe(check: &HealthCheck) -> Option<rt::Probe> {
    let action = match check.probe.as_ref()? {
        health_check::Probe::Http(http) => rt::ProbeAction::Http {
            port: http.port as u16,
            path: if http.path.is_empty() {
                "/".into()
            } else {
                http.path.clone()
            },
            headers: http
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        },
        health_check::Probe::Tcp(tcp) => rt::ProbeAction::Tcp {
            port: tcp.port as u16,
        },
        health_check::Probe::Exec(exec) => rt::ProbeAction::Exec {
            command: exec.command.clone(),
        },
    };
    let positive = |v: i32, default: u32| if v > 0 { v as u32 } else { default };
    Some(rt::Probe {
        action,
        initial_delay: check
            .initial_delay
            .as_ref()
            .map(to_duration)
            .unwrap_or_default(),
        period: check
            .period
            .as_ref()
            .map(to_duration)
            .unwrap_or(Duration::from_secs(5)),
        timeout: check
            .timeout
            .as_ref()
            .map(to_duration)
            .unwrap_or(Duration::from_secs(1)),
        success_threshold: positive(check.success_threshold, 1),
        failure_threshold: positive(check.failure_threshold, 3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::common::v1::{ContainerPort, EnvVar, HttpProbe};

    const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn template() -> DeploymentTemplate {
        DeploymentTemplate {
            image_source: Some(deployment_template::ImageSource::ImageUri(format!(
                "127.0.0.1:5000/web@{DIGEST}"
            ))),
            env: vec![EnvVar {
                name: "VERSION".into(),
                source: Some(env_var::Source::Value("v1".into())),
            }],
            ports: vec![ContainerPort {
                name: "http".into(),
                port: 8080,
                protocol: 0,
            }],
            readiness_check: Some(HealthCheck {
                probe: Some(health_check::Probe::Http(HttpProbe {
                    path: "/healthz".into(),
                    port: 8080,
                    ..Default::default()
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn violation(result: Result<(), ApiError>) -> String {
        let status: tonic::Status = result.unwrap_err().into();
        let details = tonic_types::StatusExt::get_error_details(&status);
        details.bad_request().unwrap().field_violations[0]
            .field
            .clone()
    }

    #[test]
    fn a_good_template_passes_and_bad_fields_are_named() {
        validate_template(&template(), "deployment.template").unwrap();
        let mut t = template();
        t.image_source = Some(deployment_template::ImageSource::ImageUri(
            "web:latest".into(),
        ));
        assert_eq!(violation(validate_template(&t, "t")), "t.image_uri");
        let mut t = template();
        t.ports.push(ContainerPort {
            name: "http".into(),
            port: 9090,
            protocol: 0,
        });
        assert_eq!(violation(validate_template(&t, "t")), "t.ports[1].name");
        let mut t = template();
        t.ports[0].port = 70000;
        assert_eq!(violation(validate_template(&t, "t")), "t.ports[0].port");
        let mut t = template();
        t.env.push(t.env[0].clone());
        assert_eq!(violation(validate_template(&t, "t")), "t.env[1].name");
    }

    #[test]
    fn rollout_transitions_follow_their_allowed_states() {
        let mut rollout = Rollout {
            name: "r".into(),
            state: RolloutState::Progressing as i32,
            ..Default::default()
        };
        transition_rollout(
            &mut rollout,
            RolloutState::Paused,
            &[RolloutState::Progressing],
            "PAUSED_BY_USER",
            "why",
            "paused",
        )
        .unwrap();
        assert_eq!(
            (
                rollout.state(),
                rollout.state_reason.as_str(),
                rollout.state_message.as_str()
            ),
            (RolloutState::Paused, "PAUSED_BY_USER", "why")
        );
        // Already there: nothing changes.
        transition_rollout(
            &mut rollout,
            RolloutState::Paused,
            &[],
            "OTHER",
            "",
            "paused",
        )
        .unwrap();
        assert_eq!(rollout.state_reason, "PAUSED_BY_USER");
        transition_rollout(
            &mut rollout,
            RolloutState::Progressing,
            &[RolloutState::Paused],
            "",
            "",
            "resumed",
        )
        .unwrap();
        assert!(rollout.state_reason.is_empty() && rollout.state_message.is_empty());
        rollout.state = RolloutState::Succeeded as i32;
        let status: tonic::Status = transition_rollout(
            &mut rollout,
            RolloutState::Aborting,
            &[RolloutState::Progressing],
            "ABORTED_BY_USER",
            "",
            "aborted",
        )
        .unwrap_err()
        .into();
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            "a rollout in state STATE_SUCCEEDED cannot be aborted"
        );
        assert_eq!(rollout.state(), RolloutState::Succeeded);
    }

    #[test]
    fn strategy_defaults_are_one_at_a_time() {
        let strategy = planner_strategy(&default_strategy(None), 3);
        assert_eq!((strategy.max_surge, strategy.max_unavailable), (1, 0));
        assert_eq!(strategy.health_deadline, Duration::from_secs(300));
        let zero = RolloutStrategy {
            max_surge: Some(CountOrPercent {
                value: Some(count_or_percent::Value::Count(0)),
            }),
            ..Default::default()
        };
        assert!(validate_strategy(&zero, "s").is_err());
    }

    #[test]
    fn group_spec_carries_the_revision() {
        let deployment = plan_create(
            "dev",
            "web",
            &Deployment {
                template: Some(template()),
                ..Default::default()
            },
            "u".into(),
            Timestamp::default(),
        )
        .unwrap();
        let revision = new_revision(
            &deployment,
            1,
            deployment_revision::Cause::Create,
            None,
            "",
            "",
            "u".into(),
            Timestamp::default(),
        );
        assert_eq!(revision.name, "namespaces/dev/deployments/web/revisions/r1");
        assert_eq!(revision.image_digest, DIGEST);
        let spec = group_spec(
            "dev",
            "ferry-dev",
            &deployment,
            &revision,
            None,
            &Default::default(),
        );
        assert_eq!(spec.revision, "r1");
        assert_eq!(spec.deployment, "web");
        assert_eq!(spec.env[0].value.resolved(), "v1");
        assert_eq!(spec.aliases, vec!["web".to_string()]);
        assert!(matches!(
            spec.readiness.unwrap().action,
            rt::ProbeAction::Http { port: 8080, .. }
        ));
        assert_eq!(deployment.replicas, Some(1));
    }
}
