//! The `ferry.deploy.v1.SecretService` gRPC adapter: validates requests at the edge,
//! seals values and writes them to etcd. No response carries a value.
//!
//! `request_id` retries are answered from the kept *response* (never holding values);
//! the fingerprint that detects a reused id is computed over the request with each value
//! replaced by a digest keyed with the data key, so etcd holds nothing a guess could be
//! tested against.

use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::operation as op;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::secret_service_server::{SecretService, SecretServiceServer};
use ferry_proto::ferry::deploy::v1::{
    CreateSecretRequest, DeleteSecretRequest, GetSecretRequest, ListSecretsRequest,
    ListSecretsResponse, Secret, UpdateSecretRequest,
};
use ferry_store::{Precondition, Store, StoreError, Txn, typed};
use tonic::{Request, Response, Status};

use super::crypto::DataKey;
use super::model::{self, Parent, SecretRecord};
use super::{collection_prefix, open_values, public, read_record, record, secret_key, usage};
use crate::error::DeployError;
use crate::namespace::namespace_key;

/// Serves secrets.
#[derive(Clone)]
pub struct SecretApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
}

/// The same request with every value replaced by a keyed digest (for idempotency).
fn fingerprint_data(secret: &mut Option<Secret>, key: &DataKey) {
    if let Some(secret) = secret.as_mut() {
        for value in secret.data.values_mut() {
            *value = key.digest(value);
        }
    }
}

impl SecretApi {
    /// Serves secrets from `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        Self { store, idempotency }
    }

    /// The tonic server.
    pub fn into_server(self) -> SecretServiceServer<Self> {
        SecretServiceServer::new(self)
    }

    async fn read(&self, name: &str) -> Result<(SecretRecord, i64), DeployError> {
        read_record(self.store.as_ref(), name)
            .await?
            .ok_or_else(|| DeployError::NotFound(name.to_string()))
    }

    async fn get(&self, request: GetSecretRequest) -> Result<Secret, DeployError> {
        model::parse_name("name", &request.name)?;
        let (record, revision) = self.read(&request.name).await?;
        Ok(public(&record, revision))
    }

    async fn create(&self, request: CreateSecretRequest) -> Result<Secret, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        let parent = model::parse_parent("parent", &request.parent, false)?;
        let Some(input) = request.secret.as_ref() else {
            return Err(ApiError::invalid_field("secret", "required").into());
        };
        let (mut secret, values) = model::plan_create(
            &parent,
            &request.secret_id,
            input,
            "",
            uuid::Uuid::new_v4().to_string(),
            op::now(),
        )?;
        if let Parent::Namespace(namespace) = &parent {
            let name = format!("namespaces/{namespace}");
            if typed::get_msg::<ferry_proto::ferry::deploy::v1::Namespace>(
                self.store.as_ref(),
                &namespace_key(&name),
            )
            .await?
            .is_none()
            {
                return Err(DeployError::NotFound(name));
            }
        }
        if request.validate_only {
            return Ok(secret);
        }
        let data_key = DataKey::load(self.store.as_ref()).await?;
        let mut fingerprint = request.clone();
        fingerprint_data(&mut fingerprint.secret, &data_key);
        let stored = record(&data_key, &secret, &values);
        let key = secret_key(&secret.name);
        self.idempotency
            .run(
                "ferry.deploy.v1.SecretService/CreateSecret",
                &request.request_id,
                &fingerprint,
                || async move {
                    match typed::create_msg(self.store.as_ref(), &key, &stored).await {
                        Ok(revision) => {
                            secret.etag = aip::etag(revision);
                            Ok(secret)
                        }
                        Err(StoreError::AlreadyExists { .. }) => {
                            Err(ApiError::already_exists(&secret.name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(DeployError::from)
    }

    async fn update(&self, request: UpdateSecretRequest) -> Result<Secret, DeployError> {
        aip::validate_request_id(&request.request_id)?;
        let Some(input) = request.secret.as_ref() else {
            return Err(ApiError::invalid_field("secret", "required").into());
        };
        model::parse_name("secret.name", &input.name)?;
        aip::parse_etag("secret.etag", &input.etag)?;
        let mask = model::parse_mask(request.update_mask.as_ref())?;
        model::validate_metadata(input, "secret")?;
        let name = input.name.clone();
        let (current_record, revision) = self.read(&name).await?;
        aip::check_etag("secret.etag", &input.etag, revision, &name)?;
        let data_key = DataKey::load(self.store.as_ref()).await?;
        let current = public(&current_record, revision);
        let current_values = open_values(&data_key, &current_record)?;
        let mut stored_current = current.clone();
        stored_current.etag.clear();
        let Some(updated) =
            model::apply_update(&stored_current, &current_values, input, &mask, op::now())?
        else {
            return Ok(current);
        };
        let mut secret = updated.secret;
        if request.validate_only {
            secret.etag = current.etag;
            return Ok(secret);
        }
        let stored = if updated.data_changed {
            record(&data_key, &secret, &updated.values)
        } else {
            // Unchanged values keep their sealed form.
            SecretRecord {
                secret: Some(secret.clone()),
                values: current_record.values.clone(),
            }
        };
        let mut fingerprint = request.clone();
        fingerprint_data(&mut fingerprint.secret, &data_key);
        let key = secret_key(&name);
        let client_sent_etag = !input.etag.is_empty();
        self.idempotency
            .run(
                "ferry.deploy.v1.SecretService/UpdateSecret",
                &request.request_id,
                &fingerprint,
                || async move {
                    match typed::update_msg(self.store.as_ref(), &key, &stored, revision).await {
                        Ok(new_revision) => {
                            secret.etag = aip::etag(new_revision);
                            if updated.data_changed {
                                tracing::info!(secret = %name, version = secret.version, "secret values changed");
                                self.announce_change(&name, secret.version).await;
                            }
                            Ok(secret)
                        }
                        Err(StoreError::Conflict { .. }) if client_sent_etag => {
                            Err(ApiError::etag_mismatch(&name))
                        }
                        Err(StoreError::Conflict { .. }) => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&name)),
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(DeployError::from)
    }

    /// Records a `SECRET_CHANGED` event on each deployment that references secret `name`
    /// (its instances keep the old values until restarted).
    async fn announce_change(&self, name: &str, version: i64) {
        let deployments = match usage::referencing_deployments(self.store.as_ref(), name).await {
            Ok(deployments) => deployments,
            Err(error) => {
                tracing::warn!(secret = %name, error = %error.message, "cannot find the deployments that use a changed secret");
                return;
            }
        };
        let recorder = ferry_events::Recorder::new(self.store.clone());
        for (deployment, field) in deployments {
            let namespace = deployment.split('/').nth(1).unwrap_or_default().to_string();
            recorder.record_in_background(
                ferry_events::EventInput::normal(
                    &namespace,
                    &deployment,
                    "ferry.dev/Deployment",
                    "SECRET_CHANGED",
                    format!(
                        "{name} changed (version {version}, used by {field}): running instances keep the old values until the deployment is restarted"
                    ),
                    "deploy-secrets",
                )
                .deployment(deployment.clone()),
            );
        }
    }

    async fn delete(&self, request: DeleteSecretRequest) -> Result<(), DeployError> {
        aip::validate_request_id(&request.request_id)?;
        model::parse_name("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        let (record, revision) = self.read(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        let owner = record
            .secret
            .as_ref()
            .map(|s| s.owner.clone())
            .unwrap_or_default();
        if !owner.is_empty() {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &request.name,
                format!(
                    "{} belongs to {owner} and is deleted with it, not on its own",
                    request.name
                ),
            )
            .into());
        }
        if !request.force
            && let Some((deployment, field)) =
                usage::referencing_deployments(self.store.as_ref(), &request.name)
                    .await?
                    .into_iter()
                    .next()
        {
            return Err(ApiError::failed_precondition(
                ErrorReason::InUse,
                &request.name,
                format!(
                    "{} is referenced by {deployment} ({field}): remove the reference, or set force (its instances then fail to start)",
                    request.name
                ),
            )
            .with_metadata("referenced_by", deployment)
            .into());
        }
        if request.validate_only {
            return Ok(());
        }
        let key = secret_key(&request.name);
        let name = request.name.clone();
        let client_sent_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                "ferry.deploy.v1.SecretService/DeleteSecret",
                &request.request_id,
                &request,
                || async move {
                    let txn = Txn::new()
                        .when(Precondition::ModRevision(key.clone(), revision))
                        .delete(key);
                    match self.store.txn(txn).await {
                        Ok(_) => {
                            tracing::info!(secret = %name, force = request.force, "secret deleted");
                            Ok(())
                        }
                        Err(StoreError::Conflict { .. }) if client_sent_etag => {
                            Err(ApiError::etag_mismatch(&name))
                        }
                        Err(StoreError::Conflict { .. }) => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(DeployError::from)
    }

    async fn list(&self, request: ListSecretsRequest) -> Result<ListSecretsResponse, DeployError> {
        let parent = model::parse_parent("parent", &request.parent, true)?;
        let limit = aip::page_size(request.page_size)?;
        let filter = model::parse_filter(&request.filter)?;
        let order = model::parse_order(&request.order_by)?;
        let fingerprint =
            aip::request_fingerprint(&[&request.parent, &request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        // Every match is read at one revision (the first page's), then sorted: secrets
        // are few per namespace, and any order pages consistently this way.
        let prefix = collection_prefix(&parent.collection());
        let mut options = ferry_store::ListOptions {
            limit: aip::MAX_PAGE_SIZE,
            revision: token.as_ref().map(|t| t.revision),
            ..Default::default()
        };
        let mut matches = Vec::new();
        let read_revision = loop {
            let (items, more, read_revision) =
                typed::list_msgs::<SecretRecord>(self.store.as_ref(), &prefix, options.clone())
                    .await?;
            options.revision = Some(read_revision);
            let last_key = items.last().map(|(key, _, _)| key.clone());
            for (_, record, mod_revision) in items {
                let secret = public(&record, mod_revision);
                // `namespaces/` also holds nothing but secrets; the name check keeps
                // that true if the layout ever grows.
                if model::parse_name("name", &secret.name).is_ok() && filter.matches(&secret) {
                    matches.push(secret);
                }
            }
            match last_key {
                Some(key) if more => options.start_after = Some(key),
                _ => break read_revision,
            }
        };
        matches.sort_by(|a, b| order.compare(a, b));
        let total_size = matches.len() as i32;
        let start = match &token {
            None => 0,
            Some(token) => matches
                .iter()
                .position(|s| s.name == token.last)
                .map(|i| i + 1)
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "page_token",
                        "the page's last secret is gone: start again without a token",
                    )
                })?,
        };
        let secrets: Vec<Secret> = matches.into_iter().skip(start).take(limit + 1).collect();
        let (secrets, next_page_token) = if secrets.len() > limit {
            let page: Vec<Secret> = secrets.into_iter().take(limit).collect();
            let token = aip::encode_page_token(
                &page[limit - 1].name,
                token.map_or(read_revision, |t| t.revision),
                &fingerprint,
            );
            (page, token)
        } else {
            (secrets, String::new())
        };
        Ok(ListSecretsResponse {
            secrets,
            next_page_token,
            total_size,
        })
    }
}

fn status(error: DeployError) -> Status {
    error.into()
}

#[tonic::async_trait]
impl SecretService for SecretApi {
    async fn get_secret(
        &self,
        request: Request<GetSecretRequest>,
    ) -> Result<Response<Secret>, Status> {
        Ok(Response::new(
            self.get(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn list_secrets(
        &self,
        request: Request<ListSecretsRequest>,
    ) -> Result<Response<ListSecretsResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn create_secret(
        &self,
        request: Request<CreateSecretRequest>,
    ) -> Result<Response<Secret>, Status> {
        Ok(Response::new(
            self.create(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn update_secret(
        &self,
        request: Request<UpdateSecretRequest>,
    ) -> Result<Response<Secret>, Status> {
        Ok(Response::new(
            self.update(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn delete_secret(
        &self,
        request: Request<DeleteSecretRequest>,
    ) -> Result<Response<()>, Status> {
        self.delete(request.into_inner()).await.map_err(status)?;
        Ok(Response::new(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn fingerprints_hold_no_value() {
        let key = DataKey::generate();
        let mut secret = Some(Secret {
            data: [("password".to_string(), b"hunter2".to_vec())].into(),
            ..Default::default()
        });
        fingerprint_data(&mut secret, &key);
        let encoded = secret.unwrap().encode_to_vec();
        assert!(!encoded.windows(7).any(|w| w == b"hunter2"));
    }
}
