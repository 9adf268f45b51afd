//! Hub access level (SPEC S1 eligibility, S2 pseudo-code).

use serde::{Deserialize, Serialize};

wire_enum! {
    /// A caller's hub access level, recomputed from current data on every request.
    ///
    /// Ordered: `none < limited < elevated`.
    pub enum HubAccess {
        /// May not sign in; every session and token of the user stops working.
        None,
        /// Day-to-day use: own profile, sync status and history, activity log, manual runs.
        Limited,
        /// Administers the hub: Access and Users tabs, settings, governance of connections.
        Elevated,
    }
}

wire_enum! {
    /// The per-user adjustment elevated users make on the Users tab.
    #[derive(Default)]
    pub enum Elevation {
        /// Follow the Access tab: elevated when the user's security level is in the saved set.
        #[default]
        Inherit,
        /// Elevated regardless of the Access tab (only when the level is eligible for elevation).
        Granted,
        /// Limited regardless of the Access tab.
        Revoked,
    }
}

wire_enum! {
    /// One of the permission facts the hub reads from a PSA security level.
    pub enum LevelFact {
        /// The security level itself is active in the PSA.
        IsActive,
        /// The level may open the hub menu.
        HubMenu,
        /// Admin checkbox for the QuickBooks extension.
        QboExtensionAdmin,
        /// Admin checkbox for Other Extensions & Tools.
        OtherExtensionsAdmin,
        /// Resource impersonation permission.
        ResourceImpersonation,
    }
}

/// The facts of a PSA security level that decide hub eligibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelFacts {
    pub is_active: bool,
    pub hub_menu: bool,
    pub qbo_extension_admin: bool,
    pub other_extensions_admin: bool,
    pub resource_impersonation: bool,
}

impl LevelFacts {
    /// `eligible_for_access(level) ⇔ level.is_active ∧ level.hub_menu`
    pub const fn eligible_for_access(&self) -> bool {
        self.is_active && self.hub_menu
    }

    /// Eligible for access, plus both extension admin checkboxes and resource impersonation.
    /// No license type is involved.
    pub const fn eligible_for_elevation(&self) -> bool {
        self.eligible_for_access()
            && self.qbo_extension_admin
            && self.other_extensions_admin
            && self.resource_impersonation
    }

    const fn has(&self, fact: LevelFact) -> bool {
        match fact {
            LevelFact::IsActive => self.is_active,
            LevelFact::HubMenu => self.hub_menu,
            LevelFact::QboExtensionAdmin => self.qbo_extension_admin,
            LevelFact::OtherExtensionsAdmin => self.other_extensions_admin,
            LevelFact::ResourceImpersonation => self.resource_impersonation,
        }
    }

    /// The facts this level lacks for hub access (empty when eligible), so a screen can
    /// say why a level cannot be chosen.
    pub fn missing_for_access(&self) -> Vec<LevelFact> {
        [LevelFact::IsActive, LevelFact::HubMenu]
            .into_iter()
            .filter(|f| !self.has(*f))
            .collect()
    }

    /// The facts this level lacks for elevation (empty when eligible).
    pub fn missing_for_elevation(&self) -> Vec<LevelFact> {
        <LevelFact as strum::VariantArray>::VARIANTS
            .iter()
            .copied()
            .filter(|f| !self.has(*f))
            .collect()
    }
}

/// Everything S2 needs to compute a user's access level, read from current data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccessInputs {
    /// The hub-level switch on the Users tab.
    pub user_active: bool,
    /// The PSA resource's own `is_active`.
    pub resource_active: bool,
    /// The resource's security level.
    pub level: LevelFacts,
    pub is_primary: bool,
    pub elevation: Elevation,
    /// Whether the level's id is in the tenant's saved Access-tab set.
    pub level_in_elevated_set: bool,
}

wire_enum! {
    /// Why a user has the access level they have; shown next to it on the Users tab.
    pub enum AccessSource {
        /// Deactivated on the Users tab.
        UserDeactivated,
        /// The PSA resource is inactive.
        ResourceInactive,
        /// The security level is inactive or may not open the hub menu.
        LevelNotEligible,
        /// The primary user: elevation follows the security level alone.
        Primary,
        /// The security level lacks a fact that elevation needs.
        NotEligibleForElevation,
        /// Elevated by a per-user grant.
        UserGrant,
        /// Limited by a per-user revocation.
        UserRevoked,
        /// Elevated because the security level is in the Access-tab set.
        SecurityLevelGrant,
        /// Limited: the security level is not in the Access-tab set.
        SecurityLevelDefault,
    }
}

/// An access level together with the rule that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessDecision {
    pub level: HubAccess,
    pub source: AccessSource,
}

/// SPEC S2, line by line, with the reason for the outcome.
pub fn access_decision(i: &AccessInputs) -> AccessDecision {
    use AccessSource as S;
    use HubAccess as A;
    let decide = |level, source| AccessDecision { level, source };
    if !i.user_active {
        return decide(A::None, S::UserDeactivated);
    }
    if !i.resource_active {
        return decide(A::None, S::ResourceInactive);
    }
    if !i.level.eligible_for_access() {
        return decide(A::None, S::LevelNotEligible);
    }
    if i.is_primary {
        let level = if i.level.eligible_for_elevation() {
            A::Elevated
        } else {
            A::Limited
        };
        return decide(level, S::Primary);
    }
    if !i.level.eligible_for_elevation() {
        return decide(A::Limited, S::NotEligibleForElevation);
    }
    match i.elevation {
        Elevation::Granted => decide(A::Elevated, S::UserGrant),
        Elevation::Revoked => decide(A::Limited, S::UserRevoked),
        Elevation::Inherit if i.level_in_elevated_set => decide(A::Elevated, S::SecurityLevelGrant),
        Elevation::Inherit => decide(A::Limited, S::SecurityLevelDefault),
    }
}

/// The caller's hub access level (SPEC S2).
pub fn access_level(inputs: &AccessInputs) -> HubAccess {
    access_decision(inputs).level
}

impl HubAccess {
    /// The stable wire name (snake_case), spelled out so it can never change by accident.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Limited => "limited",
            Self::Elevated => "elevated",
        }
    }
}

impl Elevation {
    /// The stable wire name (snake_case), spelled out so it can never change by accident.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Inherit => "inherit",
            Self::Granted => "granted",
            Self::Revoked => "revoked",
        }
    }
}
