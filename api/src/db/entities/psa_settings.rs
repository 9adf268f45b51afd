use hubkeep_shared::api::PsaProvider;
use sea_orm::entity::prelude::*;

use crate::db::sealed::Sealed;

/// How a tenant reaches its PSA, and the launch secret its launcher signs with. Every
/// `*_secret`/`integration_code` column is write-only: no response ever carries it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "psa_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    pub provider: PsaProvider,
    pub directory_path: Option<String>,
    pub autotask_zone_url: Option<String>,
    pub autotask_api_user: Option<String>,
    pub autotask_integration_code: Option<Sealed>,
    pub autotask_secret: Option<Sealed>,
    pub launch_secret: Sealed,
    pub launch_secret_rotated_at: DateTimeUtc,
    pub levels_fetched_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
