//! Pure rendering of API resources: aligned tables for people, one table per resource
//! type, and the one-line progress text of an Operation.

use ferry_proto::ferry::auth::v1 as auth;
use ferry_proto::ferry::common::v1 as common;
use ferry_proto::ferry::deploy::v1 as deploy;
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
    if !metadata.status_message.is_empty() {
        parts.push(metadata.status_message.clone());
    }
    parts.join(" · ")
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
