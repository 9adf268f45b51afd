//! Demo sign-in (SPEC S3.2): only with `--demo`, only for the demo tenant on the directory
//! provider. Everywhere else these paths do not exist (404).

use actix_web::{HttpResponse, get, post, web};
use hubkeep_shared::api::PsaProvider;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::EntityTrait;
use serde_json::json;

use super::auth::tokens_response;
use crate::AppState;
use crate::activity::RequestMeta;
use crate::db::entities::{psa_settings, tenants};
use crate::error::ApiError;
use crate::identity::users::SecurityLevelRef;
use crate::identity::{launch, session};
use crate::psa::directory::DirectoryPsa;
use crate::tenant::provision::demo_tenant;
pub use hubkeep_shared::api::users::{DemoIdentities, DemoIdentity, DemoLaunch};

async fn demo_directory(
    state: &AppState,
) -> Result<(tenants::Model, psa_settings::Model, DirectoryPsa), ApiError> {
    if !state.settings.demo {
        return Err(ApiError::not_found());
    }
    let tenant = demo_tenant(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let psa = psa_settings::Entity::find_by_id(tenant.id.clone())
        .one(&state.db)
        .await?
        .filter(|p| p.provider == PsaProvider::Directory)
        .ok_or_else(ApiError::not_found)?;
    let directory = match &psa.directory_path {
        Some(path) => DirectoryPsa::load(std::path::Path::new(path))?,
        None => DirectoryPsa::demo()?,
    };
    Ok((tenant, psa, directory))
}

/// Demo mode: the identities one can sign in as.
///
/// Only when the server runs with `--demo` (404 otherwise): the demo directory's resources,
/// grouped by whether they may use the hub, with the reason when they may not.
#[utoipa::path(
    operation_id = "list_demo_identities",
    tag = "demo",
    responses(
        (status = 200, description = "The demo directory's resources", body = DemoIdentities),
    ),
    security(())
)]
#[get("/demo/identities")]
pub async fn list_demo_identities(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (_, _, directory) = demo_directory(&state).await?;
    let items = directory
        .resources()
        .iter()
        .map(|r| {
            let level = directory
                .levels()
                .iter()
                .find(|l| l.id == r.security_level_id);
            let facts = level.map(|l| l.facts()).unwrap_or_default();
            DemoIdentity {
                resource_id: r.id,
                name: r.display_name(),
                email: r.email.clone(),
                security_level: SecurityLevelRef {
                    id: r.security_level_id,
                    name: level.map_or_else(String::new, |l| l.name.clone()),
                },
                eligible_for_access: facts.eligible_for_access(),
                eligible_for_elevation: facts.eligible_for_elevation(),
                is_active: r.is_active,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(DemoIdentities { items }))
}

/// Demo mode: sign in as a directory resource.
///
/// Signs a launch assertion for the resource with the demo tenant's launch secret and
/// redeems it exactly as `POST /api/v1/auth/launch` would, with every rule applied.
#[utoipa::path(
    operation_id = "launch_demo_session",
    tag = "demo",
    request_body = DemoLaunch,
    responses(
        (status = 200, description = "Signed in", body = session::TokenResponse),
    ),
    security(())
)]
#[post("/demo/launch")]
pub async fn demo_launch(
    state: web::Data<AppState>,
    meta: RequestMeta,
    body: crate::http::extractors::JsonBody<DemoLaunch>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, psa, _) = demo_directory(&state).await?;
    crate::identity::rate_limit::check(&state.db, "launch", &meta, state.launch_limit()).await?;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": tenant.psa_id,
        "aud": launch::AUDIENCE,
        "sub": body.resource_id.to_string(),
        "iat": now,
        "exp": now + 60,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let assertion = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(
            state
                .secrets
                .launch_secret(&psa)?
                .expose_secret()
                .as_bytes(),
        ),
    )
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("signing a demo assertion: {e}")))?;
    let tokens = session::launch(&state, &assertion, &meta).await?;
    Ok(tokens_response(&tokens))
}
