//! Update and delete of users, service accounts, roles and role bindings: the handlers'
//! bodies, called by the servers in [`super`].
//!
//! The rules, the same for every kind:
//! - the update mask names the fields that change; an empty mask means the fields the
//!   request sets (AIP-134); a field outside the updatable ones is INVALID_ARGUMENT;
//! - an etag that no longer matches, or a write that loses a race, is ABORTED; nothing is
//!   written with `validate_only`;
//! - updated roles and bindings pass the checks of their creation (known permissions,
//!   existing members, no privilege escalation);
//! - deleting a principal deletes its tokens and takes it out of every binding (a binding
//!   left without members goes), so a later principal of the same name inherits nothing;
//! - nobody disables or deletes themselves, and the platform always keeps an enabled
//!   platform-wide admin.

use super::*;

/// The fields UpdateUser may change.
const USER_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "email",
    "description",
    "disabled",
];
/// The fields UpdateServiceAccount may change.
const SERVICE_ACCOUNT_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "description",
    "disabled",
];
/// The fields UpdateRole may change.
const ROLE_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "description",
    "permissions",
];
/// The fields UpdateRoleBinding may change.
const ROLE_BINDING_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "description",
    "role",
    "members",
];

/// Whether `field` changes: the mask names it (or `*`), or, with an empty mask, the
/// request sets it.
fn changes(paths: &[String], field: &str, is_set: bool) -> bool {
    if paths.is_empty() {
        is_set
    } else {
        paths.iter().any(|path| path == "*" || path == field)
    }
}

/// True when a platform-wide admin binding still names an enabled principal other than
/// `without` (and other than the binding `except_binding`, being deleted or changed).
fn admin_remains(state: &AuthState, without: &str, except_binding: &str) -> bool {
    state.bindings.values().any(|binding| {
        binding.name != except_binding
            && binding.namespace.is_empty()
            && binding.role == model::ADMIN
            && binding
                .members
                .iter()
                .any(|m| m != without && state.principal_enabled(m))
    })
}

impl AuthApi {
    /// Writes `message` over the record last read at `revision`.
    async fn replace<M: Message>(
        &self,
        kind: &str,
        name: &str,
        message: &M,
        revision: i64,
    ) -> Result<i64, ApiError> {
        match ferry_store::typed::update_msg(
            &*self.store,
            &keys::resource(kind, name),
            message,
            revision,
        )
        .await
        {
            Ok(revision) => Ok(revision),
            Err(StoreError::Conflict { .. }) => Err(ApiError::concurrent_modification(name)),
            Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(name)),
            Err(error) => Err(error.into()),
        }
    }

    /// Refuses to disable or delete `principal` when it is the caller, or the last enabled
    /// platform-wide admin.
    fn check_removable(
        &self,
        caller: &Option<Caller>,
        principal: &str,
        verb: &str,
    ) -> Result<(), ApiError> {
        if caller.as_ref().is_some_and(|c| c.principal == principal) {
            return Err(ApiError::failed_precondition(
                ErrorReason::UnsafeChange,
                principal,
                format!("callers cannot {verb} themselves: ask another administrator"),
            ));
        }
        let state = self.state();
        let is_admin = state.bindings.values().any(|binding| {
            binding.namespace.is_empty()
                && binding.role == model::ADMIN
                && binding.members.iter().any(|m| m == principal)
        });
        if is_admin && !admin_remains(&state, principal, "") {
            return Err(ApiError::failed_precondition(
                ErrorReason::UnsafeChange,
                principal,
                format!(
                    "{principal} is the last enabled platform-wide admin: the platform would \
                     have no administrator"
                ),
            ));
        }
        Ok(())
    }

    /// UpdateUser.
    pub(super) async fn update_user_inner(
        &self,
        caller: Option<Caller>,
        request: UpdateUserRequest,
    ) -> Result<User, ApiError> {
        let input = request
            .user
            .clone()
            .ok_or_else(|| ApiError::invalid_field("user", "is required"))?;
        USER_NAME.parse("user.name", &input.name)?;
        let paths = aip::validate_update_mask(request.update_mask.as_ref(), USER_FIELDS)?;
        let (mut user, revision) = self.read::<User>(USERS, &input.name).await?;
        aip::check_etag("user.etag", &input.etag, revision, &input.name)?;
        if changes(&paths, "display_name", !input.display_name.is_empty()) {
            user.display_name = input.display_name.clone();
        }
        if changes(&paths, "labels", !input.labels.is_empty()) {
            user.labels = input.labels.clone();
        }
        if changes(&paths, "annotations", !input.annotations.is_empty()) {
            user.annotations = input.annotations.clone();
        }
        if changes(&paths, "description", !input.description.is_empty()) {
            user.description = input.description.clone();
        }
        if changes(&paths, "email", !input.email.is_empty()) && input.email != user.email {
            check_email(&input.email)?;
            let taken = self
                .read_all::<User>(USERS)
                .await?
                .iter()
                .any(|(other, _)| other.email == input.email && other.name != user.name);
            if taken {
                return Err(ApiError::already_exists(format!(
                    "a user with email {}",
                    input.email
                )));
            }
            user.email = input.email.clone();
        }
        if changes(&paths, "disabled", input.disabled) && input.disabled != user.disabled {
            if input.disabled {
                self.check_removable(&caller, &user.name, "disable")?;
            }
            user.disabled = input.disabled;
        }
        user.update_time = Some(timestamp(now()));
        user.etag.clear();
        if request.validate_only {
            return Ok(with_etag(user, revision, |u, e| u.etag = e));
        }
        let revision = self.replace(USERS, &input.name, &user, revision).await?;
        Ok(with_etag(user, revision, |u, e| u.etag = e))
    }

    /// UpdateServiceAccount.
    pub(super) async fn update_service_account_inner(
        &self,
        caller: Option<Caller>,
        request: UpdateServiceAccountRequest,
    ) -> Result<ServiceAccount, ApiError> {
        let input = request
            .service_account
            .clone()
            .ok_or_else(|| ApiError::invalid_field("service_account", "is required"))?;
        SERVICE_ACCOUNT_NAME.parse("service_account.name", &input.name)?;
        let paths =
            aip::validate_update_mask(request.update_mask.as_ref(), SERVICE_ACCOUNT_FIELDS)?;
        let (mut account, revision) = self
            .read::<ServiceAccount>(SERVICE_ACCOUNTS, &input.name)
            .await?;
        aip::check_etag("service_account.etag", &input.etag, revision, &input.name)?;
        if changes(&paths, "display_name", !input.display_name.is_empty()) {
            account.display_name = input.display_name.clone();
        }
        if changes(&paths, "labels", !input.labels.is_empty()) {
            account.labels = input.labels.clone();
        }
        if changes(&paths, "annotations", !input.annotations.is_empty()) {
            account.annotations = input.annotations.clone();
        }
        if changes(&paths, "description", !input.description.is_empty()) {
            account.description = input.description.clone();
        }
        if changes(&paths, "disabled", input.disabled) && input.disabled != account.disabled {
            if input.disabled {
                self.check_removable(&caller, &account.name, "disable")?;
            }
            account.disabled = input.disabled;
        }
        account.update_time = Some(timestamp(now()));
        account.etag.clear();
        if request.validate_only {
            return Ok(with_etag(account, revision, |a, e| a.etag = e));
        }
        let revision = self
            .replace(SERVICE_ACCOUNTS, &input.name, &account, revision)
            .await?;
        Ok(with_etag(account, revision, |a, e| a.etag = e))
    }

    /// DeleteUser and DeleteServiceAccount: the record, its tokens and its memberships.
    pub(super) async fn delete_principal<M: Message + Default>(
        &self,
        caller: Option<Caller>,
        kind: &str,
        name: &str,
        etag: &str,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let (_, revision) = self.read::<M>(kind, name).await?;
        aip::check_etag("etag", etag, revision, name)?;
        self.check_removable(&caller, name, "delete")?;
        if validate_only {
            return Ok(());
        }
        // Memberships first: a failure half-way leaves a principal that still exists
        // (and may be deleted again), never bindings naming one that does not.
        for (mut binding, binding_revision) in self.read_all::<RoleBinding>(ROLE_BINDINGS).await? {
            if !binding.members.iter().any(|m| m == name) {
                continue;
            }
            binding.members.retain(|m| m != name);
            let binding_name = binding.name.clone();
            if binding.members.is_empty() {
                self.delete(ROLE_BINDINGS, &binding_name, binding_revision)
                    .await?;
            } else {
                binding.update_time = Some(timestamp(now()));
                binding.etag.clear();
                self.replace(ROLE_BINDINGS, &binding_name, &binding, binding_revision)
                    .await?;
            }
        }
        for (record, token_revision) in self.read_all::<TokenRecord>(TOKENS).await? {
            if let Some(token) = record.token.filter(|t| t.owner == name) {
                self.delete(TOKENS, &token.name, token_revision).await?;
            }
        }
        self.delete(kind, name, revision).await
    }

    /// The sorted, de-duplicated permission patterns of a role, each known.
    pub(super) fn checked_permissions(
        &self,
        field: &str,
        patterns: &[String],
    ) -> Result<Vec<String>, ApiError> {
        let mut permissions = patterns.to_vec();
        permissions.sort();
        permissions.dedup();
        if permissions.is_empty() {
            return Err(ApiError::invalid_field(
                field,
                "needs at least one permission",
            ));
        }
        for (index, pattern) in permissions.iter().enumerate() {
            let field = format!("{field}[{index}]");
            if !model::valid_pattern(pattern) {
                return Err(ApiError::invalid_field(
                    field,
                    format!(
                        "{pattern:?} is not a permission (`area.collection.verb`, `*` for whole segments)"
                    ),
                ));
            }
            if !self
                .permissions
                .keys()
                .any(|known| model::pattern_matches(pattern, known))
            {
                return Err(ApiError::invalid_field(
                    field,
                    format!("{pattern:?} matches no known permission (see ListPermissions)"),
                ));
            }
        }
        Ok(permissions)
    }

    /// UpdateRole (custom roles only).
    pub(super) async fn update_role_inner(
        &self,
        caller: Option<Caller>,
        request: UpdateRoleRequest,
    ) -> Result<Role, ApiError> {
        let input = request
            .role
            .clone()
            .ok_or_else(|| ApiError::invalid_field("role", "is required"))?;
        ROLE_NAME.parse("role.name", &input.name)?;
        let paths = aip::validate_update_mask(request.update_mask.as_ref(), ROLE_FIELDS)?;
        if self.built_in_role(&input.name).is_some() {
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &input.name,
                "built-in roles cannot be changed: create a custom role",
            ));
        }
        let (mut role, revision) = self.read::<Role>(ROLES, &input.name).await?;
        aip::check_etag("role.etag", &input.etag, revision, &input.name)?;
        if changes(&paths, "display_name", !input.display_name.is_empty()) {
            role.display_name = input.display_name.clone();
        }
        if changes(&paths, "labels", !input.labels.is_empty()) {
            role.labels = input.labels.clone();
        }
        if changes(&paths, "annotations", !input.annotations.is_empty()) {
            role.annotations = input.annotations.clone();
        }
        if changes(&paths, "description", !input.description.is_empty()) {
            role.description = input.description.clone();
        }
        if changes(&paths, "permissions", !input.permissions.is_empty()) {
            let permissions = self.checked_permissions("role.permissions", &input.permissions)?;
            // No privilege escalation: widening a role grants the new permissions to every
            // binding of it, so the caller must hold them platform-wide.
            if let Some(caller) = &caller {
                let state = self.state();
                let added = self.permissions.keys().find(|permission| {
                    permissions
                        .iter()
                        .any(|p| model::pattern_matches(p, permission))
                        && !state.holds(&caller.principal, permission, None)
                });
                if let Some(permission) = added {
                    return Err(ApiError::new(
                        Code::PermissionDenied,
                        ErrorReason::PermissionDenied,
                        format!(
                            "a role may only grant what its editor holds; the caller lacks {permission}"
                        ),
                    )
                    .with_metadata("permission", permission.clone()));
                }
            }
            role.permissions = permissions;
        }
        role.update_time = Some(timestamp(now()));
        role.etag.clear();
        if request.validate_only {
            return Ok(with_etag(role, revision, |r, e| r.etag = e));
        }
        let revision = self.replace(ROLES, &input.name, &role, revision).await?;
        Ok(with_etag(role, revision, |r, e| r.etag = e))
    }

    /// UpdateRoleBinding.
    pub(super) async fn update_role_binding_inner(
        &self,
        caller: Option<Caller>,
        request: UpdateRoleBindingRequest,
    ) -> Result<RoleBinding, ApiError> {
        let input = request
            .role_binding
            .clone()
            .ok_or_else(|| ApiError::invalid_field("role_binding", "is required"))?;
        binding_namespace("role_binding.name", &input.name)?;
        let paths = aip::validate_update_mask(request.update_mask.as_ref(), ROLE_BINDING_FIELDS)?;
        let (mut binding, revision) = self.read::<RoleBinding>(ROLE_BINDINGS, &input.name).await?;
        aip::check_etag("role_binding.etag", &input.etag, revision, &input.name)?;
        if changes(&paths, "display_name", !input.display_name.is_empty()) {
            binding.display_name = input.display_name.clone();
        }
        if changes(&paths, "labels", !input.labels.is_empty()) {
            binding.labels = input.labels.clone();
        }
        if changes(&paths, "annotations", !input.annotations.is_empty()) {
            binding.annotations = input.annotations.clone();
        }
        if changes(&paths, "description", !input.description.is_empty()) {
            binding.description = input.description.clone();
        }
        let before = binding.clone();
        if changes(&paths, "role", !input.role.is_empty()) {
            binding.role = input.role.clone();
        }
        if changes(&paths, "members", !input.members.is_empty()) {
            binding.members = input.members.clone();
        }
        if binding.role != before.role || binding.members != before.members {
            binding.members = self
                .checked_binding(&caller, &binding.namespace, &binding.role, &binding.members)
                .await?;
            let was_admin = before.namespace.is_empty() && before.role == model::ADMIN;
            let state = self.state();
            if was_admin
                && !(binding.role == model::ADMIN
                    && binding.members.iter().any(|m| state.principal_enabled(m)))
                && !admin_remains(&state, "", &binding.name)
            {
                return Err(ApiError::failed_precondition(
                    ErrorReason::UnsafeChange,
                    &binding.name,
                    "this is the last platform-wide admin binding: the platform would have no administrator",
                ));
            }
        }
        binding.update_time = Some(timestamp(now()));
        binding.etag.clear();
        if request.validate_only {
            return Ok(with_etag(binding, revision, |b, e| b.etag = e));
        }
        let revision = self
            .replace(ROLE_BINDINGS, &input.name, &binding, revision)
            .await?;
        Ok(with_etag(binding, revision, |b, e| b.etag = e))
    }

    /// The checks of a binding's role and members, as at its creation: the role exists,
    /// 1 to 1000 members that exist, and the caller holds in the binding's scope every
    /// permission the role grants. Returns the members sorted and de-duplicated.
    pub(super) async fn checked_binding(
        &self,
        caller: &Option<Caller>,
        namespace: &str,
        role: &str,
        members: &[String],
    ) -> Result<Vec<String>, ApiError> {
        let state = self.state();
        let Some(patterns) = state.role_permissions(role) else {
            ROLE_NAME.parse("role_binding.role", role)?;
            return Err(ApiError::not_found(role));
        };
        let mut members = members.to_vec();
        members.sort();
        members.dedup();
        if members.is_empty() || members.len() > 1000 {
            return Err(ApiError::invalid_field(
                "role_binding.members",
                "needs 1 to 1000 members",
            ));
        }
        for (index, member) in members.iter().enumerate() {
            let field = format!("role_binding.members[{index}]");
            if USER_NAME.parse(&field, member).is_err()
                && SERVICE_ACCOUNT_NAME.parse(&field, member).is_err()
            {
                return Err(ApiError::invalid_field(
                    field,
                    format!(
                        "{member:?} is not users/{{user}} or serviceAccounts/{{service_account}}"
                    ),
                ));
            }
            // Read from etcd, not the watch-fed table: a member created a moment ago may
            // not have reached this replica's table yet.
            let known = state.users.contains_key(member)
                || state.service_accounts.contains_key(member)
                || self.read::<User>(USERS, member).await.is_ok()
                || self
                    .read::<ServiceAccount>(SERVICE_ACCOUNTS, member)
                    .await
                    .is_ok();
            if !known {
                return Err(ApiError::not_found(member));
            }
        }
        if let Some(caller) = caller {
            let scope = (!namespace.is_empty()).then_some(namespace);
            let missing = self.permissions.keys().find(|permission| {
                patterns
                    .iter()
                    .any(|p| model::pattern_matches(p, permission))
                    && !state.holds(&caller.principal, permission, scope)
            });
            if let Some(permission) = missing {
                return Err(ApiError::new(
                    Code::PermissionDenied,
                    ErrorReason::PermissionDenied,
                    format!(
                        "granting {role} needs every permission it holds; the caller lacks {permission}"
                    ),
                )
                .with_metadata("permission", permission.clone()));
            }
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_mask_changes_the_fields_set_and_a_mask_only_its_paths() {
        let none: Vec<String> = Vec::new();
        assert!(changes(&none, "email", true));
        assert!(!changes(&none, "email", false));
        let mask = vec!["description".to_string()];
        assert!(changes(&mask, "description", false), "clears it");
        assert!(!changes(&mask, "email", true));
        assert!(changes(&["*".to_string()], "email", false));
    }
}
