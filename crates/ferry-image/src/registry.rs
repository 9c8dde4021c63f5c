//! A small client of the OCI distribution API over reqwest: ping, blob HEAD/GET,
//! cross-repository mount, monolithic upload, manifest GET (indexes resolved to one
//! platform) and PUT, with anonymous, basic and bearer-token authentication.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{self, HeaderMap};
use reqwest::{RequestBuilder, Response, StatusCode, Url};
use tracing::debug;

use crate::auth::{Challenge, Scheme, parse_www_authenticate};
use crate::oci::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, ImageConfig, ImageIndex, ImageManifest, OCI_INDEX,
    OCI_MANIFEST,
};
use crate::{Credentials, Digest, ImageError, Reference};

/// Which scheme the client speaks to a registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// Plain HTTP for loopback registries (`127.0.0.0/8`, `localhost`, `[::1]`), HTTPS
    /// for every other one.
    #[default]
    Auto,
    /// Plain HTTP everywhere.
    Http,
    /// HTTPS everywhere.
    Https,
}

/// Options of a [`RegistryClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// HTTP or HTTPS.
    pub protocol: Protocol,
    /// Credentials by registry host (`host:port` as in references); anonymous elsewhere.
    pub credentials: BTreeMap<String, Credentials>,
    /// Deadline to establish a connection.
    pub connect_timeout: Duration,
    /// Deadline of one whole request (large blob uploads included).
    pub request_timeout: Duration,
    /// The platform picked from image indexes (`linux`, `amd64`).
    pub platform: (String, String),
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            protocol: Protocol::Auto,
            credentials: BTreeMap::new(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(600),
            platform: ("linux".into(), "amd64".into()),
        }
    }
}

/// What a cross-repository mount did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountOutcome {
    /// The registry linked the blob into the repository.
    Mounted,
    /// The registry did not mount (blob unknown or not readable there) and opened an
    /// upload session instead, at this location.
    UploadStarted(String),
}

/// A manifest fetched from a registry.
#[derive(Debug, Clone)]
pub struct PulledManifest {
    /// The image manifest (after resolving an index to the wanted platform).
    pub manifest: ImageManifest,
    /// Its digest (of the exact bytes served).
    pub digest: Digest,
    /// Its media type as served.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A client of the OCI distribution API, for any number of registries. Cheap to clone
/// the inner HTTP client; tokens are cached per registry and scope.
pub struct RegistryClient {
    http: reqwest::Client,
    options: ClientOptions,
    /// `Authorization` values by (registry, scope key): reused so that only the first
    /// request of a scope pays the 401 round trip.
    authorizations: Mutex<HashMap<(String, String), String>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

impl RegistryClient {
    /// A client with `options`.
    pub fn new(options: ClientOptions) -> Result<Self, ImageError> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(concat!("ferry-image/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ImageError::Unreachable {
                registry: "-".into(),
                message: format!("cannot create the HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            options,
            authorizations: Mutex::new(HashMap::new()),
        })
    }

    /// The options.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// `http://host` or `https://host` for a registry.
    pub fn base_url(&self, registry: &str) -> String {
        let scheme = match self.options.protocol {
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::Auto if is_loopback(registry) => "http",
            Protocol::Auto => "https",
        };
        format!("{scheme}://{registry}")
    }

    /// `GET /v2/`: checks that the registry answers and speaks the API (and that the
    /// credentials, if any, are accepted).
    pub async fn ping(&self, registry: &str) -> Result<(), ImageError> {
        let url = format!("{}/v2/", self.base_url(registry));
        let response = self
            .send(registry, &[], "ping", || self.http.get(&url))
            .await?;
        match response.status() {
            StatusCode::OK => Ok(()),
            status => Err(unexpected(registry, "ping (GET /v2/)", status, response).await),
        }
    }

    /// `HEAD` a blob: its size when the repository has it, `None` otherwise.
    pub async fn blob_exists(
        &self,
        image: &Reference,
        digest: &Digest,
    ) -> Result<Option<u64>, ImageError> {
        let url = self.blob_url(image, digest);
        let operation = format!("HEAD blob {digest} in {}", image.repository());
        let response = self
            .send(image.registry(), &pull_scope(image), &operation, || {
                self.http.head(&url)
            })
            .await?;
        match response.status() {
            // The header, not `content_length()`: a HEAD answer's body is empty.
            StatusCode::OK => Ok(Some(
                response
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(unexpected(image.registry(), &operation, status, response).await),
        }
    }

    /// `GET` a blob, checking its digest.
    pub async fn get_blob(&self, image: &Reference, digest: &Digest) -> Result<Bytes, ImageError> {
        let url = self.blob_url(image, digest);
        let operation = format!("GET blob {digest} from {}", image.repository());
        let response = self
            .send(image.registry(), &pull_scope(image), &operation, || {
                self.http.get(&url)
            })
            .await?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => {
                return Err(ImageError::NotFound {
                    registry: image.registry().to_string(),
                    what: format!("blob {digest} in {}", image.repository()),
                });
            }
            status => return Err(unexpected(image.registry(), &operation, status, response).await),
        }
        let body = read_body(image.registry(), response).await?;
        check_digest(&operation, digest, &body)?;
        Ok(body)
    }

    /// Asks the registry to mount `digest` from repository `from` (same registry) into
    /// `image`'s repository.
    pub async fn mount_blob(
        &self,
        image: &Reference,
        digest: &Digest,
        from: &str,
    ) -> Result<MountOutcome, ImageError> {
        let url = format!(
            "{}/v2/{}/blobs/uploads/",
            self.base_url(image.registry()),
            image.repository()
        );
        let operation = format!(
            "mount blob {digest} from {from} into {}",
            image.repository()
        );
        let mut scopes = push_scope(image);
        scopes.push(format!("repository:{from}:pull"));
        let response = self
            .send(image.registry(), &scopes, &operation, || {
                self.http
                    .post(&url)
                    .query(&[("mount", digest.as_str()), ("from", from)])
                    .header(header::CONTENT_LENGTH, 0)
            })
            .await?;
        match response.status() {
            StatusCode::CREATED => Ok(MountOutcome::Mounted),
            StatusCode::ACCEPTED => Ok(MountOutcome::UploadStarted(location(
                image.registry(),
                &operation,
                &url,
                response.headers(),
            )?)),
            status => Err(unexpected(image.registry(), &operation, status, response).await),
        }
    }

    /// Uploads a blob monolithically: `POST` an upload session, then `PUT ?digest=` with
    /// the whole content.
    pub async fn push_blob(
        &self,
        image: &Reference,
        digest: &Digest,
        data: Bytes,
    ) -> Result<(), ImageError> {
        let url = format!(
            "{}/v2/{}/blobs/uploads/",
            self.base_url(image.registry()),
            image.repository()
        );
        let operation = format!("start upload in {}", image.repository());
        let response = self
            .send(image.registry(), &push_scope(image), &operation, || {
                self.http.post(&url).header(header::CONTENT_LENGTH, 0)
            })
            .await?;
        let session = match response.status() {
            StatusCode::ACCEPTED => {
                location(image.registry(), &operation, &url, response.headers())?
            }
            status => return Err(unexpected(image.registry(), &operation, status, response).await),
        };
        self.finish_upload(image, digest, &session, data).await
    }

    /// Completes an upload session opened by a `POST` (or a mount that fell back to an
    /// upload) with the whole blob.
    pub async fn finish_upload(
        &self,
        image: &Reference,
        digest: &Digest,
        session: &str,
        data: Bytes,
    ) -> Result<(), ImageError> {
        let operation = format!("upload blob {digest} to {}", image.repository());
        let mut url = Url::parse(session).map_err(|e| ImageError::Registry {
            registry: image.registry().to_string(),
            operation: operation.clone(),
            status: 202,
            message: format!("unusable upload location {session:?}: {e}"),
        })?;
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let response = self
            .send(image.registry(), &push_scope(image), &operation, || {
                self.http
                    .put(url.clone())
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_LENGTH, data.len())
                    .body(data.clone())
            })
            .await?;
        match response.status() {
            StatusCode::CREATED | StatusCode::NO_CONTENT => {
                check_digest_header(&operation, digest, response.headers())
            }
            status => Err(unexpected(image.registry(), &operation, status, response).await),
        }
    }

    /// Fetches the manifest `image` names; an index (manifest list) is resolved to the
    /// configured platform's manifest. A digest reference is verified.
    pub async fn get_manifest(&self, image: &Reference) -> Result<PulledManifest, ImageError> {
        let (media_type, body, digest) = self
            .fetch_manifest(image, &image.manifest_reference())
            .await?;
        if let Some(expected) = image.digest()
            && *expected != digest
        {
            return Err(ImageError::DigestMismatch {
                what: format!("manifest of {image}"),
                expected: expected.to_string(),
                actual: digest.to_string(),
            });
        }
        if media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST {
            let index: ImageIndex = parse_json(&format!("image index of {image}"), &body)?;
            let (os, architecture) = &self.options.platform;
            let entry = index
                .manifests
                .iter()
                .find(|m| {
                    m.platform
                        .as_ref()
                        .is_some_and(|p| &p.os == os && &p.architecture == architecture)
                })
                .ok_or_else(|| ImageError::NoMatchingPlatform {
                    reference: image.to_string(),
                    platform: format!("{os}/{architecture}"),
                })?;
            let (media_type, body, digest) =
                self.fetch_manifest(image, entry.digest.as_str()).await?;
            check_digest(
                &format!("manifest of {image} for {os}/{architecture}"),
                &entry.digest,
                &body,
            )?;
            return finish_manifest(image, media_type, body, digest);
        }
        finish_manifest(image, media_type, body, digest)
    }

    async fn fetch_manifest(
        &self,
        image: &Reference,
        reference: &str,
    ) -> Result<(String, Bytes, Digest), ImageError> {
        let url = format!(
            "{}/v2/{}/manifests/{reference}",
            self.base_url(image.registry()),
            image.repository()
        );
        let operation = format!("GET manifest {}:{reference}", image.repository());
        let response = self
            .send(image.registry(), &pull_scope(image), &operation, || {
                self.http.get(&url).header(header::ACCEPT, ACCEPT_MANIFESTS)
            })
            .await?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => {
                return Err(ImageError::NotFound {
                    registry: image.registry().to_string(),
                    what: format!("manifest {}:{reference}", image.repository()),
                });
            }
            status => return Err(unexpected(image.registry(), &operation, status, response).await),
        }
        let media_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
            .unwrap_or_default();
        let body = read_body(image.registry(), response).await?;
        // The served media type wins; fall back to the document's own field.
        let media_type = if media_type.is_empty() || media_type == "application/json" {
            serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("mediaType")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| OCI_MANIFEST.to_string())
        } else {
            media_type
        };
        let digest = Digest::of(&body);
        Ok((media_type, body, digest))
    }

    /// Fetches and parses the image config a manifest points at.
    pub async fn get_config(
        &self,
        image: &Reference,
        manifest: &ImageManifest,
    ) -> Result<ImageConfig, ImageError> {
        let body = self.get_blob(image, &manifest.config.digest).await?;
        parse_json(&format!("image config of {image}"), &body)
    }

    /// `PUT`s a manifest under `image`'s tag (or digest) and returns its digest.
    pub async fn put_manifest(
        &self,
        image: &Reference,
        media_type: &str,
        body: Bytes,
    ) -> Result<Digest, ImageError> {
        let reference = image
            .tag()
            .map(str::to_string)
            .unwrap_or_else(|| image.manifest_reference());
        let url = format!(
            "{}/v2/{}/manifests/{reference}",
            self.base_url(image.registry()),
            image.repository()
        );
        let operation = format!("PUT manifest {}:{reference}", image.repository());
        let digest = Digest::of(&body);
        let response = self
            .send(image.registry(), &push_scope(image), &operation, || {
                self.http
                    .put(&url)
                    .header(header::CONTENT_TYPE, media_type)
                    .body(body.clone())
            })
            .await?;
        match response.status() {
            StatusCode::CREATED | StatusCode::OK => {
                check_digest_header(&operation, &digest, response.headers())?;
                Ok(digest)
            }
            status => Err(unexpected(image.registry(), &operation, status, response).await),
        }
    }

    /// Tags the manifest `digest` of `image`'s repository as `tag`: the exact bytes are
    /// fetched and `PUT` again under the tag (the distribution API has no other way), so
    /// the tag resolves to the same digest. A tag already there moves.
    pub async fn tag_manifest(
        &self,
        image: &Reference,
        digest: &Digest,
        tag: &str,
    ) -> Result<(), ImageError> {
        let (media_type, body, served) = self.fetch_manifest(image, &digest.to_string()).await?;
        if served != *digest {
            return Err(ImageError::DigestMismatch {
                what: format!("manifest of {image}"),
                expected: digest.to_string(),
                actual: served.to_string(),
            });
        }
        let target = Reference::new(image.registry(), image.repository(), Some(tag))?;
        let put = self.put_manifest(&target, &media_type, body).await?;
        if put != *digest {
            return Err(ImageError::DigestMismatch {
                what: format!("manifest tagged {tag}"),
                expected: digest.to_string(),
                actual: put.to_string(),
            });
        }
        Ok(())
    }

    fn blob_url(&self, image: &Reference, digest: &Digest) -> String {
        format!(
            "{}/v2/{}/blobs/{digest}",
            self.base_url(image.registry()),
            image.repository()
        )
    }

    /// Sends a request built by `make`, with a cached authorization when there is one;
    /// on 401 answers the challenge (basic or bearer token) and sends it once more.
    async fn send(
        &self,
        registry: &str,
        scopes: &[String],
        operation: &str,
        make: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ImageError> {
        let key = (registry.to_string(), scopes.join(" "));
        let cached = self.authorizations.lock().expect("lock").get(&key).cloned();
        let mut request = make();
        if let Some(authorization) = &cached {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        let response = self.execute(registry, request).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge_header = response
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let challenges =
            parse_www_authenticate(&challenge_header).ok_or_else(|| ImageError::Unauthorized {
                registry: registry.to_string(),
                reason: format!("{operation}: 401 without a usable WWW-Authenticate challenge"),
            })?;
        let authorization = self.authorize(registry, scopes, &challenges).await?;
        debug!(registry, operation, "retrying with an authorization");
        let response = self
            .execute(
                registry,
                make().header(header::AUTHORIZATION, &authorization),
            )
            .await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.authorizations.lock().expect("lock").remove(&key);
            let message = error_message(response).await;
            return Err(ImageError::Unauthorized {
                registry: registry.to_string(),
                reason: format!("{operation}: credentials refused: {message}"),
            });
        }
        self.authorizations
            .lock()
            .expect("lock")
            .insert(key, authorization);
        Ok(response)
    }

    async fn execute(
        &self,
        registry: &str,
        request: RequestBuilder,
    ) -> Result<Response, ImageError> {
        let request = request.build().map_err(|e| ImageError::Unreachable {
            registry: registry.to_string(),
            message: format!("cannot build the request: {}", e.without_url()),
        })?;
        let (method, path) = (request.method().clone(), request.url().path().to_string());
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| ImageError::Unreachable {
                registry: registry.to_string(),
                message: transport_message(&e),
            })?;
        debug!(registry, %method, path, status = response.status().as_u16(), "registry request");
        Ok(response)
    }

    /// The `Authorization` value answering `challenges`.
    async fn authorize(
        &self,
        registry: &str,
        scopes: &[String],
        challenges: &[Challenge],
    ) -> Result<String, ImageError> {
        let credentials = self
            .options
            .credentials
            .get(registry)
            .cloned()
            .unwrap_or_default();
        let unauthorized = |reason: String| ImageError::Unauthorized {
            registry: registry.to_string(),
            reason,
        };
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == Scheme::Bearer) {
            let realm = bearer
                .param("realm")
                .ok_or_else(|| unauthorized("bearer challenge without a realm".into()))?;
            let mut url = Url::parse(realm)
                .map_err(|e| unauthorized(format!("bearer realm {realm:?} is not a URL: {e}")))?;
            {
                let mut query = url.query_pairs_mut();
                if let Some(service) = bearer.param("service") {
                    query.append_pair("service", service);
                }
                let mut wanted: Vec<&str> = scopes.iter().map(String::as_str).collect();
                if let Some(scope) = bearer.param("scope") {
                    wanted.extend(scope.split(' '));
                }
                wanted.sort_unstable();
                wanted.dedup();
                for scope in wanted {
                    query.append_pair("scope", scope);
                }
            }
            let mut request = self.http.get(url.clone());
            if let Credentials::Basic { username, password } = &credentials {
                // Credentials travel only over TLS or to a loopback token server.
                let host = url.host_str().unwrap_or_default();
                if url.scheme() != "https" && !is_loopback(host) {
                    return Err(unauthorized(format!(
                        "refusing to send credentials to the non-TLS token server {}",
                        url.host_str().unwrap_or_default()
                    )));
                }
                request = request.basic_auth(username, Some(password.expose()));
            }
            let response = request.send().await.map_err(|e| ImageError::Unreachable {
                registry: registry.to_string(),
                message: format!("token server: {}", transport_message(&e)),
            })?;
            if !response.status().is_success() {
                let status = response.status();
                let message = error_message(response).await;
                return Err(unauthorized(format!(
                    "token server answered {status}: {message}"
                )));
            }
            let body = read_body(registry, response).await?;
            let token: TokenResponse = serde_json::from_slice(&body)
                .map_err(|e| unauthorized(format!("token server answer is not a token: {e}")))?;
            let token = token
                .token
                .or(token.access_token)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| unauthorized("token server answer has no token".into()))?;
            return Ok(format!("Bearer {token}"));
        }
        if challenges.iter().any(|c| c.scheme == Scheme::Basic) {
            return match &credentials {
                Credentials::Basic { username, password } => {
                    let pair = format!("{username}:{}", password.expose());
                    Ok(format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair)
                    ))
                }
                Credentials::Anonymous => Err(unauthorized(
                    "the registry asks for basic credentials and none are configured for it".into(),
                )),
            };
        }
        Err(unauthorized(format!(
            "unsupported authentication scheme {:?}",
            challenges[0].scheme
        )))
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

fn pull_scope(image: &Reference) -> Vec<String> {
    vec![format!("repository:{}:pull", image.repository())]
}

fn push_scope(image: &Reference) -> Vec<String> {
    vec![format!("repository:{}:pull,push", image.repository())]
}

/// Whether `registry` (`host[:port]`) is a loopback address or `localhost`.
pub fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        registry.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn transport_message(error: &reqwest::Error) -> String {
    // The chain names the cause (connection refused, DNS, TLS); the URL never holds
    // credentials, but is left out anyway since the registry is named by the caller.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

async fn read_body(registry: &str, response: Response) -> Result<Bytes, ImageError> {
    response.bytes().await.map_err(|e| ImageError::Unreachable {
        registry: registry.to_string(),
        message: format!("reading the answer: {}", transport_message(&e)),
    })
}

/// The registry's error text: the distribution JSON errors when present, else the
/// start of the body.
async fn error_message(response: Response) -> String {
    let body = response.bytes().await.unwrap_or_default();
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        code: Option<String>,
        message: Option<String>,
    }
    if let Ok(errors) = serde_json::from_slice::<Errors>(&body)
        && !errors.errors.is_empty()
    {
        return errors
            .errors
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.code.as_deref().unwrap_or("ERROR"),
                    e.message.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".into()
    } else {
        text.chars().take(300).collect()
    }
}

async fn unexpected(
    registry: &str,
    operation: &str,
    status: StatusCode,
    response: Response,
) -> ImageError {
    let message = error_message(response).await;
    if status == StatusCode::FORBIDDEN {
        return ImageError::Unauthorized {
            registry: registry.to_string(),
            reason: format!("{operation}: {message}"),
        };
    }
    ImageError::Registry {
        registry: registry.to_string(),
        operation: operation.to_string(),
        status: status.as_u16(),
        message,
    }
}

/// The absolute upload URL of a 202 answer (the `Location` may be relative).
fn location(
    registry: &str,
    operation: &str,
    request_url: &str,
    headers: &HeaderMap,
) -> Result<String, ImageError> {
    let bad = |message: String| ImageError::Registry {
        registry: registry.to_string(),
        operation: operation.to_string(),
        status: 202,
        message,
    };
    let value = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad("no Location header in the answer".into()))?;
    let base = Url::parse(request_url).map_err(|e| bad(e.to_string()))?;
    base.join(value)
        .map(|url| url.to_string())
        .map_err(|e| bad(format!("unusable Location {value:?}: {e}")))
}

fn check_digest(what: &str, expected: &Digest, body: &[u8]) -> Result<(), ImageError> {
    let actual = Digest::of(body);
    if actual == *expected {
        Ok(())
    } else {
        Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

fn check_digest_header(
    what: &str,
    expected: &Digest,
    headers: &HeaderMap,
) -> Result<(), ImageError> {
    match headers
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    {
        Some(actual) if actual != expected.as_str() => Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ImageError> {
    serde_json::from_slice(body).map_err(|e| ImageError::InvalidContent {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

fn finish_manifest(
    image: &Reference,
    media_type: String,
    body: Bytes,
    digest: Digest,
) -> Result<PulledManifest, ImageError> {
    if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
        return Err(ImageError::InvalidContent {
            what: format!("manifest of {image}"),
            reason: format!(
                "unsupported media type {media_type:?} (schema 1 and artifacts are not images Ferry can build on)"
            ),
        });
    }
    let manifest: ImageManifest = parse_json(&format!("manifest of {image}"), &body)?;
    if manifest.schema_version != 2 {
        return Err(ImageError::InvalidContent {
            what: format!("manifest of {image}"),
            reason: format!("schemaVersion {} is not 2", manifest.schema_version),
        });
    }
    Ok(PulledManifest {
        manifest,
        digest,
        media_type,
        size: body.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_get_plain_http_others_https() {
        let client = RegistryClient::new(ClientOptions::default()).unwrap();
        assert_eq!(client.base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(client.base_url("127.1.2.3:5000"), "http://127.1.2.3:5000");
        assert_eq!(client.base_url("localhost:5000"), "http://localhost:5000");
        assert_eq!(client.base_url("[::1]:5000"), "http://[::1]:5000");
        assert_eq!(
            client.base_url("registry.example.com"),
            "https://registry.example.com"
        );
        assert_eq!(client.base_url("10.0.0.1:5000"), "https://10.0.0.1:5000");
        let forced = RegistryClient::new(ClientOptions {
            protocol: Protocol::Https,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(forced.base_url("127.0.0.1:5000"), "https://127.0.0.1:5000");
    }

    #[test]
    fn client_debug_hides_credentials() {
        let mut options = ClientOptions::default();
        options.credentials.insert(
            "r.example.com".into(),
            Credentials::basic("bot", "s3cret-pass"),
        );
        let client = RegistryClient::new(options).unwrap();
        let printed = format!("{client:?}");
        assert!(printed.contains("bot"));
        assert!(!printed.contains("s3cret-pass"), "{printed}");
    }
}
