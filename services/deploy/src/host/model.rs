//! Pure rules of the host resource: host names, the record Ferry keeps, how a record and
//! a runtime's [`HostStatus`] make the API's [`Host`], cordon and uncordon, and the
//! ListHosts filter. No IO here.

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::{Condition, ConditionStatus, ErrorReason, ResourceQuantities};
use ferry_proto::ferry::deploy::v1::host::State;
use ferry_proto::ferry::deploy::v1::{Host, RuntimeKind};
use ferry_runtime::{HostState, HostStatus};
use prost_types::Timestamp;
use tonic::Code;

/// `hosts/{host}` (formatting only: host ids may hold dots, see [`parse_host_name`]).
pub const HOST_NAME: NamePattern = NamePattern("hosts/{host}");

/// Longest cordon reason accepted.
pub const MAX_REASON: usize = 1024;

/// What Ferry keeps about a host (internal, protobuf); the rest comes from the runtime.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HostRecord {
    /// Unique id assigned when Ferry first saw the host.
    #[prost(string, tag = "1")]
    pub uid: String,
    /// When Ferry first saw the host.
    #[prost(message, optional, tag = "2")]
    pub create_time: Option<Timestamp>,
    /// When the record last changed.
    #[prost(message, optional, tag = "3")]
    pub update_time: Option<Timestamp>,
    /// Whether the host is cordoned.
    #[prost(bool, tag = "4")]
    pub cordoned: bool,
    /// Why, as given to CordonHost.
    #[prost(string, tag = "5")]
    pub cordon_reason: String,
    /// Who cordoned it (a user or service account name; empty when not known).
    #[prost(string, tag = "6")]
    pub cordoned_by: String,
    /// When it was cordoned.
    #[prost(message, optional, tag = "7")]
    pub cordon_time: Option<Timestamp>,
}

impl HostRecord {
    /// The record of a host seen for the first time.
    pub fn new(uid: String, now: Timestamp) -> Self {
        Self {
            uid,
            create_time: Some(now),
            update_time: Some(now),
            ..Default::default()
        }
    }
}

/// Whether `id` can be a host id: 1 to 253 lower-case letters, digits, `-`, `.` or `_`,
/// starting and ending with a letter or digit (node names, engine names).
pub fn is_valid_host_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 253
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes
            .iter()
            .all(|b| edge(b) || matches!(b, b'-' | b'.' | b'_'))
}

/// Parses `hosts/{host}` in `field`, returning the host id.
pub fn parse_host_name<'a>(field: &str, name: &'a str) -> Result<&'a str, ApiError> {
    if name.is_empty() {
        return Err(ApiError::invalid_name(
            field,
            "is required (expected hosts/{host})",
        ));
    }
    let Some(id) = name.strip_prefix("hosts/") else {
        return Err(ApiError::invalid_name(
            field,
            format!("{name:?} does not match hosts/{{host}}"),
        ));
    };
    if !is_valid_host_id(id) {
        return Err(ApiError::invalid_name(
            field,
            format!(
                "{id:?} in {name:?} is not a valid host id (lower-case letters, digits, `-`, `.`, `_`)"
            ),
        ));
    }
    Ok(id)
}

/// Checks a cordon reason.
pub fn validate_reason(reason: &str) -> Result<(), ApiError> {
    if reason.len() > MAX_REASON {
        return Err(ApiError::invalid_field(
            "reason",
            format!("longer than {MAX_REASON} bytes"),
        ));
    }
    Ok(())
}

/// The record after CordonHost, or `None` when the host is already cordoned (cordoning
/// it again changes nothing, the first reason included).
pub fn cordon(
    record: &HostRecord,
    reason: &str,
    cordoned_by: &str,
    now: Timestamp,
) -> Option<HostRecord> {
    if record.cordoned {
        return None;
    }
    Some(HostRecord {
        cordoned: true,
        cordon_reason: reason.to_string(),
        cordoned_by: cordoned_by.to_string(),
        cordon_time: Some(now),
        update_time: Some(now),
        ..record.clone()
    })
}

/// The record after UncordonHost, or `None` when the host is not cordoned.
pub fn uncordon(record: &HostRecord, now: Timestamp) -> Option<HostRecord> {
    if !record.cordoned {
        return None;
    }
    Some(HostRecord {
        cordoned: false,
        cordon_reason: String::new(),
        cordoned_by: String::new(),
        cordon_time: None,
        update_time: Some(now),
        ..record.clone()
    })
}

/// The API's kind of a runtime.
pub fn runtime_kind(kind: ferry_runtime::RuntimeKind) -> RuntimeKind {
    match kind {
        ferry_runtime::RuntimeKind::Kubernetes => RuntimeKind::Kubernetes,
        ferry_runtime::RuntimeKind::Docker => RuntimeKind::Docker,
    }
}

/// A host as the API shows it: what the runtime reports, merged with Ferry's record
/// (`mod_revision` is the record's, the etag). Allocatable, allocated and usage, the
/// heartbeat time and the instance limit are not reported by the runtimes yet and stay
/// unset.
pub fn host(
    status: &HostStatus,
    runtime: &str,
    kind: ferry_runtime::RuntimeKind,
    record: &HostRecord,
    mod_revision: i64,
) -> Host {
    let (state, condition_status, condition_reason) = match status.state {
        HostState::Ready => (State::Ready, ConditionStatus::True, ""),
        HostState::NotReady => (State::NotReady, ConditionStatus::False, "HOST_NOT_READY"),
        HostState::Unreachable => (
            State::Unreachable,
            ConditionStatus::Unknown,
            "HOST_UNREACHABLE",
        ),
    };
    Host {
        name: HOST_NAME.format(&[&status.name]),
        uid: record.uid.clone(),
        display_name: status.display_name.clone(),
        labels: status
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        create_time: record.create_time,
        update_time: record.update_time,
        etag: if mod_revision > 0 {
            aip::etag(mod_revision)
        } else {
            String::new()
        },
        runtime: runtime.to_string(),
        runtime_kind: runtime_kind(kind) as i32,
        address: status.address.clone(),
        region: status.region.clone(),
        zone: status.zone.clone(),
        state: state as i32,
        cordoned: record.cordoned,
        cordon_reason: record.cordon_reason.clone(),
        cordoned_by: record.cordoned_by.clone(),
        cordon_time: record.cordon_time,
        capacity: (status.cpu_millis > 0 || status.memory_bytes > 0).then(|| ResourceQuantities {
            cpu_millis: i64::try_from(status.cpu_millis).unwrap_or(i64::MAX),
            memory_bytes: i64::try_from(status.memory_bytes).unwrap_or(i64::MAX),
            ephemeral_storage_bytes: 0,
        }),
        allocatable: None,
        allocated: None,
        resource_usage: None,
        instance_count: i32::try_from(status.instance_count).unwrap_or(i32::MAX),
        max_instances: 0,
        last_heartbeat_time: None,
        runtime_version: status.runtime_version.clone(),
        os: status.os.clone(),
        architecture: status.architecture.clone(),
        conditions: vec![Condition {
            r#type: "Ready".into(),
            status: condition_status as i32,
            reason: condition_reason.into(),
            message: status.message.clone(),
            last_transition_time: None,
            observed_generation: 0,
        }],
    }
}

/// One comparison of a ListHosts filter.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    /// `field = value` (or `!=` when `negated`).
    Equals {
        field: Field,
        value: String,
        negated: bool,
    },
    /// `labels:key`: the host has that label.
    HasLabel(String),
}

/// A field a ListHosts filter may compare.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    Runtime,
    RuntimeKind,
    Region,
    Zone,
    State,
    Cordoned,
    Architecture,
    Label(String),
}

/// A parsed ListHosts filter: comparisons that must all hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFilter {
    terms: Vec<Term>,
}

const FILTER_HELP: &str = "use comparisons joined by AND: `runtime`, `runtime_kind` (KUBERNETES, DOCKER), \
`region`, `zone`, `state` (READY, NOT_READY, UNREACHABLE), `cordoned` (true, false), \
`architecture` or `labels.KEY` with `=` or `!=`, or `labels:KEY`; \
e.g. `region = \"eu-west-1\" AND state != READY`";

fn invalid_filter(filter: &str, problem: impl std::fmt::Display) -> ApiError {
    let problem = problem.to_string();
    ApiError::new(
        Code::InvalidArgument,
        ErrorReason::InvalidFilter,
        format!("invalid filter {filter:?}: {problem}; {FILTER_HELP}"),
    )
    .with_field_violation("filter", problem)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    NotEquals,
    Has,
}

fn tokenize(filter: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                tokens.push(Token::Equals);
            }
            ':' => {
                chars.next();
                tokens.push(Token::Has);
            }
            '!' => {
                chars.next();
                if chars.next() != Some('=') {
                    return Err("`!` must be followed by `=`".into());
                }
                tokens.push(Token::NotEquals);
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a quoted value is not closed".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped) => value.push(escaped),
                            None => return Err("a quoted value is not closed".into()),
                        },
                        Some(other) => value.push(other),
                    }
                }
                tokens.push(Token::Quoted(value));
            }
            '(' | ')' | '<' | '>' => {
                return Err(format!("`{c}` is not supported"));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace()
                        || matches!(c, '=' | '!' | ':' | '"' | '(' | ')' | '<' | '>')
                    {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

fn field(name: &str) -> Result<Field, String> {
    Ok(match name {
        "runtime" => Field::Runtime,
        "runtime_kind" => Field::RuntimeKind,
        "region" => Field::Region,
        "zone" => Field::Zone,
        "state" => Field::State,
        "cordoned" => Field::Cordoned,
        "architecture" => Field::Architecture,
        other => match other.strip_prefix("labels.") {
            Some(key) if !key.is_empty() => Field::Label(key.to_string()),
            _ => return Err(format!("unknown field `{other}`")),
        },
    })
}

/// Normalises and checks the value of an enum or boolean field.
fn value(field: &Field, raw: &str) -> Result<String, String> {
    match field {
        Field::State => {
            let name = format!("STATE_{}", raw.trim_start_matches("STATE_"));
            match State::from_str_name(&name) {
                Some(state) if state != State::Unspecified => Ok(name),
                _ => Err(format!(
                    "`state` is READY, NOT_READY or UNREACHABLE, not {raw:?}"
                )),
            }
        }
        Field::RuntimeKind => {
            let name = format!("RUNTIME_KIND_{}", raw.trim_start_matches("RUNTIME_KIND_"));
            match RuntimeKind::from_str_name(&name) {
                Some(kind) if kind != RuntimeKind::Unspecified => Ok(name),
                _ => Err(format!(
                    "`runtime_kind` is KUBERNETES or DOCKER, not {raw:?}"
                )),
            }
        }
        Field::Cordoned => match raw {
            "true" | "false" => Ok(raw.to_string()),
            _ => Err(format!("`cordoned` is true or false, not {raw:?}")),
        },
        _ => Ok(raw.to_string()),
    }
}

/// Parses a ListHosts filter (a subset of AIP-160: comparisons joined by `AND`). Bad
/// filters are INVALID_ARGUMENT naming `filter`.
pub fn parse_filter(filter: &str) -> Result<HostFilter, ApiError> {
    let tokens = tokenize(filter).map_err(|problem| invalid_filter(filter, problem))?;
    let mut terms = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while tokens.peek().is_some() {
        if !terms.is_empty() {
            match tokens.next() {
                Some(Token::Word(word)) if word == "AND" => {}
                Some(Token::Word(word)) if word == "OR" || word == "NOT" => {
                    return Err(invalid_filter(filter, format!("`{word}` is not supported")));
                }
                _ => {
                    return Err(invalid_filter(filter, "comparisons must be joined by AND"));
                }
            }
        }
        let name = match tokens.next() {
            Some(Token::Word(name)) if name != "AND" => name,
            _ => return Err(invalid_filter(filter, "a comparison is missing")),
        };
        let op = tokens.next();
        let raw = match tokens.next() {
            Some(Token::Word(value) | Token::Quoted(value)) => value,
            _ => {
                return Err(invalid_filter(
                    filter,
                    format!("`{name}` must be compared with a value"),
                ));
            }
        };
        let term = match op {
            Some(Token::Has) if name == "labels" => Term::HasLabel(raw),
            Some(Token::Equals | Token::NotEquals) => {
                let field = field(&name).map_err(|problem| invalid_filter(filter, problem))?;
                let value =
                    value(&field, &raw).map_err(|problem| invalid_filter(filter, problem))?;
                Term::Equals {
                    field,
                    value,
                    negated: op == Some(Token::NotEquals),
                }
            }
            _ => {
                return Err(invalid_filter(
                    filter,
                    format!("`{name}` must be followed by `=` or `!=` (or `labels:KEY`)"),
                ));
            }
        };
        terms.push(term);
    }
    Ok(HostFilter { terms })
}

impl HostFilter {
    /// Whether `host` passes every comparison.
    pub fn matches(&self, host: &Host) -> bool {
        self.terms.iter().all(|term| match term {
            Term::HasLabel(key) => host.labels.contains_key(key),
            Term::Equals {
                field,
                value,
                negated,
            } => {
                let actual: Option<String> = match field {
                    Field::Runtime => Some(host.runtime.clone()),
                    Field::RuntimeKind => Some(host.runtime_kind().as_str_name().to_string()),
                    Field::Region => Some(host.region.clone()),
                    Field::Zone => Some(host.zone.clone()),
                    Field::State => Some(host.state().as_str_name().to_string()),
                    Field::Cordoned => Some(host.cordoned.to_string()),
                    Field::Architecture => Some(host.architecture.clone()),
                    Field::Label(key) => host.labels.get(key).cloned(),
                };
                (actual.as_deref() == Some(value.as_str())) != *negated
            }
        })
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

    fn status(name: &str, zone: &str, state: HostState) -> HostStatus {
        HostStatus {
            name: name.into(),
            display_name: name.into(),
            region: "r1".into(),
            zone: zone.into(),
            state,
            labels: [("team".to_string(), "infra".to_string())].into(),
            cpu_millis: 2000,
            memory_bytes: 4 << 30,
            instance_count: 3,
            architecture: "amd64".into(),
            ..Default::default()
        }
    }

    fn shown(name: &str, zone: &str, state: HostState, cordoned: bool) -> Host {
        let mut record = HostRecord::new("u".into(), now());
        record.cordoned = cordoned;
        host(
            &status(name, zone, state),
            "local",
            ferry_runtime::RuntimeKind::Docker,
            &record,
            7,
        )
    }

    #[test]
    fn host_names_parse_or_name_the_field() {
        assert_eq!(parse_host_name("name", "hosts/node-1").unwrap(), "node-1");
        assert_eq!(
            parse_host_name("name", "hosts/ip-10-0-0-1.ec2.internal").unwrap(),
            "ip-10-0-0-1.ec2.internal"
        );
        for bad in [
            "",
            "node-1",
            "hosts/",
            "hosts/Node",
            "hosts/a/b",
            "hosts/-a",
            "nodes/a",
        ] {
            let error = parse_host_name("name", bad).unwrap_err();
            assert_eq!(error.code, Code::InvalidArgument, "{bad}");
            assert_eq!(error.field_violations[0].0, "name", "{bad}");
        }
        assert_eq!(HOST_NAME.format(&["a.b"]), "hosts/a.b");
    }

    #[test]
    fn the_host_merges_the_runtime_and_the_record() {
        let host = shown("host-1", "z1", HostState::NotReady, true);
        assert_eq!(host.name, "hosts/host-1");
        assert_eq!(host.uid, "u");
        assert_eq!(host.etag, aip::etag(7));
        assert_eq!(host.zone, "z1");
        assert_eq!(host.state(), State::NotReady);
        assert_eq!(host.runtime_kind(), RuntimeKind::Docker);
        assert!(host.cordoned);
        assert_eq!(host.instance_count, 3);
        assert_eq!(host.capacity.unwrap().cpu_millis, 2000);
        assert_eq!(host.labels["team"], "infra");
        assert_eq!(host.conditions[0].status(), ConditionStatus::False);
    }

    #[test]
    fn cordon_and_uncordon_are_idempotent() {
        let record = HostRecord::new("u".into(), now());
        let later = Timestamp {
            seconds: now().seconds + 60,
            nanos: 0,
        };
        let cordoned = cordon(&record, "disk failing", "", later).unwrap();
        assert!(cordoned.cordoned);
        assert_eq!(cordoned.cordon_reason, "disk failing");
        assert_eq!(cordoned.cordon_time, Some(later));
        assert_eq!(cordoned.update_time, Some(later));
        assert_eq!(cordoned.create_time, record.create_time);
        assert_eq!(cordoned.uid, "u");
        assert_eq!(cordon(&cordoned, "other", "", later), None);
        let uncordoned = uncordon(&cordoned, later).unwrap();
        assert!(!uncordoned.cordoned);
        assert_eq!(uncordoned.cordon_reason, "");
        assert_eq!(uncordoned.cordon_time, None);
        assert_eq!(uncordon(&uncordoned, later), None);
        assert!(validate_reason(&"x".repeat(MAX_REASON)).is_ok());
        assert_eq!(
            validate_reason(&"x".repeat(MAX_REASON + 1))
                .unwrap_err()
                .field_violations[0]
                .0,
            "reason"
        );
    }

    #[test]
    fn filters_select_hosts() {
        let a = shown("a", "z1", HostState::Ready, false);
        let b = shown("b", "z2", HostState::NotReady, true);
        let pick = |filter: &str| -> Vec<String> {
            let filter = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e:?}"));
            [&a, &b]
                .into_iter()
                .filter(|h| filter.matches(h))
                .map(|h| h.name.clone())
                .collect()
        };
        assert_eq!(pick(""), ["hosts/a", "hosts/b"]);
        assert_eq!(pick("zone = z1"), ["hosts/a"]);
        assert_eq!(pick("zone = \"z2\""), ["hosts/b"]);
        assert_eq!(pick("state = READY"), ["hosts/a"]);
        assert_eq!(pick("state != STATE_READY"), ["hosts/b"]);
        assert_eq!(pick("cordoned = true"), ["hosts/b"]);
        assert_eq!(pick("region = r1 AND cordoned = false"), ["hosts/a"]);
        assert_eq!(
            pick("runtime = local AND runtime_kind = DOCKER"),
            ["hosts/a", "hosts/b"]
        );
        assert_eq!(pick("runtime = other"), Vec::<String>::new());
        assert_eq!(pick("labels.team = infra AND zone=z2"), ["hosts/b"]);
        assert_eq!(pick("labels:team"), ["hosts/a", "hosts/b"]);
        assert_eq!(pick("labels:missing"), Vec::<String>::new());
        assert_eq!(pick("labels.missing != x"), ["hosts/a", "hosts/b"]);
        assert_eq!(pick("architecture = amd64"), ["hosts/a", "hosts/b"]);
    }

    #[test]
    fn bad_filters_name_the_field() {
        for bad in [
            "zone",
            "zone =",
            "colour = red",
            "state = BROKEN",
            "cordoned = yes",
            "runtime_kind = PODMAN",
            "zone = a OR zone = b",
            "zone = a zone = b",
            "(zone = a)",
            "zone = \"a",
            "zone ! a",
            "zone : a",
            "AND",
        ] {
            let error = parse_filter(bad).unwrap_err();
            assert_eq!(error.code, Code::InvalidArgument, "{bad}");
            assert_eq!(error.field_violations[0].0, "filter", "{bad}");
        }
    }
}
