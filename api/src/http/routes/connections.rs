//! Connections (SPEC S4, S5, S2.1): create, list mine, read one, and the governance list.
//!
//! Paths are relative to the `/api/v1/connections` scope ([`super::configure`]).

use actix_web::{HttpResponse, get, post, web};
use hubkeep_shared::ConnectionId;
use hubkeep_shared::HubAction;
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::connections::read as connections;
use crate::error::ApiError;
use crate::identity::Caller;
use crate::pagination::{Page, PageQuery};
use hubkeep_shared::api::connections::{Connection, GovernanceItem, NewConnection};

/// Create a connection; the caller becomes its Subscription Owner.
///
/// Needs elevated hub access (403 `elevated_access_required` otherwise). `timezone` defaults
/// to the tenant's default timezone. Both endpoints start `disconnected` with no account: a
/// run is possible once each is connected. The answer carries the caller's roles (`owner`)
/// and the actions the matrix allows them on this kind.
#[utoipa::path(
    operation_id = "create_connection",
    tag = "connections",
    request_body = NewConnection,
    responses(
        (status = 201, description = "Created; the caller is its owner", body = Connection),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("")]
pub async fn create_connection(
    state: web::Data<AppState>,
    caller: Caller,
    body: crate::http::extractors::JsonBody<NewConnection>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::CreateConnection)?;
    let txn = state.db.begin().await?;
    let created = connections::create(&txn, &caller, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

/// List the connections you hold a role on.
///
/// Each item carries your roles and allowed actions. Sorted by name (case-insensitively),
/// ties broken by id; keyset-paginated.
#[utoipa::path(
    operation_id = "list_connections",
    tag = "connections",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of your connections", body = Page<Connection>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("")]
pub async fn list_connections(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(connections::list_mine(&state, &caller, &query).await?))
}

/// List every connection of the tenant (the governance view).
///
/// Elevated hub access only. Each row names the connection, its owner with the owner's hub
/// access now, the number of members, and `orphaned` when the owner's access is `none`
/// (ownership may then be recovered). Shows no settings. Sorted by name (case-insensitively),
/// ties broken by id; keyset-paginated.
#[utoipa::path(
    operation_id = "list_governance_connections",
    tag = "connections",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the tenant's connections", body = Page<GovernanceItem>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/governance")]
pub async fn list_governance_connections(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::GovernConnections)?;
    Ok(HttpResponse::Ok().json(connections::governance(&state, &caller, &query).await?))
}

/// One connection, with your roles and allowed actions on it.
///
/// 404 when it does not exist or you hold no role on it (elevated users included: they see
/// every connection in the governance list instead).
#[utoipa::path(
    operation_id = "get_connection",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    responses(
        (status = 200, description = "The connection", body = Connection),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/{id}")]
pub async fn get_connection(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(web::Bytes::copy_from_slice(
            &connections::get_cached(&state, &caller, &id).await?,
        )))
}
