//! Self-registration of service instances in etcd.
//!
//! Every instance writes `/ferry/v1/_sys/registrations/<service>/<instance id>` attached to a
//! lease it keeps alive. The gateway lists and watches that prefix to find healthy
//! instances; an instance that dies stops refreshing its lease and its registration
//! disappears within the lease's time to live.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_store::lease::LeaseKeeper;
use ferry_store::{Store, StoreResult, keys, typed};
use prost::Message;
use tokio_util::sync::CancellationToken;

/// What an instance says about itself.
#[derive(Clone, PartialEq, Message)]
pub struct InstanceRecord {
    /// Service name (`deploy`, `build`, …).
    #[prost(string, tag = "1")]
    pub service: String,
    /// Unique instance id.
    #[prost(string, tag = "2")]
    pub instance_id: String,
    /// `host:port` where its gRPC server answers.
    #[prost(string, tag = "3")]
    pub address: String,
    /// Build version of the binary.
    #[prost(string, tag = "4")]
    pub version: String,
    /// Start time, milliseconds since the Unix epoch.
    #[prost(int64, tag = "5")]
    pub started_unix_ms: i64,
    /// Fully qualified gRPC services it serves.
    #[prost(string, repeated, tag = "6")]
    pub grpc_services: Vec<String>,
}

/// The prefix holding one service's registrations.
pub fn service_prefix(service: &str) -> String {
    keys::sys::registrations(service).into_string()
}

/// The key of one registration.
pub fn instance_key(service: &str, instance_id: &str) -> String {
    keys::sys::registration(service, instance_id)
}

/// Lists the live instances of `service`.
pub async fn list_instances(store: &dyn Store, service: &str) -> StoreResult<Vec<InstanceRecord>> {
    let (items, _, _) =
        typed::list_msgs::<InstanceRecord>(store, &service_prefix(service), Default::default())
            .await?;
    Ok(items.into_iter().map(|(_, record, _)| record).collect())
}

/// Keeps this instance registered until `stop` is cancelled: writes the record under a
/// lease, and writes it again under a new lease whenever the old one is lost (an etcd
/// outage longer than the TTL). Revokes the lease on the way out, so the registration
/// disappears at once on a graceful shutdown.
pub async fn keep_registered(
    store: Arc<dyn Store>,
    record: InstanceRecord,
    ttl: Duration,
    stop: CancellationToken,
) {
    let key = instance_key(&record.service, &record.instance_id);
    let value = record.encode_to_vec();
    let mut backoff = Duration::from_millis(200);
    while !stop.is_cancelled() {
        let keeper = match LeaseKeeper::grant(store.clone(), ttl).await {
            Ok(keeper) => keeper,
            Err(error) => {
                tracing::warn!(%error, "cannot grant registration lease; retrying");
                sleep_or_stop(&stop, backoff).await;
                backoff = (backoff * 2).min(ttl);
                continue;
            }
        };
        if let Err(error) = store.put(&key, value.clone(), Some(keeper.id())).await {
            tracing::warn!(%error, "cannot write registration; retrying");
            sleep_or_stop(&stop, backoff).await;
            backoff = (backoff * 2).min(ttl);
            continue;
        }
        backoff = Duration::from_millis(200);
        tracing::info!(service = %record.service, instance = %record.instance_id, address = %record.address, "registered");
        let lost = keeper.lost();
        tokio::select! {
            _ = stop.cancelled() => {
                if let Err(error) = keeper.revoke().await {
                    tracing::warn!(%error, "cannot revoke registration lease; it expires by itself");
                }
                return;
            }
            _ = lost.cancelled() => {
                tracing::warn!(service = %record.service, "registration lease lost; registering again");
            }
        }
    }
}

async fn sleep_or_stop(stop: &CancellationToken, delay: Duration) {
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(delay) => {}
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_store::MemoryStore;

    #[tokio::test]
    async fn a_lost_registration_is_written_again_and_revoked_on_stop() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let record = InstanceRecord {
            service: "deploy".into(),
            instance_id: "deploy-1".into(),
            address: "127.0.0.1:1".into(),
            ..Default::default()
        };
        let stop = CancellationToken::new();
        let task = tokio::spawn(keep_registered(
            store.clone(),
            record.clone(),
            Duration::from_secs(2),
            stop.clone(),
        ));
        let key = instance_key("deploy", "deploy-1");
        let first = wait_for_key(store.as_ref(), &key, 0).await;
        assert_eq!(
            list_instances(store.as_ref(), "deploy").await.unwrap(),
            vec![record]
        );

        // The lease is lost (an etcd outage longer than the TTL, or an operator's revoke):
        // the key goes, and the instance registers again under a new lease.
        store.revoke_lease(first.lease).await.unwrap();
        let second = wait_for_key(store.as_ref(), &key, first.lease).await;
        assert_ne!(second.lease, first.lease);

        stop.cancel();
        task.await.unwrap();
        assert!(
            store.get(&key).await.unwrap().is_none(),
            "a graceful stop removes the registration"
        );
    }

    async fn wait_for_key(store: &dyn Store, key: &str, not_lease: i64) -> ferry_store::KeyValue {
        for _ in 0..200 {
            if let Some(kv) = store.get(key).await.unwrap()
                && kv.lease != not_lease
            {
                return kv;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{key} not (re-)registered");
    }
}
