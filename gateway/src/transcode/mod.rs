//! JSON over HTTP and gRPC-Web on the gateway's port, translated into gRPC calls that take
//! the same path as every other call (auth, routing, balancing, audit).
//!
//! [`Transcoder`] is the routes' fallback (so it sees every path that no local gRPC route
//! matches) and dispatches on the content type:
//! - `application/grpc` (plain gRPC to a forwarded service) goes straight on;
//! - `application/grpc-web[+proto]` and `application/grpc-web-text[+proto]` are made plain
//!   gRPC, and the answer's trailers become the final body frame (`0x80`);
//! - anything else is JSON: the `google.api.http` rules ([`rules`]) turn method, path, query
//!   and body into a request message, the gRPC call is made, and the answer (or the
//!   `google.rpc.Status` error) comes back as proto3 JSON.
//!
//! In both cases the translated call goes to `inner`: the gateway's own `ferry.auth.v1`
//! services and the proxy, each behind [`crate::auth::layer::Authed`].
//!
//! HTTP/2 works on the gateway's port as it is (h2c, e.g. `curl --http2-prior-knowledge`);
//! HTTP/1.1 needs the kit's server to accept it (`accept_http1(true)`), see the module's
//! report.

pub mod cors;
pub mod rules;
pub mod template;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Limited};
use serde_json::json;
use tonic::body::Body;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

use self::rules::{HttpError, MAX_BODY_BYTES, Rules};

/// The service translated calls go to.
pub type Inner = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// The JSON and gRPC-Web front of the gateway.
#[derive(Clone)]
pub struct Transcoder {
    rules: Arc<Rules>,
    cors: cors::Cors,
    inner: Inner,
    /// Where plain gRPC goes: it already missed the local routes, so straight to the
    /// forwarding service (`inner` when there is no other).
    grpc: Inner,
}

impl Transcoder {
    /// Translates calls by `rules` and hands them to `inner`.
    pub fn new(rules: Arc<Rules>, inner: Inner) -> Self {
        Self {
            rules,
            cors: cors::Cors::default(),
            grpc: inner.clone(),
            inner,
        }
    }

    /// Answers browsers of the origins `cors` allows (preflights, CORS headers).
    pub fn with_cors(mut self, cors: cors::Cors) -> Self {
        self.cors = cors;
        self
    }

    /// The gateway's own: the auth services on `api` and `forward` (the proxy), every one
    /// behind the auth layer of `shared`.
    pub fn gateway<S>(
        api: crate::auth::api::AuthApi,
        shared: Arc<crate::auth::layer::AuthShared>,
        forward: S,
    ) -> anyhow::Result<Self>
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        use crate::auth::layer::Authed;
        use ferry_proto::ferry::auth::v1::audit_service_server::AuditServiceServer;
        use ferry_proto::ferry::auth::v1::role_binding_service_server::RoleBindingServiceServer;
        use ferry_proto::ferry::auth::v1::role_service_server::RoleServiceServer;
        use ferry_proto::ferry::auth::v1::service_account_service_server::ServiceAccountServiceServer;
        use ferry_proto::ferry::auth::v1::token_service_server::TokenServiceServer;
        use ferry_proto::ferry::auth::v1::user_service_server::UserServiceServer;
        let mut builder = tonic::service::Routes::builder();
        builder
            .add_service(Authed::new(
                TokenServiceServer::new(api.clone()),
                shared.clone(),
            ))
            .add_service(Authed::new(
                UserServiceServer::new(api.clone()),
                shared.clone(),
            ))
            .add_service(Authed::new(
                ServiceAccountServiceServer::new(api.clone()),
                shared.clone(),
            ))
            .add_service(Authed::new(
                RoleServiceServer::new(api.clone()),
                shared.clone(),
            ))
            .add_service(Authed::new(
                RoleBindingServiceServer::new(api.clone()),
                shared.clone(),
            ))
            .add_service(Authed::new(AuditServiceServer::new(api), shared));
        let grpc = BoxCloneSyncService::new(forward.clone());
        let forward =
            forward.map_request(|request: Request<axum::body::Body>| request.map(Body::new));
        let router = builder
            .routes()
            .into_axum_router()
            .fallback_service(forward);
        let inner = BoxCloneSyncService::new(ServiceExt::<Request<Body>>::map_response(
            router,
            |response: Response<axum::body::Body>| response.map(Body::new),
        ));
        Ok(Self {
            rules: Arc::new(Rules::ferry()?),
            cors: cors::Cors::default(),
            inner,
            grpc,
        })
    }
}

impl Service<Request<Body>> for Transcoder {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if let Some(answer) = self.cors.preflight(&request) {
            return Box::pin(std::future::ready(Ok(answer)));
        }
        let origin = request.headers().get(http::header::ORIGIN).cloned();
        let cors = self.cors.clone();
        let content_type = content_type_of(&request);
        if content_type.starts_with("application/grpc-web") {
            let inner = self.inner.clone();
            let text = content_type.starts_with("application/grpc-web-text");
            return Box::pin(async move {
                let mut response = grpc_web(inner, request, text).await;
                cors.decorate(origin.as_ref(), response.headers_mut());
                Ok(response)
            });
        }
        if content_type.starts_with("application/grpc") {
            return Box::pin(self.grpc.clone().oneshot(request));
        }
        let rules = self.rules.clone();
        let inner = self.inner.clone();
        Box::pin(async move {
            let mut response = match json_call(&rules, inner, request).await {
                Ok(response) => response,
                Err(error) => http_error(&error),
            };
            cors.decorate(origin.as_ref(), response.headers_mut());
            Ok(response)
        })
    }
}

/// The content type of `request`, lowercased (empty when none).
fn content_type_of(request: &Request<Body>) -> String {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A service the gateway serves itself (a `ferry.auth.v1` route), answering gRPC-Web
/// and CORS preflights too: the local routes see those paths before the [`Transcoder`]
/// (the fallback) could, so they translate gRPC-Web the same way ([`grpc_web`]) around
/// the service, and plain gRPC passes as it is.
#[derive(Clone)]
pub struct GrpcWeb<S> {
    inner: S,
    cors: cors::Cors,
}

impl<S> GrpcWeb<S> {
    /// `inner`, answering the browsers of the origins `cors` allows.
    pub fn new(inner: S, cors: cors::Cors) -> Self {
        Self { inner, cors }
    }
}

impl<S: tonic::server::NamedService> tonic::server::NamedService for GrpcWeb<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<Request<Body>> for GrpcWeb<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if let Some(answer) = self.cors.preflight(&request) {
            return Box::pin(std::future::ready(Ok(answer)));
        }
        let origin = request.headers().get(http::header::ORIGIN).cloned();
        let cors = self.cors.clone();
        let content_type = content_type_of(&request);
        let inner = self.inner.clone();
        Box::pin(async move {
            let mut response = if content_type.starts_with("application/grpc-web") {
                let text = content_type.starts_with("application/grpc-web-text");
                grpc_web(BoxCloneSyncService::new(inner), request, text).await
            } else {
                inner.oneshot(request).await?
            };
            cors.decorate(origin.as_ref(), response.headers_mut());
            Ok(response)
        })
    }
}

/// Reads a whole request body, at most [`MAX_BODY_BYTES`].
async fn read_body(body: Body) -> Result<Bytes, HttpError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(HttpError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        }),
        Err(error) => Err(HttpError {
            status: StatusCode::BAD_REQUEST,
            message: format!("the request body could not be read: {error}"),
        }),
    }
}

/// Headers a translated call keeps from the HTTP request (auth, tracing, request id...).
fn forwarded_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        match name.as_str() {
            "content-type" | "content-length" | "host" | "connection" | "transfer-encoding"
            | "accept" | "accept-encoding" | "te" | "upgrade" | "keep-alive" => {}
            _ => {
                out.append(name.clone(), value.clone());
            }
        }
    }
    out.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    out.insert("te", HeaderValue::from_static("trailers"));
    out
}

/// The answer of a gRPC call, read whole.
struct Answer {
    headers: HeaderMap,
    data: Bytes,
    trailers: HeaderMap,
}

async fn call_grpc(
    inner: Inner,
    path: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Answer, HttpError> {
    let mut request = Request::new(Body::new(http_body_util::Full::new(body)));
    *request.method_mut() = Method::POST;
    *request.version_mut() = Version::HTTP_2;
    *request.uri_mut() = path.parse().map_err(|_| HttpError {
        status: StatusCode::BAD_REQUEST,
        message: format!("bad method path {path:?}"),
    })?;
    *request.headers_mut() = headers;
    let Ok(response) = inner.oneshot(request).await;
    let (head, body) = response.into_parts();
    let collected = body.collect().await.map_err(|error| HttpError {
        status: StatusCode::BAD_GATEWAY,
        message: format!("the answer broke off: {error}"),
    })?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    Ok(Answer {
        headers: head.headers,
        data: collected.to_bytes(),
        trailers,
    })
}

impl Answer {
    /// The call's status: from the trailers, or the headers of a trailers-only answer.
    fn status(&self) -> Status {
        Status::from_header_map(&self.trailers)
            .or_else(|| Status::from_header_map(&self.headers))
            .unwrap_or_else(|| Status::internal("the answer carries no grpc-status"))
    }
}

/// Frames one message (uncompressed).
fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(message.len() + 5);
    out.put_u8(0);
    out.put_u32(message.len() as u32);
    out.put_slice(message);
    out.freeze()
}

/// The first message of a framed body.
fn unframe(data: &[u8]) -> Result<&[u8], HttpError> {
    let bad = |message: &str| HttpError {
        status: StatusCode::BAD_GATEWAY,
        message: message.to_string(),
    };
    if data.len() < 5 {
        return Err(bad("the answer holds no message"));
    }
    if data[0] != 0 {
        return Err(bad("the answer is compressed"));
    }
    let length = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
    data.get(5..5 + length)
        .ok_or_else(|| bad("the answer's message is cut short"))
}

async fn json_call(
    rules: &Rules,
    inner: Inner,
    request: Request<Body>,
) -> Result<Response<Body>, HttpError> {
    let (head, body) = request.into_parts();
    let body = read_body(body).await?;
    let transcoded = rules.transcode(&head.method, head.uri.path(), head.uri.query(), &body)?;
    let rule = rules.get(transcoded.rule);
    let answer = call_grpc(
        inner,
        &rule.grpc_path,
        forwarded_headers(&head.headers),
        frame(&transcoded.message),
    )
    .await?;
    let status = answer.status();
    if status.code() != Code::Ok {
        return Ok(status_response(&status));
    }
    let json = rules::render(rule, unframe(&answer.data)?)?;
    Ok(json_response(StatusCode::OK, json))
}

fn json_response(status: StatusCode, json: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::new(http_body_util::Full::new(Bytes::from(json))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A request refused before any call: `{"error": {...}}` with the gRPC code matching the
/// HTTP status.
fn http_error(error: &HttpError) -> Response<Body> {
    let code = match error.status {
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::NOT_IMPLEMENTED | StatusCode::METHOD_NOT_ALLOWED => Code::Unimplemented,
        StatusCode::PAYLOAD_TOO_LARGE => Code::ResourceExhausted,
        StatusCode::BAD_GATEWAY => Code::Internal,
        _ => Code::InvalidArgument,
    };
    let body = json!({"error": {
        "code": error.status.as_u16(),
        "message": error.message,
        "status": code_name(code),
        "details": [],
    }});
    json_response(error.status, body.to_string().into_bytes())
}

/// A gRPC error as JSON: `google.rpc.Status` with the HTTP status of its code.
fn status_response(status: &Status) -> Response<Body> {
    let http = http_status(status.code());
    let body = json!({"error": {
        "code": http.as_u16(),
        "message": status.message(),
        "status": code_name(status.code()),
        "details": details(status),
    }});
    json_response(http, body.to_string().into_bytes())
}

/// The rich error details of `status` as JSON (`@type` plus the message's fields).
fn details(status: &Status) -> Vec<serde_json::Value> {
    let details = status.get_error_details();
    let mut out = Vec::new();
    if let Some(info) = details.error_info() {
        out.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": info.reason,
            "domain": info.domain,
            "metadata": info.metadata,
        }));
    }
    if let Some(bad) = details.bad_request() {
        let violations: Vec<_> = bad
            .field_violations
            .iter()
            .map(
                |violation| json!({"field": violation.field, "description": violation.description}),
            )
            .collect();
        out.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": violations,
        }));
    }
    if let Some(info) = details.resource_info() {
        out.push(json!({
            "@type": "type.googleapis.com/google.rpc.ResourceInfo",
            "resourceType": info.resource_type,
            "resourceName": info.resource_name,
            "owner": info.owner,
            "description": info.description,
        }));
    }
    if let Some(info) = details.request_info() {
        out.push(json!({
            "@type": "type.googleapis.com/google.rpc.RequestInfo",
            "requestId": info.request_id,
            "servingData": info.serving_data,
        }));
    }
    out
}

/// The HTTP status of a gRPC code (google.rpc.Code's mapping).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `google.rpc.Code` name of `code`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A gRPC-Web call: the body is gRPC framing already (base64 for `-text`); the answer's
/// data is passed on and its trailers (or a trailers-only answer's headers) become the
/// final `0x80` frame.
async fn grpc_web(inner: Inner, request: Request<Body>, text: bool) -> Response<Body> {
    let (head, body) = request.into_parts();
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(error) => return web_status(&Status::resource_exhausted(error.message), text),
    };
    let body = if text {
        match base64::engine::general_purpose::STANDARD.decode(&body) {
            Ok(decoded) => Bytes::from(decoded),
            Err(error) => {
                return web_status(
                    &Status::invalid_argument(format!(
                        "the grpc-web-text body is not base64: {error}"
                    )),
                    text,
                );
            }
        }
    } else {
        body
    };
    let answer = match call_grpc(
        inner,
        head.uri.path(),
        forwarded_headers(&head.headers),
        body,
    )
    .await
    {
        Ok(answer) => answer,
        Err(error) => return web_status(&Status::internal(error.message), text),
    };
    let mut trailers = answer.trailers.clone();
    let mut headers = HeaderMap::new();
    for (name, value) in &answer.headers {
        let name_text = name.as_str();
        if name_text.starts_with("grpc-") {
            // A trailers-only answer: its status goes in the trailer frame.
            trailers.entry(name.clone()).or_insert(value.clone());
        } else if name_text != "content-type" && name_text != "content-length" {
            headers.append(name.clone(), value.clone());
        }
    }
    web_response(headers, answer.data, &trailers, text)
}

fn web_status(status: &Status, text: bool) -> Response<Body> {
    let mut trailers = HeaderMap::new();
    let _ = status.add_header(&mut trailers);
    web_response(HeaderMap::new(), Bytes::new(), &trailers, text)
}

fn web_response(
    headers: HeaderMap,
    data: Bytes,
    trailers: &HeaderMap,
    text: bool,
) -> Response<Body> {
    let mut block = Vec::new();
    for (name, value) in trailers {
        block.extend_from_slice(name.as_str().as_bytes());
        block.extend_from_slice(b": ");
        block.extend_from_slice(value.as_bytes());
        block.extend_from_slice(b"\r\n");
    }
    let mut body = BytesMut::with_capacity(data.len() + block.len() + 5);
    body.put_slice(&data);
    body.put_u8(0x80);
    body.put_u32(block.len() as u32);
    body.put_slice(&block);
    let body = if text {
        Bytes::from(base64::engine::general_purpose::STANDARD.encode(&body))
    } else {
        body.freeze()
    };
    let mut response = Response::new(Body::new(http_body_util::Full::new(body)));
    *response.headers_mut() = headers;
    response.headers_mut().remove(CONTENT_LENGTH);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(if text {
            "application/grpc-web-text+proto"
        } else {
            "application/grpc-web+proto"
        }),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_http_statuses() {
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::AlreadyExists), StatusCode::CONFLICT);
        assert_eq!(code_name(Code::PermissionDenied), "PERMISSION_DENIED");
    }

    #[test]
    fn frames_round_trip_and_short_ones_are_refused() {
        let framed = frame(b"hello");
        assert_eq!(unframe(&framed).unwrap(), b"hello");
        assert!(unframe(&framed[..7]).is_err());
        assert!(unframe(b"").is_err());
    }

    #[tokio::test]
    async fn web_answers_end_with_a_trailer_frame() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let response = web_response(HeaderMap::new(), frame(b"x"), &trailers, false);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..6], &frame(b"x")[..]);
        assert_eq!(body[6], 0x80);
        assert_eq!(&body[11..], b"grpc-status: 0\r\n");
    }
}
