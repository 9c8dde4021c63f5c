//! Typed access: values are protobuf messages.
//!
//! Every function takes `&dyn Store` (an `&Arc<dyn Store>` or `&MemoryStore` coerces) and
//! returns revisions alongside messages: a message's `mod_revision` is its etag, and
//! [`update_msg`] is compare-and-swap on it. Values that fail to decode are reported as
//! [`StoreError::Decode`] naming the key.

use prost::Message;

use crate::{KeyValue, LeaseId, ListOptions, Revision, Store, StoreError, StoreResult, WatchEvent};

/// One page of [`list_msgs`]: `(items as (key, message, mod_revision), more, revision)`.
pub type MsgPage<M> = (Vec<(String, M, Revision)>, bool, Revision);

/// Encodes a message.
pub fn encode_msg<M: Message>(msg: &M) -> Vec<u8> {
    msg.encode_to_vec()
}

/// Decodes a message stored under `key`.
pub fn decode_msg<M: Message + Default>(key: &str, value: &[u8]) -> StoreResult<M> {
    M::decode(value).map_err(|e| StoreError::Decode {
        key: key.to_owned(),
        message: e.to_string(),
    })
}

/// Decodes a stored key-value: `(message, mod_revision)`.
pub fn decode_kv<M: Message + Default>(kv: &KeyValue) -> StoreResult<(M, Revision)> {
    Ok((decode_msg(&kv.key, &kv.value)?, kv.mod_revision))
}

/// A decoded watch event.
#[derive(Clone, Debug, PartialEq)]
pub enum MsgEvent<M> {
    /// The key was created or replaced with this message at this revision.
    Put {
        /// The key.
        key: String,
        /// The new message.
        msg: M,
        /// Revision of the write (the new etag).
        mod_revision: Revision,
    },
    /// The key was deleted at this revision.
    Delete {
        /// The key.
        key: String,
        /// Revision of the delete.
        mod_revision: Revision,
    },
}

/// Decodes a watch event.
pub fn decode_event<M: Message + Default>(event: &WatchEvent) -> StoreResult<MsgEvent<M>> {
    Ok(match event {
        WatchEvent::Put(kv) => MsgEvent::Put {
            key: kv.key.clone(),
            msg: decode_msg(&kv.key, &kv.value)?,
            mod_revision: kv.mod_revision,
        },
        WatchEvent::Delete { key, mod_revision } => MsgEvent::Delete {
            key: key.clone(),
            mod_revision: *mod_revision,
        },
    })
}

/// Reads a message and its `mod_revision`; `None` when the key is absent.
pub async fn get_msg<M: Message + Default>(
    store: &dyn Store,
    key: &str,
) -> StoreResult<Option<(M, Revision)>> {
    match store.get(key).await? {
        Some(kv) => decode_kv(&kv).map(Some),
        None => Ok(None),
    }
}

/// Creates a key holding `msg`, failing with [`StoreError::AlreadyExists`]; returns the
/// new `mod_revision`.
pub async fn create_msg<M: Message>(
    store: &dyn Store,
    key: &str,
    msg: &M,
) -> StoreResult<Revision> {
    store.create(key, encode_msg(msg), None).await
}

/// [`create_msg`] attaching the key to a lease.
pub async fn create_msg_with_lease<M: Message>(
    store: &dyn Store,
    key: &str,
    msg: &M,
    lease: LeaseId,
) -> StoreResult<Revision> {
    store.create(key, encode_msg(msg), Some(lease)).await
}

/// Replaces the message only if its `mod_revision` is still `expected` (see
/// [`Store::update`]); returns the new `mod_revision`.
pub async fn update_msg<M: Message>(
    store: &dyn Store,
    key: &str,
    msg: &M,
    expected: Revision,
) -> StoreResult<Revision> {
    store.update(key, encode_msg(msg), expected).await
}

/// Writes the message unconditionally; returns the new `mod_revision`.
pub async fn put_msg<M: Message>(store: &dyn Store, key: &str, msg: &M) -> StoreResult<Revision> {
    store.put(key, encode_msg(msg), None).await
}

/// [`put_msg`] attaching the key to a lease.
pub async fn put_msg_with_lease<M: Message>(
    store: &dyn Store,
    key: &str,
    msg: &M,
    lease: LeaseId,
) -> StoreResult<Revision> {
    store.put(key, encode_msg(msg), Some(lease)).await
}

/// Lists one page of messages under `prefix`: `(items, more, revision)`, each item
/// `(key, message, mod_revision)`. Page on with `start_after` = the last key and
/// `revision` = the returned revision for a consistent snapshot.
pub async fn list_msgs<M: Message + Default>(
    store: &dyn Store,
    prefix: &str,
    options: ListOptions,
) -> StoreResult<MsgPage<M>> {
    let page = store.list(prefix, options).await?;
    let items = page
        .items
        .into_iter()
        .map(|kv| {
            let msg = decode_msg(&kv.key, &kv.value)?;
            Ok((kv.key, msg, kv.mod_revision))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((items, page.more, page.revision))
}

/// Lists every message under `prefix` (all pages of `page_size`, at one revision);
/// returns the items and that revision.
pub async fn list_all_msgs<M: Message + Default>(
    store: &dyn Store,
    prefix: &str,
    page_size: usize,
) -> StoreResult<(Vec<(String, M, Revision)>, Revision)> {
    let mut options = ListOptions {
        limit: page_size,
        ..Default::default()
    };
    let mut all = Vec::new();
    loop {
        let (items, more, revision) = list_msgs::<M>(store, prefix, options.clone()).await?;
        options.revision = Some(revision);
        options.start_after = items.last().map(|(key, _, _)| key.clone());
        all.extend(items);
        if !more || options.start_after.is_none() {
            return Ok((all, revision));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Item {
        #[prost(string, tag = "1")]
        name: String,
        #[prost(int64, tag = "2")]
        size: i64,
    }

    #[tokio::test]
    async fn typed_round_trip() {
        let store = MemoryStore::new();
        let a = Item {
            name: "a".into(),
            size: 1,
        };
        let rev = create_msg(&store, "/t/a", &a).await.unwrap();
        assert!(matches!(
            create_msg(&store, "/t/a", &a).await,
            Err(StoreError::AlreadyExists { .. })
        ));
        let (got, got_rev) = get_msg::<Item>(&store, "/t/a").await.unwrap().unwrap();
        assert_eq!((got, got_rev), (a.clone(), rev));
        let b = Item {
            name: "a".into(),
            size: 2,
        };
        let rev2 = update_msg(&store, "/t/a", &b, rev).await.unwrap();
        assert!(matches!(
            update_msg(&store, "/t/a", &b, rev).await,
            Err(StoreError::Conflict { .. })
        ));
        put_msg(&store, "/t/b", &a).await.unwrap();
        let (items, more, _) = list_msgs::<Item>(&store, "/t/", ListOptions::default())
            .await
            .unwrap();
        assert!(!more);
        assert_eq!(items[0], ("/t/a".to_owned(), b, rev2));
        assert_eq!(items.len(), 2);
        let (all, _) = list_all_msgs::<Item>(&store, "/t/", 1).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(get_msg::<Item>(&store, "/t/none").await.unwrap(), None);
    }

    #[tokio::test]
    async fn decode_errors_name_the_key() {
        let store = MemoryStore::new();
        store
            .put("/t/bad", vec![0xff, 0xff, 0xff], None)
            .await
            .unwrap();
        match get_msg::<Item>(&store, "/t/bad").await {
            Err(StoreError::Decode { key, .. }) => assert_eq!(key, "/t/bad"),
            other => panic!("expected a decode error, got {other:?}"),
        }
        assert!(matches!(
            list_msgs::<Item>(&store, "/t/", ListOptions::default()).await,
            Err(StoreError::Decode { .. })
        ));
    }
}
