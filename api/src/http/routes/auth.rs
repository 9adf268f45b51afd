//! Sign-in from the PSA, session refresh and sign-out (SPEC S3.2, S3.3).

use actix_web::{HttpResponse, http::header, post, web};
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::activity::RequestMeta;
use crate::error::ApiError;
use crate::identity::rate_limit;
use crate::identity::{Caller, session};

/// Token responses must never be cached by a browser or proxy.
pub fn tokens_response(body: &session::TokenResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// Sign in with a launch assertion.
///
/// The PSA-side launcher signs a short-lived assertion for the resource who opened the hub
/// from the PSA menu; this verifies it (once: each `jti` is accepted a single time), reads
/// the resource and its security level from the PSA, creates the hub user on their first
/// sign-in (the tenant's first user becomes the primary user and must be eligible for
/// elevation), and starts a session.
#[utoipa::path(
    operation_id = "launch_session",
    tag = "auth",
    request_body = session::LaunchRequest,
    responses(
        (status = 200, description = "Signed in", body = session::TokenResponse),
    ),
    security(())
)]
#[post("/auth/launch")]
pub async fn launch(
    state: web::Data<AppState>,
    meta: RequestMeta,
    body: crate::http::extractors::JsonBody<session::LaunchRequest>,
) -> Result<HttpResponse, ApiError> {
    // Counted per client and per issuer (SPEC S14): one client's garbage, or garbage for
    // one tenant, never refuses anyone else.
    let issuer = crate::identity::launch::peek_issuer(&body.assertion).unwrap_or_default();
    let bucket = rate_limit::launch_bucket(&issuer);
    let limit = state.launch_limit();
    // A looser bound per client across every issuer: a client inventing issuers (to probe
    // which are tenants) gets no fresh allowance with each.
    let any_issuer = rate_limit::Limit {
        limit: limit.limit.saturating_mul(rate_limit::ANY_ISSUER_FACTOR),
        ..limit
    };
    rate_limit::check(&state.db, "launch-any", &meta, any_issuer).await?;
    rate_limit::check(&state.db, &bucket, &meta, limit).await?;
    let tokens = session::launch(&state, &body.assertion, &meta).await?;
    Ok(tokens_response(&tokens))
}

/// Exchange a refresh token for new tokens.
///
/// Refresh tokens are single-use: the response carries the next one. Presenting a used one
/// again revokes the whole session. The PSA is asked again about the resource: if their
/// access is gone, the session ends (`reauthorization_required`); if the PSA cannot be
/// reached, the answer is 503 and the refresh token stays valid for a retry.
#[utoipa::path(
    operation_id = "refresh_session",
    tag = "auth",
    request_body = session::RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = session::TokenResponse),
    ),
    security(())
)]
#[post("/auth/refresh")]
pub async fn refresh_session(
    state: web::Data<AppState>,
    meta: RequestMeta,
    body: crate::http::extractors::JsonBody<session::RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    rate_limit::check(&state.db, "refresh", &meta, state.refresh_limit()).await?;
    let tokens = session::refresh(&state, &body.refresh_token, &meta).await?;
    Ok(tokens_response(&tokens))
}

/// Sign out: revoke the current session.
///
/// Console sessions only: an API token cannot sign out (`forbidden`; revoke the token instead).
/// The access and refresh tokens of the session stop working at once. Writes `session.revoked`.
#[utoipa::path(
    operation_id = "end_session",
    tag = "auth",
    responses(
        (status = 204, description = "The session is revoked"),
    ),
    security(("session" = []))
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let txn = state.db.begin().await?;
    session::logout(&txn, &caller).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
