//! Connections, their endpoints and settings, and governance (SPEC S4, S5.4, S8.1).

use crate::ids::{ConnectionId, UserId, ViewId};
use crate::{
    ConnectionAction, ConnectionKind, ConnectionRole, HubAccess, KindCapabilities, System,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The forecast budget to use (Xero / Power BI kinds), as the accounting system names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForecastBudgetInput {
    /// 1–200 characters.
    pub id: String,
    /// 1–200 characters.
    pub name: String,
}

/// `PATCH /api/v1/connections/{id}` body: any of the settings, each checked against its own
/// action (shown in brackets). Absent fields stay as they are.
// Its `Debug` (below) never shows the Postgres connection string.
#[derive(Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"name": "Contoso books (UK)", "timezone": "Europe/Dublin"}))))]
pub struct ConnectionPatch {
    /// [`rename`] 1–200 characters after trimming; no control characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// [`change_timezone`] An IANA time zone name such as `Europe/London`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// [`change_locked_period_export`] Xero / Power BI kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_period_export: Option<bool>,
    /// [`change_reporting_currency`] Xero / Power BI kinds: an active ISO 4217 code in upper
    /// case, such as `GBP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporting_currency: Option<String>,
    /// [`change_forecast_budget`] Xero / Power BI kinds: the budget, or `null` to clear it.
    #[serde(
        default,
        deserialize_with = "crate::api::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<ForecastBudgetInput>))]
    pub forecast_budget: Option<Option<ForecastBudgetInput>>,
    /// [`change_postgres_db`] Power BI kinds, owner only: a connection string starting with
    /// `postgres://` or `postgresql://`, or `null` to clear it. Write-only: never returned
    /// (the connection shows `postgres_db_set`) and masked as `***` in the activity log.
    #[serde(
        default,
        deserialize_with = "crate::api::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub postgres_db: Option<Option<String>>,
    /// [`group`] the name of a tenant-wide group (created when no group has that name yet;
    /// 1–200 characters after trimming), or [`ungroup`] `null` to take the connection out of
    /// its group.
    #[serde(
        default,
        deserialize_with = "crate::api::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub group: Option<Option<String>>,
}

/// `POST /api/v1/connections/{id}/pay` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"months": 12, "amount_cents": 119880, "currency": "USD"}))))]
pub struct PaymentInput {
    /// Calendar months bought, 1–36.
    pub months: u32,
    /// The amount paid, in the currency's minor unit; at least 0.
    pub amount_cents: i64,
    /// An active ISO 4217 code in upper case, such as `USD`.
    pub currency: String,
}

/// `POST /api/v1/connections/{id}/endpoints/{side}/reconnect` body (may be `{}`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"account_label": "Contoso QuickBooks Online"}))))]
pub struct ReconnectInput {
    /// The account the endpoint is now connected to, as the system names it (1–200
    /// characters); absent keeps the current label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_label: Option<String>,
}

wire_enum! {
    /// Whether a connection is in service (SPEC S4).
    pub enum ConnectionStatus {
        /// Paid for, or never cancelled: runs and setting changes are possible.
        Active,
        /// Cancelled by the owner: still shown with its history, but refuses runs and changes
        /// until the owner pays again.
        Cancelled,
    }
}

wire_enum! {
    /// Which end of the connection an endpoint is.
    pub enum EndpointSide {
        /// Where the data comes from.
        Source,
        /// Where the data goes.
        Target,
    }
}

wire_enum! {
    /// Whether the hub holds a working authorization for an endpoint's account.
    pub enum EndpointStatus {
        Connected,
        /// Never connected yet, or disconnected: runs are refused until it is (re)connected.
        Disconnected,
    }
}

/// One end of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    pub side: EndpointSide,
    /// The system at this end, fixed by the connection's kind.
    pub system: System,
    /// The account the endpoint is connected to, as the system names it; null until the
    /// endpoint is first connected.
    pub account_label: Option<String>,
    pub status: EndpointStatus,
    /// When `status` last changed (the connection's creation for a new endpoint).
    pub changed_at: DateTime<Utc>,
}

/// A hub user, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRef {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: UserId,
    pub display_name: String,
}

/// The budget forecasts use (Xero / Power BI kinds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastBudget {
    pub id: String,
    pub name: String,
}

/// A connection as one of its members sees it (SPEC S4, S8.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Connection {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: ConnectionId,
    pub name: String,
    pub kind: ConnectionKind,
    /// The IANA time zone the connection operates in.
    pub timezone: String,
    pub status: ConnectionStatus,
    /// The caller's roles on this connection (never empty: without a role it is not
    /// visible), in the order owner, business_admin, it_admin, read_only.
    pub my_roles: Vec<ConnectionRole>,
    /// What the caller may do here: the shared connection matrix applied to `my_roles` and
    /// the kind. Clients show or hide controls by it and never re-derive it.
    pub allowed_actions: Vec<ConnectionAction>,
    /// The settings the kind offers; actions on the others answer 422
    /// `not_supported_for_kind`.
    pub capabilities: KindCapabilities,
    /// `source` then `target`.
    pub endpoints: Vec<Endpoint>,
    /// The name of the group the connection is in, if any.
    pub group: Option<String>,
    /// The Subscription Owner.
    pub owner: UserRef,
    /// The last day the subscription is paid for; null until the first payment.
    pub paid_through: Option<NaiveDate>,
    /// Xero / Power BI kinds: export locked periods too; null when not set or not offered.
    pub locked_period_export: Option<bool>,
    /// Xero / Power BI kinds: ISO 4217 code; null when not set or not offered.
    pub reporting_currency: Option<String>,
    /// Xero / Power BI kinds: the forecast budget; null when not set or not offered.
    pub forecast_budget: Option<ForecastBudget>,
    /// Power BI kinds: whether a Postgres database is configured. The connection string
    /// itself is write-only and never returned.
    pub postgres_db_set: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the subscription was cancelled; null while active.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/connections` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"name": "Contoso books", "kind": "autotask_quickbooks", "timezone": "Europe/London"}))))]
pub struct NewConnection {
    /// 1–200 characters after trimming surrounding spaces; no control characters.
    pub name: String,
    /// What the connection integrates (SPEC S4).
    #[cfg_attr(feature = "openapi", schema(value_type = ConnectionKind))]
    pub kind: String,
    /// An IANA time zone name such as `Europe/London`; defaults to the tenant's default
    /// timezone (tenant settings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// The connection part of a governance row: identity and state, no settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionSummary {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: ConnectionId,
    pub name: String,
    pub kind: ConnectionKind,
    pub status: ConnectionStatus,
}

/// The owner in a governance row, with their hub access computed now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GovernanceOwner {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: UserId,
    pub display_name: String,
    /// The owner's hub access now (SPEC S2); `none` makes the connection orphaned.
    pub access_level: HubAccess,
}

/// One row of the governance list (SPEC S2.1, S5.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GovernanceItem {
    pub connection: ConnectionSummary,
    pub owner: GovernanceOwner,
    /// Distinct users holding at least one role on the connection, the owner included.
    pub member_count: u64,
    /// The owner's hub access is `none` (deactivated, or no longer eligible in the PSA): an
    /// elevated user may recover ownership (SPEC S5.4).
    pub orphaned: bool,
}

/// A named view of a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionView {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: ViewId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub connection_id: ConnectionId,
    pub name: String,
    /// The view's definition: a JSON object, as it was saved.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub definition: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/connections/{id}/views` and `PUT …/views/{view_id}` body (`PUT` replaces
/// both fields).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"name": "Overdue invoices", "definition": {"entity": "invoices", "filter": {"overdue": true}}}))))]
pub struct ViewInput {
    /// 1–100 characters after trimming, no control characters; unique on the connection.
    pub name: String,
    /// A JSON object of at most 64 KiB serialized.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub definition: Value,
}

impl ConnectionStatus {
    /// The stable snake_case name (as stored and sent).
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Cancelled => "cancelled",
        }
    }
}

impl EndpointSide {
    /// The stable snake_case name (as stored and sent).
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Target => "target",
        }
    }
}

impl EndpointStatus {
    /// The stable snake_case name (as stored and sent).
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
        }
    }
}

impl Connection {
    /// Whether the caller's roles allow `action` here (as the API computed them).
    pub fn can(&self, action: ConnectionAction) -> bool {
        self.allowed_actions.contains(&action)
    }

    pub fn is_cancelled(&self) -> bool {
        self.status == ConnectionStatus::Cancelled
    }

    /// Whether an endpoint is disconnected (runs are refused then).
    pub fn has_disconnected_endpoint(&self) -> bool {
        self.endpoints
            .iter()
            .any(|e| e.status == EndpointStatus::Disconnected)
    }
}

impl core::fmt::Debug for ConnectionPatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnectionPatch")
            .field("name", &self.name)
            .field("timezone", &self.timezone)
            .field("locked_period_export", &self.locked_period_export)
            .field("reporting_currency", &self.reporting_currency)
            .field("forecast_budget", &self.forecast_budget)
            .field(
                "postgres_db",
                &self.postgres_db.as_ref().map(|v| v.as_ref().map(|_| "***")),
            )
            .field("group", &self.group)
            .finish()
    }
}
