//! Where the auth records live in etcd, how every replica follows them, the first-start
//! bootstrap, and the audit log's writes.
//!
//! | Key | Value |
//! |---|---|
//! | `/ferry/v1/auth/tokens/tokens/<id>` | [`TokenRecord`]: the `Token` and the salted hash of its secret |
//! | `/ferry/v1/auth/users/users/<id>` | `User` |
//! | `/ferry/v1/auth/serviceAccounts/serviceAccounts/<id>` | `ServiceAccount` |
//! | `/ferry/v1/auth/roles/roles/<id>` | `Role` (custom roles; built-in ones are not stored) |
//! | `/ferry/v1/auth/roleBindings/<binding name>` | `RoleBinding` |
//! | `/ferry/v1/audit/entries/auditEntries/<id>` | `AuditEntry`, under a retention lease |
//!
//! Each replica watches `/ferry/v1/auth/` with the store's resilient [`Watcher`] and
//! publishes an [`AuthState`] snapshot; the request path reads only that snapshot, so a
//! revocation (a write of the token record) reaches every replica with the watch event,
//! milliseconds after it is stored. Audit entries live outside that prefix so the
//! watch never carries them.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ferry_proto::ferry::auth::v1::{AuditEntry, Role, RoleBinding, ServiceAccount, Token, User};
use ferry_store::keys::{self, Prefix};
use ferry_store::watch::{WatchUpdate, Watcher, WatcherOptions};
use ferry_store::{KeyValue, LeaseId, Precondition, Store, StoreError, Txn, WatchEvent};
use prost::Message;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;

use super::model::{self, AuthState, StoredToken};

/// Kinds (`ferry_store::keys::resource`) of the auth records.
pub const TOKENS: &str = "auth/tokens";
/// See [`TOKENS`].
pub const USERS: &str = "auth/users";
/// See [`TOKENS`].
pub const SERVICE_ACCOUNTS: &str = "auth/serviceAccounts";
/// See [`TOKENS`].
pub const ROLES: &str = "auth/roles";
/// See [`TOKENS`].
pub const ROLE_BINDINGS: &str = "auth/roleBindings";
/// The audit log's kind (outside the watched `auth/` prefix).
pub const AUDIT: &str = "audit/entries";

/// The stored form of a token: the resource, and the salted hash of its secret (never
/// the secret itself).
#[derive(Clone, PartialEq, Message)]
pub struct TokenRecord {
    /// The resource.
    #[prost(message, optional, tag = "1")]
    pub token: Option<Token>,
    /// The salt.
    #[prost(bytes = "vec", tag = "2")]
    pub salt: Vec<u8>,
    /// `SHA-256(salt ‖ secret)`.
    #[prost(bytes = "vec", tag = "3")]
    pub hash: Vec<u8>,
}

/// The watched prefix of every auth record.
pub fn auth_area() -> Prefix {
    keys::kind_prefix("auth")
}

/// Applies a watch update to a state snapshot.
pub fn apply(state: &AuthState, update: &WatchUpdate) -> AuthState {
    let mut next = match update {
        WatchUpdate::Snapshot { .. } => AuthState {
            built_in: state.built_in.clone(),
            ..AuthState::default()
        },
        WatchUpdate::Events(_) => state.clone(),
    };
    match update {
        WatchUpdate::Snapshot { items, .. } => items.iter().for_each(|kv| put(&mut next, kv)),
        WatchUpdate::Events(events) => {
            for event in events {
                match event {
                    WatchEvent::Put(kv) => put(&mut next, kv),
                    WatchEvent::Delete { key, .. } => remove(&mut next, key),
                }
            }
        }
    }
    next
}

fn put(state: &mut AuthState, kv: &KeyValue) {
    let key = kv.key.as_str();
    let value = kv.value.as_slice();
    let result = if let Some(name) = keys::resource_name(TOKENS, key) {
        TokenRecord::decode(value).map(|record| {
            if let (Some(id), Some(token)) = (name.strip_prefix("tokens/"), record.token) {
                state.tokens.insert(
                    id.to_string(),
                    StoredToken {
                        token,
                        salt: record.salt,
                        hash: record.hash,
                    },
                );
            }
        })
    } else if let Some(name) = keys::resource_name(USERS, key) {
        User::decode(value).map(|user| {
            state.users.insert(name.to_string(), user);
        })
    } else if let Some(name) = keys::resource_name(SERVICE_ACCOUNTS, key) {
        ServiceAccount::decode(value).map(|account| {
            state.service_accounts.insert(name.to_string(), account);
        })
    } else if let Some(name) = keys::resource_name(ROLES, key) {
        Role::decode(value).map(|role| {
            state.roles.insert(name.to_string(), role.permissions);
        })
    } else if let Some(name) = keys::resource_name(ROLE_BINDINGS, key) {
        RoleBinding::decode(value).map(|binding| {
            state.bindings.insert(name.to_string(), binding);
        })
    } else {
        Ok(())
    };
    if let Err(error) = result {
        tracing::warn!(key, %error, "ignoring an undecodable auth record");
        remove(state, key);
    }
}

fn remove(state: &mut AuthState, key: &str) {
    if let Some(name) = keys::resource_name(TOKENS, key) {
        if let Some(id) = name.strip_prefix("tokens/") {
            state.tokens.remove(id);
        }
    } else if let Some(name) = keys::resource_name(USERS, key) {
        state.users.remove(name);
    } else if let Some(name) = keys::resource_name(SERVICE_ACCOUNTS, key) {
        state.service_accounts.remove(name);
    } else if let Some(name) = keys::resource_name(ROLES, key) {
        state.roles.remove(name);
    } else if let Some(name) = keys::resource_name(ROLE_BINDINGS, key) {
        state.bindings.remove(name);
    }
}

/// Starts following the auth records: the published state (built-in roles only until
/// the first snapshot, which also flips `ready`) and the task that keeps it current
/// until `stop`.
pub fn watch_auth(
    store: Arc<dyn Store>,
    initial: AuthState,
    stop: CancellationToken,
) -> (
    watch::Receiver<Arc<AuthState>>,
    watch::Receiver<bool>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (sender, receiver) = watch::channel(Arc::new(initial));
    let (ready_sender, ready) = watch::channel(false);
    let watcher = Watcher::with_options(
        store,
        auth_area().as_str(),
        WatcherOptions {
            cancel: Some(stop),
            ..WatcherOptions::default()
        },
    );
    let task = async move {
        let mut watcher = watcher;
        while let Some(update) = watcher.next().await {
            let next = apply(&sender.borrow(), &update);
            sender.send_replace(Arc::new(next));
            if matches!(update, WatchUpdate::Snapshot { .. }) {
                ready_sender.send_replace(true);
            }
        }
        tracing::debug!("auth watch stopped");
    };
    (receiver, ready, task)
}

/// Seconds since the epoch as a protobuf timestamp.
pub fn timestamp(time: SystemTime) -> prost_types::Timestamp {
    let elapsed = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    prost_types::Timestamp {
        seconds: elapsed.as_secs() as i64,
        nanos: elapsed.subsec_nanos() as i32,
    }
}

/// 48 bytes from the thread's CSPRNG (ChaCha, seeded from the OS).
pub fn random_bytes() -> [u8; 48] {
    let mut bytes = [0u8; 48];
    rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
    bytes
}

/// The principal, binding and token the first start creates.
pub const BOOTSTRAP_USER: &str = "users/admin";
/// See [`BOOTSTRAP_USER`].
pub const BOOTSTRAP_BINDING: &str = "roleBindings/bootstrap-admin";
/// See [`BOOTSTRAP_USER`].
pub const BOOTSTRAP_TOKEN_ID: &str = "bootstrap";

/// True when some enabled principal holding `roles/admin` platform-wide has a usable
/// token.
pub fn admin_token_exists(state: &AuthState, now: SystemTime) -> bool {
    state.tokens.values().any(|stored| {
        let token = &stored.token;
        !token.revoked
            && !model::expired(token, now)
            && state.principal_enabled(&token.owner)
            && state.bindings.values().any(|binding| {
                binding.namespace.is_empty()
                    && binding.role == model::ADMIN
                    && binding.members.contains(&token.owner)
            })
    })
}

/// Creates the bootstrap admin (user, platform-wide admin binding, token) when no admin
/// token exists, in one transaction that fails if another replica did it first. Returns
/// the token string to write to the file when this replica created it.
pub async fn bootstrap(
    store: &dyn Store,
    state: &AuthState,
    lifetime: Duration,
) -> Result<Option<String>, StoreError> {
    let now = SystemTime::now();
    if admin_token_exists(state, now) {
        return Ok(None);
    }
    let secret = model::new_secret(BOOTSTRAP_TOKEN_ID, random_bytes());
    let created = Some(timestamp(now));
    let token = Token {
        name: format!("tokens/{BOOTSTRAP_TOKEN_ID}"),
        uid: uuid::Uuid::new_v4().to_string(),
        display_name: "bootstrap admin token".into(),
        create_time: created,
        update_time: created,
        owner: BOOTSTRAP_USER.into(),
        expiration: Some(ferry_proto::ferry::auth::v1::token::Expiration::ExpireTime(
            timestamp(now + lifetime),
        )),
        secret_prefix: secret.prefix.clone(),
        state: ferry_proto::ferry::auth::v1::token::State::Active as i32,
        creator: BOOTSTRAP_USER.into(),
        ..Default::default()
    };
    let token_key = keys::resource(TOKENS, &token.name);
    let record = TokenRecord {
        token: Some(token),
        salt: secret.salt.clone(),
        hash: secret.hash.clone(),
    };
    let mut txn = Txn::new()
        .when(Precondition::Absent(token_key.clone()))
        .put(token_key, record.encode_to_vec());
    let user_key = keys::resource(USERS, BOOTSTRAP_USER);
    if !state.users.contains_key(BOOTSTRAP_USER) {
        let user = User {
            name: BOOTSTRAP_USER.into(),
            uid: uuid::Uuid::new_v4().to_string(),
            display_name: "Platform administrator (bootstrap)".into(),
            create_time: created,
            update_time: created,
            email: "admin@localhost".into(),
            ..Default::default()
        };
        txn = txn
            .when(Precondition::Absent(user_key.clone()))
            .put(user_key, user.encode_to_vec());
    }
    let binding_key = keys::resource(ROLE_BINDINGS, BOOTSTRAP_BINDING);
    let binding = RoleBinding {
        name: BOOTSTRAP_BINDING.into(),
        uid: uuid::Uuid::new_v4().to_string(),
        display_name: "bootstrap administrator".into(),
        create_time: created,
        update_time: created,
        role: model::ADMIN.into(),
        members: vec![BOOTSTRAP_USER.into()],
        description: "written by the gateway's first start".into(),
        ..Default::default()
    };
    txn = txn.put(binding_key, binding.encode_to_vec());
    match store.txn(txn).await {
        Ok(_) => Ok(Some(secret.token_string)),
        // Another replica bootstrapped first (or the bootstrap token exists, revoked).
        Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Writes audit entries under a retention lease: one lease per 1/24th of the retention
/// period, shared by the entries written in it, with a TTL of the retention plus that
/// slice, so every entry lives at least the retention period and etcd removes it after
/// at most 1/24th more (no sweep is needed, and no leader).
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn Store>,
    retention: Duration,
    lease: Arc<Mutex<Option<(LeaseId, Instant)>>>,
}

impl AuditLog {
    /// Keeps entries for `retention`.
    pub fn new(store: Arc<dyn Store>, retention: Duration) -> Self {
        Self {
            store,
            retention,
            lease: Arc::new(Mutex::new(None)),
        }
    }

    /// A new entry id: sorts newest first (inverted microseconds), then random.
    pub fn new_id(time: SystemTime) -> String {
        let micros = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_micros() as u64);
        let random = uuid::Uuid::new_v4().simple().to_string();
        format!("a{:016x}{}", u64::MAX - micros, &random[..8])
    }

    /// Stores one entry (named already).
    pub async fn write(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let slice = self.retention / 24;
        let lease = {
            let mut current = self.lease.lock().await;
            match *current {
                Some((lease, granted)) if granted.elapsed() < slice => lease,
                _ => {
                    let lease = self.store.grant_lease(self.retention + slice).await?;
                    *current = Some((lease, Instant::now()));
                    lease
                }
            }
        };
        let key = keys::resource(AUDIT, &entry.name);
        self.store
            .put(&key, entry.encode_to_vec(), Some(lease))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_store::MemoryStore;

    fn kv(key: String, value: Vec<u8>) -> KeyValue {
        KeyValue {
            key,
            value,
            create_revision: 1,
            mod_revision: 1,
            version: 1,
            lease: 0,
        }
    }

    #[test]
    fn the_state_follows_records() {
        let token = Token {
            name: "tokens/ci".into(),
            owner: "users/a".into(),
            ..Default::default()
        };
        let record = TokenRecord {
            token: Some(token),
            salt: vec![1],
            hash: vec![2],
        };
        let binding = RoleBinding {
            name: "namespaces/dev/roleBindings/b".into(),
            role: model::VIEWER.into(),
            ..Default::default()
        };
        let state = apply(
            &AuthState::default(),
            &WatchUpdate::Snapshot {
                items: vec![
                    kv(keys::resource(TOKENS, "tokens/ci"), record.encode_to_vec()),
                    kv(
                        keys::resource(ROLE_BINDINGS, &binding.name),
                        binding.encode_to_vec(),
                    ),
                    kv(keys::resource(USERS, "users/x"), vec![0xff, 0xff]),
                ],
                revision: 1,
            },
        );
        assert_eq!(state.tokens["ci"].token.owner, "users/a");
        assert!(state.bindings.contains_key("namespaces/dev/roleBindings/b"));
        assert!(state.users.is_empty(), "undecodable records are ignored");
        let state = apply(
            &state,
            &WatchUpdate::Events(vec![WatchEvent::Delete {
                key: keys::resource(TOKENS, "tokens/ci"),
                mod_revision: 2,
            }]),
        );
        assert!(state.tokens.is_empty());
    }

    #[tokio::test]
    async fn bootstrap_happens_once() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let first = bootstrap(&*store, &AuthState::default(), Duration::from_secs(3600))
            .await
            .unwrap()
            .expect("the first start bootstraps");
        assert!(first.starts_with("ferry_bootstrap_"));
        // A second replica that has not seen the records yet loses the race.
        let second = bootstrap(&*store, &AuthState::default(), Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(second, None);
        // Once the records are known, the admin token exists and nothing is written.
        let page = store
            .list(auth_area().as_str(), ferry_store::ListOptions::default())
            .await
            .unwrap();
        let state = apply(
            &AuthState::default(),
            &WatchUpdate::Snapshot {
                items: page.items,
                revision: page.revision,
            },
        );
        assert!(admin_token_exists(&state, SystemTime::now()));
        let stored = &state.tokens[BOOTSTRAP_TOKEN_ID];
        assert_ne!(stored.hash, first.as_bytes(), "only the hash is stored");
    }

    /// Entries live at least the retention period, and etcd (here the memory store, on
    /// tokio's paused clock) removes them at most 1/24th of it later.
    #[tokio::test(start_paused = true)]
    async fn audit_entries_leave_after_the_retention() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let retention = Duration::from_secs(24 * 60);
        let log = AuditLog::new(store.clone(), retention);
        let entry = AuditEntry {
            name: format!("auditEntries/{}", AuditLog::new_id(SystemTime::now())),
            ..Default::default()
        };
        log.write(&entry).await.unwrap();
        let key = keys::resource(AUDIT, &entry.name);
        tokio::time::advance(retention).await;
        assert!(
            store.get(&key).await.unwrap().is_some(),
            "kept for the retention"
        );
        tokio::time::advance(retention / 24 + Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
        assert!(store.get(&key).await.unwrap().is_none(), "removed after it");
    }

    #[test]
    fn audit_ids_sort_newest_first() {
        let earlier = AuditLog::new_id(SystemTime::UNIX_EPOCH + Duration::from_secs(10));
        let later = AuditLog::new_id(SystemTime::UNIX_EPOCH + Duration::from_secs(11));
        assert!(later < earlier);
        assert!(ferry_kit::aip::is_valid_id(&later), "{later}");
    }
}
