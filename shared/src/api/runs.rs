//! Sync runs and the sync-status overview (SPEC S6).

use super::connections::{ConnectionSummary, EndpointSide, EndpointStatus};
use crate::System;
use crate::ids::{ConnectionId, RunId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

wire_enum! {
    /// How a run came about.
    pub enum RunOrigin {
        /// Requested by a member (`POST …/runs`).
        Manual,
        /// Started by the engine's schedule.
        Scheduled,
    }
}

wire_enum! {
    /// Where a run is. `queued` → `running` | `cancelled`; `running` → `succeeded` | `failed` |
    /// `cancelled`; the last three are final.
    pub enum RunStatus {
        Queued,
        Running,
        Succeeded,
        Failed,
        Cancelled,
    }
}

/// One sync run (a sync-history record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRun {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: RunId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub connection_id: ConnectionId,
    pub origin: RunOrigin,
    pub status: RunStatus,
    /// What the run syncs: for `autotask_quickbooks` a subset of `invoices`,
    /// `purchase_orders`, `expenses`; empty for the other kinds (they sync everything).
    pub entities: Vec<String>,
    /// Who requested a manual run; null for scheduled runs.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub requested_by: Option<UserId>,
    pub requested_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub records_processed: Option<i64>,
    /// The engine's error message of a failed run.
    pub error: Option<String>,
    /// What the engine last reported beyond the counts (a JSON object), if anything.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub details: Option<Value>,
    /// Hidden records are left out of the history unless `include_hidden=true`.
    pub hidden: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub hidden_by: Option<UserId>,
    pub hidden_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/connections/{id}/runs` body (may be `{}`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"entities": ["invoices", "expenses"]}))))]
pub struct RunRequest {
    /// `autotask_quickbooks` only: which entities to sync, a non-empty subset of `invoices`,
    /// `purchase_orders`, `expenses` without duplicates; absent means all three. Other kinds
    /// sync everything: absent or `[]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<String>>,
}

/// `?include_hidden=&limit=&cursor=`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RunsQuery {
    /// Include hidden records (default false).
    #[serde(default)]
    pub include_hidden: bool,
    /// Items per page, 1–200 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `PATCH /api/v1/connections/{id}/runs/{run_id}` body (engine tokens only).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"status": "succeeded", "records_processed": 1284}))))]
pub struct RunProgress {
    /// The new status: `queued` → `running` | `cancelled`; `running` → `succeeded` |
    /// `failed` | `cancelled`. Anything else is 409 `conflict`.
    pub status: RunStatus,
    /// Records processed so far (at least 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_processed: Option<i64>,
    /// An error message (at most 4000 characters), typically with `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Anything else worth keeping: a JSON object of at most 64 KiB.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// An endpoint's state in the sync-status overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointState {
    pub side: EndpointSide,
    pub system: System,
    pub status: EndpointStatus,
}

/// One connection in the sync-status overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncStatusItem {
    pub connection: ConnectionSummary,
    /// `source` then `target`.
    pub endpoints: Vec<EndpointState>,
    /// The newest run that is not hidden, or null when there is none.
    pub latest_run: Option<SyncRun>,
}

impl RunStatus {
    /// The stable snake_case name (as stored and sent).
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the engine may move a run from `self` to `to`.
    pub const fn can_become(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Queued, Self::Running)
                | (Self::Queued, Self::Cancelled)
                | (Self::Running, Self::Succeeded)
                | (Self::Running, Self::Failed)
                | (Self::Running, Self::Cancelled)
        )
    }

    /// `succeeded`, `failed` and `cancelled` are final.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}
