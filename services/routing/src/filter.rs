//! The AIP-160 filter subset the routing lists understand: comparisons `field = value` or
//! `field != value` joined by `AND`. Values may be quoted; enum values match with or
//! without their prefix (`state = ACTIVE` matches `STATE_ACTIVE`).

use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::ErrorReason;
use tonic::Code;

/// One comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The field.
    pub field: String,
    /// True for `!=`.
    pub negated: bool,
    /// The value compared with.
    pub value: String,
}

/// A parsed filter; the empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    conditions: Vec<Condition>,
}

impl Filter {
    /// Parses `filter` over the `fields` a list supports.
    pub fn parse(filter: &str, fields: &[&str]) -> Result<Filter, ApiError> {
        let filter = filter.trim();
        if filter.is_empty() {
            return Ok(Filter::default());
        }
        let invalid = |why: String| {
            ApiError::new(
                Code::InvalidArgument,
                ErrorReason::InvalidFilter,
                format!("invalid filter {filter:?}: {why}"),
            )
            .with_field_violation("filter", why)
        };
        let mut conditions = Vec::new();
        for part in filter.split(" AND ") {
            let (field, negated, value) = if let Some((field, value)) = part.split_once("!=") {
                (field, true, value)
            } else if let Some((field, value)) = part.split_once('=') {
                (field, false, value)
            } else {
                return Err(invalid(format!(
                    "{part:?} is not a comparison: use `field = value` joined by AND"
                )));
            };
            let field = field.trim();
            if !fields.contains(&field) {
                return Err(invalid(format!(
                    "unknown field {field:?} (filterable: {})",
                    fields.join(", ")
                )));
            }
            let value = value.trim().trim_matches('"');
            if value.is_empty() {
                return Err(invalid(format!("no value for {field}")));
            }
            conditions.push(Condition {
                field: field.to_string(),
                negated,
                value: value.to_string(),
            });
        }
        Ok(Filter { conditions })
    }

    /// Whether an item matches; `values` gives an item's values of a field (a repeated
    /// field matches when any value does).
    pub fn matches(&self, values: impl Fn(&str) -> Vec<String>) -> bool {
        self.conditions.iter().all(|condition| {
            let found = values(&condition.field).iter().any(|value| {
                value == &condition.value || value.ends_with(&format!("_{}", condition.value))
            });
            found != condition.negated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_match_and_refuse_unknown_fields() {
        let filter = Filter::parse(
            "state != ACTIVE AND healthy = \"true\"",
            &["state", "healthy"],
        )
        .unwrap();
        let item = |state: &str, healthy: &str| {
            let (state, healthy) = (state.to_string(), healthy.to_string());
            move |field: &str| match field {
                "state" => vec![state.clone()],
                _ => vec![healthy.clone()],
            }
        };
        assert!(filter.matches(item("STATE_DEGRADED", "true")));
        assert!(!filter.matches(item("STATE_ACTIVE", "true")));
        assert!(!filter.matches(item("STATE_DEGRADED", "false")));
        assert!(Filter::parse("", &[]).unwrap().matches(|_| Vec::new()));
        let error = Filter::parse("color = red", &["state"]).unwrap_err();
        assert_eq!(error.field_violations[0].0, "filter");
        assert!(Filter::parse("state", &["state"]).is_err());
    }
}
