//! Email preferences and the outbox (SPEC S15).

use hubkeep_shared::NotificationId;
use hubkeep_shared::api::{
    Notification, NotificationPreferences, NotificationPreferencesPatch, NotificationQuery, Page,
};

use super::{ClientError, get, patch, post_empty, seg, with_query};

/// `GET /api/v1/me/preferences`
pub async fn preferences() -> Result<NotificationPreferences, ClientError> {
    get("/api/v1/me/preferences").await
}

/// `PATCH /api/v1/me/preferences`
pub async fn update_preferences(
    patch_body: &NotificationPreferencesPatch,
) -> Result<NotificationPreferences, ClientError> {
    patch("/api/v1/me/preferences", patch_body).await
}

/// `GET /api/v1/notifications`
pub async fn outbox(query: &NotificationQuery) -> Result<Page<Notification>, ClientError> {
    get(&with_query("/api/v1/notifications", query)).await
}

/// `POST /api/v1/notifications/{id}/retry`
pub async fn retry(id: &NotificationId) -> Result<Notification, ClientError> {
    post_empty(&format!("/api/v1/notifications/{}/retry", seg(id))).await
}
