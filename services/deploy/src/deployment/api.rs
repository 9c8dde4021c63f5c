//! The gRPC adapters of DeploymentService, RolloutService and InstanceService: convert and
//! validate requests at the edge, write etcd (the controller does the rest), and read
//! instances from the namespace's runtime.

use std::sync::Arc;
use std::time::SystemTime;

use ferry_kit::aip;
use ferry_kit::caller;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::operation::{self as op, operation_key};
use ferry_proto::ferry::common::v1::{
    Condition, ConditionStatus, ErrorReason, LogChunk, LogStream, Operation,
};
use ferry_proto::ferry::deploy::v1::deployment::State as DeploymentState;
use ferry_proto::ferry::deploy::v1::deployment_revision::{Cause, RolloutResult};
use ferry_proto::ferry::deploy::v1::deployment_service_server::{
    DeploymentService, DeploymentServiceServer,
};
use ferry_proto::ferry::deploy::v1::instance::{self, Port};
use ferry_proto::ferry::deploy::v1::instance_service_server::{
    InstanceService, InstanceServiceServer,
};
use ferry_proto::ferry::deploy::v1::namespace::State as NamespaceState;
use ferry_proto::ferry::deploy::v1::rollout::{Kind, State as RolloutState};
use ferry_proto::ferry::deploy::v1::rollout_service_server::{
    RolloutService, RolloutServiceServer,
};
use ferry_proto::ferry::deploy::v1::*;
use ferry_runtime::{InstancePhase, InstanceStatus, LogOptions, LogSource, Runtime};
use ferry_store::{ListOptions, Precondition, Store, StoreError, Txn, typed};
use futures::StreamExt;
use prost::Message as _;
use tonic::codegen::BoxStream;
use tonic::{Code, Request, Response, Status};

use super::model::{self, DEPLOYMENT_NAME, INSTANCE_NAME, REVISION_NAME, ROLLOUT_NAME};
use super::{
    GroupState, deployment_key, groups_key, namespace_deployments_prefix, revision_key,
    revisions_prefix, rollout_key, rollout_name, rollouts_prefix,
};
use crate::error::DeployError;
use crate::namespace::namespace_key;
use crate::runtimes::Runtimes;

/// Serves deployments, their rollouts and their instances.
#[derive(Clone)]
pub struct DeploymentApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
    runtimes: Runtimes,
}

const CREATE_STAGES: &[(&str, &str)] = &[("rollout", "Start the instances of the first revision")];
const UPDATE_STAGES: &[(&str, &str)] = &[("rollout", "Move the instances to the new revision")];
const SCALE_STAGES: &[(&str, &str)] = &[("scale", "Reach the desired number of instances")];
const DELETE_STAGES: &[(&str, &str)] = &[("remove", "Stop every instance and remove the records")];

fn uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn in_progress(name: &str, rollout: &str) -> ApiError {
    ApiError::new(
        Code::Aborted,
        ErrorReason::OperationInProgress,
        format!(
            "{name} has an active rollout ({rollout}): wait for it, or pause, abort or roll it back"
        ),
    )
    .with_metadata("resource", name)
    .with_metadata("rollout", rollout)
}

impl DeploymentApi {
    /// Serves from `store`, driving `runtimes`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency, runtimes: Runtimes) -> Self {
        Self {
            store,
            idempotency,
            runtimes,
        }
    }

    /// The three tonic servers.
    pub fn into_servers(
        self,
    ) -> (
        DeploymentServiceServer<Self>,
        RolloutServiceServer<Self>,
        InstanceServiceServer<Self>,
    ) {
        (
            DeploymentServiceServer::new(self.clone()),
            RolloutServiceServer::new(self.clone()),
            InstanceServiceServer::new(self),
        )
    }

    async fn read_deployment(&self, name: &str) -> Result<(Deployment, i64), DeployError> {
        match typed::get_msg::<Deployment>(self.store.as_ref(), &deployment_key(name)).await? {
            Some((mut deployment, revision)) => {
                deployment.etag = aip::etag(revision);
                Ok((deployment, revision))
            }
            None => Err(DeployError::NotFound(name.to_string())),
        }
    }

    async fn read_namespace(&self, name: &str) -> Result<Namespace, DeployError> {
        typed::get_msg::<Namespace>(self.store.as_ref(), &namespace_key(name))
            .await?
            .map(|(namespace, _)| namespace)
            .ok_or_else(|| DeployError::NotFound(name.to_string()))
    }

    async fn last_revision(
        &self,
        deployment: &str,
    ) -> Result<Option<DeploymentRevision>, DeployError> {
        Ok(self.revisions(deployment).await?.pop())
    }

    /// A deployment's revisions, oldest first.
    async fn revisions(&self, deployment: &str) -> Result<Vec<DeploymentRevision>, DeployError> {
        let mut revisions: Vec<DeploymentRevision> = typed::list_all_msgs::<DeploymentRevision>(
            self.store.as_ref(),
            &revisions_prefix(deployment),
            200,
        )
        .await?
        .0
        .into_iter()
        .map(|(_, r, _)| r)
        .collect();
        revisions.sort_by_key(|r| r.number);
        Ok(revisions)
    }

    /// Writes a new revision + rollout + operation for `deployment` (already changed),
    /// guarded by the revision it was read at (`None`: it must not exist yet).
    #[allow(clippy::too_many_arguments)]
    async fn start_rollout(
        &self,
        mut deployment: Deployment,
        read_revision: Option<i64>,
        cause: Cause,
        kind: Kind,
        source_revision: Option<&DeploymentRevision>,
        verb: &str,
        stages: &[(&str, &str)],
        secrets: Txn,
    ) -> Result<Operation, ApiError> {
        let previous = self.last_revision(&deployment.name).await?;
        let number = previous.as_ref().map_or(1, |r| r.number + 1);
        let revision_id = format!("r{number}");
        let rollout_name = rollout_name(&deployment.name, &revision_id);
        let mut revision = model::new_revision(
            &deployment,
            number,
            cause,
            previous.as_ref(),
            &caller::current(),
            &rollout_name,
            uid(),
            op::now(),
        );
        if let Some(source) = source_revision {
            revision.source_revision = source.name.clone();
            revision.display_name = format!("rollback to {}", model::revision_id(&source.name));
        }
        let mut operation = op::new_operation(&deployment.name, verb, stages, &caller::current());
        let from_revision = deployment.current_revision.clone();
        let strategy = deployment.strategy;
        let rollout = Rollout {
            name: rollout_name.clone(),
            uid: uid(),
            display_name: if from_revision.is_empty() {
                revision_id.clone()
            } else {
                format!("{} → {revision_id}", model::revision_id(&from_revision))
            },
            create_time: Some(op::now()),
            update_time: Some(op::now()),
            kind: kind as i32,
            state: RolloutState::Pending as i32,
            from_revision,
            to_revision: revision.name.clone(),
            strategy,
            progress: Some(RolloutProgress {
                rollout: rollout_name.clone(),
                deployment: deployment.name.clone(),
                new_revision: revision.name.clone(),
                state: RolloutState::Pending as i32,
                ..Default::default()
            }),
            operation: operation.name.clone(),
            initiator: caller::current(),
            ..Default::default()
        };
        if let Some(metadata) = operation.metadata.as_mut() {
            metadata.details = Some(prost_types::Any {
                type_url: "type.googleapis.com/ferry.deploy.v1.RolloutProgress".into(),
                value: rollout.progress.clone().unwrap_or_default().encode_to_vec(),
            });
        }
        deployment.active_rollout = rollout_name.clone();
        deployment.target_revision = revision.name.clone();
        deployment.reconciling = true;
        deployment.etag.clear();
        if deployment.current_revision.is_empty() {
            deployment.state = DeploymentState::Creating as i32;
        } else {
            deployment.state = DeploymentState::Updating as i32;
        }
        let key = deployment_key(&deployment.name);
        let guard = match read_revision {
            Some(revision) => Precondition::ModRevision(key.clone(), revision),
            None => Precondition::Absent(key.clone()),
        };
        let mut txn = Txn::new()
            .when(guard)
            .when(Precondition::Absent(revision_key(&revision.name)))
            .put(key, deployment.encode_to_vec())
            .put(revision_key(&revision.name), revision.encode_to_vec())
            .put(rollout_key(&rollout.name), rollout.encode_to_vec())
            .put(operation_key(&operation.name), operation.encode_to_vec());
        if read_revision.is_none() {
            txn = txn.put(groups_key(&deployment.name), GroupState::default().encode());
        }
        // Keep `revision_history_limit` revisions (the new one included); the current
        // revision is never removed.
        let limit = deployment.revision_history_limit.max(1) as usize;
        let existing = self.revisions(&deployment.name).await?;
        let removable = (existing.len() + 1).saturating_sub(limit);
        for old in existing
            .iter()
            .filter(|r| r.name != deployment.current_revision)
            .take(removable.min(50))
        {
            txn = txn.delete(revision_key(&old.name));
        }
        // The secrets made from the template's `secret_value`s, written with it.
        txn.preconditions.extend(secrets.preconditions);
        txn.ops.extend(secrets.ops);
        match self.store.txn(txn).await {
            Ok(_) => Ok(operation),
            Err(StoreError::Conflict { .. }) => Err(if read_revision.is_none() {
                ApiError::already_exists(&deployment.name)
            } else {
                ApiError::concurrent_modification(&deployment.name)
            }),
            Err(error) => Err(error.into()),
        }
    }

    fn done_operation(target: &str, verb: &str, deployment: &Deployment) -> Operation {
        let mut operation = op::new_operation(target, verb, &[], &caller::current());
        operation.name.clear();
        op::succeed(&mut operation, "ferry.deploy.v1.Deployment", deployment);
        operation
    }

    async fn create(&self, request: CreateDeploymentRequest) -> Result<Operation, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        let ids = crate::namespace::model::NAMESPACE_NAME.parse("parent", &request.parent)?;
        let input = request.deployment.clone().unwrap_or_default();
        let mut deployment =
            model::plan_create(ids[0], &request.deployment_id, &input, uid(), op::now())?;
        let namespace = self.read_namespace(&request.parent).await?;
        if namespace.state() == NamespaceState::Deleting {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &request.parent,
                format!("{} is being deleted", request.parent),
            )
            .into());
        }
        // Secret values become secrets owned by the deployment; references must resolve.
        let secrets = crate::secret::usage::prepare(
            self.store.as_ref(),
            &mut deployment,
            "deployment.template",
        )
        .await?;
        if request.validate_only {
            return Ok(Self::done_operation(
                &deployment.name,
                "create",
                &deployment,
            ));
        }
        let mut fingerprint = request.clone();
        secrets.redact(fingerprint.deployment.as_mut());
        self.idempotency
            .run(
                "ferry.deploy.v1.DeploymentService/CreateDeployment",
                &request.request_id,
                &fingerprint,
                || {
                    self.start_rollout(
                        deployment,
                        None,
                        Cause::Create,
                        Kind::Create,
                        None,
                        "create",
                        CREATE_STAGES,
                        secrets.writes,
                    )
                },
            )
            .await
            .map_err(DeployError::from)
    }

    async fn update(&self, request: UpdateDeploymentRequest) -> Result<Operation, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        let input = request.deployment.clone().unwrap_or_default();
        DEPLOYMENT_NAME.parse("deployment.name", &input.name)?;
        aip::parse_etag("deployment.etag", &input.etag)?;
        let mask =
            aip::validate_update_mask(request.update_mask.as_ref(), model::UPDATABLE_FIELDS)?;
        let (current, revision) = self.read_deployment(&input.name).await?;
        aip::check_etag("deployment.etag", &input.etag, revision, &input.name)?;
        if current.state() == DeploymentState::Deleting {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &input.name,
                format!("{} is being deleted", input.name),
            )
            .into());
        }
        let touches = |field: &str| {
            mask.iter()
                .any(|m| m == "*" || m == field || m.starts_with(&format!("{field}.")))
        };
        let mut updated = current.clone();
        if touches("display_name") {
            updated.display_name = input.display_name.clone();
        }
        if touches("labels") {
            updated.labels = input.labels.clone();
        }
        if touches("annotations") {
            updated.annotations = input.annotations.clone();
        }
        if touches("replicas") {
            updated.replicas = Some(input.replicas.unwrap_or(1));
        }
        if touches("strategy") {
            updated.strategy = Some(model::default_strategy(input.strategy.as_ref()));
        }
        if touches("auto_update") {
            updated.auto_update = input.auto_update;
        }
        if touches("revision_history_limit") {
            updated.revision_history_limit = if input.revision_history_limit == 0 {
                model::DEFAULT_HISTORY
            } else {
                input.revision_history_limit
            };
        }
        if touches("template") {
            updated.template = input.template.clone();
        }
        model::validate(&updated, "deployment")?;
        // Secret values become secrets owned by the deployment; references must resolve.
        let secrets = if touches("template") {
            crate::secret::usage::prepare(self.store.as_ref(), &mut updated, "deployment.template")
                .await?
        } else {
            Default::default()
        };
        // An enabled autoscaling policy bounds the replicas.
        if updated.replicas != current.replicas {
            crate::autoscaling::api::check_replicas(
                self.store.as_ref(),
                &input.name,
                updated.replicas.unwrap_or(1),
            )
            .await?;
        }
        // A changed secret value needs a new revision to reach the instances.
        let template_changed = updated.template != current.template || secrets.values_changed;
        if (template_changed || updated.strategy != current.strategy)
            && !current.active_rollout.is_empty()
        {
            return Err(in_progress(&input.name, &current.active_rollout).into());
        }
        let mut compare = updated.clone();
        compare.etag = current.etag.clone();
        if compare == current && !secrets.values_changed {
            return Ok(Self::done_operation(&input.name, "update", &current));
        }
        updated.generation += 1;
        updated.update_time = Some(op::now());
        updated.reconciling = true;
        if request.validate_only {
            return Ok(Self::done_operation(&input.name, "update", &updated));
        }
        let name = input.name.clone();
        let mut fingerprint = request.clone();
        secrets.redact(fingerprint.deployment.as_mut());
        self.idempotency
            .run(
                "ferry.deploy.v1.DeploymentService/UpdateDeployment",
                &request.request_id,
                &fingerprint,
                || async move {
                    if template_changed {
                        return self
                            .start_rollout(
                                updated,
                                Some(revision),
                                Cause::Update,
                                Kind::Update,
                                None,
                                "update",
                                UPDATE_STAGES,
                                secrets.writes,
                            )
                            .await;
                    }
                    self.write_scale_like(&name, updated, revision, "update", SCALE_STAGES)
                        .await
                },
            )
            .await
            .map_err(DeployError::from)
    }

    /// Writes a change that needs no new revision; its operation ends when the
    /// deployment has converged.
    async fn write_scale_like(
        &self,
        name: &str,
        mut updated: Deployment,
        revision: i64,
        verb: &str,
        stages: &[(&str, &str)],
    ) -> Result<Operation, ApiError> {
        let operation = op::new_operation(name, verb, stages, &caller::current());
        let groups_key = groups_key(name);
        let groups_kv = self.store.get(&groups_key).await?;
        let (mut groups, guard) = match &groups_kv {
            Some(kv) => (
                GroupState::decode(&kv.value).unwrap_or_default(),
                Precondition::ModRevision(groups_key.clone(), kv.mod_revision),
            ),
            None => (
                GroupState::default(),
                Precondition::Absent(groups_key.clone()),
            ),
        };
        groups.waiting.push(operation.name.clone());
        updated.etag.clear();
        let key = deployment_key(name);
        let txn = Txn::new()
            .when(Precondition::ModRevision(key.clone(), revision))
            .when(guard)
            .put(key, updated.encode_to_vec())
            .put(groups_key, groups.encode())
            .put(operation_key(&operation.name), operation.encode_to_vec());
        match self.store.txn(txn).await {
            Ok(_) => Ok(operation),
            Err(StoreError::Conflict { .. }) => Err(ApiError::concurrent_modification(name)),
            Err(error) => Err(error.into()),
        }
    }

    async fn scale(&self, request: ScaleDeploymentRequest) -> Result<Operation, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        DEPLOYMENT_NAME.parse("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        if !(0..=model::MAX_REPLICAS).contains(&request.replicas) {
            return Err(ApiError::invalid_field(
                "replicas",
                format!("must be between 0 and {}", model::MAX_REPLICAS),
            )
            .into());
        }
        let (current, revision) = self.read_deployment(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        // An enabled autoscaling policy bounds the replicas.
        crate::autoscaling::api::check_replicas(
            self.store.as_ref(),
            &request.name,
            request.replicas,
        )
        .await?;
        let mut updated = current.clone();
        updated.replicas = Some(request.replicas);
        updated.generation += 1;
        updated.update_time = Some(op::now());
        updated.reconciling = true;
        if request.validate_only {
            return Ok(Self::done_operation(&request.name, "scale", &updated));
        }
        let name = request.name.clone();
        self.idempotency
            .run(
                "ferry.deploy.v1.DeploymentService/ScaleDeployment",
                &request.request_id,
                &request,
                || async move {
                    self.write_scale_like(&name, updated, revision, "scale", SCALE_STAGES)
                        .await
                },
            )
            .await
            .map_err(DeployError::from)
    }

    async fn delete(&self, request: DeleteDeploymentRequest) -> Result<Operation, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        DEPLOYMENT_NAME.parse("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        let (current, revision) = self.read_deployment(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if current.state() == DeploymentState::Deleting {
            return Err(ApiError::new(
                Code::Aborted,
                ErrorReason::OperationInProgress,
                format!("{} is already being deleted", request.name),
            )
            .with_metadata("resource", &request.name)
            .into());
        }
        if !current.active_rollout.is_empty() && !request.force {
            return Err(in_progress(&request.name, &current.active_rollout).into());
        }
        if request.validate_only {
            let mut operation =
                op::new_operation(&request.name, "delete", DELETE_STAGES, &caller::current());
            operation.name.clear();
            return Ok(operation);
        }
        let mut deleting = current.clone();
        deleting.state = DeploymentState::Deleting as i32;
        deleting.reconciling = true;
        deleting.update_time = Some(op::now());
        let name = request.name.clone();
        self.idempotency
            .run(
                "ferry.deploy.v1.DeploymentService/DeleteDeployment",
                &request.request_id,
                &request,
                || async move {
                    // The delete operation waits in the group record like a scale does.
                    self.write_scale_like(&name, deleting, revision, "delete", DELETE_STAGES)
                        .await
                },
            )
            .await
            .map_err(DeployError::from)
    }

    async fn list_deployments(
        &self,
        request: ListDeploymentsRequest,
    ) -> Result<ListDeploymentsResponse, DeployError> {
        crate::namespace::model::NAMESPACE_NAME.parse("parent", &request.parent)?;
        if !request.filter.is_empty() {
            return Err(ApiError::invalid_field(
                "filter",
                "filters are not supported yet: list without one",
            )
            .into());
        }
        if !matches!(request.order_by.trim(), "" | "name" | "name asc") {
            return Err(ApiError::invalid_field(
                "order_by",
                "deployments can only be ordered by name",
            )
            .into());
        }
        let (items, next_page_token, total_size) = self
            .page::<Deployment>(
                &namespace_deployments_prefix(&request.parent),
                request.page_size,
                &request.page_token,
                &[&request.parent],
            )
            .await?;
        Ok(ListDeploymentsResponse {
            deployments: items,
            next_page_token,
            total_size,
        })
    }

    /// One page of a prefix, in key order, with etags; and the total count.
    async fn page<M: prost::Message + Default + WithEtag>(
        &self,
        prefix: &str,
        page_size: i32,
        page_token: &str,
        fingerprint_parts: &[&str],
    ) -> Result<(Vec<M>, String, i32), DeployError> {
        let limit = aip::page_size(page_size)?;
        let fingerprint = aip::request_fingerprint(fingerprint_parts);
        let token = aip::decode_page_token(page_token, &fingerprint)?;
        let options = ListOptions {
            start_after: token.as_ref().map(|t| format!("{prefix}{}", t.last)),
            limit: limit + 1,
            revision: token.as_ref().map(|t| t.revision),
        };
        let (items, _, read_revision) =
            typed::list_msgs::<M>(self.store.as_ref(), prefix, options).await?;
        let has_more = items.len() > limit;
        let mut out = Vec::new();
        let mut last = String::new();
        for (key, mut item, mod_revision) in items.into_iter().take(limit) {
            item.set_etag(aip::etag(mod_revision));
            last = key.strip_prefix(prefix).unwrap_or(&key).to_string();
            out.push(item);
        }
        let total = self
            .store
            .list(
                prefix,
                ListOptions {
                    start_after: None,
                    limit: 0,
                    revision: Some(read_revision),
                },
            )
            .await?
            .items
            .len() as i32;
        let token = if has_more {
            aip::encode_page_token(&last, read_revision, &fingerprint)
        } else {
            String::new()
        };
        Ok((out, token, total))
    }

    async fn runtime_of(&self, namespace: &Namespace) -> Result<Arc<dyn Runtime>, DeployError> {
        self.runtimes
            .get(&namespace.runtime)
            .cloned()
            .ok_or_else(|| {
                ApiError::failed_precondition(
                    ErrorReason::InvalidState,
                    &namespace.name,
                    format!(
                        "{} has no runtime this deploy service drives ({:?})",
                        namespace.name, namespace.runtime
                    ),
                )
                .into()
            })
    }

    /// The instances of a deployment as the runtime reports them.
    /// The instances of a deployment as the deployment controller last observed them
    /// (kept in etcd, so every replica answers the same), sorted by name.
    async fn instances(&self, deployment: &str) -> Result<(Namespace, Vec<Instance>), DeployError> {
        let ids = DEPLOYMENT_NAME.parse("parent", deployment)?;
        self.read_deployment(deployment).await?;
        let namespace = self
            .read_namespace(&format!("namespaces/{}", ids[0]))
            .await?;
        let mut instances = typed::get_msg::<ListInstancesResponse>(
            self.store.as_ref(),
            &super::instances_key(deployment),
        )
        .await?
        .map(|(record, _)| record.instances)
        .unwrap_or_default();
        instances.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((namespace, instances))
    }

    /// An instance, its namespace and its id.
    async fn find_instance(
        &self,
        name: &str,
    ) -> Result<(Namespace, Instance, String), DeployError> {
        let ids = INSTANCE_NAME.parse("name", name)?;
        let deployment = DEPLOYMENT_NAME.format(&[ids[0], ids[1]]);
        let (namespace, instances) = self.instances(&deployment).await?;
        let instance = instances
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        Ok((namespace, instance, ids[2].to_string()))
    }

    async fn rollout_change(
        &self,
        name: &str,
        etag: &str,
        validate_only: bool,
        change: impl Fn(&mut Rollout) -> Result<(), ApiError>,
    ) -> Result<Rollout, DeployError> {
        ROLLOUT_NAME.parse("name", name)?;
        aip::parse_etag("etag", etag)?;
        // Without an etag the change applies to whatever the controller last wrote:
        // a write that races the controller is simply retried.
        for _ in 0..10 {
            let Some((mut rollout, revision)) =
                typed::get_msg::<Rollout>(self.store.as_ref(), &rollout_key(name)).await?
            else {
                return Err(DeployError::NotFound(name.to_string()));
            };
            aip::check_etag("etag", etag, revision, name)?;
            change(&mut rollout)?;
            rollout.update_time = Some(op::now());
            if validate_only {
                rollout.etag = aip::etag(revision);
                return Ok(rollout);
            }
            match typed::update_msg(self.store.as_ref(), &rollout_key(name), &rollout, revision)
                .await
            {
                Ok(new_revision) => {
                    rollout.etag = aip::etag(new_revision);
                    // Wake the controller: it watches deployments.
                    let deployment = name
                        .rsplit_once("/rollouts/")
                        .map(|(d, _)| d)
                        .unwrap_or_default();
                    touch(self.store.as_ref(), &deployment_key(deployment)).await;
                    return Ok(rollout);
                }
                Err(StoreError::Conflict { .. }) if etag.is_empty() => continue,
                Err(StoreError::Conflict { .. }) => {
                    return Err(ApiError::etag_mismatch(name).into());
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_modification(name).into())
    }
}

/// Rewrites a key with its own value so that its watchers look at it again.
async fn touch(store: &dyn Store, key: &str) {
    if let Ok(Some(kv)) = store.get(key).await {
        let _ = store
            .txn(
                Txn::new()
                    .when(Precondition::ModRevision(key.to_string(), kv.mod_revision))
                    .put(key, kv.value),
            )
            .await;
    }
}

/// Resources whose etag the API fills from the store revision.
pub trait WithEtag {
    /// Sets the etag.
    fn set_etag(&mut self, etag: String);
}
impl WithEtag for Deployment {
    fn set_etag(&mut self, etag: String) {
        self.etag = etag;
    }
}
impl WithEtag for Rollout {
    fn set_etag(&mut self, etag: String) {
        self.etag = etag;
    }
}
impl WithEtag for DeploymentRevision {
    fn set_etag(&mut self, _etag: String) {}
}

fn timestamp(time: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(time)
}

/// The API view of a runtime instance.
pub fn instance_proto(deployment: &str, status: &InstanceStatus) -> Instance {
    let state = match status.phase {
        InstancePhase::Pending => instance::State::Pending,
        InstancePhase::Running if !status.started => instance::State::Starting,
        InstancePhase::Running if status.ready => instance::State::Ready,
        InstancePhase::Running if status.reason.is_empty() => instance::State::Running,
        InstancePhase::Running => instance::State::Unhealthy,
        InstancePhase::Terminating => instance::State::Terminating,
        InstancePhase::Exited | InstancePhase::Failed => instance::State::Failed,
        InstancePhase::Unknown => instance::State::Unknown,
    };
    let condition = |kind: &str, ok: bool| Condition {
        r#type: kind.to_string(),
        status: if ok {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        } as i32,
        ..Default::default()
    };
    Instance {
        name: format!("{deployment}/instances/{}", status.instance),
        uid: status.runtime_id.clone(),
        display_name: status.display_name.clone(),
        labels: status.labels.clone().into_iter().collect(),
        create_time: status.started_at.map(timestamp),
        revision: format!("{deployment}/revisions/{}", status.revision),
        state: state as i32,
        state_reason: status.reason.clone(),
        state_message: status.message.clone(),
        host: if status.host.is_empty() {
            String::new()
        } else {
            format!("hosts/{}", status.host)
        },
        region: status.region.clone(),
        zone: status.zone.clone(),
        ip_address: status.ip.map(|ip| ip.to_string()).unwrap_or_default(),
        ports: status
            .ports
            .iter()
            .map(|port| Port {
                port: Some(ferry_proto::ferry::common::v1::ContainerPort {
                    name: port.name.clone(),
                    port: i32::from(port.container_port),
                    protocol: 0,
                }),
                host_address: port.host_address.map(|a| a.to_string()).unwrap_or_default(),
                host_port: port.host_port.map(i32::from).unwrap_or(0),
            })
            .collect(),
        restart_count: status.restart_count as i32,
        start_time: status.started_at.map(timestamp),
        ready_time: status.ready_since.map(timestamp),
        last_termination: status.exit.as_ref().map(|exit| instance::Termination {
            exit_code: exit.code,
            signal: exit.signal,
            reason: exit.reason.clone(),
            end_time: exit.finished_at.map(timestamp),
            ..Default::default()
        }),
        runtime_id: status.runtime_id.clone(),
        conditions: vec![
            condition("Started", status.started),
            condition("Ready", status.ready),
        ],
        ..Default::default()
    }
}

#[tonic::async_trait]
impl DeploymentService for DeploymentApi {
    async fn get_deployment(
        &self,
        request: Request<GetDeploymentRequest>,
    ) -> Result<Response<Deployment>, Status> {
        let request = request.into_inner();
        DEPLOYMENT_NAME
            .parse("name", &request.name)
            .map_err(DeployError::from)?;
        Ok(Response::new(self.read_deployment(&request.name).await?.0))
    }

    async fn list_deployments(
        &self,
        request: Request<ListDeploymentsRequest>,
    ) -> Result<Response<ListDeploymentsResponse>, Status> {
        Ok(Response::new(
            DeploymentApi::list_deployments(self, request.into_inner()).await?,
        ))
    }

    async fn create_deployment(
        &self,
        request: Request<CreateDeploymentRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(self.create(request.into_inner()).await?))
    }

    async fn update_deployment(
        &self,
        request: Request<UpdateDeploymentRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(self.update(request.into_inner()).await?))
    }

    async fn delete_deployment(
        &self,
        request: Request<DeleteDeploymentRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(self.delete(request.into_inner()).await?))
    }

    async fn scale_deployment(
        &self,
        request: Request<ScaleDeploymentRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(self.scale(request.into_inner()).await?))
    }

    async fn get_deployment_revision(
        &self,
        request: Request<GetDeploymentRevisionRequest>,
    ) -> Result<Response<DeploymentRevision>, Status> {
        let request = request.into_inner();
        REVISION_NAME
            .parse("name", &request.name)
            .map_err(DeployError::from)?;
        typed::get_msg::<DeploymentRevision>(self.store.as_ref(), &revision_key(&request.name))
            .await
            .map_err(DeployError::from)?
            .map(|(revision, _)| Response::new(revision))
            .ok_or_else(|| DeployError::NotFound(request.name).into())
    }

    async fn list_deployment_revisions(
        &self,
        request: Request<ListDeploymentRevisionsRequest>,
    ) -> Result<Response<ListDeploymentRevisionsResponse>, Status> {
        let request = request.into_inner();
        DEPLOYMENT_NAME
            .parse("parent", &request.parent)
            .map_err(DeployError::from)?;
        self.read_deployment(&request.parent).await?;
        let (mut items, next_page_token, total_size) = self
            .page::<DeploymentRevision>(
                &revisions_prefix(&request.parent),
                request.page_size,
                &request.page_token,
                &[&request.parent],
            )
            .await?;
        items.sort_by_key(|r| std::cmp::Reverse(r.number));
        Ok(Response::new(ListDeploymentRevisionsResponse {
            deployment_revisions: items,
            next_page_token,
            total_size,
        }))
    }
}

#[tonic::async_trait]
impl RolloutService for DeploymentApi {
    async fn get_rollout(
        &self,
        request: Request<GetRolloutRequest>,
    ) -> Result<Response<Rollout>, Status> {
        let request = request.into_inner();
        ROLLOUT_NAME
            .parse("name", &request.name)
            .map_err(DeployError::from)?;
        let (mut rollout, revision) =
            typed::get_msg::<Rollout>(self.store.as_ref(), &rollout_key(&request.name))
                .await
                .map_err(DeployError::from)?
                .ok_or_else(|| DeployError::NotFound(request.name.clone()))?;
        rollout.etag = aip::etag(revision);
        Ok(Response::new(rollout))
    }

    async fn list_rollouts(
        &self,
        request: Request<ListRolloutsRequest>,
    ) -> Result<Response<ListRolloutsResponse>, Status> {
        let request = request.into_inner();
        DEPLOYMENT_NAME
            .parse("parent", &request.parent)
            .map_err(DeployError::from)?;
        self.read_deployment(&request.parent).await?;
        let (rollouts, next_page_token, total_size) = self
            .page::<Rollout>(
                &rollouts_prefix(&request.parent),
                request.page_size,
                &request.page_token,
                &[&request.parent],
            )
            .await?;
        Ok(Response::new(ListRolloutsResponse {
            rollouts,
            next_page_token,
            total_size,
        }))
    }

    async fn pause_rollout(
        &self,
        request: Request<PauseRolloutRequest>,
    ) -> Result<Response<Rollout>, Status> {
        let request = request.into_inner();
        let reason = request.reason.clone();
        let rollout = self
            .rollout_change(
                &request.name,
                &request.etag,
                request.validate_only,
                |rollout| {
                    model::transition_rollout(
                        rollout,
                        RolloutState::Paused,
                        &[RolloutState::Pending, RolloutState::Progressing],
                        "PAUSED_BY_USER",
                        &reason,
                        "paused",
                    )
                },
            )
            .await?;
        Ok(Response::new(rollout))
    }

    async fn resume_rollout(
        &self,
        request: Request<ResumeRolloutRequest>,
    ) -> Result<Response<Rollout>, Status> {
        let request = request.into_inner();
        let rollout = self
            .rollout_change(
                &request.name,
                &request.etag,
                request.validate_only,
                |rollout| {
                    model::transition_rollout(
                        rollout,
                        RolloutState::Progressing,
                        &[RolloutState::Paused],
                        "",
                        "",
                        "resumed",
                    )
                },
            )
            .await?;
        Ok(Response::new(rollout))
    }

    async fn abort_rollout(
        &self,
        request: Request<AbortRolloutRequest>,
    ) -> Result<Response<Rollout>, Status> {
        let request = request.into_inner();
        let reason = if request.reason.is_empty() {
            "aborted by a user".to_string()
        } else {
            request.reason.clone()
        };
        let rollout = self
            .rollout_change(
                &request.name,
                &request.etag,
                request.validate_only,
                |rollout| {
                    model::transition_rollout(
                        rollout,
                        RolloutState::Aborting,
                        &[
                            RolloutState::Pending,
                            RolloutState::Progressing,
                            RolloutState::Paused,
                        ],
                        "ABORTED_BY_USER",
                        &reason,
                        "aborted",
                    )
                },
            )
            .await?;
        Ok(Response::new(rollout))
    }

    async fn rollback_deployment(
        &self,
        request: Request<RollbackDeploymentRequest>,
    ) -> Result<Response<Operation>, Status> {
        let request = request.into_inner();
        let run = async {
            aip::validate_request_id(&request.request_id)?;
            DEPLOYMENT_NAME.parse("name", &request.name)?;
            REVISION_NAME.parse("revision", &request.revision)?;
            if !request.revision.starts_with(&format!("{}/", request.name)) {
                return Err(ApiError::invalid_field(
                    "revision",
                    "must be a revision of the deployment",
                )
                .into());
            }
            aip::parse_etag("etag", &request.etag)?;
            let (current, revision) = self.read_deployment(&request.name).await?;
            aip::check_etag("etag", &request.etag, revision, &request.name)?;
            if !current.active_rollout.is_empty() {
                return Err(in_progress(&request.name, &current.active_rollout).into());
            }
            let Some((source, _)) = typed::get_msg::<DeploymentRevision>(
                self.store.as_ref(),
                &revision_key(&request.revision),
            )
            .await?
            else {
                return Err(DeployError::NotFound(request.revision.clone()));
            };
            let bad = matches!(
                source.rollout_result(),
                RolloutResult::Failed | RolloutResult::RolledBack
            );
            if bad && !request.force {
                return Err(ApiError::failed_precondition(
                    ErrorReason::InvalidState,
                    &request.revision,
                    format!(
                        "{} is known bad ({}): set force to roll back to it anyway",
                        request.revision,
                        source.rollout_result().as_str_name()
                    ),
                )
                .into());
            }
            let mut updated = current.clone();
            updated.template = source.template.clone();
            updated.generation += 1;
            updated.update_time = Some(op::now());
            if request.validate_only {
                return Ok(Self::done_operation(&request.name, "rollback", &updated));
            }
            self.idempotency
                .run(
                    "ferry.deploy.v1.RolloutService/RollbackDeployment",
                    &request.request_id,
                    &request,
                    || {
                        self.start_rollout(
                            updated,
                            Some(revision),
                            Cause::Rollback,
                            Kind::Rollback,
                            Some(&source),
                            "rollback",
                            UPDATE_STAGES,
                            Txn::new(),
                        )
                    },
                )
                .await
                .map_err(DeployError::from)
        };
        Ok(Response::new(run.await?))
    }
}

#[tonic::async_trait]
impl InstanceService for DeploymentApi {
    async fn get_instance(
        &self,
        request: Request<GetInstanceRequest>,
    ) -> Result<Response<Instance>, Status> {
        let request = request.into_inner();
        let (_, instance, _) = self.find_instance(&request.name).await?;
        Ok(Response::new(instance))
    }

    async fn list_instances(
        &self,
        request: Request<ListInstancesRequest>,
    ) -> Result<Response<ListInstancesResponse>, Status> {
        let request = request.into_inner();
        let limit = aip::page_size(request.page_size).map_err(DeployError::from)?;
        let (_, instances) = self.instances(&request.parent).await?;
        let fingerprint = aip::request_fingerprint(&[&request.parent, &request.filter]);
        let token =
            aip::decode_page_token(&request.page_token, &fingerprint).map_err(DeployError::from)?;
        let total_size = instances.len() as i32;
        let start = token.map(|t| t.last);
        let page: Vec<Instance> = instances
            .iter()
            .filter(|i| {
                let id = i.name.rsplit('/').next().unwrap_or_default();
                start.as_ref().is_none_or(|last| id > last.as_str())
            })
            .take(limit + 1)
            .cloned()
            .collect();
        let (page, next_page_token) = if page.len() > limit {
            let last = page[limit - 1]
                .name
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            (
                page[..limit].to_vec(),
                aip::encode_page_token(&last, 0, &fingerprint),
            )
        } else {
            (page, String::new())
        };
        Ok(Response::new(ListInstancesResponse {
            instances: page,
            next_page_token,
            total_size,
        }))
    }

    async fn stream_instance_logs(
        &self,
        request: Request<StreamInstanceLogsRequest>,
    ) -> Result<Response<BoxStream<StreamInstanceLogsResponse>>, Status> {
        let request = request.into_inner();
        if request.tail_lines < 0 {
            return Err(DeployError::from(ApiError::invalid_field(
                "tail_lines",
                "must not be negative",
            ))
            .into());
        }
        let (namespace, _, id) = self.find_instance(&request.name).await?;
        let runtime = self.runtime_of(&namespace).await?;
        let options = LogOptions {
            follow: request.follow,
            tail: (request.tail_lines > 0).then_some(request.tail_lines as u64),
            since: request
                .since_time
                .and_then(|t| SystemTime::try_from(t).ok()),
        };
        let want = request.stream();
        let lines = runtime
            .logs(&namespace.runtime_namespace, &id, options)
            .await
            .map_err(|e| Status::unavailable(format!("runtime: {e}")))?;
        let mut offset = 0i64;
        let stream = lines
            .filter_map(move |line| {
                let item = match line {
                    Ok(line) => {
                        let source = match line.source {
                            LogSource::Stdout => LogStream::Stdout,
                            LogSource::Stderr => LogStream::Stderr,
                        };
                        if want != LogStream::Unspecified && want != source {
                            None
                        } else {
                            let chunk = LogChunk {
                                offset,
                                data: line.data.to_vec(),
                                stream: source as i32,
                                time: line.time.map(timestamp),
                                ..Default::default()
                            };
                            offset += line.data.len() as i64;
                            Some(Ok(StreamInstanceLogsResponse {
                                chunk: Some(chunk),
                                run: 0,
                            }))
                        }
                    }
                    Err(error) => Some(Err(Status::unavailable(format!("runtime: {error}")))),
                };
                futures::future::ready(item)
            })
            .boxed();
        Ok(Response::new(stream))
    }

    async fn restart_instance(
        &self,
        request: Request<RestartInstanceRequest>,
    ) -> Result<Response<Operation>, Status> {
        let request = request.into_inner();
        aip::validate_request_id(&request.request_id).map_err(DeployError::from)?;
        let (namespace, instance, id) = self.find_instance(&request.name).await?;
        let mut operation = op::new_operation(&request.name, "restart", &[], &caller::current());
        operation.name.clear();
        if !request.validate_only {
            self.runtime_of(&namespace)
                .await?
                .delete_instance(
                    &namespace.runtime_namespace,
                    &id,
                    std::time::Duration::from_secs(30),
                )
                .await
                .map_err(|e| Status::unavailable(format!("runtime: {e}")))?;
            let deployment = request
                .name
                .rsplit_once("/instances/")
                .map(|(d, _)| d)
                .unwrap_or_default();
            touch(self.store.as_ref(), &deployment_key(deployment)).await;
        }
        op::succeed(&mut operation, "ferry.deploy.v1.Instance", &instance);
        Ok(Response::new(operation))
    }

    async fn delete_instance(
        &self,
        request: Request<DeleteInstanceRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        aip::validate_request_id(&request.request_id).map_err(DeployError::from)?;
        let (namespace, _, id) = self.find_instance(&request.name).await?;
        if !request.validate_only {
            let grace = request
                .grace_period
                .as_ref()
                .map(model::to_duration)
                .unwrap_or(std::time::Duration::from_secs(30));
            self.runtime_of(&namespace)
                .await?
                .delete_instance(&namespace.runtime_namespace, &id, grace)
                .await
                .map_err(|e| Status::unavailable(format!("runtime: {e}")))?;
            let deployment = request
                .name
                .rsplit_once("/instances/")
                .map(|(d, _)| d)
                .unwrap_or_default();
            touch(self.store.as_ref(), &deployment_key(deployment)).await;
        }
        Ok(Response::new(()))
    }
}
