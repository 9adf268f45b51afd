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
    ACTIVITY_CSV_COLUMNS, ActivityActor, ActivityEntry, ActivityExportQuery, ActivityQuery,
    ActivityTarget, ActorKind, ExportFormat,
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
        select = select.filter(older_than(at, id));
    }
    let rows = select
        .order_by_desc(activity_log::Column::At)
        .order_by_desc(activity_log::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    crate::pagination::page_from_rows(rows, limit, cursor_key, |r| Ok(entry(r, reader)))
}

/// The entries after `(at, id)` in the log's order (newest first). The plain `at <= ?` beside
/// the `OR` gives SQLite and PostgreSQL a bound in the `(tenant_id, at, id)` index, so a deep
/// page (and each batch of an export) starts at its cursor instead of scanning down to it.
fn older_than(at: DateTime<Utc>, id: String) -> Condition {
    Condition::all().add(activity_log::Column::At.lte(at)).add(
        Condition::any().add(activity_log::Column::At.lt(at)).add(
            Condition::all()
                .add(activity_log::Column::At.eq(at))
                .add(activity_log::Column::Id.lt(id)),
        ),
    )
}

/// Entries an export reads at a time: its memory does not grow with the log.
const EXPORT_BATCH: u64 = 500;

/// Where an export is: what it reads and the last entry it wrote.
#[derive(Debug)]
struct Export {
    db: sea_orm::DatabaseConnection,
    tenant_id: String,
    user_id: UserId,
    access: HubAccess,
    filters: Condition,
    format: ExportFormat,
    after: Option<(DateTime<Utc>, String)>,
    started: bool,
}

/// Every entry the reader may read that matches the filters, newest first, as the bytes of
/// a CSV or NDJSON file, read and written a batch at a time (SPEC S16: streamed, constant
/// memory). The filters are checked before the first byte: bad ones are a 422, not a file.
/// A database error mid-way ends the stream with that error, so the client sees a broken
/// download, never a short file that looks complete.
pub fn export(
    db: sea_orm::DatabaseConnection,
    reader: Reader<'_>,
    query: &ActivityExportQuery,
) -> Result<impl futures::Stream<Item = Result<Vec<u8>, ApiError>> + 'static, ApiError> {
    let state = Export {
        db,
        tenant_id: reader.tenant_id.to_owned(),
        user_id: reader.user_id.clone(),
        access: reader.access,
        filters: filters(&query.filters())?,
        format: query.format,
        after: None,
        started: false,
    };
    Ok(futures::stream::try_unfold(state, |mut state| async move {
        let Some(chunk) = state.next_chunk().await? else {
            return Ok(None);
        };
        Ok(Some((chunk, state)))
    }))
}

impl Export {
    /// The next batch, written out; `None` when the last one has been.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            if self.format == ExportFormat::Csv {
                csv_record(&mut out, ACTIVITY_CSV_COLUMNS.map(str::to_owned))?;
            }
        } else if self.after.is_none() {
            return Ok(None);
        }
        let reader = Reader {
            tenant_id: &self.tenant_id,
            user_id: &self.user_id,
            access: self.access,
        };
        let mut select = activity_log::Entity::find()
            .filter(visible_to(reader))
            .filter(self.filters.clone());
        if let Some((at, id)) = self.after.clone() {
            select = select.filter(older_than(at, id));
        }
        let rows = select
            .order_by_desc(activity_log::Column::At)
            .order_by_desc(activity_log::Column::Id)
            .limit(EXPORT_BATCH)
            .all(&self.db)
            .await?;
        for row in &rows {
            write_entry(&mut out, self.format, &entry(row, reader))?;
        }
        self.after = match rows.last() {
            Some(last) if rows.len() as u64 == EXPORT_BATCH => Some((last.at, last.id.clone())),
            _ => None,
        };
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(out))
    }
}

fn write_entry(out: &mut Vec<u8>, format: ExportFormat, e: &ActivityEntry) -> Result<(), ApiError> {
    match format {
        ExportFormat::Ndjson => {
            serde_json::to_writer(&mut *out, e).map_err(|e| ApiError::Internal(e.into()))?;
            out.push(b'\n');
            Ok(())
        }
        ExportFormat::Csv => {
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            csv_record(
                out,
                [
                    e.id.clone(),
                    e.at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                    e.actor.kind.as_str().to_owned(),
                    e.actor
                        .user_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    e.actor
                        .token_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    text(&e.actor.label),
                    e.action.clone(),
                    e.target.kind.clone(),
                    text(&e.target.id),
                    text(&e.target.label),
                    e.connection_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    e.details.to_string(),
                    text(&e.request_id),
                    text(&e.ip),
                    text(&e.user_agent),
                ],
            )
        }
    }
}

/// One CSV row (RFC 4180, the `csv` crate), every cell quoted: a spreadsheet that splits on
/// `;` (Excel in many locales) keeps `a;=b` one cell. A cell a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@`, tab or CR first: names come from the PSA and from people) is
/// written with a `'` in front, as OWASP advises; nothing else is changed.
fn csv_record<const N: usize>(out: &mut Vec<u8>, cells: [String; N]) -> Result<(), ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(out);
    writer
        .write_record(cells.iter().map(|cell| neutralised(cell).into_owned()))
        .and_then(|()| writer.flush().map_err(csv::Error::from))
        .map_err(|e| ApiError::Internal(e.into()))
}

/// `cell`, with a `'` in front when a spreadsheet would take it for a formula.
pub fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
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
