//! Database access: entities, ids, time, and the mapping of constraint violations.

pub mod entities;

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

/// Whether the error is a unique-constraint violation (a concurrent request won a race the
/// schema arbitrates: a replayed `jti`, a second primary user, …).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
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

/// A stored enum column read back as its shared enum (its snake_case wire name). The schema's
/// CHECK constraints make an unknown value impossible; one would be a corrupt row, a 500.
pub fn stored<T: std::str::FromStr>(what: &str, value: &str) -> Result<T, crate::error::ApiError> {
    value.parse().map_err(|_| {
        crate::error::ApiError::Internal(anyhow::anyhow!(
            "stored {what} `{value}` is not one this API knows"
        ))
    })
}

/// Lower-cased, trimmed email: the form invitations and lookups compare.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}
