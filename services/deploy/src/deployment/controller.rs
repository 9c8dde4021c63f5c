//! The deployment controller: moves each deployment's instance groups toward its target
//! revision, one planner step per reconcile.
//!
//! Each reconcile reads the deployment, its namespace, its [`GroupState`], its active
//! rollout and what the runtime runs; asks the [`planner`] for the next group sizes;
//! writes the new group sizes, rollout, revision, operation and status to etcd in one
//! transaction fenced by leadership and guarded by the revisions it read; and only then
//! applies the groups to the runtime (which also replaces dead instances: auto-repair)
//! and removes groups the record no longer names. A replica that dies anywhere in
//! between leaves etcd consistent, and the next leader repeats the same step.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use ferry_events::{EventInput, Recorder};
use ferry_kit::error::ApiError;
use ferry_ops::operation::{self as op, operation_key};
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::common::v1::{Condition, ConditionStatus, ErrorReason, Operation};
use ferry_proto::ferry::deploy::v1::deployment::State as DeploymentState;
use ferry_proto::ferry::deploy::v1::deployment_revision::RolloutResult;
use ferry_proto::ferry::deploy::v1::rollout::State as RolloutState;
use ferry_proto::ferry::deploy::v1::{
    Deployment, DeploymentRevision, ListInstancesResponse, Namespace, Rollout, RolloutProgress,
};
use ferry_runtime::{InstancePhase, InstanceStatus};
use ferry_store::{KeyValue, Precondition, Store, StoreError, Txn, typed};
use prost::Message as _;
use tonic::Code;

use super::model::{self, DEPLOYMENT_NAME};
use super::planner::{self, Observed, Verdict};
use super::{
    GroupState, deployments_prefix, groups_key, revision_key, revisions_prefix, rollout_key,
    rollouts_prefix,
};
use crate::namespace::namespace_key;
use crate::runtimes::Runtimes;

/// How often an active rollout is looked at (runtime events wake it sooner).
const ROLLOUT_POLL: Duration = Duration::from_millis(500);
/// How often a settled deployment is checked (auto-repair beyond runtime events).
const SETTLED_POLL: Duration = Duration::from_secs(10);
/// How soon a deployment whose secret references do not resolve is looked at again.
const SECRET_RETRY: Duration = Duration::from_secs(2);
/// The reason of the ReplicaFailure condition of an unresolved secret reference.
const SECRET_UNRESOLVED: &str = "SECRET_UNRESOLVED";

/// Reconciles deployments.
pub struct DeploymentReconciler {
    runtimes: Runtimes,
    recorder: Option<Recorder>,
    /// Runtime ids of ended or unreachable instances already reported as events (so that
    /// each is reported once per leader, not once per reconcile).
    reported: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl DeploymentReconciler {
    /// A reconciler over `runtimes`.
    pub fn new(runtimes: Runtimes) -> Self {
        Self {
            runtimes,
            recorder: None,
            reported: Default::default(),
        }
    }

    /// Records rollout and instance events with `recorder`.
    pub fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }
}

/// The planner's view of a runtime instance.
pub fn observe(instance: &InstanceStatus) -> Observed {
    let ended = matches!(
        instance.phase,
        InstancePhase::Exited | InstancePhase::Failed
    );
    let reason = match &instance.exit {
        Some(exit) if exit.signal != 0 => format!("{} (signal {})", exit.reason, exit.signal),
        Some(exit) => format!("{} (exit {})", exit.reason, exit.code),
        None => instance.reason.clone(),
    };
    Observed {
        revision: instance.revision.clone(),
        live: instance.is_live(),
        ready: instance.ready,
        ready_since: instance.ready_since,
        started_at: instance.started_at,
        ended,
        ended_at: instance.exit.as_ref().and_then(|e| e.finished_at),
        reason,
        instance: instance.instance.clone(),
    }
}

fn timestamp_to_system(ts: &prost_types::Timestamp) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::new(ts.seconds.max(0) as u64, ts.nanos.max(0) as u32)
}

/// Everything one reconcile writes, committed in one transaction.
struct Writes {
    deployment: Deployment,
    groups: GroupState,
    rollout: Option<Rollout>,
    revisions: Vec<DeploymentRevision>,
    operations: Vec<Operation>,
    /// Recorded once the transaction committed.
    events: Vec<EventInput>,
}

const COMPONENT: &str = "deploy-deployments";

fn deployment_event(
    deployment: &Deployment,
    warning: bool,
    reason: &str,
    message: impl Into<String>,
) -> EventInput {
    let namespace = deployment.name.split('/').nth(1).unwrap_or_default();
    let input = if warning {
        EventInput::warning(
            namespace,
            &deployment.name,
            "ferry.dev/Deployment",
            reason,
            message,
            COMPONENT,
        )
    } else {
        EventInput::normal(
            namespace,
            &deployment.name,
            "ferry.dev/Deployment",
            reason,
            message,
            COMPONENT,
        )
    };
    input.deployment(deployment.name.clone())
}

#[async_trait::async_trait]
impl Reconciler for DeploymentReconciler {
    fn name(&self) -> &'static str {
        "deploy-deployments"
    }

    fn prefix(&self) -> String {
        deployments_prefix()
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
        let store = context.store.as_ref();
        let (deployment, deployment_revision) = typed::decode_kv::<Deployment>(&kv)?;
        let ids = DEPLOYMENT_NAME.parse("name", &deployment.name)?;
        let (namespace_id, deployment_id) = (ids[0].to_string(), ids[1].to_string());
        let namespace_name = format!("namespaces/{namespace_id}");
        let Some((namespace, _)) =
            typed::get_msg::<Namespace>(store, &namespace_key(&namespace_name)).await?
        else {
            tracing::warn!(deployment = %deployment.name, "the namespace of this deployment is gone");
            return Ok(Action::Done);
        };
        let Some(runtime) = self.runtimes.get(&namespace.runtime).cloned() else {
            let mut stalled = deployment.clone();
            set_condition(
                &mut stalled,
                "ReplicaFailure",
                true,
                "NO_RUNTIME",
                &format!(
                    "the namespace's runtime {:?} is not configured in this deploy service",
                    namespace.runtime
                ),
            );
            stalled.reconciling = true;
            if stalled != deployment {
                commit(
                    context,
                    key,
                    deployment_revision,
                    Txn::new().put(key, stalled.encode_to_vec()),
                )
                .await?;
            }
            return Ok(Action::RequeueAfter(Duration::from_secs(30)));
        };
        let rns = namespace.runtime_namespace.clone();

        if deployment.state() == DeploymentState::Deleting {
            return self
                .delete(
                    context,
                    key,
                    deployment_revision,
                    &deployment,
                    runtime.as_ref(),
                    &rns,
                    &deployment_id,
                )
                .await;
        }

        let groups_kv = store.get(&groups_key(&deployment.name)).await?;
        let (stored_groups, groups_revision) = match &groups_kv {
            Some(kv) => (
                GroupState::decode(&kv.value).unwrap_or_default(),
                Some(kv.mod_revision),
            ),
            None => (GroupState::default(), None),
        };
        let (mut rollout, rollout_guard) = match deployment.active_rollout.as_str() {
            "" => (None, None),
            name => match typed::get_msg::<Rollout>(store, &rollout_key(name)).await? {
                Some((r, revision)) => (Some(r), Some((rollout_key(name), revision))),
                None => (None, None),
            },
        };
        let rollout_before = rollout.clone();

        let instances: Vec<InstanceStatus> = runtime
            .list_instances(&rns)
            .await
            .map_err(runtime_error)?
            .into_iter()
            .filter(|i| i.deployment == deployment_id)
            .collect();
        let observed: Vec<Observed> = instances.iter().map(observe).collect();
        let now = SystemTime::now();
        let replicas = deployment.replicas.unwrap_or(1).max(0) as u32;
        let strategy_proto = rollout
            .as_ref()
            .and_then(|r| r.strategy)
            .or(deployment.strategy)
            .unwrap_or_default();
        let strategy = model::planner_strategy(&strategy_proto, replicas);

        let mut writes = Writes {
            deployment: deployment.clone(),
            groups: stored_groups.clone(),
            rollout: None,
            revisions: Vec::new(),
            operations: Vec::new(),
            events: Vec::new(),
        };

        // Which revision the instances move to, and how.
        let mut frozen = false;
        let (target, watch_failures, since) = match rollout.as_mut() {
            Some(r) => {
                if r.state() == RolloutState::Pending {
                    r.state = RolloutState::Progressing as i32;
                    r.start_time = Some(op::now());
                    writes.events.push(deployment_event(
                        &deployment,
                        false,
                        "ROLLOUT_STARTED",
                        format!("rollout {} started", r.display_name),
                    ));
                    if let Some(mut operation) = read_operation(store, &r.operation).await? {
                        op::start(&mut operation);
                        writes.operations.push(operation);
                    }
                }
                let since = r.start_time.as_ref().map(timestamp_to_system);
                match r.state() {
                    RolloutState::Progressing => {
                        (model::revision_id(&r.to_revision).to_string(), true, since)
                    }
                    RolloutState::Paused => {
                        frozen = true;
                        (model::revision_id(&r.to_revision).to_string(), false, since)
                    }
                    _ => (
                        model::revision_id(&r.from_revision).to_string(),
                        false,
                        since,
                    ),
                }
            }
            None => {
                let current = model::revision_id(&deployment.current_revision).to_string();
                // After a rollout that failed without rollback, the deployment keeps both
                // revisions as they are (only repaired) until the next rollout.
                if current.is_empty() || stored_groups.groups.keys().any(|r| *r != current) {
                    frozen = true;
                }
                (current, false, None)
            }
        };

        let plan = planner::plan(&planner::Input {
            replicas,
            strategy: &strategy,
            target: &target,
            watch_failures,
            since,
            groups: &stored_groups.groups,
            observed: &observed,
            now,
        });
        if !frozen {
            writes.groups.groups = plan.groups.clone();
        }
        writes.groups.groups.retain(|revision, size| {
            // A group shrunk to 0 stays recorded while its last instances drain (the
            // runtime keeps them up, unready, for a moment); it is deleted once none
            // runs.
            let draining = instances.iter().any(|i| {
                &i.revision == revision
                    && matches!(
                        i.phase,
                        InstancePhase::Pending
                            | InstancePhase::Running
                            | InstancePhase::Terminating
                    )
            });
            !revision.is_empty() && (*size > 0 || draining)
        });

        // Rollout transitions.
        if let Some(r) = rollout.as_mut() {
            let active_before = r.state();
            match (&plan.verdict, active_before) {
                (
                    Verdict::Failed {
                        reason, message, ..
                    },
                    RolloutState::Progressing,
                ) => {
                    let auto_rollback = strategy_proto.auto_rollback.unwrap_or(true);
                    if auto_rollback && !r.from_revision.is_empty() {
                        r.state = RolloutState::RollingBack as i32;
                        r.state_reason = reason.to_string();
                        r.state_message = format!(
                            "rolling back to {}: {message}",
                            model::revision_id(&r.from_revision)
                        );
                        if let Some(progress) = r.progress.as_mut() {
                            progress.rollback_reason = message.clone();
                        }
                        writes.events.push(deployment_event(
                            &deployment,
                            true,
                            "ROLLOUT_ROLLING_BACK",
                            r.state_message.clone(),
                        ));
                    } else {
                        self.finish(store, r, &mut writes, RolloutState::Failed, reason, message)
                            .await?;
                    }
                }
                (Verdict::Complete, RolloutState::Progressing) => {
                    writes.deployment.current_revision = r.to_revision.clone();
                    self.finish(
                        store,
                        r,
                        &mut writes,
                        RolloutState::Succeeded,
                        "",
                        "every instance runs the new revision",
                    )
                    .await?;
                }
                (Verdict::Complete, RolloutState::RollingBack) => {
                    let message = r.state_message.clone();
                    let reason = r.state_reason.clone();
                    self.finish(
                        store,
                        r,
                        &mut writes,
                        RolloutState::RolledBack,
                        &reason,
                        &message,
                    )
                    .await?;
                }
                (Verdict::Complete, RolloutState::Aborting) => {
                    let message = r.state_message.clone();
                    self.finish(
                        store,
                        r,
                        &mut writes,
                        RolloutState::Aborted,
                        "ABORTED_BY_USER",
                        &message,
                    )
                    .await?;
                }
                _ => {}
            }
            let paused = r.state() == RolloutState::Paused;
            let (name, from, to_name, state) = (
                r.name.clone(),
                r.from_revision.clone(),
                r.to_revision.clone(),
                r.state,
            );
            let progress = r.progress.get_or_insert_with(RolloutProgress::default);
            progress.rollout = name;
            progress.deployment = deployment.name.clone();
            progress.old_revision = from;
            progress.new_revision = to_name.clone();
            progress.state = state;
            progress.paused = paused;
            progress.instances_total = replicas as i32;
            let to = model::revision_id(&to_name);
            progress.instances_updated = observed
                .iter()
                .filter(|o| o.revision == to && o.live)
                .count() as i32;
            progress.instances_available = observed
                .iter()
                .filter(|o| o.revision == to && o.available(strategy.min_ready, now))
                .count() as i32;
            progress.instances_old = observed
                .iter()
                .filter(|o| o.revision != to && o.live)
                .count() as i32;
            progress.total_steps =
                replicas.div_ceil(strategy.max_surge.max(1).max(strategy.max_unavailable)) as i32;
            progress.current_step =
                (progress.instances_available + 1).min(progress.total_steps.max(1));
            r.update_time = Some(op::now());
            writes.rollout = Some(r.clone());
            // Mirror the progress into the rollout's operation while it runs.
            if !is_final(r.state())
                && let Some(mut operation) = match writes.operations.pop() {
                    Some(operation) => Some(operation),
                    None => read_operation(store, &r.operation).await?,
                }
            {
                let details = pack(&r.progress.clone().unwrap_or_default());
                let metadata = operation.metadata.get_or_insert_with(Default::default);
                if metadata.details.as_ref() != Some(&details)
                    || metadata.state
                        != ferry_proto::ferry::common::v1::OperationState::Running as i32
                {
                    metadata.details = Some(details);
                    metadata.status_message = format!(
                        "{} of {} instances on {}",
                        progress_of(r).instances_available,
                        replicas,
                        model::revision_id(&r.to_revision)
                    );
                    writes.operations.push(operation);
                }
            }
        }

        // Scale operations end once the deployment has converged.
        let settled = writes.rollout.as_ref().is_none_or(|r| is_final(r.state()))
            && plan.verdict == Verdict::Complete;
        if settled && !writes.groups.waiting.is_empty() {
            for name in std::mem::take(&mut writes.groups.waiting) {
                if let Some(mut operation) = read_operation(store, &name).await? {
                    op::succeed(
                        &mut operation,
                        "ferry.deploy.v1.Deployment",
                        &writes.deployment,
                    );
                    writes.operations.push(operation);
                }
            }
        }

        // Status.
        let current_revision_name = writes.deployment.current_revision.clone();
        let target_revision_name = writes
            .rollout
            .as_ref()
            .filter(|r| !is_final(r.state()))
            .map(|r| r.to_revision.clone())
            .unwrap_or_else(|| current_revision_name.clone());
        let status = &mut writes.deployment;
        status.current_replicas = observed.iter().filter(|o| o.live).count() as i32;
        status.ready_replicas = observed.iter().filter(|o| o.live && o.ready).count() as i32;
        status.available_replicas = observed
            .iter()
            .filter(|o| o.available(strategy.min_ready, now))
            .count() as i32;
        let target_id = model::revision_id(&target_revision_name).to_string();
        status.updated_replicas = observed
            .iter()
            .filter(|o| o.live && o.revision == target_id)
            .count() as i32;
        status.target_revision = target_revision_name;
        let rollout_active = writes
            .rollout
            .as_ref()
            .is_some_and(|r| !is_final(r.state()));
        if !rollout_active {
            status.active_rollout.clear();
        }
        status.state =
            derive_state(status, replicas, rollout_active, writes.rollout.as_ref()) as i32;
        let available =
            status.available_replicas as u32 >= replicas.saturating_sub(strategy.max_unavailable);
        set_condition(
            status,
            "Available",
            available,
            if available {
                "MINIMUM_AVAILABLE"
            } else {
                "BELOW_MINIMUM"
            },
            &format!(
                "{} of {} instances available",
                status.available_replicas, replicas
            ),
        );
        status
            .conditions
            .retain(|c| c.r#type != "ReplicaFailure" || c.reason != "NO_RUNTIME");
        status.observed_generation = status.generation;
        status.reconciling = rollout_active || plan.verdict != Verdict::Complete;
        if !current_revision_name.is_empty()
            && let Some((revision, _)) =
                typed::get_msg::<DeploymentRevision>(store, &revision_key(&current_revision_name))
                    .await?
        {
            status.current_image_uri = revision.image_uri;
        }

        // A secret reference that cannot be resolved shows as a ReplicaFailure condition
        // naming it (its group is not applied, see `apply`), and the reconcile retries.
        let unresolved = self
            .unresolved_secret(store, &namespace_id, &writes.deployment, &writes.groups)
            .await?;
        match &unresolved {
            Some(message) => set_condition(
                &mut writes.deployment,
                "ReplicaFailure",
                true,
                SECRET_UNRESOLVED,
                message,
            ),
            None => writes
                .deployment
                .conditions
                .retain(|c| c.r#type != "ReplicaFailure" || c.reason != SECRET_UNRESOLVED),
        }

        // Commit, then act.
        let mut txn = Txn::new().when(Precondition::ModRevision(
            key.to_string(),
            deployment_revision,
        ));
        // A client's pause or abort since the read makes this step moot: look again.
        if let Some((rollout_key, revision)) = rollout_guard {
            txn = txn.when(Precondition::ModRevision(rollout_key, revision));
        }
        let mut changed = false;
        let mut compare_deployment = writes.deployment.clone();
        compare_deployment.update_time = deployment.update_time;
        if compare_deployment != deployment {
            writes.deployment.update_time = Some(op::now());
            writes.deployment.etag.clear();
            txn = txn.put(key, writes.deployment.encode_to_vec());
            changed = true;
        }
        if writes.groups != stored_groups || groups_revision.is_none() {
            let groups_key = groups_key(&deployment.name);
            txn = match groups_revision {
                Some(revision) => txn.when(Precondition::ModRevision(groups_key.clone(), revision)),
                None => txn.when(Precondition::Absent(groups_key.clone())),
            }
            .put(groups_key, writes.groups.encode());
            changed = true;
        }
        if let Some(r) = &writes.rollout {
            let mut before = rollout_before.clone().unwrap_or_default();
            before.update_time = r.update_time;
            if &before != r {
                txn = txn.put(rollout_key(&r.name), r.encode_to_vec());
                changed = true;
            }
        }
        for revision in &writes.revisions {
            txn = txn.put(revision_key(&revision.name), revision.encode_to_vec());
        }
        for operation in &writes.operations {
            txn = txn.put(operation_key(&operation.name), operation.encode_to_vec());
        }
        // What every replica's InstanceService shows: the instances as seen now.
        let observed_record = ListInstancesResponse {
            instances: instances
                .iter()
                .map(|i| super::api::instance_proto(&deployment.name, i))
                .collect(),
            ..Default::default()
        };
        let instances_key = super::instances_key(&deployment.name);
        let stored_record = typed::get_msg::<ListInstancesResponse>(store, &instances_key).await?;
        if stored_record.as_ref().map(|(record, _)| record) != Some(&observed_record) {
            txn = txn.put(instances_key, observed_record.encode_to_vec());
            changed = true;
        }
        if changed && !commit(context, key, deployment_revision, txn).await? {
            // Someone (a client, or a status write) changed the deployment: look again.
            return Ok(Action::RequeueAfter(Duration::from_millis(20)));
        }

        if let Some(recorder) = &self.recorder {
            let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
            for instance in &instances {
                let (reason, message) = match instance.phase {
                    InstancePhase::Exited | InstancePhase::Failed => (
                        "INSTANCE_ENDED",
                        format!(
                            "instance {} ended: {}; it is replaced",
                            instance.instance,
                            observe(instance).reason
                        ),
                    ),
                    InstancePhase::Unknown => (
                        "INSTANCE_HOST_UNREACHABLE",
                        format!(
                            "host {} of instance {} does not answer; the instance is replaced elsewhere",
                            instance.host, instance.instance
                        ),
                    ),
                    _ => continue,
                };
                if reported.insert(format!("{}/{reason}", instance.runtime_id)) {
                    let resource = format!("{}/instances/{}", deployment.name, instance.instance);
                    writes.events.push(
                        EventInput::warning(
                            &namespace_id,
                            &resource,
                            "ferry.dev/Instance",
                            reason,
                            message,
                            COMPONENT,
                        )
                        .deployment(deployment.name.clone())
                        .host(format!("hosts/{}", instance.host)),
                    );
                }
            }
            if reported.len() > 10_000 {
                reported.clear();
            }
            for event in std::mem::take(&mut writes.events) {
                recorder.record_in_background(event);
            }
        }

        self.apply(
            store,
            runtime.as_ref(),
            &namespace,
            &writes.deployment,
            &writes.groups,
            &deployment_id,
        )
        .await?;
        Ok(Action::RequeueAfter(if unresolved.is_some() {
            SECRET_RETRY
        } else if writes.deployment.reconciling {
            ROLLOUT_POLL
        } else {
            SETTLED_POLL
        }))
    }
}

fn progress_of(rollout: &Rollout) -> RolloutProgress {
    rollout.progress.clone().unwrap_or_default()
}

fn pack(progress: &RolloutProgress) -> prost_types::Any {
    prost_types::Any {
        type_url: "type.googleapis.com/ferry.deploy.v1.RolloutProgress".to_string(),
        value: progress.encode_to_vec(),
    }
}

/// Whether a rollout state is final.
pub fn is_final(state: RolloutState) -> bool {
    matches!(
        state,
        RolloutState::Succeeded
            | RolloutState::Failed
            | RolloutState::RolledBack
            | RolloutState::Aborted
            | RolloutState::Unspecified
    )
}

fn derive_state(
    deployment: &Deployment,
    replicas: u32,
    rollout_active: bool,
    rollout: Option<&Rollout>,
) -> DeploymentState {
    if rollout_active {
        return if deployment.current_revision.is_empty() {
            DeploymentState::Creating
        } else {
            DeploymentState::Updating
        };
    }
    if replicas == 0 {
        return if deployment.current_replicas == 0 {
            DeploymentState::Stopped
        } else {
            DeploymentState::Degraded
        };
    }
    if deployment.available_replicas as u32 >= replicas {
        return DeploymentState::Active;
    }
    let failed = rollout.is_some_and(|r| r.state() == RolloutState::Failed);
    if deployment.available_replicas == 0 && (failed || deployment.current_revision.is_empty()) {
        return DeploymentState::Failed;
    }
    DeploymentState::Degraded
}

fn set_condition(
    deployment: &mut Deployment,
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
    if let Some(existing) = deployment.conditions.iter_mut().find(|c| c.r#type == kind) {
        if existing.status == status && existing.reason == reason && existing.message == message {
            return;
        }
        if existing.status != status {
            existing.last_transition_time = Some(op::now());
        }
        existing.status = status;
        existing.reason = reason.to_string();
        existing.message = message.to_string();
        existing.observed_generation = deployment.generation;
        return;
    }
    deployment.conditions.push(Condition {
        r#type: kind.to_string(),
        status,
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: Some(op::now()),
        observed_generation: deployment.generation,
    });
}

async fn read_operation(store: &dyn Store, name: &str) -> Result<Option<Operation>, ApiError> {
    if name.is_empty() {
        return Ok(None);
    }
    Ok(typed::get_msg::<Operation>(store, &operation_key(name))
        .await?
        .map(|(operation, _)| operation)
        .filter(|operation| !operation.done))
}

/// Commits `txn` fenced by leadership; false when a precondition failed.
async fn commit(
    context: &ReconcileContext,
    key: &str,
    revision: i64,
    txn: Txn,
) -> Result<bool, ApiError> {
    let txn = txn
        .when(context.fence.clone())
        .when(Precondition::ModRevision(key.to_string(), revision));
    match context.store.txn(txn).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict { .. }) => Ok(false),
        Err(error) => Err(error.into()),
    }
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

impl DeploymentReconciler {
    async fn finish(
        &self,
        store: &dyn Store,
        rollout: &mut Rollout,
        writes: &mut Writes,
        state: RolloutState,
        reason: &str,
        message: &str,
    ) -> Result<(), ApiError> {
        rollout.state = state as i32;
        rollout.state_reason = reason.to_string();
        rollout.state_message = message.to_string();
        rollout.end_time = Some(op::now());
        let (warning, event_reason) = match state {
            RolloutState::Succeeded => (false, "ROLLOUT_SUCCEEDED"),
            RolloutState::Aborted => (false, "ROLLOUT_ABORTED"),
            RolloutState::RolledBack => (true, "ROLLOUT_ROLLED_BACK"),
            _ => (true, "ROLLOUT_FAILED"),
        };
        writes.events.push(deployment_event(
            &writes.deployment,
            warning,
            event_reason,
            format!("rollout {}: {message}", rollout.display_name),
        ));
        let result = match state {
            RolloutState::Succeeded => RolloutResult::Succeeded,
            RolloutState::Failed => RolloutResult::Failed,
            RolloutState::RolledBack => RolloutResult::RolledBack,
            _ => RolloutResult::Aborted,
        };
        if let Some((mut revision, _)) =
            typed::get_msg::<DeploymentRevision>(store, &revision_key(&rollout.to_revision)).await?
        {
            revision.rollout_result = result as i32;
            revision.rollout_end_time = Some(op::now());
            if state != RolloutState::Succeeded {
                revision.rollout_result_message = message.to_string();
            }
            writes.revisions.push(revision);
        }
        if let Some(mut operation) = read_operation(store, &rollout.operation).await? {
            if let Some(metadata) = operation.metadata.as_mut() {
                metadata.details = Some(pack(&progress_of(rollout)));
            }
            match state {
                RolloutState::Succeeded => op::succeed(
                    &mut operation,
                    "ferry.deploy.v1.Deployment",
                    &writes.deployment,
                ),
                RolloutState::Aborted => op::fail(
                    &mut operation,
                    ApiError::new(
                        Code::Aborted,
                        ErrorReason::InvalidState,
                        format!("rollout aborted: {message}"),
                    ),
                ),
                _ => op::fail(
                    &mut operation,
                    ApiError::new(
                        Code::FailedPrecondition,
                        ErrorReason::InvalidState,
                        format!(
                            "rollout {}: {reason}: {message}",
                            if state == RolloutState::RolledBack {
                                "rolled back"
                            } else {
                                "failed"
                            }
                        ),
                    ),
                ),
            }
            writes.operations.retain(|o| o.name != operation.name);
            writes.operations.push(operation);
        }
        tracing::info!(rollout = %rollout.name, state = ?state, reason, message, "rollout ended");
        Ok(())
    }

    /// The first secret reference of the revisions of `groups` that cannot be resolved.
    async fn unresolved_secret(
        &self,
        store: &dyn Store,
        namespace_id: &str,
        deployment: &Deployment,
        groups: &GroupState,
    ) -> Result<Option<String>, ApiError> {
        for revision_id in groups.groups.keys() {
            let name = format!("{}/revisions/{revision_id}", deployment.name);
            let Some((revision, _)) =
                typed::get_msg::<DeploymentRevision>(store, &revision_key(&name)).await?
            else {
                continue;
            };
            let template = revision.template.unwrap_or_default();
            if let Err(message) =
                crate::secret::usage::resolve_template(store, namespace_id, &template).await?
            {
                tracing::warn!(revision = %name, %message, "cannot resolve a secret reference");
                return Ok(Some(format!("revision {revision_id}: {message}")));
            }
        }
        Ok(None)
    }

    /// Makes the runtime hold exactly the groups of `groups`.
    async fn apply(
        &self,
        store: &dyn Store,
        runtime: &dyn ferry_runtime::Runtime,
        namespace: &Namespace,
        deployment: &Deployment,
        groups: &GroupState,
        deployment_id: &str,
    ) -> Result<(), ApiError> {
        let namespace_id = namespace.name.rsplit('/').next().unwrap_or_default();
        // Cordoned hosts get no new instance (read once per apply; Kubernetes also has
        // its nodes cordoned, see `crate::host`).
        let excluded_hosts = crate::host::cordoned_hosts(store).await?;
        let mut specs = BTreeMap::new();
        for (revision_id, size) in &groups.groups {
            let name = format!("{}/revisions/{revision_id}", deployment.name);
            let Some((revision, _)) =
                typed::get_msg::<DeploymentRevision>(store, &revision_key(&name)).await?
            else {
                tracing::warn!(revision = %name, "a group names a revision that does not exist");
                continue;
            };
            // A group whose secret references do not resolve waits (see `unresolved_secret`).
            let template = revision.template.clone().unwrap_or_default();
            let Ok(secrets) =
                crate::secret::usage::resolve_template(store, namespace_id, &template).await?
            else {
                continue;
            };
            let mut spec = model::group_spec(
                namespace_id,
                &namespace.runtime_namespace,
                deployment,
                &revision,
                namespace.default_location_affinity.as_ref(),
                &secrets,
            );
            spec.placement.excluded_hosts = excluded_hosts.clone();
            specs.insert(revision_id.clone(), (spec, *size));
        }
        for (spec, size) in specs.values() {
            runtime
                .apply_group(spec, *size)
                .await
                .map_err(runtime_error)?;
        }
        for group in runtime
            .list_groups(&namespace.runtime_namespace)
            .await
            .map_err(runtime_error)?
        {
            if group.deployment == deployment_id && !groups.groups.contains_key(&group.revision) {
                runtime
                    .delete_group(
                        &namespace.runtime_namespace,
                        &group.deployment,
                        &group.revision,
                    )
                    .await
                    .map_err(runtime_error)?;
            }
        }
        Ok(())
    }

    /// Carries out a delete: every group goes from the runtime, then every record.
    #[allow(clippy::too_many_arguments)]
    async fn delete(
        &self,
        context: &ReconcileContext,
        key: &str,
        deployment_revision: i64,
        deployment: &Deployment,
        runtime: &dyn ferry_runtime::Runtime,
        rns: &str,
        deployment_id: &str,
    ) -> Result<Action, ApiError> {
        for group in runtime.list_groups(rns).await.map_err(runtime_error)? {
            if group.deployment == deployment_id {
                runtime
                    .delete_group(rns, &group.deployment, &group.revision)
                    .await
                    .map_err(runtime_error)?;
            }
        }
        let store = context.store.as_ref();
        store
            .delete_prefix(&revisions_prefix(&deployment.name))
            .await?;
        store
            .delete_prefix(&rollouts_prefix(&deployment.name))
            .await?;
        let mut txn = Txn::new()
            .delete(key)
            .delete(groups_key(&deployment.name))
            .delete(super::instances_key(&deployment.name))
            .delete(crate::autoscaling::policy_key(&deployment.name));
        // Secrets made from the deployment's `secret_value`s go with it.
        for secret in crate::secret::usage::owned_secret_keys(store, &deployment.name).await? {
            txn = txn.delete(secret);
        }
        let waiting = match store.get(&groups_key(&deployment.name)).await? {
            Some(kv) => GroupState::decode(&kv.value).unwrap_or_default().waiting,
            None => Vec::new(),
        };
        for name in waiting {
            if let Some(mut operation) = read_operation(store, &name).await? {
                op::succeed(&mut operation, "google.protobuf.Empty", &());
                txn = txn.put(operation_key(&name), operation.encode_to_vec());
            }
        }
        commit(context, key, deployment_revision, txn).await?;
        tracing::info!(deployment = %deployment.name, "deployment deleted");
        Ok(Action::Done)
    }
}
