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
