//! The namespace controllers.
//!
//! Every write here is a transaction fenced by the controller's leadership and guarded by
//! the revision it read, so a replica that lost leadership (or raced a client) writes
//! nothing. Each step is recorded before the next begins; after a crash the next leader
//! re-reads the record and continues from the first unfinished stage.

use ferry_kit::error::ApiError;
use ferry_ops::operation::{self as op, operations_prefix};
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::common::v1::{
    Condition, ConditionStatus, DeletionProgress, ErrorReason, Operation, StageState,
};
use ferry_proto::ferry::deploy::v1::namespace::State;
use ferry_proto::ferry::deploy::v1::{Namespace, RuntimeKind};
use ferry_store::{KeyValue, Precondition, StoreError, Txn, typed};
use prost::Message as _;
use tonic::Code;

use super::model::NAMESPACE_NAME;
use super::{children_prefixes, namespace_key, namespaces_prefix};
use crate::runtimes::Runtimes;

/// Prepares created (or changed) namespaces on their runtime and reports them ACTIVE.
#[derive(Default)]
pub struct NamespaceReconciler {
    runtimes: Runtimes,
}

impl NamespaceReconciler {
    /// A reconciler preparing namespaces on `runtimes`.
    pub fn new(runtimes: Runtimes) -> Self {
        Self { runtimes }
    }
}

fn runtime_unavailable(error: ferry_runtime::RuntimeError) -> ApiError {
    ApiError::new(
        Code::Unavailable,
        ErrorReason::BackendUnavailable,
        format!("runtime: {error}"),
    )
}

/// The status a namespace should show once its runtime side is ready. Pure.
pub fn ready_status(namespace: &Namespace) -> Namespace {
    let mut ready = namespace.clone();
    let (reason, message) = if namespace.runtime.is_empty() {
        (
            "NO_RUNTIME",
            "no runtime is configured: the namespace exists in Ferry's state only",
        )
    } else {
        ("RUNTIME_READY", "the namespace exists on its runtime")
    };
    let condition = Condition {
        r#type: "Ready".to_string(),
        status: ConditionStatus::True as i32,
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: Some(op::now()),
        observed_generation: namespace.generation,
    };
    let unchanged = namespace
        .conditions
        .iter()
        .find(|c| c.r#type == "Ready")
        .is_some_and(|c| c.status == condition.status && c.reason == condition.reason);
    if !unchanged {
        ready.conditions.retain(|c| c.r#type != "Ready");
        ready.conditions.push(condition);
    }
    ready.state = State::Active as i32;
    ready.observed_generation = namespace.generation;
    ready.reconciling = false;
    ready
}

fn needs_reconcile(namespace: &Namespace) -> bool {
    namespace.state() == State::Creating
        || (namespace.state() != State::Deleting
            && namespace.observed_generation != namespace.generation)
}

#[async_trait::async_trait]
impl Reconciler for NamespaceReconciler {
    fn name(&self) -> &'static str {
        "deploy-namespaces"
    }

    fn prefix(&self) -> String {
        namespaces_prefix()
    }

    fn wants(&self, kv: &KeyValue) -> bool {
        Namespace::decode(kv.value.as_slice()).is_ok_and(|namespace| needs_reconcile(&namespace))
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
        let (namespace, revision) = typed::decode_kv::<Namespace>(&kv)?;
        if !needs_reconcile(&namespace) {
            return Ok(Action::Done);
        }
        // With no runtime configured there is nothing outside etcd to prepare.
        let mut ready = ready_status(&namespace);
        if let Some(runtime) = self.runtimes.get(&namespace.runtime) {
            let spec = ferry_runtime::NamespaceSpec {
                namespace: namespace
                    .name
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                runtime_namespace: namespace.runtime_namespace.clone(),
                labels: Default::default(),
            };
            runtime
                .ensure_namespace(&spec)
                .await
                .map_err(runtime_unavailable)?;
            ready.runtime_kind = match runtime.kind() {
                ferry_runtime::RuntimeKind::Kubernetes => RuntimeKind::Kubernetes,
                ferry_runtime::RuntimeKind::Docker => RuntimeKind::Docker,
            } as i32;
        }
        fenced_write(
            context,
            Txn::new()
                .when(Precondition::ModRevision(key.to_string(), revision))
                .put(key, ready.encode_to_vec()),
        )
        .await?;
        tracing::info!(namespace = %namespace.name, "namespace active");
        Ok(Action::Done)
    }
}

/// Carries out namespace delete operations.
#[derive(Default)]
pub struct NamespaceDeletion {
    runtimes: Runtimes,
}

impl NamespaceDeletion {
    /// Deletes namespaces from `runtimes` too.
    pub fn new(runtimes: Runtimes) -> Self {
        Self { runtimes }
    }
}

fn is_namespace_delete(operation: &Operation) -> bool {
    let metadata = operation.metadata.clone().unwrap_or_default();
    !operation.done
        && metadata.verb == "delete"
        && NAMESPACE_NAME.parse("target", &metadata.target).is_ok()
}

#[async_trait::async_trait]
impl Reconciler for NamespaceDeletion {
    fn name(&self) -> &'static str {
        "deploy-namespace-deletions"
    }

    fn prefix(&self) -> String {
        operations_prefix()
    }

    fn wants(&self, kv: &KeyValue) -> bool {
        Operation::decode(kv.value.as_slice())
            .is_ok_and(|operation| is_namespace_delete(&operation))
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
        let (mut operation, revision) = typed::decode_kv::<Operation>(&kv)?;
        if !is_namespace_delete(&operation) {
            return Ok(Action::Done);
        }
        let target = operation
            .metadata
            .as_ref()
            .map(|m| m.target.clone())
            .unwrap_or_default();
        let namespace_key = namespace_key(&target);
        let guard = Precondition::ModRevision(key.to_string(), revision);
        op::start(&mut operation);

        let next_stage = operation
            .metadata
            .as_ref()
            .and_then(|m| {
                m.stages
                    .iter()
                    .find(|s| !matches!(s.state(), StageState::Succeeded | StageState::Skipped))
            })
            .map(|s| s.id.clone());

        if op::cancel_requested(&operation) && next_stage.as_deref() != Some("remove") {
            // Not past the point of no return: put the namespace back in service.
            let mut txn = Txn::new().when(guard);
            if let Some((mut namespace, namespace_revision)) =
                typed::get_msg::<Namespace>(context.store.as_ref(), &namespace_key).await?
            {
                namespace.state = State::Active as i32;
                namespace.reconciling = false;
                txn = txn
                    .when(Precondition::ModRevision(
                        namespace_key.clone(),
                        namespace_revision,
                    ))
                    .put(namespace_key.clone(), namespace.encode_to_vec());
            }
            op::fail(
                &mut operation,
                ApiError::new(
                    Code::Cancelled,
                    ErrorReason::InvalidState,
                    "deletion cancelled",
                ),
            );
            fenced_write(context, txn.put(key, operation.encode_to_vec())).await?;
            tracing::info!(namespace = %target, "namespace deletion cancelled");
            return Ok(Action::Done);
        }

        match next_stage.as_deref() {
            Some("drain") => {
                // Deleting the namespace's deployments and secrets: their own controllers
                // stop what runs on the runtime when the records go.
                let mut deleted = 0;
                for prefix in children_prefixes(&target) {
                    deleted += context.store.delete_prefix(&prefix).await?;
                }
                for prefix in crate::deployment::namespace_records_prefixes(&target) {
                    context.store.delete_prefix(&prefix).await?;
                }
                let progress = DeletionProgress {
                    target: target.clone(),
                    resources_total: deleted as i32,
                    resources_deleted: deleted as i32,
                    ..Default::default()
                };
                if let Some(metadata) = operation.metadata.as_mut() {
                    metadata.details = Some(prost_types::Any {
                        type_url: "type.googleapis.com/ferry.common.v1.DeletionProgress"
                            .to_string(),
                        value: progress.encode_to_vec(),
                    });
                }
                op::set_stage(
                    &mut operation,
                    "drain",
                    StageState::Succeeded,
                    &format!("{deleted} resources removed"),
                );
            }
            Some("runtime") => {
                let namespace = typed::get_msg::<Namespace>(context.store.as_ref(), &namespace_key)
                    .await?
                    .map(|(namespace, _)| namespace)
                    .unwrap_or_default();
                match self.runtimes.get(&namespace.runtime) {
                    Some(runtime) => {
                        runtime
                            .delete_namespace(&namespace.runtime_namespace)
                            .await
                            .map_err(runtime_unavailable)?;
                        op::set_stage(
                            &mut operation,
                            "runtime",
                            StageState::Succeeded,
                            &format!("removed from runtime {}", namespace.runtime),
                        );
                    }
                    None => op::set_stage(
                        &mut operation,
                        "runtime",
                        StageState::Skipped,
                        "no runtime is configured: nothing to remove outside Ferry's state",
                    ),
                }
            }
            Some("remove") => {
                op::set_stage(
                    &mut operation,
                    "remove",
                    StageState::Succeeded,
                    "namespace removed",
                );
                op::succeed(&mut operation, "google.protobuf.Empty", &());
                let txn = Txn::new()
                    .when(guard)
                    .delete(namespace_key)
                    .put(key, operation.encode_to_vec());
                fenced_write(context, txn).await?;
                tracing::info!(namespace = %target, "namespace deleted");
                return Ok(Action::Done);
            }
            _ => {
                op::succeed(&mut operation, "google.protobuf.Empty", &());
            }
        }
        fenced_write(
            context,
            Txn::new().when(guard).put(key, operation.encode_to_vec()),
        )
        .await?;
        // The write changes the operation, and the watch brings it back for the next stage.
        Ok(Action::Done)
    }
}

/// Runs `txn` only while this replica still leads. A lost race on the guarded key is not
/// an error: the watch brings the key back with its new value.
async fn fenced_write(context: &ReconcileContext, txn: Txn) -> Result<(), ApiError> {
    let fence_key = match &context.fence {
        Precondition::ModRevision(key, _)
        | Precondition::Exists(key)
        | Precondition::Absent(key) => key.clone(),
    };
    match context.store.txn(txn.when(context.fence.clone())).await {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict { key } | StoreError::NotFound { key }) if key == fence_key => {
            Err(ApiError::new(
                Code::Aborted,
                ErrorReason::ConcurrentModification,
                "leadership lost",
            ))
        }
        Err(StoreError::Conflict { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_status_is_active_and_observed() {
        let namespace = Namespace {
            name: "namespaces/dev".into(),
            generation: 3,
            state: State::Creating as i32,
            reconciling: true,
            ..Default::default()
        };
        assert!(needs_reconcile(&namespace));
        let ready = ready_status(&namespace);
        assert_eq!(ready.state(), State::Active);
        assert_eq!(ready.observed_generation, 3);
        assert!(!ready.reconciling);
        assert_eq!(ready.conditions[0].reason, "NO_RUNTIME");
        assert!(!needs_reconcile(&ready));
        // A second pass keeps the transition time.
        let again = ready_status(&ready);
        assert_eq!(again.conditions, ready.conditions);
    }

    #[test]
    fn only_unfinished_namespace_deletes_are_wanted() {
        let mut operation =
            op::new_operation("namespaces/dev", "delete", super::super::DELETE_STAGES, "");
        assert!(is_namespace_delete(&operation));
        operation.done = true;
        assert!(!is_namespace_delete(&operation));
        assert!(!is_namespace_delete(&op::new_operation(
            "namespaces/dev/deployments/web",
            "delete",
            &[],
            ""
        )));
        assert!(!is_namespace_delete(&op::new_operation(
            "namespaces/dev",
            "create",
            &[],
            ""
        )));
    }
}

#[cfg(test)]
mod stage_tests {
    //! The deletion stage machine, step by step, on the in-memory store.

    use std::sync::Arc;

    use ferry_proto::ferry::common::v1::OperationState;
    use ferry_store::{MemoryStore, Store};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::namespace::{DELETE_STAGES, namespace_key};

    async fn setup() -> (ReconcileContext, Operation, String) {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let fence_key = "/fence".to_string();
        let fence_revision = store.put(&fence_key, b"me".to_vec(), None).await.unwrap();
        let namespace = Namespace {
            name: "namespaces/dev".into(),
            state: State::Deleting as i32,
            ..Default::default()
        };
        typed::put_msg(store.as_ref(), &namespace_key("namespaces/dev"), &namespace)
            .await
            .unwrap();
        store
            .put(
                &format!("{}x", super::super::children_prefixes("namespaces/dev")[0]),
                b"d".to_vec(),
                None,
            )
            .await
            .unwrap();
        let operation = op::new_operation("namespaces/dev", "delete", DELETE_STAGES, "");
        let key = op::operation_key(&operation.name);
        typed::put_msg(store.as_ref(), &key, &operation)
            .await
            .unwrap();
        let context = ReconcileContext {
            store,
            fence: Precondition::ModRevision(fence_key, fence_revision),
            stop: CancellationToken::new(),
        };
        (context, operation, key)
    }

    async fn step(context: &ReconcileContext, key: &str) -> Operation {
        let kv = context.store.get(key).await.unwrap();
        NamespaceDeletion::default()
            .reconcile(context, key, kv)
            .await
            .unwrap();
        typed::get_msg::<Operation>(context.store.as_ref(), key)
            .await
            .unwrap()
            .unwrap()
            .0
    }

    #[tokio::test]
    async fn stages_run_in_order_and_each_is_recorded() {
        let (context, _, key) = setup().await;
        let after_drain = step(&context, &key).await;
        let stages = &after_drain.metadata.as_ref().unwrap().stages;
        assert_eq!(stages[0].state(), StageState::Succeeded);
        assert_eq!(stages[1].state(), StageState::Pending);
        assert!(!after_drain.done);
        let progress = after_drain
            .metadata
            .as_ref()
            .unwrap()
            .details
            .as_ref()
            .unwrap();
        assert_eq!(
            DeletionProgress::decode(progress.value.as_slice())
                .unwrap()
                .resources_deleted,
            1
        );
        let after_runtime = step(&context, &key).await;
        assert_eq!(
            after_runtime.metadata.as_ref().unwrap().stages[1].state(),
            StageState::Skipped
        );
        let done = step(&context, &key).await;
        assert!(done.done);
        assert_eq!(op::state(&done), OperationState::Succeeded);
        assert!(
            context
                .store
                .get(&namespace_key("namespaces/dev"))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_cancel_before_removal_restores_the_namespace() {
        let (context, _, key) = setup().await;
        step(&context, &key).await;
        let (mut operation, revision) = typed::get_msg::<Operation>(context.store.as_ref(), &key)
            .await
            .unwrap()
            .unwrap();
        operation.metadata.as_mut().unwrap().cancel_requested = true;
        typed::update_msg(context.store.as_ref(), &key, &operation, revision)
            .await
            .unwrap();
        let cancelled = step(&context, &key).await;
        assert!(cancelled.done);
        assert_eq!(op::state(&cancelled), OperationState::Cancelled);
        let (namespace, _) =
            typed::get_msg::<Namespace>(context.store.as_ref(), &namespace_key("namespaces/dev"))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(namespace.state(), State::Active);
    }

    #[tokio::test]
    async fn a_replica_that_lost_leadership_writes_nothing() {
        let (context, operation, key) = setup().await;
        // Someone else took the leader key.
        let Precondition::ModRevision(fence_key, _) = &context.fence else {
            unreachable!()
        };
        context
            .store
            .put(fence_key, b"other".to_vec(), None)
            .await
            .unwrap();
        let kv = context.store.get(&key).await.unwrap();
        let error = NamespaceDeletion::default()
            .reconcile(&context, &key, kv)
            .await
            .unwrap_err();
        assert_eq!(error.code, Code::Aborted);
        let (unchanged, _) = typed::get_msg::<Operation>(context.store.as_ref(), &key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(unchanged, operation);
    }
}
