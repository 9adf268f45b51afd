//! Members, invitations and ownership of a connection (SPEC S5.1–S5.4).
//!
//! Order of checks: 404 (no such connection or invitation, or not visible to the caller), 403
//! `forbidden` (the connection matrix), 409 (`connection_cancelled`, `owner_must_transfer`,
//! `conflict`), 410 `invitation_expired`, 422 (invalid values). Malformed bodies and unknown
//! fields are 422 before anything else is looked at. Each change writes exactly one activity
//! entry with `connection_id`.
//!
//! The paths of the operations on one connection (`/{id}/…`) are relative to the
//! `/api/v1/connections` scope ([`super::configure`]); the invitations' to `/api/v1`.

use actix_web::{HttpResponse, delete, get, post, web};
use hubkeep_shared::{ConnectionId, InvitationId, UserId};
use hubkeep_shared::{ConnectionRole, HubAction};
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::connections::{invitations, members, ownership};
use crate::error::ApiError;
use crate::identity::Caller;
use hubkeep_shared::api::Items;
use hubkeep_shared::api::members::{
    Invitation, Member, MyInvitation, NewInvitation, OwnershipRecovered, RecoverOwnership,
};

/// List a connection's members and their roles.
///
/// Any member may list. 404 when the connection does not exist or you hold no role on it.
/// Sorted by display name (case-insensitively), then id.
#[utoipa::path(
    operation_id = "list_connection_members",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    responses(
        (status = 200, description = "The members", body = Items<Member>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/{id}/members")]
pub async fn list_connection_members(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(members::list_members(&state, &caller, &id).await?))
}

/// Remove one role from a member.
///
/// Allowed to anyone whose roles could invite that role (SPEC S5.2), else 403 `forbidden`.
/// The owner role never moves this way: 409 `owner_must_transfer`. 404 when the member does
/// not hold the role. Writes `member.role_removed`. Allowed on a cancelled connection.
#[utoipa::path(
    operation_id = "remove_member_role",
    tag = "connections",
    params(
        ("id" = String, Path, description = "Connection id"),
        ("user_id" = String, Path, description = "The member's hub user id"),
        ("role" = ConnectionRole, Path, description = "The role to remove"),
    ),
    responses(
        (status = 204, description = "Removed"),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[delete("/{id}/members/{user_id}/roles/{role}")]
pub async fn remove_member_role(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(ConnectionId, UserId, ConnectionRole)>,
) -> Result<HttpResponse, ApiError> {
    let (id, user_id, role) = path.into_inner();
    let txn = state.db.begin().await?;
    members::remove_role(&txn, &caller, &id, &user_id, role).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Leave a connection: drop all your roles on it.
///
/// The owner must transfer ownership first (409 `owner_must_transfer`). Writes
/// `member.left`. Allowed on a cancelled connection.
#[utoipa::path(
    operation_id = "leave_connection",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    responses(
        (status = 204, description = "You no longer hold a role on the connection"),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/leave")]
pub async fn leave_connection(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
) -> Result<HttpResponse, ApiError> {
    let txn = state.db.begin().await?;
    members::leave(&txn, &caller, &id).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Invite a hub user (by id) or an email to a role on a connection.
///
/// Only down the ladder (SPEC S5.1): your roles must allow inviting that role, else 403
/// `forbidden`. A `role` of `owner` is the ownership transfer (owner only; the invitee must
/// be a hub user with hub access; optional `retain_role` for you). Exactly one of `user_id`
/// and `email` (422). The invitation expires after the tenant's `invitation_expiry_days`.
/// 409 `conflict` for a second pending invitation for the same invitee and role, a second
/// pending owner invitation, or an invitee who already holds the role; 409
/// `connection_cancelled` on a cancelled connection. Writes `invitation.created`.
#[utoipa::path(
    operation_id = "create_invitation",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    request_body = NewInvitation,
    responses(
        (status = 201, description = "The pending invitation", body = Invitation),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/invitations")]
pub async fn create_invitation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
    body: crate::http::extractors::JsonBody<NewInvitation>,
) -> Result<HttpResponse, ApiError> {
    let txn = state.db.begin().await?;
    let created = invitations::create_invitation(&txn, &caller, &id, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

/// List a connection's pending invitations.
///
/// Any member may list; expired invitations are left out.
#[utoipa::path(
    operation_id = "list_connection_invitations",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    responses(
        (status = 200, description = "The pending invitations, oldest first", body = Items<Invitation>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/{id}/invitations")]
pub async fn list_connection_invitations(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(invitations::list_for_connection(&state, &caller, &id).await?))
}

/// List the invitations waiting for you.
///
/// Pending, unexpired invitations addressed to your user id, or to your email
/// (case-insensitively) when they name no hub user, with the connection's name and kind.
#[utoipa::path(
    operation_id = "list_my_invitations",
    tag = "me",
    responses(
        (status = 200, description = "Your pending invitations, oldest first", body = Items<MyInvitation>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/me/invitations")]
pub async fn list_my_invitations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(invitations::list_mine(&state, &caller).await?))
}

/// Accept an invitation addressed to you.
///
/// Only the invitee (anyone else, the inviter included: 404). An invitation by email is
/// yours when the PSA has your email *now*: it is asked (503 `psa_unavailable` when it
/// cannot answer), and the invitation is then bound to you. Grants the role; an owner
/// invitation moves the owner role to you in one transaction (the previous owner keeps
/// their other roles and the invitation's `retain_role`). 410 `invitation_expired` past its
/// expiry; 409 `conflict` when it is no longer pending, the owner changed since a transfer
/// was offered, or the inviter's roles no longer allow the invitation; 409
/// `connection_cancelled` on a cancelled connection. Writes
/// `invitation.accepted`, or `connection.ownership_transferred` for an owner invitation.
#[utoipa::path(
    operation_id = "accept_invitation",
    tag = "connections",
    params(("id" = String, Path, description = "Invitation id")),
    responses(
        (status = 200, description = "The accepted invitation", body = Invitation),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/invitations/{id}/accept")]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InvitationId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(invitations::accept(&state, &caller, &id).await?))
}

/// Decline an invitation addressed to you.
///
/// Only the invitee (anyone else: 404; an invitation by email is checked against your
/// current email in the PSA, as for accepting). 410 `invitation_expired` past its expiry;
/// 409 `conflict` when it is no longer pending. Writes `invitation.declined`.
#[utoipa::path(
    operation_id = "decline_invitation",
    tag = "connections",
    params(("id" = String, Path, description = "Invitation id")),
    responses(
        (status = 200, description = "The declined invitation", body = Invitation),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/invitations/{id}/decline")]
pub async fn decline_invitation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InvitationId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(invitations::decline(&state, &caller, &id).await?))
}

/// Revoke a pending invitation.
///
/// The inviter, or anyone whose roles could issue that invitation. Others: 404 without a
/// role on the connection, else 403 `forbidden`. 409 `conflict` when it is no longer
/// pending; 410 `invitation_expired` past its expiry. Writes `invitation.revoked`.
#[utoipa::path(
    operation_id = "revoke_invitation",
    tag = "connections",
    params(("id" = String, Path, description = "Invitation id")),
    responses(
        (status = 200, description = "The revoked invitation", body = Invitation),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[delete("/invitations/{id}")]
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InvitationId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(invitations::revoke(&state, &caller, &id).await?))
}

/// Recover the ownership of an orphaned connection.
///
/// Elevated hub access only (403 `elevated_access_required`); no role on the connection is
/// needed. Only when the owner's hub access is `none` (else 409 `conflict`); the new owner
/// must be a hub user of the tenant with hub access (422). The owner role moves in one
/// transaction; the previous owner keeps their other roles plus `retain_role`; their pending
/// owner invitations are revoked. Writes `connection.ownership_recovered`.
#[utoipa::path(
    operation_id = "recover_ownership",
    tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    request_body = RecoverOwnership,
    responses(
        (status = 200, description = "The new owner", body = OwnershipRecovered),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/{id}/recover-ownership")]
pub async fn recover_ownership(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ConnectionId>,
    body: crate::http::extractors::JsonBody<RecoverOwnership>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::GovernConnections)?;
    let txn = state.db.begin().await?;
    let recovered = ownership::recover(&txn, &caller, &id, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(recovered))
}
