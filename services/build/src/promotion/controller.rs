//! The `build-promotions` controller: for a promotion whose rollout phase runs
//! (PENDING_QA or RELEASING, `reconciling`), asks the deploy service once to roll the
//! pinned digest out (a request id derived from the phase's Operation makes a repeated
//! ask return the first rollout), records the rollout's Operation in the phase's
//! progress, follows it, and ends the phase: QA ready (automatic gates applied, possibly
//! releasing at once), RELEASED, or FAILED. Every write is fenced and guarded by the
//! revisions read.

use std::time::Duration;

use ferry_kit::error::ApiError;
use ferry_ops::operation::{self as op, operation_key};
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::build::v1::Promotion;
use ferry_proto::ferry::build::v1::promotion::State;
use ferry_proto::ferry::common::v1::{ErrorReason, Operation, StageState, operation};
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_store::{KeyValue, Precondition, StoreError, Txn, typed};
use prost::Message as _;
use tonic::Code;

use super::model;
use super::promotions_prefix;
use crate::autodeploy::roll_out;
use crate::image::usage::deploy_channel;

/// How often a running rollout is looked at.
const POLL: Duration = Duration::from_millis(500);

/// Drives the rollouts of promotions.
#[derive(Default)]
pub struct PromotionRunner;

fn stage_of(promotion: &Promotion) -> &'static str {
    if promotion.state() == State::Releasing {
        "release"
    } else {
        "qa"
    }
}

/// Commits `txn` fenced; a lost race is not an error (the watch brings the key back).
async fn commit(context: &ReconcileContext, txn: Txn) -> Result<Action, ApiError> {
    match context.store.txn(txn.when(context.fence.clone())).await {
        Ok(_) => Ok(Action::Done),
        Err(
            StoreError::Conflict { .. }
            | StoreError::NotFound { .. }
            | StoreError::AlreadyExists { .. },
        ) => Ok(Action::RequeueAfter(POLL)),
        Err(error) => Err(error.into()),
    }
}

#[async_trait::async_trait]
impl Reconciler for PromotionRunner {
    fn name(&self) -> &'static str {
        "build-promotions"
    }

    fn prefix(&self) -> String {
        promotions_prefix()
    }

    fn wants(&self, kv: &KeyValue) -> bool {
        Promotion::decode(kv.value.as_slice()).is_ok_and(|p| p.reconciling)
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
        let (promotion, revision) = typed::decode_kv::<Promotion>(&kv)?;
        if !promotion.reconciling
            || !matches!(promotion.state(), State::PendingQa | State::Releasing)
        {
            return Ok(Action::Done);
        }
        let (phase_name, deployment) = if promotion.state() == State::Releasing {
            (
                promotion.release_operation.clone(),
                promotion.production_deployment.clone(),
            )
        } else {
            (
                promotion.qa_operation.clone(),
                promotion.qa_deployment.clone(),
            )
        };
        let guard = Precondition::ModRevision(key.to_string(), revision);
        let Some((mut phase, phase_revision)) =
            typed::get_msg::<Operation>(context.store.as_ref(), &operation_key(&phase_name))
                .await?
        else {
            let failed = model::failed(
                &promotion,
                "the promotion's Operation is missing",
                op::now(),
            );
            return commit(
                context,
                Txn::new().when(guard).put(key, failed.encode_to_vec()),
            )
            .await;
        };
        let phase_guard = Precondition::ModRevision(operation_key(&phase_name), phase_revision);
        let mut progress = model::progress_of(&phase);
        if progress.rollout_operation.is_empty() {
            // Ask the deploy service for the rollout.
            let Some(channel) = deploy_channel(context.store.as_ref()).await? else {
                return Err(ApiError::new(
                    Code::Unavailable,
                    ErrorReason::BackendUnavailable,
                    "no deploy service is registered",
                ));
            };
            let mut client = DeploymentServiceClient::new(channel);
            let outcome = roll_out(
                &mut client,
                &deployment,
                &promotion.image_uri,
                &model::request_id_for(&phase_name),
                false,
            )
            .await;
            let rollout = match outcome {
                Ok(rollout) => rollout,
                Err(status)
                    if matches!(
                        status.code(),
                        Code::Unavailable | Code::Aborted | Code::DeadlineExceeded
                    ) =>
                {
                    return Err(ApiError::new(
                        Code::Unavailable,
                        ErrorReason::BackendUnavailable,
                        format!("deploy service: {}", status.message()),
                    ));
                }
                Err(status) => {
                    let message = format!(
                        "the rollout to {deployment} did not start: {}",
                        status.message()
                    );
                    return self
                        .fail(
                            context,
                            key,
                            &promotion,
                            guard,
                            phase,
                            phase_guard,
                            &message,
                        )
                        .await;
                }
            };
            progress.rollout_operation = rollout.name.clone();
            progress.state = promotion.state;
            model::set_progress(&mut phase, &progress);
            op::start(&mut phase);
            op::set_stage(
                &mut phase,
                stage_of(&promotion),
                StageState::Running,
                &format!("rolling {} out to {deployment}", promotion.image_digest),
            );
            phase.etag.clear();
            tracing::info!(promotion = %promotion.name, deployment = %deployment, rollout = %rollout.name, "promotion rollout started");
            commit(
                context,
                Txn::new()
                    .when(phase_guard)
                    .put(operation_key(&phase_name), phase.encode_to_vec()),
            )
            .await?;
            return Ok(Action::RequeueAfter(POLL));
        }
        let rollout = match typed::get_msg::<Operation>(
            context.store.as_ref(),
            &operation_key(&progress.rollout_operation),
        )
        .await?
        {
            Some((rollout, _)) => rollout,
            None => {
                let message = format!(
                    "the rollout Operation {} is gone",
                    progress.rollout_operation
                );
                return self
                    .fail(
                        context,
                        key,
                        &promotion,
                        guard,
                        phase,
                        phase_guard,
                        &message,
                    )
                    .await;
            }
        };
        if !rollout.done {
            let percent = rollout
                .metadata
                .as_ref()
                .map(|m| m.progress_percent)
                .unwrap_or_default();
            if percent != progress.rollout_progress_percent {
                progress.rollout_progress_percent = percent;
                model::set_progress(&mut phase, &progress);
                phase.etag.clear();
                commit(
                    context,
                    Txn::new()
                        .when(phase_guard)
                        .put(operation_key(&phase_name), phase.encode_to_vec()),
                )
                .await?;
            }
            return Ok(Action::RequeueAfter(POLL));
        }
        if let Some(operation::Result::Error(status)) = &rollout.result {
            let message = format!("the rollout to {deployment} failed: {}", status.message);
            return self
                .fail(
                    context,
                    key,
                    &promotion,
                    guard,
                    phase,
                    phase_guard,
                    &message,
                )
                .await;
        }
        // The phase succeeded.
        let now = op::now();
        let mut txn = Txn::new().when(guard).when(phase_guard);
        let updated = if promotion.state() == State::Releasing {
            model::released(&promotion, now)
        } else {
            let (ready, release_now) = model::qa_ready(&promotion, now);
            if release_now {
                let mut release = op::new_operation(
                    &promotion.name,
                    "promote",
                    model::RELEASE_STAGES,
                    model::SYSTEM,
                );
                model::set_progress(
                    &mut release,
                    &ferry_proto::ferry::build::v1::PromotionProgress {
                        promotion: promotion.name.clone(),
                        state: State::Releasing as i32,
                        image_digest: promotion.image_digest.clone(),
                        deployment: promotion.production_deployment.clone(),
                        ..Default::default()
                    },
                );
                let releasing = model::release(
                    &ready,
                    model::SYSTEM,
                    "released automatically: no release gate",
                    true,
                    &release.name,
                    now,
                );
                txn = txn
                    .when(Precondition::Absent(operation_key(&release.name)))
                    .put(operation_key(&release.name), release.encode_to_vec());
                releasing
            } else {
                ready
            }
        };
        progress.state = updated.state;
        progress.rollout_progress_percent = 100;
        model::set_progress(&mut phase, &progress);
        op::set_stage(
            &mut phase,
            stage_of(&promotion),
            StageState::Succeeded,
            &format!("{deployment} runs {}", promotion.image_digest),
        );
        op::succeed(&mut phase, "ferry.build.v1.Promotion", &updated);
        phase.etag.clear();
        tracing::info!(promotion = %promotion.name, state = ?updated.state(), "promotion phase ended");
        commit(
            context,
            txn.put(key, updated.encode_to_vec())
                .put(operation_key(&phase_name), phase.encode_to_vec()),
        )
        .await
    }
}

impl PromotionRunner {
    #[allow(clippy::too_many_arguments)]
    async fn fail(
        &self,
        context: &ReconcileContext,
        key: &str,
        promotion: &Promotion,
        guard: Precondition,
        mut phase: Operation,
        phase_guard: Precondition,
        message: &str,
    ) -> Result<Action, ApiError> {
        let failed = model::failed(promotion, message, op::now());
        op::fail(
            &mut phase,
            ApiError::new(
                Code::FailedPrecondition,
                ErrorReason::InvalidState,
                message.to_string(),
            ),
        );
        phase.etag.clear();
        tracing::warn!(promotion = %promotion.name, %message, "promotion failed");
        commit(
            context,
            Txn::new()
                .when(guard)
                .when(phase_guard)
                .put(key, failed.encode_to_vec())
                .put(operation_key(&phase.name), phase.encode_to_vec()),
        )
        .await
    }
}
