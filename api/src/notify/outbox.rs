//! The outbox as elevated users see it (SPEC S15): `GET /api/v1/notifications` and
//! `POST /api/v1/notifications/{id}/retry`.

use hubkeep_shared::api::{Notification, NotificationQuery, NotificationStatus, Page};
use hubkeep_shared::ids::NotificationId;
use hubkeep_shared::{HubAction, ProblemCode};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;

use super::render;
use super::sender::Letterhead;
use crate::AppState;
use crate::activity::{self, Target, actions};
use crate::db::{self, entities::notifications};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::pagination::{PageQuery, Paging, encode_cursor};

/// Who may read and retry the outbox: elevated users (it names people and what happened to
/// them across the tenant).
pub const ACTION: HubAction = HubAction::EditSettings;

fn view(row: &notifications::Model, letterhead: &Letterhead) -> Notification {
    let body = Letterhead::body(row);
    Notification {
        id: row.id.clone(),
        category: row.category,
        kind: row.kind.clone(),
        recipient_user_id: row.recipient_user_id.clone(),
        recipient_email: row.recipient_email.clone(),
        recipient_name: row.recipient_name.clone(),
        subject: render::header_text(&row.subject),
        body_text: render::text(&body, &letterhead.base_url),
        message_id: letterhead.message_id(&row.id),
        status: row.status,
        attempts: row.attempts,
        last_error: row.last_error.clone(),
        created_at: row.created_at,
        next_attempt_at: row.next_attempt_at,
        sent_at: row.sent_at,
    }
}

/// The tenant's messages, newest first, optionally of one status.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    query: &NotificationQuery,
    letterhead: &Letterhead,
) -> Result<Page<Notification>, ApiError> {
    caller.require(ACTION)?;
    let paging = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let limit = paging.limit()?;
    let mut select = notifications::Entity::find()
        .filter(notifications::Column::TenantId.eq(&caller.tenant_id))
        .order_by_desc(notifications::Column::Id)
        .limit(limit + 1);
    if let Some(status) = query.status {
        select = select.filter(notifications::Column::Status.eq(status));
    }
    if let Some(after) = paging.after_id()? {
        select = select.filter(notifications::Column::Id.lt(after));
    }
    let mut rows = select.all(&state.reader).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows.last().map(|r| encode_cursor(&r.id))
    } else {
        None
    };
    Ok(Page {
        items: rows.iter().map(|r| view(r, letterhead)).collect(),
        next_cursor,
    })
}

/// Puts a `failed` or `dead` message back in the queue, due now, with a fresh count of
/// attempts; one `notification.retried` entry. A message of another tenant is 404; one that
/// is `queued` or `sent` is 409.
pub async fn retry(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &NotificationId,
    letterhead: &Letterhead,
) -> Result<Notification, ApiError> {
    caller.require(ACTION)?;
    let row = notifications::Entity::find_by_id(id.clone())
        .one(txn)
        .await?
        .filter(|r| r.tenant_id == caller.tenant_id)
        .ok_or_else(ApiError::not_found)?;
    if !matches!(
        row.status,
        NotificationStatus::Failed | NotificationStatus::Dead
    ) {
        return Err(ApiError::new(
            ProblemCode::Conflict,
            format!(
                "The message is {}: only a failed or dead message can be sent again.",
                row.status
            ),
        ));
    }
    let now = db::now();
    // A `failed` message a sender is trying right now is that sender's until it writes the
    // outcome: no retry in between.
    if row.lease_expires_at.is_some_and(|until| until > now) {
        return Err(ApiError::new(
            ProblemCode::Conflict,
            "The message is being sent right now; look again in a moment.",
        ));
    }
    let done = notifications::Entity::update_many()
        .col_expr(
            notifications::Column::Status,
            Expr::value(NotificationStatus::Queued),
        )
        .col_expr(notifications::Column::Attempts, Expr::value(0))
        .col_expr(notifications::Column::NextAttemptAt, Expr::value(now))
        .filter(notifications::Column::Id.eq(row.id.clone()))
        .filter(notifications::Column::Status.eq(row.status))
        .filter(notifications::Column::Attempts.eq(row.attempts))
        .exec(txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::new(
            ProblemCode::Conflict,
            "The message changed meanwhile; read it again.",
        ));
    }
    activity::record_by(
        txn,
        caller,
        actions::NOTIFICATION_RETRIED,
        Target::new("notification", &row.id, render::header_text(&row.subject)),
        None,
        json!({ "status": {"before": row.status, "after": NotificationStatus::Queued}, "attempts": row.attempts }),
    )
    .await?;
    let mut after = row;
    after.status = NotificationStatus::Queued;
    after.attempts = 0;
    after.next_attempt_at = now;
    Ok(view(&after, letterhead))
}
