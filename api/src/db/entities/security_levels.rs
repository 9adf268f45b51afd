use hubkeep_shared::LevelFacts;
use sea_orm::entity::prelude::*;

/// The short-lived cache of the PSA's security levels (SPEC S3.1). Rows outlive the cache
/// lifetime: the lifetime only says when to ask the PSA again.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "security_levels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub name: String,
    pub is_active: bool,
    pub hub_menu: bool,
    pub qbo_extension_admin: bool,
    pub other_extensions_admin: bool,
    pub resource_impersonation: bool,
    pub fetched_at: DateTimeUtc,
}

impl Model {
    pub const fn facts(&self) -> LevelFacts {
        LevelFacts {
            is_active: self.is_active,
            hub_menu: self.hub_menu,
            qbo_extension_admin: self.qbo_extension_admin,
            other_extensions_admin: self.other_extensions_admin,
            resource_impersonation: self.resource_impersonation,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
