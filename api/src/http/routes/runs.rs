//! Sync runs, the sync-status overview and engine tokens (SPEC S4).
//!
//! Order of checks for the member operations: 404 (no such connection or no role on it),
//! 403 `forbidden` (the roles do not allow the action), 409 `connection_cancelled`, 409
//! `endpoint_disconnected` (manual runs), 422 `validation_failed`. Malformed bodies and
//! unknown fields are 422 before anything else is looked at.
//!
//! The paths of the member operations (`/{id}/runs…`) are relative to the
//! `/api/v1/connections` scope ([`super::configure`]); the others to `/api/v1`.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use hubkeep_shared::HubAction;
use hubkeep_shared::{ConnectionId, RunId, TokenId};
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::connections::runs::{self, RunProgress, RunRequest, RunsQuery, SyncRun, SyncStatusItem};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::identity::engine::{
    self, CreateEngineToken, CreatedEngineToken, EngineCaller, EngineToken,
};
use crate::pagination::{Page, PageQuery};

/// Create an engine token.
///
/// Elevated hub access (`edit_settings`), from a console session only. The token (scope
/// `engine`, belonging to the tenant, not to a user) lets the sync engine report run
/// progress; it cannot call any user endpoint. The response is the only time the secret
/// (`token`, starting `hk_`) is shown. Writes `engine_token.created`.
#[utoipa::path(
    operation_id = "create_engine_token",
    tag = "sync",
    request_body = CreateEngineToken,
    responses(
        (status = 201, description = "Created; the secret is in `token`", body = CreatedEngineToken),
    ),
    security(("session" = []))
)]
#[post("/engine-tokens")]
pub async fn create_engine_token(
    state: web::Data<AppState>,
    caller: Caller,
    body: crate::http::extractors::JsonBody<CreateEngineToken>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::EditSettings)?;
    let txn = state.db.begin().await?;
    let created = engine::create(&txn, &caller, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(created))
}

/// List the tenant's engine tokens (never their secrets).
///
/// Elevated hub access (`edit_settings`). In creation order, paged by `limit` and `cursor`; revoked
/// tokens are not listed.
#[utoipa::path(
    operation_id = "list_engine_tokens",
    tag = "sync",
    params(PageQuery),
    responses(
        (status = 200, description = "Engine tokens that are not revoked", body = Page<EngineToken>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/engine-tokens")]
pub async fn list_engine_tokens(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::EditSettings)?;
    Ok(HttpResponse::Ok().json(engine::list(&state, &caller, &query).await?))
}

/// Revoke an engine token.
///
/// Elevated hub access (`edit_settings`). The token stops working at once. Writes
/// `engine_token.revoked`.
#[utoipa::path(
    operation_id = "revoke_engine_token",
    tag = "sync",
    params(("id" = String, Path, description = "Engine token id")),
    responses(
        (status = 204, description = "Revoked"),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[delete("/engine-tokens/{id}")]
pub async fn revoke_engine_token(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TokenId>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::EditSettings)?;
    let txn = state.db.begin().await?;
    engine::revoke(&txn, &caller, &id).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Run a connection manually.
///
/// Owner, business and IT administrators (`run_manually`). Records a `queued` manual run for
/// the sync engine. For `autotask_quickbooks`, `entities` is a non-empty subset of
/// `invoices`, `purchase_orders`, `expenses` without duplicates (absent: all three); other
/// kinds sync everything and take no `entities` (absent or `[]`). Refused with 409
/// `connection_cancelled` on a cancelled connection and 409 `endpoint_disconnected` while
/// either endpoint is disconnected. Writes `sync_run.requested`.
#[utoipa::path(
    operation_id = "request_run",
    tag = "sync",
    params(("id" = String, Path, description = "Connection id")),
    request_body = RunRequest,
    responses(
        (status = 201, description = "The queued run", body = SyncRun),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/runs")]
pub async fn request_run(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
    body: crate::http::extractors::JsonBody<RunRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::RunConnection)?;
    let txn = state.db.begin().await?;
    let run = runs::request(&txn, &caller, &id, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(run))
}

/// List a connection's sync history.
///
/// Any member. Newest first; hidden records are left out unless `include_hidden=true`.
#[utoipa::path(
    operation_id = "list_runs",
    tag = "sync",
    params(("id" = String, Path, description = "Connection id"), RunsQuery),
    responses(
        (status = 200, description = "The runs, newest first", body = Page<SyncRun>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/{id}/runs")]
pub async fn list_runs(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
    query: web::Query<RunsQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(runs::list(&state, &caller, &id, &query).await?))
}

/// Hide a sync-history record.
///
/// Owner, business and IT administrators (`hide_sync_records`). Sets `hidden` with who and
/// when. Hiding a hidden record changes nothing and writes no entry; otherwise writes
/// `sync_run.hidden`.
#[utoipa::path(
    operation_id = "hide_run",
    tag = "sync",
    params(
        ("id" = String, Path, description = "Connection id"),
        ("run_id" = String, Path, description = "Run id")
    ),
    responses(
        (status = 200, description = "The run", body = SyncRun),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/runs/{run_id}/hide")]
pub async fn hide_run(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(ConnectionId, RunId)>,
) -> Result<HttpResponse, ApiError> {
    set_hidden(&state, &caller, path.into_inner(), true).await
}

/// Unhide a sync-history record.
///
/// Owner, business and IT administrators (`hide_sync_records`). Unhiding a visible record
/// changes nothing and writes no entry; otherwise writes `sync_run.unhidden`.
#[utoipa::path(
    operation_id = "unhide_run",
    tag = "sync",
    params(
        ("id" = String, Path, description = "Connection id"),
        ("run_id" = String, Path, description = "Run id")
    ),
    responses(
        (status = 200, description = "The run", body = SyncRun),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/runs/{run_id}/unhide")]
pub async fn unhide_run(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(ConnectionId, RunId)>,
) -> Result<HttpResponse, ApiError> {
    set_hidden(&state, &caller, path.into_inner(), false).await
}

/// Hides or unhides a run in the handler's transaction, and answers the run.
async fn set_hidden(
    state: &AppState,
    caller: &Caller,
    (id, run_id): (ConnectionId, RunId),
    hidden: bool,
) -> Result<HttpResponse, ApiError> {
    let txn = state.db.begin().await?;
    let run = runs::set_hidden(&txn, caller, &id, &run_id, hidden).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(runs::run_view(&run)?))
}

/// Report a run's progress (sync engine only).
///
/// Needs an engine token (scope `engine`); personal tokens and session access tokens are
/// 403 `insufficient_scope`. Allowed moves: `queued` → `running` | `cancelled`, `running` →
/// `succeeded` | `failed` | `cancelled` (else 409 `conflict`). `running` sets `started_at`;
/// the final states set `finished_at`. A run of another tenant is 404. Writes
/// `sync_run.progressed` by the engine.
#[utoipa::path(
    operation_id = "report_run_progress",
    tag = "sync",
    params(
        ("id" = String, Path, description = "Connection id"),
        ("run_id" = String, Path, description = "Run id")
    ),
    request_body = RunProgress,
    responses(
        (status = 200, description = "The run", body = SyncRun),
    ),
    security(("engine_token" = []))
)]
#[patch("/{id}/runs/{run_id}")]
pub async fn report_run_progress(
    state: web::Data<AppState>,
    engine: EngineCaller,
    path: web::Path<(ConnectionId, RunId)>,
    body: crate::http::extractors::JsonBody<RunProgress>,
) -> Result<HttpResponse, ApiError> {
    let (id, run_id) = path.into_inner();
    let txn = state.db.begin().await?;
    let run = runs::progress(&txn, &engine, &id, &run_id, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(runs::run_view(&run)?))
}

/// The sync status of my connections.
///
/// For every connection the caller holds a role on (by id): the connection, its endpoints'
/// states and its newest run that is not hidden (null when there is none).
#[utoipa::path(
    operation_id = "get_sync_status",
    tag = "sync",
    params(PageQuery),
    responses(
        (status = 200, description = "One item per connection", body = Page<SyncStatusItem>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/sync-status")]
pub async fn get_sync_status(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ViewSyncStatus)?;
    Ok(HttpResponse::Ok().json(runs::status(&state, &caller, &query).await?))
}
