//! The Autotask callouts a tenant received, by (`guid`, `sequence_number`): a replay finds
//! its row and is not applied again (SPEC S12). Rows older than a day are pruned.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "psa_webhook_callouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub guid: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sequence_number: i64,
    pub resource_id: i64,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
