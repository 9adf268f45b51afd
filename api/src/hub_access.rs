//! A user's hub access (SPEC S2) from current data: the decision the shared matrix computes
//! from their security level's facts, the Access-tab set and their elevation, and its stored
//! (sortable) copy on the user's row, rewritten whenever an input changes.

use hubkeep_shared::{AccessDecision, AccessInputs, HubAccess, LevelFacts, access_decision};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use crate::db::entities::{elevated_levels, security_levels, users};

/// S2 for a user, given their level's facts (absent when the PSA no longer lists the level)
/// and whether the level is in the Access-tab set.
pub fn decide(
    model: &users::Model,
    level: Option<LevelFacts>,
    level_in_elevated_set: bool,
) -> AccessDecision {
    access_decision(&AccessInputs {
        user_active: model.active,
        resource_active: model.resource_active,
        level: level.unwrap_or_default(),
        is_primary: model.is_primary,
        elevation: model.elevation,
        level_in_elevated_set,
    })
}

/// The sortable rank of an access level.
pub const fn access_rank(level: HubAccess) -> i32 {
    match level {
        HubAccess::None => 0,
        HubAccess::Limited => 1,
        HubAccess::Elevated => 2,
    }
}

/// The stored (sortable) access level of a user.
pub const fn stored_access(model: &users::Model) -> HubAccess {
    match model.access_rank {
        2 => HubAccess::Elevated,
        1 => HubAccess::Limited,
        _ => HubAccess::None,
    }
}

/// Writes a decision into the stored (sortable) columns of a user.
pub fn stamp(model: &mut users::Model, decision: AccessDecision) {
    model.access_rank = access_rank(decision.level);
    model.access_source = decision.source;
}

/// Recomputes the stored access of every user of the tenant on these security levels (after
/// the levels' facts or the Access-tab set changed), in the caller's transaction.
pub async fn restamp_levels(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    level_ids: &[i64],
) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    if level_ids.is_empty() {
        return Ok(0);
    }
    let affected = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::SecurityLevelId.is_in(level_ids.iter().copied()))
        .all(db)
        .await?;
    let mut changed = 0;
    for user in affected {
        let decision = access_of(db, &user).await?;
        let rank = access_rank(decision.level);
        let source = decision.source;
        if user.access_rank != rank || user.access_source != source {
            users::Entity::update_many()
                .col_expr(
                    users::Column::AccessRank,
                    sea_orm::sea_query::Expr::value(rank),
                )
                .col_expr(
                    users::Column::AccessSource,
                    sea_orm::sea_query::Expr::value(source),
                )
                .filter(users::Column::Id.eq(&user.id))
                .exec(db)
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// S2 from current data: two primary-key lookups.
pub async fn access_of(
    db: &impl ConnectionTrait,
    model: &users::Model,
) -> Result<AccessDecision, DbErr> {
    let level =
        security_levels::Entity::find_by_id((model.tenant_id.clone(), model.security_level_id))
            .one(db)
            .await?
            .map(|l| l.facts());
    let in_set =
        elevated_levels::Entity::find_by_id((model.tenant_id.clone(), model.security_level_id))
            .one(db)
            .await?
            .is_some();
    Ok(decide(model, level, in_set))
}
