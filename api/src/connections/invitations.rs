//! Invitations to a connection's roles (SPEC S5.1, S5.3, S7): issued by those whose roles
//! allow it, accepted or declined by the invitee, revoked by the inviter. An owner invitation
//! is the transfer of ownership: accepting it moves the `owner` role.
//!
//! Pending invitations past `expires_at` count as expired everywhere; they are marked
//! `expired` when a request touches them (creating an invitation on the connection, or
//! accepting, declining or revoking that invitation).

use hubkeep_shared::{ConnectionId, InvitationId, UserId};
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use hubkeep_shared::fields::{Email, FieldRule as _};
use hubkeep_shared::{ConnectionAction, ConnectionRole, HubAccess, ProblemCode, can_invite};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect as _,
};
use serde_json::json;

use super::guard;
use super::members::{
    close_if_pending, close_pending, conflict, expired_error, forbid_unless, invalid, move_owner,
    record, user_by_email, user_in_tenant, view,
};
use super::read::{self};
use crate::AppState;
use crate::activity::{Actor, Target, actions};
use crate::cache::Key;
use crate::db::{
    self,
    entities::{
        connections as conn, invitations, psa_settings, role_assignments, tenant_settings, users,
    },
};
use crate::error::ApiError;
use crate::hub_access::access_of;
use crate::identity::Caller;
use crate::notify;
use crate::notify::messages::Outcome;
use crate::psa::Priority;
pub use hubkeep_shared::api::Items;
pub use hubkeep_shared::api::members::{
    Invitation, InvitationStatus, Invitee, MyInvitation, NewInvitation,
};

// ---------------------------------------------------------------------------------------
// Invitations.

/// Marks the connection's pending invitations past their expiry `expired` and tells their
/// inviters (SPEC S15); returns their ids.
async fn expire_stale(
    txn: &DatabaseTransaction,
    caller: &Caller,
    connection_id: &ConnectionId,
    now: DateTime<Utc>,
) -> Result<Vec<InvitationId>, ApiError> {
    let expired = invitations::Column::ExpiresAt.lte(now);
    let rows = close_pending(
        txn,
        connection_id,
        expired,
        InvitationStatus::Expired,
        now,
        None,
    )
    .await?;
    for row in &rows {
        tell_inviter(txn, &caller.tenant_id, None, row, Outcome::Expired).await?;
    }
    Ok(rows.into_iter().map(|i| i.id).collect())
}

/// Who a new invitation names: exactly one of `user_id` and `email`.
enum InviteeInput<'a> {
    User(&'a UserId),
    Email(&'a str),
}

fn invitee_of(input: &NewInvitation) -> Result<InviteeInput<'_>, ApiError> {
    match (input.user_id.as_ref(), input.email.as_deref()) {
        (Some(user_id), None) => Ok(InviteeInput::User(user_id)),
        (None, Some(email)) => Ok(InviteeInput::Email(email)),
        _ => Err(invalid("body", "send exactly one of `user_id` and `email`")),
    }
}

/// `retain_role` belongs to owner invitations only, and names a role other than owner.
fn check_retain(input: &NewInvitation) -> Result<(), ApiError> {
    let Some(retain) = input.retain_role else {
        return Ok(());
    };
    if input.role != ConnectionRole::Owner {
        return Err(invalid(
            "retain_role",
            "only an owner invitation (`role: owner`) may name a role to retain",
        ));
    }
    if retain == ConnectionRole::Owner {
        return Err(invalid(
            "retain_role",
            "must be business_admin, it_admin or read_only",
        ));
    }
    Ok(())
}

/// The invitee as a hub user (when one matches) and as an email address (when invited by
/// email): an owner must be a hub user with hub access, and nobody is invited to a role they
/// already hold (409).
async fn resolve_invitee(
    txn: &DatabaseTransaction,
    caller: &Caller,
    connection_id: &ConnectionId,
    input: &NewInvitation,
    invitee: InviteeInput<'_>,
) -> Result<(Option<users::Model>, Option<String>), ApiError> {
    let (user, email) = match invitee {
        InviteeInput::User(user_id) => {
            let user = user_in_tenant(txn, &caller.tenant_id, user_id)
                .await?
                .ok_or_else(|| invalid("user_id", "is not a hub user of this tenant"))?;
            (Some(user), None)
        }
        InviteeInput::Email(email) => {
            let email = Email::parse(email)
                .map_err(|message| invalid("email", message))?
                .into_string();
            let user = user_by_email(txn, &caller.tenant_id, &db::email_key(&email)).await?;
            (user, Some(email))
        }
    };
    if input.role == ConnectionRole::Owner {
        let Some(user) = &user else {
            return Err(invalid(
                "email",
                "an owner invitation must name an existing hub user",
            ));
        };
        if access_of(txn, user).await?.level == HubAccess::None {
            let field = if input.user_id.is_some() {
                "user_id"
            } else {
                "email"
            };
            return Err(invalid(field, "the new owner must have hub access"));
        }
    }
    if let Some(user) = &user {
        let held = read::roles_on(txn, connection_id, &user.id).await?;
        if held.contains(&input.role) {
            return Err(conflict(format!(
                "{} already holds the role {} on this connection.",
                user.display_name,
                input.role.wire_name()
            )));
        }
        // The same person invited by id and by email is one invitee: an invitation by email
        // stays unbound until accepted, so the schema's keys cannot see the pair.
        let pending = invitations::Entity::find()
            .filter(invitations::Column::ConnectionId.eq(connection_id))
            .filter(invitations::Column::Role.eq(input.role))
            .filter(invitations::Column::Status.eq(InvitationStatus::Pending))
            .filter(invitations::Column::ExpiresAt.gt(db::now()))
            .filter(
                Condition::any()
                    .add(invitations::Column::InviteeUserId.eq(&user.id))
                    .add(invitations::Column::InviteeEmailKey.eq(&user.email_key)),
            )
            .one(txn)
            .await?;
        if pending.is_some() {
            return Err(conflict(format!(
                "{} already has a pending invitation to the role {} on this connection.",
                user.display_name,
                input.role.wire_name()
            )));
        }
    }
    Ok((user, email))
}

/// 409 when an ownership transfer is already pending on the connection.
async fn refuse_second_transfer(
    txn: &DatabaseTransaction,
    connection_id: &ConnectionId,
) -> Result<(), ApiError> {
    let pending = invitations::Entity::find()
        .filter(invitations::Column::ConnectionId.eq(connection_id))
        .filter(invitations::Column::Role.eq(ConnectionRole::Owner))
        .filter(invitations::Column::Status.eq(InvitationStatus::Pending))
        .one(txn)
        .await?;
    if pending.is_some() {
        return Err(conflict(
            "An ownership transfer is already pending on this connection; revoke it first.",
        ));
    }
    Ok(())
}

/// How long the tenant's invitations stay open, in days (S6: 1 to 30, 7 by default).
async fn expiry_days(txn: &DatabaseTransaction, tenant_id: &str) -> Result<i32, ApiError> {
    Ok(tenant_settings::Entity::find_by_id(tenant_id.to_owned())
        .one(txn)
        .await?
        .map_or(7, |s| s.invitation_expiry_days)
        .clamp(1, 30))
}

/// Inserts the invitation; the schema's unique keys answer a concurrent duplicate with 409.
async fn insert(txn: &DatabaseTransaction, row: &invitations::Model) -> Result<(), ApiError> {
    let active: invitations::ActiveModel = row.clone().into();
    match invitations::Entity::insert(sea_orm::ActiveModelTrait::reset_all(active))
        .exec_without_returning(txn)
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if db::violates(
                &e,
                &[
                    db::Unique::PendingInvitationForUser,
                    db::Unique::PendingInvitationForEmail,
                    db::Unique::PendingOwnerTransfer,
                ],
            ) =>
        {
            Err(conflict(
                "A pending invitation for this invitee and role (or a pending ownership \
                 transfer) already exists on this connection.",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Who an invitation's email goes to. By email: the address the inviter typed (the hub's
/// copy of a user's address may be stale), under that user's preferences when one has it.
fn invitee_recipient(user: Option<&users::Model>, email: Option<&str>) -> notify::Recipient {
    match (user, email) {
        (Some(user), Some(email)) => notify::Recipient {
            email: email.to_owned(),
            ..notify::Recipient::user(user)
        },
        (Some(user), None) => notify::Recipient::user(user),
        (None, Some(email)) => notify::Recipient::address(email),
        // `resolve_invitee` answers one of the two, always.
        (None, None) => notify::Recipient::address(""),
    }
}

/// `POST /api/v1/connections/{id}/invitations` (SPEC S5.1, S5.3), in the handler's
/// transaction (the connection's lock first).
pub async fn create_invitation(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    input: NewInvitation,
) -> Result<Invitation, ApiError> {
    guard::lock(txn, caller, id).await?;
    let (model, roles) = read::visible(txn, caller, id).await?;
    let action = ConnectionAction::invite(input.role);
    forbid_unless(can_invite(&roles, input.role), action)?;
    guard::refuse_if_cancelled(&model)?;
    // `body` (exactly one invitee) is checked before `retain_role`.
    let invitee = invitee_of(&input)?;
    check_retain(&input)?;
    let (invitee_user, invitee_email) =
        resolve_invitee(txn, caller, &model.id, &input, invitee).await?;

    let now = db::now();
    let expired = expire_stale(txn, caller, &model.id, now).await?;
    if input.role == ConnectionRole::Owner {
        refuse_second_transfer(txn, &model.id).await?;
    }
    let days = expiry_days(txn, &caller.tenant_id).await?;
    let row = invitations::Model {
        id: InvitationId::new(db::new_id()),
        tenant_id: caller.tenant_id.clone(),
        connection_id: model.id.clone(),
        role: input.role,
        retain_role: input.retain_role,
        // An invitation by email is bound when it is accepted, to the person whose email
        // the PSA then has (SPEC S14); the hub's copy of an email may be stale. A transfer
        // of ownership names its hub user from the start.
        invitee_user_id: invitee_user
            .as_ref()
            .filter(|_| invitee_email.is_none() || input.role == ConnectionRole::Owner)
            .map(|u| u.id.clone()),
        invitee_email_key: invitee_email.as_deref().map(db::email_key),
        invitee_email: invitee_email.clone(),
        invited_by: caller.user.id.clone(),
        created_at: now,
        expires_at: now + Duration::days(i64::from(days)),
        status: InvitationStatus::Pending,
        responded_at: None,
        revoked_by: None,
    };
    insert(txn, &row).await?;
    // The invitee's email (SPEC S15), in this transaction: before the activity entry, so a
    // failure writing that entry takes the message with it.
    let to = invitee_recipient(invitee_user.as_ref(), invitee_email.as_deref());
    notify::enqueue(
        txn,
        &caller.tenant_id,
        notify::messages::invitation_created(&row, &model, &caller.user, to),
    )
    .await?;
    let label = invitee_user
        .as_ref()
        .map(|u| u.display_name.clone())
        .or(invitee_email)
        .unwrap_or_default();
    record(
        txn,
        caller,
        &caller.actor(),
        &model.id,
        actions::INVITATION_CREATED,
        Target::new("invitation", &row.id, format!("{} ({label})", input.role)),
        json!({
            "role": input.role,
            "invitee_user_id": row.invitee_user_id,
            "invitee_email": row.invitee_email,
            "retain_role": input.retain_role,
            "expires_at": row.expires_at,
            "expired_invitation_ids": expired,
        }),
    )
    .await?;
    Ok(view(&row, now))
}

/// `GET /api/v1/connections/{id}/invitations`: the pending, unexpired invitations.
pub async fn list_for_connection(
    state: &AppState,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<Items<Invitation>, ApiError> {
    let (model, _) = read::visible(&state.db, caller, id).await?;
    let now = db::now();
    let rows = invitations::Entity::find()
        .filter(invitations::Column::ConnectionId.eq(&model.id))
        .filter(invitations::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitations::Column::ExpiresAt.gt(now))
        .order_by_asc(invitations::Column::CreatedAt)
        .order_by_asc(invitations::Column::Id)
        .all(&state.db)
        .await?;
    Ok(Items {
        items: rows.iter().map(|r| view(r, now)).collect(),
    })
}

/// Whether `row` is addressed to the caller: by user id, or (for an invitation by email to
/// no hub user) by the caller's email, case-insensitively.
fn addressed_to(row: &invitations::Model, caller: &Caller) -> bool {
    match &row.invitee_user_id {
        Some(user_id) => *user_id == caller.user.id,
        None => row
            .invitee_email_key
            .as_deref()
            .is_some_and(|key| key == db::email_key(&caller.user.email)),
    }
}

/// The caller's pending, unexpired invitations at `now`: the rows [`addressed_to`] the caller.
/// `/me/invitations` lists them and `/me` counts them, so the two always agree.
fn mine(caller: &Caller, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(invitations::Column::TenantId.eq(&caller.tenant_id))
        .add(invitations::Column::Status.eq(InvitationStatus::Pending))
        .add(invitations::Column::ExpiresAt.gt(now))
        .add(
            Condition::any()
                .add(invitations::Column::InviteeUserId.eq(&caller.user.id))
                .add(
                    Condition::all()
                        .add(invitations::Column::InviteeUserId.is_null())
                        .add(
                            invitations::Column::InviteeEmailKey
                                .eq(db::email_key(&caller.user.email)),
                        ),
                ),
        )
}

/// How many invitations `GET /api/v1/me/invitations` lists (`/me`'s `pending_invitations`):
/// counted from when each pending one expires, which the read cache keeps ([`crate::cache`]).
pub async fn count_mine(state: &AppState, caller: &Caller) -> Result<u64, ApiError> {
    let key = Key::Invitations(
        caller.tenant_id.clone(),
        caller.user.id.clone(),
        db::email_key(&caller.user.email),
    );
    let now = db::now();
    let load = async {
        let expiries: Vec<DateTime<Utc>> = invitations::Entity::find()
            .select_only()
            .column(invitations::Column::ExpiresAt)
            .filter(mine(caller, now))
            .into_tuple()
            .all(&state.reader)
            .await?;
        Ok::<_, sea_orm::DbErr>(Some(expiries))
    };
    let expiries = state
        .cache
        .load_through(key, load)
        .await?
        .unwrap_or_default();
    Ok(expiries.iter().filter(|at| **at > now).count() as u64)
}

/// `GET /api/v1/me/invitations`: the caller's pending, unexpired invitations.
pub async fn list_mine(state: &AppState, caller: &Caller) -> Result<Items<MyInvitation>, ApiError> {
    let now = db::now();
    let rows = invitations::Entity::find()
        .filter(mine(caller, now))
        .order_by_asc(invitations::Column::CreatedAt)
        .order_by_asc(invitations::Column::Id)
        .all(&state.db)
        .await?;
    let ids: Vec<ConnectionId> = rows.iter().map(|r| r.connection_id.clone()).collect();
    let names: HashMap<ConnectionId, conn::Model> = if ids.is_empty() {
        HashMap::new()
    } else {
        conn::Entity::find()
            .filter(conn::Column::TenantId.eq(&caller.tenant_id))
            .filter(conn::Column::Id.is_in(ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect()
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(c) = names.get(&row.connection_id) else {
            continue;
        };
        items.push(MyInvitation {
            invitation: view(row, now),
            connection_name: c.name.clone(),
            connection_kind: c.kind,
        });
    }
    Ok(Items { items })
}

/// Reads an invitation of the caller's tenant (outside any transaction: it only says which
/// connection to lock).
async fn find_invitation(
    state: &AppState,
    caller: &Caller,
    id: &InvitationId,
) -> Result<invitations::Model, ApiError> {
    invitations::Entity::find_by_id(id.clone())
        .one(&state.db)
        .await?
        .filter(|i| i.tenant_id == caller.tenant_id)
        .ok_or_else(ApiError::not_found)
}

/// Marks one pending invitation past its expiry `expired` (with its one entry, by the hub
/// itself) and commits; answers 410.
async fn expire_and_refuse(
    txn: DatabaseTransaction,
    caller: &Caller,
    row: &invitations::Model,
    now: DateTime<Utc>,
) -> Result<Invitation, ApiError> {
    set_status(&txn, row, InvitationStatus::Expired, now, None).await?;
    record(
        &txn,
        caller,
        &Actor::System,
        &row.connection_id,
        actions::INVITATION_EXPIRED,
        Target::new("invitation", &row.id, row.role.as_str()),
        json!({ "expires_at": row.expires_at }),
    )
    .await?;
    tell_inviter(&txn, &caller.tenant_id, None, row, Outcome::Expired).await?;
    txn.commit().await?;
    Err(expired_error())
}

async fn set_status(
    txn: &DatabaseTransaction,
    row: &invitations::Model,
    status: InvitationStatus,
    now: DateTime<Utc>,
    revoked_by: Option<&UserId>,
) -> Result<invitations::Model, ApiError> {
    if !close_if_pending(txn, row, status, now, revoked_by).await? {
        return Err(conflict("The invitation is no longer pending."));
    }
    Ok(invitations::Model {
        status,
        responded_at: Some(now),
        revoked_by: revoked_by.cloned(),
        ..row.clone()
    })
}

/// Loads the invitation for a response by its invitee, inside a transaction holding the
/// connection's lock: 404 unless addressed to the caller, 409 unless pending.
async fn for_invitee(
    state: &AppState,
    caller: &Caller,
    id: &InvitationId,
) -> Result<(DatabaseTransaction, invitations::Model), ApiError> {
    let first = find_invitation(state, caller, id).await?;
    if !addressed_to(&first, caller) {
        return Err(ApiError::not_found());
    }
    // Invited by email (an owner invitation names its hub user as well): the PSA must
    // still give the caller that email.
    if first.invitee_email_key.is_some() {
        confirm_current_email(state, caller, &first).await?;
    }
    let txn = guard::begin_locked(&state.db, caller, &first.connection_id).await?;
    let row = invitations::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?
        .filter(|i| i.tenant_id == caller.tenant_id && addressed_to(i, caller))
        .ok_or_else(ApiError::not_found)?;
    if row.status != InvitationStatus::Pending {
        return Err(conflict(format!(
            "The invitation is already {}.",
            row.status
        )));
    }
    Ok((txn, row))
}

/// An invitation by email belongs to the person whose email the PSA has *now* (SPEC S14):
/// the caller's email is a snapshot from their last sign-in or refresh, and the PSA may have
/// given that address to someone else since. The PSA is asked (before any lock is taken);
/// when its answer differs from the snapshot, the snapshot's email is brought up to date, and
/// unless the current email matches, the invitation is not the caller's (404, as for anyone
/// else's).
async fn confirm_current_email(
    state: &AppState,
    caller: &Caller,
    row: &invitations::Model,
) -> Result<(), ApiError> {
    let Some(key) = row.invitee_email_key.as_deref() else {
        return Ok(());
    };
    let psa = psa_settings::Entity::find_by_id(caller.tenant_id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let resource = state
        .psa
        .provider(&psa, Priority::Foreground)?
        .resource(caller.user.psa_resource_id)
        .await?;
    let Some(resource) = resource else {
        return Err(ApiError::not_found());
    };
    let current = db::email_key(&resource.email);
    if resource.email != caller.user.email {
        users::Entity::update_many()
            .col_expr(users::Column::Email, Expr::value(resource.email.clone()))
            .col_expr(users::Column::EmailKey, Expr::value(current.clone()))
            .filter(users::Column::TenantId.eq(&caller.tenant_id))
            .filter(users::Column::Id.eq(&caller.user.id))
            .exec(&state.db)
            .await?;
    }
    if current != key {
        return Err(ApiError::not_found());
    }
    Ok(())
}

/// An accepted invitation by email names, from then on, the user who accepted it.
async fn bind_to_caller(
    txn: &DatabaseTransaction,
    caller: &Caller,
    accepted: invitations::Model,
) -> Result<invitations::Model, ApiError> {
    if accepted.invitee_user_id.is_some() {
        return Ok(accepted);
    }
    invitations::Entity::update_many()
        .col_expr(
            invitations::Column::InviteeUserId,
            Expr::value(caller.user.id.clone()),
        )
        .filter(invitations::Column::Id.eq(&accepted.id))
        .exec(txn)
        .await?;
    Ok(invitations::Model {
        invitee_user_id: Some(caller.user.id.clone()),
        ..accepted
    })
}

/// Tells the inviter what became of their invitation (SPEC S15), in the change's
/// transaction. `actor` is whoever caused it (`None`: the hub itself, for an invitation
/// that expired). Nobody is told of what they did themselves, and an inviter the hub no
/// longer has is told nothing.
pub(crate) async fn tell_inviter(
    txn: &DatabaseTransaction,
    tenant_id: &str,
    actor: Option<&users::Model>,
    row: &invitations::Model,
    outcome: Outcome,
) -> Result<(), sea_orm::DbErr> {
    if actor.is_some_and(|a| a.id == row.invited_by) {
        return Ok(());
    }
    let Some(inviter) = users::Entity::find_by_id(row.invited_by.clone())
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let Some(connection) = conn::Entity::find_by_id(row.connection_id.clone())
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let invitee = match (outcome, actor) {
        // The invitee answered: it is the actor.
        (Outcome::Accepted | Outcome::Declined, Some(actor)) => actor.display_name.clone(),
        _ => {
            let named = match &row.invitee_user_id {
                Some(id) => users::Entity::find_by_id(id.clone()).one(txn).await?,
                None => None,
            };
            notify::messages::invitee_label(row, named.as_ref())
        }
    };
    notify::enqueue(
        txn,
        tenant_id,
        notify::messages::invitation_outcome(
            outcome,
            row,
            &connection,
            &inviter,
            &invitee,
            actor.map(|a| a.display_name.as_str()),
        ),
    )
    .await?;
    Ok(())
}

/// Marks every pending invitation of every tenant past its expiry `expired`, each with its
/// entry (by the hub itself) and its message to the inviter, in a transaction of its own;
/// answers how many it expired. Run by the expiry job (`[smtp] expire_every_secs`); an
/// invitation someone else expired meanwhile is skipped.
pub async fn expire_due(db: &sea_orm::DatabaseConnection) -> Result<usize, sea_orm::DbErr> {
    const BATCH: u64 = 200;
    let now = db::now();
    let mut expired = 0;
    let mut seen: std::collections::HashSet<InvitationId> = std::collections::HashSet::new();
    loop {
        let due = invitations::Entity::find()
            .filter(invitations::Column::Status.eq(InvitationStatus::Pending))
            .filter(invitations::Column::ExpiresAt.lte(now))
            .order_by_asc(invitations::Column::ExpiresAt)
            .order_by_asc(invitations::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let full = due.len() as u64 == BATCH;
        let mut progressed = false;
        for row in due {
            if !seen.insert(row.id.clone()) {
                continue;
            }
            progressed = true;
            expired += expire_one(db, &row, now).await?;
        }
        if !full || !progressed {
            return Ok(expired);
        }
    }
}

/// Expires one invitation the job found due, with its entry and the inviter's message, in a
/// transaction of its own; 0 when someone else closed it meanwhile.
async fn expire_one(
    db: &sea_orm::DatabaseConnection,
    row: &invitations::Model,
    now: DateTime<Utc>,
) -> Result<usize, sea_orm::DbErr> {
    use sea_orm::TransactionTrait as _;
    let txn = db.begin().await?;
    if !close_if_pending(&txn, row, InvitationStatus::Expired, now, None).await? {
        return Ok(0);
    }
    crate::activity::record(
        &txn,
        crate::activity::Entry {
            tenant_id: &row.tenant_id,
            actor: &Actor::System,
            action: actions::INVITATION_EXPIRED,
            target: Target::new("invitation", &row.id, row.role.as_str()),
            connection_id: Some(&row.connection_id),
            details: json!({ "expires_at": row.expires_at }),
            meta: &crate::activity::RequestMeta::system(),
        },
    )
    .await?;
    tell_inviter(&txn, &row.tenant_id, None, row, Outcome::Expired).await?;
    txn.commit().await?;
    Ok(1)
}

/// Starts the expiry job (`[smtp] expire_every_secs`; 0: none).
pub fn spawn_expiry(state: &AppState) {
    let every = state.settings.smtp.expire_every_secs;
    if every == 0 {
        return;
    }
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(every));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match expire_due(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "invitations past their time expired"),
                Err(e) => tracing::warn!(error = %e, "the invitation expiry job could not run"),
            }
        }
    });
}

/// `POST /api/v1/invitations/{id}/accept` (SPEC S5.1, S5.3).
pub async fn accept(
    state: &AppState,
    caller: &Caller,
    id: &InvitationId,
) -> Result<Invitation, ApiError> {
    let (txn, row) = for_invitee(state, caller, id).await?;
    let now = db::now();
    if row.expires_at <= now {
        return expire_and_refuse(txn, caller, &row, now).await;
    }
    if caller.access_level() == HubAccess::None {
        return Err(ApiError::new(
            ProblemCode::UserInactive,
            "Without hub access an invitation cannot be accepted.",
        ));
    }
    let model = guard::in_tenant(&txn, caller, &row.connection_id).await?;
    guard::refuse_if_cancelled(&model)?;
    refuse_if_inviter_lost_access(&txn, &row).await?;
    let role = row.role;
    let accepted = if role == ConnectionRole::Owner {
        accept_transfer(&txn, caller, &model, &row, now).await?
    } else {
        accept_role(&txn, caller, &model, &row, role, now).await?
    };
    let accepted = bind_to_caller(&txn, caller, accepted).await?;
    tell_inviter(
        &txn,
        &caller.tenant_id,
        Some(&caller.user),
        &row,
        Outcome::Accepted,
    )
    .await?;
    txn.commit().await?;
    Ok(view(&accepted, now))
}

/// SPEC S12: an invitation is only as good as its sender's hub access, decided from current
/// data (S2). Whoever lost it (deactivated, or the PSA withdrew it) vouches for nobody.
async fn refuse_if_inviter_lost_access(
    txn: &DatabaseTransaction,
    row: &invitations::Model,
) -> Result<(), ApiError> {
    let inviter = users::Entity::find_by_id(row.invited_by.clone())
        .one(txn)
        .await?;
    let level = match &inviter {
        Some(inviter) => access_of(txn, inviter).await?.level,
        None => HubAccess::None,
    };
    if level == HubAccess::None {
        return Err(ApiError::new(
            ProblemCode::InviterLostAccess,
            "The person who sent this invitation no longer has hub access, so it can no \
             longer be accepted. Ask someone on the connection to invite you again.",
        ));
    }
    Ok(())
}

/// Accepting an owner invitation: ownership moves from the inviter (still the owner) to the
/// caller, who keeps `retain_role` if named. One `connection.ownership_transferred` entry.
async fn accept_transfer(
    txn: &DatabaseTransaction,
    caller: &Caller,
    model: &conn::Model,
    row: &invitations::Model,
    now: DateTime<Utc>,
) -> Result<invitations::Model, ApiError> {
    if model.owner_user_id == caller.user.id {
        return Err(conflict("You already own this connection."));
    }
    if model.owner_user_id != row.invited_by {
        return Err(conflict(
            "The connection's owner has changed since this transfer was offered.",
        ));
    }
    let previous = model.owner_user_id.clone();
    let retain = row.retain_role;
    move_owner(txn, caller, model, &previous, &caller.user.id, retain, now).await?;
    let accepted = set_status(txn, row, InvitationStatus::Accepted, now, None).await?;
    record(
        txn,
        caller,
        &caller.actor(),
        &model.id,
        actions::CONNECTION_OWNERSHIP_TRANSFERRED,
        Target::new("connection", &model.id, &model.name),
        json!({
            "invitation_id": row.id,
            "from_user_id": previous,
            "to_user_id": caller.user.id,
            "retain_role": retain,
        }),
    )
    .await?;
    Ok(accepted)
}

/// Accepting any other role: granted unless already held, while the inviter's roles still
/// allow the invitation. One `invitation.accepted` entry.
async fn accept_role(
    txn: &DatabaseTransaction,
    caller: &Caller,
    model: &conn::Model,
    row: &invitations::Model,
    role: ConnectionRole,
    now: DateTime<Utc>,
) -> Result<invitations::Model, ApiError> {
    let held = read::roles_on(txn, &model.id, &caller.user.id).await?;
    // The ladder holds at acceptance too: an inviter who since lost the roles that allowed
    // the invitation (removed, left, transferred away) no longer vouches for it.
    let inviter_roles = read::roles_on(txn, &model.id, &row.invited_by).await?;
    if !can_invite(&inviter_roles, role) {
        return Err(conflict(
            "The inviter's roles on this connection no longer allow this invitation.",
        ));
    }
    if !held.contains(&role) {
        role_assignments::Entity::insert(role_assignments::ActiveModel {
            connection_id: Set(model.id.clone()),
            user_id: Set(caller.user.id.clone()),
            role: Set(role),
            tenant_id: Set(caller.tenant_id.clone()),
            granted_by: Set(Some(row.invited_by.clone())),
            granted_at: Set(now),
        })
        .exec_without_returning(txn)
        .await?;
    }
    let accepted = set_status(txn, row, InvitationStatus::Accepted, now, None).await?;
    record(
        txn,
        caller,
        &caller.actor(),
        &model.id,
        actions::INVITATION_ACCEPTED,
        Target::new("invitation", &row.id, role.wire_name()),
        json!({ "role": role, "user_id": caller.user.id, "invited_by": row.invited_by }),
    )
    .await?;
    Ok(accepted)
}

/// `POST /api/v1/invitations/{id}/decline`.
pub async fn decline(
    state: &AppState,
    caller: &Caller,
    id: &InvitationId,
) -> Result<Invitation, ApiError> {
    let (txn, row) = for_invitee(state, caller, id).await?;
    let now = db::now();
    if row.expires_at <= now {
        return expire_and_refuse(txn, caller, &row, now).await;
    }
    let declined = set_status(&txn, &row, InvitationStatus::Declined, now, None).await?;
    record(
        &txn,
        caller,
        &caller.actor(),
        &row.connection_id,
        actions::INVITATION_DECLINED,
        Target::new("invitation", &row.id, row.role.as_str()),
        json!({ "role": row.role, "user_id": caller.user.id }),
    )
    .await?;
    tell_inviter(
        &txn,
        &caller.tenant_id,
        Some(&caller.user),
        &row,
        Outcome::Declined,
    )
    .await?;
    txn.commit().await?;
    Ok(view(&declined, now))
}

/// `DELETE /api/v1/invitations/{id}`: by the inviter or anyone whose roles could issue it.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    id: &InvitationId,
) -> Result<Invitation, ApiError> {
    let first = find_invitation(state, caller, id).await?;
    let txn = guard::begin_locked(&state.db, caller, &first.connection_id).await?;
    let row = invitations::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?
        .filter(|i| i.tenant_id == caller.tenant_id)
        .ok_or_else(ApiError::not_found)?;
    let roles = read::roles_on(&txn, &row.connection_id, &caller.user.id).await?;
    let role = row.role;
    let is_inviter = row.invited_by == caller.user.id;
    if !is_inviter {
        if roles.is_empty() {
            return Err(ApiError::not_found());
        }
        forbid_unless(can_invite(&roles, role), ConnectionAction::invite(role))?;
    }
    if row.status != InvitationStatus::Pending {
        return Err(conflict(format!(
            "The invitation is already {}.",
            row.status
        )));
    }
    let now = db::now();
    if row.expires_at <= now {
        return expire_and_refuse(txn, caller, &row, now).await;
    }
    let revoked = set_status(
        &txn,
        &row,
        InvitationStatus::Revoked,
        now,
        Some(&caller.user.id),
    )
    .await?;
    record(
        &txn,
        caller,
        &caller.actor(),
        &row.connection_id,
        actions::INVITATION_REVOKED,
        Target::new("invitation", &row.id, row.role.as_str()),
        json!({
            "role": row.role,
            "invitee_user_id": row.invitee_user_id,
            "invitee_email": row.invitee_email,
        }),
    )
    .await?;
    tell_inviter(
        &txn,
        &caller.tenant_id,
        Some(&caller.user),
        &row,
        Outcome::Revoked,
    )
    .await?;
    txn.commit().await?;
    Ok(view(&revoked, now))
}
