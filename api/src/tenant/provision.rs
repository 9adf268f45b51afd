//! Tenant provisioning (SPEC S10): the command line and the demo seeding share this code.

use chrono::{DateTime, Utc};
use hubkeep_shared::api::PsaProvider;
use hubkeep_shared::fields::{FieldRule as _, TenantSlug};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::json;

use crate::activity::RequestMeta;
use crate::activity::{self, Actor, Target, actions};
use crate::db::{
    self, Keyring, SecretColumn, SecretText,
    entities::{elevated_levels, psa_settings, tenant_settings, tenants},
};
use crate::identity::secret;

/// How a new tenant reaches its PSA.
#[derive(Clone, PartialEq, Eq)]
pub enum PsaChoice {
    /// A directory file; `None` is the bundled demo directory.
    Directory { path: Option<String> },
    Autotask {
        zone_url: Option<String>,
        api_user: String,
        integration_code: String,
        secret: String,
    },
}

impl std::fmt::Debug for PsaChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Directory { path } => f.debug_struct("Directory").field("path", path).finish(),
            Self::Autotask {
                zone_url, api_user, ..
            } => f
                .debug_struct("Autotask")
                .field("zone_url", zone_url)
                .field("api_user", api_user)
                .finish_non_exhaustive(),
        }
    }
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    /// The launch `iss`; generated when absent.
    pub psa_id: Option<String>,
    /// The sign-in page's name (`/t/{slug}`); derived from the name when absent (numbered
    /// when that one is taken).
    pub slug: Option<String>,
    pub psa: PsaChoice,
    pub is_demo: bool,
    pub session_lifetime_hours: u32,
    /// The Access tab's initial set (the demo tenant starts with its eligible levels).
    pub elevated_levels: Vec<i64>,
}

/// A created tenant and its launch secret, which is shown this once.
#[derive(Clone)]
pub struct Provisioned {
    pub tenant: tenants::Model,
    pub launch_secret: String,
}

impl std::fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioned")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("a tenant with PSA id {0:?} already exists")]
    PsaIdTaken(String),
    #[error("a tenant with slug {0:?} already exists")]
    SlugTaken(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// Creates a tenant with its PSA settings, default tenant settings and a fresh launch
/// secret, and logs `tenant.created`, in one transaction.
pub async fn provision(
    db: &DatabaseConnection,
    secrets: &Keyring,
    new: NewTenant,
) -> Result<Provisioned, TenantError> {
    let (name, psa_id) = name_and_psa_id(&new.name, new.psa_id)?;
    let slug = match new.slug {
        Some(slug) => TenantSlug::parse(slug.trim())
            .map_err(|why| TenantError::Invalid(format!("the slug {why}")))?,
        None => free_slug(db, &TenantSlug::derive(&name)).await?,
    };
    let now = db::now();
    let id = db::new_id();
    let launch_secret = secret::random_secret();
    let psa = PsaColumns::of(new.psa);
    let provider = psa.provider;
    let txn = db.begin().await?;
    let row = TenantRow {
        id: &id,
        name: &name,
        psa_id: &psa_id,
        slug: slug.as_str(),
        is_demo: new.is_demo,
    };
    let tenant = insert_tenant(&txn, row, now).await?;
    insert_psa_settings(&txn, secrets, &id, psa, &launch_secret, now).await?;
    insert_tenant_settings(&txn, &id, new.session_lifetime_hours, now).await?;
    insert_elevated_levels(&txn, &id, &new.elevated_levels, now).await?;
    activity::record(
        &txn,
        activity::Entry {
            tenant_id: &id,
            actor: &Actor::System,
            action: actions::TENANT_CREATED,
            target: Target::new("tenant", &id, &name),
            connection_id: None,
            details: json!({
                "psa_id": psa_id,
                "slug": tenant.slug,
                "provider": provider,
                "demo": new.is_demo,
                "elevated_levels": new.elevated_levels,
            }),
            meta: &RequestMeta::system(),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Provisioned {
        tenant,
        launch_secret,
    })
}

/// Checks a new tenant's name and PSA id (both trimmed), generating the id when absent.
fn name_and_psa_id(name: &str, psa_id: Option<String>) -> Result<(String, String), TenantError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(TenantError::Invalid(
            "the tenant name must be 1 to 200 characters".into(),
        ));
    }
    let psa_id = match psa_id {
        Some(id) if !id.trim().is_empty() => id.trim().to_owned(),
        Some(_) => return Err(TenantError::Invalid("the PSA id must not be blank".into())),
        None => format!("psa-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
    };
    Ok((name, psa_id))
}

/// A PSA choice spread over the `psa_settings` columns.
struct PsaColumns {
    provider: PsaProvider,
    directory_path: Option<String>,
    zone_url: Option<String>,
    api_user: Option<String>,
    integration_code: Option<String>,
    secret: Option<String>,
}

impl PsaColumns {
    /// The columns for `choice`; the other provider's are left empty.
    fn of(choice: PsaChoice) -> Self {
        match choice {
            PsaChoice::Directory { path } => Self {
                provider: PsaProvider::Directory,
                directory_path: path,
                zone_url: None,
                api_user: None,
                integration_code: None,
                secret: None,
            },
            PsaChoice::Autotask {
                zone_url,
                api_user,
                integration_code,
                secret,
            } => Self {
                provider: PsaProvider::Autotask,
                directory_path: None,
                zone_url,
                api_user: Some(api_user),
                integration_code: Some(integration_code),
                secret: Some(secret),
            },
        }
    }
}

/// The columns of a new `tenants` row.
struct TenantRow<'a> {
    id: &'a str,
    name: &'a str,
    psa_id: &'a str,
    slug: &'a str,
    is_demo: bool,
}

/// Inserts the `tenants` row; a taken PSA id is `PsaIdTaken`, a taken slug `SlugTaken`.
async fn insert_tenant(
    txn: &impl ConnectionTrait,
    row: TenantRow<'_>,
    now: DateTime<Utc>,
) -> Result<tenants::Model, TenantError> {
    tenants::ActiveModel {
        id: Set(row.id.to_owned()),
        name: Set(row.name.to_owned()),
        psa_id: Set(row.psa_id.to_owned()),
        slug: Set(row.slug.to_owned()),
        created_at: Set(now),
        is_demo: Set(row.is_demo),
    }
    .insert(txn)
    .await
    .map_err(|e| {
        if db::violates(&e, &[db::Unique::TenantPsaId]) {
            TenantError::PsaIdTaken(row.psa_id.to_owned())
        } else if db::violates(&e, &[db::Unique::TenantSlug]) {
            TenantError::SlugTaken(row.slug.to_owned())
        } else {
            e.into()
        }
    })
}

/// `wanted`, or the first of `wanted-2`, `wanted-3`, … no tenant has. A concurrent
/// creation may still take it first: the insert then answers `SlugTaken`.
async fn free_slug(
    db: &impl ConnectionTrait,
    wanted: &TenantSlug,
) -> Result<TenantSlug, TenantError> {
    let mut candidate = wanted.clone();
    for n in 2..1000 {
        let taken = tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(candidate.as_str()))
            .one(db)
            .await?
            .is_some();
        if !taken {
            return Ok(candidate);
        }
        candidate = wanted.numbered(n);
    }
    Err(TenantError::SlugTaken(wanted.as_str().to_owned()))
}

/// Inserts the `psa_settings` row with the new launch secret.
async fn insert_psa_settings(
    txn: &impl ConnectionTrait,
    secrets: &Keyring,
    id: &str,
    psa: PsaColumns,
    launch_secret: &str,
    now: DateTime<Utc>,
) -> Result<(), TenantError> {
    psa_settings::ActiveModel {
        tenant_id: Set(id.to_owned()),
        provider: Set(psa.provider),
        directory_path: Set(psa.directory_path),
        autotask_zone_url: Set(psa.zone_url),
        autotask_api_user: Set(psa.api_user),
        autotask_integration_code: Set(psa.integration_code.map(|v| {
            secrets.seal(
                SecretColumn::AutotaskIntegrationCode,
                id,
                &SecretText::new(v),
            )
        })),
        autotask_secret: Set(psa
            .secret
            .map(|v| secrets.seal(SecretColumn::AutotaskSecret, id, &SecretText::new(v)))),
        launch_secret: Set(secrets.seal(
            SecretColumn::LaunchSecret,
            id,
            &SecretText::new(launch_secret),
        )),
        launch_secret_rotated_at: Set(now),
        levels_fetched_at: Set(None),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Inserts the default `tenant_settings` row (the session lifetime clamped to 1–168 hours).
async fn insert_tenant_settings(
    txn: &impl ConnectionTrait,
    id: &str,
    session_lifetime_hours: u32,
    now: DateTime<Utc>,
) -> Result<(), TenantError> {
    tenant_settings::ActiveModel {
        tenant_id: Set(id.to_owned()),
        default_timezone: Set("UTC".to_owned()),
        invitation_expiry_days: Set(7),
        session_lifetime_hours: Set(
            i32::try_from(session_lifetime_hours.clamp(1, 168)).unwrap_or(12)
        ),
        updated_at: Set(now),
        updated_by: Set(None),
        email_sender_name: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Inserts the initial Access-tab set of elevated levels.
async fn insert_elevated_levels(
    txn: &impl ConnectionTrait,
    id: &str,
    level_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), TenantError> {
    for level_id in level_ids {
        elevated_levels::ActiveModel {
            tenant_id: Set(id.to_owned()),
            level_id: Set(*level_id),
            saved_by: Set(None),
            saved_at: Set(now),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Replaces a tenant's launch secret as the hub itself (the command line); the new one is
/// returned (shown once).
pub async fn rotate_launch_secret(
    db: &DatabaseConnection,
    secrets: &Keyring,
    tenant_id: &str,
) -> Result<Option<String>, TenantError> {
    let rotated = rotate_launch_secret_as(
        db,
        secrets,
        tenant_id,
        &Actor::System,
        &RequestMeta::system(),
    )
    .await?;
    Ok(rotated.map(|r| r.launch_secret))
}

/// A new launch secret and when it took effect.
#[derive(Clone)]
pub struct RotatedLaunchSecret {
    pub launch_secret: String,
    pub rotated_at: DateTime<Utc>,
}

impl std::fmt::Debug for RotatedLaunchSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatedLaunchSecret")
            .field("rotated_at", &self.rotated_at)
            .finish_non_exhaustive()
    }
}

/// Replaces a tenant's launch secret on behalf of `actor` and logs
/// `tenant.launch_secret_rotated` in the same transaction; `None` when there is no such
/// tenant. The old secret stops verifying launches at once.
pub async fn rotate_launch_secret_as(
    db: &DatabaseConnection,
    secrets: &Keyring,
    tenant_id: &str,
    actor: &Actor,
    meta: &RequestMeta,
) -> Result<Option<RotatedLaunchSecret>, TenantError> {
    let txn = db.begin().await?;
    let Some(tenant) = tenants::Entity::find_by_id(tenant_id).one(&txn).await? else {
        return Ok(None);
    };
    let secret = secret::random_secret();
    let now = db::now();
    psa_settings::Entity::update_many()
        .col_expr(
            psa_settings::Column::LaunchSecret,
            sea_orm::sea_query::Expr::value(secrets.seal(
                SecretColumn::LaunchSecret,
                tenant_id,
                &SecretText::new(secret.clone()),
            )),
        )
        .col_expr(
            psa_settings::Column::LaunchSecretRotatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(psa_settings::Column::TenantId.eq(tenant_id))
        .exec(&txn)
        .await?;
    activity::record(
        &txn,
        activity::Entry {
            tenant_id,
            actor,
            action: actions::TENANT_LAUNCH_SECRET_ROTATED,
            target: Target::new("tenant", &tenant.id, &tenant.name),
            connection_id: None,
            details: json!({}),
            meta,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Some(RotatedLaunchSecret {
        launch_secret: secret,
        rotated_at: now,
    }))
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<tenants::Model>, sea_orm::DbErr> {
    tenants::Entity::find()
        .order_by_asc(tenants::Column::CreatedAt)
        .all(db)
        .await
}

/// The demo tenant, if there is one.
pub async fn demo_tenant(
    db: &impl ConnectionTrait,
) -> Result<Option<tenants::Model>, sea_orm::DbErr> {
    tenants::Entity::find()
        .filter(tenants::Column::IsDemo.eq(true))
        .one(db)
        .await
}

/// Creates the demo tenant on the bundled directory unless it exists (`--demo`).
pub async fn ensure_demo_tenant(
    db: &DatabaseConnection,
    secrets: &Keyring,
    session_lifetime_hours: u32,
) -> Result<tenants::Model, TenantError> {
    if let Some(tenant) = demo_tenant(db).await? {
        return Ok(tenant);
    }
    // Every level eligible for elevation starts in the Access-tab set, so any
    // elevation-eligible identity a visitor picks is elevated, whoever signed in first.
    let eligible = crate::psa::directory::DirectoryPsa::demo()
        .map_err(|e| TenantError::Invalid(e.to_string()))?
        .levels()
        .iter()
        .filter(|l| l.facts().eligible_for_elevation())
        .map(|l| l.id)
        .collect();
    let created = provision(
        db,
        secrets,
        NewTenant {
            name: "Northwind IT (demo)".to_owned(),
            psa_id: Some("demo".to_owned()),
            slug: Some("demo".to_owned()),
            psa: PsaChoice::Directory { path: None },
            is_demo: true,
            session_lifetime_hours,
            elevated_levels: eligible,
        },
    )
    .await;
    match created {
        Ok(p) => Ok(p.tenant),
        // Another instance seeded it at the same moment.
        Err(TenantError::PsaIdTaken(_)) => demo_tenant(db)
            .await?
            .ok_or_else(|| TenantError::Invalid("the PSA id \"demo\" is taken".into())),
        Err(e) => Err(e),
    }
}

/// Points a tenant at a directory file (`hubkeep tenant set-directory`, SPEC S11): the
/// provider becomes `directory`, the level cache is dropped, and `settings.updated` is
/// logged with the system as actor, in one transaction. `None` when there is no such tenant.
/// The caller has checked that the file loads.
pub async fn set_directory(
    db: &DatabaseConnection,
    tenant_id: &str,
    path: &str,
) -> Result<Option<()>, TenantError> {
    let txn = db.begin().await?;
    let Some(tenant) = tenants::Entity::find_by_id(tenant_id).one(&txn).await? else {
        return Ok(None);
    };
    let Some(current) = psa_settings::Entity::find_by_id(tenant_id)
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    let now = db::now();
    let mut row: psa_settings::ActiveModel = current.clone().into();
    row.provider = Set(PsaProvider::Directory);
    row.directory_path = Set(Some(path.to_owned()));
    // The registry rebuilds the provider when `updated_at` moves; the cached levels came
    // from the old source.
    row.updated_at = Set(now);
    row.levels_fetched_at = Set(None);
    row.update(&txn).await?;
    let mut details = serde_json::Map::new();
    for (field, before, after) in [
        (
            "psa.provider",
            Some(current.provider.as_str().to_owned()),
            Some(PsaProvider::Directory.as_str().to_owned()),
        ),
        (
            "psa.directory_path",
            current.directory_path.clone(),
            Some(path.to_owned()),
        ),
    ] {
        if before != after {
            details.insert(
                field.to_owned(),
                json!({ "before": before, "after": after }),
            );
        }
    }
    activity::record(
        &txn,
        activity::Entry {
            tenant_id,
            actor: &Actor::System,
            action: actions::SETTINGS_UPDATED,
            target: Target::new("tenant", &tenant.id, &tenant.name),
            connection_id: None,
            details: serde_json::Value::Object(details),
            meta: &RequestMeta::system(),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Some(()))
}
