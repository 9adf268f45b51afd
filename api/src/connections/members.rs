//! The members of one connection and the roles they hold (SPEC S5.1, S5.2, S7), and the
//! helpers [`super::invitations`] and [`super::ownership`] share.
//!
//! Every change runs in one transaction that first takes the connection's write lock
//! ([`super::guard::lock`], taken before anything is read so that SQLite never has to upgrade
//! a read lock), then checks, then
//! changes, then writes exactly one activity entry with `connection_id`. Requests on one
//! connection are therefore serialized, and the schema (one `owner` row per connection, the
//! deferred foreign key from `connections.owner_user_id` to that row, one pending owner
//! invitation per connection) refuses whatever a bug would let through.
//!
//! Order of checks, as for the other connection operations: 404 (no such connection, or the
//! caller holds no role on it), 403 `forbidden` (the matrix), 409 (`connection_cancelled`,
//! `owner_must_transfer`, `conflict`), 422 (invalid values).

use hubkeep_shared::{ConnectionId, UserId};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hubkeep_shared::{ConnectionAction, ConnectionRole, FieldError, ProblemCode, can_invite};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde_json::{Value, json};

use super::guard;
use super::read::{self, UserRef};
use crate::AppState;
use crate::activity::{self, Actor, Target, actions};
use crate::db::entities::{connections as conn, invitations, role_assignments, users};
use crate::error::ApiError;
use crate::identity::Caller;
pub use hubkeep_shared::api::Items;
pub use hubkeep_shared::api::members::{Invitation, InvitationStatus, Invitee, Member};

pub(super) fn corrupt(what: &str, value: &str) -> ApiError {
    ApiError::Internal(anyhow::anyhow!(
        "stored {what} `{value}` is not one this API knows"
    ))
}

pub(super) fn conflict(detail: impl Into<String>) -> ApiError {
    ApiError::new(ProblemCode::Conflict, detail)
}

pub(super) fn owner_must_transfer() -> ApiError {
    ApiError::new(
        ProblemCode::OwnerMustTransfer,
        "The Subscription Owner role moves only by an ownership transfer (or a recovery): \
         transfer ownership first.",
    )
}

pub(super) fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(
        "The request is not valid.",
        vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }],
    )
}

pub(super) fn expired_error() -> ApiError {
    ApiError::new(
        ProblemCode::InvitationExpired,
        "The invitation has expired; ask for a new one.",
    )
}

pub(super) fn view(row: &invitations::Model, now: DateTime<Utc>) -> Invitation {
    let mut status = row.status;
    if status == InvitationStatus::Pending && row.expires_at <= now {
        status = InvitationStatus::Expired;
    }
    Invitation {
        id: row.id.clone(),
        connection_id: row.connection_id.clone(),
        role: row.role,
        status,
        expires_at: row.expires_at,
        invitee: Invitee {
            user_id: row.invitee_user_id.clone(),
            email: row.invitee_email.clone(),
        },
        invited_by: row.invited_by.clone(),
        retain_role: row.retain_role,
        created_at: row.created_at,
        responded_at: row.responded_at,
    }
}

pub(super) fn forbid_unless(allowed: bool, action: ConnectionAction) -> Result<(), ApiError> {
    if allowed {
        Ok(())
    } else {
        Err(ApiError::new(
            ProblemCode::Forbidden,
            format!(
                "Your roles on this connection do not allow: {}. Nothing was changed.",
                action.wire_name()
            ),
        ))
    }
}

pub(super) async fn record(
    txn: &DatabaseTransaction,
    caller: &Caller,
    actor: &Actor,
    connection_id: &ConnectionId,
    action: &'static str,
    target: Target,
    details: Value,
) -> Result<(), ApiError> {
    activity::record(
        txn,
        activity::Entry {
            tenant_id: &caller.tenant_id,
            actor,
            action,
            target,
            connection_id: Some(connection_id),
            details,
            meta: &caller.meta,
        },
    )
    .await?;
    Ok(())
}

pub(super) async fn user_in_tenant(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    user_id: &UserId,
) -> Result<Option<users::Model>, ApiError> {
    Ok(users::Entity::find_by_id(user_id.clone())
        .one(db)
        .await?
        .filter(|u| u.tenant_id == tenant_id))
}

pub(super) async fn user_by_email(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    email_key: &str,
) -> Result<Option<users::Model>, ApiError> {
    Ok(users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::EmailKey.eq(email_key))
        .order_by_asc(users::Column::Id)
        .one(db)
        .await?)
}

pub(super) fn user_ref(model: &users::Model) -> UserRef {
    UserRef {
        id: model.id.clone(),
        display_name: model.display_name.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// Members.

/// `GET /api/v1/connections/{id}/members`: every member with their roles, sorted by name
/// (case-insensitively), then id.
pub async fn list_members(
    state: &AppState,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<Items<Member>, ApiError> {
    let (model, _) = read::visible(&state.db, caller, id).await?;
    let mut roles: BTreeMap<UserId, Vec<ConnectionRole>> = BTreeMap::new();
    for row in role_assignments::Entity::find()
        .filter(role_assignments::Column::ConnectionId.eq(&model.id))
        .all(&state.db)
        .await?
    {
        roles.entry(row.user_id.clone()).or_default().push(row.role);
    }
    let people = users::Entity::find()
        .filter(users::Column::TenantId.eq(&caller.tenant_id))
        .filter(users::Column::Id.is_in(roles.keys().cloned().collect::<Vec<_>>()))
        .all(&state.db)
        .await?;
    let mut items = Vec::with_capacity(people.len());
    for person in &people {
        let mut held = roles.remove(&person.id).unwrap_or_default();
        held.sort();
        held.dedup();
        items.push(Member {
            user: crate::identity::users::view(&state.db, person).await?,
            roles: held,
        });
    }
    items.sort_by(|a, b| {
        a.user
            .display_name
            .to_lowercase()
            .cmp(&b.user.display_name.to_lowercase())
            .then_with(|| a.user.id.cmp(&b.user.id))
    });
    Ok(Items { items })
}

/// `DELETE /api/v1/connections/{id}/members/{user_id}/roles/{role}` (SPEC S5.2), in the
/// handler's transaction (the connection's lock first).
pub async fn remove_role(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    user_id: &UserId,
    role: ConnectionRole,
) -> Result<(), ApiError> {
    guard::lock(txn, caller, id).await?;
    let (model, roles) = read::visible(txn, caller, id).await?;
    forbid_unless(can_invite(&roles, role), ConnectionAction::invite(role))?;
    if role == ConnectionRole::Owner {
        return Err(owner_must_transfer());
    }
    let member = user_in_tenant(txn, &caller.tenant_id, user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let deleted = role_assignments::Entity::delete_many()
        .filter(role_assignments::Column::ConnectionId.eq(&model.id))
        .filter(role_assignments::Column::UserId.eq(&member.id))
        .filter(role_assignments::Column::Role.eq(role))
        .exec(txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found());
    }
    record(
        txn,
        caller,
        &caller.actor(),
        &model.id,
        actions::MEMBER_ROLE_REMOVED,
        Target::new("user", &member.id, &member.display_name),
        json!({ "user_id": member.id, "role": role }),
    )
    .await?;
    Ok(())
}

/// `POST /api/v1/connections/{id}/leave`: drops every role of the caller (SPEC S5.2), in the
/// handler's transaction (the connection's lock first).
pub async fn leave(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<(), ApiError> {
    guard::lock(txn, caller, id).await?;
    let (model, roles) = read::visible(txn, caller, id).await?;
    if roles.contains(&ConnectionRole::Owner) {
        return Err(owner_must_transfer());
    }
    role_assignments::Entity::delete_many()
        .filter(role_assignments::Column::ConnectionId.eq(&model.id))
        .filter(role_assignments::Column::UserId.eq(&caller.user.id))
        .exec(txn)
        .await?;
    record(
        txn,
        caller,
        &caller.actor(),
        &model.id,
        actions::MEMBER_LEFT,
        Target::new("user", &caller.user.id, &caller.user.display_name),
        json!({ "roles": roles }),
    )
    .await?;
    Ok(())
}

/// Moves the `owner` row and `connections.owner_user_id` from `from` to `to` (the deferred
/// foreign key sees both at commit) and gives `from` `retain` when they lack it.
pub(super) async fn move_owner(
    txn: &DatabaseTransaction,
    caller: &Caller,
    model: &conn::Model,
    from: &UserId,
    to: &UserId,
    retain: Option<ConnectionRole>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let moved = role_assignments::Entity::update_many()
        .col_expr(role_assignments::Column::UserId, Expr::value(to))
        .col_expr(
            role_assignments::Column::GrantedBy,
            Expr::value(caller.user.id.clone()),
        )
        .col_expr(role_assignments::Column::GrantedAt, Expr::value(now))
        .filter(role_assignments::Column::ConnectionId.eq(&model.id))
        .filter(role_assignments::Column::Role.eq(ConnectionRole::Owner))
        .filter(role_assignments::Column::UserId.eq(from))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(conflict("The connection's owner has changed; try again."));
    }
    conn::Entity::update_many()
        .col_expr(conn::Column::OwnerUserId, Expr::value(to))
        .col_expr(conn::Column::UpdatedAt, Expr::value(now))
        .filter(conn::Column::Id.eq(&model.id))
        .exec(txn)
        .await?;
    if let Some(retain) = retain {
        let held = read::roles_on(txn, &model.id, from).await?;
        if !held.contains(&retain) {
            role_assignments::Entity::insert(role_assignments::ActiveModel {
                connection_id: Set(model.id.clone()),
                user_id: Set(from.clone()),
                role: Set(retain),
                tenant_id: Set(model.tenant_id.clone()),
                granted_by: Set(Some(caller.user.id.clone())),
                granted_at: Set(now),
            })
            .exec_without_returning(txn)
            .await?;
        }
    }
    Ok(())
}

/// Closes the connection's pending invitations that `which` selects: each becomes `to`,
/// answered `now` (and revoked by `revoked_by`, when given). The ids closed.
pub(super) async fn close_pending(
    txn: &DatabaseTransaction,
    connection_id: &ConnectionId,
    which: sea_orm::sea_query::SimpleExpr,
    to: InvitationStatus,
    now: DateTime<Utc>,
    revoked_by: Option<&UserId>,
) -> Result<Vec<invitations::Model>, ApiError> {
    let candidates: Vec<invitations::Model> = invitations::Entity::find()
        .filter(invitations::Column::ConnectionId.eq(connection_id))
        .filter(invitations::Column::Status.eq(InvitationStatus::Pending))
        .filter(which)
        .all(txn)
        .await?;
    // One conditional update each: the expiry job (`invitations::expire_due`) closes
    // invitations without the connection's lock, so one read as pending here may be expired
    // by the time it is written; only those this call closed are answered (and told about).
    let mut closed = Vec::with_capacity(candidates.len());
    for row in candidates {
        if close_if_pending(txn, &row, to, now, revoked_by).await? {
            closed.push(row);
        }
    }
    Ok(closed)
}

/// Moves one invitation from `pending` to `to` (answered at `now`, revoked by `revoked_by`),
/// if it is still pending; whether it was. Every path that closes an invitation goes through
/// here, so two of them (a request and the expiry job) never both close one.
pub(super) async fn close_if_pending(
    txn: &impl sea_orm::ConnectionTrait,
    row: &invitations::Model,
    to: InvitationStatus,
    now: DateTime<Utc>,
    revoked_by: Option<&UserId>,
) -> Result<bool, sea_orm::DbErr> {
    let done = invitations::Entity::update_many()
        .col_expr(invitations::Column::Status, Expr::value(to))
        .col_expr(invitations::Column::RespondedAt, Expr::value(now))
        .col_expr(
            invitations::Column::RevokedBy,
            Expr::value(revoked_by.cloned()),
        )
        .filter(invitations::Column::Id.eq(row.id.clone()))
        .filter(invitations::Column::Status.eq(InvitationStatus::Pending))
        .exec(txn)
        .await?;
    Ok(done.rows_affected == 1)
}
