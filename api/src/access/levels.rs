//! The Access tab (SPEC S2, S2.2 G2): the PSA's security levels and the saved set of levels
//! whose users are elevated.

use std::collections::BTreeSet;

use hubkeep_shared::{AccessInputs, FieldError, HubAccess, HubAction, ProblemCode, access_level};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};
use serde_json::json;

use crate::AppState;
use crate::activity::{self, Target, actions};
use crate::db::entities::users;
use crate::db::{
    self,
    entities::{elevated_levels, security_levels},
};
use crate::error::ApiError;
use crate::hub_access::{restamp_levels, stored_access};
use crate::identity::Caller;
use crate::notify::{self, messages::AccessChange};
use crate::psa::registry::settings_of;
pub use hubkeep_shared::api::access::{ElevatedLevels, SecurityLevel, SecurityLevels};

pub async fn saved_set(
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<BTreeSet<i64>, ApiError> {
    Ok(elevated_levels::Entity::find()
        .filter(elevated_levels::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.level_id)
        .collect())
}

/// The PSA's security levels (cached for `psa.level_cache_secs`). Read before any
/// transaction: the PSA may be asked and the cache rewritten (through `state.db`, whose only
/// connection on SQLite a transaction would hold).
pub async fn psa_levels(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<security_levels::Model>, ApiError> {
    let psa = settings_of(&state.db, &caller.tenant_id).await?;
    Ok(state.psa.levels(&state.db, &psa).await?)
}

/// Every level of the PSA (cached for `psa.level_cache_secs`), by name.
pub async fn list_levels(state: &AppState, caller: &Caller) -> Result<SecurityLevels, ApiError> {
    let mut levels = psa_levels(state, caller).await?;
    levels.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    let set = saved_set(&state.db, &caller.tenant_id).await?;
    let items = levels
        .iter()
        .map(|l| {
            let facts = l.facts();
            SecurityLevel {
                id: l.id,
                name: l.name.clone(),
                is_active: l.is_active,
                hub_menu: l.hub_menu,
                qbo_extension_admin: l.qbo_extension_admin,
                other_extensions_admin: l.other_extensions_admin,
                resource_impersonation: l.resource_impersonation,
                eligible_for_access: facts.eligible_for_access(),
                eligible_for_elevation: facts.eligible_for_elevation(),
                missing_for_elevation: facts.missing_for_elevation(),
                elevated: set.contains(&l.id),
            }
        })
        .collect();
    Ok(SecurityLevels { items })
}

/// The active users on `level_ids`.
async fn people_on(
    txn: &DatabaseTransaction,
    tenant_id: &str,
    level_ids: &[i64],
) -> Result<Vec<users::Model>, ApiError> {
    Ok(users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::SecurityLevelId.is_in(level_ids.iter().copied()))
        .filter(users::Column::Active.eq(true))
        .all(txn)
        .await?)
}

/// Tells each person the save elevated or limited (SPEC S15), in the save's transaction:
/// `was` are the people on the changed levels before it.
async fn tell_whose_elevation_changed(
    txn: &DatabaseTransaction,
    caller: &Caller,
    level_ids: &[i64],
    was: Vec<users::Model>,
) -> Result<(), ApiError> {
    let before: std::collections::HashMap<_, _> = was
        .iter()
        .map(|u| (u.id.clone(), stored_access(u)))
        .collect();
    for person in people_on(txn, &caller.tenant_id, level_ids).await? {
        let Some(before) = before.get(&person.id) else {
            continue;
        };
        if let Some(change) = AccessChange::of(*before, stored_access(&person)) {
            notify::enqueue(
                txn,
                &caller.tenant_id,
                notify::messages::access_changed(change, &person, &caller.user.display_name),
            )
            .await?;
        }
    }
    Ok(())
}

/// Replaces the saved set (the Save button), in the handler's transaction. `levels` are the
/// PSA's ([`psa_levels`], read before the transaction began).
pub async fn save_elevated_levels(
    txn: &DatabaseTransaction,
    caller: &Caller,
    levels: &[security_levels::Model],
    input: ElevatedLevels,
) -> Result<ElevatedLevels, ApiError> {
    let wanted = wanted_levels(levels, &input.level_ids)?;

    // Serialized with every other change of hub access; G2 is checked against the caller as
    // they are now, not as they were when the request arrived.
    db::lock_tenant(txn, &caller.tenant_id).await?;
    let caller = &caller.recheck(txn).await?;
    caller.require(HubAction::ManageAccess)?;
    let before = saved_set(txn, &caller.tenant_id).await?;
    check_keeps_own_elevation(caller, levels, &before, &wanted)?;
    if before == wanted {
        return Ok(ElevatedLevels {
            level_ids: wanted.into_iter().collect(),
        });
    }
    replace_saved_set(txn, caller, &wanted).await?;
    let changed: Vec<i64> = before.symmetric_difference(&wanted).copied().collect();
    let was = people_on(txn, &caller.tenant_id, &changed).await?;
    restamp_levels(txn, &caller.tenant_id, &changed, false).await?;
    tell_whose_elevation_changed(txn, caller, &changed, was).await?;
    activity::record_by(
        txn,
        caller,
        actions::ACCESS_ELEVATED_LEVELS_SAVED,
        Target::new("elevated_levels", &caller.tenant_id, "Access tab"),
        None,
        json!({ "before": before, "after": wanted }),
    )
    .await?;
    Ok(ElevatedLevels {
        level_ids: wanted.into_iter().collect(),
    })
}

/// Validates the requested ids against the PSA's levels: the set to save, or a 422 per bad id.
fn wanted_levels(
    levels: &[security_levels::Model],
    level_ids: &[i64],
) -> Result<BTreeSet<i64>, ApiError> {
    let mut wanted = BTreeSet::new();
    let mut errors = Vec::new();
    for (i, id) in level_ids.iter().enumerate() {
        match levels.iter().find(|l| l.id == *id) {
            None => errors.push(FieldError {
                field: format!("level_ids.{i}"),
                message: format!("{id} is not a security level of the PSA"),
            }),
            Some(level) if !level.facts().eligible_for_elevation() => errors.push(FieldError {
                field: format!("level_ids.{i}"),
                message: not_eligible_message(level),
            }),
            Some(_) => {
                wanted.insert(*id);
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Problem {
            code: ProblemCode::LevelNotEligible,
            detail: "Only security levels eligible for elevation can be saved.".into(),
            errors,
        });
    }
    Ok(wanted)
}

/// The 422 message for a level that lacks facts needed for elevation.
fn not_eligible_message(level: &security_levels::Model) -> String {
    format!(
        "{} is not eligible for elevation (missing: {})",
        level.name,
        level
            .facts()
            .missing_for_elevation()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// G2: refuses a set that would take the caller from elevated to anything less.
fn check_keeps_own_elevation(
    caller: &Caller,
    levels: &[security_levels::Model],
    before: &BTreeSet<i64>,
    wanted: &BTreeSet<i64>,
) -> Result<(), ApiError> {
    let me = &caller.user;
    let my_level = levels.iter().find(|l| l.id == me.security_level_id);
    let inputs = |in_set: bool| AccessInputs {
        user_active: me.active,
        resource_active: me.resource_active,
        level: my_level.map(|l| l.facts()).unwrap_or_default(),
        is_primary: me.is_primary,
        elevation: me.elevation,
        level_in_elevated_set: in_set,
    };
    let now_level = access_level(&inputs(before.contains(&me.security_level_id)));
    let after_level = access_level(&inputs(wanted.contains(&me.security_level_id)));
    if now_level == HubAccess::Elevated && after_level != HubAccess::Elevated {
        return Err(ApiError::new(
            ProblemCode::SelfDemotionForbidden,
            "Saving this set would remove your own elevated access; keep your level in it \
             or have another elevated user grant you elevation first.",
        ));
    }
    Ok(())
}

/// Deletes the tenant's saved set and inserts `wanted`, stamped as saved by the caller now.
async fn replace_saved_set(
    txn: &impl ConnectionTrait,
    caller: &Caller,
    wanted: &BTreeSet<i64>,
) -> Result<(), ApiError> {
    elevated_levels::Entity::delete_many()
        .filter(elevated_levels::Column::TenantId.eq(&caller.tenant_id))
        .exec(txn)
        .await?;
    let now = db::now();
    for id in wanted {
        elevated_levels::Entity::insert(elevated_levels::ActiveModel {
            tenant_id: Set(caller.tenant_id.clone()),
            level_id: Set(*id),
            saved_by: Set(Some(caller.user.id.clone())),
            saved_at: Set(now),
        })
        .exec(txn)
        .await?;
    }
    Ok(())
}
