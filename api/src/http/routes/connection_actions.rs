//! The guarded writes on one connection (SPEC S4, S5): settings, pay, cancel, endpoints.
//!
//! Order of checks for each: 404 (no such connection or no role on it), 422
//! `not_supported_for_kind` (the kind lacks the setting, whatever the roles), 403 `forbidden`
//! (the roles do not allow it), 409 `connection_cancelled` (cancelled and not `pay`), 422
//! `validation_failed` (invalid values). Malformed bodies and unknown fields are 422 before
//! anything else is looked at.
//!
//! Paths are relative to the `/api/v1/connections` scope ([`super::configure`]).

use actix_web::{HttpResponse, patch, post, web};
use hubkeep_shared::ConnectionId;

use hubkeep_shared::api::connections::{Connection, EndpointStatus};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use crate::AppState;
use crate::connections::billing::{self, PaymentInput};
use crate::connections::endpoints::{ReconnectInput, parse_side, set_endpoint};
use crate::connections::read;
use crate::connections::settings::{self, ConnectionPatch};
use crate::error::ApiError;
use crate::identity::Caller;

/// Commits the change and answers the connection as the caller now sees it.
async fn answer(
    state: &AppState,
    caller: &Caller,
    txn: DatabaseTransaction,
    id: &ConnectionId,
) -> Result<HttpResponse, ApiError> {
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(read::get(state, caller, id).await?))
}

/// Change a connection's settings.
///
/// Each field is its own action: `name` → `rename`, `timezone` → `change_timezone`,
/// `locked_period_export` / `reporting_currency` / `forecast_budget` → their `change_…`
/// action (Xero / Power BI kinds), `postgres_db` → `change_postgres_db` (Power BI kinds,
/// owner only), `group` → `group` (a name; the group is created when new) or `ungroup`
/// (`null`). Every field is checked before anything changes; if any one is refused the whole
/// request is refused (422 `not_supported_for_kind` when the kind lacks a setting, else 403
/// `forbidden`) and nothing changes. A cancelled connection answers 409
/// `connection_cancelled`. One `connection.updated` entry lists the changed fields (the
/// Postgres DB as `***`); values equal to the current ones change nothing and write no entry.
#[utoipa::path(
    operation_id = "update_connection",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    request_body = ConnectionPatch,
    responses(
        (status = 200, description = "The updated connection", body = Connection),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[patch("/{id}")]
pub async fn update_connection(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
    body: crate::http::extractors::JsonBody<ConnectionPatch>,
) -> Result<HttpResponse, ApiError> {
    let txn = state.db.begin().await?;
    settings::update(&txn, &state.secrets, &caller, &id, &body).await?;
    answer(&state, &caller, txn, &id).await
}

/// Pay for a connection's subscription.
///
/// Owner only (`pay`). Records a payment and moves `paid_through` `months` calendar months on
/// from the later of today (UTC) and the current `paid_through`; a cancelled connection
/// becomes active again. Writes `connection.paid`.
#[utoipa::path(
    operation_id = "pay_connection",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    request_body = PaymentInput,
    responses(
        (status = 200, description = "The connection, paid", body = Connection),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/pay")]
pub async fn pay_connection(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
    body: crate::http::extractors::JsonBody<PaymentInput>,
) -> Result<HttpResponse, ApiError> {
    let txn = state.db.begin().await?;
    billing::pay(&txn, &caller, &id, &body).await?;
    answer(&state, &caller, txn, &id).await
}

/// Cancel a connection's subscription.
///
/// Owner only (`cancel`). The connection stays visible with its history but refuses runs and
/// setting changes (409 `connection_cancelled`) until the owner pays again. Cancelling a
/// cancelled connection is 409 `connection_cancelled`. Writes `connection.cancelled`.
#[utoipa::path(
    operation_id = "cancel_connection",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    responses(
        (status = 200, description = "The connection, cancelled", body = Connection),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/cancel")]
pub async fn cancel_connection(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
) -> Result<HttpResponse, ApiError> {
    let txn = state.db.begin().await?;
    billing::cancel(&txn, &caller, &id).await?;
    answer(&state, &caller, txn, &id).await
}

/// Disconnect one endpoint of a connection.
///
/// `side` is `source` or `target` (anything else is 404). Owner and business administrators
/// (`disconnect_endpoint`). Runs are refused while an endpoint is disconnected. Disconnecting
/// a disconnected endpoint changes nothing and writes no entry; otherwise writes
/// `connection.endpoint_disconnected`.
#[utoipa::path(
    operation_id = "disconnect_endpoint",
    tag = "connections",
    params(
        ("id" = String, Path, description = "Connection id"),
        ("side" = String, Path, description = "`source` or `target`")
    ),
    responses(
        (status = 200, description = "The connection", body = Connection),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/endpoints/{side}/disconnect")]
pub async fn disconnect_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(ConnectionId, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, side) = path.into_inner();
    let side = parse_side(&side)?;
    let txn = state.db.begin().await?;
    set_endpoint(&txn, &caller, &id, side, EndpointStatus::Disconnected, None).await?;
    answer(&state, &caller, txn, &id).await
}

/// Reconnect one endpoint of a connection.
///
/// `side` is `source` or `target` (anything else is 404). Owner, business and IT
/// administrators (`reconnect_endpoint`). The body may name the account now connected
/// (`{}` keeps the current label). Reconnecting a connected endpoint without a new label
/// changes nothing and writes no entry; otherwise writes `connection.endpoint_reconnected`.
#[utoipa::path(
    operation_id = "reconnect_endpoint",
    tag = "connections",
    params(
        ("id" = String, Path, description = "Connection id"),
        ("side" = String, Path, description = "`source` or `target`")
    ),
    request_body = ReconnectInput,
    responses(
        (status = 200, description = "The connection", body = Connection),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/endpoints/{side}/reconnect")]
pub async fn reconnect_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(ConnectionId, String)>,
    body: crate::http::extractors::JsonBody<ReconnectInput>,
) -> Result<HttpResponse, ApiError> {
    let (id, side) = path.into_inner();
    let side = parse_side(&side)?;
    let label = body.into_inner().account_label;
    let txn = state.db.begin().await?;
    set_endpoint(
        &txn,
        &caller,
        &id,
        side,
        EndpointStatus::Connected,
        label.as_deref(),
    )
    .await?;
    answer(&state, &caller, txn, &id).await
}
