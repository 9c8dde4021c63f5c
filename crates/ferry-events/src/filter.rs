//! A small AIP-160 filter language shared by the List and Watch methods.
//!
//! Supported: terms joined by `AND`; each term is `field OP value` with OP one of
//! `=`, `!=`, `<`, `<=`, `>`, `>=` and `:` (has: a name prefix for resource names, a key
//! for maps), values bare or double-quoted. Map fields are written `labels.team = "x"`
//! or `labels:team`. `OR`, `NOT` and parentheses are refused with a clear error. Every
//! field is checked against the method's [`Schema`] before anything is read.

use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::ErrorReason;
use tonic::Code;

/// The type of a filterable field.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A string; `:` means "is this name or under it".
    Text,
    /// An enum: the parser maps a value name (with or without the type prefix) to its
    /// number; ordering compares numbers.
    Enum(fn(&str) -> Option<i32>),
    /// `true` or `false`.
    Bool,
    /// An RFC 3339 time.
    Time,
    /// A `map<string, string>`: `field.key = value` or `field:key`.
    Map,
}

/// The fields a method filters on.
#[derive(Clone, Copy)]
pub struct Schema(pub &'static [(&'static str, Kind)]);

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `:`
    Has,
}

/// A value a term compares with, typed by its field.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string.
    Text(String),
    /// An enum number.
    Enum(i32),
    /// A boolean.
    Bool(bool),
    /// Microseconds since the epoch.
    Time(i64),
    /// Several strings (a repeated field): a term holds when it holds for one of them.
    List(Vec<String>),
}

/// One `field OP value` term.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// The field, e.g. `severity` or `labels`.
    pub field: String,
    /// The map key for map fields.
    pub key: Option<String>,
    /// The comparison.
    pub op: Op,
    /// The value (for `labels:team`, the key is in `key` and the value is empty text).
    pub value: Value,
}

/// A parsed filter: every term must hold. Empty matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// The terms.
    pub terms: Vec<Term>,
}

/// What a filtered resource exposes.
pub trait Fields {
    /// The value of `field` (for maps, of `field.key`); `None` when absent.
    fn value(&self, field: &str, key: Option<&str>) -> Option<Value>;
}

fn invalid(filter: &str, why: impl Into<String>) -> ApiError {
    let why = why.into();
    ApiError::new(
        Code::InvalidArgument,
        ErrorReason::InvalidFilter,
        format!("invalid filter {filter:?}: {why}"),
    )
    .with_field_violation("filter", why)
}

/// Splits a filter into tokens, keeping quoted strings whole (quotes included).
fn tokens(filter: &str) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = filter.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                current.push('"');
                loop {
                    match chars.next() {
                        Some('\\') => {
                            if let Some(escaped) = chars.next() {
                                current.push(escaped);
                            }
                        }
                        Some('"') => break,
                        Some(other) => current.push(other),
                        None => return Err(invalid(filter, "unterminated quoted string")),
                    }
                }
                current.push('"');
            }
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            '(' | ')' => return Err(invalid(filter, "parentheses are not supported")),
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

const OPS: &[(&str, Op)] = &[
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("=", Op::Eq),
    ("<", Op::Lt),
    (">", Op::Gt),
    (":", Op::Has),
];

/// Parses `filter` against `schema`; errors are INVALID_ARGUMENT (`INVALID_FILTER`)
/// naming the `filter` field.
pub fn parse(filter: &str, schema: Schema) -> Result<Filter, ApiError> {
    let tokens = tokens(filter)?;
    // Re-join tokens into terms separated by AND; a term may be one token (`a=b`) or
    // several (`a = b`).
    let mut terms_text: Vec<String> = Vec::new();
    let mut current = String::new();
    for token in tokens {
        match token.as_str() {
            "AND" => {
                if current.is_empty() {
                    return Err(invalid(filter, "AND without a term before it"));
                }
                terms_text.push(std::mem::take(&mut current));
            }
            "OR" | "NOT" | "or" | "not" => {
                return Err(invalid(
                    filter,
                    format!("{token} is not supported: join terms with AND"),
                ));
            }
            _ => current.push_str(&token),
        }
    }
    if !current.is_empty() {
        terms_text.push(current);
    } else if !terms_text.is_empty() {
        return Err(invalid(filter, "AND without a term after it"));
    }
    let mut terms = Vec::new();
    for text in terms_text {
        terms.push(parse_term(filter, &text, schema)?);
    }
    Ok(Filter { terms })
}

fn parse_term(filter: &str, text: &str, schema: Schema) -> Result<Term, ApiError> {
    // The operator is the first operator character outside quotes.
    let quote = text.find('"').unwrap_or(text.len());
    let (position, op, op_len) = OPS
        .iter()
        .filter_map(|(symbol, op)| {
            text[..quote]
                .find(symbol)
                .map(|index| (index, *op, symbol.len()))
        })
        .min_by_key(|(index, _, len)| (*index, std::cmp::Reverse(*len)))
        .ok_or_else(|| invalid(filter, format!("{text:?} is not `field OP value`")))?;
    let lhs = &text[..position];
    let raw = &text[position + op_len..];
    let value_text = raw
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(raw)
        .to_string();
    let (field, key) = match lhs.split_once('.') {
        Some((field, key)) => (field, Some(key.to_string())),
        None => (lhs, None),
    };
    // `source.component` style names are whole fields, not map keys.
    let (field, key) = if schema.0.iter().any(|(name, _)| *name == lhs) {
        (lhs, None)
    } else {
        (field, key)
    };
    let Some((_, kind)) = schema.0.iter().find(|(name, _)| *name == field) else {
        let names: Vec<&str> = schema.0.iter().map(|(name, _)| *name).collect();
        return Err(invalid(
            filter,
            format!("unknown field {lhs:?}; filterable: {}", names.join(", ")),
        ));
    };
    let bad_op = |what: &str| invalid(filter, format!("{field} {what}"));
    let value = match kind {
        Kind::Text => {
            if !matches!(op, Op::Eq | Op::Ne | Op::Has) {
                return Err(bad_op("only supports =, != and :"));
            }
            Value::Text(value_text)
        }
        Kind::Enum(parse_enum) => {
            if op == Op::Has {
                return Err(bad_op("does not support :"));
            }
            Value::Enum(parse_enum(&value_text).ok_or_else(|| {
                invalid(filter, format!("{value_text:?} is not a value of {field}"))
            })?)
        }
        Kind::Bool => {
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(bad_op("only supports = and !="));
            }
            match value_text.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(invalid(filter, format!("{field} is true or false"))),
            }
        }
        Kind::Time => {
            if op == Op::Has {
                return Err(bad_op("does not support :"));
            }
            let time: prost_types::Timestamp = value_text.parse().map_err(|_| {
                invalid(
                    filter,
                    format!(
                        "{value_text:?} is not an RFC 3339 time such as \"2025-03-01T00:00:00Z\""
                    ),
                )
            })?;
            Value::Time(crate::layout::micros(Some(&time)))
        }
        Kind::Map => match (&key, op) {
            (Some(_), Op::Eq | Op::Ne) => Value::Text(value_text),
            (None, Op::Has) if !value_text.is_empty() => {
                return Ok(Term {
                    field: field.to_string(),
                    key: Some(value_text),
                    op,
                    value: Value::Text(String::new()),
                });
            }
            _ => {
                return Err(bad_op("is filtered as `field.key = value` or `field:key`"));
            }
        },
    };
    Ok(Term {
        field: field.to_string(),
        key,
        op,
        value,
    })
}

impl Filter {
    /// Whether `item` satisfies every term.
    pub fn matches(&self, item: &dyn Fields) -> bool {
        self.terms.iter().all(|term| term_matches(term, item))
    }
}

fn term_matches(term: &Term, item: &dyn Fields) -> bool {
    let actual = item.value(&term.field, term.key.as_deref());
    if let Some(Value::List(values)) = actual {
        let one = |v: &String| compare(term, Some(Value::Text(v.clone())));
        return match term.op {
            Op::Ne => values.iter().all(one),
            _ => values.iter().any(one),
        };
    }
    compare(term, actual)
}

fn compare(term: &Term, actual: Option<Value>) -> bool {
    if term.op == Op::Has
        && let Value::Text(expected) = &term.value
    {
        return match actual {
            // `labels:team`: the key is present.
            Some(_) if expected.is_empty() => true,
            Some(Value::Text(actual)) => {
                actual == *expected
                    || actual.starts_with(&format!("{}/", expected.trim_end_matches('/')))
            }
            _ => false,
        };
    }
    let Some(actual) = actual else {
        return term.op == Op::Ne;
    };
    let ordering = match (&actual, &term.value) {
        (Value::Text(a), Value::Text(b)) => a.cmp(b),
        (Value::Enum(a), Value::Enum(b)) => a.cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Time(a), Value::Time(b)) => a.cmp(b),
        _ => return false,
    };
    use std::cmp::Ordering::*;
    match term.op {
        Op::Eq => ordering == Equal,
        Op::Ne => ordering != Equal,
        Op::Lt => ordering == Less,
        Op::Le => ordering != Greater,
        Op::Gt => ordering == Greater,
        Op::Ge => ordering != Less,
        Op::Has => false,
    }
}

/// Maps `WARNING` or `TYPE_WARNING` to a number, given the enum's prefix and its
/// `from_str_name`; the UNSPECIFIED value is refused.
pub fn enum_value(text: &str, prefix: &str, from_str_name: fn(&str) -> Option<i32>) -> Option<i32> {
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with(prefix) {
        upper
    } else {
        format!("{prefix}{upper}")
    };
    from_str_name(&name).filter(|value| *value != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Item(HashMap<&'static str, Value>, HashMap<String, String>);

    impl Fields for Item {
        fn value(&self, field: &str, key: Option<&str>) -> Option<Value> {
            if field == "labels" {
                return key
                    .and_then(|k| self.1.get(k))
                    .map(|v| Value::Text(v.clone()));
            }
            self.0.get(field).cloned()
        }
    }

    fn level(text: &str) -> Option<i32> {
        match text.trim_start_matches("LEVEL_") {
            "LOW" => Some(1),
            "HIGH" => Some(2),
            _ => None,
        }
    }

    const SCHEMA: Schema = Schema(&[
        ("name", Kind::Text),
        ("source.component", Kind::Text),
        ("level", Kind::Enum(level)),
        ("done", Kind::Bool),
        ("time", Kind::Time),
        ("labels", Kind::Map),
    ]);

    fn item() -> Item {
        Item(
            HashMap::from([
                ("name", Value::Text("namespaces/dev/deployments/web".into())),
                ("source.component", Value::Text("deploy/rollout".into())),
                ("level", Value::Enum(2)),
                ("done", Value::Bool(false)),
                ("time", Value::Time(1_740_787_200_000_000)),
            ]),
            HashMap::from([("team".to_string(), "pay".to_string())]),
        )
    }

    #[test]
    fn terms_match() {
        for (filter, expected) in [
            ("", true),
            ("level = HIGH", true),
            ("level>=LOW AND done = false", true),
            ("level < HIGH", false),
            ("name:\"namespaces/dev\"", true),
            ("name:\"namespaces/de\"", false),
            ("name = \"namespaces/dev/deployments/web\"", true),
            ("source.component = \"deploy/rollout\"", true),
            ("labels.team = pay AND labels:team", true),
            ("labels.team != pay", false),
            ("labels:owner", false),
            (
                "time >= \"2025-03-01T00:00:00Z\" AND time < \"2025-03-02T00:00:00Z\"",
                true,
            ),
            ("time > \"2025-03-01T00:00:00Z\"", false),
        ] {
            let parsed = parse(filter, SCHEMA).unwrap_or_else(|e| panic!("{filter}: {e}"));
            assert_eq!(parsed.matches(&item()), expected, "{filter}");
        }
    }

    #[test]
    fn bad_filters_name_the_field() {
        for filter in [
            "colour = red",
            "level = MEDIUM",
            "done = maybe",
            "time > yesterday",
            "level = HIGH OR done = true",
            "(level = HIGH)",
            "level = HIGH AND",
            "name > \"a\"",
            "\"open",
            "labels = x",
        ] {
            let error = parse(filter, SCHEMA).unwrap_err();
            assert_eq!(error.reason, ErrorReason::InvalidFilter, "{filter}");
            assert_eq!(error.field_violations[0].0, "filter", "{filter}");
        }
    }
}
