//! The leader-elected controller of blue-green entries (`routing-blue-green`): it drives
//! running switches step by step from the entry's record (so the next leader continues
//! a switch another replica began) and writes the sides' status.
//!
//! A running switch (the newest `switch_history` record, RUNNING):
//! 1. VERIFY_TARGET: the target side is checked again; unhealthy → the switch FAILED,
//!    its Operation fails with TARGET_UNHEALTHY, traffic never moved;
//! 2. SWITCH: one write sets `active_side` (and `switch_time`): every replica's
//!    programming loop sees it and swaps its backend set atomically;
//! 3. DRAIN_OLD: once `drain_timeout` has passed since the switch, the switch SUCCEEDED
//!    and its Operation ends with the entry (the data planes close what is left of the
//!    old side's connections at the same deadline).
//!
//! Every step is one transaction (entry + Operation) guarded by the entry's revision and
//! fenced by leadership.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry_kit::error::ApiError;
use ferry_ops::operation::{self as op, operation_key};
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::common::v1::{
    Condition, ConditionStatus, ErrorReason, Operation, StageState,
};
use ferry_proto::ferry::routing::v1::blue_green_entry::State;
use ferry_proto::ferry::routing::v1::switch_record::Result as SwitchResult;
use ferry_proto::ferry::routing::v1::{BlueGreenEntry, Side};
use ferry_store::{KeyValue, Precondition, Store, StoreError, Txn, typed};
use prost::Message as _;

use super::api::{ENTRY_TYPE, target_unhealthy};
use super::{model, read_side};
use crate::dataplane::DataPlane;
use crate::layout;

/// How often an entry's status is recomputed while nothing in etcd changes.
pub const POLL: Duration = Duration::from_secs(1);

/// Drives switches and writes the status of blue-green entries.
pub struct BlueGreenReconciler {
    data_plane: Arc<dyn DataPlane>,
}

impl BlueGreenReconciler {
    /// Reports what `data_plane` (this replica's) applied.
    pub fn new(data_plane: Arc<dyn DataPlane>) -> Self {
        BlueGreenReconciler { data_plane }
    }

    /// One step of the running switch of `entry` (read at `revision`).
    async fn step(
        &self,
        context: &ReconcileContext,
        key: &str,
        mut entry: BlueGreenEntry,
        revision: i64,
    ) -> Result<Action, ApiError> {
        let store = context.store.as_ref();
        let record = entry.switch_history[0].clone();
        let operation_key = operation_key(&record.operation);
        let mut operation = typed::get_msg::<Operation>(store, &operation_key).await?;
        let now = op::now();
        let to = Side::try_from(record.to_side).unwrap_or(Side::Green);
        let drain = model::drain_timeout(&entry);
        let next = if record.switch_time.is_none() {
            let side = read_side(store, &entry, to).await?;
            if !side.healthy {
                let error = target_unhealthy(&side, &entry);
                let current = &mut entry.switch_history[0];
                current.result = SwitchResult::Failed as i32;
                current.end_time = Some(now);
                current.message = error.message.clone();
                entry.state = State::Active as i32;
                if let Some((operation, _)) = operation.as_mut() {
                    op::fail(operation, error);
                }
                tracing::info!(entry = %entry.name, "switch failed: the target side is unhealthy");
                Action::RequeueAfter(POLL)
            } else {
                entry.active_side = to as i32;
                entry.active_namespace = model::side_namespace(&entry, to).to_string();
                entry.last_switch_time = Some(now);
                entry.switch_history[0].switch_time = Some(now);
                if let Some((operation, _)) = operation.as_mut() {
                    op::set_stage(
                        operation,
                        "verify",
                        StageState::Succeeded,
                        "the target side is healthy",
                    );
                    op::set_stage(
                        operation,
                        "switch",
                        StageState::Succeeded,
                        "new traffic goes to the target side",
                    );
                    op::set_stage(
                        operation,
                        "drain",
                        StageState::Running,
                        "connections to the old side drain",
                    );
                }
                tracing::info!(entry = %entry.name, side = ?to, "traffic switched");
                Action::RequeueAfter(drain)
            }
        } else {
            let switched: SystemTime = record
                .switch_time
                .and_then(|t| SystemTime::try_from(t).ok())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let elapsed = switched.elapsed().unwrap_or_default();
            if elapsed < drain {
                return Ok(Action::RequeueAfter(drain - elapsed));
            }
            let current = &mut entry.switch_history[0];
            current.result = SwitchResult::Succeeded as i32;
            current.end_time = Some(now);
            entry.state = State::Active as i32;
            if let Some((operation, _)) = operation.as_mut() {
                op::set_stage(operation, "drain", StageState::Succeeded, "");
                op::succeed(operation, ENTRY_TYPE, &entry);
            }
            Action::RequeueAfter(POLL)
        };
        let mut txn = Txn::new()
            .when(context.fence.clone())
            .when(Precondition::ModRevision(key.to_string(), revision))
            .put(key.to_string(), entry.encode_to_vec());
        if let Some((operation, operation_revision)) = operation {
            txn = txn
                .when(Precondition::ModRevision(
                    operation_key.clone(),
                    operation_revision,
                ))
                .put(operation_key, operation.encode_to_vec());
        }
        match store.txn(txn).await {
            Ok(_) => Ok(next),
            // The entry changed meanwhile (a rollback): look again.
            Err(StoreError::Conflict { .. }) => Ok(Action::RequeueAfter(Duration::ZERO)),
            Err(error) => Err(error.into()),
        }
    }

    /// Writes the sides' status and conditions when they changed.
    async fn write_status(
        &self,
        context: &ReconcileContext,
        key: &str,
        entry: &BlueGreenEntry,
        kv: &KeyValue,
    ) -> Result<(), ApiError> {
        let store: &dyn Store = context.store.as_ref();
        let blue = read_side(store, entry, Side::Blue).await?;
        let green = read_side(store, entry, Side::Green).await?;
        let programmed = self
            .data_plane
            .status(&entry.name)
            .await
            .is_some_and(|s| s.generation >= kv.version);
        let (active, inactive) = if entry.active_side == Side::Green as i32 {
            (&green, &blue)
        } else {
            (&blue, &green)
        };
        let status_key = layout::blue_green_status_key(&entry.name);
        let previous = typed::get_msg::<BlueGreenEntry>(store, &status_key)
            .await?
            .map(|(p, _)| p);
        let now = op::now();
        let condition = |kind: &str, holds: bool, reason: ErrorReason| {
            let status = if holds {
                ConditionStatus::True
            } else {
                ConditionStatus::False
            };
            Condition {
                r#type: kind.to_string(),
                status: status as i32,
                reason: if holds {
                    String::new()
                } else {
                    ferry_kit::error::reason_str(reason).to_string()
                },
                message: String::new(),
                last_transition_time: previous
                    .as_ref()
                    .and_then(|p| {
                        p.conditions
                            .iter()
                            .find(|c| c.r#type == kind && c.status == status as i32)
                    })
                    .and_then(|c| c.last_transition_time)
                    .or(Some(now)),
                observed_generation: kv.version,
            }
        };
        let status = BlueGreenEntry {
            blue: Some(blue.clone()),
            green: Some(green.clone()),
            conditions: vec![
                condition(
                    "Ready",
                    programmed && active.healthy,
                    ErrorReason::TargetUnhealthy,
                ),
                condition(
                    "ActiveSideHealthy",
                    active.healthy,
                    ErrorReason::TargetUnhealthy,
                ),
                condition(
                    "InactiveSideHealthy",
                    inactive.healthy,
                    ErrorReason::TargetUnhealthy,
                ),
                condition("Programmed", programmed, ErrorReason::InvalidState),
            ],
            observed_generation: if programmed {
                kv.version
            } else {
                previous.as_ref().map_or(0, |p| p.observed_generation)
            },
            reconciling: !programmed,
            ..Default::default()
        };
        if previous.as_ref() != Some(&status) {
            let txn = Txn::new()
                .when(context.fence.clone())
                .when(Precondition::ModRevision(key.to_string(), kv.mod_revision))
                .put(status_key, status.encode_to_vec());
            match store.txn(txn).await {
                Ok(_) | Err(StoreError::Conflict { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Reconciler for BlueGreenReconciler {
    fn name(&self) -> &'static str {
        "routing-blue-green"
    }

    fn prefix(&self) -> String {
        layout::blue_green_prefix()
    }

    async fn reconcile(
        &self,
        context: &ReconcileContext,
        key: &str,
        kv: Option<KeyValue>,
    ) -> Result<Action, ApiError> {
        let Some(name) = layout::blue_green_name(key) else {
            return Ok(Action::Done);
        };
        let Some(kv) = kv else {
            let status_key = layout::blue_green_status_key(name);
            context
                .store
                .txn(Txn::new().when(context.fence.clone()).delete(status_key))
                .await?;
            return Ok(Action::Done);
        };
        let entry: BlueGreenEntry = typed::decode_msg(key, &kv.value)?;
        if model::running_switch(&entry).is_some() {
            return self.step(context, key, entry, kv.mod_revision).await;
        }
        self.write_status(context, key, &entry, &kv).await?;
        Ok(Action::RequeueAfter(POLL))
    }
}
