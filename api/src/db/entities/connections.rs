use hubkeep_shared::ConnectionKind;
use hubkeep_shared::ConnectionRole;
use hubkeep_shared::api::ConnectionStatus;
use hubkeep_shared::ids::{ConnectionId, UserId};
use sea_orm::entity::prelude::*;

use crate::db::sealed::Sealed;

/// A connection between two systems (SPEC S4). `owner_user_id`/`owner_role` mirror the owner's
/// role assignment through a deferred foreign key, so the schema holds exactly one owner.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ConnectionId,
    pub tenant_id: String,
    pub name: String,
    pub kind: ConnectionKind,
    pub timezone: String,
    pub status: ConnectionStatus,
    pub owner_user_id: UserId,
    pub owner_role: ConnectionRole,
    pub group_id: Option<String>,
    pub paid_through: Option<Date>,
    pub locked_period_export: Option<bool>,
    pub reporting_currency: Option<String>,
    pub forecast_budget_id: Option<String>,
    pub forecast_budget_name: Option<String>,
    /// A connection string: write-only, never sent to a client, sealed at rest (`db::sealed`).
    pub postgres_db: Option<Sealed>,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
