//! Cross-origin calls from browsers (CORS) on the gateway's port: which origins may call
//! (`FERRY_GATEWAY_CORS_ORIGINS`), the answer to a preflight, and the headers an answer
//! to an allowed origin carries. Pure: requests and responses in, decisions out.
//!
//! Without configured origins nothing changes: no CORS header is ever added and a
//! preflight is refused (403), so a browser page of another origin cannot call.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use tonic::body::Body;

/// The request headers a browser may send (gRPC-Web's and the API's own).
const ALLOWED_HEADERS: &str = "authorization, content-type, x-grpc-web, x-user-agent, \
    grpc-timeout, x-request-id, traceparent, tracestate";
/// The answer headers a browser page may read.
const EXPOSED_HEADERS: &str = "grpc-status, grpc-message, grpc-status-details-bin, x-request-id";
/// The methods of the API's HTTP rules and of gRPC-Web.
const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";

/// The origins allowed to call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cors {
    any: bool,
    origins: Vec<String>,
}

impl Cors {
    /// Reads `FERRY_GATEWAY_CORS_ORIGINS`: `*`, or comma-separated origins
    /// (`scheme://host[:port]`, no path); unset or empty allows none.
    pub fn from_env(env: &std::collections::HashMap<String, String>) -> anyhow::Result<Self> {
        let Some(value) = env
            .get("FERRY_GATEWAY_CORS_ORIGINS")
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        else {
            return Ok(Self::default());
        };
        Self::parse(value)
            .map_err(|message| anyhow::anyhow!("FERRY_GATEWAY_CORS_ORIGINS: {message}"))
    }

    /// `*` or comma-separated origins.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.trim() == "*" {
            return Ok(Self {
                any: true,
                origins: Vec::new(),
            });
        }
        let mut origins = Vec::new();
        for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| format!("{origin:?} must start with https:// or http://"))?;
            if rest.is_empty() || rest.contains('/') || rest.contains('*') {
                return Err(format!(
                    "{origin:?} must be scheme://host[:port], without a path or wildcard"
                ));
            }
            origins.push(origin.to_ascii_lowercase());
        }
        Ok(Self {
            any: false,
            origins,
        })
    }

    /// Whether a browser page of `origin` may call.
    pub fn allows(&self, origin: &str) -> bool {
        self.any || self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }

    /// The answer to `request` if it is a preflight (`OPTIONS` with
    /// `Access-Control-Request-Method`): 204 with what may be sent for an allowed origin,
    /// 403 otherwise.
    pub fn preflight<B>(&self, request: &Request<B>) -> Option<Response<Body>> {
        if request.method() != Method::OPTIONS
            || !request
                .headers()
                .contains_key(ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let origin = request.headers().get(ORIGIN);
        let mut response = Response::new(Body::empty());
        match origin.filter(|o| o.to_str().is_ok_and(|o| self.allows(o))) {
            Some(origin) => {
                *response.status_mut() = StatusCode::NO_CONTENT;
                let headers = response.headers_mut();
                headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                headers.insert(
                    ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(ALLOWED_METHODS),
                );
                headers.insert(
                    ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(ALLOWED_HEADERS),
                );
                headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
                headers.insert(VARY, HeaderValue::from_static("origin"));
            }
            None => *response.status_mut() = StatusCode::FORBIDDEN,
        }
        Some(response)
    }

    /// Adds the CORS headers of an answer to a request from `origin` (nothing when the
    /// request had no `Origin` or the origin is not allowed).
    pub fn decorate(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        let Some(origin) = origin.filter(|o| o.to_str().is_ok_and(|o| self.allows(o))) else {
            return;
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        headers.append(VARY, HeaderValue::from_static("origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preflight(origin: Option<&str>) -> Request<()> {
        let mut builder = Request::builder()
            .method(Method::OPTIONS)
            .uri("/ferry.auth.v1.TokenService/ListTokens")
            .header(ACCESS_CONTROL_REQUEST_METHOD, "POST");
        if let Some(origin) = origin {
            builder = builder.header(ORIGIN, origin);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn only_configured_origins_pass_a_preflight() {
        let cors = Cors::parse("https://console.example.com, http://localhost:3000").unwrap();
        let allowed = cors
            .preflight(&preflight(Some("https://console.example.com")))
            .unwrap();
        assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            allowed.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://console.example.com"
        );
        assert!(
            allowed.headers()[ACCESS_CONTROL_ALLOW_HEADERS]
                .to_str()
                .unwrap()
                .contains("x-grpc-web")
        );
        for origin in [Some("https://evil.example.com"), None] {
            let refused = cors.preflight(&preflight(origin)).unwrap();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN);
            assert!(!refused.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        }
        // Not a preflight: a plain OPTIONS, or a POST.
        let plain = Request::builder().method(Method::OPTIONS).body(()).unwrap();
        assert!(cors.preflight(&plain).is_none());
        let post = Request::builder().method(Method::POST).body(()).unwrap();
        assert!(cors.preflight(&post).is_none());
        // Nothing configured: every preflight refused.
        let none = Cors::default()
            .preflight(&preflight(Some("https://console.example.com")))
            .unwrap();
        assert_eq!(none.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn answers_to_allowed_origins_expose_the_grpc_headers() {
        let cors = Cors::parse("*").unwrap();
        let mut headers = HeaderMap::new();
        let origin = HeaderValue::from_static("https://anything.example");
        cors.decorate(Some(&origin), &mut headers);
        assert_eq!(
            headers[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://anything.example"
        );
        assert!(
            headers[ACCESS_CONTROL_EXPOSE_HEADERS]
                .to_str()
                .unwrap()
                .contains("grpc-status")
        );
        let mut untouched = HeaderMap::new();
        Cors::default().decorate(Some(&origin), &mut untouched);
        cors.decorate(None, &mut untouched);
        assert!(untouched.is_empty());
    }

    #[test]
    fn bad_origins_are_refused_with_the_reason() {
        assert!(
            Cors::parse("console.example.com")
                .unwrap_err()
                .contains("https://")
        );
        assert!(
            Cors::parse("https://a.example/app")
                .unwrap_err()
                .contains("path")
        );
        assert!(
            Cors::parse("https://*.example")
                .unwrap_err()
                .contains("wildcard")
        );
        let env = [(
            "FERRY_GATEWAY_CORS_ORIGINS".to_string(),
            "ftp://x".to_string(),
        )]
        .into();
        assert!(
            Cors::from_env(&env)
                .unwrap_err()
                .to_string()
                .contains("FERRY_GATEWAY_CORS_ORIGINS")
        );
        assert_eq!(
            Cors::from_env(&Default::default()).unwrap(),
            Cors::default()
        );
    }
}
