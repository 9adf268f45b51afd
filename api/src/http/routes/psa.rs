//! The PSA change feed (SPEC S12): its status and an on-demand reconciliation, for elevated
//! users.

use actix_web::{HttpResponse, get, post, web};

use crate::AppState;
use crate::error::ApiError;
use crate::feed::{reconcile, status};
use crate::identity::Caller;
use hubkeep_shared::api::{PsaStatus, ReconcileSummary};

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
