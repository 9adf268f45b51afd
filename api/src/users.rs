//! Hub users as the API shows them, and their access level (SPEC S2) from current data.

use chrono::{DateTime, Utc};
use hubkeep_shared::{
    AccessDecision, AccessInputs, AccessSource, Elevation, HubAccess, LevelFacts, access_decision,
};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::entities::{elevated_levels, security_levels, users};

/// A security level as shown next to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SecurityLevelRef {
    /// The PSA's security level id.
    pub id: i64,
    pub name: String,
}

/// A hub user (SPEC S8.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub display_name: String,
    pub email: String,
    /// The PSA resource this user is.
    pub psa_resource_id: i64,
    /// The tenant's first user; never edited by hand.
    pub is_primary: bool,
    /// The hub-level switch (Users tab).
    pub active: bool,
    pub elevation: Elevation,
    /// Computed now from the user, the PSA snapshot and the Access tab.
    pub access_level: HubAccess,
    /// Why `access_level` is what it is.
    pub access_source: AccessSource,
    pub security_level: SecurityLevelRef,
    pub first_sign_in_at: DateTime<Utc>,
    pub last_accessed_at: DateTime<Utc>,
}

impl User {
    pub fn new(model: &users::Model, decision: AccessDecision) -> Self {
        Self {
            id: model.id.clone(),
            display_name: model.display_name.clone(),
            email: model.email.clone(),
            psa_resource_id: model.psa_resource_id,
            is_primary: model.is_primary,
            active: model.active,
            elevation: elevation_of(model),
            access_level: decision.level,
            access_source: decision.source,
            security_level: SecurityLevelRef {
                id: model.security_level_id,
                name: model.security_level_name.clone(),
            },
            first_sign_in_at: model.first_sign_in_at,
            last_accessed_at: model.last_accessed_at,
        }
    }
}

/// The stored elevation; anything unreadable counts as `inherit` (the schema's CHECK makes
/// that impossible, but a default that grants nothing is the safe reading).
pub fn elevation_of(model: &users::Model) -> Elevation {
    model.elevation.parse().unwrap_or_default()
}

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
        elevation: elevation_of(model),
        level_in_elevated_set,
    })
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

/// The API view of a user, with their access computed now.
pub async fn view(db: &impl ConnectionTrait, model: &users::Model) -> Result<User, DbErr> {
    Ok(User::new(model, access_of(db, model).await?))
}
