//! Push webhooks of git providers (GitHub, GitLab): the `ferry.build.v1.WebhookService`
//! adapter. A delivery is checked in the order the API documents (signature, webhook
//! enabled for the provider, repository, payload) and nothing is built when a check
//! fails; a push to the watched ref builds exactly the pushed commit. Delivery ids are
//! kept for 24 hours (under a lease) at
//! `/ferry/v1/build/deliveries/applications/<app>/<sha256 of the id>` so that
//! redeliveries never build twice.
//!
//! The webhook secret is a secret of the deploy service (`secrets/<name>`), opened with
//! `ferry_deploy::secret::resolve` (same etcd, same data key).

pub mod model;

use std::sync::Arc;
use std::time::Duration;

use ferry_kit::error::ApiError;
use ferry_proto::ferry::build::v1::build::{Trigger, trigger};
use ferry_proto::ferry::build::v1::receive_webhook_response::{IgnoreReason, Outcome};
use ferry_proto::ferry::build::v1::webhook_service_server::{WebhookService, WebhookServiceServer};
use ferry_proto::ferry::build::v1::{
    Application, ReceiveWebhookRequest, ReceiveWebhookResponse, WebhookProvider,
};
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_store::{Store, StoreError, keys, typed};
use prost::Message as _;
use sha2::Digest as _;
use tonic::{Code, Request, Response, Status};

use crate::application::model::APPLICATION_NAME;
use crate::build::api::{BuildRequest, commit_built_or_pending, create_build};
use crate::build::model::NewBuild;
use crate::error::status;

/// Largest payload accepted.
pub const MAX_PAYLOAD: usize = 25 * 1024 * 1024;
/// How long delivery ids are remembered.
const DELIVERY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Serves webhook deliveries.
#[derive(Clone)]
pub struct WebhookApi {
    store: Arc<dyn Store>,
}

fn denied() -> ApiError {
    ApiError::new(
        Code::PermissionDenied,
        ErrorReason::PermissionDenied,
        "the delivery's signature does not verify for this application",
    )
}

fn delivery_key(application: &str, delivery_id: &str) -> String {
    let digest = sha2::Sha256::digest(delivery_id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    keys::collection("build/deliveries", application).key(&hex)
}

impl WebhookApi {
    /// Serves deliveries with `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The tonic server.
    pub fn into_server(self) -> WebhookServiceServer<Self> {
        WebhookServiceServer::new(self)
    }

    async fn receive(
        &self,
        request: ReceiveWebhookRequest,
    ) -> Result<ReceiveWebhookResponse, ApiError> {
        APPLICATION_NAME.parse("application", &request.application)?;
        if request.payload.len() > MAX_PAYLOAD {
            return Err(ApiError::new(
                Code::ResourceExhausted,
                ErrorReason::MessageTooLarge,
                format!("the payload is larger than {MAX_PAYLOAD} bytes"),
            ));
        }
        let provider = model::provider_of(
            WebhookProvider::try_from(request.provider).unwrap_or(WebhookProvider::Unspecified),
            &request.headers,
            &request.event_type,
        );
        // 1. The signature (an unknown application is not told apart).
        let Some((application, _)) = typed::get_msg::<Application>(
            self.store.as_ref(),
            &crate::application::application_key(&request.application),
        )
        .await?
        else {
            return Err(denied());
        };
        let webhook = application.webhook.clone().unwrap_or_default();
        let Some(secret_ref) = webhook.secret.clone() else {
            return Err(denied());
        };
        let secret = match ferry_deploy::secret::resolve(self.store.as_ref(), &secret_ref, "").await
        {
            Ok(secret) => secret,
            Err(error) => {
                tracing::warn!(application = %application.name, error = %ApiError::from(error).message, "cannot open the webhook secret");
                return Err(denied());
            }
        };
        if !model::signature_valid(provider, &secret, &request.payload, &request.signature) {
            tracing::info!(application = %application.name, provider = ?provider, "webhook delivery refused: bad signature");
            return Err(denied());
        }
        // 2. Enabled for this provider.
        if !webhook.enabled || !webhook.providers.contains(&(provider as i32)) {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &application.name,
                format!(
                    "{} does not accept {} webhooks (application.webhook)",
                    application.name,
                    provider.as_str_name()
                ),
            ));
        }
        // 4 (read first: 3 needs it). The payload.
        let push = model::parse_push(provider, &request.payload, &request.content_type)
            .map_err(|message| ApiError::invalid_field("payload", message))?;
        // 3. The repository.
        let source = application.source.clone().unwrap_or_default();
        if !model::repository_matches(&source.repository_url, &push) {
            return Err(ApiError::new(
                Code::FailedPrecondition,
                ErrorReason::InvalidState,
                format!(
                    "the delivery is about another repository than {}'s source",
                    application.name
                ),
            )
            .with_metadata("resource", &application.name)
            .with_precondition_violation(
                "REPOSITORY_MISMATCH",
                &application.name,
                "the payload's repository is not application.source.repository_url",
            ));
        }
        let mut response = ReceiveWebhookResponse {
            outcome: Outcome::Ignored as i32,
            r#ref: push.git_ref.clone(),
            commit_sha: push.after.clone(),
            delivery_id: request.delivery_id.clone(),
            ..Default::default()
        };
        // A redelivery answers what the first delivery did.
        let key = (!request.delivery_id.is_empty())
            .then(|| delivery_key(&application.name, &request.delivery_id));
        if let Some(key) = &key
            && let Some((mut first, _)) =
                typed::get_msg::<ReceiveWebhookResponse>(self.store.as_ref(), key).await?
        {
            first.outcome = Outcome::Duplicate as i32;
            first.ignore_reason = 0;
            return Ok(first);
        }
        let is_push = match provider {
            WebhookProvider::Github => request.event_type == "push",
            _ => matches!(request.event_type.as_str(), "Push Hook" | "Tag Push Hook"),
        };
        let watched = model::watched_refs(&source.r#ref, &push.default_branch);
        if provider == WebhookProvider::Github && request.event_type == "ping" {
            response.ignore_reason = IgnoreReason::Ping as i32;
        } else if !is_push {
            response.ignore_reason = IgnoreReason::EventNotHandled as i32;
        } else if !watched.contains(&push.git_ref) {
            response.ignore_reason = IgnoreReason::RefNotWatched as i32;
        } else if push.deleted {
            response.ignore_reason = IgnoreReason::RefDeleted as i32;
        } else if !crate::application::model::is_valid_ref(&push.after)
            || !push.after.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(ApiError::invalid_field(
                "payload",
                "the push's `after` is not a commit sha",
            ));
        } else {
            let built =
                commit_built_or_pending(self.store.as_ref(), &application.name, &push.after)
                    .await?;
            if built {
                response.ignore_reason = IgnoreReason::AlreadyBuilt as i32;
            } else {
                let (operation, build) = create_build(
                    self.store.as_ref(),
                    &application,
                    BuildRequest {
                        new: NewBuild {
                            git_ref: source.r#ref.clone(),
                            trigger: Trigger {
                                r#type: trigger::Type::Webhook as i32,
                                actor: push.sender.clone(),
                                webhook_provider: provider as i32,
                                webhook_delivery_id: request.delivery_id.clone(),
                                webhook_event: request.event_type.clone(),
                            },
                            ..Default::default()
                        },
                        queue: true,
                        disable_cache: false,
                        skip_auto_deploy: false,
                        exact_commit: push.after.clone(),
                    },
                )
                .await?;
                response.outcome = Outcome::BuildCreated as i32;
                response.build = build.name.clone();
                response.operation = operation.name.clone();
                tracing::info!(application = %application.name, build = %build.name, commit = %push.after, "webhook push builds");
            }
        }
        if let Some(key) = key {
            let lease = self.store.grant_lease(DELIVERY_WINDOW).await?;
            match self
                .store
                .create(&key, response.encode_to_vec(), Some(lease))
                .await
            {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                Err(error) => tracing::warn!(%error, "cannot remember a webhook delivery id"),
            }
        }
        self.note_delivery(&application.name).await;
        Ok(response)
    }

    /// Records `last_webhook_time` (best effort).
    async fn note_delivery(&self, name: &str) {
        let key = crate::application::application_key(name);
        for _ in 0..4 {
            let Ok(Some((mut application, revision))) =
                typed::get_msg::<Application>(self.store.as_ref(), &key).await
            else {
                return;
            };
            let now = ferry_ops::operation::now();
            application.last_webhook_time = Some(now);
            if !application.conditions.iter().any(|c| {
                c.r#type == "WebhookReceiving"
                    && c.status == ferry_proto::ferry::common::v1::ConditionStatus::True as i32
            }) {
                application
                    .conditions
                    .retain(|c| c.r#type != "WebhookReceiving");
                application
                    .conditions
                    .push(ferry_proto::ferry::common::v1::Condition {
                        r#type: "WebhookReceiving".into(),
                        status: ferry_proto::ferry::common::v1::ConditionStatus::True as i32,
                        reason: "DELIVERY_ACCEPTED".into(),
                        message: "a signed delivery for this application was accepted".into(),
                        last_transition_time: Some(now),
                        observed_generation: application.generation,
                    });
            }
            if typed::update_msg(self.store.as_ref(), &key, &application, revision)
                .await
                .is_ok()
            {
                return;
            }
        }
    }
}

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn receive_webhook(
        &self,
        request: Request<ReceiveWebhookRequest>,
    ) -> Result<Response<ReceiveWebhookResponse>, Status> {
        let response = self
            .receive(request.into_inner())
            .await
            .map_err(|e| status(crate::error::BuildError::from(e)))?;
        Ok(Response::new(response))
    }
}
