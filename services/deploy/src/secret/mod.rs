//! Secrets: named sets of write-only values, in a namespace or platform-wide.
//!
//! - [`model`]: pure validation, update masks, filters, and the stored record;
//! - [`crypto`]: sealing values at rest (ChaCha20-Poly1305) and the data key
//!   (`FERRY_SECRETS_KEY`, or a generated key kept in etcd: see there);
//! - [`api`]: the `ferry.deploy.v1.SecretService` gRPC adapter;
//! - [`usage`]: what deployments do with secrets: `secret_value`s stored as secrets owned by
//!   the deployment, references checked at create/update, resolved for the runtime by the
//!   controller, and the references that stop a secret's deletion.
//!
//! A secret is stored at `/ferry/v1/deploy/secrets/<name>` as a [`model::SecretRecord`]:
//! the `Secret` as reads show it (never any `data`) and its values sealed one by one.
//! Values leave this module only through [`resolve`] and [`usage`], towards the runtime;
//! no response, log line or `Debug` output holds them.

pub mod api;
pub mod crypto;
pub mod model;
pub mod usage;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::{ErrorReason, SecretRef};
use ferry_proto::ferry::deploy::v1::Secret;
use ferry_store::{Store, keys, typed};

use self::crypto::DataKey;
use self::model::{SealedValue, SecretName, SecretRecord, Values};
use crate::error::DeployError;

/// Collection path of secrets in the key space.
const KIND: &str = "deploy/secrets";

/// The key of a secret (`namespaces/{ns}/secrets/{s}` or `secrets/{s}`).
pub fn secret_key(name: &str) -> String {
    keys::resource(KIND, name)
}

/// The key prefix of the secrets whose names start with `collection/`
/// (`namespaces/dev/secrets`, `secrets`, or `namespaces` for every namespace).
pub fn collection_prefix(collection: &str) -> String {
    keys::collection(KIND, collection).into_string()
}

/// Reads a secret's record and its `mod_revision`.
pub async fn read_record(
    store: &dyn Store,
    name: &str,
) -> Result<Option<(SecretRecord, i64)>, ApiError> {
    Ok(typed::get_msg::<SecretRecord>(store, &secret_key(name)).await?)
}

/// The secret as responses show it: metadata, keys and version, with its etag, and no
/// values.
pub fn public(record: &SecretRecord, mod_revision: i64) -> Secret {
    let mut secret = record.secret.clone().unwrap_or_default();
    secret.data.clear();
    secret.etag = aip::etag(mod_revision);
    secret
}

/// Opens every value of a record.
pub fn open_values(key: &DataKey, record: &SecretRecord) -> Result<Values, ApiError> {
    let name = record
        .secret
        .as_ref()
        .map(|s| s.name.as_str())
        .unwrap_or_default();
    let mut values = Values::default();
    for value in &record.values {
        let plaintext = key
            .open(&crypto::context(name, &value.key), &value.sealed())
            .map_err(|error| {
                ApiError::failed_precondition(
                    ErrorReason::InvalidState,
                    name,
                    format!("cannot open the value {:?} of {name}: {error}", value.key),
                )
            })?;
        values.0.insert(value.key.clone(), plaintext);
    }
    Ok(values)
}

/// Seals every value of secret `name`, each with a fresh nonce.
pub fn seal_values(key: &DataKey, name: &str, values: &Values) -> Vec<SealedValue> {
    values
        .0
        .iter()
        .map(|(value_key, plaintext)| {
            SealedValue::new(
                value_key,
                key.seal(&crypto::context(name, value_key), plaintext),
            )
        })
        .collect()
}

/// The record to store for `secret` with `values`.
pub fn record(key: &DataKey, secret: &Secret, values: &Values) -> SecretRecord {
    let mut secret = secret.clone();
    secret.etag.clear();
    secret.data.clear();
    SecretRecord {
        values: seal_values(key, &secret.name, values),
        secret: Some(secret),
    }
}

/// A resolved reference: the secret's name, the key used and the value.
pub(crate) struct Resolved {
    pub(crate) name: SecretName,
    pub(crate) key: String,
    pub(crate) value: Vec<u8>,
}

/// The value a [`SecretRef`] names, for an instance of namespace `namespace` (an id such
/// as `dev`, or `namespaces/dev`). `reference.secret` is a full name, in that namespace
/// or platform-wide; an empty key means the secret's single key. A missing secret or key
/// (or a reference into another namespace) is FAILED_PRECONDITION naming it.
pub async fn resolve(
    store: &dyn Store,
    reference: &SecretRef,
    namespace: &str,
) -> Result<Vec<u8>, DeployError> {
    let key = DataKey::load(store).await?;
    Ok(resolve_with(store, &key, reference, namespace).await?.value)
}

pub(crate) async fn resolve_with(
    store: &dyn Store,
    data_key: &DataKey,
    reference: &SecretRef,
    namespace: &str,
) -> Result<Resolved, ApiError> {
    let namespace = namespace.strip_prefix("namespaces/").unwrap_or(namespace);
    let refused = |message: String| {
        ApiError::failed_precondition(ErrorReason::InvalidState, &reference.secret, message)
    };
    let name = model::parse_name("secret_ref.secret", &reference.secret)
        .map_err(|_| refused(format!("{:?} is not a secret name", reference.secret)))?;
    if name.namespace.as_deref().is_some_and(|n| n != namespace) {
        return Err(refused(format!(
            "{} is in another namespace: only secrets of namespaces/{namespace} or platform-wide ones can be used",
            reference.secret
        )));
    }
    let Some((record, _)) = read_record(store, &reference.secret).await? else {
        return Err(refused(format!(
            "secret {} does not exist",
            reference.secret
        )));
    };
    let keys: Vec<&str> = record.values.iter().map(|v| v.key.as_str()).collect();
    let value_key = if reference.key.is_empty() {
        match keys.as_slice() {
            [single] => single.to_string(),
            _ => {
                return Err(refused(format!(
                    "secret {} holds {} keys ({}): name one in secret_ref.key",
                    reference.secret,
                    keys.len(),
                    keys.join(", ")
                )));
            }
        }
    } else {
        reference.key.clone()
    };
    let Some(sealed) = record.values.iter().find(|v| v.key == value_key) else {
        return Err(refused(format!(
            "secret {} has no key {value_key:?} (keys: {})",
            reference.secret,
            keys.join(", ")
        )));
    };
    let value = data_key
        .open(
            &crypto::context(&reference.secret, &value_key),
            &sealed.sealed(),
        )
        .map_err(|error| {
            refused(format!(
                "cannot open the value {value_key:?} of {}: {error}",
                reference.secret
            ))
        })?;
    Ok(Resolved {
        name,
        key: value_key,
        value,
    })
}
