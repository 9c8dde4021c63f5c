//! The leader-elected status controller of external entries
//! (`routing-external-entries`): per entry, the health of each address as this
//! replica's data plane sees it (its active checks), the entry's state and conditions,
//! written to the entry's status key when they change, fenced by leadership; again every
//! [`POLL`].

use std::sync::Arc;
use std::time::Duration;

use ferry_kit::error::ApiError;
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::catalog::v1::ExternalEntry;
use ferry_store::{KeyValue, Precondition, StoreError, Txn, typed};
use prost::Message as _;

use super::model::{self, ExternalRecord};
use crate::dataplane::DataPlane;
use crate::layout;
use crate::resolve::Resolver;

/// How often an entry's status is recomputed while nothing in etcd changes.
pub const POLL: Duration = Duration::from_millis(500);

/// Writes the observed status of external entries.
pub struct ExternalStatusReconciler {
    data_plane: Arc<dyn DataPlane>,
    resolver: Arc<Resolver>,
}

impl ExternalStatusReconciler {
    /// Reports what `data_plane` (this replica's) sees.
    pub fn new(data_plane: Arc<dyn DataPlane>, resolver: Arc<Resolver>) -> Self {
        ExternalStatusReconciler {
            data_plane,
            resolver,
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for ExternalStatusReconciler {
    fn name(&self) -> &'static str {
        "routing-external-entries"
    }

    fn prefix(&self) -> String {
        layout::external_entries_prefix(None)
    }

    async fn reconcile(
        &self,
        context: &ReconcileContext,
        key: &str,
        kv: Option<KeyValue>,
    ) -> Result<Action, ApiError> {
        let store = context.store.as_ref();
        let Some(name) = layout::external_entry_name(key) else {
            return Ok(Action::Done);
        };
        let status_key = layout::external_status_key(name);
        let Some(kv) = kv else {
            store
                .txn(Txn::new().when(context.fence.clone()).delete(status_key))
                .await?;
            return Ok(Action::Done);
        };
        let record: ExternalRecord = typed::decode_msg(key, &kv.value)?;
        let hosts: Vec<String> = record
            .entry
            .iter()
            .flat_map(|e| e.addresses.iter().map(|a| a.host.clone()))
            .collect();
        let resolved = self
            .resolver
            .resolve(hosts.iter().map(String::as_str))
            .await;
        let data_plane = self.data_plane.status(name).await;
        let previous = typed::get_msg::<ExternalEntry>(store, &status_key).await?;
        let status = model::compute_status(
            &record,
            &resolved,
            data_plane.as_ref(),
            previous.as_ref().map(|(status, _)| status),
            ferry_ops::operation::now(),
        );
        if previous.as_ref().map(|(status, _)| status) != Some(&status) {
            let txn = Txn::new()
                .when(context.fence.clone())
                .when(Precondition::ModRevision(key.to_string(), kv.mod_revision))
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
