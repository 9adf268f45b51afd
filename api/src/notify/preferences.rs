//! Which categories of email a person receives (SPEC S15): `GET|PATCH /api/v1/me/preferences`.
//! No row means on; a row stores the person's choice.

use hubkeep_shared::api::{NotificationPreferences, NotificationPreferencesPatch};
use hubkeep_shared::ids::UserId;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter,
};
use serde_json::{Map, json};

use crate::activity::{self, Target, actions};
use crate::db::entities::notification_preferences as prefs;
use crate::error::ApiError;
use crate::identity::Caller;

/// A person's preferences.
pub async fn of(
    db: &impl ConnectionTrait,
    user_id: &UserId,
) -> Result<NotificationPreferences, DbErr> {
    let mut out = NotificationPreferences::default();
    for row in prefs::Entity::find()
        .filter(prefs::Column::UserId.eq(user_id))
        .all(db)
        .await?
    {
        out.set(row.category, row.enabled);
    }
    Ok(out)
}

/// Applies `patch` to the caller's preferences, with one `user.preferences_updated` entry
/// naming what changed (none when nothing did); answers the preferences after it.
pub async fn update(
    txn: &DatabaseTransaction,
    caller: &Caller,
    patch: &NotificationPreferencesPatch,
) -> Result<NotificationPreferences, ApiError> {
    let changes = patch.changes();
    if changes.is_empty() {
        return Err(ApiError::validation(
            "Nothing to change: send at least one category with true or false.",
            Vec::new(),
        ));
    }
    let before = of(txn, &caller.user.id).await?;
    let mut after = before;
    let mut details = Map::new();
    for (category, on) in changes {
        if before.allows(category) == on {
            continue;
        }
        after.set(category, on);
        details.insert(
            category.as_str().to_owned(),
            json!({"before": before.allows(category), "after": on}),
        );
        prefs::Entity::insert(prefs::ActiveModel {
            user_id: Set(caller.user.id.clone()),
            category: Set(category),
            enabled: Set(on),
        })
        .on_conflict(
            OnConflict::columns([prefs::Column::UserId, prefs::Column::Category])
                .update_column(prefs::Column::Enabled)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    }
    if !details.is_empty() {
        activity::record_by(
            txn,
            caller,
            actions::USER_PREFERENCES_UPDATED,
            Target::new("user", &caller.user.id, &caller.user.display_name),
            None,
            serde_json::Value::Object(details),
        )
        .await?;
    }
    Ok(after)
}
