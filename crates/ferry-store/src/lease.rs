//! [`LeaseKeeper`]: holds a lease alive in the background.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{LeaseId, Store, StoreError, StoreResult};

/// Grants a lease and refreshes it every third of its TTL in a background task.
///
/// Keys written with [`LeaseKeeper::id`] (registrations, leader keys) live as long as the
/// keeper does:
///
/// * [`LeaseKeeper::revoke`] ends the lease at once, deleting its keys (graceful
///   shutdown);
/// * dropping the keeper stops the refreshes: the lease, and its keys, expire after the
///   TTL (what happens when a process dies);
/// * when the lease is lost anyway — the store answers it is gone
///   ([`StoreError::LeaseNotFound`]), or no refresh succeeded for a whole TTL, so it must
///   be considered expired — the [`LeaseKeeper::lost`] token is cancelled: whoever relies
///   on the lease (a leader) must stop acting on it.
///
/// Must be created inside a tokio runtime.
pub struct LeaseKeeper {
    id: LeaseId,
    ttl: Duration,
    store: Arc<dyn Store>,
    lost: CancellationToken,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LeaseKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseKeeper")
            .field("id", &self.id)
            .field("ttl", &self.ttl)
            .field("lost", &self.is_lost())
            .finish_non_exhaustive()
    }
}

impl LeaseKeeper {
    /// Grants a lease of `ttl` and starts refreshing it.
    pub async fn grant(store: Arc<dyn Store>, ttl: Duration) -> StoreResult<Self> {
        let granted_at = Instant::now();
        let id = store.grant_lease(ttl).await?;
        tracing::debug!(lease = id, ttl = ?ttl, "lease granted");
        let lost = CancellationToken::new();
        let stop = CancellationToken::new();
        let refresher = Refresher {
            store: store.clone(),
            id,
            ttl,
            deadline: granted_at + ttl,
            lost: lost.clone(),
            stop: stop.clone(),
        };
        let task = tokio::spawn(refresher.run());
        Ok(LeaseKeeper {
            id,
            ttl,
            store,
            lost,
            stop,
            task: Some(task),
        })
    }

    /// The lease id (attach keys to it).
    pub fn id(&self) -> LeaseId {
        self.id
    }

    /// The requested time to live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token cancelled when the lease is lost (expired, revoked elsewhere, or the store
    /// was unreachable for longer than the TTL). Await `lost().cancelled()`.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// True once the lease is lost.
    pub fn is_lost(&self) -> bool {
        self.lost.is_cancelled()
    }

    /// Stops refreshing and revokes the lease, deleting its keys. A lease that is already
    /// gone is not an error.
    pub async fn revoke(mut self) -> StoreResult<()> {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let result = match self.store.revoke_lease(self.id).await {
            Ok(()) | Err(StoreError::LeaseNotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        };
        tracing::debug!(lease = self.id, ok = result.is_ok(), "lease revoked");
        result
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct Refresher {
    store: Arc<dyn Store>,
    id: LeaseId,
    ttl: Duration,
    /// When the lease expires unless refreshed.
    deadline: Instant,
    lost: CancellationToken,
    stop: CancellationToken,
}

impl Refresher {
    async fn run(mut self) {
        let interval = (self.ttl / 3).max(Duration::from_millis(10));
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            if !self.refresh().await {
                return;
            }
        }
    }

    /// Refreshes the lease, retrying until it expires; false when the keeper must stop.
    async fn refresh(&mut self) -> bool {
        loop {
            let sent_at = Instant::now();
            let remaining = self.deadline.saturating_duration_since(sent_at);
            if remaining.is_zero() {
                tracing::warn!(lease = self.id, "lease not refreshed within its ttl, lost");
                self.lost.cancel();
                return false;
            }
            let result = tokio::select! {
                _ = self.stop.cancelled() => return false,
                result = tokio::time::timeout(remaining, self.store.keep_alive(self.id)) => result,
            };
            match result {
                Ok(Ok(ttl)) => {
                    self.deadline = sent_at + ttl;
                    return true;
                }
                Ok(Err(StoreError::LeaseNotFound { .. })) => {
                    tracing::warn!(lease = self.id, "lease expired, lost");
                    self.lost.cancel();
                    return false;
                }
                Ok(Err(error)) => {
                    tracing::debug!(lease = self.id, %error, "lease refresh failed, retrying");
                    let pause = (remaining / 4).min(Duration::from_secs(1));
                    tokio::select! {
                        _ = self.stop.cancelled() => return false,
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
                Err(_) => {
                    tracing::warn!(
                        lease = self.id,
                        "lease refresh timed out past its ttl, lost"
                    );
                    self.lost.cancel();
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[tokio::test(start_paused = true)]
    async fn keeps_alive_until_dropped() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let keeper = LeaseKeeper::grant(store.clone(), Duration::from_secs(3))
            .await
            .unwrap();
        store
            .put("/reg", b"me".to_vec(), Some(keeper.id()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert!(store.get("/reg").await.unwrap().is_some());
        assert!(!keeper.is_lost());
        drop(keeper);
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(store.get("/reg").await.unwrap().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn reports_loss() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let keeper = LeaseKeeper::grant(store.clone(), Duration::from_secs(3))
            .await
            .unwrap();
        store.revoke_lease(keeper.id()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), keeper.lost().cancelled())
            .await
            .unwrap();
        assert!(keeper.is_lost());
        keeper.revoke().await.unwrap();
    }
}
