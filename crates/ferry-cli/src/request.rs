//! Pure translation of flags into API requests and resource names: no IO, tested with
//! plain data.

use ferry_proto::ferry::auth::v1 as auth;
use ferry_proto::ferry::build::v1 as build;
use ferry_proto::ferry::catalog::v1 as catalog;
use ferry_proto::ferry::common::v1 as common;
use ferry_proto::ferry::deploy::v1 as deploy;
use ferry_proto::ferry::routing::v1 as routing;
use ferry_proto::prost_types::FieldMask;

use crate::cli::{
    Affinity, CreateApplicationArgs, CreateBlueGreenArgs, CreateDeploymentArgs,
    CreateExternalEntryArgs, CreateServiceArgs, ServiceType, SetAutoscalingArgs, SideArg,
    UpdateDeploymentArgs,
};
use crate::error::CliError;
use crate::json;

/// `dev` or `namespaces/dev` → `namespaces/dev`.
pub fn namespace_name(id: &str) -> String {
    if id.starts_with("namespaces/") {
        id.to_string()
    } else {
        format!("namespaces/{id}")
    }
}

/// The namespace a namespaced command works in, or what to do about a missing one.
pub fn require_namespace(namespace: Option<&str>) -> Result<String, CliError> {
    match namespace.filter(|namespace| !namespace.is_empty()) {
        Some(namespace) => Ok(namespace_name(namespace)),
        None => Err(CliError::config(
            "this command needs a namespace, and none is set",
            "pass --namespace <id>, or run `ferry context set-namespace <id>`",
        )),
    }
}

/// A namespaced resource's full name: `id` as is when it is already a full name
/// (`namespaces/…`), else `namespaces/<ns>/<collection>/<id>`.
pub fn resource_name(
    namespace: Option<&str>,
    collection: &str,
    id: &str,
) -> Result<String, CliError> {
    if id.starts_with("namespaces/") {
        return Ok(id.to_string());
    }
    if id.is_empty() || id.contains('/') {
        return Err(CliError::usage(format!(
            "{id:?} is not a {collection} id (expected an id, or a full name `namespaces/…`)"
        )));
    }
    Ok(format!(
        "{}/{collection}/{id}",
        require_namespace(namespace)?
    ))
}

/// A resource under a deployment (`rollouts`, `instances`): `<deployment>/<id>` in the
/// namespace, or a full name.
pub fn deployment_child_name(
    namespace: Option<&str>,
    collection: &str,
    spec: &str,
) -> Result<String, CliError> {
    if spec.starts_with("namespaces/") {
        return Ok(spec.to_string());
    }
    match spec.split_once('/') {
        Some((deployment, id)) if !deployment.is_empty() && !id.is_empty() && !id.contains('/') => {
            Ok(format!(
                "{}/{collection}/{id}",
                resource_name(namespace, "deployments", deployment)?
            ))
        }
        _ => Err(CliError::usage(format!(
            "{spec:?} does not name one of a deployment's {collection}: write \
             `<deployment>/<id>` (or the full name)"
        ))),
    }
}

/// A top-level resource's full name (`hosts/…`, `tokens/…`, `operations/…`).
pub fn top_level_name(collection: &str, id: &str) -> String {
    let prefix = format!("{collection}/");
    if id.starts_with(&prefix) {
        id.to_string()
    } else {
        format!("{prefix}{id}")
    }
}

/// `r3`, `3` or a full revision name → the revision's full name under `deployment`.
pub fn revision_name(deployment: &str, to: &str) -> Result<String, CliError> {
    if to.contains("/revisions/") {
        return Ok(to.to_string());
    }
    let number = to.strip_prefix('r').unwrap_or(to);
    match number.parse::<u64>() {
        Ok(number) if number > 0 => Ok(format!("{deployment}/revisions/r{number}")),
        _ => Err(CliError::usage(format!(
            "--to {to:?} is not a revision: write `r<number>` (e.g. r3); `ferry deployments \
             revisions <id>` lists them"
        ))),
    }
}

/// `KEY=VALUE` → its parts (the value may hold `=`; the key must be non-empty).
pub fn parse_key_value(flag: &str, text: &str) -> Result<(String, String), CliError> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(CliError::usage(format!("{flag} {text:?} is not KEY=VALUE"))),
    }
}

/// `name:port[/tcp|/udp]` → a container port.
pub fn parse_port(text: &str) -> Result<common::ContainerPort, CliError> {
    let bad = |why: &str| {
        CliError::usage(format!(
            "--port {text:?} {why}: write name:port[/tcp|/udp|/http|/grpc], e.g. http:8080"
        ))
    };
    let (name, rest) = text.split_once(':').ok_or_else(|| bad("has no name"))?;
    if name.is_empty() {
        return Err(bad("has no name"));
    }
    let (port, protocol) = match rest.split_once('/') {
        Some((port, "tcp")) => (port, common::Protocol::Tcp),
        Some((port, "udp")) => (port, common::Protocol::Udp),
        Some((port, "http")) => (port, common::Protocol::Http),
        Some((port, "grpc")) => (port, common::Protocol::Grpc),
        Some(_) => return Err(bad("has an unknown protocol")),
        None => (rest, common::Protocol::Tcp),
    };
    let port: i32 = port
        .parse()
        .ok()
        .filter(|port| (1..=65535).contains(port))
        .ok_or_else(|| bad("has no port between 1 and 65535"))?;
    Ok(common::ContainerPort {
        name: name.to_string(),
        port,
        protocol: protocol as i32,
    })
}

/// `--image`: a built image (`applications/…/images/…`) or an image reference.
pub fn image_source(image: &str) -> deploy::deployment_template::ImageSource {
    use deploy::deployment_template::ImageSource;
    if image.starts_with("applications/") {
        ImageSource::Image(image.to_string())
    } else {
        ImageSource::ImageUri(image.to_string())
    }
}

fn plain_env(key: String, value: String) -> common::EnvVar {
    common::EnvVar {
        name: key,
        source: Some(common::env_var::Source::Value(value)),
    }
}

/// CreateDeployment from flags, or from a proto JSON `Deployment` (`file_text`).
pub fn create_deployment(
    namespace: Option<&str>,
    args: &CreateDeploymentArgs,
    file_text: Option<&str>,
) -> Result<deploy::CreateDeploymentRequest, CliError> {
    let parent = require_namespace(namespace)?;
    let mut deployment = match file_text {
        Some(text) => json::from_json::<deploy::Deployment>(text).map_err(|error| {
            CliError::config(
                format!("the file is not a Deployment in proto JSON: {error}"),
                "fix the file (field names in lowerCamelCase, as `ferry deployments get -o \
                 json` prints them)",
            )
        })?,
        None => {
            let image = args.image.as_deref().ok_or_else(|| {
                CliError::usage("--image is required (or give a whole Deployment with -f)")
            })?;
            let env = args
                .env
                .iter()
                .map(|text| parse_key_value("--env", text).map(|(k, v)| plain_env(k, v)))
                .collect::<Result<_, _>>()?;
            let ports = args
                .port
                .iter()
                .map(|text| parse_port(text))
                .collect::<Result<_, _>>()?;
            deploy::Deployment {
                replicas: args.replicas,
                template: Some(deploy::DeploymentTemplate {
                    image_source: Some(image_source(image)),
                    env,
                    ports,
                    ..Default::default()
                }),
                ..Default::default()
            }
        }
    };
    // The id: the argument, else the last segment of the file's `name`.
    let from_file = deployment
        .name
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
        .map(str::to_string);
    let deployment_id = args
        .id
        .clone()
        .or(from_file)
        .ok_or_else(|| CliError::usage("give the deployment id (or a `name` in the file)"))?;
    deployment.name.clear();
    Ok(deploy::CreateDeploymentRequest {
        parent,
        deployment_id,
        deployment: Some(deployment),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: false,
    })
}

/// Utilization thresholds from `DOWN:TARGET:UP`, or from a TARGET alone (DOWN 20 below
/// it, at least 1; UP 10 above it). The service checks the order and the range.
pub fn parse_thresholds(
    flag: &str,
    text: &str,
) -> Result<deploy::autoscaling_policy::UtilizationThresholds, CliError> {
    let bad = || {
        CliError::usage(format!(
            "{flag} {text:?}: expected TARGET or DOWN:TARGET:UP in percent, e.g. 70 or 50:70:85"
        ))
    };
    let numbers: Vec<i32> = text
        .split(':')
        .map(|part| part.trim().parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let (down, target, up) = match numbers[..] {
        [target] => ((target - 20).max(1), target, target + 10),
        [down, target, up] => (down, target, up),
        _ => return Err(bad()),
    };
    Ok(deploy::autoscaling_policy::UtilizationThresholds {
        target_percent: target,
        scale_up_threshold_percent: up,
        scale_down_threshold_percent: down,
    })
}

/// UpdateAutoscalingPolicy for `ferry autoscaling set`: on the existing policy
/// (`current`) only the fields given, in the mask and guarded by its etag; without one, a
/// new policy (`allow_missing`), enabled unless `--disable`.
pub fn set_autoscaling(
    name: String,
    current: Option<&deploy::AutoscalingPolicy>,
    args: &SetAutoscalingArgs,
) -> Result<deploy::UpdateAutoscalingPolicyRequest, CliError> {
    let mut policy = current.cloned().unwrap_or_default();
    let mut paths = Vec::new();
    if let Some(min) = args.min {
        policy.min_replicas = min;
        paths.push("min_replicas");
    }
    if let Some(max) = args.max {
        policy.max_replicas = max;
        paths.push("max_replicas");
    }
    if let Some(text) = &args.cpu {
        policy.cpu = Some(parse_thresholds("--cpu", text)?);
        paths.push("cpu");
    }
    if let Some(text) = &args.memory {
        policy.memory = Some(parse_thresholds("--memory", text)?);
        paths.push("memory");
    }
    let enabled = match (args.enable, args.disable) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ if current.is_none() => Some(true),
        _ => None,
    };
    if let Some(enabled) = enabled {
        policy.enabled = enabled;
        paths.push("enabled");
    }
    if current.is_some() && paths.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give --min, --max, --cpu, --memory, --enable or --disable",
        ));
    }
    policy.name = name;
    Ok(deploy::UpdateAutoscalingPolicyRequest {
        autoscaling_policy: Some(policy),
        update_mask: Some(FieldMask {
            paths: paths.into_iter().map(str::to_string).collect(),
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: args.validate_only,
        allow_missing: current.is_none(),
    })
}

/// UpdateDeployment of `current`'s template with a new image and/or env changes
/// (`KEY=VALUE` sets, `KEY-` removes), guarded by the etag it was read with.
pub fn update_deployment(
    current: deploy::Deployment,
    args: &UpdateDeploymentArgs,
) -> Result<deploy::UpdateDeploymentRequest, CliError> {
    if args.image.is_none() && args.env.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give --image and/or --env",
        ));
    }
    let mut deployment = current;
    let template = deployment.template.get_or_insert_with(Default::default);
    if let Some(image) = &args.image {
        template.image_source = Some(image_source(image));
    }
    for change in &args.env {
        if let Some(key) = change.strip_suffix('-').filter(|key| !key.contains('=')) {
            if !template.env.iter().any(|var| var.name == key) {
                return Err(CliError::usage(format!(
                    "--env {change}: the deployment has no variable {key}"
                )));
            }
            template.env.retain(|var| var.name != key);
            continue;
        }
        let (key, value) = parse_key_value("--env", change)?;
        match template.env.iter_mut().find(|var| var.name == key) {
            Some(var) => var.source = Some(common::env_var::Source::Value(value)),
            None => template.env.push(plain_env(key, value)),
        }
    }
    Ok(deploy::UpdateDeploymentRequest {
        deployment: Some(deploy::Deployment {
            name: deployment.name,
            etag: deployment.etag,
            template: deployment.template,
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["template".to_string()],
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: false,
        allow_missing: false,
    })
}

/// CreateSecret from `--from-literal KEY=VALUE` flags.
pub fn create_secret(
    namespace: Option<&str>,
    id: &str,
    literals: &[String],
) -> Result<deploy::CreateSecretRequest, CliError> {
    let mut data = std::collections::HashMap::new();
    for literal in literals {
        let (key, value) = parse_key_value("--from-literal", literal)?;
        if data.insert(key.clone(), value.into_bytes()).is_some() {
            return Err(CliError::usage(format!(
                "--from-literal {key} is given twice"
            )));
        }
    }
    Ok(deploy::CreateSecretRequest {
        parent: require_namespace(namespace)?,
        secret_id: id.to_string(),
        secret: Some(deploy::Secret {
            data,
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: false,
    })
}

/// CreateToken with an optional scope and lifetime.
pub fn create_token(
    id: &str,
    roles: &[String],
    namespaces: &[String],
    ttl_seconds: Option<i64>,
) -> Result<auth::CreateTokenRequest, CliError> {
    let expiration = match ttl_seconds {
        Some(seconds) if seconds <= 0 => {
            return Err(CliError::usage("--ttl-seconds must be positive"));
        }
        Some(seconds) => Some(auth::token::Expiration::Ttl(
            ferry_proto::prost_types::Duration { seconds, nanos: 0 },
        )),
        None => None,
    };
    let scope = (!roles.is_empty() || !namespaces.is_empty()).then(|| auth::TokenScope {
        roles: roles.to_vec(),
        namespaces: namespaces.iter().map(|ns| namespace_name(ns)).collect(),
    });
    Ok(auth::CreateTokenRequest {
        token: Some(auth::Token {
            scope,
            expiration,
            ..Default::default()
        }),
        token_id: id.to_string(),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: false,
    })
}

/// A resource under an application (`builds`, `images`, `promotions`):
/// `<application>/<id>`, or a full name `applications/…`.
pub fn application_child_name(collection: &str, spec: &str) -> Result<String, CliError> {
    if spec.starts_with("applications/") {
        return Ok(spec.to_string());
    }
    match spec.split_once('/') {
        Some((application, id))
            if !application.is_empty() && !id.is_empty() && !id.contains('/') =>
        {
            Ok(format!("applications/{application}/{collection}/{id}"))
        }
        _ => Err(CliError::usage(format!(
            "{spec:?} does not name one of an application's {collection}: write \
             `<application>/<id>` (or the full name); `ferry {collection} list <application>` \
             lists them"
        ))),
    }
}

/// A port number flag value in 1..=65535.
fn port_number(text: &str) -> Option<i32> {
    text.parse()
        .ok()
        .filter(|port: &i32| (1..=65535).contains(port))
}

/// `[name=]PORT[:TARGET]` → a Service port; TARGET is a port number or a port name of
/// the deployment.
pub fn parse_service_port(text: &str) -> Result<routing::ServicePort, CliError> {
    use routing::service_port::TargetPortRef;
    let bad = |why: &str| {
        CliError::usage(format!(
            "--port {text:?} {why}: write [name=]PORT[:TARGET], e.g. http=80:8080"
        ))
    };
    let (name, rest) = match text.split_once('=') {
        Some(("", _)) => return Err(bad("has an empty name")),
        Some((name, rest)) => (name, rest),
        None => ("", text),
    };
    let (port, target) = match rest.split_once(':') {
        Some((port, target)) => (port, Some(target)),
        None => (rest, None),
    };
    let port = port_number(port).ok_or_else(|| bad("has no port between 1 and 65535"))?;
    let target_port_ref = match target {
        None => None,
        Some("") => return Err(bad("has an empty target")),
        Some(target) if target.bytes().all(|b| b.is_ascii_digit()) => {
            Some(TargetPortRef::TargetPort(
                port_number(target).ok_or_else(|| bad("has a target outside 1..65535"))?,
            ))
        }
        Some(target) => Some(TargetPortRef::TargetPortName(target.to_string())),
    };
    Ok(routing::ServicePort {
        name: name.to_string(),
        port,
        target_port_ref,
        ..Default::default()
    })
}

fn service_type(service_type: Option<ServiceType>) -> routing::service::Type {
    match service_type {
        None => routing::service::Type::Unspecified,
        Some(ServiceType::Cluster) => routing::service::Type::ClusterInternal,
        Some(ServiceType::NodePort) => routing::service::Type::NodePort,
    }
}

fn session_affinity(affinity: Option<Affinity>) -> Option<routing::SessionAffinity> {
    use routing::session_affinity::Mode;
    let mode = match affinity? {
        Affinity::None => Mode::None,
        Affinity::ClientIp => Mode::ClientIp,
    };
    Some(routing::SessionAffinity {
        mode: mode as i32,
        timeout: None,
    })
}

/// A blue-green side flag.
pub fn side(side: Option<SideArg>) -> routing::Side {
    match side {
        None => routing::Side::Unspecified,
        Some(SideArg::Blue) => routing::Side::Blue,
        Some(SideArg::Green) => routing::Side::Green,
    }
}

/// CreateService from flags.
pub fn create_service(
    namespace: Option<&str>,
    args: &CreateServiceArgs,
) -> Result<routing::CreateServiceRequest, CliError> {
    let parent = require_namespace(namespace)?;
    let deployment = resource_name(namespace, "deployments", &args.deployment)?;
    let mut ports = args
        .port
        .iter()
        .map(|text| parse_service_port(text))
        .collect::<Result<Vec<_>, _>>()?;
    let mut kind = service_type(args.service_type);
    if let Some(node_port) = args.node_port {
        if kind == routing::service::Type::ClusterInternal {
            return Err(CliError::usage(
                "--node-port needs --type node-port (a cluster Service has no node port)",
            ));
        }
        if ports.len() != 1 {
            return Err(CliError::usage(
                "--node-port applies to a Service with one --port; leave it out to let Ferry \
                 pick node ports",
            ));
        }
        ports[0].node_port = node_port;
        kind = routing::service::Type::NodePort;
    }
    Ok(routing::CreateServiceRequest {
        parent,
        service_id: args.id.clone(),
        service: Some(routing::Service {
            target: Some(routing::service::Target::Deployment(deployment)),
            ports,
            r#type: kind as i32,
            session_affinity: session_affinity(args.affinity),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: false,
    })
}

/// `NAME=PORT` → an external entry port.
pub fn parse_entry_port(text: &str) -> Result<common::ContainerPort, CliError> {
    let bad = || {
        CliError::usage(format!(
            "--port {text:?} is not NAME=PORT with a port between 1 and 65535, e.g. pg=5432"
        ))
    };
    let (name, port) = parse_key_value("--port", text).map_err(|_| bad())?;
    let port = port_number(&port).ok_or_else(bad)?;
    Ok(common::ContainerPort {
        name,
        port,
        protocol: common::Protocol::Tcp as i32,
    })
}

/// `HOST[:PORT]` (IPv6 as `[addr]:PORT`, or bare without a port) → an outside address;
/// PORT is where the entry port `first_port` leads.
pub fn parse_external_address(
    text: &str,
    first_port: &str,
) -> Result<catalog::ExternalAddress, CliError> {
    let bad = |why: &str| {
        CliError::usage(format!(
            "--address {text:?} {why}: write HOST[:PORT], e.g. db.example.com:5432 or \
             [2001:db8::1]:5432"
        ))
    };
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("has no closing `]`"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(bad("has text after `]` that is not `:PORT`")),
            },
        }
    } else if text.matches(':').count() == 1 {
        let (host, port) = text.split_once(':').expect("one colon");
        (host, Some(port))
    } else {
        (text, None)
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let ports = match port {
        None => Vec::new(),
        Some(port) => vec![catalog::AddressPort {
            name: first_port.to_string(),
            port: port_number(port).ok_or_else(|| bad("has no port between 1 and 65535"))?,
        }],
    };
    Ok(catalog::ExternalAddress {
        host: host.to_string(),
        ports,
    })
}

/// `tcp` or `http:/path` → a health check on the entry's first port.
pub fn parse_health_check(text: &str) -> Result<common::HealthCheck, CliError> {
    use common::health_check::Probe;
    let probe = match text {
        "tcp" => Probe::Tcp(common::TcpProbe { port: 0 }),
        "http" => Probe::Http(common::HttpProbe {
            path: "/".to_string(),
            ..Default::default()
        }),
        _ => match text.strip_prefix("http:") {
            Some(path) if path.starts_with('/') => Probe::Http(common::HttpProbe {
                path: path.to_string(),
                ..Default::default()
            }),
            _ => {
                return Err(CliError::usage(format!(
                    "--health-check {text:?} is not a probe: write `tcp` or `http:/path`, e.g. \
                     http:/healthz"
                )));
            }
        },
    };
    Ok(common::HealthCheck {
        probe: Some(probe),
        ..Default::default()
    })
}

/// CreateExternalEntry from flags.
pub fn create_external_entry(
    namespace: Option<&str>,
    args: &CreateExternalEntryArgs,
) -> Result<catalog::CreateExternalEntryRequest, CliError> {
    let parent = require_namespace(namespace)?;
    let ports = args
        .port
        .iter()
        .map(|text| parse_entry_port(text))
        .collect::<Result<Vec<_>, _>>()?;
    let first = ports
        .first()
        .map(|port| port.name.clone())
        .ok_or_else(|| CliError::usage("give at least one --port NAME=PORT"))?;
    let addresses = args
        .address
        .iter()
        .map(|text| parse_external_address(text, &first))
        .collect::<Result<Vec<_>, _>>()?;
    let health_check = args
        .health_check
        .as_deref()
        .map(parse_health_check)
        .transpose()?;
    Ok(catalog::CreateExternalEntryRequest {
        parent,
        external_entry_id: args.id.clone(),
        external_entry: Some(catalog::ExternalEntry {
            addresses,
            ports,
            health_check,
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: false,
    })
}

/// CreateBlueGreenEntry from flags.
pub fn create_blue_green(
    args: &CreateBlueGreenArgs,
) -> Result<routing::CreateBlueGreenEntryRequest, CliError> {
    let ports = args
        .port
        .iter()
        .map(|text| parse_service_port(text))
        .collect::<Result<Vec<_>, _>>()?;
    let blue = namespace_name(&args.blue);
    let green = namespace_name(&args.green);
    if blue == green {
        return Err(CliError::usage(format!(
            "--blue and --green are both {blue}: a blue-green entry needs two namespaces"
        )));
    }
    Ok(routing::CreateBlueGreenEntryRequest {
        blue_green_entry: Some(routing::BlueGreenEntry {
            application: top_level_name("applications", &args.application),
            deployment: args.deployment.clone().unwrap_or_default(),
            blue_namespace: blue,
            green_namespace: green,
            initial_side: side(args.initial_side) as i32,
            ports,
            r#type: service_type(args.service_type) as i32,
            session_affinity: session_affinity(args.affinity),
            ..Default::default()
        }),
        blue_green_entry_id: args.id.clone(),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: false,
    })
}

/// `--auto-deploy NAMESPACE[/DEPLOYMENT]` (or a full deployment name) → the deployment's
/// full name; the deployment defaults to the application's id.
pub fn auto_deploy_target(application_id: &str, text: &str) -> Result<String, CliError> {
    if text.starts_with("namespaces/") {
        return Ok(text.to_string());
    }
    let (namespace, deployment) = text.split_once('/').unwrap_or((text, application_id));
    if namespace.is_empty() || deployment.is_empty() || deployment.contains('/') {
        return Err(CliError::usage(format!(
            "--auto-deploy {text:?} is not NAMESPACE[/DEPLOYMENT], e.g. dev or dev/web"
        )));
    }
    Ok(format!("namespaces/{namespace}/deployments/{deployment}"))
}

/// `SOURCE[:DESTINATION]` → an artifact output (DESTINATION defaults to `/app/`).
pub fn parse_artifact(text: &str) -> Result<build::ArtifactPath, CliError> {
    let (source, destination) = text.split_once(':').unwrap_or((text, "/app/"));
    if source.is_empty() || !destination.starts_with('/') {
        return Err(CliError::usage(format!(
            "--artifact {text:?} is not SOURCE[:DESTINATION] with an absolute DESTINATION, \
             e.g. target/release/web:/usr/local/bin/"
        )));
    }
    Ok(build::ArtifactPath {
        source: source.to_string(),
        destination: destination.to_string(),
        mode: String::new(),
    })
}

/// CreateApplication from flags: a git source, the build and test scripts, a
/// Dockerfile or artifact image, and auto-deploy targets.
pub fn create_application(
    args: &CreateApplicationArgs,
) -> Result<build::CreateApplicationRequest, CliError> {
    use build::build_config::Mode;
    let id = args
        .id
        .strip_prefix("applications/")
        .unwrap_or(&args.id)
        .to_string();
    let mode = match (&args.dockerfile, args.artifact.is_empty()) {
        (Some(_), false) => {
            return Err(CliError::usage("give --dockerfile or --artifact, not both"));
        }
        (Some(path), true) => Mode::Dockerfile(build::DockerfileBuild {
            dockerfile_path: path.clone(),
            ..Default::default()
        }),
        (None, false) => Mode::Artifact(build::ArtifactBuild {
            base_image: args.base_image.clone().ok_or_else(|| {
                CliError::usage("--artifact needs --base-image (the image outputs are copied onto)")
            })?,
            outputs: args
                .artifact
                .iter()
                .map(|text| parse_artifact(text))
                .collect::<Result<_, _>>()?,
            ..Default::default()
        }),
        (None, true) => {
            return Err(CliError::usage(
                "say how the image is made: --dockerfile PATH (e.g. Dockerfile), or --artifact \
                 SOURCE[:DESTINATION] with --base-image IMAGE",
            ));
        }
    };
    let deployments = args
        .auto_deploy
        .iter()
        .map(|text| auto_deploy_target(&id, text))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(build::CreateApplicationRequest {
        application_id: id,
        application: Some(build::Application {
            source: Some(build::GitSource {
                repository_url: args.git.clone(),
                r#ref: args.git_ref.clone().unwrap_or_default(),
                sub_directory: args.sub_directory.clone().unwrap_or_default(),
                ..Default::default()
            }),
            build: Some(build::BuildConfig {
                build_script: args.build_script.clone().unwrap_or_default(),
                test: args.test_script.as_ref().map(|script| build::TestConfig {
                    script: script.clone(),
                    junit_report_path: String::new(),
                }),
                mode: Some(mode),
                ..Default::default()
            }),
            auto_deploy: (!deployments.is_empty())
                .then_some(build::AutoDeployConfig { deployments }),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: false,
    })
}

/// CreateBuild of an application (of `git_ref`, else the application's ref).
pub fn create_build(application: &str, git_ref: Option<&str>) -> build::CreateBuildRequest {
    build::CreateBuildRequest {
        parent: top_level_name("applications", application),
        build: Some(build::Build {
            r#ref: git_ref.unwrap_or_default().to_string(),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    }
}

/// CreatePromotion of an image of `application` (an image id, or its full name).
pub fn create_promotion(
    application: &str,
    image: &str,
    to: Option<&str>,
    id: Option<&str>,
) -> Result<build::CreatePromotionRequest, CliError> {
    let parent = top_level_name("applications", application);
    let image = if image.starts_with("applications/") {
        image.to_string()
    } else if image.is_empty() || image.contains('/') {
        return Err(CliError::usage(format!(
            "--image {image:?} is not an image of {parent}: give its id (`ferry images list \
             {application}`) or its full name"
        )));
    } else {
        format!("{parent}/images/{image}")
    };
    Ok(build::CreatePromotionRequest {
        parent,
        promotion_id: id.unwrap_or_default().to_string(),
        promotion: Some(build::Promotion {
            image,
            production_namespace: to.map(namespace_name).unwrap_or_default(),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        validate_only: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploy::deployment_template::ImageSource;

    #[test]
    fn service_ports_take_names_and_targets() {
        use routing::service_port::TargetPortRef;
        let port = parse_service_port("http=80:8080").unwrap();
        assert_eq!((port.name.as_str(), port.port), ("http", 80));
        assert_eq!(port.target_port_ref, Some(TargetPortRef::TargetPort(8080)));
        let port = parse_service_port("443:https").unwrap();
        assert_eq!((port.name.as_str(), port.port), ("", 443));
        assert_eq!(
            port.target_port_ref,
            Some(TargetPortRef::TargetPortName("https".into()))
        );
        assert_eq!(parse_service_port("8080").unwrap().target_port_ref, None);
        for bad in ["", "=80", "http=", "http=0", "80:", "80:70000", "x=y"] {
            let error = parse_service_port(bad).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad}");
            assert!(error.render().contains("[name=]PORT[:TARGET]"), "{bad}");
        }
    }

    #[test]
    fn create_service_from_flags() {
        let args = CreateServiceArgs {
            id: "web".into(),
            deployment: "web-app".into(),
            port: vec!["http=80:8080".into()],
            node_port: Some(30080),
            affinity: Some(Affinity::ClientIp),
            ..Default::default()
        };
        let request = create_service(Some("dev"), &args).unwrap();
        assert_eq!(request.parent, "namespaces/dev");
        assert_eq!(request.service_id, "web");
        assert!(!request.request_id.is_empty());
        let service = request.service.unwrap();
        assert_eq!(
            service.target,
            Some(routing::service::Target::Deployment(
                "namespaces/dev/deployments/web-app".into()
            ))
        );
        assert_eq!(service.ports[0].node_port, 30080);
        assert_eq!(service.r#type, routing::service::Type::NodePort as i32);
        assert_eq!(
            service.session_affinity.unwrap().mode,
            routing::session_affinity::Mode::ClientIp as i32
        );
        let plain = CreateServiceArgs {
            id: "web".into(),
            deployment: "web-app".into(),
            port: vec!["80".into()],
            ..Default::default()
        };
        let service = create_service(Some("dev"), &plain)
            .unwrap()
            .service
            .unwrap();
        assert_eq!(service.r#type, routing::service::Type::Unspecified as i32);
        assert!(service.session_affinity.is_none());

        // Bad input is refused before any call, saying why.
        let cluster_with_node_port = CreateServiceArgs {
            service_type: Some(ServiceType::Cluster),
            ..args
        };
        let error = create_service(Some("dev"), &cluster_with_node_port).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error.render().contains("--type node-port"),
            "{}",
            error.render()
        );
        let no_namespace = create_service(None, &plain).unwrap_err();
        assert_eq!(no_namespace.exit_code(), 3);
    }

    #[test]
    fn external_entries_from_flags() {
        let args = CreateExternalEntryArgs {
            id: "db".into(),
            address: vec![
                "db1.example.com:6432".into(),
                "10.0.0.7".into(),
                "[2001:db8::1]:5433".into(),
                "2001:db8::2".into(),
            ],
            port: vec!["pg=5432".into()],
            health_check: Some("http:/healthz".into()),
        };
        let request = create_external_entry(Some("dev"), &args).unwrap();
        assert_eq!(request.parent, "namespaces/dev");
        assert_eq!(request.external_entry_id, "db");
        let entry = request.external_entry.unwrap();
        assert_eq!(entry.ports[0].name, "pg");
        assert_eq!(entry.ports[0].port, 5432);
        let hosts: Vec<(&str, Vec<(String, i32)>)> = entry
            .addresses
            .iter()
            .map(|a| {
                (
                    a.host.as_str(),
                    a.ports.iter().map(|p| (p.name.clone(), p.port)).collect(),
                )
            })
            .collect();
        assert_eq!(
            hosts,
            vec![
                ("db1.example.com", vec![("pg".to_string(), 6432)]),
                ("10.0.0.7", vec![]),
                ("2001:db8::1", vec![("pg".to_string(), 5433)]),
                ("2001:db8::2", vec![]),
            ]
        );
        assert_eq!(
            entry.health_check.unwrap().probe,
            Some(common::health_check::Probe::Http(common::HttpProbe {
                path: "/healthz".into(),
                ..Default::default()
            }))
        );
        assert_eq!(
            parse_health_check("tcp").unwrap().probe,
            Some(common::health_check::Probe::Tcp(common::TcpProbe {
                port: 0
            }))
        );
        let error = parse_health_check("icmp").unwrap_err();
        assert!(error.render().contains("`tcp` or `http:/path`"));
        for bad in ["", ":80", "h:0", "[::1", "[::1]x", "h:port"] {
            let error = parse_external_address(bad, "pg").unwrap_err();
            assert!(error.render().contains("HOST[:PORT]"), "{bad}");
        }
        for bad in ["5432", "pg=", "pg=99999"] {
            assert!(
                parse_entry_port(bad)
                    .unwrap_err()
                    .render()
                    .contains("NAME=PORT")
            );
        }
    }

    #[test]
    fn blue_green_entries_from_flags() {
        let args = CreateBlueGreenArgs {
            id: "shop".into(),
            application: "shop".into(),
            blue: "shop-blue".into(),
            green: "namespaces/shop-green".into(),
            initial_side: Some(SideArg::Green),
            port: vec!["http=80:8080".into()],
            service_type: Some(ServiceType::NodePort),
            ..Default::default()
        };
        let request = create_blue_green(&args).unwrap();
        assert_eq!(request.blue_green_entry_id, "shop");
        let entry = request.blue_green_entry.unwrap();
        assert_eq!(entry.application, "applications/shop");
        assert_eq!(entry.blue_namespace, "namespaces/shop-blue");
        assert_eq!(entry.green_namespace, "namespaces/shop-green");
        assert_eq!(entry.initial_side, routing::Side::Green as i32);
        assert_eq!(entry.r#type, routing::service::Type::NodePort as i32);
        assert_eq!(entry.deployment, "");
        assert_eq!(side(None), routing::Side::Unspecified);
        let same = CreateBlueGreenArgs {
            green: "shop-blue".into(),
            ..args
        };
        let error = create_blue_green(&same).unwrap_err();
        assert!(
            error.render().contains("two namespaces"),
            "{}",
            error.render()
        );
    }

    #[test]
    fn applications_from_flags() {
        let args = CreateApplicationArgs {
            id: "web".into(),
            git: "https://git.example.com/web.git".into(),
            git_ref: Some("main".into()),
            build_script: Some("make".into()),
            test_script: Some("make test".into()),
            dockerfile: Some("deploy/Dockerfile".into()),
            auto_deploy: vec!["dev".into(), "qa/web-qa".into()],
            ..Default::default()
        };
        let request = create_application(&args).unwrap();
        assert_eq!(request.application_id, "web");
        let application = request.application.unwrap();
        let source = application.source.unwrap();
        assert_eq!(source.repository_url, "https://git.example.com/web.git");
        assert_eq!(source.r#ref, "main");
        let config = application.build.unwrap();
        assert_eq!(config.build_script, "make");
        assert_eq!(config.test.unwrap().script, "make test");
        assert_eq!(
            config.mode,
            Some(build::build_config::Mode::Dockerfile(
                build::DockerfileBuild {
                    dockerfile_path: "deploy/Dockerfile".into(),
                    ..Default::default()
                }
            ))
        );
        assert_eq!(
            application.auto_deploy.unwrap().deployments,
            vec![
                "namespaces/dev/deployments/web",
                "namespaces/qa/deployments/web-qa"
            ]
        );

        let artifact = CreateApplicationArgs {
            id: "web".into(),
            git: "/srv/git/web".into(),
            artifact: vec!["target/release/web:/usr/local/bin/".into(), "static".into()],
            base_image: Some("debian:bookworm-slim".into()),
            ..Default::default()
        };
        let application = create_application(&artifact).unwrap().application.unwrap();
        assert!(application.auto_deploy.is_none());
        let Some(build::build_config::Mode::Artifact(artifact_build)) =
            application.build.unwrap().mode
        else {
            panic!("an artifact build");
        };
        assert_eq!(artifact_build.base_image, "debian:bookworm-slim");
        let outputs: Vec<(&str, &str)> = artifact_build
            .outputs
            .iter()
            .map(|o| (o.source.as_str(), o.destination.as_str()))
            .collect();
        assert_eq!(
            outputs,
            [
                ("target/release/web", "/usr/local/bin/"),
                ("static", "/app/")
            ]
        );

        // Neither way to make an image: a usage error that says what to give.
        let neither = CreateApplicationArgs {
            id: "web".into(),
            git: "/srv/git/web".into(),
            ..Default::default()
        };
        let error = create_application(&neither).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error.render().contains("--dockerfile PATH"),
            "{}",
            error.render()
        );
        assert!(parse_artifact("a:relative").is_err());
        assert!(auto_deploy_target("web", "a/b/c").is_err());
        assert!(auto_deploy_target("web", "/x").is_err());
    }

    #[test]
    fn builds_images_and_promotions_are_named_under_their_application() {
        assert_eq!(
            application_child_name("builds", "web/b-12").unwrap(),
            "applications/web/builds/b-12"
        );
        assert_eq!(
            application_child_name("images", "applications/web/images/v3").unwrap(),
            "applications/web/images/v3"
        );
        let error = application_child_name("builds", "b-12").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.render().contains("<application>/<id>"));
        let request = create_build("web", Some("v1.2.0"));
        assert_eq!(request.parent, "applications/web");
        assert_eq!(request.build.unwrap().r#ref, "v1.2.0");
        let request = create_promotion("web", "v3", Some("prod-eu"), None).unwrap();
        assert_eq!(request.parent, "applications/web");
        let promotion = request.promotion.unwrap();
        assert_eq!(promotion.image, "applications/web/images/v3");
        assert_eq!(promotion.production_namespace, "namespaces/prod-eu");
        assert!(create_promotion("web", "other/v3", None, None).is_err());
    }

    #[test]
    fn names_are_qualified_in_the_namespace() {
        assert_eq!(
            resource_name(Some("dev"), "deployments", "web").unwrap(),
            "namespaces/dev/deployments/web"
        );
        assert_eq!(
            resource_name(None, "deployments", "namespaces/x/deployments/y").unwrap(),
            "namespaces/x/deployments/y"
        );
        let error = resource_name(None, "deployments", "web").unwrap_err();
        assert!(
            error.render().contains("set-namespace"),
            "{}",
            error.render()
        );
        assert_eq!(
            deployment_child_name(Some("dev"), "instances", "web/i-1").unwrap(),
            "namespaces/dev/deployments/web/instances/i-1"
        );
        assert_eq!(
            deployment_child_name(Some("dev"), "instances", "web")
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(top_level_name("operations", "abc"), "operations/abc");
        assert_eq!(
            top_level_name("operations", "operations/abc"),
            "operations/abc"
        );
        assert_eq!(namespace_name("namespaces/a"), "namespaces/a");
    }

    #[test]
    fn revisions_take_r_numbers() {
        let deployment = "namespaces/dev/deployments/web";
        assert_eq!(
            revision_name(deployment, "r3").unwrap(),
            "namespaces/dev/deployments/web/revisions/r3"
        );
        assert_eq!(
            revision_name(deployment, "7").unwrap(),
            "namespaces/dev/deployments/web/revisions/r7"
        );
        assert!(revision_name(deployment, "latest").is_err());
        assert!(revision_name(deployment, "r0").is_err());
    }

    #[test]
    fn ports_and_pairs_parse_or_say_why() {
        let port = parse_port("http:8080").unwrap();
        assert_eq!((port.name.as_str(), port.port), ("http", 8080));
        assert_eq!(port.protocol, common::Protocol::Tcp as i32);
        assert_eq!(
            parse_port("dns:53/udp").unwrap().protocol,
            common::Protocol::Udp as i32
        );
        for bad in [
            "8080",
            ":80",
            "http:0",
            "http:70000",
            "http:80/sctp",
            "http:x",
        ] {
            let error = parse_port(bad).unwrap_err();
            assert!(error.render().contains("name:port"), "{bad}");
        }
        assert_eq!(
            parse_key_value("--env", "A=b=c").unwrap(),
            ("A".to_string(), "b=c".to_string())
        );
        assert!(parse_key_value("--env", "=x").is_err());
        assert!(parse_key_value("--env", "novalue").is_err());
    }

    #[test]
    fn create_deployment_from_flags() {
        let args = CreateDeploymentArgs {
            id: Some("web".into()),
            image: Some("registry/web@sha256:ab".into()),
            replicas: Some(2),
            env: vec!["MODE=prod".into()],
            port: vec!["http:8080".into()],
            ..Default::default()
        };
        let request = create_deployment(Some("dev"), &args, None).unwrap();
        assert_eq!(request.parent, "namespaces/dev");
        assert_eq!(request.deployment_id, "web");
        assert!(!request.request_id.is_empty());
        let deployment = request.deployment.unwrap();
        assert_eq!(deployment.replicas, Some(2));
        let template = deployment.template.unwrap();
        assert_eq!(
            template.image_source,
            Some(ImageSource::ImageUri("registry/web@sha256:ab".into()))
        );
        assert_eq!(template.env[0].name, "MODE");
        assert_eq!(template.ports[0].port, 8080);

        let built = CreateDeploymentArgs {
            id: Some("web".into()),
            image: Some("applications/shop/images/i1".into()),
            ..Default::default()
        };
        let request = create_deployment(Some("dev"), &built, None).unwrap();
        assert_eq!(
            request.deployment.unwrap().template.unwrap().image_source,
            Some(ImageSource::Image("applications/shop/images/i1".into()))
        );
        let no_image = CreateDeploymentArgs {
            id: Some("web".into()),
            ..Default::default()
        };
        assert_eq!(
            create_deployment(Some("dev"), &no_image, None)
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    #[test]
    fn create_deployment_from_a_json_file() {
        let text = r#"{"name": "namespaces/dev/deployments/api", "replicas": 4,
                      "template": {"imageUri": "r/api@sha256:01", "args": ["--fast"]}}"#;
        let request =
            create_deployment(Some("dev"), &CreateDeploymentArgs::default(), Some(text)).unwrap();
        assert_eq!(request.deployment_id, "api");
        let deployment = request.deployment.unwrap();
        assert_eq!(deployment.name, "", "the id travels in deployment_id");
        assert_eq!(deployment.replicas, Some(4));
        assert_eq!(deployment.template.unwrap().args, vec!["--fast"]);
        let error = create_deployment(
            Some("dev"),
            &CreateDeploymentArgs::default(),
            Some(r#"{"replicas": "four"}"#),
        )
        .unwrap_err();
        assert_eq!(error.exit_code(), 3);
        assert!(error.render().contains("proto JSON"), "{}", error.render());
    }

    #[test]
    fn update_changes_only_the_template_under_the_etag() {
        let current = deploy::Deployment {
            name: "namespaces/dev/deployments/web".into(),
            etag: "e1".into(),
            replicas: Some(5),
            template: Some(deploy::DeploymentTemplate {
                image_source: Some(ImageSource::ImageUri("old@sha256:1".into())),
                env: vec![
                    plain_env("A".into(), "1".into()),
                    plain_env("B".into(), "2".into()),
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        let args = UpdateDeploymentArgs {
            id: "web".into(),
            image: Some("new@sha256:2".into()),
            env: vec!["A=10".into(), "B-".into(), "C=3".into()],
        };
        let request = update_deployment(current.clone(), &args).unwrap();
        assert_eq!(request.update_mask.unwrap().paths, vec!["template"]);
        let deployment = request.deployment.unwrap();
        assert_eq!(deployment.etag, "e1");
        assert_eq!(deployment.replicas, None, "only the template is sent");
        let template = deployment.template.unwrap();
        assert_eq!(
            template.image_source,
            Some(ImageSource::ImageUri("new@sha256:2".into()))
        );
        let env: Vec<_> = template
            .env
            .iter()
            .map(|var| (var.name.as_str(), var.source.clone()))
            .collect();
        assert_eq!(
            env,
            vec![
                ("A", Some(common::env_var::Source::Value("10".into()))),
                ("C", Some(common::env_var::Source::Value("3".into()))),
            ]
        );
        let nothing = UpdateDeploymentArgs {
            id: "web".into(),
            ..Default::default()
        };
        assert!(update_deployment(current.clone(), &nothing).is_err());
        let unknown = UpdateDeploymentArgs {
            id: "web".into(),
            env: vec!["Z-".into()],
            ..Default::default()
        };
        assert!(update_deployment(current, &unknown).is_err());
    }

    #[test]
    fn secrets_and_tokens() {
        let request =
            create_secret(Some("dev"), "db", &["user=app".into(), "pass=a=b".into()]).unwrap();
        assert_eq!(request.parent, "namespaces/dev");
        let data = request.secret.unwrap().data;
        assert_eq!(data["pass"], b"a=b".to_vec());
        assert!(create_secret(Some("dev"), "db", &["k=1".into(), "k=2".into()]).is_err());

        let request =
            create_token("ci", &["roles/viewer".into()], &["dev".into()], Some(60)).unwrap();
        let token = request.token.unwrap();
        assert_eq!(token.scope.unwrap().namespaces, vec!["namespaces/dev"]);
        assert_eq!(
            token.expiration,
            Some(auth::token::Expiration::Ttl(
                ferry_proto::prost_types::Duration {
                    seconds: 60,
                    nanos: 0
                }
            ))
        );
        assert!(create_token("ci", &[], &[], Some(0)).is_err());
        assert!(
            create_token("ci", &[], &[], None)
                .unwrap()
                .token
                .unwrap()
                .scope
                .is_none()
        );
    }

    fn autoscaling_args(edit: impl FnOnce(&mut SetAutoscalingArgs)) -> SetAutoscalingArgs {
        let mut args = SetAutoscalingArgs {
            deployment: "web".into(),
            min: None,
            max: None,
            cpu: None,
            memory: None,
            enable: false,
            disable: false,
            validate_only: false,
        };
        edit(&mut args);
        args
    }

    #[test]
    fn autoscaling_set_creates_a_policy_or_changes_only_the_given_fields() {
        let name = "namespaces/dev/deployments/web/autoscalingPolicy".to_string();
        // No policy yet: a new one, enabled unless told otherwise.
        let created = set_autoscaling(
            name.clone(),
            None,
            &autoscaling_args(|args| {
                args.max = Some(4);
                args.cpu = Some("70".into());
            }),
        )
        .unwrap();
        assert!(created.allow_missing);
        let policy = created.autoscaling_policy.unwrap();
        assert_eq!(policy.name, name);
        assert_eq!((policy.max_replicas, policy.enabled), (4, true));
        let cpu = policy.cpu.unwrap();
        assert_eq!(
            (
                cpu.scale_down_threshold_percent,
                cpu.target_percent,
                cpu.scale_up_threshold_percent
            ),
            (50, 70, 80)
        );

        // An existing policy: only what was given, with its etag.
        let current = deploy::AutoscalingPolicy {
            name: name.clone(),
            etag: "7".into(),
            enabled: true,
            min_replicas: 2,
            max_replicas: 4,
            memory: Some(deploy::autoscaling_policy::UtilizationThresholds {
                target_percent: 60,
                ..Default::default()
            }),
            ..Default::default()
        };
        let changed = set_autoscaling(
            name.clone(),
            Some(&current),
            &autoscaling_args(|args| {
                args.max = Some(8);
                args.disable = true;
            }),
        )
        .unwrap();
        assert!(!changed.allow_missing);
        assert_eq!(
            changed.update_mask.unwrap().paths,
            ["max_replicas", "enabled"]
        );
        let policy = changed.autoscaling_policy.unwrap();
        assert_eq!(policy.etag, "7");
        assert_eq!((policy.min_replicas, policy.max_replicas), (2, 8));
        assert!(!policy.enabled);
        assert_eq!(policy.memory.unwrap().target_percent, 60, "kept");

        let thresholds = parse_thresholds("--memory", "40:60:75").unwrap();
        assert_eq!(
            (
                thresholds.scale_down_threshold_percent,
                thresholds.target_percent,
                thresholds.scale_up_threshold_percent
            ),
            (40, 60, 75)
        );
        for bad in ["", "x", "1:2", "1:2:3:4", "50:x:80"] {
            assert_eq!(
                parse_thresholds("--cpu", bad).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }

        // Nothing to change on an existing policy: a usage error (exit 2).
        let error = set_autoscaling(name, Some(&current), &autoscaling_args(|_| {})).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }
}
