//! The Access tab: security levels and the elevated set (SPEC S2.1).

use hubkeep_shared::api::{ElevatedLevels, SecurityLevels};

use super::{ClientError, get, put};

/// `GET /api/v1/security-levels`
pub async fn security_levels() -> Result<SecurityLevels, ClientError> {
    get("/api/v1/security-levels").await
}

/// `GET /api/v1/access/elevated-levels`
pub async fn elevated_levels() -> Result<ElevatedLevels, ClientError> {
    get("/api/v1/access/elevated-levels").await
}

/// `PUT /api/v1/access/elevated-levels`
pub async fn save_elevated_levels(levels: &ElevatedLevels) -> Result<ElevatedLevels, ClientError> {
    put("/api/v1/access/elevated-levels", levels).await
}
