//! Pure rules of autoscaling policies: validation of what clients send, defaults, the
//! update mask, and the policy and capacities as the planner reads them. No IO.

use std::time::Duration;

use ferry_kit::aip::NamePattern;
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::autoscaling_policy::UtilizationThresholds;
use ferry_proto::ferry::deploy::v1::{
    AutoscalingPolicy, CountOrPercent, DeploymentTemplate, count_or_percent,
};
use tonic::Code;

use super::planner::{self, Step, Thresholds};
use crate::deployment::model::{MAX_REPLICAS, from_duration, to_duration};

/// `namespaces/{namespace}/deployments/{deployment}/autoscalingPolicy`.
pub const POLICY_NAME: NamePattern =
    NamePattern("namespaces/{namespace}/deployments/{deployment}/autoscalingPolicy");

/// Paths UpdateAutoscalingPolicy accepts in its mask (`*` too).
pub const UPDATABLE_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "enabled",
    "min_replicas",
    "max_replicas",
    "cpu",
    "cpu.target_percent",
    "cpu.scale_up_threshold_percent",
    "cpu.scale_down_threshold_percent",
    "memory",
    "memory.target_percent",
    "memory.scale_up_threshold_percent",
    "memory.scale_down_threshold_percent",
    "scale_up_step",
    "scale_down_step",
    "scale_up_cooldown",
    "scale_down_cooldown",
    "evaluation_window",
];

/// Highest threshold accepted, in percent (usage may exceed the request).
pub const MAX_THRESHOLD_PERCENT: i32 = 1000;
/// Default least time between a change and the next scale-up.
pub const DEFAULT_UP_COOLDOWN: Duration = Duration::from_secs(60);
/// Default least time between a change and the next scale-down.
pub const DEFAULT_DOWN_COOLDOWN: Duration = Duration::from_secs(300);
/// Default evaluation window.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// Shortest evaluation window.
pub const MIN_WINDOW: Duration = Duration::from_secs(15);
/// Longest evaluation window.
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);
/// Longest cool-down accepted.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(24 * 3600);

fn thresholds_used(t: Option<&UtilizationThresholds>) -> bool {
    t.is_some_and(|t| {
        t.target_percent != 0
            || t.scale_up_threshold_percent != 0
            || t.scale_down_threshold_percent != 0
    })
}

/// Fills the defaults of a policy's unset fields (as stored and returned).
pub fn apply_defaults(policy: &mut AutoscalingPolicy) {
    if policy.min_replicas == 0 {
        policy.min_replicas = 1;
    }
    let unset = |step: &Option<CountOrPercent>| step.as_ref().and_then(|s| s.value).is_none();
    if unset(&policy.scale_up_step) {
        policy.scale_up_step = Some(CountOrPercent {
            value: Some(count_or_percent::Value::Percent(100)),
        });
    }
    if unset(&policy.scale_down_step) {
        policy.scale_down_step = Some(CountOrPercent {
            value: Some(count_or_percent::Value::Count(1)),
        });
    }
    if policy.scale_up_cooldown.is_none() {
        policy.scale_up_cooldown = Some(from_duration(DEFAULT_UP_COOLDOWN));
    }
    if policy.scale_down_cooldown.is_none() {
        policy.scale_down_cooldown = Some(from_duration(DEFAULT_DOWN_COOLDOWN));
    }
    if policy.evaluation_window.is_none() {
        policy.evaluation_window = Some(from_duration(DEFAULT_WINDOW));
    }
    // Unused metrics are stored as unset.
    if !thresholds_used(policy.cpu.as_ref()) {
        policy.cpu = None;
    }
    if !thresholds_used(policy.memory.as_ref()) {
        policy.memory = None;
    }
}

fn validate_thresholds(t: Option<&UtilizationThresholds>, field: &str) -> Result<(), ApiError> {
    let Some(t) = t.filter(|t| thresholds_used(Some(t))) else {
        return Ok(());
    };
    for (name, value) in [
        ("target_percent", t.target_percent),
        ("scale_up_threshold_percent", t.scale_up_threshold_percent),
        (
            "scale_down_threshold_percent",
            t.scale_down_threshold_percent,
        ),
    ] {
        if !(1..=MAX_THRESHOLD_PERCENT).contains(&value) {
            return Err(ApiError::invalid_field(
                format!("{field}.{name}"),
                format!(
                    "must be between 1 and {MAX_THRESHOLD_PERCENT} when the metric is used (all three 0: not used)"
                ),
            ));
        }
    }
    if t.scale_down_threshold_percent >= t.target_percent {
        return Err(ApiError::invalid_field(
            format!("{field}.scale_down_threshold_percent"),
            "must be below target_percent",
        ));
    }
    if t.scale_up_threshold_percent <= t.target_percent {
        return Err(ApiError::invalid_field(
            format!("{field}.scale_up_threshold_percent"),
            "must be above target_percent",
        ));
    }
    Ok(())
}

fn validate_step(step: Option<&CountOrPercent>, field: &str) -> Result<(), ApiError> {
    match step.and_then(|s| s.value) {
        Some(count_or_percent::Value::Count(count)) if !(1..=MAX_REPLICAS).contains(&count) => Err(
            ApiError::invalid_field(field, format!("a count from 1 to {MAX_REPLICAS}")),
        ),
        Some(count_or_percent::Value::Percent(percent)) if !(1..=100).contains(&percent) => {
            Err(ApiError::invalid_field(field, "a percentage from 1 to 100"))
        }
        _ => Ok(()),
    }
}

fn validate_duration(
    value: Option<&prost_types::Duration>,
    field: &str,
    range: std::ops::RangeInclusive<Duration>,
    describe: &str,
) -> Result<(), ApiError> {
    let Some(value) = value else {
        return Ok(());
    };
    if value.seconds < 0 || value.nanos < 0 || value.nanos >= 1_000_000_000 {
        return Err(ApiError::invalid_field(field, "must not be negative"));
    }
    if !range.contains(&to_duration(value)) {
        return Err(ApiError::invalid_field(field, describe));
    }
    Ok(())
}

/// Checks a policy's client fields (defaults applied). `field` prefixes violations
/// (`autoscaling_policy`).
pub fn validate(policy: &AutoscalingPolicy, field: &str) -> Result<(), ApiError> {
    let f = |name: &str| format!("{field}.{name}");
    if policy.display_name.chars().count() > 63 {
        return Err(ApiError::invalid_field(
            f("display_name"),
            "longer than 63 characters",
        ));
    }
    if !(1..=MAX_REPLICAS).contains(&policy.min_replicas) {
        return Err(ApiError::invalid_field(
            f("min_replicas"),
            format!("must be between 1 and {MAX_REPLICAS} (0 on create means 1)"),
        ));
    }
    if policy.max_replicas == 0 {
        return Err(ApiError::invalid_field(
            f("max_replicas"),
            "required: the most instances",
        ));
    }
    if !(1..=MAX_REPLICAS).contains(&policy.max_replicas) {
        return Err(ApiError::invalid_field(
            f("max_replicas"),
            format!("must be between 1 and {MAX_REPLICAS}"),
        ));
    }
    if policy.max_replicas < policy.min_replicas {
        return Err(ApiError::invalid_field(
            f("max_replicas"),
            format!("must be at least min_replicas ({})", policy.min_replicas),
        ));
    }
    validate_thresholds(policy.cpu.as_ref(), &f("cpu"))?;
    validate_thresholds(policy.memory.as_ref(), &f("memory"))?;
    if policy.enabled
        && !thresholds_used(policy.cpu.as_ref())
        && !thresholds_used(policy.memory.as_ref())
    {
        return Err(ApiError::invalid_field(
            f("cpu"),
            "an enabled policy needs cpu or memory thresholds",
        ));
    }
    validate_step(policy.scale_up_step.as_ref(), &f("scale_up_step"))?;
    validate_step(policy.scale_down_step.as_ref(), &f("scale_down_step"))?;
    validate_duration(
        policy.scale_up_cooldown.as_ref(),
        &f("scale_up_cooldown"),
        Duration::ZERO..=MAX_COOLDOWN,
        "between 0 s and 24 h",
    )?;
    validate_duration(
        policy.scale_down_cooldown.as_ref(),
        &f("scale_down_cooldown"),
        Duration::ZERO..=MAX_COOLDOWN,
        "between 0 s and 24 h",
    )?;
    validate_duration(
        policy.evaluation_window.as_ref(),
        &f("evaluation_window"),
        MIN_WINDOW..=MAX_WINDOW,
        "between 15 s and 1 h",
    )?;
    Ok(())
}

/// What one instance of `template` may use of each metric: the request, or the limit
/// when there is no request.
pub fn capacity(template: Option<&DeploymentTemplate>) -> planner::Capacity {
    let resources = template.and_then(|t| t.resources).unwrap_or_default();
    let requests = resources.requests.unwrap_or_default();
    let limits = resources.limits.unwrap_or_default();
    let pick = |request: i64, limit: i64| {
        if request > 0 {
            Some(request as u64)
        } else if limit > 0 {
            Some(limit as u64)
        } else {
            None
        }
    };
    planner::Capacity {
        cpu_millis: pick(requests.cpu_millis, limits.cpu_millis),
        memory_bytes: pick(requests.memory_bytes, limits.memory_bytes),
    }
}

/// FAILED_PRECONDITION (INVALID_STATE) when an enabled policy uses a metric the
/// deployment's template gives neither a request nor a limit for.
pub fn check_metrics(
    policy: &AutoscalingPolicy,
    template: Option<&DeploymentTemplate>,
    deployment: &str,
) -> Result<(), ApiError> {
    if !policy.enabled {
        return Ok(());
    }
    let capacity = capacity(template);
    for (name, used, available, field) in [
        (
            "cpu",
            thresholds_used(policy.cpu.as_ref()),
            capacity.cpu_millis.is_some(),
            "cpu_millis",
        ),
        (
            "memory",
            thresholds_used(policy.memory.as_ref()),
            capacity.memory_bytes.is_some(),
            "memory_bytes",
        ),
    ] {
        if used && !available {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                deployment,
                format!(
                    "the policy scales on {name}, but {deployment} gives its instances neither a \
                     request nor a limit of {name}: set template.resources.requests.{field}"
                ),
            ));
        }
    }
    Ok(())
}

/// The policy as the planner reads it (defaults applied).
pub fn planner_policy(policy: &AutoscalingPolicy) -> planner::Policy {
    let mut policy = policy.clone();
    apply_defaults(&mut policy);
    let thresholds = |t: Option<&UtilizationThresholds>| {
        t.filter(|t| thresholds_used(Some(t))).map(|t| Thresholds {
            target: t.target_percent.max(1) as u32,
            up: t.scale_up_threshold_percent.max(0) as u32,
            down: t.scale_down_threshold_percent.max(0) as u32,
        })
    };
    let step = |s: &Option<CountOrPercent>, default: Step| match s.as_ref().and_then(|s| s.value) {
        Some(count_or_percent::Value::Count(count)) => Step::Count(count.max(1) as u32),
        Some(count_or_percent::Value::Percent(percent)) => Step::Percent(percent.max(1) as u32),
        None => default,
    };
    let duration = |d: &Option<prost_types::Duration>, default: Duration| {
        d.as_ref().map(to_duration).unwrap_or(default)
    };
    planner::Policy {
        enabled: policy.enabled,
        min: policy.min_replicas.max(1) as u32,
        max: policy.max_replicas.max(policy.min_replicas).max(1) as u32,
        cpu: thresholds(policy.cpu.as_ref()),
        memory: thresholds(policy.memory.as_ref()),
        up_step: step(&policy.scale_up_step, Step::Percent(100)),
        down_step: step(&policy.scale_down_step, Step::Count(1)),
        up_cooldown: duration(&policy.scale_up_cooldown, DEFAULT_UP_COOLDOWN),
        down_cooldown: duration(&policy.scale_down_cooldown, DEFAULT_DOWN_COOLDOWN),
        window: duration(&policy.evaluation_window, DEFAULT_WINDOW),
    }
}

/// The fields a user sets (10..19), to tell whether `generation` moves.
pub fn same_spec(a: &AutoscalingPolicy, b: &AutoscalingPolicy) -> bool {
    a.enabled == b.enabled
        && a.min_replicas == b.min_replicas
        && a.max_replicas == b.max_replicas
        && a.cpu == b.cpu
        && a.memory == b.memory
        && a.scale_up_step == b.scale_up_step
        && a.scale_down_step == b.scale_down_step
        && a.scale_up_cooldown == b.scale_up_cooldown
        && a.scale_down_cooldown == b.scale_down_cooldown
        && a.evaluation_window == b.evaluation_window
}

/// `current` with the fields of `input` that `mask` names (validated paths; `*`: all).
pub fn apply_mask(
    current: &AutoscalingPolicy,
    input: &AutoscalingPolicy,
    mask: &[String],
) -> AutoscalingPolicy {
    let mut updated = current.clone();
    let all = mask.iter().any(|m| m == "*");
    let touches = |field: &str| all || mask.iter().any(|m| m == field);
    if touches("display_name") {
        updated.display_name = input.display_name.clone();
    }
    if touches("labels") {
        updated.labels = input.labels.clone();
    }
    if touches("annotations") {
        updated.annotations = input.annotations.clone();
    }
    if touches("enabled") {
        updated.enabled = input.enabled;
    }
    if touches("min_replicas") {
        updated.min_replicas = input.min_replicas;
    }
    if touches("max_replicas") {
        updated.max_replicas = input.max_replicas;
    }
    for (name, target, source) in [
        ("cpu", &mut updated.cpu, &input.cpu),
        ("memory", &mut updated.memory, &input.memory),
    ] {
        if touches(name) {
            *target = *source;
            continue;
        }
        let source = source.unwrap_or_default();
        let prefix = format!("{name}.");
        for path in mask.iter().filter_map(|m| m.strip_prefix(&prefix)) {
            let t = target.get_or_insert_with(UtilizationThresholds::default);
            match path {
                "target_percent" => t.target_percent = source.target_percent,
                "scale_up_threshold_percent" => {
                    t.scale_up_threshold_percent = source.scale_up_threshold_percent
                }
                "scale_down_threshold_percent" => {
                    t.scale_down_threshold_percent = source.scale_down_threshold_percent
                }
                _ => {}
            }
        }
    }
    if touches("scale_up_step") {
        updated.scale_up_step = input.scale_up_step;
    }
    if touches("scale_down_step") {
        updated.scale_down_step = input.scale_down_step;
    }
    if touches("scale_up_cooldown") {
        updated.scale_up_cooldown = input.scale_up_cooldown;
    }
    if touches("scale_down_cooldown") {
        updated.scale_down_cooldown = input.scale_down_cooldown;
    }
    if touches("evaluation_window") {
        updated.evaluation_window = input.evaluation_window;
    }
    updated
}

/// INVALID_ARGUMENT for an update without a mask (required unless `allow_missing`
/// creates the policy).
pub fn mask_required() -> ApiError {
    ApiError::new(
        Code::InvalidArgument,
        ErrorReason::InvalidUpdateMask,
        "update_mask is required to change a policy (e.g. `enabled,max_replicas`; `*` for every field)",
    )
    .with_field_violation("update_mask", "required")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AutoscalingPolicy {
        let mut p = AutoscalingPolicy {
            enabled: true,
            max_replicas: 5,
            cpu: Some(UtilizationThresholds {
                target_percent: 60,
                scale_up_threshold_percent: 80,
                scale_down_threshold_percent: 30,
            }),
            ..Default::default()
        };
        apply_defaults(&mut p);
        p
    }

    fn violation(result: Result<(), ApiError>) -> String {
        let status: tonic::Status = result.unwrap_err().into();
        let details = tonic_types::StatusExt::get_error_details(&status);
        details.bad_request().unwrap().field_violations[0]
            .field
            .clone()
    }

    #[test]
    fn defaults_are_filled() {
        let p = policy();
        assert_eq!(p.min_replicas, 1);
        let planned = planner_policy(&p);
        assert_eq!(planned.up_step, Step::Percent(100));
        assert_eq!(planned.down_step, Step::Count(1));
        assert_eq!(planned.up_cooldown, Duration::from_secs(60));
        assert_eq!(planned.down_cooldown, Duration::from_secs(300));
        assert_eq!(planned.window, Duration::from_secs(60));
        assert_eq!(planned.memory, None);
        validate(&p, "p").unwrap();
    }

    #[test]
    fn bad_fields_are_named() {
        let check = |change: &dyn Fn(&mut AutoscalingPolicy), field: &str| {
            let mut p = policy();
            change(&mut p);
            assert_eq!(violation(validate(&p, "p")), field);
        };
        check(&|p| p.min_replicas = -1, "p.min_replicas");
        check(&|p| p.max_replicas = 0, "p.max_replicas");
        check(
            &|p| {
                p.min_replicas = 4;
                p.max_replicas = 3
            },
            "p.max_replicas",
        );
        check(&|p| p.max_replicas = MAX_REPLICAS + 1, "p.max_replicas");
        check(
            &|p| p.cpu.as_mut().unwrap().scale_down_threshold_percent = 70,
            "p.cpu.scale_down_threshold_percent",
        );
        check(
            &|p| p.cpu.as_mut().unwrap().scale_up_threshold_percent = 50,
            "p.cpu.scale_up_threshold_percent",
        );
        check(
            &|p| p.cpu.as_mut().unwrap().target_percent = 0,
            "p.cpu.target_percent",
        );
        check(&|p| p.cpu = None, "p.cpu");
        check(
            &|p| {
                p.scale_up_step = Some(CountOrPercent {
                    value: Some(count_or_percent::Value::Count(0)),
                })
            },
            "p.scale_up_step",
        );
        check(
            &|p| {
                p.scale_down_step = Some(CountOrPercent {
                    value: Some(count_or_percent::Value::Percent(101)),
                })
            },
            "p.scale_down_step",
        );
        check(
            &|p| {
                p.scale_up_cooldown = Some(prost_types::Duration {
                    seconds: -1,
                    nanos: 0,
                })
            },
            "p.scale_up_cooldown",
        );
        check(
            &|p| {
                p.evaluation_window = Some(prost_types::Duration {
                    seconds: 5,
                    nanos: 0,
                })
            },
            "p.evaluation_window",
        );
    }

    #[test]
    fn a_masked_subfield_changes_alone() {
        let p = policy();
        let input = AutoscalingPolicy {
            max_replicas: 9,
            cpu: Some(UtilizationThresholds {
                target_percent: 50,
                scale_up_threshold_percent: 1,
                scale_down_threshold_percent: 1,
            }),
            ..Default::default()
        };
        let updated = apply_mask(&p, &input, &["cpu.target_percent".into()]);
        assert_eq!(updated.cpu.unwrap().target_percent, 50);
        assert_eq!(updated.cpu.unwrap().scale_up_threshold_percent, 80);
        assert_eq!(updated.max_replicas, 5);
        assert!(!same_spec(&p, &updated));
    }

    #[test]
    fn metrics_need_a_request_or_limit() {
        let p = policy();
        let error = check_metrics(&p, Some(&DeploymentTemplate::default()), "d").unwrap_err();
        assert_eq!(error.code, Code::FailedPrecondition);
        let template = DeploymentTemplate {
            resources: Some(ferry_proto::ferry::common::v1::ResourceRequirements {
                requests: None,
                limits: Some(ferry_proto::ferry::common::v1::ResourceQuantities {
                    cpu_millis: 500,
                    ..Default::default()
                }),
            }),
            ..Default::default()
        };
        check_metrics(&p, Some(&template), "d").unwrap();
        assert_eq!(capacity(Some(&template)).cpu_millis, Some(500));
    }
}
