use hubkeep_shared::ids::UserId;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    pub default_timezone: String,
    pub invitation_expiry_days: i32,
    pub session_lifetime_hours: i32,
    pub updated_at: DateTimeUtc,
    pub updated_by: Option<UserId>,
    /// The display name of the tenant's emails' `From` (SPEC S15); `None`: the operator's.
    pub email_sender_name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
