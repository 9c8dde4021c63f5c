//! Pure rules of the namespace resource: validation of what clients send, and how a
//! stored namespace changes. No IO here; the API and the controller call these.

use std::collections::HashMap;

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::Namespace;
use ferry_proto::ferry::deploy::v1::namespace::State;
use prost_types::Timestamp;

/// `namespaces/{namespace}`.
pub const NAMESPACE_NAME: NamePattern = NamePattern("namespaces/{namespace}");

/// The namespace that always exists and cannot be deleted.
pub const SYSTEM_NAMESPACE: &str = "ferry-system";

/// Fields UpdateNamespace may change.
pub const UPDATABLE_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "description",
    "default_location_affinity",
    "resource_quota",
];

/// Longest description, display name, label or annotation value accepted.
const MAX_TEXT: usize = 1024;
/// Most labels or annotations on one resource (as Kubernetes advises for labels).
const MAX_ENTRIES: usize = 64;

/// Checks a namespace id for CreateNamespace: a DNS label that does not use the
/// reserved `ferry-` prefix.
pub fn validate_new_id(namespace_id: &str) -> Result<(), ApiError> {
    aip::validate_id("namespace_id", namespace_id)?;
    if namespace_id.starts_with("ferry-") {
        return Err(ApiError::invalid_field(
            "namespace_id",
            "ids starting with `ferry-` are reserved for the platform",
        ));
    }
    Ok(())
}

/// Checks the client-settable fields of a namespace (whatever the method).
pub fn validate_fields(namespace: &Namespace, field_prefix: &str) -> Result<(), ApiError> {
    let field = |name: &str| format!("{field_prefix}.{name}");
    if namespace.display_name.len() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            field("display_name"),
            format!("longer than {MAX_TEXT} bytes"),
        ));
    }
    if namespace.description.len() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            field("description"),
            format!("longer than {MAX_TEXT} bytes"),
        ));
    }
    validate_map(&namespace.labels, &field("labels"))?;
    validate_map(&namespace.annotations, &field("annotations"))?;
    if let Some(affinity) = &namespace.default_location_affinity
        && !affinity.zone.is_empty()
        && affinity.region.is_empty()
    {
        return Err(ApiError::invalid_field(
            field("default_location_affinity.zone"),
            "a zone needs its region: set default_location_affinity.region too",
        ));
    }
    if let Some(quota) = &namespace.resource_quota {
        let negative = [quota.instances as i64, quota.deployments as i64]
            .into_iter()
            .chain(
                quota
                    .requests
                    .iter()
                    .chain(quota.limits.iter())
                    .flat_map(|q| [q.cpu_millis, q.memory_bytes, q.ephemeral_storage_bytes]),
            )
            .any(|value| value < 0);
        if negative {
            return Err(ApiError::invalid_field(
                field("resource_quota"),
                "quantities must not be negative",
            ));
        }
    }
    Ok(())
}

fn validate_map(map: &HashMap<String, String>, field: &str) -> Result<(), ApiError> {
    if map.len() > MAX_ENTRIES {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {MAX_ENTRIES} entries"),
        ));
    }
    for (key, value) in map {
        let valid_key = !key.is_empty()
            && key.len() <= 63
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
        if !valid_key {
            return Err(ApiError::invalid_field(
                format!("{field}[{key:?}]"),
                "keys are 1 to 63 letters, digits, `-`, `_`, `.` or `/`",
            ));
        }
        if value.len() > MAX_TEXT {
            return Err(ApiError::invalid_field(
                format!("{field}[{key:?}]"),
                format!("longer than {MAX_TEXT} bytes"),
            ));
        }
    }
    Ok(())
}

/// The namespace CreateNamespace stores: the client's fields, plus what Ferry owns.
/// `runtime` must be one the deploy service knows (`known_runtimes`; the first is the
/// default).
pub fn plan_create(
    namespace_id: &str,
    input: &Namespace,
    known_runtimes: &[String],
    uid: String,
    now: Timestamp,
) -> Result<Namespace, ApiError> {
    validate_new_id(namespace_id)?;
    validate_fields(input, "namespace")?;
    let runtime = if input.runtime.is_empty() {
        known_runtimes.first().cloned().unwrap_or_default()
    } else if known_runtimes.contains(&input.runtime) {
        input.runtime.clone()
    } else {
        return Err(ApiError::invalid_field(
            "namespace.runtime",
            if known_runtimes.is_empty() {
                format!(
                    "unknown runtime {:?}: this deploy service has no runtime configured",
                    input.runtime
                )
            } else {
                format!(
                    "unknown runtime {:?} (known: {})",
                    input.runtime,
                    known_runtimes.join(", ")
                )
            },
        ));
    };
    Ok(Namespace {
        name: NAMESPACE_NAME.format(&[namespace_id]),
        uid,
        display_name: input.display_name.clone(),
        labels: input.labels.clone(),
        annotations: input.annotations.clone(),
        create_time: Some(now),
        update_time: Some(now),
        etag: String::new(),
        description: input.description.clone(),
        runtime_namespace: if runtime.is_empty() {
            String::new()
        } else {
            namespace_id.to_string()
        },
        runtime,
        runtime_kind: 0,
        default_location_affinity: input.default_location_affinity.clone(),
        resource_quota: input.resource_quota,
        generation: 1,
        state: State::Creating as i32,
        resource_usage: None,
        conditions: Vec::new(),
        observed_generation: 0,
        reconciling: true,
    })
}

/// Applies an update to the stored namespace: only the masked fields (or, with an empty
/// mask, the updatable fields the input sets) change. Returns `None` when nothing
/// changes.
pub fn apply_update(
    current: &Namespace,
    input: &Namespace,
    mask: &[String],
    now: Timestamp,
) -> Result<Option<Namespace>, ApiError> {
    validate_fields(input, "namespace")?;
    if current.state() == State::Deleting {
        return Err(ApiError::failed_precondition(
            ErrorReason::InvalidState,
            current.name.clone(),
            format!("{} is being deleted", current.name),
        ));
    }
    let paths: Vec<&str> = if mask.iter().any(|path| path == "*") {
        UPDATABLE_FIELDS.to_vec()
    } else if mask.is_empty() {
        UPDATABLE_FIELDS
            .iter()
            .copied()
            .filter(|field| is_set(input, field))
            .collect()
    } else {
        mask.iter().map(String::as_str).collect()
    };
    let mut updated = current.clone();
    for path in paths {
        match path {
            "display_name" => updated.display_name = input.display_name.clone(),
            "labels" => updated.labels = input.labels.clone(),
            "annotations" => updated.annotations = input.annotations.clone(),
            "description" => updated.description = input.description.clone(),
            "default_location_affinity" => {
                updated.default_location_affinity = input.default_location_affinity.clone()
            }
            "resource_quota" => updated.resource_quota = input.resource_quota,
            other => {
                return Err(ApiError::invalid_field(
                    "update_mask",
                    format!("{other:?} cannot be updated"),
                ));
            }
        }
    }
    if updated == *current {
        return Ok(None);
    }
    updated.generation = current.generation + 1;
    updated.update_time = Some(now);
    Ok(Some(updated))
}

fn is_set(input: &Namespace, field: &str) -> bool {
    match field {
        "display_name" => !input.display_name.is_empty(),
        "labels" => !input.labels.is_empty(),
        "annotations" => !input.annotations.is_empty(),
        "description" => !input.description.is_empty(),
        "default_location_affinity" => input.default_location_affinity.is_some(),
        "resource_quota" => input.resource_quota.is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn now() -> Timestamp {
        Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }
    }

    fn input() -> Namespace {
        Namespace {
            description: "staging".into(),
            ..Default::default()
        }
    }

    #[test]
    fn create_fills_what_ferry_owns() {
        let namespace = plan_create("dev", &input(), &[], "u1".into(), now()).unwrap();
        assert_eq!(namespace.name, "namespaces/dev");
        assert_eq!(namespace.state(), State::Creating);
        assert_eq!(namespace.generation, 1);
        assert!(namespace.reconciling);
        assert_eq!(namespace.runtime, "");
    }

    #[test]
    fn create_refuses_bad_input_naming_the_field() {
        let cases: Vec<(&str, Namespace, Vec<String>, &str)> = vec![
            ("Dev", input(), vec![], "namespace_id"),
            ("", input(), vec![], "namespace_id"),
            ("ferry-x", input(), vec![], "namespace_id"),
            (
                "dev",
                Namespace {
                    runtime: "k8s".into(),
                    ..input()
                },
                vec![],
                "namespace.runtime",
            ),
            (
                "dev",
                Namespace {
                    runtime: "k8s".into(),
                    ..input()
                },
                vec!["docker".into()],
                "namespace.runtime",
            ),
            (
                "dev",
                Namespace {
                    labels: [("bad key!".to_string(), "v".to_string())].into(),
                    ..input()
                },
                vec![],
                "namespace.labels[\"bad key!\"]",
            ),
            (
                "dev",
                Namespace {
                    default_location_affinity: Some(
                        ferry_proto::ferry::common::v1::LocationAffinity {
                            region: String::new(),
                            zone: "a".into(),
                        },
                    ),
                    ..input()
                },
                vec![],
                "namespace.default_location_affinity.zone",
            ),
        ];
        for (id, namespace, runtimes, field) in cases {
            let error = plan_create(id, &namespace, &runtimes, "u".into(), now()).unwrap_err();
            assert_eq!(error.code, Code::InvalidArgument, "{id} {field}");
            assert_eq!(error.field_violations[0].0, field);
        }
    }

    #[test]
    fn update_changes_only_masked_fields() {
        let current = plan_create("dev", &input(), &[], "u1".into(), now()).unwrap();
        let change = Namespace {
            description: "new".into(),
            display_name: "Dev".into(),
            ..Default::default()
        };
        let updated = apply_update(&current, &change, &["description".into()], now())
            .unwrap()
            .unwrap();
        assert_eq!(updated.description, "new");
        assert_eq!(updated.display_name, "", "not in the mask");
        assert_eq!(updated.generation, 2);
        let implicit = apply_update(&current, &change, &[], now())
            .unwrap()
            .unwrap();
        assert_eq!(implicit.display_name, "Dev");
        assert_eq!(
            apply_update(&current, &current, &["description".into()], now()).unwrap(),
            None
        );
        let deleting = Namespace {
            state: State::Deleting as i32,
            ..current
        };
        assert_eq!(
            apply_update(&deleting, &change, &[], now())
                .unwrap_err()
                .code,
            Code::FailedPrecondition
        );
    }
}
