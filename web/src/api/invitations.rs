//! Invitations: a connection's, the caller's, and answering them (SPEC S5.1, S5.3).

use hubkeep_shared::api::{Invitation, Items, MyInvitation, NewInvitation};
use hubkeep_shared::{ConnectionId, InvitationId};

use super::{ClientError, delete, get, post, post_empty, seg};

/// `GET /api/v1/connections/{id}/invitations`
pub async fn of_connection(connection_id: &ConnectionId) -> Result<Items<Invitation>, ClientError> {
    get(&format!(
        "/api/v1/connections/{}/invitations",
        seg(connection_id)
    ))
    .await
}

/// `POST /api/v1/connections/{id}/invitations`
pub async fn create(
    connection_id: &ConnectionId,
    new: &NewInvitation,
) -> Result<Invitation, ClientError> {
    post(
        &format!("/api/v1/connections/{}/invitations", seg(connection_id)),
        new,
    )
    .await
}

/// `DELETE /api/v1/invitations/{id}`
pub async fn revoke(id: &InvitationId) -> Result<Invitation, ClientError> {
    delete(&format!("/api/v1/invitations/{}", seg(id))).await
}

/// `GET /api/v1/me/invitations`
pub async fn mine() -> Result<Items<MyInvitation>, ClientError> {
    get("/api/v1/me/invitations").await
}

/// `POST /api/v1/invitations/{id}/accept`
pub async fn accept(id: &InvitationId) -> Result<Invitation, ClientError> {
    post_empty(&format!("/api/v1/invitations/{}/accept", seg(id))).await
}

/// `POST /api/v1/invitations/{id}/decline`
pub async fn decline(id: &InvitationId) -> Result<Invitation, ClientError> {
    post_empty(&format!("/api/v1/invitations/{}/decline", seg(id))).await
}
