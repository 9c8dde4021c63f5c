//! Leader election with etcd leases.
//!
//! Each controller elects one leader among the replicas of its service: the leader holds
//! `/ferry/v1/_sys/leaders/<controller>` attached to a lease it keeps alive. Candidates
//! try to create the key; while it exists they wait, re-checking about every third of the
//! TTL (and at once when they see it deleted). A leader that dies stops refreshing its
//! lease, the key expires within the TTL, and a candidate takes over.
//!
//! [`Leadership::fence`] is a transaction precondition on the leader key's revision:
//! writes made under it fail once leadership has passed to another replica, so a paused
//! old leader cannot overwrite the new leader's work.

use std::sync::Arc;
use std::time::Duration;

use ferry_store::lease::LeaseKeeper;
use ferry_store::{Precondition, Revision, Store, StoreError, StoreResult, keys};
use tokio_util::sync::CancellationToken;

/// The key a controller's leader holds.
pub fn leader_key(controller: &str) -> String {
    keys::sys::leader(controller)
}

/// Held leadership. Dropping it without [`Leadership::resign`] lets the lease expire.
pub struct Leadership {
    key: String,
    revision: Revision,
    keeper: LeaseKeeper,
}

impl Leadership {
    /// Cancelled when leadership is lost (the lease could not be kept alive).
    pub fn lost(&self) -> CancellationToken {
        self.keeper.lost()
    }

    /// A precondition that holds only while this leadership does.
    pub fn fence(&self) -> Precondition {
        Precondition::ModRevision(self.key.clone(), self.revision)
    }

    /// Gives leadership up at once (revokes the lease, deleting the key).
    pub async fn resign(self) -> StoreResult<()> {
        self.keeper.revoke().await
    }
}

/// Campaigns until this replica leads `controller` or `stop` is cancelled (→ `None`).
pub async fn campaign(
    store: Arc<dyn Store>,
    controller: &str,
    identity: &str,
    ttl: Duration,
    stop: &CancellationToken,
) -> Option<Leadership> {
    let key = leader_key(controller);
    let mut backoff = Duration::from_millis(100);
    loop {
        if stop.is_cancelled() {
            return None;
        }
        match try_acquire(store.clone(), &key, identity, ttl).await {
            Ok(Some(leadership)) => {
                tracing::info!(controller, identity, "became leader");
                return Some(leadership);
            }
            Ok(None) => {
                backoff = Duration::from_millis(100);
                wait_for_vacancy(store.as_ref(), &key, ttl, stop).await;
            }
            Err(error) => {
                tracing::warn!(controller, %error, "leader election failed; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return None,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(ttl);
            }
        }
    }
}

async fn try_acquire(
    store: Arc<dyn Store>,
    key: &str,
    identity: &str,
    ttl: Duration,
) -> StoreResult<Option<Leadership>> {
    let keeper = LeaseKeeper::grant(store.clone(), ttl).await?;
    match store
        .create(key, identity.as_bytes().to_vec(), Some(keeper.id()))
        .await
    {
        Ok(revision) => Ok(Some(Leadership {
            key: key.to_string(),
            revision,
            keeper,
        })),
        Err(StoreError::AlreadyExists { .. }) => {
            // Someone else leads; don't keep an unused lease around.
            if let Err(error) = keeper.revoke().await {
                tracing::debug!(%error, "cannot revoke unused candidate lease; it expires by itself");
            }
            Ok(None)
        }
        Err(error) => {
            let _ = keeper.revoke().await;
            Err(error)
        }
    }
}

/// Returns when the leader key is deleted, after about a third of the TTL, or on stop.
async fn wait_for_vacancy(store: &dyn Store, key: &str, ttl: Duration, stop: &CancellationToken) {
    let recheck = ttl / 3;
    let watch = async {
        let Ok(Some(current)) = store.get(key).await else {
            return;
        };
        let Ok(mut events) = store.watch(key, current.mod_revision).await else {
            std::future::pending::<()>().await;
            return;
        };
        while let Some(Ok(batch)) = futures::StreamExt::next(&mut events).await {
            if batch
                .events
                .iter()
                .any(|event| matches!(event, ferry_store::WatchEvent::Delete { .. }))
            {
                return;
            }
        }
    };
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = watch => {}
        _ = tokio::time::sleep(recheck) => {}
    }
}
