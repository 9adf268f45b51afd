//! Members, invitations and ownership (SPEC S5).

use super::connections::UserRef;
use super::users::User;
use crate::ids::{ConnectionId, InvitationId, UserId};
use crate::{ConnectionKind, ConnectionRole};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// Where an invitation stands.
    pub enum InvitationStatus {
        /// Waiting for the invitee (and not yet past `expires_at`).
        Pending,
        Accepted,
        Declined,
        Revoked,
        /// Past `expires_at` without an answer.
        Expired,
    }
}

/// Who an invitation is for: a hub user, an email (waiting for a hub user with that email),
/// or both when the email belonged to a hub user when it was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitee {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub user_id: Option<UserId>,
    pub email: Option<String>,
}

/// An invitation to a role on a connection (SPEC S5.1). A `role` of `owner` is an ownership
/// transfer (S5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: InvitationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub connection_id: ConnectionId,
    pub role: ConnectionRole,
    /// `pending` turns into `expired` once `expires_at` has passed.
    pub status: InvitationStatus,
    pub expires_at: DateTime<Utc>,
    pub invitee: Invitee,
    /// The hub user id of the inviter.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub invited_by: UserId,
    /// Owner invitations only: the role the current owner keeps after the transfer.
    pub retain_role: Option<ConnectionRole>,
    pub created_at: DateTime<Utc>,
    /// When it was accepted, declined, revoked or marked expired.
    pub responded_at: Option<DateTime<Utc>>,
}

/// An invitation addressed to the caller, with the connection it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyInvitation {
    #[serde(flatten)]
    pub invitation: Invitation,
    pub connection_name: String,
    pub connection_kind: ConnectionKind,
}

/// One member of a connection and their roles (SPEC S8.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub user: User,
    /// In the order owner, business_admin, it_admin, read_only.
    pub roles: Vec<ConnectionRole>,
}

/// `POST /api/v1/connections/{id}/invitations` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"email": "it@contoso.example", "role": "it_admin"}))))]
pub struct NewInvitation {
    /// A hub user of the tenant. Exactly one of `user_id` and `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub user_id: Option<UserId>,
    /// An email; the invitation waits until a hub user with that email exists (compared
    /// case-insensitively). Exactly one of `user_id` and `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The role offered; `owner` is the ownership transfer (owner only; the invitee must be a
    /// hub user with hub access).
    pub role: ConnectionRole,
    /// Owner invitations only: a non-owner role the current owner keeps after the transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain_role: Option<ConnectionRole>,
}

/// `POST /api/v1/connections/{id}/recover-ownership` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"user_id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "retain_role": "business_admin"}))))]
pub struct RecoverOwnership {
    /// The new owner: a hub user of the tenant whose hub access is not `none`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// A non-owner role the previous owner keeps (besides their other roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain_role: Option<ConnectionRole>,
}

/// The outcome of an ownership recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnershipRecovered {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub connection_id: ConnectionId,
    pub previous_owner: UserRef,
    pub owner: UserRef,
    pub retain_role: Option<ConnectionRole>,
    /// Pending owner invitations of the previous owner, revoked by the recovery.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub revoked_invitation_ids: Vec<InvitationId>,
}

impl InvitationStatus {
    /// The stable snake_case name (as stored and sent).
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}
