//! The `ferry.auth.v1` servers the gateway runs: tokens, users, service accounts, roles,
//! role bindings and the audit log, over the records of [`super::store`].
//!
//! The auth layer has already authenticated and authorized each call (its [`Caller`]
//! is in the request's extensions; none when authentication is disabled), so handlers
//! only apply the rules that need the request's content: the owner of a new token,
//! which tokens a list shows, no privilege escalation through a binding.
//!
//! Every method of TokenService, UserService, ServiceAccountService, RoleService,
//! RoleBindingService and AuditService is served; updates and deletes of principals, roles
//! and bindings live in [`updates`].
//!
//! Filters are the AIP-160 subset `field = "value"` terms joined by `AND` (a trailing
//! `*` in the value matches a prefix); anything else is INVALID_ARGUMENT.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_proto::ferry::auth::v1::audit_service_server::AuditService;
use ferry_proto::ferry::auth::v1::get_caller_identity_response::PrincipalType;
use ferry_proto::ferry::auth::v1::role_binding_service_server::RoleBindingService;
use ferry_proto::ferry::auth::v1::role_service_server::RoleService;
use ferry_proto::ferry::auth::v1::service_account_service_server::ServiceAccountService;
use ferry_proto::ferry::auth::v1::token::{Expiration, State as TokenState};
use ferry_proto::ferry::auth::v1::token_service_server::TokenService;
use ferry_proto::ferry::auth::v1::user_service_server::UserService;
use ferry_proto::ferry::auth::v1::*;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_store::typed::get_msg;
use ferry_store::{ListOptions, Store, StoreError, keys};
use prost::Message;
use tokio::sync::watch;
use tonic::{Code, Request, Response, Status};

use super::model::{self, AuthState, Caller};
use super::store::{
    AUDIT, ROLE_BINDINGS, ROLES, SERVICE_ACCOUNTS, TOKENS, TokenRecord, USERS, random_bytes,
    timestamp,
};
use crate::error::DOMAIN;

mod updates;

/// Token lifetimes.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// When a new token names no expiry.
    pub default: Duration,
    /// The longest a token may live.
    pub max: Duration,
}

/// The auth API servers (one value serves every service; cheap to clone).
#[derive(Clone)]
pub struct AuthApi {
    store: Arc<dyn Store>,
    state: watch::Receiver<Arc<AuthState>>,
    permissions: Arc<BTreeMap<String, (bool, Vec<String>)>>,
    idempotency: Idempotency,
    lifetimes: Lifetimes,
}

impl AuthApi {
    /// Servers over `store`, deciding with `state`.
    pub fn new(
        store: Arc<dyn Store>,
        state: watch::Receiver<Arc<AuthState>>,
        permissions: Arc<BTreeMap<String, (bool, Vec<String>)>>,
        lifetimes: Lifetimes,
    ) -> Self {
        Self {
            idempotency: Idempotency::new(store.clone(), ferry_kit::idempotency::DEFAULT_WINDOW),
            store,
            state,
            permissions,
            lifetimes,
        }
    }

    fn state(&self) -> Arc<AuthState> {
        self.state.borrow().clone()
    }

    /// Reads a record and its revision; NOT_FOUND naming `name`.
    async fn read<M: Message + Default>(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<(M, i64), ApiError> {
        get_msg::<M>(&*self.store, &keys::resource(kind, name))
            .await?
            .ok_or_else(|| ApiError::not_found(name))
    }

    /// Every record of a kind, by name, with revisions.
    async fn read_all<M: Message + Default>(&self, kind: &str) -> Result<Vec<(M, i64)>, ApiError> {
        let page = self
            .store
            .list(keys::kind_prefix(kind).as_str(), ListOptions::default())
            .await?;
        page.items
            .iter()
            .map(|kv| ferry_store::typed::decode_kv(kv).map_err(ApiError::from))
            .collect()
    }

    async fn create<M: Message>(
        &self,
        kind: &str,
        name: &str,
        message: &M,
    ) -> Result<i64, ApiError> {
        match ferry_store::typed::create_msg(&*self.store, &keys::resource(kind, name), message)
            .await
        {
            Ok(revision) => Ok(revision),
            Err(StoreError::AlreadyExists { .. }) => Err(ApiError::already_exists(name)),
            Err(error) => Err(error.into()),
        }
    }

    async fn delete(&self, kind: &str, name: &str, revision: i64) -> Result<(), ApiError> {
        match self
            .store
            .delete(&keys::resource(kind, name), Some(revision))
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => Err(ApiError::concurrent_modification(name)),
            Err(error) => Err(error.into()),
        }
    }
}

fn status(error: ApiError) -> Status {
    Status::from(error.with_domain(DOMAIN))
}

fn caller<T>(request: &Request<T>) -> Option<Caller> {
    request.extensions().get::<Caller>().cloned()
}

/// The caller's principal; the bootstrap admin when authentication is disabled.
fn principal_of(caller: &Option<Caller>) -> String {
    caller.as_ref().map_or_else(
        || super::store::BOOTSTRAP_USER.to_string(),
        |c| c.principal.clone(),
    )
}

fn now() -> SystemTime {
    SystemTime::now()
}

/// A parsed AIP-160 subset: `field = "value"` terms joined by `AND`.
#[derive(Debug, Default)]
struct Filter {
    terms: Vec<(String, String)>,
}

impl Filter {
    fn parse(filter: &str, fields: &[&str]) -> Result<Self, ApiError> {
        let invalid = |description: String| {
            ApiError::new(
                Code::InvalidArgument,
                ErrorReason::InvalidFilter,
                format!("invalid filter: {description}"),
            )
            .with_field_violation("filter", description)
        };
        let mut terms = Vec::new();
        if filter.trim().is_empty() {
            return Ok(Self { terms });
        }
        for term in filter.split(" AND ") {
            let (field, value) = term.split_once('=').ok_or_else(|| {
                invalid(format!(
                    "{term:?} is not `field = \"value\"` (only = and AND are supported)"
                ))
            })?;
            let field = field.trim();
            if !fields.contains(&field) {
                return Err(invalid(format!(
                    "unknown field {field:?}; filterable: {}",
                    fields.join(", ")
                )));
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            terms.push((field.to_string(), value.to_string()));
        }
        Ok(Self { terms })
    }

    fn matches(&self, get: impl Fn(&str) -> String) -> bool {
        self.terms.iter().all(|(field, wanted)| {
            let actual = get(field);
            match wanted.strip_suffix('*') {
                Some(prefix) => actual.starts_with(prefix),
                None => &actual == wanted,
            }
        })
    }
}

/// One page of `items` (sorted by name) after the page token; returns the page and the
/// next token.
fn paginate<M>(
    items: Vec<M>,
    name: impl Fn(&M) -> &str,
    page_size: i32,
    page_token: &str,
    fingerprint: &[&str],
) -> Result<(Vec<M>, String, i32), ApiError> {
    let size = aip::page_size(page_size)?;
    let fingerprint = aip::request_fingerprint(fingerprint);
    let after = aip::decode_page_token(page_token, &fingerprint)?;
    let total = items.len() as i32;
    let mut page: Vec<M> = items
        .into_iter()
        .filter(|item| {
            after
                .as_ref()
                .is_none_or(|token| name(item) > token.last.as_str())
        })
        .take(size + 1)
        .collect();
    let next = if page.len() > size {
        page.truncate(size);
        page.last()
            .map(|last| aip::encode_page_token(name(last), 1, &fingerprint))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok((page, next, total))
}

const TOKEN_NAME: NamePattern = NamePattern("tokens/{token}");
const USER_NAME: NamePattern = NamePattern("users/{user}");
const SERVICE_ACCOUNT_NAME: NamePattern = NamePattern("serviceAccounts/{service_account}");
const ROLE_NAME: NamePattern = NamePattern("roles/{role}");
const AUDIT_NAME: NamePattern = NamePattern("auditEntries/{audit_entry}");

/// The token as shown: etag and derived state set.
fn shown_token(mut token: Token, revision: i64) -> Token {
    token.etag = aip::etag(revision);
    token.state = if token.revoked {
        TokenState::Revoked
    } else if model::expired(&token, now()) {
        TokenState::Expired
    } else {
        TokenState::Active
    } as i32;
    token
}

#[tonic::async_trait]
impl TokenService for AuthApi {
    async fn create_token(
        &self,
        request: Request<CreateTokenRequest>,
    ) -> Result<Response<CreateTokenResponse>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        self.create_token_inner(caller, request)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_token(
        &self,
        request: Request<GetTokenRequest>,
    ) -> Result<Response<Token>, Status> {
        let name = request.into_inner().name;
        TOKEN_NAME.parse("name", &name).map_err(status)?;
        let (record, revision) = self
            .read::<TokenRecord>(TOKENS, &name)
            .await
            .map_err(status)?;
        Ok(Response::new(shown_token(
            record.token.unwrap_or_default(),
            revision,
        )))
    }

    async fn list_tokens(
        &self,
        request: Request<ListTokensRequest>,
    ) -> Result<Response<ListTokensResponse>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        let filter = Filter::parse(&request.filter, &["owner", "display_name", "creator"])
            .map_err(status)?;
        let state = self.state();
        let sees_all = caller
            .as_ref()
            .is_none_or(|c| state.holds(&c.principal, "auth.tokens.list", None));
        let principal = principal_of(&caller);
        let mut tokens: Vec<Token> = self
            .read_all::<TokenRecord>(TOKENS)
            .await
            .map_err(status)?
            .into_iter()
            .filter_map(|(record, revision)| record.token.map(|t| shown_token(t, revision)))
            .filter(|token| sees_all || token.owner == principal)
            .filter(|token| {
                filter.matches(|field| match field {
                    "owner" => token.owner.clone(),
                    "display_name" => token.display_name.clone(),
                    _ => token.creator.clone(),
                })
            })
            .collect();
        tokens.sort_by(|a, b| a.name.cmp(&b.name));
        let (tokens, next_page_token, total_size) = paginate(
            tokens,
            |t| t.name.as_str(),
            request.page_size,
            &request.page_token,
            &[&request.filter, &principal],
        )
        .map_err(status)?;
        Ok(Response::new(ListTokensResponse {
            tokens,
            next_page_token,
            total_size,
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<RevokeTokenRequest>,
    ) -> Result<Response<Token>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        TOKEN_NAME.parse("name", &request.name).map_err(status)?;
        let work = || async {
            let (mut record, revision) = self.read::<TokenRecord>(TOKENS, &request.name).await?;
            aip::check_etag("etag", &request.etag, revision, &request.name)?;
            let mut token = record.token.take().unwrap_or_default();
            if token.revoked || request.validate_only {
                return Ok(shown_token(token, revision));
            }
            let time = Some(timestamp(now()));
            token.revoked = true;
            token.revoke_time = time;
            token.update_time = time;
            token.revoker = principal_of(&caller);
            record.token = Some(token.clone());
            let key = keys::resource(TOKENS, &request.name);
            let revision = match self
                .store
                .update(&key, record.encode_to_vec(), revision)
                .await
            {
                Ok(revision) => revision,
                Err(StoreError::Conflict { .. }) => {
                    return Err(ApiError::concurrent_modification(&request.name));
                }
                Err(error) => return Err(error.into()),
            };
            Ok(shown_token(token, revision))
        };
        self.idempotency
            .run("RevokeToken", &request.request_id, &request, work)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn delete_token(
        &self,
        request: Request<DeleteTokenRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        TOKEN_NAME.parse("name", &request.name).map_err(status)?;
        let work = || async {
            let (_, revision) = self.read::<TokenRecord>(TOKENS, &request.name).await?;
            aip::check_etag("etag", &request.etag, revision, &request.name)?;
            if !request.validate_only {
                // The record goes: every replica drops the token with the watch event.
                self.delete(TOKENS, &request.name, revision).await?;
            }
            Ok(())
        };
        self.idempotency
            .run("DeleteToken", &request.request_id, &request, work)
            .await
            .map(Response::new)
            .map_err(status)
    }
}

impl AuthApi {
    async fn create_token_inner(
        &self,
        caller: Option<Caller>,
        request: CreateTokenRequest,
    ) -> Result<CreateTokenResponse, ApiError> {
        let mut token = request
            .token
            .clone()
            .ok_or_else(|| ApiError::invalid_field("token", "is required"))?;
        let principal = principal_of(&caller);
        let state = self.state();
        if token.owner.is_empty() {
            token.owner = principal.clone();
        } else if token.owner != principal {
            if token.owner.starts_with("users/") {
                return Err(ApiError::new(
                    Code::PermissionDenied,
                    ErrorReason::PermissionDenied,
                    "users create their own tokens: leave token.owner empty",
                ));
            }
            SERVICE_ACCOUNT_NAME.parse("token.owner", &token.owner)?;
            let allowed = caller.as_ref().is_none_or(|c| {
                state.holds(&c.principal, "auth.serviceAccounts.createToken", None)
            });
            if !allowed {
                return Err(ApiError::new(
                    Code::PermissionDenied,
                    ErrorReason::PermissionDenied,
                    format!(
                        "creating a token for {} needs auth.serviceAccounts.createToken",
                        token.owner
                    ),
                )
                .with_metadata("permission", "auth.serviceAccounts.createToken"));
            }
        }
        let owner_ok = match self.read::<User>(USERS, &token.owner).await {
            Ok((user, _)) => Some(!user.disabled),
            Err(_) => match self
                .read::<ServiceAccount>(SERVICE_ACCOUNTS, &token.owner)
                .await
            {
                Ok((account, _)) => Some(!account.disabled),
                Err(_) => None,
            },
        };
        match owner_ok {
            None => return Err(ApiError::not_found(&token.owner)),
            Some(false) => {
                return Err(ApiError::failed_precondition(
                    ErrorReason::InvalidState,
                    &token.owner,
                    "the owner is disabled",
                ));
            }
            Some(true) => {}
        }
        let id = if request.token_id.is_empty() {
            format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
        } else {
            aip::validate_id("token_id", &request.token_id)?;
            request.token_id.clone()
        };
        let created = now();
        let expire = match token.expiration.take() {
            Some(Expiration::ExpireTime(at)) => {
                let at_time =
                    SystemTime::UNIX_EPOCH + Duration::from_secs(at.seconds.max(0) as u64);
                if at_time <= created {
                    return Err(ApiError::invalid_field(
                        "token.expire_time",
                        "must be in the future",
                    ));
                }
                at_time
            }
            Some(Expiration::Ttl(ttl)) => {
                if ttl.seconds <= 0 {
                    return Err(ApiError::invalid_field("token.ttl", "must be positive"));
                }
                created + Duration::from_secs(ttl.seconds as u64)
            }
            None => created + self.lifetimes.default,
        };
        if expire > created + self.lifetimes.max {
            return Err(ApiError::invalid_field(
                "token.expiration",
                format!(
                    "is beyond the maximum token lifetime of {}",
                    humantime::format_duration(self.lifetimes.max)
                ),
            ));
        }
        if let Some(scope) = &token.scope {
            for (index, role) in scope.roles.iter().enumerate() {
                if state.role_permissions(role).is_none() {
                    return Err(ApiError::invalid_field(
                        format!("token.scope.roles[{index}]"),
                        format!("{role} does not exist"),
                    ));
                }
            }
            for (index, namespace) in scope.namespaces.iter().enumerate() {
                NamePattern("namespaces/{namespace}")
                    .parse(&format!("token.scope.namespaces[{index}]"), namespace)?;
            }
        }
        let time = Some(timestamp(created));
        let secret = model::new_secret(&id, random_bytes());
        let token = Token {
            name: TOKEN_NAME.format(&[&id]),
            uid: uuid::Uuid::new_v4().to_string(),
            create_time: time,
            update_time: time,
            expiration: Some(Expiration::ExpireTime(timestamp(expire))),
            secret_prefix: secret.prefix.clone(),
            creator: principal,
            revoked: false,
            revoke_time: None,
            revoker: String::new(),
            last_use_time: None,
            last_use_address: String::new(),
            etag: String::new(),
            ..token
        };
        if request.validate_only {
            return Ok(CreateTokenResponse {
                token: Some(shown_token(token, 1)),
                secret: String::new(),
            });
        }
        let record = TokenRecord {
            token: Some(token.clone()),
            salt: secret.salt.clone(),
            hash: secret.hash.clone(),
        };
        // The secret is never stored: a retry with the same request_id gets the token
        // without it (the kept response has none).
        let name = token.name.clone();
        let mut secret_out = None;
        let kept = self
            .idempotency
            .run("CreateToken", &request.request_id, &request, || async {
                let revision = self.create(TOKENS, &name, &record).await?;
                secret_out = Some(secret.token_string.clone());
                Ok(CreateTokenResponse {
                    token: Some(shown_token(token, revision)),
                    secret: String::new(),
                })
            })
            .await?;
        Ok(CreateTokenResponse {
            secret: secret_out.unwrap_or_default(),
            ..kept
        })
    }
}

fn with_etag<M>(mut message: M, revision: i64, set: impl FnOnce(&mut M, String)) -> M {
    set(&mut message, aip::etag(revision));
    message
}

fn check_email(email: &str) -> Result<(), ApiError> {
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') || domain == "localhost"
    });
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "user.email",
            format!("{email:?} is not an email address"),
        ))
    }
}

#[tonic::async_trait]
impl UserService for AuthApi {
    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<User>, Status> {
        let request = request.into_inner();
        let work = || async {
            aip::validate_id("user_id", &request.user_id)?;
            let user = request
                .user
                .clone()
                .ok_or_else(|| ApiError::invalid_field("user", "is required"))?;
            check_email(&user.email)?;
            let name = USER_NAME.format(&[&request.user_id]);
            let existing = self.read_all::<User>(USERS).await?;
            if existing.iter().any(|(other, _)| other.email == user.email) {
                return Err(ApiError::already_exists(format!(
                    "a user with email {}",
                    user.email
                )));
            }
            let time = Some(timestamp(now()));
            let user = User {
                name: name.clone(),
                uid: uuid::Uuid::new_v4().to_string(),
                create_time: time,
                update_time: time,
                etag: String::new(),
                last_active_time: None,
                ..user
            };
            if request.validate_only {
                return Ok(user);
            }
            let revision = self.create(USERS, &name, &user).await?;
            Ok(with_etag(user, revision, |u, e| u.etag = e))
        };
        self.idempotency
            .run("CreateUser", &request.request_id, &request, work)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        let name = request.into_inner().name;
        USER_NAME.parse("name", &name).map_err(status)?;
        let (user, revision) = self.read::<User>(USERS, &name).await.map_err(status)?;
        Ok(Response::new(with_etag(user, revision, |u, e| u.etag = e)))
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let request = request.into_inner();
        let filter = Filter::parse(&request.filter, &["display_name", "email"]).map_err(status)?;
        let users: Vec<User> = self
            .read_all::<User>(USERS)
            .await
            .map_err(status)?
            .into_iter()
            .map(|(user, revision)| with_etag(user, revision, |u, e| u.etag = e))
            .filter(|user| {
                filter.matches(|field| match field {
                    "email" => user.email.clone(),
                    _ => user.display_name.clone(),
                })
            })
            .collect();
        let (users, next_page_token, total_size) = paginate(
            users,
            |u| u.name.as_str(),
            request.page_size,
            &request.page_token,
            &[&request.filter],
        )
        .map_err(status)?;
        Ok(Response::new(ListUsersResponse {
            users,
            next_page_token,
            total_size,
        }))
    }

    async fn get_caller_identity(
        &self,
        request: Request<GetCallerIdentityRequest>,
    ) -> Result<Response<GetCallerIdentityResponse>, Status> {
        let caller = caller(&request).ok_or_else(|| {
            status(ApiError::new(
                Code::FailedPrecondition,
                ErrorReason::InvalidState,
                "authentication is disabled on this gateway (FERRY_AUTH=disabled): there is no caller",
            ))
        })?;
        let request = request.into_inner();
        let namespace = if request.namespace.is_empty() {
            None
        } else {
            NamePattern("namespaces/{namespace}")
                .parse("namespace", &request.namespace)
                .map_err(status)?;
            Some(request.namespace.as_str())
        };
        let state = self.state();
        let (principal_type, display_name, email) = match state.users.get(&caller.principal) {
            Some(user) => (
                PrincipalType::User,
                user.display_name.clone(),
                user.email.clone(),
            ),
            None => (
                PrincipalType::ServiceAccount,
                state
                    .service_accounts
                    .get(&caller.principal)
                    .map(|a| a.display_name.clone())
                    .unwrap_or_default(),
                String::new(),
            ),
        };
        let role_bindings = state
            .bindings_of(&caller.principal)
            .into_iter()
            .cloned()
            .collect();
        let permissions = state.effective_permissions(&caller, namespace, &self.permissions);
        Ok(Response::new(GetCallerIdentityResponse {
            principal: caller.principal.clone(),
            principal_type: principal_type as i32,
            display_name,
            email,
            token: caller.token.clone(),
            token_scope: caller.scope.clone(),
            token_expire_time: caller.expire_time,
            role_bindings,
            permissions,
            namespace: request.namespace,
        }))
    }

    async fn update_user(
        &self,
        request: Request<UpdateUserRequest>,
    ) -> Result<Response<User>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        self.idempotency
            .run("UpdateUser", &request.request_id, &request, || {
                self.update_user_inner(caller.clone(), request.clone())
            })
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn delete_user(
        &self,
        request: Request<DeleteUserRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        USER_NAME.parse("name", &request.name).map_err(status)?;
        self.idempotency
            .run("DeleteUser", &request.request_id, &request, || {
                self.delete_principal::<User>(
                    caller.clone(),
                    USERS,
                    &request.name,
                    &request.etag,
                    request.validate_only,
                )
            })
            .await
            .map(Response::new)
            .map_err(status)
    }
}

#[tonic::async_trait]
impl ServiceAccountService for AuthApi {
    async fn create_service_account(
        &self,
        request: Request<CreateServiceAccountRequest>,
    ) -> Result<Response<ServiceAccount>, Status> {
        let creator = principal_of(&caller(&request));
        let request = request.into_inner();
        let work = || async {
            aip::validate_id("service_account_id", &request.service_account_id)?;
            let account = request
                .service_account
                .clone()
                .ok_or_else(|| ApiError::invalid_field("service_account", "is required"))?;
            let name = SERVICE_ACCOUNT_NAME.format(&[&request.service_account_id]);
            let time = Some(timestamp(now()));
            let account = ServiceAccount {
                name: name.clone(),
                uid: uuid::Uuid::new_v4().to_string(),
                create_time: time,
                update_time: time,
                etag: String::new(),
                creator: creator.clone(),
                last_active_time: None,
                ..account
            };
            if request.validate_only {
                return Ok(account);
            }
            let revision = self.create(SERVICE_ACCOUNTS, &name, &account).await?;
            Ok(with_etag(account, revision, |a, e| a.etag = e))
        };
        self.idempotency
            .run("CreateServiceAccount", &request.request_id, &request, work)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_service_account(
        &self,
        request: Request<GetServiceAccountRequest>,
    ) -> Result<Response<ServiceAccount>, Status> {
        let name = request.into_inner().name;
        SERVICE_ACCOUNT_NAME.parse("name", &name).map_err(status)?;
        let (account, revision) = self
            .read::<ServiceAccount>(SERVICE_ACCOUNTS, &name)
            .await
            .map_err(status)?;
        Ok(Response::new(with_etag(account, revision, |a, e| {
            a.etag = e
        })))
    }

    async fn list_service_accounts(
        &self,
        request: Request<ListServiceAccountsRequest>,
    ) -> Result<Response<ListServiceAccountsResponse>, Status> {
        let request = request.into_inner();
        let filter =
            Filter::parse(&request.filter, &["display_name", "creator"]).map_err(status)?;
        let accounts: Vec<ServiceAccount> = self
            .read_all::<ServiceAccount>(SERVICE_ACCOUNTS)
            .await
            .map_err(status)?
            .into_iter()
            .map(|(account, revision)| with_etag(account, revision, |a, e| a.etag = e))
            .filter(|account| {
                filter.matches(|field| match field {
                    "creator" => account.creator.clone(),
                    _ => account.display_name.clone(),
                })
            })
            .collect();
        let (service_accounts, next_page_token, total_size) = paginate(
            accounts,
            |a| a.name.as_str(),
            request.page_size,
            &request.page_token,
            &[&request.filter],
        )
        .map_err(status)?;
        Ok(Response::new(ListServiceAccountsResponse {
            service_accounts,
            next_page_token,
            total_size,
        }))
    }

    async fn update_service_account(
        &self,
        request: Request<UpdateServiceAccountRequest>,
    ) -> Result<Response<ServiceAccount>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        self.idempotency
            .run(
                "UpdateServiceAccount",
                &request.request_id,
                &request,
                || self.update_service_account_inner(caller.clone(), request.clone()),
            )
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn delete_service_account(
        &self,
        request: Request<DeleteServiceAccountRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        SERVICE_ACCOUNT_NAME
            .parse("name", &request.name)
            .map_err(status)?;
        self.idempotency
            .run(
                "DeleteServiceAccount",
                &request.request_id,
                &request,
                || {
                    self.delete_principal::<ServiceAccount>(
                        caller.clone(),
                        SERVICE_ACCOUNTS,
                        &request.name,
                        &request.etag,
                        request.validate_only,
                    )
                },
            )
            .await
            .map(Response::new)
            .map_err(status)
    }
}

impl AuthApi {
    fn built_in_role(&self, name: &str) -> Option<Role> {
        let state = self.state();
        let permissions = state.built_in.get(name)?.clone();
        Some(Role {
            name: name.to_string(),
            uid: name.to_string(),
            display_name: name.trim_start_matches("roles/").to_string(),
            permissions,
            built_in: true,
            etag: aip::etag(1),
            ..Default::default()
        })
    }

    async fn all_roles(&self) -> Result<Vec<Role>, ApiError> {
        let mut roles: Vec<Role> = [model::ADMIN, model::DEVELOPER, model::VIEWER]
            .iter()
            .filter_map(|name| self.built_in_role(name))
            .collect();
        roles.extend(
            self.read_all::<Role>(ROLES)
                .await?
                .into_iter()
                .map(|(role, revision)| with_etag(role, revision, |r, e| r.etag = e)),
        );
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(roles)
    }
}

#[tonic::async_trait]
impl RoleService for AuthApi {
    async fn create_role(
        &self,
        request: Request<CreateRoleRequest>,
    ) -> Result<Response<Role>, Status> {
        let request = request.into_inner();
        let work = || async {
            aip::validate_id("role_id", &request.role_id)?;
            let name = ROLE_NAME.format(&[&request.role_id]);
            if self.built_in_role(&name).is_some() {
                return Err(ApiError::already_exists(&name));
            }
            let role = request
                .role
                .clone()
                .ok_or_else(|| ApiError::invalid_field("role", "is required"))?;
            let permissions = self.checked_permissions("role.permissions", &role.permissions)?;
            let time = Some(timestamp(now()));
            let role = Role {
                name: name.clone(),
                uid: uuid::Uuid::new_v4().to_string(),
                create_time: time,
                update_time: time,
                etag: String::new(),
                permissions,
                built_in: false,
                ..role
            };
            if request.validate_only {
                return Ok(role);
            }
            let revision = self.create(ROLES, &name, &role).await?;
            Ok(with_etag(role, revision, |r, e| r.etag = e))
        };
        self.idempotency
            .run("CreateRole", &request.request_id, &request, work)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_role(&self, request: Request<GetRoleRequest>) -> Result<Response<Role>, Status> {
        let name = request.into_inner().name;
        ROLE_NAME.parse("name", &name).map_err(status)?;
        if let Some(role) = self.built_in_role(&name) {
            return Ok(Response::new(role));
        }
        let (role, revision) = self.read::<Role>(ROLES, &name).await.map_err(status)?;
        Ok(Response::new(with_etag(role, revision, |r, e| r.etag = e)))
    }

    async fn list_roles(
        &self,
        request: Request<ListRolesRequest>,
    ) -> Result<Response<ListRolesResponse>, Status> {
        let request = request.into_inner();
        let filter =
            Filter::parse(&request.filter, &["built_in", "display_name"]).map_err(status)?;
        let roles: Vec<Role> = self
            .all_roles()
            .await
            .map_err(status)?
            .into_iter()
            .filter(|role| {
                filter.matches(|field| match field {
                    "built_in" => role.built_in.to_string(),
                    _ => role.display_name.clone(),
                })
            })
            .collect();
        let (roles, next_page_token, total_size) = paginate(
            roles,
            |r| r.name.as_str(),
            request.page_size,
            &request.page_token,
            &[&request.filter],
        )
        .map_err(status)?;
        Ok(Response::new(ListRolesResponse {
            roles,
            next_page_token,
            total_size,
        }))
    }

    async fn delete_role(
        &self,
        request: Request<DeleteRoleRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        ROLE_NAME.parse("name", &request.name).map_err(status)?;
        let work = || async {
            if self.built_in_role(&request.name).is_some() {
                return Err(ApiError::failed_precondition(
                    ErrorReason::InvalidState,
                    &request.name,
                    "built-in roles cannot be deleted",
                ));
            }
            let (_, revision) = self.read::<Role>(ROLES, &request.name).await?;
            aip::check_etag("etag", &request.etag, revision, &request.name)?;
            let users: Vec<String> = self
                .state()
                .bindings
                .values()
                .filter(|binding| binding.role == request.name)
                .map(|binding| binding.name.clone())
                .collect();
            if !users.is_empty() {
                if !request.force {
                    return Err(ApiError::failed_precondition(
                        ErrorReason::InUse,
                        &request.name,
                        format!(
                            "role bindings use the role: {} (delete them, or set force)",
                            users.join(", ")
                        ),
                    ));
                }
                if !request.validate_only {
                    for binding in &users {
                        let _ = self
                            .store
                            .delete(&keys::resource(ROLE_BINDINGS, binding), None)
                            .await;
                    }
                }
            }
            if !request.validate_only {
                self.delete(ROLES, &request.name, revision).await?;
            }
            Ok(())
        };
        self.idempotency
            .run("DeleteRole", &request.request_id, &request, work)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn list_permissions(
        &self,
        request: Request<ListPermissionsRequest>,
    ) -> Result<Response<ListPermissionsResponse>, Status> {
        let request = request.into_inner();
        let filter = Filter::parse(&request.filter, &["name", "area"]).map_err(status)?;
        let state = self.state();
        let permissions: Vec<Permission> = self
            .permissions
            .iter()
            .map(|(name, (_, methods))| Permission {
                name: name.clone(),
                description: format!("calls {}", methods.join(", ")),
                area: name.split('.').next().unwrap_or_default().to_string(),
                methods: methods.clone(),
                namespaced: true,
                built_in_roles: [model::ADMIN, model::DEVELOPER, model::VIEWER]
                    .iter()
                    .filter(|role| {
                        state.role_permissions(role).is_some_and(|patterns| {
                            patterns.iter().any(|p| model::pattern_matches(p, name))
                        })
                    })
                    .map(|role| role.to_string())
                    .collect(),
            })
            .filter(|permission| {
                filter.matches(|field| match field {
                    "area" => permission.area.clone(),
                    _ => permission.name.clone(),
                })
            })
            .collect();
        let (permissions, next_page_token, total_size) = paginate(
            permissions,
            |p| p.name.as_str(),
            request.page_size,
            &request.page_token,
            &[&request.filter],
        )
        .map_err(status)?;
        Ok(Response::new(ListPermissionsResponse {
            permissions,
            next_page_token,
            total_size,
        }))
    }

    async fn update_role(
        &self,
        request: Request<UpdateRoleRequest>,
    ) -> Result<Response<Role>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        self.idempotency
            .run("UpdateRole", &request.request_id, &request, || {
                self.update_role_inner(caller.clone(), request.clone())
            })
            .await
            .map(Response::new)
            .map_err(status)
    }
}

/// `roleBindings/{b}` or `namespaces/{n}/roleBindings/{b}` → its namespace (empty for
/// platform-wide).
fn binding_namespace(field: &str, name: &str) -> Result<String, ApiError> {
    if NamePattern("roleBindings/{role_binding}")
        .parse(field, name)
        .is_ok()
    {
        return Ok(String::new());
    }
    let ids =
        NamePattern("namespaces/{namespace}/roleBindings/{role_binding}").parse(field, name)?;
    Ok(format!("namespaces/{}", ids[0]))
}

/// True when a platform-wide admin binding other than `except` names an enabled
/// principal.
fn other_admin_exists(state: &AuthState, except: &str) -> bool {
    state.bindings.values().any(|binding| {
        binding.name != except
            && binding.namespace.is_empty()
            && binding.role == model::ADMIN
            && binding.members.iter().any(|m| state.principal_enabled(m))
    })
}

#[tonic::async_trait]
impl RoleBindingService for AuthApi {
    async fn create_role_binding(
        &self,
        request: Request<CreateRoleBindingRequest>,
    ) -> Result<Response<RoleBinding>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        let work = || async {
            aip::validate_id("role_binding_id", &request.role_binding_id)?;
            let namespace = if request.parent.is_empty() {
                String::new()
            } else {
                NamePattern("namespaces/{namespace}").parse("parent", &request.parent)?;
                request.parent.clone()
            };
            let name = if namespace.is_empty() {
                format!("roleBindings/{}", request.role_binding_id)
            } else {
                format!("{namespace}/roleBindings/{}", request.role_binding_id)
            };
            let binding = request
                .role_binding
                .clone()
                .ok_or_else(|| ApiError::invalid_field("role_binding", "is required"))?;
            let members = self
                .checked_binding(&caller, &namespace, &binding.role, &binding.members)
                .await?;
            let time = Some(timestamp(now()));
            let binding = RoleBinding {
                name: name.clone(),
                uid: uuid::Uuid::new_v4().to_string(),
                create_time: time,
                update_time: time,
                etag: String::new(),
                members,
                namespace,
                ..binding
            };
            if request.validate_only {
                return Ok(binding);
            }
            let revision = self.create(ROLE_BINDINGS, &name, &binding).await?;
            Ok(with_etag(binding, revision, |b, e| b.etag = e))
        };
        self.idempotency
            .run("CreateRoleBinding", &request.request_id, &request, work)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_role_binding(
        &self,
        request: Request<GetRoleBindingRequest>,
    ) -> Result<Response<RoleBinding>, Status> {
        let name = request.into_inner().name;
        binding_namespace("name", &name).map_err(status)?;
        let (binding, revision) = self
            .read::<RoleBinding>(ROLE_BINDINGS, &name)
            .await
            .map_err(status)?;
        Ok(Response::new(with_etag(binding, revision, |b, e| {
            b.etag = e
        })))
    }

    async fn list_role_bindings(
        &self,
        request: Request<ListRoleBindingsRequest>,
    ) -> Result<Response<ListRoleBindingsResponse>, Status> {
        let request = request.into_inner();
        if !request.parent.is_empty() && request.parent != "namespaces/-" {
            NamePattern("namespaces/{namespace}")
                .parse("parent", &request.parent)
                .map_err(status)?;
        }
        let filter = Filter::parse(&request.filter, &["role", "namespace"]).map_err(status)?;
        let bindings: Vec<RoleBinding> = self
            .read_all::<RoleBinding>(ROLE_BINDINGS)
            .await
            .map_err(status)?
            .into_iter()
            .map(|(binding, revision)| with_etag(binding, revision, |b, e| b.etag = e))
            .filter(|binding| match request.parent.as_str() {
                "" => binding.namespace.is_empty(),
                "namespaces/-" => !binding.namespace.is_empty(),
                parent => binding.namespace == parent,
            })
            .filter(|binding| {
                filter.matches(|field| match field {
                    "role" => binding.role.clone(),
                    _ => binding.namespace.clone(),
                })
            })
            .collect();
        let (role_bindings, next_page_token, total_size) = paginate(
            bindings,
            |b| b.name.as_str(),
            request.page_size,
            &request.page_token,
            &[&request.parent, &request.filter],
        )
        .map_err(status)?;
        Ok(Response::new(ListRoleBindingsResponse {
            role_bindings,
            next_page_token,
            total_size,
        }))
    }

    async fn delete_role_binding(
        &self,
        request: Request<DeleteRoleBindingRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        binding_namespace("name", &request.name).map_err(status)?;
        let work = || async {
            let (binding, revision) = self
                .read::<RoleBinding>(ROLE_BINDINGS, &request.name)
                .await?;
            aip::check_etag("etag", &request.etag, revision, &request.name)?;
            if binding.namespace.is_empty()
                && binding.role == model::ADMIN
                && !other_admin_exists(&self.state(), &request.name)
            {
                return Err(ApiError::failed_precondition(
                    ErrorReason::UnsafeChange,
                    &request.name,
                    "this is the last platform-wide admin binding: the platform would have no administrator",
                ));
            }
            if !request.validate_only {
                self.delete(ROLE_BINDINGS, &request.name, revision).await?;
            }
            Ok(())
        };
        self.idempotency
            .run("DeleteRoleBinding", &request.request_id, &request, work)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn update_role_binding(
        &self,
        request: Request<UpdateRoleBindingRequest>,
    ) -> Result<Response<RoleBinding>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        self.idempotency
            .run("UpdateRoleBinding", &request.request_id, &request, || {
                self.update_role_binding_inner(caller.clone(), request.clone())
            })
            .await
            .map(Response::new)
            .map_err(status)
    }
}

const AUDIT_FIELDS: &[&str] = &[
    "actor",
    "token",
    "method",
    "resource",
    "namespace",
    "request_id",
    "result_code",
    "result_reason",
    "client_address",
];

fn audit_field(entry: &AuditEntry, field: &str) -> String {
    match field {
        "actor" => entry.actor.clone(),
        "token" => entry.token.clone(),
        "method" => entry.method.clone(),
        "resource" => entry.resource.clone(),
        "namespace" => entry.namespace.clone(),
        "request_id" => entry.request_id.clone(),
        "result_code" => entry.result_code.to_string(),
        "result_reason" => entry.result_reason.clone(),
        _ => entry.client_address.clone(),
    }
}

#[tonic::async_trait]
impl AuditService for AuthApi {
    async fn list_audit_entries(
        &self,
        request: Request<ListAuditEntriesRequest>,
    ) -> Result<Response<ListAuditEntriesResponse>, Status> {
        let request = request.into_inner();
        let result = async {
            let filter = Filter::parse(&request.filter, AUDIT_FIELDS)?;
            if !matches!(request.order_by.as_str(), "" | "create_time desc") {
                return Err(ApiError::invalid_field(
                    "order_by",
                    "only `create_time desc` (the default) is supported",
                ));
            }
            let size = aip::page_size(request.page_size)?;
            let fingerprint = aip::request_fingerprint(&[&request.filter, &request.order_by]);
            let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
            let prefix = keys::kind_prefix(AUDIT);
            // Keys sort newest first; read store pages until the page is full.
            let mut start_after = token.as_ref().map(|t| keys::resource(AUDIT, &t.last));
            let revision = token.as_ref().map(|t| t.revision);
            let mut entries = Vec::new();
            let mut read_at = 0;
            let more = loop {
                let page = match self
                    .store
                    .list(
                        prefix.as_str(),
                        ListOptions {
                            start_after: start_after.clone(),
                            limit: 200,
                            revision: revision.or((read_at > 0).then_some(read_at)),
                        },
                    )
                    .await
                {
                    Ok(page) => page,
                    Err(StoreError::Compacted { .. }) => {
                        return Err(ApiError::new(
                            Code::InvalidArgument,
                            ErrorReason::InvalidPageToken,
                            "invalid page_token: expired; start again without a token",
                        )
                        .with_field_violation("page_token", "expired"));
                    }
                    Err(error) => return Err(error.into()),
                };
                read_at = page.revision;
                for kv in &page.items {
                    start_after = Some(kv.key.clone());
                    let entry = ferry_store::typed::decode_msg::<AuditEntry>(&kv.key, &kv.value)?;
                    if filter.matches(|field| audit_field(&entry, field)) {
                        entries.push(entry);
                        if entries.len() > size {
                            break;
                        }
                    }
                }
                if entries.len() > size {
                    break true;
                }
                if !page.more {
                    break false;
                }
            };
            let next_page_token = if more {
                entries.truncate(size);
                entries
                    .last()
                    .map(|last| {
                        aip::encode_page_token(
                            &last.name,
                            revision.unwrap_or(read_at),
                            &fingerprint,
                        )
                    })
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let total_size = entries.len() as i32;
            Ok(ListAuditEntriesResponse {
                audit_entries: entries,
                next_page_token,
                total_size,
            })
        }
        .await;
        result.map(Response::new).map_err(status)
    }

    async fn get_audit_entry(
        &self,
        request: Request<GetAuditEntryRequest>,
    ) -> Result<Response<AuditEntry>, Status> {
        let name = request.into_inner().name;
        AUDIT_NAME.parse("name", &name).map_err(status)?;
        let (entry, _) = self
            .read::<AuditEntry>(AUDIT, &name)
            .await
            .map_err(status)?;
        Ok(Response::new(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_equalities_joined_by_and() {
        let filter = Filter::parse(
            r#"actor = "users/a" AND method = "/ferry.deploy.v1.*""#,
            AUDIT_FIELDS,
        )
        .unwrap();
        let entry = AuditEntry {
            actor: "users/a".into(),
            method: "/ferry.deploy.v1.NamespaceService/CreateNamespace".into(),
            ..Default::default()
        };
        assert!(filter.matches(|f| audit_field(&entry, f)));
        let other = AuditEntry {
            actor: "users/b".into(),
            ..entry.clone()
        };
        assert!(!filter.matches(|f| audit_field(&other, f)));
        assert!(Filter::parse("secret = 1", AUDIT_FIELDS).is_err());
        assert!(Filter::parse("actor > 1", AUDIT_FIELDS).is_err());
        assert!(Filter::parse("", AUDIT_FIELDS).unwrap().terms.is_empty());
    }

    #[test]
    fn pages_follow_their_tokens() {
        let items: Vec<String> = (0..5).map(|i| format!("x/{i}")).collect();
        let (page, next, total) = paginate(items.clone(), |s| s.as_str(), 2, "", &["f"]).unwrap();
        assert_eq!((page.len(), total), (2, 5));
        let (page, next, _) = paginate(items.clone(), |s| s.as_str(), 2, &next, &["f"]).unwrap();
        assert_eq!(page, vec!["x/2".to_string(), "x/3".to_string()]);
        let (page, last, _) = paginate(items.clone(), |s| s.as_str(), 2, &next, &["f"]).unwrap();
        assert_eq!((page.len(), last.as_str()), (1, ""));
        assert!(paginate(items, |s| s.as_str(), 2, &next, &["other"]).is_err());
    }
}
