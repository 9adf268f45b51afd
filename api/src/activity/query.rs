//! Reading the activity log (SPEC S7): who sees which entries, filters, and keyset pages.
//!
//! Elevated users see every entry of their tenant. Limited users see the entries they made
//! (with a session or one of their API tokens) and the entries of connections they hold a
//! role on now. Nobody sees another tenant's entries. Entries are never changed or deleted:
//! there is no write path here.

use chrono::{DateTime, SecondsFormat, Utc};
use hubkeep_shared::{FieldError, HubAccess, UserId};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;

use crate::db::entities::activity_log;
use crate::error::ApiError;
use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor};
pub use hubkeep_shared::api::activity::{
    ActivityActor, ActivityEntry, ActivityQuery, ActivityTarget, ActorKind,
};

const MAX_FILTER_CHARS: usize = 200;

/// Who is reading: their tenant, their user and their hub access, as authentication found
/// them for this request.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub tenant_id: &'a str,
    pub user_id: &'a UserId,
    pub access: HubAccess,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(
        "The activity filters are not valid.",
        vec![FieldError {
            field: field.into(),
            message: message.into(),
        }],
    )
}

/// A cursor names the last entry of a page by its sort key, `(at, id)`; `Page` encodes it.
/// `at` keeps every digit it was read with: the next page compares it for equality with the
/// stored value, and a writer may have stored more than microseconds.
fn cursor_key(row: &activity_log::Model) -> String {
    format!(
        "{}|{}",
        row.at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        row.id
    )
}

fn parse_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), ApiError> {
    let key = decode_cursor(cursor)?;
    key.split_once('|')
        .and_then(|(at, id)| {
            let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
            (!id.is_empty()).then(|| (at, id.to_owned()))
        })
        .ok_or_else(|| invalid("cursor", "is not a cursor this API issued"))
}

/// The entries of the reader's tenant that the reader may read.
fn visible_to(reader: Reader<'_>) -> Condition {
    let tenant = activity_log::Column::TenantId.eq(reader.tenant_id);
    if reader.access == HubAccess::Elevated {
        return Condition::all().add(tenant);
    }
    // The connections the reader holds any role on, now.
    let mut roles = Query::select();
    roles
        .column(Alias::new("connection_id"))
        .from(Alias::new("role_assignments"))
        .and_where(Expr::col(Alias::new("tenant_id")).eq(reader.tenant_id))
        .and_where(Expr::col(Alias::new("user_id")).eq(reader.user_id));
    Condition::all().add(tenant).add(
        Condition::any()
            .add(activity_log::Column::ActorUserId.eq(reader.user_id))
            .add(activity_log::Column::ConnectionId.in_subquery(roles)),
    )
}

fn filters(query: &ActivityQuery) -> Result<Condition, ApiError> {
    let mut cond = Condition::all();
    let text = |field: &str, value: &Option<String>| -> Result<Option<String>, ApiError> {
        match value.as_deref().map(str::trim) {
            None => Ok(None),
            Some(v) if v.is_empty() || v.chars().count() > MAX_FILTER_CHARS => Err(invalid(
                field,
                &format!("must be 1 to {MAX_FILTER_CHARS} characters"),
            )),
            Some(v) if v.chars().any(char::is_control) => {
                Err(invalid(field, "must not contain control characters"))
            }
            Some(v) => Ok(Some(v.to_owned())),
        }
    };
    if let Some(v) = text("actor_user_id", &query.actor_user_id)? {
        cond = cond.add(activity_log::Column::ActorUserId.eq(v));
    }
    if let Some(v) = text("action", &query.action)? {
        if v.ends_with('.') {
            // `substr` rather than LIKE: `_` is common in action codes and a LIKE wildcard,
            // and SQLite's LIKE ignores case where PostgreSQL's does not.
            // `i32`: PostgreSQL has `substr(text, integer, integer)` and no bigint form.
            let len = i32::try_from(v.chars().count()).unwrap_or(i32::MAX);
            cond = cond.add(
                Expr::expr(
                    Func::cust(Alias::new("substr"))
                        .arg(Expr::col(activity_log::Column::Action))
                        .arg(1_i32)
                        .arg(len),
                )
                .eq(v),
            );
        } else {
            cond = cond.add(activity_log::Column::Action.eq(v));
        }
    }
    if let Some(v) = text("target_kind", &query.target_kind)? {
        cond = cond.add(activity_log::Column::TargetKind.eq(v));
    }
    if let Some(v) = text("target_id", &query.target_id)? {
        cond = cond.add(activity_log::Column::TargetId.eq(v));
    }
    if let Some(v) = text("connection_id", &query.connection_id)? {
        cond = cond.add(activity_log::Column::ConnectionId.eq(v));
    }
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from >= to
    {
        return Err(invalid("to", "must be after `from`"));
    }
    if let Some(from) = query.from {
        cond = cond.add(activity_log::Column::At.gte(from));
    }
    if let Some(to) = query.to {
        cond = cond.add(activity_log::Column::At.lt(to));
    }
    Ok(cond)
}

fn entry(row: &activity_log::Model, reader: Reader<'_>) -> ActivityEntry {
    let kind = row.actor_kind;
    let details = match serde_json::from_str::<Value>(&row.details) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => serde_json::json!({ "value": other }),
        Err(e) => {
            tracing::warn!(entry = %row.id, error = %e, "activity details are not JSON");
            Value::Object(serde_json::Map::new())
        }
    };
    // Where a limited user reads another person's entry (on a shared connection), the
    // other person's address and browser are theirs to keep.
    let own =
        reader.access == HubAccess::Elevated || row.actor_user_id.as_ref() == Some(reader.user_id);
    ActivityEntry {
        id: row.id.clone(),
        at: row.at,
        actor: ActivityActor {
            kind,
            user_id: row.actor_user_id.clone(),
            token_id: row.actor_token_id.clone(),
            label: row.actor_label.clone(),
        },
        action: row.action.clone(),
        target: ActivityTarget {
            kind: row.target_kind.clone(),
            id: row.target_id.clone(),
            label: row.target_label.clone(),
        },
        connection_id: row.connection_id.clone(),
        details,
        request_id: row.request_id.clone(),
        ip: row.ip.clone().filter(|_| own),
        user_agent: row.user_agent.clone().filter(|_| own),
    }
}

/// One page of the entries the reader may read, newest first. Pages follow `(at, id)`
/// downwards, so an entry written while a client pages through appears on no page it has
/// not reached yet and none is seen twice.
pub async fn list(
    db: &impl ConnectionTrait,
    reader: Reader<'_>,
    query: &ActivityQuery,
) -> Result<Page<ActivityEntry>, ApiError> {
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => return Err(invalid("limit", "must be between 1 and 200")),
    };
    let mut select = activity_log::Entity::find()
        .filter(visible_to(reader))
        .filter(filters(query)?);
    if let Some(cursor) = &query.cursor {
        let (at, id) = parse_cursor(cursor)?;
        select = select.filter(
            Condition::any().add(activity_log::Column::At.lt(at)).add(
                Condition::all()
                    .add(activity_log::Column::At.eq(at))
                    .add(activity_log::Column::Id.lt(id)),
            ),
        );
    }
    let rows = select
        .order_by_desc(activity_log::Column::At)
        .order_by_desc(activity_log::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    crate::pagination::page_from_rows(rows, limit, cursor_key, |r| Ok(entry(r, reader)))
}

/// One entry, if the reader may read it; otherwise 404, whether it exists or not.
pub async fn get(
    db: &impl ConnectionTrait,
    reader: Reader<'_>,
    id: &str,
) -> Result<ActivityEntry, ApiError> {
    activity_log::Entity::find_by_id(id.to_owned())
        .filter(visible_to(reader))
        .one(db)
        .await?
        .map(|row| entry(&row, reader))
        .ok_or_else(ApiError::not_found)
}
