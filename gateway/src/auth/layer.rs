//! The auth layer: wraps the proxy and the gateway's own auth services, so every
//! `ferry.*.v1` call is authenticated, authorized, passed on, then audited.
//!
//! For one call, [`Authed`]:
//! 1. lets everything outside Ferry's API through untouched (health, reflection: the
//!    kit serves those as routes this layer does not wrap anyway);
//! 2. authenticates the `authorization: Bearer <token>` metadata against the replica's
//!    in-memory [`AuthState`] (UNAUTHENTICATED with `ErrorInfo` otherwise);
//! 3. buffers a unary request (the proxy needs it whole anyway, and takes these bytes,
//!    [`crate::call::BufferedBody`], rather than reading the body again) and reads the
//!    resource name it targets from the request message ([`ResourceFields`]), decoding
//!    only the wire format of the one field it needs;
//! 4. decides the method's permission ([`model::permission_of`]) for that resource's
//!    namespace: PERMISSION_DENIED here, before anything is forwarded or read, so a
//!    caller who may not see a resource never learns whether it exists;
//! 5. passes the call on without its `authorization` metadata (the secret never leaves
//!    the gateway) and with the [`model::Caller`] in the request's extensions (the local
//!    services read it), and records an audit entry once the answer's status is known
//!    (its trailers), for every call that changes state and every refused call (the
//!    entry is only made for those: a read that passes costs no audit work).
//!
//! Every step reads the replica's current snapshot, so every call is checked against the
//! records as they are now (a revoked token is refused from the watch event on); what is
//! worked out once is only what depends on the API alone (each method's permission, shape
//! and resource fields).

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use ferry_proto::ferry::auth::v1::AuditEntry;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use prost::Message as _;
use prost_types::FileDescriptorSet;
use prost_types::field_descriptor_proto::Type;
use tokio::sync::watch;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;
use tower::Service;

use super::model::{self, AuthFailure, AuthState, Decision};
use super::store::{AuditLog, timestamp};
use crate::call::{self, Methods};
use crate::error::GatewayError;
use crate::limits::{Key, RateLimiter};

const X_REQUEST_ID: &str = "x-request-id";

/// Where each method's request names its resource: a path of field numbers to a
/// `string` (`name`, else `parent`, else the `name` inside the request's resource
/// message, as in `UpdateDeploymentRequest.deployment.name`). Derived from the API's
/// descriptors: field 1 is *not* always the name (`CreateNamespaceRequest` has
/// `namespace_id` there), so no position is assumed.
///
/// Create methods also name the resource they make, for the audit log:
/// `{parent}/{collection}/{<x>_id}` (`namespaces/dev/roleBindings/viewers`); the
/// decision itself is taken on the parent, which exists before the call.
#[derive(Clone, Debug, Default)]
pub struct ResourceFields {
    by_path: HashMap<String, Fields>,
}

#[derive(Clone, Debug, Default)]
struct Fields {
    target: Vec<u32>,
    /// For Create methods: the `<x>_id` field, the parent field, the collection.
    create: Option<(u32, Option<u32>, String)>,
    /// The method's permission ([`model::permission_of`] of its path), worked out once
    /// rather than on every call.
    permission: Option<model::Permission>,
}

/// The resource a request targets: for the decision, and for the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// The name (or parent) the decision is taken on; empty when none.
    pub decided_on: String,
    /// The name recorded in the audit log (a create's new resource).
    pub audited: String,
}

impl ResourceFields {
    /// The fields of Ferry's API.
    pub fn ferry() -> Result<Self, prost::DecodeError> {
        let set = FileDescriptorSet::decode(ferry_proto::FILE_DESCRIPTOR_SET)?;
        let mut messages = HashMap::new();
        for file in &set.file {
            for message in &file.message_type {
                messages.insert(format!(".{}.{}", file.package(), message.name()), message);
            }
        }
        let string_field = |message: &prost_types::DescriptorProto, name: &str| {
            message
                .field
                .iter()
                .find(|field| field.name() == name && field.r#type() == Type::String)
                .and_then(|field| u32::try_from(field.number()).ok())
        };
        let mut by_path = HashMap::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let Some(input) = messages.get(method.input_type()) else {
                        continue;
                    };
                    let direct = string_field(input, "name")
                        .or_else(|| string_field(input, "parent"))
                        .map(|number| vec![number]);
                    let nested = || {
                        input.field.iter().find_map(|field| {
                            let inner = messages.get(field.type_name())?;
                            let name = string_field(inner, "name")?;
                            (field.r#type() == Type::Message && field.name() != "update_mask")
                                .then_some(vec![u32::try_from(field.number()).ok()?, name])
                        })
                    };
                    let create = model::created_collection(method.name()).and_then(|collection| {
                        let id = input.field.iter().find(|field| {
                            field.r#type() == Type::String
                                && field.name().ends_with("_id")
                                && field.name() != "request_id"
                        })?;
                        Some((
                            u32::try_from(id.number()).ok()?,
                            string_field(input, "parent"),
                            collection,
                        ))
                    });
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    let fields = Fields {
                        target: direct.or_else(nested).unwrap_or_default(),
                        create,
                        permission: model::permission_of(&path),
                    };
                    by_path.insert(path, fields);
                }
            }
        }
        Ok(Self { by_path })
    }

    /// The permission a call of `path` needs: [`model::permission_of`], looked up for
    /// the methods of the API, derived for the others.
    pub fn permission(&self, path: &str) -> Option<Cow<'_, model::Permission>> {
        match self.by_path.get(path) {
            Some(fields) => fields.permission.as_ref().map(Cow::Borrowed),
            None => model::permission_of(path).map(Cow::Owned),
        }
    }

    /// The resource a request message targets (empty names when it names none).
    pub fn extract(&self, path: &str, message: &[u8]) -> Target {
        let Some(fields) = self.by_path.get(path) else {
            return Target::default();
        };
        let decided_on = string_at(message, &fields.target);
        let audited = fields
            .create
            .as_ref()
            .and_then(|(id, parent, collection)| {
                let id = string_at(message, &[*id]);
                if id.is_empty() {
                    return None;
                }
                let parent = parent
                    .map(|parent| string_at(message, &[parent]))
                    .unwrap_or_default();
                Some(if parent.is_empty() {
                    format!("{collection}/{id}")
                } else {
                    format!("{parent}/{collection}/{id}")
                })
            })
            .unwrap_or_else(|| decided_on.clone());
        Target {
            decided_on,
            audited,
        }
    }
}

/// The string at a path of field numbers; empty when absent or not UTF-8.
fn string_at(message: &[u8], fields: &[u32]) -> String {
    if fields.is_empty() {
        return String::new();
    }
    let mut current = message;
    for number in fields {
        match call::length_delimited_field(current, *number) {
            Some(inner) => current = inner,
            None => return String::new(),
        }
    }
    String::from_utf8(current.to_vec()).unwrap_or_default()
}

/// What the layer shares across calls.
pub struct AuthShared {
    /// False when `FERRY_AUTH=disabled`: calls pass unchecked and unaudited.
    pub enabled: bool,
    /// The replica's view of the auth records.
    pub state: watch::Receiver<Arc<AuthState>>,
    /// Method shapes.
    pub methods: Arc<Methods>,
    /// Where requests name their resource.
    pub resources: ResourceFields,
    /// The audit log.
    pub audit: AuditLog,
    /// The replica's rate limits, per token (per client address for calls without a
    /// valid token).
    pub limiter: RateLimiter,
    /// The largest request message, in bytes.
    pub max_message_bytes: usize,
}

/// A service behind the auth layer (see the module documentation).
#[derive(Clone)]
pub struct Authed<S> {
    inner: S,
    shared: Arc<AuthShared>,
}

impl<S> Authed<S> {
    /// Puts `inner` behind the layer.
    pub fn new(inner: S, shared: Arc<AuthShared>) -> Self {
        Self { inner, shared }
    }
}

impl<S: NamedService> NamedService for Authed<S> {
    const NAME: &'static str = S::NAME;
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl<S> Service<Request<Body>> for Authed<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The ready service answers this call; its clone takes the next one.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move { Ok(handle(shared, inner, request).await) })
    }
}

async fn handle<S>(
    shared: Arc<AuthShared>,
    mut inner: S,
    mut request: Request<Body>,
) -> Response<Body>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    // Only the gateway says who calls: a client's own claim never reaches a service.
    request
        .headers_mut()
        .remove(ferry_kit::caller::CALLER_HEADER);
    if !shared.enabled {
        return pass(&mut inner, request).await;
    }
    let permission = match shared.resources.permission(request.uri().path()) {
        Some(permission) => permission,
        None => return pass(&mut inner, request).await,
    };
    let path = request.uri().path().to_string();
    let received = SystemTime::now();
    let started = Instant::now();
    if !request.headers().contains_key(X_REQUEST_ID) {
        request
            .headers_mut()
            .insert(X_REQUEST_ID, call::new_request_id());
    }
    // The audit entry is made only for a call that will be recorded: one that changes
    // state, or one refused here.
    let audit_entry = |headers: &HeaderMap, extensions: &http::Extensions| PendingAudit {
        audit: shared.audit.clone(),
        entry: AuditEntry {
            create_time: Some(timestamp(received)),
            method: path.clone(),
            request_id: header(headers, X_REQUEST_ID),
            user_agent: header(headers, "user-agent"),
            client_address: extensions
                .get::<tonic::transport::server::TcpConnectInfo>()
                .and_then(|info| info.remote_addr())
                .map(|address| address.to_string())
                .unwrap_or_default(),
            ..Default::default()
        },
        started,
    };

    let state = shared.state.borrow().clone();
    let authorization = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let caller = match state.authenticate(authorization, received) {
        Ok(caller) => caller,
        Err(failure) => {
            // Limited per address, and not audited past the limit: a flood of bad tokens
            // cannot flood the audit log.
            let address = request
                .extensions()
                .get::<tonic::transport::server::TcpConnectInfo>()
                .and_then(|info| info.remote_addr())
                .map(|address| address.ip().to_string())
                .unwrap_or_default();
            if let Err(refused) = shared.limiter.check(Key::Address(address)) {
                return GatewayError::RateLimited {
                    retry_after: refused.retry_after,
                }
                .into_http();
            }
            let token = authorization
                .and_then(|value| value.strip_prefix("Bearer "))
                .and_then(|value| model::parse_token_string(value.trim()))
                .filter(|(id, _)| state.tokens.contains_key(*id))
                .map(|(id, _)| format!("tokens/{id}"))
                .unwrap_or_default();
            let mut pending = audit_entry(request.headers(), request.extensions());
            pending.entry.token = token;
            return refuse(pending, GatewayError::Unauthenticated { failure });
        }
    };

    let (mut head, body) = request.into_parts();
    let info = shared.methods.get(&path).copied();
    let unary = info.is_some_and(|info| !info.client_streaming);
    let (body, resource) = if unary {
        let limit = shared.max_message_bytes;
        let bytes = match Limited::new(body, limit + 5).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => {
                return GatewayError::MessageTooLarge { limit }.into_http();
            }
            Err(_) => return GatewayError::RequestBroken.into_http(),
        };
        let target = call::single_message(&bytes)
            .map(|message| shared.resources.extract(&path, message))
            .unwrap_or_default();
        // The proxy takes the bytes read here rather than reading the body again.
        head.extensions.insert(call::BufferedBody(bytes.clone()));
        (Body::new(http_body_util::Full::new(bytes)), target)
    } else {
        (body, Target::default())
    };
    let pending = |head: &http::request::Parts| {
        let mut pending = audit_entry(&head.headers, &head.extensions);
        pending.entry.actor = caller.principal.clone();
        pending.entry.token = caller.token.clone();
        pending.entry.namespace = model::namespace_of(&resource.audited).unwrap_or_default();
        pending.entry.resource = resource.audited.clone();
        pending
    };

    // After authentication (the token is known) and before authorization: a caller past
    // its rate is refused whatever it asks for, and the refusal is audited (the first of
    // each period only: a flood of refusals must not become a flood of store writes).
    let key = if caller.token.is_empty() {
        Key::Token(caller.principal.clone())
    } else {
        Key::Token(caller.token.clone())
    };
    if let Err(refused) = shared.limiter.check(key) {
        let error = GatewayError::RateLimited {
            retry_after: refused.retry_after,
        };
        return if refused.record {
            refuse(pending(&head), error)
        } else {
            error.into_http()
        };
    }
    if state.authorize(&caller, &permission.name, &resource.decided_on) == Decision::Deny {
        return refuse(
            pending(&head),
            GatewayError::PermissionDenied {
                permission: permission.into_owned().name,
                resource: resource.decided_on,
            },
        );
    }
    let pending = (!permission.read).then(|| pending(&head));
    let token_id = caller
        .token
        .strip_prefix("tokens/")
        .unwrap_or_default()
        .to_string();
    if let Ok(value) = HeaderValue::from_str(&caller.principal) {
        head.headers.insert(ferry_kit::caller::CALLER_HEADER, value);
    }
    head.extensions.insert(caller);
    // The secret stops here: services behind the gateway never see it (the local
    // services read the caller from the extensions).
    head.headers.remove(http::header::AUTHORIZATION);
    let response = pass(&mut inner, Request::from_parts(head, body)).await;
    // A server stream ends (UNAUTHENTICATED) as soon as its token stops being valid.
    let server_streaming = info.is_none_or(|info| info.server_streaming);
    let response = if server_streaming {
        let (head, body) = response.into_parts();
        Response::from_parts(
            head,
            Body::new(Revocable {
                inner: body,
                invalid: Box::pin(token_invalidated(shared.state.clone(), token_id)),
                ended: false,
            }),
        )
    } else {
        response
    };
    let Some(pending) = pending else {
        // A read that passed: not audited.
        return response;
    };
    let (head, body) = response.into_parts();
    if let Some(status) = Status::from_header_map(&head.headers) {
        // Trailers-only: the status is in the headers.
        pending.finish(&status);
        return Response::from_parts(head, body);
    }
    Response::from_parts(
        head,
        Body::new(AuditedBody {
            inner: body,
            pending: Some(pending),
        }),
    )
}

async fn pass<S>(inner: &mut S, request: Request<Body>) -> Response<Body>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    match inner.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn refuse(pending: PendingAudit, error: GatewayError) -> Response<Body> {
    let status = Status::from(ferry_kit::ApiError::from(error));
    pending.finish(&status);
    status.into_http()
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// An audit entry waiting for the call's status.
struct PendingAudit {
    audit: AuditLog,
    entry: AuditEntry,
    started: Instant,
}

impl PendingAudit {
    /// Completes the entry with `status` and stores it in the background.
    fn finish(mut self, status: &Status) {
        let entry = &mut self.entry;
        entry.result_code = status.code() as i32;
        if status.code() != Code::Ok {
            entry.result_message = status.message().to_string();
            entry.result_reason = status
                .get_error_details()
                .error_info()
                .map(|info| info.reason.clone())
                .unwrap_or_default();
        }
        let latency = self.started.elapsed();
        entry.latency = Some(prost_types::Duration {
            seconds: latency.as_secs() as i64,
            nanos: latency.subsec_nanos() as i32,
        });
        let received = entry
            .create_time
            .map(|t| {
                SystemTime::UNIX_EPOCH
                    + std::time::Duration::new(t.seconds.max(0) as u64, t.nanos.max(0) as u32)
            })
            .unwrap_or_else(SystemTime::now);
        let id = AuditLog::new_id(received);
        entry.name = format!("auditEntries/{id}");
        entry.uid = uuid::Uuid::new_v4().to_string();
        let method = entry.method.rsplit('/').next().unwrap_or_default();
        let actor = if entry.actor.is_empty() {
            "unauthenticated"
        } else {
            &entry.actor
        };
        entry.display_name = format!("{actor} {method} {}: {:?}", entry.resource, status.code());
        let audit = self.audit.clone();
        let entry = std::mem::take(&mut self.entry);
        tokio::spawn(async move {
            if let Err(error) = audit.write(&entry).await {
                tracing::warn!(%error, method = %entry.method, "cannot store an audit entry");
            }
        });
    }
}

/// A response body that records the audit entry when the call's trailers pass (or
/// when the body ends or is dropped without them).
struct AuditedBody {
    inner: Body,
    pending: Option<PendingAudit>,
}

impl http_body::Body for AuditedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let status = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame.trailers_ref().map(|trailers| {
                Status::from_header_map(trailers)
                    .unwrap_or_else(|| Status::unknown("no grpc-status"))
            }),
            Poll::Ready(Some(Err(status))) => Some(status.clone()),
            Poll::Ready(None) => Some(Status::unknown("the answer ended without a status")),
            Poll::Pending => None,
        };
        if let Some(status) = status
            && let Some(pending) = this.pending.take()
        {
            pending.finish(&status);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for AuditedBody {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            pending.finish(&Status::cancelled(
                "the client went away before the answer ended",
            ));
        }
    }
}

/// Resolves once token `id` stops authenticating (revoked, deleted, its owner disabled
/// or deleted) in the replica's state: at the watch event that says so.
async fn token_invalidated(mut state: watch::Receiver<Arc<AuthState>>, id: String) -> AuthFailure {
    loop {
        let failure = {
            let current = state.borrow_and_update();
            match current.tokens.get(&id) {
                None => Some(AuthFailure::Invalid),
                Some(stored) if stored.token.revoked => Some(AuthFailure::Revoked),
                Some(stored) if !current.principal_enabled(&stored.token.owner) => {
                    Some(AuthFailure::OwnerDisabled)
                }
                Some(_) => None,
            }
        };
        if let Some(failure) = failure {
            return failure;
        }
        if state.changed().await.is_err() {
            // The gateway is stopping: the drain ends the stream.
            std::future::pending::<()>().await;
        }
    }
}

/// A server stream's body that ends with UNAUTHENTICATED trailers once its token is
/// no longer valid (revocation reaches open streams too, within the watch's latency).
struct Revocable {
    inner: Body,
    invalid: Pin<Box<dyn Future<Output = AuthFailure> + Send>>,
    ended: bool,
}

impl http_body::Body for Revocable {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        if let Poll::Ready(failure) = this.invalid.as_mut().poll(cx) {
            this.ended = true;
            let status = Status::from(ferry_kit::ApiError::from(GatewayError::Unauthenticated {
                failure,
            }));
            let mut trailers = HeaderMap::new();
            if status.add_header(&mut trailers).is_err() {
                trailers.insert(
                    "grpc-status",
                    HeaderValue::from(Code::Unauthenticated as i32),
                );
            }
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.ended = true;
        } else if let Poll::Ready(Some(Ok(frame))) = &polled
            && frame.is_trailers()
        {
            this.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}

/// The reason of a failed authentication, for the error.
pub fn failure_text(failure: AuthFailure) -> &'static str {
    match failure {
        AuthFailure::Missing => {
            "the call carries no token: send `authorization: Bearer <token>` metadata"
        }
        AuthFailure::Invalid => "the token is not valid",
        AuthFailure::Revoked => "the token was revoked",
        AuthFailure::Expired => "the token expired",
        AuthFailure::OwnerDisabled => "the token's owner is disabled or deleted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::auth::v1::CreateRoleBindingRequest;
    use ferry_proto::ferry::deploy::v1::{
        CreateNamespaceRequest, GetNamespaceRequest, Namespace, UpdateNamespaceRequest,
    };

    use std::sync::Mutex;

    use ferry_proto::ferry::auth::v1::Token;
    use ferry_store::{MemoryStore, Store};

    use crate::auth::model::StoredToken;
    use crate::auth::store::AuditLog;

    /// A gRPC request for `path` carrying `message`, with `authorization` if given.
    fn grpc_request(path: &str, message: &[u8], authorization: Option<&str>) -> Request<Body> {
        let mut frame = vec![0];
        frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
        frame.extend_from_slice(message);
        let mut builder = Request::builder().uri(path);
        if let Some(value) = authorization {
            builder = builder.header("authorization", value);
        }
        builder
            .body(Body::new(http_body_util::Full::new(Bytes::from(frame))))
            .unwrap()
    }

    /// What the service behind the layer saw of each call.
    type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

    /// The service the layer wraps in these tests.
    type Recorder = tower::util::BoxCloneService<Request<Body>, Response<Body>, Infallible>;

    fn layer_over_recorder() -> (Authed<Recorder>, Seen, String) {
        let mut state = AuthState::default();
        state.built_in.insert(model::ADMIN.into(), vec!["*".into()]);
        let secret = model::new_secret("t", [3; 48]);
        state.tokens.insert(
            "t".into(),
            StoredToken {
                token: Token {
                    name: "tokens/t".into(),
                    owner: "users/vera".into(),
                    ..Default::default()
                },
                salt: secret.salt.clone(),
                hash: secret.hash.clone(),
            },
        );
        state.users.insert("users/vera".into(), Default::default());
        state.bindings.insert(
            "namespaces/dev/roleBindings/b".into(),
            ferry_proto::ferry::auth::v1::RoleBinding {
                name: "namespaces/dev/roleBindings/b".into(),
                namespace: "namespaces/dev".into(),
                role: model::ADMIN.into(),
                members: vec!["users/vera".into()],
                ..Default::default()
            },
        );
        // The layer only reads the latest state, which outlives the sender.
        let (_, receiver) = watch::channel(Arc::new(state));
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let shared = Arc::new(AuthShared {
            enabled: true,
            state: receiver,
            methods: Arc::new(Methods::ferry().unwrap()),
            resources: ResourceFields::ferry().unwrap(),
            audit: AuditLog::new(store, std::time::Duration::from_secs(3600)),
            limiter: RateLimiter::new(Some(crate::limits::Rate {
                calls: 1,
                per: std::time::Duration::from_secs(60),
                burst: 3,
            })),
            max_message_bytes: 1024,
        });
        let seen: Seen = Arc::default();
        let recorder = seen.clone();
        let inner = tower::service_fn(move |request: Request<Body>| {
            let authorization = request
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_string());
            let principal = request
                .extensions()
                .get::<model::Caller>()
                .map(|caller| caller.principal.clone());
            recorder.lock().unwrap().push((authorization, principal));
            async { Ok::<_, Infallible>(Status::ok("").into_http()) }
        });
        (
            Authed::new(tower::util::BoxCloneService::new(inner), shared),
            seen,
            format!("Bearer {}", secret.token_string),
        )
    }

    #[tokio::test]
    async fn the_layer_decides_before_passing_on_and_keeps_the_secret() {
        let (mut layer, seen, authorization) = layer_over_recorder();
        let path = "/ferry.deploy.v1.NamespaceService/GetNamespace";
        let get = |name: &str| GetNamespaceRequest { name: name.into() }.encode_to_vec();

        let response = layer
            .call(grpc_request(
                path,
                &get("namespaces/dev"),
                Some(&authorization),
            ))
            .await
            .unwrap();
        assert_eq!(
            Status::from_header_map(response.headers()).unwrap().code(),
            Code::Ok
        );
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            &[(None, Some("users/vera".to_string()))],
            "passed on with the caller and without the secret"
        );

        for (message, authorization, code) in [
            (
                get("namespaces/prod"),
                Some(authorization.as_str()),
                Code::PermissionDenied,
            ),
            (get("namespaces/dev"), None, Code::Unauthenticated),
            (
                get("namespaces/dev"),
                Some("Bearer ferry_t_wrong"),
                Code::Unauthenticated,
            ),
        ] {
            let response = layer
                .call(grpc_request(path, &message, authorization))
                .await
                .unwrap();
            let status = Status::from_header_map(response.headers()).unwrap();
            assert_eq!(status.code(), code, "{status:?}");
        }
        assert_eq!(seen.lock().unwrap().len(), 1, "refused calls never pass");

        // Health and other non-Ferry paths pass untouched.
        layer
            .call(grpc_request("/grpc.health.v1.Health/Check", &[], None))
            .await
            .unwrap();
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    /// The proxy behind the layer takes the unary body the layer read from the request's
    /// extensions: they must be the very bytes the body holds.
    #[tokio::test]
    async fn a_unary_body_is_handed_on_with_the_bytes_read() {
        let (layer, _, authorization) = layer_over_recorder();
        // Per call: the bytes attached to the request, and its body.
        type Handed = Arc<Mutex<Vec<(Option<Bytes>, Bytes)>>>;
        let handed: Handed = Arc::default();
        let record = handed.clone();
        let inner = tower::service_fn(move |request: Request<Body>| {
            let record = record.clone();
            async move {
                let buffered = request
                    .extensions()
                    .get::<call::BufferedBody>()
                    .map(|buffered| buffered.0.clone());
                let body = request.into_body().collect().await.unwrap().to_bytes();
                record.lock().unwrap().push((buffered, body));
                Ok::<_, Infallible>(Status::ok("").into_http())
            }
        });
        let mut layer = Authed::new(inner, layer.shared.clone());
        let message = GetNamespaceRequest {
            name: "namespaces/dev".into(),
        }
        .encode_to_vec();
        let response = layer
            .call(grpc_request(
                "/ferry.deploy.v1.NamespaceService/GetNamespace",
                &message,
                Some(&authorization),
            ))
            .await
            .unwrap();
        assert_eq!(
            Status::from_header_map(response.headers()).unwrap().code(),
            Code::Ok
        );
        let handed = handed.lock().unwrap();
        let [(Some(buffered), body)] = handed.as_slice() else {
            panic!("one call, with its bytes attached: {handed:?}");
        };
        assert_eq!(buffered, body);
        assert_eq!(call::single_message(buffered), Some(message.as_slice()));
    }

    #[tokio::test]
    async fn past_its_burst_a_token_or_an_address_is_rate_limited() {
        let (mut layer, seen, authorization) = layer_over_recorder();
        let path = "/ferry.deploy.v1.NamespaceService/GetNamespace";
        let get = |name: &str| GetNamespaceRequest { name: name.into() }.encode_to_vec();
        let mut call = async |message: &[u8], authorization: Option<&str>| {
            let response = layer
                .call(grpc_request(path, message, authorization))
                .await
                .unwrap();
            Status::from_header_map(response.headers()).unwrap()
        };
        // The layer's limiter: 1 call a minute, a burst of 3. Refused calls count too.
        let token = Some(authorization.as_str());
        assert_eq!(call(&get("namespaces/dev"), token).await.code(), Code::Ok);
        assert_eq!(
            call(&get("namespaces/prod"), token).await.code(),
            Code::PermissionDenied
        );
        assert_eq!(call(&get("namespaces/dev"), token).await.code(), Code::Ok);
        let limited = call(&get("namespaces/dev"), token).await;
        assert_eq!(limited.code(), Code::ResourceExhausted, "{limited:?}");
        let details = limited.get_error_details();
        assert_eq!(details.error_info().unwrap().reason, "RATE_LIMITED");
        let delay = details.retry_info().unwrap().retry_delay.unwrap();
        assert!(
            delay > std::time::Duration::from_secs(50),
            "about a minute: {delay:?}"
        );
        assert_eq!(seen.lock().unwrap().len(), 2, "a limited call never passes");

        // Without a valid token: limited by address (here, none known).
        for _ in 0..3 {
            let status = call(&get("namespaces/dev"), Some("Bearer ferry_t_wrong")).await;
            assert_eq!(status.code(), Code::Unauthenticated);
        }
        let limited = call(&get("namespaces/dev"), None).await;
        assert_eq!(limited.code(), Code::ResourceExhausted, "{limited:?}");
        assert_eq!(
            limited.get_error_details().error_info().unwrap().reason,
            "RATE_LIMITED"
        );
    }

    #[tokio::test]
    async fn a_request_above_the_message_limit_is_resource_exhausted() {
        let (mut layer, seen, authorization) = layer_over_recorder();
        let path = "/ferry.deploy.v1.NamespaceService/GetNamespace";
        let large = GetNamespaceRequest {
            name: "n".repeat(2000),
        }
        .encode_to_vec();
        let response = layer
            .call(grpc_request(path, &large, Some(&authorization)))
            .await
            .unwrap();
        let status = Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(
            status.get_error_details().error_info().unwrap().reason,
            "MESSAGE_TOO_LARGE"
        );
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn resources_come_from_name_parent_or_the_nested_resource() {
        let fields = ResourceFields::ferry().unwrap();
        let get = GetNamespaceRequest {
            name: "namespaces/dev".into(),
        }
        .encode_to_vec();
        let target = fields.extract("/ferry.deploy.v1.NamespaceService/GetNamespace", &get);
        assert_eq!(target.decided_on, "namespaces/dev");
        assert_eq!(target.audited, "namespaces/dev");
        let update = UpdateNamespaceRequest {
            namespace: Some(Namespace {
                name: "namespaces/prod".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec();
        assert_eq!(
            fields
                .extract("/ferry.deploy.v1.NamespaceService/UpdateNamespace", &update)
                .decided_on,
            "namespaces/prod"
        );
        // Field 1 of CreateNamespaceRequest is the id, not a name: the decision is
        // platform-wide, the audit names the new namespace.
        let create = CreateNamespaceRequest {
            namespace_id: "fresh".into(),
            ..Default::default()
        }
        .encode_to_vec();
        let target = fields.extract("/ferry.deploy.v1.NamespaceService/CreateNamespace", &create);
        assert_eq!(target.decided_on, "");
        assert_eq!(target.audited, "namespaces/fresh");
        let binding = CreateRoleBindingRequest {
            parent: "namespaces/dev".into(),
            role_binding_id: "viewers".into(),
            ..Default::default()
        }
        .encode_to_vec();
        let target = fields.extract(
            "/ferry.auth.v1.RoleBindingService/CreateRoleBinding",
            &binding,
        );
        assert_eq!(target.decided_on, "namespaces/dev");
        assert_eq!(target.audited, "namespaces/dev/roleBindings/viewers");
        assert_eq!(fields.extract("/unknown/Method", &get), Target::default());
    }
}
