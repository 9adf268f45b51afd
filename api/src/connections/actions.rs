//! The guarded write operations on one connection (SPEC S4, S5, S7): the settings `PATCH`,
//! pay, cancel, and disconnecting / reconnecting an endpoint.
//!
//! Every operation runs in one transaction and follows the same order of checks, before any
//! change:
//! 1. **404** when the connection does not exist, belongs to another tenant, or the caller
//!    holds no role on it ([`super::read::visible`] semantics);
//! 2. **422 `not_supported_for_kind`** when an action touches a setting the connection's kind
//!    lacks (S4). This comes *before* the role check: the answer depends only on the kind,
//!    which every member already sees, and it is the same for every role ("whatever the
//!    caller's roles", as `shared` documents `ConnectionKind::supports`);
//! 3. **403 `forbidden`** when the caller's roles do not allow the action (the shared matrix,
//!    `connection_allows`);
//! 4. **409 `connection_cancelled`** when the connection is cancelled and the operation is not
//!    `pay`;
//! 5. **422 `validation_failed`** for invalid values (so a caller who may not act learns
//!    nothing about what a valid value would be).
//!
//! A `PATCH` maps each field to its own action and checks all of them in steps 2 and 3: if any
//! one is refused, the whole request is refused and nothing changes (no mass assignment). A
//! field equal to the current value still needs its permission.
//!
//! Each change writes exactly one activity entry in the same transaction, with
//! `connection_id`. An operation that changes nothing (a `PATCH` whose values equal the current
//! ones, disconnecting a disconnected endpoint, reconnecting a connected one without a new
//! account label) answers 200 with the connection and writes no entry.

use chrono::{Months, NaiveDate};
use hubkeep_shared::fields::{
    CurrencyCode, FieldErrors, MAX_PAYMENT_MONTHS, Name, PostgresUrl, TimezoneName,
};
use hubkeep_shared::{
    ConnectionAction, ConnectionKind, ConnectionRole, ProblemCode, connection_allows,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
};
use serde_json::{Map, Value, json};

use super::read::{self, Connection, ConnectionStatus, EndpointSide, EndpointStatus};
use crate::AppState;
use crate::activity::{self, Target, actions};
use crate::db::{
    self,
    entities::{connection_endpoints, connection_groups, connections as conn, payments},
};
use crate::error::ApiError;
use crate::identity::Caller;
pub use hubkeep_shared::api::connections::{
    ConnectionPatch, ForecastBudgetInput, PaymentInput, ReconnectInput,
};

/// The mask activity entries show for a Postgres connection string.
const MASK: &str = "***";

// ---------------------------------------------------------------------------------------
// Shared guard.

/// The connection, locked for the rest of the transaction on PostgreSQL (SQLite serializes
/// writers anyway), and the caller's roles on it; 404 as [`connections::visible`].
pub async fn load(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &str,
) -> Result<(conn::Model, ConnectionKind, Vec<ConnectionRole>), ApiError> {
    let mut select = conn::Entity::find_by_id(id.to_owned());
    if txn.get_database_backend() == DbBackend::Postgres {
        select = select.lock_exclusive();
    }
    let model = select
        .one(txn)
        .await?
        .filter(|c| c.tenant_id == caller.tenant_id)
        .ok_or_else(ApiError::not_found)?;
    let roles = read::roles_on(txn, &model.id, &caller.user.id).await?;
    if roles.is_empty() {
        return Err(ApiError::not_found());
    }
    let kind = model.kind.parse::<ConnectionKind>().map_err(|_| {
        ApiError::Internal(anyhow::anyhow!("stored kind `{}` is unknown", model.kind))
    })?;
    Ok((model, kind, roles))
}

/// Steps 2 and 3 of the module's order, for every action a request needs: 422
/// `not_supported_for_kind` if the kind lacks any, else 403 `forbidden` if the roles do not
/// allow every one.
pub fn authorize(
    kind: ConnectionKind,
    roles: &[ConnectionRole],
    needed: &[ConnectionAction],
) -> Result<(), ApiError> {
    let unsupported: Vec<&str> = needed
        .iter()
        .filter(|a| !kind.supports(**a))
        .map(|a| a.wire_name())
        .collect();
    if !unsupported.is_empty() {
        return Err(ApiError::new(
            ProblemCode::NotSupportedForKind,
            format!(
                "A {} connection does not offer: {}. Nothing was changed.",
                kind.wire_name(),
                unsupported.join(", ")
            ),
        ));
    }
    let refused: Vec<&str> = needed
        .iter()
        .filter(|a| !connection_allows(roles, kind, **a))
        .map(|a| a.wire_name())
        .collect();
    if !refused.is_empty() {
        return Err(ApiError::new(
            ProblemCode::Forbidden,
            format!(
                "Your roles on this connection do not allow: {}. Nothing was changed.",
                refused.join(", ")
            ),
        ));
    }
    Ok(())
}

pub fn refuse_if_cancelled(model: &conn::Model) -> Result<(), ApiError> {
    if model.status == ConnectionStatus::Cancelled.wire_name() {
        return Err(ApiError::new(
            ProblemCode::ConnectionCancelled,
            "The connection is cancelled: it refuses changes until the owner pays again.",
        ));
    }
    Ok(())
}

/// Writes the one activity entry of a change, inside its transaction.
async fn record(
    txn: &DatabaseTransaction,
    caller: &Caller,
    model: &conn::Model,
    action: &'static str,
    details: Value,
) -> Result<(), ApiError> {
    let actor = caller.actor();
    activity::record(
        txn,
        activity::Entry {
            tenant_id: &caller.tenant_id,
            actor: &actor,
            action,
            target: Target::new("connection", &model.id, &model.name),
            connection_id: Some(&model.id),
            details,
            meta: &caller.meta,
        },
    )
    .await?;
    Ok(())
}

/// Commits, then answers the connection as the caller now sees it.
async fn finish(
    state: &AppState,
    caller: &Caller,
    txn: DatabaseTransaction,
    id: &str,
) -> Result<Connection, ApiError> {
    txn.commit().await?;
    read::get(state, caller, id).await
}

// ---------------------------------------------------------------------------------------
// Validation.

// ---------------------------------------------------------------------------------------
// PATCH.

/// The actions a patch needs, one per field present (`group: null` is `ungroup`).
fn patch_actions(patch: &ConnectionPatch) -> Vec<ConnectionAction> {
    use ConnectionAction as A;
    let mut needed = Vec::new();
    if patch.name.is_some() {
        needed.push(A::Rename);
    }
    if patch.timezone.is_some() {
        needed.push(A::ChangeTimezone);
    }
    if patch.locked_period_export.is_some() {
        needed.push(A::ChangeLockedPeriodExport);
    }
    if patch.reporting_currency.is_some() {
        needed.push(A::ChangeReportingCurrency);
    }
    if patch.forecast_budget.is_some() {
        needed.push(A::ChangeForecastBudget);
    }
    if patch.postgres_db.is_some() {
        needed.push(A::ChangePostgresDb);
    }
    match &patch.group {
        Some(Some(_)) => needed.push(A::Group),
        Some(None) => needed.push(A::Ungroup),
        None => {}
    }
    needed
}

/// `PATCH /api/v1/connections/{id}`.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &str,
    patch: ConnectionPatch,
) -> Result<Connection, ApiError> {
    let txn = state.db.begin().await?;
    let (model, kind, roles) = load(&txn, caller, id).await?;
    let needed = patch_actions(&patch);
    if needed.is_empty() {
        return Err(ApiError::validation(
            "Nothing to change: send at least one setting.",
            Vec::new(),
        ));
    }
    authorize(kind, &roles, &needed)?;
    refuse_if_cancelled(&model)?;

    // Validate every field before changing anything.
    let mut errors = FieldErrors::new();
    let name = patch
        .name
        .as_deref()
        .and_then(|n| errors.check::<Name>("name", n))
        .map(String::from);
    let timezone = patch
        .timezone
        .as_deref()
        .and_then(|tz| errors.check::<TimezoneName>("timezone", tz))
        .map(String::from);
    let reporting_currency = patch
        .reporting_currency
        .as_deref()
        .and_then(|c| errors.check::<CurrencyCode>("reporting_currency", c))
        .map(String::from);
    let forecast_budget = match &patch.forecast_budget {
        None => None,
        Some(None) => Some(None),
        Some(Some(b)) => {
            let id = errors.check::<Name>("forecast_budget.id", &b.id);
            let name = errors.check::<Name>("forecast_budget.name", &b.name);
            id.zip(name)
                .map(|(id, name)| Some((String::from(id), String::from(name))))
        }
    };
    let postgres_db = match &patch.postgres_db {
        None => None,
        Some(None) => Some(None),
        Some(Some(url)) => errors
            .check::<PostgresUrl>("postgres_db", url)
            .map(|u| Some(String::from(u))),
    };
    let group = match &patch.group {
        None => None,
        Some(None) => Some(None),
        Some(Some(g)) => errors
            .check::<Name>("group", g)
            .map(|g| Some(String::from(g))),
    };
    ApiError::refuse_fields(errors, "The connection settings are not valid.")?;

    let mut details = Map::new();
    let mut change = |field: &str, before: Value, after: Value| {
        if before != after {
            details.insert(field.to_owned(), json!({"before": before, "after": after}));
            true
        } else {
            false
        }
    };
    let mut active: conn::ActiveModel = model.clone().into();
    if let Some(name) = name
        && change("name", json!(model.name), json!(name))
    {
        active.name = Set(name);
    }
    if let Some(tz) = timezone
        && change("timezone", json!(model.timezone), json!(tz))
    {
        active.timezone = Set(tz);
    }
    if let Some(v) = patch.locked_period_export
        && change(
            "locked_period_export",
            json!(model.locked_period_export),
            json!(v),
        )
    {
        active.locked_period_export = Set(Some(v));
    }
    if let Some(c) = reporting_currency
        && change(
            "reporting_currency",
            json!(model.reporting_currency),
            json!(c),
        )
    {
        active.reporting_currency = Set(Some(c));
    }
    if let Some(budget) = forecast_budget {
        let before = model
            .forecast_budget_id
            .as_ref()
            .map(|id| json!({"id": id, "name": model.forecast_budget_name}));
        let after = budget
            .as_ref()
            .map(|(id, name)| json!({"id": id, "name": name}));
        if change("forecast_budget", json!(before), json!(after)) {
            let (id, name) = budget.unzip();
            active.forecast_budget_id = Set(id);
            active.forecast_budget_name = Set(name);
        }
    }
    if let Some(url) = postgres_db {
        let current = model.postgres_db.clone().filter(|s| !s.is_empty());
        if current != url {
            let mask = |v: &Option<String>| v.as_ref().map(|_| MASK);
            details.insert(
                "postgres_db".to_owned(),
                json!({"before": mask(&current), "after": mask(&url)}),
            );
            active.postgres_db = Set(url);
        }
    }
    if let Some(group) = group {
        let before = match &model.group_id {
            Some(gid) => connection_groups::Entity::find_by_id(gid.clone())
                .one(&txn)
                .await?
                .map(|g| g.name),
            None => None,
        };
        if before != group {
            let group_id = match &group {
                Some(name) => Some(group_by_name(&txn, &caller.tenant_id, name).await?),
                None => None,
            };
            details.insert(
                "group".to_owned(),
                json!({"before": before, "after": group}),
            );
            active.group_id = Set(group_id);
        }
    }

    if details.is_empty() {
        // Every value equals the current one: nothing to write, nothing to record.
        return finish(state, caller, txn, id).await;
    }
    active.updated_at = Set(db::now());
    let updated = active.update(&txn).await?;
    let fields: Vec<String> = details.keys().cloned().collect();
    record(
        &txn,
        caller,
        &updated,
        actions::CONNECTION_UPDATED,
        json!({"fields": fields, "changes": details}),
    )
    .await?;
    finish(state, caller, txn, id).await
}

/// The id of the tenant's group named `name`, creating it when there is none. Concurrent
/// requests creating the same name meet at the `(tenant_id, name)` unique key.
async fn group_by_name(
    txn: &DatabaseTransaction,
    tenant_id: &str,
    name: &str,
) -> Result<String, ApiError> {
    let find = || {
        connection_groups::Entity::find()
            .filter(connection_groups::Column::TenantId.eq(tenant_id))
            .filter(connection_groups::Column::Name.eq(name))
    };
    if let Some(g) = find().one(txn).await? {
        return Ok(g.id);
    }
    connection_groups::Entity::insert(connection_groups::ActiveModel {
        id: Set(db::new_id()),
        tenant_id: Set(tenant_id.to_owned()),
        name: Set(name.to_owned()),
        created_at: Set(db::now()),
    })
    .on_conflict(
        OnConflict::columns([
            connection_groups::Column::TenantId,
            connection_groups::Column::Name,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    find()
        .one(txn)
        .await?
        .map(|g| g.id)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("group `{name}` vanished")))
}

// ---------------------------------------------------------------------------------------
// Pay and cancel.

/// The new `paid_through`: `months` calendar months on from the later of `today` and the
/// current `paid_through` (a month on from 31 January is the last day of February).
pub fn next_paid_through(
    today: NaiveDate,
    current: Option<NaiveDate>,
    months: u32,
) -> Option<NaiveDate> {
    let from = current.map_or(today, |c| c.max(today));
    from.checked_add_months(Months::new(months))
}

/// `POST /api/v1/connections/{id}/pay`: records the payment, moves `paid_through` and
/// re-activates a cancelled connection. "Today" is the UTC date.
pub async fn pay(
    state: &AppState,
    caller: &Caller,
    id: &str,
    input: PaymentInput,
) -> Result<Connection, ApiError> {
    let txn = state.db.begin().await?;
    let (model, kind, roles) = load(&txn, caller, id).await?;
    authorize(kind, &roles, &[ConnectionAction::Pay])?;
    let mut errors = FieldErrors::new();
    if !(1..=MAX_PAYMENT_MONTHS).contains(&input.months) {
        errors.add("months", format!("must be 1 to {MAX_PAYMENT_MONTHS}"));
    }
    if input.amount_cents < 0 {
        errors.add("amount_cents", "must be at least 0");
    }
    errors.check::<CurrencyCode>("currency", &input.currency);
    ApiError::refuse_fields(errors, "The payment is not valid.")?;

    let now = db::now();
    let before = model.paid_through;
    let after = next_paid_through(now.date_naive(), before, input.months)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("paid_through overflow")))?;
    let months = i32::try_from(input.months).unwrap_or(i32::MAX);
    let payment_id = db::new_id();
    payments::Entity::insert(payments::ActiveModel {
        id: Set(payment_id.clone()),
        tenant_id: Set(caller.tenant_id.clone()),
        connection_id: Set(model.id.clone()),
        amount_cents: Set(input.amount_cents),
        currency: Set(input.currency.clone()),
        months: Set(months),
        paid_through_before: Set(before),
        paid_through_after: Set(after),
        paid_by: Set(caller.user.id.clone()),
        paid_at: Set(now),
        provider_reference: Set(None),
    })
    .exec_without_returning(&txn)
    .await?;
    let was_cancelled = model.status == ConnectionStatus::Cancelled.wire_name();
    let mut active: conn::ActiveModel = model.clone().into();
    active.paid_through = Set(Some(after));
    active.status = Set(ConnectionStatus::Active.wire_name().to_owned());
    active.cancelled_at = Set(None);
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    record(
        &txn,
        caller,
        &updated,
        actions::CONNECTION_PAID,
        json!({
                "payment_id": payment_id,
                "months": input.months,
                "amount_cents": input.amount_cents,
                "currency": input.currency,
                "paid_through": {"before": before, "after": after},
                "reactivated": was_cancelled,
        }),
    )
    .await?;
    finish(state, caller, txn, id).await
}

/// `POST /api/v1/connections/{id}/cancel`.
pub async fn cancel(state: &AppState, caller: &Caller, id: &str) -> Result<Connection, ApiError> {
    let txn = state.db.begin().await?;
    let (model, kind, roles) = load(&txn, caller, id).await?;
    authorize(kind, &roles, &[ConnectionAction::Cancel])?;
    refuse_if_cancelled(&model)?;
    let now = db::now();
    let mut active: conn::ActiveModel = model.clone().into();
    active.status = Set(ConnectionStatus::Cancelled.wire_name().to_owned());
    active.cancelled_at = Set(Some(now));
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    record(
        &txn,
        caller,
        &updated,
        actions::CONNECTION_CANCELLED,
        json!({
            "status": {"before": "active", "after": "cancelled"},
            "paid_through": model.paid_through,
        }),
    )
    .await?;
    finish(state, caller, txn, id).await
}

// ---------------------------------------------------------------------------------------
// Endpoints.

/// Parses a `{side}` path segment; anything else names nothing (404).
pub fn parse_side(side: &str) -> Result<EndpointSide, ApiError> {
    match side {
        "source" => Ok(EndpointSide::Source),
        "target" => Ok(EndpointSide::Target),
        _ => Err(ApiError::not_found()),
    }
}

/// `POST /api/v1/connections/{id}/endpoints/{side}/disconnect` (`to = Disconnected`, no
/// label) or `/reconnect` (`to = Connected`, optional new account label).
pub async fn set_endpoint(
    state: &AppState,
    caller: &Caller,
    id: &str,
    side: EndpointSide,
    to: EndpointStatus,
    account_label: Option<String>,
) -> Result<Connection, ApiError> {
    let txn = state.db.begin().await?;
    let (model, kind, roles) = load(&txn, caller, id).await?;
    let (action, code) = match to {
        EndpointStatus::Disconnected => (
            ConnectionAction::DisconnectEndpoint,
            actions::CONNECTION_ENDPOINT_DISCONNECTED,
        ),
        EndpointStatus::Connected => (
            ConnectionAction::ReconnectEndpoint,
            actions::CONNECTION_ENDPOINT_RECONNECTED,
        ),
    };
    authorize(kind, &roles, &[action])?;
    refuse_if_cancelled(&model)?;
    let mut errors = FieldErrors::new();
    let account_label = account_label
        .as_deref()
        .and_then(|l| errors.check::<Name>("account_label", l))
        .map(String::from);
    ApiError::refuse_fields(errors, "The endpoint is not valid.")?;

    let endpoint =
        connection_endpoints::Entity::find_by_id((model.id.clone(), side.wire_name().to_owned()))
            .one(&txn)
            .await?
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("connection {id} lacks an endpoint"))
            })?;
    let label_changes = account_label
        .as_ref()
        .is_some_and(|l| endpoint.account_label.as_ref() != Some(l));
    if endpoint.status == to.wire_name() && !label_changes {
        // Already so: nothing to write, nothing to record.
        return finish(state, caller, txn, id).await;
    }
    let now = db::now();
    let before_status = endpoint.status.clone();
    let before_label = endpoint.account_label.clone();
    let mut active: connection_endpoints::ActiveModel = endpoint.into();
    active.status = Set(to.wire_name().to_owned());
    active.changed_at = Set(now);
    active.changed_by = Set(Some(caller.user.id.clone()));
    if let Some(l) = &account_label {
        active.account_label = Set(Some(l.clone()));
    }
    active.update(&txn).await?;
    let mut details = json!({
        "side": side.wire_name(),
        "status": {"before": before_status, "after": to.wire_name()},
    });
    if label_changes {
        details["account_label"] = json!({"before": before_label, "after": account_label});
    }
    record(&txn, caller, &model, code, details).await?;
    finish(state, caller, txn, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paid_through_moves_by_calendar_months_from_the_later_date() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            next_paid_through(d(2026, 1, 31), None, 1),
            Some(d(2026, 2, 28))
        );
        assert_eq!(
            next_paid_through(d(2026, 1, 10), Some(d(2026, 3, 5)), 2),
            Some(d(2026, 5, 5))
        );
        assert_eq!(
            next_paid_through(d(2026, 6, 1), Some(d(2026, 3, 5)), 12),
            Some(d(2027, 6, 1))
        );
    }

    #[test]
    fn null_and_absent_differ_in_a_patch() {
        let p: ConnectionPatch = serde_json::from_str(r#"{"group": null}"#).unwrap();
        assert_eq!(p.group, Some(None));
        let p: ConnectionPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(p.group, None);
        assert!(serde_json::from_str::<ConnectionPatch>(r#"{"owner": "x"}"#).is_err());
    }
}
