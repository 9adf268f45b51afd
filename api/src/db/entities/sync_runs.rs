use hubkeep_shared::api::RunOrigin;
use hubkeep_shared::api::RunStatus;
use hubkeep_shared::ids::{ConnectionId, RunId, UserId};
use sea_orm::entity::prelude::*;

/// One sync run of a connection (SPEC S4): requested manually or by the schedule, executed
/// and reported by the sync engine.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: RunId,
    pub tenant_id: String,
    pub connection_id: ConnectionId,
    pub origin: RunOrigin,
    pub status: RunStatus,
    /// A JSON array of entity names.
    pub entities: String,
    pub requested_by: Option<UserId>,
    pub requested_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub records_processed: Option<i64>,
    pub error: Option<String>,
    /// A JSON object the engine reported, if any.
    pub details: Option<String>,
    pub hidden: bool,
    pub hidden_by: Option<UserId>,
    pub hidden_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
