//! Saved views of a connection.

use hubkeep_shared::api::{ConnectionView, Page, PageQuery, ViewInput};
use hubkeep_shared::{ConnectionId, ViewId};

use super::{ClientError, delete, get, post, put, seg, with_query};

fn path(connection_id: &str, rest: &str) -> String {
    format!("/api/v1/connections/{}/views{rest}", seg(connection_id))
}

/// `GET /api/v1/connections/{id}/views`
pub async fn list(
    connection_id: &ConnectionId,
    query: &PageQuery,
) -> Result<Page<ConnectionView>, ClientError> {
    get(&with_query(&path(connection_id, ""), query)).await
}

/// `POST /api/v1/connections/{id}/views`
pub async fn create(
    connection_id: &ConnectionId,
    view: &ViewInput,
) -> Result<ConnectionView, ClientError> {
    post(&path(connection_id, ""), view).await
}

/// `PUT /api/v1/connections/{id}/views/{view_id}`
pub async fn replace(
    connection_id: &ConnectionId,
    view_id: &ViewId,
    view: &ViewInput,
) -> Result<ConnectionView, ClientError> {
    put(&path(connection_id, &format!("/{}", seg(view_id))), view).await
}

/// `DELETE /api/v1/connections/{id}/views/{view_id}`
pub async fn delete_view(
    connection_id: &ConnectionId,
    view_id: &ViewId,
) -> Result<(), ClientError> {
    delete(&path(connection_id, &format!("/{}", seg(view_id)))).await
}
