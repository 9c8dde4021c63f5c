//! Image references: `[host[:port]/]repo/path[:tag][@sha256:...]`, parsed and validated
//! with the rules of the distribution project's reference grammar.

use std::fmt;
use std::str::FromStr;

use crate::{Digest, ImageError};

/// The registry a reference without a host names.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The tag a reference without tag or digest names.
pub const DEFAULT_TAG: &str = "latest";

/// A parsed image reference.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// A reference from its parts (validated like a parsed one).
    pub fn new(registry: &str, repository: &str, tag: Option<&str>) -> Result<Self, ImageError> {
        let text = match tag {
            Some(tag) => format!("{registry}/{repository}:{tag}"),
            None => format!("{registry}/{repository}"),
        };
        let reference: Reference = text.parse()?;
        if reference.registry != registry {
            return Err(invalid(&text, "the registry part is not a host name"));
        }
        Ok(reference)
    }

    /// The registry host with its port (`127.0.0.1:5000`, `docker.io`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path (`ferry/app`, `library/busybox`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, when the reference has one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, when the reference has one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What the distribution API's `/manifests/<reference>` takes: the digest when there
    /// is one, else the tag (`latest` when neither was given).
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The same repository with `tag` and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Self, ImageError> {
        Self::new(&self.registry, &self.repository, Some(tag))
    }

    /// The same repository pinned to `digest` (the tag is kept for display).
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The host the API is served on (`docker.io` is served by `registry-1.docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == DEFAULT_REGISTRY {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

fn invalid(reference: &str, reason: impl Into<String>) -> ImageError {
    ImageError::InvalidReference {
        reference: reference.to_string(),
        reason: reason.into(),
    }
}

impl FromStr for Reference {
    type Err = ImageError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(invalid(text, "it is empty"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(text, "it contains whitespace"));
        }
        let (name, digest) = match text.rsplit_once('@') {
            Some((name, digest)) => (
                name,
                Some(
                    digest
                        .parse::<Digest>()
                        .map_err(|_| invalid(text, "the digest is not sha256:<64 hex digits>"))?,
                ),
            ),
            None => (text, None),
        };
        // The first component is a registry host when it looks like one (a dot, a port
        // or `localhost`); otherwise the name is a Docker Hub repository.
        let (registry, rest) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest)
            }
            _ => (DEFAULT_REGISTRY.to_string(), name),
        };
        validate_host(&registry).map_err(|reason| invalid(text, reason))?;
        let (path, tag) = match rest.rsplit_once(':') {
            Some((path, tag)) => (path, Some(tag.to_string())),
            None => (rest, None),
        };
        if let Some(tag) = &tag {
            validate_tag(tag).map_err(|reason| invalid(text, reason))?;
        }
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        if repository.len() > 255 {
            return Err(invalid(
                text,
                "the repository name is longer than 255 bytes",
            ));
        }
        for component in repository.split('/') {
            validate_component(component).map_err(|reason| invalid(text, reason))?;
        }
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

fn validate_host(host: &str) -> Result<(), String> {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        // [ipv6]:port
        let (address, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("registry host {host:?} has an unclosed '['"))?;
        if address.is_empty() || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(format!("registry host {host:?} is not an IPv6 address"));
        }
        (None, after.strip_prefix(':'))
    } else {
        match host.split_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        }
    };
    if let Some(name) = name {
        let labels_ok = !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !labels_ok {
            return Err(format!("registry host {name:?} is not a valid host name"));
        }
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!("registry port {port:?} is not a port number"));
    }
    Ok(())
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let first_ok = tag
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if tag.len() > 128 || !first_ok || !rest_ok {
        return Err(format!(
            "tag {tag:?} must be 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'"
        ));
    }
    Ok(())
}

/// A path component: lowercase alphanumerics separated by `.`, `_`, `__` or dashes.
fn validate_component(component: &str) -> Result<(), String> {
    let message = || {
        format!(
            "repository component {component:?} must be lowercase letters and digits, \
             separated by '.', '_', '__' or '-'"
        )
    };
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return Err(message());
    }
    let mut separator = String::new();
    for &b in bytes {
        if alnum(&b) {
            let ok = separator.is_empty()
                || separator == "."
                || separator == "_"
                || separator == "__"
                || separator.bytes().all(|s| s == b'-');
            if !ok {
                return Err(message());
            }
            separator.clear();
        } else if matches!(b, b'.' | b'_' | b'-') {
            separator.push(b as char);
        } else {
            return Err(message());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_host_port_path_and_tag() {
        let r: Reference = "127.0.0.1:5000/ferry/apps/web:v1.2".parse().unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "ferry/apps/web");
        assert_eq!(r.tag(), Some("v1.2"));
        assert_eq!(r.digest(), None);
        assert_eq!(r.manifest_reference(), "v1.2");
        assert_eq!(r.to_string(), "127.0.0.1:5000/ferry/apps/web:v1.2");
    }

    #[test]
    fn parses_digests_with_and_without_tag() {
        let r: Reference = format!("localhost:5000/app@{DIGEST}").parse().unwrap();
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.tag(), None);
        assert_eq!(r.manifest_reference(), DIGEST);
        let r: Reference = format!("registry.example.com/a/b:t@{DIGEST}")
            .parse()
            .unwrap();
        assert_eq!(r.tag(), Some("t"));
        assert_eq!(r.digest().unwrap().as_str(), DIGEST);
        assert_eq!(r.manifest_reference(), DIGEST);
    }

    #[test]
    fn docker_hub_names_get_the_default_registry_and_library() {
        let r: Reference = "busybox".parse().unwrap();
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(r.manifest_reference(), "latest");
        assert_eq!(r.api_host(), "registry-1.docker.io");
        let r: Reference = "ferry/app:1".parse().unwrap();
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "ferry/app");
        let r: Reference = "localhost/app".parse().unwrap();
        assert_eq!(r.registry(), "localhost");
        let r: Reference = "[::1]:5000/app:v".parse().unwrap();
        assert_eq!(r.registry(), "[::1]:5000");
    }

    #[test]
    fn rejects_bad_references_with_a_reason() {
        for bad in [
            "",
            "127.0.0.1:5000/",
            "127.0.0.1:5000/Ferry/app",
            "127.0.0.1:5000/app:",
            "127.0.0.1:5000/app:-tag",
            "127.0.0.1:5000/app@sha256:abc",
            "127.0.0.1:99999/app",
            "127.0.0.1:5000/a//b",
            "127.0.0.1:5000/a..b",
            "127.0.0.1:5000/a___b",
            "127.0.0.1:5000/-a",
            "127.0.0.1:5000/app b",
            "host:port/app",
        ] {
            match bad.parse::<Reference>() {
                Err(ImageError::InvalidReference { reference, reason }) => {
                    assert_eq!(reference, bad);
                    assert!(!reason.is_empty());
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let long_tag = format!("127.0.0.1:5000/app:{}", "t".repeat(129));
        assert!(long_tag.parse::<Reference>().is_err());
    }

    #[test]
    fn accepts_distribution_separators() {
        for good in ["a.b", "a_b", "a__b", "a---b", "a-b.c_d", "0"] {
            assert!(
                format!("127.0.0.1:5000/{good}")
                    .parse::<Reference>()
                    .is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn new_and_with_tag_validate() {
        let r = Reference::new("127.0.0.1:5000", "ferry/app", Some("v1")).unwrap();
        assert_eq!(
            r.with_tag("v2").unwrap().to_string(),
            "127.0.0.1:5000/ferry/app:v2"
        );
        assert!(r.with_tag("bad tag").is_err());
        assert!(Reference::new("notahost", "app", None).is_err());
    }
}
