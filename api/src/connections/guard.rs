//! The one guard of the connection aggregate (SPEC S4, S5, S7): every write a person (or
//! their script) makes on a connection takes its lock and applies the same order of checks,
//! before any change. (The engine's progress reports lock the run they report on instead.)
//!
//! 1. **404** when the connection does not exist, belongs to another tenant, or the caller
//!    holds no role on it ([`super::read::visible`] semantics);
//! 2. **422 `not_supported_for_kind`** when an action touches a setting the connection's kind
//!    lacks (S4). This comes *before* the role check: the answer depends only on the kind,
//!    which every member already sees, and it is the same for every role ("whatever the
//!    caller's roles", as `shared` documents `ConnectionKind::supports`);
//! 3. **403 `forbidden`** when the caller's roles do not allow the action (the shared matrix,
//!    `connection_allows`);
//! 4. **409 `connection_cancelled`** when the connection is cancelled and the operation is not
//!    `pay`;
//! 5. (in each service) **422 `validation_failed`** for invalid values, so a caller who may
//!    not act learns nothing about what a valid value would be.
//!
//! There is one way of locking: [`lock`] writes the connection's row without changing it,
//! which makes every other writer of that connection wait for this transaction on SQLite and
//! PostgreSQL alike. Members and invitations, whose callers may hold no role (an invitee),
//! take the lock and then apply their own S5 checks.

use hubkeep_shared::{
    ConnectionAction, ConnectionKind, ConnectionRole, ProblemCode, connection_allows,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, TransactionTrait,
};
use serde_json::Value;

use super::read::{self, ConnectionStatus};
use crate::activity::{self, Target};
use crate::db::entities::connections as conn;
use crate::error::ApiError;
use crate::identity::Caller;
use hubkeep_shared::ConnectionId;

/// A connection the caller holds a role on, locked for the rest of the transaction. Its
/// `Debug` shows the row with the Postgres connection string as `***` ([`SecretText`]).
///
/// [`SecretText`]: crate::db::SecretText
#[derive(Debug, Clone)]
pub struct Guarded {
    pub model: conn::Model,
    pub kind: ConnectionKind,
    pub roles: Vec<ConnectionRole>,
}

/// Begins a change on connection `id` of `caller`'s tenant with its lock taken first.
pub async fn begin_locked(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<DatabaseTransaction, ApiError> {
    let txn = db.begin().await?;
    lock(&txn, caller, id).await?;
    Ok(txn)
}

/// Takes connection `id`'s write lock in `txn`. Call it before reading anything of the
/// connection that a decision depends on. Only a connection of the caller's tenant is
/// locked: an id from another tenant locks nothing (and is then a 404).
pub async fn lock(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<(), ApiError> {
    conn::Entity::update_many()
        .col_expr(conn::Column::UpdatedAt, Expr::col(conn::Column::UpdatedAt))
        .filter(conn::Column::Id.eq(id))
        .filter(conn::Column::TenantId.eq(&caller.tenant_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Step 1: the locked connection `id` of the caller's tenant with the caller's roles on it;
/// 404 when there is none or the caller holds no role.
pub async fn load(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<Guarded, ApiError> {
    lock(txn, caller, id).await?;
    let model = in_tenant(txn, caller, id).await?;
    let roles = read::roles_on(txn, &model.id, &caller.user.id).await?;
    if roles.is_empty() {
        return Err(ApiError::not_found());
    }
    let kind = model.kind;
    Ok(Guarded { model, kind, roles })
}

/// Steps 1 to 4 for a write that needs every one of `needed`.
pub async fn for_write(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    needed: &[ConnectionAction],
) -> Result<Guarded, ApiError> {
    let guarded = load(txn, caller, id).await?;
    guarded.authorize(needed)?;
    refuse_if_cancelled(&guarded.model)?;
    Ok(guarded)
}

/// The connection `id` of the caller's tenant, whatever the caller's roles; 404 otherwise.
/// For the S5 paths whose caller may hold no role (an invitee); call [`lock`] first.
pub async fn in_tenant(
    txn: &impl ConnectionTrait,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<conn::Model, ApiError> {
    conn::Entity::find_by_id(id.clone())
        .one(txn)
        .await?
        .filter(|c| c.tenant_id == caller.tenant_id)
        .ok_or_else(ApiError::not_found)
}

impl Guarded {
    /// Steps 2 and 3 for every action a request needs: 422 `not_supported_for_kind` if the
    /// kind lacks any, else 403 `forbidden` if the roles do not allow every one.
    pub fn authorize(&self, needed: &[ConnectionAction]) -> Result<(), ApiError> {
        let unsupported: Vec<&str> = needed
            .iter()
            .filter(|a| !self.kind.supports(**a))
            .map(|a| a.wire_name())
            .collect();
        if !unsupported.is_empty() {
            return Err(ApiError::new(
                ProblemCode::NotSupportedForKind,
                format!(
                    "A {} connection does not offer: {}. Nothing was changed.",
                    self.kind.wire_name(),
                    unsupported.join(", ")
                ),
            ));
        }
        let refused: Vec<&str> = needed
            .iter()
            .filter(|a| !connection_allows(&self.roles, self.kind, **a))
            .map(|a| a.wire_name())
            .collect();
        if !refused.is_empty() {
            return Err(ApiError::new(
                ProblemCode::Forbidden,
                format!(
                    "Your roles on this connection do not allow: {}. Nothing was changed.",
                    refused.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

/// Writes the one activity entry of a change to connection `model` (as it is after the
/// change, so a rename is labelled with the new name), in the change's transaction.
pub async fn record(
    txn: &DatabaseTransaction,
    caller: &Caller,
    model: &conn::Model,
    action: &'static str,
    details: Value,
) -> Result<(), ApiError> {
    let target = Target::new("connection", &model.id, &model.name);
    record_about(txn, caller, model, target, action, details).await
}

/// Writes the one activity entry of a change to `target`, a part of connection `model` (a
/// view, a run), in the change's transaction; the entry names the connection.
pub async fn record_about(
    txn: &DatabaseTransaction,
    caller: &Caller,
    model: &conn::Model,
    target: Target,
    action: &'static str,
    details: Value,
) -> Result<(), ApiError> {
    activity::record_by(txn, caller, action, target, Some(&model.id), details).await?;
    Ok(())
}

pub fn is_cancelled(model: &conn::Model) -> bool {
    model.status == ConnectionStatus::Cancelled
}

/// Step 4: a cancelled connection refuses every change but `pay`.
pub fn refuse_if_cancelled(model: &conn::Model) -> Result<(), ApiError> {
    if is_cancelled(model) {
        return Err(ApiError::new(
            ProblemCode::ConnectionCancelled,
            "The connection is cancelled: it refuses changes until the owner pays again.",
        ));
    }
    Ok(())
}
