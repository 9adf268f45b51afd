//! The activity log as it is read (SPEC S7).

use crate::ids::{ConnectionId, TokenId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

wire_enum! {
    /// Who made a change.
    pub enum ActorKind {
        /// A person at the console.
        User,
        /// A script with a personal API token (acting as its user).
        ApiToken,
        /// The sync engine.
        Engine,
        /// The hub itself (sign-in, provisioning, the command line).
        System,
    }
}

/// The actor of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityActor {
    pub kind: ActorKind,
    /// The hub user (for `user` and `api_token`).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub user_id: Option<UserId>,
    /// The API token (for `api_token` and `engine`).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub token_id: Option<TokenId>,
    /// The actor's name when the entry was written.
    pub label: Option<String>,
}

/// What an entry concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityTarget {
    /// `tenant`, `user`, `connection`, `api_token`, `session`, …
    pub kind: String,
    pub id: Option<String>,
    /// The target's name when the entry was written.
    pub label: Option<String>,
}

/// One activity-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: ActivityActor,
    /// Dotted action code, e.g. `user.deactivated`, `settings.updated`.
    pub action: String,
    pub target: ActivityTarget,
    /// The connection the entry concerns, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub connection_id: Option<ConnectionId>,
    /// Changed fields as `{"field": {"before": …, "after": …}}`, or context. Never a secret
    /// (a changed secret shows as `"***"`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: Value,
    pub request_id: Option<String>,
    /// The client address. Limited users see it only on their own entries.
    pub ip: Option<String>,
    /// Limited users see it only on their own entries.
    pub user_agent: Option<String>,
}

/// `GET /api/v1/activity` filters and paging.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    /// Entries made by this hub user (with a session or one of their API tokens).
    pub actor_user_id: Option<String>,
    /// An action code (`user.deactivated`), or a prefix ending in `.` for a whole family
    /// (`user.` matches every `user.*` action).
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub connection_id: Option<String>,
    /// Entries at or after this instant (RFC 3339, e.g. `2026-01-31T00:00:00Z`).
    pub from: Option<DateTime<Utc>>,
    /// Entries before this instant (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Items per page, 1–200 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

wire_enum! {
    /// The file an activity export is written as.
    pub enum ExportFormat {
        /// Comma-separated values (RFC 4180) with a header row; `details` as JSON text.
        Csv,
        /// Newline-delimited JSON: one entry, as `GET /api/v1/activity/{id}` returns it, a line.
        Ndjson,
    }
}

impl ExportFormat {
    /// The media type of the file.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Ndjson => "application/x-ndjson",
        }
    }
}

/// The columns of a CSV export, in order (SPEC S16).
pub const ACTIVITY_CSV_COLUMNS: [&str; 15] = [
    "id",
    "at",
    "actor_kind",
    "actor_user_id",
    "actor_token_id",
    "actor_label",
    "action",
    "target_kind",
    "target_id",
    "target_label",
    "connection_id",
    "details",
    "request_id",
    "ip",
    "user_agent",
];

/// `GET /api/v1/activity/export`: the format, and the filters of `GET /api/v1/activity`
/// (every entry that matches, newest first, instead of one page).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ActivityExportQuery {
    pub format: ExportFormat,
    /// As in `GET /api/v1/activity`.
    pub actor_user_id: Option<String>,
    /// As in `GET /api/v1/activity`: a code, or a family ending in `.`.
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub connection_id: Option<String>,
    /// Entries at or after this instant (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Entries before this instant (exclusive).
    pub to: Option<DateTime<Utc>>,
}

impl ActivityExportQuery {
    /// The export, as `format`, of what `list` filters (its page, if any, is not an export's).
    pub fn of(format: ExportFormat, list: &ActivityQuery) -> Self {
        Self {
            format,
            actor_user_id: list.actor_user_id.clone(),
            action: list.action.clone(),
            target_kind: list.target_kind.clone(),
            target_id: list.target_id.clone(),
            connection_id: list.connection_id.clone(),
            from: list.from,
            to: list.to,
        }
    }

    /// The same filters as a list query (no page): one rule for both.
    pub fn filters(&self) -> ActivityQuery {
        ActivityQuery {
            actor_user_id: self.actor_user_id.clone(),
            action: self.action.clone(),
            target_kind: self.target_kind.clone(),
            target_id: self.target_id.clone(),
            connection_id: self.connection_id.clone(),
            from: self.from,
            to: self.to,
            limit: None,
            cursor: None,
        }
    }
}
