//! The `ferry.catalog.v1.ExternalEntryService` gRPC adapter, served by the routing
//! service: converts and validates requests at the edge, allocates the entry's cluster
//! address with the create, and leaves the data planes to the programming loop.

use std::net::Ipv4Addr;
use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::operation as op;
use ferry_proto::ferry::catalog::v1::external_entry_service_server::{
    ExternalEntryService, ExternalEntryServiceServer,
};
use ferry_proto::ferry::catalog::v1::{
    CreateExternalEntryRequest, DeleteExternalEntryRequest, ExternalEntry, GetExternalEntryRequest,
    ListExternalEntriesRequest, ListExternalEntriesResponse, UpdateExternalEntryRequest,
};
use ferry_store::{ListOptions, Precondition, Store, StoreError, Txn, typed};
use prost::Message as _;
use tonic::{Request, Response, Status};

use super::model::{self, ENTRY_NAME, ExternalRecord};
use crate::error::{RoutingError, write_error};
use crate::filter::Filter;
use crate::layout;
use crate::service::model::{NAMESPACE_NAME, cluster_address_candidates, dns_name};

/// Attempts at allocating a cluster address when concurrent creates take it first.
const ALLOCATION_ATTEMPTS: usize = 8;

/// Serves external entries. Mount it with [`ExternalEntryApi::into_server`] in any
/// service whose replicas share the routing service's etcd; the routing service's
/// programming loop carries the traffic.
#[derive(Clone)]
pub struct ExternalEntryApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
}

impl ExternalEntryApi {
    /// Serves from `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        ExternalEntryApi { store, idempotency }
    }

    /// The tonic server.
    pub fn into_server(self) -> ExternalEntryServiceServer<Self> {
        ExternalEntryServiceServer::new(self)
    }

    async fn read_record(&self, name: &str) -> Result<(ExternalRecord, i64), RoutingError> {
        match typed::get_msg::<ExternalRecord>(
            self.store.as_ref(),
            &layout::external_entry_key(name),
        )
        .await?
        {
            Some((record, revision)) => Ok((record, revision)),
            None => Err(RoutingError::NotFound(name.to_string())),
        }
    }

    async fn with_status(
        &self,
        config: ExternalEntry,
        revision: i64,
    ) -> Result<ExternalEntry, RoutingError> {
        let status = typed::get_msg::<ExternalEntry>(
            self.store.as_ref(),
            &layout::external_status_key(&config.name),
        )
        .await?
        .map(|(status, _)| status);
        let mut entry = model::merge_status(&config, status.as_ref());
        entry.etag = aip::etag(revision);
        Ok(entry)
    }

    async fn read(&self, name: &str) -> Result<ExternalEntry, RoutingError> {
        let (record, revision) = self.read_record(name).await?;
        self.with_status(record.entry.unwrap_or_default(), revision)
            .await
    }

    async fn create(
        &self,
        request: CreateExternalEntryRequest,
    ) -> Result<ExternalEntry, RoutingError> {
        aip::validate_request_id(&request.request_id)?;
        let ids = NAMESPACE_NAME.parse("parent", &request.parent)?;
        let namespace = ids[0].to_string();
        aip::validate_id("external_entry_id", &request.external_entry_id)?;
        let input = request.external_entry.clone().unwrap_or_default();
        model::validate(&input, "external_entry")?;
        let name = ENTRY_NAME.format(&[&namespace, &request.external_entry_id]);
        let service = format!("{}/services/{}", request.parent, request.external_entry_id);
        for key in [
            layout::external_entry_key(&name),
            layout::service_key(&service),
        ] {
            if self.store.get(&key).await?.is_some() {
                return Err(ApiError::already_exists(&name).into());
            }
        }
        let now = op::now();
        let entry = ExternalEntry {
            name: name.clone(),
            uid: uuid::Uuid::new_v4().to_string(),
            display_name: input.display_name.clone(),
            labels: input.labels.clone(),
            annotations: input.annotations.clone(),
            create_time: Some(now),
            update_time: Some(now),
            addresses: input.addresses.clone(),
            ports: input.ports.clone(),
            health_check: input.health_check.clone(),
            generation: 1,
            dns_name: dns_name(&namespace, &request.external_entry_id),
            ..Default::default()
        };
        if request.validate_only {
            return Ok(model::merge_status(&entry, None));
        }
        self.idempotency
            .run(
                "ferry.catalog.v1.ExternalEntryService/CreateExternalEntry",
                &request.request_id,
                &request,
                || async move {
                    let mut candidates = cluster_address_candidates(&name);
                    for _ in 0..ALLOCATION_ATTEMPTS {
                        let address = self.free_address(&mut candidates).await?;
                        let record = ExternalRecord {
                            entry: Some(entry.clone()),
                            cluster_address: address.to_string(),
                        };
                        let key = layout::external_entry_key(&name);
                        let txn = Txn::new()
                            .when(Precondition::Absent(key.clone()))
                            .when(Precondition::Absent(layout::service_key(&service)))
                            .when(Precondition::Absent(layout::cluster_address_key(address)))
                            .put(
                                layout::cluster_address_key(address),
                                name.as_bytes().to_vec(),
                            )
                            .put(key.clone(), record.encode_to_vec());
                        match self.store.txn(txn).await {
                            Ok(revision) => {
                                let mut created = model::merge_status(&entry, None);
                                created.etag = aip::etag(revision);
                                return Ok(created);
                            }
                            Err(
                                StoreError::Conflict { key: conflict }
                                | StoreError::AlreadyExists { key: conflict },
                            ) if conflict == key || conflict == layout::service_key(&service) => {
                                return Err(ApiError::already_exists(&name));
                            }
                            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => {
                            }
                            Err(error) => return Err(error.into()),
                        }
                    }
                    Err(ApiError::concurrent_modification(&name))
                },
            )
            .await
            .map_err(RoutingError::from)
    }

    async fn free_address(
        &self,
        candidates: &mut impl Iterator<Item = Ipv4Addr>,
    ) -> Result<Ipv4Addr, ApiError> {
        for address in candidates.by_ref() {
            if self
                .store
                .get(&layout::cluster_address_key(address))
                .await?
                .is_none()
            {
                return Ok(address);
            }
        }
        Err(ApiError::failed_precondition(
            ferry_proto::ferry::common::v1::ErrorReason::ConflictingAllocation,
            "cluster addresses 127.77.0.0/16",
            "every cluster address is taken",
        ))
    }

    async fn update(
        &self,
        request: UpdateExternalEntryRequest,
    ) -> Result<ExternalEntry, RoutingError> {
        aip::validate_request_id(&request.request_id)?;
        let input = request.external_entry.clone().unwrap_or_default();
        let ids = ENTRY_NAME.parse("external_entry.name", &input.name)?;
        aip::parse_etag("external_entry.etag", &input.etag)?;
        let mask =
            aip::validate_update_mask(request.update_mask.as_ref(), model::UPDATABLE_FIELDS)?;
        if mask.is_empty() {
            return Err(ApiError::invalid_field(
                "update_mask",
                "required: name the fields to change, or `*`",
            )
            .into());
        }
        let (record, revision) = match self.read_record(&input.name).await {
            Ok(found) => found,
            Err(RoutingError::NotFound(_)) if request.allow_missing => {
                return self
                    .create(CreateExternalEntryRequest {
                        parent: format!("namespaces/{}", ids[0]),
                        external_entry_id: ids[1].to_string(),
                        external_entry: Some(input),
                        request_id: request.request_id,
                        validate_only: request.validate_only,
                    })
                    .await;
            }
            Err(error) => return Err(error),
        };
        aip::check_etag("external_entry.etag", &input.etag, revision, &input.name)?;
        let current = record.entry.clone().unwrap_or_default();
        let touches = |field: &str| mask.iter().any(|m| m == "*" || m == field);
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
        if touches("addresses") {
            updated.addresses = input.addresses.clone();
        }
        if touches("ports") {
            updated.ports = input.ports.clone();
        }
        if touches("health_check") {
            updated.health_check = input.health_check.clone();
        }
        model::validate(&updated, "external_entry")?;
        if updated == current {
            return self.with_status(current, revision).await;
        }
        let configuration_changed = updated.addresses != current.addresses
            || updated.ports != current.ports
            || updated.health_check != current.health_check;
        if configuration_changed {
            updated.generation += 1;
        }
        updated.update_time = Some(op::now());
        if request.validate_only {
            return self.with_status(updated, revision).await;
        }
        let name = input.name.clone();
        let client_sent_etag = !input.etag.is_empty();
        self.idempotency
            .run(
                "ferry.catalog.v1.ExternalEntryService/UpdateExternalEntry",
                &request.request_id,
                &request,
                || async move {
                    let key = layout::external_entry_key(&name);
                    let record = ExternalRecord {
                        entry: Some(updated.clone()),
                        cluster_address: record.cluster_address,
                    };
                    match self
                        .store
                        .update(&key, record.encode_to_vec(), revision)
                        .await
                    {
                        Ok(new_revision) => self
                            .with_status(updated, new_revision)
                            .await
                            .map_err(ApiError::from),
                        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&name)),
                        Err(error) => Err(write_error(error, &name, client_sent_etag)),
                    }
                },
            )
            .await
            .map_err(RoutingError::from)
    }

    async fn delete(&self, request: DeleteExternalEntryRequest) -> Result<(), RoutingError> {
        aip::validate_request_id(&request.request_id)?;
        ENTRY_NAME.parse("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        let (record, revision) = self.read_record(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if request.validate_only {
            return Ok(());
        }
        let name = request.name.clone();
        let client_sent_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                "ferry.catalog.v1.ExternalEntryService/DeleteExternalEntry",
                &request.request_id,
                &request,
                || async move {
                    let key = layout::external_entry_key(&name);
                    let mut txn = Txn::new()
                        .when(Precondition::ModRevision(key.clone(), revision))
                        .delete(key)
                        .delete(layout::external_status_key(&name));
                    if let Ok(address) = record.cluster_address.parse::<Ipv4Addr>() {
                        txn = txn.delete(layout::cluster_address_key(address));
                    }
                    match self.store.txn(txn).await {
                        Ok(_) => Ok(()),
                        Err(error) => Err(write_error(error, &name, client_sent_etag)),
                    }
                },
            )
            .await
            .map_err(RoutingError::from)
    }

    async fn list(
        &self,
        request: ListExternalEntriesRequest,
    ) -> Result<ListExternalEntriesResponse, RoutingError> {
        let all = request.parent == "namespaces/-";
        if !all {
            NAMESPACE_NAME.parse("parent", &request.parent)?;
        }
        let limit = aip::page_size(request.page_size)?;
        let filter = Filter::parse(&request.filter, &["state", "addresses.host"])?;
        if !matches!(request.order_by.trim(), "" | "name" | "name asc") {
            return Err(ApiError::invalid_field(
                "order_by",
                "external entries can only be ordered by name",
            )
            .into());
        }
        let prefix =
            layout::external_entries_prefix(if all { None } else { Some(&request.parent) });
        let fingerprint =
            aip::request_fingerprint(&[&request.parent, &request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let page = self
            .store
            .list(
                &prefix,
                ListOptions {
                    revision: token.as_ref().map(|t| t.revision),
                    ..Default::default()
                },
            )
            .await?;
        let revision = token.as_ref().map_or(page.revision, |t| t.revision);
        let mut entries = Vec::new();
        let mut total_size = 0;
        for kv in page.items {
            let record: ExternalRecord = typed::decode_msg(&kv.key, &kv.value)?;
            let entry = self
                .with_status(record.entry.unwrap_or_default(), kv.mod_revision)
                .await?;
            let matches = filter.matches(|field| match field {
                "state" => vec![entry.state().as_str_name().to_string()],
                _ => entry.addresses.iter().map(|a| a.host.clone()).collect(),
            });
            if !matches {
                continue;
            }
            total_size += 1;
            if token.as_ref().is_none_or(|t| entry.name > t.last) {
                entries.push(entry);
            }
        }
        let more = entries.len() > limit;
        entries.truncate(limit);
        let next_page_token = match (more, entries.last()) {
            (true, Some(last)) => aip::encode_page_token(&last.name, revision, &fingerprint),
            _ => String::new(),
        };
        Ok(ListExternalEntriesResponse {
            external_entries: entries,
            next_page_token,
            total_size,
        })
    }
}

fn status(error: RoutingError) -> Status {
    error.into()
}

#[tonic::async_trait]
impl ExternalEntryService for ExternalEntryApi {
    async fn create_external_entry(
        &self,
        request: Request<CreateExternalEntryRequest>,
    ) -> Result<Response<ExternalEntry>, Status> {
        Ok(Response::new(
            self.create(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn get_external_entry(
        &self,
        request: Request<GetExternalEntryRequest>,
    ) -> Result<Response<ExternalEntry>, Status> {
        let name = request.into_inner().name;
        ENTRY_NAME
            .parse("name", &name)
            .map_err(|e| status(e.into()))?;
        Ok(Response::new(self.read(&name).await.map_err(status)?))
    }

    async fn list_external_entries(
        &self,
        request: Request<ListExternalEntriesRequest>,
    ) -> Result<Response<ListExternalEntriesResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn update_external_entry(
        &self,
        request: Request<UpdateExternalEntryRequest>,
    ) -> Result<Response<ExternalEntry>, Status> {
        Ok(Response::new(
            self.update(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn delete_external_entry(
        &self,
        request: Request<DeleteExternalEntryRequest>,
    ) -> Result<Response<()>, Status> {
        self.delete(request.into_inner()).await.map_err(status)?;
        Ok(Response::new(()))
    }
}
