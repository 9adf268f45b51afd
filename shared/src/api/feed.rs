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

/// Callouts about resources (SPEC S12): `GET /api/v1/psa/status`'s `webhook`, and what
/// `POST /api/v1/psa/webhook` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookStatus {
    pub state: WebhookState,
    /// When the last callout was accepted (signature valid, not a replay).
    pub last_callout_at: Option<DateTime<Utc>>,
    /// When the subscription was made; `null` without one.
    #[serde(default)]
    pub subscribed_at: Option<DateTime<Utc>>,
    /// Where the PSA sends callouts (from `[http] public_url`); `null` without a subscription.
    #[serde(default)]
    pub callback_url: Option<String>,
}

/// One Autotask webhook callout, as `POST /api/v1/psa/autotask/webhooks/{tenant_id}`
/// receives it. Only `Guid`, `SequenceNumber`, `EntityType` and `Id` are read: the hub
/// re-reads the resource instead of trusting `Fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({
    "Action": "Update", "Guid": "6f4d3c2b-1a09-4e8f-9d7c-6b5a4f3e2d1c", "EntityType": "Resource",
    "Id": 29682885, "Fields": {"isActive": false}, "EventTime": "2026-12-04T09:30:00.000Z",
    "SequenceNumber": 42, "PersonID": null
}))))]
#[serde(rename_all = "PascalCase")]
pub struct AutotaskCallout {
    /// `Create`, `Update` or `Delete`.
    #[serde(default)]
    pub action: Option<String>,
    /// The webhook's identifier.
    pub guid: String,
    /// `Resource`.
    pub entity_type: String,
    /// The resource's id.
    pub id: i64,
    /// The fields that changed (ignored).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: Option<serde_json::Value>,
    #[serde(default)]
    pub event_time: Option<String>,
    /// Numbers the webhook's callouts; with `Guid`, what makes a callout a replay.
    pub sequence_number: i64,
    #[serde(default, rename = "PersonID")]
    pub person_id: Option<i64>,
}

/// What the callout receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalloutReceipt {
    /// `false` for a replay of a callout already received (nothing is done again).
    pub accepted: bool,
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
