//! Pure rules of secrets: names, validation of what clients send (keys, sizes, the keys
//! each type requires), update masks (including `data.<key>`), filters and ordering, and
//! the record stored in etcd. No IO here.
//!
//! Plaintext values only ever live in [`Values`], whose `Debug` shows the keys alone.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::Secret;
use ferry_proto::ferry::deploy::v1::secret::Type;
use prost_types::Timestamp;
use tonic::Code;

use super::crypto::Sealed;

/// `namespaces/{namespace}/secrets/{secret}`.
pub const SECRET_NAME: NamePattern = NamePattern("namespaces/{namespace}/secrets/{secret}");
/// `secrets/{secret}` (platform-wide).
pub const PLATFORM_SECRET_NAME: NamePattern = NamePattern("secrets/{secret}");

/// Most keys in one secret.
pub const MAX_KEYS: usize = 100;
/// Largest total size of a secret's values.
pub const MAX_BYTES: usize = 64 * 1024;
/// Longest display name.
const MAX_DISPLAY_NAME: usize = 63;
/// Longest label or annotation value.
const MAX_TEXT: usize = 1024;
/// Most labels or annotations.
const MAX_ENTRIES: usize = 64;

/// The fields UpdateSecret may name (besides `data.<key>` and `*`).
pub const UPDATABLE_FIELDS: &[&str] = &["display_name", "labels", "annotations", "data", "type"];

/// The stored form of a secret: its metadata (never any `data`) and its sealed values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SecretRecord {
    /// The secret as reads show it (without etag).
    #[prost(message, optional, tag = "1")]
    pub secret: Option<Secret>,
    /// The values, sealed, sorted by key.
    #[prost(message, repeated, tag = "2")]
    pub values: Vec<SealedValue>,
}

/// One sealed value of a [`SecretRecord`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct SealedValue {
    /// The value's key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The nonce.
    #[prost(bytes = "vec", tag = "2")]
    pub nonce: Vec<u8>,
    /// Ciphertext and tag.
    #[prost(bytes = "vec", tag = "3")]
    pub ciphertext: Vec<u8>,
    /// Fingerprint of the data key that sealed it.
    #[prost(bytes = "vec", tag = "4")]
    pub key_id: Vec<u8>,
}

impl SealedValue {
    /// The value as the crypto module sees it.
    pub fn sealed(&self) -> Sealed {
        Sealed {
            nonce: self.nonce.clone(),
            ciphertext: self.ciphertext.clone(),
            key_id: self.key_id.clone(),
        }
    }

    /// A stored value from a sealed one.
    pub fn new(key: &str, sealed: Sealed) -> Self {
        Self {
            key: key.to_string(),
            nonce: sealed.nonce,
            ciphertext: sealed.ciphertext,
            key_id: sealed.key_id,
        }
    }
}

/// Plaintext values by key. `Debug` shows the keys and sizes, never the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Values(pub BTreeMap<String, Vec<u8>>);

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.0
                    .iter()
                    .map(|(key, value)| (key, format!("<redacted, {} bytes>", value.len()))),
            )
            .finish()
    }
}

impl Values {
    /// The values of a request's `data`.
    pub fn from_data(data: &HashMap<String, Vec<u8>>) -> Self {
        Self(data.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// The total size in bytes.
    pub fn size(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }
}

/// Where a secret lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parent {
    /// Platform-wide (`secrets/…`).
    Platform,
    /// In a namespace (its id).
    Namespace(String),
    /// Every namespace (`namespaces/-`, ListSecrets only).
    AllNamespaces,
}

impl Parent {
    /// The name prefix of the secrets under this parent (`namespaces/dev/secrets`).
    pub fn collection(&self) -> String {
        match self {
            Parent::Platform => "secrets".to_string(),
            Parent::Namespace(namespace) => format!("namespaces/{namespace}/secrets"),
            Parent::AllNamespaces => "namespaces".to_string(),
        }
    }

    /// The full name of secret `id` under this parent.
    pub fn name(&self, id: &str) -> String {
        format!("{}/{id}", self.collection())
    }
}

/// Parses a parent (`namespaces/{namespace}`, empty for platform-wide, and with
/// `all_allowed`, `namespaces/-`).
pub fn parse_parent(field: &str, parent: &str, all_allowed: bool) -> Result<Parent, ApiError> {
    if parent.is_empty() {
        return Ok(Parent::Platform);
    }
    if all_allowed && parent == "namespaces/-" {
        return Ok(Parent::AllNamespaces);
    }
    let ids = crate::namespace::model::NAMESPACE_NAME.parse(field, parent)?;
    Ok(Parent::Namespace(ids[0].to_string()))
}

/// A parsed secret name: its namespace (`None`: platform-wide) and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretName {
    /// The namespace id, or `None` for a platform-wide secret.
    pub namespace: Option<String>,
    /// The secret id.
    pub id: String,
}

impl SecretName {
    /// The full name.
    pub fn name(&self) -> String {
        match &self.namespace {
            Some(namespace) => SECRET_NAME.format(&[namespace, &self.id]),
            None => PLATFORM_SECRET_NAME.format(&[&self.id]),
        }
    }
}

/// Parses `namespaces/{namespace}/secrets/{secret}` or `secrets/{secret}` in `field`.
pub fn parse_name(field: &str, name: &str) -> Result<SecretName, ApiError> {
    if name.starts_with("secrets/") {
        let ids = PLATFORM_SECRET_NAME.parse(field, name)?;
        return Ok(SecretName {
            namespace: None,
            id: ids[0].to_string(),
        });
    }
    if name.is_empty() {
        return Err(ApiError::invalid_name(
            field,
            "is required (expected namespaces/{namespace}/secrets/{secret} or secrets/{secret})",
        ));
    }
    let ids = SECRET_NAME.parse(field, name)?;
    Ok(SecretName {
        namespace: Some(ids[0].to_string()),
        id: ids[1].to_string(),
    })
}

/// True when `key` may name a value: `^[-._a-zA-Z0-9]{1,253}$`.
pub fn is_valid_key(key: &str) -> bool {
    (1..=253).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Checks values against the key rules, the limits and the keys `kind` requires.
/// `field` is the data field (`secret.data`).
pub fn validate_values(values: &Values, kind: Type, field: &str) -> Result<(), ApiError> {
    for key in values.0.keys() {
        if !is_valid_key(key) {
            return Err(ApiError::invalid_field(
                format!("{field}[{key:?}]"),
                "keys are 1 to 253 letters, digits, `-`, `.` or `_`",
            ));
        }
    }
    if values.0.len() > MAX_KEYS {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {MAX_KEYS} keys, not {}", values.0.len()),
        ));
    }
    if values.size() > MAX_BYTES {
        return Err(ApiError::invalid_field(
            field,
            format!("at most 64 KiB in all, not {} bytes", values.size()),
        ));
    }
    let require =
        |key: &str, what: &str| -> Result<&[u8], ApiError> {
            values.0.get(key).map(Vec::as_slice).ok_or_else(|| {
                ApiError::invalid_field(field, format!("{what} needs the key `{key}`"))
            })
        };
    let pem = |key: &str, bytes: &[u8]| -> Result<(), ApiError> {
        if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            Ok(())
        } else {
            Err(ApiError::invalid_field(
                format!("{field}[{key:?}]"),
                "must be PEM (`-----BEGIN ...`)",
            ))
        }
    };
    match kind {
        Type::Unspecified | Type::Opaque => {}
        Type::RegistryCredentials => {
            let config = require(".dockerconfigjson", "a REGISTRY_CREDENTIALS secret")?;
            let parsed: Result<serde_json::Value, _> = serde_json::from_slice(config);
            if !matches!(parsed, Ok(serde_json::Value::Object(_))) {
                return Err(ApiError::invalid_field(
                    format!("{field}[\".dockerconfigjson\"]"),
                    "must be a Docker config.json object, e.g. {\"auths\": {...}}",
                ));
            }
        }
        Type::Tls => {
            let certificate = require("tls.crt", "a TLS secret")?;
            let key = require("tls.key", "a TLS secret")?;
            pem("tls.crt", certificate)?;
            pem("tls.key", key)?;
        }
        Type::SshKey => {
            let key = require("ssh-privatekey", "an SSH_KEY secret")?;
            pem("ssh-privatekey", key)?;
        }
    }
    Ok(())
}

/// Checks the metadata a client sets (display name, labels, annotations, type).
pub fn validate_metadata(secret: &Secret, field: &str) -> Result<(), ApiError> {
    if secret.display_name.chars().count() > MAX_DISPLAY_NAME {
        return Err(ApiError::invalid_field(
            format!("{field}.display_name"),
            format!("longer than {MAX_DISPLAY_NAME} characters"),
        ));
    }
    validate_map(&secret.labels, &format!("{field}.labels"))?;
    validate_map(&secret.annotations, &format!("{field}.annotations"))?;
    if Type::try_from(secret.r#type).is_err() {
        return Err(ApiError::invalid_field(
            format!("{field}.type"),
            format!("unknown type {}", secret.r#type),
        ));
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
        let valid_key = (1..=63).contains(&key.len())
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

fn normalized_type(kind: i32) -> Type {
    match Type::try_from(kind) {
        Ok(Type::Unspecified) | Err(_) => Type::Opaque,
        Ok(kind) => kind,
    }
}

/// Fills what the values decide: keys, size.
fn describe(secret: &mut Secret, values: &Values) {
    secret.keys = values.0.keys().cloned().collect();
    secret.size_bytes = values.size() as i64;
    secret.data.clear();
}

/// The secret CreateSecret stores and its values, or INVALID_ARGUMENT naming the field.
pub fn plan_create(
    parent: &Parent,
    secret_id: &str,
    input: &Secret,
    owner: &str,
    uid: String,
    now: Timestamp,
) -> Result<(Secret, Values), ApiError> {
    aip::validate_id("secret_id", secret_id)?;
    validate_metadata(input, "secret")?;
    if input.data.is_empty() {
        return Err(ApiError::invalid_field(
            "secret.data",
            "required: at least one value",
        ));
    }
    let values = Values::from_data(&input.data);
    let kind = normalized_type(input.r#type);
    validate_values(&values, kind, "secret.data")?;
    let mut secret = Secret {
        name: parent.name(secret_id),
        uid,
        display_name: input.display_name.clone(),
        labels: input.labels.clone(),
        annotations: input.annotations.clone(),
        create_time: Some(now),
        update_time: Some(now),
        etag: String::new(),
        data: HashMap::new(),
        r#type: kind as i32,
        keys: Vec::new(),
        version: 1,
        data_update_time: Some(now),
        size_bytes: 0,
        owner: owner.to_string(),
    };
    describe(&mut secret, &values);
    Ok((secret, values))
}

/// One path of an UpdateSecret mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MaskPath {
    /// `display_name`.
    DisplayName,
    /// `labels`.
    Labels,
    /// `annotations`.
    Annotations,
    /// `type` (may only repeat the current type).
    Type,
    /// `data`: every value.
    Data,
    /// `data.<key>`: one value.
    DataKey(String),
    /// `*`.
    All,
}

/// Parses an UpdateSecret mask (required; `data.<key>` with backticks around keys that
/// hold other characters than letters, digits and `_`).
pub fn parse_mask(mask: Option<&prost_types::FieldMask>) -> Result<Vec<MaskPath>, ApiError> {
    let invalid = |path: &str, description: String| {
        ApiError::new(
            Code::InvalidArgument,
            ErrorReason::InvalidUpdateMask,
            format!("invalid update_mask: {description}"),
        )
        .with_field_violation("update_mask", format!("{path:?}: {description}"))
    };
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        return Err(ApiError::invalid_field(
            "update_mask",
            "required: name the fields to change, e.g. `data` or `labels`",
        ));
    }
    let mut parsed = Vec::new();
    for path in paths {
        parsed.push(match path.as_str() {
            "*" => MaskPath::All,
            "display_name" => MaskPath::DisplayName,
            "labels" => MaskPath::Labels,
            "annotations" => MaskPath::Annotations,
            "type" => MaskPath::Type,
            "data" => MaskPath::Data,
            other => {
                let Some(key) = other.strip_prefix("data.") else {
                    return Err(invalid(
                        other,
                        format!(
                            "{other:?} cannot be updated (updatable: {}, data.<key>)",
                            UPDATABLE_FIELDS.join(", ")
                        ),
                    ));
                };
                let key = match key.strip_prefix('`').and_then(|k| k.strip_suffix('`')) {
                    Some(quoted) => quoted,
                    None if key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => key,
                    None => {
                        return Err(invalid(
                            other,
                            format!("quote keys with `-` or `.` in backticks: data.`{key}`"),
                        ));
                    }
                };
                if !is_valid_key(key) {
                    return Err(invalid(other, format!("{key:?} is not a valid key")));
                }
                MaskPath::DataKey(key.to_string())
            }
        });
    }
    Ok(parsed)
}

/// The outcome of an update.
#[derive(Debug)]
pub struct Updated {
    /// The secret as it will be stored.
    pub secret: Secret,
    /// Its values.
    pub values: Values,
    /// Whether the values changed (a new version).
    pub data_changed: bool,
}

/// Applies an UpdateSecret to the stored secret and its values; `None` when nothing
/// changes.
pub fn apply_update(
    current: &Secret,
    current_values: &Values,
    input: &Secret,
    mask: &[MaskPath],
    now: Timestamp,
) -> Result<Option<Updated>, ApiError> {
    validate_metadata(input, "secret")?;
    let input_values = Values::from_data(&input.data);
    for key in input_values.0.keys() {
        if !is_valid_key(key) {
            return Err(ApiError::invalid_field(
                format!("secret.data[{key:?}]"),
                "keys are 1 to 253 letters, digits, `-`, `.` or `_`",
            ));
        }
    }
    let mut secret = current.clone();
    let mut values = current_values.clone();
    let all = mask.contains(&MaskPath::All);
    for path in mask {
        match path {
            MaskPath::DisplayName => secret.display_name = input.display_name.clone(),
            MaskPath::Labels => secret.labels = input.labels.clone(),
            MaskPath::Annotations => secret.annotations = input.annotations.clone(),
            MaskPath::Type => check_type(current, input, false)?,
            MaskPath::Data => values = input_values.clone(),
            MaskPath::DataKey(key) => match input_values.0.get(key) {
                Some(value) => {
                    values.0.insert(key.clone(), value.clone());
                }
                None => {
                    values.0.remove(key);
                }
            },
            MaskPath::All => {
                secret.display_name = input.display_name.clone();
                secret.labels = input.labels.clone();
                secret.annotations = input.annotations.clone();
                check_type(current, input, true)?;
                values = input_values.clone();
            }
        }
    }
    if !all && !mask.iter().any(|p| matches!(p, MaskPath::Data)) {
        // Values sent but not named in the mask would silently be ignored.
        for key in input_values.0.keys() {
            if !mask.contains(&MaskPath::DataKey(key.clone())) {
                return Err(ApiError::invalid_field(
                    format!("secret.data[{key:?}]"),
                    "not in update_mask: add `data` or `data.<key>` to change values",
                ));
            }
        }
    }
    if values.0.is_empty() {
        return Err(ApiError::invalid_field(
            "secret.data",
            "a secret keeps at least one value: delete the secret instead",
        ));
    }
    validate_values(&values, normalized_type(current.r#type), "secret.data")?;
    let data_changed = values != *current_values;
    if !data_changed && secret == *current {
        return Ok(None);
    }
    secret.update_time = Some(now);
    if data_changed {
        secret.version = current.version + 1;
        secret.data_update_time = Some(now);
    }
    describe(&mut secret, &values);
    Ok(Some(Updated {
        secret,
        values,
        data_changed,
    }))
}

fn check_type(current: &Secret, input: &Secret, unset_allowed: bool) -> Result<(), ApiError> {
    if unset_allowed && input.r#type == Type::Unspecified as i32 {
        return Ok(());
    }
    if normalized_type(input.r#type) != normalized_type(current.r#type) {
        return Err(ApiError::invalid_field(
            "secret.type",
            "cannot change after creation: create another secret",
        ));
    }
    Ok(())
}

/// A ListSecrets filter: terms joined by `AND`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter(Vec<Term>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    Type(Type),
    Key(String),
    Owner(String),
    DisplayName(String),
    Label(String, String),
    HasLabel(String),
}

/// Parses a ListSecrets filter: `type = TLS`, `keys:"api_key"`, `owner = "…"`,
/// `display_name = "…"`, `labels.team = "a"`, `labels:team`, joined by `AND`.
pub fn parse_filter(filter: &str) -> Result<Filter, ApiError> {
    let invalid = |term: &str| {
        ApiError::new(
            Code::InvalidArgument,
            ErrorReason::InvalidFilter,
            format!(
                "invalid filter term {term:?}: use type = TLS, keys:\"k\", owner = \"…\", display_name = \"…\", labels.k = \"v\" or labels:k, joined by AND"
            ),
        )
        .with_field_violation("filter", format!("unsupported term {term:?}"))
    };
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(Filter::default());
    }
    let unquote = |s: &str| s.trim().trim_matches('"').to_string();
    let mut terms = Vec::new();
    for term in filter.split(" AND ") {
        let term = term.trim();
        if let Some((field, value)) = term.split_once('=') {
            let (field, value) = (field.trim(), unquote(value));
            terms.push(match field {
                "type" => {
                    let name = format!("TYPE_{}", value.trim_start_matches("TYPE_"));
                    Term::Type(
                        Type::from_str_name(&name)
                            .filter(|t| *t != Type::Unspecified)
                            .ok_or_else(|| invalid(term))?,
                    )
                }
                "owner" => Term::Owner(value),
                "display_name" => Term::DisplayName(value),
                label if label.starts_with("labels.") => {
                    Term::Label(label["labels.".len()..].to_string(), value)
                }
                _ => return Err(invalid(term)),
            });
        } else if let Some((field, value)) = term.split_once(':') {
            terms.push(match field.trim() {
                "keys" => Term::Key(unquote(value)),
                "labels" => Term::HasLabel(unquote(value)),
                _ => return Err(invalid(term)),
            });
        } else {
            return Err(invalid(term));
        }
    }
    Ok(Filter(terms))
}

impl Filter {
    /// Whether `secret` passes.
    pub fn matches(&self, secret: &Secret) -> bool {
        self.0.iter().all(|term| match term {
            Term::Type(kind) => normalized_type(secret.r#type) == *kind,
            Term::Key(key) => secret.keys.contains(key),
            Term::Owner(owner) => secret.owner == *owner,
            Term::DisplayName(name) => secret.display_name == *name,
            Term::Label(key, value) => secret.labels.get(key) == Some(value),
            Term::HasLabel(key) => secret.labels.contains_key(key),
        })
    }
}

/// A ListSecrets ordering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    field: OrderField,
    descending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrderField {
    Name,
    CreateTime,
    DataUpdateTime,
}

/// Parses `order_by`: `name` (default), `create_time` or `data_update_time`, each
/// optionally `desc`.
pub fn parse_order(order_by: &str) -> Result<Order, ApiError> {
    let mut words = order_by.split_whitespace();
    let field = match words.next() {
        None | Some("name") => OrderField::Name,
        Some("create_time") => OrderField::CreateTime,
        Some("data_update_time") => OrderField::DataUpdateTime,
        Some(other) => {
            return Err(ApiError::invalid_field(
                "order_by",
                format!("{other:?}: order by name, create_time or data_update_time"),
            ));
        }
    };
    let descending = match (words.next(), words.next()) {
        (None, None) | (Some("asc"), None) => false,
        (Some("desc"), None) => true,
        _ => {
            return Err(ApiError::invalid_field(
                "order_by",
                "one field, optionally followed by `asc` or `desc`",
            ));
        }
    };
    Ok(Order { field, descending })
}

impl Order {
    /// Compares two secrets (ties broken by name, so the order is total).
    pub fn compare(&self, a: &Secret, b: &Secret) -> Ordering {
        let time = |t: &Option<Timestamp>| t.map(|t| (t.seconds, t.nanos)).unwrap_or_default();
        let ordering = match self.field {
            OrderField::Name => a.name.cmp(&b.name),
            OrderField::CreateTime => time(&a.create_time)
                .cmp(&time(&b.create_time))
                .then_with(|| a.name.cmp(&b.name)),
            OrderField::DataUpdateTime => time(&a.data_update_time)
                .cmp(&time(&b.data_update_time))
                .then_with(|| a.name.cmp(&b.name)),
        };
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }
    }

    fn input(data: &[(&str, &[u8])]) -> Secret {
        Secret {
            data: data
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_vec()))
                .collect(),
            ..Default::default()
        }
    }

    fn field(error: ApiError) -> String {
        error.field_violations[0].0.clone()
    }

    const PEM: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    #[test]
    fn create_describes_the_values_without_holding_them() {
        let ns = Parent::Namespace("dev".into());
        let (secret, values) = plan_create(
            &ns,
            "db",
            &input(&[("password", b"hunter2"), ("user", b"app")]),
            "",
            "u".into(),
            now(),
        )
        .unwrap();
        assert_eq!(secret.name, "namespaces/dev/secrets/db");
        assert_eq!(secret.keys, vec!["password", "user"]);
        assert_eq!(secret.size_bytes, 10);
        assert_eq!(secret.version, 1);
        assert_eq!(secret.r#type, Type::Opaque as i32);
        assert!(secret.data.is_empty());
        assert_eq!(values.0["password"], b"hunter2");
        let (platform, _) = plan_create(
            &Parent::Platform,
            "git",
            &input(&[("k", b"v")]),
            "",
            "u".into(),
            now(),
        )
        .unwrap();
        assert_eq!(platform.name, "secrets/git");
    }

    #[test]
    fn bad_input_names_the_field() {
        let ns = Parent::Namespace("dev".into());
        let create = |id: &str, secret: Secret| {
            plan_create(&ns, id, &secret, "", "u".into(), now()).unwrap_err()
        };
        assert_eq!(field(create("Bad", input(&[("k", b"v")]))), "secret_id");
        assert_eq!(field(create("db", input(&[]))), "secret.data");
        assert_eq!(
            field(create("db", input(&[("bad key", b"v")]))),
            "secret.data[\"bad key\"]"
        );
        let big = vec![0u8; MAX_BYTES + 1];
        assert_eq!(
            field(create("db", input(&[("k", big.as_slice())]))),
            "secret.data"
        );
        let many = Secret {
            data: (0..=MAX_KEYS).map(|i| (format!("k{i}"), vec![1])).collect(),
            ..Default::default()
        };
        assert_eq!(field(create("db", many)), "secret.data");
        let tls_missing_key = Secret {
            r#type: Type::Tls as i32,
            ..input(&[("tls.crt", PEM)])
        };
        let error = create("tls", tls_missing_key);
        assert_eq!(field(error.clone()), "secret.data");
        assert!(error.message.contains("tls.key"), "{}", error.message);
        let tls_not_pem = Secret {
            r#type: Type::Tls as i32,
            ..input(&[("tls.crt", PEM), ("tls.key", b"nope")])
        };
        assert_eq!(
            field(create("tls", tls_not_pem)),
            "secret.data[\"tls.key\"]"
        );
        let registry = Secret {
            r#type: Type::RegistryCredentials as i32,
            ..input(&[(".dockerconfigjson", b"[]")])
        };
        assert_eq!(
            field(create("reg", registry)),
            "secret.data[\".dockerconfigjson\"]"
        );
        let long_name = Secret {
            display_name: "x".repeat(64),
            ..input(&[("k", b"v")])
        };
        assert_eq!(field(create("db", long_name)), "secret.display_name");
        let unknown_type = Secret {
            r#type: 42,
            ..input(&[("k", b"v")])
        };
        assert_eq!(field(create("db", unknown_type)), "secret.type");
    }

    #[test]
    fn good_typed_secrets_pass() {
        let ns = Parent::Namespace("dev".into());
        for (kind, data) in [
            (Type::Tls, input(&[("tls.crt", PEM), ("tls.key", PEM)])),
            (
                Type::RegistryCredentials,
                input(&[(".dockerconfigjson", b"{\"auths\":{}}")]),
            ),
            (Type::SshKey, input(&[("ssh-privatekey", PEM)])),
        ] {
            let secret = Secret {
                r#type: kind as i32,
                ..data
            };
            plan_create(&ns, "s", &secret, "", "u".into(), now()).unwrap();
        }
    }

    #[test]
    fn masks_parse_data_keys_quoted_or_plain() {
        let mask = |paths: &[&str]| {
            parse_mask(Some(&prost_types::FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }))
        };
        assert_eq!(
            mask(&["data.api_key", "data.`tls.crt`", "labels"]).unwrap(),
            vec![
                MaskPath::DataKey("api_key".into()),
                MaskPath::DataKey("tls.crt".into()),
                MaskPath::Labels
            ]
        );
        assert_eq!(field(mask(&["data.tls.crt"]).unwrap_err()), "update_mask");
        assert_eq!(field(mask(&["owner"]).unwrap_err()), "update_mask");
        assert_eq!(field(parse_mask(None).unwrap_err()), "update_mask");
    }

    #[test]
    fn updates_version_the_values_only_when_they_change() {
        let ns = Parent::Namespace("dev".into());
        let (current, values) = plan_create(
            &ns,
            "db",
            &input(&[("a", b"1"), ("b", b"2")]),
            "",
            "u".into(),
            now(),
        )
        .unwrap();
        let later = Timestamp {
            seconds: now().seconds + 10,
            nanos: 0,
        };
        // data.<key>: set one key, remove another.
        let updated = apply_update(
            &current,
            &values,
            &input(&[("a", b"9")]),
            &[MaskPath::DataKey("a".into()), MaskPath::DataKey("b".into())],
            later,
        )
        .unwrap()
        .unwrap();
        assert!(updated.data_changed);
        assert_eq!(updated.secret.version, 2);
        assert_eq!(updated.secret.keys, vec!["a"]);
        assert_eq!(updated.secret.data_update_time, Some(later));
        assert_eq!(updated.values.0["a"], b"9");
        // Labels only: same version.
        let labels = Secret {
            labels: [("team".to_string(), "x".to_string())].into(),
            ..Default::default()
        };
        let relabelled = apply_update(&current, &values, &labels, &[MaskPath::Labels], later)
            .unwrap()
            .unwrap();
        assert!(!relabelled.data_changed);
        assert_eq!(relabelled.secret.version, 1);
        assert_eq!(relabelled.secret.data_update_time, current.data_update_time);
        // The same values: nothing changes.
        assert!(
            apply_update(
                &current,
                &values,
                &input(&[("a", b"1"), ("b", b"2")]),
                &[MaskPath::Data],
                later
            )
            .unwrap()
            .is_none()
        );
        // The type cannot change; removing every value is refused.
        let tls = Secret {
            r#type: Type::Tls as i32,
            ..Default::default()
        };
        assert_eq!(
            field(apply_update(&current, &values, &tls, &[MaskPath::Type], later).unwrap_err()),
            "secret.type"
        );
        assert_eq!(
            field(
                apply_update(&current, &values, &input(&[]), &[MaskPath::Data], later).unwrap_err()
            ),
            "secret.data"
        );
        // Values outside the mask are refused rather than ignored.
        assert_eq!(
            field(
                apply_update(
                    &current,
                    &values,
                    &input(&[("a", b"5")]),
                    &[MaskPath::Labels],
                    later
                )
                .unwrap_err()
            ),
            "secret.data[\"a\"]"
        );
    }

    #[test]
    fn values_never_show_in_debug() {
        let values = Values::from_data(&[("password".to_string(), b"hunter2".to_vec())].into());
        let debug = format!("{values:?}");
        assert!(debug.contains("password"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn filters_and_orders() {
        let secret = Secret {
            name: "namespaces/dev/secrets/a".into(),
            r#type: Type::Tls as i32,
            keys: vec!["tls.crt".into(), "tls.key".into()],
            owner: "namespaces/dev/deployments/web".into(),
            ..Default::default()
        };
        assert!(parse_filter("type = TLS").unwrap().matches(&secret));
        assert!(
            parse_filter("keys:\"tls.key\" AND owner = \"namespaces/dev/deployments/web\"")
                .unwrap()
                .matches(&secret)
        );
        assert!(!parse_filter("type = OPAQUE").unwrap().matches(&secret));
        assert_eq!(field(parse_filter("size > 3").unwrap_err()), "filter");
        let b = Secret {
            name: "namespaces/dev/secrets/b".into(),
            ..Default::default()
        };
        assert_eq!(
            parse_order("name desc").unwrap().compare(&secret, &b),
            Ordering::Greater
        );
        assert!(parse_order("size").is_err());
    }
}
