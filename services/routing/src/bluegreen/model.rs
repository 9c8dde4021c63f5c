//! Pure rules of blue-green entries: validation, the sides, their health, the data
//! plane program (the active side's instances behind the entry's address) and the
//! steps of a switch.

use std::time::Duration;

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::deploy::v1::{Deployment, Instance, instance};
use ferry_proto::ferry::routing::v1::service::{Target, Type};
use ferry_proto::ferry::routing::v1::switch_record::Result as SwitchResult;
use ferry_proto::ferry::routing::v1::{BlueGreenEntry, Service, Side, SideStatus};

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

/// The health of one side: its deployment (if any) and its observed instances.
pub fn side_status(
    entry: &BlueGreenEntry,
    side: Side,
    deployment: Option<&Deployment>,
    instances: &[Instance],
) -> SideStatus {
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
    SideStatus {
        side: side as i32,
        namespace: side_namespace(entry, side).to_string(),
        deployment: if deployment.is_some() {
            side_deployment(entry, side)
        } else {
            String::new()
        },
        active: entry.active_side == side as i32,
        healthy: deployment.is_some() && ready > 0 && ready * 100 >= percent * desired,
        ready_instances: ready,
        desired_instances: desired,
        revision: deployment
            .map(|d| d.current_revision.clone())
            .unwrap_or_default(),
        image_version: String::new(),
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
}
