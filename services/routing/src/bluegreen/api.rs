//! The `ferry.routing.v1.BlueGreenService` gRPC adapter: validates at the edge, checks
//! the sides' health, writes entries, switches and their Operations to etcd in one
//! transaction each, and leaves the switch's steps to the controller.

use std::net::Ipv4Addr;
use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::Operations;
use ferry_ops::operation::{self as op, operation_key};
use ferry_proto::ferry::common::v1::{ErrorReason, Operation, StageState};
use ferry_proto::ferry::deploy::v1::{Deployment, ListInstancesResponse};
use ferry_proto::ferry::routing::v1::blue_green_entry::State;
use ferry_proto::ferry::routing::v1::blue_green_service_server::{
    BlueGreenService, BlueGreenServiceServer,
};
use ferry_proto::ferry::routing::v1::service::Type;
use ferry_proto::ferry::routing::v1::switch_record::Result as SwitchResult;
use ferry_proto::ferry::routing::v1::{
    BlueGreenEntry, CreateBlueGreenEntryRequest, DeleteBlueGreenEntryRequest,
    GetBlueGreenEntryRequest, ListBlueGreenEntriesRequest, ListBlueGreenEntriesResponse,
    ListDeployableNamespacesRequest, ListDeployableNamespacesResponse,
    RollbackBlueGreenEntryRequest, Side, SwitchBlueGreenEntryRequest, SwitchRecord,
    UpdateBlueGreenEntryRequest,
};
use ferry_store::{ListOptions, Precondition, Store, StoreError, typed};
use prost::Message as _;
use tonic::{Code, Request, Response, Status};

use super::model::{self, ENTRY_NAME};
use super::read_side;
use crate::error::{RoutingError, write_error};
use crate::layout;
use crate::service::api::{ServiceApi, allocated};
use crate::service::model::{DEPLOYMENT_NAME, cluster_address_candidates};

/// The stages of a switch or rollback Operation, in order.
pub const SWITCH_STAGES: &[(&str, &str)] = &[
    ("verify", "Check that the target side is healthy"),
    ("switch", "Move all new traffic to the target side"),
    ("drain", "Let connections to the old side finish"),
];

/// The response type of switch, rollback and create Operations.
pub const ENTRY_TYPE: &str = "ferry.routing.v1.BlueGreenEntry";

/// Serves blue-green entries.
#[derive(Clone)]
pub struct BlueGreenApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
    allocations: ServiceApi,
}

impl BlueGreenApi {
    /// Serves from `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        BlueGreenApi {
            allocations: ServiceApi::new(store.clone(), idempotency.clone()),
            store,
            idempotency,
        }
    }

    /// The tonic server.
    pub fn into_server(self) -> BlueGreenServiceServer<Self> {
        BlueGreenServiceServer::new(self)
    }

    async fn read_record(&self, name: &str) -> Result<(BlueGreenEntry, i64), RoutingError> {
        match typed::get_msg::<BlueGreenEntry>(self.store.as_ref(), &layout::blue_green_key(name))
            .await?
        {
            Some(found) => Ok(found),
            None => Err(RoutingError::NotFound(name.to_string())),
        }
    }

    async fn with_status(
        &self,
        mut entry: BlueGreenEntry,
        revision: i64,
    ) -> Result<BlueGreenEntry, RoutingError> {
        if let Some((status, _)) = typed::get_msg::<BlueGreenEntry>(
            self.store.as_ref(),
            &layout::blue_green_status_key(&entry.name),
        )
        .await?
        {
            entry.blue = status.blue;
            entry.green = status.green;
            entry.conditions = status.conditions;
            entry.observed_generation = status.observed_generation;
            entry.reconciling = status.reconciling;
        } else {
            entry.reconciling = true;
        }
        entry.etag = aip::etag(revision);
        Ok(entry)
    }

    fn done(target: &str, verb: &str, entry: &BlueGreenEntry) -> Operation {
        let mut operation = op::new_operation(target, verb, &[], "");
        op::succeed(&mut operation, ENTRY_TYPE, entry);
        operation
    }

    async fn create(
        &self,
        request: CreateBlueGreenEntryRequest,
    ) -> Result<Operation, RoutingError> {
        aip::validate_request_id(&request.request_id)?;
        aip::validate_id("blue_green_entry_id", &request.blue_green_entry_id)?;
        let input = request.blue_green_entry.clone().unwrap_or_default();
        model::validate(&input, "blue_green_entry")?;
        let name = ENTRY_NAME.format(&[&request.blue_green_entry_id]);
        let initial = match input.initial_side() {
            Side::Unspecified => Side::Blue,
            side => side,
        };
        let now = op::now();
        let mut entry = BlueGreenEntry {
            name: name.clone(),
            uid: uuid::Uuid::new_v4().to_string(),
            display_name: input.display_name.clone(),
            labels: input.labels.clone(),
            annotations: input.annotations.clone(),
            create_time: Some(now),
            update_time: Some(now),
            application: input.application.clone(),
            deployment: model::deployment_id(&input),
            blue_namespace: input.blue_namespace.clone(),
            green_namespace: input.green_namespace.clone(),
            ports: input.ports.clone(),
            r#type: if input.r#type == Type::Unspecified as i32 {
                Type::ClusterInternal as i32
            } else {
                input.r#type
            },
            session_affinity: input.session_affinity,
            drain_timeout: input.drain_timeout,
            min_healthy_percent: input.min_healthy_percent,
            state: State::Active as i32,
            active_side: initial as i32,
            active_namespace: model::side_namespace(&input, initial).to_string(),
            dns_name: model::dns_name(&request.blue_green_entry_id),
            ..Default::default()
        };
        let side = read_side(self.store.as_ref(), &entry, initial).await?;
        if side.deployment.is_empty() {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                model::side_deployment(&entry, initial),
                model::unhealthy_reason(&side, &entry),
            )
            .into());
        }
        if !side.healthy {
            return Err(target_unhealthy(&side, &entry).into());
        }
        let sides = [
            model::side_deployment(&entry, Side::Blue),
            model::side_deployment(&entry, Side::Green),
        ];
        self.check_not_in_use(&sides, &name).await?;
        if self
            .store
            .get(&layout::blue_green_key(&name))
            .await?
            .is_some()
        {
            return Err(ApiError::already_exists(&name).into());
        }
        let pseudo = model::as_service(&entry);
        let claims = self
            .allocations
            .plan_claims(&pseudo, &[], "blue_green_entry")
            .await?;
        entry.allocated_node_ports = allocated(&pseudo, &claims);
        if request.validate_only {
            let mut operation = Self::done(&name, "create", &entry);
            operation.name.clear();
            return Ok(operation);
        }
        self.idempotency
            .run(
                "ferry.routing.v1.BlueGreenService/CreateBlueGreenEntry",
                &request.request_id,
                &request,
                || async move {
                    let mut candidates = cluster_address_candidates(&name);
                    for _ in 0..8 {
                        let address = self.allocations.free_address(&mut candidates).await?;
                        entry.cluster_address = address.to_string();
                        let operation = Self::done(&name, "create", &entry);
                        let key = layout::blue_green_key(&name);
                        let mut txn = Operations::create_txn(&operation)
                            .when(Precondition::Absent(key.clone()))
                            .when(Precondition::Absent(layout::cluster_address_key(address)))
                            .put(
                                layout::cluster_address_key(address),
                                name.as_bytes().to_vec(),
                            )
                            .put(key.clone(), entry.encode_to_vec());
                        for port in &claims.new_node_ports {
                            txn = txn
                                .when(Precondition::Absent(layout::node_port_key(*port)))
                                .put(layout::node_port_key(*port), name.as_bytes().to_vec());
                        }
                        txn = claim_sides(txn, &sides, &name);
                        match self.store.txn(txn).await {
                            Ok(_) => return Ok(operation),
                            Err(
                                StoreError::Conflict { key: conflict }
                                | StoreError::AlreadyExists { key: conflict },
                            ) => {
                                if conflict == key {
                                    return Err(ApiError::already_exists(&name));
                                }
                                if layout::is_blue_green_side_key(&conflict) {
                                    return Err(self.side_taken(&conflict, &sides).await?);
                                }
                                if let Some(port) = layout::node_port_of(&conflict) {
                                    let holder = self.allocations.holder(&conflict).await?;
                                    return Err(crate::service::api::node_port_taken(
                                        port,
                                        &holder,
                                        "blue_green_entry.ports",
                                    ));
                                }
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

    async fn delete(
        &self,
        request: DeleteBlueGreenEntryRequest,
    ) -> Result<Operation, RoutingError> {
        aip::validate_request_id(&request.request_id)?;
        ENTRY_NAME.parse("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        let (entry, revision) = self.read_record(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if model::running_switch(&entry).is_some() {
            return Err(switch_in_progress(&entry).into());
        }
        let mut operation = op::new_operation(&request.name, "delete", &[], "");
        op::succeed(&mut operation, "google.protobuf.Empty", &());
        if request.validate_only {
            operation.name.clear();
            return Ok(operation);
        }
        let name = request.name.clone();
        self.idempotency
            .run(
                "ferry.routing.v1.BlueGreenService/DeleteBlueGreenEntry",
                &request.request_id,
                &request,
                || async move {
                    let key = layout::blue_green_key(&name);
                    let mut txn = Operations::create_txn(&operation)
                        .when(Precondition::ModRevision(key.clone(), revision))
                        .delete(key)
                        .delete(layout::blue_green_status_key(&name));
                    if let Ok(address) = entry.cluster_address.parse::<Ipv4Addr>() {
                        txn = txn.delete(layout::cluster_address_key(address));
                    }
                    for allocation in &entry.allocated_node_ports {
                        txn = txn.delete(layout::node_port_key(allocation.node_port));
                    }
                    for side in [Side::Blue, Side::Green] {
                        let deployment = model::side_deployment(&entry, side);
                        txn = txn.delete(layout::blue_green_side_key(&deployment));
                    }
                    match self.store.txn(txn).await {
                        Ok(_) => Ok(operation),
                        Err(StoreError::Conflict { .. }) => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(RoutingError::from)
    }

    /// Starts a switch (or a rollback) of `name` to `target` (unspecified: the inactive
    /// side).
    #[allow(clippy::too_many_arguments)]
    async fn switch(
        &self,
        method: &str,
        request_id: &str,
        fingerprint: &impl prost::Message,
        name: &str,
        etag: &str,
        target: Side,
        validate_only: bool,
        rollback: bool,
    ) -> Result<Operation, RoutingError> {
        aip::validate_request_id(request_id)?;
        ENTRY_NAME.parse("name", name)?;
        aip::parse_etag("etag", etag)?;
        let (mut entry, revision) = self.read_record(name).await?;
        aip::check_etag("etag", etag, revision, name)?;
        let active = Side::try_from(entry.active_side).unwrap_or(Side::Blue);
        let mut cancelled_operation = None;
        let target = if rollback {
            let latest = entry.switch_history.iter().position(|r| {
                matches!(r.result(), SwitchResult::Running | SwitchResult::Succeeded)
            });
            let Some(index) = latest else {
                return Err(ApiError::failed_precondition(
                    ErrorReason::InvalidState,
                    name,
                    format!("{name} has no switch to roll back"),
                )
                .into());
            };
            let record = entry.switch_history[index].clone();
            if record.rollback {
                return Err(ApiError::failed_precondition(
                    ErrorReason::InvalidState,
                    name,
                    format!("the latest switch of {name} is itself a rollback: switch explicitly instead"),
                )
                .into());
            }
            if record.result() == SwitchResult::Running {
                // Stopped by the rollback: traffic returns to its from side.
                let stopped = &mut entry.switch_history[index];
                stopped.result = SwitchResult::Cancelled as i32;
                stopped.end_time = Some(op::now());
                stopped.message = "stopped by a rollback".into();
                entry.state = State::Active as i32;
                cancelled_operation = Some(stopped.operation.clone());
            }
            Side::try_from(record.from_side).unwrap_or(Side::Blue)
        } else {
            if model::running_switch(&entry).is_some() {
                return Err(switch_in_progress(&entry).into());
            }
            match target {
                Side::Unspecified => model::other(active),
                side => side,
            }
        };
        let verb = if rollback { "rollback" } else { "switch" };
        if target == active && cancelled_operation.is_none() {
            let mut operation = Self::done(name, verb, &entry);
            operation.name.clear();
            return Ok(operation);
        }
        let side = read_side(self.store.as_ref(), &entry, target).await?;
        if !side.healthy {
            return Err(target_unhealthy(&side, &entry).into());
        }
        if validate_only {
            let mut operation = Self::done(name, verb, &entry);
            operation.name.clear();
            return Ok(operation);
        }
        let mut operation = op::new_operation(name, verb, SWITCH_STAGES, "");
        op::start(&mut operation);
        op::set_stage(
            &mut operation,
            "verify",
            StageState::Running,
            "checking the target side",
        );
        if target != active {
            let record = SwitchRecord {
                from_side: active as i32,
                to_side: target as i32,
                from_namespace: model::side_namespace(&entry, active).to_string(),
                to_namespace: model::side_namespace(&entry, target).to_string(),
                rollback,
                start_time: Some(op::now()),
                operation: operation.name.clone(),
                result: SwitchResult::Running as i32,
                ..Default::default()
            };
            entry.switch_history.insert(0, record);
            entry.switch_history.truncate(model::MAX_HISTORY);
            entry.state = State::Switching as i32;
        } else {
            // The cancelled switch never moved traffic: nothing to move back.
            op::set_stage(&mut operation, "verify", StageState::Succeeded, "");
            op::set_stage(
                &mut operation,
                "switch",
                StageState::Skipped,
                "the target side is active",
            );
            op::set_stage(&mut operation, "drain", StageState::Skipped, "");
            op::succeed(&mut operation, ENTRY_TYPE, &entry);
        }
        let name = name.to_string();
        self.idempotency
            .run(method, request_id, fingerprint, || async move {
                let key = layout::blue_green_key(&name);
                let mut txn = Operations::create_txn(&operation)
                    .when(Precondition::ModRevision(key.clone(), revision))
                    .put(key, entry.encode_to_vec());
                if let Some(cancelled) = cancelled_operation
                    && let Some((mut stopped, stopped_revision)) =
                        typed::get_msg::<Operation>(self.store.as_ref(), &operation_key(&cancelled))
                            .await?
                    && !stopped.done
                {
                    op::fail(
                        &mut stopped,
                        ApiError::new(
                            Code::Cancelled,
                            ErrorReason::OperationInProgress,
                            "stopped by a rollback",
                        ),
                    );
                    txn = txn
                        .when(Precondition::ModRevision(
                            operation_key(&cancelled),
                            stopped_revision,
                        ))
                        .put(operation_key(&cancelled), stopped.encode_to_vec());
                }
                match self.store.txn(txn).await {
                    Ok(_) => Ok(operation),
                    Err(StoreError::Conflict { .. }) => {
                        Err(ApiError::concurrent_modification(&name))
                    }
                    Err(error) => Err(error.into()),
                }
            })
            .await
            .map_err(RoutingError::from)
    }

    /// Every blue-green entry (at `revision` when given) and the revision read at.
    async fn all_entries(
        &self,
        revision: Option<i64>,
    ) -> Result<(Vec<BlueGreenEntry>, i64), RoutingError> {
        let page = self
            .store
            .list(
                &layout::blue_green_prefix(),
                ListOptions {
                    revision,
                    ..Default::default()
                },
            )
            .await?;
        let mut entries = Vec::with_capacity(page.items.len());
        for kv in &page.items {
            entries.push(typed::decode_msg::<BlueGreenEntry>(&kv.key, &kv.value)?);
        }
        Ok((entries, page.revision))
    }

    /// FAILED_PRECONDITION (IN_USE) when one of `sides` (deployment names) is already a
    /// side of an entry other than `name`.
    async fn check_not_in_use(&self, sides: &[String], name: &str) -> Result<(), RoutingError> {
        let (entries, _) = self.all_entries(None).await?;
        if let Some((deployment, holder)) = model::in_use_by(sides, name, &entries) {
            return Err(model::in_use(&deployment, holder).into());
        }
        Ok(())
    }

    /// The IN_USE answer for the side claim `key` (of one of `sides`) that another entry
    /// wrote first.
    async fn side_taken(&self, key: &str, sides: &[String]) -> Result<ApiError, RoutingError> {
        let holder = self.allocations.holder(key).await?;
        let deployment = sides
            .iter()
            .find(|deployment| layout::blue_green_side_key(deployment) == key)
            .cloned()
            .unwrap_or_default();
        Ok(model::in_use(&deployment, &holder))
    }

    async fn update(
        &self,
        request: UpdateBlueGreenEntryRequest,
    ) -> Result<BlueGreenEntry, RoutingError> {
        aip::validate_request_id(&request.request_id)?;
        let input = request.blue_green_entry.clone().unwrap_or_default();
        ENTRY_NAME.parse("blue_green_entry.name", &input.name)?;
        aip::parse_etag("blue_green_entry.etag", &input.etag)?;
        let paths = model::update_paths(request.update_mask.as_ref())?;
        if request.validate_only {
            return self.apply_update(&input, &paths, false).await;
        }
        // The whole read-check-write runs under the request id: a retry gets the kept
        // answer even though the entry (and its etag) changed since.
        self.idempotency
            .run(
                "ferry.routing.v1.BlueGreenService/UpdateBlueGreenEntry",
                &request.request_id,
                &request,
                || async {
                    self.apply_update(&input, &paths, true)
                        .await
                        .map_err(ApiError::from)
                },
            )
            .await
            .map_err(RoutingError::from)
    }

    /// Checks an update of `input`'s entry over `paths` and, when `write`, stores it
    /// with its node-port claims and releases in one transaction.
    async fn apply_update(
        &self,
        input: &BlueGreenEntry,
        paths: &[String],
        write: bool,
    ) -> Result<BlueGreenEntry, RoutingError> {
        let (current, revision) = self.read_record(&input.name).await?;
        aip::check_etag("blue_green_entry.etag", &input.etag, revision, &input.name)?;
        if model::running_switch(&current).is_some() {
            return Err(switch_in_progress(&current).into());
        }
        let mut updated = model::apply_update(&current, input, paths)?;
        model::validate(&updated, "blue_green_entry")?;
        let moved_sides: Vec<Side> = [Side::Blue, Side::Green]
            .into_iter()
            .filter(|side| {
                model::side_namespace(&updated, *side) != model::side_namespace(&current, *side)
            })
            .collect();
        let moved: Vec<String> = moved_sides
            .iter()
            .map(|side| model::side_deployment(&updated, *side))
            .collect();
        if !moved.is_empty() {
            self.check_not_in_use(&moved, &current.name).await?;
        }
        let pseudo = model::as_service(&updated);
        let claims = self
            .allocations
            .plan_claims(&pseudo, &current.allocated_node_ports, "blue_green_entry")
            .await?;
        updated.allocated_node_ports = allocated(&pseudo, &claims);
        if updated == current {
            return self.with_status(current, revision).await;
        }
        updated.update_time = Some(op::now());
        if !write {
            return self.with_status(updated, revision).await;
        }
        let name = current.name.clone();
        let key = layout::blue_green_key(&name);
        let mut txn = ferry_store::Txn::new()
            .when(Precondition::ModRevision(key.clone(), revision))
            .put(key, updated.encode_to_vec());
        for port in &claims.new_node_ports {
            txn = txn
                .when(Precondition::Absent(layout::node_port_key(*port)))
                .put(layout::node_port_key(*port), name.as_bytes().to_vec());
        }
        for port in &claims.released {
            txn = txn.delete(layout::node_port_key(*port));
        }
        // A side moved to another namespace swaps its claim; a deployment that stays with
        // this entry (blue and green trading namespaces) keeps its claim.
        let previous: Vec<String> = moved_sides
            .iter()
            .map(|side| model::side_deployment(&current, *side))
            .collect();
        for deployment in previous.iter().filter(|d| !moved.contains(d)) {
            txn = txn.delete(layout::blue_green_side_key(deployment));
        }
        let claimed: Vec<String> = moved
            .iter()
            .filter(|deployment| !previous.contains(deployment))
            .cloned()
            .collect();
        txn = claim_sides(txn, &claimed, &name);
        match self.store.txn(txn).await {
            Ok(new_revision) => self.with_status(updated, new_revision).await,
            Err(
                StoreError::Conflict { key: conflict }
                | StoreError::AlreadyExists { key: conflict },
            ) if layout::is_blue_green_side_key(&conflict) => {
                Err(self.side_taken(&conflict, &claimed).await?.into())
            }
            Err(
                StoreError::Conflict { key: conflict }
                | StoreError::AlreadyExists { key: conflict },
            ) if layout::node_port_of(&conflict).is_some() => {
                let holder = self.allocations.holder(&conflict).await?;
                let port = layout::node_port_of(&conflict).unwrap_or_default();
                Err(
                    crate::service::api::node_port_taken(port, &holder, "blue_green_entry.ports")
                        .into(),
                )
            }
            Err(StoreError::NotFound { .. }) => Err(RoutingError::NotFound(name)),
            Err(error) => Err(write_error(error, &name, !input.etag.is_empty()).into()),
        }
    }

    async fn list_deployable(
        &self,
        request: ListDeployableNamespacesRequest,
    ) -> Result<ListDeployableNamespacesResponse, RoutingError> {
        ENTRY_NAME.parse("name", &request.name)?;
        let limit = aip::page_size(request.page_size)?;
        let filter =
            crate::filter::Filter::parse(&request.filter, model::DEPLOYABLE_FILTER_FIELDS)?;
        let fingerprint = aip::request_fingerprint(&[&request.name, &request.filter]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let (entry, _) = self.read_record(&request.name).await?;
        let id = model::deployment_id(&entry);
        // One snapshot for the deployments and the entries (the first page's).
        let (entries, revision) = self.all_entries(token.as_ref().map(|t| t.revision)).await?;
        let taken: Vec<String> = entries
            .iter()
            .filter(|other| other.name != entry.name)
            .flat_map(|other| {
                [Side::Blue, Side::Green].map(|side| model::side_deployment(other, side))
            })
            .collect();
        let deployments = self
            .store
            .list(
                &layout::deployments_prefix(),
                ListOptions {
                    revision: Some(revision),
                    ..Default::default()
                },
            )
            .await?;
        let mut found = Vec::new();
        for kv in &deployments.items {
            let Some(deployment_name) = layout::deployment_name(&kv.key) else {
                continue;
            };
            let Ok(ids) = DEPLOYMENT_NAME.parse("deployment", deployment_name) else {
                continue;
            };
            if ids[1] != id {
                continue;
            }
            let deployment: Deployment = typed::decode_msg(&kv.key, &kv.value)?;
            let instances = typed::get_msg::<ListInstancesResponse>(
                self.store.as_ref(),
                &layout::instances_key(deployment_name),
            )
            .await?
            .map(|(record, _)| record.instances)
            .unwrap_or_default();
            found.push(model::deployable(
                &entry,
                &format!("namespaces/{}", ids[0]),
                &deployment,
                &instances,
                taken.iter().any(|t| t == deployment_name),
            ));
        }
        model::order_deployable(&mut found);
        let matching: Vec<_> = found
            .into_iter()
            .filter(|d| filter.matches(|field| model::deployable_field(d, field)))
            .collect();
        let total_size = matching.len() as i32;
        let mut page: Vec<_> = matching
            .into_iter()
            .filter(|d| {
                token
                    .as_ref()
                    .is_none_or(|t| model::deployable_order_key(d) > t.last)
            })
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        let next_page_token = match (more, page.last()) {
            (true, Some(last)) => {
                aip::encode_page_token(&model::deployable_order_key(last), revision, &fingerprint)
            }
            _ => String::new(),
        };
        Ok(ListDeployableNamespacesResponse {
            deployable_namespaces: page,
            next_page_token,
            total_size,
        })
    }

    async fn list(
        &self,
        request: ListBlueGreenEntriesRequest,
    ) -> Result<ListBlueGreenEntriesResponse, RoutingError> {
        let limit = aip::page_size(request.page_size)?;
        let filter = crate::filter::Filter::parse(&request.filter, &["state", "active_side"])?;
        let fingerprint = aip::request_fingerprint(&[&request.filter]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let page = self
            .store
            .list(
                &layout::blue_green_prefix(),
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
            let entry: BlueGreenEntry = typed::decode_msg(&kv.key, &kv.value)?;
            let entry = self.with_status(entry, kv.mod_revision).await?;
            let matches = filter.matches(|field| match field {
                "state" => vec![entry.state().as_str_name().to_string()],
                _ => vec![entry.active_side().as_str_name().to_string()],
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
        Ok(ListBlueGreenEntriesResponse {
            blue_green_entries: entries,
            next_page_token,
            total_size,
        })
    }
}

fn switch_in_progress(entry: &BlueGreenEntry) -> ApiError {
    let operation = entry
        .switch_history
        .first()
        .map(|r| r.operation.clone())
        .unwrap_or_default();
    ApiError::new(
        Code::Aborted,
        ErrorReason::OperationInProgress,
        format!(
            "{} is switching ({operation}): wait for it or roll it back",
            entry.name
        ),
    )
    .with_metadata("resource", &entry.name)
    .with_metadata("operation", operation)
}

/// Adds to `txn` the claims of `deployments` as sides of `name`: each must be absent.
fn claim_sides(mut txn: ferry_store::Txn, deployments: &[String], name: &str) -> ferry_store::Txn {
    for deployment in deployments {
        let key = layout::blue_green_side_key(deployment);
        txn = txn
            .when(Precondition::Absent(key.clone()))
            .put(key, name.as_bytes().to_vec());
    }
    txn
}

/// FAILED_PRECONDITION (TARGET_UNHEALTHY) for a side that cannot take traffic.
pub fn target_unhealthy(
    side: &ferry_proto::ferry::routing::v1::SideStatus,
    entry: &BlueGreenEntry,
) -> ApiError {
    let subject = if side.deployment.is_empty() {
        side.namespace.clone()
    } else {
        side.deployment.clone()
    };
    ApiError::failed_precondition(
        ErrorReason::TargetUnhealthy,
        subject,
        model::unhealthy_reason(side, entry),
    )
}

fn status(error: RoutingError) -> Status {
    error.into()
}

#[tonic::async_trait]
impl BlueGreenService for BlueGreenApi {
    async fn create_blue_green_entry(
        &self,
        request: Request<CreateBlueGreenEntryRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(
            self.create(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn get_blue_green_entry(
        &self,
        request: Request<GetBlueGreenEntryRequest>,
    ) -> Result<Response<BlueGreenEntry>, Status> {
        let name = request.into_inner().name;
        ENTRY_NAME
            .parse("name", &name)
            .map_err(|e| status(e.into()))?;
        let (entry, revision) = self.read_record(&name).await.map_err(status)?;
        Ok(Response::new(
            self.with_status(entry, revision).await.map_err(status)?,
        ))
    }

    async fn list_blue_green_entries(
        &self,
        request: Request<ListBlueGreenEntriesRequest>,
    ) -> Result<Response<ListBlueGreenEntriesResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn update_blue_green_entry(
        &self,
        request: Request<UpdateBlueGreenEntryRequest>,
    ) -> Result<Response<BlueGreenEntry>, Status> {
        Ok(Response::new(
            self.update(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn delete_blue_green_entry(
        &self,
        request: Request<DeleteBlueGreenEntryRequest>,
    ) -> Result<Response<Operation>, Status> {
        Ok(Response::new(
            self.delete(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn switch_blue_green_entry(
        &self,
        request: Request<SwitchBlueGreenEntryRequest>,
    ) -> Result<Response<Operation>, Status> {
        let request = request.into_inner();
        let operation = self
            .switch(
                "ferry.routing.v1.BlueGreenService/SwitchBlueGreenEntry",
                &request.request_id,
                &request,
                &request.name,
                &request.etag,
                request.target_side(),
                request.validate_only,
                false,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(operation))
    }

    async fn rollback_blue_green_entry(
        &self,
        request: Request<RollbackBlueGreenEntryRequest>,
    ) -> Result<Response<Operation>, Status> {
        let request = request.into_inner();
        let operation = self
            .switch(
                "ferry.routing.v1.BlueGreenService/RollbackBlueGreenEntry",
                &request.request_id,
                &request,
                &request.name,
                &request.etag,
                Side::Unspecified,
                request.validate_only,
                true,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(operation))
    }

    async fn list_deployable_namespaces(
        &self,
        request: Request<ListDeployableNamespacesRequest>,
    ) -> Result<Response<ListDeployableNamespacesResponse>, Status> {
        Ok(Response::new(
            self.list_deployable(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }
}
