//! Connection kinds and their capabilities (SPEC S4) and the connection matrix (S5).

use serde::{Deserialize, Serialize};

wire_enum! {
    /// A role a user holds on one connection. A user may hold several; permissions are the
    /// union.
    pub enum ConnectionRole {
        /// Subscription Owner: exactly one per connection.
        Owner,
        /// Business Administrator.
        BusinessAdmin,
        /// IT Administrator.
        ItAdmin,
        /// Read-only user.
        ReadOnly,
    }
}

wire_enum! {
    /// An action on one connection (one row of SPEC S5; the Xero/Power BI settings row and the
    /// group/ungroup row are split so that each field of a request maps to one action).
    pub enum ConnectionAction {
        /// View the connection, its members and its sync history.
        View,
        /// Pay for the subscription.
        Pay,
        /// Cancel the subscription.
        Cancel,
        /// Transfer ownership: invite a new Subscription Owner.
        TransferOwnership,
        /// Change the Postgres database (Power BI kinds).
        ChangePostgresDb,
        /// Disconnect an endpoint.
        DisconnectEndpoint,
        /// Rename the connection.
        Rename,
        /// Create or modify views (kinds with views).
        ManageViews,
        /// Change the locked-period export setting (Xero / Power BI kinds).
        ChangeLockedPeriodExport,
        /// Change the reporting currency (Xero / Power BI kinds).
        ChangeReportingCurrency,
        /// Change the budget used for forecasting (Xero / Power BI kinds).
        ChangeForecastBudget,
        /// Invite business administrators.
        InviteBusinessAdmin,
        /// Reconnect an endpoint.
        ReconnectEndpoint,
        /// Change the timezone the connection operates in.
        ChangeTimezone,
        /// Hide or unhide sync-history records.
        HideSyncRecords,
        /// Invite IT administrators.
        InviteItAdmin,
        /// Invite read-only users.
        InviteReadOnly,
        /// Run the connection manually.
        RunManually,
        /// Put the connection in a group.
        Group,
        /// Take the connection out of its group.
        Ungroup,
    }
}

wire_enum! {
    /// A kind of integration (SPEC S4).
    pub enum ConnectionKind {
        /// Autotask → QuickBooks Online (invoices, purchase orders, expenses).
        AutotaskQuickbooks,
        /// Autotask → Xero.
        AutotaskXero,
        /// Xero → Power BI.
        XeroPowerBi,
        /// QuickBooks Online → Power BI.
        QuickbooksPowerBi,
    }
}

wire_enum! {
    /// A system at one end of a connection.
    pub enum System {
        Autotask,
        QuickbooksOnline,
        Xero,
        PowerBi,
    }
}

/// What a connection kind offers beyond the common settings (SPEC S4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindCapabilities {
    /// Named views with a JSON definition.
    pub views: bool,
    /// Locked-period export, reporting currency and forecast budget.
    pub financial_settings: bool,
    /// A Postgres database the data is written to.
    pub postgres_db: bool,
}

impl ConnectionRole {
    /// The role's name as people read it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Owner => "Subscription Owner",
            Self::BusinessAdmin => "Business Administrator",
            Self::ItAdmin => "IT Administrator",
            Self::ReadOnly => "Read-only",
        }
    }
}

impl System {
    /// The system's name as people read it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Autotask => "Autotask",
            Self::QuickbooksOnline => "QuickBooks Online",
            Self::Xero => "Xero",
            Self::PowerBi => "Power BI",
        }
    }
}

impl ConnectionKind {
    /// The kind's name as people read it (`Autotask → QuickBooks Online`).
    pub fn label(self) -> String {
        format!("{} → {}", self.source().label(), self.target().label())
    }

    /// The kind's capabilities: one exhaustive match, so a new kind must decide each.
    pub const fn capabilities(self) -> KindCapabilities {
        let (views, financial_settings, postgres_db) = match self {
            Self::AutotaskQuickbooks => (false, false, false),
            Self::AutotaskXero => (false, true, false),
            Self::XeroPowerBi => (true, true, true),
            Self::QuickbooksPowerBi => (true, true, true),
        };
        KindCapabilities {
            views,
            financial_settings,
            postgres_db,
        }
    }

    /// The system data comes from.
    pub const fn source(self) -> System {
        match self {
            Self::AutotaskQuickbooks | Self::AutotaskXero => System::Autotask,
            Self::XeroPowerBi => System::Xero,
            Self::QuickbooksPowerBi => System::QuickbooksOnline,
        }
    }

    /// The system data goes to.
    pub const fn target(self) -> System {
        match self {
            Self::AutotaskQuickbooks => System::QuickbooksOnline,
            Self::AutotaskXero => System::Xero,
            Self::XeroPowerBi | Self::QuickbooksPowerBi => System::PowerBi,
        }
    }

    /// Whether the kind has the setting an action changes. An action on a setting the kind
    /// lacks is `422 not_supported_for_kind`, whatever the caller's roles.
    pub const fn supports(self, action: ConnectionAction) -> bool {
        use ConnectionAction::*;
        let caps = self.capabilities();
        match action {
            ManageViews => caps.views,
            ChangeLockedPeriodExport | ChangeReportingCurrency | ChangeForecastBudget => {
                caps.financial_settings
            }
            ChangePostgresDb => caps.postgres_db,
            View | Pay | Cancel | TransferOwnership | DisconnectEndpoint | Rename
            | InviteBusinessAdmin | ReconnectEndpoint | ChangeTimezone | HideSyncRecords
            | InviteItAdmin | InviteReadOnly | RunManually | Group | Ungroup => true,
        }
    }
}

impl ConnectionAction {
    /// A one-line description for documentation and the console.
    pub const fn description(self) -> &'static str {
        match self {
            Self::View => "View the connection, its members and its sync history",
            Self::Pay => "Pay for the subscription",
            Self::Cancel => "Cancel the subscription",
            Self::TransferOwnership => "Transfer ownership (invite a new Subscription Owner)",
            Self::ChangePostgresDb => "Change the Postgres database (Power BI kinds)",
            Self::DisconnectEndpoint => "Disconnect an endpoint",
            Self::Rename => "Rename the connection",
            Self::ManageViews => "Create or modify views (kinds with views)",
            Self::ChangeLockedPeriodExport => "Change locked-period export (Xero / Power BI kinds)",
            Self::ChangeReportingCurrency => "Change reporting currency (Xero / Power BI kinds)",
            Self::ChangeForecastBudget => "Change the forecast budget (Xero / Power BI kinds)",
            Self::InviteBusinessAdmin => "Invite business administrators",
            Self::ReconnectEndpoint => "Reconnect an endpoint",
            Self::ChangeTimezone => "Change the timezone",
            Self::HideSyncRecords => "Hide or unhide sync-history records",
            Self::InviteItAdmin => "Invite IT administrators",
            Self::InviteReadOnly => "Invite read-only users",
            Self::RunManually => "Run the connection manually",
            Self::Group => "Put the connection in a group",
            Self::Ungroup => "Take the connection out of its group",
        }
    }

    /// The action that issuing an invitation for `role` needs. Inviting an owner is the
    /// ownership transfer (SPEC S5.1, S5.3).
    pub const fn invite(role: ConnectionRole) -> Self {
        match role {
            ConnectionRole::Owner => Self::TransferOwnership,
            ConnectionRole::BusinessAdmin => Self::InviteBusinessAdmin,
            ConnectionRole::ItAdmin => Self::InviteItAdmin,
            ConnectionRole::ReadOnly => Self::InviteReadOnly,
        }
    }
}

/// The connection matrix (SPEC S5): one exhaustive match per role, so that adding an action
/// does not compile until every role has decided about it.
pub const fn role_allows(role: ConnectionRole, action: ConnectionAction) -> bool {
    use ConnectionAction::*;
    match role {
        ConnectionRole::Owner => match action {
            View
            | Pay
            | Cancel
            | TransferOwnership
            | ChangePostgresDb
            | DisconnectEndpoint
            | Rename
            | ManageViews
            | ChangeLockedPeriodExport
            | ChangeReportingCurrency
            | ChangeForecastBudget
            | InviteBusinessAdmin
            | ReconnectEndpoint
            | ChangeTimezone
            | HideSyncRecords
            | InviteItAdmin
            | InviteReadOnly
            | RunManually
            | Group
            | Ungroup => true,
        },
        ConnectionRole::BusinessAdmin => match action {
            View
            | DisconnectEndpoint
            | Rename
            | ManageViews
            | ChangeLockedPeriodExport
            | ChangeReportingCurrency
            | ChangeForecastBudget
            | InviteBusinessAdmin
            | ReconnectEndpoint
            | ChangeTimezone
            | HideSyncRecords
            | InviteItAdmin
            | InviteReadOnly
            | RunManually
            | Group
            | Ungroup => true,
            // SPEC S5 decision: the explicit list wins, so the Postgres DB change and the
            // ownership transfer stay with the owner.
            Pay | Cancel | TransferOwnership | ChangePostgresDb => false,
        },
        ConnectionRole::ItAdmin => match action {
            View | ReconnectEndpoint | ChangeTimezone | HideSyncRecords | InviteItAdmin
            | InviteReadOnly | RunManually | Group | Ungroup => true,
            Pay
            | Cancel
            | TransferOwnership
            | ChangePostgresDb
            | DisconnectEndpoint
            | Rename
            | ManageViews
            | ChangeLockedPeriodExport
            | ChangeReportingCurrency
            | ChangeForecastBudget
            | InviteBusinessAdmin => false,
        },
        ConnectionRole::ReadOnly => match action {
            View => true,
            Pay
            | Cancel
            | TransferOwnership
            | ChangePostgresDb
            | DisconnectEndpoint
            | Rename
            | ManageViews
            | ChangeLockedPeriodExport
            | ChangeReportingCurrency
            | ChangeForecastBudget
            | InviteBusinessAdmin
            | ReconnectEndpoint
            | ChangeTimezone
            | HideSyncRecords
            | InviteItAdmin
            | InviteReadOnly
            | RunManually
            | Group
            | Ungroup => false,
        },
    }
}

/// Whether a holder of `roles` may take `action` on a connection of `kind`: the union of the
/// roles' permissions, intersected with what the kind supports. No role, no permission.
pub fn connection_allows(
    roles: &[ConnectionRole],
    kind: ConnectionKind,
    action: ConnectionAction,
) -> bool {
    kind.supports(action) && roles.iter().any(|r| role_allows(*r, action))
}

/// Every action `roles` allow on a connection of `kind`, in declaration order.
pub fn allowed_connection_actions(
    roles: &[ConnectionRole],
    kind: ConnectionKind,
) -> Vec<ConnectionAction> {
    <ConnectionAction as strum::VariantArray>::VARIANTS
        .iter()
        .copied()
        .filter(|a| connection_allows(roles, kind, *a))
        .collect()
}

/// Whether a holder of `inviter_roles` may invite someone to `role` (SPEC S5.1): only down
/// the ladder, and only the owner may invite a new owner (the ownership transfer).
pub fn can_invite(inviter_roles: &[ConnectionRole], role: ConnectionRole) -> bool {
    let action = ConnectionAction::invite(role);
    inviter_roles.iter().any(|r| role_allows(*r, action))
}

/// Whether a holder of `roles` on one connection may invite someone there to at least one
/// role: who may search people to invite (`GET /api/v1/people`, SPEC S16).
pub fn can_invite_anyone(roles: &[ConnectionRole]) -> bool {
    <ConnectionRole as strum::VariantArray>::VARIANTS
        .iter()
        .any(|role| can_invite(roles, *role))
}

/// Whether a holder of `actor_roles` may remove another member's `role` (SPEC S5.2): anyone
/// whose role could invite it, except that the owner role moves only by transfer or recovery.
pub fn can_remove_role(actor_roles: &[ConnectionRole], role: ConnectionRole) -> bool {
    role != ConnectionRole::Owner && can_invite(actor_roles, role)
}

impl ConnectionRole {
    /// The stable wire name (snake_case), spelled out so it can never change by accident.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::BusinessAdmin => "business_admin",
            Self::ItAdmin => "it_admin",
            Self::ReadOnly => "read_only",
        }
    }
}

impl ConnectionAction {
    /// The stable wire name (snake_case), spelled out so it can never change by accident.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Pay => "pay",
            Self::Cancel => "cancel",
            Self::TransferOwnership => "transfer_ownership",
            Self::ChangePostgresDb => "change_postgres_db",
            Self::DisconnectEndpoint => "disconnect_endpoint",
            Self::Rename => "rename",
            Self::ManageViews => "manage_views",
            Self::ChangeLockedPeriodExport => "change_locked_period_export",
            Self::ChangeReportingCurrency => "change_reporting_currency",
            Self::ChangeForecastBudget => "change_forecast_budget",
            Self::InviteBusinessAdmin => "invite_business_admin",
            Self::ReconnectEndpoint => "reconnect_endpoint",
            Self::ChangeTimezone => "change_timezone",
            Self::HideSyncRecords => "hide_sync_records",
            Self::InviteItAdmin => "invite_it_admin",
            Self::InviteReadOnly => "invite_read_only",
            Self::RunManually => "run_manually",
            Self::Group => "group",
            Self::Ungroup => "ungroup",
        }
    }
}

impl ConnectionKind {
    /// The stable wire name (snake_case), spelled out so it can never change by accident.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::AutotaskQuickbooks => "autotask_quickbooks",
            Self::AutotaskXero => "autotask_xero",
            Self::XeroPowerBi => "xero_power_bi",
            Self::QuickbooksPowerBi => "quickbooks_power_bi",
        }
    }
}

impl System {
    /// The stable wire name (snake_case), spelled out so it can never change by accident.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Autotask => "autotask",
            Self::QuickbooksOnline => "quickbooks_online",
            Self::Xero => "xero",
            Self::PowerBi => "power_bi",
        }
    }
}
