//! The `ferry.routing.v1.RoutingService` gRPC adapter: converts and validates requests
//! at the edge, allocates cluster addresses and node ports in etcd together with the
//! change, and leaves the data planes to the programming loop.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::operation as op;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::Deployment;
use ferry_proto::ferry::routing::v1::routing_service_server::{
    RoutingService, RoutingServiceServer,
};
use ferry_proto::ferry::routing::v1::service::Type;
use ferry_proto::ferry::routing::v1::{
    AllocatedNodePort, CreateServiceRequest, DeleteServiceRequest, Endpoint, GetServiceRequest,
    ListServiceEndpointsRequest, ListServiceEndpointsResponse, ListServicesRequest,
    ListServicesResponse, Service, UpdateServiceRequest,
};
use ferry_store::{ListOptions, Precondition, Store, StoreError, Txn, typed};
use prost::Message as _;
use tonic::{Code, Request, Response, Status};

use super::model::{self, NAMESPACE_NAME, SERVICE_NAME};
use crate::error::{RoutingError, write_error};
use crate::filter::Filter;
use crate::layout;

/// Attempts at allocating a cluster address or pool node ports when concurrent
/// creates take the candidates first.
const ALLOCATION_ATTEMPTS: usize = 8;

/// Serves Services.
#[derive(Clone)]
pub struct ServiceApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
}

/// The allocations a change claims, beyond the Service key itself.
#[derive(Debug, Default)]
pub(crate) struct Claims {
    /// Node ports per port (index → node port), requested or allocated.
    pub(crate) node_ports: Vec<Option<i32>>,
    /// Node ports to claim (absent keys now).
    pub(crate) new_node_ports: Vec<i32>,
    /// Node ports to release.
    pub(crate) released: Vec<i32>,
}

impl ServiceApi {
    /// Serves from `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        ServiceApi { store, idempotency }
    }

    /// The tonic server.
    pub fn into_server(self) -> RoutingServiceServer<Self> {
        RoutingServiceServer::new(self)
    }

    /// A Service's configuration and its mod revision.
    async fn read_config(&self, name: &str) -> Result<(Service, i64), RoutingError> {
        match typed::get_msg::<Service>(self.store.as_ref(), &layout::service_key(name)).await? {
            Some((service, revision)) => Ok((service, revision)),
            None => Err(RoutingError::NotFound(name.to_string())),
        }
    }

    /// A Service as clients see it: configuration, status and etag.
    async fn read(&self, name: &str) -> Result<Service, RoutingError> {
        let (config, revision) = self.read_config(name).await?;
        self.with_status(config, revision).await
    }

    async fn with_status(&self, config: Service, revision: i64) -> Result<Service, RoutingError> {
        let status = typed::get_msg::<Service>(
            self.store.as_ref(),
            &layout::service_status_key(&config.name),
        )
        .await?
        .map(|(status, _)| status);
        let mut service = model::merge_status(&config, status.as_ref());
        service.etag = aip::etag(revision);
        Ok(service)
    }

    /// Checks the target exists and declares the named target ports.
    async fn check_target(&self, service: &Service, field: &str) -> Result<(), RoutingError> {
        let target = model::target_deployment(service).unwrap_or_default();
        let Some((deployment, _)) =
            typed::get_msg::<Deployment>(self.store.as_ref(), &layout::deployment_key(target))
                .await?
        else {
            return Err(ApiError::failed_precondition(
                ErrorReason::ResourceNotFound,
                target,
                format!("{target} does not exist: create the deployment first"),
            )
            .with_metadata("field", format!("{field}.deployment"))
            .into());
        };
        let declared: Vec<String> = deployment
            .template
            .map(|t| {
                t.ports
                    .into_iter()
                    .map(|p| p.name)
                    .filter(|n| !n.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        model::check_target_port_names(&service.ports, &declared, &format!("{field}.ports"))?;
        Ok(())
    }

    /// Refuses node ports another object holds (`holder` may hold its own).
    async fn check_node_ports(
        &self,
        ports: &[i32],
        holder: &str,
        field: &str,
    ) -> Result<(), RoutingError> {
        for port in ports {
            if let Some(kv) = self.store.get(&layout::node_port_key(*port)).await? {
                let owner = String::from_utf8_lossy(&kv.value).to_string();
                if owner != holder {
                    return Err(node_port_taken(*port, &owner, field).into());
                }
            }
        }
        Ok(())
    }

    /// Plans the node ports of `service` (whose allocations so far are `current`):
    /// requested ones are checked free, missing ones picked from the pool.
    pub(crate) async fn plan_claims(
        &self,
        service: &Service,
        current: &[AllocatedNodePort],
        field: &str,
    ) -> Result<Claims, RoutingError> {
        let mut node_ports =
            model::plan_node_ports(&service.ports, model::is_node_port(service), current);
        let held: BTreeSet<i32> = current.iter().map(|a| a.node_port).collect();
        let requested: Vec<i32> = node_ports
            .iter()
            .flatten()
            .copied()
            .filter(|p| !held.contains(p))
            .collect();
        for (index, port) in service.ports.iter().enumerate() {
            if port.node_port != 0 && requested.contains(&port.node_port) {
                self.check_node_ports(
                    &[port.node_port],
                    &service.name,
                    &format!("{field}.ports[{index}].node_port"),
                )
                .await?;
            }
        }
        let missing = node_ports.iter().filter(|p| p.is_none()).count();
        if missing > 0 {
            let mut taken: BTreeSet<i32> = BTreeSet::new();
            let page = self
                .store
                .list(&layout::node_ports_prefix(), ListOptions::default())
                .await?;
            taken.extend(
                page.items
                    .iter()
                    .filter_map(|kv| layout::node_port_of(&kv.key)),
            );
            taken.extend(node_ports.iter().flatten().copied());
            let picked = model::pick_node_ports(&taken, missing).ok_or_else(|| {
                ApiError::failed_precondition(
                    ErrorReason::ConflictingAllocation,
                    "node ports 30000-32767",
                    "the node-port pool is exhausted: delete unused NODE_PORT Services",
                )
            })?;
            let mut picked = picked.into_iter();
            for slot in node_ports.iter_mut().filter(|p| p.is_none()) {
                *slot = picked.next();
            }
        }
        let finals: BTreeSet<i32> = node_ports.iter().flatten().copied().collect();
        Ok(Claims {
            new_node_ports: finals
                .iter()
                .copied()
                .filter(|p| !held.contains(p))
                .collect(),
            released: held
                .iter()
                .copied()
                .filter(|p| !finals.contains(p))
                .collect(),
            node_ports,
        })
    }

    async fn create(&self, request: CreateServiceRequest) -> Result<Service, RoutingError> {
        aip::validate_request_id(&request.request_id)?;
        let ids = NAMESPACE_NAME.parse("parent", &request.parent)?;
        let namespace = ids[0].to_string();
        aip::validate_id("service_id", &request.service_id)?;
        let input = request.service.clone().unwrap_or_default();
        model::validate(&input, &namespace, "service")?;
        let name = SERVICE_NAME.format(&[&namespace, &request.service_id]);
        self.check_target(&input, "service").await?;
        if self.store.get(&layout::service_key(&name)).await?.is_some() {
            return Err(ApiError::already_exists(&name).into());
        }
        let entry = format!("{}/externalEntries/{}", request.parent, request.service_id);
        if self
            .store
            .get(&layout::external_entry_key(&entry))
            .await?
            .is_some()
        {
            return Err(ApiError::already_exists(&name)
                .with_metadata("conflicting_resource", entry)
                .into());
        }
        let now = op::now();
        let mut service = Service {
            name: name.clone(),
            uid: uuid::Uuid::new_v4().to_string(),
            display_name: input.display_name.clone(),
            labels: input.labels.clone(),
            annotations: input.annotations.clone(),
            create_time: Some(now),
            update_time: Some(now),
            target: input.target.clone(),
            ports: input.ports.clone(),
            r#type: if input.r#type == Type::Unspecified as i32 {
                Type::ClusterInternal as i32
            } else {
                input.r#type
            },
            session_affinity: input.session_affinity,
            health_aware_routing: input.health_aware_routing,
            dns_name: model::dns_name(&namespace, &request.service_id),
            ..Default::default()
        };
        let claims = self.plan_claims(&service, &[], "service").await?;
        service.allocated_node_ports = allocated(&service, &claims);
        if request.validate_only {
            return Ok(model::merge_status(&service, None));
        }
        self.idempotency
            .run(
                "ferry.routing.v1.RoutingService/CreateService",
                &request.request_id,
                &request,
                || async move {
                    let mut claims = claims;
                    let mut candidates = model::cluster_address_candidates(&name);
                    for _ in 0..ALLOCATION_ATTEMPTS {
                        let address = self.free_address(&mut candidates).await?;
                        service.cluster_address = address.to_string();
                        service.allocated_node_ports = allocated(&service, &claims);
                        let key = layout::service_key(&name);
                        let mut txn = Txn::new()
                            .when(Precondition::Absent(key.clone()))
                            .when(Precondition::Absent(layout::external_entry_key(&entry)))
                            .when(Precondition::Absent(layout::cluster_address_key(address)))
                            .put(
                                layout::cluster_address_key(address),
                                name.as_bytes().to_vec(),
                            )
                            .put(
                                layout::service_status_key(&name),
                                model_status_creating().encode_to_vec(),
                            )
                            .put(key.clone(), service.encode_to_vec());
                        for port in &claims.new_node_ports {
                            txn = txn
                                .when(Precondition::Absent(layout::node_port_key(*port)))
                                .put(layout::node_port_key(*port), name.as_bytes().to_vec());
                        }
                        match self.store.txn(txn).await {
                            Ok(revision) => {
                                let mut created = model::merge_status(&service, None);
                                created.etag = aip::etag(revision);
                                return Ok(created);
                            }
                            Err(
                                StoreError::Conflict { key: conflict }
                                | StoreError::AlreadyExists { key: conflict },
                            ) => {
                                if conflict == key || conflict == layout::external_entry_key(&entry)
                                {
                                    return Err(ApiError::already_exists(&name));
                                }
                                if let Some(port) = layout::node_port_of(&conflict) {
                                    if input.ports.iter().any(|p| p.node_port == port) {
                                        let holder = self.holder(&conflict).await?;
                                        return Err(node_port_taken(
                                            port,
                                            &holder,
                                            "service.ports",
                                        ));
                                    }
                                    // A pool port went to a concurrent create: pick again.
                                    claims = self
                                        .plan_claims(&service, &[], "service")
                                        .await
                                        .map_err(ApiError::from)?;
                                }
                                // A taken address: the next candidate.
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

    /// The first candidate address no Service or entry holds.
    pub(crate) async fn free_address(
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
            ErrorReason::ConflictingAllocation,
            "cluster addresses 127.77.0.0/16",
            "every cluster address is taken",
        ))
    }

    pub(crate) async fn holder(&self, key: &str) -> Result<String, ApiError> {
        Ok(self
            .store
            .get(key)
            .await?
            .map(|kv| String::from_utf8_lossy(&kv.value).to_string())
            .unwrap_or_default())
    }

    async fn update(&self, request: UpdateServiceRequest) -> Result<Service, RoutingError> {
        aip::validate_request_id(&request.request_id)?;
        let input = request.service.clone().unwrap_or_default();
        let ids = SERVICE_NAME.parse("service.name", &input.name)?;
        let namespace = ids[0].to_string();
        aip::parse_etag("service.etag", &input.etag)?;
        let mask =
            aip::validate_update_mask(request.update_mask.as_ref(), model::UPDATABLE_FIELDS)?;
        let (current, revision) = self.read_config(&input.name).await?;
        aip::check_etag("service.etag", &input.etag, revision, &input.name)?;
        let touches = |field: &str| mask.is_empty() || mask.iter().any(|m| m == "*" || m == field);
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
        if touches("deployment") || touches("service_instance") || touches("selector") {
            updated.target = input.target.clone();
        }
        if touches("ports") {
            updated.ports = input.ports.clone();
        }
        if touches("type") {
            updated.r#type = if input.r#type == Type::Unspecified as i32 {
                Type::ClusterInternal as i32
            } else {
                input.r#type
            };
        }
        if touches("session_affinity") {
            updated.session_affinity = input.session_affinity;
        }
        if touches("health_aware_routing") {
            updated.health_aware_routing = input.health_aware_routing;
        }
        model::validate(&updated, &namespace, "service")?;
        if updated.target != current.target || updated.ports != current.ports {
            self.check_target(&updated, "service").await?;
        }
        let claims = self
            .plan_claims(&updated, &current.allocated_node_ports, "service")
            .await?;
        updated.allocated_node_ports = allocated(&updated, &claims);
        if updated == current {
            return self.with_status(current, revision).await;
        }
        updated.update_time = Some(op::now());
        if request.validate_only {
            let mut service = self.with_status(updated, revision).await?;
            service.etag = aip::etag(revision);
            return Ok(service);
        }
        let name = input.name.clone();
        let client_sent_etag = !input.etag.is_empty();
        self.idempotency
            .run(
                "ferry.routing.v1.RoutingService/UpdateService",
                &request.request_id,
                &request,
                || async move {
                    let key = layout::service_key(&name);
                    let mut txn = Txn::new()
                        .when(Precondition::ModRevision(key.clone(), revision))
                        .put(key.clone(), updated.encode_to_vec());
                    for port in &claims.new_node_ports {
                        txn = txn
                            .when(Precondition::Absent(layout::node_port_key(*port)))
                            .put(layout::node_port_key(*port), name.as_bytes().to_vec());
                    }
                    for port in &claims.released {
                        txn = txn.delete(layout::node_port_key(*port));
                    }
                    match self.store.txn(txn).await {
                        Ok(new_revision) => {
                            let mut service = self
                                .with_status(updated, new_revision)
                                .await
                                .map_err(ApiError::from)?;
                            service.etag = aip::etag(new_revision);
                            Ok(service)
                        }
                        Err(
                            StoreError::Conflict { key: conflict }
                            | StoreError::AlreadyExists { key: conflict },
                        ) if layout::node_port_of(&conflict).is_some() => {
                            let holder = self.holder(&conflict).await?;
                            let port = layout::node_port_of(&conflict).unwrap_or_default();
                            Err(node_port_taken(port, &holder, "service.ports"))
                        }
                        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&name)),
                        Err(error) => Err(write_error(error, &name, client_sent_etag)),
                    }
                },
            )
            .await
            .map_err(RoutingError::from)
    }

    async fn delete(&self, request: DeleteServiceRequest) -> Result<(), RoutingError> {
        aip::validate_request_id(&request.request_id)?;
        SERVICE_NAME.parse("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        let (current, revision) = self.read_config(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if request.validate_only {
            return Ok(());
        }
        let name = request.name.clone();
        let client_sent_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                "ferry.routing.v1.RoutingService/DeleteService",
                &request.request_id,
                &request,
                || async move {
                    let key = layout::service_key(&name);
                    let mut txn = Txn::new()
                        .when(Precondition::ModRevision(key.clone(), revision))
                        .delete(key)
                        .delete(layout::service_status_key(&name));
                    if let Ok(address) = current.cluster_address.parse::<Ipv4Addr>() {
                        txn = txn.delete(layout::cluster_address_key(address));
                    }
                    for allocation in &current.allocated_node_ports {
                        txn = txn.delete(layout::node_port_key(allocation.node_port));
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
        request: ListServicesRequest,
    ) -> Result<ListServicesResponse, RoutingError> {
        let ids = NAMESPACE_NAME
            .parse("parent", &request.parent)
            .or_else(|error| {
                if request.parent == "namespaces/-" {
                    Ok(vec!["-"])
                } else {
                    Err(error)
                }
            })?;
        let limit = aip::page_size(request.page_size)?;
        let filter = Filter::parse(
            &request.filter,
            &["deployment", "type", "state", "ports.node_port"],
        )?;
        if !matches!(request.order_by.trim(), "" | "name" | "name asc") {
            return Err(ApiError::invalid_field(
                "order_by",
                "Services can only be ordered by name",
            )
            .into());
        }
        let prefix = if ids[0] == "-" {
            layout::services_prefix(None)
        } else {
            layout::services_prefix(Some(&request.parent))
        };
        let fingerprint =
            aip::request_fingerprint(&[&request.parent, &request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let (items, revision) = match &token {
            Some(token) => {
                let page = self
                    .store
                    .list(
                        &prefix,
                        ListOptions {
                            revision: Some(token.revision),
                            ..Default::default()
                        },
                    )
                    .await?;
                (page.items, token.revision)
            }
            None => {
                let page = self.store.list(&prefix, ListOptions::default()).await?;
                let revision = page.revision;
                (page.items, revision)
            }
        };
        let mut matching = Vec::new();
        let mut total_size = 0;
        for kv in items {
            let config: Service = typed::decode_msg(&kv.key, &kv.value)?;
            let service = self.with_status(config, kv.mod_revision).await?;
            if !filter.matches(|field| service_field(&service, field)) {
                continue;
            }
            total_size += 1;
            if token.as_ref().is_none_or(|t| service.name > t.last) {
                matching.push(service);
            }
        }
        let more = matching.len() > limit;
        matching.truncate(limit);
        let next_page_token = match (more, matching.last()) {
            (true, Some(last)) => aip::encode_page_token(&last.name, revision, &fingerprint),
            _ => String::new(),
        };
        Ok(ListServicesResponse {
            services: matching,
            next_page_token,
            total_size,
        })
    }

    async fn list_endpoints(
        &self,
        request: ListServiceEndpointsRequest,
    ) -> Result<ListServiceEndpointsResponse, RoutingError> {
        SERVICE_NAME.parse("name", &request.name)?;
        let limit = aip::page_size(request.page_size)?;
        let filter = Filter::parse(
            &request.filter,
            &["healthy", "port_name", "host", "instance"],
        )?;
        let fingerprint = aip::request_fingerprint(&[&request.name, &request.filter]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let service = self.read(&request.name).await?;
        let matching: Vec<Endpoint> = service
            .endpoints
            .into_iter()
            .filter(|e| filter.matches(|field| endpoint_field(e, field)))
            .collect();
        let total_size = matching.len() as i32;
        let sort_key = |e: &Endpoint| format!("{}\u{1}{}", e.instance, e.port_name);
        let mut page: Vec<Endpoint> = matching
            .into_iter()
            .filter(|e| token.as_ref().is_none_or(|t| sort_key(e) > t.last))
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        let next_page_token = match (more, page.last()) {
            (true, Some(last)) => aip::encode_page_token(&sort_key(last), 1, &fingerprint),
            _ => String::new(),
        };
        Ok(ListServiceEndpointsResponse {
            endpoints: page,
            next_page_token,
            total_size,
        })
    }
}

/// A newly created Service's status record.
fn model_status_creating() -> Service {
    model::merge_status(&Service::default(), None)
}

/// The allocated node ports of `service` under `claims`.
pub(crate) fn allocated(service: &Service, claims: &Claims) -> Vec<AllocatedNodePort> {
    service
        .ports
        .iter()
        .zip(claims.node_ports.iter())
        .filter_map(|(port, node_port)| {
            Some(AllocatedNodePort {
                port_name: port.name.clone(),
                port: port.port,
                node_port: (*node_port)?,
            })
        })
        .collect()
}

/// FAILED_PRECONDITION (CONFLICTING_ALLOCATION): `port` is held by `holder`.
pub fn node_port_taken(port: i32, holder: &str, field: &str) -> ApiError {
    ApiError::new(
        Code::FailedPrecondition,
        ErrorReason::ConflictingAllocation,
        format!("node port {port} is taken by {holder}: choose another or leave node_port 0"),
    )
    .with_metadata("field", field)
    .with_metadata("node_port", port.to_string())
    .with_metadata("holder", holder)
    .with_precondition_violation(
        ferry_kit::error::reason_str(ErrorReason::ConflictingAllocation),
        format!("node-ports/{port}"),
        format!("held by {holder}"),
    )
}

/// A Service field for list filters.
fn service_field(service: &Service, field: &str) -> Vec<String> {
    match field {
        "deployment" => vec![
            model::target_deployment(service)
                .unwrap_or_default()
                .to_string(),
        ],
        "type" => vec![service.r#type().as_str_name().to_string()],
        "state" => vec![service.state().as_str_name().to_string()],
        "ports.node_port" => service
            .allocated_node_ports
            .iter()
            .map(|a| a.node_port.to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// An Endpoint field for list filters.
fn endpoint_field(endpoint: &Endpoint, field: &str) -> Vec<String> {
    match field {
        "healthy" => vec![endpoint.healthy.to_string()],
        "port_name" => vec![endpoint.port_name.clone()],
        "host" => vec![endpoint.host.clone()],
        "instance" => vec![endpoint.instance.clone()],
        _ => Vec::new(),
    }
}

fn status(error: RoutingError) -> Status {
    error.into()
}

#[tonic::async_trait]
impl RoutingService for ServiceApi {
    async fn create_service(
        &self,
        request: Request<CreateServiceRequest>,
    ) -> Result<Response<Service>, Status> {
        Ok(Response::new(
            self.create(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn get_service(
        &self,
        request: Request<GetServiceRequest>,
    ) -> Result<Response<Service>, Status> {
        let name = request.into_inner().name;
        SERVICE_NAME
            .parse("name", &name)
            .map_err(|e| status(e.into()))?;
        Ok(Response::new(self.read(&name).await.map_err(status)?))
    }

    async fn list_services(
        &self,
        request: Request<ListServicesRequest>,
    ) -> Result<Response<ListServicesResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn update_service(
        &self,
        request: Request<UpdateServiceRequest>,
    ) -> Result<Response<Service>, Status> {
        Ok(Response::new(
            self.update(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn delete_service(
        &self,
        request: Request<DeleteServiceRequest>,
    ) -> Result<Response<()>, Status> {
        self.delete(request.into_inner()).await.map_err(status)?;
        Ok(Response::new(()))
    }

    async fn list_service_endpoints(
        &self,
        request: Request<ListServiceEndpointsRequest>,
    ) -> Result<Response<ListServiceEndpointsResponse>, Status> {
        Ok(Response::new(
            self.list_endpoints(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }
}
