//! The PSA change feed (SPEC S12): what `GET /api/v1/psa/status` and `POST
//! /api/v1/psa/reconcile` answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether the hub receives Autotask's callouts about resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WebhookState {
    /// The provider offers no callouts (the directory file), or Autotask does not report
    /// `supportsWebhookCallouts` for Resources.
    Unsupported,
    /// Callouts could be subscribed; none is.
    NotSubscribed,
    /// A subscription is live.
    Active,
    /// Autotask deactivated the subscription (too many failed deliveries).
    Deactivated,
}

/// The last failure of the tenant's PSA work (reconciliation), if the last run failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PsaLastError {
    /// The problem code it answered with (`psa_unavailable`, `psa_misconfigured`,
    /// `psa_budget_exhausted`, `internal_error`).
    pub code: String,
    /// For `psa_misconfigured`: what an administrator must fix (SPEC S11).
    pub reason: Option<String>,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// The reconciliation job of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconcileStatus {
    /// When the last run (successful or not) finished; `null` before the first.
    pub last_run_at: Option<DateTime<Utc>>,
    /// When the next scheduled run is due; `null` when the job is off
    /// (`[psa] reconcile_minutes = 0`).
    pub next_run_at: Option<DateTime<Utc>>,
    /// Users the last run compared with the PSA.
    pub users_checked: u64,
    /// Users the last run changed.
    pub changes_applied: u64,
}

/// The tenant's hourly budget of PSA calls (SPEC S11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetStatus {
    pub hourly_budget: u32,
    /// Calls counted this hour across every instance.
    pub used_this_hour: u32,
}

/// Callouts about resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookStatus {
    pub state: WebhookState,
    pub last_callout_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/psa/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PsaStatus {
    pub provider: super::PsaProvider,
    /// `false` while the last reconciliation failed.
    pub healthy: bool,
    pub last_error: Option<PsaLastError>,
    pub reconcile: ReconcileStatus,
    pub budget: BudgetStatus,
    pub webhook: WebhookStatus,
}

/// `POST /api/v1/psa/reconcile`: what one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconcileSummary {
    pub users_checked: u64,
    pub changes_applied: u64,
    /// Users whose access became `none` (their sessions and API tokens were revoked).
    pub access_withdrawn: u64,
    pub sessions_revoked: u64,
    pub api_tokens_revoked: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}
