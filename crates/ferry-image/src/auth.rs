//! Registry credentials (never printed) and the `WWW-Authenticate` challenges that the
//! distribution API answers 401 with: `Basic realm=...` or `Bearer realm=...,service=...,
//! scope=...` (the token flow).

use std::collections::BTreeMap;
use std::fmt;

/// A secret string: its `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to authenticate to one registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials (anonymous tokens only).
    #[default]
    Anonymous,
    /// A user name and password (or access token), sent as HTTP basic auth to a `Basic`
    /// challenge or to the token server of a `Bearer` challenge.
    Basic {
        /// The user name.
        username: String,
        /// The password or access token.
        password: Secret,
    },
}

impl Credentials {
    /// Basic credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password: Secret::new(password),
        }
    }
}

/// The scheme of a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP basic authentication.
    Basic,
    /// A bearer token from the token server named by `realm`.
    Bearer,
    /// Any other scheme (not supported).
    Other(String),
}

/// One parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme.
    pub scheme: Scheme,
    /// Its parameters, keys lowercased (`realm`, `service`, `scope`, `error`).
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// A parameter's value.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }
}

/// Parses a `WWW-Authenticate` header value into its challenges (RFC 7235: a scheme
/// then comma-separated `key=value` or `key="quoted \" value"` parameters; several
/// challenges may share one header). Returns `None` for a value that does not parse.
pub fn parse_www_authenticate(header: &str) -> Option<Vec<Challenge>> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        // A token followed by '=' is a parameter of the current challenge; a token
        // followed by a space or the end is a new scheme.
        let token_end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let token = &rest[..token_end];
        let after = rest[token_end..].trim_start();
        if token.is_empty() {
            // A stray comma between parameters or challenges.
            rest = rest.strip_prefix(',')?.trim_start();
            continue;
        }
        if let Some(value_part) = after.strip_prefix('=') {
            let challenge = challenges.last_mut()?;
            let value_part = value_part.trim_start();
            let (value, remaining) = if let Some(quoted) = value_part.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.push(chars.next()?.1),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end?..])
            } else {
                let end = value_part.find(',').unwrap_or(value_part.len());
                (value_part[..end].trim().to_string(), &value_part[end..])
            };
            challenge.params.insert(token.to_ascii_lowercase(), value);
            rest = remaining.trim_start();
            if let Some(stripped) = rest.strip_prefix(',') {
                rest = stripped.trim_start();
            } else if !rest.is_empty() {
                return None;
            }
        } else {
            let scheme = match token.to_ascii_lowercase().as_str() {
                "basic" => Scheme::Basic,
                "bearer" => Scheme::Bearer,
                other => Scheme::Other(other.to_string()),
            };
            challenges.push(Challenge {
                scheme,
                params: BTreeMap::new(),
            });
            rest = after;
        }
    }
    if challenges.is_empty() {
        None
    } else {
        Some(challenges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_docker_hub_bearer_challenge() {
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#;
        let challenges = parse_www_authenticate(header).unwrap();
        assert_eq!(challenges.len(), 1);
        let c = &challenges[0];
        assert_eq!(c.scheme, Scheme::Bearer);
        assert_eq!(c.param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c.param("service"), Some("registry.docker.io"));
        assert_eq!(
            c.param("scope"),
            Some("repository:samalba/my-app:pull,push")
        );
    }

    #[test]
    fn parses_basic_errors_escapes_tokens_and_several_challenges() {
        let challenges = parse_www_authenticate(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(challenges[0].scheme, Scheme::Basic);
        assert_eq!(challenges[0].param("realm"), Some("Registry Realm"));

        let header = r#"bearer Realm="http://127.0.0.1:1/t",error="insufficient_scope",x=plain , scope="a \"b\"", Basic realm=r"#;
        let challenges = parse_www_authenticate(header).unwrap();
        assert_eq!(challenges.len(), 2);
        assert_eq!(challenges[0].scheme, Scheme::Bearer);
        assert_eq!(challenges[0].param("realm"), Some("http://127.0.0.1:1/t"));
        assert_eq!(challenges[0].param("error"), Some("insufficient_scope"));
        assert_eq!(challenges[0].param("x"), Some("plain"));
        assert_eq!(challenges[0].param("scope"), Some(r#"a "b""#));
        assert_eq!(challenges[1].scheme, Scheme::Basic);
        assert_eq!(challenges[1].param("realm"), Some("r"));

        let other = parse_www_authenticate("Negotiate").unwrap();
        assert_eq!(other[0].scheme, Scheme::Other("negotiate".into()));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "   ",
            r#"realm="x""#,
            r#"Bearer realm="unterminated"#,
            r#"Bearer realm="a" junk"#,
        ] {
            assert_eq!(parse_www_authenticate(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let credentials = Credentials::basic("ferry", "hunter2");
        let printed = format!("{credentials:?} {:?}", Secret::new("hunter2"));
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("ferry"));
    }
}
