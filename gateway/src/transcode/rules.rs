//! The `google.api.http` rules of the API, read from [`ferry_proto::FILE_DESCRIPTOR_SET`], and
//! the pure half of transcoding: an HTTP request (method, path, query, JSON body) becomes the
//! gRPC method path and its encoded request message; a response message becomes JSON.
//!
//! The JSON mapping is proto3's (prost-reflect's serde support): lowerCamelCase names (proto
//! names are accepted too), enums as names, 64-bit integers as strings, well-known types
//! (Timestamp, Duration, FieldMask, wrappers) as their string forms; unknown fields are refused.

use http::{Method, StatusCode};
use prost::Message;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor,
    SerializeOptions, Value,
};
use serde_json::{Map, Value as Json};

use super::template::{Binding, Template, percent_decode};

/// The largest JSON request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A request that cannot be transcoded: the HTTP status and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpError {
    /// The HTTP status to answer with.
    pub status: StatusCode,
    /// The message for the client.
    pub message: String,
}

impl HttpError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

/// One HTTP binding of one method.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The HTTP method.
    pub method: Method,
    template: Template,
    /// `None`: no body; `"*"`: the whole request; otherwise the field the body fills.
    body: Option<String>,
    /// The field of the response sent as the body, when not the whole response.
    response_body: Option<String>,
    /// The gRPC path, `/package.Service/Method`.
    pub grpc_path: String,
    input: MessageDescriptor,
    /// The response message.
    pub output: MessageDescriptor,
    /// Whether the method streams (not transcoded).
    pub streaming: bool,
}

/// A request transcoded into a gRPC call.
#[derive(Clone, Debug)]
pub struct Transcoded {
    /// The index of the rule in [`Rules`].
    pub rule: usize,
    /// The encoded request message.
    pub message: Vec<u8>,
}

/// Every rule of the API.
#[derive(Clone, Debug)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// The rules of every `ferry.*` service in Ferry's descriptor set.
    pub fn ferry() -> anyhow::Result<Self> {
        Self::from_pool(&DescriptorPool::decode(ferry_proto::FILE_DESCRIPTOR_SET)?)
    }

    /// The rules of every `ferry.*` service of `pool`.
    pub fn from_pool(pool: &DescriptorPool) -> anyhow::Result<Self> {
        let http = pool
            .get_extension_by_name("google.api.http")
            .ok_or_else(|| anyhow::anyhow!("google.api.http is not in the descriptor set"))?;
        let mut rules = Vec::new();
        for service in pool.services() {
            if !service.full_name().starts_with("ferry.") {
                continue;
            }
            for method in service.methods() {
                let options = method.options();
                if !options.has_extension(&http) {
                    continue;
                }
                let Value::Message(rule) = options.get_extension(&http).into_owned() else {
                    continue;
                };
                let grpc_path = format!("/{}/{}", service.full_name(), method.name());
                let streaming = method.is_client_streaming() || method.is_server_streaming();
                let mut pending = vec![rule];
                while let Some(rule) = pending.pop() {
                    if let Some(Value::List(more)) = rule
                        .get_field_by_name("additional_bindings")
                        .map(|value| value.into_owned())
                    {
                        pending.extend(more.into_iter().filter_map(|value| match value {
                            Value::Message(message) => Some(message),
                            _ => None,
                        }));
                    }
                    let Some((verb, path)) = pattern(&rule) else {
                        continue;
                    };
                    let template = Template::parse(&path).ok_or_else(|| {
                        anyhow::anyhow!("{grpc_path}: bad http template {path:?}")
                    })?;
                    let text = |name: &str| {
                        rule.get_field_by_name(name)
                            .and_then(|value| value.as_str().map(str::to_string))
                            .filter(|text| !text.is_empty())
                    };
                    rules.push(Rule {
                        method: Method::from_bytes(verb.as_bytes())?,
                        template,
                        body: text("body"),
                        response_body: text("response_body"),
                        grpc_path: grpc_path.clone(),
                        input: method.input(),
                        output: method.output(),
                        streaming,
                    });
                }
            }
        }
        Ok(Self { rules })
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule at `index`.
    pub fn get(&self, index: usize) -> &Rule {
        &self.rules[index]
    }

    /// The rule serving `method` on `path`, with its bindings: 404 when no template matches
    /// the path, 405 when some do but not for this method.
    pub fn find(&self, method: &Method, path: &str) -> Result<(usize, Vec<Binding>), HttpError> {
        let mut path_known = false;
        for (index, rule) in self.rules.iter().enumerate() {
            if let Some(bindings) = rule.template.matches(path) {
                if rule.method == method {
                    return Ok((index, bindings));
                }
                path_known = true;
            }
        }
        Err(if path_known {
            HttpError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                message: format!("method {method} is not allowed on {path}"),
            }
        } else {
            HttpError {
                status: StatusCode::NOT_FOUND,
                message: format!("no API method serves {path}"),
            }
        })
    }

    /// Transcodes a request: the pure function the HTTP service and the fuzz target share.
    pub fn transcode(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Transcoded, HttpError> {
        let (index, bindings) = self.find(method, path)?;
        let rule = &self.rules[index];
        if rule.streaming {
            return Err(HttpError {
                status: StatusCode::NOT_IMPLEMENTED,
                message: format!("{} streams: call it over gRPC", rule.grpc_path),
            });
        }
        let message = bind(rule, bindings, query, body)?;
        Ok(Transcoded {
            rule: index,
            message: message.encode_to_vec(),
        })
    }
}

/// The HTTP method and path template of a `HttpRule`.
fn pattern(rule: &DynamicMessage) -> Option<(String, String)> {
    for verb in ["get", "put", "post", "delete", "patch"] {
        if rule.has_field_by_name(verb) {
            let path = rule.get_field_by_name(verb)?.as_str()?.to_string();
            return Some((verb.to_ascii_uppercase(), path));
        }
    }
    if rule.has_field_by_name("custom") {
        let custom = rule.get_field_by_name("custom")?;
        let custom = custom.as_message()?;
        let kind = custom.get_field_by_name("kind")?.as_str()?.to_string();
        let path = custom.get_field_by_name("path")?.as_str()?.to_string();
        return Some((kind, path));
    }
    None
}

/// Builds the request message of `rule` from the path bindings, the query and the body.
fn bind(
    rule: &Rule,
    bindings: Vec<Binding>,
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, HttpError> {
    let mut root = match rule.body.as_deref() {
        None => {
            if !body.iter().all(u8::is_ascii_whitespace) {
                return Err(HttpError::bad(format!(
                    "{} takes no request body",
                    rule.grpc_path
                )));
            }
            Map::new()
        }
        Some("*") => match parse_body(body)? {
            None => Map::new(),
            Some(Json::Object(object)) => object,
            Some(_) => return Err(HttpError::bad("the request body must be a JSON object")),
        },
        Some(field) => {
            let mut root = Map::new();
            if let Some(value) = parse_body(body)? {
                let descriptor = rule.input.get_field_by_name(field).ok_or_else(|| {
                    HttpError::bad(format!("{}: no body field {field}", rule.grpc_path))
                })?;
                root.insert(descriptor.json_name().to_string(), value);
            }
            root
        }
    };
    for (field, value) in bindings {
        set(&mut root, &rule.input, &field, value, true)?;
    }
    if let Some(query) = query {
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| {
                percent_decode(&text.replace('+', " "), false).ok_or_else(|| {
                    HttpError::bad(format!(
                        "query parameter {key:?} is not valid percent-encoding"
                    ))
                })
            };
            let key = decode(key)?;
            let value = decode(value)?;
            let path: Vec<String> = key.split('.').map(str::to_string).collect();
            set(&mut root, &rule.input, &path, value, false)?;
        }
    }
    let options = DeserializeOptions::new().deny_unknown_fields(true);
    DynamicMessage::deserialize_with_options(
        rule.input.clone(),
        Json::Object(root.clone()),
        &options,
    )
    .map_err(|error| match culprit(&rule.input, &root, &options) {
        Some(field) => HttpError::bad(format!("invalid field {field:?}: {error}")),
        None => HttpError::bad(format!("invalid request: {error}")),
    })
}

/// The path of the field of `object` that does not deserialize into `message` (the
/// JSON mapping's errors do not say which field they are about).
fn culprit(
    message: &MessageDescriptor,
    object: &Map<String, Json>,
    options: &DeserializeOptions,
) -> Option<String> {
    for (key, value) in object {
        let alone = Json::Object(Map::from_iter([(key.clone(), value.clone())]));
        if DynamicMessage::deserialize_with_options(message.clone(), alone, options).is_ok() {
            continue;
        }
        let nested = match (field_of(message, key).map(|field| field.kind()), value) {
            (Some(Kind::Message(inner)), Json::Object(inner_object))
                if !inner.full_name().starts_with("google.protobuf.") =>
            {
                culprit(&inner, inner_object, options)
            }
            _ => None,
        };
        return Some(match nested {
            Some(nested) => format!("{key}.{nested}"),
            None => key.clone(),
        });
    }
    None
}

fn parse_body(body: &[u8]) -> Result<Option<Json>, HttpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|error| HttpError::bad(format!("the request body is not valid JSON: {error}")))
}

fn field_of(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message
        .get_field_by_name(name)
        .or_else(|| message.get_field_by_json_name(name))
}

/// Sets the field at `path` (proto or JSON names) of the JSON object `root` of `message`
/// to the text `value`, typed for the field; path bindings replace, query values of
/// repeated fields add.
fn set(
    root: &mut Map<String, Json>,
    message: &MessageDescriptor,
    path: &[String],
    value: String,
    from_path: bool,
) -> Result<(), HttpError> {
    let name = path.join(".");
    let unknown = || HttpError::bad(format!("unknown field {name:?}"));
    let (last, parents) = path.split_last().ok_or_else(unknown)?;
    let mut object = root;
    let mut current = message.clone();
    for part in parents {
        let field = field_of(&current, part).ok_or_else(unknown)?;
        let Kind::Message(inner) = field.kind() else {
            return Err(HttpError::bad(format!(
                "field {name:?}: {part} is not a message"
            )));
        };
        if field.is_list() || field.is_map() {
            return Err(HttpError::bad(format!(
                "field {name:?}: {part} is repeated and cannot be set here"
            )));
        }
        let entry = object
            .entry(field.json_name().to_string())
            .or_insert_with(|| Json::Object(Map::new()));
        object = entry
            .as_object_mut()
            .ok_or_else(|| HttpError::bad(format!("field {name:?}: {part} is not an object")))?;
        current = inner;
    }
    let field = field_of(&current, last).ok_or_else(unknown)?;
    if field.is_map() {
        return Err(HttpError::bad(format!(
            "field {name:?} is a map and cannot be set from the URL"
        )));
    }
    let typed = match field.kind() {
        Kind::Bool => match value.as_str() {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            other => {
                return Err(HttpError::bad(format!(
                    "field {name:?}: {other:?} is not a boolean"
                )));
            }
        },
        Kind::Message(inner)
            if !inner.full_name().starts_with("google.protobuf.")
                || inner.full_name() == "google.protobuf.Struct" =>
        {
            return Err(HttpError::bad(format!(
                "field {name:?} is a message and cannot be set from the URL"
            )));
        }
        Kind::Double | Kind::Float if value.parse::<f64>().is_ok() => {
            serde_json::from_str(&value).unwrap_or(Json::String(value))
        }
        _ => Json::String(value),
    };
    let key = field.json_name().to_string();
    if field.is_list() {
        match object.entry(key).or_insert_with(|| Json::Array(Vec::new())) {
            Json::Array(items) if !from_path => items.push(typed),
            slot => *slot = Json::Array(vec![typed]),
        }
    } else {
        object.insert(key, typed);
    }
    Ok(())
}

/// The JSON body of a response message of `rule`.
pub fn render(rule: &Rule, message: &[u8]) -> Result<Vec<u8>, HttpError> {
    let internal = |message: String| HttpError {
        status: StatusCode::BAD_GATEWAY,
        message,
    };
    let decoded = DynamicMessage::decode(rule.output.clone(), message)
        .map_err(|error| internal(format!("the service's answer does not decode: {error}")))?;
    let options = SerializeOptions::new();
    let mut serializer = serde_json::Serializer::new(Vec::new());
    decoded
        .serialize_with_options(&mut serializer, &options)
        .map_err(|error| internal(format!("the answer does not map to JSON: {error}")))?;
    let whole = serializer.into_inner();
    let Some(field) = rule.response_body.as_deref() else {
        return Ok(whole);
    };
    let json: Json = serde_json::from_slice(&whole)
        .map_err(|error| internal(format!("the answer does not map to JSON: {error}")))?;
    let name = rule
        .output
        .get_field_by_name(field)
        .map(|field| field.json_name().to_string())
        .unwrap_or_else(|| field.to_string());
    Ok(serde_json::to_vec(json.get(&name).unwrap_or(&Json::Null)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use ferry_proto::ferry::deploy::v1 as deploy;

    use super::*;

    fn rules() -> Rules {
        Rules::ferry().unwrap()
    }

    #[test]
    fn every_rule_of_the_api_is_loaded() {
        let rules = rules();
        assert!(rules.len() > 20, "{}", rules.len());
        assert!(
            rules
                .rules
                .iter()
                .any(|rule| rule.grpc_path == "/ferry.deploy.v1.NamespaceService/GetNamespace")
        );
    }

    #[test]
    fn post_binds_the_body_field_and_query_parameters() {
        let rules = rules();
        let transcoded = rules
            .transcode(
                &Method::POST,
                "/v1/namespaces",
                Some("namespaceId=dev"),
                br#"{"displayName": "Dev"}"#,
            )
            .unwrap();
        let rule = rules.get(transcoded.rule);
        assert_eq!(
            rule.grpc_path,
            "/ferry.deploy.v1.NamespaceService/CreateNamespace"
        );
        let request = deploy::CreateNamespaceRequest::decode(&transcoded.message[..]).unwrap();
        assert_eq!(request.namespace_id, "dev");
        assert_eq!(request.namespace.unwrap().display_name, "Dev");
    }

    #[test]
    fn path_variables_bind_nested_fields() {
        let rules = rules();
        let transcoded = rules
            .transcode(
                &Method::PATCH,
                "/v1/namespaces/dev",
                Some("update_mask=displayName"),
                br#"{"displayName": "Dev"}"#,
            )
            .unwrap();
        let request = deploy::UpdateNamespaceRequest::decode(&transcoded.message[..]).unwrap();
        let namespace = request.namespace.unwrap();
        assert_eq!(namespace.name, "namespaces/dev");
        assert_eq!(namespace.display_name, "Dev");
        assert_eq!(request.update_mask.unwrap().paths, vec!["display_name"]);
        let get = rules
            .transcode(&Method::GET, "/v1/namespaces/dev", None, b"")
            .unwrap();
        let request = deploy::GetNamespaceRequest::decode(&get.message[..]).unwrap();
        assert_eq!(request.name, "namespaces/dev");
    }

    #[test]
    fn bad_requests_name_what_is_wrong() {
        let rules = rules();
        let error = |method: Method, path: &str, query: Option<&str>, body: &[u8]| {
            rules.transcode(&method, path, query, body).unwrap_err()
        };
        let e = error(Method::GET, "/v1/nothing", None, b"");
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let e = error(Method::PUT, "/v1/namespaces", None, b"");
        assert_eq!(e.status, StatusCode::METHOD_NOT_ALLOWED);
        let e = error(Method::POST, "/v1/namespaces", None, b"{");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("not valid JSON"), "{}", e.message);
        let e = error(Method::POST, "/v1/namespaces", None, br#"{"colour": 1}"#);
        assert!(e.message.contains("colour"), "{}", e.message);
        let e = error(
            Method::POST,
            "/v1/namespaces",
            None,
            br#"{"displayName": 5}"#,
        );
        assert!(
            e.message.contains("\"namespace.displayName\""),
            "{}",
            e.message
        );
        let e = error(Method::GET, "/v1/namespaces", Some("pageSize=many"), b"");
        assert!(e.message.contains("pageSize"), "{}", e.message);
        let e = error(Method::GET, "/v1/namespaces", Some("bogus=1"), b"");
        assert!(e.message.contains("bogus"), "{}", e.message);
        let e = error(Method::GET, "/v1/namespaces/dev", None, b"{}");
        assert!(e.message.contains("no request body"), "{}", e.message);
    }

    #[test]
    fn responses_render_as_proto3_json() {
        let rules = rules();
        let (index, _) = rules.find(&Method::GET, "/v1/namespaces/dev").unwrap();
        let namespace = deploy::Namespace {
            name: "namespaces/dev".into(),
            display_name: "Dev".into(),
            create_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        };
        let json: Json =
            serde_json::from_slice(&render(rules.get(index), &namespace.encode_to_vec()).unwrap())
                .unwrap();
        assert_eq!(json["name"], "namespaces/dev");
        assert_eq!(json["displayName"], "Dev");
        assert_eq!(json["createTime"], "2023-11-14T22:13:20Z");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(10_000))]
        /// The fuzz target's property as a bounded test: any input gives an answer or an
        /// error, never a panic.
        #[test]
        fn arbitrary_requests_never_panic(
            method in proptest::sample::select(vec![Method::GET, Method::POST, Method::PATCH, Method::DELETE, Method::PUT]),
            path in "(/v1(/(namespaces|deployments|[a-z%0-9.:*{}]{0,8})){0,5})|[ -~]{0,30}",
            query in proptest::option::of("([a-zA-Z_.]{0,12}=[ -~]{0,10}&?){0,3}"),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let _ = fuzz_rules().transcode(&method, &path, query.as_deref(), &body);
        }
    }

    fn fuzz_rules() -> &'static Rules {
        static RULES: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
        RULES.get_or_init(rules)
    }
}
