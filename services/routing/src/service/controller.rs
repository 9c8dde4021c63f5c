//! The leader-elected status controller of Services (`routing-services`): per Service,
//! it reads the configuration, whether the target deployment exists, the target's
//! observed instances and what this replica's data plane applied and sees (backend
//! health), computes the status ([`super::model::compute_status`]) and writes it to the
//! Service's status key when it changed, fenced by leadership. It looks again every
//! [`POLL`], since backend health changes without any etcd write.
//!
//! A Service whose deployment disappears after it was created is kept, in state FAILED
//! with the condition `TargetFound` false; it recovers by itself when the deployment
//! comes back.

use std::sync::Arc;
use std::time::Duration;

use ferry_kit::error::ApiError;
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::deploy::v1::{Deployment, ListInstancesResponse};
use ferry_proto::ferry::routing::v1::Service;
use ferry_store::{KeyValue, StoreError, Txn, typed};
use prost::Message as _;

use super::model::{self, Observed};
use crate::dataplane::DataPlane;
use crate::layout;

/// How often a Service's status is recomputed while nothing in etcd changes.
pub const POLL: Duration = Duration::from_millis(500);

/// Writes the observed status of Services.
pub struct ServiceStatusReconciler {
    data_plane: Arc<dyn DataPlane>,
}

impl ServiceStatusReconciler {
    /// Reports what `data_plane` (this replica's) sees.
    pub fn new(data_plane: Arc<dyn DataPlane>) -> Self {
        ServiceStatusReconciler { data_plane }
    }
}

#[async_trait::async_trait]
impl Reconciler for ServiceStatusReconciler {
    fn name(&self) -> &'static str {
        "routing-services"
    }

    fn prefix(&self) -> String {
        layout::services_prefix(None)
    }

    async fn reconcile(
        &self,
        context: &ReconcileContext,
        key: &str,
        kv: Option<KeyValue>,
    ) -> Result<Action, ApiError> {
        let store = context.store.as_ref();
        let Some(name) = layout::service_name(key) else {
            return Ok(Action::Done);
        };
        let status_key = layout::service_status_key(name);
        let Some(kv) = kv else {
            // Deleted: the API removed the status with it; a leftover goes now.
            let txn = Txn::new().when(context.fence.clone()).delete(status_key);
            store.txn(txn).await?;
            return Ok(Action::Done);
        };
        let service: Service = typed::decode_msg(key, &kv.value)?;
        let target = model::target_deployment(&service)
            .unwrap_or_default()
            .to_string();
        let deployment =
            typed::get_msg::<Deployment>(store, &layout::deployment_key(&target)).await?;
        let target_found = deployment.is_some();
        let declared = deployment
            .and_then(|(d, _)| d.template)
            .map(|t| t.ports)
            .unwrap_or_default();
        let instances = if target_found {
            typed::get_msg::<ListInstancesResponse>(store, &layout::instances_key(&target))
                .await?
                .map(|(record, _)| record.instances)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let data_plane = self.data_plane.status(name).await;
        let previous = typed::get_msg::<Service>(store, &status_key).await?;
        let status = model::compute_status(
            &service,
            &Observed {
                generation: kv.version,
                target_found,
                instances: &instances,
                declared: &declared,
                data_plane: data_plane.as_ref(),
                previous: previous.as_ref().map(|(status, _)| status),
                now: ferry_ops::operation::now(),
            },
        );
        if previous.as_ref().map(|(status, _)| status) != Some(&status) {
            // Only while the configuration is still the one read: a delete in between
            // must not leave a status behind.
            let txn = Txn::new()
                .when(context.fence.clone())
                .when(ferry_store::Precondition::ModRevision(
                    key.to_string(),
                    kv.mod_revision,
                ))
                .put(status_key, status.encode_to_vec());
            match store.txn(txn).await {
                Ok(_) => {}
                Err(StoreError::Conflict { .. }) => {
                    return Ok(Action::RequeueAfter(Duration::ZERO));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Action::RequeueAfter(POLL))
    }
}
