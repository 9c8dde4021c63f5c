//! Pure rules of blue-green entries: validation, the sides, their health, the data
//! plane program (the active side's instances behind the entry's address) and the
//! steps of a switch.

use std::time::Duration;

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::deployment_template::ImageSource;
use ferry_proto::ferry::deploy::v1::{Deployment, Instance, instance};
use ferry_proto::ferry::routing::v1::service::{Target, Type};
use ferry_proto::ferry::routing::v1::switch_record::Result as SwitchResult;
use ferry_proto::ferry::routing::v1::{
    BlueGreenEntry, DeployableNamespace, Service, Side, SideStatus,
};
use tonic::Code;

use crate::dataplane::{Program, ProgramKind};
use crate::service::model::{self as service_model, NAMESPACE_NAME, ProgramTuning};

/// `blueGreenEntries/{entry}`.
pub const ENTRY_NAME: NamePattern = NamePattern("blueGreenEntries/{entry}");
/// `applications/{application}`.
pub const APPLICATION_NAME: NamePattern = NamePattern("applications/{application}");

/// Drain time after a switch when none is given.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);
/// Longest drain time accepted.
pub const MAX_DRAIN: Duration = Duration::from_secs(3600);
/// Most switch records kept.
pub const MAX_HISTORY: usize = 50;

/// The DNS name of an entry: `{entry}.bluegreen.cluster.local`.
pub fn dns_name(id: &str) -> String {
    format!("{id}.bluegreen.{}", service_model::CLUSTER_DOMAIN)
}

/// Checks every client-settable field of an entry (`field` is the request field).
pub fn validate(entry: &BlueGreenEntry, field: &str) -> Result<(), ApiError> {
    let at = |name: &str| format!("{field}.{name}");
    let application = APPLICATION_NAME.parse(&at("application"), &entry.application)?;
    let deployment = if entry.deployment.is_empty() {
        application[0]
    } else {
        entry.deployment.as_str()
    };
    aip::validate_id(&at("deployment"), deployment)?;
    let blue = NAMESPACE_NAME.parse(&at("blue_namespace"), &entry.blue_namespace)?;
    NAMESPACE_NAME.parse(&at("green_namespace"), &entry.green_namespace)?;
    if entry.blue_namespace == entry.green_namespace {
        return Err(ApiError::invalid_field(
            at("green_namespace"),
            "must differ from blue_namespace",
        ));
    }
    // Ports, type and affinity follow the rules of Services.
    let as_service = Service {
        target: Some(Target::Deployment(format!(
            "namespaces/{}/deployments/{deployment}",
            blue[0]
        ))),
        ports: entry.ports.clone(),
        r#type: entry.r#type,
        session_affinity: entry.session_affinity,
        display_name: entry.display_name.clone(),
        labels: entry.labels.clone(),
        annotations: entry.annotations.clone(),
        ..Default::default()
    };
    service_model::validate(&as_service, blue[0], field)?;
    if let Some(drain) = entry.drain_timeout
        && !Duration::try_from(drain).is_ok_and(|d| d <= MAX_DRAIN)
    {
        return Err(ApiError::invalid_field(
            at("drain_timeout"),
            "between 0 s and 1 h",
        ));
    }
    if !(0..=100).contains(&entry.min_healthy_percent) {
        return Err(ApiError::invalid_field(
            at("min_healthy_percent"),
            "between 1 and 100 (0 means 100)",
        ));
    }
    Ok(())
}

/// The deployment id of an entry (its application's id when unset).
pub fn deployment_id(entry: &BlueGreenEntry) -> String {
    if entry.deployment.is_empty() {
        entry
            .application
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    } else {
        entry.deployment.clone()
    }
}

/// A side's namespace (`namespaces/{ns}`).
pub fn side_namespace(entry: &BlueGreenEntry, side: Side) -> &str {
    match side {
        Side::Green => &entry.green_namespace,
        _ => &entry.blue_namespace,
    }
}

/// A side's deployment name (`namespaces/{ns}/deployments/{d}`).
pub fn side_deployment(entry: &BlueGreenEntry, side: Side) -> String {
    format!(
        "{}/deployments/{}",
        side_namespace(entry, side),
        deployment_id(entry)
    )
}

/// The other side.
pub fn other(side: Side) -> Side {
    match side {
        Side::Green => Side::Blue,
        _ => Side::Green,
    }
}

/// The drain time of an entry.
pub fn drain_timeout(entry: &BlueGreenEntry) -> Duration {
    entry
        .drain_timeout
        .and_then(|d| Duration::try_from(d).ok())
        .unwrap_or(DEFAULT_DRAIN)
}

/// Ready and desired instances of a deployment (if any) with its observed `instances`,
/// and whether it passes the entry's switch health check (`min_healthy_percent`).
pub fn readiness(
    entry: &BlueGreenEntry,
    deployment: Option<&Deployment>,
    instances: &[Instance],
) -> (i32, i32, bool) {
    let ready = instances
        .iter()
        .filter(|i| i.state() == instance::State::Ready)
        .count() as i32;
    let desired = deployment.map_or(0, |d| d.replicas.unwrap_or(1));
    let percent = if entry.min_healthy_percent == 0 {
        100
    } else {
        entry.min_healthy_percent
    };
    let healthy = deployment.is_some() && ready > 0 && ready * 100 >= percent * desired;
    (ready, desired, healthy)
}

/// The health of one side: its deployment (if any) and its observed instances.
pub fn side_status(
    entry: &BlueGreenEntry,
    side: Side,
    deployment: Option<&Deployment>,
    instances: &[Instance],
) -> SideStatus {
    let (ready, desired, healthy) = readiness(entry, deployment, instances);
    SideStatus {
        side: side as i32,
        namespace: side_namespace(entry, side).to_string(),
        deployment: if deployment.is_some() {
            side_deployment(entry, side)
        } else {
            String::new()
        },
        active: entry.active_side == side as i32,
        healthy,
        ready_instances: ready,
        desired_instances: desired,
        revision: deployment
            .map(|d| d.current_revision.clone())
            .unwrap_or_default(),
        image_version: deployment.map(image_version).unwrap_or_default(),
    }
}

/// The image version a deployment runs: the tag of its image reference
/// (`registry/web:1.4.2@sha256:…` → `1.4.2`), or the image id of an image built by the
/// build service (`applications/{a}/images/{image}`); empty when neither says one.
pub fn image_version(deployment: &Deployment) -> String {
    let reference = match deployment
        .template
        .as_ref()
        .and_then(|t| t.image_source.as_ref())
    {
        Some(ImageSource::Image(image)) => {
            return image.rsplit('/').next().unwrap_or_default().to_string();
        }
        Some(ImageSource::ImageUri(uri)) => uri.as_str(),
        None => deployment.current_image_uri.as_str(),
    };
    if reference.starts_with("sha256:") {
        return String::new();
    }
    let without_digest = reference.split('@').next().unwrap_or_default();
    let last = without_digest.rsplit('/').next().unwrap_or_default();
    match last.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => tag.to_string(),
        _ => String::new(),
    }
}

/// Why a side cannot take traffic, for TARGET_UNHEALTHY errors.
pub fn unhealthy_reason(status: &SideStatus, entry: &BlueGreenEntry) -> String {
    let side = Side::try_from(status.side).unwrap_or(Side::Unspecified);
    if status.deployment.is_empty() {
        format!(
            "{} is not deployed in {} (the {} side)",
            deployment_id(entry),
            status.namespace,
            side.as_str_name()
                .trim_start_matches("SIDE_")
                .to_lowercase()
        )
    } else {
        format!(
            "{} has {} of {} instances ready, fewer than the entry's minimum",
            status.deployment, status.ready_instances, status.desired_instances
        )
    }
}

/// The Service an entry stands for right now: the active side's deployment behind the
/// entry's address and ports.
pub fn as_service(entry: &BlueGreenEntry) -> Service {
    let active = Side::try_from(entry.active_side).unwrap_or(Side::Blue);
    Service {
        name: entry.name.clone(),
        target: Some(Target::Deployment(side_deployment(entry, active))),
        ports: entry.ports.clone(),
        r#type: if entry.r#type == Type::Unspecified as i32 {
            Type::ClusterInternal as i32
        } else {
            entry.r#type
        },
        session_affinity: entry.session_affinity,
        dns_name: entry.dns_name.clone(),
        cluster_address: entry.cluster_address.clone(),
        allocated_node_ports: entry.allocated_node_ports.clone(),
        ..Default::default()
    }
}

/// The data plane program of an entry at `generation` (its record's version, which
/// changes with every switch), over the active side's `instances`.
pub fn program(
    entry: &BlueGreenEntry,
    generation: i64,
    instances: &[Instance],
    declared: &[ferry_proto::ferry::common::v1::ContainerPort],
    tuning: &ProgramTuning,
) -> Program {
    let mut program =
        service_model::program(&as_service(entry), generation, instances, declared, tuning);
    program.kind = ProgramKind::BlueGreenEntry;
    program.drain_timeout = drain_timeout(entry);
    program
}

/// The running switch of an entry (the newest record, when it runs).
pub fn running_switch(entry: &BlueGreenEntry) -> Option<usize> {
    entry
        .switch_history
        .first()
        .filter(|r| r.result() == SwitchResult::Running)
        .map(|_| 0)
}

/// The fields UpdateBlueGreenEntry may change (the namespaces only on the inactive side).
pub const UPDATABLE_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "blue_namespace",
    "green_namespace",
    "ports",
    "type",
    "session_affinity",
    "drain_timeout",
    "min_healthy_percent",
];

/// The client-set fields that never change after create.
pub const IMMUTABLE_FIELDS: &[&str] = &["application", "deployment", "initial_side"];

/// Checks an update mask: every path is an updatable field (or `*`); an immutable or
/// unknown one is INVALID_ARGUMENT (INVALID_UPDATE_MASK). Returns the paths.
pub fn update_paths(mask: Option<&prost_types::FieldMask>) -> Result<Vec<String>, ApiError> {
    let paths = mask.map(|m| m.paths.clone()).unwrap_or_default();
    for path in &paths {
        if IMMUTABLE_FIELDS.contains(&path.as_str()) {
            return Err(immutable(path));
        }
    }
    aip::validate_update_mask(mask, UPDATABLE_FIELDS)
}

fn immutable(field: &str) -> ApiError {
    ApiError::new(
        Code::InvalidArgument,
        ErrorReason::InvalidUpdateMask,
        format!(
            "invalid update_mask: {field} cannot change after create (updatable: {})",
            UPDATABLE_FIELDS.join(", ")
        ),
    )
    .with_field_violation("update_mask", format!("{field} is immutable"))
}

/// Applies the fields of `input` that `paths` name (empty: every updatable field) to
/// `current`, and returns the entry to store (not yet validated). Refuses a change of
/// the active side's namespace (FAILED_PRECONDITION, INVALID_STATE) and, with an empty
/// mask, an `application` or `deployment` that differs from the entry's
/// (INVALID_ARGUMENT, INVALID_UPDATE_MASK).
pub fn apply_update(
    current: &BlueGreenEntry,
    input: &BlueGreenEntry,
    paths: &[String],
) -> Result<BlueGreenEntry, ApiError> {
    let every = paths.is_empty() || paths.iter().any(|p| p == "*");
    let touches = |field: &str| every || paths.iter().any(|p| p == field);
    if every {
        if !input.application.is_empty() && input.application != current.application {
            return Err(immutable("application"));
        }
        if !input.deployment.is_empty() && input.deployment != deployment_id(current) {
            return Err(immutable("deployment"));
        }
    }
    let mut updated = current.clone();
    if touches("display_name") {
        updated.display_name = input.display_name.clone();
    }
    if touches("labels") {
        updated.labels = input.labels.clone();
    }
    if touches("annotations") {
        updated.annotations = input.annotations.clone();
    }
    let active = Side::try_from(current.active_side).unwrap_or(Side::Blue);
    for (side, field) in [
        (Side::Blue, "blue_namespace"),
        (Side::Green, "green_namespace"),
    ] {
        if !touches(field) {
            continue;
        }
        let wanted = side_namespace(input, side);
        if wanted == side_namespace(current, side) {
            continue;
        }
        if side == active {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                current.name.clone(),
                format!(
                    "{field} is the active side's namespace ({}): switch to the other side \
                     first, then change it",
                    side_namespace(current, side)
                ),
            )
            .with_metadata("field", format!("blue_green_entry.{field}")));
        }
        match side {
            Side::Green => updated.green_namespace = wanted.to_string(),
            _ => updated.blue_namespace = wanted.to_string(),
        }
    }
    if touches("ports") {
        updated.ports = input.ports.clone();
    }
    if touches("type") {
        updated.r#type = if input.r#type == Type::Unspecified as i32 {
            Type::ClusterInternal as i32
        } else {
            input.r#type
        };
    }
    if touches("session_affinity") {
        updated.session_affinity = input.session_affinity;
    }
    if touches("drain_timeout") {
        updated.drain_timeout = input.drain_timeout;
    }
    if touches("min_healthy_percent") {
        updated.min_healthy_percent = input.min_healthy_percent;
    }
    Ok(updated)
}

/// The sides (`namespaces/{ns}/deployments/{d}` names) of `other` entries that one of
/// `wanted` already is: `(deployment, entry holding it)`, the first found.
pub fn in_use_by<'a>(
    wanted: &[String],
    name: &str,
    others: &'a [BlueGreenEntry],
) -> Option<(String, &'a str)> {
    others
        .iter()
        .filter(|other| other.name != name)
        .find_map(|other| {
            [Side::Blue, Side::Green]
                .into_iter()
                .map(|side| side_deployment(other, side))
                .find(|d| wanted.contains(d))
                .map(|d| (d, other.name.as_str()))
        })
}

/// FAILED_PRECONDITION (IN_USE): `deployment` is already a side of `holder`.
pub fn in_use(deployment: &str, holder: &str) -> ApiError {
    ApiError::failed_precondition(
        ErrorReason::InUse,
        deployment,
        format!(
            "{deployment} is already a side of {holder}: a deployment can be behind one \
             blue-green entry only"
        ),
    )
    .with_metadata("holder", holder)
}

/// One namespace where `entry`'s deployment runs (`deployment` with its observed
/// `instances`), as ListDeployableNamespaces shows it.
pub fn deployable(
    entry: &BlueGreenEntry,
    namespace: &str,
    deployment: &Deployment,
    instances: &[Instance],
    in_other_entry: bool,
) -> DeployableNamespace {
    let (ready, desired, healthy) = readiness(entry, Some(deployment), instances);
    let side = [Side::Blue, Side::Green]
        .into_iter()
        .find(|s| side_namespace(entry, *s) == namespace)
        .unwrap_or(Side::Unspecified);
    DeployableNamespace {
        namespace: namespace.to_string(),
        deployment: format!("{namespace}/deployments/{}", deployment_id(entry)),
        side: side as i32,
        active: side != Side::Unspecified && entry.active_side == side as i32,
        healthy,
        ready_instances: ready,
        desired_instances: desired,
        revision: deployment.current_revision.clone(),
        image_version: image_version(deployment),
        in_other_entry,
    }
}

/// The position key of a deployable namespace: the active side first, then the
/// inactive side, then the others by name (also the page token's key).
pub fn deployable_order_key(namespace: &DeployableNamespace) -> String {
    let rank = if namespace.active {
        0
    } else if namespace.side != Side::Unspecified as i32 {
        1
    } else {
        2
    };
    format!("{rank}{}", namespace.namespace)
}

/// Sorts deployable namespaces into their listing order.
pub fn order_deployable(namespaces: &mut [DeployableNamespace]) {
    namespaces.sort_by_key(deployable_order_key);
}

/// The filterable fields of ListDeployableNamespaces.
pub const DEPLOYABLE_FILTER_FIELDS: &[&str] = &["healthy", "side", "active", "in_other_entry"];

/// A deployable namespace's values of a filter field.
pub fn deployable_field(namespace: &DeployableNamespace, field: &str) -> Vec<String> {
    match field {
        "healthy" => vec![namespace.healthy.to_string()],
        "side" => vec![namespace.side().as_str_name().to_string()],
        "active" => vec![namespace.active.to_string()],
        "in_other_entry" => vec![namespace.in_other_entry.to_string()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::routing::v1::ServicePort;
    use tonic::Code;

    fn entry() -> BlueGreenEntry {
        BlueGreenEntry {
            name: "blueGreenEntries/shop".into(),
            application: "applications/shop".into(),
            blue_namespace: "namespaces/shop-blue".into(),
            green_namespace: "namespaces/shop-green".into(),
            ports: vec![ServicePort {
                name: "http".into(),
                port: 80,
                ..Default::default()
            }],
            active_side: Side::Blue as i32,
            ..Default::default()
        }
    }

    #[test]
    fn entries_validate_and_name_their_sides() {
        assert!(validate(&entry(), "entry").is_ok());
        let same = BlueGreenEntry {
            green_namespace: "namespaces/shop-blue".into(),
            ..entry()
        };
        let error = validate(&same, "entry").unwrap_err();
        assert_eq!(error.field_violations[0].0, "entry.green_namespace");
        let mut bad_port = entry();
        bad_port.ports[0].port = 0;
        assert_eq!(
            validate(&bad_port, "entry").unwrap_err().code,
            Code::InvalidArgument
        );
        assert_eq!(
            side_deployment(&entry(), Side::Green),
            "namespaces/shop-green/deployments/shop"
        );
        assert_eq!(
            as_service(&entry()).target,
            Some(Target::Deployment(
                "namespaces/shop-blue/deployments/shop".into()
            ))
        );
        let missing = side_status(&entry(), Side::Green, None, &[]);
        assert!(!missing.healthy);
        assert!(unhealthy_reason(&missing, &entry()).contains("not deployed"));
    }
    fn deployment(replicas: i32, image: &str) -> Deployment {
        Deployment {
            replicas: Some(replicas),
            current_revision: "r3".into(),
            template: Some(ferry_proto::ferry::deploy::v1::DeploymentTemplate {
                image_source: Some(ImageSource::ImageUri(image.into())),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn ready(count: usize) -> Vec<Instance> {
        (0..count)
            .map(|_| Instance {
                state: instance::State::Ready as i32,
                ..Default::default()
            })
            .collect()
    }

    fn mask(paths: &[&str]) -> Vec<String> {
        update_paths(Some(&prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }))
        .unwrap()
    }

    #[test]
    fn update_masks_change_only_named_fields_and_the_inactive_side() {
        let current = entry();
        let mut input = entry();
        input.display_name = "Shop".into();
        input.green_namespace = "namespaces/shop-next".into();
        input.min_healthy_percent = 50;
        let updated = apply_update(&current, &input, &mask(&["display_name"])).unwrap();
        assert_eq!(updated.display_name, "Shop");
        assert_eq!(updated.green_namespace, "namespaces/shop-green");
        assert_eq!(updated.min_healthy_percent, 0);
        let updated = apply_update(&current, &input, &mask(&["green_namespace"])).unwrap();
        assert_eq!(updated.green_namespace, "namespaces/shop-next");
        assert_eq!(updated.blue_namespace, "namespaces/shop-blue");
        assert_eq!(updated.display_name, "");
        // An empty mask means every updatable field.
        let updated = apply_update(&current, &input, &[]).unwrap();
        assert_eq!(
            (updated.display_name.as_str(), updated.min_healthy_percent),
            ("Shop", 50)
        );
        assert_eq!(updated.green_namespace, "namespaces/shop-next");
        // The active side's namespace cannot change.
        let mut moved = entry();
        moved.blue_namespace = "namespaces/shop-next".into();
        let error = apply_update(&current, &moved, &mask(&["blue_namespace"])).unwrap_err();
        assert_eq!(error.code, Code::FailedPrecondition);
        assert_eq!(error.reason, ErrorReason::InvalidState);
        assert_eq!(
            apply_update(&current, &moved, &[]).unwrap_err().code,
            Code::FailedPrecondition
        );
        // An unchanged active namespace in the mask is fine.
        assert!(apply_update(&current, &entry(), &mask(&["blue_namespace"])).is_ok());
        // Type unset becomes CLUSTER_INTERNAL, as on create.
        let updated = apply_update(&current, &entry(), &mask(&["type"])).unwrap();
        assert_eq!(updated.r#type, Type::ClusterInternal as i32);
    }

    #[test]
    fn immutable_and_unknown_mask_paths_are_refused() {
        for path in [
            "application",
            "deployment",
            "initial_side",
            "active_side",
            "etag",
            "nope",
        ] {
            let error = update_paths(Some(&prost_types::FieldMask {
                paths: vec![path.into()],
            }))
            .unwrap_err();
            assert_eq!(error.code, Code::InvalidArgument, "{path}");
            assert_eq!(error.reason, ErrorReason::InvalidUpdateMask, "{path}");
        }
        assert!(update_paths(None).unwrap().is_empty());
        let mut input = entry();
        input.application = "applications/other".into();
        let error = apply_update(&entry(), &input, &[]).unwrap_err();
        assert_eq!(error.reason, ErrorReason::InvalidUpdateMask);
        // Not in the mask: ignored.
        assert!(apply_update(&entry(), &input, &mask(&["labels"])).is_ok());
        let mut input = entry();
        input.deployment = "web".into();
        assert_eq!(
            apply_update(&entry(), &input, &[]).unwrap_err().reason,
            ErrorReason::InvalidUpdateMask
        );
        input.deployment = "shop".into();
        assert!(apply_update(&entry(), &input, &[]).is_ok());
    }

    #[test]
    fn deployments_behind_other_entries_are_in_use() {
        let mut other = entry();
        other.name = "blueGreenEntries/other".into();
        other.blue_namespace = "namespaces/x".into();
        other.green_namespace = "namespaces/shop-green".into();
        let others = vec![entry(), other];
        let wanted = vec!["namespaces/shop-green/deployments/shop".to_string()];
        let (deployment, holder) = in_use_by(&wanted, "blueGreenEntries/shop", &others).unwrap();
        assert_eq!(deployment, wanted[0]);
        assert_eq!(holder, "blueGreenEntries/other");
        // The entry itself never counts.
        assert!(in_use_by(&wanted, "blueGreenEntries/other", &others[1..]).is_none());
        let free = vec!["namespaces/y/deployments/shop".to_string()];
        assert!(in_use_by(&free, "blueGreenEntries/new", &others).is_none());
        let error = in_use(&deployment, holder);
        assert_eq!(
            (error.code, error.reason),
            (Code::FailedPrecondition, ErrorReason::InUse)
        );
        assert!(error.message.contains("blueGreenEntries/other"));
    }

    #[test]
    fn deployable_namespaces_order_health_and_filter() {
        let mut entry = entry();
        entry.active_side = Side::Green as i32;
        entry.min_healthy_percent = 50;
        let image = "registry.local/shop:1.4.2@sha256:abc";
        let mut found = vec![
            deployable(
                &entry,
                "namespaces/a-other",
                &deployment(2, image),
                &ready(0),
                true,
            ),
            deployable(
                &entry,
                "namespaces/shop-blue",
                &deployment(2, image),
                &ready(1),
                false,
            ),
            deployable(
                &entry,
                "namespaces/b-other",
                &deployment(4, image),
                &ready(2),
                false,
            ),
            deployable(
                &entry,
                "namespaces/shop-green",
                &deployment(2, image),
                &ready(2),
                false,
            ),
        ];
        order_deployable(&mut found);
        let order: Vec<&str> = found.iter().map(|d| d.namespace.as_str()).collect();
        assert_eq!(
            order,
            [
                "namespaces/shop-green",
                "namespaces/shop-blue",
                "namespaces/a-other",
                "namespaces/b-other"
            ]
        );
        assert!(found[0].active && found[0].side() == Side::Green);
        assert!(!found[1].active && found[1].side() == Side::Blue);
        assert_eq!(found[2].side(), Side::Unspecified);
        // 1 of 2 ready passes a 50 % threshold; 0 ready never does.
        let healthy: Vec<bool> = found.iter().map(|d| d.healthy).collect();
        assert_eq!(healthy, [true, true, false, true]);
        assert_eq!(
            (found[3].ready_instances, found[3].desired_instances),
            (2, 4)
        );
        assert_eq!(
            found[0].deployment,
            "namespaces/shop-green/deployments/shop"
        );
        assert_eq!(
            (found[0].revision.as_str(), found[0].image_version.as_str()),
            ("r3", "1.4.2")
        );
        let pick = |filter: &str| -> Vec<String> {
            let filter = crate::filter::Filter::parse(filter, DEPLOYABLE_FILTER_FIELDS).unwrap();
            found
                .iter()
                .filter(|d| filter.matches(|f| deployable_field(d, f)))
                .map(|d| d.namespace.clone())
                .collect()
        };
        assert_eq!(pick("healthy = false"), ["namespaces/a-other"]);
        assert_eq!(pick("in_other_entry = true"), ["namespaces/a-other"]);
        assert_eq!(pick("side = BLUE"), ["namespaces/shop-blue"]);
        assert_eq!(
            pick("side = SIDE_UNSPECIFIED AND healthy = true"),
            ["namespaces/b-other"]
        );
        assert_eq!(pick("active = true"), ["namespaces/shop-green"]);
        assert!(crate::filter::Filter::parse("state = x", DEPLOYABLE_FILTER_FIELDS).is_err());
        // Page keys follow the order.
        let keys: Vec<String> = found.iter().map(deployable_order_key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn image_versions_come_from_tags_or_build_images() {
        assert_eq!(image_version(&deployment(1, "r:5000/a/web:2.0")), "2.0");
        assert_eq!(image_version(&deployment(1, "r:5000/a/web@sha256:ff")), "");
        assert_eq!(
            image_version(&deployment(1, &format!("sha256:{}", "a".repeat(64)))),
            ""
        );
        let built = Deployment {
            template: Some(ferry_proto::ferry::deploy::v1::DeploymentTemplate {
                image_source: Some(ImageSource::Image("applications/shop/images/v7".into())),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(image_version(&built), "v7");
    }
}
