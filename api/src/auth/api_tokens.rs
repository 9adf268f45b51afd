//! Personal API tokens for scripts (SPEC S3.4).

use chrono::{DateTime, Utc};
use hubkeep_shared::{FieldError, TokenScope};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{Caller, secret};
use crate::AppState;
use crate::activity::{self, Target, actions};
use crate::db::{self, entities::api_tokens};
use crate::error::ApiError;
use crate::pagination::{Page, PageQuery};

/// Every API token starts with this, so it is recognisable in code and secret scanners.
pub const PREFIX: &str = "hk_";
/// How many characters of a token are kept in clear to tell tokens apart.
const SHOWN_PREFIX_LEN: usize = 10;
const MAX_NAME_CHARS: usize = 100;

/// `POST /api/v1/me/tokens` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"name": "Nightly user report", "scope": "read", "expires_at": "2027-06-30T00:00:00Z"})))]
pub struct CreateToken {
    /// What the token is for: 1–100 characters after trimming, no control characters.
    pub name: String,
    pub scope: TokenScope,
    /// When the token stops working; absent: never (until revoked or the user loses access).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    /// The first characters of the secret (`hk_…`), to recognise it.
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A newly created token: the only response that carries `token`.
#[derive(Clone, Serialize, ToSchema)]
#[schema(examples(json!({"id": "01a20abe-417b-71e4-a5ae-8a6bd9084b2f", "name": "Nightly user report", "scope": "read", "token": "hk_lcnHHV8q3W0dT9xY2mZrB7kP4sJ6vN1cF5gE8aL0uQ", "token_prefix": "hk_lcnHHV8", "created_at": "2026-11-23T08:02:10Z", "expires_at": "2027-06-30T00:00:00Z", "last_used_at": null})))]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    /// The secret. Shown this once; only its hash is stored.
    pub token: String,
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn view(row: &api_tokens::Model) -> Result<ApiToken, ApiError> {
    Ok(ApiToken {
        id: row.id.clone(),
        name: row.name.clone(),
        scope: row.scope.parse().map_err(|_| {
            ApiError::Internal(anyhow::anyhow!("user token with scope {}", row.scope))
        })?,
        token_prefix: row.token_prefix.clone(),
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
    })
}

/// Creates a token for the caller. Only a console session may: a token minting tokens would
/// let a leaked token outlive its own revocation.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    input: CreateToken,
) -> Result<CreatedToken, ApiError> {
    caller.require_session("Creating an API token")?;
    let name = input.name.trim().to_owned();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError {
            field: "name".into(),
            message: format!("must be 1 to {MAX_NAME_CHARS} characters"),
        });
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError {
            field: "name".into(),
            message: "must not contain control characters".into(),
        });
    }
    let now = db::now();
    if input.expires_at.is_some_and(|at| at <= now) {
        errors.push(FieldError {
            field: "expires_at".into(),
            message: "must be in the future".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation("The token cannot be created.", errors));
    }
    let token = format!("{PREFIX}{}", secret::random_secret());
    let token_prefix: String = token.chars().take(SHOWN_PREFIX_LEN).collect();
    let id = db::new_id();
    let txn = state.db.begin().await?;
    let row = api_tokens::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(caller.tenant_id.clone()),
        user_id: Set(Some(caller.user.id.clone())),
        name: Set(name.clone()),
        scope: Set(input.scope.wire_name().to_owned()),
        token_hash: Set(secret::hash(&token)),
        token_prefix: Set(token_prefix.clone()),
        created_at: Set(now),
        expires_at: Set(input.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        revoked_by: Set(None),
    }
    .insert(&txn)
    .await?;
    activity::record_by(
        &txn,
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
    txn.commit().await?;
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
    Page::from_rows(rows, limit, |r| r.id.clone(), view)
}

/// Revokes one of the caller's tokens; someone else's is "not found".
pub async fn revoke_own(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    revoke(state, caller, id, Whose::Own).await
}

/// Whose tokens a revocation may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    /// The caller's own.
    Own,
    /// Any user's token of the caller's tenant (elevated oversight).
    AnyUser,
}

async fn revoke(state: &AppState, caller: &Caller, id: &str, whose: Whose) -> Result<(), ApiError> {
    let txn = state.db.begin().await?;
    let row = api_tokens::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .filter(|t| {
            let reachable = match whose {
                Whose::Own => t.user_id.as_deref() == Some(caller.user.id.as_str()),
                Whose::AnyUser => t.user_id.is_some(),
            };
            t.tenant_id == caller.tenant_id && reachable && t.revoked_at.is_none()
        })
        .ok_or_else(ApiError::not_found)?;
    let mut active: api_tokens::ActiveModel = row.clone().into();
    active.revoked_at = Set(Some(db::now()));
    active.revoked_by = Set(Some(caller.user.id.clone()));
    active.update(&txn).await?;
    activity::record_by(
        &txn,
        caller,
        actions::API_TOKEN_REVOKED,
        Target::new("api_token", &row.id, &row.name),
        None,
        json!({ "token_prefix": row.token_prefix, "owner_user_id": row.user_id }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A token as the elevated oversight list shows it: whose it is, never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TenantApiToken {
    #[serde(flatten)]
    pub token: ApiToken,
    pub user_id: String,
    pub user_display_name: String,
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
    let ids: Vec<String> = rows.iter().filter_map(|r| r.user_id.clone()).collect();
    let names: std::collections::HashMap<String, String> = users::Entity::find()
        .filter(users::Column::TenantId.eq(&caller.tenant_id))
        .filter(users::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| {
            let user_id = r.user_id.clone().unwrap_or_default();
            Ok(TenantApiToken {
                token: view(r)?,
                user_display_name: names.get(&user_id).cloned().unwrap_or_default(),
                user_id,
            })
        },
    )
}

/// Revokes any user token of the tenant (elevated oversight).
pub async fn revoke_any(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    revoke(state, caller, id, Whose::AnyUser).await
}
