//! Durable long-running operations.
//!
//! An [`Operation`] lives in etcd at `/ferry/v1/_sys/operations/<id>` from the moment a
//! request is accepted until it is deleted. Its etag is the key's `mod_revision`. Every
//! change is a compare-and-swap ([`Operations::update`]), so two controllers (an old
//! leader that has not noticed yet, and a new one) can never overwrite each other's
//! progress unknowingly. Pure helpers ([`start`], [`set_stage`], [`succeed`], [`fail`])
//! edit an operation in memory; the store calls persist it.
//!
//! Operation ids sort newest first: `o` + hex(u64::MAX − microseconds since the epoch) +
//! random hex, so a key-ordered listing is a newest-first listing.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::{
    ErrorReason, Operation, OperationMetadata, OperationStage, OperationState, StageState,
    operation,
};
use ferry_store::{Precondition, Revision, Store, StoreError, Txn, keys, typed};
use prost::Message;
use tonic::Code;

/// The name pattern of operations.
pub const OPERATION_NAME: NamePattern = NamePattern("operations/{operation}");

/// The key prefix of every operation.
pub fn operations_prefix() -> String {
    keys::sys::operations().into_string()
}

/// The key of one operation (`name` is `operations/{id}`): `/ferry/v1/_sys/operations/{id}`.
pub fn operation_key(name: &str) -> String {
    keys::sys::operations().key(name.strip_prefix("operations/").unwrap_or(name))
}

/// Builds a new, pending operation on `target`. Pure.
pub fn new_operation(
    target: &str,
    verb: &str,
    stages: &[(&str, &str)],
    initiator: &str,
) -> Operation {
    let now = now();
    Operation {
        name: format!("operations/{}", new_operation_id()),
        metadata: Some(OperationMetadata {
            target: target.to_string(),
            verb: verb.to_string(),
            state: OperationState::Pending as i32,
            stages: stages
                .iter()
                .map(|(id, display_name)| OperationStage {
                    id: id.to_string(),
                    display_name: display_name.to_string(),
                    state: StageState::Pending as i32,
                    ..Default::default()
                })
                .collect(),
            create_time: Some(now),
            update_time: Some(now),
            initiator: initiator.to_string(),
            ..Default::default()
        }),
        done: false,
        result: None,
        etag: String::new(),
    }
}

fn new_operation_id() -> String {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    format!("o{:016x}{:08x}", u64::MAX - micros, rand::random::<u32>())
}

/// The current time as a protobuf timestamp.
pub fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}

fn metadata_mut(operation: &mut Operation) -> &mut OperationMetadata {
    operation.metadata.get_or_insert_with(Default::default)
}

/// The operation's state.
pub fn state(operation: &Operation) -> OperationState {
    operation
        .metadata
        .as_ref()
        .map(|m| m.state())
        .unwrap_or(OperationState::Unspecified)
}

/// True when cancellation was requested.
pub fn cancel_requested(operation: &Operation) -> bool {
    operation
        .metadata
        .as_ref()
        .is_some_and(|m| m.cancel_requested)
}

/// Marks the operation running (first pick-up keeps its start time). Pure.
pub fn start(operation: &mut Operation) {
    let now = now();
    let metadata = metadata_mut(operation);
    if metadata.start_time.is_none() {
        metadata.start_time = Some(now);
    }
    metadata.state = OperationState::Running as i32;
    metadata.update_time = Some(now);
}

/// Sets one stage's state and message, and recomputes the overall progress. Pure.
pub fn set_stage(
    operation: &mut Operation,
    stage_id: &str,
    stage_state: StageState,
    message: &str,
) {
    let now = now();
    let metadata = metadata_mut(operation);
    if let Some(stage) = metadata
        .stages
        .iter_mut()
        .find(|stage| stage.id == stage_id)
    {
        if stage_state == StageState::Running && stage.start_time.is_none() {
            stage.start_time = Some(now);
        }
        if matches!(
            stage_state,
            StageState::Succeeded
                | StageState::Failed
                | StageState::Skipped
                | StageState::Cancelled
        ) {
            stage.end_time = Some(now);
        }
        stage.state = stage_state as i32;
        stage.message = message.to_string();
    }
    let total = metadata.stages.len().max(1);
    let finished = metadata
        .stages
        .iter()
        .filter(|stage| matches!(stage.state(), StageState::Succeeded | StageState::Skipped))
        .count();
    metadata.progress_percent = (finished * 100 / total) as i32;
    metadata.status_message = message.to_string();
    metadata.update_time = Some(now);
}

/// Ends the operation successfully with `response` packed as `type_url`. Pure.
pub fn succeed<M: Message>(operation: &mut Operation, type_name: &str, response: &M) {
    let now = now();
    let metadata = metadata_mut(operation);
    metadata.state = OperationState::Succeeded as i32;
    metadata.progress_percent = 100;
    metadata.end_time = Some(now);
    metadata.update_time = Some(now);
    operation.done = true;
    operation.result = Some(operation::Result::Response(prost_types::Any {
        type_url: format!("type.googleapis.com/{type_name}"),
        value: response.encode_to_vec(),
    }));
}

/// Ends the operation with an error (CANCELLED code → cancelled state). Pure.
pub fn fail(operation: &mut Operation, error: ApiError) {
    let now = now();
    let cancelled = error.code == Code::Cancelled;
    let status: tonic::Status = error.into();
    let metadata = metadata_mut(operation);
    metadata.state = if cancelled {
        OperationState::Cancelled
    } else {
        OperationState::Failed
    } as i32;
    metadata.end_time = Some(now);
    metadata.update_time = Some(now);
    metadata.status_message = status.message().to_string();
    for stage in &mut metadata.stages {
        if matches!(stage.state(), StageState::Pending | StageState::Running) {
            stage.state = if cancelled {
                StageState::Cancelled
            } else {
                StageState::Failed
            } as i32;
            stage.end_time = Some(now);
        }
    }
    operation.done = true;
    operation.result = Some(operation::Result::Error(tonic_types::pb::Status {
        code: status.code() as i32,
        message: status.message().to_string(),
        details: decode_details(&status),
    }));
}

/// The `google.rpc.Status.details` of a status built by [`ApiError`].
fn decode_details(status: &tonic::Status) -> Vec<prost_types::Any> {
    match tonic_types::pb::Status::decode(status.details()) {
        Ok(rpc_status) => rpc_status.details,
        Err(_) => Vec::new(),
    }
}

/// Operations in the store.
#[derive(Clone)]
pub struct Operations {
    store: Arc<dyn Store>,
}

impl Operations {
    /// Operations kept in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A transaction that creates `operation` (add the resource writes that must happen
    /// with it, then run it with [`Store::txn`]).
    pub fn create_txn(operation: &Operation) -> Txn {
        let key = operation_key(&operation.name);
        Txn::new()
            .when(Precondition::Absent(key.clone()))
            .put(key, operation.encode_to_vec())
    }

    /// Stores a new operation.
    pub async fn create(&self, mut operation: Operation) -> Result<Operation, ApiError> {
        let revision = self.store.txn(Self::create_txn(&operation)).await?;
        operation.etag = aip::etag(revision);
        Ok(operation)
    }

    /// Reads an operation by name (validated).
    pub async fn get(&self, name: &str) -> Result<(Operation, Revision), ApiError> {
        OPERATION_NAME.parse("name", name)?;
        match typed::get_msg::<Operation>(self.store.as_ref(), &operation_key(name)).await? {
            Some((mut operation, revision)) => {
                operation.etag = aip::etag(revision);
                Ok((operation, revision))
            }
            None => Err(ApiError::not_found(name)),
        }
    }

    /// Applies `change` to the stored operation with compare-and-swap, re-reading and
    /// re-applying on a concurrent change. `change` may refuse by returning an error.
    /// A finished operation is never changed again (its result is final).
    pub async fn update<F>(&self, name: &str, mut change: F) -> Result<Operation, ApiError>
    where
        F: FnMut(&mut Operation) -> Result<(), ApiError>,
    {
        for _ in 0..16 {
            let (mut operation, revision) = self.get(name).await?;
            if operation.done {
                return Ok(operation);
            }
            change(&mut operation)?;
            operation.etag.clear();
            match self
                .store
                .update(&operation_key(name), operation.encode_to_vec(), revision)
                .await
            {
                Ok(new_revision) => {
                    operation.etag = aip::etag(new_revision);
                    return Ok(operation);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_modification(name))
    }

    /// Records a cancel request; the owning controller ends the operation.
    pub async fn request_cancel(&self, name: &str) -> Result<Operation, ApiError> {
        self.update(name, |operation| {
            let metadata = metadata_mut(operation);
            metadata.cancel_requested = true;
            metadata.update_time = Some(now());
            Ok(())
        })
        .await
    }

    /// Deletes a finished operation.
    pub async fn delete(&self, name: &str) -> Result<(), ApiError> {
        let (operation, revision) = self.get(name).await?;
        if !operation.done {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                name,
                format!("{name} is still running: cancel it or wait until it is done"),
            ));
        }
        match self
            .store
            .delete(&operation_key(name), Some(revision))
            .await
        {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(StoreError::Conflict { .. }) => Err(ApiError::concurrent_modification(name)),
            Err(error) => Err(error.into()),
        }
    }

    /// Lists operations newest first, with an AIP-160 filter subset.
    pub async fn list(
        &self,
        filter: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Operation>, String), ApiError> {
        let filter = OperationFilter::parse(filter)?;
        let limit = aip::page_size(page_size)?;
        let fingerprint = aip::request_fingerprint(&[&format!("{filter:?}")]);
        let token = aip::decode_page_token(page_token, &fingerprint)?;
        let prefix = operations_prefix();
        let mut start_after = token.as_ref().map(|t| operation_key(&t.last));
        let mut revision = token.as_ref().map(|t| t.revision);
        let mut operations = Vec::new();
        // Filtering happens after reading, so read in chunks until the page is full.
        loop {
            let options = ferry_store::ListOptions {
                start_after: start_after.clone(),
                limit: limit * 2,
                revision,
            };
            let (items, more, read_revision) =
                typed::list_msgs::<Operation>(self.store.as_ref(), &prefix, options).await?;
            revision = Some(read_revision);
            let chunk_len = items.len();
            let mut last_key = None;
            for (index, (key, mut operation, mod_revision)) in items.into_iter().enumerate() {
                last_key = Some(key);
                if filter.matches(&operation) {
                    operation.etag = aip::etag(mod_revision);
                    operations.push(operation);
                    if operations.len() == limit {
                        let next = if more || index + 1 < chunk_len {
                            aip::encode_page_token(
                                &operations[limit - 1].name,
                                read_revision,
                                &fingerprint,
                            )
                        } else {
                            String::new()
                        };
                        return Ok((operations, next));
                    }
                }
            }
            if !more {
                return Ok((operations, String::new()));
            }
            start_after = last_key;
        }
    }

    /// Waits until the operation is done or `timeout` passes, watching its key.
    pub async fn wait(&self, name: &str, timeout: Duration) -> Result<Operation, ApiError> {
        let (operation, revision) = self.get(name).await?;
        if operation.done {
            return Ok(operation);
        }
        let mut watch = self.store.watch(&operation_key(name), revision).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, futures::StreamExt::next(&mut watch)).await {
                Err(_) => return Ok(self.get(name).await?.0),
                Ok(None) => return Ok(self.get(name).await?.0),
                Ok(Some(Err(error))) => return Err(error.into()),
                Ok(Some(Ok(batch))) => {
                    for event in batch.events {
                        if let ferry_store::WatchEvent::Put(kv) = event {
                            let mut operation = Operation::decode(kv.value.as_slice())
                                .map_err(|error| ApiError::internal(&error))?;
                            if operation.done {
                                operation.etag = aip::etag(kv.mod_revision);
                                return Ok(operation);
                            }
                        } else {
                            return Err(ApiError::not_found(name));
                        }
                    }
                }
            }
        }
    }
}

/// The filters ListOperations understands: `field = value` terms joined by `AND`, over
/// `target`, `verb`, `done` and `metadata.state`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperationFilter {
    target: Option<String>,
    verb: Option<String>,
    done: Option<bool>,
    state: Option<OperationState>,
}

impl OperationFilter {
    /// Parses a filter; anything else is INVALID_ARGUMENT on `filter`.
    pub fn parse(filter: &str) -> Result<Self, ApiError> {
        let invalid = |description: String| {
            ApiError::new(
                Code::InvalidArgument,
                ErrorReason::InvalidFilter,
                format!("invalid filter: {description}"),
            )
            .with_field_violation("filter", description)
        };
        let mut parsed = Self::default();
        if filter.trim().is_empty() {
            return Ok(parsed);
        }
        for term in filter.split(" AND ") {
            let (field, value) = term
                .split_once('=')
                .ok_or_else(|| invalid(format!("{:?} is not `field = value`", term.trim())))?;
            let field = field.trim();
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            match field {
                "target" => parsed.target = Some(unquoted.to_string()),
                "verb" => parsed.verb = Some(unquoted.to_string()),
                "done" => {
                    parsed.done = Some(match unquoted {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(invalid(format!(
                                "done must be true or false, not {other:?}"
                            )));
                        }
                    })
                }
                "metadata.state" | "state" => {
                    let name = format!(
                        "OPERATION_STATE_{}",
                        unquoted.trim_start_matches("OPERATION_STATE_")
                    );
                    parsed.state = Some(
                        OperationState::from_str_name(&name)
                            .ok_or_else(|| invalid(format!("unknown state {unquoted:?}")))?,
                    );
                }
                other => {
                    return Err(invalid(format!(
                        "unknown field {other:?} (filterable: target, verb, done, metadata.state)"
                    )));
                }
            }
        }
        Ok(parsed)
    }

    /// True when the operation passes the filter.
    pub fn matches(&self, operation: &Operation) -> bool {
        let metadata = operation.metadata.clone().unwrap_or_default();
        self.target.as_ref().is_none_or(|t| *t == metadata.target)
            && self.verb.as_ref().is_none_or(|v| *v == metadata.verb)
            && self.done.is_none_or(|d| d == operation.done)
            && self.state.is_none_or(|s| s == metadata.state())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_store::MemoryStore;

    #[test]
    fn ids_sort_newest_first_and_are_valid_names() {
        let first = new_operation("namespaces/a", "create", &[], "");
        std::thread::sleep(Duration::from_millis(2));
        let second = new_operation("namespaces/a", "create", &[], "");
        assert!(second.name < first.name);
        OPERATION_NAME.parse("name", &first.name).unwrap();
    }

    #[test]
    fn stages_drive_progress_and_failure_closes_them() {
        let mut operation = new_operation(
            "namespaces/a",
            "create",
            &[("one", "One"), ("two", "Two")],
            "users/x",
        );
        start(&mut operation);
        set_stage(&mut operation, "one", StageState::Succeeded, "one done");
        assert_eq!(operation.metadata.as_ref().unwrap().progress_percent, 50);
        fail(
            &mut operation,
            ApiError::new(
                Code::Cancelled,
                ErrorReason::InvalidState,
                "cancelled by user",
            ),
        );
        assert!(operation.done);
        assert_eq!(state(&operation), OperationState::Cancelled);
        assert_eq!(
            operation.metadata.as_ref().unwrap().stages[1].state(),
            StageState::Cancelled
        );
        match operation.result {
            Some(operation::Result::Error(status)) => {
                assert_eq!(status.code, Code::Cancelled as i32);
                assert!(!status.details.is_empty(), "error info kept");
            }
            other => panic!("unexpected result {other:?}"),
        }
    }

    #[test]
    fn filters_parse_and_refuse_unknown_fields() {
        let filter = OperationFilter::parse("target = \"namespaces/a\" AND done = false").unwrap();
        let operation = new_operation("namespaces/a", "create", &[], "");
        assert!(filter.matches(&operation));
        assert!(
            !OperationFilter::parse("verb = delete")
                .unwrap()
                .matches(&operation)
        );
        assert_eq!(
            OperationFilter::parse("owner = x").unwrap_err().reason,
            ErrorReason::InvalidFilter
        );
        assert_eq!(
            OperationFilter::parse("done = maybe")
                .unwrap_err()
                .field_violations[0]
                .0,
            "filter"
        );
    }

    #[tokio::test]
    async fn store_round_trip_paging_and_final_results() {
        let operations = Operations::new(Arc::new(MemoryStore::new()));
        let mut names = Vec::new();
        for i in 0..5 {
            let operation = operations
                .create(new_operation(
                    &format!("namespaces/n{i}"),
                    "create",
                    &[],
                    "",
                ))
                .await
                .unwrap();
            names.push(operation.name);
        }
        let (page, token) = operations.list("", 2, "").await.unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0].name, names[4], "newest first");
        let (page2, _) = operations.list("", 2, &token).await.unwrap();
        assert_eq!(page2[0].name, names[2]);
        assert_eq!(
            operations
                .list("verb = \"delete\"", 2, &token)
                .await
                .unwrap_err()
                .reason,
            ErrorReason::InvalidPageToken
        );

        let done = operations
            .update(&names[0], |operation| {
                succeed(operation, "google.protobuf.Empty", &());
                Ok(())
            })
            .await
            .unwrap();
        assert!(done.done);
        // A finished operation does not change any more.
        let after = operations.request_cancel(&names[0]).await.unwrap();
        assert!(!cancel_requested(&after));
        operations.delete(&names[0]).await.unwrap();
        assert_eq!(
            operations.get(&names[0]).await.unwrap_err().code,
            Code::NotFound
        );
        assert_eq!(
            operations.delete(&names[1]).await.unwrap_err().code,
            Code::FailedPrecondition
        );
        assert_eq!(
            operations.get("operations/UPPER").await.unwrap_err().code,
            Code::InvalidArgument
        );
    }
}
