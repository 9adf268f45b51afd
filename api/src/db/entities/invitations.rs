use hubkeep_shared::ConnectionRole;
use hubkeep_shared::api::InvitationStatus;
use hubkeep_shared::ids::{ConnectionId, InvitationId, UserId};
use sea_orm::entity::prelude::*;

/// An invitation to a role on a connection (SPEC S5.1).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: InvitationId,
    pub tenant_id: String,
    pub connection_id: ConnectionId,
    pub role: ConnectionRole,
    pub retain_role: Option<ConnectionRole>,
    pub invitee_user_id: Option<UserId>,
    pub invitee_email: Option<String>,
    pub invitee_email_key: Option<String>,
    pub invited_by: UserId,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub status: InvitationStatus,
    pub responded_at: Option<DateTimeUtc>,
    pub revoked_by: Option<UserId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
