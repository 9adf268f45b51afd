//! Tenant settings (SPEC S6): every hub user reads them (secrets never shown); elevated
//! users edit them and rotate the launch secret.

use actix_web::{HttpResponse, get, post, put, web};
use hubkeep_shared::HubAction;
use sea_orm::TransactionTrait;

use crate::AppState;
use crate::error::ApiError;
use crate::identity::Caller;
use crate::tenant::settings::{self, LaunchSecret, Settings, UpdateSettings};
use hubkeep_shared::PsaTestReport;

/// Read the tenant's settings.
///
/// Secrets (the Autotask integration code and secret, the launch secret, the OpenID Connect
/// client secret) are never shown, only whether they are set. `oidc.redirect_uri` is the
/// URI to register at the identity provider (`null` without `[http] public_url`). Limited users also do not see `psa.directory_path` and
/// `psa.api_user`.
#[utoipa::path(
    operation_id = "get_settings",
    tag = "settings",
    responses(
        (status = 200, description = "The settings", body = Settings),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ViewSettings)?;
    let redirect_uri = super::oidc::public_redirect_uri(&state);
    Ok(HttpResponse::Ok().json(settings::get(&state.db, &caller, redirect_uri).await?))
}

/// Change the tenant's settings (elevated users).
///
/// Send only the fields to change; `accounting_mappings` replaces the whole list. Secrets are
/// write-only. Switching `psa.provider` to `autotask` needs an API user, integration code
/// and secret. On a tenant with stored Autotask credentials, changing the provider, zone or
/// API user needs the integration code and secret again in the same request (422
/// `credentials_required`). The zone must be an Autotask host over HTTPS (or one the operator
/// allowed); the directory file is set by the operator only. An invalid request changes nothing and lists
/// every invalid field (`psa.zone_url`, `accounting_mappings.2.source_code`, …). `oidc`
/// enables OpenID Connect sign-in (issuer, client id and client secret the first time) or,
/// as `null`, turns it off; a new issuer or client id needs the client secret again (422
/// `credentials_required`); the issuer must be `https://` unless the operator set `[oidc]
/// allow_http`. The change is logged as one `settings.updated` entry, secrets shown as
/// `"***"`.
#[utoipa::path(
    operation_id = "update_settings",
    tag = "settings",
    request_body = UpdateSettings,
    responses(
        (status = 200, description = "The updated settings", body = Settings),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[put("/settings")]
pub async fn update_settings(
    state: web::Data<AppState>,
    caller: Caller,
    body: crate::http::extractors::JsonBody<UpdateSettings>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::EditSettings)?;
    let context = settings::UpdateContext {
        zones: state.psa.zones(),
        secrets: &state.secrets,
        allow_http_issuers: state.oidc.allows_http(),
        redirect_uri: super::oidc::public_redirect_uri(&state),
    };
    let txn = state.db.begin().await?;
    let updated = settings::update(&txn, context, &caller, body.into_inner()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(updated))
}

/// Replace the launch secret (elevated users).
///
/// The PSA-side launcher signs launch assertions with this secret; the old one stops working
/// at once. The response is the only time the new secret is shown. Only a console session
/// may rotate it: a leaked API token must not be able to obtain a secret that signs anyone
/// in, and so outlive its own revocation.
#[utoipa::path(
    operation_id = "rotate_launch_secret",
    tag = "settings",
    responses(
        (status = 200, description = "The new secret, shown this once", body = LaunchSecret),
    ),
    security(("session" = []))
)]
#[post("/settings/launch-secret")]
pub async fn rotate_launch_secret(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::EditSettings)?;
    caller.require_session("Rotating the launch secret")?;
    let rotated = settings::rotate_launch_secret(&state.db, &state.secrets, &caller).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(rotated))
}

/// Test the PSA connection (elevated users).
///
/// Runs the chain the hub depends on, one step after the other, and stops at the first that
/// fails: `zone_discovery` (or the configured zone), `credentials` (an authenticated call),
/// `resources` (resources readable, with their security level) and `security_levels` (the
/// bridge's `SecurityLevels` entity). A failed step says in `detail` what to do and, when an
/// administrator must act, names the `reason` (the codes of `psa_misconfigured`). Nothing is
/// changed; the calls count against the tenant's PSA call budget. The directory provider has
/// only the last two steps.
#[utoipa::path(
    operation_id = "test_psa_connection",
    tag = "settings",
    responses(
        (status = 200, description = "Each step that ran, and whether all passed", body = PsaTestReport),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/psa/test")]
pub async fn test_psa_connection(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::EditSettings)?;
    let report =
        crate::psa::registry::test_connection(&state.psa, &state.db, &caller.tenant_id).await?;
    Ok(HttpResponse::Ok().json(report))
}
