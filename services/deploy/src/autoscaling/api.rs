//! The gRPC adapter of AutoscalingService: validates requests at the edge and writes the
//! policy to etcd (the autoscaling controller does the rest).

use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::operation as op;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::autoscaling_policy::State;
use ferry_proto::ferry::deploy::v1::autoscaling_service_server::{
    AutoscalingService, AutoscalingServiceServer,
};
use ferry_proto::ferry::deploy::v1::deployment::State as DeploymentState;
use ferry_proto::ferry::deploy::v1::{
    AutoscalingPolicy, DeleteAutoscalingPolicyRequest, Deployment, GetAutoscalingPolicyRequest,
    UpdateAutoscalingPolicyRequest,
};
use ferry_store::{Precondition, Store, StoreError, Txn, typed};
use prost::Message as _;
use tonic::{Request, Response, Status};

use super::model::{self, POLICY_NAME};
use super::policy_key;
use crate::deployment::deployment_key;
use crate::error::DeployError;

/// Serves autoscaling policies.
#[derive(Clone)]
pub struct AutoscalingApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
}

/// The deployment a policy name belongs to.
fn deployment_of(policy_name: &str) -> &str {
    policy_name
        .strip_suffix("/autoscalingPolicy")
        .unwrap_or(policy_name)
}

/// FAILED_PRECONDITION (INVALID_STATE) when `deployment` has an enabled policy and
/// `replicas` is outside its `[min_replicas, max_replicas]`: what ScaleDeployment and
/// UpdateDeployment check before they change `replicas`.
pub async fn check_replicas(
    store: &dyn Store,
    deployment: &str,
    replicas: i32,
) -> Result<(), ApiError> {
    let Some((policy, _)) =
        typed::get_msg::<AutoscalingPolicy>(store, &policy_key(deployment)).await?
    else {
        return Ok(());
    };
    if policy.enabled && !(policy.min_replicas..=policy.max_replicas).contains(&replicas) {
        return Err(ApiError::failed_precondition(
            ErrorReason::InvalidState,
            &policy.name,
            format!(
                "{deployment} is autoscaled between {} and {} replicas: {replicas} is outside; \
                 change or disable its autoscaling policy first",
                policy.min_replicas, policy.max_replicas
            ),
        ));
    }
    Ok(())
}

impl AutoscalingApi {
    /// Serves from `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        Self { store, idempotency }
    }

    /// The tonic server.
    pub fn into_server(self) -> AutoscalingServiceServer<Self> {
        AutoscalingServiceServer::new(self)
    }

    async fn read_policy(&self, name: &str) -> Result<Option<(AutoscalingPolicy, i64)>, ApiError> {
        Ok(typed::get_msg::<AutoscalingPolicy>(
            self.store.as_ref(),
            &policy_key(deployment_of(name)),
        )
        .await?
        .map(|(mut policy, revision)| {
            policy.etag = aip::etag(revision);
            (policy, revision)
        }))
    }

    async fn get(
        &self,
        request: GetAutoscalingPolicyRequest,
    ) -> Result<AutoscalingPolicy, DeployError> {
        POLICY_NAME.parse("name", &request.name)?;
        match self.read_policy(&request.name).await? {
            Some((policy, _)) => Ok(policy),
            None => Err(DeployError::NotFound(request.name)),
        }
    }

    async fn update(
        &self,
        request: UpdateAutoscalingPolicyRequest,
    ) -> Result<AutoscalingPolicy, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        if request.validate_only {
            return self.update_once(&request).await.map_err(DeployError::from);
        }
        // A retry with the same id answers the first call's result, even though the
        // policy exists by then.
        self.idempotency
            .run(
                "ferry.deploy.v1.AutoscalingService/UpdateAutoscalingPolicy",
                &request.request_id,
                &request,
                || self.update_once(&request),
            )
            .await
            .map_err(DeployError::from)
    }

    async fn update_once(
        &self,
        request: &UpdateAutoscalingPolicyRequest,
    ) -> Result<AutoscalingPolicy, ApiError> {
        let input = request.autoscaling_policy.clone().unwrap_or_default();
        POLICY_NAME.parse("autoscaling_policy.name", &input.name)?;
        aip::parse_etag("autoscaling_policy.etag", &input.etag)?;
        let deployment_name = deployment_of(&input.name).to_string();
        let Some((deployment, _)) =
            typed::get_msg::<Deployment>(self.store.as_ref(), &deployment_key(&deployment_name))
                .await?
        else {
            return Err(ApiError::not_found(deployment_name));
        };
        if deployment.state() == DeploymentState::Deleting {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &deployment_name,
                format!("{deployment_name} is being deleted"),
            ));
        }
        let current = self.read_policy(&input.name).await?;
        let now = op::now();
        let (updated, guard) = match &current {
            None if !request.allow_missing => return Err(ApiError::not_found(input.name)),
            None => {
                if !input.etag.is_empty() {
                    return Err(ApiError::etag_mismatch(&input.name));
                }
                let mut created = AutoscalingPolicy {
                    name: input.name.clone(),
                    uid: uuid::Uuid::new_v4().to_string(),
                    create_time: Some(now),
                    update_time: Some(now),
                    generation: 1,
                    reconciling: true,
                    current_replicas: deployment.replicas.unwrap_or(1),
                    ..model::apply_mask(&AutoscalingPolicy::default(), &input, &["*".into()])
                };
                created.state = if created.enabled {
                    State::Active
                } else {
                    State::Disabled
                } as i32;
                (created, Precondition::Absent(policy_key(&deployment_name)))
            }
            Some((current, revision)) => {
                aip::check_etag(
                    "autoscaling_policy.etag",
                    &input.etag,
                    *revision,
                    &input.name,
                )?;
                if request
                    .update_mask
                    .as_ref()
                    .is_none_or(|m| m.paths.is_empty())
                {
                    return Err(model::mask_required());
                }
                let mask = aip::validate_update_mask(
                    request.update_mask.as_ref(),
                    model::UPDATABLE_FIELDS,
                )?;
                let mut updated = model::apply_mask(current, &input, &mask);
                model::apply_defaults(&mut updated);
                if !model::same_spec(current, &updated) {
                    updated.generation += 1;
                    updated.reconciling = true;
                }
                (
                    updated,
                    Precondition::ModRevision(policy_key(&deployment_name), *revision),
                )
            }
        };
        let mut updated = updated;
        model::apply_defaults(&mut updated);
        model::validate(&updated, "autoscaling_policy")?;
        model::check_metrics(&updated, deployment.template.as_ref(), &deployment_name)?;
        if let Some((current, _)) = &current {
            if &updated == current {
                return Ok(updated);
            }
            updated.update_time = Some(now);
        }
        if request.validate_only {
            return Ok(updated);
        }
        updated.etag.clear();
        let txn = Txn::new()
            .when(guard)
            .when(Precondition::Exists(deployment_key(&deployment_name)))
            .put(policy_key(&deployment_name), updated.encode_to_vec());
        match self.store.txn(txn).await {
            Ok(revision) => {
                updated.etag = aip::etag(revision);
                Ok(updated)
            }
            Err(StoreError::Conflict { .. }) => {
                Err(ApiError::concurrent_modification(&updated.name))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn delete(&self, request: DeleteAutoscalingPolicyRequest) -> Result<(), DeployError> {
        aip::validate_request_id(&request.request_id)?;
        if request.validate_only {
            return self.delete_once(&request).await.map_err(DeployError::from);
        }
        self.idempotency
            .run(
                "ferry.deploy.v1.AutoscalingService/DeleteAutoscalingPolicy",
                &request.request_id,
                &request,
                || self.delete_once(&request),
            )
            .await
            .map_err(DeployError::from)
    }

    async fn delete_once(&self, request: &DeleteAutoscalingPolicyRequest) -> Result<(), ApiError> {
        POLICY_NAME.parse("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        let Some((_, revision)) = self.read_policy(&request.name).await? else {
            if request.allow_missing {
                return Ok(());
            }
            return Err(ApiError::not_found(&request.name));
        };
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if request.validate_only {
            return Ok(());
        }
        let key = policy_key(deployment_of(&request.name));
        let txn = Txn::new()
            .when(Precondition::ModRevision(key.clone(), revision))
            .delete(key);
        match self.store.txn(txn).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => {
                Err(ApiError::concurrent_modification(&request.name))
            }
            Err(error) => Err(error.into()),
        }
    }
}

#[tonic::async_trait]
impl AutoscalingService for AutoscalingApi {
    async fn get_autoscaling_policy(
        &self,
        request: Request<GetAutoscalingPolicyRequest>,
    ) -> Result<Response<AutoscalingPolicy>, Status> {
        Ok(Response::new(self.get(request.into_inner()).await?))
    }

    async fn update_autoscaling_policy(
        &self,
        request: Request<UpdateAutoscalingPolicyRequest>,
    ) -> Result<Response<AutoscalingPolicy>, Status> {
        Ok(Response::new(self.update(request.into_inner()).await?))
    }

    async fn delete_autoscaling_policy(
        &self,
        request: Request<DeleteAutoscalingPolicyRequest>,
    ) -> Result<Response<()>, Status> {
        self.delete(request.into_inner()).await?;
        Ok(Response::new(()))
    }
}
