//! Connections: the list, governance, one connection's settings, endpoints, billing,
//! members and ownership (SPEC S4, S5).

use futures::FutureExt as _;
use hubkeep_shared::ConnectionRole;
use hubkeep_shared::api::{
    Connection, ConnectionPatch, EndpointSide, GovernanceItem, Items, Member, NewConnection,
    OwnershipRecovered, Page, PageQuery, PaymentInput, ReconnectInput, RecoverOwnership,
};
use hubkeep_shared::{ConnectionId, UserId};

use super::{ClientError, PageFetch, delete, get, patch, post, post_empty, seg, with_query};

fn path(id: &str, rest: &str) -> String {
    format!("/api/v1/connections/{}{rest}", seg(id))
}

/// `GET /api/v1/connections`
pub async fn list(query: PageQuery) -> Result<Page<Connection>, ClientError> {
    get(&with_query("/api/v1/connections", &query)).await
}

/// [`list`] for the generic list widgets.
pub const LIST: PageFetch<Connection> = |q| list(q).boxed_local();

/// `GET /api/v1/connections/governance`
pub async fn governance(query: PageQuery) -> Result<Page<GovernanceItem>, ClientError> {
    get(&with_query("/api/v1/connections/governance", &query)).await
}

/// [`governance`] for the generic list widgets.
pub const GOVERNANCE: PageFetch<GovernanceItem> = |q| governance(q).boxed_local();

/// `POST /api/v1/connections`
pub async fn create(new: &NewConnection) -> Result<Connection, ClientError> {
    post("/api/v1/connections", new).await
}

/// `GET /api/v1/connections/{id}`
pub async fn get_one(id: &ConnectionId) -> Result<Connection, ClientError> {
    get(&path(id, "")).await
}

/// `PATCH /api/v1/connections/{id}`
pub async fn update(
    id: &ConnectionId,
    changes: &ConnectionPatch,
) -> Result<Connection, ClientError> {
    patch(&path(id, ""), changes).await
}

/// `POST /api/v1/connections/{id}/endpoints/{side}/disconnect`
pub async fn disconnect(id: &ConnectionId, side: EndpointSide) -> Result<Connection, ClientError> {
    post_empty(&path(
        id,
        &format!("/endpoints/{}/disconnect", side.wire_name()),
    ))
    .await
}

/// `POST /api/v1/connections/{id}/endpoints/{side}/reconnect`
pub async fn reconnect(
    id: &ConnectionId,
    side: EndpointSide,
    input: &ReconnectInput,
) -> Result<Connection, ClientError> {
    post(
        &path(id, &format!("/endpoints/{}/reconnect", side.wire_name())),
        input,
    )
    .await
}

/// `POST /api/v1/connections/{id}/pay`
pub async fn pay(id: &ConnectionId, payment: &PaymentInput) -> Result<Connection, ClientError> {
    post(&path(id, "/pay"), payment).await
}

/// `POST /api/v1/connections/{id}/cancel`
pub async fn cancel(id: &ConnectionId) -> Result<Connection, ClientError> {
    post_empty(&path(id, "/cancel")).await
}

/// `GET /api/v1/connections/{id}/members`
pub async fn members(id: &ConnectionId) -> Result<Items<Member>, ClientError> {
    get(&path(id, "/members")).await
}

/// `DELETE /api/v1/connections/{id}/members/{user_id}/roles/{role}`
pub async fn remove_role(
    id: &ConnectionId,
    user_id: &UserId,
    role: ConnectionRole,
) -> Result<(), ClientError> {
    delete(&path(
        id,
        &format!("/members/{}/roles/{}", seg(user_id), role.wire_name()),
    ))
    .await
}

/// `POST /api/v1/connections/{id}/leave`
pub async fn leave(id: &ConnectionId) -> Result<(), ClientError> {
    post_empty(&path(id, "/leave")).await
}

/// `POST /api/v1/connections/{id}/recover-ownership`
pub async fn recover_ownership(
    id: &ConnectionId,
    input: &RecoverOwnership,
) -> Result<OwnershipRecovered, ClientError> {
    post(&path(id, "/recover-ownership"), input).await
}
