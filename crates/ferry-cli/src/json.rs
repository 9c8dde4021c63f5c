//! Proto JSON (the canonical protobuf JSON mapping) for the generated messages, which have
//! no serde: each message is re-read as a `prost_reflect::DynamicMessage` described by
//! [`ferry_proto::FILE_DESCRIPTOR_SET`], which serde can write and read.

use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

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
