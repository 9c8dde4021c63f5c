//! The pure rules of authentication and authorization: token strings and their hashes,
//! the permission a method needs, the namespace of a resource name, the built-in roles,
//! wildcard matching, and the decision itself over an [`AuthState`] snapshot.
//!
//! # Hashing
//!
//! A token's secret is 32 bytes from the OS's CSPRNG (256 bits), so it is stored as
//! `SHA-256(salt ‖ secret)` with a 16-byte random salt (RustCrypto's `sha2`, already in
//! the workspace) and compared in constant time (`subtle`). A slow password hash
//! (argon2, scrypt, PBKDF2) exists to make guessing *low-entropy* passwords expensive;
//! nobody can enumerate 2^256 secrets however fast the hash is, while a slow hash would
//! cost tens of milliseconds of CPU on every authenticated call at the front door.
//! This is the scheme GitHub and most API-token issuers use for random tokens.
//!
//! # Permissions
//!
//! A method's permission is derived from its path, `/ferry.<area>.v1.<Service>/<Verb><Rest>`
//! → `<area>.<collection>.<verb>` (role.proto): the verb is the method name's first word
//! in lower case, the collection is the rest in lowerCamelCase, made plural when it is
//! not already (`UpdateDeployment` → `deploy.deployments.update`, `ListDeployments` →
//! `deploy.deployments.list`, `SwitchBlueGreenEntry` → `routing.blueGreenEntries.switch`).
//! Reads are the verbs of [`READ_VERBS`]; every other verb changes state.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

use ferry_proto::ferry::auth::v1::{RoleBinding, ServiceAccount, Token, TokenScope, User};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The verbs that only read: their calls are not audited when they succeed.
pub const READ_VERBS: &[&str] = &["get", "list", "watch", "stream", "wait", "export"];

/// Every token string starts with this.
pub const TOKEN_PREFIX: &str = "ferry_";

/// The built-in roles' names.
pub const VIEWER: &str = "roles/viewer";
/// See [`VIEWER`].
pub const DEVELOPER: &str = "roles/developer";
/// See [`VIEWER`].
pub const ADMIN: &str = "roles/admin";

/// Areas whose write permissions the developer role holds (storage only partly).
const DEVELOPER_AREAS: &[&str] = &["build", "deploy", "catalog", "routing", "common"];

/// The permission one method needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    /// `<area>.<collection>.<verb>`.
    pub name: String,
    /// True for the verbs of [`READ_VERBS`].
    pub read: bool,
}

/// The permission of a gRPC path `/ferry.<area>.v1.<Service>/<Method>`; `None` for
/// paths outside Ferry's API (health, reflection).
pub fn permission_of(path: &str) -> Option<Permission> {
    let (package, _service, method) = crate::routing::split_path(path)?;
    let area = package.strip_prefix("ferry.")?.strip_suffix(".v1")?;
    let (verb, rest) = split_first_word(method);
    if verb.is_empty() || rest.is_empty() {
        return None;
    }
    let verb = verb.to_ascii_lowercase();
    let collection = lower_camel(&plural(rest));
    let read = READ_VERBS.contains(&verb.as_str());
    Some(Permission {
        name: format!("{area}.{collection}.{verb}"),
        read,
    })
}

/// The collection segment of the resources a `Create<Type>` method makes:
/// `CreateRoleBinding` → `roleBindings`; `None` for other methods.
pub fn created_collection(method: &str) -> Option<String> {
    let rest = method.strip_prefix("Create")?;
    (!rest.is_empty()).then(|| lower_camel(&plural(rest)))
}

/// `UpdateDeployment` → (`Update`, `Deployment`).
fn split_first_word(method: &str) -> (&str, &str) {
    let end = method
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_ascii_uppercase())
        .map_or(method.len(), |(index, _)| index);
    method.split_at(end)
}

fn lower_camel(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_lowercase().to_string() + chars.as_str()
    })
}

/// English plural of the last word, unless it is already plural (ends in `s`).
fn plural(word: &str) -> String {
    if word.ends_with('s') {
        word.to_string()
    } else if let Some(stem) = word.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{word}s")
    }
}

/// True when the role pattern grants `permission` (wildcards per role.proto: `*` for
/// one whole segment; as the last segment, for every remaining one; alone, for all).
pub fn pattern_matches(pattern: &str, permission: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let permission: Vec<&str> = permission.split('.').collect();
    for (index, segment) in pattern.iter().enumerate() {
        let last = index + 1 == pattern.len();
        match permission.get(index) {
            None => return false,
            Some(_) if *segment == "*" && last => return true,
            Some(part) if *segment == "*" || segment == part => {}
            Some(_) => return false,
        }
    }
    pattern.len() == permission.len()
}

/// Checks a role pattern's shape: dot-separated segments, each a name or `*`.
pub fn valid_pattern(pattern: &str) -> bool {
    !pattern.is_empty()
        && pattern.split('.').all(|segment| {
            segment == "*"
                || (!segment.is_empty()
                    && segment.starts_with(|c: char| c.is_ascii_lowercase())
                    && segment.chars().all(|c| c.is_ascii_alphanumeric()))
        })
}

/// The namespace (`namespaces/{namespace}`) a resource name belongs to; `None` for
/// platform-wide names and for `namespaces/-` (every namespace).
pub fn namespace_of(resource: &str) -> Option<String> {
    namespace_in(resource).map(str::to_string)
}

/// [`namespace_of`], borrowed from `resource`.
fn namespace_in(resource: &str) -> Option<&str> {
    let id = resource.strip_prefix("namespaces/")?;
    let id = id.split_once('/').map_or(id, |(id, _)| id);
    (!id.is_empty() && id != "-").then(|| &resource[.."namespaces/".len() + id.len()])
}

/// Every permission of the API (from the descriptor set), with the methods gating it.
pub fn all_permissions(paths: &[String]) -> BTreeMap<String, (bool, Vec<String>)> {
    let mut all: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
    for path in paths {
        if let Some(permission) = permission_of(path) {
            let entry = all
                .entry(permission.name)
                .or_insert((permission.read, Vec::new()));
            entry.1.push(path.clone());
        }
    }
    all
}

/// The permissions of the built-in roles, given every permission of the API.
pub fn built_in_permissions(
    role: &str,
    all: &BTreeMap<String, (bool, Vec<String>)>,
) -> Option<Vec<String>> {
    let viewer = |name: &str, read: bool| read && !name.starts_with("auth.auditEntries.");
    let developer = |name: &str, read: bool| {
        let area = name.split('.').next().unwrap_or("");
        viewer(name, read)
            || DEVELOPER_AREAS.contains(&area)
            || name.starts_with("storage.volumeBindings.")
    };
    match role {
        ADMIN => Some(vec!["*".to_string()]),
        VIEWER => Some(
            all.iter()
                .filter(|(name, (read, _))| viewer(name, *read))
                .map(|(name, _)| name.clone())
                .collect(),
        ),
        DEVELOPER => Some(
            all.iter()
                .filter(|(name, (read, _))| developer(name, *read))
                .map(|(name, _)| name.clone())
                .collect(),
        ),
        _ => None,
    }
}

/// A stored token: its resource and the salted hash of its secret.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredToken {
    /// The resource (never holds the secret).
    pub token: Token,
    /// The salt.
    pub salt: Vec<u8>,
    /// `SHA-256(salt ‖ secret)`.
    pub hash: Vec<u8>,
}

/// A freshly made token secret: the string to hand out once, and what to store.
pub struct NewSecret {
    /// `ferry_<id>_<secret>`: shown once, never stored or logged.
    pub token_string: String,
    /// What is shown of it afterwards (`ferry_<id>_` and 4 characters).
    pub prefix: String,
    /// The salt.
    pub salt: Vec<u8>,
    /// The hash.
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Makes a new secret for token `id` from 48 random bytes (32 secret, 16 salt).
pub fn new_secret(id: &str, random: [u8; 48]) -> NewSecret {
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&random[..32]);
    let salt = random[32..].to_vec();
    let hash = hash_secret(&salt, &secret);
    NewSecret {
        prefix: format!("{TOKEN_PREFIX}{id}_{}", &secret[..4]),
        token_string: format!("{TOKEN_PREFIX}{id}_{secret}"),
        salt,
        hash,
    }
}

/// `SHA-256(salt ‖ secret)`.
pub fn hash_secret(salt: &[u8], secret: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(secret.as_bytes());
    hasher.finalize().to_vec()
}

/// Splits a token string `ferry_<id>_<secret>` (ids never hold `_`).
pub fn parse_token_string(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(TOKEN_PREFIX)?.split_once('_')?;
    (ferry_kit::aip::is_valid_id(id) && !secret.is_empty()).then_some((id, secret))
}

/// Why a call was not authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `authorization: Bearer` metadata.
    Missing,
    /// Not a token this platform issues, or an unknown one, or a wrong secret.
    Invalid,
    /// The token was revoked.
    Revoked,
    /// The token expired.
    Expired,
    /// The token's owner is disabled or gone.
    OwnerDisabled,
}

/// The authenticated caller of one call.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    /// `users/{user}` or `serviceAccounts/{service_account}`.
    pub principal: String,
    /// `tokens/{token}`.
    pub token: String,
    /// The token's scope.
    pub scope: Option<TokenScope>,
    /// When the token expires.
    pub expire_time: Option<prost_types::Timestamp>,
}

/// What a replica knows of the auth records (from etcd, through the watch).
#[derive(Clone, Debug, Default)]
pub struct AuthState {
    /// Tokens by id.
    pub tokens: HashMap<String, StoredToken>,
    /// Users by name.
    pub users: HashMap<String, User>,
    /// Service accounts by name.
    pub service_accounts: HashMap<String, ServiceAccount>,
    /// Custom roles by name: their permission patterns.
    pub roles: HashMap<String, Vec<String>>,
    /// Role bindings by name.
    pub bindings: BTreeMap<String, RoleBinding>,
    /// Permissions of the built-in roles.
    pub built_in: HashMap<String, Vec<String>>,
}

/// Seconds since the epoch of a timestamp.
fn seconds(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// True once `token` passed its expiry at `now`.
pub fn expired(token: &Token, now: SystemTime) -> bool {
    use ferry_proto::ferry::auth::v1::token::Expiration;
    match &token.expiration {
        Some(Expiration::ExpireTime(at)) => at.seconds <= seconds(now),
        _ => false,
    }
}

impl AuthState {
    /// Authenticates the `authorization` metadata value of a call.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        now: SystemTime,
    ) -> Result<Caller, AuthFailure> {
        let value = authorization.ok_or(AuthFailure::Missing)?;
        let token_string = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthFailure::Missing)?
            .trim();
        let (id, secret) = parse_token_string(token_string).ok_or(AuthFailure::Invalid)?;
        let stored = self.tokens.get(id).ok_or(AuthFailure::Invalid)?;
        let hash = hash_secret(&stored.salt, secret);
        if !bool::from(hash.ct_eq(&stored.hash)) {
            return Err(AuthFailure::Invalid);
        }
        let token = &stored.token;
        if token.revoked {
            return Err(AuthFailure::Revoked);
        }
        if expired(token, now) {
            return Err(AuthFailure::Expired);
        }
        if !self.principal_enabled(&token.owner) {
            return Err(AuthFailure::OwnerDisabled);
        }
        let expire_time = match &token.expiration {
            Some(ferry_proto::ferry::auth::v1::token::Expiration::ExpireTime(at)) => Some(*at),
            _ => None,
        };
        Ok(Caller {
            principal: token.owner.clone(),
            token: token.name.clone(),
            scope: token.scope.clone(),
            expire_time,
        })
    }

    /// True when the principal exists and is not disabled.
    pub fn principal_enabled(&self, principal: &str) -> bool {
        if let Some(user) = self.users.get(principal) {
            return !user.disabled;
        }
        self.service_accounts
            .get(principal)
            .is_some_and(|account| !account.disabled)
    }

    /// The permission patterns of a role (built-in or custom).
    pub fn role_permissions(&self, role: &str) -> Option<&[String]> {
        self.built_in
            .get(role)
            .or_else(|| self.roles.get(role))
            .map(Vec::as_slice)
    }

    /// The bindings naming `principal`, platform-wide first, then by namespace.
    pub fn bindings_of<'a>(&'a self, principal: &'a str) -> Vec<&'a RoleBinding> {
        let mut bindings: Vec<&RoleBinding> = self
            .bindings
            .values()
            .filter(|binding| binding.members.iter().any(|m| m == principal))
            .collect();
        bindings.sort_by_key(|binding| (!binding.namespace.is_empty(), binding.name.clone()));
        bindings
    }

    /// True when `principal` holds `permission` for a resource in `namespace` (or
    /// platform-wide when `None`) through its bindings: platform-wide bindings apply
    /// everywhere, a namespace's bindings only inside it.
    pub fn holds(&self, principal: &str, permission: &str, namespace: Option<&str>) -> bool {
        // Any binding will do: no need for `bindings_of`'s order (nor its allocations,
        // this runs on every call).
        self.bindings.values().any(|binding| {
            binding.members.iter().any(|member| member == principal)
                && (binding.namespace.is_empty() || Some(binding.namespace.as_str()) == namespace)
                && self
                    .role_permissions(&binding.role)
                    .is_some_and(|patterns| patterns.iter().any(|p| pattern_matches(p, permission)))
        })
    }

    /// The token scope's restriction: a scoped token may use a permission only if one
    /// of its roles grants it, and act only inside its namespaces.
    fn scope_allows(&self, scope: &TokenScope, permission: &str, namespace: Option<&str>) -> bool {
        let roles_ok = scope.roles.is_empty()
            || scope.roles.iter().any(|role| {
                self.role_permissions(role)
                    .is_some_and(|patterns| patterns.iter().any(|p| pattern_matches(p, permission)))
            });
        let namespaces_ok = scope.namespaces.is_empty()
            || namespace.is_some_and(|ns| scope.namespaces.iter().any(|allowed| allowed == ns));
        roles_ok && namespaces_ok
    }

    /// Decides one call: `caller` calls the method needing `permission` on `resource`
    /// (its name, or its parent; empty when the request names none).
    pub fn authorize(&self, caller: &Caller, permission: &str, resource: &str) -> Decision {
        if self_service(self, caller, permission, resource) {
            return Decision::Allow;
        }
        let namespace = namespace_in(resource);
        let allowed = self.holds(&caller.principal, permission, namespace)
            && caller
                .scope
                .as_ref()
                .is_none_or(|scope| self.scope_allows(scope, permission, namespace));
        if allowed {
            Decision::Allow
        } else {
            Decision::Deny
        }
    }

    /// The permissions `caller` effectively holds in `namespace` (or platform-wide),
    /// wildcards expanded against `all`, scope applied; sorted.
    pub fn effective_permissions(
        &self,
        caller: &Caller,
        namespace: Option<&str>,
        all: &BTreeMap<String, (bool, Vec<String>)>,
    ) -> Vec<String> {
        let held: BTreeSet<String> = all
            .keys()
            .filter(|permission| {
                self.holds(&caller.principal, permission, namespace)
                    && caller
                        .scope
                        .as_ref()
                        .is_none_or(|scope| self.scope_allows(scope, permission, namespace))
            })
            .cloned()
            .collect();
        held.into_iter().collect()
    }
}

/// The result of [`AuthState::authorize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The call may proceed.
    Allow,
    /// PERMISSION_DENIED.
    Deny,
}

/// What every principal may do without a binding (the protos' "every caller may"):
/// read its identity, roles and permissions, its own user record, and manage its own
/// tokens. Creating and listing tokens are decided by the handlers (they see the
/// request's owner, and filter lists).
fn self_service(state: &AuthState, caller: &Caller, permission: &str, resource: &str) -> bool {
    match permission {
        "auth.callerIdentities.get"
        | "auth.roles.get"
        | "auth.roles.list"
        | "auth.permissions.list"
        | "auth.tokens.create"
        | "auth.tokens.list" => true,
        "auth.tokens.get" | "auth.tokens.revoke" | "auth.tokens.delete" => resource
            .strip_prefix("tokens/")
            .and_then(|id| state.tokens.get(id))
            .is_some_and(|stored| stored.token.owner == caller.principal),
        "auth.users.get" | "auth.serviceAccounts.get" => resource == caller.principal,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::auth::v1::token::Expiration;

    fn perm(path: &str) -> (String, bool) {
        let permission = permission_of(path).unwrap();
        (permission.name, permission.read)
    }

    #[test]
    fn permissions_follow_the_method_names() {
        for (path, name, read) in [
            (
                "/ferry.deploy.v1.DeploymentService/UpdateDeployment",
                "deploy.deployments.update",
                false,
            ),
            (
                "/ferry.deploy.v1.DeploymentService/ListDeployments",
                "deploy.deployments.list",
                true,
            ),
            (
                "/ferry.routing.v1.BlueGreenService/SwitchBlueGreenEntry",
                "routing.blueGreenEntries.switch",
                false,
            ),
            (
                "/ferry.deploy.v1.AutoscalingService/GetAutoscalingPolicy",
                "deploy.autoscalingPolicies.get",
                true,
            ),
            (
                "/ferry.common.v1.OperationsService/WatchOperation",
                "common.operations.watch",
                true,
            ),
            (
                "/ferry.build.v1.BuildService/StreamBuildLogs",
                "build.buildLogs.stream",
                true,
            ),
            (
                "/ferry.auth.v1.UserService/GetCallerIdentity",
                "auth.callerIdentities.get",
                true,
            ),
            (
                "/ferry.deploy.v1.NamespaceService/CreateNamespace",
                "deploy.namespaces.create",
                false,
            ),
        ] {
            assert_eq!(perm(path), (name.to_string(), read), "{path}");
        }
        assert_eq!(permission_of("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            created_collection("CreateRoleBinding").as_deref(),
            Some("roleBindings")
        );
        assert_eq!(created_collection("GetRoleBinding"), None);
        assert_eq!(permission_of("/ferry.deploy.v1.X/"), None);
    }

    #[test]
    fn wildcards_match_whole_segments() {
        assert!(pattern_matches("*", "deploy.deployments.update"));
        assert!(pattern_matches("deploy.*", "deploy.deployments.update"));
        assert!(pattern_matches("deploy.*.get", "deploy.deployments.get"));
        assert!(pattern_matches("*.deployments.*", "deploy.deployments.get"));
        assert!(!pattern_matches("deploy.*.get", "deploy.deployments.list"));
        assert!(!pattern_matches("build.*", "deploy.deployments.get"));
        assert!(!pattern_matches(
            "deploy.deployments",
            "deploy.deployments.get"
        ));
        assert!(!pattern_matches(
            "deploy.deployments.get.x",
            "deploy.deployments.get"
        ));
        assert!(pattern_matches(
            "deploy.deployments.get",
            "deploy.deployments.get"
        ));
        assert!(valid_pattern("deploy.*.get") && valid_pattern("*"));
        assert!(!valid_pattern("deploy.deploy*") && !valid_pattern("") && !valid_pattern("a..b"));
    }

    #[test]
    fn namespaces_come_from_the_leading_segments() {
        assert_eq!(
            namespace_of("namespaces/dev/deployments/web").as_deref(),
            Some("namespaces/dev")
        );
        assert_eq!(
            namespace_of("namespaces/dev").as_deref(),
            Some("namespaces/dev")
        );
        assert_eq!(namespace_of("namespaces/-"), None);
        assert_eq!(namespace_of("operations/abc"), None);
        assert_eq!(namespace_of(""), None);
    }

    fn api() -> BTreeMap<String, (bool, Vec<String>)> {
        let paths: Vec<String> = [
            "/ferry.deploy.v1.DeploymentService/GetDeployment",
            "/ferry.deploy.v1.DeploymentService/UpdateDeployment",
            "/ferry.storage.v1.VolumeService/CreateVolume",
            "/ferry.storage.v1.VolumeBindingService/CreateVolumeBinding",
            "/ferry.auth.v1.AuditService/ListAuditEntries",
            "/ferry.auth.v1.RoleBindingService/CreateRoleBinding",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        all_permissions(&paths)
    }

    #[test]
    fn built_in_roles_grant_what_role_proto_says() {
        let all = api();
        let viewer = built_in_permissions(VIEWER, &all).unwrap();
        assert_eq!(viewer, vec!["deploy.deployments.get".to_string()]);
        let developer = built_in_permissions(DEVELOPER, &all).unwrap();
        assert_eq!(
            developer,
            vec![
                "deploy.deployments.get".to_string(),
                "deploy.deployments.update".to_string(),
                "storage.volumeBindings.create".to_string(),
            ]
        );
        assert_eq!(built_in_permissions(ADMIN, &all).unwrap(), vec!["*"]);
        assert_eq!(built_in_permissions("roles/custom", &all), None);
    }

    fn state() -> AuthState {
        let all = api();
        let mut state = AuthState::default();
        for role in [VIEWER, DEVELOPER, ADMIN] {
            state
                .built_in
                .insert(role.into(), built_in_permissions(role, &all).unwrap());
        }
        for (name, role, namespace, member) in [
            ("roleBindings/admins", ADMIN, "", "users/root"),
            (
                "namespaces/dev/roleBindings/viewers",
                VIEWER,
                "namespaces/dev",
                "users/vera",
            ),
        ] {
            state.bindings.insert(
                name.into(),
                RoleBinding {
                    name: name.into(),
                    role: role.into(),
                    namespace: namespace.into(),
                    members: vec![member.into()],
                    ..Default::default()
                },
            );
        }
        for user in ["users/root", "users/vera"] {
            state.users.insert(
                user.into(),
                User {
                    name: user.into(),
                    ..Default::default()
                },
            );
        }
        state
    }

    fn caller(principal: &str) -> Caller {
        Caller {
            principal: principal.into(),
            token: "tokens/t".into(),
            scope: None,
            expire_time: None,
        }
    }

    #[test]
    fn bindings_apply_in_their_namespace_only() {
        let state = state();
        let vera = caller("users/vera");
        let read = "deploy.deployments.get";
        assert_eq!(
            state.authorize(&vera, read, "namespaces/dev/deployments/web"),
            Decision::Allow
        );
        assert_eq!(
            state.authorize(&vera, read, "namespaces/prod/deployments/web"),
            Decision::Deny
        );
        assert_eq!(
            state.authorize(
                &vera,
                "deploy.deployments.update",
                "namespaces/dev/deployments/web"
            ),
            Decision::Deny
        );
        assert_eq!(state.authorize(&vera, read, ""), Decision::Deny);
        let root = caller("users/root");
        assert_eq!(
            state.authorize(&root, "deploy.deployments.update", "namespaces/prod/x"),
            Decision::Allow
        );
        assert_eq!(
            state.authorize(&caller("users/nobody"), read, ""),
            Decision::Deny
        );
        // Everybody may ask who they are.
        assert_eq!(
            state.authorize(&vera, "auth.callerIdentities.get", ""),
            Decision::Allow
        );
    }

    #[test]
    fn scopes_narrow_and_never_widen() {
        let state = state();
        let mut root = caller("users/root");
        root.scope = Some(TokenScope {
            roles: vec![VIEWER.into()],
            namespaces: vec!["namespaces/dev".into()],
        });
        assert_eq!(
            state.authorize(
                &root,
                "deploy.deployments.get",
                "namespaces/dev/deployments/a"
            ),
            Decision::Allow
        );
        assert_eq!(
            state.authorize(
                &root,
                "deploy.deployments.update",
                "namespaces/dev/deployments/a"
            ),
            Decision::Deny
        );
        assert_eq!(
            state.authorize(
                &root,
                "deploy.deployments.get",
                "namespaces/prod/deployments/a"
            ),
            Decision::Deny
        );
    }

    #[test]
    fn tokens_authenticate_until_revoked_expired_or_disabled() {
        let mut state = state();
        let secret = new_secret("ci", [7; 48]);
        assert!(!format!("{secret:?}").contains(&secret.token_string));
        let token = Token {
            name: "tokens/ci".into(),
            owner: "users/vera".into(),
            ..Default::default()
        };
        state.tokens.insert(
            "ci".into(),
            StoredToken {
                token,
                salt: secret.salt.clone(),
                hash: secret.hash.clone(),
            },
        );
        let now = SystemTime::now();
        let header = format!("Bearer {}", secret.token_string);
        let ok = state.authenticate(Some(&header), now).unwrap();
        assert_eq!(
            (ok.principal.as_str(), ok.token.as_str()),
            ("users/vera", "tokens/ci")
        );

        assert_eq!(state.authenticate(None, now), Err(AuthFailure::Missing));
        assert_eq!(
            state.authenticate(Some("Basic abc"), now),
            Err(AuthFailure::Missing)
        );
        let wrong = format!("Bearer {}x", secret.token_string);
        assert_eq!(
            state.authenticate(Some(&wrong), now),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            state.authenticate(Some("Bearer ferry_other_abc"), now),
            Err(AuthFailure::Invalid)
        );

        let stored = state.tokens.get_mut("ci").unwrap();
        stored.token.expiration = Some(Expiration::ExpireTime(prost_types::Timestamp {
            seconds: seconds(now) - 1,
            nanos: 0,
        }));
        assert_eq!(
            state.authenticate(Some(&header), now),
            Err(AuthFailure::Expired)
        );
        let stored = state.tokens.get_mut("ci").unwrap();
        stored.token.expiration = None;
        stored.token.revoked = true;
        assert_eq!(
            state.authenticate(Some(&header), now),
            Err(AuthFailure::Revoked)
        );
        state.tokens.get_mut("ci").unwrap().token.revoked = false;
        state.users.get_mut("users/vera").unwrap().disabled = true;
        assert_eq!(
            state.authenticate(Some(&header), now),
            Err(AuthFailure::OwnerDisabled)
        );
    }

    #[test]
    fn own_tokens_are_self_service() {
        let mut state = state();
        state.tokens.insert(
            "mine".into(),
            StoredToken {
                token: Token {
                    name: "tokens/mine".into(),
                    owner: "users/vera".into(),
                    ..Default::default()
                },
                salt: vec![],
                hash: vec![],
            },
        );
        let vera = caller("users/vera");
        assert_eq!(
            state.authorize(&vera, "auth.tokens.revoke", "tokens/mine"),
            Decision::Allow
        );
        assert_eq!(
            state.authorize(&caller("users/other"), "auth.tokens.revoke", "tokens/mine"),
            Decision::Deny
        );
        assert_eq!(
            state.authorize(&vera, "auth.tokens.revoke", "tokens/absent"),
            Decision::Deny
        );
    }

    #[test]
    fn token_strings_round_trip() {
        let secret = new_secret("build-bot", [1; 48]);
        let (id, raw) = parse_token_string(&secret.token_string).unwrap();
        assert_eq!(id, "build-bot");
        assert_eq!(hash_secret(&secret.salt, raw), secret.hash);
        assert!(secret.token_string.starts_with(&secret.prefix));
        assert!(secret.prefix.len() < secret.token_string.len() - 20);
        assert_eq!(parse_token_string("ferry_BAD_x"), None);
        assert_eq!(parse_token_string("nope"), None);
    }
}
