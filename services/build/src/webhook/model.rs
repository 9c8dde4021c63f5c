//! Pure rules of webhook deliveries: signature checks (GitHub HMAC-SHA256, GitLab token,
//! both in constant time), the provider's push payload, repository URL normalisation
//! and which ref a push means. No IO here.

use ferry_proto::ferry::build::v1::WebhookProvider;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// What Ferry reads from a delivery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Push {
    /// Every URL the payload gives for the repository.
    pub repository_urls: Vec<String>,
    /// The repository's default branch, when the payload says.
    pub default_branch: String,
    /// The pushed ref, e.g. `refs/heads/main`.
    pub git_ref: String,
    /// The commit after the push (all zeros when the ref was deleted).
    pub after: String,
    /// Who pushed, e.g. `github:octocat`.
    pub sender: String,
    /// True when the push deleted the ref.
    pub deleted: bool,
}

/// Checks a delivery's signature header against the secret.
pub fn signature_valid(
    provider: WebhookProvider,
    secret: &[u8],
    payload: &[u8],
    signature: &str,
) -> bool {
    match provider {
        WebhookProvider::Github => {
            let Some(hex) = signature.trim().strip_prefix("sha256=") else {
                return false;
            };
            let Some(expected) = decode_hex(hex) else {
                return false;
            };
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                return false;
            };
            mac.update(payload);
            mac.verify_slice(&expected).is_ok()
        }
        WebhookProvider::Gitlab => {
            !secret.is_empty() && bool::from(signature.as_bytes().ct_eq(secret))
        }
        WebhookProvider::Unspecified => false,
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The GitHub signature header of `payload` (for tests and tools).
pub fn github_signature(secret: &[u8], payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(payload);
    let digest = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// The provider a delivery comes from: the field, else the event headers.
pub fn provider_of(
    field: WebhookProvider,
    headers: &std::collections::HashMap<String, String>,
    event_type: &str,
) -> WebhookProvider {
    if field != WebhookProvider::Unspecified {
        return field;
    }
    if headers.contains_key("x-github-event") {
        WebhookProvider::Github
    } else if headers.contains_key("x-gitlab-event") || event_type.ends_with(" Hook") {
        WebhookProvider::Gitlab
    } else {
        WebhookProvider::Unspecified
    }
}

/// The JSON document of a payload: JSON, or GitHub's form encoding (`payload=…`).
fn json_of(payload: &[u8], content_type: &str) -> Result<serde_json::Value, String> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = std::str::from_utf8(payload)
            .map_err(|_| "the form payload is not UTF-8".to_string())?;
        let encoded = text
            .split('&')
            .find_map(|pair| pair.strip_prefix("payload="))
            .ok_or_else(|| "the form has no payload field".to_string())?;
        let decoded = percent_decode(encoded)
            .ok_or_else(|| "the form payload is not valid percent-encoding".to_string())?;
        return serde_json::from_slice(&decoded)
            .map_err(|e| format!("the payload is not JSON: {e}"));
    }
    serde_json::from_slice(payload).map_err(|e| format!("the payload is not JSON: {e}"))
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// Reads the push (or other event) payload of `provider`.
pub fn parse_push(
    provider: WebhookProvider,
    payload: &[u8],
    content_type: &str,
) -> Result<Push, String> {
    let json = json_of(payload, content_type)?;
    if !json.is_object() {
        return Err("the payload is not a JSON object".into());
    }
    let text = |value: &serde_json::Value, path: &[&str]| -> String {
        let mut current = value;
        for key in path {
            match current.get(key) {
                Some(next) => current = next,
                None => return String::new(),
            }
        }
        current.as_str().unwrap_or_default().to_string()
    };
    let mut push = Push {
        git_ref: text(&json, &["ref"]),
        after: text(&json, &["after"]),
        ..Default::default()
    };
    match provider {
        WebhookProvider::Github => {
            for field in ["clone_url", "ssh_url", "git_url", "html_url", "url"] {
                push.repository_urls
                    .push(text(&json, &["repository", field]));
            }
            push.default_branch = text(&json, &["repository", "default_branch"]);
            push.sender = format!("github:{}", text(&json, &["sender", "login"]));
            push.deleted = json
                .get("deleted")
                .and_then(|d| d.as_bool())
                .unwrap_or(false);
        }
        WebhookProvider::Gitlab => {
            for path in [
                ["project", "git_http_url"],
                ["project", "git_ssh_url"],
                ["project", "web_url"],
                ["repository", "git_http_url"],
                ["repository", "git_ssh_url"],
                ["repository", "homepage"],
                ["repository", "url"],
            ] {
                push.repository_urls.push(text(&json, &path));
            }
            push.default_branch = text(&json, &["project", "default_branch"]);
            push.sender = format!("gitlab:{}", text(&json, &["user_username"]));
        }
        WebhookProvider::Unspecified => return Err("unknown provider".into()),
    }
    push.repository_urls.retain(|u| !u.is_empty());
    if !push.after.is_empty() && push.after.bytes().all(|b| b == b'0') {
        push.deleted = true;
    }
    Ok(push)
}

/// A repository URL reduced to `host/path` (lower-case host, no scheme, user, `.git`
/// suffix or trailing `/`), so that https, ssh and scp-like forms of one repository
/// compare equal. Local paths stay paths.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    if let Some(path) = url.strip_prefix("file://") {
        return path.to_string();
    }
    if url.starts_with('/') {
        return url.to_string();
    }
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        // scp-like: user@host:path
        None => match url.split_once(':') {
            Some((host, path)) => format!("{host}/{}", path.trim_start_matches('/')),
            None => url.to_string(),
        },
    };
    let rest = rest
        .rsplit_once('@')
        .filter(|(user, _)| !user.contains('/'))
        .map_or(rest.as_str(), |(_, r)| r);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    // The ssh port of scp-like URLs never appears; drop default ports of URL forms.
    let host = host
        .strip_suffix(":443")
        .or_else(|| host.strip_suffix(":22"))
        .unwrap_or(&host)
        .to_string();
    format!("{host}/{path}")
}

/// Whether any of the payload's URLs is the application's repository.
pub fn repository_matches(configured: &str, push: &Push) -> bool {
    let wanted = normalize_url(configured);
    push.repository_urls
        .iter()
        .any(|url| normalize_url(url) == wanted)
}

/// The full refs a push must name to be built: the application's `source.ref` as a
/// branch or tag, or the default branch when it is empty.
pub fn watched_refs(source_ref: &str, default_branch: &str) -> Vec<String> {
    if source_ref.starts_with("refs/") {
        return vec![source_ref.to_string()];
    }
    let name = if source_ref.is_empty() || source_ref == "HEAD" {
        default_branch
    } else {
        source_ref
    };
    if name.is_empty() {
        return Vec::new();
    }
    vec![format!("refs/heads/{name}"), format!("refs/tags/{name}")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signatures_are_checked() {
        let payload = br#"{"ref":"refs/heads/main"}"#;
        let good = github_signature(b"s3cret", payload);
        assert!(signature_valid(
            WebhookProvider::Github,
            b"s3cret",
            payload,
            &good
        ));
        assert!(!signature_valid(
            WebhookProvider::Github,
            b"other",
            payload,
            &good
        ));
        assert!(!signature_valid(
            WebhookProvider::Github,
            b"s3cret",
            b"{}",
            &good
        ));
        assert!(!signature_valid(
            WebhookProvider::Github,
            b"s3cret",
            payload,
            "sha1=abc"
        ));
        assert!(!signature_valid(
            WebhookProvider::Github,
            b"s3cret",
            payload,
            ""
        ));
        assert!(signature_valid(
            WebhookProvider::Gitlab,
            b"tok",
            payload,
            "tok"
        ));
        assert!(!signature_valid(
            WebhookProvider::Gitlab,
            b"tok",
            payload,
            "tok2"
        ));
    }

    #[test]
    fn urls_normalise_across_forms() {
        let forms = [
            "https://GitHub.com/org/repo.git",
            "git@github.com:org/repo.git",
            "ssh://git@github.com/org/repo",
            "https://github.com/org/repo/",
        ];
        for form in forms {
            assert_eq!(normalize_url(form), "github.com/org/repo", "{form}");
        }
        assert_ne!(
            normalize_url("https://github.com/org/other"),
            "github.com/org/repo"
        );
        assert_eq!(
            normalize_url("file:///srv/git/app"),
            normalize_url("/srv/git/app")
        );
    }

    #[test]
    fn pushes_parse_for_both_providers() {
        let github = br#"{"ref":"refs/heads/main","after":"abc","repository":{"clone_url":"https://h/o/r.git","default_branch":"main"},"sender":{"login":"octo"}}"#;
        let push = parse_push(WebhookProvider::Github, github, "application/json").unwrap();
        assert_eq!(
            (
                push.git_ref.as_str(),
                push.after.as_str(),
                push.sender.as_str()
            ),
            ("refs/heads/main", "abc", "github:octo")
        );
        let form = format!("payload={}", "%7B%22ref%22%3A%22refs%2Fheads%2Fx%22%7D");
        assert_eq!(
            parse_push(
                WebhookProvider::Github,
                form.as_bytes(),
                "application/x-www-form-urlencoded"
            )
            .unwrap()
            .git_ref,
            "refs/heads/x"
        );
        let gitlab = br#"{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000","project":{"git_http_url":"https://gl/o/r.git"}}"#;
        let push = parse_push(WebhookProvider::Gitlab, gitlab, "application/json").unwrap();
        assert!(push.deleted);
        assert!(parse_push(WebhookProvider::Github, b"not json", "application/json").is_err());
        assert_eq!(
            watched_refs("", "main"),
            vec!["refs/heads/main".to_string(), "refs/tags/main".to_string()]
        );
    }
}
