//! A connection's settings (SPEC S4, S5, S7): `PATCH /api/v1/connections/{id}`.
//!
//! A patch maps each field to its own action and checks all of them ([`super::guard`] steps
//! 2 and 3): if any one is refused, the whole request is refused and nothing changes (no mass
//! assignment). A field equal to the current value still needs its permission. One
//! `connection.updated` entry lists the fields that changed (the Postgres DB as `***`); a
//! patch whose values equal the current ones answers 200 and writes no entry.

use hubkeep_shared::ConnectionAction;
use hubkeep_shared::ConnectionId;
use hubkeep_shared::fields::{CurrencyCode, FieldErrors, Name, PostgresUrl, TimezoneName};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};
use serde_json::json;

use super::guard;
use crate::activity::{Changes, actions};
use crate::db::{
    self, Keyring, SealError, SecretColumn, SecretText,
    entities::{connection_groups, connections as conn},
};
use crate::error::ApiError;
use crate::identity::Caller;
pub use hubkeep_shared::api::connections::{ConnectionPatch, ForecastBudgetInput};

/// The actions a patch needs, one per field present (`group: null` is `ungroup`).
fn patch_actions(patch: &ConnectionPatch) -> Vec<ConnectionAction> {
    use ConnectionAction as A;
    let mut needed = Vec::new();
    let fields = [
        (patch.name.is_some(), A::Rename),
        (patch.timezone.is_some(), A::ChangeTimezone),
        (
            patch.locked_period_export.is_some(),
            A::ChangeLockedPeriodExport,
        ),
        (
            patch.reporting_currency.is_some(),
            A::ChangeReportingCurrency,
        ),
        (patch.forecast_budget.is_some(), A::ChangeForecastBudget),
        (patch.postgres_db.is_some(), A::ChangePostgresDb),
    ];
    needed.extend(fields.into_iter().filter(|(sent, _)| *sent).map(|(_, a)| a));
    match &patch.group {
        Some(Some(_)) => needed.push(A::Group),
        Some(None) => needed.push(A::Ungroup),
        None => {}
    }
    needed
}

/// A patch whose values passed the field rules. `Some(None)` clears a setting. No `Debug`:
/// it holds the Postgres connection string.
#[derive(Default)]
struct Valid {
    name: Option<String>,
    timezone: Option<String>,
    locked_period_export: Option<bool>,
    reporting_currency: Option<String>,
    forecast_budget: Option<Option<(String, String)>>,
    postgres_db: Option<Option<String>>,
    group: Option<Option<String>>,
}

/// Step 5: every field checked before anything changes; all refusals in one 422.
fn parse(patch: &ConnectionPatch) -> Result<Valid, ApiError> {
    let mut errors = FieldErrors::new();
    let name = optional::<Name>(&mut errors, "name", &patch.name);
    let timezone = optional::<TimezoneName>(&mut errors, "timezone", &patch.timezone);
    let reporting_currency =
        optional::<CurrencyCode>(&mut errors, "reporting_currency", &patch.reporting_currency);
    let forecast_budget = patch.forecast_budget.as_ref().and_then(|b| match b {
        None => Some(None),
        Some(b) => {
            let id = check::<Name>(&mut errors, "forecast_budget.id", &b.id);
            let name = check::<Name>(&mut errors, "forecast_budget.name", &b.name);
            id.zip(name).map(Some)
        }
    });
    let postgres_db = nullable::<PostgresUrl>(&mut errors, "postgres_db", &patch.postgres_db);
    let group = nullable::<Name>(&mut errors, "group", &patch.group);
    ApiError::refuse_fields(errors, "The connection settings are not valid.")?;
    Ok(Valid {
        name,
        timezone,
        locked_period_export: patch.locked_period_export,
        reporting_currency,
        forecast_budget,
        postgres_db,
        group,
    })
}

fn check<R: hubkeep_shared::fields::FieldRule>(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
) -> Option<String>
where
    String: From<R>,
{
    errors.check::<R>(field, value).map(String::from)
}

/// A field that may be left out.
fn optional<R: hubkeep_shared::fields::FieldRule>(
    errors: &mut FieldErrors,
    field: &str,
    value: &Option<String>,
) -> Option<String>
where
    String: From<R>,
{
    value.as_deref().and_then(|v| check::<R>(errors, field, v))
}

/// A field where `null` clears the setting: `Some(None)`.
fn nullable<R: hubkeep_shared::fields::FieldRule>(
    errors: &mut FieldErrors,
    field: &str,
    value: &Option<Option<String>>,
) -> Option<Option<String>>
where
    String: From<R>,
{
    match value {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => check::<R>(errors, field, v).map(Some),
    }
}

/// `PATCH /api/v1/connections/{id}`, in the handler's transaction.
pub async fn update(
    txn: &DatabaseTransaction,
    secrets: &Keyring,
    caller: &Caller,
    id: &ConnectionId,
    patch: &ConnectionPatch,
) -> Result<(), ApiError> {
    let guarded = guard::load(txn, caller, id).await?;
    let needed = patch_actions(patch);
    if needed.is_empty() {
        return Err(ApiError::validation(
            "Nothing to change: send at least one setting.",
            Vec::new(),
        ));
    }
    guarded.authorize(&needed)?;
    guard::refuse_if_cancelled(&guarded.model)?;
    let valid = parse(patch)?;

    let model = &guarded.model;
    let (mut active, mut changes) = apply(model, &valid, secrets)?;
    if let Some(group) = valid.group {
        let before = match &model.group_id {
            Some(gid) => connection_groups::Entity::find_by_id(gid.clone())
                .one(txn)
                .await?
                .map(|g| g.name),
            None => None,
        };
        if changes.note("group", &before, &group) {
            active.group_id = Set(match &group {
                Some(name) => Some(group_by_name(txn, &caller.tenant_id, name).await?),
                None => None,
            });
        }
    }
    if changes.is_empty() {
        // Every value equals the current one: nothing to write, nothing to record.
        return Ok(());
    }
    active.updated_at = Set(db::now());
    let updated = active.update(txn).await?;
    let fields = changes.fields();
    let details = json!({"fields": fields, "changes": changes.into_value()});
    guard::record(txn, caller, &updated, actions::CONNECTION_UPDATED, details).await
}

/// The changed columns and their before/after, for every field but the group.
fn apply(
    model: &conn::Model,
    valid: &Valid,
    secrets: &Keyring,
) -> Result<(conn::ActiveModel, Changes), SealError> {
    let mut changes = Changes::new();
    let mut active: conn::ActiveModel = model.clone().into();
    if let Some(name) = &valid.name
        && changes.note("name", &model.name, name)
    {
        active.name = Set(name.clone());
    }
    if let Some(tz) = &valid.timezone
        && changes.note("timezone", &model.timezone, tz)
    {
        active.timezone = Set(tz.clone());
    }
    if let Some(v) = valid.locked_period_export
        && changes.note("locked_period_export", model.locked_period_export, v)
    {
        active.locked_period_export = Set(Some(v));
    }
    if let Some(c) = &valid.reporting_currency
        && changes.note("reporting_currency", &model.reporting_currency, c)
    {
        active.reporting_currency = Set(Some(c.clone()));
    }
    if let Some(budget) = valid.forecast_budget.clone() {
        let shown = |b: Option<(&String, &Option<String>)>| {
            b.map(|(id, name)| json!({"id": id, "name": name}))
        };
        let before = shown(
            model
                .forecast_budget_id
                .as_ref()
                .map(|id| (id, &model.forecast_budget_name)),
        );
        let after = budget
            .as_ref()
            .map(|(id, name)| json!({"id": id, "name": name}));
        if changes.note("forecast_budget", before, after) {
            let (id, name) = budget.unzip();
            active.forecast_budget_id = Set(id);
            active.forecast_budget_name = Set(name);
        }
    }
    if let Some(url) = valid.postgres_db.clone() {
        let url = url.map(SecretText::new);
        let id = model.id.as_str();
        let current = secrets
            .open_optional(SecretColumn::PostgresDb, id, model.postgres_db.as_ref())?
            .filter(|s| !s.is_empty());
        if changes.note_masked("postgres_db", current.as_ref(), url.as_ref()) {
            active.postgres_db = Set(url.map(|u| secrets.seal(SecretColumn::PostgresDb, id, &u)));
        }
    }
    Ok((active, changes))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_absent_differ_in_a_patch() {
        let p: ConnectionPatch = serde_json::from_str(r#"{"group": null}"#).unwrap();
        assert_eq!(p.group, Some(None));
        let p: ConnectionPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(p.group, None);
        assert!(serde_json::from_str::<ConnectionPatch>(r#"{"owner": "x"}"#).is_err());
    }

    #[test]
    fn each_field_of_a_patch_needs_its_own_action() {
        let p: ConnectionPatch =
            serde_json::from_str(r#"{"name": "A", "group": null, "postgres_db": null}"#).unwrap();
        assert_eq!(
            patch_actions(&p),
            [
                ConnectionAction::Rename,
                ConnectionAction::ChangePostgresDb,
                ConnectionAction::Ungroup
            ]
        );
    }
}
