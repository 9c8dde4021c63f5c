//! Pure rendering of API resources: aligned tables for people, one table per resource
//! type, and the one-line progress text of an Operation.

use ferry_proto::ferry::auth::v1 as auth;
use ferry_proto::ferry::build::v1 as build;
use ferry_proto::ferry::catalog::v1 as catalog;
use ferry_proto::ferry::common::v1 as common;
use ferry_proto::ferry::deploy::v1 as deploy;
use ferry_proto::ferry::routing::v1 as routing;
use ferry_proto::prost_types::Timestamp;

/// Rows under headers, rendered with aligned columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column headers.
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (one cell per header; an empty cell shows as `-`).
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }

    /// The table as text: columns padded to their widest cell, two spaces apart, no
    /// trailing whitespace, a newline after every line.
    pub fn render(&self) -> String {
        let cell = |text: &str| {
            if text.is_empty() {
                "-".to_string()
            } else {
                text.replace(['\n', '\t'], " ")
            }
        };
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(|text| cell(text)).collect())
            .collect();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (width, text) in widths.iter_mut().zip(row) {
                *width = (*width).max(text.chars().count());
            }
        }
        let mut out = String::new();
        let header_row: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header_row).chain(&rows) {
            let mut line = String::new();
            for (index, (text, width)) in row.iter().zip(&widths).enumerate() {
                if index > 0 {
                    line.push_str("  ");
                }
                line.push_str(text);
                let pad = width.saturating_sub(text.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// An enum's proto name without its prefix: `STATE_ACTIVE` → `ACTIVE`.
fn label(name: Option<&'static str>, prefix: &str) -> String {
    match name {
        Some(name) => name.strip_prefix(prefix).unwrap_or(name).to_string(),
        None => "UNKNOWN".to_string(),
    }
}

/// The last segment of a resource name (`namespaces/dev` → `dev`).
pub fn short_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn time(timestamp: Option<&Timestamp>) -> String {
    timestamp.map(ToString::to_string).unwrap_or_default()
}

/// Namespaces.
pub fn namespaces(items: &[deploy::Namespace]) -> Table {
    let mut table = Table::new(&["NAME", "STATE", "DESCRIPTION", "CREATED"]);
    for item in items {
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                deploy::namespace::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            item.description.clone(),
            time(item.create_time.as_ref()),
        ]);
    }
    table
}

/// Autoscaling policies, named by their deployment.
pub fn autoscaling_policies(items: &[deploy::AutoscalingPolicy]) -> Table {
    let mut table = Table::new(&[
        "DEPLOYMENT",
        "STATE",
        "MIN",
        "MAX",
        "CURRENT",
        "DESIRED",
        "CPU%",
        "MEMORY%",
        "LAST SCALED",
    ]);
    let target = |thresholds: Option<&deploy::autoscaling_policy::UtilizationThresholds>| {
        thresholds
            .filter(|t| t.target_percent > 0)
            .map_or_else(|| "-".to_string(), |t| t.target_percent.to_string())
    };
    for item in items {
        let deployment = item
            .name
            .strip_suffix("/autoscalingPolicy")
            .unwrap_or(&item.name);
        table.row(vec![
            short_name(deployment).to_string(),
            label(
                deploy::autoscaling_policy::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            item.min_replicas.to_string(),
            item.max_replicas.to_string(),
            item.current_replicas.to_string(),
            item.desired_replicas.to_string(),
            target(item.cpu.as_ref()),
            target(item.memory.as_ref()),
            time(item.last_scale_time.as_ref()),
        ]);
    }
    table
}

/// Deployments.
pub fn deployments(items: &[deploy::Deployment]) -> Table {
    let mut table = Table::new(&["NAME", "STATE", "READY", "REVISION", "IMAGE"]);
    for item in items {
        let desired = item.replicas.unwrap_or(1);
        let image = if item.current_image_uri.is_empty() {
            match item
                .template
                .as_ref()
                .and_then(|template| template.image_source.as_ref())
            {
                Some(deploy::deployment_template::ImageSource::Image(image))
                | Some(deploy::deployment_template::ImageSource::ImageUri(image)) => image.clone(),
                None => String::new(),
            }
        } else {
            item.current_image_uri.clone()
        };
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                deploy::deployment::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            format!("{}/{desired}", item.ready_replicas),
            short_name(&item.current_revision).to_string(),
            image,
        ]);
    }
    table
}

/// Revisions of a deployment.
pub fn revisions(items: &[deploy::DeploymentRevision]) -> Table {
    let mut table = Table::new(&["REVISION", "CAUSE", "RESULT", "IMAGE", "CREATED"]);
    for item in items {
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                deploy::deployment_revision::Cause::try_from(item.cause)
                    .ok()
                    .map(|c| c.as_str_name()),
                "CAUSE_",
            ),
            label(
                deploy::deployment_revision::RolloutResult::try_from(item.rollout_result)
                    .ok()
                    .map(|r| r.as_str_name()),
                "ROLLOUT_RESULT_",
            ),
            item.image_uri.clone(),
            time(item.create_time.as_ref()),
        ]);
    }
    table
}

/// Rollouts.
pub fn rollouts(items: &[deploy::Rollout]) -> Table {
    let mut table = Table::new(&["NAME", "KIND", "STATE", "FROM", "TO", "UPDATED"]);
    for item in items {
        let updated = item
            .progress
            .as_ref()
            .map(|p| format!("{}/{}", p.instances_updated, p.instances_total))
            .unwrap_or_default();
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                deploy::rollout::Kind::try_from(item.kind)
                    .ok()
                    .map(|k| k.as_str_name()),
                "KIND_",
            ),
            label(
                deploy::rollout::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            short_name(&item.from_revision).to_string(),
            short_name(&item.to_revision).to_string(),
            updated,
        ]);
    }
    table
}

/// Instances.
pub fn instances(items: &[deploy::Instance]) -> Table {
    let mut table = Table::new(&["NAME", "STATE", "REVISION", "HOST", "IP", "RESTARTS"]);
    for item in items {
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                deploy::instance::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            short_name(&item.revision).to_string(),
            short_name(&item.host).to_string(),
            item.ip_address.clone(),
            item.restart_count.to_string(),
        ]);
    }
    table
}

/// Events.
pub fn events(items: &[deploy::Event]) -> Table {
    let mut table = Table::new(&["LAST SEEN", "SEVERITY", "REASON", "OBJECT", "MESSAGE"]);
    for item in items {
        table.row(vec![
            time(item.last_time.as_ref().or(item.create_time.as_ref())),
            label(
                deploy::event::Severity::try_from(item.severity)
                    .ok()
                    .map(|s| s.as_str_name()),
                "SEVERITY_",
            ),
            item.reason.clone(),
            item.involved_resource.clone(),
            item.message.clone(),
        ]);
    }
    table
}

/// Hosts.
pub fn hosts(items: &[deploy::Host]) -> Table {
    let mut table = Table::new(&[
        "NAME",
        "STATE",
        "CORDONED",
        "RUNTIME",
        "INSTANCES",
        "ADDRESS",
    ]);
    for item in items {
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                deploy::host::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            if item.cordoned { "yes" } else { "no" }.to_string(),
            item.runtime.clone(),
            item.instance_count.to_string(),
            item.address.clone(),
        ]);
    }
    table
}

/// Secrets (never values: the API does not return them).
pub fn secrets(items: &[deploy::Secret]) -> Table {
    let mut table = Table::new(&["NAME", "KEYS", "VERSION", "UPDATED"]);
    for item in items {
        table.row(vec![
            short_name(&item.name).to_string(),
            item.keys.join(","),
            item.version.to_string(),
            time(item.data_update_time.as_ref()),
        ]);
    }
    table
}

/// Tokens (the secret prefix only).
pub fn tokens(items: &[auth::Token]) -> Table {
    let mut table = Table::new(&["NAME", "OWNER", "STATE", "PREFIX", "LAST USED"]);
    for item in items {
        table.row(vec![
            short_name(&item.name).to_string(),
            item.owner.clone(),
            label(
                auth::token::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            item.secret_prefix.clone(),
            time(item.last_use_time.as_ref()),
        ]);
    }
    table
}

/// A Service's or entry's ports: `name=80:8080/30080` (name, target and node port when
/// set).
fn service_ports(ports: &[routing::ServicePort]) -> String {
    use routing::service_port::TargetPortRef;
    ports
        .iter()
        .map(|port| {
            let mut text = if port.name.is_empty() {
                port.port.to_string()
            } else {
                format!("{}={}", port.name, port.port)
            };
            match &port.target_port_ref {
                Some(TargetPortRef::TargetPort(target)) => text.push_str(&format!(":{target}")),
                Some(TargetPortRef::TargetPortName(target)) => text.push_str(&format!(":{target}")),
                None => {}
            }
            if port.node_port != 0 {
                text.push_str(&format!("/{}", port.node_port));
            }
            text
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn service_type(kind: i32) -> String {
    label(
        routing::service::Type::try_from(kind)
            .ok()
            .map(|t| t.as_str_name()),
        "TYPE_",
    )
}

fn side_label(side: i32) -> String {
    label(
        routing::Side::try_from(side).ok().map(|s| s.as_str_name()),
        "SIDE_",
    )
}

/// Services.
pub fn services(items: &[routing::Service]) -> Table {
    let mut table = Table::new(&[
        "NAME", "STATE", "TYPE", "TARGET", "ADDRESS", "PORTS", "READY",
    ]);
    for item in items {
        let target = match &item.target {
            Some(routing::service::Target::Deployment(name))
            | Some(routing::service::Target::ServiceInstance(name)) => short_name(name).to_string(),
            Some(routing::service::Target::Selector(_)) => "selector".to_string(),
            None => String::new(),
        };
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                routing::service::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            service_type(item.r#type),
            target,
            item.cluster_address.clone(),
            service_ports(&item.ports),
            format!("{}/{}", item.ready_endpoint_count, item.endpoint_count),
        ]);
    }
    table
}

/// Endpoints of a Service.
pub fn endpoints(items: &[routing::Endpoint]) -> Table {
    let mut table = Table::new(&["INSTANCE", "ADDRESS", "PORT", "HEALTHY", "HOST"]);
    for item in items {
        let port = if item.port_name.is_empty() {
            item.port.to_string()
        } else {
            format!("{}={}", item.port_name, item.port)
        };
        table.row(vec![
            short_name(&item.instance).to_string(),
            item.address.clone(),
            port,
            if item.healthy { "yes" } else { "no" }.to_string(),
            short_name(&item.host).to_string(),
        ]);
    }
    table
}

/// External entries.
pub fn external_entries(items: &[catalog::ExternalEntry]) -> Table {
    let mut table = Table::new(&["NAME", "STATE", "DNS NAME", "PORTS", "ADDRESSES"]);
    for item in items {
        let ports = item
            .ports
            .iter()
            .map(|port| format!("{}={}", port.name, port.port))
            .collect::<Vec<_>>()
            .join(",");
        let addresses = item
            .addresses
            .iter()
            .enumerate()
            .map(|(index, address)| {
                let mut text = address.host.clone();
                if let Some(port) = address.ports.first() {
                    text.push_str(&format!(":{}", port.port));
                }
                if let Some(status) = item.address_statuses.get(index) {
                    let health = label(
                        catalog::address_status::Health::try_from(status.health)
                            .ok()
                            .map(|h| h.as_str_name()),
                        "HEALTH_",
                    );
                    text.push_str(&format!("({health})"));
                }
                text
            })
            .collect::<Vec<_>>()
            .join(",");
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                catalog::external_entry::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            item.dns_name.clone(),
            ports,
            addresses,
        ]);
    }
    table
}

/// Blue-green entries.
pub fn blue_green_entries(items: &[routing::BlueGreenEntry]) -> Table {
    let mut table = Table::new(&[
        "NAME", "STATE", "ACTIVE", "BLUE", "GREEN", "ADDRESS", "PORTS",
    ]);
    for item in items {
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                routing::blue_green_entry::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            side_label(item.active_side),
            short_name(&item.blue_namespace).to_string(),
            short_name(&item.green_namespace).to_string(),
            item.cluster_address.clone(),
            service_ports(&item.ports),
        ]);
    }
    table
}

/// The namespaces a blue-green entry's application can be deployed to.
pub fn deployable_namespaces(items: &[routing::DeployableNamespace]) -> Table {
    let mut table = Table::new(&[
        "NAMESPACE",
        "SIDE",
        "ACTIVE",
        "HEALTHY",
        "READY",
        "REVISION",
        "IMAGE",
    ]);
    for item in items {
        table.row(vec![
            short_name(&item.namespace).to_string(),
            side_label(item.side),
            if item.active { "yes" } else { "no" }.to_string(),
            if item.healthy { "yes" } else { "no" }.to_string(),
            format!("{}/{}", item.ready_instances, item.desired_instances),
            short_name(&item.revision).to_string(),
            item.image_version.clone(),
        ]);
    }
    table
}

fn build_state(state: i32) -> String {
    label(
        build::build::State::try_from(state)
            .ok()
            .map(|s| s.as_str_name()),
        "STATE_",
    )
}

/// Applications.
pub fn applications(items: &[build::Application]) -> Table {
    let mut table = Table::new(&["NAME", "STATE", "REPOSITORY", "REF", "LAST BUILD", "IMAGE"]);
    for item in items {
        let source = item.source.clone().unwrap_or_default();
        let last_build = item
            .last_build
            .as_ref()
            .map(|b| format!("{} {}", short_name(&b.build), build_state(b.state)))
            .unwrap_or_default();
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                build::application::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            source.repository_url,
            source.r#ref,
            last_build,
            short_name(&item.latest_image).to_string(),
        ]);
    }
    table
}

/// Builds.
pub fn builds(items: &[build::Build]) -> Table {
    let mut table = Table::new(&["NAME", "STATE", "REF", "COMMIT", "STEP", "IMAGE", "CREATED"]);
    for item in items {
        let step = item
            .steps
            .iter()
            .find(|step| step.state == common::StageState::Running as i32)
            .or_else(|| item.steps.last())
            .map(|step| step_label(step.kind))
            .unwrap_or_default();
        table.row(vec![
            short_name(&item.name).to_string(),
            build_state(item.state),
            item.r#ref.clone(),
            item.commit
                .as_ref()
                .map(|c| c.short_sha.clone())
                .unwrap_or_default(),
            step,
            short_name(&item.image).to_string(),
            time(item.create_time.as_ref()),
        ]);
    }
    table
}

fn step_label(kind: i32) -> String {
    label(
        build::build::StepKind::try_from(kind)
            .ok()
            .map(|k| k.as_str_name()),
        "STEP_KIND_",
    )
}

/// Images.
pub fn images(items: &[build::Image]) -> Table {
    let mut table = Table::new(&[
        "NAME",
        "VERSION",
        "COMMIT",
        "DIGEST",
        "DEPLOYED IN",
        "CREATED",
    ]);
    for item in items {
        table.row(vec![
            short_name(&item.name).to_string(),
            item.version.clone(),
            item.commit_sha.chars().take(12).collect(),
            item.digest.clone(),
            item.deployed_in
                .iter()
                .map(|name| name.trim_start_matches("namespaces/").to_string())
                .collect::<Vec<_>>()
                .join(","),
            time(item.create_time.as_ref()),
        ]);
    }
    table
}

/// Promotions.
pub fn promotions(items: &[build::Promotion]) -> Table {
    let mut table = Table::new(&["NAME", "STATE", "IMAGE", "QA", "PRODUCTION", "CREATED"]);
    for item in items {
        table.row(vec![
            short_name(&item.name).to_string(),
            label(
                build::promotion::State::try_from(item.state)
                    .ok()
                    .map(|s| s.as_str_name()),
                "STATE_",
            ),
            short_name(&item.image).to_string(),
            short_name(&item.qa_namespace).to_string(),
            short_name(&item.production_namespace).to_string(),
            time(item.create_time.as_ref()),
        ]);
    }
    table
}

/// Operations.
pub fn operations(items: &[common::Operation]) -> Table {
    let mut table = Table::new(&["NAME", "VERB", "TARGET", "STATE", "PROGRESS", "MESSAGE"]);
    for item in items {
        let metadata = item.metadata.clone().unwrap_or_default();
        table.row(vec![
            item.name.clone(),
            metadata.verb.clone(),
            metadata.target.clone(),
            operation_state(&metadata),
            format!("{}%", metadata.progress_percent),
            metadata.status_message.clone(),
        ]);
    }
    table
}

/// An operation's state label (`RUNNING`).
pub fn operation_state(metadata: &common::OperationMetadata) -> String {
    label(
        common::OperationState::try_from(metadata.state)
            .ok()
            .map(|s| s.as_str_name()),
        "OPERATION_STATE_",
    )
}

/// The progress bar's message for an operation update: its state, the running stage
/// (or the last one), the rollout's instance counts when the details carry a
/// `RolloutProgress`, and the status message.
pub fn progress_message(operation: &common::Operation) -> String {
    let metadata = operation.metadata.clone().unwrap_or_default();
    let mut parts = vec![operation_state(&metadata)];
    let stage = metadata
        .stages
        .iter()
        .find(|stage| stage.state == common::StageState::Running as i32)
        .or_else(|| metadata.stages.last());
    if let Some(stage) = stage {
        let name = if stage.display_name.is_empty() {
            &stage.id
        } else {
            &stage.display_name
        };
        parts.push(format!("stage {name}"));
    }
    if let Some(progress) = rollout_progress(&metadata) {
        parts.push(format!(
            "{}/{} updated, {} available",
            progress.instances_updated, progress.instances_total, progress.instances_available
        ));
    }
    if let Some(progress) =
        details::<build::BuildProgress>(&metadata, "ferry.build.v1.BuildProgress")
    {
        if progress.queue_position > 0 {
            parts.push(format!("queued at {}", progress.queue_position));
        } else if progress.current_step != build::build::StepKind::Unspecified as i32 {
            parts.push(format!("step {}", step_label(progress.current_step)));
        }
    }
    if let Some(progress) =
        details::<routing::SwitchProgress>(&metadata, "ferry.routing.v1.SwitchProgress")
    {
        parts.push(format!(
            "{} → {}, {}/{} replicas switched",
            side_label(progress.from_side),
            side_label(progress.to_side),
            progress.replicas_switched,
            progress.replicas_total
        ));
    }
    if !metadata.status_message.is_empty() {
        parts.push(metadata.status_message.clone());
    }
    parts.join(" · ")
}

/// An operation's details as `M` (full proto name `name`), if that is what they hold.
fn details<M: prost::Message + Default>(
    metadata: &common::OperationMetadata,
    name: &str,
) -> Option<M> {
    let details = metadata.details.as_ref()?;
    if details.type_url.rsplit('/').next() != Some(name) {
        return None;
    }
    M::decode(details.value.as_slice()).ok()
}

/// The `RolloutProgress` in an operation's details, if that is what they hold.
pub fn rollout_progress(metadata: &common::OperationMetadata) -> Option<deploy::RolloutProgress> {
    use prost::Message as _;
    let details = metadata.details.as_ref()?;
    if !details
        .type_url
        .ends_with("/ferry.deploy.v1.RolloutProgress")
    {
        return None;
    }
    deploy::RolloutProgress::decode(details.value.as_slice()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn tables_align_columns_without_trailing_space() {
        let mut table = Table::new(&["NAME", "STATE"]);
        table.row(vec!["a-long-name".into(), "ACTIVE".into()]);
        table.row(vec!["b".into(), String::new()]);
        assert_eq!(
            table.render(),
            "NAME         STATE\na-long-name  ACTIVE\nb            -\n"
        );
    }

    #[test]
    fn namespaces_show_short_names_and_states() {
        let text = namespaces(&[deploy::Namespace {
            name: "namespaces/dev".into(),
            state: deploy::namespace::State::Active as i32,
            description: "team\ndev".into(),
            ..Default::default()
        }])
        .render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["NAME", "STATE", "DESCRIPTION", "CREATED"]
        );
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["dev", "ACTIVE", "team", "dev", "-"]
        );
    }

    #[test]
    fn deployments_show_readiness_and_image() {
        let text = deployments(&[deploy::Deployment {
            name: "namespaces/dev/deployments/web".into(),
            replicas: Some(3),
            ready_replicas: 2,
            state: deploy::deployment::State::Updating as i32,
            current_revision: "namespaces/dev/deployments/web/revisions/r2".into(),
            template: Some(deploy::DeploymentTemplate {
                image_source: Some(deploy::deployment_template::ImageSource::ImageUri(
                    "r/web@sha256:1".into(),
                )),
                ..Default::default()
            }),
            ..Default::default()
        }])
        .render();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row, ["web", "UPDATING", "2/3", "r2", "r/web@sha256:1"]);
    }

    #[test]
    fn progress_shows_stage_and_rollout_counts() {
        let progress = deploy::RolloutProgress {
            instances_total: 4,
            instances_updated: 1,
            instances_available: 3,
            ..Default::default()
        };
        let operation = common::Operation {
            name: "operations/x".into(),
            metadata: Some(common::OperationMetadata {
                state: common::OperationState::Running as i32,
                progress_percent: 25,
                status_message: "replacing instances".into(),
                stages: vec![
                    common::OperationStage {
                        id: "plan".into(),
                        state: common::StageState::Succeeded as i32,
                        ..Default::default()
                    },
                    common::OperationStage {
                        id: "roll".into(),
                        display_name: "Roll out".into(),
                        state: common::StageState::Running as i32,
                        ..Default::default()
                    },
                ],
                details: Some(ferry_proto::prost_types::Any {
                    type_url: "type.googleapis.com/ferry.deploy.v1.RolloutProgress".into(),
                    value: progress.encode_to_vec(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            progress_message(&operation),
            "RUNNING · stage Roll out · 1/4 updated, 3 available · replacing instances"
        );
        let table = operations(&[operation]).render();
        assert!(table.contains("25%"), "{table}");
    }

    fn row(table: &Table, index: usize) -> Vec<String> {
        table
            .render()
            .lines()
            .nth(index)
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn services_and_entries_show_targets_ports_and_health() {
        let table = services(&[routing::Service {
            name: "namespaces/dev/services/web".into(),
            target: Some(routing::service::Target::Deployment(
                "namespaces/dev/deployments/web-app".into(),
            )),
            ports: vec![routing::ServicePort {
                name: "http".into(),
                port: 80,
                target_port_ref: Some(routing::service_port::TargetPortRef::TargetPort(8080)),
                node_port: 30080,
                ..Default::default()
            }],
            r#type: routing::service::Type::NodePort as i32,
            state: routing::service::State::Active as i32,
            cluster_address: "127.77.0.9".into(),
            ready_endpoint_count: 1,
            endpoint_count: 2,
            ..Default::default()
        }]);
        assert_eq!(
            row(&table, 0),
            [
                "NAME", "STATE", "TYPE", "TARGET", "ADDRESS", "PORTS", "READY"
            ]
        );
        assert_eq!(
            row(&table, 1),
            [
                "web",
                "ACTIVE",
                "NODE_PORT",
                "web-app",
                "127.77.0.9",
                "http=80:8080/30080",
                "1/2"
            ]
        );
        let table = external_entries(&[catalog::ExternalEntry {
            name: "namespaces/dev/externalEntries/db".into(),
            state: catalog::external_entry::State::Degraded as i32,
            dns_name: "db.dev.svc.cluster.local".into(),
            ports: vec![common::ContainerPort {
                name: "pg".into(),
                port: 5432,
                ..Default::default()
            }],
            addresses: vec![
                catalog::ExternalAddress {
                    host: "10.0.0.1".into(),
                    ports: vec![catalog::AddressPort {
                        name: "pg".into(),
                        port: 6432,
                    }],
                },
                catalog::ExternalAddress {
                    host: "10.0.0.2".into(),
                    ports: vec![],
                },
            ],
            address_statuses: vec![catalog::AddressStatus {
                host: "10.0.0.1".into(),
                health: catalog::address_status::Health::Unhealthy as i32,
                ..Default::default()
            }],
            ..Default::default()
        }]);
        assert_eq!(
            row(&table, 1),
            [
                "db",
                "DEGRADED",
                "db.dev.svc.cluster.local",
                "pg=5432",
                "10.0.0.1:6432(UNHEALTHY),10.0.0.2"
            ]
        );
    }

    #[test]
    fn builds_and_applications_show_state_and_step() {
        let table = builds(&[build::Build {
            name: "applications/web/builds/b-3".into(),
            state: build::build::State::Running as i32,
            r#ref: "main".into(),
            commit: Some(build::build::Commit {
                short_sha: "abc1234".into(),
                ..Default::default()
            }),
            steps: vec![
                build::build::Step {
                    kind: build::build::StepKind::Fetch as i32,
                    state: common::StageState::Succeeded as i32,
                    ..Default::default()
                },
                build::build::Step {
                    kind: build::build::StepKind::Test as i32,
                    state: common::StageState::Running as i32,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }]);
        assert_eq!(
            row(&table, 1),
            ["b-3", "RUNNING", "main", "abc1234", "TEST", "-", "-"]
        );
        let table = applications(&[build::Application {
            name: "applications/web".into(),
            state: build::application::State::Active as i32,
            source: Some(build::GitSource {
                repository_url: "/srv/git/web".into(),
                ..Default::default()
            }),
            ..Default::default()
        }]);
        assert_eq!(
            row(&table, 1),
            ["web", "ACTIVE", "/srv/git/web", "-", "-", "-"]
        );
        let operation = common::Operation {
            name: "operations/b".into(),
            metadata: Some(common::OperationMetadata {
                state: common::OperationState::Running as i32,
                details: Some(ferry_proto::prost_types::Any {
                    type_url: "type.googleapis.com/ferry.build.v1.BuildProgress".into(),
                    value: build::BuildProgress {
                        current_step: build::build::StepKind::Push as i32,
                        ..Default::default()
                    }
                    .encode_to_vec(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(progress_message(&operation), "RUNNING · step PUSH");
    }

    #[test]
    fn tokens_and_secrets_never_hold_values() {
        let text = tokens(&[auth::Token {
            name: "tokens/ci".into(),
            owner: "users/admin".into(),
            secret_prefix: "ferry_ci_ab".into(),
            state: auth::token::State::Revoked as i32,
            ..Default::default()
        }])
        .render();
        assert!(
            text.contains("REVOKED") && text.contains("ferry_ci_ab"),
            "{text}"
        );
        let text = secrets(&[deploy::Secret {
            name: "namespaces/dev/secrets/db".into(),
            keys: vec!["user".into(), "pass".into()],
            version: 2,
            ..Default::default()
        }])
        .render();
        assert!(
            text.contains("db  ") && text.contains("user,pass"),
            "{text}"
        );
    }
}
