//! Tenant settings, the PSA connection test and the launch secret (SPEC S3, S11).

use hubkeep_shared::PsaTestReport;
use hubkeep_shared::api::{LaunchSecret, Settings, UpdateSettings};

use super::{ClientError, get, post_empty, put};

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

/// `POST /api/v1/settings/launch-secret`
pub async fn rotate_launch_secret() -> Result<LaunchSecret, ClientError> {
    post_empty("/api/v1/settings/launch-secret").await
}
