//! The hub matrix (SPEC S2.1): what each hub access level allows.

use crate::access::HubAccess;

wire_enum! {
    /// An action at hub level (one row of SPEC S2.1).
    pub enum HubAction {
        /// Sign in; view own profile and effective permissions.
        SignIn,
        /// View sync status and sync history of connections the user holds a role on.
        ViewSyncStatus,
        /// View activity log entries and their details.
        ViewActivityLog,
        /// Run a connection manually (the connection role must allow it too).
        RunConnection,
        /// Create, list and revoke one's own API tokens.
        ManageOwnTokens,
        /// View tenant settings (secrets are never shown).
        ViewSettings,
        /// Create a connection and become its Subscription Owner.
        CreateConnection,
        /// See and use the Access tab: list PSA security levels, save elevated levels.
        ManageAccess,
        /// See and use the Users tab: list users, activate/deactivate, set elevation.
        ManageUsers,
        /// Edit tenant settings: integration configuration, accounting mappings, defaults.
        EditSettings,
        /// List all connections of the tenant and recover ownership of orphaned ones.
        GovernConnections,
        /// List and revoke other users' API tokens.
        ManageAllTokens,
        /// Refresh users from the PSA now.
        RefreshUsers,
    }
}

impl HubAction {
    /// A one-line description for documentation and the console.
    pub const fn description(self) -> &'static str {
        match self {
            Self::SignIn => "Sign in; view own profile and effective permissions",
            Self::ViewSyncStatus => {
                "View sync status and history of connections the user holds a role on"
            }
            Self::ViewActivityLog => "View activity log entries and their details",
            Self::RunConnection => "Run a connection manually (the connection role must allow it)",
            Self::ManageOwnTokens => "Create, list and revoke own API tokens",
            Self::ViewSettings => "View tenant settings (secrets never shown)",
            Self::CreateConnection => "Create a connection (the creator becomes its owner)",
            Self::ManageAccess => "Access tab: list PSA security levels, save elevated levels",
            Self::ManageUsers => "Users tab: list users, activate/deactivate, set elevation",
            Self::EditSettings => {
                "Edit tenant settings: integration configuration, accounting mappings, defaults"
            }
            Self::GovernConnections => {
                "List all connections of the tenant and recover ownership of orphaned ones"
            }
            Self::ManageAllTokens => "List and revoke other users' API tokens",
            Self::RefreshUsers => "Refresh users from the PSA now",
        }
    }
}

/// Whether a hub access level allows a hub action. One exhaustive match per level: adding an
/// action does not compile until every level has decided about it.
pub const fn hub_allows(access: HubAccess, action: HubAction) -> bool {
    use HubAction::*;
    match access {
        HubAccess::None => false,
        HubAccess::Limited => match action {
            SignIn | ViewSyncStatus | ViewActivityLog | RunConnection | ManageOwnTokens
            | ViewSettings => true,
            CreateConnection | ManageAccess | ManageUsers | EditSettings | GovernConnections
            | ManageAllTokens | RefreshUsers => false,
        },
        HubAccess::Elevated => match action {
            SignIn | ViewSyncStatus | ViewActivityLog | RunConnection | ManageOwnTokens
            | ViewSettings | CreateConnection | ManageAccess | ManageUsers | EditSettings
            | GovernConnections | ManageAllTokens | RefreshUsers => true,
        },
    }
}

/// Every hub action the level allows, in declaration order.
pub fn allowed_hub_actions(access: HubAccess) -> Vec<HubAction> {
    <HubAction as strum::VariantArray>::VARIANTS
        .iter()
        .copied()
        .filter(|a| hub_allows(access, *a))
        .collect()
}

impl HubAction {
    /// The stable wire name (snake_case), spelled out so it can never change by accident.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::ViewSyncStatus => "view_sync_status",
            Self::ViewActivityLog => "view_activity_log",
            Self::RunConnection => "run_connection",
            Self::ManageOwnTokens => "manage_own_tokens",
            Self::ViewSettings => "view_settings",
            Self::CreateConnection => "create_connection",
            Self::ManageAccess => "manage_access",
            Self::ManageUsers => "manage_users",
            Self::EditSettings => "edit_settings",
            Self::GovernConnections => "govern_connections",
            Self::ManageAllTokens => "manage_all_tokens",
            Self::RefreshUsers => "refresh_users",
        }
    }
}
