//! The reconciliation job's lease and last run, per tenant (SPEC S12).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "psa_feed")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    /// The instance running the job (`AppState::instance_id`), while it does.
    pub lease_holder: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    /// When the next scheduled run may start.
    pub due_at: DateTimeUtc,
    pub last_run_at: Option<DateTimeUtc>,
    pub users_checked: i64,
    pub changes_applied: i64,
    pub last_error_code: Option<String>,
    pub last_error_reason: Option<String>,
    pub last_error_detail: Option<String>,
    pub last_error_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
