//! Tenant settings, the PSA connection test, the PSA change feed and the launch secret
//! (SPEC S3, S11, S12).

use hubkeep_shared::PsaTestReport;
use hubkeep_shared::api::{
    LaunchSecret, PsaStatus, ReconcileSummary, Settings, UpdateSettings, WebhookStatus,
};

use super::{ClientError, delete, get, post_empty, put};

/// `GET /api/v1/settings`
pub async fn get_settings() -> Result<Settings, ClientError> {
    get("/api/v1/settings").await
}

/// `PUT /api/v1/settings`
pub async fn update(changes: &UpdateSettings) -> Result<Settings, ClientError> {
    put("/api/v1/settings", changes).await
}

/// `POST /api/v1/psa/test`
pub async fn test_psa() -> Result<PsaTestReport, ClientError> {
    post_empty("/api/v1/psa/test").await
}

/// `GET /api/v1/psa/status` (SPEC S12)
pub async fn psa_status() -> Result<PsaStatus, ClientError> {
    get("/api/v1/psa/status").await
}

/// `POST /api/v1/psa/webhook` (SPEC S12)
pub async fn subscribe_webhook() -> Result<WebhookStatus, ClientError> {
    post_empty("/api/v1/psa/webhook").await
}

/// `DELETE /api/v1/psa/webhook` (SPEC S12)
pub async fn unsubscribe_webhook() -> Result<(), ClientError> {
    delete("/api/v1/psa/webhook").await
}

/// `POST /api/v1/psa/reconcile` (SPEC S12)
pub async fn reconcile_psa() -> Result<ReconcileSummary, ClientError> {
    post_empty("/api/v1/psa/reconcile").await
}

/// `POST /api/v1/settings/launch-secret`
pub async fn rotate_launch_secret() -> Result<LaunchSecret, ClientError> {
    post_empty("/api/v1/settings/launch-secret").await
}
