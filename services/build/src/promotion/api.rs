//! The `ferry.build.v1.PromotionService` gRPC adapter: promotions created with their QA
//! Operation, gates recorded with who and when (compare-and-swap on the promotion),
//! releases started with their Operation. Rollouts are the controller's.

use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::Operations;
use ferry_ops::operation as op;
use ferry_proto::ferry::build::v1::promotion::State;
use ferry_proto::ferry::build::v1::promotion_service_server::{
    PromotionService, PromotionServiceServer,
};
use ferry_proto::ferry::build::v1::{
    ApprovePromotionRequest, CreatePromotionRequest, GetPromotionRequest, ListPromotionsRequest,
    ListPromotionsResponse, Promotion, PromotionProgress, RejectPromotionRequest,
    ReleasePromotionRequest,
};
use ferry_proto::ferry::common::v1::{ErrorReason, Operation};
use ferry_proto::ferry::deploy::v1::GetDeploymentRequest;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_store::{Precondition, Store, StoreError, Txn, typed};
use prost::Message as _;
use tonic::{Code, Request, Response, Status};

use super::model::{self, PROMOTION_NAME};
use super::{promotion_key, promotions_prefix_of};
use crate::application::api::read_application;
use crate::application::model::APPLICATION_NAME;
use crate::error::{BuildError, status};
use crate::image::api::read_image;
use crate::image::usage::{deploy_channel, digest_of};

/// Serves promotions.
#[derive(Clone)]
pub struct PromotionApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
}

/// Reads a promotion with its etag.
pub async fn read_promotion(store: &dyn Store, name: &str) -> Result<(Promotion, i64), BuildError> {
    PROMOTION_NAME.parse("name", name)?;
    match typed::get_msg::<Promotion>(store, &promotion_key(name)).await? {
        Some((promotion, revision)) => Ok((model::with_etag(promotion, revision), revision)),
        None => Err(BuildError::NotFound(name.to_string())),
    }
}

/// The promotions of an application.
pub async fn promotions_of(
    store: &dyn Store,
    application: &str,
) -> Result<Vec<Promotion>, BuildError> {
    Ok(
        typed::list_all_msgs::<Promotion>(store, &promotions_prefix_of(application), 500)
            .await?
            .0
            .into_iter()
            .map(|(_, promotion, revision)| model::with_etag(promotion, revision))
            .collect(),
    )
}

fn deploy_unavailable(message: &str) -> ApiError {
    ApiError::new(
        Code::Unavailable,
        ErrorReason::BackendUnavailable,
        format!("deploy service: {message}"),
    )
}

/// A new phase Operation of `promotion` with its progress details.
fn phase_operation(
    promotion: &Promotion,
    stages: &[(&str, &str)],
    deployment: &str,
    actor: &str,
) -> Operation {
    let mut operation = op::new_operation(&promotion.name, "promote", stages, actor);
    model::set_progress(
        &mut operation,
        &PromotionProgress {
            promotion: promotion.name.clone(),
            state: promotion.state,
            image_digest: promotion.image_digest.clone(),
            deployment: deployment.to_string(),
            ..Default::default()
        },
    );
    operation
}

impl PromotionApi {
    /// Serves promotions from `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        Self { store, idempotency }
    }

    /// The tonic server.
    pub fn into_server(self) -> PromotionServiceServer<Self> {
        PromotionServiceServer::new(self)
    }

    async fn deployments(
        &self,
    ) -> Result<DeploymentServiceClient<tonic::transport::Channel>, ApiError> {
        let channel = deploy_channel(self.store.as_ref())
            .await?
            .ok_or_else(|| deploy_unavailable("no instance is registered"))?;
        Ok(DeploymentServiceClient::new(channel))
    }

    /// The digest `deployment` runs; FAILED_PRECONDITION when it does not exist.
    async fn running_digest(&self, deployment: &str) -> Result<String, ApiError> {
        match self
            .deployments()
            .await?
            .get_deployment(GetDeploymentRequest {
                name: deployment.to_string(),
            })
            .await
        {
            Ok(found) => Ok(digest_of(&found.into_inner().current_image_uri)
                .unwrap_or_default()
                .to_string()),
            Err(status) if status.code() == Code::NotFound => Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                deployment,
                format!(
                    "{deployment} does not exist: create the application's deployment in that namespace first"
                ),
            )),
            Err(status) => Err(deploy_unavailable(status.message())),
        }
    }

    async fn create(&self, request: CreatePromotionRequest) -> Result<Operation, BuildError> {
        aip::validate_request_id(&request.request_id)?;
        APPLICATION_NAME.parse("parent", &request.parent)?;
        let promotion_id = if request.promotion_id.is_empty() {
            model::new_id()
        } else {
            aip::validate_id("promotion_id", &request.promotion_id)?;
            request.promotion_id.clone()
        };
        let input = request
            .promotion
            .clone()
            .ok_or_else(|| ApiError::invalid_field("promotion", "is required"))?;
        let (image_parent, _) = crate::image::parse_image_name("promotion.image", &input.image)?;
        if image_parent != request.parent {
            return Err(ApiError::invalid_field(
                "promotion.image",
                format!("{} is not an image of {}", input.image, request.parent),
            )
            .into());
        }
        let (application, _) = read_application(self.store.as_ref(), &request.parent).await?;
        let (image, _) = read_image(self.store.as_ref(), &input.image).await?;
        let mut promotion =
            model::plan_create(&application, &image, &promotion_id, &input, op::now())?;
        self.running_digest(&promotion.qa_deployment).await?;
        self.running_digest(&promotion.production_deployment)
            .await?;
        let actor = ferry_kit::caller::current();
        let mut operation = phase_operation(
            &promotion,
            model::QA_STAGES,
            &promotion.qa_deployment,
            &actor,
        );
        promotion.qa_operation = operation.name.clone();
        if request.validate_only {
            operation.name.clear();
            return Ok(operation);
        }
        let store = self.store.clone();
        self.idempotency
            .run("ferry.build.v1.PromotionService/CreatePromotion", &request.request_id, &request, || async move {
                let key = promotion_key(&promotion.name);
                let txn = Operations::create_txn(&operation).when(Precondition::Absent(key.clone())).put(key, promotion.encode_to_vec());
                match store.txn(txn).await {
                    Ok(revision) => {
                        operation.etag = aip::etag(revision);
                        tracing::info!(promotion = %promotion.name, image = %promotion.image, "promotion created");
                        Ok(operation)
                    }
                    Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => Err(ApiError::already_exists(&promotion.name)),
                    Err(error) => Err(error.into()),
                }
            })
            .await
            .map_err(BuildError::from)
    }

    /// Writes `updated` over the promotion read at `revision` (and `operation`, new,
    /// when given).
    async fn write(
        &self,
        updated: &Promotion,
        revision: i64,
        operation: Option<&Operation>,
        client_etag: bool,
    ) -> Result<Promotion, ApiError> {
        let key = promotion_key(&updated.name);
        let mut record = updated.clone();
        record.etag.clear();
        let mut txn = match operation {
            Some(operation) => Operations::create_txn(operation),
            None => Txn::new(),
        };
        txn = txn
            .when(Precondition::ModRevision(key.clone(), revision))
            .put(key, record.encode_to_vec());
        match self.store.txn(txn).await {
            Ok(new_revision) => Ok(model::with_etag(record, new_revision)),
            Err(StoreError::Conflict { .. }) if client_etag => {
                Err(ApiError::etag_mismatch(&updated.name))
            }
            Err(StoreError::Conflict { .. }) => {
                Err(ApiError::concurrent_modification(&updated.name))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn approve(&self, request: ApprovePromotionRequest) -> Result<Promotion, BuildError> {
        aip::validate_request_id(&request.request_id)?;
        aip::parse_etag("etag", &request.etag)?;
        let (promotion, revision) = read_promotion(self.store.as_ref(), &request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        let qa_digest = if promotion.state() == State::PendingQa && !promotion.reconciling {
            self.running_digest(&promotion.qa_deployment).await?
        } else {
            String::new()
        };
        let actor = ferry_kit::caller::current();
        let mut approved = model::approve(
            &promotion,
            &actor,
            &request.comment,
            qa_digest == promotion.image_digest,
            op::now(),
        )?;
        if request.validate_only {
            return Ok(approved);
        }
        let mut release_operation = None;
        if !promotion.release_gate_required {
            let operation = phase_operation(
                &approved,
                model::RELEASE_STAGES,
                &approved.production_deployment,
                model::SYSTEM,
            );
            approved = model::release(
                &approved,
                model::SYSTEM,
                "released automatically: no release gate",
                true,
                &operation.name,
                op::now(),
            );
            release_operation = Some(operation);
        }
        let client_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                "ferry.build.v1.PromotionService/ApprovePromotion",
                &request.request_id,
                &request,
                || async {
                    self.write(&approved, revision, release_operation.as_ref(), client_etag)
                        .await
                },
            )
            .await
            .map_err(BuildError::from)
    }

    async fn reject(&self, request: RejectPromotionRequest) -> Result<Promotion, BuildError> {
        aip::validate_request_id(&request.request_id)?;
        aip::parse_etag("etag", &request.etag)?;
        let (promotion, revision) = read_promotion(self.store.as_ref(), &request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        let rejected = model::reject(
            &promotion,
            &ferry_kit::caller::current(),
            &request.comment,
            op::now(),
        )?;
        if request.validate_only {
            return Ok(rejected);
        }
        let client_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                "ferry.build.v1.PromotionService/RejectPromotion",
                &request.request_id,
                &request,
                || async { self.write(&rejected, revision, None, client_etag).await },
            )
            .await
            .map_err(BuildError::from)
    }

    async fn release(&self, request: ReleasePromotionRequest) -> Result<Operation, BuildError> {
        aip::validate_request_id(&request.request_id)?;
        aip::parse_etag("etag", &request.etag)?;
        let (promotion, revision) = read_promotion(self.store.as_ref(), &request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        let application_name = request
            .name
            .split("/promotions/")
            .next()
            .unwrap_or_default()
            .to_string();
        let (application, _) = read_application(self.store.as_ref(), &application_name).await?;
        let separate = application
            .production_flow
            .as_ref()
            .is_some_and(|f| f.separate_release_actor);
        let actor = ferry_kit::caller::current();
        model::check_release(&promotion, &actor, separate)?;
        let busy = promotions_of(self.store.as_ref(), &application_name)
            .await?
            .into_iter()
            .find(|p| {
                p.name != promotion.name
                    && p.state() == State::Releasing
                    && p.production_namespace == promotion.production_namespace
            });
        if let Some(busy) = busy {
            return Err(ApiError::new(
                Code::Aborted,
                ErrorReason::OperationInProgress,
                format!(
                    "{} is being released to {}: wait for it",
                    busy.name, promotion.production_namespace
                ),
            )
            .with_metadata("resource", &busy.name)
            .into());
        }
        let mut operation = phase_operation(
            &promotion,
            model::RELEASE_STAGES,
            &promotion.production_deployment,
            &actor,
        );
        let releasing = model::release(
            &promotion,
            &actor,
            &request.comment,
            false,
            &operation.name,
            op::now(),
        );
        if request.validate_only {
            operation.name.clear();
            return Ok(operation);
        }
        let client_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                "ferry.build.v1.PromotionService/ReleasePromotion",
                &request.request_id,
                &request,
                || async {
                    self.write(&releasing, revision, Some(&operation), client_etag)
                        .await?;
                    tracing::info!(promotion = %releasing.name, "release started");
                    Ok(operation.clone())
                },
            )
            .await
            .map_err(BuildError::from)
    }

    async fn list(
        &self,
        request: ListPromotionsRequest,
    ) -> Result<ListPromotionsResponse, BuildError> {
        APPLICATION_NAME.parse("parent", &request.parent)?;
        let limit = aip::page_size(request.page_size)?;
        if !request.filter.trim().is_empty() {
            return Err(ApiError::invalid_field(
                "filter",
                "filters are not supported yet: list without one",
            )
            .into());
        }
        if !matches!(request.order_by.trim(), "" | "create_time desc") {
            return Err(ApiError::invalid_field(
                "order_by",
                "promotions are listed newest first (create_time desc)",
            )
            .into());
        }
        let fingerprint = aip::request_fingerprint(&[&request.parent, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let mut promotions = promotions_of(self.store.as_ref(), &request.parent).await?;
        promotions.sort_by(|a, b| {
            let time = |p: &Promotion| {
                p.create_time
                    .map(|t| (t.seconds, t.nanos))
                    .unwrap_or_default()
            };
            time(b).cmp(&time(a)).then_with(|| a.name.cmp(&b.name))
        });
        let total_size = promotions.len() as i32;
        let start = match &token {
            Some(token) => promotions
                .iter()
                .position(|p| p.name == token.last)
                .map_or(promotions.len(), |p| p + 1),
            None => 0,
        };
        let mut page: Vec<Promotion> = promotions.into_iter().skip(start).take(limit + 1).collect();
        let next_page_token = if page.len() > limit {
            page.truncate(limit);
            aip::encode_page_token(&page[limit - 1].name, 1, &fingerprint)
        } else {
            String::new()
        };
        Ok(ListPromotionsResponse {
            promotions: page,
            next_page_token,
            total_size,
        })
    }
}

#[tonic::async_trait]
impl PromotionService for PromotionApi {
    async fn create_promotion(
        &self,
        request: Request<CreatePromotionRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(
            self.create(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn get_promotion(
        &self,
        request: Request<GetPromotionRequest>,
    ) -> Result<Response<Promotion>, Status> {
        let (promotion, _) = read_promotion(self.store.as_ref(), &request.into_inner().name)
            .await
            .map_err(status)?;
        Ok(Response::new(promotion))
    }

    async fn list_promotions(
        &self,
        request: Request<ListPromotionsRequest>,
    ) -> Result<Response<ListPromotionsResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn approve_promotion(
        &self,
        request: Request<ApprovePromotionRequest>,
    ) -> Result<Response<Promotion>, Status> {
        Ok(Response::new(
            self.approve(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn reject_promotion(
        &self,
        request: Request<RejectPromotionRequest>,
    ) -> Result<Response<Promotion>, Status> {
        Ok(Response::new(
            self.reject(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn release_promotion(
        &self,
        request: Request<ReleasePromotionRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(
            self.release(request.into_inner()).await.map_err(status)?,
        ))
    }
}
