//! The built-in registry's side of image versions: an alias is also a tag of the
//! version's manifest (so `docker pull <registry>/<repository>:stable` gets what the alias
//! names), and a manifest is deleted (OCI distribution API,
//! `DELETE /v2/<repository>/manifests/<digest>`) once no image record refers to its digest
//! any more. The distribution API cannot remove one tag alone, so a digest two versions
//! share stays until both are deleted, and an alias removed from every version stays a tag
//! of the manifest it last named until that manifest is deleted.

use std::time::Duration;

use crate::config::RegistryCredentials;

/// A client of `registry`: plain HTTP when `insecure` (loopback registries are spoken
/// to in plain HTTP anyway), HTTPS otherwise; basic `credentials` (user, password) when
/// given; `request_timeout` when given, else the client's default.
pub fn client(
    registry: &str,
    insecure: bool,
    credentials: Option<(&str, &str)>,
    request_timeout: Option<Duration>,
) -> Result<ferry_image::RegistryClient, String> {
    let mut options = ferry_image::ClientOptions {
        protocol: if insecure {
            ferry_image::Protocol::Http
        } else {
            ferry_image::Protocol::Auto
        },
        ..Default::default()
    };
    if let Some(timeout) = request_timeout {
        options.request_timeout = timeout;
    }
    if let Some((username, password)) = credentials {
        options.credentials.insert(
            registry.to_string(),
            ferry_image::Credentials::Basic {
                username: username.to_string(),
                password: ferry_image::Secret::new(password.to_string()),
            },
        );
    }
    ferry_image::RegistryClient::new(options).map_err(|e| e.to_string())
}

/// Where the built-in registry is.
#[derive(Clone, Debug, Default)]
pub struct BuiltinRegistry {
    /// `host:port`; empty when none is configured.
    pub address: String,
    /// Its credentials.
    pub credentials: Option<RegistryCredentials>,
}

impl BuiltinRegistry {
    /// The repository path of `image_uri` when it lives in this registry.
    pub fn repository_of<'a>(&self, image_uri: &'a str) -> Option<&'a str> {
        if self.address.is_empty() {
            return None;
        }
        let rest = image_uri.strip_prefix(&self.address)?.strip_prefix('/')?;
        let name = rest.split('@').next()?;
        Some(
            name.rsplit_once(':')
                .map_or(name, |(repository, _)| repository),
        )
    }

    /// Tags the manifest `digest` of `repository` as `tag` (an image alias), moving the
    /// tag if another manifest had it; a failure is returned as text.
    pub async fn tag(&self, repository: &str, digest: &str, tag: &str) -> Result<(), String> {
        let client = client(
            &self.address,
            false,
            self.credentials
                .as_ref()
                .map(|c| (c.username.as_str(), c.password.as_str())),
            Some(Duration::from_secs(30)),
        )?;
        let image = ferry_image::Reference::new(&self.address, repository, None)
            .map_err(|e| e.to_string())?;
        let digest: ferry_image::Digest = digest.parse().map_err(|e| format!("{e}"))?;
        client
            .tag_manifest(&image, &digest, tag)
            .await
            .map_err(|e| e.to_string())
    }

    /// Deletes the manifest `digest` of `repository`; a failure is returned as text.
    pub async fn delete_manifest(&self, repository: &str, digest: &str) -> Result<(), String> {
        let scheme = if ferry_image::is_loopback(&self.address) {
            "http"
        } else {
            "https"
        };
        let url = format!(
            "{scheme}://{}/v2/{repository}/manifests/{digest}",
            self.address
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let mut request = client.delete(&url);
        if let Some(credentials) = &self.credentials {
            request = request.basic_auth(&credentials.username, Some(&credentials.password));
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        match response.status().as_u16() {
            200..=299 | 404 => Ok(()),
            status => Err(format!("{url}: HTTP {status}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_of_the_builtin_registry_are_its() {
        let registry = BuiltinRegistry {
            address: "127.0.0.1:5000".into(),
            credentials: None,
        };
        assert_eq!(
            registry.repository_of("127.0.0.1:5000/applications/web:3-abc@sha256:aa"),
            Some("applications/web")
        );
        assert_eq!(registry.repository_of("ghcr.io/org/web:1@sha256:aa"), None);
        assert_eq!(
            BuiltinRegistry::default().repository_of("127.0.0.1:5000/a:1"),
            None
        );
    }
}
