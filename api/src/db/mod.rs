//! Database access: entities, ids, time, and the mapping of constraint violations.

pub mod entities;
pub mod pool;
pub mod rekey;
pub mod sealed;
mod secret;

pub use sealed::{Keyring, SealError, Sealed, SecretColumn};
pub use secret::SecretText;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, SqlErr};

/// The current time at the precision both backends store (microseconds), so a value read
/// back equals the value written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A new row id: a UUID v7, so ids sort by creation time (cursors rely on that).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The unique constraints the schema arbitrates races with (SPEC S10): a handler that expects
/// one maps exactly that one to its answer, and any other violation stays a 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
pub enum Unique {
    /// `tenants.psa_id`: one tenant per PSA instance.
    TenantPsaId,
    /// `tenants.slug`: one tenant per sign-in page.
    TenantSlug,
    /// `ux_users_primary`: one primary user per tenant.
    PrimaryUser,
    /// `users (tenant_id, psa_resource_id)`: one hub user per PSA resource.
    UserPerResource,
    /// `launch_assertions (tenant_id, jti)`: a launch assertion is used once.
    LaunchJti,
    /// `ux_invitations_pending_user`: one pending invitation per user and role.
    PendingInvitationForUser,
    /// `ux_invitations_pending_email`: one pending invitation per email and role.
    PendingInvitationForEmail,
    /// `ux_invitations_pending_owner`: one pending ownership transfer per connection.
    PendingOwnerTransfer,
    /// `connection_views (connection_id, name)`: view names are unique on a connection.
    ViewName,
    /// `accounting_mappings (tenant_id, source_code)`: one mapping per source code.
    MappingSourceCode,
}

impl Unique {
    /// How each backend names the constraint in its error: SQLite by the columns
    /// (`UNIQUE constraint failed: <table.column, …>`), PostgreSQL by the constraint or index.
    pub const fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::TenantPsaId => ("tenants.psa_id", "tenants_psa_id_key"),
            Self::TenantSlug => ("tenants.slug", "tenants_slug_key"),
            Self::PrimaryUser => ("users.tenant_id", "ux_users_primary"),
            Self::UserPerResource => (
                "users.tenant_id, users.psa_resource_id",
                "users_tenant_id_psa_resource_id_key",
            ),
            Self::LaunchJti => (
                "launch_assertions.tenant_id, launch_assertions.jti",
                "launch_assertions_pkey",
            ),
            Self::PendingInvitationForUser => (
                "invitations.connection_id, invitations.role, invitations.invitee_user_id",
                "ux_invitations_pending_user",
            ),
            Self::PendingInvitationForEmail => (
                "invitations.connection_id, invitations.role, invitations.invitee_email_key",
                "ux_invitations_pending_email",
            ),
            Self::PendingOwnerTransfer => {
                ("invitations.connection_id", "ux_invitations_pending_owner")
            }
            Self::ViewName => (
                "connection_views.connection_id, connection_views.name",
                "connection_views_connection_id_name_key",
            ),
            Self::MappingSourceCode => (
                "accounting_mappings.tenant_id, accounting_mappings.source_code",
                "accounting_mappings_tenant_id_source_code_key",
            ),
        }
    }
}

/// Which of the schema's unique constraints `err` violates, if it is one of them.
pub fn violated(err: &DbErr) -> Option<Unique> {
    let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() else {
        return None;
    };
    use strum::VariantArray as _;
    Unique::VARIANTS.iter().copied().find(|u| {
        let (sqlite, postgres) = u.names();
        // SQLite: the message ends with the column list; PostgreSQL quotes the name.
        message.ends_with(&format!("failed: {sqlite}"))
            || message.contains(&format!("\"{postgres}\""))
    })
}

/// Whether `err` violates one of `expected` (a race the schema arbitrated the way the caller
/// foresaw); any other error is not that race.
pub fn violates(err: &DbErr, expected: &[Unique]) -> bool {
    violated(err).is_some_and(|u| expected.contains(&u))
}

/// Takes the tenant's write lock in `txn`, before anything is read: a no-op `UPDATE` of its
/// row (a row lock on PostgreSQL, the database write lock on SQLite). Changes of hub access
/// (the Users tab, the Access tab, refreshing users from the PSA) take it first, so they are
/// serialized: each one's checks (G1–G3, and the caller's own access, re-read after the
/// lock) see every change committed before it, and none acts on a state a concurrent change
/// has already replaced.
pub async fn lock_tenant(txn: &DatabaseTransaction, tenant_id: &str) -> Result<(), DbErr> {
    use entities::tenants;
    tenants::Entity::update_many()
        .col_expr(tenants::Column::Name, Expr::col(tenants::Column::Name))
        .filter(tenants::Column::Id.eq(tenant_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Lower-cased, trimmed email: the form invitations and lookups compare.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}
