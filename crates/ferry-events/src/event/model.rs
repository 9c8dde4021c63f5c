//! Pure rules of events: names, validation and defaults, the identity that makes a
//! repeat, filters and ordering.

use std::time::Duration;

use ferry_kit::aip::NamePattern;
use ferry_kit::error::ApiError;
use ferry_proto::ferry::deploy::v1::Event;
use ferry_proto::ferry::deploy::v1::event::source::Origin;
use ferry_proto::ferry::deploy::v1::event::{Severity, Type};
use sha2::{Digest, Sha256};

use crate::filter::{self, Fields, Filter, Kind, Schema, Value};
use crate::layout::{micros, timestamp_from_micros};

/// `namespaces/{namespace}/events/{event}`.
pub const EVENT_NAME: NamePattern = NamePattern("namespaces/{namespace}/events/{event}");
/// `namespaces/{namespace}`.
pub const NAMESPACE_NAME: NamePattern = NamePattern("namespaces/{namespace}");
/// The parent that means every namespace.
pub const ALL_NAMESPACES: &str = "namespaces/-";
/// Longest message.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Longest acknowledgement note.
pub const MAX_NOTE_BYTES: usize = 1024;
/// Most `details` entries.
pub const MAX_DETAILS: usize = 32;
/// A repeat within this time of `last_time` updates the event instead of adding one.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(3600);
/// Default retention after `last_time`.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default cap of events per namespace.
pub const DEFAULT_MAX_PER_NAMESPACE: usize = 10_000;

/// A parsed parent: one namespace, or every namespace (`namespaces/-`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parent {
    /// `namespaces/{namespace}`.
    Namespace(String),
    /// `namespaces/-`.
    All,
}

impl Parent {
    /// Parses `parent` in `field`; `namespaces/-` only when `allow_all`.
    pub fn parse(field: &str, parent: &str, allow_all: bool) -> Result<Parent, ApiError> {
        if parent == ALL_NAMESPACES {
            return if allow_all {
                Ok(Parent::All)
            } else {
                Err(ApiError::invalid_name(
                    field,
                    "`namespaces/-` is not allowed here: name one namespace",
                ))
            };
        }
        let ids = NAMESPACE_NAME.parse(field, parent)?;
        Ok(Parent::Namespace(ids[0].to_string()))
    }

    /// Whether the event `name` is under this parent.
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Parent::All => true,
            Parent::Namespace(namespace) => name
                .strip_prefix("namespaces/")
                .and_then(|rest| rest.strip_prefix(namespace.as_str()))
                .is_some_and(|rest| rest.starts_with("/events/")),
        }
    }
}

/// The namespace of an event name.
pub fn namespace_of(name: &str) -> Option<&str> {
    name.strip_prefix("namespaces/")?.split('/').next()
}

/// True for a stable UPPER_SNAKE reason such as `ROLLOUT_STARTED`.
pub fn is_reason(reason: &str) -> bool {
    !reason.is_empty()
        && reason.len() <= 128
        && reason.as_bytes()[0].is_ascii_uppercase()
        && reason
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks an event given to CreateEvent (or the recorder); errors name the field under
/// `prefix` (e.g. `event.reason`).
pub fn validate(prefix: &str, event: &Event) -> Result<(), ApiError> {
    let field = |name: &str| format!("{prefix}.{name}");
    if event.involved_resource.is_empty() {
        return Err(ApiError::invalid_field(
            field("involved_resource"),
            "is required",
        ));
    }
    if event.involved_resource.starts_with('/')
        || event.involved_resource.ends_with('/')
        || event.involved_resource.contains("//")
        || event.involved_resource.chars().any(char::is_whitespace)
    {
        return Err(ApiError::invalid_field(
            field("involved_resource"),
            "must be a full resource name such as `namespaces/dev/deployments/web`",
        ));
    }
    if event.involved_resource_type.is_empty() {
        return Err(ApiError::invalid_field(
            field("involved_resource_type"),
            "is required, e.g. `ferry.dev/Instance`",
        ));
    }
    if !event.involved_resource_type.contains('/') {
        return Err(ApiError::invalid_field(
            field("involved_resource_type"),
            "must be a resource type such as `ferry.dev/Instance`",
        ));
    }
    let kind = Type::try_from(event.r#type).unwrap_or(Type::Unspecified);
    if kind == Type::Unspecified {
        return Err(ApiError::invalid_field(
            field("type"),
            "is required: NORMAL or WARNING",
        ));
    }
    let severity = Severity::try_from(event.severity)
        .map_err(|_| ApiError::invalid_field(field("severity"), "is not a known severity"))?;
    match (kind, severity) {
        (_, Severity::Unspecified) | (Type::Normal, Severity::Info) => {}
        (Type::Normal, _) => {
            return Err(ApiError::invalid_field(
                field("severity"),
                "a NORMAL event has severity INFO",
            ));
        }
        (Type::Warning, Severity::Info) => {
            return Err(ApiError::invalid_field(
                field("severity"),
                "a WARNING event has severity WARNING, ERROR or CRITICAL",
            ));
        }
        _ => {}
    }
    if event.reason.is_empty() {
        return Err(ApiError::invalid_field(field("reason"), "is required"));
    }
    if !is_reason(&event.reason) {
        return Err(ApiError::invalid_field(
            field("reason"),
            "must be UPPER_SNAKE_CASE such as `ROLLOUT_STARTED` (at most 128 characters)",
        ));
    }
    if event.message.is_empty() {
        return Err(ApiError::invalid_field(field("message"), "is required"));
    }
    if event.message.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::invalid_field(
            field("message"),
            "is longer than 4 KiB",
        ));
    }
    match &event.source {
        Some(source) if !source.component.is_empty() => {}
        _ => {
            return Err(ApiError::invalid_field(
                field("source.component"),
                "is required, e.g. `deploy/rollout-controller`",
            ));
        }
    }
    if event.display_name.len() > 256 {
        return Err(ApiError::invalid_field(
            field("display_name"),
            "is longer than 256 characters",
        ));
    }
    if event.details.len() > MAX_DETAILS {
        return Err(ApiError::invalid_field(
            field("details"),
            "has more than 32 entries",
        ));
    }
    Ok(())
}

/// The event as first recorded in `namespace`: output fields cleared or set, defaults
/// applied. `id` is the new event id; times are `now` unless `first_time` was given.
pub fn new_event(
    input: &Event,
    namespace: &str,
    id: &str,
    uid: String,
    origin: Origin,
    now_micros: i64,
    retention: Duration,
) -> Event {
    let mut event = input.clone();
    let now = timestamp_from_micros(now_micros);
    event.name = EVENT_NAME.format(&[namespace, id]);
    event.uid = uid;
    event.etag.clear();
    if event.severity == Severity::Unspecified as i32 {
        event.severity = match event.r#type() {
            Type::Warning => Severity::Warning as i32,
            _ => Severity::Info as i32,
        };
    }
    if let Some(source) = event.source.as_mut() {
        source.origin = origin as i32;
    }
    if event.display_name.is_empty() {
        event.display_name = default_display_name(&event);
    }
    if event.deployment.is_empty() {
        event.deployment = deployment_of(&event.involved_resource).unwrap_or_default();
    }
    event.count = 1;
    event.create_time = Some(now);
    event.update_time = Some(now);
    if event.first_time.is_none() {
        event.first_time = Some(now);
    }
    event.last_time = Some(now);
    event.acknowledged = false;
    event.acknowledge_time = None;
    event.acknowledged_by.clear();
    event.acknowledge_note.clear();
    event.expire_time = Some(expire_time(now_micros, retention));
    event
}

/// The event after one more report at `now`.
pub fn repeat(current: &Event, now_micros: i64, retention: Duration) -> Event {
    let mut event = current.clone();
    let now = timestamp_from_micros(now_micros);
    event.etag.clear();
    event.count = event.count.saturating_add(1);
    event.last_time = Some(now);
    event.update_time = Some(now);
    event.expire_time = Some(expire_time(now_micros, retention));
    event
}

/// Whether a new report of `current`'s identity at `now` is a repeat of it.
pub fn is_repeat_of(current: &Event, now_micros: i64) -> bool {
    !current.acknowledged
        && now_micros - micros(current.last_time.as_ref()) < REPEAT_WINDOW.as_micros() as i64
}

fn expire_time(last_micros: i64, retention: Duration) -> prost_types::Timestamp {
    timestamp_from_micros(last_micros.saturating_add(retention.as_micros() as i64))
}

/// `Rollout … : reason on resource` style title when none was given.
pub fn default_display_name(event: &Event) -> String {
    let resource = event
        .involved_resource
        .rsplit('/')
        .next()
        .unwrap_or(&event.involved_resource);
    format!("{} {}", event.reason, resource)
}

/// The deployment a resource is or belongs to.
pub fn deployment_of(resource: &str) -> Option<String> {
    let parts: Vec<&str> = resource.split('/').collect();
    (parts.len() >= 4 && parts[0] == "namespaces" && parts[2] == "deployments")
        .then(|| parts[..4].join("/"))
}

/// The digest that identifies repeats: resource, type, reason, component and message.
pub fn identity_digest(event: &Event) -> String {
    let mut hasher = Sha256::new();
    let component = event
        .source
        .as_ref()
        .map(|s| s.component.as_str())
        .unwrap_or("");
    for part in [
        event.involved_resource.as_str(),
        &event.r#type.to_string(),
        &event.reason,
        component,
        &event.message,
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks an acknowledgement note.
pub fn validate_note(note: &str) -> Result<(), ApiError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(ApiError::invalid_field("note", "is longer than 1 KiB"));
    }
    Ok(())
}

/// The event once acknowledged by `by` at `now` (unchanged when it already was).
pub fn acknowledge(current: &Event, by: &str, note: &str, now_micros: i64) -> Event {
    let mut event = current.clone();
    if event.acknowledged {
        return event;
    }
    let now = timestamp_from_micros(now_micros);
    event.etag.clear();
    event.acknowledged = true;
    event.acknowledge_time = Some(now);
    event.acknowledged_by = by.to_string();
    event.acknowledge_note = note.to_string();
    event.update_time = Some(now);
    event
}

fn parse_type(text: &str) -> Option<i32> {
    filter::enum_value(text, "TYPE_", |name| {
        Type::from_str_name(name).map(|t| t as i32)
    })
}

fn parse_severity(text: &str) -> Option<i32> {
    filter::enum_value(text, "SEVERITY_", |name| {
        Severity::from_str_name(name).map(|s| s as i32)
    })
}

fn parse_origin(text: &str) -> Option<i32> {
    filter::enum_value(text, "ORIGIN_", |name| {
        Origin::from_str_name(name).map(|o| o as i32)
    })
}

/// The fields ListEvents and WatchEvents filter on.
pub const FILTER_SCHEMA: Schema = Schema(&[
    ("involved_resource", Kind::Text),
    ("involved_resource_type", Kind::Text),
    ("deployment", Kind::Text),
    ("application", Kind::Text),
    ("type", Kind::Enum(parse_type)),
    ("severity", Kind::Enum(parse_severity)),
    ("reason", Kind::Text),
    ("source.component", Kind::Text),
    ("source.origin", Kind::Enum(parse_origin)),
    ("acknowledged", Kind::Bool),
    ("labels", Kind::Map),
    ("first_time", Kind::Time),
    ("last_time", Kind::Time),
]);

/// Parses an event filter.
pub fn parse_filter(text: &str) -> Result<Filter, ApiError> {
    filter::parse(text, FILTER_SCHEMA)
}

/// An event seen by a filter.
pub struct EventFields<'a>(pub &'a Event);

impl Fields for EventFields<'_> {
    fn value(&self, field: &str, key: Option<&str>) -> Option<Value> {
        let event = self.0;
        let text = |s: &str| Some(Value::Text(s.to_string()));
        match field {
            "involved_resource" => text(&event.involved_resource),
            "involved_resource_type" => text(&event.involved_resource_type),
            "deployment" => text(&event.deployment),
            "application" => text(&event.application),
            "type" => Some(Value::Enum(event.r#type)),
            "severity" => Some(Value::Enum(event.severity)),
            "reason" => text(&event.reason),
            "source.component" => event.source.as_ref().and_then(|s| text(&s.component)),
            "source.origin" => event.source.as_ref().map(|s| Value::Enum(s.origin)),
            "acknowledged" => Some(Value::Bool(event.acknowledged)),
            "labels" => key
                .and_then(|k| event.labels.get(k))
                .map(|v| Value::Text(v.clone())),
            "first_time" => Some(Value::Time(micros(event.first_time.as_ref()))),
            "last_time" => Some(Value::Time(micros(event.last_time.as_ref()))),
            _ => None,
        }
    }
}

/// A sort key of ListEvents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderField {
    /// `last_time`
    LastTime,
    /// `first_time`
    FirstTime,
    /// `severity`
    Severity,
    /// `count`
    Count,
}

/// A parsed `order_by`: fields with descending flags.
pub type Order = Vec<(OrderField, bool)>;

/// Parses `order_by` (default `last_time desc`).
pub fn parse_order_by(text: &str) -> Result<Order, ApiError> {
    if text.trim().is_empty() {
        return Ok(vec![(OrderField::LastTime, true)]);
    }
    let mut order = Vec::new();
    for part in text.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (name, desc) = match words.as_slice() {
            [name] => (*name, false),
            [name, "asc"] => (*name, false),
            [name, "desc"] => (*name, true),
            _ => {
                return Err(ApiError::invalid_field(
                    "order_by",
                    format!("{part:?} is not `field [asc|desc]`"),
                ));
            }
        };
        let field = match name {
            "last_time" => OrderField::LastTime,
            "first_time" => OrderField::FirstTime,
            "severity" => OrderField::Severity,
            "count" => OrderField::Count,
            _ => {
                return Err(ApiError::invalid_field(
                    "order_by",
                    format!(
                        "{name:?} cannot be ordered on (use last_time, first_time, severity or count)"
                    ),
                ));
            }
        };
        order.push((field, desc));
    }
    Ok(order)
}

/// Sorts events by `order`, ties broken by name (newest id first) so pages are stable.
pub fn sort(events: &mut [Event], order: &Order) {
    events.sort_by(|a, b| {
        for (field, desc) in order {
            let ordering = match field {
                OrderField::LastTime => {
                    micros(a.last_time.as_ref()).cmp(&micros(b.last_time.as_ref()))
                }
                OrderField::FirstTime => {
                    micros(a.first_time.as_ref()).cmp(&micros(b.first_time.as_ref()))
                }
                OrderField::Severity => a.severity.cmp(&b.severity),
                OrderField::Count => a.count.cmp(&b.count),
            };
            let ordering = if *desc { ordering.reverse() } else { ordering };
            if ordering.is_ne() {
                return ordering;
            }
        }
        a.name.cmp(&b.name)
    });
}

/// Checks an event name in `field` and returns its namespace.
pub fn parse_event_name(field: &str, name: &str) -> Result<String, ApiError> {
    Ok(EVENT_NAME.parse(field, name)?[0].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::deploy::v1::event::Source;

    pub(crate) fn sample() -> Event {
        Event {
            involved_resource: "namespaces/dev/deployments/web".into(),
            involved_resource_type: "ferry.dev/Deployment".into(),
            r#type: Type::Warning as i32,
            reason: "ROLLOUT_ROLLED_BACK".into(),
            message: "rollout r7 rolled back".into(),
            source: Some(Source {
                component: "deploy/rollout-controller".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert!(validate("event", &sample()).is_ok());
        type Mutation = Box<dyn Fn(&mut Event)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "event.involved_resource",
                Box::new(|e| e.involved_resource.clear()),
            ),
            (
                "event.involved_resource_type",
                Box::new(|e| e.involved_resource_type = "x".into()),
            ),
            ("event.type", Box::new(|e| e.r#type = 0)),
            (
                "event.severity",
                Box::new(|e| e.severity = Severity::Info as i32),
            ),
            (
                "event.reason",
                Box::new(|e| e.reason = "rolled back".into()),
            ),
            ("event.message", Box::new(|e| e.message = "x".repeat(5000))),
            ("event.source.component", Box::new(|e| e.source = None)),
        ];
        for (field, mutate) in cases {
            let mut event = sample();
            mutate(&mut event);
            let error = validate("event", &event).unwrap_err();
            assert_eq!(error.field_violations[0].0, field);
        }
    }

    #[test]
    fn defaults_repeats_and_acknowledgement() {
        let event = new_event(
            &sample(),
            "dev",
            "e1",
            "u".into(),
            Origin::External,
            1_000_000,
            DEFAULT_RETENTION,
        );
        assert_eq!(event.name, "namespaces/dev/events/e1");
        assert_eq!(event.severity(), Severity::Warning);
        assert_eq!(event.count, 1);
        assert_eq!(event.deployment, "namespaces/dev/deployments/web");
        assert_eq!(event.source.as_ref().unwrap().origin(), Origin::External);
        assert!(is_repeat_of(&event, 2_000_000));
        assert!(!is_repeat_of(
            &event,
            1_000_000 + REPEAT_WINDOW.as_micros() as i64
        ));
        let repeated = repeat(&event, 2_000_000, DEFAULT_RETENTION);
        assert_eq!(repeated.count, 2);
        assert_eq!(micros(repeated.last_time.as_ref()), 2_000_000);
        let acked = acknowledge(&repeated, "users/ann", "seen", 3_000_000);
        assert!(acked.acknowledged && !is_repeat_of(&acked, 3_000_001));
        assert_eq!(acknowledge(&acked, "users/bob", "", 4_000_000), acked);
        let mut other = sample();
        other.message = "different".into();
        assert_ne!(identity_digest(&sample()), identity_digest(&other));
    }

    #[test]
    fn parents_and_ordering() {
        assert_eq!(
            Parent::parse("parent", "namespaces/-", true).unwrap(),
            Parent::All
        );
        assert!(Parent::parse("parent", "namespaces/-", false).is_err());
        let dev = Parent::parse("parent", "namespaces/dev", false).unwrap();
        assert!(dev.contains("namespaces/dev/events/e1"));
        assert!(!dev.contains("namespaces/dev2/events/e1"));
        assert!(parse_order_by("colour").is_err());
        let mut a = sample();
        a.name = "a".into();
        a.count = 1;
        let mut b = sample();
        b.name = "b".into();
        b.count = 5;
        let mut events = vec![a, b];
        sort(&mut events, &parse_order_by("count desc").unwrap());
        assert_eq!(events[0].name, "b");
    }
}
