//! Signing in: the PSA launch and the demo directory (public operations).

use hubkeep_shared::api::{DemoIdentities, DemoLaunch, LaunchRequest, TokenResponse};

use super::{ClientError, get_public, post_public};

/// `POST /api/v1/auth/launch`: exchanges a launch assertion for a session.
pub async fn launch(assertion: String) -> Result<TokenResponse, ClientError> {
    post_public("/api/v1/auth/launch", &LaunchRequest { assertion }).await
}

/// `GET /api/v1/demo/identities`
pub async fn demo_identities() -> Result<DemoIdentities, ClientError> {
    get_public("/api/v1/demo/identities").await
}

/// `POST /api/v1/demo/launch`
pub async fn demo_launch(resource_id: i64) -> Result<TokenResponse, ClientError> {
    post_public("/api/v1/demo/launch", &DemoLaunch { resource_id }).await
}
