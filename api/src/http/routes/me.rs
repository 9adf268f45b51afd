//! The caller's own profile and API tokens (SPEC S3.4, S8).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use hubkeep_shared::api::{NotificationPreferences, NotificationPreferencesPatch};
use hubkeep_shared::{HubAction, TokenId, allowed_hub_actions};
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::error::ApiError;
use crate::identity::{Caller, api_tokens};
use crate::pagination::{Page, PageQuery};
pub use hubkeep_shared::api::users::Me;

/// The caller's profile and effective hub permissions.
///
/// Who the credentials belong to, their hub access (`none`, `limited`, `elevated`) and where it
/// comes from, and the hub actions they allow: clients show or hide controls by `hub_actions`
/// and never re-derive them.
#[utoipa::path(
    operation_id = "get_me",
    tag = "me",
    responses((status = 200, description = "The caller", body = Me)),
    security(("session" = []), ("api_token" = []))
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let pending = crate::connections::invitations::count_mine(&state, &caller).await?;
    let level = caller.access_level();
    Ok(HttpResponse::Ok().json(Me {
        user: crate::identity::users::user_view(&caller.user, caller.access),
        access_level: level,
        hub_actions: allowed_hub_actions(level),
        pending_invitations: pending,
    }))
}

/// List your API tokens (never their secrets).
///
/// Your own tokens, in creation order, paged by `limit` and `cursor`; revoked ones are not listed.
/// Only the prefix of each secret is shown.
#[utoipa::path(
    operation_id = "list_my_tokens",
    tag = "me",
    params(PageQuery),
    responses(
        (status = 200, description = "Your tokens that are not revoked", body = Page<api_tokens::ApiToken>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/me/tokens")]
pub async fn list_my_tokens(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageOwnTokens)?;
    let page = api_tokens::list_own(&state, &caller, &query).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Create an API token for scripts.
///
/// The response is the only time the secret (`token`, starting `hk_`) is shown. Send it as
/// `Authorization: Bearer hk_…`. A `read` token may only send GET requests. Tokens are
/// created from a console session, not by other tokens.
#[utoipa::path(
    operation_id = "create_my_token",
    tag = "me",
    request_body = api_tokens::CreateToken,
    responses(
        (status = 201, description = "Created; the secret is in `token`", body = api_tokens::CreatedToken),
    ),
    security(("session" = []))
)]
#[post("/me/tokens")]
pub async fn create_my_token(
    state: web::Data<AppState>,
    caller: Caller,
    body: crate::http::extractors::JsonBody<api_tokens::CreateToken>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageOwnTokens)?;
    let txn = state.db.begin().await?;
    let created = api_tokens::create(&txn, &caller, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(created))
}

/// Revoke one of your API tokens.
///
/// The token stops working on its very next request. Revoking a token that is not yours, or
/// that does not exist, is 404. Writes `api_token.revoked`.
#[utoipa::path(
    operation_id = "revoke_my_token",
    tag = "me",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked; it stops working at once"),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[delete("/me/tokens/{id}")]
pub async fn revoke_my_token(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TokenId>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageOwnTokens)?;
    let txn = state.db.begin().await?;
    api_tokens::revoke_own(&txn, &caller, &id).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Your email preferences.
///
/// Which categories of email you receive (SPEC S15): `invitations` (to a connection role or
/// to become its owner), `invitation_updates` (what became of invitations you sent),
/// `ownership` (a connection's ownership recovered to you) and `hub_access` (your hub access
/// deactivated, reactivated, elevation changed). All on until you turn them off.
#[utoipa::path(
    operation_id = "get_my_preferences",
    tag = "notifications",
    responses((status = 200, description = "Your preferences", body = NotificationPreferences)),
    security(("session" = []), ("api_token" = []))
)]
#[get("/me/preferences")]
pub async fn get_my_preferences(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let prefs = crate::notify::preferences::of(&state.reader, &caller.user.id).await?;
    Ok(HttpResponse::Ok().json(prefs))
}

/// Turn email categories on or off.
///
/// Send only the categories to change; the others stay. A change writes
/// `user.preferences_updated`; a message already in the outbox is sent anyway.
#[utoipa::path(
    operation_id = "update_my_preferences",
    tag = "notifications",
    request_body = NotificationPreferencesPatch,
    responses((status = 200, description = "Your preferences after the change", body = NotificationPreferences)),
    security(("session" = []), ("api_token" = []))
)]
#[patch("/me/preferences")]
pub async fn update_my_preferences(
    state: web::Data<AppState>,
    caller: Caller,
    body: crate::http::extractors::JsonBody<NotificationPreferencesPatch>,
) -> Result<HttpResponse, ApiError> {
    let txn = state.db.begin().await?;
    let prefs = crate::notify::preferences::update(&txn, &caller, &body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(prefs))
}
