//! Proto JSON (the canonical protobuf JSON mapping) for the generated messages, which have
//! no serde: each message is re-read as a `prost_reflect::DynamicMessage` described by
//! [`ferry_proto::FILE_DESCRIPTOR_SET`], which serde can write and read.

use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage as _, SerializeOptions,
};

use ferry_proto::ferry::auth::v1 as auth;
use ferry_proto::ferry::build::v1 as build;
use ferry_proto::ferry::catalog::v1 as catalog;
use ferry_proto::ferry::common::v1 as common;
use ferry_proto::ferry::deploy::v1 as deploy;
use ferry_proto::ferry::routing::v1 as routing;

/// A generated message and its full protobuf name.
pub trait ProtoName: Message + Default {
    /// `ferry.deploy.v1.Deployment`.
    const NAME: &'static str;
}

macro_rules! proto_names {
    ($($ty:ty => $name:literal,)*) => {
        $(impl ProtoName for $ty {
            const NAME: &'static str = $name;
        })*
    };
}

proto_names! {
    deploy::Namespace => "ferry.deploy.v1.Namespace",
    deploy::Deployment => "ferry.deploy.v1.Deployment",
    deploy::DeploymentRevision => "ferry.deploy.v1.DeploymentRevision",
    deploy::Rollout => "ferry.deploy.v1.Rollout",
    deploy::Instance => "ferry.deploy.v1.Instance",
    deploy::Event => "ferry.deploy.v1.Event",
    deploy::Host => "ferry.deploy.v1.Host",
    deploy::Secret => "ferry.deploy.v1.Secret",
    deploy::AutoscalingPolicy => "ferry.deploy.v1.AutoscalingPolicy",
    auth::Token => "ferry.auth.v1.Token",
    auth::CreateTokenResponse => "ferry.auth.v1.CreateTokenResponse",
    auth::GetCallerIdentityResponse => "ferry.auth.v1.GetCallerIdentityResponse",
    common::Operation => "ferry.common.v1.Operation",
    routing::Service => "ferry.routing.v1.Service",
    routing::Endpoint => "ferry.routing.v1.Endpoint",
    routing::BlueGreenEntry => "ferry.routing.v1.BlueGreenEntry",
    routing::DeployableNamespace => "ferry.routing.v1.DeployableNamespace",
    catalog::ExternalEntry => "ferry.catalog.v1.ExternalEntry",
    build::Application => "ferry.build.v1.Application",
    build::Build => "ferry.build.v1.Build",
    build::Image => "ferry.build.v1.Image",
    build::Promotion => "ferry.build.v1.Promotion",
}

/// The descriptors of every Ferry message (decoded once).
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(ferry_proto::FILE_DESCRIPTOR_SET)
            .expect("ferry-proto's descriptor set decodes")
    })
}

fn descriptor(name: &str) -> MessageDescriptor {
    pool()
        .get_message_by_name(name)
        .unwrap_or_else(|| panic!("{name} is in ferry-proto's descriptor set"))
}

/// `message` as proto JSON (default-valued fields left out, enums by name).
pub fn to_json<M: ProtoName>(message: &M) -> serde_json::Value {
    let dynamic = DynamicMessage::decode(descriptor(M::NAME), message.encode_to_vec().as_slice())
        .expect("a message re-decodes with its own descriptor");
    dynamic
        .serialize_with_options(
            serde_json::value::Serializer,
            &SerializeOptions::new().skip_default_fields(true),
        )
        .expect("a message serializes to JSON")
}

/// Reads `M` from proto JSON; the error says where the text is wrong.
pub fn from_json<M: ProtoName>(text: &str) -> Result<M, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let dynamic = DynamicMessage::deserialize(descriptor(M::NAME), &mut deserializer)
        .map_err(|error| error.to_string())?;
    deserializer.end().map_err(|error| error.to_string())?;
    M::decode(dynamic.encode_to_vec().as_slice()).map_err(|error| error.to_string())
}

/// Applies `PATH=VALUE` edits to a copy of `message` and returns it with the update mask
/// they make: the top-level field of each edit, deduplicated, in order. (The message sent
/// is the one just read, edited, with its etag: replacing the whole top-level field
/// changes exactly what the edits change, and every service accepts top-level paths.)
///
/// PATH names fields by their proto or JSON names, `.`-separated through singular
/// messages (`source.ref`); a last segment after a map field sets one key
/// (`labels.team=web`, whose mask path is the whole map, `labels`). VALUE is proto JSON
/// (`3`, `true`, `"text"`, `[…]`, `{…}`, an enum's name); text that is not JSON, or JSON
/// the field does not accept as such (`display_name=123`), is taken as a string.
pub fn set_fields<M: ProtoName>(message: &M, edits: &[String]) -> Result<(M, Vec<String>), String> {
    let mut dynamic =
        DynamicMessage::decode(descriptor(M::NAME), message.encode_to_vec().as_slice())
            .expect("a message re-decodes with its own descriptor");
    let mut mask: Vec<String> = Vec::new();
    for edit in edits {
        let Some((path, value)) = edit.split_once('=') else {
            return Err(format!("{edit:?}: expected PATH=VALUE"));
        };
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(format!("{edit:?}: {path:?} is not a field path"));
        }
        let masked = set_path(&mut dynamic, &segments, value)
            .map_err(|error| format!("{edit:?}: {error}"))?;
        if !mask.contains(&masked) {
            mask.push(masked);
        }
    }
    let edited =
        M::decode(dynamic.encode_to_vec().as_slice()).map_err(|error| error.to_string())?;
    Ok((edited, mask))
}

/// Sets `segments` (a path below `message`) to `value`; returns the name of the first
/// segment's field.
fn set_path(
    message: &mut DynamicMessage,
    segments: &[&str],
    value: &str,
) -> Result<String, String> {
    let descriptor = message.descriptor();
    let field = descriptor
        .get_field_by_name(segments[0])
        .or_else(|| descriptor.get_field_by_json_name(segments[0]))
        .ok_or_else(|| {
            let known: Vec<String> = descriptor.fields().map(|f| f.name().to_string()).collect();
            format!(
                "{} has no field {:?} (fields: {})",
                descriptor.name(),
                segments[0],
                known.join(", ")
            )
        })?;
    let rest = &segments[1..];
    if rest.is_empty() {
        let parsed = parse_field(&descriptor, field.json_name(), None, value)?;
        let field_value = parsed.get_field(&field).into_owned();
        message.set_field(&field, field_value);
        return Ok(field.name().to_string());
    }
    if field.is_map() && rest.len() == 1 {
        // One key of a map: parse `{"field": {"key": value}}` and merge that entry.
        let key = rest[0];
        let parsed = parse_field(&descriptor, field.json_name(), Some(key), value)?;
        let entries = parsed.get_field(&field).into_owned();
        let (prost_reflect::Value::Map(new), prost_reflect::Value::Map(current)) =
            (entries, message.get_field_mut(&field))
        else {
            return Err(format!("{} is not a map", field.name()));
        };
        current.extend(new);
        return Ok(field.name().to_string());
    }
    if field.is_list() || field.is_map() {
        return Err(format!(
            "{} is a list or map: set it whole ({}=[…] or {{…}})",
            field.name(),
            field.name()
        ));
    }
    match message.get_field_mut(&field) {
        prost_reflect::Value::Message(inner) => {
            set_path(inner, rest, value)?;
            Ok(field.name().to_string())
        }
        _ => Err(format!(
            "{} is not a message: it has no field {:?}",
            field.name(),
            rest[0]
        )),
    }
}

/// Reads `{json_name: value}` (or `{json_name: {key: value}}` for one key of a map) as
/// a `descriptor` message: `value` as JSON first, then, if that is not JSON or the field
/// does not take it, as a JSON string.
fn parse_field(
    descriptor: &MessageDescriptor,
    json_name: &str,
    key: Option<&str>,
    value: &str,
) -> Result<DynamicMessage, String> {
    let read = |json: serde_json::Value| {
        let json = match key {
            Some(key) => serde_json::Value::Object([(key.to_string(), json)].into_iter().collect()),
            None => json,
        };
        let object = [(json_name.to_string(), json)].into_iter().collect();
        DynamicMessage::deserialize(descriptor.clone(), serde_json::Value::Object(object))
            .map_err(|error| error.to_string())
    };
    let as_string = || serde_json::Value::String(value.to_string());
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(json) if !json.is_string() => {
            read(json).or_else(|error| read(as_string()).map_err(|_| error))
        }
        Ok(json) => read(json),
        Err(_) => read(as_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_proto_json() {
        let deployment = deploy::Deployment {
            name: "namespaces/dev/deployments/web".into(),
            replicas: Some(3),
            template: Some(deploy::DeploymentTemplate {
                image_source: Some(deploy::deployment_template::ImageSource::ImageUri(
                    "registry/web@sha256:00".into(),
                )),
                ..Default::default()
            }),
            state: deploy::deployment::State::Active as i32,
            ..Default::default()
        };
        let json = to_json(&deployment);
        assert_eq!(json["name"], "namespaces/dev/deployments/web");
        assert_eq!(json["replicas"], 3);
        assert_eq!(json["template"]["imageUri"], "registry/web@sha256:00");
        assert_eq!(json["state"], "STATE_ACTIVE");
        assert!(json.get("uid").is_none(), "defaults are left out: {json}");
        let back: deploy::Deployment = from_json(&json.to_string()).unwrap();
        assert_eq!(back, deployment);
    }

    #[test]
    fn operation_responses_print_as_their_type() {
        let operation = common::Operation {
            name: "operations/o1".into(),
            done: true,
            result: Some(common::operation::Result::Response(
                ferry_proto::prost_types::Any {
                    type_url: "type.googleapis.com/ferry.deploy.v1.Namespace".into(),
                    value: deploy::Namespace {
                        name: "namespaces/dev".into(),
                        ..Default::default()
                    }
                    .encode_to_vec(),
                },
            )),
            ..Default::default()
        };
        let json = to_json(&operation);
        assert_eq!(
            json["response"]["@type"],
            "type.googleapis.com/ferry.deploy.v1.Namespace"
        );
        assert_eq!(json["response"]["name"], "namespaces/dev");
    }

    #[test]
    fn bad_json_says_what_is_wrong() {
        let error = from_json::<deploy::Deployment>(r#"{"replicas": "many"}"#).unwrap_err();
        assert!(
            error.contains("replicas") || error.contains("invalid"),
            "{error}"
        );
        assert!(from_json::<deploy::Deployment>(r#"{"nope": 1}"#).is_err());
    }

    #[test]
    fn edits_set_fields_and_make_the_mask() {
        let application = build::Application {
            name: "namespaces/dev/applications/web".into(),
            display_name: "Web".into(),
            source: Some(build::GitSource {
                repository_url: "https://git.example/web.git".into(),
                r#ref: "main".into(),
                ..Default::default()
            }),
            labels: [("team".to_string(), "a".to_string())].into(),
            ..Default::default()
        };
        let edits = [
            "source.ref=release".to_string(),
            "displayName=123".to_string(),
            "labels.tier=gold".to_string(),
            "display_name=\"Web 2\"".to_string(),
        ];
        let (edited, mask) = set_fields(&application, &edits).unwrap();
        assert_eq!(mask, vec!["source", "display_name", "labels"]);
        let source = edited.source.as_ref().unwrap();
        assert_eq!(source.r#ref, "release");
        assert_eq!(
            source.repository_url, "https://git.example/web.git",
            "the rest is kept"
        );
        assert_eq!(
            edited.display_name, "Web 2",
            "the last edit of a field wins"
        );
        assert_eq!(edited.labels.get("team").map(String::as_str), Some("a"));
        assert_eq!(edited.labels.get("tier").map(String::as_str), Some("gold"));
        assert_eq!(edited.name, application.name);
    }

    #[test]
    fn edits_take_enums_numbers_and_whole_lists() {
        let service = routing::Service::default();
        let edits = [
            "session_affinity.mode=MODE_CLIENT_IP".to_string(),
            "type=TYPE_NODE_PORT".to_string(),
            r#"ports=[{"name":"http","port":8080}]"#.to_string(),
        ];
        let (edited, mask) = set_fields(&service, &edits).unwrap();
        assert_eq!(mask, vec!["session_affinity", "type", "ports"]);
        assert_eq!(
            edited.session_affinity.map(|a| a.mode),
            Some(routing::session_affinity::Mode::ClientIp as i32)
        );
        assert_eq!(edited.r#type, routing::service::Type::NodePort as i32);
        assert_eq!(edited.ports.len(), 1);
        assert_eq!(edited.ports[0].port, 8080);
    }

    #[test]
    fn bad_edits_say_what_is_wrong() {
        let service = routing::Service::default();
        let error = set_fields(&service, &["nope=1".to_string()]).unwrap_err();
        assert!(
            error.contains("no field \"nope\"") && error.contains("ports"),
            "{error}"
        );
        let error = set_fields(&service, &["ports".to_string()]).unwrap_err();
        assert!(error.contains("PATH=VALUE"), "{error}");
        let error = set_fields(&service, &["type=SIDEWAYS".to_string()]).unwrap_err();
        assert!(error.contains("type"), "{error}");
        let error = set_fields(&service, &["ports.port=1".to_string()]).unwrap_err();
        assert!(error.contains("set it whole"), "{error}");
        let error = set_fields(&service, &["display_name.x=1".to_string()]).unwrap_err();
        assert!(error.contains("not a message"), "{error}");
    }

    #[test]
    fn every_named_type_is_in_the_descriptor_set() {
        fn check<M: ProtoName>() {
            let _ = to_json(&M::default());
        }
        check::<deploy::Namespace>();
        check::<deploy::Deployment>();
        check::<deploy::DeploymentRevision>();
        check::<deploy::Rollout>();
        check::<deploy::Instance>();
        check::<deploy::Event>();
        check::<deploy::Host>();
        check::<deploy::Secret>();
        check::<auth::Token>();
        check::<auth::CreateTokenResponse>();
        check::<auth::GetCallerIdentityResponse>();
        check::<common::Operation>();
        check::<routing::Service>();
        check::<routing::Endpoint>();
        check::<routing::BlueGreenEntry>();
        check::<routing::DeployableNamespace>();
        check::<catalog::ExternalEntry>();
        check::<build::Application>();
        check::<build::Build>();
        check::<build::Image>();
        check::<build::Promotion>();
    }
}
