//! Per-tenant PSA providers and the security-level cache (SPEC S3.1).

use hubkeep_shared::api::PsaProvider;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};

use sea_orm::sea_query::OnConflict;

use super::autotask::{AutotaskClient, AutotaskConfig, http_client};
use super::budget::{Gate, PsaMetrics};
use super::directory::DirectoryPsa;
use super::zone::ZonePolicy;
use super::{Priority, PsaDirectory, PsaError, PsaSecurityLevel, PsaTestReport, PsaTestStep};
use crate::config::PsaSettings;
use crate::db::{self, Keyring, SecretText, entities::psa_settings, entities::security_levels};
use crate::error::ApiError;

/// Builds each tenant's provider once and keeps it until the tenant's PSA settings change;
/// keeps each tenant's call [`Gate`] for the life of the process.
pub struct PsaRegistry {
    settings: PsaSettings,
    zones: ZonePolicy,
    db: Option<DatabaseConnection>,
    /// Opens the stored Autotask credentials.
    secrets: Arc<Keyring>,
    metrics: PsaMetrics,
    http: reqwest::Client,
    providers: RwLock<HashMap<String, Cached>>,
    gates: RwLock<HashMap<String, Arc<Gate>>>,
}

/// What a cached provider was built from: the settings row and, for a directory file, its
/// modification time, so an edited file takes effect without a restart.
type Version = (DateTime<Utc>, Option<std::time::SystemTime>);
type Cached = (Version, Provider);

/// A built provider; an Autotask one is handed out at the priority of each caller.
#[derive(Debug, Clone)]
enum Provider {
    Directory(Arc<DirectoryPsa>),
    Autotask(Arc<AutotaskClient>),
}

fn version_of(settings: &psa_settings::Model) -> Version {
    let modified = match (settings.provider, &settings.directory_path) {
        (PsaProvider::Directory, Some(path)) => {
            std::fs::metadata(path).and_then(|m| m.modified()).ok()
        }
        _ => None,
    };
    (settings.updated_at, modified)
}

impl std::fmt::Debug for PsaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PsaRegistry")
            .field("settings", &self.settings)
            .field("zones", &self.zones)
            .finish_non_exhaustive()
    }
}

impl PsaRegistry {
    /// A registry counting PSA calls in `db` (shared by every instance) and reporting them
    /// through `metrics`. Refuses `[psa] extra_zone_hosts` entries that are not hosts.
    pub fn new(
        settings: PsaSettings,
        db: Option<DatabaseConnection>,
        secrets: Arc<Keyring>,
        metrics: PsaMetrics,
    ) -> Result<Self, PsaError> {
        let zones = ZonePolicy::new(&settings.extra_zone_hosts).map_err(PsaError::Config)?;
        Ok(Self {
            settings,
            zones,
            db,
            secrets,
            metrics,
            http: http_client()?,
            providers: RwLock::new(HashMap::new()),
            gates: RwLock::new(HashMap::new()),
        })
    }

    /// Where Autotask credentials may go, as configured.
    pub fn zones(&self) -> &ZonePolicy {
        &self.zones
    }

    /// The provider described by a tenant's PSA settings, calling at `priority`.
    pub fn provider(
        &self,
        settings: &psa_settings::Model,
        priority: Priority,
    ) -> Result<Arc<dyn PsaDirectory>, PsaError> {
        Ok(match self.built(settings)? {
            Provider::Directory(directory) => directory,
            Provider::Autotask(client) => Arc::new(client.as_priority(priority)),
        })
    }

    /// The tenant's Autotask client at `priority`; `None` for the directory provider (for
    /// what only Autotask has, such as webhooks).
    pub fn autotask(
        &self,
        settings: &psa_settings::Model,
        priority: Priority,
    ) -> Result<Option<super::autotask::AutotaskPsa>, PsaError> {
        Ok(match self.built(settings)? {
            Provider::Autotask(client) => Some(client.as_priority(priority)),
            Provider::Directory(_) => None,
        })
    }

    /// The tenant's built provider: from the cache while its settings (and directory file)
    /// are unchanged, else built now and cached.
    fn built(&self, settings: &psa_settings::Model) -> Result<Provider, PsaError> {
        let wanted = version_of(settings);
        let cached = self.providers.read().ok().and_then(|cache| {
            cache
                .get(&settings.tenant_id)
                .filter(|(version, _)| *version == wanted)
                .map(|(_, provider)| provider.clone())
        });
        if let Some(provider) = cached {
            return Ok(provider);
        }
        let provider = self.build(settings)?;
        if let Ok(mut cache) = self.providers.write() {
            cache.insert(settings.tenant_id.clone(), (wanted, provider.clone()));
        }
        Ok(provider)
    }

    fn gate(&self, tenant_id: &str) -> Arc<Gate> {
        if let Ok(gates) = self.gates.read()
            && let Some(gate) = gates.get(tenant_id)
        {
            return Arc::clone(gate);
        }
        let mut gates = self
            .gates
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(gates.entry(tenant_id.to_owned()).or_insert_with(|| {
            Arc::new(Gate::new(
                tenant_id,
                self.settings.hourly_budget,
                self.db.clone(),
                self.metrics.clone(),
            ))
        }))
    }

    fn build(&self, settings: &psa_settings::Model) -> Result<Provider, PsaError> {
        match settings.provider {
            PsaProvider::Directory => Ok(Provider::Directory(Arc::new(
                match &settings.directory_path {
                    Some(path) => DirectoryPsa::load(std::path::Path::new(path))?,
                    None => DirectoryPsa::demo()?,
                },
            ))),
            PsaProvider::Autotask => {
                let missing = || PsaError::Config("Autotask credentials are incomplete".into());
                // A key the server lacks is the operator's to fix, like any other setting.
                let (code, secret) = self.secrets.autotask_credentials(settings).map_err(|e| {
                    PsaError::Config(format!("the stored Autotask credentials: {e}"))
                })?;
                let mut config = AutotaskConfig::new(
                    settings.autotask_api_user.clone().ok_or_else(missing)?,
                    code.as_ref()
                        .map(SecretText::expose_secret)
                        .ok_or_else(missing)?,
                    secret
                        .as_ref()
                        .map(SecretText::expose_secret)
                        .ok_or_else(missing)?,
                );
                config.discovery_url = self.settings.autotask_discovery_url.clone();
                config.zone_url = settings.autotask_zone_url.clone();
                config.timeout = Duration::from_millis(self.settings.timeout_ms);
                config.max_attempts = self.settings.max_attempts.max(1);
                config.max_backoff = Duration::from_millis(self.settings.max_backoff_ms);
                config.zones = self.zones.clone();
                Ok(Provider::Autotask(Arc::new(AutotaskClient::new(
                    config,
                    self.http.clone(),
                    self.gate(&settings.tenant_id),
                ))))
            }
        }
    }

    /// The tenant's security levels: from the cache while it is fresh, else from the PSA
    /// as background work (and the cache is refreshed).
    pub async fn levels(
        &self,
        db: &DatabaseConnection,
        settings: &psa_settings::Model,
    ) -> Result<Vec<security_levels::Model>, LevelsError> {
        let fresh_until = settings.levels_fetched_at.map(|at| {
            at + chrono::Duration::seconds(
                i64::try_from(self.settings.level_cache_secs).unwrap_or(i64::MAX / 4),
            )
        });
        if fresh_until.is_some_and(|until| until > db::now()) {
            return Ok(cached_levels(db, &settings.tenant_id).await?);
        }
        self.fresh_levels(db, settings, Priority::Background).await
    }

    /// [`PsaRegistry::fresh_levels`] by level id, as background work: what the Users tab's
    /// refresh, reconciliation and callouts compare users with.
    pub async fn levels_by_id(
        &self,
        db: &DatabaseConnection,
        settings: &psa_settings::Model,
    ) -> Result<HashMap<i64, security_levels::Model>, LevelsError> {
        Ok(self
            .fresh_levels(db, settings, Priority::Background)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect())
    }

    /// Levels straight from the PSA, written to the cache. Sign-in and refresh use this: a
    /// stale cache must never grant what the PSA has withdrawn.
    pub async fn fresh_levels(
        &self,
        db: &DatabaseConnection,
        settings: &psa_settings::Model,
        priority: Priority,
    ) -> Result<Vec<security_levels::Model>, LevelsError> {
        let levels = self.provider(settings, priority)?.security_levels().await?;
        Ok(store_levels(db, &settings.tenant_id, &levels).await?)
    }
}

/// Reading levels failed: the PSA, or the database.
#[derive(Debug, thiserror::Error)]
pub enum LevelsError {
    #[error(transparent)]
    Psa(#[from] PsaError),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// The tenant's PSA settings row (every tenant has one from provisioning on).
pub async fn settings_of(
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<psa_settings::Model, crate::error::ApiError> {
    psa_settings::Entity::find_by_id(tenant_id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| {
            crate::error::ApiError::Internal(anyhow::anyhow!("tenant has no PSA settings"))
        })
}

pub async fn cached_levels(
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<Vec<security_levels::Model>, sea_orm::DbErr> {
    security_levels::Entity::find()
        .filter(security_levels::Column::TenantId.eq(tenant_id))
        .all(db)
        .await
}

/// The levels whose facts or name changed, that appeared, or that vanished.
fn changed_levels(before: &[security_levels::Model], after: &[security_levels::Model]) -> Vec<i64> {
    let mut changed: Vec<i64> = after
        .iter()
        .filter(|new| {
            !before
                .iter()
                .any(|old| old.id == new.id && old.facts() == new.facts() && old.name == new.name)
        })
        .map(|m| m.id)
        .collect();
    changed.extend(
        before
            .iter()
            .filter(|old| !after.iter().any(|new| new.id == old.id))
            .map(|old| old.id),
    );
    changed
}

/// Replaces the tenant's cached levels with what the PSA said, in one transaction.
async fn store_levels(
    db: &DatabaseConnection,
    tenant_id: &str,
    levels: &[PsaSecurityLevel],
) -> Result<Vec<security_levels::Model>, sea_orm::DbErr> {
    let now = db::now();
    let models: Vec<security_levels::Model> = levels
        .iter()
        .map(|l| security_levels::Model {
            tenant_id: tenant_id.to_owned(),
            id: l.id,
            name: l.name.clone(),
            is_active: l.is_active,
            hub_menu: l.hub_menu,
            qbo_extension_admin: l.qbo_extension_admin,
            other_extensions_admin: l.other_extensions_admin,
            resource_impersonation: l.resource_impersonation,
            fetched_at: now,
        })
        .collect();
    // Upsert then delete what the PSA no longer lists: concurrent sign-ins of one tenant
    // write the same rows at the same moment, and a delete-then-insert would collide.
    let txn = db.begin().await?;
    // Restamping users is a change of hub access: serialized with the others, in the same
    // lock order (tenant, then users), so concurrent refreshes cannot deadlock.
    db::lock_tenant(&txn, tenant_id).await?;
    let before = cached_levels(&txn, tenant_id).await?;
    for chunk in models.chunks(200) {
        security_levels::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(security_levels::ActiveModel::from),
        )
        .on_conflict(
            OnConflict::columns([
                security_levels::Column::TenantId,
                security_levels::Column::Id,
            ])
            .update_columns([
                security_levels::Column::Name,
                security_levels::Column::IsActive,
                security_levels::Column::HubMenu,
                security_levels::Column::QboExtensionAdmin,
                security_levels::Column::OtherExtensionsAdmin,
                security_levels::Column::ResourceImpersonation,
                security_levels::Column::FetchedAt,
            ])
            .to_owned(),
        )
        .exec(&txn)
        .await?;
    }
    let listed: Vec<i64> = models.iter().map(|m| m.id).collect();
    security_levels::Entity::delete_many()
        .filter(security_levels::Column::TenantId.eq(tenant_id))
        .filter(security_levels::Column::Id.is_not_in(listed))
        .exec(&txn)
        .await?;
    // Users whose level's facts changed, appeared or vanished get their stored access
    // rewritten with it.
    let changed = changed_levels(&before, &models);
    crate::hub_access::restamp_levels(&txn, tenant_id, &changed, true).await?;
    psa_settings::Entity::update_many()
        .col_expr(
            psa_settings::Column::LevelsFetchedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(psa_settings::Column::TenantId.eq(tenant_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(models)
}

/// The connection test of SPEC S11 for a tenant (`POST /api/v1/psa/test`, `hubkeep tenant
/// test-psa`): background calls, so they yield to sign-ins and count against the budget.
/// Settings that cannot even build a provider are the first failed step.
pub async fn test_connection(
    registry: &PsaRegistry,
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: &str,
) -> Result<PsaTestReport, sea_orm::DbErr> {
    use sea_orm::EntityTrait;
    let settings = crate::db::entities::psa_settings::Entity::find_by_id(tenant_id)
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("PSA settings of {tenant_id}")))?;
    Ok(match registry.provider(&settings, Priority::Background) {
        Ok(provider) => provider.test().await,
        Err(e) => super::Report::default().fail(
            if settings.provider == PsaProvider::Directory {
                PsaTestStep::Resources
            } else {
                PsaTestStep::ZoneDiscovery
            },
            &e,
        ),
    })
}

impl From<LevelsError> for ApiError {
    fn from(err: LevelsError) -> Self {
        match err {
            LevelsError::Psa(e) => e.into(),
            LevelsError::Db(e) => e.into(),
        }
    }
}
