use hubkeep_shared::ids::{ConnectionId, UserId};
use sea_orm::entity::prelude::*;

/// One payment for a connection's subscription (SPEC S4): how many months it bought and how
/// it moved `paid_through`. The payment provider itself is outside this project.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub connection_id: ConnectionId,
    pub amount_cents: i64,
    pub currency: String,
    pub months: i32,
    pub paid_through_before: Option<Date>,
    pub paid_through_after: Date,
    pub paid_by: UserId,
    pub paid_at: DateTimeUtc,
    pub provider_reference: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
