//! Pure rules of promotions: names, the record a promotion starts as, gate decisions
//! and the state each decision or rollout outcome leads to. No IO here.

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::build::v1::gate_record::{Decision, Gate};
use ferry_proto::ferry::build::v1::promotion::State;
use ferry_proto::ferry::build::v1::{Application, GateRecord, Image, Promotion, PromotionProgress};
use ferry_proto::ferry::common::v1::{ErrorReason, Operation};
use prost_types::Timestamp;

/// `applications/{application}/promotions/{promotion}`.
pub const PROMOTION_NAME: NamePattern =
    NamePattern("applications/{application}/promotions/{promotion}");

/// The stages of a QA rollout's Operation.
pub const QA_STAGES: &[(&str, &str)] = &[("qa", "Roll the image out to the QA namespace")];
/// The stages of a release's Operation.
pub const RELEASE_STAGES: &[(&str, &str)] =
    &[("release", "Roll the image out to the production namespace")];

/// The actor of automatic decisions.
pub const SYSTEM: &str = "system";

/// The deployment of `application` in `namespace`.
pub fn deployment_in(namespace: &str, application: &str) -> String {
    format!(
        "{namespace}/deployments/{}",
        application.rsplit('/').next().unwrap_or_default()
    )
}

/// The record CreatePromotion stores, after the checks that need only the application
/// and the image: the flow is configured, and the target is one of its production
/// namespaces.
pub fn plan_create(
    application: &Application,
    image: &Image,
    promotion_id: &str,
    input: &Promotion,
    now: Timestamp,
) -> Result<Promotion, ApiError> {
    let invalid_state = |message: String| {
        ApiError::failed_precondition(ErrorReason::InvalidState, &application.name, message)
    };
    let flow = application.production_flow.clone().unwrap_or_default();
    if flow.qa_namespace.is_empty() {
        return Err(invalid_state(format!(
            "{} has no production_flow.qa_namespace: promotions need one",
            application.name
        )));
    }
    let production_namespace = if input.production_namespace.is_empty() {
        match flow.production_namespaces.as_slice() {
            [only] => only.clone(),
            [] => {
                return Err(invalid_state(format!(
                    "{} has no production_flow.production_namespaces",
                    application.name
                )));
            }
            _ => {
                return Err(ApiError::invalid_field(
                    "promotion.production_namespace",
                    format!(
                        "{} has several production namespaces: name one",
                        application.name
                    ),
                ));
            }
        }
    } else if flow
        .production_namespaces
        .contains(&input.production_namespace)
    {
        input.production_namespace.clone()
    } else {
        return Err(invalid_state(format!(
            "{} is not one of {}'s production namespaces ({})",
            input.production_namespace,
            application.name,
            flow.production_namespaces.join(", ")
        )));
    };
    Ok(Promotion {
        name: PROMOTION_NAME.format(&[
            application.name.rsplit('/').next().unwrap_or_default(),
            promotion_id,
        ]),
        uid: uuid::Uuid::new_v4().to_string(),
        display_name: input.display_name.clone(),
        labels: input.labels.clone(),
        annotations: input.annotations.clone(),
        create_time: Some(now),
        update_time: Some(now),
        image: image.name.clone(),
        image_digest: image.digest.clone(),
        image_uri: image.image_uri.clone(),
        qa_deployment: deployment_in(&flow.qa_namespace, &application.name),
        production_deployment: deployment_in(&production_namespace, &application.name),
        qa_namespace: flow.qa_namespace.clone(),
        production_namespace,
        state: State::PendingQa as i32,
        reconciling: true,
        qa_approval_required: flow.qa_approval_required,
        release_gate_required: flow.release_gate_required,
        ..Default::default()
    })
}

/// A server-chosen promotion id (`p` and 12 hex digits).
pub fn new_id() -> String {
    format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn gate(
    gate: Gate,
    decision: Decision,
    actor: &str,
    comment: &str,
    automatic: bool,
    now: Timestamp,
) -> GateRecord {
    GateRecord {
        gate: gate as i32,
        decision: decision as i32,
        actor: actor.to_string(),
        decide_time: Some(now),
        comment: comment.to_string(),
        automatic,
    }
}

fn refused(promotion: &Promotion, message: String) -> ApiError {
    ApiError::failed_precondition(ErrorReason::InvalidState, &promotion.name, message)
}

/// `:approve`: PENDING_QA whose QA rollout succeeded, and the QA deployment still runs
/// the digest (`qa_runs_digest`) → QA_APPROVED.
pub fn approve(
    promotion: &Promotion,
    actor: &str,
    comment: &str,
    qa_runs_digest: bool,
    now: Timestamp,
) -> Result<Promotion, ApiError> {
    if promotion.state() != State::PendingQa
        || promotion.reconciling
        || promotion.qa_ready_time.is_none()
    {
        return Err(refused(
            promotion,
            format!(
                "{} cannot be approved: it is {:?}{}",
                promotion.name,
                promotion.state(),
                if promotion.reconciling {
                    " and its QA rollout has not ended"
                } else {
                    ""
                }
            ),
        ));
    }
    if !qa_runs_digest {
        return Err(refused(
            promotion,
            format!(
                "{} no longer runs {}: reject this promotion",
                promotion.qa_deployment, promotion.image_digest
            ),
        ));
    }
    let mut approved = promotion.clone();
    approved.gates.push(gate(
        Gate::Qa,
        Decision::Approved,
        actor,
        comment,
        false,
        now,
    ));
    approved.state = State::QaApproved as i32;
    approved.update_time = Some(now);
    Ok(approved)
}

/// `:reject`: PENDING_QA or QA_APPROVED → QA_REJECTED.
pub fn reject(
    promotion: &Promotion,
    actor: &str,
    comment: &str,
    now: Timestamp,
) -> Result<Promotion, ApiError> {
    if !matches!(promotion.state(), State::PendingQa | State::QaApproved) {
        return Err(refused(
            promotion,
            format!(
                "{} cannot be rejected: it is {:?}",
                promotion.name,
                promotion.state()
            ),
        ));
    }
    let mut rejected = promotion.clone();
    rejected.gates.push(gate(
        Gate::Qa,
        Decision::Rejected,
        actor,
        comment,
        false,
        now,
    ));
    rejected.state = State::QaRejected as i32;
    rejected.reconciling = false;
    rejected.update_time = Some(now);
    Ok(rejected)
}

/// Whether `:release` is accepted now: QA_APPROVED, or FAILED while releasing; with
/// `separate_release_actor`, not by the one who approved QA.
pub fn check_release(
    promotion: &Promotion,
    actor: &str,
    separate_release_actor: bool,
) -> Result<(), ApiError> {
    let failed_release =
        promotion.state() == State::Failed && !promotion.release_operation.is_empty();
    if promotion.state() != State::QaApproved && !failed_release {
        return Err(refused(
            promotion,
            format!(
                "{} cannot be released: it is {:?}",
                promotion.name,
                promotion.state()
            ),
        ));
    }
    if separate_release_actor {
        let approver = promotion
            .gates
            .iter()
            .rev()
            .find(|g| g.gate == Gate::Qa as i32 && g.decision == Decision::Approved as i32);
        if approver.is_some_and(|g| !actor.is_empty() && g.actor == actor) {
            return Err(ApiError::new(
                tonic::Code::PermissionDenied,
                ErrorReason::PermissionDenied,
                format!(
                    "{actor} approved QA of {}: another person must release it (separate_release_actor)",
                    promotion.name
                ),
            ));
        }
    }
    Ok(())
}

/// Starts the release phase: gate recorded, RELEASING, `operation` its Operation.
pub fn release(
    promotion: &Promotion,
    actor: &str,
    comment: &str,
    automatic: bool,
    operation: &str,
    now: Timestamp,
) -> Promotion {
    let mut releasing = promotion.clone();
    releasing.gates.push(gate(
        Gate::Release,
        Decision::Approved,
        actor,
        comment,
        automatic,
        now,
    ));
    releasing.state = State::Releasing as i32;
    releasing.reconciling = true;
    releasing.failure_message.clear();
    releasing.release_operation = operation.to_string();
    releasing.update_time = Some(now);
    releasing
}

/// After the QA rollout succeeded: ready in QA, and the automatic gates passed. Returns
/// whether the release starts automatically.
pub fn qa_ready(promotion: &Promotion, now: Timestamp) -> (Promotion, bool) {
    let mut ready = promotion.clone();
    ready.reconciling = false;
    ready.qa_ready_time = Some(now);
    ready.update_time = Some(now);
    if !promotion.qa_approval_required {
        ready.gates.push(gate(
            Gate::Qa,
            Decision::Approved,
            SYSTEM,
            "approved automatically: the image runs healthy in QA",
            true,
            now,
        ));
        ready.state = State::QaApproved as i32;
        return (ready, !promotion.release_gate_required);
    }
    (ready, false)
}

/// A failed rollout (QA or production).
pub fn failed(promotion: &Promotion, message: &str, now: Timestamp) -> Promotion {
    let mut failed = promotion.clone();
    failed.state = State::Failed as i32;
    failed.reconciling = false;
    failed.failure_message = message.to_string();
    failed.update_time = Some(now);
    failed
}

/// After the production rollout succeeded.
pub fn released(promotion: &Promotion, now: Timestamp) -> Promotion {
    let mut released = promotion.clone();
    released.state = State::Released as i32;
    released.reconciling = false;
    released.release_time = Some(now);
    released.update_time = Some(now);
    released
}

/// True while the promotion holds its image (not finished).
pub fn holds_image(promotion: &Promotion) -> bool {
    matches!(
        promotion.state(),
        State::PendingQa | State::QaApproved | State::Releasing
    )
}

/// The progress details of a phase's Operation.
pub fn progress_of(operation: &Operation) -> PromotionProgress {
    operation
        .metadata
        .as_ref()
        .and_then(|m| m.details.as_ref())
        .and_then(|d| prost::Message::decode(d.value.as_slice()).ok())
        .unwrap_or_default()
}

/// Stores progress details into a phase's Operation.
pub fn set_progress(operation: &mut Operation, progress: &PromotionProgress) {
    if let Some(metadata) = operation.metadata.as_mut() {
        metadata.details = Some(prost_types::Any {
            type_url: "type.googleapis.com/ferry.build.v1.PromotionProgress".to_string(),
            value: prost::Message::encode_to_vec(progress),
        });
    }
}

/// A request id (UUID) derived from a phase's Operation, so that asking the deploy
/// service again (after a crash) is answered with the first rollout.
pub fn request_id_for(operation: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(operation.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The etag of a stored promotion.
pub fn with_etag(mut promotion: Promotion, revision: i64) -> Promotion {
    promotion.etag = aip::etag(revision);
    promotion
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::build::v1::ProductionFlowConfig;
    use tonic::Code;

    fn app(approval: bool, release_gate: bool) -> Application {
        Application {
            name: "applications/web".into(),
            production_flow: Some(ProductionFlowConfig {
                qa_namespace: "namespaces/qa".into(),
                production_namespaces: vec!["namespaces/prod".into()],
                qa_approval_required: approval,
                release_gate_required: release_gate,
                separate_release_actor: true,
            }),
            ..Default::default()
        }
    }

    fn image() -> Image {
        Image {
            name: "applications/web/images/3-abc1234".into(),
            digest: "sha256:aa".into(),
            image_uri: "r/web:3-abc1234@sha256:aa".into(),
            ..Default::default()
        }
    }

    #[test]
    fn gates_move_the_promotion_and_record_who() {
        let now = Timestamp::default();
        let created =
            plan_create(&app(true, true), &image(), "p1", &Promotion::default(), now).unwrap();
        assert_eq!(created.qa_deployment, "namespaces/qa/deployments/web");
        assert_eq!(
            created.production_deployment,
            "namespaces/prod/deployments/web"
        );
        assert_eq!(
            approve(&created, "users/a", "", true, now)
                .unwrap_err()
                .code,
            Code::FailedPrecondition,
            "the QA rollout has not ended"
        );
        let (ready, auto_release) = qa_ready(&created, now);
        assert!(!auto_release);
        assert_eq!(ready.state(), State::PendingQa);
        assert_eq!(
            approve(&ready, "users/a", "", false, now).unwrap_err().code,
            Code::FailedPrecondition,
            "QA runs another digest"
        );
        let approved = approve(&ready, "users/a", "looks good", true, now).unwrap();
        assert_eq!(
            (approved.state(), approved.gates[0].actor.as_str()),
            (State::QaApproved, "users/a")
        );
        assert_eq!(
            check_release(&approved, "users/a", true).unwrap_err().code,
            Code::PermissionDenied,
            "four eyes"
        );
        check_release(&approved, "users/b", true).unwrap();
        check_release(&approved, "users/a", false).unwrap();
        let releasing = release(&approved, "users/b", "CHG-1", false, "operations/o1", now);
        assert_eq!(releasing.state(), State::Releasing);
        assert_eq!(
            reject(&releasing, "users/a", "", now).unwrap_err().code,
            Code::FailedPrecondition
        );
        let failed_release = failed(&releasing, "rollout failed", now);
        check_release(&failed_release, "users/b", true).unwrap();
        assert_eq!(released(&releasing, now).state(), State::Released);
    }

    #[test]
    fn automatic_gates_and_bad_targets() {
        let now = Timestamp::default();
        let created = plan_create(
            &app(false, false),
            &image(),
            "p1",
            &Promotion::default(),
            now,
        )
        .unwrap();
        let (ready, auto_release) = qa_ready(&created, now);
        assert!(auto_release);
        assert_eq!(
            (
                ready.state(),
                ready.gates[0].actor.as_str(),
                ready.gates[0].automatic
            ),
            (State::QaApproved, SYSTEM, true)
        );
        let input = Promotion {
            production_namespace: "namespaces/other".into(),
            ..Default::default()
        };
        assert_eq!(
            plan_create(&app(false, false), &image(), "p1", &input, now)
                .unwrap_err()
                .code,
            Code::FailedPrecondition
        );
        let no_flow = Application {
            name: "applications/web".into(),
            ..Default::default()
        };
        assert_eq!(
            plan_create(&no_flow, &image(), "p1", &Promotion::default(), now)
                .unwrap_err()
                .code,
            Code::FailedPrecondition
        );
        assert_eq!(
            request_id_for("operations/x"),
            request_id_for("operations/x")
        );
        assert!(uuid::Uuid::try_parse(&request_id_for("operations/x")).is_ok());
    }
}
