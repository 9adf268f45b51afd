//! Hub users as the API shows them, and their access level (SPEC S2) from current data.

use hubkeep_shared::AccessDecision;
use sea_orm::{ConnectionTrait, DbErr};

use crate::db::entities::users;
use crate::hub_access::access_of;
pub use hubkeep_shared::api::users::{SecurityLevelRef, User};

/// A hub user as the API shows them, with the S2 decision computed by the caller.
pub fn user_view(model: &users::Model, decision: AccessDecision) -> User {
    User {
        id: model.id.clone(),
        display_name: model.display_name.clone(),
        email: model.email.clone(),
        psa_resource_id: model.psa_resource_id,
        is_primary: model.is_primary,
        active: model.active,
        elevation: model.elevation,
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

/// Copies the PSA's view of a resource onto its hub user (names, email, activity, level).
/// `level_name` is absent when the PSA no longer lists the level.
pub fn apply_snapshot(
    user: &mut users::Model,
    resource: &crate::psa::PsaResource,
    level_name: Option<&str>,
) {
    user.first_name = resource.first_name.clone();
    user.last_name = resource.last_name.clone();
    user.display_name = resource.display_name();
    user.name_key = user.display_name.to_lowercase();
    user.email = resource.email.trim().to_owned();
    user.email_key = crate::db::email_key(&resource.email);
    user.user_name = resource.user_name.clone();
    user.resource_active = resource.is_active;
    user.security_level_id = resource.security_level_id;
    user.security_level_name = level_name.map_or_else(
        || format!("#{}", resource.security_level_id),
        ToOwned::to_owned,
    );
}

/// The API view of a user, with their access computed now.
pub async fn view(db: &impl ConnectionTrait, model: &users::Model) -> Result<User, DbErr> {
    Ok(user_view(model, access_of(db, model).await?))
}
