//! The `ferry.build.v1.ApplicationService` gRPC adapter: converts and validates requests
//! at the edge and writes to etcd.

use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::operation as op;
use ferry_proto::ferry::build::v1::application::State;
use ferry_proto::ferry::build::v1::application_service_server::{
    ApplicationService, ApplicationServiceServer,
};
use ferry_proto::ferry::build::v1::{
    Application, CreateApplicationRequest, DeleteApplicationRequest, GetApplicationRequest, Image,
    ListApplicationsRequest, ListApplicationsResponse, UpdateApplicationRequest,
};
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_store::{ListOptions, Store, StoreError, typed};
use tonic::{Code, Request, Response, Status};

use super::model::{self, APPLICATION_NAME};
use super::{application_key, applications_prefix};
use crate::error::{BuildError, status};

/// Serves applications.
#[derive(Clone)]
pub struct ApplicationApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
    builder_engine: Option<String>,
    kube_builder: Option<crate::config::KubeBuilderSettings>,
}

/// Reads an application with its etag.
pub async fn read_application(
    store: &dyn Store,
    name: &str,
) -> Result<(Application, i64), BuildError> {
    match typed::get_msg::<Application>(store, &application_key(name)).await? {
        Some((mut application, revision)) => {
            application.etag = aip::etag(revision);
            Ok((application, revision))
        }
        None => Err(BuildError::NotFound(name.to_string())),
    }
}

impl ApplicationApi {
    /// Serves applications from `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        Self {
            store,
            idempotency,
            builder_engine: None,
            kube_builder: None,
        }
    }

    /// Also removes a deleted application's cache claim from the Kubernetes builder's
    /// cluster.
    pub fn with_kube_builder(
        mut self,
        settings: Option<crate::config::KubeBuilderSettings>,
    ) -> Self {
        self.kube_builder = settings;
        self
    }

    /// Also removes a deleted application's cache volume from the builder engine at
    /// `endpoint`.
    pub fn with_builder_engine(mut self, endpoint: Option<String>) -> Self {
        self.builder_engine = endpoint;
        self
    }

    /// The tonic server.
    pub fn into_server(self) -> ApplicationServiceServer<Self> {
        ApplicationServiceServer::new(self)
    }

    async fn create(&self, request: CreateApplicationRequest) -> Result<Application, BuildError> {
        aip::validate_request_id(&request.request_id)?;
        let Some(input) = request.application.clone() else {
            return Err(ApiError::invalid_field("application", "is required").into());
        };
        let mut application = model::plan_create(
            &request.application_id,
            &input,
            uuid::Uuid::new_v4().to_string(),
            op::now(),
        )?;
        if request.validate_only {
            return Ok(application);
        }
        let key = application_key(&application.name);
        let name = application.name.clone();
        self.idempotency
            .run(
                "ferry.build.v1.ApplicationService/CreateApplication",
                &request.request_id,
                &request,
                || async move {
                    match typed::create_msg(self.store.as_ref(), &key, &application).await {
                        Ok(revision) => {
                            application.etag = aip::etag(revision);
                            Ok(application)
                        }
                        Err(StoreError::AlreadyExists { .. }) => {
                            Err(ApiError::already_exists(&name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(BuildError::from)
    }

    async fn update(&self, request: UpdateApplicationRequest) -> Result<Application, BuildError> {
        aip::validate_request_id(&request.request_id)?;
        let Some(input) = request.application.clone() else {
            return Err(ApiError::invalid_field("application", "is required").into());
        };
        APPLICATION_NAME.parse("application.name", &input.name)?;
        aip::parse_etag("application.etag", &input.etag)?;
        let mask =
            aip::validate_update_mask(request.update_mask.as_ref(), model::UPDATABLE_FIELDS)?;
        let (current, revision) = read_application(self.store.as_ref(), &input.name).await?;
        aip::check_etag("application.etag", &input.etag, revision, &input.name)?;
        let Some(mut updated) = model::apply_update(&current, &input, &mask, op::now())? else {
            return Ok(current);
        };
        if request.validate_only {
            updated.etag = current.etag;
            return Ok(updated);
        }
        let key = application_key(&input.name);
        let client_sent_etag = !input.etag.is_empty();
        self.idempotency
            .run(
                "ferry.build.v1.ApplicationService/UpdateApplication",
                &request.request_id,
                &request,
                || async move {
                    updated.etag.clear();
                    match typed::update_msg(self.store.as_ref(), &key, &updated, revision).await {
                        Ok(new_revision) => {
                            updated.etag = aip::etag(new_revision);
                            Ok(updated)
                        }
                        Err(StoreError::Conflict { .. }) if client_sent_etag => {
                            Err(ApiError::etag_mismatch(&input.name))
                        }
                        Err(StoreError::Conflict { .. }) => {
                            Err(ApiError::concurrent_modification(&input.name))
                        }
                        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&input.name)),
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(BuildError::from)
    }

    async fn delete(&self, request: DeleteApplicationRequest) -> Result<(), BuildError> {
        aip::validate_request_id(&request.request_id)?;
        APPLICATION_NAME.parse("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        let (application, revision) = read_application(self.store.as_ref(), &request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        let images: Vec<Image> = typed::list_all_msgs::<Image>(
            self.store.as_ref(),
            &crate::image::images_prefix_of(&application.name),
            500,
        )
        .await?
        .0
        .into_iter()
        .map(|(_, image, _)| image)
        .collect();
        let deployed = crate::image::usage::deployed_images(self.store.as_ref(), &images).await?;
        if let Some((image, places)) = deployed.first() {
            return Err(ApiError::failed_precondition(
                ErrorReason::InUse,
                &request.name,
                format!(
                    "{image} of {} is deployed in {}: undeploy it first",
                    request.name,
                    places.join(", ")
                ),
            )
            .into());
        }
        let builds = count(
            self.store.as_ref(),
            &crate::build::builds_prefix_of(&application.name),
        )
        .await?
            + count(
                self.store.as_ref(),
                &crate::promotion::promotions_prefix_of(&application.name),
            )
            .await?;
        if !request.force && (builds > 0 || !images.is_empty()) {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &request.name,
                format!(
                    "{} has {builds} builds or promotions and {} images: delete them or set force",
                    request.name,
                    images.len()
                ),
            )
            .into());
        }
        if request.validate_only {
            return Ok(());
        }
        let name = request.name.clone();
        let store = self.store.clone();
        let engine = self.builder_engine.clone();
        let kube_builder = self.kube_builder.clone();
        let uid = application.uid.clone();
        self.idempotency
            .run(
                "ferry.build.v1.ApplicationService/DeleteApplication",
                &request.request_id,
                &request,
                || async move {
                    // The record goes first (guarded by the revision read): the build
                    // controller stops builds whose application is gone.
                    match store.delete(&application_key(&name), Some(revision)).await {
                        Ok(_) => {}
                        Err(StoreError::Conflict { .. }) => {
                            return Err(ApiError::concurrent_modification(&name));
                        }
                        Err(StoreError::NotFound { .. }) => return Err(ApiError::not_found(&name)),
                        Err(error) => return Err(error.into()),
                    }
                    for prefix in crate::build::application_records_prefixes(&name) {
                        store.delete_prefix(&prefix).await?;
                    }
                    match store.delete(&crate::build::counter_key(&name), None).await {
                        Ok(_) | Err(StoreError::NotFound { .. }) => {}
                        Err(error) => return Err(error.into()),
                    }
                    // The cache volume goes too (best effort: the engine may be away).
                    if let Some(endpoint) = &engine
                        && let Ok(engine) =
                            crate::build::docker::BuilderEngine::connect(endpoint).await
                    {
                        let volume = crate::build::docker::BuilderEngine::cache_volume(
                            crate::build::model::application_id(&name),
                            &uid,
                        );
                        engine.remove_volume(&volume).await;
                    }
                    // So does the Kubernetes builder's cache claim.
                    if let Some(kube) = &kube_builder
                        && let Ok(client) = crate::build::kube_run::client(kube).await
                    {
                        crate::build::kube_run::delete_cache_claim(
                            &client,
                            &kube.namespace,
                            crate::build::model::application_id(&name),
                        )
                        .await;
                    }
                    Ok(())
                },
            )
            .await
            .map_err(BuildError::from)
    }

    async fn list(
        &self,
        request: ListApplicationsRequest,
    ) -> Result<ListApplicationsResponse, BuildError> {
        let limit = aip::page_size(request.page_size)?;
        let state_filter = parse_filter(&request.filter)?;
        if !matches!(request.order_by.trim(), "" | "name" | "name asc") {
            return Err(ApiError::invalid_field(
                "order_by",
                "applications can only be ordered by name",
            )
            .into());
        }
        let fingerprint = aip::request_fingerprint(&[&request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let options = ListOptions {
            revision: token.as_ref().map(|t| t.revision),
            ..Default::default()
        };
        // Applications are few; one consistent read gives the page and the exact total.
        let (items, _, read_revision) =
            typed::list_msgs::<Application>(self.store.as_ref(), &applications_prefix(), options)
                .await?;
        let matching: Vec<Application> = items
            .into_iter()
            .filter(|(_, application, _)| state_filter.is_none_or(|s| s == application.state()))
            .map(|(_, mut application, mod_revision)| {
                application.etag = aip::etag(mod_revision);
                application
            })
            .collect();
        let total_size = matching.len() as i32;
        let mut page: Vec<Application> = matching
            .into_iter()
            .filter(|a| token.as_ref().is_none_or(|t| a.name > t.last))
            .take(limit + 1)
            .collect();
        let next_page_token = if page.len() > limit {
            page.truncate(limit);
            aip::encode_page_token(&page[limit - 1].name, read_revision, &fingerprint)
        } else {
            String::new()
        };
        for application in &mut page {
            application.queued_builds =
                queued_builds(self.store.as_ref(), &application.name).await?;
        }
        Ok(ListApplicationsResponse {
            applications: page,
            next_page_token,
            total_size,
        })
    }
}

/// How many builds of `application` wait in its queue (computed when read).
async fn queued_builds(store: &dyn Store, application: &str) -> Result<i32, BuildError> {
    let builds = crate::build::api::list_builds_of(store, application).await?;
    Ok(builds
        .iter()
        .filter(|(b, _)| b.state() == ferry_proto::ferry::build::v1::build::State::Queued)
        .count() as i32)
}

/// How many keys are under `prefix`.
pub(crate) async fn count(store: &dyn Store, prefix: &str) -> Result<usize, BuildError> {
    let mut options = ListOptions {
        limit: aip::MAX_PAGE_SIZE,
        ..Default::default()
    };
    let mut total = 0;
    loop {
        let page = store.list(prefix, options.clone()).await?;
        total += page.items.len();
        match page.items.last() {
            Some(kv) if page.more => options.start_after = Some(kv.key.clone()),
            _ => return Ok(total),
        }
    }
}

/// The filters ListApplications understands: empty, or `state = <STATE>`.
fn parse_filter(filter: &str) -> Result<Option<State>, ApiError> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        ApiError::new(
            Code::InvalidArgument,
            ErrorReason::InvalidFilter,
            format!(
                "invalid filter {filter:?}: use `state = ACTIVE` (or CREATING, DEGRADED, DELETING)"
            ),
        )
        .with_field_violation("filter", "only `state = <STATE>` is supported")
    };
    let (field, value) = filter.split_once('=').ok_or_else(invalid)?;
    if field.trim() != "state" {
        return Err(invalid());
    }
    let value = value.trim().trim_matches('"');
    State::from_str_name(&format!("STATE_{}", value.trim_start_matches("STATE_")))
        .filter(|state| *state != State::Unspecified)
        .map(Some)
        .ok_or_else(invalid)
}

#[tonic::async_trait]
impl ApplicationService for ApplicationApi {
    async fn get_application(
        &self,
        request: Request<GetApplicationRequest>,
    ) -> Result<Response<Application>, Status> {
        let name = request.into_inner().name;
        APPLICATION_NAME.parse("name", &name).map_err(status)?;
        let (mut application, _) = read_application(self.store.as_ref(), &name)
            .await
            .map_err(status)?;
        application.queued_builds = queued_builds(self.store.as_ref(), &name)
            .await
            .map_err(status)?;
        Ok(Response::new(application))
    }

    async fn list_applications(
        &self,
        request: Request<ListApplicationsRequest>,
    ) -> Result<Response<ListApplicationsResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn create_application(
        &self,
        request: Request<CreateApplicationRequest>,
    ) -> Result<Response<Application>, Status> {
        Ok(Response::new(
            self.create(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn update_application(
        &self,
        request: Request<UpdateApplicationRequest>,
    ) -> Result<Response<Application>, Status> {
        Ok(Response::new(
            self.update(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn delete_application(
        &self,
        request: Request<DeleteApplicationRequest>,
    ) -> Result<Response<()>, Status> {
        self.delete(request.into_inner()).await.map_err(status)?;
        Ok(Response::new(()))
    }
}
