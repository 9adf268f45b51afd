use hubkeep_shared::ConnectionRole;
use hubkeep_shared::ids::{ConnectionId, UserId};
use sea_orm::entity::prelude::*;

/// One role a user holds on one connection (SPEC S5). A user may hold several rows per
/// connection; `ux_role_assignments_owner` allows one `owner` row per connection.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub connection_id: ConnectionId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: ConnectionRole,
    pub tenant_id: String,
    pub granted_by: Option<UserId>,
    pub granted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
