//! Personal API tokens, the tenant's oversight list, and sync-engine tokens (SPEC S3, S8.2).

use hubkeep_shared::TokenId;
use hubkeep_shared::api::{
    ApiToken, CreateEngineToken, CreateToken, CreatedEngineToken, CreatedToken, EngineToken, Page,
    PageQuery, TenantApiToken,
};

use super::{ClientError, delete, get, post, seg, with_query};

/// `GET /api/v1/me/tokens`
pub async fn mine(query: &PageQuery) -> Result<Page<ApiToken>, ClientError> {
    get(&with_query("/api/v1/me/tokens", query)).await
}

/// `POST /api/v1/me/tokens`
pub async fn create(new: &CreateToken) -> Result<CreatedToken, ClientError> {
    post("/api/v1/me/tokens", new).await
}

/// `DELETE /api/v1/me/tokens/{id}`
pub async fn revoke_mine(id: &TokenId) -> Result<(), ClientError> {
    delete(&format!("/api/v1/me/tokens/{}", seg(id))).await
}

/// `GET /api/v1/tokens`
pub async fn tenant(query: &PageQuery) -> Result<Page<TenantApiToken>, ClientError> {
    get(&with_query("/api/v1/tokens", query)).await
}

/// `DELETE /api/v1/tokens/{id}`
pub async fn revoke_tenant(id: &TokenId) -> Result<(), ClientError> {
    delete(&format!("/api/v1/tokens/{}", seg(id))).await
}

/// `GET /api/v1/engine-tokens`
pub async fn engine(query: &PageQuery) -> Result<Page<EngineToken>, ClientError> {
    get(&with_query("/api/v1/engine-tokens", query)).await
}

/// `POST /api/v1/engine-tokens`
pub async fn create_engine(new: &CreateEngineToken) -> Result<CreatedEngineToken, ClientError> {
    post("/api/v1/engine-tokens", new).await
}

/// `DELETE /api/v1/engine-tokens/{id}`
pub async fn revoke_engine(id: &TokenId) -> Result<(), ClientError> {
    delete(&format!("/api/v1/engine-tokens/{}", seg(id))).await
}
