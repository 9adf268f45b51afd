//! Oversight of every API token of the tenant (SPEC S2.1): elevated users only.

use actix_web::{HttpResponse, delete, get, web};
use hubkeep_shared::{HubAction, TokenId};
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::error::ApiError;
use crate::identity::{Caller, api_tokens};
use crate::pagination::{Page, PageQuery};

/// List every user's API tokens (never their secrets).
///
/// Elevated hub access (`manage_all_tokens`): every live API token of the tenant with whose it
/// is, in creation order, paged by `limit` and `cursor`. Only the prefix of each secret is shown.
#[utoipa::path(
    operation_id = "list_tenant_tokens",
    tag = "tokens",
    params(PageQuery),
    responses(
        (status = 200, description = "Tokens that are not revoked", body = Page<api_tokens::TenantApiToken>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/tokens")]
pub async fn list_tenant_tokens(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageAllTokens)?;
    Ok(HttpResponse::Ok().json(api_tokens::list_all(&state, &caller, &query).await?))
}

/// Revoke any user's API token.
///
/// Elevated hub access (`manage_all_tokens`). The token stops working on its very next request.
/// Writes `api_token.revoked` naming its owner.
#[utoipa::path(
    operation_id = "revoke_tenant_token",
    tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked; it stops working at once"),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[delete("/tokens/{id}")]
pub async fn revoke_tenant_token(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TokenId>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageAllTokens)?;
    let txn = state.db.begin().await?;
    api_tokens::revoke_any(&txn, &caller, &id).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
