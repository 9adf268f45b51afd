//! Database access: entities, ids, time, and the mapping of constraint violations.

pub mod entities;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{DbErr, SqlErr};

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

/// Lower-cased, trimmed email: the form invitations and lookups compare.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}
