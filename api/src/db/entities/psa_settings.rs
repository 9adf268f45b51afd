use hubkeep_shared::api::PsaProvider;
use sea_orm::entity::prelude::*;

/// How a tenant reaches its PSA, and the launch secret its launcher signs with. Every
/// `*_secret`/`integration_code` column is write-only: no response ever carries it.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "psa_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    pub provider: PsaProvider,
    pub directory_path: Option<String>,
    pub autotask_zone_url: Option<String>,
    pub autotask_api_user: Option<String>,
    pub autotask_integration_code: Option<String>,
    pub autotask_secret: Option<String>,
    pub launch_secret: String,
    pub launch_secret_rotated_at: DateTimeUtc,
    pub levels_fetched_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("psa_settings::Model")
            .field("tenant_id", &self.tenant_id)
            .field("provider", &self.provider)
            .field("directory_path", &self.directory_path)
            .field("autotask_zone_url", &self.autotask_zone_url)
            .field("autotask_api_user", &self.autotask_api_user)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
