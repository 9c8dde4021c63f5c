//! What deployments do with secrets.
//!
//! - **`EnvVar.secret_value`** (input only): CreateDeployment and UpdateDeployment store the
//!   value as a secret owned by the deployment (`{deployment}-env-{variable}`, one key,
//!   [`OWNED_KEY`]) in the same transaction as the deployment, and the template keeps a
//!   `secret_ref` to it instead ([`prepare`]). The value never reaches the Deployment or
//!   DeploymentRevision records. Owned secrets are deleted with the deployment
//!   ([`owned_secret_keys`]).
//! - **`secret_ref`** (env and config files) must name an existing secret (and key) of the
//!   deployment's namespace, or a platform-wide one, when the template is written.
//! - The controller resolves the references of each revision's template when it builds
//!   the runtime's group spec ([`resolve_template`]); one that cannot be resolved is
//!   reported, never a crash.
//! - DeleteSecret refuses while a deployment's template, or its current revision's,
//!   references the secret ([`referencing_deployments`]); UpdateSecret records a
//!   `SECRET_CHANGED` event on each of them when the values change.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ferry_kit::error::ApiError;
use ferry_ops::operation as op;
use ferry_proto::ferry::common::v1::{ErrorReason, SecretRef, env_var};
use ferry_proto::ferry::deploy::v1::{
    Deployment, DeploymentRevision, DeploymentTemplate, config_file,
};
use ferry_runtime as rt;
use ferry_store::{Precondition, Store, Txn, typed};
use prost::Message as _;
use sha2::{Digest, Sha256};

use super::crypto::DataKey;
use super::model::{self, MaskPath, Parent, SecretRecord, Values};
use super::{collection_prefix, open_values, read_record, record, resolve_with, secret_key};
use crate::deployment::{
    deployment_key, deployments_prefix, namespace_deployments_prefix, revision_key,
};

/// The key under which an owned secret holds its one value.
pub const OWNED_KEY: &str = "value";

/// Checks a [`SecretRef`]'s form (a secret name; a valid key when given). `field` is the
/// reference's path, e.g. `deployment.template.env[0].secret_ref`.
pub fn validate_ref(reference: &SecretRef, field: &str) -> Result<(), ApiError> {
    model::parse_name(&format!("{field}.secret"), &reference.secret)?;
    if !reference.key.is_empty() && !model::is_valid_key(&reference.key) {
        return Err(ApiError::invalid_field(
            format!("{field}.key"),
            "keys are 1 to 253 letters, digits, `-`, `.` or `_`",
        ));
    }
    Ok(())
}

/// Checks an `EnvVar.secret_value` (at most 64 KiB).
pub fn validate_secret_value(value: &str, field: &str) -> Result<(), ApiError> {
    if value.len() > model::MAX_BYTES {
        return Err(ApiError::invalid_field(field, "at most 64 KiB"));
    }
    Ok(())
}

/// The id of the secret that holds `variable`'s `secret_value` for deployment
/// `deployment_id`: `{deployment}-env-{variable}` as a DNS label (lower case, `_` → `-`),
/// with a digest suffix when that would be too long, end badly, or collide with
/// `taken`.
pub fn owned_secret_id(deployment_id: &str, variable: &str, taken: &[String]) -> String {
    let sanitized: String = variable
        .chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' => c,
            _ => '-',
        })
        .collect();
    let plain = format!("{deployment_id}-env-{sanitized}");
    if plain.len() <= 63 && !plain.ends_with('-') && !taken.contains(&plain) {
        return plain;
    }
    let digest: String = Sha256::digest(variable.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let room = 63usize.saturating_sub(deployment_id.len() + "-env-".len() + 1 + digest.len());
    let head = sanitized[..sanitized.len().min(room)].trim_end_matches('-');
    if head.is_empty() {
        format!("{deployment_id}-env-{digest}")
    } else {
        format!("{deployment_id}-env-{head}-{digest}")
    }
}

/// What [`prepare`] decided for a deployment write.
#[derive(Default)]
pub struct Prepared {
    /// The owned secrets to write in the same transaction as the deployment.
    pub writes: Txn,
    /// Whether an owned secret's value changes (a new revision hands it to instances).
    pub values_changed: bool,
    key: Option<DataKey>,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("writes", &self.writes.ops.len())
            .field("values_changed", &self.values_changed)
            .finish()
    }
}

impl Prepared {
    /// Replaces every `secret_value` of a deployment in a request with a keyed digest, so
    /// that the idempotency fingerprint kept in etcd holds nothing a guess can be
    /// tested against.
    pub fn redact(&self, deployment: Option<&mut Deployment>) {
        let (Some(key), Some(template)) = (&self.key, deployment.and_then(|d| d.template.as_mut()))
        else {
            return;
        };
        for env in &mut template.env {
            if let Some(env_var::Source::SecretValue(value)) = &mut env.source {
                *value = key
                    .digest(value.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
            }
        }
    }
}

/// Prepares a deployment's template for storage: each `env[i].secret_value` becomes a
/// secret owned by the deployment (written by [`Prepared::writes`], guarded so that it
/// neither overwrites a secret the deployment does not own nor races another write) and
/// a `secret_ref` to it; every other `secret_ref` must resolve. `field` is the template's
/// path (`deployment.template`). Call after the template passed validation.
pub async fn prepare(
    store: &dyn Store,
    deployment: &mut Deployment,
    field: &str,
) -> Result<Prepared, ApiError> {
    let mut prepared = Prepared {
        writes: Txn::new(),
        values_changed: false,
        key: None,
    };
    let name = deployment.name.clone();
    let mut ids = name.split('/').skip(1).step_by(2);
    let (Some(namespace), Some(deployment_id)) = (ids.next(), ids.next()) else {
        return Ok(prepared);
    };
    let Some(template) = deployment.template.as_mut() else {
        return Ok(prepared);
    };
    let has_values = template
        .env
        .iter()
        .any(|e| matches!(e.source, Some(env_var::Source::SecretValue(_))));
    let needs_key = has_values || !references(template).is_empty();
    if !needs_key {
        return Ok(prepared);
    }
    let key = DataKey::load(store).await?;
    let parent = Parent::Namespace(namespace.to_string());
    let mut owned_ids = Vec::new();
    for (i, env) in template.env.iter_mut().enumerate() {
        let Some(env_var::Source::SecretValue(value)) = &env.source else {
            continue;
        };
        let value_field = format!("{field}.env[{i}].secret_value");
        let id = owned_secret_id(deployment_id, &env.name, &owned_ids);
        owned_ids.push(id.clone());
        let secret_name = parent.name(&id);
        let values = Values(BTreeMap::from([(
            OWNED_KEY.to_string(),
            value.as_bytes().to_vec(),
        )]));
        match read_record(store, &secret_name).await? {
            None => {
                let input = ferry_proto::ferry::deploy::v1::Secret {
                    data: HashMap::from([(OWNED_KEY.to_string(), value.as_bytes().to_vec())]),
                    ..Default::default()
                };
                let (secret, values) = model::plan_create(
                    &parent,
                    &id,
                    &input,
                    &name,
                    uuid::Uuid::new_v4().to_string(),
                    op::now(),
                )?;
                let stored = record(&key, &secret, &values);
                let secret_key = secret_key(&secret_name);
                prepared.writes = prepared
                    .writes
                    .when(Precondition::Absent(secret_key.clone()))
                    .put(secret_key, stored.encode_to_vec());
                prepared.values_changed = true;
            }
            Some((current, revision)) => {
                let secret = current.secret.clone().unwrap_or_default();
                if secret.owner != name {
                    return Err(ApiError::failed_precondition(
                        ErrorReason::ResourceExists,
                        &value_field,
                        format!(
                            "{value_field}: the secret {secret_name} that would hold this value already exists and does not belong to {name}: rename the variable, or reference that secret with secret_ref"
                        ),
                    )
                    .with_field_violation(&value_field, "its secret's name is taken"));
                }
                let current_values = open_values(&key, &current)?;
                let input = ferry_proto::ferry::deploy::v1::Secret {
                    data: values.0.clone().into_iter().collect(),
                    ..Default::default()
                };
                if let Some(updated) = model::apply_update(
                    &secret,
                    &current_values,
                    &input,
                    &[MaskPath::Data],
                    op::now(),
                )? {
                    let stored = record(&key, &updated.secret, &updated.values);
                    let secret_key = secret_key(&secret_name);
                    prepared.writes = prepared
                        .writes
                        .when(Precondition::ModRevision(secret_key.clone(), revision))
                        .put(secret_key, stored.encode_to_vec());
                    prepared.values_changed |= updated.data_changed;
                }
            }
        }
        env.source = Some(env_var::Source::SecretRef(SecretRef {
            secret: secret_name,
            key: OWNED_KEY.to_string(),
        }));
    }
    // The other references must resolve now (the owned ones are being written).
    for (path, reference) in references(template) {
        if owned_ids
            .iter()
            .any(|id| reference.secret == parent.name(id))
        {
            continue;
        }
        let ref_field = format!("{field}.{path}");
        if let Err(error) = resolve_with(store, &key, &reference, namespace).await {
            if error.code != tonic::Code::FailedPrecondition {
                return Err(error);
            }
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &ref_field,
                format!("{ref_field}: {}", error.message),
            )
            .with_field_violation(&ref_field, error.message));
        }
    }
    prepared.key = Some(key);
    Ok(prepared)
}

/// Every secret reference of a template, with its path (`env[0].secret_ref`).
pub fn references(template: &DeploymentTemplate) -> Vec<(String, SecretRef)> {
    let env = template
        .env
        .iter()
        .enumerate()
        .filter_map(|(i, env)| match &env.source {
            Some(env_var::Source::SecretRef(r)) => {
                Some((format!("env[{i}].secret_ref"), r.clone()))
            }
            _ => None,
        });
    let files = template
        .config_files
        .iter()
        .enumerate()
        .filter_map(|(i, file)| match &file.source {
            Some(config_file::Source::SecretRef(r)) => {
                Some((format!("config_files[{i}].secret_ref"), r.clone()))
            }
            _ => None,
        });
    env.chain(files).collect()
}

/// The resolved secret values of one template, by position (env var, config file).
/// `Debug` shows the positions and references, never the values.
#[derive(Clone, Default)]
pub struct ResolvedSecrets {
    env: HashMap<usize, rt::EnvValue>,
    files: HashMap<usize, bytes::Bytes>,
}

impl fmt::Debug for ResolvedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedSecrets")
            .field("env", &self.env)
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ResolvedSecrets {
    /// The value of `env[index]`, when it is a resolved secret reference.
    pub fn env(&self, index: usize) -> Option<rt::EnvValue> {
        self.env.get(&index).cloned()
    }

    /// The content of `config_files[index]`, when it is a resolved secret reference.
    pub fn file(&self, index: usize) -> Option<bytes::Bytes> {
        self.files.get(&index).cloned()
    }
}

/// Resolves every secret reference of `template` for namespace `namespace_id`. The inner
/// `Err` names the first reference that cannot be resolved (the caller reports it and
/// retries); the outer one is a store failure.
pub async fn resolve_template(
    store: &dyn Store,
    namespace_id: &str,
    template: &DeploymentTemplate,
) -> Result<Result<ResolvedSecrets, String>, ApiError> {
    let mut resolved = ResolvedSecrets::default();
    let references = references(template);
    if references.is_empty() {
        return Ok(Ok(resolved));
    }
    let key = DataKey::load(store).await?;
    for (i, env) in template.env.iter().enumerate() {
        let Some(env_var::Source::SecretRef(reference)) = &env.source else {
            continue;
        };
        let found = match resolve_with(store, &key, reference, namespace_id).await {
            Ok(found) => found,
            Err(error) if error.code == tonic::Code::FailedPrecondition => {
                return Ok(Err(format!(
                    "env[{i}].secret_ref ({}): {}",
                    env.name, error.message
                )));
            }
            Err(error) => return Err(error),
        };
        let Ok(value) = String::from_utf8(found.value) else {
            return Ok(Err(format!(
                "env[{i}].secret_ref ({}): the value of {} key {:?} is not UTF-8 text",
                env.name, reference.secret, found.key
            )));
        };
        resolved.env.insert(
            i,
            rt::EnvValue::Secret {
                secret: found.name.id,
                key: found.key,
                value,
            },
        );
    }
    for (i, file) in template.config_files.iter().enumerate() {
        let Some(config_file::Source::SecretRef(reference)) = &file.source else {
            continue;
        };
        match resolve_with(store, &key, reference, namespace_id).await {
            Ok(found) => {
                resolved.files.insert(i, bytes::Bytes::from(found.value));
            }
            Err(error) if error.code == tonic::Code::FailedPrecondition => {
                return Ok(Err(format!(
                    "config_files[{i}].secret_ref ({}): {}",
                    file.path, error.message
                )));
            }
            Err(error) => return Err(error),
        }
    }
    Ok(Ok(resolved))
}

/// The keys of the secrets deployment `deployment` (its full name) owns.
pub async fn owned_secret_keys(
    store: &dyn Store,
    deployment: &str,
) -> Result<Vec<String>, ApiError> {
    let namespace = deployment.split('/').nth(1).unwrap_or_default();
    let prefix = collection_prefix(&Parent::Namespace(namespace.to_string()).collection());
    let (records, _) = typed::list_all_msgs::<SecretRecord>(store, &prefix, 500).await?;
    Ok(records
        .into_iter()
        .filter(|(_, record, _)| {
            record
                .secret
                .as_ref()
                .is_some_and(|secret| secret.owner == deployment)
        })
        .map(|(key, _, _)| key)
        .collect())
}

/// The deployments whose template (or current revision's template) references secret
/// `name`, each with its first referencing field.
pub async fn referencing_deployments(
    store: &dyn Store,
    name: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let parsed = model::parse_name("name", name)?;
    let prefix = match &parsed.namespace {
        Some(namespace) => namespace_deployments_prefix(&format!("namespaces/{namespace}")),
        None => deployments_prefix(),
    };
    let (deployments, _) = typed::list_all_msgs::<Deployment>(store, &prefix, 500).await?;
    let mut found = Vec::new();
    for (key, deployment, _) in deployments {
        if key != deployment_key(&deployment.name) {
            continue;
        }
        let mut templates = vec![("template".to_string(), deployment.template.clone())];
        if !deployment.current_revision.is_empty()
            && let Some((revision, _)) = typed::get_msg::<DeploymentRevision>(
                store,
                &revision_key(&deployment.current_revision),
            )
            .await?
        {
            templates.push((
                format!("{} template", deployment.current_revision),
                revision.template,
            ));
        }
        for (label, template) in templates {
            let Some(template) = template else { continue };
            if let Some((path, _)) = references(&template)
                .into_iter()
                .find(|(_, reference)| reference.secret == name)
            {
                found.push((deployment.name.clone(), format!("{label}.{path}")));
                break;
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_ids_are_dns_labels_and_distinct() {
        assert_eq!(
            owned_secret_id("web", "DB_PASSWORD", &[]),
            "web-env-db-password"
        );
        let first = owned_secret_id("web", "Token", &[]);
        let second = owned_secret_id("web", "TOKEN", std::slice::from_ref(&first));
        assert_ne!(first, second);
        for id in [
            second,
            owned_secret_id("web", "TRAILING_", &[]),
            owned_secret_id(&"d".repeat(40), &"V".repeat(200), &[]),
        ] {
            assert!(ferry_kit::aip::is_valid_id(&id), "{id}");
        }
    }

    #[test]
    fn resolved_values_never_show_in_debug() {
        let mut resolved = ResolvedSecrets::default();
        resolved.env.insert(
            0,
            rt::EnvValue::Secret {
                secret: "db".into(),
                key: "password".into(),
                value: "hunter2".into(),
            },
        );
        resolved
            .files
            .insert(0, bytes::Bytes::from_static(b"private key"));
        let debug = format!("{resolved:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("private key"),
            "{debug}"
        );
    }
}
