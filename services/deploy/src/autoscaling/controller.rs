//! The autoscaling controller: polls each policy's deployment, samples the usage of its
//! ready instances from the runtime, asks the [`planner`], and applies a change by
//! setting the deployment's `replicas` (the deployment controller does the rest).
//!
//! Samples live in memory, per policy, for one evaluation window; a new leader, a
//! rollout or a scale operation starts a fresh window (the planner decides nothing
//! before a window is full). A change is written in one transaction fenced by
//! leadership and guarded by the revisions of the policy and the deployment it read:
//! the deployment's `replicas`, `generation`, `reconciling`, `autoscaled` and
//! `update_time`, and the policy's status (last scale time, direction, reason,
//! utilisation). Nothing is written when nothing changes (utilisation figures are
//! refreshed when they move by [`METRICS_DELTA`] points or more).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use ferry_events::{EventInput, Recorder};
use ferry_kit::error::ApiError;
use ferry_ops::operation as op;
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::common::v1::{Condition, ConditionStatus, ErrorReason};
use ferry_proto::ferry::deploy::v1::autoscaling_policy::{Direction, State};
use ferry_proto::ferry::deploy::v1::deployment::State as DeploymentState;
use ferry_proto::ferry::deploy::v1::{AutoscalingPolicy, Deployment, Namespace};
use ferry_runtime::Runtime;
use ferry_store::{KeyValue, Precondition, StoreError, Txn, typed};
use prost::Message as _;
use tonic::Code;

use super::planner::{self, Sample, Usage};
use super::{model, policies_prefix, policy_deployment};
use crate::deployment::model::DEPLOYMENT_NAME;
use crate::deployment::{GroupState, deployment_key, groups_key};
use crate::namespace::namespace_key;
use crate::runtimes::Runtimes;

/// Utilisation changes smaller than this (percentage points) are not written back.
pub const METRICS_DELTA: i32 = 5;
/// Fastest and slowest polling (the period is a tenth of the evaluation window).
const MIN_POLL: Duration = Duration::from_secs(1);
const MAX_POLL: Duration = Duration::from_secs(10);

/// The samples of one policy's current window.
#[derive(Debug, Default)]
struct Window {
    samples: VecDeque<Sample>,
    since: Option<SystemTime>,
    /// When `replicas` was last seen changed by someone else (ScaleDeployment,
    /// UpdateDeployment): the cool-downs count from it too.
    external_change: Option<SystemTime>,
}

/// Reconciles autoscaling policies.
pub struct AutoscalingReconciler {
    runtimes: Runtimes,
    windows: Mutex<HashMap<String, Window>>,
    recorder: Option<Recorder>,
}

impl AutoscalingReconciler {
    /// A reconciler reading usage from `runtimes`.
    pub fn new(runtimes: Runtimes) -> Self {
        Self {
            runtimes,
            windows: Mutex::new(HashMap::new()),
            recorder: None,
        }
    }

    /// Records each change as an event of the deployment (reason `AUTOSCALED_UP` or
    /// `AUTOSCALED_DOWN`) with `recorder`.
    pub fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Forgets the samples of a policy: the next decision waits for a fresh window.
    fn reset(&self, key: &str) {
        if let Ok(mut windows) = self.windows.lock()
            && let Some(window) = windows.get_mut(key)
        {
            window.samples.clear();
            window.since = None;
        }
    }

    /// Forgets everything about a policy.
    fn forget(&self, key: &str) {
        if let Ok(mut windows) = self.windows.lock() {
            windows.remove(key);
        }
    }

    /// Notes (when `changed`) and returns when `replicas` was last changed by someone
    /// else than the autoscaler.
    fn external_change(&self, key: &str, changed: bool, now: SystemTime) -> Option<SystemTime> {
        let mut windows = self.windows.lock().ok()?;
        let window = windows.entry(key.to_string()).or_default();
        if changed {
            window.external_change = Some(now);
        }
        window.external_change
    }
}

/// How often a policy is evaluated.
pub fn poll_period(window: Duration) -> Duration {
    (window / 10).clamp(MIN_POLL, MAX_POLL)
}

fn runtime_error(error: ferry_runtime::RuntimeError) -> ApiError {
    let code = if error.is_transient() {
        Code::Unavailable
    } else {
        Code::Internal
    };
    ApiError::new(
        code,
        ErrorReason::BackendUnavailable,
        format!("runtime: {error}"),
    )
}

fn set_condition(
    policy: &mut AutoscalingPolicy,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
) {
    let status = if status {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    } as i32;
    let generation = policy.generation;
    if let Some(existing) = policy.conditions.iter_mut().find(|c| c.r#type == kind) {
        if existing.status != status {
            existing.last_transition_time = Some(op::now());
        }
        existing.status = status;
        existing.reason = reason.to_string();
        existing.message = message.to_string();
        existing.observed_generation = generation;
        return;
    }
    policy.conditions.push(Condition {
        r#type: kind.to_string(),
        status,
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: Some(op::now()),
        observed_generation: generation,
    });
}

/// Whether the status of `after` differs from `before` enough to be written.
fn status_changed(before: &AutoscalingPolicy, after: &AutoscalingPolicy) -> bool {
    let conditions = |p: &AutoscalingPolicy| {
        p.conditions
            .iter()
            .map(|c| (c.r#type.clone(), c.status, c.reason.clone()))
            .collect::<Vec<_>>()
    };
    let moved = |a: i32, b: i32| (a - b).abs() >= METRICS_DELTA;
    before.state != after.state
        || before.current_replicas != after.current_replicas
        || before.desired_replicas != after.desired_replicas
        || before.last_scale_time != after.last_scale_time
        || before.observed_generation != after.observed_generation
        || before.reconciling != after.reconciling
        || conditions(before) != conditions(after)
        || before.metrics_time.is_none() != after.metrics_time.is_none()
        || moved(
            before.current_cpu_utilization_percent,
            after.current_cpu_utilization_percent,
        )
        || moved(
            before.current_memory_utilization_percent,
            after.current_memory_utilization_percent,
        )
}

fn timestamp_to_system(ts: &prost_types::Timestamp) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::new(ts.seconds.max(0) as u64, ts.nanos.max(0) as u32)
}

#[async_trait::async_trait]
impl Reconciler for AutoscalingReconciler {
    fn name(&self) -> &'static str {
        "deploy-autoscaling"
    }

    fn prefix(&self) -> String {
        policies_prefix()
    }

    async fn reconcile(
        &self,
        context: &ReconcileContext,
        key: &str,
        kv: Option<KeyValue>,
    ) -> Result<Action, ApiError> {
        let store = context.store.as_ref();
        let Some(deployment_name) = policy_deployment(key).map(str::to_string) else {
            return Ok(Action::Done);
        };
        let deployment_key = deployment_key(&deployment_name);
        let deployment = typed::get_msg::<Deployment>(store, &deployment_key).await?;
        let Some(kv) = kv else {
            // The policy is gone: the deployment is no longer autoscaled.
            self.forget(key);
            if let Some((mut deployment, revision)) = deployment
                && deployment.autoscaled
            {
                deployment.autoscaled = false;
                deployment.etag.clear();
                let txn = Txn::new()
                    .when(context.fence.clone())
                    .when(Precondition::ModRevision(deployment_key.clone(), revision))
                    .put(&deployment_key, deployment.encode_to_vec());
                if !commit(context, txn).await? {
                    return Ok(Action::RequeueAfter(Duration::from_millis(100)));
                }
            }
            return Ok(Action::Done);
        };
        let (policy, policy_revision) = typed::decode_kv::<AutoscalingPolicy>(&kv)?;
        let Some((deployment, deployment_revision)) = deployment else {
            // An orphan (its deployment was deleted before it): remove it.
            let txn = Txn::new()
                .when(context.fence.clone())
                .when(Precondition::ModRevision(key.to_string(), policy_revision))
                .when(Precondition::Absent(deployment_key.clone()))
                .delete(key);
            commit(context, txn).await?;
            tracing::info!(policy = %policy.name, "removed the policy of a deleted deployment");
            return Ok(Action::Done);
        };
        let planned = model::planner_policy(&policy);
        let period = poll_period(planned.window);
        if deployment.state() == DeploymentState::Deleting {
            // The deployment controller removes the policy with the deployment.
            self.reset(key);
            return Ok(Action::RequeueAfter(period));
        }
        let ids = DEPLOYMENT_NAME.parse("name", &deployment.name)?;
        let deployment_id = ids[1].to_string();
        let namespace_name = format!("namespaces/{}", ids[0]);
        let Some((namespace, _)) =
            typed::get_msg::<Namespace>(store, &namespace_key(&namespace_name)).await?
        else {
            return Ok(Action::RequeueAfter(period));
        };
        let runtime = self.runtimes.get(&namespace.runtime).cloned();

        // Why the deployment must not be touched now, if it must not.
        let busy = if !deployment.active_rollout.is_empty() {
            Some(format!("rollout {} is active", deployment.active_rollout))
        } else {
            let waiting = match store.get(&groups_key(&deployment.name)).await? {
                Some(kv) => GroupState::decode(&kv.value).unwrap_or_default().waiting,
                None => Vec::new(),
            };
            (!waiting.is_empty()).then(|| format!("operation {} is active", waiting[0]))
        };

        let now = SystemTime::now();
        let sampling = runtime
            .as_ref()
            .filter(|_| policy.enabled && busy.is_none());
        let (samples, since) = match sampling {
            None => {
                self.reset(key);
                (Vec::new(), None)
            }
            Some(runtime) => {
                let sample = sample(
                    runtime.as_ref(),
                    &namespace.runtime_namespace,
                    &deployment_id,
                    now,
                )
                .await?;
                let mut windows = self
                    .windows
                    .lock()
                    .map_err(|_| ApiError::internal(&"autoscaler state poisoned"))?;
                let window = windows.entry(key.to_string()).or_default();
                window.since.get_or_insert(now);
                window.samples.push_back(sample);
                let oldest = now.checked_sub(planned.window).unwrap_or(now);
                while window.samples.front().is_some_and(|s| s.at < oldest) {
                    window.samples.pop_front();
                }
                (window.samples.iter().cloned().collect(), window.since)
            }
        };

        let replicas = deployment.replicas.unwrap_or(1).max(0) as u32;
        // A change of `replicas` by a client since the last look counts as a scaling
        // change for the cool-downs.
        let external = self.external_change(
            key,
            policy.observed_generation > 0 && policy.current_replicas != replicas as i32,
            now,
        );
        let last_scale = policy
            .last_scale_time
            .as_ref()
            .map(timestamp_to_system)
            .max(external);
        let mut decision = planner::plan(&planner::Input {
            policy: &planned,
            replicas,
            capacity: model::capacity(deployment.template.as_ref()),
            samples: &samples,
            sampling_since: since,
            last_scale,
            busy: busy.as_deref(),
            settling: deployment.reconciling
                || deployment.observed_generation < deployment.generation,
            now,
        });
        if runtime.is_none() && policy.enabled && busy.is_none() && decision.replicas.is_none() {
            decision.state = planner::State::MetricsUnavailable;
            decision.reason = format!(
                "the namespace's runtime {:?} is not configured in this deploy service",
                namespace.runtime
            );
        }

        // The policy's status.
        let mut status = policy.clone();
        status.state = match decision.state {
            planner::State::Disabled => State::Disabled,
            planner::State::Active => State::Active,
            planner::State::Suspended => State::Suspended,
            planner::State::MetricsUnavailable => State::MetricsUnavailable,
        } as i32;
        status.current_replicas = replicas as i32;
        status.desired_replicas = decision.desired as i32;
        if decision.cpu_percent.is_some() || decision.memory_percent.is_some() {
            status.current_cpu_utilization_percent =
                decision.cpu_percent.unwrap_or(0).min(i32::MAX as u32) as i32;
            status.current_memory_utilization_percent =
                decision.memory_percent.unwrap_or(0).min(i32::MAX as u32) as i32;
            status.metrics_time = Some(op::now());
        }
        if policy.enabled {
            let available = decision.state != planner::State::MetricsUnavailable;
            let (reason, message) = if available {
                (
                    "METRICS_AVAILABLE",
                    "the instances report usage".to_string(),
                )
            } else {
                ("METRICS_UNAVAILABLE", decision.reason.clone())
            };
            if decision.state != planner::State::Suspended {
                set_condition(&mut status, "MetricsAvailable", available, reason, &message);
            }
            match decision.limited_by {
                Some(bound) => set_condition(
                    &mut status,
                    "ScalingLimited",
                    true,
                    &format!("{}_LIMIT", bound.to_uppercase()),
                    &format!("{} replicas wanted, cut by {bound}", decision.desired),
                ),
                None => set_condition(&mut status, "ScalingLimited", false, "NOT_LIMITED", ""),
            }
        }
        status.observed_generation = policy.generation;
        status.reconciling = false;

        // The deployment's change, if any.
        let mut updated = deployment.clone();
        updated.autoscaled = policy.enabled;
        if let Some(to) = decision.replicas {
            let direction = decision.direction(replicas);
            updated.replicas = Some(to as i32);
            updated.generation += 1;
            updated.reconciling = true;
            status.current_replicas = to as i32;
            status.last_scale_time = Some(op::now());
            status.last_scale_direction = match direction {
                Some(planner::Direction::Up) => Direction::Up,
                Some(planner::Direction::Down) => Direction::Down,
                None => Direction::Unspecified,
            } as i32;
            status.last_scale_from_replicas = replicas as i32;
            status.last_scale_to_replicas = to as i32;
            status.last_scale_reason = decision.reason.clone();
        }
        let deployment_changed = updated != deployment;
        let policy_changed = status_changed(&policy, &status);
        if !deployment_changed && !policy_changed {
            return Ok(Action::RequeueAfter(period));
        }
        let mut txn = Txn::new()
            .when(context.fence.clone())
            .when(Precondition::ModRevision(key.to_string(), policy_revision))
            .when(Precondition::ModRevision(
                deployment_key.clone(),
                deployment_revision,
            ));
        if deployment_changed {
            updated.update_time = Some(op::now());
            updated.etag.clear();
            txn = txn.put(&deployment_key, updated.encode_to_vec());
        }
        if policy_changed {
            status.etag.clear();
            txn = txn.put(key, status.encode_to_vec());
        }
        if !commit(context, txn).await? {
            // A client or the deployment controller wrote in between: look again soon.
            return Ok(Action::RequeueAfter(Duration::from_millis(200)));
        }
        if let Some(to) = decision.replicas {
            let reason = if to > replicas {
                "AUTOSCALED_UP"
            } else {
                "AUTOSCALED_DOWN"
            };
            let message = format!("replicas {replicas} → {to}: {}", decision.reason);
            tracing::info!(deployment = %deployment.name, reason, message, "autoscaled");
            if let Some(recorder) = &self.recorder {
                recorder.record_in_background(
                    EventInput::normal(
                        ids[0],
                        &deployment.name,
                        "ferry.dev/Deployment",
                        reason,
                        message,
                        "deploy-autoscaling",
                    )
                    .deployment(deployment.name.clone()),
                );
            }
        }
        Ok(Action::RequeueAfter(period))
    }
}

/// One look at the ready instances of a deployment: their usage, `None` for those the
/// runtime has no figures for (or fails to read).
async fn sample(
    runtime: &dyn Runtime,
    runtime_namespace: &str,
    deployment_id: &str,
    now: SystemTime,
) -> Result<Sample, ApiError> {
    let ready: Vec<String> = runtime
        .list_instances(runtime_namespace)
        .await
        .map_err(runtime_error)?
        .into_iter()
        .filter(|i| i.deployment == deployment_id && i.is_live() && i.ready)
        .map(|i| i.instance)
        .collect();
    let usages = futures::future::join_all(
        ready
            .iter()
            .map(|instance| runtime.instance_usage(runtime_namespace, instance)),
    )
    .await;
    let instances = usages
        .into_iter()
        .zip(&ready)
        .map(|(usage, instance)| match usage {
            Ok(usage) => usage.map(|u| Usage {
                cpu_millis: u.cpu_millis,
                memory_bytes: u.memory_bytes,
            }),
            Err(error) => {
                tracing::debug!(instance, %error, "no usage figures for an instance");
                None
            }
        })
        .collect();
    Ok(Sample { at: now, instances })
}

/// Commits `txn`; false when a precondition failed.
async fn commit(context: &ReconcileContext, txn: Txn) -> Result<bool, ApiError> {
    match context.store.txn(txn).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict { .. }) => Ok(false),
        Err(error) => Err(error.into()),
    }
}
