//! The API conventions (Google AIPs) every Ferry service applies the same way: resource
//! names and ids (AIP-122), page sizes and opaque page tokens (AIP-158), etags (AIP-154),
//! request ids (AIP-155) and update masks (AIP-134).
//!
//! Everything here is pure: it validates input and produces [`ApiError`]s naming the
//! offending field, before any state is read or written.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_proto::ferry::common::v1::ErrorReason;
use prost::Message as _;
use sha2::{Digest, Sha256};
use tonic::Code;

use crate::error::ApiError;

/// Default page size of List methods.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page size; larger requests are coerced down.
pub const MAX_PAGE_SIZE: usize = 500;

/// True when `id` is a DNS label: `^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`.
pub fn is_valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[bytes.len() - 1] != b'-'
}

/// Checks a user-chosen id in `field`.
pub fn validate_id(field: &str, id: &str) -> Result<(), ApiError> {
    if is_valid_id(id) {
        Ok(())
    } else if id.is_empty() {
        Err(ApiError::invalid_field(field, "is required"))
    } else {
        Err(ApiError::invalid_field(
            field,
            format!(
                "{id:?} is not a valid id: use 1 to 63 lower-case letters, digits or `-`, starting with a letter"
            ),
        ))
    }
}

/// A resource name pattern such as `namespaces/{namespace}/deployments/{deployment}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamePattern(pub &'static str);

impl NamePattern {
    /// Parses `name` against the pattern, returning the ids in order, or an
    /// INVALID_ARGUMENT naming `field`.
    pub fn parse<'a>(&self, field: &str, name: &'a str) -> Result<Vec<&'a str>, ApiError> {
        if name.is_empty() {
            return Err(ApiError::invalid_name(
                field,
                format!("is required (expected {})", self.0),
            ));
        }
        let pattern_segments: Vec<&str> = self.0.split('/').collect();
        let name_segments: Vec<&str> = name.split('/').collect();
        let mismatch =
            || ApiError::invalid_name(field, format!("{name:?} does not match {}", self.0));
        if pattern_segments.len() != name_segments.len() {
            return Err(mismatch());
        }
        let mut ids = Vec::new();
        for (pattern_segment, name_segment) in pattern_segments.iter().zip(&name_segments) {
            if pattern_segment.starts_with('{') {
                if !is_valid_id(name_segment) {
                    return Err(ApiError::invalid_name(
                        field,
                        format!(
                            "{name_segment:?} in {name:?} is not a valid id (lower-case DNS label)"
                        ),
                    ));
                }
                ids.push(*name_segment);
            } else if pattern_segment != name_segment {
                return Err(mismatch());
            }
        }
        Ok(ids)
    }

    /// Builds a name from ids (which must already be valid).
    pub fn format(&self, ids: &[&str]) -> String {
        let mut ids = ids.iter();
        self.0
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    ids.next().copied().unwrap_or("")
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Normalises a requested page size: 0 → default, above the maximum → maximum,
/// negative → INVALID_ARGUMENT.
pub fn page_size(requested: i32) -> Result<usize, ApiError> {
    match requested {
        n if n < 0 => Err(ApiError::invalid_field("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok((n as usize).min(MAX_PAGE_SIZE)),
    }
}

/// What a page token remembers. It is opaque to clients (base64url of this message).
#[derive(Clone, PartialEq, prost::Message)]
struct PageTokenData {
    /// The last name returned.
    #[prost(string, tag = "1")]
    last: String,
    /// The store revision the first page was read at (a consistent snapshot).
    #[prost(int64, tag = "2")]
    revision: i64,
    /// Digest of the request's other parameters; they must not change while paging.
    #[prost(bytes = "vec", tag = "3")]
    fingerprint: Vec<u8>,
}

/// A decoded page token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageToken {
    /// The last name of the previous page.
    pub last: String,
    /// The revision the listing reads at.
    pub revision: i64,
}

/// Digest of the request parameters that must stay the same across pages
/// (parent, filter, order_by…).
pub fn request_fingerprint(parts: &[&str]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize()[..12].to_vec()
}

/// Encodes the token for the page after `last`.
pub fn encode_page_token(last: &str, revision: i64, fingerprint: &[u8]) -> String {
    let data = PageTokenData {
        last: last.to_string(),
        revision,
        fingerprint: fingerprint.to_vec(),
    };
    URL_SAFE_NO_PAD.encode(data.encode_to_vec())
}

/// Decodes `page_token` (empty → first page). A malformed token, or one issued for a
/// request with other parameters, is INVALID_ARGUMENT on `page_token`.
pub fn decode_page_token(token: &str, fingerprint: &[u8]) -> Result<Option<PageToken>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = |description: &str| {
        ApiError::new(
            Code::InvalidArgument,
            ErrorReason::InvalidPageToken,
            format!("invalid page_token: {description}"),
        )
        .with_field_violation("page_token", description)
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid("not a token this API issued"))?;
    let data = PageTokenData::decode(bytes.as_slice())
        .map_err(|_| invalid("not a token this API issued"))?;
    if data.fingerprint != fingerprint {
        return Err(invalid(
            "the request's other parameters changed while paging: start again without a token",
        ));
    }
    if data.last.is_empty() || data.revision <= 0 {
        return Err(invalid("not a token this API issued"));
    }
    Ok(Some(PageToken {
        last: data.last,
        revision: data.revision,
    }))
}

/// The etag of a stored resource: its store `mod_revision`, quoted (RFC 7232).
pub fn etag(mod_revision: i64) -> String {
    format!("\"{mod_revision:x}\"")
}

/// Parses an etag sent by a client in `field`. Empty → no precondition.
/// Malformed → INVALID_ARGUMENT (reason INVALID_ETAG).
pub fn parse_etag(field: &str, value: &str) -> Result<Option<i64>, ApiError> {
    if value.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        ApiError::new(
            Code::InvalidArgument,
            ErrorReason::InvalidEtag,
            format!("invalid {field}: {value:?} is not an etag this API issued"),
        )
        .with_field_violation(field, "not an etag this API issued")
    };
    let inner = value.strip_prefix("W/").unwrap_or(value);
    let hex = inner
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or_else(invalid)?;
    let revision = i64::from_str_radix(hex, 16).map_err(|_| invalid())?;
    if revision <= 0 {
        return Err(invalid());
    }
    Ok(Some(revision))
}

/// Checks an etag precondition: `Ok` when none was given or it matches `current`,
/// ABORTED (ETAG_MISMATCH) otherwise.
pub fn check_etag(
    field: &str,
    value: &str,
    current_mod_revision: i64,
    resource: &str,
) -> Result<(), ApiError> {
    match parse_etag(field, value)? {
        Some(expected) if expected != current_mod_revision => {
            Err(ApiError::etag_mismatch(resource))
        }
        _ => Ok(()),
    }
}

/// Checks an optional `request_id`: empty, or a UUID (AIP-155).
pub fn validate_request_id(request_id: &str) -> Result<(), ApiError> {
    if request_id.is_empty() || uuid::Uuid::try_parse(request_id).is_ok() {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::InvalidArgument,
            ErrorReason::InvalidRequestId,
            "invalid request_id: must be a UUID such as 0b0c1f6e-8a3e-4c39-9d0e-5b7f0f3d2a11",
        )
        .with_field_violation("request_id", "must be a UUID"))
    }
}

/// Checks an update mask's paths against the fields that may change.
/// An empty mask is allowed (AIP-134: "the fields that are set").
pub fn validate_update_mask(
    mask: Option<&prost_types::FieldMask>,
    updatable: &[&str],
) -> Result<Vec<String>, ApiError> {
    let Some(mask) = mask else {
        return Ok(Vec::new());
    };
    for path in &mask.paths {
        if path != "*" && !updatable.contains(&path.as_str()) {
            return Err(ApiError::new(
                Code::InvalidArgument,
                ErrorReason::InvalidUpdateMask,
                format!(
                    "invalid update_mask: {path:?} cannot be updated (updatable: {})",
                    updatable.join(", ")
                ),
            )
            .with_field_violation("update_mask", format!("{path:?} cannot be updated")));
        }
    }
    Ok(mask.paths.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEPLOYMENT: NamePattern = NamePattern("namespaces/{namespace}/deployments/{deployment}");

    #[test]
    fn names_parse_or_name_the_field() {
        assert_eq!(
            DEPLOYMENT
                .parse("name", "namespaces/dev/deployments/web")
                .unwrap(),
            vec!["dev", "web"]
        );
        for bad in [
            "",
            "namespaces/dev",
            "namespaces/Dev/deployments/web",
            "namespaces/dev/deploymentz/web",
            "namespaces/dev/deployments/web/",
            "namespaces/-x/deployments/web",
        ] {
            let error = DEPLOYMENT.parse("name", bad).unwrap_err();
            assert_eq!(error.code, Code::InvalidArgument, "{bad}");
            assert_eq!(error.field_violations[0].0, "name");
        }
        assert_eq!(
            DEPLOYMENT.format(&["dev", "web"]),
            "namespaces/dev/deployments/web"
        );
    }

    #[test]
    fn page_tokens_round_trip_and_refuse_tampering() {
        let fingerprint = request_fingerprint(&["namespaces/dev", ""]);
        let token = encode_page_token("namespaces/dev/deployments/web", 42, &fingerprint);
        let decoded = decode_page_token(&token, &fingerprint).unwrap().unwrap();
        assert_eq!(
            decoded,
            PageToken {
                last: "namespaces/dev/deployments/web".into(),
                revision: 42
            }
        );
        let other = request_fingerprint(&["namespaces/prod", ""]);
        assert_eq!(
            decode_page_token(&token, &other).unwrap_err().reason,
            ErrorReason::InvalidPageToken
        );
        assert_eq!(
            decode_page_token("!!!", &fingerprint)
                .unwrap_err()
                .field_violations[0]
                .0,
            "page_token"
        );
        assert_eq!(decode_page_token("", &fingerprint).unwrap(), None);
    }

    #[test]
    fn etags_parse_and_compare() {
        assert_eq!(parse_etag("etag", &etag(255)).unwrap(), Some(255));
        assert_eq!(parse_etag("etag", "W/\"ff\"").unwrap(), Some(255));
        assert_eq!(parse_etag("etag", "").unwrap(), None);
        assert_eq!(
            parse_etag("etag", "ff").unwrap_err().reason,
            ErrorReason::InvalidEtag
        );
        assert_eq!(
            check_etag("etag", &etag(3), 4, "namespaces/dev")
                .unwrap_err()
                .code,
            Code::Aborted
        );
        assert!(check_etag("etag", &etag(4), 4, "namespaces/dev").is_ok());
    }

    #[test]
    fn page_sizes_are_coerced() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(10_000).unwrap(), MAX_PAGE_SIZE);
        assert_eq!(
            page_size(-1).unwrap_err().field_violations[0].0,
            "page_size"
        );
    }

    #[test]
    fn request_ids_and_masks() {
        assert!(validate_request_id("").is_ok());
        assert!(validate_request_id("0b0c1f6e-8a3e-4c39-9d0e-5b7f0f3d2a11").is_ok());
        assert_eq!(
            validate_request_id("abc").unwrap_err().reason,
            ErrorReason::InvalidRequestId
        );
        let mask = prost_types::FieldMask {
            paths: vec!["labels".into(), "uid".into()],
        };
        assert_eq!(
            validate_update_mask(Some(&mask), &["labels"])
                .unwrap_err()
                .reason,
            ErrorReason::InvalidUpdateMask
        );
    }

    proptest! {
        #[test]
        fn valid_ids_match_the_dns_label_grammar(id in "[a-z]([a-z0-9-]{0,61}[a-z0-9])?") {
            prop_assert!(is_valid_id(&id));
        }

        #[test]
        fn ids_with_foreign_characters_are_refused(prefix in "[a-z]{0,5}", bad in "[A-Z_./ ]", suffix in "[a-z]{0,5}") {
            let id = format!("{prefix}{bad}{suffix}");
            prop_assert!(!is_valid_id(&id));
        }

        #[test]
        fn etags_round_trip(revision in 1i64..i64::MAX) {
            prop_assert_eq!(parse_etag("etag", &etag(revision)).unwrap(), Some(revision));
        }
    }
}
