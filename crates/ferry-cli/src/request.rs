//! Pure translation of flags into API requests and resource names: no IO, tested with
//! plain data.

use ferry_proto::ferry::auth::v1 as auth;
use ferry_proto::ferry::common::v1 as common;
use ferry_proto::ferry::deploy::v1 as deploy;
use ferry_proto::prost_types::FieldMask;

use crate::cli::{CreateDeploymentArgs, UpdateDeploymentArgs};
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

#[cfg(test)]
mod tests {
    use super::*;
    use deploy::deployment_template::ImageSource;

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
}
