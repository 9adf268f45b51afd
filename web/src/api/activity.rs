//! The activity log (SPEC S7).

use hubkeep_shared::api::{ActivityEntry, ActivityExportQuery, ActivityQuery, Page};

use super::{ClientError, get, get_file, seg, with_query};

/// `GET /api/v1/activity`
pub async fn list(query: &ActivityQuery) -> Result<Page<ActivityEntry>, ClientError> {
    get(&with_query("/api/v1/activity", query)).await
}

/// `GET /api/v1/activity/{id}`
pub async fn get_entry(id: &str) -> Result<ActivityEntry, ClientError> {
    get(&format!("/api/v1/activity/{}", seg(id))).await
}

/// `GET /api/v1/activity/export`: the file.
pub async fn export(query: &ActivityExportQuery) -> Result<web_sys::Blob, ClientError> {
    get_file(&with_query("/api/v1/activity/export", query)).await
}
