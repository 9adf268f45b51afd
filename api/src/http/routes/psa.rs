//! The PSA change feed (SPEC S12): its status, an on-demand reconciliation and the Autotask
//! webhook subscription, for elevated users; and the receivers Autotask calls.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};

use crate::AppState;
use crate::error::ApiError;
use crate::feed::{callout, reconcile, status, webhook};
use crate::identity::Caller;
use hubkeep_shared::api::{
    AutotaskCallout, CalloutReceipt, PsaStatus, ReconcileSummary, WebhookStatus,
};

/// The PSA change feed's status (elevated users).
///
/// The provider, whether the last reconciliation failed (`last_error`, with the `reason` an
/// administrator acts on for `psa_misconfigured`), when the job last ran and runs next (`null`
/// when `[psa] reconcile_minutes` is 0), this hour's PSA calls against the tenant's budget,
/// and the webhook state.
#[utoipa::path(
    operation_id = "get_psa_status",
    tag = "psa",
    responses(
        (status = 200, description = "The status", body = PsaStatus),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/psa/status")]
pub async fn get_psa_status(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(status::status(&state, &caller).await?))
}

/// Reconcile the hub users with the PSA now (elevated users).
///
/// Re-reads every hub user's resource and the security levels and applies what changed, as
/// the periodic job does: each changed user gets a `user.psa_changed` entry, and a user whose
/// access becomes `none` loses every session and API token. Answers when the run is over.
/// 409 `reconcile_in_progress` while a run holds the tenant's lease (here or on another
/// instance). Background PSA work: it counts against the hourly budget and yields to
/// sign-ins.
#[utoipa::path(
    operation_id = "reconcile_psa",
    tag = "psa",
    responses(
        (status = 200, description = "What the run did", body = ReconcileSummary),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/psa/reconcile")]
pub async fn reconcile_psa(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(reconcile::reconcile_now(&state, &caller).await?))
}

/// Subscribe to Autotask's callouts about resources (elevated users).
///
/// Asks Autotask whether Resources offer webhook callouts (`Resources/entityInformation`,
/// `supportsWebhookCallouts`) and, if they do, creates a `ResourceWebhooks` subscription that
/// calls `{public_url}/api/v1/psa/autotask/webhooks/{tenant_id}` whenever a resource's active
/// flag or security level changes, signed with a secret key made here and stored sealed.
/// A live subscription is answered unchanged. 409 `webhooks_unsupported` for the directory
/// provider or when Autotask offers none (today it documents none for Resources; the
/// reconciliation job keeps the hub current), 409 `public_url_missing` without `[http]
/// public_url`.
#[utoipa::path(
    operation_id = "subscribe_psa_webhook",
    tag = "psa",
    responses(
        (status = 200, description = "The subscription", body = WebhookStatus),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[post("/psa/webhook")]
pub async fn subscribe_psa_webhook(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(webhook::subscribe(&state, &caller).await?))
}

/// Remove the Autotask subscription (elevated users).
///
/// Deletes it at Autotask, then here; without one, nothing happens.
#[utoipa::path(
    operation_id = "unsubscribe_psa_webhook",
    tag = "psa",
    responses(
        (status = 204, description = "No subscription is left"),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[delete("/psa/webhook")]
pub async fn unsubscribe_psa_webhook(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    webhook::unsubscribe(&state, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn hook_signature(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("X-Hook-Signature")
        .and_then(|v| v.to_str().ok())
}

/// Autotask's callout about a resource (called by Autotask, not by people).
///
/// Authenticated by `X-Hook-Signature` alone: `sha1=` and the base64 HMAC-SHA1 of the raw
/// body under the subscription's secret key. 404 `not_found` for a tenant without a
/// subscription, 401 `webhook_signature_invalid` for a bad signature; a callout seen before
/// (same `Guid` and `SequenceNumber`) answers `accepted: false` and is not applied again.
/// The answer comes at once; the resource is then re-read from Autotask and applied.
#[utoipa::path(
    operation_id = "receive_autotask_callout",
    tag = "psa",
    params(
        ("tenant_id" = String, Path, description = "The tenant"),
        ("X-Hook-Signature" = String, Header, description = "sha1=<base64 HMAC-SHA1 of the body>"),
    ),
    request_body = AutotaskCallout,
    responses(
        (status = 200, description = "Received", body = CalloutReceipt),
    ),
    security(())
)]
#[post("/psa/autotask/webhooks/{tenant_id}")]
pub async fn receive_autotask_callout(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let receipt = callout::receive(&state, &tenant_id, hook_signature(&req), &body).await?;
    Ok(HttpResponse::Ok().json(receipt))
}

/// Autotask's notice that it deactivated or deleted the subscription (called by Autotask).
///
/// Signed like a callout. The status then shows the webhook `deactivated`; subscribe again
/// to resume callouts. The reconciliation job goes on either way.
#[utoipa::path(
    operation_id = "receive_autotask_deactivation",
    tag = "psa",
    params(
        ("tenant_id" = String, Path, description = "The tenant"),
        ("X-Hook-Signature" = String, Header, description = "sha1=<base64 HMAC-SHA1 of the body>"),
    ),
    request_body = Object,
    responses(
        (status = 200, description = "Received", body = CalloutReceipt),
    ),
    security(())
)]
#[post("/psa/autotask/webhooks/{tenant_id}/deactivated")]
pub async fn receive_autotask_deactivation(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let receipt = callout::deactivated(&state, &tenant_id, hook_signature(&req), &body).await?;
    Ok(HttpResponse::Ok().json(receipt))
}
