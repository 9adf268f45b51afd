//! The Users tab (SPEC S2, S2.2): list, read, activate/deactivate, set elevation, refresh
//! from the PSA.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use hubkeep_shared::{
    AccessDecision, AccessInputs, HubAccess, HubAction, LevelFacts, ProblemCode, UserChange,
    UserId, UserRow, allowed_user_actions, check_user_change,
};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::access::levels::saved_set;
use crate::access::search::{invalid_query as invalid, name_or_email_contains};
use crate::activity::{self, Target, actions};
use crate::db::{
    self,
    entities::{security_levels, users},
};
use crate::error::ApiError;
use crate::hub_access::{
    Why, Withdrawn, access_rank, decide, stamp, stored_access, withdraw_credentials,
};
use crate::identity::Caller;
use crate::identity::users::apply_snapshot;
use crate::notify::messages::AccessChange;
use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT, Page};
use crate::psa::{Priority, PsaResource};
pub use hubkeep_shared::api::users::{
    RefreshSummary, SortOrder, UpdatedUser, UserListItem, UserPatch, UserQuery, UserSort,
};

#[derive(Serialize, Deserialize)]
struct Cursor {
    s: UserSort,
    o: SortOrder,
    k: serde_json::Value,
    id: UserId,
}

/// Level facts and the saved set of a tenant, loaded once per request.
pub(crate) struct AccessContext {
    levels: HashMap<i64, LevelFacts>,
    set: BTreeSet<i64>,
}

impl AccessContext {
    pub(crate) async fn load(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Self, ApiError> {
        let levels = crate::psa::registry::cached_levels(db, tenant_id)
            .await?
            .into_iter()
            .map(|l| (l.id, l.facts()))
            .collect();
        Ok(Self {
            levels,
            set: saved_set(db, tenant_id).await?,
        })
    }

    fn inputs(&self, user: &users::Model) -> AccessInputs {
        AccessInputs {
            user_active: user.active,
            resource_active: user.resource_active,
            level: self
                .levels
                .get(&user.security_level_id)
                .copied()
                .unwrap_or_default(),
            is_primary: user.is_primary,
            elevation: user.elevation,
            level_in_elevated_set: self.set.contains(&user.security_level_id),
        }
    }

    fn item(&self, caller: &Caller, user: &users::Model) -> UserListItem {
        let decision = decide(
            user,
            self.levels.get(&user.security_level_id).copied(),
            self.set.contains(&user.security_level_id),
        );
        let row = UserRow {
            is_self: user.id == caller.user.id,
            inputs: self.inputs(user),
        };
        UserListItem {
            user: crate::identity::users::user_view(user, decision),
            actions: allowed_user_actions(caller.access.level, &row),
        }
    }
}

fn sort_key(sort: UserSort, user: &users::Model) -> serde_json::Value {
    match sort {
        UserSort::Name => json!(user.name_key),
        UserSort::SecurityLevel => json!(user.security_level_name),
        UserSort::AccessLevel => json!(user.access_rank),
        UserSort::LastAccessed => json!(user.last_accessed_at),
    }
}

fn sort_column(sort: UserSort) -> users::Column {
    match sort {
        UserSort::Name => users::Column::NameKey,
        UserSort::SecurityLevel => users::Column::SecurityLevelName,
        UserSort::AccessLevel => users::Column::AccessRank,
        UserSort::LastAccessed => users::Column::LastAccessedAt,
    }
}

fn key_value(sort: UserSort, key: &serde_json::Value) -> Option<Value> {
    match sort {
        UserSort::Name | UserSort::SecurityLevel => key.as_str().map(|s| s.to_owned().into()),
        UserSort::AccessLevel => key
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(Into::into),
        UserSort::LastAccessed => serde_json::from_value::<DateTime<Utc>>(key.clone())
            .ok()
            .map(Into::into),
    }
}

/// One page of the tenant's users (keyset pagination on the sort column and id).
pub async fn list_users(
    state: &AppState,
    caller: &Caller,
    query: UserQuery,
) -> Result<Page<UserListItem>, ApiError> {
    let sort = query.sort.unwrap_or_default();
    let order = query.order.unwrap_or_default();
    let limit = page_limit(query.limit)?;
    let column = sort_column(sort);
    let mut select = users::Entity::find().filter(users::Column::TenantId.eq(&caller.tenant_id));
    if let Some(q) = query.q.as_deref().filter(|q| !q.trim().is_empty()) {
        select = select.filter(search_condition(q)?);
    }
    if let Some(active) = query.active {
        select = select.filter(users::Column::Active.eq(active));
    }
    if let Some(level) = query.access_level {
        select = select.filter(users::Column::AccessRank.eq(access_rank(level)));
    }
    if let Some(cursor) = &query.cursor {
        select = select.filter(after_cursor(cursor, sort, order, column)?);
    }
    let direction = match order {
        SortOrder::Asc => Order::Asc,
        SortOrder::Desc => Order::Desc,
    };
    let rows = select
        .order_by(column, direction.clone())
        .order_by(users::Column::Id, direction)
        .limit(limit + 1)
        .all(&state.reader)
        .await?;
    let context = AccessContext::load(&state.reader, &caller.tenant_id).await?;
    crate::pagination::page_from_rows(
        rows,
        limit,
        |u| {
            serde_json::to_string(&Cursor {
                s: sort,
                o: order,
                k: sort_key(sort, u),
                id: u.id.clone(),
            })
            .unwrap_or_default()
        },
        |u| Ok(context.item(caller, u)),
    )
}

/// The page size asked for, the default when absent, or a 422 on `limit` when out of range.
fn page_limit(limit: Option<u64>) -> Result<u64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(invalid("limit", "must be between 1 and 200")),
    }
}

/// Validates the search text `q` and matches it against the name and email keys.
fn search_condition(q: &str) -> Result<Condition, ApiError> {
    if q.chars().count() > 200 {
        return Err(invalid("q", "must be at most 200 characters"));
    }
    if q.chars().any(char::is_control) {
        return Err(invalid("q", "must not contain control characters"));
    }
    Ok(name_or_email_contains(q))
}

/// Decodes and checks a cursor, then builds the filter for the rows that come after it.
fn after_cursor(
    cursor: &str,
    sort: UserSort,
    order: SortOrder,
    column: users::Column,
) -> Result<Expr, ApiError> {
    let decoded: Cursor = crate::pagination::decode_cursor(cursor)
        .ok()
        .and_then(|text| serde_json::from_str::<Cursor>(&text).ok())
        // A JSON escape can still smuggle a NUL, which no stored text has.
        .filter(|c| !c.id.contains('\0') && !c.k.as_str().is_some_and(|k| k.contains('\0')))
        .ok_or_else(|| invalid("cursor", "is not a cursor this API issued"))?;
    if decoded.s != sort || decoded.o != order {
        return Err(invalid(
            "cursor",
            "belongs to another sort order; start again without it",
        ));
    }
    let key = key_value(sort, &decoded.k)
        .ok_or_else(|| invalid("cursor", "is not a cursor this API issued"))?;
    // A row-value comparison, `(col, id) > (k, x)`: both databases seek the
    // `(tenant_id, col, id)` index straight to the cursor, so a page deep in the list
    // costs what the first page costs, even on a column with few distinct values (the
    // equivalent `col > k OR (col = k AND id > x)` scans from the start of the index).
    let row = Expr::tuple([
        Expr::col((users::Entity, column)),
        Expr::col((users::Entity, users::Column::Id)),
    ]);
    let cursor = Expr::tuple([Expr::value(key), Expr::value(decoded.id)]);
    Ok(match order {
        SortOrder::Asc => row.gt(cursor),
        SortOrder::Desc => row.lt(cursor),
    })
}

async fn find_user(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    id: &UserId,
) -> Result<users::Model, ApiError> {
    users::Entity::find_by_id(id.clone())
        .one(db)
        .await?
        .filter(|u| u.tenant_id == tenant_id)
        .ok_or_else(ApiError::not_found)
}

pub async fn get_user(
    state: &AppState,
    caller: &Caller,
    id: &UserId,
) -> Result<UserListItem, ApiError> {
    let user = find_user(&state.db, &caller.tenant_id, id).await?;
    let context = AccessContext::load(&state.db, &caller.tenant_id).await?;
    Ok(context.item(caller, &user))
}

fn guard_error(code: ProblemCode) -> ApiError {
    let detail = match code {
        ProblemCode::SelfDeactivationForbidden => {
            "You cannot deactivate yourself; ask another elevated user."
        }
        ProblemCode::PrimaryUserImmutable => {
            "The primary user cannot be deactivated or have their elevation changed."
        }
        ProblemCode::SelfDemotionForbidden => {
            "This would remove your own elevated access; ask another elevated user."
        }
        ProblemCode::LevelNotEligible => {
            "The user's security level is not eligible for elevation, so it cannot be granted."
        }
        ProblemCode::ElevatedAccessRequired => "This needs elevated hub access.",
        _ => "Not allowed.",
    };
    ApiError::new(code, detail)
}

/// Activates/deactivates a user and/or sets their elevation, under G1–G3 and G5, in the
/// handler's transaction.
pub async fn update_user(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &UserId,
    patch: UserPatch,
) -> Result<UserListItem, ApiError> {
    if patch.active.is_none() && patch.elevation.is_none() {
        return Err(ApiError::validation(
            "Nothing to change: send `active` and/or `elevation`.",
            Vec::new(),
        ));
    }
    // Serialized with every other change of hub access, and checked against the caller as
    // they are now: of two elevated users deactivating each other at once, the second finds
    // their own access gone.
    db::lock_tenant(txn, &caller.tenant_id).await?;
    let caller = &caller.recheck(txn).await?;
    caller.require(HubAction::ManageUsers)?;
    let target = find_user(txn, &caller.tenant_id, id).await?;
    let context = AccessContext::load(txn, &caller.tenant_id).await?;
    check_patch(caller, &context, &target, &patch)?;
    let Some(patched) = PatchedUser::apply(&target, &patch, &context) else {
        return Ok(context.item(caller, &target));
    };
    let updated = &patched.after;
    write_access(txn, updated).await?;
    // Losing access loses every credential: sessions and API tokens, for good (SPEC S12).
    let mut withdrawn = Withdrawn::default();
    if patched.decision.level == HubAccess::None {
        let why = if updated.active {
            Why::PsaChanged
        } else {
            Why::Deactivated
        };
        withdrawn = withdraw_credentials(txn, updated, why, &caller.actor(), &caller.meta).await?;
    }
    // The person is told what changed (SPEC S15), in this transaction.
    for change in patched.notices() {
        crate::notify::enqueue(
            txn,
            &caller.tenant_id,
            crate::notify::messages::access_changed(change, updated, &caller.user.display_name),
        )
        .await?;
    }
    activity::record_by(
        txn,
        caller,
        patched.action(),
        Target::new("user", &updated.id, &updated.display_name),
        None,
        patched.details(&withdrawn),
    )
    .await?;
    Ok(context.item(caller, updated))
}

/// Checks every requested change against G1–G3 and G5, even one that changes nothing.
fn check_patch(
    caller: &Caller,
    context: &AccessContext,
    target: &users::Model,
    patch: &UserPatch,
) -> Result<(), ApiError> {
    let row = UserRow {
        is_self: target.id == caller.user.id,
        inputs: context.inputs(target),
    };
    // Every requested field is checked, even one that changes nothing: no write of any kind
    // reaches the primary user (G3).
    let mut requested = Vec::new();
    if let Some(active) = patch.active {
        requested.push(if active {
            UserChange::Activate
        } else {
            UserChange::Deactivate
        });
    }
    if let Some(elevation) = patch.elevation {
        requested.push(UserChange::SetElevation(elevation));
    }
    for change in &requested {
        check_user_change(caller.access.level, &row, *change).map_err(guard_error)?;
    }
    Ok(())
}

/// A user with a patch applied: the row before and after, its new access, what changed.
struct PatchedUser<'a> {
    before: &'a users::Model,
    after: users::Model,
    decision: AccessDecision,
    active_changed: bool,
    elevation_changed: bool,
}

impl<'a> PatchedUser<'a> {
    /// Applies the patch and restamps the access; `None` when it changes nothing.
    fn apply(target: &'a users::Model, patch: &UserPatch, context: &AccessContext) -> Option<Self> {
        let active_changed = patch.active.is_some_and(|a| a != target.active);
        let elevation_changed = patch.elevation.is_some_and(|e| e != target.elevation);
        if !active_changed && !elevation_changed {
            return None;
        }
        let mut updated = target.clone();
        if let Some(active) = patch.active {
            updated.active = active;
        }
        if let Some(elevation) = patch.elevation {
            updated.elevation = elevation;
        }
        updated.updated_at = db::now();
        let decision = decide(
            &updated,
            context.levels.get(&updated.security_level_id).copied(),
            context.set.contains(&updated.security_level_id),
        );
        stamp(&mut updated, decision);
        Some(Self {
            before: target,
            after: updated,
            decision,
            active_changed,
            elevation_changed,
        })
    }

    /// What the person is told (SPEC S15): a change of `active`; else a change of elevation
    /// that changed what they have — the setting alone (`inherit` → `granted` for someone
    /// the Access tab already elevates) changes nothing they would notice.
    fn notices(&self) -> Vec<AccessChange> {
        if self.active_changed {
            return vec![if self.after.active {
                AccessChange::Reactivated
            } else {
                AccessChange::Deactivated
            }];
        }
        if !self.elevation_changed {
            return Vec::new();
        }
        AccessChange::of(stored_access(self.before), self.decision.level)
            .into_iter()
            .collect()
    }

    /// The activity action: a specific one when a single field changed, else `user.updated`.
    fn action(&self) -> &'static str {
        match (self.active_changed, self.elevation_changed) {
            (true, false) if self.after.active => actions::USER_ACTIVATED,
            (true, false) => actions::USER_DEACTIVATED,
            (false, true) => actions::USER_ELEVATION_CHANGED,
            _ => actions::USER_UPDATED,
        }
    }

    /// The activity details: changed fields, how many credentials a loss of access revoked
    /// (the `user.credentials_revoked` entry names them), and always the access level.
    fn details(&self, withdrawn: &Withdrawn) -> serde_json::Value {
        let (target, updated) = (self.before, &self.after);
        let mut details = serde_json::Map::new();
        if self.active_changed {
            details.insert(
                "active".into(),
                json!({"before": target.active, "after": updated.active}),
            );
        }
        if self.elevation_changed {
            details.insert(
                "elevation".into(),
                json!({"before": target.elevation, "after": updated.elevation}),
            );
        }
        if !withdrawn.sessions.is_empty() {
            details.insert("sessions_revoked".into(), json!(withdrawn.sessions.len()));
        }
        if !withdrawn.api_tokens.is_empty() {
            details.insert(
                "api_tokens_revoked".into(),
                json!(withdrawn.api_tokens.len()),
            );
        }
        details.insert(
            "access_level".into(),
            json!({"before": stored_access(target), "after": self.decision.level}),
        );
        serde_json::Value::Object(details)
    }
}

/// Writes the user's active flag, elevation, stamped access and update time.
async fn write_access(txn: &impl ConnectionTrait, updated: &users::Model) -> Result<(), ApiError> {
    users::Entity::update_many()
        .col_expr(users::Column::Active, Expr::value(updated.active))
        .col_expr(users::Column::Elevation, Expr::value(updated.elevation))
        .col_expr(users::Column::AccessRank, Expr::value(updated.access_rank))
        .col_expr(
            users::Column::AccessSource,
            Expr::value(updated.access_source),
        )
        .col_expr(users::Column::UpdatedAt, Expr::value(updated.updated_at))
        .filter(users::Column::Id.eq(&updated.id))
        .exec(txn)
        .await?;
    Ok(())
}

/// What the PSA says now about every resource and security level of the caller's tenant: what
/// [`refresh_users`] applies.
#[derive(Debug)]
pub struct PsaPeople {
    resources: HashMap<i64, PsaResource>,
    levels: HashMap<i64, security_levels::Model>,
}

/// Reads every resource and security level from the PSA, before any transaction: a slow PSA
/// must not hold one open (on SQLite, the writer pool's only connection).
pub async fn read_psa_people(state: &AppState, caller: &Caller) -> Result<PsaPeople, ApiError> {
    let psa = crate::psa::registry::settings_of(&state.db, &caller.tenant_id).await?;
    // Bulk work that can wait: it yields to sign-ins and stops when the budget is spent.
    let provider = state.psa.provider(&psa, Priority::Background)?;
    let resources: HashMap<i64, PsaResource> = provider
        .resources()
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let levels = state.psa.levels_by_id(&state.db, &psa).await?;
    Ok(PsaPeople { resources, levels })
}

/// The PSA's current answer about a user's resource (`None`: it no longer knows it, as good
/// as inactive) applied to a copy of the user, with their access decided and stamped anew:
/// `None` when nothing changes. The one place the Users-tab refresh and the reconciliation
/// job (SPEC S12) apply the PSA; the caller writes the row and, when the access is `none`,
/// withdraws the credentials.
pub(crate) fn psa_answer(
    user: &users::Model,
    resource: Option<&PsaResource>,
    levels: &HashMap<i64, security_levels::Model>,
    context: &AccessContext,
    now: DateTime<Utc>,
) -> Option<(users::Model, AccessDecision)> {
    let mut next = user.clone();
    match resource {
        Some(r) => apply_snapshot(
            &mut next,
            r,
            levels.get(&r.security_level_id).map(|l| l.name.as_str()),
        ),
        None => next.resource_active = false,
    }
    let decision = decide(
        &next,
        context.levels.get(&next.security_level_id).copied(),
        context.set.contains(&next.security_level_id),
    );
    stamp(&mut next, decision);
    if next == *user {
        return None;
    }
    next.snapshot_refreshed_at = now;
    next.updated_at = now;
    Some((next, decision))
}

/// Updates every hub user's snapshot from what the PSA said ([`read_psa_people`]), in the
/// handler's transaction.
pub async fn refresh_users(
    txn: &DatabaseTransaction,
    caller: &Caller,
    psa: &PsaPeople,
) -> Result<RefreshSummary, ApiError> {
    let PsaPeople { resources, levels } = psa;
    db::lock_tenant(txn, &caller.tenant_id).await?;
    let caller = &caller.recheck(txn).await?;
    caller.require(HubAction::RefreshUsers)?;
    let context = AccessContext::load(txn, &caller.tenant_id).await?;
    let all = users::Entity::find()
        .filter(users::Column::TenantId.eq(&caller.tenant_id))
        .all(txn)
        .await?;
    let now = db::now();
    let mut changed = 0u64;
    for user in &all {
        let resource = resources.get(&user.psa_resource_id);
        let Some((next, decision)) = psa_answer(user, resource, levels, &context, now) else {
            continue;
        };
        let active: users::ActiveModel = next.clone().into();
        users::Entity::update(sea_orm::ActiveModelTrait::reset_all(active))
            .exec(txn)
            .await?;
        if decision.level == HubAccess::None {
            withdraw_credentials(txn, &next, Why::PsaChanged, &caller.actor(), &caller.meta)
                .await?;
        }
        changed += 1;
    }
    let checked = u64::try_from(all.len()).unwrap_or(u64::MAX);
    activity::record_by(
        txn,
        caller,
        actions::USERS_REFRESHED,
        Target::new("users", &caller.tenant_id, "all users"),
        None,
        json!({ "checked": checked, "changed": changed }),
    )
    .await?;
    Ok(RefreshSummary { checked, changed })
}
