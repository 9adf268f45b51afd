//! Sync runs and the sync-status overview (SPEC S6).

use futures::FutureExt as _;
use hubkeep_shared::api::{Page, PageQuery, RunRequest, RunsQuery, SyncRun, SyncStatusItem};
use hubkeep_shared::{ConnectionId, RunId};

use super::{ClientError, PageFetch, get, post, post_empty, seg, with_query};

fn path(connection_id: &str, rest: &str) -> String {
    format!("/api/v1/connections/{}/runs{rest}", seg(connection_id))
}

/// `GET /api/v1/connections/{id}/runs`
pub async fn list(
    connection_id: &ConnectionId,
    query: &RunsQuery,
) -> Result<Page<SyncRun>, ClientError> {
    get(&with_query(&path(connection_id, ""), query)).await
}

/// `POST /api/v1/connections/{id}/runs`
pub async fn request(
    connection_id: &ConnectionId,
    run: &RunRequest,
) -> Result<SyncRun, ClientError> {
    post(&path(connection_id, ""), run).await
}

/// `POST /api/v1/connections/{id}/runs/{run_id}/hide`, or `…/unhide`.
pub async fn set_hidden(
    connection_id: &ConnectionId,
    run_id: &RunId,
    hidden: bool,
) -> Result<SyncRun, ClientError> {
    let verb = if hidden { "hide" } else { "unhide" };
    post_empty(&path(connection_id, &format!("/{}/{verb}", seg(run_id)))).await
}

/// `GET /api/v1/sync-status`
pub async fn sync_status(query: PageQuery) -> Result<Page<SyncStatusItem>, ClientError> {
    get(&with_query("/api/v1/sync-status", &query)).await
}

/// [`sync_status`] for the generic list widgets.
pub const SYNC_STATUS: PageFetch<SyncStatusItem> = |q| sync_status(q).boxed_local();
