//! Build logs in etcd: the runner appends chunks (at most [`MAX_CHUNK`] bytes, never
//! spanning two steps) under the build's log prefix, keyed by their byte offset; readers
//! list them from any offset, while the build runs and after it ended.

use std::sync::Arc;

use ferry_kit::error::ApiError;
use ferry_proto::ferry::build::v1::build::StepKind;
use ferry_proto::ferry::common::v1::LogStream;
use ferry_store::{ListOptions, Precondition, Store, StoreError, Txn, typed};
use prost::Message as _;

/// Largest chunk stored.
pub const MAX_CHUNK: usize = 32 * 1024;

/// One stored chunk of a build log.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogRecord {
    /// Offset of the first byte in the whole log.
    #[prost(int64, tag = "1")]
    pub offset: i64,
    /// The step that wrote it (`StepKind`).
    #[prost(int32, tag = "2")]
    pub step: i32,
    /// The stream (`LogStream`).
    #[prost(int32, tag = "3")]
    pub stream: i32,
    /// When it was written.
    #[prost(message, optional, tag = "4")]
    pub time: Option<prost_types::Timestamp>,
    /// The bytes.
    #[prost(bytes = "vec", tag = "5")]
    pub data: Vec<u8>,
}

/// The key of the chunk at `offset` under a build's log prefix.
pub fn chunk_key(prefix: &str, offset: i64) -> String {
    format!("{prefix}{offset:016}")
}

/// Appends to one build's log. Writes are fenced: a runner that lost leadership writes
/// nothing.
pub struct LogWriter {
    store: Arc<dyn Store>,
    fence: Precondition,
    prefix: String,
    offset: i64,
    pending: Vec<LogRecord>,
    masks: Vec<Vec<u8>>,
}

/// `data` with every occurrence of each mask replaced by `***`.
pub fn masked(data: &[u8], masks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = data.to_vec();
    for mask in masks.iter().filter(|m| !m.is_empty()) {
        let mut result = Vec::with_capacity(out.len());
        let mut i = 0;
        while i < out.len() {
            if out[i..].starts_with(mask) {
                result.extend_from_slice(b"***");
                i += mask.len();
            } else {
                result.push(out[i]);
                i += 1;
            }
        }
        out = result;
    }
    out
}

impl LogWriter {
    /// A writer continuing the log under `prefix` at `offset`.
    pub fn new(store: Arc<dyn Store>, fence: Precondition, prefix: String, offset: i64) -> Self {
        Self {
            store,
            fence,
            prefix,
            offset,
            pending: Vec::new(),
            masks: Vec::new(),
        }
    }

    /// Masks `value` (a secret) in everything written from now on.
    pub fn mask(&mut self, value: &[u8]) {
        if !value.is_empty() {
            self.masks.push(value.to_vec());
        }
    }

    /// Bytes written so far (flushed or not).
    pub fn size(&self) -> i64 {
        self.offset
            + self
                .pending
                .iter()
                .map(|r| r.data.len() as i64)
                .sum::<i64>()
    }

    /// Buffers `data` of `step` on `stream`.
    pub fn write(&mut self, step: StepKind, stream: LogStream, data: &[u8]) {
        let owned = masked(data, &self.masks);
        let mut data = owned.as_slice();
        while !data.is_empty() {
            let offset = self.size();
            let same = self.pending.last_mut().filter(|last| {
                last.step == step as i32
                    && last.stream == stream as i32
                    && last.data.len() < MAX_CHUNK
            });
            match same {
                Some(last) => {
                    let room = MAX_CHUNK - last.data.len();
                    let take = room.min(data.len());
                    last.data.extend_from_slice(&data[..take]);
                    data = &data[take..];
                }
                None => {
                    let take = MAX_CHUNK.min(data.len());
                    self.pending.push(LogRecord {
                        offset,
                        step: step as i32,
                        stream: stream as i32,
                        time: Some(ferry_ops::operation::now()),
                        data: data[..take].to_vec(),
                    });
                    data = &data[take..];
                }
            }
        }
    }

    /// A line written by Ferry itself.
    pub fn system(&mut self, step: StepKind, line: &str) {
        self.write(step, LogStream::System, format!("{line}\n").as_bytes());
    }

    /// Stores the buffered chunks.
    pub async fn flush(&mut self) -> Result<(), ApiError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut txn = Txn::new().when(self.fence.clone());
        for record in &self.pending {
            txn = txn.put(
                chunk_key(&self.prefix, record.offset),
                record.encode_to_vec(),
            );
        }
        match self.store.txn(txn).await {
            Ok(_) => {}
            Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {
                return Err(ApiError::new(
                    tonic::Code::Aborted,
                    ferry_proto::ferry::common::v1::ErrorReason::ConcurrentModification,
                    "leadership lost",
                ));
            }
            Err(error) => return Err(error.into()),
        }
        self.offset = self.size();
        self.pending.clear();
        Ok(())
    }
}

/// The chunks of a log that end after `offset`, in order, and the end of the log.
pub async fn read_from(
    store: &dyn Store,
    prefix: &str,
    offset: i64,
) -> Result<(Vec<LogRecord>, i64), ApiError> {
    read_after(store, prefix, offset, None).await
}

/// [`read_from`] listing only the chunks stored after the key `after` (the last chunk a
/// reader already has), so that following a long log does not read it again each time.
pub async fn read_after(
    store: &dyn Store,
    prefix: &str,
    offset: i64,
    after: Option<String>,
) -> Result<(Vec<LogRecord>, i64), ApiError> {
    let mut records = Vec::new();
    let mut options = ListOptions {
        limit: 500,
        start_after: after,
        ..Default::default()
    };
    let mut end = 0;
    loop {
        let (items, more, _) =
            typed::list_msgs::<LogRecord>(store, prefix, options.clone()).await?;
        for (_, record, _) in &items {
            let record_end = record.offset + record.data.len() as i64;
            end = end.max(record_end);
            if record_end > offset {
                records.push(record.clone());
            }
        }
        match items.last() {
            Some((key, _, _)) if more => options.start_after = Some(key.clone()),
            _ => return Ok((records, end)),
        }
    }
}

/// Everything a log holds, as text (for tests and diagnostics).
pub async fn read_all(store: &dyn Store, prefix: &str) -> Result<String, ApiError> {
    let (records, _) = read_from(store, prefix, 0).await?;
    Ok(records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.data).into_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_store::MemoryStore;

    #[tokio::test]
    async fn chunks_never_span_steps_and_resume_from_an_offset() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let fence_revision = store.put("/fence", b"me".to_vec(), None).await.unwrap();
        let fence = Precondition::ModRevision("/fence".into(), fence_revision);
        let mut writer = LogWriter::new(store.clone(), fence, "/logs/".into(), 0);
        writer.write(StepKind::Build, LogStream::Stdout, b"hello ");
        writer.write(StepKind::Build, LogStream::Stdout, b"world\n");
        writer.write(StepKind::Test, LogStream::Stdout, b"ok\n");
        writer.flush().await.unwrap();
        let big = vec![b'x'; MAX_CHUNK + 10];
        writer.write(StepKind::Test, LogStream::Stderr, &big);
        writer.flush().await.unwrap();
        let (all, end) = read_from(store.as_ref(), "/logs/", 0).await.unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].data, b"hello world\n");
        assert_eq!(all[1].step, StepKind::Test as i32);
        assert_eq!(end, 15 + MAX_CHUNK as i64 + 10);
        let (later, _) = read_from(store.as_ref(), "/logs/", 13).await.unwrap();
        assert_eq!(
            later[0].offset, 12,
            "the chunk holding offset 13 comes first"
        );
        // Secrets are masked.
        writer.mask(b"s3cret");
        writer.write(StepKind::Test, LogStream::Stdout, b"token=s3cret!\n");
        writer.flush().await.unwrap();
        assert!(
            read_all(store.as_ref(), "/logs/")
                .await
                .unwrap()
                .ends_with("token=***!\n")
        );
        // A replica that lost leadership writes nothing.
        store.put("/fence", b"other".to_vec(), None).await.unwrap();
        writer.write(StepKind::Test, LogStream::Stdout, b"late");
        assert!(writer.flush().await.is_err());
    }
}
