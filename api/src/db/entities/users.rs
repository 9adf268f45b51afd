use hubkeep_shared::AccessSource;
use hubkeep_shared::Elevation;
use hubkeep_shared::ids::UserId;
use sea_orm::entity::prelude::*;

/// A hub user: the hub's record of a PSA resource, created at its first sign-in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: UserId,
    pub tenant_id: String,
    pub psa_resource_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub display_name: String,
    pub email: String,
    /// `email` trimmed and lower-cased: what invitations by email match on.
    pub email_key: String,
    pub user_name: String,
    pub resource_active: bool,
    pub security_level_id: i64,
    pub security_level_name: String,
    pub active: bool,
    pub elevation: Elevation,
    pub is_primary: bool,
    /// The S2 outcome as of the last change to its inputs: 0 none, 1 limited, 2 elevated.
    /// For sorting and filtering only; authorization recomputes.
    pub access_rank: i32,
    pub access_source: AccessSource,
    /// `display_name` lower-cased: the name sort key.
    pub name_key: String,
    pub first_sign_in_at: DateTimeUtc,
    pub last_accessed_at: DateTimeUtc,
    pub snapshot_refreshed_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
