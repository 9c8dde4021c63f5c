//! The `ferry.deploy.v1.NamespaceService` gRPC adapter: converts and validates requests at
//! the edge, writes to etcd, and leaves the world to the controllers.

use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::caller;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::Operations;
use ferry_ops::operation::{self as op};
use ferry_proto::ferry::common::v1::{ErrorReason, Operation};
use ferry_proto::ferry::deploy::v1::namespace::State;
use ferry_proto::ferry::deploy::v1::namespace_service_server::{
    NamespaceService, NamespaceServiceServer,
};
use ferry_proto::ferry::deploy::v1::{
    CreateNamespaceRequest, DeleteNamespaceRequest, GetNamespaceRequest, ListNamespacesRequest,
    ListNamespacesResponse, Namespace, UpdateNamespaceRequest,
};
use ferry_store::{ListOptions, Precondition, Store, StoreError, typed};
use prost::Message as _;
use tonic::{Code, Request, Response, Status};

use super::model::{self, NAMESPACE_NAME, SYSTEM_NAMESPACE};
use super::{DELETE_STAGES, children_prefixes, namespace_key, namespaces_prefix};
use crate::error::DeployError;

/// Serves namespaces.
#[derive(Clone)]
pub struct NamespaceApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
    runtimes: Arc<Vec<String>>,
}

impl NamespaceApi {
    /// Serves namespaces from `store`; `runtimes` are the runtimes a namespace may use.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency, runtimes: Vec<String>) -> Self {
        Self {
            store,
            idempotency,
            runtimes: Arc::new(runtimes),
        }
    }

    /// The tonic server.
    pub fn into_server(self) -> NamespaceServiceServer<Self> {
        NamespaceServiceServer::new(self)
    }

    async fn read(&self, name: &str) -> Result<(Namespace, i64), DeployError> {
        match typed::get_msg::<Namespace>(self.store.as_ref(), &namespace_key(name)).await? {
            Some((mut namespace, revision)) => {
                namespace.etag = aip::etag(revision);
                Ok((namespace, revision))
            }
            None => Err(DeployError::NotFound(name.to_string())),
        }
    }

    async fn create(&self, request: CreateNamespaceRequest) -> Result<Namespace, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        let input = request.namespace.clone().unwrap_or_default();
        let uid = uuid_string();
        let mut namespace = model::plan_create(
            &request.namespace_id,
            &input,
            &self.runtimes,
            uid,
            op::now(),
        )?;
        if request.validate_only {
            return Ok(namespace);
        }
        let key = namespace_key(&namespace.name);
        let name = namespace.name.clone();
        self.idempotency
            .run(
                "ferry.deploy.v1.NamespaceService/CreateNamespace",
                &request.request_id,
                &request,
                || async move {
                    match typed::create_msg(self.store.as_ref(), &key, &namespace).await {
                        Ok(revision) => {
                            namespace.etag = aip::etag(revision);
                            Ok(namespace)
                        }
                        Err(StoreError::AlreadyExists { .. }) => {
                            Err(ApiError::already_exists(&name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(DeployError::from)
    }

    async fn update(&self, request: UpdateNamespaceRequest) -> Result<Namespace, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        let input = request.namespace.clone().unwrap_or_default();
        NAMESPACE_NAME.parse("namespace.name", &input.name)?;
        aip::parse_etag("namespace.etag", &input.etag)?;
        let mask =
            aip::validate_update_mask(request.update_mask.as_ref(), model::UPDATABLE_FIELDS)?;
        let (current, revision) = self.read(&input.name).await?;
        aip::check_etag("namespace.etag", &input.etag, revision, &input.name)?;
        let Some(mut updated) = model::apply_update(&current, &input, &mask, op::now())? else {
            return Ok(current);
        };
        if request.validate_only {
            updated.etag = current.etag;
            return Ok(updated);
        }
        let key = namespace_key(&input.name);
        let client_sent_etag = !input.etag.is_empty();
        self.idempotency
            .run(
                "ferry.deploy.v1.NamespaceService/UpdateNamespace",
                &request.request_id,
                &request,
                || async move {
                    updated.etag.clear();
                    match typed::update_msg(self.store.as_ref(), &key, &updated, revision).await {
                        Ok(new_revision) => {
                            updated.etag = aip::etag(new_revision);
                            Ok(updated)
                        }
                        // The client's etag was current when checked but another write won:
                        // from its point of view the etag no longer matches.
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
            .map_err(DeployError::from)
    }

    /// Deletes a namespace. Without an etag the caller asked for no particular version, so
    /// a status update the controllers made between the read and the write (a namespace
    /// that just became ACTIVE) is no reason to fail: the delete is tried again on the new
    /// version, a few times.
    async fn delete(&self, request: DeleteNamespaceRequest) -> Result<Operation, DeployError> {
        const ATTEMPTS: usize = 5;
        let mut attempt = 1;
        loop {
            match self.delete_once(request.clone()).await {
                Err(DeployError::Api(error))
                    if request.etag.is_empty()
                        && error.reason == ErrorReason::ConcurrentModification
                        && attempt < ATTEMPTS =>
                {
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn delete_once(&self, request: DeleteNamespaceRequest) -> Result<Operation, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        let ids = NAMESPACE_NAME.parse("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        if ids[0] == SYSTEM_NAMESPACE {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &request.name,
                format!(
                    "{} is the platform's own namespace and cannot be deleted",
                    request.name
                ),
            )
            .into());
        }
        let (namespace, revision) = self.read(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if namespace.state() == State::Deleting {
            return Err(ApiError::new(
                Code::Aborted,
                ErrorReason::OperationInProgress,
                format!(
                    "{} is already being deleted: watch its delete operation",
                    request.name
                ),
            )
            .with_metadata("resource", &request.name)
            .into());
        }
        if !request.force {
            let children = self.count_children(&request.name).await?;
            if children > 0 {
                return Err(ApiError::failed_precondition(
                    ErrorReason::InvalidState,
                    &request.name,
                    format!("{} still holds {children} deployments or secrets: delete them or set force", request.name),
                )
                .into());
            }
        }
        let mut operation =
            op::new_operation(&request.name, "delete", DELETE_STAGES, &caller::current());
        if request.validate_only {
            operation.name.clear();
            return Ok(operation);
        }
        let mut deleting = namespace.clone();
        deleting.state = State::Deleting as i32;
        deleting.reconciling = true;
        deleting.update_time = Some(op::now());
        deleting.etag.clear();
        let key = namespace_key(&request.name);
        let name = request.name.clone();
        self.idempotency
            .run(
                "ferry.deploy.v1.NamespaceService/DeleteNamespace",
                &request.request_id,
                &request,
                || async move {
                    // The namespace's new state and its operation are written together: a
                    // DELETING namespace always has an operation that finishes the job.
                    let txn = Operations::create_txn(&operation)
                        .when(Precondition::ModRevision(key.clone(), revision))
                        .put(key.clone(), deleting.encode_to_vec());
                    match self.store.txn(txn).await {
                        Ok(new_revision) => {
                            operation.etag = aip::etag(new_revision);
                            Ok(operation)
                        }
                        Err(StoreError::Conflict { key: conflicting }) if conflicting == key => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(DeployError::from)
    }

    async fn count_children(&self, name: &str) -> Result<usize, DeployError> {
        let mut count = 0;
        for prefix in children_prefixes(name) {
            let page = self
                .store
                .list(
                    &prefix,
                    ListOptions {
                        limit: 1,
                        ..Default::default()
                    },
                )
                .await?;
            count += page.items.len() + usize::from(page.more);
        }
        Ok(count)
    }

    async fn list(
        &self,
        request: ListNamespacesRequest,
    ) -> Result<ListNamespacesResponse, DeployError> {
        let limit = aip::page_size(request.page_size)?;
        let state_filter = parse_filter(&request.filter)?;
        if !matches!(request.order_by.trim(), "" | "name" | "name asc") {
            return Err(ApiError::invalid_field(
                "order_by",
                "namespaces can only be ordered by name",
            )
            .into());
        }
        let fingerprint = aip::request_fingerprint(&[&request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let prefix = namespaces_prefix();
        let mut start_after = token.as_ref().map(|t| namespace_key(&t.last));
        let mut revision = token.as_ref().map(|t| t.revision);
        let mut namespaces = Vec::new();
        loop {
            let options = ListOptions {
                start_after: start_after.clone(),
                limit: limit + 1,
                revision,
            };
            let (items, more, read_revision) =
                typed::list_msgs::<Namespace>(self.store.as_ref(), &prefix, options).await?;
            revision = Some(read_revision);
            let mut last_key = None;
            for (key, mut namespace, mod_revision) in items {
                last_key = Some(key);
                if state_filter.is_some_and(|state| state != namespace.state()) {
                    continue;
                }
                if namespaces.len() == limit {
                    // One more match exists beyond the page.
                    let last: &Namespace = &namespaces[limit - 1];
                    let next_page_token =
                        aip::encode_page_token(&last.name, read_revision, &fingerprint);
                    let total_size = self.count(state_filter, read_revision).await?;
                    return Ok(ListNamespacesResponse {
                        namespaces,
                        next_page_token,
                        total_size,
                    });
                }
                namespace.etag = aip::etag(mod_revision);
                namespaces.push(namespace);
            }
            if !more {
                let total_size = self.count(state_filter, read_revision).await?;
                return Ok(ListNamespacesResponse {
                    namespaces,
                    next_page_token: String::new(),
                    total_size,
                });
            }
            start_after = last_key;
        }
    }

    /// How many namespaces pass `state_filter` at `revision` (the listing's snapshot), for
    /// `total_size`. Namespaces are few; a full read at one revision is cheap and exact.
    async fn count(&self, state_filter: Option<State>, revision: i64) -> Result<i32, DeployError> {
        let prefix = namespaces_prefix();
        let mut options = ListOptions {
            limit: aip::MAX_PAGE_SIZE,
            revision: Some(revision),
            ..Default::default()
        };
        let mut total = 0;
        loop {
            let (items, more, _) =
                typed::list_msgs::<Namespace>(self.store.as_ref(), &prefix, options.clone())
                    .await?;
            total += items
                .iter()
                .filter(|(_, namespace, _)| state_filter.is_none_or(|s| s == namespace.state()))
                .count();
            match items.last() {
                Some((key, _, _)) if more => options.start_after = Some(key.clone()),
                _ => return Ok(total as i32),
            }
        }
    }
}

/// The filters ListNamespaces understands: empty, or `state = <STATE>`.
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
                "invalid filter {filter:?}: use `state = ACTIVE` (or CREATING, DELETING, FAILED)"
            ),
        )
        .with_field_violation("filter", "only `state = <STATE>` is supported")
    };
    let (field, value) = filter.split_once('=').ok_or_else(invalid)?;
    if field.trim() != "state" {
        return Err(invalid());
    }
    let value = value.trim().trim_matches('"');
    let name = format!("STATE_{}", value.trim_start_matches("STATE_"));
    State::from_str_name(&name)
        .filter(|state| *state != State::Unspecified)
        .map(Some)
        .ok_or_else(invalid)
}

fn uuid_string() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn status(error: DeployError) -> Status {
    error.into()
}

#[tonic::async_trait]
impl NamespaceService for NamespaceApi {
    async fn get_namespace(
        &self,
        request: Request<GetNamespaceRequest>,
    ) -> Result<Response<Namespace>, Status> {
        let name = request.into_inner().name;
        NAMESPACE_NAME
            .parse("name", &name)
            .map_err(|e| status(e.into()))?;
        let (namespace, _) = self.read(&name).await.map_err(status)?;
        Ok(Response::new(namespace))
    }

    async fn list_namespaces(
        &self,
        request: Request<ListNamespacesRequest>,
    ) -> Result<Response<ListNamespacesResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn create_namespace(
        &self,
        request: Request<CreateNamespaceRequest>,
    ) -> Result<Response<Namespace>, Status> {
        Ok(Response::new(
            self.create(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn update_namespace(
        &self,
        request: Request<UpdateNamespaceRequest>,
    ) -> Result<Response<Namespace>, Status> {
        Ok(Response::new(
            self.update(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn delete_namespace(
        &self,
        request: Request<DeleteNamespaceRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(
            self.delete(request.into_inner()).await.map_err(status)?,
        ))
    }
}
