//! The `ferry.deploy.v1.HostService` gRPC adapter: hosts as the runtimes report them,
//! merged with Ferry's records in etcd; cordon and uncordon write the record first, then
//! tell the host's runtime.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_events::{EventInput, Recorder};
use ferry_kit::aip;
use ferry_kit::caller;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::operation as op;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::event::Type as EventType;
use ferry_proto::ferry::deploy::v1::host_service_server::{HostService, HostServiceServer};
use ferry_proto::ferry::deploy::v1::{
    CordonHostRequest, GetHostRequest, Host, ListHostsRequest, ListHostsResponse,
    UncordonHostRequest,
};
use ferry_runtime::{HostStatus, Runtime, RuntimeError};
use ferry_store::{Store, StoreError, typed};
use tonic::{Code, Request, Response, Status};

use super::model::{self, HostRecord};
use super::{host_key, records};
use crate::error::DeployError;
use crate::runtimes::Runtimes;

/// The component named in host events.
const COMPONENT: &str = "deploy-hosts";

/// A host a runtime reports, with that runtime.
struct LiveHost {
    status: HostStatus,
    runtime: Arc<dyn Runtime>,
}

/// Serves hosts.
#[derive(Clone)]
pub struct HostApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
    runtimes: Runtimes,
    recorder: Option<Recorder>,
}

impl HostApi {
    /// Serves the hosts of `runtimes`, with Ferry's records in `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency, runtimes: Runtimes) -> Self {
        Self {
            store,
            idempotency,
            runtimes,
            recorder: None,
        }
    }

    /// Records an event (in `ferry-system`) on every cordon and uncordon.
    pub fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// The tonic server.
    pub fn into_server(self) -> HostServiceServer<Self> {
        HostServiceServer::new(self)
    }

    /// Every host of every runtime, by id. When two runtimes report the same id, the
    /// first runtime (the default first) wins. A runtime that cannot list its hosts makes
    /// the call UNAVAILABLE rather than silently missing hosts.
    async fn live_hosts(&self) -> Result<BTreeMap<String, LiveHost>, DeployError> {
        let mut hosts = BTreeMap::new();
        for runtime in self.runtimes.iter() {
            let statuses = runtime
                .hosts()
                .await
                .map_err(|error| runtime_error(runtime.name(), "list hosts", &error))?;
            for status in statuses {
                hosts
                    .entry(status.name.clone())
                    .or_insert_with(|| LiveHost {
                        status,
                        runtime: runtime.clone(),
                    });
            }
        }
        Ok(hosts)
    }

    /// The host `id` as a runtime reports it, or NOT_FOUND (`name` is its resource name).
    async fn live_host(&self, id: &str, name: &str) -> Result<LiveHost, DeployError> {
        self.live_hosts()
            .await?
            .remove(id)
            .ok_or_else(|| DeployError::NotFound(name.to_string()))
    }

    /// The record of host `id` and its `mod_revision`, created if the host has none yet.
    async fn record(&self, id: &str) -> Result<(HostRecord, i64), DeployError> {
        let key = host_key(id);
        loop {
            if let Some(found) = typed::get_msg::<HostRecord>(self.store.as_ref(), &key).await? {
                return Ok(found);
            }
            let record = HostRecord::new(uuid::Uuid::new_v4().to_string(), op::now());
            match typed::create_msg(self.store.as_ref(), &key, &record).await {
                Ok(revision) => {
                    tracing::info!(host = id, "host seen for the first time");
                    return Ok((record, revision));
                }
                // Another call created it first: read theirs.
                Err(StoreError::AlreadyExists { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    fn show(live: &LiveHost, record: &HostRecord, revision: i64) -> Host {
        model::host(
            &live.status,
            live.runtime.name(),
            live.runtime.kind(),
            record,
            revision,
        )
    }

    async fn get(&self, request: GetHostRequest) -> Result<Host, DeployError> {
        let id = model::parse_host_name("name", &request.name)?;
        let live = self.live_host(id, &request.name).await?;
        let (record, revision) = self.record(id).await?;
        Ok(Self::show(&live, &record, revision))
    }

    async fn list(&self, request: ListHostsRequest) -> Result<ListHostsResponse, DeployError> {
        let limit = aip::page_size(request.page_size)?;
        let filter = model::parse_filter(&request.filter)?;
        if !matches!(request.order_by.trim(), "" | "name" | "name asc") {
            return Err(ApiError::invalid_field(
                "order_by",
                "hosts can only be ordered by name in this release",
            )
            .into());
        }
        let fingerprint = aip::request_fingerprint(&[&request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let live = self.live_hosts().await?;
        let mut stored: BTreeMap<String, (HostRecord, i64)> = records(self.store.as_ref())
            .await?
            .into_iter()
            .map(|(id, record, revision)| (id, (record, revision)))
            .collect();
        let mut matching = Vec::new();
        for (id, host) in &live {
            let (record, revision) = match stored.remove(id) {
                Some(found) => found,
                None => self.record(id).await?,
            };
            let shown = Self::show(host, &record, revision);
            if filter.matches(&shown) {
                matching.push((id, shown, revision));
            }
        }
        let total_size = i32::try_from(matching.len()).unwrap_or(i32::MAX);
        // Hosts come from the runtimes, not from one store snapshot: a page starts after
        // the previous page's last id, whatever came or went in between.
        let after = token.map(|t| t.last);
        let mut page = matching.into_iter().filter(|(id, _, _)| {
            after
                .as_ref()
                .is_none_or(|last| id.as_str() > last.as_str())
        });
        let hosts: Vec<(&String, Host, i64)> = page.by_ref().take(limit).collect();
        let next_page_token = match (hosts.last(), page.next()) {
            (Some((last, _, _)), Some(_)) => {
                let revision = hosts.iter().map(|(_, _, r)| *r).max().unwrap_or(1).max(1);
                aip::encode_page_token(last, revision, &fingerprint)
            }
            _ => String::new(),
        };
        Ok(ListHostsResponse {
            hosts: hosts.into_iter().map(|(_, host, _)| host).collect(),
            next_page_token,
            total_size,
        })
    }

    /// CordonHost (`cordon` = `Some(reason)`) and UncordonHost (`None`).
    #[allow(clippy::too_many_arguments)]
    async fn set_cordon<Req: prost::Message>(
        &self,
        method: &str,
        request: &Req,
        name: &str,
        etag: &str,
        request_id: &str,
        validate_only: bool,
        cordon: Option<&str>,
    ) -> Result<Host, DeployError> {
        aip::validate_request_id(request_id)?;
        let id = model::parse_host_name("name", name)?;
        aip::parse_etag("etag", etag)?;
        if let Some(reason) = cordon {
            model::validate_reason(reason)?;
        }
        if validate_only {
            let live = self.live_host(id, name).await?;
            let (record, revision) = self.record(id).await?;
            aip::check_etag("etag", etag, revision, name)?;
            let planned = plan(&record, cordon);
            return Ok(Self::show(
                &live,
                planned.as_ref().unwrap_or(&record),
                revision,
            ));
        }
        // Everything that reads state runs inside: a retry with the same request id gets
        // the first answer even if the host changed since (its etag included).
        self.idempotency
            .run(method, request_id, request, || async move {
                self.apply_cordon(id, name, etag, cordon)
                    .await
                    .map_err(ApiError::from)
            })
            .await
            .map_err(DeployError::from)
    }

    /// The work of CordonHost and UncordonHost: record first, then the runtime.
    async fn apply_cordon(
        &self,
        id: &str,
        name: &str,
        etag: &str,
        cordon: Option<&str>,
    ) -> Result<Host, DeployError> {
        let live = self.live_host(id, name).await?;
        let (record, revision) = self.record(id).await?;
        aip::check_etag("etag", etag, revision, name)?;
        let planned = plan(&record, cordon);
        let changed = planned.is_some();
        let (record, revision) = match planned {
            None => (record, revision),
            Some(updated) => {
                let key = host_key(id);
                match typed::update_msg(self.store.as_ref(), &key, &updated, revision).await {
                    Ok(new_revision) => (updated, new_revision),
                    // The etag was current when checked but another write won.
                    Err(StoreError::Conflict { .. } | StoreError::NotFound { .. })
                        if !etag.is_empty() =>
                    {
                        return Err(ApiError::etag_mismatch(name).into());
                    }
                    Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {
                        return Err(ApiError::concurrent_modification(name).into());
                    }
                    Err(error) => return Err(DeployError::from(error)),
                }
            }
        };
        // Also when nothing changed: a call that failed here before (record
        // written, runtime not told) is completed by its retry.
        let schedulable = cordon.is_none();
        live.runtime
            .set_host_schedulable(id, schedulable)
            .await
            .map_err(|error| match error {
                RuntimeError::NotFound(_) => DeployError::NotFound(name.to_string()),
                error => {
                    let what = if schedulable { "uncordon" } else { "cordon" };
                    runtime_error(live.runtime.name(), what, &error)
                }
            })?;
        if changed {
            self.record_event(name, cordon);
        }
        Ok(Self::show(&live, &record, revision))
    }

    fn record_event(&self, name: &str, cordon: Option<&str>) {
        tracing::info!(
            host = name,
            cordoned = cordon.is_some(),
            "host cordon changed"
        );
        let Some(recorder) = &self.recorder else {
            return;
        };
        let (reason, message) = match cordon {
            Some("") => ("HOST_CORDONED", format!("{name} cordoned")),
            Some(why) => ("HOST_CORDONED", format!("{name} cordoned: {why}")),
            None => ("HOST_UNCORDONED", format!("{name} uncordoned")),
        };
        recorder.record_in_background(EventInput::new(
            None,
            EventType::Normal,
            name,
            "ferry.dev/Host",
            reason,
            message,
            COMPONENT,
        ));
    }
}

/// The record after CordonHost (`cordon` = `Some(reason)`) or UncordonHost (`None`);
/// `None` when nothing changes. `cordoned_by` is the caller the gateway authenticated.
fn plan(record: &HostRecord, cordon: Option<&str>) -> Option<HostRecord> {
    let now = op::now();
    match cordon {
        Some(reason) => model::cordon(record, reason, &caller::current(), now),
        None => model::uncordon(record, now),
    }
}

/// A runtime failure as an API error: UNAVAILABLE when retrying may help.
fn runtime_error(runtime: &str, what: &str, error: &RuntimeError) -> DeployError {
    let code = if error.is_transient() {
        Code::Unavailable
    } else {
        Code::Internal
    };
    ApiError::new(
        code,
        ErrorReason::BackendUnavailable,
        format!("runtime {runtime}: {what}: {error}"),
    )
    .with_metadata("runtime", runtime)
    .into()
}

fn status(error: DeployError) -> Status {
    error.into()
}

#[tonic::async_trait]
impl HostService for HostApi {
    async fn get_host(&self, request: Request<GetHostRequest>) -> Result<Response<Host>, Status> {
        Ok(Response::new(
            self.get(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn list_hosts(
        &self,
        request: Request<ListHostsRequest>,
    ) -> Result<Response<ListHostsResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn cordon_host(
        &self,
        request: Request<CordonHostRequest>,
    ) -> Result<Response<Host>, Status> {
        let request = request.into_inner();
        let host = self
            .set_cordon(
                "ferry.deploy.v1.HostService/CordonHost",
                &request,
                &request.name,
                &request.etag,
                &request.request_id,
                request.validate_only,
                Some(&request.reason),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(host))
    }

    async fn uncordon_host(
        &self,
        request: Request<UncordonHostRequest>,
    ) -> Result<Response<Host>, Status> {
        let request = request.into_inner();
        let host = self
            .set_cordon(
                "ferry.deploy.v1.HostService/UncordonHost",
                &request,
                &request.name,
                &request.etag,
                &request.request_id,
                request.validate_only,
                None,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(host))
    }
}
