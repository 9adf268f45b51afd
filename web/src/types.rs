//! The API's response and request bodies, as the console reads and sends them. Enums and
//! the permission functions come from `hubkeep_shared`, so the console and the API share one
//! vocabulary; these structs mirror `openapi/openapi.json` and ignore fields they do not use.

use hubkeep_shared::{
    AccessSource, ConnectionAction, ConnectionKind, ConnectionRole, Elevation, HubAccess,
    HubAction, KindCapabilities, LevelFact, System, TokenScope, UserAction,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{items, next_cursor}`: one page of a list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// `{items}`: a whole, unpaged list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SecurityLevelRef {
    pub id: i64,
    pub name: String,
}

/// A hub user (SPEC S8.1 `User`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: String,
    pub display_name: String,
    pub email: String,
    pub psa_resource_id: i64,
    pub is_primary: bool,
    pub active: bool,
    pub elevation: Elevation,
    pub access_level: HubAccess,
    pub access_source: AccessSource,
    pub security_level: SecurityLevelRef,
    pub first_sign_in_at: String,
    pub last_accessed_at: String,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Me {
    pub user: User,
    pub access_level: HubAccess,
    pub hub_actions: Vec<HubAction>,
    #[serde(default)]
    pub pending_invitations: i64,
}

impl Me {
    /// Whether the hub matrix, as the API applied it to this user, allows `action`.
    pub fn can(&self, action: HubAction) -> bool {
        self.hub_actions.contains(&action)
    }
}

/// Launch, demo launch and refresh answer this.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: User,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DemoIdentity {
    pub resource_id: i64,
    pub name: String,
    pub email: String,
    pub security_level: SecurityLevelRef,
    pub eligible_for_access: bool,
    pub eligible_for_elevation: bool,
    pub is_active: bool,
}

/// One row of the Users tab.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserListItem {
    pub user: User,
    pub actions: Vec<UserAction>,
}

/// The answer to `PATCH /api/v1/users/{id}`: the `User` itself with `actions` beside its
/// fields (SPEC S8.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UpdatedUser {
    #[serde(flatten)]
    pub user: User,
    pub actions: Vec<UserAction>,
}

impl From<UpdatedUser> for UserListItem {
    fn from(answer: UpdatedUser) -> Self {
        Self {
            user: answer.user,
            actions: answer.actions,
        }
    }
}

/// A PSA security level on the Access tab.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SecurityLevel {
    pub id: i64,
    pub name: String,
    pub is_active: bool,
    pub hub_menu: bool,
    pub qbo_extension_admin: bool,
    pub other_extensions_admin: bool,
    pub resource_impersonation: bool,
    pub eligible_for_access: bool,
    pub eligible_for_elevation: bool,
    pub missing_for_elevation: Vec<LevelFact>,
    pub elevated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElevatedLevels {
    pub level_ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefreshSummary {
    pub checked: i64,
    pub changed: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserRef {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Endpoint {
    pub side: String,
    pub system: System,
    #[serde(default)]
    pub account_label: Option<String>,
    pub status: String,
    pub changed_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ForecastBudget {
    pub id: String,
    pub name: String,
}

/// A connection with the caller's roles and allowed actions (SPEC S8.1 `Connection`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Connection {
    pub id: String,
    pub name: String,
    pub kind: ConnectionKind,
    pub timezone: String,
    pub status: String,
    pub my_roles: Vec<ConnectionRole>,
    pub allowed_actions: Vec<ConnectionAction>,
    pub capabilities: KindCapabilities,
    pub owner: UserRef,
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub paid_through: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub locked_period_export: Option<bool>,
    #[serde(default)]
    pub reporting_currency: Option<String>,
    #[serde(default)]
    pub forecast_budget: Option<ForecastBudget>,
    pub postgres_db_set: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl Connection {
    /// Whether the caller's roles allow `action` here (as the API computed them).
    pub fn can(&self, action: ConnectionAction) -> bool {
        self.allowed_actions.contains(&action)
    }

    pub fn is_cancelled(&self) -> bool {
        self.status == "cancelled"
    }

    /// Whether an endpoint is disconnected (runs are refused then).
    pub fn has_disconnected_endpoint(&self) -> bool {
        self.endpoints.iter().any(|e| e.status == "disconnected")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectionSummary {
    pub id: String,
    pub name: String,
    pub kind: ConnectionKind,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GovernanceOwner {
    pub id: String,
    pub display_name: String,
    pub access_level: HubAccess,
}

/// A row of the governance list (all connections of the tenant).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GovernanceItem {
    pub connection: ConnectionSummary,
    pub owner: GovernanceOwner,
    pub member_count: i64,
    pub orphaned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Member {
    pub user: User,
    pub roles: Vec<ConnectionRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Invitee {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub connection_id: String,
    pub role: ConnectionRole,
    #[serde(default)]
    pub retain_role: Option<ConnectionRole>,
    pub status: String,
    pub invitee: Invitee,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
    #[serde(default)]
    pub responded_at: Option<String>,
}

/// An invitation addressed to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MyInvitation {
    #[serde(flatten)]
    pub invitation: Invitation,
    pub connection_name: String,
    pub connection_kind: ConnectionKind,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SyncRun {
    pub id: String,
    pub connection_id: String,
    pub status: String,
    pub origin: String,
    pub entities: Vec<String>,
    pub requested_at: String,
    #[serde(default)]
    pub requested_by: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub records_processed: Option<i64>,
    #[serde(default)]
    pub error: Option<String>,
    pub hidden: bool,
    #[serde(default)]
    pub hidden_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EndpointState {
    pub side: String,
    pub system: System,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SyncStatusItem {
    pub connection: ConnectionSummary,
    pub endpoints: Vec<EndpointState>,
    #[serde(default)]
    pub latest_run: Option<SyncRun>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConnectionView {
    pub id: String,
    pub connection_id: String,
    pub name: String,
    pub definition: Value,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActivityActor {
    pub kind: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub token_id: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActivityTarget {
    pub kind: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ActivityEntry {
    pub id: String,
    pub at: String,
    pub actor: ActivityActor,
    pub action: String,
    pub target: ActivityTarget,
    #[serde(default)]
    pub connection_id: Option<String>,
    pub details: Value,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountingMapping {
    pub source_code: String,
    pub account_code: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PsaSettings {
    pub provider: String,
    #[serde(default)]
    pub zone_url: Option<String>,
    #[serde(default)]
    pub api_user: Option<String>,
    #[serde(default)]
    pub directory_path: Option<String>,
    pub integration_code_set: bool,
    pub secret_set: bool,
    pub launch_secret_rotated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Settings {
    pub default_timezone: String,
    pub invitation_expiry_days: i32,
    pub session_lifetime_hours: i32,
    pub psa: PsaSettings,
    pub accounting_mappings: Vec<AccountingMapping>,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LaunchSecret {
    pub launch_secret: String,
    pub rotated_at: String,
}

/// An API token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    pub token_prefix: String,
    pub created_at: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub last_used_at: Option<String>,
}

/// A newly created API token: the only time `token` (the secret) appears.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub meta: ApiToken,
    pub token: String,
}

/// Another user's token, on the oversight list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TenantApiToken {
    #[serde(flatten)]
    pub meta: ApiToken,
    pub user_id: String,
    pub user_display_name: String,
}

/// A sync-engine token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EngineToken {
    pub id: String,
    pub name: String,
    pub token_prefix: String,
    pub created_at: String,
    #[serde(default)]
    pub last_used_at: Option<String>,
}

/// A newly created engine token: the only time `token` (the secret) appears.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedEngineToken {
    #[serde(flatten)]
    pub meta: EngineToken,
    pub token: String,
}
