//! Hub users: the user itself, the Users tab, the people picker's search, the caller (`/me`)
//! and the demo directory.

use crate::ids::UserId;
use crate::{AccessSource, Elevation, HubAccess, HubAction, UserAction};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A security level as shown next to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityLevelRef {
    /// The PSA's security level id.
    pub id: i64,
    pub name: String,
}

/// A hub user (SPEC S8.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({"id": "01a20abe-40f5-7629-ada0-6271426b0f54", "display_name": "Margaret Chen", "email": "margaret.chen@northwindit.example", "psa_resource_id": 29682885, "is_primary": true, "active": true, "elevation": "inherit", "access_level": "elevated", "access_source": "primary", "security_level": {"id": 1, "name": "Administrator"}, "first_sign_in_at": "2026-11-02T09:14:03Z", "last_accessed_at": "2026-11-23T08:01:44Z"}))))]
pub struct User {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: UserId,
    pub display_name: String,
    pub email: String,
    /// The PSA resource this user is.
    pub psa_resource_id: i64,
    /// The tenant's first user; never edited by hand.
    pub is_primary: bool,
    /// The hub-level switch (Users tab).
    pub active: bool,
    pub elevation: Elevation,
    /// Computed now from the user, the PSA snapshot and the Access tab.
    pub access_level: HubAccess,
    /// Why `access_level` is what it is.
    pub access_source: AccessSource,
    pub security_level: SecurityLevelRef,
    pub first_sign_in_at: DateTime<Utc>,
    pub last_accessed_at: DateTime<Utc>,
}

wire_enum! {
    /// Columns the list sorts by.
    #[derive(Default)]
    pub enum UserSort {
        #[default]
        Name,
        SecurityLevel,
        AccessLevel,
        LastAccessed,
    }
}

wire_enum! {
    #[derive(Default)]
    pub enum SortOrder {
        #[default]
        Asc,
        Desc,
    }
}

/// `GET /api/v1/users` query.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Sort column (default `name`); ties are broken by id.
    pub sort: Option<UserSort>,
    /// `asc` (default) or `desc`. For `access_level`, ascending is none, limited, elevated.
    pub order: Option<SortOrder>,
    /// Case-insensitive substring of the name or email.
    pub q: Option<String>,
    pub active: Option<bool>,
    pub access_level: Option<HubAccess>,
    /// Items per page, 1–200 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page (with the same sort and order).
    pub cursor: Option<String>,
}

/// `GET /api/v1/people` query: the people picker's search (SPEC S16).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct PeopleQuery {
    /// Case-insensitive substring of the display name or email; `%` and `_` match
    /// themselves. 2 to 100 characters after trimming surrounding spaces, no control
    /// characters (`hubkeep_shared::fields::PeopleSearch`).
    #[cfg_attr(feature = "openapi", param(example = "chen"))]
    pub q: String,
    /// At most this many people, 1–20 (default 10).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 20))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl PeopleQuery {
    /// The number of people answered when `limit` is absent.
    pub const DEFAULT_LIMIT: u64 = 10;
    /// The largest `limit`.
    pub const MAX_LIMIT: u64 = 20;

    /// A search for `q` with the default limit.
    pub fn new(q: impl Into<String>) -> Self {
        Self {
            q: q.into(),
            limit: None,
        }
    }
}

/// A person the people picker offers (SPEC S16): who they are, nothing about their access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({"id": "01a20abe-40f5-7629-ada0-6271426b0f54", "display_name": "Margaret Chen", "email": "margaret.chen@northwindit.example"}))))]
pub struct Person {
    /// The hub user id (`user_id` of an invitation, a recovery, an activity filter).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: UserId,
    pub display_name: String,
    pub email: String,
}

/// A Users-tab row: the user and what the caller may do to them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserListItem {
    pub user: User,
    /// The buttons to show, from the shared rules (G1–G3).
    pub actions: Vec<UserAction>,
}

/// The answer to `PATCH /api/v1/users/{id}`: the updated `User` itself (SPEC S8.1, a fixed
/// shape scripts rely on), extended with what the caller may now do to them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdatedUser {
    #[serde(flatten)]
    pub user: User,
    /// The buttons to show now, from the shared rules (G1–G3).
    pub actions: Vec<UserAction>,
}

/// `PATCH /api/v1/users/{id}` body: any of the two switches.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"active": false}))))]
pub struct UserPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elevation: Option<Elevation>,
}

/// The result of refreshing users from the PSA.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshSummary {
    /// Users compared with the PSA.
    pub checked: u64,
    /// Users whose snapshot changed.
    pub changed: u64,
}

/// A resource of the demo directory one can sign in as.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoIdentity {
    pub resource_id: i64,
    pub name: String,
    pub email: String,
    pub security_level: SecurityLevelRef,
    pub eligible_for_access: bool,
    pub eligible_for_elevation: bool,
    /// The resource itself is active in the PSA.
    pub is_active: bool,
}

/// The demo directory's resources.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoIdentities {
    pub items: Vec<DemoIdentity>,
}

/// `POST /api/v1/demo/launch` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"resource_id": 29684010}))))]
pub struct DemoLaunch {
    pub resource_id: i64,
}

/// The caller, their hub access level and what it allows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({"user": {"id": "01a20abe-40f5-7629-ada0-6271426b0f54", "display_name": "Margaret Chen", "email": "margaret.chen@northwindit.example", "psa_resource_id": 29682885, "is_primary": true, "active": true, "elevation": "inherit", "access_level": "elevated", "access_source": "primary", "security_level": {"id": 1, "name": "Administrator"}, "first_sign_in_at": "2026-11-02T09:14:03Z", "last_accessed_at": "2026-11-23T08:01:44Z"}, "access_level": "elevated", "hub_actions": ["sign_in", "view_sync_status", "view_activity_log", "run_connection", "manage_own_tokens", "view_settings", "create_connection", "manage_access", "manage_users", "edit_settings", "govern_connections", "manage_all_tokens", "refresh_users"], "pending_invitations": 0}))))]
pub struct Me {
    pub user: User,
    pub access_level: HubAccess,
    /// The hub actions the access level allows, from the shared matrix.
    pub hub_actions: Vec<HubAction>,
    /// Pending, unexpired invitations addressed to the caller (by user or email).
    pub pending_invitations: u64,
}

impl Me {
    /// Whether the hub matrix, as the API applied it to this user, allows `action`.
    pub fn can(&self, action: HubAction) -> bool {
        self.hub_actions.contains(&action)
    }
}

impl From<UserListItem> for UpdatedUser {
    fn from(item: UserListItem) -> Self {
        Self {
            user: item.user,
            actions: item.actions,
        }
    }
}

impl From<UpdatedUser> for UserListItem {
    fn from(answer: UpdatedUser) -> Self {
        Self {
            user: answer.user,
            actions: answer.actions,
        }
    }
}
