use sea_orm::entity::prelude::*;

/// One accounting mapping of a tenant (SPEC S6): a source code and the account it posts to.
/// `position` keeps the order the settings page saved.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounting_mappings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub position: i32,
    pub source_code: String,
    pub account_code: String,
    pub description: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
