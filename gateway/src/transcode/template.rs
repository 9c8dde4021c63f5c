//! `google.api.http` path templates: parsing (`/v1/{name=namespaces/*}:verb`) and matching a
//! request path against one, binding its variables.
//!
//! Grammar (from `google/api/http.proto`): `Template = "/" Segments [ Verb ]`, segments are
//! literals, `*` (one segment), `**` (the rest) or `{field.path[=Segments]}` (a bare
//! variable is `{field=*}`).

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: any one segment.
    Single,
    /// `**`: any number of segments (the rest of the path).
    Rest,
    /// `{field.path=...}`: the segments it spans are bound to the field.
    Variable {
        field: Vec<String>,
        segments: Vec<Segment>,
    },
}

/// A parsed path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
    verb: Option<String>,
}

/// A variable bound by a match: the field path and the decoded value.
pub type Binding = (Vec<String>, String);

impl Template {
    /// Parses `text`; `None` when it is not a valid template.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix('/')?;
        // The verb follows the last ':' that is outside braces.
        let (body, verb) = split_verb(rest);
        let segments = parse_segments(body, true)?;
        if segments.is_empty() {
            return None;
        }
        Some(Self {
            segments,
            verb: verb.map(str::to_string),
        })
    }

    /// Matches the (still percent-encoded) `path`; the bindings in template order.
    pub fn matches(&self, path: &str) -> Option<Vec<Binding>> {
        let rest = path.strip_prefix('/')?;
        let (body, verb) = match &self.verb {
            Some(verb) => {
                let body = rest.strip_suffix(verb.as_str())?.strip_suffix(':')?;
                (body, Some(verb))
            }
            None => (rest, None),
        };
        let _ = verb;
        let parts: Vec<&str> = body.split('/').collect();
        let mut bindings = Vec::new();
        let used = match_segments(&self.segments, &parts, &mut bindings)?;
        (used == parts.len()).then_some(bindings)
    }
}

fn split_verb(text: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    let mut colon = None;
    for (index, ch) in text.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => colon = Some(index),
            _ => {}
        }
    }
    match colon {
        Some(index) => (&text[..index], Some(&text[index + 1..])),
        None => (text, None),
    }
}

fn parse_segments(text: &str, variables_allowed: bool) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('{') {
            if !variables_allowed {
                return None;
            }
            let close = inner.find('}')?;
            let spec = &inner[..close];
            rest = &inner[close + 1..];
            let (field, pattern) = match spec.split_once('=') {
                Some((field, pattern)) => (field, pattern),
                None => (spec, "*"),
            };
            let field: Vec<String> = field.split('.').map(str::to_string).collect();
            if field.iter().any(|part| part.is_empty()) {
                return None;
            }
            segments.push(Segment::Variable {
                field,
                segments: parse_segments(pattern, false)?,
            });
        } else {
            let end = rest.find('/').unwrap_or(rest.len());
            let part = &rest[..end];
            rest = &rest[end..];
            segments.push(match part {
                "*" => Segment::Single,
                "**" => Segment::Rest,
                "" => return None,
                literal if literal.contains(['{', '}']) => return None,
                literal => Segment::Literal(literal.to_string()),
            });
        }
        if let Some(next) = rest.strip_prefix('/') {
            if next.is_empty() {
                return None;
            }
            rest = next;
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(segments)
}

/// Matches `segments` at the start of `parts`; the number of parts used.
fn match_segments(segments: &[Segment], parts: &[&str], out: &mut Vec<Binding>) -> Option<usize> {
    let mut used = 0;
    for segment in segments {
        match segment {
            Segment::Literal(literal) => {
                if parts.get(used)? != literal {
                    return None;
                }
                used += 1;
            }
            Segment::Single => {
                if parts.get(used)?.is_empty() {
                    return None;
                }
                used += 1;
            }
            Segment::Rest => {
                // `**` is last in a template: it takes every remaining part.
                used = parts.len();
            }
            Segment::Variable { field, segments } => {
                let start = used;
                used += match_segments(segments, &parts[start..], out)?;
                let raw = parts[start..used].join("/");
                // A single-segment variable decodes '/' too; multi-segment ones keep "%2F".
                let multi = segments.len() > 1 || segments.contains(&Segment::Rest);
                out.push((field.clone(), percent_decode(&raw, multi)?));
            }
        }
    }
    Some(used)
}

/// Decodes `%XX` escapes; `keep_slash` leaves `%2F` as it is. `None` on bad escapes or
/// bytes that are not UTF-8.
pub fn percent_decode(text: &str, keep_slash: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            let value = u8::from_str_radix(hex, 16).ok()?;
            if keep_slash && value == b'/' {
                out.extend_from_slice(&bytes[index..index + 3]);
            } else {
                out.push(value);
            }
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        Template::parse(template)
            .unwrap()
            .matches(path)
            .map(|bindings| {
                bindings
                    .into_iter()
                    .map(|(field, value)| (field.join("."), value))
                    .collect()
            })
    }

    #[test]
    fn literal_templates_match_only_themselves() {
        assert_eq!(bound("/v1/namespaces", "/v1/namespaces"), Some(vec![]));
        assert_eq!(bound("/v1/namespaces", "/v1/namespaces/x"), None);
        assert_eq!(bound("/v1/namespaces", "/v1/namespace"), None);
        assert_eq!(bound("/v1/namespaces", "/v1"), None);
    }

    #[test]
    fn variables_bind_the_segments_they_span() {
        assert_eq!(
            bound("/v1/{name=namespaces/*}", "/v1/namespaces/dev"),
            Some(vec![("name".into(), "namespaces/dev".into())])
        );
        assert_eq!(bound("/v1/{name=namespaces/*}", "/v1/namespaces/"), None);
        assert_eq!(bound("/v1/{name=namespaces/*}", "/v1/other/dev"), None);
        assert_eq!(
            bound(
                "/v1/{deployment.name=namespaces/*/deployments/*}",
                "/v1/namespaces/a/deployments/b"
            ),
            Some(vec![(
                "deployment.name".into(),
                "namespaces/a/deployments/b".into()
            )])
        );
        assert_eq!(
            bound(
                "/v1/{parent=namespaces/*}/deployments",
                "/v1/namespaces/a/deployments"
            ),
            Some(vec![("parent".into(), "namespaces/a".into())])
        );
        assert_eq!(
            bound("/v1/things/{id}", "/v1/things/a%20b"),
            Some(vec![("id".into(), "a b".into())])
        );
        assert_eq!(
            bound("/v1/{path=files/**}", "/v1/files/a/b/c"),
            Some(vec![("path".into(), "files/a/b/c".into())])
        );
    }

    #[test]
    fn verbs_are_matched_after_the_last_colon() {
        let template = "/v1/{name=namespaces/*/deployments/*}:rollback";
        assert_eq!(
            bound(template, "/v1/namespaces/a/deployments/b:rollback"),
            Some(vec![("name".into(), "namespaces/a/deployments/b".into())])
        );
        assert_eq!(bound(template, "/v1/namespaces/a/deployments/b"), None);
        assert_eq!(
            bound(template, "/v1/namespaces/a/deployments/b:pause"),
            None
        );
    }

    #[test]
    fn bad_templates_and_escapes_are_refused() {
        for bad in [
            "",
            "v1/x",
            "/v1//x",
            "/v1/{}",
            "/v1/{a=b/{c}}",
            "/v1/x/",
            "/v1/{a",
        ] {
            assert_eq!(Template::parse(bad), None, "{bad}");
        }
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(percent_decode("%2", false), None);
        assert_eq!(percent_decode("a%2Fb", true).as_deref(), Some("a%2Fb"));
        assert_eq!(percent_decode("a%2Fb", false).as_deref(), Some("a/b"));
    }
}
