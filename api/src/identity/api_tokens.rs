//! Personal API tokens for scripts (SPEC S3.4).

use hubkeep_shared::fields::{FieldErrors, ShortName};
use hubkeep_shared::{TokenId, UserId};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use super::caller::Caller;
use super::secret::{self, API_TOKEN_PREFIX as PREFIX};
use crate::AppState;
use crate::activity::{self, Target, actions};
use crate::db::{self, entities::api_tokens};
use crate::error::ApiError;
use crate::pagination::Paging as _;
use crate::pagination::{Page, PageQuery};
pub use hubkeep_shared::api::tokens::{ApiToken, CreateToken, CreatedToken, TenantApiToken};

/// How many characters of a token are kept in clear to tell tokens apart.
const SHOWN_PREFIX_LEN: usize = 10;

fn view(row: &api_tokens::Model) -> Result<ApiToken, ApiError> {
    Ok(ApiToken {
        id: row.id.clone(),
        name: row.name.clone(),
        scope: row.scope.personal().ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "user token with scope {}",
                sea_orm::ActiveEnum::to_value(&row.scope)
            ))
        })?,
        token_prefix: row.token_prefix.clone(),
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
    })
}

/// Creates a token for the caller, in the handler's transaction. Only a console session may:
/// a token minting tokens would let a leaked token outlive its own revocation.
pub async fn create(
    txn: &DatabaseTransaction,
    caller: &Caller,
    input: CreateToken,
) -> Result<CreatedToken, ApiError> {
    caller.require_session("Creating an API token")?;
    // Serialized with every change of hub access and checked against the caller as they are
    // now: a token is never minted for someone whose access a concurrent change withdrew
    // (it would escape that change's revocation, SPEC S12).
    db::lock_tenant(txn, &caller.tenant_id).await?;
    let caller = &caller.recheck(txn).await?;
    let mut errors = FieldErrors::new();
    let name = errors.check::<ShortName>("name", &input.name);
    let now = db::now();
    if input.expires_at.is_some_and(|at| at <= now) {
        errors.add("expires_at", "must be in the future");
    }
    let (Some(name), true) = (name, errors.is_empty()) else {
        return Err(ApiError::validation(
            "The token cannot be created.",
            errors.into_vec(),
        ));
    };
    let name = name.into_string();
    let token = format!("{PREFIX}{}", secret::random_secret());
    let token_prefix: String = token.chars().take(SHOWN_PREFIX_LEN).collect();
    let id = TokenId::new(db::new_id());
    let row = api_tokens::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(caller.tenant_id.clone()),
        user_id: Set(Some(caller.user.id.clone())),
        name: Set(name.clone()),
        scope: Set(input.scope.into()),
        token_hash: Set(secret::hash(&token)),
        token_prefix: Set(token_prefix.clone()),
        created_at: Set(now),
        expires_at: Set(input.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        revoked_by: Set(None),
    }
    .insert(txn)
    .await?;
    activity::record_by(
        txn,
        caller,
        actions::API_TOKEN_CREATED,
        Target::new("api_token", &id, &name),
        None,
        json!({
            "scope": input.scope,
            "expires_at": input.expires_at,
            "token_prefix": token_prefix,
        }),
    )
    .await?;
    Ok(CreatedToken {
        id: row.id,
        name: row.name,
        scope: input.scope,
        token,
        token_prefix: row.token_prefix,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: None,
    })
}

/// The caller's tokens that are not revoked, oldest first.
pub async fn list_own(
    state: &AppState,
    caller: &Caller,
    page: &PageQuery,
) -> Result<Page<ApiToken>, ApiError> {
    let limit = page.limit()?;
    let mut query = api_tokens::Entity::find()
        .filter(api_tokens::Column::TenantId.eq(&caller.tenant_id))
        .filter(api_tokens::Column::UserId.eq(&caller.user.id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .order_by_asc(api_tokens::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after_id()? {
        query = query.filter(api_tokens::Column::Id.gt(after));
    }
    let rows = query.all(&state.db).await?;
    crate::pagination::page_from_rows(rows, limit, |r| r.id.to_string(), view)
}

/// Revokes one of the caller's tokens, in the handler's transaction; someone else's is "not
/// found".
pub async fn revoke_own(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &TokenId,
) -> Result<(), ApiError> {
    revoke(txn, caller, id, Whose::Own).await
}

/// Whose tokens a revocation may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    /// The caller's own.
    Own,
    /// Any user's token of the caller's tenant (elevated oversight).
    AnyUser,
}

async fn revoke(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &TokenId,
    whose: Whose,
) -> Result<(), ApiError> {
    let row = api_tokens::Entity::find_by_id(id.clone())
        .one(txn)
        .await?
        .filter(|t| {
            let reachable = match whose {
                Whose::Own => t.user_id.as_ref() == Some(&caller.user.id),
                Whose::AnyUser => t.user_id.is_some(),
            };
            t.tenant_id == caller.tenant_id && reachable && t.revoked_at.is_none()
        })
        .ok_or_else(ApiError::not_found)?;
    let mut active: api_tokens::ActiveModel = row.clone().into();
    active.revoked_at = Set(Some(db::now()));
    active.revoked_by = Set(Some(caller.user.id.clone()));
    active.update(txn).await?;
    activity::record_by(
        txn,
        caller,
        actions::API_TOKEN_REVOKED,
        Target::new("api_token", &row.id, &row.name),
        None,
        json!({ "token_prefix": row.token_prefix, "owner_user_id": row.user_id }),
    )
    .await?;
    Ok(())
}

/// Every user token of the tenant that is not revoked (elevated oversight, SPEC S2.1).
pub async fn list_all(
    state: &AppState,
    caller: &Caller,
    page: &PageQuery,
) -> Result<Page<TenantApiToken>, ApiError> {
    use crate::db::entities::users;
    let limit = page.limit()?;
    let mut query = api_tokens::Entity::find()
        .filter(api_tokens::Column::TenantId.eq(&caller.tenant_id))
        .filter(api_tokens::Column::UserId.is_not_null())
        .filter(api_tokens::Column::RevokedAt.is_null())
        .order_by_asc(api_tokens::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after_id()? {
        query = query.filter(api_tokens::Column::Id.gt(after));
    }
    let rows = query.all(&state.db).await?;
    let ids: Vec<UserId> = rows.iter().filter_map(|r| r.user_id.clone()).collect();
    let names: std::collections::HashMap<UserId, String> = users::Entity::find()
        .filter(users::Column::TenantId.eq(&caller.tenant_id))
        .filter(users::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    crate::pagination::page_from_rows(
        rows,
        limit,
        |r| r.id.to_string(),
        |r| {
            // The query keeps only user tokens (engine tokens have no user).
            let user_id = r.user_id.clone().ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("user token {} has no user", r.id))
            })?;
            Ok(TenantApiToken {
                token: view(r)?,
                user_display_name: names.get(&user_id).cloned().unwrap_or_default(),
                user_id,
            })
        },
    )
}

/// Revokes any user token of the tenant (elevated oversight), in the handler's transaction.
pub async fn revoke_any(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &TokenId,
) -> Result<(), ApiError> {
    revoke(txn, caller, id, Whose::AnyUser).await
}
