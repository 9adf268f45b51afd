//! `GET /api/v1/psa/status` (SPEC S12): the tenant's PSA provider, the reconciliation job's
//! last run and schedule, the hour's PSA call budget and the webhook state.

use hubkeep_shared::HubAction;
use hubkeep_shared::api::{BudgetStatus, PsaLastError, PsaStatus, ReconcileStatus};
use sea_orm::EntityTrait;

use crate::AppState;
use crate::db::entities::psa_feed;
use crate::error::ApiError;
use crate::identity::Caller;
use crate::psa::budget::used_this_hour;
use crate::psa::registry::settings_of;

/// The caller's tenant's status (elevated users).
pub async fn status(state: &AppState, caller: &Caller) -> Result<PsaStatus, ApiError> {
    caller.require(HubAction::EditSettings)?;
    let psa = settings_of(&state.reader, &caller.tenant_id).await?;
    let feed = psa_feed::Entity::find_by_id(caller.tenant_id.clone())
        .one(&state.reader)
        .await?;
    let scheduled = state.settings.psa.reconcile_every().is_some();
    let last_error = feed.as_ref().and_then(|f| {
        Some(PsaLastError {
            code: f.last_error_code.clone()?,
            reason: f.last_error_reason.clone(),
            detail: f.last_error_detail.clone().unwrap_or_default(),
            at: f.last_error_at?,
        })
    });
    let reconcile = ReconcileStatus {
        last_run_at: feed.as_ref().and_then(|f| f.last_run_at),
        // Before the job first sees the tenant, its first run is one period away.
        next_run_at: scheduled.then(|| {
            feed.as_ref().map_or_else(
                || {
                    let every = state.settings.psa.reconcile_every().unwrap_or_default();
                    crate::db::now() + chrono::Duration::from_std(every).unwrap_or_default()
                },
                |f| f.due_at,
            )
        }),
        users_checked: feed.as_ref().map_or(0, |f| count(f.users_checked)),
        changes_applied: feed.as_ref().map_or(0, |f| count(f.changes_applied)),
    };
    Ok(PsaStatus {
        provider: psa.provider,
        healthy: last_error.is_none(),
        last_error,
        reconcile,
        budget: BudgetStatus {
            hourly_budget: state.settings.psa.hourly_budget,
            used_this_hour: used_this_hour(&state.reader, &caller.tenant_id).await?,
        },
        webhook: super::webhook::status_of(&state.reader, &caller.tenant_id, psa.provider).await?,
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
