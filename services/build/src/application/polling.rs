//! The `build-polling` controller: for applications with `polling.interval`, lists the
//! repository's refs every interval and builds the commit `source.ref` points at when it
//! was not built yet (trigger POLL, actor `system`, exactly that commit). Each poll is
//! recorded in `last_poll_time` and `last_seen_commit`.

use std::time::{Duration, SystemTime};

use ferry_kit::error::ApiError;
use ferry_ops::operation as op;
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::build::v1::Application;
use ferry_proto::ferry::build::v1::application::State;
use ferry_proto::ferry::build::v1::build::{Trigger, trigger};
use ferry_store::{KeyValue, Precondition, StoreError, Txn, typed};
use prost::Message as _;

use super::applications_prefix;
use super::controller::resolve_listing;
use crate::build::api::{BuildRequest, commit_built_or_pending, create_build};
use crate::build::git;
use crate::build::model::NewBuild;

/// Polls repositories.
#[derive(Default)]
pub struct Poller;

/// The polling interval of an application, when polling is on.
pub fn interval_of(application: &Application) -> Option<Duration> {
    application
        .polling
        .and_then(|p| p.interval)
        .filter(|i| i.seconds > 0)
        .map(|i| Duration::new(i.seconds as u64, i.nanos.max(0) as u32))
}

/// How long until the next poll is due (zero when due now). Pure.
pub fn due_in(application: &Application, interval: Duration, now: SystemTime) -> Duration {
    let Some(last) = application.last_poll_time else {
        return Duration::ZERO;
    };
    let last = SystemTime::UNIX_EPOCH
        + Duration::new(last.seconds.max(0) as u64, last.nanos.max(0) as u32);
    (last + interval)
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
}

#[async_trait::async_trait]
impl Reconciler for Poller {
    fn name(&self) -> &'static str {
        "build-polling"
    }

    fn prefix(&self) -> String {
        applications_prefix()
    }

    fn wants(&self, kv: &KeyValue) -> bool {
        Application::decode(kv.value.as_slice()).is_ok_and(|a| interval_of(&a).is_some())
    }

    async fn reconcile(
        &self,
        context: &ReconcileContext,
        key: &str,
        kv: Option<KeyValue>,
    ) -> Result<Action, ApiError> {
        let Some(kv) = kv else {
            return Ok(Action::Done);
        };
        let (application, revision) = typed::decode_kv::<Application>(&kv)?;
        let Some(interval) = interval_of(&application) else {
            return Ok(Action::Done);
        };
        if application.state() == State::Deleting {
            return Ok(Action::Done);
        }
        let wait = due_in(&application, interval, SystemTime::now());
        if !wait.is_zero() {
            return Ok(Action::RequeueAfter(wait));
        }
        let source = application.source.clone().unwrap_or_default();
        let mut polled = application.clone();
        polled.last_poll_time = Some(op::now());
        let listing = match git::source_auth(context.store.as_ref(), &source).await {
            Ok(auth) => git::ls_remote(&source.repository_url, &auth)
                .await
                .map_err(|e| e.to_string()),
            Err(message) => Err(message),
        };
        match listing.and_then(|l| resolve_listing(&l, &source.r#ref)) {
            Ok(sha) if !sha.is_empty() => {
                polled.last_seen_commit = sha.clone();
                if !commit_built_or_pending(context.store.as_ref(), &application.name, &sha).await?
                {
                    let (_, build) = create_build(
                        context.store.as_ref(),
                        &application,
                        BuildRequest {
                            new: NewBuild {
                                git_ref: source.r#ref.clone(),
                                trigger: Trigger {
                                    r#type: trigger::Type::Poll as i32,
                                    actor: "system".into(),
                                    ..Default::default()
                                },
                                ..Default::default()
                            },
                            queue: true,
                            disable_cache: false,
                            skip_auto_deploy: false,
                            exact_commit: sha.clone(),
                        },
                    )
                    .await?;
                    tracing::info!(application = %application.name, build = %build.name, commit = %sha, "polling found a new commit");
                }
            }
            Ok(_) => {}
            Err(message) => {
                tracing::warn!(application = %application.name, %message, "poll failed")
            }
        }
        let txn = Txn::new()
            .when(context.fence.clone())
            .when(Precondition::ModRevision(key.to_string(), revision))
            .put(key, polled.encode_to_vec());
        match context.store.txn(txn).await {
            Ok(_) | Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {
                Ok(Action::RequeueAfter(interval))
            }
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::build::v1::PollingConfig;

    #[test]
    fn polls_are_due_once_per_interval() {
        let mut app = Application {
            polling: Some(PollingConfig {
                interval: Some(prost_types::Duration {
                    seconds: 60,
                    nanos: 0,
                }),
            }),
            ..Default::default()
        };
        let interval = interval_of(&app).unwrap();
        assert_eq!(
            due_in(&app, interval, SystemTime::now()),
            Duration::ZERO,
            "never polled"
        );
        app.last_poll_time = Some(prost_types::Timestamp::from(SystemTime::now()));
        assert!(due_in(&app, interval, SystemTime::now()) > Duration::from_secs(55));
        assert!(interval_of(&Application::default()).is_none());
    }
}
