//! `request_id` de-duplication (AIP-155).
//!
//! A mutating request that carries a `request_id` is answered once: its response is kept
//! in etcd for the retention window (default 24 h) under
//! `/ferry/v1/_sys/idempotency/<method>/<request_id>`, and a retry of the same request gets
//! the same response without doing the work again. Reusing a `request_id` for a different
//! request is INVALID_ARGUMENT (`REQUEST_ID_REUSED`).
//!
//! Records expire through leases: one lease is granted for each slice of the window
//! (1/24th of it) and shared by every record written in that slice, so a record lives
//! between 23/24 and the whole of the window without any sweeping.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_store::{LeaseId, Store, StoreError, keys};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tonic::Code;

use crate::aip;
use crate::error::ApiError;

/// Default retention of request ids.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// A stored response.
#[derive(Clone, PartialEq, Message)]
struct RequestRecord {
    /// Digest of the request that used the id.
    #[prost(bytes = "vec", tag = "1")]
    request_digest: Vec<u8>,
    /// The encoded response.
    #[prost(bytes = "vec", tag = "2")]
    response: Vec<u8>,
}

/// De-duplicates requests by `request_id`.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn Store>,
    window: Duration,
    lease: Arc<Mutex<Option<(LeaseId, Instant)>>>,
}

impl Idempotency {
    /// Keeps request ids for `window`.
    pub fn new(store: Arc<dyn Store>, window: Duration) -> Self {
        Self {
            store,
            window,
            lease: Arc::new(Mutex::new(None)),
        }
    }

    /// The key of a request id's record.
    pub fn record_key(method: &str, request_id: &str) -> String {
        keys::sys::idempotency(method, request_id)
    }

    /// Answers `request` once per `request_id`: the first time by running `work` and
    /// keeping its response, later times from the kept response. An empty `request_id`
    /// just runs `work`. Errors are not kept: a failed request may be retried.
    pub async fn run<Req, Resp, F, Fut>(
        &self,
        method: &str,
        request_id: &str,
        request: &Req,
        work: F,
    ) -> Result<Resp, ApiError>
    where
        Req: Message,
        Resp: Message + Default,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Resp, ApiError>>,
    {
        if request_id.is_empty() {
            return work().await;
        }
        aip::validate_request_id(request_id)?;
        let key = Self::record_key(method, request_id);
        let digest = Sha256::digest(request.encode_to_vec()).to_vec();
        if let Some(response) = self.lookup(&key, &digest).await? {
            return Ok(response);
        }
        let response = work().await?;
        let record = RequestRecord {
            request_digest: digest.clone(),
            response: response.encode_to_vec(),
        };
        let lease = self.current_lease().await?;
        match self
            .store
            .create(&key, record.encode_to_vec(), Some(lease))
            .await
        {
            Ok(_) => Ok(response),
            // A concurrent duplicate finished first: answer what it answered, so every
            // caller with this id sees one response.
            Err(StoreError::AlreadyExists { .. }) => {
                Ok(self.lookup(&key, &digest).await?.unwrap_or(response))
            }
            Err(error) => {
                tracing::warn!(%error, method, "cannot keep the response of a request id; a retry may run again");
                Ok(response)
            }
        }
    }

    async fn lookup<Resp: Message + Default>(
        &self,
        key: &str,
        digest: &[u8],
    ) -> Result<Option<Resp>, ApiError> {
        let Some(kv) = self.store.get(key).await? else {
            return Ok(None);
        };
        let record = RequestRecord::decode(kv.value.as_slice())
            .map_err(|error| ApiError::internal(&error))?;
        if record.request_digest != digest {
            return Err(ApiError::new(
                Code::InvalidArgument,
                ErrorReason::RequestIdReused,
                "request_id was already used for a different request: use a new UUID per request",
            )
            .with_field_violation("request_id", "already used for a different request"));
        }
        let response =
            Resp::decode(record.response.as_slice()).map_err(|error| ApiError::internal(&error))?;
        Ok(Some(response))
    }

    async fn current_lease(&self) -> Result<LeaseId, ApiError> {
        let mut slot = self.lease.lock().await;
        let slice = self.window / 24;
        if let Some((lease, granted)) = *slot
            && granted.elapsed() < slice
        {
            return Ok(lease);
        }
        let lease = self.store.grant_lease(self.window).await?;
        *slot = Some((lease, Instant::now()));
        Ok(lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_store::MemoryStore;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_request_id_is_answered_once() {
        let idempotency = Idempotency::new(Arc::new(MemoryStore::new()), DEFAULT_WINDOW);
        let calls = AtomicUsize::new(0);
        let id = "0b0c1f6e-8a3e-4c39-9d0e-5b7f0f3d2a11";
        let request = prost_types::Duration {
            seconds: 1,
            nanos: 0,
        };
        for _ in 0..3 {
            let response: prost_types::Timestamp = idempotency
                .run("m", id, &request, || async {
                    let n = calls.fetch_add(1, Ordering::SeqCst) as i64;
                    Ok(prost_types::Timestamp {
                        seconds: 100 + n,
                        nanos: 0,
                    })
                })
                .await
                .unwrap();
            assert_eq!(response.seconds, 100);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let other_request = prost_types::Duration {
            seconds: 2,
            nanos: 0,
        };
        let error = idempotency
            .run::<_, prost_types::Timestamp, _, _>("m", id, &other_request, || async {
                unreachable!()
            })
            .await
            .unwrap_err();
        assert_eq!(error.reason, ErrorReason::RequestIdReused);
        let error = idempotency
            .run::<_, prost_types::Timestamp, _, _>("m", "not-a-uuid", &request, || async {
                unreachable!()
            })
            .await
            .unwrap_err();
        assert_eq!(error.reason, ErrorReason::InvalidRequestId);
    }
}
