//! The sync engine's credentials (SPEC S4): engine-scoped API tokens and the [`EngineCaller`]
//! of the endpoints only the engine calls.
//!
//! An engine token is a row of `api_tokens` with scope `engine` and no user (the schema's
//! CHECK enforces both). It belongs to a tenant, never acts as a user, and the user
//! [`super::Caller`] authentication refuses it (403 `insufficient_scope`). The other way round,
//! [`EngineCaller`] refuses personal tokens and session access tokens with 403
//! `insufficient_scope`, and unknown, revoked or expired tokens with 401 `unauthenticated`.

use hubkeep_shared::fields::{FieldErrors, ShortName};
use hubkeep_shared::{ProblemCode, TokenId};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use super::access_token;
use super::caller::Caller;
use super::secret::{self, API_TOKEN_PREFIX as PREFIX};
use crate::AppState;
use crate::activity::RequestMeta;
use crate::activity::{self, Actor, Target, actions};
use crate::db;
use crate::db::entities::api_tokens::{self, StoredScope};
use crate::error::ApiError;
use crate::pagination::Paging as _;
use crate::pagination::{Page, PageQuery};
pub use hubkeep_shared::api::tokens::{CreateEngineToken, CreatedEngineToken, EngineToken};

const SHOWN_PREFIX_LEN: usize = 10;
/// `last_used_at` is written at most this often.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// The sync engine, authenticated by an engine token of `tenant_id`.
#[derive(Debug, Clone)]
pub struct EngineCaller {
    pub tenant_id: String,
    pub token_id: TokenId,
    pub meta: RequestMeta,
}

impl EngineCaller {
    /// The actor activity entries name.
    pub fn actor(&self) -> Actor {
        Actor::Engine {
            token_id: self.token_id.clone(),
        }
    }
}

fn unauthenticated(why: &str) -> ApiError {
    ApiError::new(
        ProblemCode::Unauthenticated,
        format!("The engine token is not valid: {why}."),
    )
}

fn not_engine() -> ApiError {
    ApiError::new(
        ProblemCode::InsufficientScope,
        "Only the sync engine may do this: send an engine token (scope `engine`).",
    )
}

/// The engine calling with this `Authorization` header value (SPEC S4).
pub async fn authenticate(
    state: &AppState,
    authorization: Option<&str>,
    meta: RequestMeta,
) -> Result<EngineCaller, ApiError> {
    let token = authorization
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty())
        .map(|(_, t)| t.trim().to_owned())
        .ok_or_else(|| unauthenticated("send `Authorization: Bearer <engine token>`"))?;
    if !token.starts_with(PREFIX) {
        // A valid session access token is a known caller of the wrong kind: 403. Anything
        // else proves nothing: 401.
        access_token::verify(
            &state.keys,
            &state.verified_tokens,
            &state.settings.auth.issuer,
            &token,
        )?;
        return Err(not_engine());
    }
    let row = api_tokens::Entity::find()
        .filter(api_tokens::Column::TokenHash.eq(secret::hash(&token)))
        .one(&state.db)
        .await?
        .ok_or_else(|| unauthenticated("unknown token"))?;
    if row.revoked_at.is_some() {
        return Err(unauthenticated("it was revoked"));
    }
    let now = db::now();
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(unauthenticated("it has expired"));
    }
    if row.scope != StoredScope::Engine || row.user_id.is_some() {
        return Err(not_engine());
    }
    let stale = row
        .last_used_at
        .is_none_or(|at| (now - at).num_seconds() >= LAST_USED_GRANULARITY_SECS);
    if stale {
        api_tokens::Entity::update(api_tokens::ActiveModel {
            id: Set(row.id.clone()),
            last_used_at: Set(Some(now)),
            ..Default::default()
        })
        .exec(&state.db)
        .await?;
    }
    Ok(EngineCaller {
        tenant_id: row.tenant_id,
        token_id: row.id,
        meta,
    })
}

fn view(row: &api_tokens::Model) -> EngineToken {
    EngineToken {
        id: row.id.clone(),
        name: row.name.clone(),
        token_prefix: row.token_prefix.clone(),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
    }
}

/// Creates an engine token of the caller's tenant, in the handler's transaction. Console
/// session only, like every token minting.
pub async fn create(
    txn: &DatabaseTransaction,
    caller: &Caller,
    input: CreateEngineToken,
) -> Result<CreatedEngineToken, ApiError> {
    caller.require_session("Creating an engine token")?;
    let mut errors = FieldErrors::new();
    let Some(name) = errors.check::<ShortName>("name", &input.name) else {
        return Err(ApiError::validation(
            "The engine token cannot be created.",
            errors.into_vec(),
        ));
    };
    let name = name.into_string();
    let token = format!("{PREFIX}{}", secret::random_secret());
    let token_prefix: String = token.chars().take(SHOWN_PREFIX_LEN).collect();
    let id = TokenId::new(db::new_id());
    let now = db::now();
    let row = api_tokens::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(caller.tenant_id.clone()),
        user_id: Set(None),
        name: Set(name.clone()),
        scope: Set(StoredScope::Engine),
        token_hash: Set(secret::hash(&token)),
        token_prefix: Set(token_prefix.clone()),
        created_at: Set(now),
        expires_at: Set(None),
        last_used_at: Set(None),
        revoked_at: Set(None),
        revoked_by: Set(None),
    }
    .insert(txn)
    .await?;
    activity::record_by(
        txn,
        caller,
        actions::ENGINE_TOKEN_CREATED,
        Target::new("engine_token", &id, &name),
        None,
        json!({ "token_prefix": token_prefix }),
    )
    .await?;
    Ok(CreatedEngineToken {
        id: row.id,
        name: row.name,
        token,
        token_prefix: row.token_prefix,
        created_at: row.created_at,
        last_used_at: None,
    })
}

/// The tenant's engine tokens that are not revoked, oldest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page: &PageQuery,
) -> Result<Page<EngineToken>, ApiError> {
    let limit = page.limit()?;
    let mut query = api_tokens::Entity::find()
        .filter(api_tokens::Column::TenantId.eq(&caller.tenant_id))
        .filter(api_tokens::Column::Scope.eq(StoredScope::Engine))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .order_by_asc(api_tokens::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after_id()? {
        query = query.filter(api_tokens::Column::Id.gt(after));
    }
    let rows = query.all(&state.db).await?;
    crate::pagination::page_from_rows(rows, limit, |r| r.id.to_string(), |r| Ok(view(r)))
}

/// Revokes an engine token of the caller's tenant, in the handler's transaction; anything
/// else is "not found".
pub async fn revoke(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &TokenId,
) -> Result<(), ApiError> {
    let row = api_tokens::Entity::find_by_id(id.clone())
        .one(txn)
        .await?
        .filter(|t| {
            t.tenant_id == caller.tenant_id
                && t.scope == StoredScope::Engine
                && t.user_id.is_none()
                && t.revoked_at.is_none()
        })
        .ok_or_else(ApiError::not_found)?;
    let mut active: api_tokens::ActiveModel = row.clone().into();
    active.revoked_at = Set(Some(db::now()));
    active.revoked_by = Set(Some(caller.user.id.clone()));
    active.update(txn).await?;
    activity::record_by(
        txn,
        caller,
        actions::ENGINE_TOKEN_REVOKED,
        Target::new("engine_token", &row.id, &row.name),
        None,
        json!({ "token_prefix": row.token_prefix }),
    )
    .await?;
    Ok(())
}
