use hubkeep_shared::ids::{ConnectionId, UserId, ViewId};
use sea_orm::entity::prelude::*;

/// A named view of a connection with a JSON definition (SPEC S4; kinds with views).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connection_views")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ViewId,
    pub tenant_id: String,
    pub connection_id: ConnectionId,
    pub name: String,
    /// A JSON object, as text.
    pub definition: String,
    pub created_by: UserId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
