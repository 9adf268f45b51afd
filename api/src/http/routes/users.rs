//! The Users and Access tabs (SPEC S2, S2.1, S2.2): elevated users only (G7); and the people
//! picker's search (SPEC S16), open to inviters as well.

use actix_web::{HttpResponse, get, patch, post, put, web};
use hubkeep_shared::api::{Items, PeopleQuery, Person};
use hubkeep_shared::{HubAction, UserId};
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::access::levels::{self, ElevatedLevels, SecurityLevels};
use crate::access::people;
use crate::access::users::{
    self as access_users, RefreshSummary, UpdatedUser, UserListItem, UserPatch, UserQuery,
};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::pagination::Page;

/// List the PSA's security levels (the Access tab).
///
/// Each level says whether it is eligible for access and for elevation and, when not, which
/// facts it lacks; `elevated` marks the levels in the saved set.
#[utoipa::path(
    operation_id = "list_security_levels",
    tag = "access",
    responses(
        (status = 200, description = "The PSA's levels", body = SecurityLevels),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/security-levels")]
pub async fn list_security_levels(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageAccess)?;
    Ok(HttpResponse::Ok().json(levels::list_levels(&state, &caller).await?))
}

/// The saved set of elevated security levels.
///
/// Elevated hub access (`manage_access`). The ids of the PSA security levels whose users get
/// elevated hub access (SPEC S2); the Access tab shows them ticked.
#[utoipa::path(
    operation_id = "get_elevated_levels",
    tag = "access",
    responses(
        (status = 200, description = "The saved set", body = ElevatedLevels),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/access/elevated-levels")]
pub async fn get_elevated_levels(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageAccess)?;
    let set = levels::saved_set(&state.db, &caller.tenant_id).await?;
    Ok(HttpResponse::Ok().json(ElevatedLevels {
        level_ids: set.into_iter().collect(),
    }))
}

/// Replace the saved set of elevated security levels (the Save button).
///
/// Only levels eligible for elevation may be saved (422 `level_not_eligible`, with the
/// offending entries). A set after which the caller would no longer be elevated is refused
/// (409 `self_demotion_forbidden`).
#[utoipa::path(
    operation_id = "save_elevated_levels",
    tag = "access",
    request_body = ElevatedLevels,
    responses(
        (status = 200, description = "The saved set", body = ElevatedLevels),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[put("/access/elevated-levels")]
pub async fn save_elevated_levels(
    state: web::Data<AppState>,
    caller: Caller,
    body: crate::http::extractors::JsonBody<ElevatedLevels>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageAccess)?;
    let psa_levels = levels::psa_levels(&state, &caller).await?;
    let txn = state.db.begin().await?;
    let saved = levels::save_elevated_levels(&txn, &caller, &psa_levels, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// List hub users (the Users tab).
///
/// Only people who have signed in exist as hub users. Sorted by `name`, `security_level`,
/// `access_level` or `last_accessed`, ties broken by id; filtered by `q`, `active`,
/// `access_level`; keyset-paginated. Each row carries the actions the caller may take.
#[utoipa::path(
    operation_id = "list_users",
    tag = "users",
    params(UserQuery),
    responses(
        (status = 200, description = "One page of users", body = Page<UserListItem>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageUsers)?;
    let page = access_users::list_users(&state, &caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Search people by name or email (the people picker).
///
/// For choosing a person in an invitation, an ownership transfer or recovery, or an activity
/// filter (SPEC S16). Allowed to elevated users and to anyone who holds, on some connection of
/// the tenant, roles that may invite to at least one role (owner, business admin, IT admin;
/// the connection may be cancelled); anyone else gets 403 `elevated_access_required`. An API
/// token acts as its user (`read` suffices). Matches the active users of the caller's tenant
/// whose hub access is not `none` and whose display name or email contains `q`
/// (case-insensitive; `%` and `_` match themselves). Sorted by display name, then id; at most
/// `limit`, no paging. Each person is only an id, a display name and an email. Writes no
/// activity entry.
#[utoipa::path(
    operation_id = "search_people",
    tag = "users",
    params(PeopleQuery),
    responses(
        (status = 200, description = "The people who match, at most `limit`", body = Items<Person>,
            example = json!({"items": [{"id": "01a20abe-40f5-7629-ada0-6271426b0f54", "display_name": "Margaret Chen", "email": "margaret.chen@northwindit.example"}]})),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/people")]
pub async fn search_people(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PeopleQuery>,
) -> Result<HttpResponse, ApiError> {
    let found = people::search_people(&state, &caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// One hub user.
///
/// Elevated hub access (`manage_users`). The user as the Users tab shows them, with the actions
/// the caller may take on them (G1–G3).
#[utoipa::path(
    operation_id = "get_user",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserListItem),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageUsers)?;
    Ok(HttpResponse::Ok().json(access_users::get_user(&state, &caller, &id).await?))
}

/// Activate or deactivate a user, or set their elevation.
///
/// Deactivation never touches the PSA, keeps the user's record, roles and history, and ends
/// their sessions and API tokens at once; reactivation restores the same user. Refused: the
/// primary user (403 `primary_user_immutable`), deactivating yourself (403
/// `self_deactivation_forbidden`), removing your own elevation (409
/// `self_demotion_forbidden`), `granted` on a level not eligible for elevation (422
/// `level_not_eligible`).
#[utoipa::path(
    operation_id = "update_user",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The updated user (with the actions now allowed on them)", body = UpdatedUser),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
    body: crate::http::extractors::JsonBody<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ManageUsers)?;
    let txn = state.db.begin().await?;
    let item = access_users::update_user(&txn, &caller, &id, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(UpdatedUser::from(item)))
}

/// Refresh every hub user from the PSA now.
///
/// Re-reads each user's resource and security level; a user whose resource became inactive
/// (or vanished) gets access `none`.
#[utoipa::path(
    operation_id = "refresh_users",
    tag = "users",
    responses(
        (status = 200, description = "How many users were checked and changed", body = RefreshSummary),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/users/refresh")]
pub async fn refresh_users(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::RefreshUsers)?;
    let psa = access_users::read_psa_people(&state, &caller).await?;
    let txn = state.db.begin().await?;
    let summary = access_users::refresh_users(&txn, &caller, &psa).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(summary))
}
