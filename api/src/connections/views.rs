//! Connection views (SPEC S4): named JSON definitions on the kinds that have views
//! (`xero_power_bi`, `quickbooks_power_bi`).
//!
//! Every operation, the list included, answers 422 `not_supported_for_kind` on a kind without
//! views (after the 404 of a caller without a role). Changes follow the order of checks of
//! [`super::guard`] with action `manage_views`; a duplicate name is 409
//! `conflict`. Each change writes exactly one activity entry with `connection_id`.

use hubkeep_shared::fields::{FieldErrors, ShortName, ViewDefinition};
use hubkeep_shared::{ConnectionAction, ConnectionKind, ProblemCode};
use hubkeep_shared::{ConnectionId, ViewId};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, ModelTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};

use super::guard;
use super::read;
use crate::AppState;
use crate::activity::{Target, actions};
use crate::db::{
    self,
    entities::{connection_views, connections as conn},
};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::pagination::Paging as _;
use crate::pagination::{Page, PageQuery, decode_cursor};
pub use hubkeep_shared::api::connections::{ConnectionView, ViewInput};

fn view_of(row: &connection_views::Model) -> Result<ConnectionView, ApiError> {
    Ok(ConnectionView {
        id: row.id.clone(),
        connection_id: row.connection_id.clone(),
        name: row.name.clone(),
        definition: serde_json::from_str(&row.definition).map_err(|_| {
            ApiError::Internal(anyhow::anyhow!("view {} has a corrupt definition", row.id))
        })?,
        created_by: row.created_by.clone(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn unsupported(kind: ConnectionKind) -> ApiError {
    ApiError::new(
        ProblemCode::NotSupportedForKind,
        format!("A {} connection has no views.", kind.wire_name()),
    )
}

/// The trimmed name and the serialized definition, or 422.
fn validate(input: &ViewInput) -> Result<(String, String), ApiError> {
    let mut errors = FieldErrors::new();
    let name = errors.check::<ShortName>("name", &input.name);
    let definition = ViewDefinition::from_value(&input.definition)
        .map_err(|message| errors.add("definition", message))
        .ok();
    match (name, definition) {
        (Some(name), Some(definition)) => Ok((name.into(), definition.into_json_string())),
        _ => Err(ApiError::validation(
            "The view is not valid.",
            errors.into_vec(),
        )),
    }
}

fn duplicate(name: &str) -> ApiError {
    ApiError::new(
        ProblemCode::Conflict,
        format!("The connection already has a view named `{name}`."),
    )
}

/// Refuses `name` when another view of the connection (not `except`) has it.
async fn refuse_duplicate(
    txn: &DatabaseTransaction,
    connection_id: &ConnectionId,
    name: &str,
    except: Option<&ViewId>,
) -> Result<(), ApiError> {
    let mut select = connection_views::Entity::find()
        .filter(connection_views::Column::ConnectionId.eq(connection_id))
        .filter(connection_views::Column::Name.eq(name));
    if let Some(id) = except {
        select = select.filter(connection_views::Column::Id.ne(id));
    }
    if select.one(txn).await?.is_some() {
        return Err(duplicate(name));
    }
    Ok(())
}

async fn record(
    txn: &DatabaseTransaction,
    caller: &Caller,
    model: &conn::Model,
    view: &connection_views::Model,
    action: &'static str,
    details: Value,
) -> Result<(), ApiError> {
    let target = Target::new("view", &view.id, &view.name);
    guard::record_about(txn, caller, model, target, action, details).await
}

fn map_unique(err: sea_orm::DbErr, name: &str) -> ApiError {
    if db::violates(&err, &[db::Unique::ViewName]) {
        duplicate(name)
    } else {
        err.into()
    }
}

/// `GET /api/v1/connections/{id}/views`: any member; by name.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    id: &ConnectionId,
    page: &PageQuery,
) -> Result<Page<ConnectionView>, ApiError> {
    let limit = page.limit()?;
    let after = page.cursor.as_deref().map(decode_cursor).transpose()?;
    let (model, _) = read::visible(&state.db, caller, id).await?;
    let kind = model.kind;
    if !kind.supports(ConnectionAction::ManageViews) {
        return Err(unsupported(kind));
    }
    let mut select = connection_views::Entity::find()
        .filter(connection_views::Column::ConnectionId.eq(&model.id))
        .order_by_asc(connection_views::Column::Name)
        .limit(limit + 1);
    if let Some(after) = after {
        select = select.filter(connection_views::Column::Name.gt(after));
    }
    let rows = select.all(&state.db).await?;
    crate::pagination::page_from_rows(rows, limit, |r| r.name.clone(), view_of)
}

/// `POST /api/v1/connections/{id}/views`, in the handler's transaction.
pub async fn create(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    input: ViewInput,
) -> Result<ConnectionView, ApiError> {
    let guarded = guard::for_write(txn, caller, id, &[ConnectionAction::ManageViews]).await?;
    let model = &guarded.model;
    let (name, definition) = validate(&input)?;
    refuse_duplicate(txn, &model.id, &name, None).await?;
    let now = db::now();
    let row = connection_views::ActiveModel {
        id: Set(ViewId::new(db::new_id())),
        tenant_id: Set(caller.tenant_id.clone()),
        connection_id: Set(model.id.clone()),
        name: Set(name.clone()),
        definition: Set(definition),
        created_by: Set(caller.user.id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| map_unique(e, &name))?;
    record(
        txn,
        caller,
        model,
        &row,
        actions::VIEW_CREATED,
        json!({"name": name}),
    )
    .await?;
    view_of(&row)
}

async fn find_view(
    txn: &DatabaseTransaction,
    model: &conn::Model,
    view_id: &ViewId,
) -> Result<connection_views::Model, ApiError> {
    connection_views::Entity::find_by_id(view_id.clone())
        .one(txn)
        .await?
        .filter(|v| v.connection_id == model.id && v.tenant_id == model.tenant_id)
        .ok_or_else(ApiError::not_found)
}

/// `PUT /api/v1/connections/{id}/views/{view_id}`: replaces name and definition. Equal values
/// change nothing and write no entry. In the handler's transaction.
pub async fn update(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    view_id: &ViewId,
    input: ViewInput,
) -> Result<ConnectionView, ApiError> {
    let guarded = guard::load(txn, caller, id).await?;
    let model = &guarded.model;
    guarded.authorize(&[ConnectionAction::ManageViews])?;
    let view = find_view(txn, model, view_id).await?;
    guard::refuse_if_cancelled(model)?;
    let (name, definition) = validate(&input)?;
    let stored: Value = serde_json::from_str(&view.definition).unwrap_or(Value::Null);
    let definition_changed = stored != input.definition;
    let name_changed = name != view.name;
    if !definition_changed && !name_changed {
        return view_of(&view);
    }
    if name_changed {
        refuse_duplicate(txn, &model.id, &name, Some(&view.id)).await?;
    }
    let before_name = view.name.clone();
    let mut active: connection_views::ActiveModel = view.into();
    active.name = Set(name.clone());
    active.definition = Set(definition);
    active.updated_at = Set(db::now());
    let updated = active.update(txn).await.map_err(|e| map_unique(e, &name))?;
    let mut details = json!({"definition_changed": definition_changed});
    if name_changed {
        details["name"] = json!({"before": before_name, "after": name});
    }
    record(txn, caller, model, &updated, actions::VIEW_UPDATED, details).await?;
    view_of(&updated)
}

/// `DELETE /api/v1/connections/{id}/views/{view_id}`, in the handler's transaction.
pub async fn delete(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    view_id: &ViewId,
) -> Result<(), ApiError> {
    let guarded = guard::load(txn, caller, id).await?;
    let model = &guarded.model;
    guarded.authorize(&[ConnectionAction::ManageViews])?;
    let view = find_view(txn, model, view_id).await?;
    guard::refuse_if_cancelled(model)?;
    record(
        txn,
        caller,
        model,
        &view,
        actions::VIEW_DELETED,
        json!({"name": view.name}),
    )
    .await?;
    view.delete(txn).await?;
    Ok(())
}
