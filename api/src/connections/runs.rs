//! Sync runs (SPEC S4): manual runs, the sync-history list, hiding records, the engine's
//! progress reports, and the sync-status overview.
//!
//! User operations follow the order of checks of [`super::guard`]: 404 (no
//! role), 422 `not_supported_for_kind`, 403 `forbidden`, 409 `connection_cancelled`, then —
//! for a manual run — 409 `endpoint_disconnected`, then 422 `validation_failed`. Each change
//! runs in one transaction with exactly one activity entry carrying `connection_id`.

use hubkeep_shared::{ConnectionId, RunId};
use std::collections::HashMap;

use hubkeep_shared::{ConnectionAction, ConnectionKind, FieldError, ProblemCode};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};

use super::guard;
use super::read::{self, ConnectionSummary, EndpointStatus};
use crate::AppState;
use crate::activity::{self, Target, actions};
use crate::db::{
    self,
    entities::{connection_endpoints, connections as conn, role_assignments, sync_runs},
};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::identity::engine::EngineCaller;
use crate::pagination::Paging as _;
use crate::pagination::{Page, PageQuery, decode_cursor, encode_cursor};
pub use hubkeep_shared::api::runs::{
    EndpointState, RunOrigin, RunProgress, RunRequest, RunStatus, RunsQuery, SyncRun,
    SyncStatusItem,
};

/// The entities an `autotask_quickbooks` run may sync (SPEC S4), in their canonical order.
pub const AUTOTASK_QUICKBOOKS_ENTITIES: [&str; 3] = ["invoices", "purchase_orders", "expenses"];
/// The longest `error` text the engine may report, in characters.
pub const MAX_ERROR_CHARS: usize = 4_000;
/// The largest `details` object the engine may report, serialized, in bytes.
pub const MAX_DETAILS_BYTES: usize = 64 * 1024;

fn corrupt(what: &str, value: &str) -> ApiError {
    ApiError::Internal(anyhow::anyhow!(
        "stored {what} `{value}` is not one this API knows"
    ))
}

/// The response view of a stored run.
pub fn run_view(row: &sync_runs::Model) -> Result<SyncRun, ApiError> {
    let origin = row.origin;
    let entities: Vec<String> =
        serde_json::from_str(&row.entities).map_err(|_| corrupt("run entities", &row.entities))?;
    let details = row
        .details
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|_| corrupt("run details", "…"))?;
    Ok(SyncRun {
        id: row.id.clone(),
        connection_id: row.connection_id.clone(),
        origin,
        status: row.status,
        entities,
        requested_by: row.requested_by.clone(),
        requested_at: row.requested_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        records_processed: row.records_processed,
        error: row.error.clone(),
        details,
        hidden: row.hidden,
        hidden_by: row.hidden_by.clone(),
        hidden_at: row.hidden_at,
    })
}

fn invalid(detail: &str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(
        detail,
        vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }],
    )
}

// ---------------------------------------------------------------------------------------
// Manual runs.

/// The entities a run of `kind` syncs, or 422.
pub fn run_entities(
    kind: ConnectionKind,
    requested: Option<Vec<String>>,
) -> Result<Vec<String>, ApiError> {
    const DETAIL: &str = "The run request is not valid.";
    if kind != ConnectionKind::AutotaskQuickbooks {
        return match requested {
            Some(list) if !list.is_empty() => Err(invalid(
                DETAIL,
                "entities",
                format!(
                    "a {} connection syncs everything: leave `entities` out or send []",
                    kind.wire_name()
                ),
            )),
            _ => Ok(Vec::new()),
        };
    }
    let Some(list) = requested else {
        return Ok(AUTOTASK_QUICKBOOKS_ENTITIES.map(str::to_owned).to_vec());
    };
    if list.is_empty() {
        return Err(invalid(
            DETAIL,
            "entities",
            "must name at least one entity, or be left out to sync all three",
        ));
    }
    let mut seen = Vec::new();
    for (i, e) in list.iter().enumerate() {
        if !AUTOTASK_QUICKBOOKS_ENTITIES.contains(&e.as_str()) {
            return Err(invalid(
                DETAIL,
                &format!("entities[{i}]"),
                "must be one of `invoices`, `purchase_orders`, `expenses`",
            ));
        }
        if seen.contains(e) {
            return Err(invalid(DETAIL, &format!("entities[{i}]"), "is named twice"));
        }
        seen.push(e.clone());
    }
    Ok(seen)
}

/// Refuses a run while either endpoint is disconnected (409 `endpoint_disconnected`).
async fn refuse_if_disconnected(
    txn: &DatabaseTransaction,
    model: &conn::Model,
) -> Result<(), ApiError> {
    let down: Vec<&str> = connection_endpoints::Entity::find()
        .filter(connection_endpoints::Column::ConnectionId.eq(&model.id))
        .filter(connection_endpoints::Column::Status.ne(EndpointStatus::Connected))
        .order_by_asc(connection_endpoints::Column::Side)
        .all(txn)
        .await?
        .into_iter()
        .map(|e| e.side.as_str())
        .collect();
    if down.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            ProblemCode::EndpointDisconnected,
            format!(
                "The connection cannot run while an endpoint is disconnected ({}): reconnect it first.",
                down.join(", ")
            ),
        ))
    }
}

/// `POST /api/v1/connections/{id}/runs`: records a `queued` manual run, in the handler's
/// transaction.
pub async fn request(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    input: RunRequest,
) -> Result<SyncRun, ApiError> {
    let guarded = guard::for_write(txn, caller, id, &[ConnectionAction::RunManually]).await?;
    let model = &guarded.model;
    refuse_if_disconnected(txn, model).await?;
    let entities = run_entities(guarded.kind, input.entities)?;
    let row = sync_runs::ActiveModel {
        id: Set(RunId::new(db::new_id())),
        tenant_id: Set(caller.tenant_id.clone()),
        connection_id: Set(model.id.clone()),
        origin: Set(RunOrigin::Manual),
        status: Set(RunStatus::Queued),
        entities: Set(json!(entities).to_string()),
        requested_by: Set(Some(caller.user.id.clone())),
        requested_at: Set(db::now()),
        started_at: Set(None),
        finished_at: Set(None),
        records_processed: Set(None),
        error: Set(None),
        details: Set(None),
        hidden: Set(false),
        hidden_by: Set(None),
        hidden_at: Set(None),
    }
    .insert(txn)
    .await?;
    record_user(
        txn,
        caller,
        model,
        &row,
        actions::SYNC_RUN_REQUESTED,
        json!({"origin": "manual", "entities": entities}),
    )
    .await?;
    run_view(&row)
}

async fn record_user(
    txn: &DatabaseTransaction,
    caller: &Caller,
    model: &conn::Model,
    run: &sync_runs::Model,
    action: &'static str,
    details: Value,
) -> Result<(), ApiError> {
    let target = Target::new("sync_run", &run.id, &model.name);
    guard::record_about(txn, caller, model, target, action, details).await
}

// ---------------------------------------------------------------------------------------
// History.

/// `GET /api/v1/connections/{id}/runs`: newest first (ids are time-ordered UUID v7).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    id: &ConnectionId,
    query: &RunsQuery,
) -> Result<Page<SyncRun>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let limit = page.limit()?;
    let after = page.after_id()?;
    let (model, _) = read::visible(&state.db, caller, id).await?;
    let mut select = sync_runs::Entity::find()
        .filter(sync_runs::Column::ConnectionId.eq(&model.id))
        .filter(sync_runs::Column::TenantId.eq(&caller.tenant_id))
        .order_by_desc(sync_runs::Column::Id)
        .limit(limit + 1);
    if !query.include_hidden {
        select = select.filter(sync_runs::Column::Hidden.eq(false));
    }
    if let Some(after) = after {
        select = select.filter(sync_runs::Column::Id.lt(after));
    }
    let rows = select.all(&state.db).await?;
    crate::pagination::page_from_rows(rows, limit, |r| r.id.to_string(), run_view)
}

/// The run `run_id` of connection `model`, locked on PostgreSQL; 404 otherwise.
async fn run_of(
    txn: &DatabaseTransaction,
    model: &conn::Model,
    run_id: &RunId,
) -> Result<sync_runs::Model, ApiError> {
    let mut select = sync_runs::Entity::find_by_id(run_id.clone());
    if txn.get_database_backend() == DbBackend::Postgres {
        select = select.lock_exclusive();
    }
    select
        .one(txn)
        .await?
        .filter(|r| r.connection_id == model.id && r.tenant_id == model.tenant_id)
        .ok_or_else(ApiError::not_found)
}

/// `POST …/runs/{run_id}/hide` (`hidden = true`) or `/unhide`. Already so: 200, no entry.
/// In the handler's transaction; the handler shows the run ([`run_view`]) after committing.
pub async fn set_hidden(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    run_id: &RunId,
    hidden: bool,
) -> Result<sync_runs::Model, ApiError> {
    let guarded = guard::load(txn, caller, id).await?;
    let model = &guarded.model;
    let run = run_of(txn, model, run_id).await?;
    guarded.authorize(&[ConnectionAction::HideSyncRecords])?;
    guard::refuse_if_cancelled(model)?;
    if run.hidden == hidden {
        return Ok(run);
    }
    let now = db::now();
    let mut active: sync_runs::ActiveModel = run.clone().into();
    active.hidden = Set(hidden);
    active.hidden_by = Set(hidden.then(|| caller.user.id.clone()));
    active.hidden_at = Set(hidden.then_some(now));
    let updated = active.update(txn).await?;
    let action = if hidden {
        actions::SYNC_RUN_HIDDEN
    } else {
        actions::SYNC_RUN_UNHIDDEN
    };
    record_user(
        txn,
        caller,
        model,
        &updated,
        action,
        json!({"hidden": {"before": !hidden, "after": hidden}}),
    )
    .await?;
    Ok(updated)
}

// ---------------------------------------------------------------------------------------
// Engine progress.

/// The engine's report checked: counts not negative, the error and details within their
/// limits; the details as the text stored.
fn parse_progress(input: &RunProgress) -> Result<Option<String>, ApiError> {
    const DETAIL: &str = "The progress report is not valid.";
    if input.records_processed.is_some_and(|n| n < 0) {
        return Err(invalid(DETAIL, "records_processed", "must be at least 0"));
    }
    if input
        .error
        .as_ref()
        .is_some_and(|e| e.chars().count() > MAX_ERROR_CHARS)
    {
        return Err(invalid(
            DETAIL,
            "error",
            format!("must be at most {MAX_ERROR_CHARS} characters"),
        ));
    }
    match &input.details {
        None => Ok(None),
        Some(details @ Value::Object(_)) => {
            let text = details.to_string();
            if text.len() > MAX_DETAILS_BYTES {
                return Err(invalid(DETAIL, "details", "must be at most 64 KiB"));
            }
            Ok(Some(text))
        }
        Some(_) => Err(invalid(DETAIL, "details", "must be a JSON object")),
    }
}

/// `PATCH /api/v1/connections/{id}/runs/{run_id}` by the sync engine, in the handler's
/// transaction; the handler shows the run ([`run_view`]) after committing.
pub async fn progress(
    txn: &DatabaseTransaction,
    engine: &EngineCaller,
    id: &ConnectionId,
    run_id: &RunId,
    input: RunProgress,
) -> Result<sync_runs::Model, ApiError> {
    let model = conn::Entity::find_by_id(id.to_owned())
        .one(txn)
        .await?
        .filter(|c| c.tenant_id == engine.tenant_id)
        .ok_or_else(ApiError::not_found)?;
    let run = run_of(txn, &model, run_id).await?;
    let before = run.status;
    if !before.can_become(input.status) {
        return Err(ApiError::new(
            ProblemCode::Conflict,
            format!(
                "A {} run cannot become {}.",
                before.wire_name(),
                input.status.wire_name()
            ),
        ));
    }
    let details = parse_progress(&input)?;
    let now = db::now();
    let mut active: sync_runs::ActiveModel = run.clone().into();
    active.status = Set(input.status);
    if input.status == RunStatus::Running {
        active.started_at = Set(Some(now));
    }
    if input.status.is_final() {
        active.finished_at = Set(Some(now));
    }
    if let Some(n) = input.records_processed {
        active.records_processed = Set(Some(n));
    }
    if let Some(e) = &input.error {
        active.error = Set(Some(e.clone()));
    }
    if let Some(d) = details {
        active.details = Set(Some(d));
    }
    let updated = active.update(txn).await?;
    activity::record(
        txn,
        activity::Entry {
            tenant_id: &engine.tenant_id,
            actor: &engine.actor(),
            action: actions::SYNC_RUN_PROGRESSED,
            target: Target::new("sync_run", &updated.id, &model.name),
            connection_id: Some(&model.id),
            details: json!({
                "status": {"before": before.wire_name(), "after": input.status.wire_name()},
                "records_processed": input.records_processed,
                "error": input.error,
            }),
            meta: &engine.meta,
        },
    )
    .await?;
    Ok(updated)
}

// ---------------------------------------------------------------------------------------
// Sync status.

/// `GET /api/v1/sync-status`: every connection the caller holds a role on, by id.
pub async fn status(
    state: &AppState,
    caller: &Caller,
    page: &PageQuery,
) -> Result<Page<SyncStatusItem>, ApiError> {
    let limit = page.limit()?;
    let after = page.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut ids: Vec<ConnectionId> = role_assignments::Entity::find()
        .filter(role_assignments::Column::TenantId.eq(&caller.tenant_id))
        .filter(role_assignments::Column::UserId.eq(&caller.user.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| r.connection_id)
        .filter(|c| after.as_ref().is_none_or(|a| c.as_str() > a.as_str()))
        .collect();
    ids.sort();
    ids.dedup();
    let more = ids.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let rows = conn::Entity::find()
        .filter(conn::Column::TenantId.eq(&caller.tenant_id))
        .filter(conn::Column::Id.is_in(ids.clone()))
        .order_by_asc(conn::Column::Id)
        .all(&state.db)
        .await?;
    let mut endpoints: HashMap<ConnectionId, Vec<EndpointState>> = HashMap::new();
    for e in connection_endpoints::Entity::find()
        .filter(connection_endpoints::Column::ConnectionId.is_in(ids.clone()))
        .order_by_asc(connection_endpoints::Column::Side)
        .all(&state.db)
        .await?
    {
        endpoints
            .entry(e.connection_id.clone())
            .or_default()
            .push(EndpointState {
                side: e.side,
                system: e.system,
                status: e.status,
            });
    }
    let mut items = Vec::with_capacity(rows.len());
    for model in &rows {
        let latest = sync_runs::Entity::find()
            .filter(sync_runs::Column::ConnectionId.eq(&model.id))
            .filter(sync_runs::Column::Hidden.eq(false))
            .order_by_desc(sync_runs::Column::Id)
            .one(&state.db)
            .await?;
        let status = model.status;
        let mut eps = endpoints.remove(&model.id).unwrap_or_default();
        eps.sort_by_key(|e| e.side);
        items.push(SyncStatusItem {
            connection: ConnectionSummary {
                id: model.id.clone(),
                name: model.name.clone(),
                kind: model.kind,
                status,
            },
            endpoints: eps,
            latest_run: latest.as_ref().map(run_view).transpose()?,
        });
    }
    let next_cursor = if more {
        ids.last().map(|k| encode_cursor(k.as_str()))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}
