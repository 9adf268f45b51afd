//! Connection views (SPEC S4): kinds with views only (`xero_power_bi`,
//! `quickbooks_power_bi`); every other kind answers 422 `not_supported_for_kind`.
//!
//! Order of checks: 404 (no such connection or no role on it), 422 `not_supported_for_kind`,
//! 403 `forbidden` (`manage_views`: owner and business administrators), 404 (no such view),
//! 409 `connection_cancelled`, 422 `validation_failed`, 409 `conflict` (duplicate name).
//!
//! Paths are relative to the `/api/v1/connections` scope ([`super::configure`]).

use actix_web::{HttpResponse, delete, get, post, put, web};
use hubkeep_shared::{ConnectionId, ViewId};
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::connections::views::{self, ConnectionView, ViewInput};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::pagination::{Page, PageQuery};

/// List a connection's views.
///
/// Any member, on kinds with views. Sorted by name.
#[utoipa::path(
    operation_id = "list_views",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id"), PageQuery),
    responses(
        (status = 200, description = "The views, by name", body = Page<ConnectionView>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/{id}/views")]
pub async fn list_views(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(views::list(&state, &caller, &id, &query).await?))
}

/// Create a view.
///
/// Owner and business administrators (`manage_views`), on kinds with views. `name` is 1–100
/// characters and unique on the connection (409 `conflict`); `definition` is a JSON object
/// of at most 64 KiB. Writes `view.created`.
#[utoipa::path(
    operation_id = "create_view",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    request_body = ViewInput,
    responses(
        (status = 201, description = "The view", body = ConnectionView),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/views")]
pub async fn create_view(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
    body: crate::http::extractors::JsonBody<ViewInput>,
) -> Result<HttpResponse, ApiError> {
    let txn = state.db.begin().await?;
    let view = views::create(&txn, &caller, &id, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(view))
}

/// Replace a view's name and definition.
///
/// Owner and business administrators (`manage_views`). Values equal to the current ones
/// change nothing and write no entry; otherwise writes `view.updated`.
#[utoipa::path(
    operation_id = "update_view",
    tag = "connections",
    params(
        ("id" = String, Path, description = "Connection id"),
        ("view_id" = String, Path, description = "View id")
    ),
    request_body = ViewInput,
    responses(
        (status = 200, description = "The view", body = ConnectionView),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[put("/{id}/views/{view_id}")]
pub async fn update_view(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(ConnectionId, ViewId)>,
    body: crate::http::extractors::JsonBody<ViewInput>,
) -> Result<HttpResponse, ApiError> {
    let (id, view_id) = path.into_inner();
    let txn = state.db.begin().await?;
    let view = views::update(&txn, &caller, &id, &view_id, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Delete a view.
///
/// Owner and business administrators (`manage_views`). Writes `view.deleted`.
#[utoipa::path(
    operation_id = "delete_view",
    tag = "connections",
    params(
        ("id" = String, Path, description = "Connection id"),
        ("view_id" = String, Path, description = "View id")
    ),
    responses(
        (status = 204, description = "Deleted"),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[delete("/{id}/views/{view_id}")]
pub async fn delete_view(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(ConnectionId, ViewId)>,
) -> Result<HttpResponse, ApiError> {
    let (id, view_id) = path.into_inner();
    let txn = state.db.begin().await?;
    views::delete(&txn, &caller, &id, &view_id).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
