//! The `build-applications` controller: checks the source of created or reconfigured
//! applications (`git ls-remote`: the repository answers and `source.ref` exists) and
//! reports it in the `SourceReachable` condition and the state (ACTIVE or DEGRADED).
//! Builds are accepted in either state; each build's FETCH step checks again.

use ferry_kit::error::ApiError;
use ferry_ops::operation as op;
use ferry_ops::{Action, ReconcileContext, Reconciler};
use ferry_proto::ferry::build::v1::Application;
use ferry_proto::ferry::build::v1::application::State;
use ferry_proto::ferry::common::v1::{Condition, ConditionStatus};
use ferry_store::{KeyValue, Precondition, StoreError, Txn, typed};
use prost::Message as _;

use super::applications_prefix;
use crate::build::git;

/// Checks application sources.
#[derive(Default)]
pub struct SourceChecker;

fn needs_check(application: &Application) -> bool {
    application.state() != State::Deleting
        && (application.state() == State::Creating
            || application.observed_generation != application.generation)
}

/// What `git ls-remote` said about `wanted` (empty = HEAD): the commit, or why not.
/// Pure.
pub fn resolve_listing(listing: &str, wanted: &str) -> Result<String, String> {
    let candidates: Vec<String> = if wanted.is_empty() || wanted == "HEAD" {
        vec!["HEAD".into()]
    } else if wanted.starts_with("refs/") {
        vec![wanted.to_string()]
    } else {
        vec![
            format!("refs/heads/{wanted}"),
            format!("refs/tags/{wanted}^{{}}"),
            format!("refs/tags/{wanted}"),
        ]
    };
    for candidate in &candidates {
        if let Some(sha) = listing.lines().find_map(|line| {
            line.split_once('\t')
                .filter(|(_, r)| r == candidate)
                .map(|(sha, _)| sha.to_string())
        }) {
            return Ok(sha);
        }
    }
    if wanted.len() >= 7 && wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
        // A commit sha: only a fetch can tell whether it exists.
        return Ok(String::new());
    }
    Err(format!(
        "ref {:?} does not exist in the repository",
        if wanted.is_empty() { "HEAD" } else { wanted }
    ))
}

/// The application with the outcome of a check. Pure.
pub fn checked(
    application: &Application,
    outcome: Result<String, (String, String)>,
) -> Application {
    let mut updated = application.clone();
    let (status, reason, message) = match &outcome {
        Ok(sha) => {
            if !sha.is_empty() {
                updated.last_seen_commit = sha.clone();
            }
            (
                ConditionStatus::True,
                "REF_RESOLVED".to_string(),
                format!(
                    "the repository answers and the ref resolves{}",
                    if sha.is_empty() {
                        String::new()
                    } else {
                        format!(" to {sha}")
                    }
                ),
            )
        }
        Err((reason, message)) => (ConditionStatus::False, reason.clone(), message.clone()),
    };
    let unchanged = application.conditions.iter().any(|c| {
        c.r#type == "SourceReachable"
            && c.status == status as i32
            && c.reason == reason
            && c.message == message
    });
    if !unchanged {
        updated.conditions.retain(|c| c.r#type != "SourceReachable");
        updated.conditions.push(Condition {
            r#type: "SourceReachable".into(),
            status: status as i32,
            reason,
            message,
            last_transition_time: Some(op::now()),
            observed_generation: application.generation,
        });
    }
    updated.state = if outcome.is_ok() {
        State::Active
    } else {
        State::Degraded
    } as i32;
    updated.observed_generation = application.generation;
    updated.reconciling = false;
    updated.update_time = Some(op::now());
    updated
}

#[async_trait::async_trait]
impl Reconciler for SourceChecker {
    fn name(&self) -> &'static str {
        "build-applications"
    }

    fn prefix(&self) -> String {
        applications_prefix()
    }

    fn wants(&self, kv: &KeyValue) -> bool {
        Application::decode(kv.value.as_slice()).is_ok_and(|a| needs_check(&a))
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
        if !needs_check(&application) {
            return Ok(Action::Done);
        }
        let source = application.source.clone().unwrap_or_default();
        let listing = match git::source_auth(context.store.as_ref(), &source).await {
            Ok(auth) => git::ls_remote(&source.repository_url, &auth)
                .await
                .map_err(|e| ("SOURCE_UNREACHABLE".to_string(), e.to_string())),
            Err(message) => Err(("INVALID_CREDENTIALS".to_string(), message)),
        };
        let outcome = listing.and_then(|listing| {
            resolve_listing(&listing, &source.r#ref).map_err(|m| ("REF_NOT_FOUND".to_string(), m))
        });
        let updated = checked(&application, outcome);
        let txn = Txn::new()
            .when(context.fence.clone())
            .when(Precondition::ModRevision(key.to_string(), revision))
            .put(key, updated.encode_to_vec());
        match context.store.txn(txn).await {
            Ok(_) => {
                tracing::info!(application = %application.name, state = ?updated.state(), "source checked");
                Ok(Action::Done)
            }
            // Changed meanwhile: the watch brings it back.
            Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => Ok(Action::Done),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_resolve_branches_tags_and_head() {
        let listing = "aaa\tHEAD\naaa\trefs/heads/main\nbbb\trefs/tags/v1\nccc\trefs/tags/v1^{}\n";
        assert_eq!(resolve_listing(listing, "").unwrap(), "aaa");
        assert_eq!(resolve_listing(listing, "main").unwrap(), "aaa");
        assert_eq!(
            resolve_listing(listing, "v1").unwrap(),
            "ccc",
            "an annotated tag peels to its commit"
        );
        assert!(
            resolve_listing(listing, "develop")
                .unwrap_err()
                .contains("develop")
        );
        assert_eq!(resolve_listing(listing, "0123456789abcdef").unwrap(), "");
        let app = Application {
            generation: 2,
            state: State::Creating as i32,
            ..Default::default()
        };
        let bad = checked(&app, Err(("REF_NOT_FOUND".into(), "no".into())));
        assert_eq!(
            (bad.state(), bad.observed_generation, bad.reconciling),
            (State::Degraded, 2, false)
        );
        let good = checked(&bad, Ok("aaa".into()));
        assert_eq!(
            (good.state(), good.last_seen_commit.as_str()),
            (State::Active, "aaa")
        );
        assert_eq!(good.conditions.len(), 1);
    }
}
