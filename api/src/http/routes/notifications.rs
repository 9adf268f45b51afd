//! The email outbox (SPEC S15), for elevated users.

use actix_web::{HttpResponse, get, post, web};
use hubkeep_shared::api::{Notification, NotificationQuery, Page};
use hubkeep_shared::ids::NotificationId;
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::error::ApiError;
use crate::identity::Caller;
use crate::notify::outbox;

/// List the email outbox.
///
/// Every message of your organization, newest first: to whom, about what, its status
/// (`queued`, `sent`, `failed` — retried with exponential backoff — or `dead`), attempts and
/// the last error. Elevated hub access only.
#[utoipa::path(
    operation_id = "list_notifications",
    tag = "notifications",
    params(NotificationQuery),
    responses((status = 200, description = "The messages", body = Page<Notification>)),
    security(("session" = []), ("api_token" = []))
)]
#[get("/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<NotificationQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = outbox::list(&state, &caller, &query, &state.letterhead).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Send a failed or dead message again.
///
/// Puts it back in the queue, due now, with its attempts counted from zero; the sender takes
/// it on its next look. A message that is `queued` or `sent` is 409. Writes
/// `notification.retried`. Elevated hub access only.
#[utoipa::path(
    operation_id = "retry_notification",
    tag = "notifications",
    params(("id" = String, Path, description = "Message id")),
    responses((status = 200, description = "The message, queued again", body = Notification)),
    security(("session" = []), ("api_token" = []))
)]
#[post("/notifications/{id}/retry")]
pub async fn retry_notification(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<NotificationId>,
) -> Result<HttpResponse, ApiError> {
    caller.require(outbox::ACTION)?;
    let txn = state.db.begin().await?;
    let item = outbox::retry(&txn, &caller, &id, &state.letterhead).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(item))
}
